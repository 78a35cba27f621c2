//! The synthetic benchmark stack: N `kapstan_test_object` resources, `wide` (independent) or
//! `chain` (each depends on the previous), planned, applied or destroyed against the configured
//! state store; prints one JSON line with wall times and counts.
//!
//! ```text
//! cargo run --release --example synthetic -- plan|apply|destroy --resources N --shape wide|chain \
//!     [--delay-ms MS] [--dir DIR] [--parallelism P] [--refresh true|false]
//! ```
//!
//! The store is found the usual way: `KAPSTAN_STATE`, else the `[state]` table of
//! `kapstan.toml` in the current directory, else the local store under `--dir` (default
//! `.kapstan`). `apply` and `destroy` plan first, then apply that plan, in one process, as
//! `kapstan apply --auto-approve` does.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use clap::{Parser, Subcommand, ValueEnum};
use kapstan_engine::{
    ApplyOptions, Engine, Plan, PlanMode, PlanOptions, Registry, Stack, StackSpec,
};
use kapstan_state::{CONFIG_FILE, STATE_VARIABLE, StoreConfig, open_store};
use serde_json::{Value, json};

/// Name of the synthetic stack in the store.
const STACK: &str = "synthetic";

#[derive(Debug, Parser)]
#[command(about = "Plan, apply or destroy a synthetic stack of N local test objects")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Plans the stack (a no-op plan once it is applied).
    Plan(Args),
    /// Plans and applies the stack.
    Apply(Args),
    /// Plans the destruction of the stack and applies it.
    Destroy(Args),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Shape {
    /// Independent resources.
    Wide,
    /// Each resource depends on the previous one.
    Chain,
}

#[derive(Debug, Clone, clap::Args)]
struct Args {
    /// Number of resources.
    #[arg(long, short = 'n', default_value_t = 1000)]
    resources: usize,
    /// Dependency shape.
    #[arg(long, value_enum, default_value_t = Shape::Wide)]
    shape: Shape,
    /// Duration of every resource operation, in milliseconds.
    #[arg(long, default_value_t = 0)]
    delay_ms: u64,
    /// Directory of the local store, used when neither `KAPSTAN_STATE` nor `kapstan.toml`
    /// configures one.
    #[arg(long, default_value = ".kapstan")]
    dir: PathBuf,
    /// Operations (and refresh reads) in flight at once.
    #[arg(long, default_value_t = 10)]
    parallelism: usize,
    /// Read live attributes before diffing.
    #[arg(long, default_value_t = true, action = clap::ArgAction::Set)]
    refresh: bool,
}

/// Declares the synthetic stack.
fn build(args: &Args) -> StackSpec {
    let mut stack = Stack::new(STACK);
    let width = args.resources.to_string().len().max(1);
    let mut previous: Option<Value> = None;
    for i in 0..args.resources {
        let address = format!("obj-{i:0width$}");
        let mut config = json!({
            "name": format!("synthetic-{i}"),
            "value": {"index": i, "shape": format!("{:?}", args.shape).to_lowercase()},
        });
        if args.delay_ms > 0 {
            config["delay_ms"] = json!(args.delay_ms);
        }
        if let Some(prev) = previous.take() {
            config["value"]["previous"] = prev;
        }
        let r = stack.add_raw(&address, "kapstan_test_object", config);
        if args.shape == Shape::Chain {
            previous = Some(r.id().to_marker());
        }
    }
    stack.build()
}

/// The store configuration: `KAPSTAN_STATE`, else `kapstan.toml`'s `[state]` table, else the
/// local store under `dir`.
fn store_config(dir: &Path) -> Result<(StoreConfig, &'static str), String> {
    let cwd = std::env::current_dir().map_err(|e| format!("current directory: {e}"))?;
    let env = |name: &str| std::env::var(name).ok();
    let configured_by_env = env(STATE_VARIABLE).is_some_and(|v| !v.trim().is_empty());
    let config_file = cwd.join(CONFIG_FILE);
    let configured_by_file = !configured_by_env
        && std::fs::read_to_string(&config_file)
            .ok()
            .and_then(|text| text.parse::<toml::Table>().ok())
            .is_some_and(|t| t.contains_key("state"));
    if configured_by_env || configured_by_file {
        let source = if configured_by_env {
            STATE_VARIABLE
        } else {
            CONFIG_FILE
        };
        return StoreConfig::resolve(&cwd, None, &env)
            .map(|c| (c, source))
            .map_err(|e| e.to_string());
    }
    let dir = if dir.is_relative() {
        cwd.join(dir)
    } else {
        dir.to_path_buf()
    };
    Ok((StoreConfig::Local { dir }, "--dir"))
}

