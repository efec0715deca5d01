//! `greenlight`: the all-in-one local server, and the admin commands that go with it.

use std::sync::Arc;

use anyhow::Context;
use clap::{Parser, Subcommand};
use greenlight::adapters;
use greenlight::adapters::clock::SystemClock;
use greenlight::adapters::ids::UuidIds;
use greenlight::app::outbox::RunnerConfig;
use greenlight::app::{App, FirstAdmin};
use greenlight::run::config::{LocalConfig, redact_url};
use greenlight::run::local;
use greenlight::telemetry;
use secrecy::ExposeSecret;

#[derive(Parser)]
#[command(
    name = "greenlight",
    version,
    about = "Human approval as a service: the all-in-one local server"
)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the API with its worker and timers (the default).
    Serve,
    /// Manage tenants.
    Tenant {
        #[command(subcommand)]
        command: TenantCommand,
    },
    /// Manage API keys.
    Key {
        #[command(subcommand)]
        command: KeyCommand,
    },
    /// Manage the dashboard's people.
    User {
        #[command(subcommand)]
        command: UserCommand,
    },
}

#[derive(Subcommand)]
enum UserCommand {
    /// Print a one-time link (valid 7 days) with which someone joins the dashboard.
    Invite {
        #[arg(long, default_value = greenlight::app::DEFAULT_TENANT)]
        tenant: String,
        /// Who joins; without it, whoever opens the link gives their email.
        #[arg(long)]
        email: Option<String>,
        /// approver or admin.
        #[arg(long, default_value = "admin")]
        role: String,
        /// Where the dashboard is reached: the ApiUrl output on AWS.
        #[arg(long)]
        base_url: Option<String>,
    },
}

#[derive(Subcommand)]
enum TenantCommand {
    /// Create a tenant and print its id.
    Create {
        #[arg(long)]
        name: String,
        /// Choose the id instead of generating one.
        #[arg(long)]
        id: Option<String>,
    },
}

#[derive(Subcommand)]
enum KeyCommand {
    /// Create an API key for a tenant and print it as the last line (it is shown only
    /// once).
    Create {
        #[arg(long, default_value = greenlight::app::DEFAULT_TENANT)]
        tenant: String,
        #[arg(long, default_value = "cli")]
        name: String,
        /// agent (asks), approver (decides as --approver) or admin (everything).
        #[arg(long, default_value = "agent")]
        role: String,
        /// The approver identity (such as an email) an approver key decides as.
        #[arg(long)]
        approver: Option<String>,
    },
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    telemetry::init(|k| std::env::var(k).ok());
    let config = LocalConfig::from_env()?;
    let database_url = config.database_url.expose_secret();
    let stores = adapters::connect(database_url, config.common.max_connections)
        .await
        .with_context(|| format!("cannot open the database {}", redact_url(database_url)))?;
    let mut ports = local::compose(
        &stores,
        Arc::new(SystemClock),
        Arc::new(UuidIds),
        config.common.webhooks_allow_private,
    );
    let command = cli.command.unwrap_or(Command::Serve);
    // The admin commands only add tenants, keys and invitations, and are also pointed at
    // a deployment's store, whose link and audit keys are in Secrets Manager: the
    // server's keys are read (or made) for serving only.
    if matches!(command, Command::Serve) {
        local::use_config(&mut ports, &config)
            .await
            .context("cannot read the approval-link key")?;
        ports.audit_key = local::audit_key(&config).with_context(|| {
            format!(
                "cannot read or make the audit key {} (or set GREENLIGHT_AUDIT_KEY)",
                config.audit_key_file.display()
            )
        })?;
    }
    let app = App::new(ports);

    match command {
        Command::Serve => {
            let fresh_key = app
                .accounts()
                .ensure_default_tenant(config.api_key.as_ref().map(ExposeSecret::expose_secret))
                .await?;
            let (admin_email, admin_password) = config
                .admin
                .as_ref()
                .map(|a| (a.email.as_str(), a.password.expose_secret()))
                .unzip();
            let first_admin = app
                .accounts().ensure_first_admin(admin_email, admin_password)
                .await
                .context("cannot make the dashboard's first admin (GREENLIGHT_ADMIN_EMAIL, GREENLIGHT_ADMIN_PASSWORD)")?;
            let listener = tokio::net::TcpListener::bind(config.bind)
                .await
                .with_context(|| format!("cannot listen on {} (GREENLIGHT_BIND)", config.bind))?;
            let app_outbox = app.channels.mailbox.is_some();
            let running = local::start(app, listener, Some(RunnerConfig::default())).await?;
            tracing::info!(addr = %running.addr, database = %redact_url(database_url), "greenlight listening");
            println!("Greenlight is running at http://{}", running.addr);
            println!("  API:     http://{}/v1/approvals", running.addr);
            println!("  OpenAPI: http://{}/v1/openapi.json", running.addr);
            println!("  Dashboard: http://{}/dashboard", running.addr);
            match first_admin {
                FirstAdmin::Created(email) => {
                    println!("    sign in as {email} (GREENLIGHT_ADMIN_EMAIL)")
                }
                FirstAdmin::Invite(token) => println!(
                    "    first admin: open http://{}/dashboard/invite/{token} once to choose an email and password",
                    running.addr
                ),
                FirstAdmin::Exists => {}
            }
            if app_outbox {
                println!(
                    "  Mailbox: http://{}/v1/dev/mailbox (messages to approvers land here)",
                    running.addr
                );
            }
            if let Some(key) = fresh_key {
                println!(
                    "  API key for the default tenant (shown once; or set GREENLIGHT_API_KEY): {key}"
                );
            }
            stop_signal().await?;
            println!("Shutting down");
            running.shutdown().await;
        }
        Command::Tenant {
            command: TenantCommand::Create { name, id },
        } => {
            let tenant = app.accounts().create_tenant(id, &name).await?;
            println!("{}", tenant.id);
        }
        Command::User {
            command:
                UserCommand::Invite {
                    tenant,
                    email,
                    role,
                    base_url,
                },
        } => {
            let role = greenlight::domain::Role::parse(&role)
                .ok_or_else(|| anyhow::anyhow!("--role must be approver or admin, not {role:?}"))?;
            let token = app
                .accounts()
                .invite_from_console(&tenant, email.as_deref(), role)
                .await?;
            let base = base_url.unwrap_or_else(|| config.public_url.clone());
            println!("{}/dashboard/invite/{token}", base.trim_end_matches('/'));
        }
        Command::Key {
            command:
                KeyCommand::Create {
                    tenant,
                    name,
                    role,
                    approver,
                },
        } => {
            let role = greenlight::domain::KeyRole::parse(&role).ok_or_else(|| {
                anyhow::anyhow!("--role must be agent, approver or admin, not {role:?}")
            })?;
            let new = greenlight::app::NewKey {
                name: &name,
                role,
                approver: approver.as_deref(),
            };
            let (key, secret) = app.accounts().create_api_key(&tenant, new, None).await?;
            eprintln!(
                "created {} key {} for tenant {}",
                key.role.as_str(),
                key.id,
                key.tenant_id
            );
            println!("{secret}");
        }
    }
    Ok(())
}

/// Ctrl-C, or SIGTERM from a process manager: both stop the server gracefully.
async fn stop_signal() -> std::io::Result<()> {
    #[cfg(unix)]
    {
        let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
        tokio::select! {
            r = tokio::signal::ctrl_c() => r,
            _ = term.recv() => Ok(()),
        }
    }
    #[cfg(not(unix))]
    tokio::signal::ctrl_c().await
}
