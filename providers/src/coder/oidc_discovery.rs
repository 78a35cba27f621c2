//! The OpenID provider an environment signs in with, checked the way Coder uses it: Coder's
//! OIDC login (go-oidc, `coderd`) fetches `<issuer>/.well-known/openid-configuration`, requires
//! its `issuer` to equal the configured issuer exactly (unless
//! `CODER_DANGEROUS_OIDC_SKIP_ISSUER_CHECKS`), sends users to `authorization_endpoint` with the
//! authorization code flow, redeems codes at `token_endpoint`, verifies ID tokens with the keys at
//! `jwks_uri` and, unless `CODER_OIDC_IGNORE_USERINFO`, reads claims from `userinfo_endpoint`.
//! (OpenID Connect Discovery 1.0 §3–§4 names these fields.)

use std::time::Duration;

use serde::Deserialize;

/// Why the provider could not be checked at all.
#[derive(Debug, thiserror::Error)]
pub enum DiscoveryError {
    /// No HTTP answer.
    #[error("{url} does not answer: {message}")]
    Unreachable {
        /// The discovery URL.
        url: String,
        /// The transport error.
        message: String,
    },
}

/// The endpoints a discovery document names, each when given (read from the document as is).
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
pub struct Endpoints {
    /// The authorization endpoint.
    pub authorization_endpoint: Option<String>,
    /// The token endpoint.
    pub token_endpoint: Option<String>,
    /// The JWKS URL.
    pub jwks_uri: Option<String>,
    /// The userinfo endpoint.
    pub userinfo_endpoint: Option<String>,
}

/// What the discovery document says, and what in it would stop Coder's sign-in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DiscoveryReport {
    /// The discovery URL fetched.
    pub url: String,
    /// The endpoints it names (none when the document could not be read).
    pub endpoints: Endpoints,
    /// Problems that break sign-in, each naming the field and the fix.
    pub problems: Vec<String>,
    /// Things that may break parts of it (scopes the provider does not list).
    pub warnings: Vec<String>,
}

impl DiscoveryReport {
    /// Whether Coder can sign users in with this provider.
    pub fn is_ok(&self) -> bool {
        self.problems.is_empty()
    }
}

#[derive(Debug, Default, Deserialize)]
struct Document {
    issuer: Option<String>,
    #[serde(flatten)]
    endpoints: Endpoints,
    #[serde(default)]
    response_types_supported: Vec<String>,
    #[serde(default)]
    scopes_supported: Option<Vec<String>>,
}

#[derive(Debug, Default, Deserialize)]
struct Jwks {
    #[serde(default)]
    keys: Vec<serde_json::Value>,
}

/// The discovery URL of an issuer (a trailing `/` is not doubled).
pub fn discovery_url(issuer: &str) -> String {
    format!(
        "{}/.well-known/openid-configuration",
        issuer.trim_end_matches('/')
    )
}

/// Fetches and checks the issuer's discovery document and its keys, for the `scopes` Coder
/// will request.
pub async fn check_issuer(
    issuer: &str,
    scopes: &[String],
    timeout: Duration,
) -> Result<DiscoveryReport, DiscoveryError> {
    let http = reqwest::Client::builder()
        .timeout(timeout)
        .connect_timeout(timeout)
        .build()
        .unwrap_or_default();
    let url = discovery_url(issuer);
    let unreachable = |e: reqwest::Error| DiscoveryError::Unreachable {
        url: url.clone(),
        message: e.to_string(),
    };
    let resp = http.get(&url).send().await.map_err(unreachable)?;
    let mut report = DiscoveryReport {
        url: url.clone(),
        endpoints: Endpoints::default(),
        problems: vec![],
        warnings: vec![],
    };
    let status = resp.status();
    if !status.is_success() {
        report.problems.push(format!(
            "{url} answered {status}: [oidc] issuer_url is not an OpenID issuer (check the realm or tenant path)"
        ));
        return Ok(report);
    }
    let body = resp.bytes().await.map_err(unreachable)?;
    let doc: Document = match serde_json::from_slice(&body) {
        Ok(d) => d,
        Err(e) => {
            report.problems.push(format!(
                "{url} is not a discovery document ({e}): [oidc] issuer_url is not an OpenID issuer"
            ));
            return Ok(report);
        }
    };
    match &doc.issuer {
        Some(i) if i == issuer => {}
        Some(i) => report.problems.push(format!(
            "the provider calls itself {i:?}, not {issuer:?}: Coder refuses a different issuer; set [oidc] issuer_url = {i:?}"
        )),
        None => report
            .problems
            .push(format!("{url} has no `issuer`: not an OpenID discovery document")),
    }
    for (field, value) in [
        (
            "authorization_endpoint",
            &doc.endpoints.authorization_endpoint,
        ),
        ("token_endpoint", &doc.endpoints.token_endpoint),
        ("jwks_uri", &doc.endpoints.jwks_uri),
    ] {
        if value.as_deref().is_none_or(str::is_empty) {
            report.problems.push(format!(
                "{url} has no `{field}`, which Coder's sign-in needs"
            ));
        }
    }
    if doc.endpoints.userinfo_endpoint.is_none() {
        report.warnings.push(format!(
            "{url} has no `userinfo_endpoint`: Coder then needs CODER_OIDC_IGNORE_USERINFO=true and every claim in the ID token"
        ));
    }
    if !doc.response_types_supported.is_empty()
        && !doc.response_types_supported.iter().any(|t| t == "code")
    {
        report.problems.push(format!(
            "{url} does not offer the authorization code flow (response type `code`) Coder signs in with"
        ));
    }
    if let Some(supported) = &doc.scopes_supported {
        for s in scopes {
            if !supported.contains(s) {
                report.warnings.push(format!(
                    "[oidc] scopes: the provider does not list {s:?} in scopes_supported"
                ));
            }
        }
    }
    if let Some(jwks) = &doc.endpoints.jwks_uri {
        match http.get(jwks).send().await {
            Ok(r) if r.status().is_success() => match r.json::<Jwks>().await {
                Ok(k) if !k.keys.is_empty() => {}
                _ => report.problems.push(format!(
                    "{jwks} holds no signing keys: Coder could not verify ID tokens"
                )),
            },
            Ok(r) => report.problems.push(format!(
                "{jwks} answered {}: Coder could not verify ID tokens",
                r.status()
            )),
            Err(e) => report.problems.push(format!(
                "{jwks} does not answer ({e}): Coder could not verify ID tokens"
            )),
        }
    }
    report.endpoints = doc.endpoints;
    Ok(report)
}
