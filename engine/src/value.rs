//! Configuration values: JSON with markers for references, stack outputs, sensitive literals
//! and values unknown until apply.
//!
//! The DSL serializes typed configs to JSON; a reference becomes
//! `{"$ref": {"resource": ADDR, "attr": PATH}}`, a sensitive literal `{"$sensitive": V}`, a
//! read of another stack's output `{"$stack_output": {"stack": S, "output": NAME}}`, and a value
//! not known before apply `{"$unknown": true}`. Only this module looks inside markers.

use std::collections::BTreeSet;

use serde_json::{Map, Value, json};

/// Key of a reference marker.
pub const REF: &str = "$ref";
/// Key of a sensitive literal marker.
pub const SENSITIVE: &str = "$sensitive";
/// Key of a stack output marker.
pub const STACK_OUTPUT: &str = "$stack_output";
/// Key of an unknown value marker.
pub const UNKNOWN: &str = "$unknown";
/// Key of a string built from a template and arguments: `{"$format": {"template": "a{}b",
/// "args": [...]}}`; each `{}` takes the next argument.
pub const FORMAT: &str = "$format";
/// Key of a string percent-encoded for use inside a URL: `{"$percent_encode": V}`.
pub const PERCENT_ENCODE: &str = "$percent_encode";

/// What a reference points at.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Target {
    /// An attribute of a resource of this stack.
    Attribute {
        /// Resource address.
        resource: String,
        /// Dotted attribute path (`id`, `kubeconfig.0.host`).
        attr: String,
        /// Whether the reference itself was marked sensitive.
        sensitive: bool,
    },
    /// An output of another stack in the same store.
    StackOutput {
        /// The other stack.
        stack: String,
        /// The output's name.
        output: String,
    },
}

/// How a reference resolved.
#[derive(Debug, Clone, PartialEq)]
pub enum Resolved {
    /// A known value, and whether it is sensitive.
    Known(Value, bool),
    /// Not known until apply.
    Unknown,
}

/// The unknown marker.
pub fn unknown() -> Value {
    json!({ UNKNOWN: true })
}

/// Whether `v` is the unknown marker.
pub fn is_unknown(v: &Value) -> bool {
    matches!(v, Value::Object(m) if m.len() == 1 && m.get(UNKNOWN) == Some(&Value::Bool(true)))
}

/// Whether `v` contains an unknown marker anywhere.
pub fn contains_unknown(v: &Value) -> bool {
    match v {
        Value::Object(m) => is_unknown(v) || m.values().any(contains_unknown),
        Value::Array(a) => a.iter().any(contains_unknown),
        _ => false,
    }
}

fn single<'a>(v: &'a Value, key: &str) -> Option<&'a Value> {
    match v {
        Value::Object(m) if m.len() == 1 => m.get(key),
        _ => None,
    }
}

/// The target of a marker, if `v` is a reference or stack-output marker.
pub fn target_of(v: &Value) -> Option<Target> {
    if let Some(r) = single(v, REF) {
        return Some(Target::Attribute {
            resource: r.get("resource")?.as_str()?.to_string(),
            attr: r.get("attr")?.as_str()?.to_string(),
            sensitive: r.get("sensitive").and_then(Value::as_bool).unwrap_or(false),
        });
    }
    if let Some(r) = single(v, STACK_OUTPUT) {
        return Some(Target::StackOutput {
            stack: r.get("stack")?.as_str()?.to_string(),
            output: r.get("output")?.as_str()?.to_string(),
        });
    }
    None
}

/// Every reference target in a template, in document order.
pub fn targets(template: &Value) -> Vec<Target> {
    let mut out = vec![];
    walk_targets(template, &mut out);
    out
}

fn walk_targets(v: &Value, out: &mut Vec<Target>) {
    if let Some(t) = target_of(v) {
        out.push(t);
        return;
    }
    match v {
        Value::Object(m) => m.values().for_each(|x| walk_targets(x, out)),
        Value::Array(a) => a.iter().for_each(|x| walk_targets(x, out)),
        _ => {}
    }
}

/// Resolves every marker of `template`; returns the value and the JSON pointers (relative to
/// the template root) of every sensitive value in it.
pub fn resolve(
    template: &Value,
    lookup: &mut dyn FnMut(&Target) -> Resolved,
) -> (Value, BTreeSet<String>) {
    let mut sensitive = BTreeSet::new();
    let v = resolve_at(template, "", lookup, &mut sensitive);
    (v, sensitive)
}

