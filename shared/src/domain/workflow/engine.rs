//! The run's state machine as pure functions: a signal (an attempt's result, a
//! decision, a cancel) turns a run into the changes it makes, each with the state after
//! it, and the effects the app must carry out (attempts of I/O steps, compensations,
//! approval requests to cancel).
//!
//! Rules: a step starts when every incoming edge is decided (its source step is final)
//! and at least one was taken; when none was, it is `SKIPPED` and takes none of its own
//! (dead-path elimination), so joins after a condition work. A failed attempt is retried
//! by the step's policy; a step that fails for good takes its `error` edge if it has
//! one, else the run fails at once: what was in flight is cancelled (a waiting approval
//! request with it) and the steps that had succeeded are compensated, last first. Pure
//! steps end in the transition that starts them. The run succeeds when nothing is left
//! to start.

use chrono::{DateTime, Utc};
use serde_json::{Map, Value, json};

use super::definition::RetryPolicy;
use super::event::{RunChange, RunStarted};
use super::expr::{Scope, Template};
use super::run::{CompensationStatus, Illegal, Run, StepStatus};
pub use super::signal::{Effect, Outcome, Refused, Signal};
use super::step::{Branch, Kind};

/// The outputs of a run's steps together, serialized: every event carries the run's
/// state, so this bounds what a run writes.
pub const MAX_RUN_OUTPUTS: usize = 512 * 1024;

/// Changes past which a transition starts no more pure steps inline: those left end
/// in transitions of their own (`Signal::Evaluate`), so one write stays bounded
/// (a store whose transactions take a bounded number of items needs that).
pub const MAX_INLINE_CHANGES: usize = 32;

/// A step of a compiled definition, with its edges by index.
#[derive(Debug)]
pub struct CompiledStep {
    pub key: String,
    pub kind: Kind,
    pub(super) template: Template,
    pub retry: RetryPolicy,
    pub(super) compensate: Option<(Kind, Template)>,
    /// `(from, branch)` of each incoming edge.
    pub(super) incoming: Vec<(usize, Branch)>,
    /// `(branch, to)` of each outgoing edge.
    pub(super) outgoing: Vec<(Branch, usize)>,
}

/// A definition that passed validation (`Compiled::new`), ready to run.
#[derive(Debug)]
pub struct Compiled {
    pub input_schema: Option<Value>,
    pub(super) vars: Option<Template>,
    pub steps: Vec<CompiledStep>,
    /// Every edge points forward in this order.
    pub(super) order: Vec<usize>,
}

impl Compiled {
    pub fn new(def: &super::Definition) -> Result<Compiled, Vec<crate::domain::FieldError>> {
        super::validate::compile(def)
    }

    fn index(&self, key: &str) -> Option<usize> {
        self.steps.iter().position(|s| s.key == key)
    }

    /// A new run: `run.started`, and the steps that start with it. `Err` names why the
    /// run cannot start (its vars did not compute).
    pub fn start(
        &self,
        id: String,
        workflow_id: &str,
        version: u32,
        input: Value,
        trigger: Value,
        now: DateTime<Utc>,
    ) -> Result<Outcome, String> {
        let scope = json!({
            "input": input,
            "steps": {},
            "vars": {},
            "run": {"id": id, "workflowId": workflow_id, "version": version},
        });
        let vars = match &self.vars {
            Some(t) => t.render(&Scope::new(&scope))?,
            None => Value::Object(Map::new()),
        };
        let started = RunStarted {
            workflow_id: workflow_id.to_owned(),
            version,
            input,
            vars,
            trigger,
            steps: self.steps.iter().map(|s| (s.key.clone(), s.kind)).collect(),
        };
        let run = Run::started(id, &started, now);
        let mut b = Builder {
            def: self,
            now,
            run: run.clone(),
            out: Outcome {
                changes: vec![(RunChange::Started(Box::new(started)), run)],
                effects: Vec::new(),
            },
        };
        b.advance().map_err(|e| e.to_string())?;
        Ok(b.out)
    }

