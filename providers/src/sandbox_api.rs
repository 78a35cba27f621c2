//! The calls kapstan makes to its own sandbox: whether a sandbox answers at a URL, the loopback
//! address it gives a load balancer and where a name of its DNS zones leads (inspection API,
//! `/sandbox/v1/…`), and the index of its chart repository.

use std::time::Duration;

use serde_json::Value;

/// Whether a kapstan sandbox answers at `url` (its inspection endpoint, within 3 s).
pub async fn sandbox_answers(url: &str) -> bool {
    let client = match reqwest::Client::builder()
        .timeout(Duration::from_secs(3))
        .build()
    {
        Ok(c) => c,
        Err(_) => return false,
    };
    client
        .get(format!("{url}/sandbox/v1/resources"))
        .send()
        .await
        .is_ok_and(|r| r.status().is_success())
}

/// The loopback address the sandbox at `url` gives load balancer `lb_id` of `zone`; the
/// error names the URL asked.
pub async fn lb_endpoint(url: &str, zone: &str, lb_id: &str) -> Result<String, String> {
    let url = format!("{url}/sandbox/v1/lb-endpoints/{zone}/{lb_id}");
    let body: Value = reqwest::get(&url)
        .await
        .and_then(|r| r.error_for_status())
        .map_err(|e| format!("{url}: {e}"))?
        .json()
        .await
        .map_err(|e| format!("{url}: {e}"))?;
    body["url"]
        .as_str()
        .map(String::from)
        .ok_or_else(|| format!("{url} gave no url"))
}

/// The DNS responder's address of the persisted sandbox at `url` (its recorded port, from the
/// inspection API), if it records one.
pub async fn dns_responder(url: &str) -> Option<std::net::SocketAddr> {
    let body: Value = reqwest::get(format!("{url}/sandbox/v1/resources"))
        .await
        .ok()?
        .json()
        .await
        .ok()?;
    let port = body["resources"]["dns.responder"][0]["object"]["port"].as_u64()?;
    Some(std::net::SocketAddr::from(([127, 0, 0, 1], port as u16)))
}

/// Where name `name` of the sandbox's DNS zones leads: its address and the loopback endpoints
/// of the load balancer that holds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResolvedName {
    /// The A record's address (the load balancer's public IP).
    pub ip: String,
    /// The load balancer's id.
    pub lb_id: String,
    /// Its port 80 frontend on loopback (`127.0.0.1:PORT`).
    pub http: String,
    /// Its port 443 frontend on loopback.
    pub https: String,
}

/// Asks the sandbox at `url` where `name` leads; the error is the sandbox's reason.
pub async fn resolve_name(url: &str, name: &str) -> Result<ResolvedName, String> {
    let ask = format!("{url}/sandbox/v1/resolve/{name}");
    let resp = reqwest::get(&ask)
        .await
        .map_err(|e| format!("{ask}: {e}"))?;
    let ok = resp.status().is_success();
    let body: Value = resp.json().await.map_err(|e| format!("{ask}: {e}"))?;
    if !ok {
        return Err(body["message"].as_str().unwrap_or("not found").to_string());
    }
    let field = |k: &str| body[k].as_str().unwrap_or_default().to_string();
    Ok(ResolvedName {
        ip: field("ip"),
        lb_id: field("lb_id"),
        http: field("http"),
        https: field("https"),
    })
}

/// The `index.yaml` of the sandbox's chart repository at `url`; the error names the URL asked.
pub async fn chart_index(url: &str) -> Result<String, String> {
    let url = format!("{url}/charts/index.yaml");
    reqwest::get(&url)
        .await
        .and_then(|r| r.error_for_status())
        .map_err(|e| format!("{url}: {e}"))?
        .text()
        .await
        .map_err(|e| format!("{url}: {e}"))
}