fn resolve_at(
    v: &Value,
    pointer: &str,
    lookup: &mut dyn FnMut(&Target) -> Resolved,
    sensitive: &mut BTreeSet<String>,
) -> Value {
    if let Some(t) = target_of(v) {
        return match lookup(&t) {
            Resolved::Known(value, is_sensitive) => {
                if is_sensitive {
                    sensitive.insert(pointer.to_string());
                }
                value
            }
            Resolved::Unknown => unknown(),
        };
    }
    if let Some(inner) = single(v, SENSITIVE) {
        sensitive.insert(pointer.to_string());
        return resolve_at(inner, pointer, lookup, &mut BTreeSet::new());
    }
    if let Some(spec) = single(v, FORMAT) {
        let template = spec
            .get("template")
            .and_then(Value::as_str)
            .unwrap_or_default();
        let args = spec
            .get("args")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        let mut inner = BTreeSet::new();
        let resolved: Vec<Value> = args
            .iter()
            .map(|a| resolve_at(a, pointer, lookup, &mut inner))
            .collect();
        if !inner.is_empty() {
            sensitive.insert(pointer.to_string());
        }
        if resolved.iter().any(contains_unknown) {
            return unknown();
        }
        let mut out = String::new();
        let mut next = resolved.iter();
        let mut rest = template;
        while let Some(pos) = rest.find("{}") {
            out.push_str(&rest[..pos]);
            match next.next() {
                Some(Value::String(s)) => out.push_str(s),
                Some(Value::Null) | None => {}
                Some(other) => out.push_str(&other.to_string()),
            }
            rest = &rest[pos + 2..];
        }
        out.push_str(rest);
        return Value::String(out);
    }
    if let Some(inner_v) = single(v, PERCENT_ENCODE) {
        let mut inner = BTreeSet::new();
        let resolved = resolve_at(inner_v, pointer, lookup, &mut inner);
        if !inner.is_empty() {
            sensitive.insert(pointer.to_string());
        }
        return match resolved {
            Value::String(s) => Value::String(percent_encode(&s)),
            other if contains_unknown(&other) => unknown(),
            other => Value::String(percent_encode(&other.to_string())),
        };
    }
    match v {
        Value::Object(m) => Value::Object(
            m.iter()
                .map(|(k, x)| {
                    let p = format!("{pointer}/{}", escape(k));
                    (k.clone(), resolve_at(x, &p, lookup, sensitive))
                })
                .collect::<Map<_, _>>(),
        ),
        Value::Array(a) => Value::Array(
            a.iter()
                .enumerate()
                .map(|(i, x)| resolve_at(x, &format!("{pointer}/{i}"), lookup, sensitive))
                .collect(),
        ),
        other => other.clone(),
    }
}

/// Every byte but the RFC 3986 unreserved characters (`A-Z a-z 0-9 - . _ ~`): what S3's
/// SigV4 calls URI encoding, and what a value needs to stand in any part of a URL.
pub const URL_COMPONENT: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// Percent-encodes everything but RFC 3986 unreserved characters, so the result can stand in
/// any part of a URL (a password in `postgres://user:PASSWORD@host/db`).
pub fn percent_encode(s: &str) -> String {
    percent_encoding::utf8_percent_encode(s, URL_COMPONENT).to_string()
}

/// Escapes a key for a JSON pointer.
pub fn escape(key: &str) -> String {
    key.replace('~', "~0").replace('/', "~1")
}

/// Reads a dotted attribute path (`a.b.0.c`) out of `attrs`.
pub fn get_path<'a>(attrs: &'a Value, path: &str) -> Option<&'a Value> {
    let mut cur = attrs;
    for seg in path.split('.') {
        cur = match cur {
            Value::Object(m) => m.get(seg)?,
            Value::Array(a) => a.get(seg.parse::<usize>().ok()?)?,
            _ => return None,
        };
    }
    Some(cur)
}

/// Converts a dotted path into a JSON pointer.
pub fn dotted_to_pointer(path: &str) -> String {
    path.split('.').map(|s| format!("/{}", escape(s))).collect()
}

/// Replaces the values at `pointers` with the `(sensitive value)` placeholder.
pub fn redact(v: &Value, pointers: &BTreeSet<String>) -> Value {
    let mut out = v.clone();
    for p in pointers {
        if p.is_empty() {
            return Value::String(REDACTED.into());
        }
        if let Some(slot) = out.pointer_mut(p) {
            *slot = Value::String(REDACTED.into());
        }
    }
    out
}

