//! show, output, validate, graph, stacks and import.

use std::path::Path;

use kapstan_engine::{EventSink, PlanFile, plan_json, value};
use kapstan_state::ResourceStatus;
use serde_json::{Value, json};

use kapstan_platform::Project;

use crate::args::{Command, EnvArgs, StackArgs};
use crate::error::CliError;

fn load_stack(stack: &StackArgs) -> Result<kapstan_engine::StackSpec, CliError> {
    Ok(kapstan_platform::project::load_stack(&stack.source())?)
}

fn stack_name(stack: &StackArgs) -> Result<String, CliError> {
    Ok(kapstan_platform::project::stack_name(&stack.source())?)
}

/// Runs `show`, `output`, `validate`, `graph`, `import` or `stacks`; `None` for another
/// command.
pub(crate) async fn dispatch(
    command: &Command,
    project: &dyn Fn() -> Result<Project, CliError>,
) -> Option<Result<i32, CliError>> {
    Some(match command {
        Command::Show {
            plan_file,
            stack,
            env,
            json,
        } => match project() {
            Ok(p) => show_all(&p, plan_file.as_deref(), stack, env, *json).await,
            Err(e) => Err(e),
        },
        Command::Output {
            name,
            stack,
            envsel,
            json,
            raw,
        } => match project() {
            Ok(p) => outputs(&p, name.as_deref(), stack, envsel, *json, *raw).await,
            Err(e) => Err(e),
        },
        Command::Validate { stack, json } => match project() {
            Ok(p) => validate(&p, stack, *json).await,
            Err(e) => Err(e),
        },
        Command::Graph { stack } => graph(stack),
        Command::Import { address, id, stack } => match project() {
            Ok(p) => import(&p, address, id, stack).await,
            Err(e) => Err(e),
        },
        Command::Stacks => stacks(),
        _ => return None,
    })
}

/// `kapstan show`: a plan file, one stack, or every stack of `--env` under its name.
async fn show_all(
    project: &Project,
    plan_file: Option<&Path>,
    stack: &StackArgs,
    env: &EnvArgs,
    json: bool,
) -> Result<i32, CliError> {
    let stacks = env.stacks(stack);
    if plan_file.is_some() || stacks.len() == 1 {
        return show(project, plan_file, &stacks[0], json).await;
    }
    for (n, s) in stacks.iter().enumerate() {
        let gap = if n > 0 { "\n" } else { "" };
        println!("{gap}=== Stack {} ===\n", s.stack);
        show(project, None, s, json).await?;
    }
    Ok(0)
}

/// `kapstan output`: one output or all; with `--env`, every phase's.
async fn outputs(
    project: &Project,
    name: Option<&str>,
    stack: &StackArgs,
    envsel: &EnvArgs,
    json: bool,
    raw: bool,
) -> Result<i32, CliError> {
    let mut candidates = envsel.stacks(stack);
    if name.is_none() && candidates.len() > 1 {
        // Every phase's outputs, each under its stack, phases never applied skipped.
        let store = project.store()?;
        let mut shown = 0;
        // With --json: one document, the outputs of each stack under its name.
        let mut by_stack = serde_json::Map::new();
        for candidate in &candidates {
            let Some(doc) = store.load(&candidate.stack).await? else {
                continue;
            };
            shown += 1;
            if json {
                by_stack.insert(
                    candidate.stack.clone(),
                    Value::Object(redacted_outputs(&doc)),
                );
                continue;
            }
            let gap = if shown > 1 { "\n" } else { "" };
            println!("{gap}=== Stack {} ===\n", candidate.stack);
            output(project, None, candidate, false, raw).await?;
        }
        if json && shown > 0 {
            println!("{}", serde_json::to_string_pretty(&by_stack).expect("json"));
        }
        if shown == 0 {
            return Err(CliError::State(kapstan_state::StateError::NoState(
                candidates[0].stack.clone(),
            )));
        }
        return Ok(0);
    }
    // A named output: the app phase holds the user-facing ones (admin password, access
    // URL), so it is searched first.
    candidates.reverse();
    let mut last = None;
    for candidate in &candidates {
        match output(project, name, candidate, json, raw).await {
            Ok(code) => return Ok(code),
            Err(e) if candidates.len() > 1 => last = Some(e),
            Err(e) => return Err(e),
        }
    }
    Err(last.expect("at least one candidate stack"))
}
use crate::render::{plan::render_plan, show_value};

