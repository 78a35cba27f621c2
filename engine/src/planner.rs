//! Planning: load state, read other stacks' outputs, validate, refresh concurrently, run the
//! pure diff, then describe concurrently what changes do to the objects resources manage.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use futures::StreamExt;
use kapstan_state::{ResourceStatus, StateDocument, StateStore};
use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::Problem;
use crate::diff::{self, ClearConfigs, DiffInput};
use crate::driver::{DriverContext, Registry};
use crate::dsl::StackSpec;
use crate::error::EngineError;
use crate::events::{Event, EventSink};
use crate::plan::{Action, ObjectChange, Plan, PlanMode, PlanRuntime, ResourceChange};
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
    /// Concurrent driver calls during refresh and the describe step.
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
/// differ from the recorded ones.
type Refreshed = (String, bool, Option<Option<Value>>);

/// Reads the live attributes of every recorded resource, at most `parallelism` at a time;
/// returns those that differ from the recorded ones (`None`: the object is gone). The diff
/// reads an absent address as "live as recorded" (`DiffInput::refreshed`).
pub(crate) async fn refresh(
    prior: &StateDocument,
    registry: &Registry,
    parallelism: usize,
    events: &EventSink,
    scope: Option<&BTreeSet<String>>,
) -> Result<BTreeMap<String, Option<Value>>, EngineError> {
    let readable: Vec<(&String, &kapstan_state::ResourceState)> = prior
        .resources
        .iter()
        .filter(|(addr, _)| scope.is_none_or(|s| s.contains(*addr)))
        .filter(|(_, r)| {
            r.id.is_some()
                && !matches!(&r.status, ResourceStatus::Pending(op) if op.operation == "create")
        })
        .collect();
    events.emit(Event::RefreshStarted {
        resources: readable.len(),
    });
    let stack = prior.stack.clone();
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
                // Reported as each read ends, so a slow one shows as the one still awaited.
                events.emit(Event::Refreshed {
                    address: addr.clone(),
                    exists,
                });
                // A live copy equal to the record says nothing new; keeping one per resource
                // doubled the memory of large plans.
                let changed = (live.as_ref() != Some(&res.attributes)).then_some(live);
                Ok((addr.clone(), exists, changed))
            }
        }))
        .buffer_unordered(parallelism.max(1))
        .collect()
        .await;
    let mut live = BTreeMap::new();
    for r in results {
        let (addr, _exists, changed) = r?;
        if let Some(v) = changed {
            live.insert(addr, v);
        }
    }
    Ok(live)
}

/// The note shown instead of object changes when the config holds values known only after
/// apply.
pub(crate) const OBJECTS_KNOWN_AFTER_APPLY: &str = "known after apply";

/// Replaces every sensitive string of `config` (at the `sensitive` pointers) found in
/// `message`: a describe failure is shown in the plan, and a driver's message must not carry
/// a secret even by mistake.
fn scrub(message: &str, config: &Value, sensitive: &BTreeSet<String>) -> String {
    fn strings<'v>(v: &'v Value, out: &mut Vec<&'v str>) {
        match v {
            Value::String(s) => out.push(s),
            Value::Array(a) => a.iter().for_each(|x| strings(x, out)),
            Value::Object(m) => m.values().for_each(|x| strings(x, out)),
            _ => {}
        }
    }
    let mut secrets = vec![];
    for p in sensitive {
        if let Some(v) = config.pointer(p) {
            strings(v, &mut secrets);
        }
    }
    // Longest first, so a secret containing another is replaced whole.
    secrets.sort_by_key(|s| std::cmp::Reverse(s.len()));
    let mut out = message.split_whitespace().collect::<Vec<_>>().join(" ");
    for s in secrets.into_iter().filter(|s| s.len() >= 4) {
        out = out.replace(s, value::REDACTED);
    }
    out
}

/// The describe step: asks drivers that describe objects what each planned create, update or
/// replacement does to the objects the resource manages, at most `parallelism` at a time, and
/// stores it in [`ResourceChange::details`]. Like refresh, and unlike the diff, it calls
/// drivers; it changes nothing. A config with unknown values is not described (a note says
/// so), and a failure becomes a note: describing never fails a plan.
pub(crate) async fn describe(
    stack: &str,
    changes: &mut [ResourceChange],
    configs: ClearConfigs,
    prior: &StateDocument,
    registry: &Registry,
    parallelism: usize,
) {
    let mut configs = configs.0;
    let work: Vec<(usize, Value)> = changes
        .iter()
        .enumerate()
        .filter(|(_, c)| matches!(c.action, Action::Create | Action::Update | Action::Replace))
        .filter_map(|(i, c)| configs.remove(&c.address).map(|config| (i, config)))
        .collect();
    if work.is_empty() {
        return;
    }
    let shared: &[ResourceChange] = changes;
    let results: Vec<(usize, Vec<ObjectChange>)> =
        futures::stream::iter(work.into_iter().map(|(i, config)| {
            let change = &shared[i];
            let driver = registry.get(&change.kind).cloned();
            async move {
                // Clear configs are also kept for drivers that only check against the live
                // API; only drivers that describe objects are asked.
                let Some(driver) = driver.filter(|d| d.describes_objects()) else {
                    return (i, vec![]);
                };
                if value::contains_unknown(&config) {
                    return (i, vec![ObjectChange::note(OBJECTS_KNOWN_AFTER_APPLY)]);
                }
                let recorded = match change.action {
                    Action::Update => prior.resources.get(&change.address),
                    _ => None,
                };
                let ctx = DriverContext::detached(stack, &change.address);
                let details = match driver.describe(&ctx, recorded, &config).await {
                    Ok(mut d) => {
                        d.sort_by(|a, b| (&a.name, a.action).cmp(&(&b.name, b.action)));
                        d
                    }
                    Err(e) => {
                        tracing::debug!(address = %change.address, "describe failed");
                        vec![ObjectChange::note(format!(
                            "could not be described: {}",
                            scrub(&e.to_string(), &config, &change.after_sensitive)
                        ))]
                    }
                };
                (i, details)
            }
        }))
        .buffer_unordered(parallelism.max(1))
        .collect()
        .await;
    for (i, details) in results {
        changes[i].details = details;
    }
}

