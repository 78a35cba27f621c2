//! The plan and apply steps the provider tests share: an engine over a fresh local state store
//! (optionally recording its events), plan in a mode, the actionable changes by address, an
//! apply that must succeed, a plan that must be empty, and bad input that must be refused
//! before any API call.
// Each module uses the steps it needs.
#![allow(dead_code)]

use std::path::Path;
use std::sync::{Arc, Mutex};

use kapstan_engine::state::LocalStore;
use kapstan_engine::{
    Action, ApplyOptions, ApplyReport, Engine, EventSink, Plan, PlanMode, PlanOptions, Registry,
    StackSpec,
};

use crate::common;

/// An engine with `registry` over a local state store in `dir`.
pub fn engine_with(registry: Registry, dir: &Path) -> Engine {
    Engine::new(
        registry,
        Arc::new(LocalStore::open(dir, None).expect("state store")),
    )
}

/// An engine with the example stack's Scaleway provider pointed at `api` (no S3 server) over a
/// local state store in `dir`.
pub fn engine(api: &str, dir: &Path) -> Engine {
    engine_with(
        common::registry(common::provider(api, "http://127.0.0.1:9")),
        dir,
    )
}

/// An engine with the example stack's provider pointed at `sb`, over a fresh state directory
/// (kept alive by the returned `TempDir`).
pub fn engine_on(sb: &kapstan_sandbox::Sandbox) -> (Engine, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    (engine(sb.url(), dir.path()), dir)
}

/// A sandbox at `speed`, the example stack's provider pointed at it, and an engine over a
/// fresh state directory (kept alive by the returned `TempDir`).
pub async fn sandbox_engine(
    speed: f64,
) -> (
    kapstan_sandbox::Sandbox,
    Arc<kapstan_providers::scaleway::ScalewayProvider>,
    Engine,
    tempfile::TempDir,
) {
    let sb = kapstan_sandbox::Sandbox::start(kapstan_sandbox::SandboxOptions {
        speed,
        ..Default::default()
    })
    .await
    .expect("sandbox starts");
    let dir = tempfile::tempdir().unwrap();
    let provider = common::provider(sb.url(), "http://127.0.0.1:9");
    let engine = engine_with(common::registry(provider.clone()), dir.path());
    (sb, provider, engine, dir)
}

/// An engine against `api` over a fresh state directory, with every event it emits recorded.
pub struct Harness {
    /// The engine.
    pub engine: Engine,
    /// Each event, `Debug`-formatted, in order.
    pub events: Arc<Mutex<Vec<String>>>,
    /// The state directory (kept for the harness' lifetime).
    pub dir: tempfile::TempDir,
}

impl Harness {
    /// Whether any file under the state directory holds `needle` in clear.
    pub fn state_contains(&self, needle: &str) -> bool {
        let mut stack = vec![self.dir.path().to_path_buf()];
        while let Some(d) = stack.pop() {
            for entry in std::fs::read_dir(&d).unwrap().flatten() {
                let p = entry.path();
                if p.is_dir() {
                    stack.push(p);
                } else if std::fs::read(&p)
                    .unwrap_or_default()
                    .windows(needle.len())
                    .any(|w| w == needle.as_bytes())
                {
                    return true;
                }
            }
        }
        false
    }
}

/// A [`Harness`] for the example stack's provider pointed at `api`.
pub fn harness(api: &str) -> Harness {
    let dir = tempfile::tempdir().unwrap();
    let events = Arc::new(Mutex::new(Vec::new()));
    let sink = events.clone();
    let engine = engine(api, dir.path()).with_events(EventSink::new(move |e| {
        sink.lock().unwrap().push(format!("{e:?}"));
    }));
    Harness {
        engine,
        events,
        dir,
    }
}

/// Plans `spec` in `mode`.
pub async fn plan(engine: &Engine, spec: &StackSpec, mode: PlanMode) -> Plan {
    engine
        .plan(
            spec,
            &PlanOptions {
                mode,
                ..Default::default()
            },
        )
        .await
        .expect("plan")
}

/// The actionable changes of a plan, by address.
pub fn changes(plan: &Plan) -> Vec<(String, Action)> {
    plan.actionable()
        .map(|c| (c.address.clone(), c.action))
        .collect()
}

/// Fails the test, showing `text`, unless it holds each of `needles`.
pub fn assert_mentions(text: &str, needles: &[&str]) {
    let missing: Vec<&&str> = needles.iter().filter(|n| !text.contains(**n)).collect();
    assert!(missing.is_empty(), "{missing:?} not in: {text}");
}

/// Fails the test unless `plan` reports drift on `address` whose first field is at `path`.
pub fn assert_drifted(plan: &Plan, address: &str, path: &str) {
    let d = plan
        .drift
        .iter()
        .find(|d| d.address == address)
        .unwrap_or_else(|| panic!("no drift on {address}: {:?}", plan.drift));
    assert_eq!(d.fields[0].path, path);
}

/// Plans and applies `spec` in `mode`; the report, whatever it says.
pub async fn run(engine: &Engine, spec: &StackSpec, mode: PlanMode) -> ApplyReport {
    let p = plan(engine, spec, mode).await;
    engine
        .apply(&p, &ApplyOptions::default())
        .await
        .expect("apply")
}

/// Applies `plan`, failing the test unless every resource succeeded.
pub async fn apply_plan_ok(engine: &Engine, plan: &Plan) {
    let report = engine
        .apply(plan, &ApplyOptions::default())
        .await
        .expect("apply");
    assert!(
        report.is_success(),
        "apply failed: {:?} skipped {:?}",
        report.failed,
        report.skipped
    );
}

/// Plans and applies `spec` in `mode`, failing the test unless every resource succeeded.
pub async fn apply_ok(engine: &Engine, spec: &StackSpec, mode: PlanMode) -> Plan {
    let p = plan(engine, spec, mode).await;
    apply_plan_ok(engine, &p).await;
    p
}

/// Plans `spec` and fails the test (naming `what`) unless nothing is left to do; the plan.
pub async fn assert_converged(engine: &Engine, spec: &StackSpec, what: &str) -> Plan {
    let p = plan(engine, spec, PlanMode::Normal).await;
    let left = changes(&p);
    assert!(left.is_empty(), "{what}: the plan is not empty: {left:?}");
    p
}

/// Each `(what, spec, expected)` case fails to plan, and the plan's or validation's error
/// contains `expected`.
pub async fn assert_each_refused(engine: &Engine, cases: &[(&str, StackSpec, &str)]) {
    for (what, spec, expected) in cases {
        let err = engine
            .plan(spec, &PlanOptions::default())
            .await
            .expect_err(what)
            .to_string();
        let all = format!("{err} {:?}", engine.validate(spec).err());
        assert!(all.contains(expected), "{what}: {all}");
    }
}

/// `spec` with the config key `key` of the resource at `address` set to `value`.
pub fn edited(
    mut spec: StackSpec,
    address: &str,
    key: &str,
    value: serde_json::Value,
) -> StackSpec {
    spec.resources
        .iter_mut()
        .find(|r| r.address == address)
        .unwrap_or_else(|| panic!("no resource {address} in the stack"))
        .config[key] = value;
    spec
}
