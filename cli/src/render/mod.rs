//! Rendering for the terminal: plans, state, outputs, progress. Only the CLI prints.

pub mod cost;
pub mod plan;
pub mod progress;

use std::io::IsTerminal;

use serde_json::Value;

use kapstan_engine::value;

/// Whether stdout gets colour: a terminal, and `NO_COLOR` unset (https://no-color.org).
pub fn colour() -> bool {
    std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty()) && std::io::stdout().is_terminal()
}

/// `text` in red when `on`.
pub fn red(text: &str, on: bool) -> String {
    if on {
        format!("\x1b[31m{text}\x1b[0m")
    } else {
        text.to_string()
    }
}

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
