//! The Scaleway drivers against the sandbox: a stack using every kind goes through create,
//! no-op plan, in-place updates, a replacement and destroy; converges under injected faults;
//! survives SIGKILL during creation without duplicates or orphans; and bad input is rejected
//! before any API call.

use crate::steps;

use crate::common;

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::support::counting_api;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{Method, StatusCode};
use axum::response::{IntoResponse, Response};
use kapstan_engine::state::LocalStore;
use kapstan_engine::{Action, ApplyOptions, Engine, PlanMode, PlanOptions, StackSpec};
use kapstan_sandbox::{FaultSpec, Sandbox, SandboxOptions};
use serde_json::{Value, json};
use steps::{apply_ok, assert_drifted, assert_each_refused, changes, edited, plan};

use common::Knobs;

// ---------------------------------------------------------------------------------------------
// A minimal S3 (bucket-level operations only) and a request-counting API stand-in.
// ---------------------------------------------------------------------------------------------

#[derive(Default)]
struct S3Bucket {
    tagging: Option<String>,
    versioning: Option<String>,
    lifecycle: Option<String>,
}

type Buckets = Arc<Mutex<BTreeMap<String, S3Bucket>>>;

async fn s3_handler(
    State(b): State<Buckets>,
    method: Method,
    Path(bucket): Path<String>,
    RawQuery(q): RawQuery,
    headers: axum::http::HeaderMap,
    body: Bytes,
) -> Response {
    if !headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|a| a.starts_with("AWS4-HMAC-SHA256 Credential=SCW"))
    {
        return (
            StatusCode::FORBIDDEN,
            "<Error><Code>AccessDenied</Code></Error>",
        )
            .into_response();
    }
    let sub = q.unwrap_or_default();
    let sub = sub.split('=').next().unwrap_or_default().to_string();
    let body = String::from_utf8_lossy(&body).to_string();
    let mut all = b.lock().unwrap();
    let missing = || {
        (
            StatusCode::NOT_FOUND,
            "<Error><Code>NoSuchBucket</Code></Error>",
        )
            .into_response()
    };
    match (method.as_str(), sub.as_str()) {
        ("PUT", "") => {
            if all.contains_key(&bucket) {
                return (
                    StatusCode::CONFLICT,
                    "<Error><Code>BucketAlreadyOwnedByYou</Code></Error>",
                )
                    .into_response();
            }
            all.insert(bucket, S3Bucket::default());
            StatusCode::OK.into_response()
        }
        ("HEAD", "") => {
            if all.contains_key(&bucket) {
                StatusCode::OK.into_response()
            } else {
                StatusCode::NOT_FOUND.into_response()
            }
        }
        ("DELETE", "") => {
            if all.remove(&bucket).is_some() {
                StatusCode::NO_CONTENT.into_response()
            } else {
                missing()
            }
        }
        (m, s) => {
            let Some(bk) = all.get_mut(&bucket) else {
                return missing();
            };
            let slot = match s {
                "tagging" => &mut bk.tagging,
                "versioning" => &mut bk.versioning,
                "lifecycle" => &mut bk.lifecycle,
                "versions" => {
                    return (StatusCode::OK, "<ListVersionsResult></ListVersionsResult>")
                        .into_response();
                }
                _ => {
                    return (
                        StatusCode::BAD_REQUEST,
                        "<Error><Code>InvalidArgument</Code></Error>",
                    )
                        .into_response();
                }
            };
            match m {
                "PUT" => {
                    *slot = Some(body);
                    StatusCode::OK.into_response()
                }
                "DELETE" => {
                    *slot = None;
                    StatusCode::NO_CONTENT.into_response()
                }
                _ => match slot {
                    Some(x) => (StatusCode::OK, x.clone()).into_response(),
                    None if s == "versioning" => {
                        (StatusCode::OK, "<VersioningConfiguration/>").into_response()
                    }
                    None => (
                        StatusCode::NOT_FOUND,
                        "<Error><Code>NoSuchConfiguration</Code></Error>",
                    )
                        .into_response(),
                },
            }
        }
    }
}

async fn serve(router: Router) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    url
}

async fn fake_s3() -> (String, Buckets) {
    let buckets: Buckets = Arc::default();
    let router = Router::new()
        .route("/{bucket}", axum::routing::any(s3_handler))
        .with_state(buckets.clone());
    (serve(router).await, buckets)
}

// ---------------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------------

async fn sandbox(faults: &str) -> Sandbox {
    sandbox_at(faults, 2000.0).await
}

