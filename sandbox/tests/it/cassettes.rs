//! Recorded-traffic fidelity: replays every request of the real API recordings in
//! `../shared/fixtures/scaleway-cassettes/` against a fresh sandbox and checks that each
//! response has the recorded status code and the same JSON shape.
//!
//! Shape means keys and value types, recursively: every key of the recorded object must be
//! present with the same JSON type (a recorded `null` accepts anything; array elements are
//! checked against the first recorded element; numbers are one type). Values may differ.
//!
//! Recordings are compressed polls (reference §8.1), so a recorded GET stands for "poll until":
//! a GET whose code, shape or non-transient `status` differs is retried until it matches or a
//! deadline passes, as the recorded client's waiter did. Mutations refused with 409 while the
//! sandbox's resource is still busy are retried the same way (the recorded client waited first).
//! Recorded ids are mapped to the ids the sandbox created by walking recorded and actual
//! responses side by side.

use std::collections::HashMap;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use kapstan_sandbox::{Sandbox, SandboxOptions};
use serde::Deserialize;
use serde_json::Value;

#[derive(Deserialize)]
struct Cassette {
    interactions: Vec<Interaction>,
}

#[derive(Deserialize)]
struct Interaction {
    id: u64,
    request: RecordedRequest,
    response: RecordedResponse,
}

#[derive(Deserialize)]
struct RecordedRequest {
    #[serde(default)]
    body: Option<String>,
    url: String,
    method: String,
}

#[derive(Deserialize)]
struct RecordedResponse {
    #[serde(default)]
    body: Option<String>,
    code: u16,
}

/// Statuses that are waited through, never waited for (SDK transient sets).
const TRANSIENT: &[&str] = &[
    "creating",
    "updating",
    "deleting",
    "scaling",
    "upgrading",
    "provisioning",
    "configuring",
    "initializing",
    "to_create",
    "to_delete",
    "pending",
    "migrating",
    "autohealing",
    "backuping",
    "snapshotting",
    "restarting",
];

/// APIs the sandbox emulates; other recorded calls (e.g. `instance/v1`) are reported as skipped.
const EMULATED: &[&str] = &[
    "/k8s/",
    "/rdb/",
    "/lb/",
    "/vpc/",
    "/vpc-gw/",
    "/ipam/",
    "/instance/",
];

const POLL_DEADLINE: Duration = Duration::from_secs(30);

fn cassette_dir() -> PathBuf {
    crate::support::fixture("scaleway-cassettes")
}

fn uuids(s: &str) -> Vec<String> {
    let bytes = s.as_bytes();
    let mut out = vec![];
    let mut i = 0;
    while i + 36 <= bytes.len() {
        let cand = &s[i..i + 36];
        if uuid::Uuid::try_parse(cand).is_ok() && cand.chars().nth(8) == Some('-') {
            out.push(cand.to_string());
            i += 36;
        } else {
            i += 1;
        }
    }
    out
}

#[derive(Default)]
struct IdMap {
    ids: HashMap<String, String>,
    names: HashMap<String, String>,
}

impl IdMap {
    fn learn(&mut self, key: &str, rec: &Value, act: &Value) {
        match (rec, act) {
            (Value::String(r), Value::String(a)) => {
                let (ru, au) = (uuids(r), uuids(a));
                if ru.len() == au.len() {
                    for (r, a) in ru.into_iter().zip(au) {
                        self.ids.entry(r).or_insert(a);
                    }
                }
                if key == "name" && r != a && !r.contains(' ') {
                    self.names.entry(r.clone()).or_insert_with(|| a.clone());
                }
            }
            (Value::Object(r), Value::Object(a)) => {
                for (k, rv) in r {
                    if let Some(av) = a.get(k) {
                        self.learn(k, rv, av);
                    }
                }
            }
            (Value::Array(r), Value::Array(a)) => {
                for (rv, av) in r.iter().zip(a) {
                    self.learn(key, rv, av);
                }
            }
            _ => {}
        }
    }

