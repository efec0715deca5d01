//! `ai`: `{prompt, system?, model?, maxTokens?}` against an OpenAI-compatible chat
//! completions API; output `{text, model, standIn}`.

use serde_json::{Value, json};

use super::{Kind, StepKind};

pub struct Ai;

pub const MAX_PROMPT: usize = 32 * 1024;

impl StepKind for Ai {
    fn kind(&self) -> Kind {
        Kind::Ai
    }

    fn schema(&self) -> Value {
        json!({
            "type": "object",
            "required": ["prompt"],
            "properties": {
                "prompt": {"type": "string", "minLength": 1, "maxLength": MAX_PROMPT},
                "system": {"type": "string", "maxLength": MAX_PROMPT},
                "model": {"type": "string", "minLength": 1, "maxLength": 128},
                "maxTokens": {"type": "integer", "minimum": 1, "maximum": 8192}
            },
            "additionalProperties": false
        })
    }
}
