//! plan, apply, destroy and drift.

use std::io::IsTerminal;
use std::path::Path;

use kapstan_engine::{
    ApplyOptions, ApplyReport, Cancel, EventSink, PlanFile, PlanMode, PlanOptions, plan_json,
};
use serde_json::json;

use crate::args::{PlanArgs, StackArgs};
use crate::context::{Project, load_stack};
use crate::error::CliError;
use crate::render::{plan::render_drift, plan::render_plan, progress, show_value};

fn plan_options(args: &PlanArgs, mode: PlanMode) -> PlanOptions {
    PlanOptions {
        mode,
        refresh: args.refresh,
        targets: args.targets.clone(),
        replace: args.replace.clone(),
        parallelism: args.parallelism,
    }
}

fn source_of(stack: &StackArgs) -> serde_json::Value {
    json!({
        "stack": stack.stack,
        "stack_file": stack.stack_file,
        "vars": stack.vars,
    })
}

/// `kapstan plan`.
#[allow(clippy::too_many_arguments)]
pub async fn plan(
    project: &Project,
    stack: &StackArgs,
    args: &PlanArgs,
    destroy: bool,
    refresh_only: bool,
    out: Option<&Path>,
    detailed_exitcode: bool,
    json_output: bool,
) -> Result<i32, CliError> {
    let spec = load_stack(stack)?;
    let mode = if destroy {
        PlanMode::Destroy
    } else if refresh_only {
        PlanMode::RefreshOnly
    } else {
        PlanMode::Normal
    };
    let engine = project.engine(EventSink::none())?;
    let plan = engine.plan(&spec, &plan_options(args, mode)).await?;
    if json_output {
        println!(
            "{}",
            serde_json::to_string_pretty(&plan_json::to_terraform_json(&plan, None))
                .expect("json")
        );
    } else {
        print!("{}", render_plan(&plan));
    }
    if let Some(path) = out {
        PlanFile::new(&plan, source_of(stack)).save(path)?;
        if !json_output {
            println!(
                "\nSaved the plan to {}. To perform exactly these actions, run: kapstan apply {}",
                path.display(),
                path.display()
            );
        }
    }
    Ok(if detailed_exitcode && plan.has_changes() { 2 } else { 0 })
}

fn interrupt_handler(cancel: Cancel) {
    tokio::spawn(async move {
        loop {
            if tokio::signal::ctrl_c().await.is_err() {
                return;
            }
            cancel.trigger();
        }
    });
}

fn events(json_output: bool) -> EventSink {
    if json_output {
        progress::json_sink()
    } else {
        progress::human_sink(std::io::stderr().is_terminal() && std::io::stdout().is_terminal())
    }
}

fn summarize(report: &ApplyReport, destroy: bool, json_output: bool) -> Result<i32, CliError> {
    if !json_output {
        let count = |verbs: &[&str]| {
            report
                .succeeded
                .iter()
                .filter(|(_, a)| verbs.contains(&a.as_str()))
                .count()
        };
        let added = count(&["create", "create (replace)"]);
        let changed = count(&["update"]);
        let destroyed = count(&["delete", "delete (replace)"]);
        if destroy {
            println!("\nDestroy complete! Resources: {destroyed} destroyed.");
        } else if report.is_success() {
            println!(
                "\nApply complete! Resources: {added} added, {changed} changed, {destroyed} destroyed."
            );
        }
        if !report.failed.is_empty() || !report.skipped.is_empty() {
            println!("\nSummary of problems:");
            for f in &report.failed {
                println!("  ✗ {} ({}): {}", f.address, f.action, f.error);
            }
            for (addr, why) in &report.skipped {
                println!("  - {addr}: skipped, {why}");
            }
        }
        if report.is_success() && !destroy && !report.outputs.is_empty() {
            println!("\nOutputs:\n");
            for (name, o) in &report.outputs {
                let shown = if o.sensitive {
                    "(sensitive value)".to_string()
                } else {
                    show_value(&o.value)
                };
                println!("{name} = {shown}");
            }
        }
    }
    if report.interrupted && report.failed.is_empty() {
        return Err(CliError::Interrupted("finished"));
    }
    if report.interrupted {
        return Err(CliError::Interrupted("abandoned"));
    }
    if !report.is_success() {
        return Err(CliError::ApplyFailed {
            failed: report.failed.len(),
            skipped: report.skipped.len(),
        });
    }
    Ok(0)
}

/// `kapstan apply` and `kapstan destroy`.
pub async fn apply(
    project: &Project,
    plan_file: Option<&Path>,
    stack: &StackArgs,
    args: &PlanArgs,
    mode: PlanMode,
    auto_approve: bool,
    json_output: bool,
) -> Result<i32, CliError> {
    let cancel = Cancel::new();
    let engine = project.engine(events(json_output))?.with_cancel(cancel.clone());
    let plan = match plan_file {
        Some(path) => {
            let file = PlanFile::load(path)?;
            let mut stack = stack.clone();
            if let Some(name) = file.source.get("stack").and_then(|v| v.as_str()) {
                stack.stack = name.to_string();
            }
            if let Some(f) = file.source.get("stack_file").and_then(|v| v.as_str()) {
                stack.stack_file = Some(f.into());
            }
            if let Some(vars) = file.source.get("vars").and_then(|v| v.as_array()) {
                stack.vars = vars.iter().filter_map(|v| v.as_str().map(String::from)).collect();
            }
            let spec = load_stack(&stack)?;
            engine
                .bind(&spec, &file, &path.display().to_string())
                .await?
        }
        None => {
            let spec = load_stack(stack)?;
            let plan = engine.plan(&spec, &plan_options(args, mode)).await?;
            if !json_output {
                print!("{}", render_plan(&plan));
            }
            if !plan.has_changes() {
                return Ok(0);
            }
            if !auto_approve {
                let question = match mode {
                    PlanMode::Destroy => format!(
                        "\nDo you really want to destroy every resource of stack `{}`?",
                        plan.stack
                    ),
                    _ => "\nDo you want to perform these actions?".to_string(),
                };
                if !crate::commands::confirm(&question)? {
                    println!("\nApply cancelled.");
                    return Ok(1);
                }
            }
            plan
        }
    };
    interrupt_handler(cancel);
    let report = engine
        .apply(&plan, &ApplyOptions {
            parallelism: args.parallelism,
        })
        .await?;
    summarize(&report, mode == PlanMode::Destroy, json_output)
}

/// `kapstan drift`: live differences from state.
pub async fn drift(
    project: &Project,
    stack: &StackArgs,
    detailed_exitcode: bool,
    json_output: bool,
    parallelism: usize,
) -> Result<i32, CliError> {
    let spec = load_stack(stack)?;
    let engine = project.engine(EventSink::none())?;
    let plan = engine
        .plan(&spec, &PlanOptions {
            mode: PlanMode::RefreshOnly,
            parallelism,
            ..Default::default()
        })
        .await?;
    if json_output {
        println!(
            "{}",
            serde_json::to_string_pretty(&json!({"stack": plan.stack, "drift": plan.drift}))
                .expect("json")
        );
    } else if plan.drift.is_empty() {
        println!("No drift: stack `{}` matches its recorded state.", plan.stack);
    } else {
        print!("{}", render_drift(&plan));
    }
    Ok(if detailed_exitcode && !plan.drift.is_empty() { 2 } else { 0 })
}
