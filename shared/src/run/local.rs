//! The all-in-one local composition: API, worker and timers in one process over one
//! database. The local server's `main` and the test harness both start it from here.

use std::net::SocketAddr;
use std::sync::Arc;

use secrecy::ExposeSecret;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use super::worker;
use crate::adapters::changes::BroadcastFeed;
use crate::adapters::chat::StandInChat;
use crate::adapters::dev_mailbox::DevMailbox;
use crate::adapters::http_sender::HttpSender;
use crate::adapters::rate_memory::MemoryRateLimiter;
use crate::app::outbox::{JobRunner, RunnerConfig, Tasks};
use crate::app::{App, Channels, Ports, Stores, Timers};
use crate::domain::Lane;
use crate::domain::Limits;
use crate::ports::{Clock, Ids, StoreError};
use crate::run::config::LocalConfig;

/// `webhooks_allow_private` lets webhook, callback and executor receivers on loopback and
/// private networks through (the local server's default). Every channel writes to the
/// dev mailbox; `use_config` connects Slack when a token is configured.
pub fn compose(
    stores: &Stores,
    clock: Arc<dyn Clock>,
    ids: Arc<dyn Ids>,
    webhooks_allow_private: bool,
) -> Ports {
    Ports {
        stores: stores.clone(),
        channels: mailbox_channels(clock.clone()),
        clock,
        ids,
        changes: Arc::new(BroadcastFeed::new()),
        timers: Timers::Delayed,
        sender: Arc::new(HttpSender::new(webhooks_allow_private)),
        completions: Arc::new(StandInChat),
        pusher: None,
        // One process serves every call, so the buckets live in it.
        limiter: Arc::new(MemoryRateLimiter::default()),
        limits: Limits::default(),
        // A key for this process only, until `use_config` reads the lasting one.
        audit_key: Arc::from(&rand::random::<[u8; 32]>()[..]),
    }
}

fn mailbox_channels(clock: Arc<dyn Clock>) -> Channels {
    let mailbox = Arc::new(DevMailbox::new(clock));
    let secret: [u8; 32] = rand::random();
    Channels {
        slack: Some(mailbox.clone()),
        email: Some(mailbox.clone()),
        sms: Some(mailbox.clone()),
        email_offered: true,
        sms_offered: true,
        slack_signing_secret: None,
        link_secret: Arc::from(&secret[..]),
        public_url: "http://127.0.0.1:8080".into(),
        mailbox: Some(mailbox),
    }
}

/// Applies the local server's settings: links to `GREENLIGHT_PUBLIC_URL`, Slack when
/// configured, and the link-signing key kept in the database so links outlive restarts.
pub async fn use_config(ports: &mut Ports, config: &LocalConfig) -> Result<(), StoreError> {
    ports.channels.public_url = config.public_url.clone();
    ports.limits = config.common.limits;
    if let Some(chat) = config.common.ai.completions() {
        ports.completions = chat;
    }
    let slack = &config.common.slack;
    if let Some(api) = super::slack_api(slack) {
        ports.channels.slack = Some(api);
        ports.channels.slack_signing_secret = slack
            .signing_secret
            .as_ref()
            .map(|s| s.expose_secret().to_owned());
    }
    let candidate: [u8; 32] = rand::random();
    let stored = ports
        .stores
        .messages
        .secret_or_insert("approval-links", &hex::encode(candidate))
        .await?;
    let key = hex::decode(&stored)
        .map_err(|e| StoreError::Corrupt(format!("the approval-link key: {e}")))?;
    ports.channels.link_secret = Arc::from(key);
    Ok(())
}

/// The key that seals audit heads: `GREENLIGHT_AUDIT_KEY`, or the key file, made with a
/// fresh random key the first time (readable by its owner only).
pub fn audit_key(config: &LocalConfig) -> std::io::Result<Arc<[u8]>> {
    if let Some(key) = &config.audit_key {
        return Ok(Arc::from(key.expose_secret().as_bytes()));
    }
    let path = &config.audit_key_file;
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)?;
    }
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    match options.open(path) {
        Ok(mut file) => {
            let key = hex::encode(rand::random::<[u8; 32]>());
            std::io::Write::write_all(&mut file, key.as_bytes())?;
            file.sync_all()?;
            Ok(Arc::from(key.as_bytes()))
        }
        // Made by an earlier start (or one starting beside us): use it.
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
            let key = std::fs::read_to_string(path)?;
            let key = key.trim();
            if key.is_empty() {
                return Err(std::io::Error::other(format!(
                    "{} is empty",
                    path.display()
                )));
            }
            Ok(Arc::from(key.as_bytes()))
        }
        Err(e) => Err(e),
    }
}

