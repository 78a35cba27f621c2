//! The human rendering of a plan, in the manner of Terraform's.

use std::fmt::Write;

use kapstan_engine::{Action, Plan, PlanMode, ResourceChange, value};
use serde_json::Value;

use super::{show_path, show_value};

fn header(c: &ResourceChange) -> String {
    let what = match c.action {
        Action::Create => "will be created",
        Action::Update => "will be updated in place",
        Action::Replace if c.create_before_destroy => "must be replaced (new object created first)",
        Action::Replace => "must be replaced",
        Action::Delete => "will be destroyed",
        Action::NoOp => "is unchanged",
    };
    format!("  # {}.{} {what}", c.kind, c.address)
}

fn body(out: &mut String, c: &ResourceChange) {
    let sym = c.action.symbol(c.create_before_destroy);
    let _ = writeln!(out, "{sym:>3} resource \"{}\" \"{}\" {{", c.kind, c.address);
    match c.action {
        Action::Create => {
            if let Some(Value::Object(after)) = &c.after {
                let width = after.keys().map(String::len).max().unwrap_or(0).max(2);
                for (k, v) in after {
                    if v.is_null() {
                        continue;
                    }
                    let _ = writeln!(out, "      + {k:<width$} = {}", show_value(v));
                }
                if !after.contains_key("id") {
                    let _ = writeln!(out, "      + {:<width$} = (known after apply)", "id");
                }
            }
        }
        Action::Update | Action::Replace => {
            let width = c
                .fields
                .iter()
                .map(|f| show_path(&f.path).len())
                .max()
                .unwrap_or(0);
            for f in &c.fields {
                let path = show_path(&f.path);
                let note = if f.forces_replacement {
                    " # forces replacement"
                } else {
                    ""
                };
                match (&f.before, &f.after) {
                    (None, Some(a)) => {
                        let _ = writeln!(out, "      + {path:<width$} = {}{note}", show_value(a));
                    }
                    (Some(b), None) => {
                        let _ = writeln!(
                            out,
                            "      - {path:<width$} = {} -> null{note}",
                            show_value(b)
                        );
                    }
                    (Some(b), Some(a)) => {
                        let _ = writeln!(
                            out,
                            "      ~ {path:<width$} = {} -> {}{note}",
                            show_value(b),
                            show_value(a)
                        );
                    }
                    (None, None) => {}
                }
            }
            if c.fields.is_empty() {
                let _ = writeln!(out, "        # (no field changes)");
            }
        }
        Action::Delete => {
            if let Some(Value::Object(before)) = &c.before {
                let width = before.keys().map(String::len).max().unwrap_or(0);
                for (k, v) in before {
                    if v.is_null() {
                        continue;
                    }
                    let _ = writeln!(out, "      - {k:<width$} = {} -> null", show_value(v));
                }
            }
        }
        Action::NoOp => {}
    }
    objects(out, c);
    let _ = writeln!(out, "    }}");
}

/// The objects the change touches, from the planner's describe step:
/// `# objects: ~ apps/v1 Deployment coder/coder (spec.replicas)`.
fn objects(out: &mut String, c: &ResourceChange) {
    for d in &c.details {
        if d.is_note() {
            let _ = writeln!(out, "      # objects: ({})", d.name);
            continue;
        }
        let fields = if d.fields.is_empty() {
            String::new()
        } else {
            format!(" ({})", d.fields.join(", "))
        };
        let _ = writeln!(
            out,
            "      # objects: {} {}{fields}",
            d.action.symbol(false),
            d.name
        );
    }
}

/// Kinds whose destruction loses data or an address users rely on.
const STATEFUL_KINDS: &[&str] = &[
    "scaleway_k8s_cluster",
    "scaleway_k8s_pool",
    "scaleway_rdb_instance",
    "scaleway_rdb_database",
    "scaleway_vpc_private_network",
    "scaleway_lb_ip",
    "scaleway_object_bucket",
];

/// One line naming the stateful resources a normal plan destroys or replaces (a
/// configuration change, not `destroy`, which asked for it).
fn stateful_losses(plan: &Plan) -> Option<String> {
    if plan.mode != PlanMode::Normal {
        return None;
    }
    let lost: Vec<String> = plan
        .actionable()
        .filter(|c| matches!(c.action, Action::Delete | Action::Replace))
        .filter(|c| STATEFUL_KINDS.contains(&c.kind.as_str()))
        .map(|c| {
            let how = if c.action == Action::Delete {
                "destroyed"
            } else {
                "replaced"
            };
            format!("{} ({how})", c.address)
        })
        .collect();
    (!lost.is_empty()).then(|| {
        format!(
            "Warning: this plan destroys stateful resources: {}; their data and addresses are lost.",
            lost.join(", ")
        )
    })
}

/// Renders drift: what changed outside kapstan.
pub fn render_drift(plan: &Plan) -> String {
    let mut out = String::new();
    if plan.drift.is_empty() {
        return out;
    }
    let _ = writeln!(out, "Objects have changed outside of kapstan:\n");
    for d in &plan.drift {
        if d.deleted {
            let _ = writeln!(out, "  # {}.{} has been deleted", d.kind, d.address);
            continue;
        }
        let _ = writeln!(out, "  # {}.{} has changed", d.kind, d.address);
        for f in &d.fields {
            let b = f
                .before
                .as_ref()
                .map(show_value)
                .unwrap_or_else(|| "null".into());
            let a = f
                .after
                .as_ref()
                .map(show_value)
                .unwrap_or_else(|| "null".into());
            let _ = writeln!(out, "      ~ {} = {b} -> {a}", show_path(&f.path));
        }
    }
    out.push('\n');
    out
}

