//! The calls kapstan makes to its own sandbox: whether a sandbox answers at a URL, the loopback
//! address it gives a load balancer (inspection API, `/sandbox/v1/…`), and the index of its
//! chart repository.

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
