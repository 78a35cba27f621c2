//! Rendering for the terminal: plans, state, outputs, progress. Only the CLI prints.

pub(crate) mod adopt;
pub(crate) mod audit;
pub(crate) mod backup;
pub(crate) mod cost;
pub(crate) mod events;
pub(crate) mod health;
pub(crate) mod plan;
pub(crate) mod progress;
pub(crate) mod scale;

use std::io::IsTerminal;

use serde_json::Value;

use kapstan_engine::value;

/// The format of library warnings shown to the user: `warning: MESSAGE` (`error:` for
/// errors), without timestamps, targets or ANSI codes in logs and pipes.
pub struct UserMessages;

impl<S, N> tracing_subscriber::fmt::FormatEvent<S, N> for UserMessages
where
    S: tracing::Subscriber + for<'a> tracing_subscriber::registry::LookupSpan<'a>,
    N: for<'a> tracing_subscriber::fmt::FormatFields<'a> + 'static,
{
    fn format_event(
        &self,
        ctx: &tracing_subscriber::fmt::FmtContext<'_, S, N>,
        mut writer: tracing_subscriber::fmt::format::Writer<'_>,
        event: &tracing::Event<'_>,
    ) -> std::fmt::Result {
        let label = match *event.metadata().level() {
            tracing::Level::ERROR => "error",
            tracing::Level::WARN => "warning",
            tracing::Level::INFO => "info",
            tracing::Level::DEBUG => "debug",
            tracing::Level::TRACE => "trace",
        };
        write!(writer, "{label}: ")?;
        ctx.field_format().format_fields(writer.by_ref(), event)?;
        writeln!(writer)
    }
}

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
        Value::Array(a) if value::contains_unknown(v) => {
            let inner: Vec<String> = a.iter().map(show_value).collect();
            format!("[{}]", inner.join(", "))
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
