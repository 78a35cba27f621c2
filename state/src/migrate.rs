//! Copying every stack, with its whole history, from one store to another.
//!
//! Each saved version of the source is replayed on the target as a whole-document commit, so
//! the target ends with the same lineage, the same serial and the same versions. The source is
//! only read, never changed or deleted.

use std::fmt;

use crate::{StateDelta, StateDocument, StateError, StateStore};

/// What migration did (or, in a dry run, would do) for one stack.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StackMigration {
    /// The stack.
    pub stack: String,
    /// Lineage of the source.
    pub lineage: String,
    /// Serial of the source (and, after the copy, of the target).
    pub serial: u64,
    /// Versions written to the target (or that would be).
    pub versions_copied: usize,
    /// The target already had this stack at this serial: nothing to do.
    pub already_present: bool,
}

/// The outcome of [`migrate`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MigrationReport {
    /// Source location.
    pub from: String,
    /// Target location.
    pub to: String,
    /// Whether nothing was written.
    pub dry_run: bool,
    /// One entry per stack of the source.
    pub stacks: Vec<StackMigration>,
}

impl fmt::Display for MigrationReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let verb = if self.dry_run { "would copy" } else { "copied" };
        writeln!(f, "migration from {} to {}:", self.from, self.to)?;
        if self.stacks.is_empty() {
            writeln!(f, "  no stacks in {}", self.from)?;
        }
        for s in &self.stacks {
            if s.already_present {
                writeln!(
                    f,
                    "  {}: already at serial {} (lineage {}), nothing to do",
                    s.stack, s.serial, s.lineage
                )?;
            } else {
                writeln!(
                    f,
                    "  {}: {verb} {} version(s), serial {} (lineage {})",
                    s.stack, s.versions_copied, s.serial, s.lineage
                )?;
            }
        }
        if !self.dry_run {
            write!(f, "the source was left untouched")?;
        }
        Ok(())
    }
}

/// The plan for one stack, checked before anything is written.
struct Plan {
    source: StateDocument,
    /// Serial the target already has (0 = nothing).
    target_serial: u64,
    /// Serials of the source's history, oldest first.
    serials: Vec<u64>,
}

/// Copies every stack of `from`, with its history, to `to`; verifies lineage and serial on the
/// target; never deletes anything from `from`.
///
/// Every stack is checked first: a stack the target holds with another lineage, or ahead of
/// the source, stops the migration before anything is written. A stack the target holds with
/// the same lineage and an older serial is completed (an interrupted migration resumes). Both
/// stores' locks are taken per stack while it is copied. With `dry_run` nothing is written.
pub async fn migrate(
    from: &dyn StateStore,
    to: &dyn StateStore,
    dry_run: bool,
) -> Result<MigrationReport, StateError> {
    let mut plans = vec![];
    for stack in from.list_stacks().await? {
        let Some(source) = from.load(&stack).await? else {
            continue;
        };
        let target_serial = match to.load(&stack).await? {
            None => 0,
            Some(t) if t.lineage != source.lineage => {
                return Err(StateError::LineageMismatch {
                    stack: stack.clone(),
                    expected: source.lineage.to_string(),
                    found: t.lineage.to_string(),
                });
            }
            Some(t) if t.serial > source.serial => {
                return Err(StateError::Conflict {
                    stack: stack.clone(),
                    expected: source.serial,
                    found: t.serial,
                });
            }
            Some(t) => t.serial,
        };
        let mut serials: Vec<u64> = from
            .history(&stack)
            .await?
            .into_iter()
            .map(|h| h.serial)
            .collect();
        serials.sort_unstable();
        serials.dedup();
        plans.push(Plan {
            source,
            target_serial,
            serials,
        });
    }

    let mut report = MigrationReport {
        from: from.location(),
        to: to.location(),
        dry_run,
        stacks: vec![],
    };
    for plan in plans {
        let stack = plan.source.stack.clone();
        let copied = if dry_run {
            (plan.target_serial + 1..=plan.source.serial).count()
        } else {
            copy_stack(from, to, &stack, &plan).await?
        };
        report.stacks.push(StackMigration {
            stack,
            lineage: plan.source.lineage.to_string(),
            serial: plan.source.serial,
            versions_copied: copied,
            already_present: plan.target_serial == plan.source.serial,
        });
    }
    Ok(report)
}

