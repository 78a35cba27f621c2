//! Benchmarks the Scaleway drivers against the in-process sandbox: a no-op plan of N VPCs under
//! injected latency (against N × latency / effective parallelism) and the apply of the dev
//! infrastructure stack (against its critical path from the sandbox durations); prints one JSON
//! line per run.
//!
//! ```text
//! cargo run --release --example sandbox_bench -- noop-plan [--resources 500] [--latency-ms 50] \
//!     [--parallelism 10] [--api-rate 20]
//! cargo run --release --example sandbox_bench -- infra-apply [--speed 20] [--parallelism 10]
//! ```
//!
//! `noop-plan` applies N `scaleway_vpc`s to a sandbox without faults (setup, not timed), restarts
//! the sandbox on the same data directory with `latency=<L>ms` (every API request, GETs included,
//! waits L before its answer), then times a plan with refresh on: one GET per VPC, so the bound
//! is N × L / effective parallelism = max(N × L / parallelism, (N − burst) / rate + L), the
//! second term being the client's token bucket (`--api-rate`, default 20 requests/s per API
//! with a burst of one second's worth, as in the CLI).
//!
//! `infra-apply` builds `coder-dev-infra` (`kapstan_stacks::coder::build`), computes its critical
//! path from the declared dependencies and the sandbox [`Durations`] each kind waits for, divided
//! by the speed factor, then times plan + apply from an empty state at that speed, with every
//! operation's start and end.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use clap::{Parser, Subcommand};
use kapstan_engine::diff::dependencies_of;
use kapstan_engine::{ApplyOptions, Engine, Event, EventSink, Plan, PlanOptions, Stack, StackSpec};
use kapstan_providers::scaleway::client::{RateLimit, SecretKey};
use kapstan_providers::scaleway::vpc::Vpc;
use kapstan_providers::scaleway::{ClientOptions, ConfigOverrides, ScalewayProvider};
use kapstan_sandbox::{Durations, FaultSpec, Sandbox, SandboxOptions};
use kapstan_stacks::coder::{Environment, Phase};
use kapstan_state::{StoreConfig, open_store};
use serde_json::{Value, json};

#[derive(Debug, Parser)]
#[command(
    about = "Scaleway drivers against the local sandbox: no-op plan under latency, infra apply"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Times a no-op plan (refresh on) of N VPCs with latency injected into every API answer.
    NoopPlan {
        /// Number of `scaleway_vpc` resources.
        #[arg(long, short = 'n', default_value_t = 500)]
        resources: usize,
        /// Latency added by the sandbox before every API answer, in milliseconds.
        #[arg(long, default_value_t = 50)]
        latency_ms: u64,
        /// Refresh reads in flight at once.
        #[arg(long, default_value_t = 10)]
        parallelism: usize,
        /// Client token bucket, requests per second per API (the CLI's default is 20).
        #[arg(long, default_value_t = 20.0)]
        api_rate: f64,
    },
    /// Times the apply of the dev infrastructure stack against its critical path.
    InfraApply {
        /// Sandbox speed factor (every duration divided by it; poll intervals scaled by 1/speed).
        #[arg(long, default_value_t = 20.0)]
        speed: f64,
        /// Operations in flight at once.
        #[arg(long, default_value_t = 10)]
        parallelism: usize,
        /// Client token bucket, requests per second per API.
        #[arg(long, default_value_t = 20.0)]
        api_rate: f64,
    },
}

type Error = Box<dyn std::error::Error + Send + Sync>;

fn secs(d: Duration) -> f64 {
    (d.as_secs_f64() * 1e4).round() / 1e4
}

