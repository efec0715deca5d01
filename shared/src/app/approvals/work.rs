//! The one place that decides a change's follow-up work: its timers, its webhook
//! fan-out, and the messages to approvers it calls for. The work is written in the
//! change's own transaction as tasks, and other features act on it only through them.

use chrono::{DateTime, Utc};

use super::Approvals;
use crate::app::Timers;
use crate::domain::{
    Approval, Change, Channel, DeliveryRef, Event, EventRef, Message, Status, StepApprovalRef,
    Task, TaskKind, TimerFired, message,
};
use crate::ports::{IdKind, NewJob};

/// Attempts of a follow-up job before it is buried; store errors are what they absorb.
const JOB_ATTEMPTS: i32 = 20;

/// The tasks a change writes, and the kinds of its request's pending tasks it cancels.
#[derive(Debug, Default)]
pub struct Work {
    pub jobs: Vec<NewJob>,
    pub cancel_kinds: Vec<TaskKind>,
}

impl Approvals<'_> {
    /// A job for `task`, tied to its request so that the request's cancelled timers
    /// take it with them.
    pub(crate) fn job(&self, tenant_id: &str, approval_id: &str, task: Task) -> NewJob {
        self.job_at(tenant_id, approval_id, task, self.clock.now())
    }

    fn job_at(
        &self,
        tenant_id: &str,
        approval_id: &str,
        task: Task,
        run_at: DateTime<Utc>,
    ) -> NewJob {
        NewJob {
            id: self.ids.next(IdKind::Job),
            tenant_id: tenant_id.to_owned(),
            task,
            approval_id: Some(approval_id.to_owned()),
            run_at,
            max_attempts: JOB_ATTEMPTS,
        }
    }

    /// The work of moving from `before` (none when the request is new) to `after` by
    /// `change`, recorded as `event`; `recorded` is the message a change records as sent.
    pub(crate) fn work(
        &self,
        tenant_id: &str,
        change: &Change,
        before: Option<&Approval>,
        after: &Approval,
        event: &Event,
        recorded: Option<&Message>,
    ) -> Work {
        let mut work = self.timer_work(tenant_id, before, after);
        work.jobs.push(self.job_at(
            tenant_id,
            &after.id,
            Task::FanOut(EventRef {
                tenant_id: tenant_id.to_owned(),
                approval_id: event.approval_id.clone(),
                seq: event.seq,
            }),
            event.occurred_at,
        ));
        work.jobs
            .extend(self.message_work(tenant_id, change, before, after, recorded));
        work.jobs.extend(self.resume_work(tenant_id, before, after));
        work
    }

    /// The request of a workflow step that leaves `PENDING` resumes its run, by a task
    /// written in the same transaction as the change: the decision and the resume are
    /// one write, so a run is resumed once for each decision, never zero times, and the
    /// resume is a compare-and-set on the run that only one delivery can win.
    fn resume_work(
        &self,
        tenant_id: &str,
        before: Option<&Approval>,
        after: &Approval,
    ) -> Option<NewJob> {
        let (Some(run_id), Some(step_key)) = (&after.spec.workflow_run_id, &after.spec.step_key)
        else {
            return None;
        };
        if !message::ends_asking(before, after) {
            return None;
        }
        let task = Task::ResumeRun(StepApprovalRef {
            tenant_id: tenant_id.to_owned(),
            run_id: run_id.clone(),
            step_key: step_key.clone(),
            approval_id: after.id.clone(),
        });
        Some(NewJob {
            // Not tied to the request: its cancelled timers must not take this along.
            approval_id: None,
            ..self.job(tenant_id, &after.id, task)
        })
    }

    /// Leaving `PENDING` ends a request's timers; an escalation replaces them with the
    /// new level's; any other change leaves them be.
    fn timer_work(&self, tenant_id: &str, before: Option<&Approval>, after: &Approval) -> Work {
        if before.is_some_and(|b| after.status == Status::Pending && after.level == b.level) {
            return Work::default();
        }
        let set = TimerFired::of(tenant_id, after);
        match &self.timers {
            Timers::Delayed => Work {
                jobs: set
                    .into_iter()
                    .map(|t| {
                        let due = t.due_at;
                        self.job_at(tenant_id, &after.id, Task::Timer(t), due)
                    })
                    .collect(),
                cancel_kinds: vec![TaskKind::Expire, TaskKind::Remind],
            },
            Timers::External(_) => {
                let mut jobs: Vec<NewJob> = set
                    .into_iter()
                    .map(|t| self.job(tenant_id, &after.id, Task::SetTimer(t)))
                    .collect();
                if let Some(old) = before
                    .map(|b| TimerFired::of(tenant_id, b))
                    .filter(|o| !o.is_empty())
                {
                    jobs.push(self.job(tenant_id, &after.id, Task::ClearTimers(old)));
                }
                Work {
                    jobs,
                    // A timer not yet handed over need not be.
                    cancel_kinds: vec![TaskKind::SetTimer],
                }
            }
        }
    }

    /// A plan when the change calls for messages or ends the asking; and, when a Slack
    /// message is recorded as sent after its request was answered, that message's update.
    fn message_work(
        &self,
        tenant_id: &str,
        change: &Change,
        before: Option<&Approval>,
        after: &Approval,
        recorded: Option<&Message>,
    ) -> Vec<NewJob> {
        let mut jobs = Vec::new();
        let updates_slack = (message::ends_asking(before, after)
            || matches!(change, Change::Escalated(_)))
            && has_slack_approvers(after);
        if !message::recipients(change, after).is_empty() || updates_slack {
            let plan = EventRef {
                tenant_id: tenant_id.to_owned(),
                approval_id: after.id.clone(),
                seq: after.version,
            };
            jobs.push(self.job(tenant_id, &after.id, Task::PlanMessages(plan)));
        }
        if let Some(m) = recorded
            && m.slack_ts.is_some()
            && after.status != Status::Pending
        {
            let update = Task::UpdateMessage(DeliveryRef {
                tenant_id: m.tenant_id.clone(),
                delivery_id: m.id.clone(),
            });
            jobs.push(self.job(tenant_id, &after.id, update));
        }
        jobs
    }
}

fn has_slack_approvers(a: &Approval) -> bool {
    std::iter::once(&a.spec.approvers)
        .chain(a.spec.escalation.iter().map(|l| &l.approvers))
        .flatten()
        .any(|ap| ap.channel == Channel::Slack)
}
