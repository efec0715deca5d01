//! What approvers read: the request in an email, a text message, a Slack message and
//! modal, and the outcome that replaces the Slack message's buttons.

use serde::Serialize;
use serde_json::{Value, json};

use crate::domain::form::{FieldKind, FormField};
use crate::domain::message::Purpose;
use crate::domain::{Approval, DecisionKind, Status};
use crate::templates;

/// How many `actionData` fields a message shows; the link page shows them all.
const MESSAGE_FIELDS: usize = 10;
/// How much of one field's value a message shows.
const VALUE_CHARS: usize = 200;

/// What every message says about a request.
#[derive(Debug, Clone, Serialize)]
pub struct Summary {
    pub name: String,
    pub agent: String,
    pub action_type: String,
    /// `actionData`'s top-level fields, as text.
    pub fields: Vec<(String, String)>,
    pub expires: String,
}

fn shorten(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        s.to_owned()
    } else {
        let mut cut: String = s.chars().take(max.saturating_sub(1)).collect();
        cut.push('…');
        cut
    }
}

/// A JSON value as a person reads it: strings without quotes.
pub fn as_text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

pub fn summary(a: &Approval, max_fields: Option<usize>) -> Summary {
    let fields = a
        .spec
        .action_data
        .as_object()
        .map(|o| {
            o.iter()
                .take(max_fields.unwrap_or(usize::MAX))
                .map(|(k, v)| (k.clone(), shorten(&as_text(v), VALUE_CHARS)))
                .collect()
        })
        .unwrap_or_default();
    Summary {
        name: a.spec.name.clone(),
        agent: a.spec.agent_id.clone(),
        action_type: a.spec.action_type.clone(),
        fields,
        expires: time(a.due_at),
    }
}

pub fn time(t: chrono::DateTime<chrono::Utc>) -> String {
    t.format("%Y-%m-%d %H:%M UTC").to_string()
}

/// One line saying how the request ended, or `None` while it is pending.
pub fn outcome(a: &Approval) -> Option<String> {
    if a.status == Status::Pending {
        return None;
    }
    if let Some(c) = &a.cancellation {
        return Some(format!(
            "Cancelled by {} at {}",
            c.cancelled_by,
            time(c.cancelled_at)
        ));
    }
    if a.status == Status::Timeout {
        return Some(format!("Timed out at {}: nobody answered", time(a.due_at)));
    }
    let d = a.decision.as_ref()?;
    let what = match d.decision {
        DecisionKind::Approved if d.source == crate::domain::Source::Timeout => {
            return Some(format!(
                "Approved automatically at {}: nobody answered",
                time(d.responded_at)
            ));
        }
        DecisionKind::Approved => "Approved",
        DecisionKind::Modified => "Approved with changes",
        DecisionKind::Rejected => "Rejected",
    };
    let mut line = format!(
        "{what} by {} via {} at {}",
        d.responded_by,
        d.source.as_str(),
        time(d.responded_at)
    );
    if let Some(f) = d.feedback.as_deref().filter(|f| !f.is_empty()) {
        line.push_str(&format!(": \u{201c}{}\u{201d}", shorten(f, VALUE_CHARS)));
    }
    Some(line)
}

pub struct EmailParts {
    pub subject: String,
    pub html: String,
    pub text: String,
}

pub fn email(a: &Approval, purpose: Purpose, link: &str) -> EmailParts {
    let s = summary(a, Some(MESSAGE_FIELDS));
    let reminder = purpose == Purpose::Reminder;
    let ctx = minijinja::context! {
        name => s.name, agent => s.agent, action_type => s.action_type,
        fields => s.fields, expires => s.expires, reminder => reminder,
        // Made here from the configured base and a base64url token: nothing to escape,
        // and some mail clients do not decode `&#x2f;` in an href.
        link => minijinja::Value::from_safe_string(link.to_owned()),
    };
    let subject = format!(
        "{}Approval needed: {}",
        if reminder { "Reminder: " } else { "" },
        shorten(&a.spec.name, 120)
    );
    EmailParts {
        subject,
        html: templates::render("email.html", &ctx),
        text: templates::render("email.txt", &ctx),
    }
}

pub fn sms(a: &Approval, purpose: Purpose, link: &str) -> String {
    format!(
        "{}{} asks to {}: {}. Answer by {}: {link}",
        if purpose == Purpose::Reminder {
            "Reminder: "
        } else {
            ""
        },
        shorten(&a.spec.agent_id, 30),
        shorten(&a.spec.action_type, 30),
        shorten(&a.spec.name, 60),
        time(a.due_at),
    )
}

/// Slack's mrkdwn treats these three as control characters.
fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

fn plain(text: &str, max: usize) -> Value {
    json!({"type": "plain_text", "text": shorten(text, max), "emoji": true})
}

/// The blocks every Slack message of a request starts with.
fn detail_blocks(a: &Approval) -> Vec<Value> {
    let s = summary(a, Some(MESSAGE_FIELDS));
    let mut section = json!({
        "type": "section",
        "text": {"type": "mrkdwn", "text": format!("*{}* asks to *{}*", escape(&s.agent), escape(&s.action_type))},
    });
    if !s.fields.is_empty() {
        section["fields"] = s
            .fields
            .iter()
            .map(|(k, v)| json!({"type": "mrkdwn", "text": shorten(&format!("*{}*\n{}", escape(k), escape(v)), 2000)}))
            .collect();
    }
    vec![
        json!({"type": "header", "text": plain(&s.name, 150)}),
        section,
    ]
}