async fn sandbox_at(faults: &str, speed: f64) -> Sandbox {
    Sandbox::start(SandboxOptions {
        speed,
        faults: FaultSpec::parse(faults).unwrap(),
        ..Default::default()
    })
    .await
    .expect("sandbox starts")
}

/// A sandbox with `faults`, a fake S3 (its URL and buckets) and an engine on both, keeping its
/// state in a scratch directory.
async fn started(faults: &str) -> (Sandbox, String, Buckets, tempfile::TempDir, Engine) {
    let sb = sandbox(faults).await;
    let (s3, buckets) = fake_s3().await;
    let dir = tempfile::tempdir().unwrap();
    let e = engine(sb.url(), &s3, dir.path());
    (sb, s3, buckets, dir, e)
}

fn engine(api: &str, s3: &str, dir: &std::path::Path) -> Engine {
    steps::engine_with(common::registry(common::provider(api, s3)), dir)
}

/// Applies like a user who retries a failed apply, until a plan shows no change.
async fn converge(engine: &Engine, spec: &StackSpec, attempts: usize) -> usize {
    for attempt in 1..=attempts {
        let p = match engine.plan(spec, &PlanOptions::default()).await {
            Ok(p) => p,
            Err(e) => {
                eprintln!("plan attempt {attempt} failed: {e}");
                continue;
            }
        };
        if !p.has_changes() {
            return attempt;
        }
        match engine.apply(&p, &ApplyOptions::default()).await {
            Ok(r) if !r.is_success() => eprintln!(
                "apply attempt {attempt}: {} failed: {:?}",
                r.failed.len(),
                r.failed.first()
            ),
            Ok(_) => {}
            Err(e) => eprintln!("apply attempt {attempt} failed: {e}"),
        }
    }
    panic!("no convergence after {attempts} applies");
}

