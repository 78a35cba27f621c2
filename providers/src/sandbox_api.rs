//! The two calls kapstan makes to its own sandbox's inspection API (`/sandbox/v1/…`): whether
//! a sandbox answers at a URL, and the loopback address it gives a load balancer.

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
