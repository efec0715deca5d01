//! Helpers for the workflow tests: the refund example's definition, starting runs and
//! driving them until nothing is left to do.

use serde_json::{Value, json};

use crate::TestApp;

/// The docs' worked example: a refund over 100 EUR goes to a person; the amount they
/// approve flows into the payment call; a failure releases the hold.
pub fn refund_definition(hold_url: &str, release_url: &str, pay_url: &str) -> Value {
    json!({
        "inputSchema": {
            "type": "object",
            "required": ["orderId", "amount"],
            "properties": {"orderId": {"type": "string"}, "amount": {"type": "number"}}
        },
        "steps": [
            {"key": "hold", "kind": "http",
             "config": {"method": "POST", "url": hold_url, "body": {"orderId": "=input.orderId", "amount": "=input.amount"}},
             "compensate": {"kind": "http", "config": {"method": "POST", "url": release_url, "body": {"orderId": "=input.orderId"}}}},
            {"key": "big", "kind": "condition", "config": {"expression": "input.amount > 100"}},
            {"key": "ask", "kind": "approval", "config": {
                "name": "=\"Refund \" + input.orderId",
                "actionType": "refund",
                "actionData": {"orderId": "=input.orderId", "amount": "=input.amount"},
                "approvers": [{"channel": "email", "recipient": "ann@example.com"}],
                "timeoutSeconds": 3600,
                "uiSchema": {"type": "object", "properties": {"amount": {"type": "number", "minimum": 0}}}
            }},
            {"key": "amount", "kind": "transform",
             "config": {"expression": "has(steps.ask) ? steps.ask.approvedData.amount : input.amount"}},
            {"key": "pay", "kind": "http",
             "config": {"method": "POST", "url": pay_url, "body": {"orderId": "=input.orderId", "amount": "=steps.amount"}},
             "retry": {"maxAttempts": 3, "backoff": "fixed", "delaySeconds": 5}}
        ],
        "edges": [
            {"from": "hold", "to": "big"},
            {"from": "big", "to": "ask", "branch": "true"},
            {"from": "big", "to": "amount", "branch": "false"},
            {"from": "ask", "to": "amount", "branch": "approved"},
            {"from": "amount", "to": "pay"}
        ]
    })
}

impl TestApp {
    /// Creates a workflow; returns its id.
    pub async fn create_workflow(&self, definition: &Value) -> String {
        let r = self
            .post(
                "/v1/workflows",
                &json!({"name": "refunds", "definition": definition}),
            )
            .await;
        assert_eq!(r.status, 201, "{}", r.body);
        r.body["id"].as_str().expect("id").to_owned()
    }

    /// Starts a run; returns it as answered.
    pub async fn start_run(&self, workflow_id: &str, input: &Value) -> Value {
        let r = self
            .post(
                &format!("/v1/workflows/{workflow_id}/runs"),
                &json!({"input": input}),
            )
            .await;
        assert_eq!(r.status, 201, "{}", r.body);
        r.body
    }

    pub async fn run(&self, id: &str) -> Value {
        let r = self.get(&format!("/v1/runs/{id}")).await;
        assert_eq!(r.status, 200, "{}", r.body);
        r.body
    }

    /// A step of a run, by key.
    pub async fn step(&self, run_id: &str, key: &str) -> Value {
        let run = self.run(run_id).await;
        run["steps"]
            .as_array()
            .expect("steps")
            .iter()
            .find(|s| s["key"] == key)
            .cloned()
            .unwrap_or_else(|| panic!("no step {key} in {run}"))
    }

    /// The types of a run's events, in order.
    pub async fn run_event_types(&self, run_id: &str) -> Vec<String> {
        let r = self.get(&format!("/v1/runs/{run_id}/events")).await;
        assert_eq!(r.status, 200, "{}", r.body);
        r.body["items"]
            .as_array()
            .expect("items")
            .iter()
            .map(|e| e["type"].as_str().expect("type").to_owned())
            .collect()
    }
}
