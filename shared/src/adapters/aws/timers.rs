//! Timers on AWS: EventBridge Scheduler one-time schedules for what is far off, and an
//! SQS queue with message delay for the last stretch.
//!
//! EventBridge Scheduler fires within about a minute of its time, so a schedule is set
//! `SCHEDULER_LEAD` ahead of the deadline; the timeout handler finds it not yet due and
//! sets it again, now within SQS's reach, whose delay is exact to the second. Timers due
//! within `SQS_MAX_DELAY` skip the Scheduler altogether.

use std::sync::Arc;

use async_trait::async_trait;
use aws_sdk_scheduler::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_scheduler::types::{
    ActionAfterCompletion, DeadLetterConfig, FlexibleTimeWindow, FlexibleTimeWindowMode, Target,
};
use chrono::{DateTime, Duration, Utc};

use crate::domain::TimerFired;
use crate::ports::{Clock, Scheduler, SchedulerError};

/// The longest delay SQS allows on one message.
pub const SQS_MAX_DELAY: Duration = Duration::seconds(900);
/// How far ahead of a deadline its schedule fires (see the module's comment).
pub const SCHEDULER_LEAD: Duration = Duration::seconds(120);

/// Where timers go and whom they wake.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AwsTimersConfig {
    /// The schedule group every timer's schedule is made in.
    pub schedule_group: String,
    /// The timeout function's ARN: the schedules' target.
    pub target_arn: String,
    /// The role EventBridge Scheduler assumes to invoke the target.
    pub role_arn: String,
    /// The queue the timeout function also reads, for delayed messages.
    pub delay_queue_url: String,
    /// Where a schedule's event goes when Scheduler cannot hand it to the target
    /// (after its own retries): an SQS queue's ARN, with an alarm on it.
    pub dead_letter_arn: Option<String>,
}

pub struct AwsTimers {
    scheduler: aws_sdk_scheduler::Client,
    sqs: aws_sdk_sqs::Client,
    config: AwsTimersConfig,
    clock: Arc<dyn Clock>,
}

impl AwsTimers {
    pub fn new(
        sdk: &aws_config::SdkConfig,
        config: AwsTimersConfig,
        clock: Arc<dyn Clock>,
    ) -> Self {
        Self {
            scheduler: aws_sdk_scheduler::Client::new(sdk),
            sqs: aws_sdk_sqs::Client::new(sdk),
            config,
            clock,
        }
    }

    /// The `at()` expression of a timer's schedule: `SCHEDULER_LEAD` before it is due,
    /// in UTC, to the second.
    pub fn schedule_expression(due_at: DateTime<Utc>) -> String {
        format!(
            "at({})",
            (due_at - SCHEDULER_LEAD).format("%Y-%m-%dT%H:%M:%S")
        )
    }

    async fn delay(
        &self,
        timer: &TimerFired,
        body: String,
        wait: Duration,
    ) -> Result<(), SchedulerError> {
        // Rounded up: a message may arrive a little late, never early.
        let seconds = (wait.num_milliseconds() + 999)
            .div_euclid(1000)
            .clamp(0, SQS_MAX_DELAY.num_seconds());
        self.sqs
            .send_message()
            .queue_url(&self.config.delay_queue_url)
            .message_body(body)
            .delay_seconds(i32::try_from(seconds).unwrap_or(0))
            .send()
            .await
            .map_err(classify)?;
        tracing::debug!(timer = %timer.name(), seconds, "timer set on the delay queue");
        Ok(())
    }

    async fn schedule(&self, timer: &TimerFired, body: String) -> Result<(), SchedulerError> {
        let refused =
            |e: aws_sdk_scheduler::error::BuildError| SchedulerError::Refused(e.to_string());
        let target = Target::builder()
            .arn(&self.config.target_arn)
            .role_arn(&self.config.role_arn)
            .input(body)
            .set_dead_letter_config(
                self.config
                    .dead_letter_arn
                    .as_ref()
                    .map(|arn| DeadLetterConfig::builder().arn(arn).build()),
            )
            .build()
            .map_err(refused)?;
        let window = FlexibleTimeWindow::builder()
            .mode(FlexibleTimeWindowMode::Off)
            .build()
            .map_err(refused)?;
        let created = self
            .scheduler
            .create_schedule()
            .name(timer.name())
            .group_name(&self.config.schedule_group)
            .schedule_expression(Self::schedule_expression(timer.due_at))
            .schedule_expression_timezone("UTC")
            .flexible_time_window(window)
            .target(target)
            .action_after_completion(ActionAfterCompletion::Delete)
            .send()
            .await;
        match created {
            Ok(_) => {
                tracing::debug!(timer = %timer.name(), "timer scheduled");
                Ok(())
            }
            // A retried job: the schedule is already there.
            Err(e) if e.code() == Some("ConflictException") => Ok(()),
            Err(e) => Err(classify(e)),
        }
    }
}

#[async_trait]
impl Scheduler for AwsTimers {
    async fn set(&self, timer: &TimerFired) -> Result<(), SchedulerError> {
        let body = serde_json::to_string(timer).expect("timers serialize");
        let wait = timer.due_at - self.clock.now();
        if wait <= SQS_MAX_DELAY {
            self.delay(timer, body, wait).await
        } else {
            self.schedule(timer, body).await
        }
    }

    async fn clear(&self, timers: &[TimerFired]) -> Result<(), SchedulerError> {
        // Only schedules can be taken back; a message already on the delay queue fires
        // and is refused as stale.
        for timer in timers {
            let deleted = self
                .scheduler
                .delete_schedule()
                .name(timer.name())
                .group_name(&self.config.schedule_group)
                .send()
                .await;
            match deleted {
                Ok(_) => tracing::debug!(timer = %timer.name(), "schedule deleted"),
                // Never scheduled (it went to the queue), already fired, or already gone.
                Err(e) if e.code() == Some("ResourceNotFoundException") => {}
                Err(e) => return Err(classify(e)),
            }
        }
        Ok(())
    }
}

fn classify<E, R>(e: SdkError<E, R>) -> SchedulerError
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    R: std::fmt::Debug + Send + Sync + 'static,
{
    match super::transient(e) {
        Ok(why) => SchedulerError::Unavailable(why),
        Err(why) => SchedulerError::Refused(why),
    }
}