/// An engine whose Scaleway kinds talk to `sandbox`, with a local store in `state_dir`.
fn engine_for(
    sandbox: &Sandbox,
    state_dir: &Path,
    speed: f64,
    api_rate: f64,
    events: EventSink,
) -> Result<Engine, Error> {
    let overrides = ConfigOverrides {
        secret_key: Some(SecretKey::new(sandbox.secret_key())),
        access_key: Some("SCWSANDBOXXXXXXXXXXX".into()),
        project_id: Some(sandbox.project_id().to_string()),
        region: Some("fr-par".into()),
        zone: Some("fr-par-1".into()),
        api_url: Some(sandbox.url().to_string()),
        ..Default::default()
    };
    let options = ClientOptions {
        rate_limit: RateLimit::per_second(api_rate),
        ..Default::default()
    };
    let provider =
        Arc::new(ScalewayProvider::from_env(overrides, options).with_poll_scale(1.0 / speed));
    let store = open_store(&StoreConfig::Local {
        dir: state_dir.to_path_buf(),
    })?;
    Ok(Engine::new(kapstan_providers::registry_with(provider), store).with_events(events))
}

fn counts(plan: &Plan) -> Value {
    let (create, update, replace, delete) = plan.counts();
    json!({"create": create, "update": update, "replace": replace, "delete": delete,
           "drift": plan.drift.len()})
}

/// Events with their time since `origin`.
#[derive(Clone)]
struct Recorder {
    origin: Arc<Mutex<Instant>>,
    events: Arc<Mutex<Vec<(Duration, Event)>>>,
}

impl Recorder {
    fn new() -> Self {
        Self {
            origin: Arc::new(Mutex::new(Instant::now())),
            events: Arc::default(),
        }
    }
    fn sink(&self) -> EventSink {
        let me = self.clone();
        EventSink::new(move |e| {
            let at = me.origin.lock().expect("origin").elapsed();
            me.events.lock().expect("events").push((at, e.clone()));
        })
    }
    /// Starts a new recording at `now`.
    fn reset(&self) {
        *self.origin.lock().expect("origin") = Instant::now();
        self.events.lock().expect("events").clear();
    }
    fn take(&self) -> Vec<(Duration, Event)> {
        std::mem::take(&mut *self.events.lock().expect("events"))
    }
}

// ----------------------------------------------------------------------------------------------
// No-op plan under latency

