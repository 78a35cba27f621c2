//! Provisioner daemons and their job queue (reference §2). The built-in daemons (3 by default)
//! carry the tags `{scope: organization, owner: ""}` and take jobs in creation order; a job waits
//! in `pending` until one is free, and forever when no daemon matches its tags. Jobs are stored
//! by id in the deployment's database, with the log lines they will have written; the status a
//! client sees is computed from the clock.

use chrono::{DateTime, Utc};
use serde_json::{Value, json};

use crate::wire::ts;

/// How a job ends.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// It succeeds.
    Succeeded,
    /// It fails: a short `error` and the log lines that explain it.
    Failed {
        /// The one-line `job.error`.
        error: String,
        /// Log lines with the cause.
        cause: Vec<String>,
    },
    /// Its daemon loses track of it: status `unknown` once it ran.
    Unknown,
}

/// The tags every built-in daemon has.
fn daemon_tags() -> Value {
    json!({"scope": "organization", "owner": ""})
}

/// Whether a job with `tags` can run on a built-in daemon: every tag it asks for must match.
fn matches(tags: &Value) -> bool {
    let have = daemon_tags();
    tags.as_object()
        .is_none_or(|t| t.iter().all(|(k, v)| have.get(k).is_some_and(|h| h == v)))
}

fn at(v: &Value) -> Option<DateTime<Utc>> {
    v.as_str()
        .and_then(|t| DateTime::parse_from_rfc3339(t).ok())
        .map(|t| t.with_timezone(&Utc))
}

/// Sizes the daemon pool to `count` (daemons keep the time they become free).
pub fn ensure_daemons(db: &mut Value, count: usize, now: DateTime<Utc>) {
    let mut daemons = db["daemons"].as_array().cloned().unwrap_or_default();
    daemons.resize(count, json!(ts(now)));
    db["daemons"] = json!(daemons);
}

/// How many daemons could run a job with `tags`.
pub fn matched(db: &Value, tags: &Value) -> usize {
    if matches(tags) {
        db["daemons"].as_array().map_or(0, Vec::len)
    } else {
        0
    }
}

/// Queues a job of `kind` and returns its id; it starts on the first free matching daemon.
pub fn enqueue(
    db: &mut Value,
    kind: &str,
    tags: Value,
    outcome: Outcome,
    build: chrono::Duration,
    now: DateTime<Utc>,
) -> String {
    let id = uuid::Uuid::new_v4().to_string();
    let tags = match tags.as_object() {
        Some(t) if !t.is_empty() => {
            let mut all = daemon_tags();
            for (k, v) in t {
                all[k] = v.clone();
            }
            all
        }
        _ => daemon_tags(),
    };
    let slot = if matches(&tags) {
        db["daemons"].as_array().and_then(|d| {
            d.iter()
                .enumerate()
                .min_by_key(|(_, t)| at(t).unwrap_or(now))
                .map(|(i, t)| (i, at(t).unwrap_or(now).max(now)))
        })
    } else {
        None
    };
    let (starts, done) = match slot {
        Some((i, free)) => {
            let done = free + build;
            db["daemons"][i] = json!(ts(done));
            (Some(free), Some(done))
        }
        None => (None, None),
    };
    let (error, cause, unknown) = match &outcome {
        Outcome::Succeeded => (String::new(), vec![], false),
        Outcome::Failed { error, cause } => (error.clone(), cause.clone(), false),
        Outcome::Unknown => (String::new(), vec![], true),
    };
    db["jobs"][&id] = json!({
        "id": id, "type": kind, "created_at": ts(now), "tags": tags,
        "_starts_at": starts.map(ts), "_done_at": done.map(ts),
        "_error": error, "_cause": cause, "_unknown": unknown,
    });
    id
}

/// The job's status at `now`.
pub fn status(job: &Value, now: DateTime<Utc>) -> &'static str {
    let started = at(&job["_starts_at"]).is_some_and(|t| t <= now);
    let done = at(&job["_done_at"]).is_some_and(|t| t <= now);
    match (started, done) {
        (false, _) => "pending",
        (true, false) => "running",
        (true, true) if job["_unknown"] == true => "unknown",
        (true, true) if job["_error"].as_str().is_some_and(|e| !e.is_empty()) => "failed",
        (true, true) => "succeeded",
    }
}

/// The job as the API shows it (`codersdk.ProvisionerJob`).
pub fn render(db: &Value, id: &str, now: DateTime<Utc>) -> Value {
    let job = &db["jobs"][id];
    let st = status(job, now);
    let pending: Vec<&Value> = db["jobs"]
        .as_object()
        .map(|j| j.values().filter(|j| status(j, now) == "pending").collect())
        .unwrap_or_default();
    let position = if st == "pending" {
        1 + pending
            .iter()
            .filter(|j| j["created_at"].as_str() < job["created_at"].as_str())
            .count()
    } else {
        0
    };
    let finished = matches!(st, "succeeded" | "failed");
    json!({
        "id": job["id"], "created_at": job["created_at"],
        "started_at": if st == "pending" { Value::Null } else { job["_starts_at"].clone() },
        "completed_at": if finished { job["_done_at"].clone() } else { Value::Null },
        "status": st,
        "error": if st == "failed" { job["_error"].clone() } else { json!("") },
        "error_code": "",
        "tags": job["tags"], "type": job["type"],
        "queue_position": position, "queue_size": pending.len(),
        "worker_id": if st == "pending" { Value::Null } else { json!("built-in") },
    })
}

/// The log lines the job has written by `now` with an id above `after`.
pub fn logs(job: &Value, now: DateTime<Utc>, after: i64) -> Vec<Value> {
    let mut out = vec![];
    let Some(start) = at(&job["_starts_at"]).filter(|t| *t <= now) else {
        return out;
    };
    let mut push = |created: DateTime<Utc>, level: &str, stage: &str, output: &str| {
        let id = out.len() as i64 + 1;
        out.push(
            json!({"id": id, "created_at": ts(created), "log_source": "provisioner",
            "log_level": level, "stage": stage, "output": output}),
        );
    };
    push(start, "info", "Setting up", "");
    let Some(done) = at(&job["_done_at"]).filter(|t| *t <= now) else {
        return out
            .into_iter()
            .filter(|l| l["id"].as_i64() > Some(after))
            .collect();
    };
    push(start, "info", "Parsing template parameters", "");
    push(
        start,
        "info",
        "Planning infrastructure",
        "Initializing the backend...",
    );
    match status(job, now) {
        "failed" => {
            for line in job["_cause"].as_array().into_iter().flatten() {
                push(
                    done,
                    "error",
                    "Planning infrastructure",
                    line.as_str().unwrap_or(""),
                );
            }
        }
        "succeeded" => {
            push(
                done,
                "info",
                "Planning infrastructure",
                "Plan: 0 to add, 0 to change, 0 to destroy.",
            );
            push(
                done,
                "info",
                "Detecting persistent resources",
                "Terraform 1.9.8",
            );
            push(done, "info", "Cleaning Up", "");
        }
        _ => {}
    }
    out.into_iter()
        .filter(|l| l["id"].as_i64() > Some(after))
        .collect()
}
