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

/// Longest value shown on one line; longer maps are shown as indented blocks.
const ONE_LINE: usize = 60;

/// `sym` coloured as Terraform does (on a terminal only).
fn paint(sym: &str, on: bool) -> String {
    if !on || sym.trim().is_empty() {
        return sym.to_string();
    }
    let code = match sym.trim() {
        "+" => "32",
        "-" => "31",
        "~" => "33",
        _ => "35",
    };
    format!("\x1b[{code}m{sym}\x1b[0m")
}

/// `KEY = VALUE` under `sym`, a long map as an indented block of its keys.
fn line(
    out: &mut String,
    indent: usize,
    sym: &str,
    key: &str,
    width: usize,
    v: &Value,
    tail: &str,
) {
    let pad = " ".repeat(indent);
    let colour = super::colour();
    match v {
        Value::Object(m) if !value::is_unknown(v) && show_value(v).len() > ONE_LINE => {
            let _ = writeln!(out, "{pad}{} {key:<width$} = {{", paint(sym, colour));
            let inner = m.keys().map(|k| quote_key(k).len()).max().unwrap_or(0);
            for (k, x) in m {
                line(out, indent + 4, sym, &quote_key(k), inner, x, "");
            }
            let _ = writeln!(out, "{pad}  }}{tail}");
        }
        _ => {
            let _ = writeln!(
                out,
                "{pad}{} {key:<width$} = {}{tail}",
                paint(sym, colour),
                show_value(v)
            );
        }
    }
}

/// Map keys as Terraform shows them: bare when they are identifiers, quoted otherwise.
fn quote_key(k: &str) -> String {
    let bare = !k.is_empty()
        && k.chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
        && !k.starts_with(|c: char| c.is_ascii_digit());
    if bare {
        k.to_string()
    } else {
        format!("{k:?}")
    }
}

/// An update of a map: only the keys that change, with a count of the others.
fn map_update(
    out: &mut String,
    indent: usize,
    key: &str,
    width: usize,
    before: &serde_json::Map<String, Value>,
    after: &serde_json::Map<String, Value>,
    tail: &str,
) {
    let pad = " ".repeat(indent);
    let colour = super::colour();
    let _ = writeln!(out, "{pad}{} {key:<width$} = {{{tail}", paint("~", colour));
    let mut keys: Vec<&String> = before.keys().chain(after.keys()).collect();
    keys.sort();
    keys.dedup();
    let inner = keys.iter().map(|k| quote_key(k).len()).max().unwrap_or(0);
    let mut unchanged = 0;
    for k in keys {
        let shown = quote_key(k);
        match (before.get(k), after.get(k)) {
            (Some(b), Some(a)) if b == a => unchanged += 1,
            (Some(Value::Object(b)), Some(Value::Object(a)))
                if !value::is_unknown(&Value::Object(a.clone())) =>
            {
                map_update(out, indent + 4, &shown, inner, b, a, "");
            }
            (Some(b), Some(a)) => {
                let _ = writeln!(
                    out,
                    "{pad}    {} {shown:<inner$} = {} -> {}",
                    paint("~", colour),
                    show_value(b),
                    show_value(a)
                );
            }
            (None, Some(a)) => line(out, indent + 4, "+", &shown, inner, a, ""),
            (Some(b), None) => {
                let _ = writeln!(
                    out,
                    "{pad}    {} {shown:<inner$} = {} -> null",
                    paint("-", colour),
                    show_value(b)
                );
            }
            (None, None) => {}
        }
    }
    if unchanged > 0 {
        let _ = writeln!(
            out,
            "{pad}      # ({unchanged} unchanged {} hidden)",
            if unchanged == 1 { "key" } else { "keys" }
        );
    }
    let _ = writeln!(out, "{pad}  }}");
}