/// A running local server; dropping it does not stop it, `shutdown` does.
pub struct Running {
    pub addr: SocketAddr,
    stop: watch::Sender<bool>,
    tasks: Vec<JoinHandle<()>>,
}

impl Running {
    /// Stops accepting, lets in-flight requests finish, and stops the worker between jobs.
    pub async fn shutdown(self) {
        let _ = self.stop.send(true);
        for t in self.tasks {
            let _ = t.await;
        }
    }
}

/// Serves the API on `listener`, and runs the in-process worker unless `worker` is
/// `None` (tests that drive jobs themselves).
pub async fn start(
    app: App,
    listener: TcpListener,
    worker: Option<RunnerConfig>,
) -> std::io::Result<Running> {
    let addr = listener.local_addr()?;
    let (stop, stopped) = watch::channel(false);
    let mut tasks = Vec::new();
    if let Some(config) = worker {
        let main = RunnerConfig {
            lane: Lane::Main,
            ..config
        };
        tasks.push(worker::spawn(
            app.clone(),
            JobRunner::new(app.clone(), main, Tasks::ALL),
            stopped.clone(),
        ));
        // Calls to outside receivers wait on them: they get workers of their own, so a
        // slow receiver holds up neither timers nor the other receivers.
        for _ in 0..SEND_WORKERS {
            let sends = RunnerConfig {
                lane: Lane::Sends,
                ..config
            };
            tasks.push(worker::spawn(
                app.clone(),
                JobRunner::new(app.clone(), sends, Tasks::ALL),
                stopped.clone(),
            ));
        }
        // Workflow steps call out as well, and a run's next step must not queue behind
        // webhooks: a lane and workers of their own.
        for _ in 0..SEND_WORKERS {
            let steps = RunnerConfig {
                lane: Lane::Steps,
                ..config
            };
            tasks.push(worker::spawn(
                app.clone(),
                JobRunner::new(app.clone(), steps, Tasks::ALL),
                stopped.clone(),
            ));
        }
        tasks.push(spawn_sweeper(app.clone(), stopped.clone()));
    }
    let router = crate::http::router(app, crate::http::LiveStream::ServerSentEvents);
    let mut until = stopped.clone();
    let mut deadline = stopped;
    tasks.push(tokio::spawn(async move {
        let served = axum::serve(
            listener,
            // The peer's address, for the limits on sign-in attempts.
            router.into_make_service_with_connect_info::<SocketAddr>(),
        )
        .with_graceful_shutdown(async move {
            let _ = until.wait_for(|s| *s).await;
        });
        // Live streams never finish by themselves: after the grace period whatever is
        // still open is closed (clients reconnect and resume with Last-Event-ID).
        let grace_over = async move {
            let _ = deadline.wait_for(|s| *s).await;
            tokio::time::sleep(SHUTDOWN_GRACE).await;
        };
        tokio::select! {
            served = served => {
                if let Err(e) = served {
                    tracing::error!(error = %e, "server stopped");
                }
            }
            () = grace_over => tracing::info!("closed the connections still open after the grace period"),
        }
    }));
    Ok(Running { addr, stop, tasks })
}

/// Workers for calls to webhook, callback and executor receivers.
const SEND_WORKERS: usize = 4;

/// How long in-flight requests get to finish once the server is asked to stop.
const SHUTDOWN_GRACE: std::time::Duration = std::time::Duration::from_secs(2);

/// How often the local server looks for requests whose timers never fired and for
/// expired sessions (the grace and the batch are the sweep's own).
const SWEEP_EVERY: std::time::Duration = std::time::Duration::from_secs(30);

/// The local stand-in for the `sweeper` function's schedule (deadlines whose timers
/// were lost, expired sessions).
fn spawn_sweeper(app: App, mut stop: watch::Receiver<bool>) -> JoinHandle<()> {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(SWEEP_EVERY);
        loop {
            tokio::select! {
                _ = tick.tick() => {}
                _ = stop.changed() => return,
            }
            if *stop.borrow() {
                return;
            }
            // The sweep logs what failed itself, and the next tick tries again.
            let _ = app.sweep().await;
        }
    })
}