/// What an interaction names: the request, and the message it came from.
#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize)]
pub struct ButtonValue {
    #[serde(rename = "t")]
    pub tenant_id: String,
    #[serde(rename = "a")]
    pub approval_id: String,
    #[serde(rename = "d")]
    pub delivery_id: String,
}

pub const APPROVE: &str = "approve";
pub const REJECT: &str = "reject";
pub const MODIFY: &str = "modify";
/// The modal's `callback_id`.
pub const MODIFY_VIEW: &str = "greenlight_modify";

/// A request's Slack message: details, deadline, and the buttons.
pub fn slack_request(a: &Approval, purpose: Purpose, value: &ButtonValue) -> (String, Value) {
    let value = serde_json::to_string(value).expect("button values serialize");
    let button = |id: &str, label: &str, style: Option<&str>| {
        let mut b =
            json!({"type": "button", "action_id": id, "text": plain(label, 75), "value": value});
        if let Some(s) = style {
            b["style"] = json!(s);
        }
        b
    };
    let mut buttons = vec![
        button(APPROVE, "Approve", Some("primary")),
        button(REJECT, "Reject", Some("danger")),
    ];
    if a.spec.ui_schema.is_some() {
        buttons.push(button(MODIFY, "Approve with changes", None));
    }
    let mut blocks = detail_blocks(a);
    let lead = if purpose == Purpose::Reminder {
        "Reminder: still waiting for your answer. "
    } else {
        ""
    };
    blocks.push(json!({
        "type": "context",
        "elements": [{"type": "mrkdwn", "text": format!(
            "{lead}Answer before <!date^{}^{{date_short_pretty}} at {{time}}|{}>",
            a.due_at.timestamp(), time(a.due_at)
        )}],
    }));
    blocks.push(json!({"type": "actions", "block_id": "greenlight", "elements": buttons}));
    let text = format!(
        "{lead}{} asks to {}: {}",
        a.spec.agent_id, a.spec.action_type, a.spec.name
    );
    (text, Value::Array(blocks))
}

/// The message once the request is answered, or has gone on to the next level of its
/// ladder: details and what became of it, no buttons.
pub fn slack_outcome(a: &Approval) -> (String, Value) {
    let line = outcome(a).unwrap_or_else(|| {
        format!(
            "Passed on to the next approvers at {}: this message no longer decides",
            time(a.level_started_at)
        )
    });
    let mut blocks = detail_blocks(a);
    blocks.push(json!({
        "type": "section",
        "text": {"type": "mrkdwn", "text": escape(&line)},
    }));
    (format!("{}: {line}", a.spec.name), Value::Array(blocks))
}

/// The "Approve with changes" modal: one input per editable field of the `uiSchema`.
pub fn slack_modal(a: &Approval, fields: &[FormField], metadata: &ButtonValue) -> Value {
    let option = |v: &str| json!({"text": plain(v, 75), "value": v});
    let mut blocks: Vec<Value> = fields
        .iter()
        .map(|f| {
            let mut element = match &f.kind {
                FieldKind::Text => json!({"type": "plain_text_input"}),
                FieldKind::Integer | FieldKind::Number => json!({
                    "type": "number_input",
                    "is_decimal_allowed": f.kind == FieldKind::Number,
                }),
                FieldKind::Boolean => json!({
                    "type": "checkboxes",
                    "options": [option("true")],
                }),
                FieldKind::Choice(choices) => json!({
                    "type": "static_select",
                    "options": choices.iter().map(|c| option(c)).collect::<Vec<_>>(),
                }),
            };
            element["action_id"] = json!("value");
            match (&f.kind, &f.current) {
                (FieldKind::Boolean, Some(v)) if v == "true" => {
                    element["initial_options"] = json!([option("true")]);
                }
                (FieldKind::Choice(c), Some(v)) if c.contains(v) => {
                    element["initial_option"] = option(v);
                }
                (FieldKind::Text | FieldKind::Integer | FieldKind::Number, Some(v)) => {
                    element["initial_value"] = json!(v);
                }
                _ => {}
            }
            let mut block = json!({
                "type": "input",
                "block_id": f.name,
                "label": plain(&f.label, 2000),
                "optional": !f.required || f.kind == FieldKind::Boolean,
                "element": element,
            });
            if let Some(d) = &f.description {
                block["hint"] = plain(d, 2000);
            }
            block
        })
        .collect();
    blocks.push(json!({
        "type": "input",
        "block_id": "feedback",
        "label": plain("Feedback", 2000),
        "optional": true,
        "element": {"type": "plain_text_input", "action_id": "value", "multiline": true},
    }));
    blocks.insert(
        0,
        json!({"type": "section", "text": {"type": "mrkdwn", "text": format!("*{}*", escape(&shorten(&a.spec.name, 200)))}}),
    );
    json!({
        "type": "modal",
        "callback_id": MODIFY_VIEW,
        "private_metadata": serde_json::to_string(metadata).expect("metadata serializes"),
        "title": plain("Approve with changes", 24),
        "submit": plain("Approve", 24),
        "close": plain("Cancel", 24),
        "blocks": blocks,
    })
}

/// A modal that only tells something: what "Approve with changes" opens on a request
/// already answered (Slack wants a view for the click's trigger, and nothing else).
pub fn slack_notice(text: &str) -> Value {
    json!({
        "type": "modal",
        "title": plain("Approve with changes", 24),
        "close": plain("Close", 24),
        "blocks": [{"type": "section", "text": plain(text, 3000)}],
    })
}
