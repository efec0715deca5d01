//! A signed grant, the one mechanism behind approval links and stream tickets: the
//! grant in base64url JSON and its HMAC-SHA256, `<grant>.<signature>`, so nothing needs
//! to be stored to check it. Each kind of grant signs under its own purpose tag, so a
//! token of one kind never checks as another's.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64URL;
use hmac::{Hmac, Mac};
use serde::Serialize;
use serde::de::DeserializeOwned;
use sha2::Sha256;

/// Why a token does not open.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unsigned {
    /// Not of the token's shape, or its grant does not read.
    Malformed,
    /// Its signature is not this deployment's for this purpose.
    Forged,
}

fn mac(secret: &[u8], purpose: &[u8], payload: &str) -> Hmac<Sha256> {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret).expect("HMAC takes any key");
    mac.update(purpose);
    mac.update(payload.as_bytes());
    mac
}

/// The token for `grant`.
pub fn sign<T: Serialize>(secret: &[u8], purpose: &[u8], grant: &T) -> String {
    let payload = B64URL.encode(serde_json::to_vec(grant).expect("grants serialize"));
    let signature = B64URL.encode(mac(secret, purpose, &payload).finalize().into_bytes());
    format!("{payload}.{signature}")
}

/// The grant a token carries, if it is genuine. The signature is checked first (in
/// constant time), so nothing of a forged token is read.
pub fn open<T: DeserializeOwned>(
    secret: &[u8],
    purpose: &[u8],
    token: &str,
) -> Result<T, Unsigned> {
    let (payload, signature) = token.split_once('.').ok_or(Unsigned::Malformed)?;
    let signature = B64URL.decode(signature).map_err(|_| Unsigned::Malformed)?;
    mac(secret, purpose, payload)
        .verify_slice(&signature)
        .map_err(|_| Unsigned::Forged)?;
    B64URL
        .decode(payload)
        .ok()
        .and_then(|json| serde_json::from_slice(&json).ok())
        .ok_or(Unsigned::Malformed)
}
