//! The `unused-parameter` and `deprecated` rules: parameters a workspace owner
//! can set must change something, and the template must not lean on provider
//! attributes that are deprecated or already removed.
//!
//! The deprecations are those of the `coder/coder` Terraform provider: its
//! schema marks `coder_agent.dir` and `coder_ai_task.sidebar_app` deprecated,
//! and its 2.0 upgrade guide lists what 2.0 removed (the provider's
//! `feature_use_managed_variables`, `data "coder_git_auth"` and the `owner*`
//! attributes of `data "coder_workspace"`).

use std::collections::BTreeMap;

use hcl::edit::Span;
use hcl::edit::expr::{Expression, ObjectKey};

use super::walk::{self, traversal_names};
use super::{Linter, Source};
use crate::templates::{Rule, Severity};

/// `(block type, first label, attribute or nested block, advice, severity)`.
const DEPRECATED: &[(&str, &str, &str, &str, Severity)] = &[
    (
        "resource",
        "coder_agent",
        "dir",
        "is deprecated in the coder provider and will be removed; sessions start in $HOME, so drop it and put a project folder in the apps' URLs (`?folder=`)",
        Severity::Warning,
    ),
    (
        "resource",
        "coder_ai_task",
        "sidebar_app",
        "is deprecated in the coder provider; set `app_id` instead",
        Severity::Warning,
    ),
    (
        "provider",
        "coder",
        "feature_use_managed_variables",
        "was removed in coder provider 2.0; delete it",
        Severity::Error,
    ),
];

/// `data "coder_workspace"` attributes removed in provider 2.0, with their
/// `data "coder_workspace_owner"` replacement.
const REMOVED_WORKSPACE_ATTRIBUTES: &[(&str, &str)] = &[
    ("owner", "name"),
    ("owner_id", "id"),
    ("owner_name", "full_name"),
    ("owner_email", "email"),
    ("owner_groups", "groups"),
    ("owner_session_token", "session_token"),
    ("owner_oidc_access_token", "oidc_access_token"),
];

/// How one parameter's value is used.
#[derive(Default)]
struct Uses {
    /// Read by something other than an agent environment variable.
    direct: bool,
    /// Environment variables of a `coder_agent` that carry the value.
    env: Vec<String>,
}

fn parameter_of(expr: &Expression) -> Option<&str> {
    match traversal_names(expr)?.as_slice() {
        ["data", "coder_parameter", name, ..] => Some(name),
        _ => None,
    }
}

impl Linter {
    pub(super) fn check_deprecated(&mut self, sources: &[Source]) {
        for src in sources {
            for block in src.body.blocks() {
                let kind = block.ident.as_str();
                let first = block.labels.first().map_or("", |l| l.as_str());
                if kind == "data" && first == "coder_git_auth" {
                    self.at(
                        src,
                        block.span(),
                        Rule::Deprecated,
                        Severity::Error,
                        "data \"coder_git_auth\" was removed in coder provider 2.0; use data \"coder_external_auth\"".into(),
                    );
                }
                for (k, t, attr, advice, severity) in DEPRECATED {
                    if kind != *k || first != *t {
                        continue;
                    }
                    let span = block
                        .body
                        .get_attribute(attr)
                        .and_then(|a| a.span())
                        .or_else(|| block.body.get_blocks(attr).next().and_then(|b| b.span()));
                    if span.is_some() {
                        self.at(
                            src,
                            span,
                            Rule::Deprecated,
                            *severity,
                            format!("{t}: `{attr}` {advice}"),
                        );
                    }
                }
                let mut removed = Vec::new();
                walk::attributes(&block.body, &mut Vec::new(), &mut |_, _, value| {
                    walk::expressions(value, &mut |e| {
                        if let Some(["data", "coder_workspace", name, attr, ..]) =
                            traversal_names(e).as_deref()
                            && let Some((_, new)) = REMOVED_WORKSPACE_ATTRIBUTES
                                .iter()
                                .find(|(old, _)| old == attr)
                        {
                            removed.push((e.span(), format!("data.coder_workspace.{name}.{attr} was removed in coder provider 2.0; use data.coder_workspace_owner.<name>.{new}")));
                        }
                    });
                });
                for (span, message) in removed {
                    self.at(src, span, Rule::Deprecated, Severity::Error, message);
                }
            }
        }
    }

