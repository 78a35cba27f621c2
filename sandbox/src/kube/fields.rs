//! Field sets for server-side apply (which manager owns which leaf), JSON merge patch
//! (RFC 7386), label selectors and `managedFields` rendering.

use std::collections::BTreeSet;

use serde_json::{Map, Value, json};

/// A leaf path inside an object: object keys from the root. Arrays and scalars are leaves.
pub type Path = Vec<String>;

/// Top-level and metadata fields nobody owns.
fn ignored(path: &[String]) -> bool {
    match path {
        [] => true,
        [a] if a == "apiVersion" || a == "kind" || a == "status" => true,
        [a, ..] if a == "status" => true,
        [m, f, ..] if m == "metadata" => matches!(
            f.as_str(),
            "name"
                | "namespace"
                | "uid"
                | "resourceVersion"
                | "generation"
                | "creationTimestamp"
                | "managedFields"
                | "deletionTimestamp"
                | "selfLink"
        ),
        _ => false,
    }
}

/// Every owned leaf path of `v`.
pub fn leaves(v: &Value) -> BTreeSet<Path> {
    let mut out = BTreeSet::new();
    walk(v, &mut vec![], &mut out);
    out
}

fn walk(v: &Value, prefix: &mut Path, out: &mut BTreeSet<Path>) {
    match v {
        Value::Object(m) if !m.is_empty() => {
            for (k, child) in m {
                prefix.push(k.clone());
                if !ignored(prefix) || prefix.len() == 1 && k == "metadata" {
                    walk(child, prefix, out);
                }
                prefix.pop();
            }
        }
        _ => {
            if !ignored(prefix) {
                out.insert(prefix.clone());
            }
        }
    }
}

/// The value at `path`.
pub fn get<'a>(v: &'a Value, path: &[String]) -> Option<&'a Value> {
    path.iter().try_fold(v, |cur, k| cur.get(k))
}

/// Removes the leaf at `path`, then parents left empty.
pub fn remove(v: &mut Value, path: &[String]) {
    let Some((last, parents)) = path.split_last() else {
        return;
    };
    let mut cur = &mut *v;
    for k in parents {
        match cur.get_mut(k) {
            Some(next) => cur = next,
            None => return,
        }
    }
    if let Some(m) = cur.as_object_mut() {
        m.remove(last);
    }
    // Prune empty parents.
    for depth in (1..path.len()).rev() {
        let parent = &path[..depth];
        if get(v, parent).is_some_and(|p| p.as_object().is_some_and(Map::is_empty)) {
            let (last, rest) = parent.split_last().expect("depth >= 1");
            let mut cur = &mut *v;
            for k in rest {
                match cur.get_mut(k) {
                    Some(next) => cur = next,
                    None => return,
                }
            }
            if let Some(m) = cur.as_object_mut() {
                m.remove(last);
            }
        } else {
            break;
        }
    }
}

/// Deep-merges `patch` into `target`: objects merge, everything else replaces.
pub fn deep_merge(target: &mut Value, patch: &Value) {
    match (target.as_object_mut(), patch.as_object()) {
        (Some(t), Some(p)) => {
            for (k, v) in p {
                match t.get_mut(k) {
                    Some(existing) if existing.is_object() && v.is_object() => {
                        deep_merge(existing, v)
                    }
                    _ => {
                        t.insert(k.clone(), v.clone());
                    }
                }
            }
        }
        _ => *target = patch.clone(),
    }
}

/// RFC 7386 JSON merge patch: `null` removes.
pub fn merge_patch(target: &mut Value, patch: &Value) {
    let Some(p) = patch.as_object() else {
        *target = patch.clone();
        return;
    };
    if !target.is_object() {
        *target = Value::Object(Map::new());
    }
    let t = target.as_object_mut().expect("object");
    for (k, v) in p {
        if v.is_null() {
            t.remove(k);
        } else {
            let entry = t.entry(k.clone()).or_insert(Value::Null);
            merge_patch(entry, v);
        }
    }
}

/// The leaves whose value differs between `before` and `after` (added, changed or removed).
pub fn changed_leaves(before: &Value, after: &Value) -> BTreeSet<Path> {
    let a = leaves(before);
    let b = leaves(after);
    a.union(&b)
        .filter(|p| get(before, p) != get(after, p))
        .cloned()
        .collect()
}

/// Renders a set of paths as a `fieldsV1` document (`{"f:spec": {"f:replicas": {}}}`).
pub fn fields_v1(paths: &BTreeSet<Path>) -> Value {
    let mut root = Map::new();
    for p in paths {
        let mut cur = &mut root;
        for k in p {
            let entry = cur
                .entry(format!("f:{k}"))
                .or_insert_with(|| Value::Object(Map::new()));
            cur = entry.as_object_mut().expect("object");
        }
    }
    Value::Object(root)
}

/// Parses a set of paths stored as JSON arrays of strings.
pub fn paths_from(v: &Value) -> BTreeSet<Path> {
    v.as_array()
        .map(|a| {
            a.iter()
                .filter_map(|p| {
                    p.as_array().map(|segs| {
                        segs.iter()
                            .filter_map(|s| s.as_str().map(str::to_string))
                            .collect()
                    })
                })
                .collect()
        })
        .unwrap_or_default()
}