async fn copy_stack(
    from: &dyn StateStore,
    to: &dyn StateStore,
    stack: &str,
    plan: &Plan,
) -> Result<usize, StateError> {
    if plan.target_serial == plan.source.serial {
        return Ok(0);
    }
    let source_lock = from.lock(stack, "state migrate").await?;
    let target_lock = match to.lock(stack, "state migrate").await {
        Ok(l) => l,
        Err(e) => {
            let _ = from.unlock(stack, &source_lock).await;
            return Err(e);
        }
    };
    let result = replay(from, to, stack, plan).await;
    let _ = to.unlock(stack, &target_lock).await;
    let _ = from.unlock(stack, &source_lock).await;
    result
}

async fn replay(
    from: &dyn StateStore,
    to: &dyn StateStore,
    stack: &str,
    plan: &Plan,
) -> Result<usize, StateError> {
    // The source may have moved since the plan: copy what is there now.
    let current = from
        .load(stack)
        .await?
        .ok_or_else(|| StateError::NoState(stack.into()))?;
    if current.lineage != plan.source.lineage {
        return Err(StateError::LineageMismatch {
            stack: stack.into(),
            expected: plan.source.lineage.to_string(),
            found: current.lineage.to_string(),
        });
    }
    let mut serial = plan.target_serial;
    let mut copied = 0;
    // The last version written, replayed again where the source's history has a gap so that
    // serials stay aligned.
    let mut last: Option<StateDocument> = if serial > 0 {
        Some(
            to.load(stack)
                .await?
                .ok_or_else(|| StateError::NoState(stack.into()))?,
        )
    } else {
        None
    };
    while serial < current.serial {
        let next = serial + 1;
        let (doc, reason) = if next == current.serial {
            (
                current.clone(),
                format!("migrated from {} (serial {next})", from.location()),
            )
        } else if plan.serials.contains(&next) {
            (
                from.version(stack, next).await?,
                format!("migrated from {} (serial {next})", from.location()),
            )
        } else {
            let doc = last.clone().unwrap_or_else(|| {
                let mut d = StateDocument::new(stack);
                d.lineage = current.lineage;
                d
            });
            (
                doc,
                format!(
                    "migrated from {}: serial {next} is missing from its history",
                    from.location()
                ),
            )
        };
        let delta = StateDelta {
            lineage: current.lineage,
            base_serial: serial,
            replace: Some(Box::new(doc.clone())),
            reason,
            ..StateDelta::default()
        };
        serial = to.commit(stack, delta).await?;
        if serial != next {
            return Err(StateError::Remote {
                location: to.location(),
                reason: format!(
                    "stack `{stack}`: the copy of serial {next} was saved as serial {serial}; the target is not in step with the source"
                ),
            });
        }
        copied += 1;
        last = Some(doc);
    }
    let written = to
        .load(stack)
        .await?
        .ok_or_else(|| StateError::NoState(stack.into()))?;
    if written.lineage != current.lineage || written.serial != current.serial {
        return Err(StateError::Remote {
            location: to.location(),
            reason: format!(
                "stack `{stack}`: after the copy the target has lineage {} serial {}, expected lineage {} serial {}",
                written.lineage, written.serial, current.lineage, current.serial
            ),
        });
    }
    if written.resources != current.resources || written.outputs != current.outputs {
        return Err(StateError::Remote {
            location: to.location(),
            reason: format!(
                "stack `{stack}`: after the copy the target's resources or outputs differ from the source"
            ),
        });
    }
    Ok(copied)
}
