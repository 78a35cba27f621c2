//! plan, apply, destroy and drift.

use std::io::IsTerminal;
use std::path::Path;

use kapstan_engine::{
    ApplyOptions, ApplyReport, Cancel, EventSink, PlanFile, PlanMode, PlanOptions, plan_json,
};
use serde_json::json;

use kapstan_providers::pricing::{PriceTable, PricingError};

use kapstan_platform::Project;
use kapstan_platform::cost;
use kapstan_platform::project::{self as platform_project, load_platform_stack};

use crate::args::{Command, CostArgs, EnvArgs, PlanArgs, StackArgs};
use crate::error::CliError;
use crate::render::cost::{report_budgets, with_cost};
use crate::render::events::{apply_complete, stack_header};
use crate::render::{plan::render_drift, plan::render_plan, progress, show_value};

/// Runs `plan`, `apply`, `destroy` or `drift`; `None` for another command.
pub(crate) async fn dispatch(
    command: &Command,
    project: &dyn Fn() -> Result<Project, CliError>,
) -> Option<Result<i32, CliError>> {
    let project = || project();
    Some(match command {
        Command::Plan {
            stack,
            env,
            cost,
            plan: args,
            destroy,
            refresh_only,
            out,
            detailed_exitcode,
            json,
        } => {
            let mode = if *destroy {
                PlanMode::Destroy
            } else if *refresh_only {
                PlanMode::RefreshOnly
            } else {
                PlanMode::Normal
            };
            let request = PlanRequest {
                stack,
                env,
                cost_args: cost,
                args,
                mode,
                out: out.as_deref(),
                detailed_exitcode: *detailed_exitcode,
                json_output: *json,
            };
            match project() {
                Ok(p) => plan(&p, &request).await,
                Err(e) => Err(e),
            }
        }
        Command::Apply {
            plan_file,
            stack,
            env,
            cost,
            plan: args,
            auto_approve,
            refresh_only,
            json,
        } => {
            let mode = if *refresh_only {
                PlanMode::RefreshOnly
            } else {
                PlanMode::Normal
            };
            let request = ApplyRequest {
                plan_file: plan_file.as_deref(),
                stack,
                env,
                cost_args: cost,
                args,
                mode,
                auto_approve: *auto_approve,
                json_output: *json,
            };
            match project() {
                Ok(p) => apply(&p, &request).await,
                Err(e) => Err(e),
            }
        }
        Command::Destroy {
            stack,
            env,
            plan: args,
            auto_approve,
            json,
        } => {
            let request = ApplyRequest {
                plan_file: None,
                stack,
                env,
                cost_args: &CostArgs::default(),
                args,
                mode: PlanMode::Destroy,
                auto_approve: *auto_approve,
                json_output: *json,
            };
            match project() {
                Ok(p) => apply(&p, &request).await,
                Err(e) => Err(e),
            }
        }
        Command::Drift {
            stack,
            env,
            detailed_exitcode,
            json,
            parallelism,
        } => match project() {
            Ok(p) => drift(&p, stack, env, *detailed_exitcode, *json, *parallelism).await,
            Err(e) => Err(e),
        },
        _ => return None,
    })
}

/// What `kapstan plan` was asked.
pub(crate) struct PlanRequest<'a> {
    stack: &'a StackArgs,
    env: &'a EnvArgs,
    cost_args: &'a CostArgs,
    args: &'a PlanArgs,
    mode: PlanMode,
    out: Option<&'a Path>,
    detailed_exitcode: bool,
    json_output: bool,
}

/// What `kapstan apply` (or `destroy`) was asked.
pub(crate) struct ApplyRequest<'a> {
    pub(crate) plan_file: Option<&'a Path>,
    pub(crate) stack: &'a StackArgs,
    pub(crate) env: &'a EnvArgs,
    pub(crate) cost_args: &'a CostArgs,
    pub(crate) args: &'a PlanArgs,
    pub(crate) mode: PlanMode,
    pub(crate) auto_approve: bool,
    pub(crate) json_output: bool,
}

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

