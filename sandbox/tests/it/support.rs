//! The shared test context: where the installed tools and the shared fixtures are, and an
//! authenticated JSON client for a running sandbox.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use kapstan_sandbox::Sandbox;
use serde_json::Value;

/// A tool `scripts/test --tools-only` installs into `$KAPSTAN_TOOLS/bin` (default
/// `<workspace>/.tools/bin`); fails the test with the command that installs it.
#[allow(dead_code)] // only the `tools` modules need it
pub fn tool(name: &str) -> PathBuf {
    let dir = std::env::var_os("KAPSTAN_TOOLS")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../.tools"));
    let path = dir.join("bin").join(name);
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

/// A client of one sandbox's API, authenticated with its secret key; answers are (status, JSON
/// or the text as a JSON string, `null` when empty).
pub struct Api {
    pub http: reqwest::Client,
    pub base: String,
    pub token: String,
}

#[allow(dead_code)] // each module uses the verbs it needs
impl Api {
    pub fn new(sb: &Sandbox) -> Self {
        Self {
            http: reqwest::Client::new(),
            base: sb.url().to_string(),
            token: sb.secret_key().to_string(),
        }
    }

    pub async fn call(&self, method: &str, path: &str, body: Option<Value>) -> (u16, Value) {
        let mut req = self
            .http
            .request(method.parse().unwrap(), format!("{}{path}", self.base))
            .header("X-Auth-Token", &self.token);
        if let Some(b) = body {
            req = req.json(&b);
        }
        let resp = req.send().await.expect("request");
        let code = resp.status().as_u16();
        let text = resp.text().await.unwrap();
        (
            code,
            if text.is_empty() {
                Value::Null
            } else {
                serde_json::from_str(&text).unwrap_or(Value::String(text))
            },
        )
    }
    pub async fn get(&self, p: &str) -> (u16, Value) {
        self.call("GET", p, None).await
    }
    pub async fn post(&self, p: &str, b: Value) -> (u16, Value) {
        self.call("POST", p, Some(b)).await
    }
    pub async fn patch(&self, p: &str, b: Value) -> (u16, Value) {
        self.call("PATCH", p, Some(b)).await
    }
    pub async fn put(&self, p: &str, b: Value) -> (u16, Value) {
        self.call("PUT", p, Some(b)).await
    }
    pub async fn delete(&self, p: &str) -> (u16, Value) {
        self.call("DELETE", p, None).await
    }

    /// Polls `path` until its `status` is `want` (or 404 when `want` is "404").
    pub async fn wait(&self, path: &str, want: &str) -> Value {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let (code, v) = self.get(path).await;
            if (want == "404" && code == 404) || v["status"] == want {
                return v;
            }
            assert!(
                Instant::now() < deadline,
                "{path} never reached {want}; last {code} {v}"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

/// The string field `key` of each item of the JSON array `array` (the test fails on anything
/// else).
pub fn strings<'a>(array: &'a Value, key: &str) -> Vec<&'a str> {
    array
        .as_array()
        .unwrap_or_else(|| panic!("not an array: {array}"))
        .iter()
        .map(|item| {
            item[key]
                .as_str()
                .unwrap_or_else(|| panic!("no string `{key}` in {item}"))
        })
        .collect()
}