async fn noop_plan(
    resources: usize,
    latency_ms: u64,
    parallelism: usize,
    api_rate: f64,
) -> Result<Value, Error> {
    let work = tempfile::tempdir()?;
    let data_dir = work.path().join("sandbox");
    let state_dir = work.path().join("state");
    // The VPC API is synchronous: a high speed only shortens the deletes nobody waits for.
    let speed = 1000.0;
    let base = SandboxOptions {
        speed,
        data_dir: Some(data_dir.clone()),
        ..Default::default()
    };

    let mut stack = Stack::new("sandbox-bench-vpcs");
    let width = resources.to_string().len();
    for i in 0..resources {
        stack.add(
            &format!("vpc-{i:0width$}"),
            Vpc {
                name: format!("bench-vpc-{i}").into(),
                tags: vec!["bench=noop-plan".into()],
                ..Default::default()
            },
        );
    }
    let spec: Arc<StackSpec> = Arc::new(stack.build());

    // Setup, not timed: apply without latency and with an unconstrained client.
    let t = Instant::now();
    let sandbox = Sandbox::start(base.clone()).await?;
    let engine = engine_for(&sandbox, &state_dir, speed, 10_000.0, EventSink::none())?;
    let options = PlanOptions {
        refresh: true,
        parallelism,
        ..Default::default()
    };
    let plan = engine.plan(Arc::clone(&spec), &options).await?;
    let report = engine.apply(&plan, &ApplyOptions { parallelism }).await?;
    if !report.is_success() || report.succeeded.len() != resources {
        return Err(format!(
            "setup apply created {} of {resources} VPCs ({} failed)",
            report.succeeded.len(),
            report.failed.len()
        )
        .into());
    }
    drop(engine);
    sandbox.shutdown().await;
    let setup_s = secs(t.elapsed());

    // The measured plan: same data, latency on every answer, the client's real rate.
    let sandbox = Sandbox::start(SandboxOptions {
        faults: FaultSpec::parse(&format!("latency={latency_ms}ms"))?,
        ..base
    })
    .await?;
    let recorder = Recorder::new();
    let engine = engine_for(&sandbox, &state_dir, speed, api_rate, recorder.sink())?;
    recorder.reset();
    let t = Instant::now();
    let plan = engine.plan(Arc::clone(&spec), &options).await?;
    let wall = t.elapsed();
    sandbox.shutdown().await;

    // Refresh window: from RefreshStarted to the last Refreshed.
    let events = recorder.take();
    let refresh_start = events
        .iter()
        .find(|(_, e)| matches!(e, Event::RefreshStarted { .. }))
        .map(|(at, _)| *at);
    let refreshed: Vec<Duration> = events
        .iter()
        .filter(|(_, e)| matches!(e, Event::Refreshed { .. }))
        .map(|(at, _)| *at)
        .collect();
    let refresh = match (refresh_start, refreshed.iter().max()) {
        (Some(a), Some(b)) => Some(*b - a),
        _ => None,
    };

    let latency = latency_ms as f64 / 1000.0;
    let n = resources as f64;
    // One GET per resource. With P reads in flight, each taking L: N × L / P. The token bucket
    // lets `burst` requests go at once, then one every 1/rate; the last answers L after it left.
    let by_parallelism = n * latency / parallelism as f64;
    let burst = RateLimit::per_second(api_rate).burst as f64;
    let by_rate = (n - burst).max(0.0) / api_rate + latency;
    let bound = by_parallelism.max(by_rate);
    let noop = plan.actionable().next().is_none() && plan.drift.is_empty();
    Ok(json!({
        "bench": "noop-plan",
        "resources": resources,
        "kind": "scaleway_vpc",
        "latency_ms": latency_ms,
        "parallelism": parallelism,
        "api_rate": api_rate,
        "api_burst": burst,
        "bound_parallelism_s": by_parallelism,
        "bound_rate_s": by_rate,
        "bound_s": bound,
        "effective_parallelism": n * latency / bound,
        "limited_by": if by_rate > by_parallelism { "api-rate" } else { "parallelism" },
        "wall_s": secs(wall),
        "refresh_s": refresh.map(secs),
        "refreshed": refreshed.len(),
        "ratio": secs(wall) / bound,
        "setup_s": setup_s,
        "planned": counts(&plan),
        "ok": noop && refreshed.len() == resources,
    }))
}

// ----------------------------------------------------------------------------------------------
// Dev infrastructure apply against its critical path

/// The sandbox transitions a create of `kind` waits through, at speed 1.0.
fn waits(kind: &str, config: &Value, d: &Durations) -> Vec<(&'static str, Duration)> {
    let non_empty = |key: &str| match config.get(key) {
        Some(Value::Array(a)) => !a.is_empty(),
        Some(Value::Object(o)) => !o.is_empty(),
        _ => false,
    };
    match kind {
        "scaleway_vpc_public_gateway" => vec![("gateway_create", d.gateway_create)],
        "scaleway_vpc_gateway_network" => {
            vec![("gateway_network_attach", d.gateway_network_attach)]
        }
        // Usable by pools at `pool_required`.
        "scaleway_k8s_cluster" => vec![("cluster_create", d.cluster_create)],
        "scaleway_k8s_pool" => {
            if config.get("wait_for_pool_ready").and_then(Value::as_bool) == Some(false) {
                vec![]
            } else {
                vec![("pool_scale", d.pool_scale)]
            }
        }
        "scaleway_rdb_instance" => {
            let mut w = vec![("rdb_create", d.rdb_create)];
            if non_empty("settings") {
                w.push(("rdb_configure", d.rdb_configure));
            }
            w
        }
        // Setting ACL rules puts the instance in `configuring`; the driver waits it out.
        "scaleway_rdb_acl" => vec![("rdb_configure", d.rdb_configure)],
        "scaleway_lb" => {
            let mut w = vec![("lb_create", d.lb_create)];
            if non_empty("private_network") {
                w.push(("lb_attach", d.lb_attach));
            }
            w
        }
        _ => vec![],
    }
}