/// The stacks `--env` (or `--stack`) names, refusing more than one where a command works on one.
fn single_stack(stack: &StackArgs, env: &EnvArgs, what: &str) -> Result<StackArgs, CliError> {
    let mut stacks = env.stacks(stack);
    if stacks.len() != 1 {
        return Err(CliError::usage(
            format!(
                "{what} works on one stack; --env {} names {}",
                env.env.as_deref().unwrap_or_default(),
                stacks
                    .iter()
                    .map(|s| s.stack.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            "add --phase infra or --phase app (and name one environment)",
        ));
    }
    Ok(stacks.remove(0))
}

/// A plan's cost, or a warning on stderr when it cannot be priced.
pub(crate) fn estimate_plan(
    plan: &kapstan_engine::Plan,
    table: &PriceTable,
) -> Result<cost::PlanCost, PricingError> {
    cost::plan_cost(plan, table).inspect_err(|e| {
        eprintln!("warning: cost of stack `{}` not estimated: {e}", plan.stack);
    })
}

/// A planned stack: the arguments it was built from, its plan and its cost.
type Planned = (
    StackArgs,
    kapstan_engine::Plan,
    Result<cost::PlanCost, PricingError>,
);

/// `kapstan plan`: one stack, or every stack of `--env`; cost before → after and the budget
/// gate (exit 3, plan not saved) on each.
pub(crate) async fn plan(project: &Project, request: &PlanRequest<'_>) -> Result<i32, CliError> {
    let (stack, env, args) = (request.stack, request.env, request.args);
    let stacks = if request.out.is_some() || request.json_output {
        vec![single_stack(stack, env, "plan --out/--json")?]
    } else {
        env.stacks(stack)
    };
    let table = cost::price_table(request.cost_args.prices.as_deref())?;
    project.read_only();
    let (watch, sink) = progress::RefreshWatch::new();
    let names: Vec<String> = stacks.iter().map(|s| s.stack.clone()).collect();
    let engine = project.engine_for(sink, &names).await?;
    let mut plans: Vec<Planned> = Vec::new();
    let mut not_planned = Vec::new();
    for s in &stacks {
        if let Some(infra) = platform_project::unapplied_infra(project, &s.source()).await? {
            check_infra_planned(s, &infra, &stacks, request.mode)?;
            not_planned.push(s.stack.clone());
            continue;
        }
        if args.refresh
            && let Ok(name) = platform_project::stack_name(&s.source())
        {
            expect_refresh(project, &watch, &name).await?;
        }
        match plan_one(project, &engine, s, args, request.mode).await {
            Ok((s, plan)) => {
                let estimate = estimate_plan(&plan, &table);
                plans.push((s, plan, estimate));
            }
            Err(e) => {
                // Show the stacks planned so far (e.g. the infra phase when the app phase
                // cannot be planned before it is applied), then the error.
                for (n, (_, plan, estimate)) in plans.iter().enumerate() {
                    let gap = if n > 0 { "\n" } else { "" };
                    println!("{gap}{}", stack_header(&plan.stack));
                    print!("{}", with_cost(render_plan(plan), estimate.as_ref().ok()));
                }
                if !plans.is_empty() {
                    println!("\n{}", stack_header(&s.stack));
                }
                return Err(e);
            }
        }
    }
    show_plans(project, request, &plans, &not_planned, &table)
}

/// An app phase whose infra phase has no state is planned only after it in the same run
/// (one root cause, one message: every resource of the app phase reads the infra outputs).
fn check_infra_planned(
    s: &StackArgs,
    infra: &str,
    stacks: &[StackArgs],
    mode: PlanMode,
) -> Result<(), CliError> {
    let planned_here = stacks.iter().any(|o| o.stack == infra) && mode != PlanMode::Destroy;
    if planned_here {
        return Ok(());
    }
    Err(CliError::usage(
        format!(
            "{} needs phase infra first: stack `{infra}` has no state",
            s.stack
        ),
        format!(
            "apply it first: `kapstan up {}` (or `kapstan apply --stack {infra}`)",
            infra
                .strip_prefix("coder-")
                .and_then(|r| r.strip_suffix("-infra"))
                .map(|e| format!("--env {e} --phase infra"))
                .unwrap_or_default()
        ),
    ))
}

/// Builds and plans one stack; the arguments returned record the variables as built, so
/// `apply FILE` rebuilds the same.
async fn plan_one(
    project: &Project,
    engine: &kapstan_engine::Engine,
    s: &StackArgs,
    args: &PlanArgs,
    mode: PlanMode,
) -> Result<(StackArgs, kapstan_engine::Plan), CliError> {
    let enriched: StackArgs = platform_project::platform_args(project, &s.source())
        .await?
        .into();
    let spec = platform_project::load_stack(&enriched.source())?;
    platform_project::check_credentials_for(project, &spec)?;
    let plan = engine.plan(&spec, &plan_options(args, mode)).await?;
    Ok((enriched, plan))
}

/// Prints the plans (text or JSON), saves the plan file, and applies the budget gate.
fn show_plans(
    project: &Project,
    request: &PlanRequest<'_>,
    plans: &[Planned],
    not_planned: &[String],
    table: &PriceTable,
) -> Result<i32, CliError> {
    let json_output = request.json_output;
    let planned: Vec<cost::Planned<'_>> = plans
        .iter()
        .map(|(s, plan, e)| cost::Planned {
            stack: &plan.stack,
            vars: &s.vars,
            cost: e.as_ref().map(|e| &e.after),
        })
        .collect();
    let checks = cost::check_budgets(
        &project.dir,
        request.cost_args.max_monthly_cost.as_deref(),
        &planned,
        table,
    )?;
    let over = checks
        .iter()
        .any(|c| c.status == cost::BudgetStatus::Exceeded);
    for (n, (s, plan, estimate)) in plans.iter().enumerate() {
        let estimate = estimate.as_ref().ok();
        if json_output {
            let extra = estimate
                .filter(|e| e.is_priced() || !checks.is_empty())
                .map(|e| json!({ "cost": cost::plan_cost_json(e, &checks) }));
            println!(
                "{}",
                serde_json::to_string_pretty(&plan_json::to_terraform_json(plan, extra))
                    .expect("json")
            );
        } else {
            let gap = if n > 0 { "\n" } else { "" };
            println!("{gap}{}", stack_header(&plan.stack));
            print!("{}", with_cost(render_plan(plan), estimate));
        }
        if let Some(path) = request.out {
            if over {
                continue;
            }
            PlanFile::new(plan, source_of(s)).save(path)?;
            if !json_output {
                println!(
                    "\nSaved the plan to {}. To perform exactly these actions, run: kapstan apply {}",
                    path.display(),
                    path.display()
                );
            }
        }
    }
    if !json_output {
        for stack in not_planned {
            println!(
                "\n{}Not planned: phase infra has not been applied yet (its outputs feed this phase).",
                stack_header(stack)
            );
        }
    }
    if report_budgets(&checks, table.currency(), cost::PLAN_OVER_BUDGET_HELP) {
        return Ok(crate::EXIT_OVER_BUDGET);
    }
    let changed = plans.iter().any(|(_, p, _)| p.has_changes()) || !not_planned.is_empty();
    Ok(if request.detailed_exitcode && changed {
        crate::EXIT_CHANGES
    } else {
        0
    })
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

/// `kapstan apply` with the selection that was applied (`--env`, `--phase`, `--sandbox`).
fn resume_command(stack: &StackArgs, env: &EnvArgs, destroy: bool) -> String {
    let mut cmd = String::from(if destroy {
        "kapstan destroy"
    } else {
        "kapstan apply"
    });
    match &env.env {
        Some(e) => {
            cmd.push_str(&format!(" --env {e}"));
            if let Some(p) = env.phase {
                cmd.push_str(&format!(" --phase {}", p.as_str()));
            }
        }
        None if stack.stack_file.is_some() => {
            cmd.push_str(&format!(
                " --stack-file {}",
                stack.stack_file.as_ref().expect("checked").display()
            ));
        }
        None if stack.stack != "demo" => cmd.push_str(&format!(" --stack {}", stack.stack)),
        None => {}
    }
    if env.sandbox {
        cmd.push_str(" --sandbox");
    }
    cmd
}

fn summarize(
    report: &ApplyReport,
    destroy: bool,
    json_output: bool,
    resume: String,
) -> Result<i32, CliError> {
    if !json_output {
        let count = |verbs: &[&str]| {
            report
                .succeeded
                .iter()
                .filter(|(_, a)| verbs.contains(&a.as_str()))
                .count()
        };
        let destroyed = count(&["delete", "delete (replace)"]);
        if destroy {
            println!("\nDestroy complete! Resources: {destroyed} destroyed.");
        } else if report.is_success() {
            println!("\n{}", apply_complete(report));
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
    if report.interrupted {
        return Err(kapstan_platform::PlatformError::interrupted(report, resume).into());
    }
    if !report.is_success() {
        return Err(CliError::ApplyFailed {
            failed: report.failed.len(),
            skipped: report.skipped.len(),
        });
    }
    Ok(0)
}

/// `kapstan apply` and `kapstan destroy`. Without a plan file the plan is shown with its cost
/// and refused (exit 3) when it exceeds a budget.
pub(crate) async fn apply(project: &Project, request: &ApplyRequest<'_>) -> Result<i32, CliError> {
    let cancel = Cancel::new();
    let names: Vec<String> = request
        .env
        .stacks(request.stack)
        .into_iter()
        .map(|s| s.stack)
        .collect();
    let engine = project
        .engine_for(events(request.json_output), &names)
        .await?
        .with_cancel(cancel.clone());
    let plan = match request.plan_file {
        Some(path) => bind_plan_file(&engine, request.stack, path).await?,
        None => match plan_to_apply(project, &engine, request).await? {
            Ok(plan) => plan,
            Err(code) => return Ok(code),
        },
    };
    interrupt_handler(cancel);
    let report = engine
        .apply(
            &plan,
            &ApplyOptions {
                parallelism: request.args.parallelism,
            },
        )
        .await?;
    let destroy = request.mode == PlanMode::Destroy;
    summarize(
        &report,
        destroy,
        request.json_output,
        resume_command(request.stack, request.env, destroy),
    )
}

/// The plan of a plan file, bound to the stack it was made from (refused when stale).
async fn bind_plan_file(
    engine: &kapstan_engine::Engine,
    stack: &StackArgs,
    path: &Path,
) -> Result<kapstan_engine::Plan, CliError> {
    let file = PlanFile::load(path)?;
    let mut stack = stack.clone();
    if let Some(name) = file.source.get("stack").and_then(|v| v.as_str()) {
        stack.stack = name.to_string();
    }
    if let Some(f) = file.source.get("stack_file").and_then(|v| v.as_str()) {
        stack.stack_file = Some(f.into());
    }
    if let Some(vars) = file.source.get("vars").and_then(|v| v.as_array()) {
        stack.vars = vars
            .iter()
            .filter_map(|v| v.as_str().map(String::from))
            .collect();
    }
    let spec = platform_project::load_stack(&stack.source())?;
    Ok(engine
        .bind(&spec, &file, &path.display().to_string())
        .await?)
}

/// Plans the stack, shows the plan with its cost, applies the budget gate and asks; the
/// plan to apply, or the exit code when there is nothing to apply.
async fn plan_to_apply(
    project: &Project,
    engine: &kapstan_engine::Engine,
    request: &ApplyRequest<'_>,
) -> Result<Result<kapstan_engine::Plan, i32>, CliError> {
    let (mode, json_output) = (request.mode, request.json_output);
    let stack: StackArgs = platform_project::platform_args(
        project,
        &single_stack(request.stack, request.env, "apply")?.source(),
    )
    .await?
    .into();
    let spec = platform_project::load_stack(&stack.source())?;
    platform_project::check_credentials_for(project, &spec)?;
    let plan = engine
        .plan(&spec, &plan_options(request.args, mode))
        .await?;
    let table = cost::price_table(request.cost_args.prices.as_deref())?;
    let estimate = estimate_plan(&plan, &table);
    if !json_output {
        println!("{}", stack_header(&plan.stack));
        print!("{}", with_cost(render_plan(&plan), estimate.as_ref().ok()));
    }
    if mode != PlanMode::Destroy {
        let planned = [cost::Planned {
            stack: &plan.stack,
            vars: &stack.vars,
            cost: estimate.as_ref().map(|e| &e.after),
        }];
        let checks = cost::check_budgets(
            &project.dir,
            request.cost_args.max_monthly_cost.as_deref(),
            &planned,
            &table,
        )?;
        if report_budgets(&checks, table.currency(), cost::PLAN_OVER_BUDGET_HELP) {
            return Ok(Err(crate::EXIT_OVER_BUDGET));
        }
    }
    if !plan.has_changes() {
        return Ok(Err(0));
    }
    if !request.auto_approve {
        let question = match mode {
            PlanMode::Destroy => format!(
                "\nDo you really want to destroy every resource of stack `{}`?",
                plan.stack
            ),
            _ => "\nDo you want to perform these actions?".to_string(),
        };
        if !crate::commands::confirm(&question)? {
            println!("\nApply cancelled.");
            return Ok(Err(1));
        }
    }
    Ok(Ok(plan))
}

/// Tells `watch` which recorded resources the next plan of `stack` reads.
async fn expect_refresh(
    project: &Project,
    watch: &progress::RefreshWatch,
    stack: &str,
) -> Result<(), CliError> {
    if let Some(doc) = project.store()?.load(stack).await? {
        watch.expect(
            stack,
            doc.resources
                .iter()
                .filter(|(_, r)| r.id.is_some())
                .map(|(a, _)| a.clone()),
        );
    }
    Ok(())
}

/// `kapstan drift`: live differences from state, for one stack or every stack of `--env`
/// (with `--json` and several stacks: one JSON document per line).
pub(crate) async fn drift(
    project: &Project,
    stack: &StackArgs,
    env: &EnvArgs,
    detailed_exitcode: bool,
    json_output: bool,
    parallelism: usize,
) -> Result<i32, CliError> {
    let (watch, sink) = progress::RefreshWatch::new();
    let names: Vec<String> = env.stacks(stack).into_iter().map(|s| s.stack).collect();
    let engine = project.engine_for(sink, &names).await?;
    let mut drifted = false;
    for s in env.stacks(stack) {
        let spec = load_platform_stack(project, &s.source()).await?;
        expect_refresh(project, &watch, &spec.name).await?;
        platform_project::check_credentials_for(project, &spec)?;
        let plan = engine
            .plan(
                &spec,
                &PlanOptions {
                    mode: PlanMode::RefreshOnly,
                    parallelism,
                    ..Default::default()
                },
            )
            .await?;
        drifted |= !plan.drift.is_empty();
        if json_output {
            let doc = json!({"stack": plan.stack, "drift": plan.drift});
            if env.env.is_some() {
                println!("{}", serde_json::to_string(&doc).expect("json"));
            } else {
                println!("{}", serde_json::to_string_pretty(&doc).expect("json"));
            }
        } else if plan.drift.is_empty() {
            println!(
                "No drift: stack `{}` matches its recorded state.",
                plan.stack
            );
        } else {
            if env.env.is_some() {
                println!("Stack `{}`:", plan.stack);
            }
            print!("{}", render_drift(&plan));
        }
    }
    Ok(if detailed_exitcode && drifted {
        crate::EXIT_CHANGES
    } else {
        0
    })
}
