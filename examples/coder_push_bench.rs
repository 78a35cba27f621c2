//! Benchmarks the application phase of dev in the sandbox with Coder's real limits on (12
//! uploads a minute per user, 3 provisioner daemons, one build per daemon at a time) pushing the
//! shipped templates, against the bound those limits set; prints one JSON line.
//!
//! ```text
//! cargo run --release --example coder_push_bench -- [--speed 2] [--daemons 3] [--parallelism 32]
//! ```
//!
//! The infrastructure phase is applied first (untimed, with every Scaleway duration shortened
//! to 1 s); then the app phase (namespace, secrets, the Coder release, the first user and the N
//! templates) is planned and applied. The sandbox speed factor divides the Coder build time (6 s)
//! and the one-minute rate-limit windows alike, so measurement and bound use the same clock.
//!
//! The bound of the template pushes: upload `i` (0-based) cannot leave before `⌊i/12⌋·W`
//! (W = 60 s / speed), and its build, B = 6 s / speed, runs on one of D daemons. With every
//! template in flight at once (parallelism ≥ N), releasing builds in upload order onto the first
//! free daemon is optimal for equal-length jobs, so the bound is that schedule's makespan:
//! `max over k of (k·W + ⌈(jobs released at k·W and later, counted per window)/D⌉·B)`, which for
//! N = 21, D = 3 is `W + 3B` (the 9 uploads of the second window) when the first window's 12
//! builds (`4B`) end before `W`. The JSON also lists that bound for 1, 3, 6 and 12 daemons.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use clap::Parser;
use kapstan_engine::{ApplyOptions, ApplyReport, Engine, Event, EventSink, PlanOptions};
use kapstan_providers::scaleway::client::SecretKey;
use kapstan_providers::scaleway::{ClientOptions, ConfigOverrides, ScalewayProvider};
use kapstan_sandbox::{CoderOptions, Durations, Sandbox, SandboxOptions};
use kapstan_stacks::coder::{Environment, Phase};
use kapstan_state::{StoreConfig, open_store};
use serde_json::{Value, json};

#[derive(Debug, Parser)]
#[command(about = "The dev app phase against Coder's upload limit and provisioner daemons")]
struct Cli {
    /// Sandbox speed factor (divides Coder's build time and rate-limit windows).
    #[arg(long, default_value_t = 2.0)]
    speed: f64,
    /// Provisioner daemons of the emulated Coder.
    #[arg(long, default_value_t = 3)]
    daemons: usize,
    /// Operations in flight at once (at least the number of templates, so Coder's limits bind).
    #[arg(long, default_value_t = 32)]
    parallelism: usize,
}

type Error = Box<dyn std::error::Error + Send + Sync>;

/// Uploads per window and user.
const UPLOADS: usize = 12;
/// Coder's build time at speed 1 (the emulator's default).
const BUILD: Duration = Duration::from_secs(6);

/// The makespan of `n` equal builds of `build` on `daemons`, build `i` released at
/// `⌊i/12⌋·window` (see the module documentation).
fn bound(n: usize, daemons: usize, window: f64, build: f64) -> f64 {
    let mut free = vec![0.0f64; daemons.max(1)];
    let mut end = 0.0f64;
    for i in 0..n {
        let release = (i / UPLOADS) as f64 * window;
        let (slot, at) = free
            .iter()
            .copied()
            .enumerate()
            .min_by(|a, b| a.1.total_cmp(&b.1))
            .expect("a daemon");
        let done = at.max(release) + build;
        free[slot] = done;
        end = end.max(done);
    }
    end
}

#[derive(Clone, Default)]
struct Recorder(Arc<Mutex<Vec<(Instant, Event)>>>);

impl Recorder {
    fn sink(&self) -> EventSink {
        let events = self.0.clone();
        EventSink::new(move |e: &Event| {
            events
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .push((Instant::now(), e.clone()));
        })
    }
}

fn engine(
    sandbox: &Sandbox,
    dir: &std::path::Path,
    helm: std::path::PathBuf,
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
    let provider = Arc::new(
        ScalewayProvider::from_env(overrides, ClientOptions::default()).with_poll_scale(0.05),
    );
    let store = open_store(&StoreConfig::Local {
        dir: dir.to_path_buf(),
    })?;
    let options = kapstan_providers::RegistryOptions {
        helm: Some(helm),
        ..Default::default()
    };
    Ok(Engine::new(
        kapstan_providers::registry_with_options(provider, &options),
        store,
    )
    .with_events(events))
}

/// Every Scaleway duration of the sandbox shortened to 1 s: the infra phase is not measured.
fn short_durations() -> Durations {
    let second = Duration::from_secs(1);
    Durations {
        cluster_create: second,
        cluster_update: second,
        cluster_upgrade: second,
        cluster_delete: second,
        pool_scale: second,
        pool_upgrade: second,
        pool_delete: second,
        rdb_create: second,
        rdb_configure: second,
        rdb_initialize: second,
        rdb_delete: second,
        lb_create: second,
        lb_delete: second,
        lb_migrate: second,
        lb_attach: second,
        gateway_create: second,
        gateway_network_attach: second,
        kube_api_warmup: Duration::ZERO,
    }
}

