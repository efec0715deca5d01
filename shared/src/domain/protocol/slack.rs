//! Slack's request signatures (v0): `X-Slack-Signature: v0=<hex HMAC-SHA256 of
//! "v0:{X-Slack-Request-Timestamp}:{raw body}">` with the app's signing secret. A request
//! is believed only if it carries a valid signature over a timestamp near now.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use hmac::{Hmac, Mac};
use serde::Deserialize;
use sha2::Sha256;

/// How far a request's timestamp may be from now: older ones may be replays.
pub const MAX_SKEW_SECONDS: i64 = 300;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    #[error("the X-Slack-Request-Timestamp or X-Slack-Signature header is missing or malformed")]
    Malformed,
    #[error("the request's timestamp is more than five minutes from now")]
    Stale,
    #[error("the signature does not match")]
    Mismatch,
}

fn mac(secret: &str, timestamp: &str, body: &[u8]) -> Hmac<Sha256> {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("HMAC takes any key");
    mac.update(b"v0:");
    mac.update(timestamp.as_bytes());
    mac.update(b":");
    mac.update(body);
    mac
}

/// The `X-Slack-Signature` value for a body: what Slack sends, and what tests sign with.
pub fn sign(secret: &str, timestamp: &str, body: &[u8]) -> String {
    format!(
        "v0={}",
        hex::encode(mac(secret, timestamp, body).finalize().into_bytes())
    )
}

/// Checks a request as received: the timestamp within `MAX_SKEW_SECONDS` of `now`, then
/// the signature, compared in constant time.
pub fn verify(
    secret: &str,
    timestamp: Option<&str>,
    signature: Option<&str>,
    body: &[u8],
    now: DateTime<Utc>,
) -> Result<(), SignatureError> {
    let (Some(timestamp), Some(signature)) = (timestamp, signature) else {
        return Err(SignatureError::Malformed);
    };
    let sent: i64 = timestamp
        .trim()
        .parse()
        .map_err(|_| SignatureError::Malformed)?;
    if (now.timestamp() - sent).abs() > MAX_SKEW_SECONDS {
        return Err(SignatureError::Stale);
    }
    let expected = signature
        .strip_prefix("v0=")
        .and_then(|h| hex::decode(h).ok())
        .ok_or(SignatureError::Malformed)?;
    mac(secret, timestamp.trim(), body)
        .verify_slice(&expected)
        .map_err(|_| SignatureError::Mismatch)
}

