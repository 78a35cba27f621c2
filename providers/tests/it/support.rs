//! The shared test context of the provider tests: where the installed tools and the shared
//! fixtures are, a counting fake API and authenticated reads of a sandbox.
// The `tools` modules use these; the others do not.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use kapstan_sandbox::Sandbox;
use serde_json::Value;

/// Where `scripts/test --tools-only` installs the test tools (`$KAPSTAN_TOOLS`, default
/// `<workspace>/.tools`).
pub fn tools_root() -> PathBuf {
    std::env::var_os("KAPSTAN_TOOLS")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../.tools"))
}

/// A tool `scripts/test --tools-only` installs into `$KAPSTAN_TOOLS/bin` (default
/// `<workspace>/.tools/bin`); fails the test with the command that installs it.
/// A registry of every kind whose `helm_release` runs the installed test helm.
pub fn registry_with_tools_helm() -> kapstan_engine::Registry {
    kapstan_providers::registry_with_options(
        std::sync::Arc::new(kapstan_providers::scaleway::ScalewayProvider::default()),
        &kapstan_providers::RegistryOptions {
            helm: Some(tool("helm")),
            ..Default::default()
        },
    )
}

pub fn tool(name: &str) -> PathBuf {
    let path = tools_root().join("bin").join(name);
    assert!(
        path.exists(),
        "{} is missing: run `scripts/test --tools-only` to install the test tools",
        path.display()
    );
    path
}

/// A fixture of `../shared/fixtures` next to the repository (never copied into it).
pub fn fixture(relative: &str) -> PathBuf {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../shared/fixtures")
        .join(relative);
    assert!(
        path.exists(),
        "the fixture {} is missing: expected ../shared/fixtures/{relative} next to the repository",
        path.display()
    );
    path
}

/// The official Coder chart as packaged for 2.21.1, read in place from the shared fixtures.
pub fn official_coder_chart() -> PathBuf {
    fixture("coder-chart/coder-2.21.1")
}

/// A fake Scaleway API that answers every request with a 500 and counts them: its URL and the
/// count, for tests that bad input is refused before any call.
pub async fn counting_api() -> (String, Arc<AtomicUsize>) {
    let count = Arc::new(AtomicUsize::new(0));
    let seen = count.clone();
    let router = axum::Router::new().fallback(move || {
        let seen = seen.clone();
        async move {
            seen.fetch_add(1, Ordering::SeqCst);
            axum::http::StatusCode::INTERNAL_SERVER_ERROR
        }
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    (url, count)
}

/// `METHOD path` (with a JSON `body`) on the sandbox's Scaleway API with its secret key; the
/// JSON answer.
pub async fn scw(sb: &Sandbox, method: reqwest::Method, path: &str, body: Option<Value>) -> Value {
    let mut request = reqwest::Client::new()
        .request(method, format!("{}{path}", sb.url()))
        .header("x-auth-token", sb.secret_key());
    if let Some(body) = body {
        request = request.json(&body);
    }
    request.send().await.unwrap().json().await.unwrap()
}

/// `GET path` on the sandbox's Scaleway API; the JSON answer.
pub async fn scw_get(sb: &Sandbox, path: &str) -> Value {
    scw(sb, reqwest::Method::GET, path, None).await
}

/// `POST path` with a JSON `body` on the sandbox's Scaleway API; the JSON answer.
pub async fn scw_post(sb: &Sandbox, path: &str, body: Value) -> Value {
    scw(sb, reqwest::Method::POST, path, Some(body)).await
}
