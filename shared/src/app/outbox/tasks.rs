//! Which tasks a runner runs. On AWS each queue has a function of its own, and each
//! function's main names the tasks of its queue: the code of the others, and what only
//! they call (the workflow engine and its expression language, SES, SNS, …), is then
//! left out of that function's binary. The local worker runs them all.

use std::future::Future;
use std::pin::Pin;

use super::JobRunner;
use super::runner::{done, failed};
use crate::app::TimerOutcome;
use crate::domain::{Outcome, Task};

type Running<'a> = Pin<Box<dyn Future<Output = Outcome> + Send + 'a>>;

#[derive(Clone, Copy)]
pub struct Tasks(pub(super) for<'a> fn(&'a JobRunner, Task) -> Running<'a>);

impl Tasks {
    /// Every task (the local worker, the tests).
    pub const ALL: Tasks = Tasks(|r, task| {
        Box::pin(async move {
            let kind = task.kind();
            if kind.is_message() {
                messages(r, task).await
            } else if kind.is_step() {
                steps(r, task).await
            } else {
                outbox(r, task).await
            }
        })
    });
    /// The outbox queue's: fan-out, webhooks, timers (the webhook-fanout function).
    pub const OUTBOX: Tasks = Tasks(|r, task| Box::pin(outbox(r, task)));
    /// Messages to approvers (the delivery function).
    pub const MESSAGES: Tasks = Tasks(|r, task| Box::pin(messages(r, task)));
    /// Workflow steps (the workflow-steps function).
    pub const STEPS: Tasks = Tasks(|r, task| Box::pin(steps(r, task)));
    /// None: a function that only relays what it wrote.
    pub const NONE: Tasks = Tasks(|_, task| Box::pin(async move { elsewhere(&task) }));
}

/// A task relayed to the wrong queue: only a change to the routing can do that, and
/// no retry here can help.
fn elsewhere(task: &Task) -> Outcome {
    Outcome::Permanent(format!("{} is not run by this function", task.kind()))
}

async fn outbox(r: &JobRunner, task: Task) -> Outcome {
    let app = r.app();
    match task {
        Task::Timer(timer) => match app.approvals().fire_timer(&timer).await {
            Ok(TimerOutcome::NotBefore { at }) => Outcome::NotBefore(at),
            Ok(_) => Outcome::Done,
            Err(e) => failed(e),
        },
        Task::SetTimer(timer) => r.scheduled(|s| async move { s.set(&timer).await }).await,
        Task::ClearTimers(timers) => r.scheduled(|s| async move { s.clear(&timers).await }).await,
        Task::FanOut(at) => done(r.fan_out_event(&at).await),
        Task::SendWebhook(d) => app.webhooks().send(&d).await.unwrap_or_else(failed),
        Task::FanOutRun(e) => app.workflows().fan_out(&e).await.unwrap_or_else(failed),
        other => elsewhere(&other),
    }
}

async fn messages(r: &JobRunner, task: Task) -> Outcome {
    let app = r.app();
    match task {
        Task::PlanMessages(event) => done(app.messages().plan(&event).await),
        Task::SendMessage(d) => app.messages().send(&d).await.unwrap_or_else(failed),
        Task::UpdateMessage(d) => app.messages().update_slack(&d).await.unwrap_or_else(failed),
        Task::AnswerSlack(a) => app.messages().answer_slack(&a).await.unwrap_or_else(failed),
        other => elsewhere(&other),
    }
}

async fn steps(r: &JobRunner, task: Task) -> Outcome {
    let app = r.app();
    match task {
        Task::RunStep(s) => app.workflows().run_step(&s).await.unwrap_or_else(failed),
        Task::Compensate(s) => app.workflows().compensate(&s).await.unwrap_or_else(failed),
        Task::ResumeRun(a) => app.workflows().resume(&a).await.unwrap_or_else(failed),
        Task::CancelStepApproval(a) => app
            .workflows()
            .cancel_step_approval(&a)
            .await
            .unwrap_or_else(failed),
        other => elsewhere(&other),
    }
}
