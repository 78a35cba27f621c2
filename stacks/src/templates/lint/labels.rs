//! The `label-values` rule: every label a Kubernetes resource of the template
//! sets must be a valid label value for any workspace Coder accepts.
//!
//! Kubernetes limits a label value to 63 characters of `[-A-Za-z0-9_.]`,
//! starting and ending with an alphanumeric (apimachinery `IsValidLabelValue`),
//! and the name part of a key to the same 63. The lint bounds the length of
//! each value from what Coder guarantees about the data it interpolates:
//! usernames, workspace and template names match
//! `^[a-zA-Z0-9]+(?:-[a-zA-Z0-9]+)*$` and are at most 32 characters, ids are
//! 36-character UUIDs; full names, e-mails and URLs are not label values at all.

use std::collections::HashMap;

use hcl::edit::Span;
use hcl::edit::expr::{Expression, ObjectKey};
use hcl::edit::structure::{Block, Body};
use hcl::edit::template::{Element, Template};

use super::walk::{self, traversal_names};
use super::{Linter, Lit, Source, lit_str};
use crate::templates::{Rule, Severity};

/// Kubernetes' limit on a label value and on the name part of a label key.
pub(super) const LABEL_MAX: usize = 63;

/// Longest Coder username, workspace or template name.
const CODER_NAME_MAX: usize = 32;

/// A UUID in its canonical text form.
const UUID_LEN: usize = 36;

/// Deeper `local` chains than this are treated as unknown (and catch cycles).
const MAX_DEPTH: usize = 16;

/// What the lint knows about the values an expression can produce.
#[derive(Debug, Clone)]
enum Bound {
    /// Every value is made of label characters and at most `max` long; `parts`
    /// explains the sum.
    Fits { max: usize, parts: Vec<String> },
    /// Some value is not a label value whatever its length.
    Invalid(String),
    /// The lint cannot tell without evaluating the template.
    Unknown(String),
}

impl Bound {
    fn fits(max: usize, part: impl Into<String>) -> Bound {
        Bound::Fits {
            max,
            parts: vec![part.into()],
        }
    }

    /// The bound of two values written one after the other.
    fn then(self, next: Bound) -> Bound {
        match (self, next) {
            (Bound::Invalid(w), _) | (_, Bound::Invalid(w)) => Bound::Invalid(w),
            (Bound::Unknown(w), _) | (_, Bound::Unknown(w)) => Bound::Unknown(w),
            (
                Bound::Fits {
                    max: a,
                    parts: mut p,
                },
                Bound::Fits { max: b, parts: q },
            ) => {
                p.extend(q);
                Bound::Fits {
                    max: a + b,
                    parts: p,
                }
            }
        }
    }

    /// The bound of a value that is one of two.
    fn either(self, other: Bound) -> Bound {
        match (self, other) {
            (Bound::Invalid(w), _) | (_, Bound::Invalid(w)) => Bound::Invalid(w),
            (Bound::Unknown(w), _) | (_, Bound::Unknown(w)) => Bound::Unknown(w),
            (a @ Bound::Fits { .. }, b @ Bound::Fits { .. }) => {
                if a.max() >= b.max() {
                    a
                } else {
                    b
                }
            }
        }
    }

    fn max(&self) -> usize {
        match self {
            Bound::Fits { max, .. } => *max,
            _ => 0,
        }
    }

    fn truncated(self, len: usize) -> Bound {
        match self {
            Bound::Fits { max, parts } if max > len => Bound::Fits {
                max: len,
                parts: vec![format!("{} cut to {len}", parts.join(" + "))],
            },
            other => other,
        }
    }
}

/// Label character check of apimachinery: alphanumerics, `-`, `_`, `.`.
fn label_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.')
}

/// Checks a complete literal label value.
fn literal_value(value: &str) -> Bound {
    if let Some(c) = value.chars().find(|c| !label_char(*c)) {
        return Bound::Invalid(format!("`{value}` contains `{c}`"));
    }
    let edge_ok = |c: Option<char>| c.is_none_or(|c| c.is_ascii_alphanumeric());
    if !edge_ok(value.chars().next()) || !edge_ok(value.chars().last()) {
        return Bound::Invalid(format!(
            "`{value}` must start and end with a letter or digit"
        ));
    }
    Bound::fits(value.len(), format!("\"{value}\" ({})", value.len()))
}

