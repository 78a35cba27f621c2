//! show, output, validate, graph, stacks and import.

use std::path::Path;

use kapstan_engine::{EventSink, PlanFile, plan_json, value};
use kapstan_state::ResourceStatus;
use serde_json::{Value, json};

use crate::args::StackArgs;
use crate::context::{Project, load_stack, stack_name};
use crate::error::CliError;
use crate::render::{plan::render_plan, show_value};

/// A recorded resource with every sensitive value redacted.
pub fn redacted_resource(res: &kapstan_state::ResourceState) -> Value {
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
pub async fn show(
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
pub async fn output(
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
pub async fn validate(
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
pub fn graph(stack: &StackArgs) -> Result<i32, CliError> {
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
pub fn stacks() -> Result<i32, CliError> {
    for e in kapstan_stacks::catalog() {
        println!("{:<12} {}", e.name, e.description);
        for (var, what) in e.vars {
            println!("{:<12}   --var {var}=…  {what}", "");
        }
    }
    Ok(0)
}

/// `kapstan import`.
pub async fn import(
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
