//! The admin page (API keys, people, invitations, webhook endpoints and redelivery) and
//! the dev mailbox page.

use super::*;

#[derive(Default)]
struct AdminShown {
    message: Option<String>,
    secret: Option<(String, String)>,
    errors: Vec<String>,
}

async fn render_admin(
    app: &App,
    account: &Account,
    shown: AdminShown,
    status: StatusCode,
) -> Response {
    let caller = account.caller();
    let (accounts, webhooks) = (app.accounts(), app.webhooks());
    let (keys, people, endpoints) = match tokio::try_join!(
        accounts.keys(&caller),
        accounts.people(account),
        webhooks.endpoints(&caller),
    ) {
        Ok(all) => all,
        Err(AppError::Forbidden(why)) => {
            return (
                StatusCode::FORBIDDEN,
                Html(format!(
                    "<!doctype html><p>{why}</p><p><a href=\"/dashboard\">Inbox</a></p>"
                )),
            )
                .into_response();
        }
        Err(e) => return failure(e),
    };
    let mut endpoint_views = Vec::new();
    for e in endpoints {
        let deliveries = match app.webhooks().endpoint_deliveries(&caller, &e.id, 20).await {
            Ok(d) => d,
            Err(err) => return failure(err),
        };
        endpoint_views.push(minijinja::context! {
            id => e.id, url => e.url, events => e.events.join(", "), active => e.active,
            disabled_reason => e.disabled_reason,
            deliveries => deliveries.into_iter().map(|d| minijinja::context! {
                id => d.id, event_type => d.event_type, status => d.status.as_str(),
                attempts => d.attempts, last_error => d.last_error,
                created => render::time(d.created_at),
            }).collect::<Vec<_>>(),
        });
    }
    let keys: Vec<minijinja::Value> = keys
        .into_iter()
        .map(|k| minijinja::context! {
            id => k.id, name => k.name, prefix => k.prefix, created => render::time(k.created_at),
            role => k.role.as_str(), approver => k.approver,
            revoked => k.revoked_at.map(render::time),
        })
        .collect();
    let people: Vec<minijinja::Value> = people
        .into_iter()
        .map(|p| minijinja::context! { email => p.email, role => p.role.as_str() })
        .collect();
    let (shown_label, shown_secret) = shown.secret.unzip();
    page(
        status,
        "dashboard/admin.html",
        minijinja::context! {
            endpoints => endpoint_views, keys, people, message => shown.message,
            errors => shown.errors, shown_label, shown_secret,
            ..base(app, account, "Admin")
        },
    )
}

pub(super) async fn admin(State(app): State<App>, Signed(account): Signed) -> Response {
    render_admin(&app, &account, AdminShown::default(), StatusCode::OK).await
}

/// Runs an admin form's action and shows the admin page with its result.
async fn admin_action(
    app: &App,
    account: &Account,
    form: &Fields,
    act: impl AsyncFnOnce(&Fields) -> Result<AdminShown, AppError>,
) -> Response {
    if let Some(r) = refused(app, account, form) {
        return r;
    }
    let refused_with = async |errors: Vec<String>, status: StatusCode| {
        let shown = AdminShown {
            errors,
            ..Default::default()
        };
        render_admin(app, account, shown, status).await
    };
    match act(form).await {
        Ok(shown) => render_admin(app, account, shown, StatusCode::OK).await,
        Err(AppError::Invalid(errors)) => {
            let errors = errors
                .iter()
                .map(|e| format!("{}: {}", e.field, e.message))
                .collect();
            refused_with(errors, StatusCode::UNPROCESSABLE_ENTITY).await
        }
        Err(AppError::Forbidden(why)) => (
            StatusCode::FORBIDDEN,
            Html(format!("<!doctype html><p>{why}</p>")),
        )
            .into_response(),
        Err(AppError::NotFound(what)) => {
            refused_with(vec![format!("{what} not found")], StatusCode::NOT_FOUND).await
        }
        Err(e) => failure(e),
    }
}

