//! Pushing Coder workspace templates: which `coder_template` resources of an app stack a
//! selection names, and the push through an environment's offline sandbox.

use kapstan_engine::{ApplyOptions, PlanOptions, StackSpec};
use kapstan_stacks::coder::Phase;

use crate::error::PlatformError;
use crate::events::{Confirmation, Observer, PlatformEvent};
use crate::project::Project;
use crate::session::Platform;
use crate::up::{UpOptions, check_template_names};

/// Options of a template push through the sandbox.
#[derive(Debug, Clone, Default)]
pub struct PushOptions {
    /// Environment name.
    pub env: String,
    /// Templates to push (all of the environment's selection when empty).
    pub names: Vec<String>,
    /// Do not ask.
    pub auto_approve: bool,
    /// Operations in flight at once.
    pub parallelism: usize,
}

/// Pushes templates of an environment deployed in the offline sandbox; `Ok(false)` when the
/// confirmation was refused.
pub async fn push_sandboxed(
    project: &Project,
    options: &PushOptions,
    observer: &dyn Observer,
) -> Result<bool, PlatformError> {
    check_template_names(&options.names)?;
    let platform = Platform::open(project, &options.env, true, observer).await?;
    let up = UpOptions {
        env: options.env.clone(),
        templates: options.names.clone(),
        ..Default::default()
    };
    let spec = platform.stack(project, Phase::App, &up).await?;
    let targets = push_targets(&spec, &options.names)?;
    let plan = platform
        .engine
        .plan(
            &spec,
            &PlanOptions {
                targets,
                parallelism: options.parallelism,
                ..Default::default()
            },
        )
        .await?;
    observer.event(PlatformEvent::PlanReady {
        plan: &plan,
        cost: None,
    });
    let mut confirmed = true;
    if plan.has_changes() {
        if !options.auto_approve && !observer.confirm(Confirmation::PushTemplates)? {
            confirmed = false;
        } else {
            let report = platform
                .engine
                .apply(
                    &plan,
                    &ApplyOptions {
                        parallelism: options.parallelism,
                    },
                )
                .await?;
            if !report.is_success() {
                return Err(PlatformError::ApplyFailed {
                    failed: report.failed.len(),
                    skipped: report.skipped.len(),
                });
            }
            observer.event(PlatformEvent::TemplatesPushed {
                operations: report.succeeded.len(),
            });
        }
    }
    if let Some(s) = platform.sandbox {
        s.stop().await;
    }
    Ok(confirmed)
}

/// The addresses of the `coder_template` resources to apply: those of `names`, or all.
pub fn push_targets(spec: &StackSpec, names: &[String]) -> Result<Vec<String>, PlatformError> {
    let declared: Vec<(&str, String)> = spec
        .resources
        .iter()
        .filter(|r| r.kind == "coder_template")
        .filter_map(|r| {
            let name = r.config.get("name").and_then(|n| n.as_str())?;
            Some((r.address.as_str(), name.to_string()))
        })
        .collect();
    let available = || {
        declared
            .iter()
            .map(|(_, n)| n.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    };
    if declared.is_empty() {
        return Err(PlatformError::usage(
            format!("stack `{}` declares no coder_template", spec.name),
            "select templates with --var templates=NAME,NAME (see `kapstan templates list`)",
        ));
    }
    if names.is_empty() {
        return Ok(declared.iter().map(|(a, _)| a.to_string()).collect());
    }
    let mut targets = Vec::new();
    for n in names {
        let short = n.rsplit('/').next().unwrap_or(n);
        let (address, _) = declared.iter().find(|(_, d)| d == short).ok_or_else(|| {
            PlatformError::usage(
                format!(
                    "stack `{}` does not declare template `{n}` (it declares: {})",
                    spec.name,
                    available()
                ),
                "add it to the environment's selection with --var templates=NAME,… (and keep that selection for later applies)",
            )
        })?;
        targets.push(address.to_string());
    }
    Ok(targets)
}
