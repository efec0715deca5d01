//! Approval links in emails and SMS: a signed, expiring grant for one approver to
//! answer one request at one ladder level, a `signed` grant, so nothing needs to be
//! stored to check it; single use is the store's part (the grant's `nonce` is recorded
//! when the link decides).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::signed::{self, Unsigned};
use crate::domain::Channel;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct LinkGrant {
    pub tenant_id: String,
    pub approval_id: String,
    /// The approver's identity (its `id`, else its recipient).
    pub approver: String,
    pub channel: Channel,
    /// The ladder level the link was sent for: after an escalation it no longer decides.
    pub level: u32,
    pub expires_at: DateTime<Utc>,
    /// Unique per link; recorded when the link is used, so it is used once.
    pub nonce: String,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LinkError {
    #[error("this is not an approval link")]
    Malformed,
    #[error("this link was not issued by this Greenlight")]
    Forged,
    /// Genuine but past its time: the page can still show the request's outcome.
    #[error("this link has expired")]
    Expired(Box<LinkGrant>),
}

/// Approval links sign with no tag: links already sent must keep opening.
const PURPOSE: &[u8] = b"";

/// The token for a grant: `<base64url grant>.<base64url signature>`.
pub fn issue(secret: &[u8], grant: &LinkGrant) -> String {
    signed::sign(secret, PURPOSE, grant)
}

/// The grant a token carries, if it is genuine and not expired at `now`.
pub fn open(secret: &[u8], token: &str, now: DateTime<Utc>) -> Result<LinkGrant, LinkError> {
    let grant: LinkGrant = signed::open(secret, PURPOSE, token).map_err(|e| match e {
        Unsigned::Malformed => LinkError::Malformed,
        Unsigned::Forged => LinkError::Forged,
    })?;
    if now >= grant.expires_at {
        return Err(LinkError::Expired(Box::new(grant)));
    }
    Ok(grant)
}

#[cfg(test)]
mod tests {
    use base64::Engine;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64URL;

    use super::*;

    const SECRET: &[u8] = b"link-signing-secret-of-this-deployment";

    fn grant() -> LinkGrant {
        LinkGrant {
            tenant_id: "default".into(),
            approval_id: "apr_1".into(),
            approver: "ann@example.com".into(),
            channel: Channel::Email,
            level: 0,
            expires_at: "2026-01-01T13:00:00Z".parse().unwrap(),
            nonce: "n-1".into(),
        }
    }

    fn now() -> DateTime<Utc> {
        "2026-01-01T12:00:00Z".parse().unwrap()
    }

    #[test]
    fn a_genuine_link_opens_until_it_expires() {
        let token = issue(SECRET, &grant());
        assert!(
            token
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c)),
            "URL-safe: {token}"
        );
        assert_eq!(open(SECRET, &token, now()), Ok(grant()));
        assert_eq!(
            open(SECRET, &token, grant().expires_at),
            Err(LinkError::Expired(Box::new(grant())))
        );
    }

    #[test]
    fn tampered_forged_or_garbled_links_do_not_open() {
        let token = issue(SECRET, &grant());
        let (payload, signature) = token.split_once('.').unwrap();
        let mut other = grant();
        other.approver = "mallory@example.com".into();
        let swapped = format!(
            "{}.{signature}",
            issue(SECRET, &other).split_once('.').unwrap().0
        );
        assert_eq!(
            open(SECRET, &swapped, now()),
            Err(LinkError::Forged),
            "another grant under this signature"
        );
        assert_eq!(
            open(b"another-secret", &token, now()),
            Err(LinkError::Forged)
        );
        let flipped = format!("{payload}.{}", B64URL.encode([0u8; 32]));
        assert_eq!(open(SECRET, &flipped, now()), Err(LinkError::Forged));
        for garbage in ["", "no-dot", "a.b.c", "abc.!!!"] {
            assert!(
                matches!(
                    open(SECRET, garbage, now()),
                    Err(LinkError::Malformed | LinkError::Forged)
                ),
                "{garbage}"
            );
        }
    }
}