    /// The changes `signal` makes to `run`.
    pub fn on(&self, run: &Run, signal: Signal, now: DateTime<Utc>) -> Result<Outcome, Refused> {
        let mut b = Builder {
            def: self,
            now,
            run: run.clone(),
            out: Outcome::default(),
        };
        if let Signal::Compensated { key, result } = signal {
            b.compensated(&key, result)?;
            return Ok(b.out);
        }
        if run.status.is_terminal() {
            return Err(Refused::Ended(run.status));
        }
        match signal {
            Signal::Succeeded {
                key,
                attempt,
                output,
                branch,
            } => {
                let i = b.attempt_of(&key, attempt)?;
                b.succeed(i, output, branch, None)?;
            }
            Signal::Failed {
                key,
                attempt,
                error,
                retryable,
            } => {
                let i = b.attempt_of(&key, attempt)?;
                b.fail_step(i, error, retryable)?;
            }
            Signal::Evaluate { key, attempt } => {
                let i = b.attempt_of(&key, attempt)?;
                b.evaluate(i)?;
            }
            Signal::Waiting {
                key,
                attempt,
                approval_id,
            } => {
                let i = b.attempt_of(&key, attempt)?;
                if b.run.steps[i].approval_id.is_some() {
                    return Err(Refused::Stale(format!("step {key} already waits")));
                }
                b.push(RunChange::StepWaiting { key, approval_id })?;
            }
            Signal::Resumed {
                key,
                approval_id,
                outcome,
            } => {
                let i = self
                    .index(&key)
                    .ok_or_else(|| Refused::Stale(format!("no step {key}")))?;
                let s = &b.run.steps[i];
                if !s.status.in_flight()
                    || s.approval_id.as_ref().is_some_and(|a| *a != approval_id)
                {
                    return Err(Refused::Stale(format!(
                        "step {key} does not wait on approval {approval_id}"
                    )));
                }
                match outcome {
                    Ok((output, branch)) => b.succeed(i, output, branch, Some(approval_id))?,
                    Err(error) => b.fail_step(i, error, false)?,
                }
            }
            Signal::Cancel { reason, by } => {
                let before = b.run.clone();
                b.push(RunChange::Cancelled {
                    reason,
                    cancelled_by: by,
                })?;
                b.ended(&before)?;
            }
            Signal::Compensated { .. } => unreachable!("handled above"),
        }
        b.advance()?;
        Ok(b.out)
    }
}

struct Builder<'c> {
    def: &'c Compiled,
    now: DateTime<Utc>,
    run: Run,
    out: Outcome,
}