/// What Slack posts to the interactivity URL, as far as Greenlight reads it: a click on
/// a message's button, or the submission of its modal. Other kinds need no answer.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Interaction {
    BlockActions {
        user: SlackUser,
        #[serde(default)]
        actions: Vec<Action>,
        #[serde(default)]
        trigger_id: Option<String>,
        #[serde(default)]
        channel: Option<SlackChannel>,
        #[serde(default)]
        container: Option<Container>,
    },
    ViewSubmission {
        user: SlackUser,
        view: View,
    },
    #[serde(other)]
    Other,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct SlackUser {
    pub id: String,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct Action {
    pub action_id: String,
    #[serde(default)]
    pub value: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct SlackChannel {
    pub id: String,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct Container {
    #[serde(default)]
    pub channel_id: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct View {
    pub callback_id: String,
    #[serde(default)]
    pub private_metadata: String,
    #[serde(default)]
    pub state: ViewState,
}

/// A modal's inputs: by block id, then by action id.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
pub struct ViewState {
    #[serde(default)]
    pub values: HashMap<String, HashMap<String, Input>>,
}

/// One input's value: text, one choice, or checkboxes.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
pub struct Input {
    #[serde(default)]
    pub value: Option<String>,
    #[serde(default)]
    pub selected_option: Option<Choice>,
    #[serde(default)]
    pub selected_options: Option<Vec<Choice>>,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct Choice {
    pub value: String,
}

impl Interaction {
    /// Who acted; `None` for the kinds Greenlight does not read.
    pub fn user(&self) -> Option<&str> {
        match self {
            Interaction::BlockActions { user, .. } | Interaction::ViewSubmission { user, .. } => {
                Some(&user.id)
            }
            Interaction::Other => None,
        }
    }
}

impl Input {
    /// The input as form text: a checkbox group counts as ticked when any box is.
    pub fn text(&self) -> Option<String> {
        if let Some(options) = &self.selected_options {
            return Some((!options.is_empty()).to_string());
        }
        self.selected_option
            .as_ref()
            .map(|o| o.value.clone())
            .or_else(|| self.value.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // The worked example of Slack's "Verifying requests from Slack".
    const SECRET: &str = "8f742231b10e8888abcd99yyyzzz85a5";
    const TIMESTAMP: &str = "1531420618";
    const BODY: &str = "token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id=G8PSS9T3V&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebhook-collect&text=&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN&trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c";
    const SIGNATURE: &str = "v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503";

    fn at(seconds: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(seconds, 0).unwrap()
    }

    #[test]
    fn slacks_worked_example_verifies() {
        assert_eq!(sign(SECRET, TIMESTAMP, BODY.as_bytes()), SIGNATURE);
        let now = at(1_531_420_618 + 60);
        assert_eq!(
            verify(
                SECRET,
                Some(TIMESTAMP),
                Some(SIGNATURE),
                BODY.as_bytes(),
                now
            ),
            Ok(())
        );
    }

    #[test]
    fn tampered_stale_or_malformed_requests_fail() {
        let now = at(1_531_420_618);
        let tampered = BODY.replace("roadrunner", "coyote");
        assert_eq!(
            verify(
                SECRET,
                Some(TIMESTAMP),
                Some(SIGNATURE),
                tampered.as_bytes(),
                now
            ),
            Err(SignatureError::Mismatch)
        );
        assert_eq!(
            verify(
                "another-secret",
                Some(TIMESTAMP),
                Some(SIGNATURE),
                BODY.as_bytes(),
                now
            ),
            Err(SignatureError::Mismatch)
        );
        // The same request replayed six minutes later.
        assert_eq!(
            verify(
                SECRET,
                Some(TIMESTAMP),
                Some(SIGNATURE),
                BODY.as_bytes(),
                at(1_531_420_618 + 301)
            ),
            Err(SignatureError::Stale)
        );
        assert_eq!(
            verify(
                SECRET,
                Some(TIMESTAMP),
                Some(SIGNATURE),
                BODY.as_bytes(),
                at(1_531_420_618 - 301)
            ),
            Err(SignatureError::Stale)
        );
        for (ts, sig) in [
            (None, Some(SIGNATURE)),
            (Some(TIMESTAMP), None),
            (Some("yesterday"), Some(SIGNATURE)),
            (Some(TIMESTAMP), Some("v1=abc")),
            (Some(TIMESTAMP), Some("v0=not-hex")),
        ] {
            assert_eq!(
                verify(SECRET, ts, sig, BODY.as_bytes(), now),
                Err(SignatureError::Malformed),
                "{ts:?} {sig:?}"
            );
        }
    }

    #[test]
    fn reads_the_interactions_greenlight_answers_and_passes_over_the_rest() {
        let click: Interaction = serde_json::from_value(serde_json::json!({
            "type": "block_actions",
            "user": {"id": "U0ANN", "username": "ann"},
            "trigger_id": "t.1",
            "container": {"type": "message", "channel_id": "C1"},
            "actions": [{"action_id": "approve", "value": "{}", "type": "button"}]
        }))
        .unwrap();
        assert_eq!(click.user(), Some("U0ANN"));
        let Interaction::BlockActions {
            actions, container, ..
        } = &click
        else {
            panic!("a click");
        };
        assert_eq!(actions[0].action_id, "approve");
        assert_eq!(
            container.as_ref().unwrap().channel_id.as_deref(),
            Some("C1")
        );

        let modal: Interaction = serde_json::from_value(serde_json::json!({
            "type": "view_submission",
            "user": {"id": "U0ANN"},
            "view": {"callback_id": "greenlight_modify", "private_metadata": "{}",
                     "state": {"values": {
                         "amount": {"value": {"type": "plain_text_input", "value": "80"}},
                         "urgent": {"value": {"selected_options": []}},
                         "tier": {"value": {"selected_option": {"value": "gold"}}}}}}
        }))
        .unwrap();
        let Interaction::ViewSubmission { view, .. } = &modal else {
            panic!("a submission");
        };
        let text = |block: &str| view.state.values[block]["value"].text();
        assert_eq!(text("amount").as_deref(), Some("80"));
        assert_eq!(text("urgent").as_deref(), Some("false"));
        assert_eq!(text("tier").as_deref(), Some("gold"));

        let closed: Interaction = serde_json::from_value(
            serde_json::json!({"type": "view_closed", "user": {"id": "U1"}}),
        )
        .unwrap();
        assert_eq!(closed, Interaction::Other);
        assert!(
            serde_json::from_value::<Interaction>(serde_json::json!({"type": "block_actions"}))
                .is_err()
        );
    }
}
