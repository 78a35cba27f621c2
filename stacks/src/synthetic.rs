//! The synthetic stack: N test objects, independent or chained, for tests and benchmarks.

use kapstan_engine::{Stack, StackSpec};
use serde_json::json;

use crate::catalog::{StackError, StackVars, number};

/// How the objects depend on each other.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shape {
    /// Independent objects.
    Wide,
    /// Each object depends on the previous one.
    Chain,
}

/// Builds `resources` test objects named `obj-00000`, ... in the given shape.
pub fn synthetic_stack(
    name: &str,
    resources: usize,
    shape: Shape,
    delay_ms: u64,
    store: Option<&str>,
    fail: Option<&str>,
    value: &serde_json::Value,
) -> Stack {
    let mut s = Stack::new(name);
    let mut previous: Option<kapstan_engine::ResourceRef> = None;
    for i in 0..resources {
        let address = format!("obj-{i:05}");
        let mut config = json!({ "name": address, "value": value });
        if delay_ms > 0 {
            config["delay_ms"] = json!(delay_ms);
        }
        if let Some(dir) = store {
            config["store"] = json!(dir);
        }
        if fail == Some(address.as_str()) {
            config["fail_on"] = json!("create");
        }
        if let (Shape::Chain, Some(prev)) = (shape, &previous) {
            config["value"] = json!({ "after": prev.id().to_marker(), "value": value });
        }
        let r = s.add_raw(&address, "kapstan_test_object", config);
        previous = Some(r);
    }
    s
}

pub(crate) fn from_vars(vars: &StackVars) -> Result<StackSpec, StackError> {
    let name = vars.get("name").map(String::as_str).unwrap_or("synthetic");
    let resources = number(name, vars, "resources", 10)? as usize;
    let delay_ms = number(name, vars, "delay_ms", 0)?;
    let shape = match vars.get("shape").map(String::as_str) {
        None | Some("wide") => Shape::Wide,
        Some("chain") => Shape::Chain,
        Some(other) => {
            return Err(StackError::Var {
                stack: name.into(),
                var: "shape".into(),
                value: other.into(),
                problem: "is not a shape; use `wide` or `chain`".into(),
            });
        }
    };
    let value = vars
        .get("value")
        .map(|v| serde_json::from_str(v).unwrap_or_else(|_| json!(v)))
        .unwrap_or(json!(1));
    Ok(synthetic_stack(
        name,
        resources,
        shape,
        delay_ms,
        vars.get("store").map(String::as_str),
        vars.get("fail").map(String::as_str),
        &value,
    )
    .build())
}