async fn inspect(sandbox_url: &str) -> BTreeMap<String, Vec<Value>> {
    let v: Value = reqwest::get(format!("{sandbox_url}/sandbox/v1/resources"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let mut out = BTreeMap::new();
    for (kind, items) in v["resources"].as_object().cloned().unwrap_or_default() {
        let items: Vec<Value> = items
            .as_array()
            .cloned()
            .unwrap_or_default()
            .into_iter()
            .filter(|i| i.pointer("/object/is_default") != Some(&json!(true)))
            .collect();
        out.insert(kind, items);
    }
    out
}

/// Sandbox store kind of each tagged/top-level kapstan kind.
const KINDS: &[(&str, &str)] = &[
    ("scaleway_vpc", "vpc.vpc"),
    ("scaleway_vpc_private_network", "vpc.private_network"),
    ("scaleway_k8s_cluster", "k8s.cluster"),
    ("scaleway_k8s_pool", "k8s.pool"),
    ("scaleway_rdb_instance", "rdb.instance"),
    ("scaleway_lb_ip", "lb.ip"),
    ("scaleway_lb", "lb.lb"),
    ("scaleway_vpc_public_gateway_ip", "vpcgw.ip"),
    ("scaleway_vpc_public_gateway", "vpcgw.gateway"),
    ("scaleway_vpc_gateway_network", "vpcgw.gateway_network"),
];

/// Every live object of the mapped kinds is recorded in state, exactly once, and vice versa;
/// databases and users match by name.
async fn assert_matches_state(engine: &Engine, sandbox_url: &str, buckets: &Buckets) {
    let doc = engine.state(common::STACK).await.unwrap();
    let live = inspect(sandbox_url).await;
    for (kind, store_kind) in KINDS {
        let mut recorded: Vec<String> = doc
            .resources
            .values()
            .filter(|r| r.kind == *kind)
            .filter_map(|r| r.id.clone())
            .collect();
        let mut ids: Vec<String> = live
            .get(*store_kind)
            .into_iter()
            .flatten()
            .filter_map(|i| i["id"].as_str().map(String::from))
            .collect();
        recorded.sort();
        ids.sort();
        assert_eq!(
            ids, recorded,
            "{kind}: live objects differ from state (duplicates or orphans)"
        );
    }
    let dbs = live.get("rdb.database").map(Vec::len).unwrap_or(0);
    let users = live.get("rdb.user").map(Vec::len).unwrap_or(0);
    let expect_db = doc
        .resources
        .values()
        .filter(|r| r.kind == "scaleway_rdb_database")
        .count();
    let expect_user = doc
        .resources
        .values()
        .filter(|r| r.kind == "scaleway_rdb_user")
        .count();
    assert_eq!(
        (dbs, users),
        (expect_db, expect_user),
        "databases and users"
    );
    let expect_buckets = doc
        .resources
        .values()
        .filter(|r| r.kind == "scaleway_object_bucket")
        .count();
    assert_eq!(buckets.lock().unwrap().len(), expect_buckets, "buckets");
}

// ---------------------------------------------------------------------------------------------
// Tests
// ---------------------------------------------------------------------------------------------

/// A change made outside kapstan is reported by field, planned as an update and repaired.
async fn drift_is_reported_and_repaired(e: &Engine, sandbox_url: &str, s3: &str, base: &Knobs) {
    let vpc_id = e.state(common::STACK).await.unwrap().resources["vpc"]
        .id
        .clone()
        .unwrap();
    let client = common::provider(sandbox_url, s3).client().unwrap();
    let region = kapstan_providers::scaleway::Region::parse("fr-par").unwrap();
    client
        .vpc(&region)
        .update_vpc(
            &vpc_id,
            &kapstan_providers::scaleway::client::wire::vpc::UpdateVpcRequest {
                name: Some("renamed-by-hand".into()),
                tags: None,
            },
        )
        .await
        .unwrap();
    let drifted = plan(e, &common::stack(base), PlanMode::Normal).await;
    assert_drifted(&drifted, "vpc", "/name");
    assert_eq!(changes(&drifted), vec![("vpc".to_string(), Action::Update)]);
    apply_ok(e, &common::stack(base), PlanMode::Normal).await;
}

/// Adopting existing objects into a fresh state plans only real differences.
async fn import_plans_only_real_differences(e: &Engine, sandbox_url: &str, s3: &str, base: &Knobs) {
    let doc = e.state(common::STACK).await.unwrap();
    let dir2 = tempfile::tempdir().unwrap();
    let e2 = engine(sandbox_url, s3, dir2.path());
    let mut only = common::stack(base);
    only.resources
        .retain(|r| ["vpc", "lb-ip", "gateway-ip", "bucket"].contains(&r.address.as_str()));
    for r in &only.resources {
        let id = doc.resources[&r.address].id.clone().unwrap();
        e2.import(&only, &r.address, &id).await.expect("import");
    }
    let imported = plan(&e2, &only, PlanMode::Normal).await;
    // Only kapstan-side settings that no API reports (the bucket's force_destroy) remain.
    for c in imported.actionable() {
        let paths: Vec<&str> = c.fields.iter().map(|f| f.path.as_str()).collect();
        assert_eq!(
            (c.address.as_str(), c.action, paths),
            ("bucket", Action::Update, vec!["/force_destroy"])
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn every_kind_lifecycle_create_noop_update_replace_destroy() {
    let (sb, s3, buckets, _dir, e) = started("").await;
    let base = Knobs::default();

    let t = Instant::now();
    apply_ok(&e, &common::stack(&base), PlanMode::Normal).await;
    eprintln!("full create: {:?}", t.elapsed());
    assert_matches_state(&e, sb.url(), &buckets).await;

    let noop = plan(&e, &common::stack(&base), PlanMode::Normal).await;
    assert!(
        !noop.has_changes(),
        "no-op plan expected, got {:?}",
        changes(&noop)
    );
    assert!(
        noop.drift.is_empty(),
        "no drift expected, got {:?}",
        noop.drift
    );

    drift_is_reported_and_repaired(&e, sb.url(), &s3, &base).await;
    import_plans_only_real_differences(&e, sb.url(), &s3, &base).await;

    // In place: pool size, tags everywhere, backup schedule.
    let updated = Knobs {
        pool_size: 2,
        tags: vec!["env=test".into(), "team=platform".into()],
        backup_frequency: 12,
        ..base.clone()
    };
    let p = plan(&e, &common::stack(&updated), PlanMode::Normal).await;
    let ch = changes(&p);
    assert!(
        ch.iter().all(|(_, a)| *a == Action::Update),
        "only updates expected: {ch:?}"
    );
    for addr in [
        "pool", "database", "vpc", "network", "lb", "bucket", "cluster",
    ] {
        assert!(
            ch.iter().any(|(a, _)| a == addr),
            "{addr} should be updated: {ch:?}"
        );
    }
    let t = Instant::now();
    apply_ok(&e, &common::stack(&updated), PlanMode::Normal).await;
    eprintln!("in-place update: {:?}", t.elapsed());
    let after = plan(&e, &common::stack(&updated), PlanMode::Normal).await;
    assert!(
        !after.has_changes(),
        "converged after update: {:?}",
        changes(&after)
    );
    let live = inspect(sb.url()).await;
    let pool = &live["k8s.pool"][0]["object"];
    assert_eq!(pool["size"], 2);
    assert!(
        pool["tags"]
            .as_array()
            .unwrap()
            .contains(&json!("team=platform"))
    );
    assert_eq!(
        live["rdb.instance"][0]["object"]["backup_schedule"]["frequency"],
        12
    );

    // Replacement: the pool's node type.
    let replaced = Knobs {
        node_type: "PRO2-XS",
        ..updated.clone()
    };
    let p = plan(&e, &common::stack(&replaced), PlanMode::Normal).await;
    assert_eq!(changes(&p), vec![("pool".to_string(), Action::Replace)]);
    let old_pool = e.state(common::STACK).await.unwrap().resources["pool"]
        .id
        .clone();
    apply_ok(&e, &common::stack(&replaced), PlanMode::Normal).await;
    let new_pool = e.state(common::STACK).await.unwrap().resources["pool"]
        .id
        .clone();
    assert_ne!(old_pool, new_pool);
    assert_matches_state(&e, sb.url(), &buckets).await;
    assert!(
        !plan(&e, &common::stack(&replaced), PlanMode::Normal)
            .await
            .has_changes()
    );

    let t = Instant::now();
    apply_ok(&e, &common::stack(&replaced), PlanMode::Destroy).await;
    eprintln!("destroy: {:?}", t.elapsed());
    let live = inspect(sb.url()).await;
    let left: Vec<(&String, usize)> = live
        .iter()
        .filter(|(_, v)| !v.is_empty())
        .map(|(k, v)| (k, v.len()))
        .collect();
    assert!(left.is_empty(), "the sandbox still holds {left:?}");
    assert!(buckets.lock().unwrap().is_empty());
    assert!(e.state(common::STACK).await.unwrap().resources.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn converges_under_injected_faults_with_one_object_per_resource() {
    let (sb, _, buckets, _dir, e) = started("429=0.1,503=0.05,409=0.05,lost=0.05").await;
    let spec = common::stack(&Knobs::default());
    let t = Instant::now();
    let applies = converge(&e, &spec, 12).await;
    eprintln!(
        "faults: converged after {applies} plan(s) in {:?}",
        t.elapsed()
    );
    assert_matches_state(&e, sb.url(), &buckets).await;
    let doc = e.state(common::STACK).await.unwrap();
    assert_eq!(doc.resources.len(), spec.resources.len());
    // And it tears down cleanly too.
    let destroy = spec.clone();
    for _ in 0..8 {
        let p = plan(&e, &destroy, PlanMode::Destroy).await;
        if !p.has_changes() {
            break;
        }
        let _ = e.apply(&p, &ApplyOptions::default()).await;
    }
    assert!(e.state(common::STACK).await.unwrap().resources.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn apply_and_destroy_ride_out_long_rate_limit_windows() {
    // Each drawn 429 closes the limiter for 2.5 s: longer than the client's whole retry budget
    // for other failures (10 retries capped at 200 ms), so only waiting out the window works.
    let (sb, _, buckets, _dir, e) = started("429=0.02,429-window=2500ms").await;
    let spec = common::stack(&Knobs::default());
    apply_ok(&e, &spec, PlanMode::Normal).await;
    assert_matches_state(&e, sb.url(), &buckets).await;
    assert!(!plan(&e, &spec, PlanMode::Normal).await.has_changes());
    apply_ok(&e, &spec, PlanMode::Destroy).await;
    assert!(e.state(common::STACK).await.unwrap().resources.is_empty());
}

fn example_binary() -> std::path::PathBuf {
    let exe = std::env::current_exe().unwrap();
    let dir = exe.parent().unwrap().parent().unwrap();
    dir.join("examples")
        .join(format!("apply_stack{}", std::env::consts::EXE_SUFFIX))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sigkill_during_creation_leaves_no_duplicates_or_orphans() {
    let bin = example_binary();
    assert!(
        bin.exists(),
        "build the example first: cargo build -p kapstan-providers --examples ({})",
        bin.display()
    );
    // Slower than the other tests so that creation lasts a few seconds to kill into.
    let sb = sandbox_at("", 250.0).await;
    let (s3, buckets) = fake_s3().await;
    let dir = tempfile::tempdir().unwrap();
    let spec = common::stack(&Knobs::default());
    let kills: u64 = std::env::var("KAPSTAN_CRASH_KILLS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(20);
    let mut killed = 0;
    let mut interrupted = 0;
    for round in 0..kills {
        let mut child = tokio::process::Command::new(&bin)
            .args([sb.url(), s3.as_str(), dir.path().to_str().unwrap()])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        let wait_ms = 20 + (rand_u64() % 800);
        tokio::select! {
            _ = child.wait() => eprintln!("crash round {round}: the apply finished before the kill"),
            _ = tokio::time::sleep(Duration::from_millis(wait_ms)) => {
                child.start_kill().unwrap();
                let _ = child.wait().await;
                killed += 1;
            }
        }
        eprintln!("crash round {round}: killed after {wait_ms} ms");
        // A plain apply after every kill: converges, and nothing is duplicated or orphaned.
        let e = engine(sb.url(), &s3, dir.path());
        let doc = e.state(common::STACK).await.unwrap();
        let pending = doc
            .resources
            .values()
            .filter(|r| matches!(r.status, kapstan_engine::state::ResourceStatus::Pending(_)))
            .count();
        interrupted += pending;
        eprintln!(
            "crash round {round}: {} recorded, {pending} interrupted mid-operation",
            doc.resources.len()
        );
        converge(&e, &spec, 4).await;
        assert_matches_state(&e, sb.url(), &buckets).await;
        // Start over so the next kill lands during creation again.
        apply_ok(&e, &spec, PlanMode::Destroy).await;
        assert_matches_state(&e, sb.url(), &buckets).await;
    }
    eprintln!("killed {killed} of {kills} runs mid-apply, {interrupted} operations interrupted");
    assert!(killed > 0);
    assert!(interrupted > 0, "no kill landed during an operation");
}

fn rand_u64() -> u64 {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u128(Instant::now().elapsed().as_nanos());
    h.finish()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_input_is_rejected_before_any_api_call() {
    let (api, count) = counting_api().await;
    let (s3, _) = fake_s3().await;
    let dir = tempfile::tempdir().unwrap();
    let e = engine(&api, &s3, dir.path());
    let mut cases: Vec<(&str, StackSpec, &str)> = vec![];
    let edit =
        |addr: &str, key: &str, v: Value| edited(common::stack(&Knobs::default()), addr, key, v);
    cases.push((
        "unknown node type",
        edit("pool", "node_type", json!("PRO9-HUGE")),
        "Kapsule node type",
    ));
    cases.push((
        "zone outside region",
        edited(
            edit("pool", "zone", json!("nl-ams-1")),
            "pool",
            "region",
            json!("fr-par"),
        ),
        "is not in region fr-par",
    ));
    cases.push((
        "min_size > max_size",
        edited(
            edit("pool", "min_size", json!(3)),
            "pool",
            "max_size",
            json!(2),
        ),
        "larger than max_size",
    ));
    cases.push((
        "engine without a version",
        edit("database", "engine", json!("PostgreSQL")),
        "is not an engine version",
    ));
    cases.push((
        "subnet too small",
        edit(
            "network",
            "ipv4_subnet",
            json!({"subnet": "172.16.64.0/30"}),
        ),
        "`ipv4_subnet.subnet` = \"172.16.64.0/30\" is not an IPv4 CIDR from /8 to /29",
    ));
    cases.push((
        "invalid database name",
        edit("coder-db", "name", json!("9-bad name")),
        "not a valid database name",
    ));
    assert_each_refused(&e, &cases).await;
    // Missing credentials: no flag, no variable, no profile.
    let store = Arc::new(LocalStore::open(dir.path().join("creds"), None).unwrap());
    let provider = Arc::new(kapstan_providers::scaleway::ScalewayProvider::with_env(
        Default::default(),
        Default::default(),
        Arc::new(HashMap::<String, String>::new()),
    ));
    let e2 = Engine::new(common::registry(provider), store);
    let err = e2
        .plan(&common::stack(&Knobs::default()), &PlanOptions::default())
        .await
        .expect_err("missing credentials")
        .to_string();
    assert!(err.contains("SCW_SECRET_KEY"), "{err}");
    assert_eq!(
        count.load(Ordering::SeqCst),
        0,
        "no API request may be sent for invalid input"
    );
}

#[test]
fn scaleway_reference_doc_is_current() {
    let doc = kapstan_providers::scaleway::reference::reference_markdown();
    let path =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/reference/scaleway.md");
    if std::env::var_os("KAPSTAN_UPDATE_DOCS").is_some() {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, &doc).unwrap();
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        committed == doc,
        "docs/reference/scaleway.md is stale: run with KAPSTAN_UPDATE_DOCS=1"
    );
}
