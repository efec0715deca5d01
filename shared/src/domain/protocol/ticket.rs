//! Live stream tickets: a signed grant, good for a minute, to open the stream's
//! WebSocket as one API key. Browsers cannot set headers on a WebSocket, and API
//! Gateway logs the query string: a ticket in it is worth one minute of reading one
//! tenant's events, never the key. The token is the grant in base64url JSON and its
//! HMAC-SHA256 under the deployment's link secret, tagged so that no approval link
//! signature ever checks as a ticket's; nothing is stored.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64URL;
use chrono::{DateTime, Utc};
use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;

/// How long a ticket opens the stream.
pub const TICKET_SECONDS: i64 = 60;
/// What a ticket's signature covers besides the grant.
const PURPOSE: &[u8] = b"greenlight stream ticket\n";

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct StreamTicket {
    pub tenant_id: String,
    /// The key the ticket stands for: the stream opens only while that key is valid.
    pub key_id: String,
    pub expires_at: DateTime<Utc>,
}

fn mac(secret: &[u8], payload: &str) -> Hmac<Sha256> {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret).expect("HMAC takes any key");
    mac.update(PURPOSE);
    mac.update(payload.as_bytes());
    mac
}

/// The token for a ticket: `<base64url grant>.<base64url signature>`.
pub fn issue(secret: &[u8], ticket: &StreamTicket) -> String {
    let payload = B64URL.encode(serde_json::to_vec(ticket).expect("tickets serialize"));
    let signature = B64URL.encode(mac(secret, &payload).finalize().into_bytes());
    format!("{payload}.{signature}")
}

/// The ticket a token carries, if it is genuine and not expired at `now`; the
/// signature is checked (in constant time) before anything of the token is read.
pub fn open(secret: &[u8], token: &str, now: DateTime<Utc>) -> Option<StreamTicket> {
    let (payload, signature) = token.split_once('.')?;
    let signature = B64URL.decode(signature).ok()?;
    mac(secret, payload).verify_slice(&signature).ok()?;
    let ticket: StreamTicket = serde_json::from_slice(&B64URL.decode(payload).ok()?).ok()?;
    (now < ticket.expires_at).then_some(ticket)
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &[u8] = b"link-signing-secret-of-this-deployment";

    fn ticket() -> StreamTicket {
        StreamTicket {
            tenant_id: "default".into(),
            key_id: "key_1".into(),
            expires_at: "2026-01-01T12:01:00Z".parse().unwrap(),
        }
    }

    #[test]
    fn a_ticket_opens_for_its_minute_and_only_as_issued() {
        let now: DateTime<Utc> = "2026-01-01T12:00:00Z".parse().unwrap();
        let token = issue(SECRET, &ticket());
        assert_eq!(open(SECRET, &token, now), Some(ticket()));
        assert_eq!(open(SECRET, &token, ticket().expires_at), None);
        assert_eq!(open(b"another-secret", &token, now), None);
        let (payload, _) = token.split_once('.').unwrap();
        let mut other = ticket();
        other.tenant_id = "other".into();
        let (_, signature) = issue(SECRET, &other)
            .split_once('.')
            .map(|(p, s)| (p.to_owned(), s.to_owned()))
            .unwrap();
        assert_eq!(open(SECRET, &format!("{payload}.{signature}"), now), None);
        // An approval link's signature, over the same bytes without the tag, is no ticket.
        let mut link = Hmac::<Sha256>::new_from_slice(SECRET).unwrap();
        link.update(payload.as_bytes());
        let link_signature = B64URL.encode(link.finalize().into_bytes());
        assert_eq!(
            open(SECRET, &format!("{payload}.{link_signature}"), now),
            None
        );
        for garbage in ["", "no-dot", "a.b.c", "abc.!!!"] {
            assert_eq!(open(SECRET, garbage, now), None, "{garbage}");
        }
    }
}
