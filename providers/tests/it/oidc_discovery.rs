//! The OIDC discovery check against a real OpenID provider: the certified npm package
//! `oidc-provider` (installed by `scripts/lib/install-oidc-provider` into
//! `$KAPSTAN_TOOLS/node`), run on loopback by `tests/oidc/provider.mjs`. A correct issuer
//! passes with the endpoints Coder needs; a wrong issuer, a path that is no issuer and a
//! server that does not answer are each reported in the user's terms.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use kapstan_providers::coder::oidc_discovery::{DiscoveryError, check_issuer};
use tokio::io::{AsyncBufReadExt, BufReader};

struct Provider {
    issuer: String,
    _child: tokio::process::Child,
}

fn node_modules() -> PathBuf {
    let tools = crate::support::tools_root();
    let dir = std::env::var_os("KAPSTAN_OIDC_PROVIDER_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| tools.join("node"))
        .join("node_modules");
    assert!(
        dir.join("oidc-provider/package.json").is_file(),
        "oidc-provider is missing in {}: run `scripts/test --tools-only` (scripts/lib/install-oidc-provider)",
        dir.display()
    );
    dir
}

async fn provider() -> Provider {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/oidc/provider.mjs");
    let mut child = tokio::process::Command::new("node")
        .arg(script)
        .env("OIDC_PROVIDER_NODE_MODULES", node_modules())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("node runs");
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let issuer = tokio::time::timeout(Duration::from_secs(60), async {
        while let Some(line) = lines.next_line().await.unwrap() {
            if let Some(i) = line.strip_prefix("issuer ") {
                return i.to_string();
            }
        }
        panic!("the provider exited before it listened");
    })
    .await
    .expect("the provider starts");
    Provider {
        issuer,
        _child: child,
    }
}

fn scopes(list: &[&str]) -> Vec<String> {
    list.iter().map(|s| s.to_string()).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_real_provider_passes_with_the_endpoints_coder_needs() {
    let p = provider().await;
    let report = check_issuer(
        &p.issuer,
        &scopes(&["openid", "profile", "email"]),
        Duration::from_secs(10),
    )
    .await
    .expect("answers");
    assert!(report.is_ok(), "{:?}", report.problems);
    assert_eq!(
        report.endpoints.authorization_endpoint.as_deref(),
        Some(format!("{}/auth", p.issuer).as_str())
    );
    assert!(report.endpoints.token_endpoint.is_some() && report.endpoints.jwks_uri.is_some());
    assert!(report.endpoints.userinfo_endpoint.is_some());
    assert!(report.warnings.is_empty(), "{:?}", report.warnings);

    // A scope the provider does not list is a warning, not a failure.
    let report = check_issuer(
        &p.issuer,
        &scopes(&["openid", "groups"]),
        Duration::from_secs(10),
    )
    .await
    .unwrap();
    assert!(report.is_ok());
    assert!(
        report.warnings.iter().any(|w| w.contains("\"groups\"")),
        "{:?}",
        report.warnings
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_issuer_and_a_non_issuer_are_named_with_the_fix() {
    let p = provider().await;
    // Same server, another spelling of the issuer: Coder refuses the mismatch.
    let spelled = p.issuer.replace("127.0.0.1", "localhost");
    let report = check_issuer(&spelled, &scopes(&["openid"]), Duration::from_secs(10))
        .await
        .unwrap();
    assert!(!report.is_ok());
    assert!(
        report
            .problems
            .iter()
            .any(|m| m.contains("Coder refuses a different issuer")
                && m.contains(&format!("set [oidc] issuer_url = {:?}", p.issuer))),
        "{:?}",
        report.problems
    );
    // A path under the provider that is not an issuer.
    let report = check_issuer(
        &format!("{}/realms/missing", p.issuer),
        &scopes(&["openid"]),
        Duration::from_secs(10),
    )
    .await
    .unwrap();
    assert!(
        report
            .problems
            .iter()
            .any(|m| m.contains("answered 404") && m.contains("is not an OpenID issuer")),
        "{:?}",
        report.problems
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_issuer_that_does_not_answer_is_an_error_naming_the_url() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    drop(listener);
    let err = check_issuer(
        &format!("http://127.0.0.1:{port}"),
        &scopes(&["openid"]),
        Duration::from_secs(5),
    )
    .await
    .unwrap_err();
    let DiscoveryError::Unreachable { url, .. } = &err;
    assert_eq!(
        url,
        &format!("http://127.0.0.1:{port}/.well-known/openid-configuration")
    );
}
