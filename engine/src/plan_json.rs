//! Terraform's machine-readable plan format (format_version 1.2), so policies and cost tools
//! written for Terraform read kapstan plans. kapstan's own fields live under `kapstan`.
//!
//! One deliberate difference: Terraform writes sensitive values in clear and only marks them
//! in `*_sensitive`; kapstan writes the placeholder `(sensitive value)` and marks them too.

use std::collections::BTreeSet;

use serde_json::{Map, Value, json};

use crate::plan::{Action, Plan, ResourceChange};
use crate::value;

/// The Terraform provider source a kind belongs to (as Terraform would name it).
pub fn provider_name(kind: &str) -> &'static str {
    if kind.starts_with("scaleway_") {
        "registry.terraform.io/scaleway/scaleway"
    } else if kind.starts_with("kubernetes_") {
        "registry.terraform.io/hashicorp/kubernetes"
    } else if kind.starts_with("helm_") {
        "registry.terraform.io/hashicorp/helm"
    } else if kind.starts_with("coder_") {
        "registry.terraform.io/coder/coderd"
    } else if kind.starts_with("random_") {
        "registry.terraform.io/hashicorp/random"
    } else {
        "kapstan.dev/builtin/local"
    }
}

fn actions(c: &ResourceChange) -> Value {
    match c.action {
        Action::NoOp => json!(["no-op"]),
        Action::Create => json!(["create"]),
        Action::Update => json!(["update"]),
        Action::Delete => json!(["delete"]),
        Action::Replace if c.create_before_destroy => json!(["create", "delete"]),
        Action::Replace => json!(["delete", "create"]),
    }
}

/// Terraform's address for a resource: `TYPE.NAME`.
pub fn terraform_address(kind: &str, address: &str) -> String {
    format!("{kind}.{address}")
}

/// A value shaped like `v` with `true` at unknown leaves (Terraform's `after_unknown`).
fn unknown_mask(v: &Value) -> Value {
    if value::is_unknown(v) {
        return Value::Bool(true);
    }
    match v {
        Value::Object(m) => {
            let inner: Map<String, Value> = m
                .iter()
                .filter_map(|(k, x)| {
                    let mask = unknown_mask(x);
                    (mask != Value::Bool(false)).then(|| (k.clone(), mask))
                })
                .collect();
            Value::Object(inner)
        }
        Value::Array(a) => Value::Array(a.iter().map(unknown_mask).collect()),
        _ => Value::Bool(false),
    }
}

/// Replaces unknown markers by null, as Terraform's `after` does.
fn strip_unknown(v: &Value) -> Value {
    if value::is_unknown(v) {
        return Value::Null;
    }
    match v {
        Value::Object(m) => Value::Object(
            m.iter()
                .map(|(k, x)| (k.clone(), strip_unknown(x)))
                .collect(),
        ),
        Value::Array(a) => Value::Array(a.iter().map(strip_unknown).collect()),
        other => other.clone(),
    }
}

/// A value with `true` at each sensitive pointer (Terraform's `*_sensitive`).
fn sensitive_mask(pointers: &BTreeSet<String>) -> Value {
    let mut root = Value::Object(Map::new());
    for p in pointers {
        if p.is_empty() {
            return Value::Bool(true);
        }
        let segments: Vec<String> = p
            .trim_start_matches('/')
            .split('/')
            .map(|s| s.replace("~1", "/").replace("~0", "~"))
            .collect();
        let mut cur = &mut root;
        for (i, seg) in segments.iter().enumerate() {
            let last = i == segments.len() - 1;
            let Value::Object(m) = cur else { break };
            if last {
                m.insert(seg.clone(), Value::Bool(true));
                break;
            }
            cur = m
                .entry(seg.clone())
                .or_insert_with(|| Value::Object(Map::new()));
        }
    }
    root
}

