//! The Slack Web API over HTTPS (reqwest), with the bot token. Slack answers most
//! errors with 200 and `{"ok": false, "error": …}`: each error is sorted into "try again
//! later" (rate limits, Slack's own failures) or "will never work" (bad token, unknown
//! channel, missing scope), which fails the delivery with Slack's reason.

use std::time::Duration;

use async_trait::async_trait;
use serde_json::{Value, json};

use crate::ports::{ChannelError, Posted, SlackApi};

/// Slack's own API; `GREENLIGHT_SLACK_API_URL` points elsewhere (tests, proxies).
pub const DEFAULT_API_URL: &str = "https://slack.com/api";

/// How long a rate-limited call waits when Slack does not say.
const DEFAULT_RETRY_AFTER: u64 = 30;

pub struct SlackWebApi {
    http: reqwest::Client,
    base: String,
    token: String,
}

impl SlackWebApi {
    pub fn new(base_url: &str, bot_token: &str) -> Self {
        Self {
            http: reqwest::Client::builder()
                .timeout(Duration::from_secs(10))
                .user_agent(concat!("Greenlight/", env!("CARGO_PKG_VERSION")))
                .build()
                .expect("the HTTP client builds"),
            base: base_url.trim_end_matches('/').to_owned(),
            token: bot_token.to_owned(),
        }
    }

    async fn call(&self, method: &str, body: Body<'_>) -> Result<Value, ChannelError> {
        let request = self
            .http
            .post(format!("{}/{method}", self.base))
            .bearer_auth(&self.token);
        let request = match body {
            Body::Json(v) => request.json(v),
            Body::Form(pairs) => request.form(pairs),
        };
        let response = request
            .send()
            .await
            .map_err(|e| ChannelError::Unavailable(format!("{method}: {e}")))?;
        let retry_after = response
            .headers()
            .get(reqwest::header::RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u64>().ok())
            .unwrap_or(DEFAULT_RETRY_AFTER);
        let status = response.status();
        if status.as_u16() == 429 {
            return Err(ChannelError::Throttled {
                retry_after_seconds: retry_after,
                reason: format!("{method}: rate_limited"),
            });
        }
        if status.is_server_error() {
            return Err(ChannelError::Unavailable(format!(
                "{method}: HTTP {status}"
            )));
        }
        let answer: Value = response
            .json()
            .await
            .map_err(|e| ChannelError::Unavailable(format!("{method}: unreadable answer: {e}")))?;
        if answer["ok"].as_bool() == Some(true) {
            return Ok(answer);
        }
        let error = answer["error"].as_str().unwrap_or("unknown_error");
        let reason = format!("{method}: {error}");
        Err(match error {
            "rate_limited" | "ratelimited" => ChannelError::Throttled {
                retry_after_seconds: retry_after,
                reason,
            },
            "internal_error" | "fatal_error" | "service_unavailable" | "request_timeout" => {
                ChannelError::Unavailable(reason)
            }
            _ => ChannelError::Refused(reason),
        })
    }
}

enum Body<'a> {
    Json(&'a Value),
    Form(&'a [(&'a str, &'a str)]),
}

#[async_trait]
impl SlackApi for SlackWebApi {
    async fn post_message(
        &self,
        channel: &str,
        text: &str,
        blocks: &Value,
    ) -> Result<Posted, ChannelError> {
        let answer = self
            .call(
                "chat.postMessage",
                Body::Json(&json!({"channel": channel, "text": text, "blocks": blocks})),
            )
            .await?;
        match (answer["channel"].as_str(), answer["ts"].as_str()) {
            (Some(channel), Some(ts)) => Ok(Posted {
                channel: channel.to_owned(),
                ts: ts.to_owned(),
            }),
            _ => Err(ChannelError::Unavailable(
                "chat.postMessage: the answer has no channel or ts".into(),
            )),
        }
    }

    async fn update_message(
        &self,
        at: &Posted,
        text: &str,
        blocks: &Value,
    ) -> Result<(), ChannelError> {
        self.call(
            "chat.update",
            Body::Json(
                &json!({"channel": at.channel, "ts": at.ts, "text": text, "blocks": blocks}),
            ),
        )
        .await
        .map(|_| ())
    }

    async fn post_ephemeral(
        &self,
        channel: &str,
        user: &str,
        text: &str,
    ) -> Result<(), ChannelError> {
        self.call(
            "chat.postEphemeral",
            Body::Json(&json!({"channel": channel, "user": user, "text": text})),
        )
        .await
        .map(|_| ())
    }

    async fn open_view(&self, trigger_id: &str, view: &Value) -> Result<(), ChannelError> {
        self.call(
            "views.open",
            Body::Json(&json!({"trigger_id": trigger_id, "view": view})),
        )
        .await
        .map(|_| ())
    }

    async fn user_email(&self, user: &str) -> Result<Option<String>, ChannelError> {
        // users.info does not take JSON bodies.
        let answer = self
            .call("users.info", Body::Form(&[("user", user)]))
            .await?;
        Ok(answer
            .pointer("/user/profile/email")
            .and_then(Value::as_str)
            .map(str::to_owned))
    }
}
