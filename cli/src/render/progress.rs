//! Progress of refresh and apply: NDJSON for machines, plain lines for logs, indicatif
//! spinners on a terminal.

use std::collections::HashMap;
use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

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

/// How often an operation still running is reported without a terminal (CI logs).
pub const STILL_RUNNING_EVERY: Duration = Duration::from_secs(10);

fn verb_still(action: &str) -> &'static str {
    match action {
        "create" | "create (replace)" => "still creating",
        "update" => "still modifying",
        _ => "still destroying",
    }
}

/// `2m10s`, `45s`.
pub fn elapsed(d: Duration) -> String {
    let secs = d.as_secs();
    if secs >= 60 {
        format!("{}m{:02}s", secs / 60, secs % 60)
    } else {
        format!("{secs}s")
    }
}

/// An operation in flight, for the periodic "still …" lines.
struct InFlight {
    action: String,
    started: Instant,
    reported: Instant,
    status: Option<String>,
}

/// Prints `ADDRESS: still creating (2m10s elapsed, status: …)` for every operation running
/// for another [`STILL_RUNNING_EVERY`], from a thread of its own so that a silent wait
/// still shows.
fn still_running_reporter(in_flight: Arc<Mutex<HashMap<String, InFlight>>>) {
    std::thread::spawn(move || {
        loop {
            std::thread::sleep(Duration::from_millis(500));
            let now = Instant::now();
            let mut ops = in_flight.lock().expect("in flight");
            let mut due: Vec<_> = ops
                .iter_mut()
                .filter(|(_, op)| now.duration_since(op.reported) >= STILL_RUNNING_EVERY)
                .collect();
            due.sort_by(|a, b| a.0.cmp(b.0));
            for (address, op) in due {
                op.reported = now;
                let status = op
                    .status
                    .as_deref()
                    .map(|s| format!(", status: {s}"))
                    .unwrap_or_default();
                println!(
                    "{address}: {} ({} elapsed{status})",
                    verb_still(&op.action),
                    elapsed(now.duration_since(op.started))
                );
            }
        }
    });
}

/// Human progress: spinners on a terminal, plain lines otherwise (with a line for every
/// operation still running every 10 s).
pub fn human_sink(tty: bool) -> EventSink {
    if !tty {
        let in_flight: Arc<Mutex<HashMap<String, InFlight>>> = Arc::default();
        still_running_reporter(in_flight.clone());
        return EventSink::new(move |e| {
            {
                let mut ops = in_flight.lock().expect("in flight");
                match e {
                    Event::OperationStarted { address, action } => {
                        let now = Instant::now();
                        ops.insert(
                            address.clone(),
                            InFlight {
                                action: action.clone(),
                                started: now,
                                reported: now,
                                status: None,
                            },
                        );
                    }
                    Event::Progress { address, message } => {
                        if let Some(op) = ops.get_mut(address) {
                            op.status = Some(message.clone());
                        }
                    }
                    Event::OperationFinished { address, .. }
                    | Event::OperationFailed { address, .. } => {
                        ops.remove(address);
                    }
                    _ => {}
                }
            }
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

/// `still reading live state of STACK (25s elapsed): waiting for A, B and 3 more`.
fn still_reading(
    stack: &str,
    spent: Duration,
    pending: &std::collections::BTreeSet<String>,
) -> String {
    let waiting: Vec<&str> = pending.iter().take(5).map(String::as_str).collect();
    let more = pending.len().saturating_sub(waiting.len());
    let more = if more > 0 {
        format!(" and {more} more")
    } else {
        String::new()
    };
    format!(
        "still reading live state of {stack} ({} elapsed): waiting for {}{more}",
        elapsed(spent),
        waiting.join(", ")
    )
}

/// What a plan's refresh still waits for.
#[derive(Default)]
struct Reading {
    stack: String,
    pending: std::collections::BTreeSet<String>,
    started: Option<Instant>,
    reported: Option<Instant>,
}

/// A plan's refresh, reported on stderr: every [`STILL_RUNNING_EVERY`] while reads are
/// outstanding, `still reading live state of STACK (25s elapsed): waiting for A, B`. Set the
/// addresses each plan will read with [`RefreshWatch::expect`].
#[derive(Clone)]
pub struct RefreshWatch {
    reading: Arc<Mutex<Reading>>,
}

impl RefreshWatch {
    /// A watch whose reporter thread lives as long as the watch's sink.
    pub fn new() -> (Self, EventSink) {
        let reading: Arc<Mutex<Reading>> = Arc::default();
        let weak = Arc::downgrade(&reading);
        std::thread::spawn(move || {
            while let Some(reading) = weak.upgrade() {
                {
                    let mut r = reading.lock().expect("reading");
                    let now = Instant::now();
                    if let (Some(started), false) = (r.started, r.pending.is_empty())
                        && now.duration_since(r.reported.unwrap_or(started)) >= STILL_RUNNING_EVERY
                    {
                        r.reported = Some(now);
                        eprintln!(
                            "{}",
                            still_reading(&r.stack, now.duration_since(started), &r.pending)
                        );
                    }
                }
                drop(reading);
                std::thread::sleep(Duration::from_millis(500));
            }
        });
        let sink_reading = reading.clone();
        let sink = EventSink::new(move |e| {
            let mut r = sink_reading.lock().expect("reading");
            match e {
                Event::RefreshStarted { .. } => {
                    r.started = Some(Instant::now());
                    r.reported = None;
                }
                Event::Refreshed { address, .. } => {
                    r.pending.remove(address);
                }
                _ => {}
            }
        });
        (Self { reading }, sink)
    }

    /// The next plan is of `stack` and reads `addresses`.
    pub fn expect(&self, stack: &str, addresses: impl IntoIterator<Item = String>) {
        let mut r = self.reading.lock().expect("reading");
        r.stack = stack.to_string();
        r.pending = addresses.into_iter().collect();
        r.started = None;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn waits_name_what_they_wait_for_and_how_long() {
        assert_eq!(elapsed(Duration::from_secs(130)), "2m10s");
        assert_eq!(elapsed(Duration::from_secs(45)), "45s");
        let pending = ["coder", "template-go-fiber"]
            .map(String::from)
            .into_iter()
            .collect();
        assert_eq!(
            still_reading("coder-dev-app", Duration::from_secs(20), &pending),
            "still reading live state of coder-dev-app (20s elapsed): waiting for coder, template-go-fiber"
        );
        let many = (0..8).map(|i| format!("r{i}")).collect();
        assert!(still_reading("s", Duration::from_secs(10), &many).ends_with("r4 and 3 more"));
    }
}
