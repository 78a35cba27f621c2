//! `kapstan templates list|lint|push`: the Coder workspace templates shipped under
//! `stacks/templates/<category>/<name>/` (or another root given with `--dir`); push applies
//! the `coder_template` resources of an environment's app stack.

use std::fmt::Write;
use std::path::{Path, PathBuf};

use kapstan_stacks::templates::{self, LintFinding, Severity, TemplateInfo};
use serde_json::json;

use kapstan_engine::{PlanMode, StackSpec};

use crate::args::{CostArgs, EnvArgs, ListFormat, PlanArgs, StackArgs, TemplatesCommand};
use crate::context::{Project, load_stack};
use crate::error::CliError;

/// Runs a `kapstan templates` subcommand; `project` is resolved only by `push`.
pub async fn run(
    project: &dyn Fn() -> Result<Project, CliError>,
    command: &TemplatesCommand,
) -> Result<i32, CliError> {
    match command {
        TemplatesCommand::List { dir, format } => list(dir.as_deref(), *format),
        TemplatesCommand::Lint { names, dir } => lint(dir.as_deref(), names),
        TemplatesCommand::Push {
            env,
            names,
            vars,
            auto_approve,
            json,
            parallelism,
            sandbox,
        } => {
            if *sandbox {
                return push_to_sandbox(&project()?, env, names, *auto_approve, *parallelism).await;
            }
            let stack = StackArgs {
                stack: format!("coder-{env}-app"),
                stack_file: None,
                vars: vars.clone(),
            };
            let project = project()?;
            let stack = crate::context::platform_args(&project, &stack).await?;
            let targets = push_targets(&load_stack(&stack)?, names)?;
            let plan = PlanArgs {
                targets,
                replace: Vec::new(),
                refresh: true,
                parallelism: *parallelism,
            };
            crate::commands::run::apply(
                &project,
                None,
                &stack,
                &EnvArgs::default(),
                &CostArgs::default(),
                &plan,
                PlanMode::Normal,
                *auto_approve,
                *json,
            )
            .await
        }
    }
}

/// `templates push --sandbox`: the same apply, through the environment's offline sandbox.
async fn push_to_sandbox(
    project: &Project,
    env: &str,
    names: &[String],
    auto_approve: bool,
    parallelism: usize,
) -> Result<i32, CliError> {
    use crate::commands::platform::{Platform, UpOptions, check_template_names};
    check_template_names(names)?;
    let platform = Platform::open(project, env, true).await?;
    let options = UpOptions {
        env: env.to_string(),
        templates: names.to_vec(),
        ..Default::default()
    };
    let spec = platform
        .stack(project, kapstan_stacks::coder::Phase::App, &options)
        .await?;
    let targets = push_targets(&spec, names)?;
    let plan = platform
        .engine
        .plan(
            &spec,
            &kapstan_engine::PlanOptions {
                targets,
                parallelism,
                ..Default::default()
            },
        )
        .await?;
    print!("{}", crate::render::plan::render_plan(&plan));
    let mut code = 0;
    if plan.has_changes() {
        if !auto_approve && !crate::commands::confirm("\nPush these templates?")? {
            println!("Cancelled.");
            code = 1;
        } else {
            let report = platform
                .engine
                .apply(&plan, &kapstan_engine::ApplyOptions { parallelism })
                .await?;
            if !report.is_success() {
                return Err(CliError::ApplyFailed {
                    failed: report.failed.len(),
                    skipped: report.skipped.len(),
                });
            }
            println!("\nPushed {} template operation(s).", report.succeeded.len());
        }
    }
    if let Some(s) = platform.sandbox {
        s.stop().await;
    }
    Ok(code)
}

/// The addresses of the `coder_template` resources to apply: those of `names`, or all.
pub(crate) fn push_targets(spec: &StackSpec, names: &[String]) -> Result<Vec<String>, CliError> {
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
        return Err(CliError::usage(
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
            CliError::usage(
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

fn root(dir: Option<&Path>) -> PathBuf {
    dir.map(Path::to_path_buf)
        .unwrap_or_else(templates::shipped_root)
}

/// The templates under `dir`, refusing an empty root (a wrong `--dir` should not look clean).
fn discover(dir: Option<&Path>) -> Result<Vec<TemplateInfo>, CliError> {
    let root = root(dir);
    let found = templates::discover(&root);
    if found.is_empty() {
        return Err(CliError::usage(
            format!("no template under {}", root.display()),
            "a templates root holds `<category>/<name>/` directories with .tf files",
        ));
    }
    Ok(found)
}

/// The templates named (`go-fiber` or `backend/go-fiber`), all when none is named.
fn select(all: Vec<TemplateInfo>, names: &[String]) -> Result<Vec<TemplateInfo>, CliError> {
    if names.is_empty() {
        return Ok(all);
    }
    let mut chosen = Vec::new();
    for n in names {
        let found = all
            .iter()
            .find(|t| &t.name == n || format!("{}/{}", t.category, t.name) == *n)
            .ok_or_else(|| {
                CliError::usage(
                    format!("no template named `{n}`"),
                    "see `kapstan templates list` for the names",
                )
            })?;
        if !chosen.contains(found) {
            chosen.push(found.clone());
        }
    }
    Ok(chosen)
}

fn list(dir: Option<&Path>, format: ListFormat) -> Result<i32, CliError> {
    let found = discover(dir)?;
    match format {
        ListFormat::Json => {
            let items: Vec<_> = found
                .iter()
                .map(|t| {
                    json!({
                        "name": t.name,
                        "category": t.category,
                        "path": t.path,
                    })
                })
                .collect();
            println!("{}", serde_json::to_string_pretty(&items).expect("json"));
        }
        ListFormat::Table => {
            let width = found
                .iter()
                .map(|t| t.name.len())
                .max()
                .unwrap_or(0)
                .max("NAME".len());
            let mut out = String::new();
            let _ = writeln!(out, "{:<width$}  CATEGORY", "NAME");
            for t in &found {
                let _ = writeln!(out, "{:<width$}  {}", t.name, t.category);
            }
            let _ = writeln!(
                out,
                "\n{} templates in {}",
                found.len(),
                root(dir).display()
            );
            print!("{out}");
        }
    }
    Ok(0)
}

fn lint(dir: Option<&Path>, names: &[String]) -> Result<i32, CliError> {
    let chosen = select(discover(dir)?, names)?;
    let mut findings: Vec<LintFinding> = Vec::new();
    for t in &chosen {
        findings.extend(templates::lint(&t.path));
    }
    let cwd = std::env::current_dir().ok();
    for f in &findings {
        let shown = match cwd.as_deref().and_then(|c| f.file.strip_prefix(c).ok()) {
            Some(rel) => LintFinding {
                file: rel.to_path_buf(),
                ..f.clone()
            },
            None => f.clone(),
        };
        println!("{shown}");
    }
    let errors = findings
        .iter()
        .filter(|f| f.severity == Severity::Error)
        .count();
    let warnings = findings.len() - errors;
    if !findings.is_empty() {
        println!();
    }
    println!(
        "{} template(s) checked: {errors} error(s), {warnings} warning(s).",
        chosen.len()
    );
    Ok(if templates::has_errors(&findings) {
        1
    } else {
        0
    })
}
