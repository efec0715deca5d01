//! What the workflow engine's tests share: a run driven by signals, with its log.

use chrono::{DateTime, Duration, TimeZone, Utc};
use serde_json::{Value, json};

use greenlight::domain::workflow::event::RunChange;
use greenlight::domain::workflow::{
    Branch, Compiled, Definition, Effect, Outcome, Refused, Run, Signal, StepStatus,
};

pub fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 1, 1, 12, 0, 0).unwrap()
}

pub fn compile(v: Value) -> Compiled {
    let def: Definition = serde_json::from_value(v).expect("a definition");
    Compiled::new(&def).unwrap_or_else(|e| panic!("{e:?}"))
}

/// Runs `signal` and keeps the log's changes.
pub struct Harness {
    pub def: Compiled,
    pub run: Run,
    pub log: Vec<(RunChange, DateTime<Utc>)>,
    pub effects: Vec<Effect>,
    pub now: DateTime<Utc>,
}

// Each test file uses a part of it.
#[allow(dead_code)]
impl Harness {
    pub fn start(def: Value, input: Value) -> Harness {
        let def = compile(def);
        let out = def
            .start(
                "run_1".into(),
                "wf_1",
                1,
                input,
                json!({"type": "test"}),
                t0(),
            )
            .expect("starts");
        let mut h = Harness {
            run: out.run().unwrap().clone(),
            def,
            log: Vec::new(),
            effects: Vec::new(),
            now: t0(),
        };
        h.take(out);
        h
    }

    pub fn take(&mut self, out: Outcome) {
        for (c, r) in out.changes {
            self.log.push((c, self.now));
            self.run = r;
        }
        self.effects.extend(out.effects);
    }

    pub fn send(&mut self, s: Signal) -> Result<(), Refused> {
        self.now += Duration::seconds(1);
        let out = self.def.on(&self.run, s, self.now)?;
        self.take(out);
        Ok(())
    }

    pub fn status(&self, key: &str) -> StepStatus {
        self.run.step(key).unwrap().status
    }

    pub fn types(&self) -> Vec<String> {
        self.log.iter().map(|(c, _)| c.type_and_data().0).collect()
    }

    pub fn ok(&mut self, key: &str, output: Value) {
        let attempt = self.run.step(key).unwrap().attempts;
        self.send(Signal::Succeeded {
            key: key.into(),
            attempt,
            output,
            branch: Branch::Default,
        })
        .unwrap();
    }
}