pub(super) async fn create_key(
    State(app): State<App>,
    Signed(account): Signed,
    Form(form): Form<Fields>,
) -> Response {
    admin_action(&app, &account, &form, async |form| {
        let name = form.get("name").map_or("", String::as_str);
        let role = form.get("role").map_or("agent", String::as_str);
        let new = NewKey {
            name,
            role: KeyRole::parse(role)
                .ok_or_else(|| AppError::invalid("role", "must be agent, approver or admin"))?,
            approver: form
                .get("approver")
                .map(String::as_str)
                .filter(|a| !a.trim().is_empty()),
        };
        let (key, secret) = app.accounts().new_key(&account.caller(), new).await?;
        Ok(AdminShown {
            secret: Some((format!("API key {name:?} ({})", key.role.as_str()), secret)),
            ..Default::default()
        })
    })
    .await
}

pub(super) async fn revoke_key(
    State(app): State<App>,
    Signed(account): Signed,
    Path(id): Path<String>,
    Form(form): Form<Fields>,
) -> Response {
    admin_action(&app, &account, &form, async |_| {
        app.accounts().revoke_key(&account.caller(), &id).await?;
        Ok(AdminShown {
            message: Some("The key is revoked: calls with it are refused from now on.".into()),
            ..Default::default()
        })
    })
    .await
}

pub(super) async fn invite(
    State(app): State<App>,
    Signed(account): Signed,
    headers: HeaderMap,
    Form(form): Form<Fields>,
) -> Response {
    let origin = site_origin(&app, &headers);
    admin_action(&app, &account, &form, async |form| {
        let email = form.get("email").map_or("", String::as_str);
        let role = form
            .get("role")
            .and_then(|r| Role::parse(r))
            .ok_or_else(|| AppError::invalid("role", "must be approver or admin"))?;
        let token = app.accounts().invite(&account, email, role).await?;
        Ok(AdminShown {
            secret: Some((
                format!("Invitation link for {email}: send it to them; it works once, for 7 days"),
                format!("{origin}/dashboard/invite/{token}"),
            )),
            ..Default::default()
        })
    })
    .await
}

/// Where this dashboard is reached, for links shown on it.
fn site_origin(app: &App, headers: &HeaderMap) -> String {
    if !app.channels.public_url.is_empty() {
        return app.channels.public_url.clone();
    }
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or("localhost");
    format!("https://{host}")
}

pub(super) async fn redeliver(
    State(app): State<App>,
    Signed(account): Signed,
    Path((endpoint, delivery)): Path<(String, String)>,
    Form(form): Form<Fields>,
) -> Response {
    admin_action(&app, &account, &form, async |_| {
        if !account.is_admin() {
            return Err(AppError::Forbidden("only admins may do this".into()));
        }
        app.webhooks()
            .redeliver(&account.caller(), &endpoint, &delivery)
            .await?;
        Ok(AdminShown {
            message: Some("Queued for another attempt, under the same webhook-id.".into()),
            ..Default::default()
        })
    })
    .await
}

pub(super) async fn mailbox(State(app): State<App>, Signed(account): Signed) -> Response {
    let messages = match app.messages().mailbox(&account.caller()) {
        Ok(m) => m,
        Err(AppError::NotFound(_)) => {
            return (
                StatusCode::NOT_FOUND,
                Html("<!doctype html><p>There is no dev mailbox: messages are sent.</p>"),
            )
                .into_response();
        }
        Err(AppError::Forbidden(why)) => {
            return (
                StatusCode::FORBIDDEN,
                Html(format!(
                    "<!doctype html><p>{why}</p><p><a href=\"/dashboard\">Inbox</a></p>"
                )),
            )
                .into_response();
        }
        Err(e) => return failure(e),
    };
    page(
        StatusCode::OK,
        "dashboard/mailbox.html",
        minijinja::context! {
            messages => messages.into_iter().rev().collect::<Vec<_>>(),
            ..base(&app, &account, "Dev mailbox")
        },
    )
}
