//! Planning: load state, read other stacks' outputs, validate, refresh concurrently, then run
//! the pure diff.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use futures::StreamExt;
use kapstan_state::{ResourceStatus, StateDocument, StateStore};
use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::diff::{self, DiffInput};
use crate::driver::{DriverContext, Registry};
use crate::dsl::StackSpec;
use crate::error::EngineError;
use crate::events::{Event, EventSink};
use crate::plan::{Plan, PlanMode, PlanRuntime};
use crate::value::{self, Target};

/// Options of a plan.
#[derive(Debug, Clone)]
pub struct PlanOptions {
    /// Normal, destroy or refresh-only.
    pub mode: PlanMode,
    /// Read live attributes before diffing (`--refresh=false` turns it off).
    pub refresh: bool,
    /// Only these addresses and what they need (`--target`).
    pub targets: Vec<String>,
    /// Replace these even if unchanged (`--replace`).
    pub replace: Vec<String>,
    /// Concurrent reads during refresh.
    pub parallelism: usize,
}

impl Default for PlanOptions {
    fn default() -> Self {
        Self {
            mode: PlanMode::Normal,
            refresh: true,
            targets: vec![],
            replace: vec![],
            parallelism: 10,
        }
    }
}

/// sha256 of the declared stack, binding saved plans to the code that made them.
pub fn config_hash(spec: &StackSpec) -> String {
    let mut h = Sha256::new();
    h.update(serde_json::to_vec(spec).expect("stack spec serializes"));
    hex::encode(h.finalize())
}

/// Reads every `StackRef` output the stack uses from the same store.
pub(crate) async fn stack_outputs(
    spec: &StackSpec,
    store: &dyn StateStore,
) -> Result<BTreeMap<(String, String), (Value, bool)>, EngineError> {
    let mut stacks = BTreeSet::new();
    for r in &spec.resources {
        for t in value::targets(&r.config) {
            if let Target::StackOutput { stack, .. } = t {
                stacks.insert(stack);
            }
        }
    }
    for o in &spec.outputs {
        for t in value::targets(&o.value) {
            if let Target::StackOutput { stack, .. } = t {
                stacks.insert(stack);
            }
        }
    }
    let mut out = BTreeMap::new();
    for stack in stacks {
        if let Some(doc) = store.load(&stack).await? {
            for (name, o) in doc.outputs {
                out.insert((stack.clone(), name), (o.value, o.sensitive));
            }
        }
    }
    Ok(out)
}

/// One refresh result: address, whether the object exists, and its live attributes when they
/// differ from what is recorded.
type Refreshed = (String, bool, Option<Option<Value>>);

/// Reads the live attributes of every recorded resource, at most `parallelism` at a time;
/// returns those that differ from what is recorded (`None`: the object is gone).
pub(crate) async fn refresh(
    prior: &StateDocument,
    registry: &Registry,
    parallelism: usize,
    events: &EventSink,
) -> Result<BTreeMap<String, Option<Value>>, EngineError> {
    let readable: Vec<(&String, &kapstan_state::ResourceState)> = prior
        .resources
        .iter()
        .filter(|(_, r)| {
            r.id.is_some()
                && !matches!(&r.status, ResourceStatus::Pending(op) if op.operation == "create")
        })
        .collect();
    events.emit(Event::RefreshStarted {
        resources: readable.len(),
    });
    let stack = prior.stack.clone();
    // Only differences are kept: a live copy equal to what is recorded says nothing the state
    // does not, and keeping one per resource doubled a large plan's memory.
    let results: Vec<Result<Refreshed, EngineError>> =
        futures::stream::iter(readable.into_iter().map(|(addr, res)| {
            let driver = registry.get(&res.kind).cloned();
            let stack = stack.clone();
            async move {
                let Some(driver) = driver else {
                    return Err(EngineError::Driver {
                        address: addr.clone(),
                        message: format!(
                            "state records kind `{}`, which this kapstan does not know",
                            res.kind
                        ),
                    });
                };
                let ctx = DriverContext::detached(&stack, addr);
                let live = driver
                    .read(&ctx, res)
                    .await
                    .map_err(|e| EngineError::Driver {
                        address: addr.clone(),
                        message: format!("refresh failed: {e}"),
                    })?;
                let exists = live.is_some();
                let changed = (live.as_ref() != Some(&res.attributes)).then_some(live);
                Ok((addr.clone(), exists, changed))
            }
        }))
        .buffer_unordered(parallelism.max(1))
        .collect()
        .await;
    let mut live = BTreeMap::new();
    for r in results {
        let (addr, exists, changed) = r?;
        events.emit(Event::Refreshed {
            address: addr.clone(),
            exists,
        });
        if let Some(v) = changed {
            live.insert(addr, v);
        }
    }
    Ok(live)
}

/// Plans `spec` against `prior` (already loaded).
pub(crate) async fn plan_with_state(
    shared_spec: Arc<StackSpec>,
    prior: StateDocument,
    registry: &Registry,
    store: &dyn StateStore,
    options: &PlanOptions,
    events: &EventSink,
) -> Result<Plan, EngineError> {
    let spec: &StackSpec = &shared_spec;
    let outputs = stack_outputs(spec, store).await?;
    let order = diff::validate(spec, registry, Some(&outputs))?;
    for a in options.targets.iter().chain(&options.replace) {
        if !spec.resources.iter().any(|r| &r.address == a) && !prior.resources.contains_key(a) {
            return Err(EngineError::Usage(format!(
                "`{a}` is neither declared in stack `{}` nor recorded in its state; check the address with `kapstan state list`",
                spec.name
            )));
        }
    }
    let live = if options.refresh || options.mode == PlanMode::RefreshOnly {
        refresh(&prior, registry, options.parallelism, events).await?
    } else {
        BTreeMap::new()
    };
    let targets: BTreeSet<String> = options.targets.iter().cloned().collect();
    let replace: BTreeSet<String> = options.replace.iter().cloned().collect();
    let input = DiffInput {
        spec,
        prior: &prior,
        live: &live,
        schemas: registry,
        stack_outputs: &outputs,
        mode: options.mode,
        replace: &replace,
        targets: (!targets.is_empty()).then_some(&targets),
    };
    let out = diff::diff(&input, &order)?;
    Ok(Plan {
        stack: spec.name.clone(),
        lineage: prior.lineage,
        base_serial: prior.serial,
        mode: options.mode,
        config_hash: config_hash(spec),
        changes: out.changes,
        drift: out.drift,
        outputs: out.outputs,
        runtime: Some(Arc::new(PlanRuntime {
            prior,
            spec: shared_spec,
            stack_outputs: outputs,
            live,
        })),
    })
}
