//! `scimd webhook test`: a signed `webhook.test` event sent straight to each of an org's
//! endpoints, so an operator can check a receiver and its secret before real events flow.
//! It goes out from the command itself, not through the feed: nothing is stored or retried.

use bytes::Bytes;
use scimd_config::Config;
use serde_json::json;
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

use super::client::Conn;
use super::Origin;

/// What one endpoint answered. It is named by its id and host, never its URL, whose path or
/// query may hold the receiver's token.
pub struct Pinged {
    pub endpoint: String,
    pub host: String,
    pub result: Result<u16, String>,
}

/// Sends one ping to every endpoint of `org`; None when the config has no such org.
pub async fn ping(config: &Config, org: &str) -> Option<Vec<Pinged>> {
    let org = config.org(org)?;
    // The listen address stands in for the origin; a ping's body carries no resource.
    let origin = Origin {
        scheme: "http",
        addr: config.listen,
    };
    let endpoints = super::endpoints(config, origin);
    let mut out = Vec::new();
    for hook in &org.webhooks {
        let Some(ep) = endpoints.get(&(org.name.clone(), hook.id())) else {
            out.push(Pinged {
                endpoint: hook.id(),
                host: hook.host().to_string(),
                result: Err("the org is disabled".into()),
            });
            continue;
        };
        let now = OffsetDateTime::now_utc();
        let id = format!("ping_{}", uuid::Uuid::now_v7().simple());
        let body = json!({
            "id": id,
            "type": "webhook.test",
            "org": org.name,
            "time": now.format(&Rfc3339).unwrap_or_default(),
            "data": {"message": "A test event from scimd webhook test."},
        })
        .to_string();
        let headers = super::signed_headers(&ep.secret, &id, body.as_bytes());
        let result = Conn::default()
            .post(&ep.target, &headers, Bytes::from(body))
            .await
            .map_err(|e| e.to_string());
        out.push(Pinged {
            endpoint: hook.id(),
            host: hook.host().to_string(),
            result,
        });
    }
    Some(out)
}
