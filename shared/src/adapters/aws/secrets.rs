//! Database credentials from Secrets Manager: the secret RDS manages for the cluster,
//! `{"username": …, "password": …}`.

use serde::Deserialize;

#[derive(Deserialize)]
struct Credentials {
    username: String,
    password: String,
}

/// The PostgreSQL URL for `host`/`database` with the credentials in secret `arn`.
pub async fn database_url(
    sdk: &aws_config::SdkConfig,
    arn: &str,
    host: &str,
    port: u16,
    database: &str,
) -> Result<String, String> {
    let secret = aws_sdk_secretsmanager::Client::new(sdk)
        .get_secret_value()
        .secret_id(arn)
        .send()
        .await
        .map_err(|e| {
            format!(
                "cannot read secret {arn}: {}",
                crate::telemetry::error_chain(&e)
            )
        })?;
    let text = secret
        .secret_string()
        .ok_or_else(|| format!("secret {arn} holds no text"))?;
    let c: Credentials = serde_json::from_str(text)
        .map_err(|e| format!("secret {arn} is not {{\"username\", \"password\"}}: {e}"))?;
    let mut url = url::Url::parse("postgres://localhost").expect("a valid base");
    url.set_host(Some(host))
        .map_err(|e| format!("bad database host {host:?}: {e}"))?;
    url.set_port(Some(port))
        .map_err(|()| "bad database port".to_owned())?;
    url.set_username(&c.username)
        .map_err(|()| "bad username".to_owned())?;
    url.set_password(Some(&c.password))
        .map_err(|()| "bad password".to_owned())?;
    url.set_path(database);
    Ok(url.to_string())
}