impl Builder<'_> {
    fn push(&mut self, change: RunChange) -> Result<(), Refused> {
        let next = self.run.apply(&change, self.now)?;
        self.run = next.clone();
        self.out.changes.push((change, next));
        Ok(())
    }

    /// The step a result of attempt `attempt` is about, if that attempt is the one in
    /// flight.
    fn attempt_of(&self, key: &str, attempt: u32) -> Result<usize, Refused> {
        let i = self
            .def
            .index(key)
            .ok_or_else(|| Refused::Stale(format!("no step {key}")))?;
        let s = &self.run.steps[i];
        if s.status != StepStatus::Running || s.attempts != attempt {
            return Err(Refused::Stale(format!(
                "step {key} is {:?} at attempt {}, not running attempt {attempt}",
                s.status, s.attempts
            )));
        }
        Ok(i)
    }

    fn scope(&self) -> Scope {
        Scope::new(&self.run.scope())
    }

    /// Starts every step whose incoming edges are all decided, skips those none of
    /// whose edges was taken, and ends the run when nothing is left.
    fn advance(&mut self) -> Result<(), Refused> {
        loop {
            if self.run.status.is_terminal() {
                return Ok(());
            }
            let mut progressed = false;
            for &i in &self.def.order {
                if self.run.status.is_terminal() {
                    return Ok(());
                }
                if self.run.steps[i].status != StepStatus::Pending {
                    continue;
                }
                let incoming = &self.def.steps[i].incoming;
                let mut decided = true;
                let mut taken = incoming.is_empty();
                for (from, branch) in incoming {
                    let f = &self.run.steps[*from];
                    if !f.status.is_final() {
                        decided = false;
                        break;
                    }
                    taken |= f.branch == Some(*branch);
                }
                if !decided {
                    continue;
                }
                progressed = true;
                if taken {
                    self.start(i)?;
                } else {
                    let key = self.def.steps[i].key.clone();
                    self.push(RunChange::StepSkipped { key })?;
                }
            }
            if !progressed {
                break;
            }
        }
        if self.run.steps.iter().all(|s| s.status.is_final()) {
            let output: Map<String, Value> = self
                .def
                .steps
                .iter()
                .zip(&self.run.steps)
                .filter(|(d, s)| d.outgoing.is_empty() && s.status == StepStatus::Succeeded)
                .filter_map(|(_, s)| s.output.clone().map(|o| (s.key.clone(), o)))
                .collect();
            self.push(RunChange::Succeeded {
                output: Value::Object(output),
            })?;
        }
        Ok(())
    }

    fn start(&mut self, i: usize) -> Result<(), Refused> {
        let step = &self.def.steps[i];
        let (key, kind) = (step.key.clone(), step.kind);
        let scope = self.scope();
        let rendered = step.template.render(&scope).and_then(|config| {
            if !step.template.is_dynamic() {
                return Ok(config);
            }
            let mut errors = kind.check_schema(&config, "/config", &[]);
            if errors.is_empty() {
                errors = kind.spec().check(&config, "/config", &[]);
            }
            match errors.first() {
                None => Ok(config),
                Some(e) => Err(format!(
                    "the computed config is not valid: {}: {}",
                    e.field, e.message
                )),
            }
        });
        let config = match rendered {
            Ok(c) => c,
            Err(error) => {
                self.push(RunChange::StepStarted {
                    key,
                    attempt: 1,
                    config: Value::Null,
                })?;
                return self.fail_step(i, error, false);
            }
        };
        self.push(RunChange::StepStarted {
            key: key.clone(),
            attempt: 1,
            config: config.clone(),
        })?;
        if kind.is_pure() && self.out.changes.len() >= MAX_INLINE_CHANGES {
            // This write is full: the step ends in a transition of its own.
            self.out.effects.push(Effect::Execute {
                key,
                attempt: 1,
                at: self.now,
            });
            return Ok(());
        }
        match kind.spec().evaluate(&config, &scope) {
            Some(Ok((output, branch))) => self.succeed(i, output, branch, None),
            Some(Err(error)) => self.fail_step(i, error, false),
            None => {
                let at = kind
                    .spec()
                    .not_before(&config, self.now)
                    .unwrap_or(self.now);
                self.out.effects.push(Effect::Execute {
                    key,
                    attempt: 1,
                    at,
                });
                Ok(())
            }
        }
    }

    /// Ends a pure step that was started in a transition that had no room for it.
    fn evaluate(&mut self, i: usize) -> Result<(), Refused> {
        let step = &self.run.steps[i];
        let config = step.config.clone().unwrap_or(Value::Null);
        let Some(result) = step.kind.spec().evaluate(&config, &self.scope()) else {
            return Err(Refused::Illegal(Illegal(format!(
                "{} steps are not evaluated",
                step.kind
            ))));
        };
        match result {
            Ok((output, branch)) => self.succeed(i, output, branch, None),
            Err(error) => self.fail_step(i, error, false),
        }
    }

    fn succeed(
        &mut self,
        i: usize,
        output: Value,
        branch: Branch,
        approval_id: Option<String>,
    ) -> Result<(), Refused> {
        let step = &self.def.steps[i];
        if matches!(branch, Branch::Rejected | Branch::Timeout)
            && !step.outgoing.iter().any(|(b, _)| *b == branch)
        {
            let error = format!(
                "the approval ended {branch} and no {branch} edge leaves step {}",
                step.key
            );
            return self.fail_step(i, error, false);
        }
        let kept: usize = self
            .run
            .steps
            .iter()
            .filter_map(|s| s.output.as_ref())
            .map(|o| o.to_string().len())
            .sum();
        if kept + output.to_string().len() > MAX_RUN_OUTPUTS {
            let error =
                format!("its output would take the run's outputs past {MAX_RUN_OUTPUTS} bytes");
            return self.fail_step(i, error, false);
        }
        let attempt = self.run.steps[i].attempts;
        self.push(RunChange::StepSucceeded {
            key: step.key.clone(),
            attempt,
            output,
            branch,
            approval_id,
        })
    }

    fn fail_step(&mut self, i: usize, error: String, retryable: bool) -> Result<(), Refused> {
        let step = &self.def.steps[i];
        let key = step.key.clone();
        let attempt = self.run.steps[i].attempts;
        if retryable && attempt < step.retry.attempts() {
            let at = self.now + step.retry.delay_after(attempt);
            self.push(RunChange::StepRetrying {
                key: key.clone(),
                attempt: attempt + 1,
                error,
                retry_at: at,
            })?;
            self.out.effects.push(Effect::Execute {
                key,
                attempt: attempt + 1,
                at,
            });
            return Ok(());
        }
        let handled = step.outgoing.iter().any(|(b, _)| *b == Branch::Error);
        let run_error = if step.kind == Kind::Fail {
            error.clone()
        } else {
            format!("step {key} failed: {error}")
        };
        self.push(RunChange::StepFailed {
            key: key.clone(),
            attempt,
            error,
            handled,
        })?;
        if !handled {
            let before = self.run.clone();
            self.push(RunChange::Failed {
                error: run_error,
                step: Some(key),
            })?;
            self.ended(&before)?;
        }
        Ok(())
    }

    /// After the run failed or was cancelled: cancel the requests of the steps that
    /// waited, and compensate what had succeeded.
    fn ended(&mut self, before: &Run) -> Result<(), Refused> {
        for s in &before.steps {
            if let (true, Some(approval_id)) = (s.status.in_flight(), &s.approval_id) {
                self.out.effects.push(Effect::CancelApproval {
                    key: s.key.clone(),
                    approval_id: approval_id.clone(),
                });
            }
        }
        let todo: Vec<(String, Kind)> = self
            .run
            .completed
            .iter()
            .rev()
            .filter_map(|key| {
                let i = self.def.index(key)?;
                let (kind, _) = self.def.steps[i].compensate.as_ref()?;
                Some((key.clone(), *kind))
            })
            .collect();
        if todo.is_empty() {
            return Ok(());
        }
        self.push(RunChange::CompensationStarted { steps: todo })?;
        self.next_compensation()
    }

    /// Starts the next compensation, or ends the compensation when none is left.
    fn next_compensation(&mut self) -> Result<(), Refused> {
        loop {
            let Some(c) = &self.run.compensation else {
                return Ok(());
            };
            let Some(next) = c.steps.iter().find(|s| s.status == StepStatus::Pending) else {
                let failed = c
                    .steps
                    .iter()
                    .filter(|s| s.status == StepStatus::Failed)
                    .count();
                return self.push(if failed == 0 {
                    RunChange::CompensationCompleted
                } else {
                    RunChange::CompensationFailed {
                        error: format!("{failed} of {} compensations failed", c.steps.len()),
                    }
                });
            };
            let key = next.key.clone();
            let i = self
                .def
                .index(&key)
                .ok_or_else(|| Illegal(format!("no step {key} to compensate")))?;
            let (kind, template) = self.def.steps[i]
                .compensate
                .as_ref()
                .ok_or_else(|| Illegal(format!("step {key} has no compensation")))?;
            let scope = self.scope();
            match template.render(&scope) {
                Err(error) => {
                    self.push(RunChange::CompensationStepStarted {
                        key: key.clone(),
                        config: Value::Null,
                    })?;
                    self.push(RunChange::CompensationStepEnded {
                        key,
                        output: None,
                        error: Some(error),
                    })?;
                }
                Ok(config) => {
                    self.push(RunChange::CompensationStepStarted {
                        key: key.clone(),
                        config: config.clone(),
                    })?;
                    match kind.spec().evaluate(&config, &scope) {
                        Some(result) => {
                            let (output, error) = split(result.map(|(o, _)| o));
                            self.push(RunChange::CompensationStepEnded { key, output, error })?;
                        }
                        None => {
                            self.out.effects.push(Effect::Compensate { key });
                            return Ok(());
                        }
                    }
                }
            }
        }
    }

    fn compensated(&mut self, key: &str, result: Result<Value, String>) -> Result<(), Refused> {
        let running = self.run.compensation.as_ref().is_some_and(|c| {
            c.status == CompensationStatus::Running
                && c.steps
                    .iter()
                    .any(|s| s.key == key && s.status == StepStatus::Running)
        });
        if !running {
            return Err(Refused::Stale(format!(
                "the compensation of {key} is not running"
            )));
        }
        let (output, error) = split(result);
        self.push(RunChange::CompensationStepEnded {
            key: key.to_owned(),
            output,
            error,
        })?;
        self.next_compensation()
    }
}

fn split(result: Result<Value, String>) -> (Option<Value>, Option<String>) {
    match result {
        Ok(v) => (Some(v), None),
        Err(e) => (None, Some(e)),
    }
}
