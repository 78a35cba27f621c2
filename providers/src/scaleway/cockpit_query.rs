//! An instant query of a Cockpit metrics data source through its Prometheus-compatible API
//! (`{url}/prometheus/api/v1/query`, `X-Token` with the `query_metrics` scope), for
//! `kapstan health` to ask whether a scrape job's series arrived in the last minutes. The token
//! is sent and never echoed in a result.

use std::time::Duration;

use serde_json::Value;

/// What an instant query found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum QueryOutcome {
    /// The query answered with this many series.
    Series(usize),
    /// The endpoint could not be reached, or offers no query API (404): nothing is known.
    NotChecked(String),
    /// The endpoint answered but refused the token or the query, or answered nonsense.
    Failed(String),
}

/// `GET {url}/prometheus/api/v1/query?query={selector}` with `token`.
pub async fn instant_query(url: &str, token: &str, selector: &str) -> QueryOutcome {
    let endpoint = format!("{}/prometheus/api/v1/query", url.trim_end_matches('/'));
    let http = match reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .connect_timeout(Duration::from_secs(5))
        .build()
    {
        Ok(c) => c,
        Err(e) => return QueryOutcome::Failed(format!("HTTP client: {e}")),
    };
    let answer = http
        .get(&endpoint)
        .header("X-Token", token)
        .query(&[("query", selector)])
        .send()
        .await;
    let r = match answer {
        Ok(r) => r,
        Err(e) => {
            let why = if e.is_timeout() {
                "timed out"
            } else {
                "connection refused or unreachable"
            };
            return QueryOutcome::NotChecked(format!("{endpoint}: {why}"));
        }
    };
    match r.status().as_u16() {
        200 => {}
        404 => return QueryOutcome::NotChecked(format!("{endpoint} offers no query API (404)")),
        401 | 403 => {
            return QueryOutcome::Failed(format!("{endpoint} refused the token ({})", r.status()));
        }
        _ => return QueryOutcome::Failed(format!("{endpoint} answered {}", r.status())),
    }
    match r.json::<Value>().await {
        Ok(body) if body["status"] == "success" => {
            QueryOutcome::Series(body["data"]["result"].as_array().map_or(0, Vec::len))
        }
        Ok(body) => QueryOutcome::Failed(format!(
            "{endpoint}: the query failed: {}",
            body["error"].as_str().unwrap_or("no reason given")
        )),
        Err(_) => QueryOutcome::Failed(format!("{endpoint}: the answer is not JSON")),
    }
}
