//! Signing in and out, and joining by invitation: the session cookie is set here.

use std::net::SocketAddr;

use axum::extract::ConnectInfo;
use axum::http::Extensions;

use super::*;

#[derive(serde::Deserialize, Default)]
pub(super) struct SignInQuery {
    next: Option<String>,
    expired: Option<String>,
}

/// Only paths of this site: an open redirect would make the sign-in page a phishing aid.
fn safe_next(next: Option<&str>) -> String {
    match next {
        Some(n) if n.starts_with("/dashboard") && !n.starts_with("//") => n.to_owned(),
        _ => "/dashboard".to_owned(),
    }
}

pub(super) async fn sign_in_page(Query(q): Query<SignInQuery>) -> Response {
    let message = q
        .expired
        .is_some()
        .then_some("Your session has expired. Sign in again.");
    page(
        StatusCode::OK,
        "dashboard/sign_in.html",
        minijinja::context! { title => "Sign in", next => safe_next(q.next.as_deref()), message, email => "" },
    )
}

/// Where a request comes from: the peer, when the server sees it (the local server);
/// behind API Gateway, the address it appended last to `X-Forwarded-For` (what a client
/// puts there itself comes before it).
fn client_address(headers: &HeaderMap, extensions: &Extensions) -> Option<String> {
    if let Some(ConnectInfo(peer)) = extensions.get::<ConnectInfo<SocketAddr>>() {
        return Some(peer.ip().to_string());
    }
    headers
        .get("x-forwarded-for")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.rsplit(',').next())
        .map(|a| a.trim().to_owned())
        .filter(|a| !a.is_empty())
}

pub(super) async fn sign_in(
    State(app): State<App>,
    headers: HeaderMap,
    extensions: Extensions,
    jar: CookieJar,
    Form(form): Form<Fields>,
) -> Response {
    let get = |k: &str| form.get(k).map_or("", String::as_str);
    let address = client_address(&headers, &extensions);
    match app
        .accounts()
        .sign_in(get("email"), get("password"), address.as_deref())
        .await
    {
        Ok(signed) => {
            let session = cookie(&app, &headers, signed.token, SESSION_HOURS * 3600);
            (
                jar.add(session),
                Redirect::to(&safe_next(Some(get("next")))),
            )
                .into_response()
        }
        Err(AppError::Unauthorized) => page(
            StatusCode::UNAUTHORIZED,
            "dashboard/sign_in.html",
            minijinja::context! {
                title => "Sign in", next => safe_next(Some(get("next"))),
                error => "That email and password do not match an account.",
                email => get("email"),
            },
        ),
        Err(AppError::RateLimited { verdict, .. }) => {
            let mut r = page(
                StatusCode::TOO_MANY_REQUESTS,
                "dashboard/sign_in.html",
                minijinja::context! {
                    title => "Sign in", next => safe_next(Some(get("next"))),
                    error => format!("Too many attempts. Try again in {} seconds.", verdict.reset_seconds),
                    email => get("email"),
                },
            );
            r.headers_mut()
                .insert(header::RETRY_AFTER, verdict.reset_seconds.into());
            r
        }
        Err(e) => failure(e),
    }
}

pub(super) async fn sign_out(
    State(app): State<App>,
    Signed(account): Signed,
    headers: HeaderMap,
    jar: CookieJar,
    Form(form): Form<Fields>,
) -> Response {
    if let Some(r) = refused(&app, &account, &form) {
        return r;
    }
    if let Some(token) = jar.get(COOKIE).map(|c| c.value().to_owned())
        && let Err(e) = app.accounts().sign_out(&token).await
    {
        return failure(e);
    }
    let gone = cookie(&app, &headers, String::new(), 0);
    (jar.add(gone), Redirect::to("/dashboard/sign-in")).into_response()
}

pub(super) async fn invite_page(State(app): State<App>, Path(token): Path<String>) -> Response {
    match app.accounts().open_invite(&token).await {
        Ok(i) => page(
            StatusCode::OK,
            "dashboard/invite.html",
            minijinja::context! {
                title => "Join", role => i.role.as_str(), email => i.email,
                action => format!("/dashboard/invite/{token}"), given_email => "",
            },
        ),
        Err(AppError::NotFound(_)) => gone_invite(),
        Err(e) => failure(e),
    }
}

fn gone_invite() -> Response {
    (
        StatusCode::NOT_FOUND,
        Html("<!doctype html><title>Invitation</title><p>This invitation was used or has expired. Ask an admin for a new one.</p><p><a href=\"/dashboard/sign-in\">Sign in</a></p>"),
    )
        .into_response()
}

pub(super) async fn accept_invite(
    State(app): State<App>,
    Path(token): Path<String>,
    headers: HeaderMap,
    jar: CookieJar,
    Form(form): Form<Fields>,
) -> Response {
    let email = form.get("email").map(String::as_str);
    let password = form.get("password").map_or("", String::as_str);
    match app.accounts().accept_invite(&token, email, password).await {
        Ok(signed) => {
            let session = cookie(&app, &headers, signed.token, SESSION_HOURS * 3600);
            (jar.add(session), Redirect::to("/dashboard")).into_response()
        }
        Err(AppError::Invalid(errors)) => match app.accounts().open_invite(&token).await {
            Ok(i) => page(
                StatusCode::UNPROCESSABLE_ENTITY,
                "dashboard/invite.html",
                minijinja::context! {
                    title => "Join", role => i.role.as_str(), email => i.email,
                    action => format!("/dashboard/invite/{token}"),
                    given_email => email.unwrap_or_default(),
                    errors => errors.iter().map(|e| format!("{}: {}", e.field, e.message)).collect::<Vec<_>>(),
                },
            ),
            Err(_) => gone_invite(),
        },
        Err(AppError::NotFound(_)) => gone_invite(),
        Err(e) => failure(e),
    }
}