/// The live check: asks drivers that check against the live API whether each planned create,
/// update or replacement is still acceptable (see [`crate::Driver::check_live`]). Every
/// refusal is collected and fails the plan, naming the field, before anything is applied.
async fn check_live(
    stack: &str,
    changes: &[ResourceChange],
    configs: &ClearConfigs,
    registry: &Registry,
    parallelism: usize,
) -> Result<(), EngineError> {
    let work: Vec<_> = changes
        .iter()
        .filter(|c| matches!(c.action, Action::Create | Action::Update | Action::Replace))
        .filter_map(|c| {
            let driver = registry.get(&c.kind).filter(|d| d.checks_live())?.clone();
            let config = configs.0.get(&c.address)?;
            Some((c, driver, config))
        })
        .collect();
    let results: Vec<Vec<Problem>> =
        futures::stream::iter(work.into_iter().map(|(change, driver, config)| async move {
            let ctx = DriverContext::detached(stack, &change.address);
            let paths: Vec<String> = change.fields.iter().map(|f| f.path.clone()).collect();
            let changed = (change.action == Action::Update).then_some(paths.as_slice());
            let problem = |message: String| Problem {
                address: change.address.clone(),
                message,
            };
            match driver.check_live(&ctx, config, changed).await {
                Ok(errors) => errors.iter().map(|e| problem(e.to_string())).collect(),
                Err(e) => vec![problem(format!(
                    "cannot be checked against the live API: {}",
                    scrub(&e.to_string(), config, &change.after_sensitive)
                ))],
            }
        }))
        .buffer_unordered(parallelism.max(1))
        .collect()
        .await;
    let mut problems: Vec<Problem> = results.into_iter().flatten().collect();
    if problems.is_empty() {
        return Ok(());
    }
    problems.sort_by(|a, b| (&a.address, &a.message).cmp(&(&b.address, &b.message)));
    Err(EngineError::Invalid {
        stack: stack.to_string(),
        problems,
    })
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
        // A targeted plan reads only what it plans, as Terraform's `-target` does: a resource
        // outside the targets whose server does not answer does not stop it.
        let scope = (options.mode == PlanMode::Normal && !options.targets.is_empty())
            .then(|| diff::target_closure(spec, &options.targets));
        refresh(
            &prior,
            registry,
            options.parallelism,
            events,
            scope.as_ref(),
        )
        .await?
    } else {
        BTreeMap::new()
    };
    let targets: BTreeSet<String> = options.targets.iter().cloned().collect();
    let keep_configs: BTreeSet<String> = registry
        .kinds()
        .filter(|k| {
            registry
                .get(k)
                .is_some_and(|d| d.describes_objects() || d.checks_live())
        })
        .map(String::from)
        .collect();
    let replace: BTreeSet<String> = options.replace.iter().cloned().collect();
    let declared_by_addr = spec.by_address();
    let due: BTreeMap<String, String> = prior
        .resources
        .iter()
        .filter(|(_, r)| r.id.is_some() && matches!(r.status, ResourceStatus::Ready))
        .filter_map(|(addr, r)| {
            let declared = declared_by_addr.get(addr.as_str())?;
            let why = registry.get(&r.kind)?.due(r, &declared.config)?;
            Some((addr.clone(), why))
        })
        .collect();
    let input = DiffInput {
        spec,
        prior: &prior,
        live: &live,
        refreshed: options.refresh || options.mode == PlanMode::RefreshOnly,
        schemas: registry,
        stack_outputs: &outputs,
        mode: options.mode,
        replace: &replace,
        targets: (!targets.is_empty()).then_some(&targets),
        keep_configs: &keep_configs,
        due: &due,
    };
    let mut out = diff::diff(&input, &order)?;
    check_live(
        &spec.name,
        &out.changes,
        &out.configs,
        registry,
        options.parallelism,
    )
    .await?;
    describe(
        &spec.name,
        &mut out.changes,
        out.configs,
        &prior,
        registry,
        options.parallelism,
    )
    .await;
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