/// What is shown in place of a sensitive value.
pub const REDACTED: &str = "(sensitive value)";

/// Whether `pointer` is at or under one of `pointers`.
pub fn under_any(pointer: &str, pointers: &BTreeSet<String>) -> bool {
    pointers.iter().any(|p| {
        pointer == p || (pointer.starts_with(p.as_str()) && pointer[p.len()..].starts_with('/'))
    })
}

/// Leaf-level differences between two values, as `(pointer, before, after)`.
///
/// Objects are compared key by key; arrays and scalars as a whole, so a reordered list is one
/// change, as a user reads it.
pub fn diff(before: &Value, after: &Value) -> Vec<(String, Option<Value>, Option<Value>)> {
    let mut out = vec![];
    diff_at("", Some(before), Some(after), &mut out);
    out
}

fn diff_at(
    pointer: &str,
    before: Option<&Value>,
    after: Option<&Value>,
    out: &mut Vec<(String, Option<Value>, Option<Value>)>,
) {
    match (before, after) {
        (Some(Value::Object(b)), Some(Value::Object(a))) if !is_unknown(after.unwrap()) => {
            let keys: BTreeSet<&String> = b.keys().chain(a.keys()).collect();
            for k in keys {
                diff_at(&format!("{pointer}/{}", escape(k)), b.get(k), a.get(k), out);
            }
        }
        (b, a) => {
            let b = b.filter(|v| !v.is_null());
            let a = a.filter(|v| !v.is_null());
            if b != a || a.is_some_and(contains_unknown) {
                out.push((pointer.to_string(), b.cloned(), a.cloned()));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resolves_refs_and_tracks_sensitive_paths() {
        let t = json!({
            "name": "db",
            "password": {"$ref": {"resource": "pw", "attr": "result"}},
            "cluster": {"$ref": {"resource": "c", "attr": "id"}},
            "token": {"$sensitive": "abc"}
        });
        let (v, s) = resolve(&t, &mut |t| match t {
            Target::Attribute { resource, .. } if resource == "pw" => {
                Resolved::Known(json!("p@ss"), true)
            }
            _ => Resolved::Unknown,
        });
        assert_eq!(v["password"], json!("p@ss"));
        assert!(is_unknown(&v["cluster"]));
        assert_eq!(v["token"], json!("abc"));
        assert_eq!(
            s.into_iter().collect::<Vec<_>>(),
            vec!["/password".to_string(), "/token".to_string()]
        );
    }

    #[test]
    fn format_and_percent_encode_compose_urls() {
        let t = json!({"url": {"$format": {
            "template": "postgres://{}:{}@{}/db",
            "args": ["coder", {"$percent_encode": {"$ref": {"resource": "pw", "attr": "result"}}}, "10.0.0.5"]
        }}});
        let (v, s) = resolve(&t, &mut |_| Resolved::Known(json!("p@ss:w/rd#?"), true));
        assert_eq!(
            v["url"],
            json!("postgres://coder:p%40ss%3Aw%2Frd%23%3F@10.0.0.5/db")
        );
        assert!(s.contains("/url"), "derived from a secret, so secret");
        let (v, _) = resolve(&t, &mut |_| Resolved::Unknown);
        assert!(is_unknown(&v["url"]));
        assert_eq!(targets(&t).len(), 1);
    }

    #[test]
    fn diff_is_leaf_level_and_null_is_absent() {
        let d = diff(
            &json!({"a": 1, "b": {"c": 2, "d": 3}, "e": null}),
            &json!({"a": 1, "b": {"c": 5, "d": 3}, "f": [1]}),
        );
        assert_eq!(
            d,
            vec![
                ("/b/c".into(), Some(json!(2)), Some(json!(5))),
                ("/f".into(), None, Some(json!([1]))),
            ]
        );
    }

    #[test]
    fn redaction_and_paths() {
        let s: BTreeSet<String> = ["/p".to_string()].into();
        assert_eq!(
            redact(&json!({"p": "x", "q": 1}), &s),
            json!({"p": REDACTED, "q": 1})
        );
        assert!(under_any("/p/x", &s));
        assert!(!under_any("/px", &s));
        assert_eq!(
            get_path(&json!({"a": [{"b": 7}]}), "a.0.b"),
            Some(&json!(7))
        );
    }
}