/// Stores a set of paths as JSON.
pub fn paths_to(p: &BTreeSet<Path>) -> Value {
    json!(p.iter().collect::<Vec<_>>())
}

/// Dotted form of a path for messages: `.spec.replicas`.
pub fn dotted(p: &[String]) -> String {
    p.iter().map(|s| format!(".{s}")).collect()
}

/// One requirement of a label selector.
#[derive(Debug, Clone, PartialEq)]
enum Req {
    Eq(String, String),
    NotEq(String, String),
    In(String, Vec<String>),
    NotIn(String, Vec<String>),
    Exists(String),
    NotExists(String),
}

/// A parsed label selector (`a=b,c!=d,e in (x,y),!f,g`).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Selector(Vec<Req>);

impl Selector {
    /// Parses a selector; `Err` carries a message for a 400 response.
    pub fn parse(s: &str) -> Result<Selector, String> {
        let mut parts = vec![];
        let mut depth = 0;
        let mut cur = String::new();
        for c in s.chars() {
            match c {
                '(' => depth += 1,
                ')' => depth -= 1,
                ',' if depth == 0 => {
                    parts.push(std::mem::take(&mut cur));
                    continue;
                }
                _ => {}
            }
            cur.push(c);
        }
        parts.push(cur);
        let mut reqs = vec![];
        for part in parts.iter().map(|p| p.trim()).filter(|p| !p.is_empty()) {
            let set = |rest: &str| -> Result<Vec<String>, String> {
                let inner = rest
                    .trim()
                    .strip_prefix('(')
                    .and_then(|r| r.strip_suffix(')'))
                    .ok_or_else(|| format!("unable to parse requirement: {part}"))?;
                Ok(inner.split(',').map(|v| v.trim().to_string()).collect())
            };
            let req = if let Some(k) = part.strip_prefix('!') {
                Req::NotExists(k.trim().to_string())
            } else if let Some((k, v)) = part.split_once("!=") {
                Req::NotEq(k.trim().into(), v.trim().into())
            } else if let Some((k, v)) = part.split_once("==") {
                Req::Eq(k.trim().into(), v.trim().into())
            } else if let Some((k, v)) = part.split_once('=') {
                Req::Eq(k.trim().into(), v.trim().into())
            } else if let Some((k, rest)) = part.split_once(" notin ") {
                Req::NotIn(k.trim().into(), set(rest)?)
            } else if let Some((k, rest)) = part.split_once(" in ") {
                Req::In(k.trim().into(), set(rest)?)
            } else if part.contains(' ') || part.contains('(') {
                return Err(format!("unable to parse requirement: {part}"));
            } else {
                Req::Exists(part.to_string())
            };
            reqs.push(req);
        }
        Ok(Selector(reqs))
    }

    /// Whether `labels` (a JSON object or null) match.
    pub fn matches(&self, labels: Option<&Value>) -> bool {
        let get = |k: &str| labels.and_then(|l| l.get(k)).and_then(Value::as_str);
        self.0.iter().all(|r| match r {
            Req::Eq(k, v) => get(k) == Some(v.as_str()),
            Req::NotEq(k, v) => get(k) != Some(v.as_str()),
            Req::In(k, vs) => get(k).is_some_and(|x| vs.iter().any(|v| v == x)),
            Req::NotIn(k, vs) => get(k).is_none_or(|x| !vs.iter().any(|v| v == x)),
            Req::Exists(k) => get(k).is_some(),
            Req::NotExists(k) => get(k).is_none(),
        })
    }
}

/// Whether a `matchLabels`-style map selects `labels`.
pub fn map_selects(selector: &Value, labels: Option<&Value>) -> bool {
    let Some(sel) = selector.as_object() else {
        return false;
    };
    !sel.is_empty()
        && sel
            .iter()
            .all(|(k, v)| labels.and_then(|l| l.get(k)) == Some(v))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn selectors() {
        let labels = json!({"app": "coder", "tier": "web"});
        let ok = |s: &str| Selector::parse(s).unwrap().matches(Some(&labels));
        assert!(ok("app=coder"));
        assert!(ok("app==coder,tier"));
        assert!(ok("app in (x, coder),!missing"));
        assert!(!ok("app notin (coder)"));
        assert!(!ok("tier!=web"));
        assert!(Selector::parse("app in x").is_err());
    }

    #[test]
    fn leaves_skip_server_fields() {
        let v = json!({"apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": "x", "labels": {"a": "b"}, "resourceVersion": "3"},
            "data": {"k": "v"}, "status": {"x": 1}});
        let l = leaves(&v);
        let want: BTreeSet<Path> = [
            vec!["metadata".to_string(), "labels".into(), "a".into()],
            vec!["data".to_string(), "k".into()],
        ]
        .into_iter()
        .collect();
        assert_eq!(l, want);
    }

    #[test]
    fn remove_prunes_empty_parents() {
        let mut v = json!({"metadata": {"labels": {"a": "b"}}, "data": {"k": "v"}});
        remove(&mut v, &["metadata".into(), "labels".into(), "a".into()]);
        assert_eq!(v, json!({"data": {"k": "v"}}));
    }
}