    fn rewrite(&self, text: &str) -> String {
        let mut out = text.to_string();
        for u in uuids(text) {
            if let Some(a) = self.ids.get(&u) {
                out = out.replace(&u, a);
            }
        }
        out
    }

    fn rewrite_url(&self, url: &str, base: &str) -> String {
        let path = url.trim_start_matches("https://api.scaleway.com");
        let (path, query) = path.split_once('?').unwrap_or((path, ""));
        let mut pairs = vec![];
        for (k, v) in url::form_urlencoded::parse(query.as_bytes()) {
            let v = self
                .names
                .get(v.as_ref())
                .cloned()
                .unwrap_or_else(|| self.rewrite(&v));
            pairs.push((k.into_owned(), v));
        }
        let query = url::form_urlencoded::Serializer::new(String::new())
            .extend_pairs(pairs)
            .finish();
        let path = self.rewrite(path);
        if query.is_empty() {
            format!("{base}{path}")
        } else {
            format!("{base}{path}?{query}")
        }
    }
}

fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "bool",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

fn shape_diff(path: &str, rec: &Value, act: &Value, out: &mut Vec<String>) {
    match (rec, act) {
        (Value::Null, _) => {}
        (Value::Object(r), Value::Object(a)) => {
            for (k, rv) in r {
                match a.get(k) {
                    None => out.push(format!("{path}.{k}: missing")),
                    Some(av) => shape_diff(&format!("{path}.{k}"), rv, av, out),
                }
            }
        }
        (Value::Array(r), Value::Array(a)) => {
            if !r.is_empty() && a.is_empty() {
                out.push(format!(
                    "{path}: empty array, recorded {} element(s)",
                    r.len()
                ));
            }
            // Arrays may mix shapes (e.g. engines with and without init settings): each actual
            // element must have the shape of at least one recorded element.
            for (i, av) in a.iter().enumerate() {
                let mut best: Option<Vec<String>> = None;
                for rv in r {
                    let mut diffs = vec![];
                    shape_diff(&format!("{path}[{i}]"), rv, av, &mut diffs);
                    if best.as_ref().is_none_or(|b| diffs.len() < b.len()) {
                        best = Some(diffs);
                    }
                }
                out.extend(best.unwrap_or_default());
            }
        }
        (r, a) if type_name(r) == type_name(a) => {}
        (r, a) => out.push(format!(
            "{path}: recorded {}, got {}",
            type_name(r),
            type_name(a)
        )),
    }
}

fn parse(body: &str) -> Option<Value> {
    if body.trim().is_empty() {
        None
    } else {
        serde_json::from_str(body).ok()
    }
}

struct Outcome {
    passed: usize,
    skipped: usize,
    failures: Vec<String>,
}