    pub(super) fn check_parameter_use(&mut self, sources: &[Source]) {
        let mut uses: BTreeMap<String, Uses> = BTreeMap::new();
        let mut scripts = String::new();
        for src in sources {
            for block in src.body.blocks() {
                let kind = block.ident.as_str();
                let first = block.labels.first().map_or("", |l| l.as_str());
                let own_parameter = (kind == "data" && first == "coder_parameter")
                    .then(|| block.labels.get(1).map(|l| l.as_str()))
                    .flatten();
                let is_agent = kind == "resource" && first == "coder_agent";
                walk::attributes(&block.body, &mut Vec::new(), &mut |path, key, value| {
                    scripts.push_str(&walk::literal_text(value));
                    scripts.push('\n');
                    if is_agent
                        && path.is_empty()
                        && key == "env"
                        && let Expression::Object(o) = value
                    {
                        for (k, v) in o.iter() {
                            let env = match k {
                                ObjectKey::Ident(i) => i.as_str().to_string(),
                                ObjectKey::Expression(Expression::String(s)) => {
                                    s.value().to_string()
                                }
                                ObjectKey::Expression(_) => String::new(),
                            };
                            walk::expressions(v.expr(), &mut |e| {
                                if let Some(p) = parameter_of(e) {
                                    uses.entry(p.to_string()).or_default().env.push(env.clone());
                                }
                            });
                        }
                        return;
                    }
                    walk::expressions(value, &mut |e| {
                        if let Some(p) = parameter_of(e)
                            && Some(p) != own_parameter
                        {
                            uses.entry(p.to_string()).or_default().direct = true;
                        }
                    });
                });
            }
        }
        for src in sources {
            for block in src.body.get_blocks("data") {
                if block
                    .labels
                    .first()
                    .is_none_or(|l| l.as_str() != "coder_parameter")
                {
                    continue;
                }
                let Some(name) = block.labels.get(1).map(|l| l.as_str()) else {
                    continue;
                };
                let used = uses.get(name);
                if used.is_some_and(|u| u.direct) {
                    continue;
                }
                let env: Vec<&String> = used.map(|u| u.env.iter().collect()).unwrap_or_default();
                if env.is_empty() {
                    self.at(
                        src,
                        block.span(),
                        Rule::UnusedParameter,
                        Severity::Error,
                        format!("coder_parameter `{name}` is never used: no resource, app or script reads data.coder_parameter.{name}.value, so what a user picks changes nothing; use it or remove it"),
                    );
                } else if !env.iter().any(|var| mentions_variable(&scripts, var)) {
                    let vars: Vec<String> = env.iter().map(|v| format!("${v}")).collect();
                    self.at(
                        src,
                        block.span(),
                        Rule::UnusedParameter,
                        Severity::Warning,
                        format!("coder_parameter `{name}` reaches the agent as {} but no script reads it; use it in the startup script or remove it (ignore this only if a program in the image reads the variable itself)", vars.join(", ")),
                    );
                }
            }
        }
    }
}

/// `$NAME` or `${NAME}` somewhere in shell text, not as the prefix of a longer name.
fn mentions_variable(text: &str, name: &str) -> bool {
    if name.is_empty() {
        return false;
    }
    if text.contains(&format!("${{{name}}}")) || text.contains(&format!("${{{name}:")) {
        return true;
    }
    let needle = format!("${name}");
    text.match_indices(&needle).any(|(i, _)| {
        text[i + needle.len()..]
            .chars()
            .next()
            .is_none_or(|c| !(c.is_ascii_alphanumeric() || c == '_'))
    })
}