/// Renders a whole plan.
pub fn render_plan(plan: &Plan) -> String {
    let mut out = render_drift(plan);
    if plan.mode == PlanMode::RefreshOnly {
        if plan.drift.is_empty() {
            out.push_str("No changes. Your infrastructure still matches the recorded state.\n");
        } else {
            let _ = writeln!(
                out,
                "Applying this refresh-only plan records these {} change(s) in state; it changes no infrastructure.",
                plan.drift.len()
            );
        }
        return out;
    }
    if !plan.has_changes() {
        out.push_str(&format!(
            "No changes. Stack `{}` matches the configuration.\n",
            plan.stack
        ));
        return out;
    }
    out.push_str("kapstan will perform the following actions:\n\n");
    for c in plan.actionable() {
        let _ = writeln!(out, "{}", header(c));
        if let Some(reason) = &c.reason {
            let _ = writeln!(out, "  # ({reason})");
        }
        body(&mut out, c);
        out.push('\n');
    }
    let (add, change, replace, destroy) = plan.counts();
    let _ = writeln!(
        out,
        "Plan: {} to add, {} to change, {} to destroy.",
        add + replace,
        change,
        destroy + replace
    );
    if let Some(line) = stateful_losses(plan) {
        let _ = writeln!(out, "{}", super::red(&line, super::colour()));
    }
    let outputs: Vec<_> = plan
        .outputs
        .iter()
        .filter(|o| o.action != Action::NoOp)
        .collect();
    if !outputs.is_empty() {
        out.push_str("\nChanges to Outputs:\n");
        for o in outputs {
            let sym = o.action.symbol(false);
            let shown = match (&o.action, &o.after) {
                (Action::Delete, _) => "null".to_string(),
                (_, Some(a)) if value::contains_unknown(a) => "(known after apply)".into(),
                (_, Some(a)) => show_value(a),
                (_, None) => "null".into(),
            };
            let _ = writeln!(out, "  {sym} {} = {shown}", o.name);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use kapstan_engine::ObjectChange;

    fn change(address: &str, kind: &str, action: Action) -> ResourceChange {
        ResourceChange {
            address: address.into(),
            kind: kind.into(),
            action,
            create_before_destroy: false,
            reason: None,
            fields: vec![],
            before: None,
            after: None,
            before_sensitive: Default::default(),
            after_sensitive: Default::default(),
            depends_on: vec![],
            resume: false,
            details: vec![],
        }
    }

    fn plan_of(mode: &str, changes: Vec<ResourceChange>) -> Plan {
        serde_json::from_value(serde_json::json!({
            "stack": "coder-dev-infra",
            "lineage": "00000000-0000-4000-8000-000000000000",
            "base_serial": 1,
            "mode": mode,
            "config_hash": "x",
            "changes": changes,
        }))
        .unwrap()
    }

    #[test]
    fn a_plan_losing_stateful_resources_says_so_in_one_line_after_the_counts() {
        let plan = plan_of(
            "normal",
            vec![
                change("pool-default", "scaleway_k8s_pool", Action::Replace),
                change("database", "scaleway_rdb_instance", Action::Delete),
                change("lb", "scaleway_lb", Action::Delete),
                change("coder", "helm_release", Action::Update),
            ],
        );
        let out = render_plan(&plan);
        let lines: Vec<&str> = out.lines().collect();
        let at = lines.iter().position(|l| l.starts_with("Plan:")).unwrap();
        assert_eq!(
            lines[at + 1],
            "Warning: this plan destroys stateful resources: pool-default (replaced), database (destroyed); their data and addresses are lost."
        );
        let calm = plan_of("normal", vec![change("lb", "scaleway_lb", Action::Replace)]);
        assert!(!render_plan(&calm).contains("stateful"));
        let asked = plan_of(
            "destroy",
            vec![change("database", "scaleway_rdb_instance", Action::Delete)],
        );
        assert!(
            !render_plan(&asked).contains("stateful"),
            "destroy asked for it"
        );
    }

    #[test]
    fn object_changes_are_listed_under_their_resource() {
        let change = ResourceChange {
            address: "coder".into(),
            kind: "helm_release".into(),
            action: Action::Update,
            create_before_destroy: false,
            reason: None,
            fields: vec![],
            before: None,
            after: None,
            before_sensitive: Default::default(),
            after_sensitive: Default::default(),
            depends_on: vec![],
            resume: false,
            details: vec![
                ObjectChange::create("v1 ServiceAccount coder/coder"),
                ObjectChange::update(
                    "apps/v1 Deployment coder/coder",
                    vec!["spec.replicas".into(), "spec.template".into()],
                ),
                ObjectChange::delete("v1 ConfigMap coder/old"),
                ObjectChange::note("known after apply"),
            ],
        };
        let mut out = String::new();
        body(&mut out, &change);
        assert_eq!(
            out,
            "  ~ resource \"helm_release\" \"coder\" {\n        # (no field changes)\n      # objects: + v1 ServiceAccount coder/coder\n      # objects: ~ apps/v1 Deployment coder/coder (spec.replicas, spec.template)\n      # objects: - v1 ConfigMap coder/old\n      # objects: (known after apply)\n    }\n"
        );
    }
}