async fn replay(
    name: String,
    cassette: Cassette,
    sandbox_url: String,
    token: String,
    project: String,
) -> (String, Outcome) {
    let client = reqwest::Client::new();
    let mut map = IdMap::default();
    let mut outcome = Outcome {
        passed: 0,
        skipped: 0,
        failures: vec![],
    };
    // Recorded project and organization ids become the sandbox's project.
    for it in &cassette.interactions {
        for text in [
            it.request.body.as_deref().unwrap_or(""),
            it.response.body.as_deref().unwrap_or(""),
            &it.request.url,
        ] {
            for key in ["\"project_id\":\"", "\"organization_id\":\"", "project_id="] {
                for (i, _) in text.match_indices(key) {
                    if let Some(u) = text.get(i + key.len()..i + key.len() + 36) {
                        map.ids.insert(u.to_string(), project.clone());
                    }
                }
            }
        }
    }
    for it in &cassette.interactions {
        let method = it.request.method.as_str();
        if !EMULATED.iter().any(|p| it.request.url.contains(p)) {
            outcome.skipped += 1;
            continue;
        }
        let url = map.rewrite_url(&it.request.url, &sandbox_url);
        let body = it
            .request
            .body
            .as_deref()
            .filter(|b| !b.is_empty())
            .map(|b| map.rewrite(b));
        let recorded = it.response.body.as_deref().and_then(parse);
        let started = Instant::now();
        loop {
            let mut req = client
                .request(method.parse().expect("method"), &url)
                .header("X-Auth-Token", &token);
            if let Some(b) = &body {
                req = req
                    .header("Content-Type", "application/json")
                    .body(b.clone());
            }
            let resp = match req.send().await {
                Ok(r) => r,
                Err(e) => {
                    outcome
                        .failures
                        .push(format!("#{} {method} {url}: {e}", it.id));
                    break;
                }
            };
            let code = resp.status().as_u16();
            let text = resp.text().await.unwrap_or_default();
            let actual = parse(&text);
            let mut problems = vec![];
            if code != it.response.code {
                problems.push(format!(
                    "status {code}, recorded {} ({text})",
                    it.response.code
                ));
            } else if let Some(rec) = &recorded {
                match &actual {
                    None => problems.push(format!("no JSON body, recorded one ({text})")),
                    Some(act) => {
                        shape_diff("$", rec, act, &mut problems);
                        let rs = rec.get("status").and_then(Value::as_str);
                        let as_ = act.get("status").and_then(Value::as_str);
                        if method == "GET"
                            && rs.is_some_and(|s| !TRANSIENT.contains(&s))
                            && rs != as_
                        {
                            problems.push(format!("status field {as_:?}, waiting for {rs:?}"));
                        }
                    }
                }
            }
            let retry = (method == "GET" || code == 409) && started.elapsed() < POLL_DEADLINE;
            if !problems.is_empty() && retry {
                tokio::time::sleep(Duration::from_millis(40)).await;
                continue;
            }
            if problems.is_empty() {
                outcome.passed += 1;
                if let (Some(rec), Some(act)) = (&recorded, &actual) {
                    map.learn("", rec, act);
                }
            } else {
                outcome.failures.push(format!(
                    "#{} {method} {url}: {}",
                    it.id,
                    problems.join("; ")
                ));
            }
            break;
        }
    }
    (name, outcome)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn recorded_cassettes_replay_with_recorded_codes_and_shapes() {
    let dir = cassette_dir();
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("cannot read cassettes at {}: {e}", dir.display()))
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.to_string_lossy().ends_with(".cassette.yaml"))
        .collect();
    files.sort();
    assert!(!files.is_empty(), "no cassette found in {}", dir.display());
    let sandbox = Sandbox::start(SandboxOptions {
        speed: 50.0,
        ..Default::default()
    })
    .await
    .expect("start sandbox");
    let mut tasks = tokio::task::JoinSet::new();
    for f in &files {
        let text = std::fs::read_to_string(f).expect("read cassette");
        let cassette: Cassette =
            serde_norway::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", f.display()));
        let name = f
            .file_name()
            .unwrap()
            .to_string_lossy()
            .trim_end_matches(".cassette.yaml")
            .to_string();
        tasks.spawn(replay(
            name,
            cassette,
            sandbox.url().to_string(),
            sandbox.secret_key().to_string(),
            sandbox.project_id().to_string(),
        ));
    }
    let mut results = tasks.join_all().await;
    results.sort_by(|a, b| a.0.cmp(&b.0));
    let mut failed = 0;
    for (name, o) in &results {
        let verdict = if o.failures.is_empty() {
            "PASS"
        } else {
            "FAIL"
        };
        println!(
            "{verdict} {name}: {} interactions matched, {} outside the emulated APIs skipped, {} failed",
            o.passed,
            o.skipped,
            o.failures.len()
        );
        for f in &o.failures {
            println!("    {f}");
        }
        failed += usize::from(!o.failures.is_empty());
    }
    sandbox.shutdown().await;
    assert_eq!(failed, 0, "{failed} cassette(s) failed, see above");
}
