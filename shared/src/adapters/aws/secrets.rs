//! Secrets from Secrets Manager: the database credentials RDS manages for the cluster
//! (`{"username": …, "password": …}`), the approval-link key, and the Slack app's.

use serde::Deserialize;

#[derive(Deserialize)]
struct Credentials {
    username: String,
    password: String,
}

/// The PostgreSQL URL for `host`/`database` with the credentials of secret `arn`, whose
/// text is `text`.
pub fn database_url(
    text: &str,
    arn: &str,
    host: &str,
    port: u16,
    database: &str,
) -> Result<String, String> {
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

/// The text a secret holds.
pub async fn secret_text(sdk: &aws_config::SdkConfig, arn: &str) -> Result<String, String> {
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
    secret
        .secret_string()
        .map(str::to_owned)
        .ok_or_else(|| format!("secret {arn} holds no text"))
}

/// The texts of the secrets `ids` (ARNs or names), in their order, from one call: a
/// cold start reads every secret it needs at once, in one round trip.
pub async fn secret_texts(
    sdk: &aws_config::SdkConfig,
    ids: &[&str],
) -> Result<Vec<String>, String> {
    let answer = aws_sdk_secretsmanager::Client::new(sdk)
        .batch_get_secret_value()
        .set_secret_id_list(Some(ids.iter().map(|id| id.to_string()).collect()))
        .send()
        .await
        .map_err(|e| {
            format!(
                "cannot read secrets {ids:?}: {}",
                crate::telemetry::error_chain(&e)
            )
        })?;
    if let Some(e) = answer.errors().first() {
        return Err(format!(
            "cannot read secret {}: {} {}",
            e.secret_id().unwrap_or_default(),
            e.error_code().unwrap_or_default(),
            e.message().unwrap_or_default()
        ));
    }
    let values = answer.secret_values();
    ids.iter()
        .map(|id| {
            let value = values
                .iter()
                .find(|v| v.arn() == Some(*id) || v.name() == Some(*id))
                .ok_or_else(|| format!("secret {id} was not in the answer"))?;
            value
                .secret_string()
                .map(str::to_owned)
                .ok_or_else(|| format!("secret {id} holds no text"))
        })
        .collect()
}

/// The Slack app's secret: `{"signingSecret": …, "botToken": …}`; both empty until the
/// operator fills them in, which leaves Slack off.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SlackSecret {
    #[serde(default)]
    pub signing_secret: String,
    #[serde(default)]
    pub bot_token: String,
}

/// The Slack secret in `text`, the text of secret `arn`.
pub fn slack_secret(text: &str, arn: &str) -> Result<SlackSecret, String> {
    serde_json::from_str(text)
        .map_err(|e| format!("secret {arn} is not {{\"signingSecret\", \"botToken\"}}: {e}"))
}
