//! `kapstan templates list|lint|push`: the Coder workspace templates shipped under
//! `stacks/templates/<category>/<name>/` (or another root given with `--dir`); push applies
//! the `coder_template` resources of an environment's app stack.

use std::fmt::Write;
use std::path::{Path, PathBuf};

use kapstan_stacks::templates::{self, LintFinding, Severity, TemplateInfo};
use serde_json::json;

use kapstan_engine::PlanMode;
use kapstan_platform::Project;
use kapstan_platform::project::{load_stack, platform_args};
use kapstan_platform::templates::{PushOptions, push_sandboxed, push_targets};

use crate::args::{CostArgs, EnvArgs, ListFormat, PlanArgs, StackArgs, TemplatesCommand};
use crate::commands::run::ApplyRequest;
use crate::error::CliError;
use crate::render::events::Terminal;

/// Runs a `kapstan templates` subcommand; `project` is resolved only by `push`.
pub(crate) async fn run(
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
                let options = PushOptions {
                    env: env.clone(),
                    names: names.clone(),
                    auto_approve: *auto_approve,
                    parallelism: *parallelism,
                };
                let pushed = push_sandboxed(&project()?, &options, &Terminal::text()).await?;
                return Ok(if pushed { 0 } else { 1 });
            }
            let stack = StackArgs {
                stack: format!("coder-{env}-app"),
                stack_file: None,
                vars: vars.clone(),
            };
            let project = project()?;
            let stack: StackArgs = platform_args(&project, &stack.source()).await?.into();
            let targets = push_targets(&load_stack(&stack.source())?, names)?;
            let plan = PlanArgs {
                targets,
                replace: Vec::new(),
                refresh: true,
                parallelism: *parallelism,
            };
            let request = ApplyRequest {
                plan_file: None,
                stack: &stack,
                env: &EnvArgs::default(),
                cost_args: &CostArgs::default(),
                args: &plan,
                mode: PlanMode::Normal,
                auto_approve: *auto_approve,
                json_output: *json,
            };
            crate::commands::run::apply(&project, &request).await
        }
    }
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