/// One resource of the schedule: its cost and its earliest finish on an unbounded machine.
struct Node {
    kind: String,
    deps: Vec<String>,
    cost: Duration,
    waits: Vec<(&'static str, Duration)>,
    finish: Option<Duration>,
    via: Option<String>,
}

/// Earliest finish of every resource (speed 1.0) and the longest chain.
fn critical_path(
    spec: &StackSpec,
    d: &Durations,
) -> Result<(BTreeMap<String, Node>, Vec<String>), Error> {
    let mut nodes: BTreeMap<String, Node> = spec
        .resources
        .iter()
        .map(|r| {
            let waits = waits(&r.kind, &r.config, d);
            let node = Node {
                kind: r.kind.clone(),
                deps: dependencies_of(r),
                cost: waits.iter().map(|(_, d)| *d).sum(),
                waits,
                finish: None,
                via: None,
            };
            (r.address.clone(), node)
        })
        .collect();
    // Relaxation in passes (at most one per resource): a resource is settled once its
    // dependencies are; what never settles is on a cycle.
    for _ in 0..=nodes.len() {
        let mut progressed = false;
        let addresses: Vec<String> = nodes.keys().cloned().collect();
        for a in &addresses {
            if nodes[a].finish.is_some() {
                continue;
            }
            let mut start = Duration::ZERO;
            let mut via = None;
            let mut ready = true;
            for dep in &nodes[a].deps {
                // References outside the stack (stack outputs) cost nothing here.
                match nodes.get(dep).map(|n| n.finish) {
                    Some(None) => ready = false,
                    Some(Some(f)) if via.is_none() || f > start => {
                        start = f;
                        via = Some(dep.clone());
                    }
                    _ => {}
                }
            }
            if ready {
                let n = nodes.get_mut(a).expect("node");
                n.finish = Some(start + n.cost);
                n.via = via;
                progressed = true;
            }
        }
        if !progressed {
            break;
        }
    }
    if nodes.values().any(|n| n.finish.is_none()) {
        return Err("dependency cycle in the stack".into());
    }
    let last = nodes
        .iter()
        .max_by_key(|(_, n)| n.finish)
        .map(|(a, _)| a.clone())
        .ok_or("empty stack")?;
    let mut chain = vec![last];
    while let Some(v) = nodes[chain.last().expect("chain")].via.clone() {
        chain.push(v);
    }
    chain.reverse();
    Ok((nodes, chain))
}

async fn infra_apply(speed: f64, parallelism: usize, api_rate: f64) -> Result<Value, Error> {
    let work = tempfile::tempdir()?;
    let mut vars = BTreeMap::new();
    // No environments/dev.toml there: the built-in dev profile.
    vars.insert("project_dir".to_string(), work.path().display().to_string());
    let spec = kapstan_stacks::coder::build(Environment::Dev, Phase::Infra, &vars)?;
    let durations = Durations::default();
    let (nodes, chain) = critical_path(&spec, &durations)?;
    let path_s = nodes[chain.last().expect("chain")]
        .finish
        .expect("finish")
        .as_secs_f64()
        / speed;

    let sandbox = Sandbox::start(SandboxOptions {
        speed,
        durations: durations.clone(),
        ..Default::default()
    })
    .await?;
    let recorder = Recorder::new();
    let engine = engine_for(
        &sandbox,
        &work.path().join("state"),
        speed,
        api_rate,
        recorder.sink(),
    )?;
    let options = PlanOptions {
        refresh: true,
        parallelism,
        ..Default::default()
    };
    let t = Instant::now();
    let plan = engine.plan(spec, &options).await?;
    let plan_wall = t.elapsed();
    recorder.reset();
    let t = Instant::now();
    let report = engine.apply(&plan, &ApplyOptions { parallelism }).await?;
    let apply_wall = t.elapsed();
    sandbox.shutdown().await;
    let events = recorder.take();

    // Every operation: start, usable, end (seconds since the apply started).
    let mut ops: BTreeMap<String, Value> = BTreeMap::new();
    let mut started: HashMap<String, Duration> = HashMap::new();
    for (at, e) in &events {
        match e {
            Event::OperationStarted { address, .. } => {
                started.insert(address.clone(), *at);
            }
            Event::Usable { address } => {
                ops.entry(address.clone()).or_insert_with(|| json!({}))["usable_s"] =
                    json!(secs(*at));
            }
            Event::OperationFinished { address, .. } => {
                let o = ops.entry(address.clone()).or_insert_with(|| json!({}));
                o["start_s"] = json!(started.get(address).copied().map(secs));
                o["end_s"] = json!(secs(*at));
            }
            _ => {}
        }
    }
    for (address, n) in &nodes {
        let o = ops.entry(address.clone()).or_insert_with(|| json!({}));
        o["kind"] = json!(n.kind);
        o["ideal_end_s"] = json!(n.finish.map(|f| f.as_secs_f64() / speed));
        o["model_s"] = json!(n.cost.as_secs_f64() / speed);
        o["waits"] = json!(
            n.waits
                .iter()
                .map(|(name, d)| format!("{name} {}s", d.as_secs_f64()))
                .collect::<Vec<_>>()
        );
        o["deps"] = json!(n.deps);
    }
    let path: Vec<Value> = chain
        .iter()
        .map(|a| {
            let n = &nodes[a];
            json!({
                "address": a,
                "kind": n.kind,
                "waits": n.waits.iter().map(|(name, d)| json!({"name": name, "s": d.as_secs_f64()})).collect::<Vec<_>>(),
            })
        })
        .collect();
    Ok(json!({
        "bench": "infra-apply",
        "stack": plan.stack,
        "resources": nodes.len(),
        "speed": speed,
        "parallelism": parallelism,
        "api_rate": api_rate,
        "critical_path": path,
        "critical_path_s": path_s,
        "critical_path_real_s": path_s * speed,
        "plan_s": secs(plan_wall),
        "apply_s": secs(apply_wall),
        "ratio": secs(apply_wall) / path_s,
        "planned": counts(&plan),
        "succeeded": report.succeeded.len(),
        "failed": report.failed.iter().map(|f| format!("{} ({}): {}", f.address, f.action, f.error)).collect::<Vec<_>>(),
        "operations": ops,
        "ok": report.is_success() && report.succeeded.len() == nodes.len(),
    }))
}

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("sandbox_bench: starting the async runtime: {e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    let (name, result) = match cli.command {
        Command::NoopPlan {
            resources,
            latency_ms,
            parallelism,
            api_rate,
        } => (
            "noop-plan",
            runtime.block_on(noop_plan(resources, latency_ms, parallelism, api_rate)),
        ),
        Command::InfraApply {
            speed,
            parallelism,
            api_rate,
        } => (
            "infra-apply",
            runtime.block_on(infra_apply(speed, parallelism, api_rate)),
        ),
    };
    match result {
        Ok(summary) => {
            println!("{summary}");
            if summary["ok"] == json!(true) {
                std::process::ExitCode::SUCCESS
            } else {
                std::process::ExitCode::FAILURE
            }
        }
        Err(e) => {
            println!(
                "{}",
                json!({"bench": name, "ok": false, "error": e.to_string()})
            );
            eprintln!("sandbox_bench {name}: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}
