//! Live stream tickets: a signed grant, good for a minute, to open the stream's
//! WebSocket as one API key or one of the dashboard's people. Browsers cannot set
//! headers on a WebSocket, and API Gateway logs the query string: a ticket in it is
//! worth one minute of reading one tenant's events, never the key or the session. A
//! `signed` grant under the deployment's link secret, tagged so that no approval link
//! ever checks as a ticket; nothing is stored.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::signed;

/// How long a ticket opens the stream.
pub const TICKET_SECONDS: i64 = 60;
/// What a ticket's signature covers besides the grant.
const PURPOSE: &[u8] = b"greenlight stream ticket\n";

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct StreamTicket {
    pub tenant_id: String,
    /// Who the ticket stands for: the stream opens only while they still may read it.
    pub holder: Holder,
    pub expires_at: DateTime<Utc>,
}

/// Whom a ticket was issued to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub enum Holder {
    /// An API key, by id: valid while the key is not revoked.
    Key(String),
    /// A dashboard person, by user id: valid while they have an account.
    Person(String),
}

/// The token for a ticket.
pub fn issue(secret: &[u8], ticket: &StreamTicket) -> String {
    signed::sign(secret, PURPOSE, ticket)
}

/// The ticket a token carries, if it is genuine and not expired at `now`.
pub fn open(secret: &[u8], token: &str, now: DateTime<Utc>) -> Option<StreamTicket> {
    let ticket: StreamTicket = signed::open(secret, PURPOSE, token).ok()?;
    (now < ticket.expires_at).then_some(ticket)
}

#[cfg(test)]
mod tests {
    use base64::Engine;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64URL;
    use hmac::{Hmac, Mac};
    use sha2::Sha256;

    use super::*;

    const SECRET: &[u8] = b"link-signing-secret-of-this-deployment";

    fn ticket() -> StreamTicket {
        StreamTicket {
            tenant_id: "default".into(),
            holder: Holder::Key("key_1".into()),
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
        // Nor does a key's signature carry over to a person of the same id.
        let mut person = ticket();
        person.holder = Holder::Person("key_1".into());
        let (person_payload, _) = issue(SECRET, &person)
            .split_once('.')
            .map(|(p, s)| (p.to_owned(), s.to_owned()))
            .unwrap();
        let (_, key_signature) = token.split_once('.').unwrap();
        assert_eq!(
            open(SECRET, &format!("{person_payload}.{key_signature}"), now),
            None
        );
        let person_token = issue(SECRET, &person);
        assert_eq!(open(SECRET, &person_token, now), Some(person));
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