/// The definitions the bound of an expression depends on.
pub(super) struct Scope<'a> {
    locals: HashMap<&'a str, &'a Expression>,
    parameters: HashMap<&'a str, &'a Body>,
}

impl<'a> Scope<'a> {
    pub(super) fn new(sources: &'a [Source]) -> Scope<'a> {
        let mut locals = HashMap::new();
        let mut parameters = HashMap::new();
        for src in sources {
            for block in src.body.get_blocks("locals") {
                for a in block.body.attributes() {
                    locals.insert(a.key.as_str(), &a.value);
                }
            }
            for block in src.body.get_blocks("data") {
                if block
                    .labels
                    .first()
                    .is_some_and(|l| l.as_str() == "coder_parameter")
                    && let Some(name) = block.labels.get(1)
                {
                    parameters.insert(name.as_str(), &block.body);
                }
            }
        }
        Scope { locals, parameters }
    }

    fn bound(&self, expr: &Expression, depth: usize) -> Bound {
        if depth > MAX_DEPTH {
            return Bound::Unknown("locals nest too deep to follow".into());
        }
        match expr {
            Expression::String(s) => literal_value(s.value()),
            Expression::Number(n) => literal_value(&n.value().to_string()),
            Expression::Bool(b) => literal_value(if *b.value() { "true" } else { "false" }),
            Expression::StringTemplate(t) => self.template(t, depth),
            Expression::HeredocTemplate(_) => Bound::Invalid(
                "a heredoc ends with a newline, which no label value may hold".into(),
            ),
            Expression::Parenthesis(p) => self.bound(p.inner(), depth),
            Expression::Conditional(c) => self
                .bound(&c.true_expr, depth)
                .either(self.bound(&c.false_expr, depth)),
            Expression::FuncCall(f) => self.function(f, depth),
            Expression::Traversal(_) | Expression::Variable(_) => self.reference(expr, depth),
            other => Bound::Unknown(format!(
                "`{}` is not evaluated by the lint",
                other.to_string().trim()
            )),
        }
    }

    fn template(&self, t: &Template, depth: usize) -> Bound {
        let mut bound = Bound::Fits {
            max: 0,
            parts: Vec::new(),
        };
        let elements: Vec<&Element> = t.iter().collect();
        for (i, element) in elements.iter().enumerate() {
            let part = match element {
                Element::Literal(l) => {
                    let text = l.value();
                    if let Some(c) = text.chars().find(|c| !label_char(*c)) {
                        Bound::Invalid(format!("the literal `{text}` contains `{c}`"))
                    } else if (i == 0 && !text.starts_with(|c: char| c.is_ascii_alphanumeric()))
                        || (i + 1 == elements.len()
                            && !text.ends_with(|c: char| c.is_ascii_alphanumeric()))
                    {
                        Bound::Invalid(format!(
                            "the value must start and end with a letter or digit, not `{text}`"
                        ))
                    } else {
                        Bound::fits(text.len(), format!("\"{text}\" ({})", text.len()))
                    }
                }
                Element::Interpolation(x) => self.bound(&x.expr, depth + 1),
                Element::Directive(_) => {
                    Bound::Unknown("template directives are not evaluated by the lint".into())
                }
            };
            bound = bound.then(part);
        }
        bound
    }

    fn function(&self, f: &hcl::edit::expr::FuncCall, depth: usize) -> Bound {
        let name = f.name.name.as_str();
        let args: Vec<&Expression> = f.args.iter().collect();
        let arg = |i: usize| {
            args.get(i)
                .map_or(Bound::Unknown(format!("{name}() without arguments")), |a| {
                    self.bound(a, depth + 1)
                })
        };
        let hash = |len: usize| Bound::fits(len, format!("{name}(…) ({len})"));
        match name {
            // Case changes keep length and the label alphabet.
            "lower" | "upper" | "title" | "tostring" | "trimspace" => arg(0),
            "substr" => match args.get(2) {
                Some(Expression::Number(n)) => match n.value().as_u64() {
                    Some(len) => arg(0).truncated(usize::try_from(len).unwrap_or(usize::MAX)),
                    None => Bound::Unknown("substr() with a negative length".into()),
                },
                _ => Bound::Unknown("substr() with a computed length".into()),
            },
            "coalesce" => args
                .iter()
                .map(|a| self.bound(a, depth + 1))
                .reduce(Bound::either)
                .unwrap_or(Bound::Unknown("coalesce() without arguments".into())),
            "md5" => hash(32),
            "sha1" => hash(40),
            "sha256" => hash(64),
            "sha512" => hash(128),
            "uuid" => hash(UUID_LEN),
            _ => Bound::Unknown(format!(
                "the result of {name}() is not evaluated by the lint"
            )),
        }
    }

    fn reference(&self, expr: &Expression, depth: usize) -> Bound {
        let Some(names) = traversal_names(expr) else {
            return Bound::Unknown("an indexed reference is not evaluated by the lint".into());
        };
        let text = names.join(".");
        let name = |max: usize| Bound::fits(max, format!("{text} (≤{max})"));
        let not_a_label =
            |what: &str| Bound::Invalid(format!("{text} is {what}, not a label value"));
        match names.as_slice() {
            ["local", local, ..] if names.len() == 2 => match self.locals.get(local) {
                Some(e) => self.bound(e, depth + 1),
                None => Bound::Unknown(format!("local.{local} is not defined")),
            },
            ["data", "coder_workspace", _, attr] => match *attr {
                "id" | "template_id" => name(UUID_LEN),
                "name" | "template_name" => name(CODER_NAME_MAX),
                "start_count" => name(1),
                "transition" => name("start".len()),
                "access_port" => name(5),
                "access_url" => not_a_label("a URL"),
                _ => Bound::Unknown(format!("{text} has no known bound")),
            },
            ["data", "coder_workspace_owner", _, attr] => match *attr {
                "id" => name(UUID_LEN),
                "name" => name(CODER_NAME_MAX),
                "full_name" => not_a_label("a free-text name (spaces, accents)"),
                "email" => not_a_label("an e-mail address"),
                "session_token" | "oidc_access_token" => not_a_label("a secret"),
                _ => Bound::Unknown(format!("{text} has no known bound")),
            },
            ["data", "coder_parameter", param, "value"] => self.parameter(param, &text),
            ["var", ..] => Bound::Unknown(format!(
                "{text} can be set to anything when the template is pushed"
            )),
            _ => Bound::Unknown(format!("{text} is not evaluated by the lint")),
        }
    }

    /// A parameter with options can only take their values; a free one anything.
    fn parameter(&self, param: &str, text: &str) -> Bound {
        let Some(body) = self.parameters.get(param) else {
            return Bound::Unknown(format!("{text}: no such coder_parameter"));
        };
        let options: Vec<&Block> = body.get_blocks("option").collect();
        if options.is_empty() {
            return Bound::Invalid(format!(
                "{text} is a free parameter, so a user can enter any text"
            ));
        }
        let mut bound: Option<Bound> = None;
        for option in options {
            let b = match lit_str(Some(&option.body), "value") {
                Lit::Value(v) => match literal_value(v) {
                    Bound::Fits { max, .. } => Bound::fits(max, format!("{text} (≤{max})")),
                    other => other,
                },
                _ => Bound::Unknown(format!("{text}: an option value is computed")),
            };
            bound = Some(match bound {
                None => b,
                Some(prev) => prev.either(b),
            });
        }
        bound.unwrap_or(Bound::Unknown(text.to_string()))
    }

    /// The `(key, value)` pairs an object expression produces, `merge()`
    /// overriding earlier keys as Terraform does; `None` when they cannot be known.
    fn entries(&self, expr: &'a Expression, depth: usize) -> Option<Vec<(String, &'a Expression)>> {
        if depth > MAX_DEPTH {
            return None;
        }
        match expr {
            Expression::Object(o) => Some(
                o.iter()
                    .filter_map(|(k, v)| {
                        let key = match k {
                            ObjectKey::Ident(i) => i.as_str().to_string(),
                            ObjectKey::Expression(Expression::String(s)) => s.value().to_string(),
                            ObjectKey::Expression(_) => return None,
                        };
                        Some((key, v.expr()))
                    })
                    .collect(),
            ),
            Expression::Parenthesis(p) => self.entries(p.inner(), depth + 1),
            Expression::FuncCall(f) if f.name.name.as_str() == "merge" => {
                let mut out: Vec<(String, &Expression)> = Vec::new();
                for arg in f.args.iter() {
                    for (k, v) in self.entries(arg, depth + 1)? {
                        out.retain(|(existing, _)| *existing != k);
                        out.push((k, v));
                    }
                }
                Some(out)
            }
            // Both branches may apply, so every label of either is checked.
            Expression::Conditional(c) => {
                let mut out = self.entries(&c.true_expr, depth + 1)?;
                out.extend(self.entries(&c.false_expr, depth + 1)?);
                Some(out)
            }
            Expression::Traversal(_) => match traversal_names(expr)?.as_slice() {
                ["local", local] => self.entries(self.locals.get(local)?, depth + 1),
                _ => None,
            },
            _ => None,
        }
    }
}

/// Label keys: an optional DNS-subdomain prefix (≤253) and a name part of at most 63.
fn check_key(key: &str) -> Option<String> {
    let (prefix, name) = key.rsplit_once('/').unwrap_or(("", key));
    if prefix.len() > 253 {
        return Some(format!(
            "the prefix of label key `{key}` is longer than 253 characters"
        ));
    }
    if name.is_empty() || name.len() > LABEL_MAX {
        return Some(format!(
            "the name part of label key `{key}` must be 1 to {LABEL_MAX} characters"
        ));
    }
    match literal_value(name) {
        Bound::Invalid(why) => Some(format!("label key `{key}`: {why}")),
        _ => None,
    }
}

impl Linter {
    /// Checks `labels`, `match_labels` and `selector` maps of every `kubernetes_*` resource.
    pub(super) fn check_labels(&mut self, sources: &[Source]) {
        let scope = Scope::new(sources);
        for src in sources {
            for block in src.body.get_blocks("resource") {
                let kind = block.labels.first().map_or("", |l| l.as_str());
                if !kind.starts_with("kubernetes_") {
                    continue;
                }
                let address = format!("{kind}.{}", block.labels.get(1).map_or("?", |l| l.as_str()));
                let mut found = Vec::new();
                walk::attributes(&block.body, &mut Vec::new(), &mut |_, key, value| {
                    // A Service's `selector` is a label map too.
                    if matches!(key, "labels" | "match_labels" | "selector") {
                        found.push((key, value));
                    }
                });
                for (key, value) in found {
                    self.check_label_map(src, &scope, &address, key, value);
                }
            }
        }
    }

