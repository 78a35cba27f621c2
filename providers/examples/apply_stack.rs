//! Applies the Scaleway driver test stack against a sandbox: the child process the crash-safety
//! test kills with SIGKILL at random moments.
//!
//! Usage: `apply_stack <sandbox-url> <s3-url> <state-dir>`; exit code 0 when the apply
//! succeeded, 1 otherwise.

#[path = "common/stack.rs"]
#[allow(dead_code)]
mod common;

use std::sync::Arc;

use kapstan_engine::state::LocalStore;
use kapstan_engine::{ApplyOptions, Engine, PlanOptions};

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    let [_, api, s3, dir] = args.as_slice() else {
        eprintln!("usage: apply_stack <sandbox-url> <s3-url> <state-dir>");
        std::process::exit(2);
    };
    let store = match LocalStore::open(dir, None) {
        Ok(s) => Arc::new(s),
        Err(e) => {
            eprintln!("cannot open state: {e}");
            std::process::exit(1);
        }
    };
    let engine = Engine::new(common::registry(common::provider(api, s3)), store);
    let spec = common::stack(&common::Knobs::default());
    let result = async {
        let plan = engine.plan(&spec, &PlanOptions::default()).await?;
        engine.apply(&plan, &ApplyOptions::default()).await
    }
    .await;
    match result {
        Ok(report) if report.is_success() => {
            println!("applied: {} operations", report.succeeded.len())
        }
        Ok(report) => {
            for f in &report.failed {
                eprintln!("failed: {f:?}");
            }
            std::process::exit(1);
        }
        Err(e) => {
            eprintln!("error: {e}");
            std::process::exit(1);
        }
    }
}