/// Peak resident set size of this process, in KiB (Linux `VmHWM`).
fn peak_rss_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
}

fn counts(plan: &Plan) -> Value {
    let (create, update, replace, delete) = plan.counts();
    json!({"create": create, "update": update, "replace": replace, "delete": delete})
}

fn ms(since: Instant) -> f64 {
    (since.elapsed().as_secs_f64() * 1e6).round() / 1e3
}

async fn run(command: &str, args: &Args, started: Instant) -> Result<Value, String> {
    let (config, source) = store_config(&args.dir)?;
    let store = open_store(&config).map_err(|e| e.to_string())?;
    let mut registry = Registry::new();
    kapstan_providers::local::register(&mut registry);
    let engine = Engine::new(registry, Arc::clone(&store));

    let t = Instant::now();
    let spec = build(args);
    let build_ms = ms(t);
    let rss_after_build = peak_rss_kib();

    let options = PlanOptions {
        mode: if command == "destroy" {
            PlanMode::Destroy
        } else {
            PlanMode::Normal
        },
        refresh: args.refresh,
        parallelism: args.parallelism,
        ..Default::default()
    };
    let t = Instant::now();
    // Handed over, not borrowed: the plan keeps the stack without copying it.
    let plan = engine
        .plan(spec, &options)
        .await
        .map_err(|e| e.to_string())?;
    let plan_ms = ms(t);
    let mut out = json!({
        "command": command,
        "shape": format!("{:?}", args.shape).to_lowercase(),
        "resources": args.resources,
        "delay_ms": args.delay_ms,
        "parallelism": args.parallelism,
        "refresh": args.refresh,
        "store": config.to_url(),
        "store_source": source,
        "build_ms": build_ms,
        "plan_ms": plan_ms,
        "peak_rss_kib_after_build": rss_after_build,
        "peak_rss_kib_after_plan": peak_rss_kib(),
        "planned": counts(&plan),
    });
    if command != "plan" {
        let t = Instant::now();
        let report = engine
            .apply(
                &plan,
                &ApplyOptions {
                    parallelism: args.parallelism,
                },
            )
            .await
            .map_err(|e| e.to_string())?;
        out["apply_ms"] = json!(ms(t));
        out["succeeded"] = json!(report.succeeded.len());
        out["failed"] = json!(report.failed.len());
        out["skipped"] = json!(report.skipped.len());
        out["serial"] = json!(report.serial);
        if let Some(f) = report.failed.first() {
            out["first_failure"] = json!(format!("{} ({}): {}", f.address, f.action, f.error));
        }
        out["ok"] = json!(report.is_success());
    } else {
        out["ok"] = json!(true);
    }
    out["wall_ms"] = json!(ms(started));
    out["peak_rss_kib"] = json!(peak_rss_kib());
    Ok(out)
}

fn main() -> std::process::ExitCode {
    let started = Instant::now();
    let cli = Cli::parse();
    let (command, args) = match &cli.command {
        Command::Plan(a) => ("plan", a),
        Command::Apply(a) => ("apply", a),
        Command::Destroy(a) => ("destroy", a),
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("synthetic: starting the async runtime: {e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(command, args, started)) {
        Ok(summary) => {
            println!("{summary}");
            if summary["ok"] == json!(true) {
                std::process::ExitCode::SUCCESS
            } else {
                std::process::ExitCode::FAILURE
            }
        }
        Err(e) => {
            println!("{}", json!({"command": command, "ok": false, "error": e}));
            eprintln!("synthetic {command}: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}
