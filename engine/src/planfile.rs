//! Saved plans: a plan written with `--out`, bound by sha256 to the state lineage and serial,
//! the stack's code and the changes, and refused when stale or altered.

use std::path::Path;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::error::EngineError;
use crate::plan::Plan;

/// Format version of plan files.
pub const PLAN_FILE_FORMAT: u32 = 1;

/// A plan as saved on disk. Holds no secret in clear: every value in a plan is redacted.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PlanFile {
    /// File format.
    pub format: u32,
    /// kapstan version that wrote it.
    pub kapstan_version: String,
    /// When it was made.
    pub created: DateTime<Utc>,
    /// The plan.
    pub plan: Plan,
    /// Where the stack came from (for example the CLI's stack name and variables), so the
    /// plan can be applied without repeating them.
    #[serde(default, skip_serializing_if = "serde_json::Value::is_null")]
    pub source: serde_json::Value,
    /// sha256 over everything above.
    pub digest: String,
}

fn digest_of(
    format: u32,
    version: &str,
    created: &DateTime<Utc>,
    plan: &Plan,
    source: &serde_json::Value,
) -> String {
    let mut h = Sha256::new();
    h.update(source.to_string().as_bytes());
    h.update(format.to_le_bytes());
    h.update(version.as_bytes());
    h.update(created.to_rfc3339().as_bytes());
    h.update(plan.lineage.as_bytes());
    h.update(plan.base_serial.to_le_bytes());
    h.update(plan.config_hash.as_bytes());
    h.update(serde_json::to_vec(plan).expect("plan serializes"));
    hex::encode(h.finalize())
}

impl PlanFile {
    /// Wraps a plan for saving.
    pub fn new(plan: &Plan, source: serde_json::Value) -> Self {
        let created = Utc::now();
        let version = env!("CARGO_PKG_VERSION").to_string();
        let mut plan = plan.clone();
        plan.runtime = None;
        let digest = digest_of(PLAN_FILE_FORMAT, &version, &created, &plan, &source);
        Self {
            format: PLAN_FILE_FORMAT,
            kapstan_version: version,
            created,
            plan,
            source,
            digest,
        }
    }

    /// Writes the file atomically (temp file, then rename).
    pub fn save(&self, path: &Path) -> Result<(), EngineError> {
        let err = |e: std::io::Error| EngineError::PlanFile {
            path: path.display().to_string(),
            reason: e.to_string(),
        };
        let tmp = path.with_extension("tmp-kapstan");
        std::fs::write(
            &tmp,
            serde_json::to_vec_pretty(self).expect("plan file serializes"),
        )
        .map_err(err)?;
        std::fs::rename(&tmp, path).map_err(err)
    }

    /// Reads a plan file and checks it was not altered.
    pub fn load(path: &Path) -> Result<Self, EngineError> {
        let shown = path.display().to_string();
        let bytes = std::fs::read(path).map_err(|e| EngineError::PlanFile {
            path: shown.clone(),
            reason: e.to_string(),
        })?;
        let file: PlanFile =
            serde_json::from_slice(&bytes).map_err(|e| EngineError::StalePlan {
                path: shown.clone(),
                reason: format!("it is not a kapstan plan file ({e})"),
            })?;
        if file.format > PLAN_FILE_FORMAT {
            return Err(EngineError::StalePlan {
                path: shown,
                reason: format!(
                    "it has format {}, newer than this kapstan reads",
                    file.format
                ),
            });
        }
        let expected = digest_of(
            file.format,
            &file.kapstan_version,
            &file.created,
            &file.plan,
            &file.source,
        );
        if expected != file.digest {
            return Err(EngineError::StalePlan {
                path: shown,
                reason: "its contents were altered after it was saved (digest mismatch)".into(),
            });
        }
        Ok(file)
    }
}