async fn run(cli: &Cli) -> Result<Value, Error> {
    let tools = std::env::var_os("KAPSTAN_TOOLS")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(".tools"));
    let work = tempfile::tempdir()?;
    let sandbox = Sandbox::start(SandboxOptions {
        speed: cli.speed,
        durations: short_durations(),
        coder: CoderOptions {
            provisioner_daemons: cli.daemons,
            ..Default::default()
        },
        ..Default::default()
    })
    .await?;
    let recorder = Recorder::default();
    let engine = engine(
        &sandbox,
        &work.path().join("state"),
        tools.join("bin/helm"),
        recorder.sink(),
    )?;
    let options = PlanOptions {
        parallelism: cli.parallelism,
        ..Default::default()
    };
    let apply = ApplyOptions {
        parallelism: cli.parallelism,
    };
    let mut vars = BTreeMap::new();
    vars.insert("project_dir".to_string(), work.path().display().to_string());
    let access_url = apply_infra(&engine, &sandbox, &vars, &options, &apply).await?;
    vars.insert(
        "chart_repository".into(),
        format!("{}/charts", sandbox.url()),
    );
    vars.insert("access_url".into(), access_url);
    let app = kapstan_stacks::coder::build(Environment::Dev, Phase::App, &vars)?;
    let plan = engine.plan(app, &options).await?;
    let templates = plan
        .changes
        .iter()
        .filter(|c| c.address.starts_with("template-"))
        .count();
    recorder.0.lock().unwrap_or_else(|p| p.into_inner()).clear();
    let t = Instant::now();
    let report = engine.apply(&plan, &apply).await?;
    let app_s = t.elapsed().as_secs_f64();
    let all: Value = reqwest::get(format!("{}/sandbox/v1/resources", sandbox.url()))
        .await?
        .json()
        .await?;
    let refused = all["resources"]["coder.instance"][0]["object"]["rate_limited"].clone();
    sandbox.shutdown().await;
    let measured = Measured {
        templates,
        app_s,
        push_s: template_push_seconds(&recorder),
        refused,
    };
    Ok(summary(cli, &measured, &report))
}

/// Applies dev's infra phase; the URL the sandbox serves the load balancer on.
async fn apply_infra(
    engine: &Engine,
    sandbox: &Sandbox,
    vars: &BTreeMap<String, String>,
    options: &PlanOptions,
    apply: &ApplyOptions,
) -> Result<String, Error> {
    let infra = kapstan_stacks::coder::build(Environment::Dev, Phase::Infra, vars)?;
    let plan = engine.plan(infra, options).await?;
    let report = engine.apply(&plan, apply).await?;
    if !report.is_success() {
        return Err(format!("infra apply failed: {:?}", report.failed).into());
    }
    let doc = engine.state(&plan.stack).await?;
    let out = |k: &str| {
        doc.outputs
            .get(k)
            .and_then(|o| o.value.as_str().map(str::to_string))
            .unwrap_or_default()
    };
    let endpoint: Value = reqwest::get(format!(
        "{}/sandbox/v1/lb-endpoints/{}/{}",
        sandbox.url(),
        out("zone"),
        out("lb_id")
    ))
    .await?
    .json()
    .await?;
    Ok(endpoint["url"].as_str().unwrap_or_default().to_string())
}

/// From the first template operation's start to the last one's end, in seconds.
fn template_push_seconds(recorder: &Recorder) -> f64 {
    let events = recorder.0.lock().unwrap_or_else(|p| p.into_inner()).clone();
    let is_template = |a: &str| a.starts_with("template-");
    let first = events.iter().find_map(|(at, e)| match e {
        Event::OperationStarted { address, .. } if is_template(address) => Some(*at),
        _ => None,
    });
    let last = events.iter().rev().find_map(|(at, e)| match e {
        Event::OperationFinished { address, .. } if is_template(address) => Some(*at),
        _ => None,
    });
    match (first, last) {
        (Some(a), Some(b)) => b.duration_since(a).as_secs_f64(),
        _ => 0.0,
    }
}

/// What one run of the app phase measured.
struct Measured {
    templates: usize,
    app_s: f64,
    push_s: f64,
    /// The emulated Coder's 429 answers, by path.
    refused: Value,
}

/// The JSON line: the measurement against the bound Coder's limits set.
fn summary(cli: &Cli, m: &Measured, report: &ApplyReport) -> Value {
    let window = 60.0 / cli.speed;
    let build = BUILD.as_secs_f64() / cli.speed;
    let bound_s = bound(m.templates, cli.daemons, window, build);
    let failed: Vec<String> = report
        .failed
        .iter()
        .map(|f| format!("{} ({}): {}", f.address, f.action, f.error))
        .collect();
    let by_daemons: BTreeMap<String, f64> = [1usize, 3, 6, 12]
        .iter()
        .map(|d| {
            (
                d.to_string(),
                bound(m.templates, *d, window, build) * cli.speed,
            )
        })
        .collect();
    let ratio = m.push_s / bound_s;
    json!({
        "bench": "coder-push",
        "templates": m.templates,
        "speed": cli.speed,
        "daemons": cli.daemons,
        "parallelism": cli.parallelism,
        "window_s": window,
        "build_s": build,
        "app_apply_s": m.app_s,
        "template_push_s": m.push_s,
        "bound_s": bound_s,
        "ratio": ratio,
        "bound_at_speed_1_by_daemons_s": by_daemons,
        "failed": failed,
        "refused_429_by_path": m.refused,
        "ok": report.is_success() && ratio <= 1.15,
    })
}

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("coder_push_bench: starting the async runtime: {e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(&cli)) {
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
                json!({"bench": "coder-push", "ok": false, "error": e.to_string()})
            );
            eprintln!("coder_push_bench: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}
