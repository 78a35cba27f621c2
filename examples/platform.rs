//! Embedding the platform operations: deploys environment `dev` in kapstan's offline sandbox
//! through `kapstan::platform` alone (no CLI), checks its health, backs it up and tears it
//! down, in a temporary project.
//!
//! Needs helm on PATH (`scripts/test --tools-only` installs it into `.tools/bin`):
//! `PATH=$PWD/.tools/bin:$PATH cargo run --example platform`.

use std::error::Error;

use kapstan::platform::backup::{BackupOptions, backup_environment};
use kapstan::platform::down::{DownOptions, down};
use kapstan::platform::events::{Confirmation, Observer, PlatformEvent};
use kapstan::platform::health::check;
use kapstan::platform::sandbox::sandbox_for;
use kapstan::platform::up::{UpOptions, up};
use kapstan::platform::{PlatformError, Project};
use kapstan::stacks::coder::Environment;

/// Prints a line for the milestones of each operation; never asked anything (every
/// operation below runs with `auto_approve`).
struct Milestones;

impl Observer for Milestones {
    fn event(&self, event: PlatformEvent<'_>) {
        match event {
            PlatformEvent::PhaseStarted { stack } => println!("planning {stack}"),
            PlatformEvent::Applied { stack, report } => {
                println!("applied {stack}: {} operation(s)", report.succeeded.len())
            }
            PlatformEvent::UpFinished { summary } => println!(
                "Coder {} is up at {}",
                summary.env,
                summary.access_url.as_deref().unwrap_or("(no access URL)")
            ),
            PlatformEvent::BackedUp { dir, .. } => {
                println!("down backed up both phases to {}", dir.display())
            }
            PlatformEvent::Removed { resources } => {
                println!("removed {} resource(s)", resources.len())
            }
            _ => {}
        }
    }

    fn confirm(&self, question: Confirmation<'_>) -> Result<bool, PlatformError> {
        Err(PlatformError::usage(
            format!("unexpected question {question:?}"),
            "every operation of this example runs with auto_approve",
        ))
    }
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn Error>> {
    let dir = tempfile::tempdir()?;
    // One workspace template keeps the app phase short.
    std::fs::create_dir(dir.path().join("environments"))?;
    std::fs::write(
        dir.path().join("environments/dev.toml"),
        "[templates]\ninclude = [\"go-fiber\"]\n",
    )?;
    let project = Project::resolve(dir.path().to_path_buf(), None, None)?;
    // The project's sandbox, served by this process for every operation below (as
    // `kapstan sandbox serve` does for the CLI); `sandbox: true` operations find it there.
    let session = sandbox_for(&project, true)
        .await?
        .ok_or("the sandbox did not start")?;
    let result = deploy_check_back_up_tear_down(&project).await;
    session.stop().await;
    result
}

async fn deploy_check_back_up_tear_down(project: &Project) -> Result<(), Box<dyn Error>> {
    let deployed = up(
        project,
        &UpOptions {
            env: "dev".into(),
            auto_approve: true,
            sandbox: true,
            parallelism: 10,
            ..Default::default()
        },
        &Milestones,
    )
    .await?;
    let summary = deployed.summary.ok_or("up finished without a summary")?;
    assert!(summary.access_url.is_some(), "{summary:?}");

    let health = check(project, Environment::Dev, false).await?;
    for c in &health.checks {
        println!(
            "health {:<4} {} / {}: {}",
            if c.ok { "ok" } else { "FAIL" },
            c.component,
            c.check,
            c.detail
        );
    }
    let backup = backup_environment(project, Environment::Dev, &BackupOptions::default()).await?;
    println!(
        "backup of {} stack(s) and {} Kubernetes object(s) in {}",
        backup.backup.manifest.stacks.len(),
        backup.backup.manifest.kubernetes_objects.len(),
        backup.backup.dir.display()
    );
    if !health.healthy() {
        return Err("the deployed environment is not healthy".into());
    }

    let removed = down(
        project,
        &DownOptions {
            env: "dev".into(),
            confirm: true,
            sandbox: true,
            parallelism: 10,
            ..Default::default()
        },
        &Milestones,
    )
    .await?;
    assert!(!removed.removed.is_empty(), "down removed nothing");
    let left = project
        .store()?
        .load("coder-dev-infra")
        .await?
        .map(|doc| doc.resources.len())
        .unwrap_or_default();
    if left > 0 {
        return Err(format!("{left} resource(s) of coder-dev-infra are still recorded").into());
    }
    println!("dev deployed, healthy, backed up and torn down through the library");
    Ok(())
}
