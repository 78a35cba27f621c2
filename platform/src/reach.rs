//! How kapstan's own calls reach an environment's Coder on its `https://` access URL: the
//! issuers of the certificate chain the infra phase obtained are trusted for the access host
//! (beside the system's roots, so a Let's Encrypt staging or private ACME chain verifies), and
//! in the sandbox the host is reached where the sandbox's emulated DNS leads it (the load
//! balancer's 443 frontend on loopback), still named in the TLS handshake. Built from the
//! recorded infra phase and handed explicitly to the engine's Coder drivers
//! (`RegistryOptions::coder`) and to the probes.

use std::time::{Duration, Instant};

use kapstan_providers::coder::{CoderReach, HostReach};
use kapstan_state::StateDocument;

use crate::environment::output_string;
use crate::error::PlatformError;

/// How long a name of the sandbox's zones may take to become visible (the emulated DNS can
/// delay a record's publication).
const RESOLVE_DEADLINE: Duration = Duration::from_secs(30);

/// Whether the infra phase serves Coder over TLS with a certificate kapstan obtained (a domain
/// deployment with `--tls acme`): then the app phase keeps the `https://` access URL, in the
/// sandbox too.
pub fn serves_tls(infra: &StateDocument) -> bool {
    infra.outputs.contains_key("tls_certificate")
        && output_string(infra, "access_url").is_some_and(|u| u.starts_with("https://"))
}

/// The host of an `https://` URL.
fn https_host(url: &str) -> Option<String> {
    let rest = url.strip_prefix("https://")?;
    let host = rest.split(['/', ':']).next()?.to_ascii_lowercase();
    (!host.is_empty()).then_some(host)
}

/// How kapstan reaches the Coder of the environment recorded as `infra`: nothing special
/// unless it serves TLS with a certificate kapstan obtained; then the chain's issuers for the
/// access host and, with `sandbox` (the sandbox's base URL), where the sandbox resolves it.
pub async fn coder_reach(
    infra: &StateDocument,
    sandbox: Option<&str>,
) -> Result<CoderReach, PlatformError> {
    if !serves_tls(infra) {
        return Ok(CoderReach::default());
    }
    let access_url = output_string(infra, "access_url").unwrap_or_default();
    let Some(host) = https_host(&access_url) else {
        return Ok(CoderReach::default());
    };
    let chain = output_string(infra, "tls_certificate").unwrap_or_default();
    // A chain not recorded yet (an issuance that failed) adds no root: the calls then report
    // the certificate they were served.
    let mut reach = HostReach::trusting_issuers_of(&chain).unwrap_or_default();
    if let Some(url) = sandbox {
        reach.connect_to = Some(sandbox_address(url, &host).await?);
    }
    Ok(CoderReach::host(&host, reach))
}

/// The loopback address of `host`'s 443 frontend, where the sandbox at `url` resolves it;
/// waits for a record the emulated DNS has not published yet.
async fn sandbox_address(url: &str, host: &str) -> Result<std::net::SocketAddr, PlatformError> {
    let start = Instant::now();
    loop {
        let why = match kapstan_providers::sandbox_api::resolve_name(url, host).await {
            Ok(at) => match at.https.parse() {
                Ok(addr) => return Ok(addr),
                Err(e) => format!("it gave the unreadable endpoint {:?}: {e}", at.https),
            },
            Err(why) => why,
        };
        if start.elapsed() >= RESOLVE_DEADLINE {
            return Err(PlatformError::usage(
                format!(
                    "the sandbox does not resolve {host} (after {}s): {why}",
                    RESOLVE_DEADLINE.as_secs()
                ),
                format!(
                    "`kapstan sandbox resolve {host}` says where the name leads; run `kapstan up --phase infra --sandbox` to restore its DNS records"
                ),
            ));
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_an_https_url_names_a_host() {
        assert_eq!(
            https_host("https://Coder.Example.test/").as_deref(),
            Some("coder.example.test")
        );
        assert_eq!(
            https_host("https://coder.example.test:443").as_deref(),
            Some("coder.example.test")
        );
        assert_eq!(https_host("http://127.0.0.1:8080"), None);
        assert_eq!(https_host("https://"), None);
    }
}
