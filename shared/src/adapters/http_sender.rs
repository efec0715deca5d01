//! Webhook, callback and executor calls over HTTP (reqwest), with the SSRF guard: an
//! address that is not public is refused when the URL is registered and again when
//! the connection is made, inside the DNS resolution reqwest connects with, so a DNS
//! answer that changes after the first check (rebinding) is caught too.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use reqwest::dns::{Addrs, Name, Resolve, Resolving};

use crate::domain::webhook::is_public;
use crate::ports::{Answer, Post, SendFailure, WebhookSender};

pub struct HttpSender {
    client: reqwest::Client,
    allow_private: bool,
}

impl HttpSender {
    /// `allow_private` lets receivers on loopback and private networks through (the
    /// local server, tests); a deployment leaves it off.
    pub fn new(allow_private: bool) -> Self {
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .no_proxy()
            .user_agent(concat!("Greenlight-Webhooks/", env!("CARGO_PKG_VERSION")))
            .dns_resolver(Arc::new(GuardedResolver { allow_private }))
            .build()
            .expect("the HTTP client builds");
        Self {
            client,
            allow_private,
        }
    }

    fn check_ip(&self, ip: IpAddr) -> Result<(), SendFailure> {
        if self.allow_private || is_public(ip) {
            Ok(())
        } else {
            Err(SendFailure::Refused(format!(
                "{ip} is not a public address"
            )))
        }
    }
}

#[async_trait]
impl WebhookSender for HttpSender {
    async fn check(&self, url: &url::Url) -> Result<(), SendFailure> {
        match url.host() {
            Some(url::Host::Ipv4(ip)) => self.check_ip(IpAddr::V4(ip)),
            Some(url::Host::Ipv6(ip)) => self.check_ip(IpAddr::V6(ip)),
            Some(url::Host::Domain(name)) => {
                let port = url.port_or_known_default().unwrap_or(443);
                let addrs = resolve(name, port, self.allow_private).await?;
                if addrs.is_empty() {
                    return Err(SendFailure::Failed(format!("{name} does not resolve")));
                }
                Ok(())
            }
            None => Err(SendFailure::Refused("the URL names no host".into())),
        }
    }

    async fn post(&self, post: Post) -> (Duration, Result<Answer, SendFailure>) {
        let started = Instant::now();
        let answer = async {
            let url =
                url::Url::parse(&post.url).map_err(|e| SendFailure::Refused(e.to_string()))?;
            // Literal addresses never reach the resolver.
            match url.host() {
                Some(url::Host::Ipv4(ip)) => self.check_ip(IpAddr::V4(ip))?,
                Some(url::Host::Ipv6(ip)) => self.check_ip(IpAddr::V6(ip))?,
                _ => {}
            }
            let method = reqwest::Method::from_bytes(post.method.as_bytes())
                .map_err(|e| SendFailure::Refused(e.to_string()))?;
            let mut request = self
                .client
                .request(method, url)
                .timeout(post.timeout)
                .body(post.body);
            for (name, value) in &post.headers {
                request = request.header(name, value);
            }
            let mut response = request.send().await.map_err(failure)?;
            let retry_after = response
                .headers()
                .get(reqwest::header::RETRY_AFTER)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned);
            let status = response.status().as_u16();
            let headers = response
                .headers()
                .iter()
                .filter_map(|(k, v)| Some((k.as_str().to_owned(), v.to_str().ok()?.to_owned())))
                .collect();
            let mut excerpt = Vec::new();
            // Only the first bytes are kept; a garbage or endless answer is cut off.
            while excerpt.len() < post.max_body {
                match response.chunk().await {
                    Ok(Some(chunk)) => excerpt.extend_from_slice(&chunk),
                    Ok(None) | Err(_) => break,
                }
            }
            excerpt.truncate(post.max_body);
            Ok(Answer {
                status,
                retry_after,
                headers,
                excerpt: String::from_utf8_lossy(&excerpt).into_owned(),
            })
        }
        .await;
        (started.elapsed(), answer)
    }
}

fn failure(e: reqwest::Error) -> SendFailure {
    // The URL's path and query may hold the receiver's token; the failure is logged
    // and kept on the delivery, where the URL is already known.
    let e = e.without_url();
    let detail = crate::telemetry::error_chain(&e);
    if detail.contains("not a public address") {
        SendFailure::Refused(detail)
    } else if e.is_timeout() {
        SendFailure::Failed(format!("timed out: {detail}"))
    } else {
        SendFailure::Failed(detail)
    }
}

async fn resolve(
    name: &str,
    port: u16,
    allow_private: bool,
) -> Result<Vec<SocketAddr>, SendFailure> {
    let all: Vec<SocketAddr> = tokio::net::lookup_host((name, port))
        .await
        .map_err(|e| SendFailure::Failed(format!("{name} does not resolve: {e}")))?
        .collect();
    let allowed: Vec<SocketAddr> = all
        .iter()
        .copied()
        .filter(|a| allow_private || is_public(a.ip()))
        .collect();
    if allowed.is_empty() && !all.is_empty() {
        return Err(SendFailure::Refused(format!(
            "{name} resolves to {}, not a public address",
            all[0].ip()
        )));
    }
    Ok(allowed)
}

struct GuardedResolver {
    allow_private: bool,
}

impl Resolve for GuardedResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let allow_private = self.allow_private;
        Box::pin(async move {
            let addrs = resolve(name.as_str(), 0, allow_private).await?;
            Ok(Box::new(addrs.into_iter()) as Addrs)
        })
    }
}
