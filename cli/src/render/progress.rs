//! Progress of refresh and apply: NDJSON for machines, plain lines for logs, indicatif
//! spinners on a terminal.

use std::collections::HashMap;
use std::io::Write;
use std::sync::Mutex;
use std::time::Duration;

use indicatif::{MultiProgress, ProgressBar, ProgressStyle};
use kapstan_engine::{Event, EventSink};

/// NDJSON: one event per line on stdout.
pub fn json_sink() -> EventSink {
    EventSink::new(|e| {
        let mut out = std::io::stdout().lock();
        let _ = serde_json::to_writer(&mut out, e);
        let _ = out.write_all(b"\n");
    })
}

fn verb_ing(action: &str) -> &'static str {
    match action {
        "create" | "create (replace)" => "Creating...",
        "update" => "Modifying...",
        _ => "Destroying...",
    }
}

fn verb_done(action: &str) -> &'static str {
    match action {
        "create" | "create (replace)" => "Creation complete",
        "update" => "Modifications complete",
        _ => "Destruction complete",
    }
}

/// Human progress: spinners on a terminal, plain lines otherwise.
pub fn human_sink(tty: bool) -> EventSink {
    if !tty {
        return EventSink::new(|e| {
            let line = match e {
                Event::OperationStarted { address, action } => {
                    format!("{address}: {}", verb_ing(action))
                }
                Event::Usable { address } => format!("{address}: usable by dependents"),
                Event::OperationFinished {
                    address,
                    action,
                    id,
                    elapsed,
                } => format!(
                    "{address}: {} after {}s{}",
                    verb_done(action),
                    elapsed.as_secs(),
                    id.as_ref().map(|i| format!(" [id={i}]")).unwrap_or_default()
                ),
                Event::OperationFailed { address, error, .. } => {
                    format!("{address}: failed: {error}")
                }
                Event::Skipped { address, reason } => format!("{address}: skipped ({reason})"),
                Event::Interrupted { count: 1 } => {
                    "Interrupt received: finishing operations in flight, starting no new ones (interrupt again to abandon them)".into()
                }
                Event::Interrupted { .. } => {
                    "Second interrupt: abandoning operations in flight; their intents are recorded".into()
                }
                _ => return,
            };
            println!("{line}");
        });
    }
    let multi = MultiProgress::new();
    let bars: Mutex<HashMap<String, ProgressBar>> = Mutex::new(HashMap::new());
    let style =
        ProgressStyle::with_template("{spinner} {msg} ({elapsed})").expect("valid template");
    EventSink::new(move |e| match e {
        Event::OperationStarted { address, action } => {
            let bar = multi.add(ProgressBar::new_spinner());
            bar.set_style(style.clone());
            bar.enable_steady_tick(Duration::from_millis(120));
            bar.set_message(format!("{address}: {}", verb_ing(action)));
            bars.lock().expect("bars").insert(address.clone(), bar);
        }
        Event::Progress { address, message } => {
            if let Some(bar) = bars.lock().expect("bars").get(address) {
                bar.set_message(format!("{address}: {message}"));
            }
        }
        Event::OperationFinished {
            address,
            action,
            id,
            elapsed,
        } => {
            if let Some(bar) = bars.lock().expect("bars").remove(address) {
                bar.finish_and_clear();
            }
            let _ = multi.println(format!(
                "{address}: {} after {}s{}",
                verb_done(action),
                elapsed.as_secs(),
                id.as_ref()
                    .map(|i| format!(" [id={i}]"))
                    .unwrap_or_default()
            ));
        }
        Event::OperationFailed { address, error, .. } => {
            if let Some(bar) = bars.lock().expect("bars").remove(address) {
                bar.finish_and_clear();
            }
            let _ = multi.println(format!("{address}: failed: {error}"));
        }
        Event::Skipped { address, reason } => {
            let _ = multi.println(format!("{address}: skipped ({reason})"));
        }
        Event::Interrupted { count } => {
            let _ = multi.println(if *count == 1 {
                "Interrupt received: finishing operations in flight (interrupt again to abandon them)"
            } else {
                "Second interrupt: abandoning operations in flight; their intents are recorded"
            });
        }
        _ => {}
    })
}
