//! Rendering for the terminal: plans, state, outputs, progress. Only the CLI prints.

pub mod cost;
pub mod plan;
pub mod progress;

use serde_json::Value;

use kapstan_engine::value;

/// A value as shown in plans: compact JSON, `(known after apply)`, `(sensitive value)`.
pub fn show_value(v: &Value) -> String {
    if value::is_unknown(v) {
        return "(known after apply)".into();
    }
    match v {
        Value::String(s) if s == value::REDACTED => s.clone(),
        Value::Object(m) if value::contains_unknown(v) => {
            let inner: Vec<String> = m
                .iter()
                .map(|(k, x)| format!("{k} = {}", show_value(x)))
                .collect();
            format!("{{ {} }}", inner.join(", "))
        }
        other => other.to_string(),
    }
}

/// A JSON pointer shown as a dotted path.
pub fn show_path(pointer: &str) -> String {
    pointer
        .trim_start_matches('/')
        .split('/')
        .map(|s| s.replace("~1", "/").replace("~0", "~"))
        .collect::<Vec<_>>()
        .join(".")
}