    fn check_label_map(
        &mut self,
        src: &Source,
        scope: &Scope<'_>,
        address: &str,
        attribute: &str,
        value: &Expression,
    ) {
        let span = value.span();
        let Some(entries) = scope.entries(value, 0) else {
            self.at(
                src,
                span,
                Rule::LabelValues,
                Severity::Warning,
                format!("{address}: {attribute} is computed; cannot verify its label values"),
            );
            return;
        };
        for (key, expr) in entries {
            if let Some(why) = check_key(&key) {
                self.at(
                    src,
                    span.clone(),
                    Rule::LabelValues,
                    Severity::Error,
                    format!("{address}: {why}"),
                );
            }
            let (severity, why) = match scope.bound(expr, 0) {
                Bound::Fits { max, .. } if max <= LABEL_MAX => continue,
                Bound::Fits { max, parts } => (
                    Severity::Error,
                    format!(
                        "can be {max} characters long ({}), over Kubernetes' {LABEL_MAX}; use the workspace id (`\"coder-${{data.coder_workspace.me.id}}\"`) or another value within {LABEL_MAX}",
                        parts.join(" + ")
                    ),
                ),
                Bound::Invalid(why) => (
                    Severity::Error,
                    format!("is not always a valid label value: {why}"),
                ),
                Bound::Unknown(why) => (Severity::Warning, format!("cannot be bounded: {why}")),
            };
            self.at(
                src,
                span.clone(),
                Rule::LabelValues,
                severity,
                format!("{address}: {attribute} `{key}` {why}"),
            );
        }
    }
}
