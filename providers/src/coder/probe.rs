//! Checks of a running Coder for `kapstan health`: `/healthz`, the version from
//! `/api/v2/buildinfo`, and whether templates exist in any of the admin's organizations.
//! Failures are plain sentences naming the cause (never a password or token).

use std::time::Duration;

use serde_json::Value;

use super::{CoderClient, CoderReach};

/// How long one check may take.
pub const PROBE_TIMEOUT: Duration = Duration::from_secs(10);

/// A client for unauthenticated probes of `base`, reaching it as `reach` says.
fn http(base: &str, reach: &CoderReach) -> Result<reqwest::Client, String> {
    reach.http_client(base, PROBE_TIMEOUT)
}

/// `GET {base}/healthz`: `Ok("… answered 200 OK")` on success, else what was seen.
pub async fn healthz(base: &str) -> Result<String, String> {
    healthz_with(base, &CoderReach::default()).await
}

/// [`healthz`], reaching `base` as `reach` says.
pub async fn healthz_with(base: &str, reach: &CoderReach) -> Result<String, String> {
    let http = http(base, reach)?;
    match http.get(format!("{base}/healthz")).send().await {
        Ok(r) if r.status().is_success() => Ok(format!("{base}/healthz answered {}", r.status())),
        Ok(r) => Err(format!("{base}/healthz answered {}", r.status())),
        Err(e) => Err(format!("{base}/healthz: {}", cause(&e))),
    }
}

/// `GET {base}/api/v2/buildinfo`: the Coder version (`Ok("Coder 2.21.1")`).
pub async fn build_version(base: &str) -> Result<String, String> {
    build_version_with(base, &CoderReach::default()).await
}

/// [`build_version`], reaching `base` as `reach` says.
pub async fn build_version_with(base: &str, reach: &CoderReach) -> Result<String, String> {
    let http = http(base, reach)?;
    match http.get(format!("{base}/api/v2/buildinfo")).send().await {
        Ok(r) if r.status().is_success() => match r.json::<Value>().await {
            Ok(v) => match v["version"].as_str() {
                Some(ver) => Ok(format!("Coder {ver}")),
                None => Err("the answer has no version".to_string()),
            },
            Err(e) => Err(format!("the answer is not JSON: {}", cause(&e))),
        },
        Ok(r) => Err(format!("/api/v2/buildinfo answered {}", r.status())),
        Err(e) => Err(format!("/api/v2/buildinfo: {}", cause(&e))),
    }
}

/// Logs in as the admin and reports which of `wanted` exist in any organization.
pub async fn templates_present(
    base: &str,
    email: &str,
    password: &str,
    wanted: &[String],
) -> Result<String, String> {
    templates_present_with(base, &CoderReach::default(), email, password, wanted).await
}

/// [`templates_present`], reaching `base` as `reach` says.
pub async fn templates_present_with(
    base: &str,
    reach: &CoderReach,
    email: &str,
    password: &str,
    wanted: &[String],
) -> Result<String, String> {
    let coder = CoderClient::with_reach(base, reach).map_err(|e| e.to_string())?;
    coder
        .login(email, password)
        .await
        .map_err(|e| format!("admin login: {e}"))?;
    let orgs = coder
        .organizations()
        .await
        .map_err(|e| format!("listing organizations: {e}"))?;
    let mut missing = vec![];
    for name in wanted {
        let mut found = false;
        for org in &orgs {
            let Some(org_id) = org["id"].as_str() else {
                continue;
            };
            match coder.template_by_name(org_id, name).await {
                Ok(Some(_)) => {
                    found = true;
                    break;
                }
                Ok(None) => {}
                Err(e) => return Err(format!("reading template {name}: {e}")),
            }
        }
        if !found {
            missing.push(name.clone());
        }
    }
    if missing.is_empty() {
        Ok(format!(
            "{} template(s) present: {}",
            wanted.len(),
            wanted.join(", ")
        ))
    } else {
        Err(format!(
            "{} of {} template(s) missing: {}",
            missing.len(),
            wanted.len(),
            missing.join(", ")
        ))
    }
}

/// A reqwest error's cause without its URL (the URL is shown by the caller): what failed, then
/// the first cause in its source chain that says more than that.
fn cause(e: &reqwest::Error) -> String {
    let what = if e.is_timeout() {
        "timed out"
    } else if e.is_connect() {
        "connection refused or unreachable"
    } else {
        "request failed"
    };
    let detail = std::iter::successors(std::error::Error::source(e), |s| s.source())
        .map(ToString::to_string)
        .find(|text| !text.is_empty() && !what.contains(text.as_str()));
    match detail {
        Some(text) => format!("{what} ({text})"),
        None => what.to_string(),
    }
}

/// The SHA-256 (hex) of the leaf certificate `base` (an `https://` URL) presents. Only the
/// identity is read here — the chain is not verified — so a renewed or foreign certificate can
/// be told from the recorded one. With `connect_to`, the connection goes to that address
/// instead of where DNS resolves the host, the host still naming the server in the TLS
/// handshake (SNI) and in `Host:` (the way `curl --connect-to` reaches a name whose DNS is
/// emulated).
pub async fn served_certificate_sha256(
    base: &str,
    connect_to: Option<std::net::SocketAddr>,
) -> Result<String, String> {
    use sha2::Digest as _;
    let mut builder = reqwest::Client::builder()
        .timeout(PROBE_TIMEOUT)
        .connect_timeout(Duration::from_secs(5))
        .tls_info(true)
        .tls_danger_accept_invalid_certs(true);
    if let Some(addr) = connect_to {
        let url = reqwest::Url::parse(base).map_err(|e| format!("{base}: {e}"))?;
        let host = url
            .host_str()
            .ok_or_else(|| format!("{base} names no host"))?;
        builder = builder.resolve(host, addr);
    }
    let http = builder.build().map_err(|e| format!("HTTP client: {e}"))?;
    let resp = http
        .get(format!("{base}/healthz"))
        .send()
        .await
        .map_err(|e| format!("{base}: {}", cause(&e)))?;
    resp.extensions()
        .get::<reqwest::tls::TlsInfo>()
        .and_then(|i| i.peer_certificate())
        .map(|der| hex::encode(sha2::Sha256::digest(der)))
        .ok_or_else(|| format!("{base} presented no certificate"))
}