/// Renders a plan in Terraform's JSON plan format 1.2, with kapstan's extras under `kapstan`
/// (`extra` is merged there: the CLI adds the cost estimate).
pub fn to_terraform_json(plan: &Plan, extra: Option<Value>) -> Value {
    let mut resource_changes = vec![];
    let mut planned = vec![];
    let mut prior = vec![];
    for c in &plan.changes {
        let after = c.after.as_ref().map(strip_unknown);
        resource_changes.push(resource_change(c, after.as_ref()));
        if c.action != Action::Delete {
            let mut values = resource_values(&c.kind, &c.address);
            values["values"] = after.unwrap_or(Value::Null);
            values["sensitive_values"] = sensitive_mask(&c.after_sensitive);
            planned.push(values);
        }
        if let Some(before) = &c.before {
            let mut values = resource_values(&c.kind, &c.address);
            values["values"] = before.clone();
            values["sensitive_values"] = sensitive_mask(&c.before_sensitive);
            values["depends_on"] = json!(c.depends_on);
            prior.push(values);
        }
    }
    let (output_changes, planned_outputs) = outputs(plan);
    let drift: Vec<Value> = plan
        .drift
        .iter()
        .map(|d| serde_json::to_value(d).expect("drift serializes"))
        .collect();
    let resource_drift: Vec<Value> = plan
        .drift
        .iter()
        .map(|d| {
            let mut change = resource_identity(&d.kind, &d.address);
            change["change"] = json!({
                "actions": if d.deleted { json!(["delete"]) } else { json!(["update"]) },
                "before": Value::Null,
                "after": Value::Null,
            });
            change
        })
        .collect();
    let mut kapstan = json!({
        "stack": plan.stack,
        "mode": plan.mode,
        "lineage": plan.lineage,
        "serial": plan.base_serial,
        "config_hash": plan.config_hash,
        "drift": drift,
    });
    if let Some(Value::Object(extra)) = extra {
        for (k, v) in extra {
            kapstan[k] = v;
        }
    }
    json!({
        "format_version": "1.2",
        "terraform_version": concat!("kapstan-", env!("CARGO_PKG_VERSION")),
        "planned_values": {
            "outputs": planned_outputs,
            "root_module": { "resources": planned }
        },
        "resource_drift": resource_drift,
        "resource_changes": resource_changes,
        "output_changes": output_changes,
        "prior_state": {
            "format_version": "1.0",
            "values": { "root_module": { "resources": prior } }
        },
        "applyable": plan.has_changes(),
        "complete": true,
        "errored": false,
        "kapstan": kapstan,
    })
}

/// The fields that name a resource in every part of the plan JSON.
fn resource_identity(kind: &str, address: &str) -> Value {
    json!({
        "address": terraform_address(kind, address),
        "mode": "managed",
        "type": kind,
        "name": address,
        "provider_name": provider_name(kind),
    })
}

/// A resource's identity in `planned_values` and `prior_state` (values added by the caller).
fn resource_values(kind: &str, address: &str) -> Value {
    let mut v = resource_identity(kind, address);
    v["schema_version"] = json!(0);
    v
}

/// One entry of `resource_changes`.
fn resource_change(c: &ResourceChange, after: Option<&Value>) -> Value {
    let mut change = resource_identity(&c.kind, &c.address);
    change["change"] = json!({
        "actions": actions(c),
        "before": c.before.clone().unwrap_or(Value::Null),
        "after": after.cloned().unwrap_or(Value::Null),
        "after_unknown": c.after.as_ref().map(unknown_mask).unwrap_or(json!({})),
        "before_sensitive": if c.before.is_some() { sensitive_mask(&c.before_sensitive) } else { Value::Bool(false) },
        "after_sensitive": if c.after.is_some() { sensitive_mask(&c.after_sensitive) } else { Value::Bool(false) },
    });
    if c.action == Action::Replace {
        change["action_reason"] = json!("replace_because_cannot_update");
        let paths: Vec<Value> = c
            .fields
            .iter()
            .filter(|f| f.forces_replacement)
            .map(|f| {
                Value::Array(
                    f.path
                        .trim_start_matches('/')
                        .split('/')
                        .map(|s| json!(s))
                        .collect(),
                )
            })
            .collect();
        change["change"]["replace_paths"] = Value::Array(paths);
    }
    if c.action == Action::Delete {
        change["action_reason"] = json!("delete_because_no_resource_config");
    }
    if let Some(reason) = &c.reason {
        change["kapstan_reason"] = json!(reason);
    }
    if !c.details.is_empty() {
        let objects: Vec<Value> = c
            .details
            .iter()
            .map(|d| {
                let mut o = json!({"action": d.action.verb(), "name": d.name});
                if !d.fields.is_empty() {
                    o["fields"] = json!(d.fields);
                }
                o
            })
            .collect();
        change["kapstan_objects"] = Value::Array(objects);
    }
    change
}

/// `output_changes` and the outputs of `planned_values`.
fn outputs(plan: &Plan) -> (Map<String, Value>, Map<String, Value>) {
    let mut output_changes = Map::new();
    let mut planned_outputs = Map::new();
    for o in &plan.outputs {
        let acts = match o.action {
            Action::NoOp => json!(["no-op"]),
            Action::Create => json!(["create"]),
            Action::Update => json!(["update"]),
            Action::Delete => json!(["delete"]),
            Action::Replace => json!(["delete", "create"]),
        };
        output_changes.insert(
            o.name.clone(),
            json!({
                "actions": acts,
                "before": o.before,
                "after": o.after.as_ref().map(strip_unknown),
                "after_unknown": o.after.as_ref().is_some_and(value::contains_unknown),
                "before_sensitive": o.sensitive,
                "after_sensitive": o.sensitive,
            }),
        );
        if o.action != Action::Delete {
            planned_outputs.insert(
                o.name.clone(),
                json!({"sensitive": o.sensitive, "value": o.after.as_ref().map(strip_unknown)}),
            );
        }
    }
    (output_changes, planned_outputs)
}