fn body(out: &mut String, c: &ResourceChange) {
    let sym = c.action.symbol(c.create_before_destroy);
    let _ = writeln!(
        out,
        "{} resource \"{}\" \"{}\" {{",
        paint(&format!("{sym:>3}"), super::colour()),
        c.kind,
        c.address
    );
    match c.action {
        Action::Create => {
            if let Some(Value::Object(after)) = &c.after {
                let width = after.keys().map(String::len).max().unwrap_or(0).max(2);
                for (k, v) in after {
                    if v.is_null() {
                        continue;
                    }
                    line(out, 6, "+", k, width, v, "");
                }
                if !after.contains_key("id") {
                    line(out, 6, "+", "id", width, &value::unknown(), "");
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
                    (None, Some(a)) => line(out, 6, "+", &path, width, a, note),
                    (Some(b), None) => {
                        let _ = writeln!(
                            out,
                            "      {} {path:<width$} = {} -> null{note}",
                            paint("-", super::colour()),
                            show_value(b)
                        );
                    }
                    (Some(Value::Object(b)), Some(Value::Object(a)))
                        if !value::is_unknown(&Value::Object(a.clone())) =>
                    {
                        map_update(out, 6, &path, width, b, a, note);
                    }
                    (Some(b), Some(a)) => {
                        let _ = writeln!(
                            out,
                            "      {} {path:<width$} = {} -> {}{note}",
                            paint("~", super::colour()),
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
                    let _ = writeln!(
                        out,
                        "      {} {k:<width$} = {} -> null",
                        paint("-", super::colour()),
                        show_value(v)
                    );
                }
            }
        }
        Action::NoOp => {}
    }
    objects(out, c);
    let _ = writeln!(out, "    }}");
}

/// The changes in dependency order (what a resource needs before it), ties in plan order;
/// deletions of what others needed come after those others, as they are applied.
fn in_dependency_order(plan: &Plan) -> Vec<&ResourceChange> {
    let changes: Vec<&ResourceChange> = plan.actionable().collect();
    let index: std::collections::HashMap<&str, usize> = changes
        .iter()
        .enumerate()
        .map(|(i, c)| (c.address.as_str(), i))
        .collect();
    let mut placed = vec![false; changes.len()];
    let mut order = Vec::with_capacity(changes.len());
    fn visit<'a>(
        i: usize,
        changes: &[&'a ResourceChange],
        index: &std::collections::HashMap<&str, usize>,
        placed: &mut Vec<bool>,
        visiting: &mut Vec<bool>,
        order: &mut Vec<&'a ResourceChange>,
    ) {
        if placed[i] || visiting[i] {
            return;
        }
        visiting[i] = true;
        for dep in &changes[i].depends_on {
            if let Some(&j) = index.get(dep.as_str()) {
                visit(j, changes, index, placed, visiting, order);
            }
        }
        placed[i] = true;
        order.push(changes[i]);
    }
    let mut visiting = vec![false; changes.len()];
    for i in 0..changes.len() {
        visit(i, &changes, &index, &mut placed, &mut visiting, &mut order);
    }
    if plan.mode == PlanMode::Destroy {
        // Destruction runs the other way: dependents go first.
        order.reverse();
    }
    order
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
    for c in in_dependency_order(plan) {
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
            let sym = paint(o.action.symbol(false), super::colour());
            let after = match (&o.action, &o.after) {
                (Action::Delete, _) | (_, None) => "null".to_string(),
                (_, Some(a)) if value::contains_unknown(a) => "(known after apply)".into(),
                (_, Some(a)) => show_value(a),
            };
            // An update shows what the output was, as Terraform does.
            let shown = match (&o.action, &o.before) {
                (Action::Update | Action::Replace, Some(b)) | (Action::Delete, Some(b)) => {
                    format!("{} -> {after}", show_value(b))
                }
                _ => after,
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
    fn values_render_like_terraform() {
        use kapstan_engine::FieldChange;
        let mut release = change("coder", "helm_release", Action::Update);
        release.depends_on = vec!["namespace".into()];
        let before = serde_json::json!({
            "coder": {"image": {"tag": "2.21.0"}, "replicaCount": 1},
            "ingress": {"enable": false},
            "long-unchanged-key-one": "aaaaaaaaaaaaaaaaaaaa",
            "long-unchanged-key-two": "bbbbbbbbbbbbbbbbbbbb",
        });
        let mut after = before.clone();
        after["coder"]["image"]["tag"] = "2.21.1".into();
        after["service"] = serde_json::json!({"type": "LoadBalancer"});
        release.fields = vec![FieldChange {
            path: "/values".into(),
            before: Some(before),
            after: Some(after),
            forces_replacement: false,
            sensitive: false,
        }];
        let mut ns = change("namespace", "kubernetes_namespace", Action::Create);
        ns.after = Some(serde_json::json!({
            "name": "coder",
            "labels": [value::unknown(), "b"],
        }));
        let mut plan = plan_of("normal", vec![release, ns]);
        plan.outputs = vec![kapstan_engine::OutputChange {
            name: "access_url".into(),
            action: Action::Update,
            before: Some("http://127.0.0.1:8080".into()),
            after: Some("http://51.15.0.1".into()),
            sensitive: false,
        }];
        insta::assert_snapshot!("plan_rendering", render_plan(&plan));
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