/// A recorded resource with every sensitive value redacted.
pub(crate) fn redacted_resource(res: &kapstan_state::ResourceState) -> Value {
    let mut v = serde_json::to_value(res).expect("resource serializes");
    for p in &res.sensitive {
        if let Some(slot) = v.pointer_mut(p) {
            *slot = Value::String(value::REDACTED.into());
        }
    }
    v
}

/// Outputs as `{name: {value, sensitive}}`, sensitive values redacted.
pub(crate) fn redacted_outputs(
    doc: &kapstan_state::StateDocument,
) -> serde_json::Map<String, Value> {
    doc.outputs
        .iter()
        .map(|(n, o)| {
            let v = if o.sensitive {
                json!(value::REDACTED)
            } else {
                o.value.clone()
            };
            (n.clone(), json!({"value": v, "sensitive": o.sensitive}))
        })
        .collect()
}

fn status_label(s: &ResourceStatus) -> String {
    match s {
        ResourceStatus::Ready => "ready".into(),
        ResourceStatus::Pending(p) => format!("pending {}", p.operation),
        ResourceStatus::Tainted { .. } => "tainted".into(),
    }
}

/// `kapstan show`.
async fn show(
    project: &Project,
    plan_file: Option<&Path>,
    stack: &StackArgs,
    json_output: bool,
) -> Result<i32, CliError> {
    if let Some(path) = plan_file {
        let file = PlanFile::load(path)?;
        if json_output {
            println!(
                "{}",
                serde_json::to_string_pretty(&plan_json::to_terraform_json(&file.plan, None))
                    .expect("json")
            );
        } else {
            print!("{}", render_plan(&file.plan));
        }
        return Ok(0);
    }
    let name = stack_name(stack)?;
    let doc = project.store()?.load(&name).await?;
    let Some(doc) = doc else {
        if json_output {
            println!("{}", json!({"stack": name, "serial": 0, "resources": {}}));
        } else {
            println!("Stack `{name}` has no state yet.");
        }
        return Ok(0);
    };
    if json_output {
        let resources: serde_json::Map<String, Value> = doc
            .resources
            .iter()
            .map(|(a, r)| (a.clone(), redacted_resource(r)))
            .collect();
        let outputs = redacted_outputs(&doc);
        println!(
            "{}",
            serde_json::to_string_pretty(&json!({
                "stack": doc.stack, "lineage": doc.lineage, "serial": doc.serial,
                "resources": resources, "outputs": outputs
            }))
            .expect("json")
        );
        return Ok(0);
    }
    println!(
        "Stack `{}` (serial {}, lineage {})\n",
        doc.stack, doc.serial, doc.lineage
    );
    for (addr, r) in &doc.resources {
        println!(
            "# {}.{} [{}]{}",
            r.kind,
            addr,
            status_label(&r.status),
            r.id.as_ref()
                .map(|i| format!(" id={i}"))
                .unwrap_or_default()
        );
        let shown = redacted_resource(r);
        if let Some(Value::Object(attrs)) = shown.get("attributes") {
            let width = attrs.keys().map(String::len).max().unwrap_or(0);
            for (k, v) in attrs {
                println!("    {k:<width$} = {}", show_value(v));
            }
        }
        println!();
    }
    Ok(0)
}

/// `kapstan output`.
async fn output(
    project: &Project,
    name: Option<&str>,
    stack: &StackArgs,
    json_output: bool,
    _raw: bool,
) -> Result<i32, CliError> {
    let stack_name = stack_name(stack)?;
    let doc = project
        .store()?
        .load(&stack_name)
        .await?
        .ok_or_else(|| kapstan_state::StateError::NoState(stack_name.clone()))?;
    if let Some(name) = name {
        let o = doc.outputs.get(name).ok_or_else(|| {
            CliError::usage(
                format!("stack `{stack_name}` has no output `{name}`"),
                format!(
                    "outputs: {}",
                    doc.outputs.keys().cloned().collect::<Vec<_>>().join(", ")
                ),
            )
        })?;
        // Asking for one output by name is the explicit way to read a secret.
        // A named string prints bare with or without --raw (as `terraform output -raw` does).
        match (&o.value, json_output) {
            (v, true) => println!("{v}"),
            (Value::String(s), false) => println!("{s}"),
            (v, false) => println!("{v}"),
        }
        return Ok(0);
    }
    if json_output {
        let m = redacted_outputs(&doc);
        println!("{}", serde_json::to_string_pretty(&m).expect("json"));
    } else {
        for (n, o) in &doc.outputs {
            let shown = if o.sensitive {
                "(sensitive value)".to_string()
            } else {
                show_value(&o.value)
            };
            println!("{n} = {shown}");
        }
    }
    Ok(0)
}

/// `kapstan validate`.
async fn validate(
    project: &Project,
    stack: &StackArgs,
    json_output: bool,
) -> Result<i32, CliError> {
    let spec = load_stack(stack)?;
    let engine = project.engine(EventSink::none())?;
    // Validation calls no API, so it needs no credentials: their absence is not a problem of
    // the stack (plan and apply report it, once).
    let validated = match engine.validate(&spec) {
        Err(kapstan_engine::EngineError::Invalid { stack, problems }) => {
            let problems: Vec<_> = problems
                .into_iter()
                .filter(|p| !p.message.contains(CREDENTIALS_FIELD))
                .collect();
            if problems.is_empty() {
                Ok(())
            } else {
                Err(kapstan_engine::EngineError::Invalid { stack, problems })
            }
        }
        other => other,
    };
    match validated {
        Ok(()) => {
            if json_output {
                println!(
                    "{}",
                    json!({"valid": true, "stack": spec.name, "resources": spec.resources.len()})
                );
            } else {
                println!(
                    "Stack `{}` is valid: {} resource(s), {} output(s).",
                    spec.name,
                    spec.resources.len(),
                    spec.outputs.len()
                );
            }
            Ok(0)
        }
        Err(e) if json_output => {
            let problems = match &e {
                kapstan_engine::EngineError::Invalid { problems, .. } => json!(problems),
                other => json!([{"address": "", "message": other.to_string()}]),
            };
            println!(
                "{}",
                json!({"valid": false, "stack": spec.name, "problems": problems})
            );
            Ok(1)
        }
        Err(e) => Err(e.into()),
    }
}

/// The field name drivers give a missing-credentials problem.
const CREDENTIALS_FIELD: &str = "`(scaleway credentials)`";

/// `kapstan graph`: DOT on stdout.
fn graph(stack: &StackArgs) -> Result<i32, CliError> {
    let spec = load_stack(stack)?;
    println!("digraph \"{}\" {{", spec.name);
    println!("  rankdir = \"RL\";");
    for r in &spec.resources {
        println!(
            "  \"{}\" [label=\"{}\\n{}\"];",
            r.address, r.address, r.kind
        );
    }
    for r in &spec.resources {
        for d in kapstan_engine::diff::dependencies_of(r) {
            println!("  \"{}\" -> \"{d}\";", r.address);
        }
    }
    println!("}}");
    Ok(0)
}

/// `kapstan stacks`.
fn stacks() -> Result<i32, CliError> {
    for e in kapstan_stacks::catalog() {
        println!("{:<12} {}", e.name, e.description);
        for (var, what) in e.vars {
            println!("{:<12}   --var {var}=…  {what}", "");
        }
    }
    Ok(0)
}

/// `kapstan import`.
async fn import(
    project: &Project,
    address: &str,
    id: &str,
    stack: &StackArgs,
) -> Result<i32, CliError> {
    let spec = load_stack(stack)?;
    let engine = project.engine(EventSink::none())?;
    let serial = engine.import(&spec, address, id).await?;
    println!(
        "Imported {address} (id {id}) into stack `{}` at serial {serial}. Run `kapstan plan` to see any difference from the declaration.",
        spec.name
    );
    Ok(0)
}
