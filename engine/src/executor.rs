//! The executor: walks the plan's operation graph with bounded parallelism, starts each
//! operation as soon as what it needs is usable, isolates failures, honours interrupts, and
//! records an intent before and the result after every mutating call.

use std::collections::{BTreeMap, BTreeSet, HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use chrono::Utc;
use kapstan_state::{
    OutputState, PendingOperation, ResourceState, ResourceStatus, StateDocument, StateError,
    StateStore,
};
use serde::Serialize;
use serde_json::Value;
use tokio::sync::mpsc;
use tokio::task::JoinSet;

use crate::diff::{self, DEPOSED_SUFFIX};
use crate::driver::{Cancel, Created, DriverContext, DriverError, Registry, Update};
use crate::dsl::{DeclaredResource, StackSpec};
use crate::events::{Event, EventSink};
use crate::plan::{Action, Plan, PlanMode, PlanRuntime};
use crate::recorder::{Recorder, Write};
use crate::schema::Schema;
use crate::value::{self, Resolved, Target};

/// One failed operation.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Failure {
    /// Resource address.
    pub address: String,
    /// What was attempted.
    pub action: String,
    /// What went wrong.
    pub error: String,
}

/// What an apply did.
#[derive(Debug, Clone, Default, Serialize)]
pub struct ApplyReport {
    /// Operations that completed, as `(address, action)`.
    pub succeeded: Vec<(String, String)>,
    /// Operations that failed.
    pub failed: Vec<Failure>,
    /// Operations not attempted, with the reason.
    pub skipped: Vec<(String, String)>,
    /// Whether an interrupt stopped scheduling.
    pub interrupted: bool,
    /// Serial of the state after the apply.
    pub serial: u64,
    /// The stack's outputs after the apply (sensitive ones included; render with care).
    #[serde(skip)]
    pub outputs: BTreeMap<String, OutputState>,
}

impl ApplyReport {
    /// Whether everything planned was done.
    pub fn is_success(&self) -> bool {
        self.failed.is_empty() && self.skipped.is_empty() && !self.interrupted
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
enum Phase {
    Destroy,
    Apply,
}

#[derive(Debug)]
struct Node {
    address: String,
    phase: Phase,
    action: Action,
    waiting: usize,
    dependents: Vec<(usize, bool)>, // (node, satisfied early by `usable`)
    released: bool,
    status: NodeStatus,
}

#[derive(Debug, Clone, PartialEq)]
enum NodeStatus {
    Waiting,
    Running,
    Done,
    Failed,
    Skipped,
}

enum Msg {
    Usable(usize, String, Value),
    Done(usize, Result<(), String>, Instant),
}

/// Known attributes by address: `(id, attributes, sensitive attribute pointers)`.
type Known = HashMap<String, (Option<String>, Value, BTreeSet<String>)>;

/// What the operation tasks share.
struct Shared {
    stack: String,
    spec: Arc<StackSpec>,
    /// Position of each declared address in `spec.resources`.
    declared: HashMap<String, usize>,
    registry: Registry,
    recorder: Recorder,
    events: EventSink,
    cancel: Cancel,
    prior: StateDocument,
    /// Known attributes by address: `(id, attributes, sensitive attribute pointers)`.
    known: Mutex<Known>,
    changed_fields: HashMap<String, Vec<String>>,
    stack_outputs: BTreeMap<(String, String), (Value, bool)>,
}

/// Options of an apply.
#[derive(Debug, Clone)]
pub struct ApplyOptions {
    /// Operations in flight at once.
    pub parallelism: usize,
}

impl Default for ApplyOptions {
    fn default() -> Self {
        Self { parallelism: 10 }
    }
}

/// The task that saves the state document, and what it ends with.
type StateWriter = tokio::task::JoinHandle<(StateDocument, Option<StateError>)>;

pub(crate) async fn execute(
    plan: &Plan,
    runtime: &PlanRuntime,
    registry: &Registry,
    store: Arc<dyn StateStore>,
    options: &ApplyOptions,
    events: &EventSink,
    cancel: &Cancel,
) -> Result<ApplyReport, StateError> {
    let prior = runtime.prior.clone();
    let (recorder, writer) = Recorder::start(
        store,
        prior.clone(),
        events.clone(),
        match plan.mode {
            PlanMode::Destroy => "destroy".into(),
            PlanMode::RefreshOnly => "refresh".into(),
            PlanMode::Normal => "apply".into(),
        },
    );
    if plan.mode == PlanMode::RefreshOnly {
        return refresh_only(plan, runtime, recorder, writer).await;
    }

    let shared = Arc::new(shared_context(
        plan, runtime, registry, recorder, events, cancel,
    ));
    let mut scheduler = Scheduler::new(build_graph(plan, &runtime.spec, &prior));
    events.emit(Event::ApplyStarted {
        operations: scheduler.nodes.len(),
    });
    scheduler.run(&shared, options.parallelism.max(1)).await;
    let mut report = scheduler.report;

    // Outputs: resolved from what is known now; an output whose inputs are not all known
    // keeps its previous value.
    if !report.interrupted || cancel.count() < 2 {
        let outputs = final_outputs(&shared, plan, runtime);
        if outputs != prior.outputs
            && let Err(e) = shared.recorder.write(vec![Write::Outputs(outputs)]).await
        {
            report.failed.push(Failure {
                address: "outputs".into(),
                action: "save".into(),
                error: e,
            });
        }
    }
    drop(shared);
    let (doc, err) = writer.await.expect("state writer task");
    report.serial = doc.serial;
    report.outputs = doc.outputs;
    events.emit(Event::ApplyFinished {
        succeeded: report.succeeded.len(),
        failed: report.failed.len(),
        skipped: report.skipped.len(),
    });
    match err {
        Some(e) => Err(e),
        None => Ok(report),
    }
}

/// `apply --refresh-only`: records the refreshed attributes (and forgets objects gone outside
/// kapstan), changing nothing in the cloud.
async fn refresh_only(
    plan: &Plan,
    runtime: &PlanRuntime,
    recorder: Recorder,
    writer: StateWriter,
) -> Result<ApplyReport, StateError> {
    let mut report = ApplyReport::default();
    let mut writes = vec![];
    for (addr, live) in &runtime.live {
        match live {
            None => writes.push(Write::Remove(addr.clone())),
            Some(attrs) => {
                if let Some(rec) = runtime.prior.resources.get(addr)
                    && &rec.attributes != attrs
                {
                    let mut rec = rec.clone();
                    rec.attributes = attrs.clone();
                    writes.push(Write::Upsert(addr.clone(), Box::new(rec)));
                }
            }
        }
    }
    if !writes.is_empty()
        && let Err(e) = recorder.write(writes).await
    {
        report.failed.push(Failure {
            address: plan.stack.clone(),
            action: "refresh".into(),
            error: e,
        });
    }
    drop(recorder);
    let (doc, err) = writer.await.expect("state writer task");
    if let Some(e) = err {
        return Err(e);
    }
    report.serial = doc.serial;
    report.outputs = doc.outputs;
    Ok(report)
}

/// What the operation tasks of one apply share: the spec, the drivers, the recorder and the
/// attributes known so far (refreshed ones first, recorded ones otherwise).
fn shared_context(
    plan: &Plan,
    runtime: &PlanRuntime,
    registry: &Registry,
    recorder: Recorder,
    events: &EventSink,
    cancel: &Cancel,
) -> Shared {
    let prior = &runtime.prior;
    let mut known = HashMap::with_capacity(prior.resources.len());
    for (addr, rec) in &prior.resources {
        let attrs = runtime
            .live
            .get(addr)
            .and_then(Option::as_ref)
            .unwrap_or(&rec.attributes)
            .clone();
        known.insert(
            addr.clone(),
            (
                rec.id.clone(),
                attrs,
                diff::recorded_attribute_sensitive(rec),
            ),
        );
    }
    let changed_fields = plan
        .changes
        .iter()
        .map(|c| {
            (
                c.address.clone(),
                c.fields.iter().map(|f| f.path.clone()).collect(),
            )
        })
        .collect();
    Shared {
        stack: plan.stack.clone(),
        spec: Arc::clone(&runtime.spec),
        declared: runtime
            .spec
            .resources
            .iter()
            .enumerate()
            .map(|(i, r)| (r.address.clone(), i))
            .collect(),
        registry: registry.clone(),
        recorder,
        events: events.clone(),
        cancel: cancel.clone(),
        prior: prior.clone(),
        known: Mutex::new(known),
        changed_fields,
        stack_outputs: runtime.stack_outputs.clone(),
    }
}

/// Runs the operation graph: at most `parallelism` operations at once, each as soon as what it
/// waits for is done (or usable), dependents of a failure skipped, interrupts honoured.
struct Scheduler {
    nodes: Vec<Node>,
    ready: VecDeque<usize>,
    running: usize,
    stopping: bool,
    report: ApplyReport,
}

impl Scheduler {
    fn new(nodes: Vec<Node>) -> Self {
        let ready = (0..nodes.len())
            .filter(|&i| nodes[i].waiting == 0)
            .collect();
        Self {
            nodes,
            ready,
            running: 0,
            stopping: false,
            report: ApplyReport::default(),
        }
    }

    async fn run(&mut self, shared: &Arc<Shared>, parallelism: usize) {
        let (tx, mut rx) = mpsc::unbounded_channel::<Msg>();
        let mut tasks = JoinSet::new();
        let cancel = shared.cancel.clone();
        loop {
            self.start_ready(shared, parallelism, &tx, &mut tasks);
            if self.running == 0 {
                break;
            }
            let msg = tokio::select! {
                m = rx.recv() => m,
                _ = cancel.at_least(if self.stopping { 2 } else { 1 }) => {
                    if self.interrupted(shared, &mut tasks) {
                        break;
                    }
                    continue;
                }
            };
            let Some(msg) = msg else { break };
            self.on_message(shared, msg);
        }
        let reason = if self.report.interrupted {
            "not started: interrupted"
        } else {
            "not started"
        };
        for n in self
            .nodes
            .iter()
            .filter(|n| n.status == NodeStatus::Waiting)
        {
            self.report
                .skipped
                .push((n.address.clone(), reason.to_string()));
            shared.events.emit(Event::Skipped {
                address: n.address.clone(),
                reason: reason.to_string(),
            });
        }
        drop(tx);
        while tasks.join_next().await.is_some() {}
    }

    /// Starts ready operations up to `parallelism` (none once an interrupt asked to stop).
    fn start_ready(
        &mut self,
        shared: &Arc<Shared>,
        parallelism: usize,
        tx: &mpsc::UnboundedSender<Msg>,
        tasks: &mut JoinSet<()>,
    ) {
        while !self.stopping && self.running < parallelism {
            let Some(i) = self.ready.pop_front() else {
                break;
            };
            if self.nodes[i].status != NodeStatus::Waiting {
                continue;
            }
            self.nodes[i].status = NodeStatus::Running;
            self.running += 1;
            let n = &self.nodes[i];
            let node = (n.address.clone(), n.phase, n.action);
            shared.events.emit(Event::OperationStarted {
                address: node.0.clone(),
                action: label(node.1, node.2).into(),
            });
            let shared = shared.clone();
            let tx = tx.clone();
            tasks.spawn(async move {
                let started = Instant::now();
                let result = run_node(&shared, i, &node.0, node.1, node.2, &tx).await;
                let _ = tx.send(Msg::Done(i, result, started));
            });
        }
    }

    /// An interrupt: the first stops starting operations, the second abandons the running
    /// ones (their intents stay recorded). True when the run must end now.
    fn interrupted(&mut self, shared: &Shared, tasks: &mut JoinSet<()>) -> bool {
        let count = shared.cancel.count();
        shared.events.emit(Event::Interrupted { count });
        self.report.interrupted = true;
        if count < 2 {
            self.stopping = true;
            return false;
        }
        tasks.abort_all();
        for n in self
            .nodes
            .iter_mut()
            .filter(|n| n.status == NodeStatus::Running)
        {
            n.status = NodeStatus::Failed;
            self.report.failed.push(Failure {
                address: n.address.clone(),
                action: label(n.phase, n.action).into(),
                error: "abandoned by a second interrupt; its intent is recorded and the next apply resumes it".into(),
            });
        }
        true
    }

    fn on_message(&mut self, shared: &Shared, msg: Msg) {
        match msg {
            Msg::Usable(i, id, attrs) => {
                shared.known.lock().expect("known mutex").insert(
                    self.nodes[i].address.clone(),
                    (Some(id), attrs, BTreeSet::new()),
                );
                shared.events.emit(Event::Usable {
                    address: self.nodes[i].address.clone(),
                });
                release(&mut self.nodes, i, true, &mut self.ready);
            }
            Msg::Done(i, result, started) => {
                self.running -= 1;
                self.on_done(shared, i, result, started);
            }
        }
    }

    fn on_done(&mut self, shared: &Shared, i: usize, result: Result<(), String>, started: Instant) {
        let (address, phase, action) = (
            self.nodes[i].address.clone(),
            self.nodes[i].phase,
            self.nodes[i].action,
        );
        match result {
            Ok(()) => {
                self.nodes[i].status = NodeStatus::Done;
                self.report
                    .succeeded
                    .push((address.clone(), label(phase, action).into()));
                let id = shared
                    .known
                    .lock()
                    .expect("known mutex")
                    .get(&address)
                    .and_then(|k| k.0.clone());
                shared.events.emit(Event::OperationFinished {
                    address,
                    action: label(phase, action).into(),
                    id: if phase == Phase::Destroy { None } else { id },
                    elapsed: started.elapsed(),
                });
                release(&mut self.nodes, i, false, &mut self.ready);
            }
            Err(error) => {
                self.nodes[i].status = NodeStatus::Failed;
                shared.events.emit(Event::OperationFailed {
                    address: address.clone(),
                    action: label(phase, action).into(),
                    error: error.clone(),
                });
                self.report.failed.push(Failure {
                    address: address.clone(),
                    action: label(phase, action).into(),
                    error,
                });
                skip_dependents(
                    &mut self.nodes,
                    i,
                    &address,
                    &mut self.report,
                    &shared.events,
                );
            }
        }
    }
}

fn label(phase: Phase, action: Action) -> &'static str {
    match (phase, action) {
        (Phase::Destroy, Action::Replace) => "delete (replace)",
        (Phase::Apply, Action::Replace) => "create (replace)",
        (Phase::Destroy, _) => "delete",
        (Phase::Apply, a) => a.verb(),
    }
}

fn release(nodes: &mut [Node], i: usize, early: bool, ready: &mut VecDeque<usize>) {
    let already_released = nodes[i].released;
    if early {
        if already_released {
            return;
        }
        nodes[i].released = true;
    }
    let deps = nodes[i].dependents.clone();
    for (j, early_ok) in deps {
        // An edge that accepts an early "usable" signal is satisfied once: by that signal
        // when it came, else by completion.
        let satisfy = if early {
            early_ok
        } else {
            !(early_ok && already_released)
        };
        if !satisfy {
            continue;
        }
        nodes[j].waiting -= 1;
        if nodes[j].waiting == 0 && nodes[j].status == NodeStatus::Waiting {
            ready.push_back(j);
        }
    }
}

fn skip_dependents(
    nodes: &mut [Node],
    failed: usize,
    failed_addr: &str,
    report: &mut ApplyReport,
    events: &EventSink,
) {
    let mut stack: Vec<usize> = nodes[failed].dependents.iter().map(|d| d.0).collect();
    while let Some(j) = stack.pop() {
        if nodes[j].status != NodeStatus::Waiting {
            continue;
        }
        nodes[j].status = NodeStatus::Skipped;
        let reason = format!("depends on {failed_addr}, which failed");
        report
            .skipped
            .push((nodes[j].address.clone(), reason.clone()));
        events.emit(Event::Skipped {
            address: nodes[j].address.clone(),
            reason,
        });
        stack.extend(nodes[j].dependents.iter().map(|d| d.0));
    }
}

fn build_graph(plan: &Plan, spec: &StackSpec, prior: &StateDocument) -> Vec<Node> {
    let mut nodes: Vec<Node> = vec![];
    let mut index: HashMap<(String, Phase), usize> = HashMap::new();
    let mut add = |nodes: &mut Vec<Node>, addr: &str, phase: Phase, action: Action| {
        index.insert((addr.to_string(), phase), nodes.len());
        nodes.push(Node {
            address: addr.to_string(),
            phase,
            action,
            waiting: 0,
            dependents: vec![],
            released: false,
            status: NodeStatus::Waiting,
        });
    };
    let mut cbd = BTreeSet::new();
    for c in plan.actionable() {
        match c.action {
            Action::Create | Action::Update => add(&mut nodes, &c.address, Phase::Apply, c.action),
            Action::Delete => add(&mut nodes, &c.address, Phase::Destroy, c.action),
            Action::Replace => {
                add(&mut nodes, &c.address, Phase::Apply, c.action);
                if c.create_before_destroy {
                    cbd.insert(c.address.clone());
                    let deposed = format!("{}{DEPOSED_SUFFIX}", c.address);
                    add(&mut nodes, &deposed, Phase::Destroy, c.action);
                } else {
                    add(&mut nodes, &c.address, Phase::Destroy, c.action);
                }
            }
            Action::NoOp => {}
        }
    }
    let by_addr = spec.by_address();
    // Who depends on an address: recorded dependents for deletes, declared ones for the
    // deposed half of a create-before-destroy. Built once, so the graph costs O(N + E).
    let mut recorded_dependents: HashMap<&str, Vec<&str>> = HashMap::new();
    if nodes.iter().any(|n| n.phase == Phase::Destroy) {
        for (addr, rec) in &prior.resources {
            for d in &rec.dependencies {
                recorded_dependents
                    .entry(d.as_str())
                    .or_default()
                    .push(addr.as_str());
            }
        }
    }
    let mut declared_dependents: HashMap<String, Vec<&str>> = HashMap::new();
    if !cbd.is_empty() {
        for r in &spec.resources {
            for d in diff::dependencies_of(r) {
                declared_dependents
                    .entry(d)
                    .or_default()
                    .push(r.address.as_str());
            }
        }
    }
    let mut edges: Vec<(usize, usize, bool)> = vec![]; // (before, after, early ok)
    for (i, n) in nodes.iter().enumerate() {
        match n.phase {
            Phase::Apply => {
                if let Some(r) = by_addr.get(n.address.as_str()) {
                    for d in diff::dependencies_of(r) {
                        if let Some(&j) = index.get(&(d.clone(), Phase::Apply)) {
                            edges.push((j, i, true));
                        }
                    }
                }
                if n.action == Action::Replace
                    && !cbd.contains(&n.address)
                    && let Some(&j) = index.get(&(n.address.clone(), Phase::Destroy))
                {
                    edges.push((j, i, false));
                }
            }
            Phase::Destroy => {
                let base = n.address.trim_end_matches(DEPOSED_SUFFIX);
                if cbd.contains(base) && n.address.ends_with(DEPOSED_SUFFIX) {
                    if let Some(&j) = index.get(&(base.to_string(), Phase::Apply)) {
                        edges.push((j, i, false));
                    }
                    for &r in declared_dependents.get(base).into_iter().flatten() {
                        if let Some(&j) = index.get(&(r.to_string(), Phase::Apply)) {
                            edges.push((j, i, false));
                        }
                    }
                }
                // Whatever depended on this object goes first: deleted, or moved away.
                for &addr in recorded_dependents.get(base).into_iter().flatten() {
                    let addr = &addr.to_string();
                    if addr != &n.address {
                        if let Some(&j) = index.get(&(addr.clone(), Phase::Destroy))
                            && j != i
                        {
                            edges.push((j, i, false));
                        }
                        // Moved away from an object that is going: the move first. (For a
                        // replacement the dependents follow the new object instead.)
                        if n.action == Action::Delete
                            && let Some(&j) = index.get(&(addr.clone(), Phase::Apply))
                            && nodes[j].action == Action::Update
                        {
                            edges.push((j, i, false));
                        }
                    }
                }
            }
        }
    }
    edges.sort_unstable();
    edges.dedup();
    for (before, after, early) in edges {
        nodes[after].waiting += 1;
        nodes[before].dependents.push((after, early));
    }
    nodes
}

fn final_outputs(
    shared: &Shared,
    plan: &Plan,
    runtime: &PlanRuntime,
) -> BTreeMap<String, OutputState> {
    if plan.mode == PlanMode::Destroy {
        return BTreeMap::new();
    }
    let known = shared.known.lock().expect("known mutex");
    let mut out = BTreeMap::new();
    for o in &runtime.spec.outputs {
        let (v, s) = value::resolve(&o.value, &mut |t| {
            lookup_known(t, &known, &runtime.stack_outputs)
        });
        if value::contains_unknown(&v) {
            if let Some(prev) = shared.prior.outputs.get(&o.name) {
                out.insert(o.name.clone(), prev.clone());
            }
            continue;
        }
        out.insert(
            o.name.clone(),
            OutputState {
                value: v,
                sensitive: o.sensitive || !s.is_empty(),
            },
        );
    }
    out
}

fn lookup_known(
    t: &Target,
    known: &Known,
    stack_outputs: &BTreeMap<(String, String), (Value, bool)>,
) -> Resolved {
    match t {
        Target::StackOutput { stack, output } => stack_outputs
            .get(&(stack.clone(), output.clone()))
            .map(|(v, s)| Resolved::Known(v.clone(), *s))
            .unwrap_or(Resolved::Unknown),
        Target::Attribute {
            resource,
            attr,
            sensitive,
        } => {
            let Some((id, attrs, sens)) = known.get(resource) else {
                return Resolved::Unknown;
            };
            let pointer = value::dotted_to_pointer(attr);
            let is_sensitive = *sensitive || value::under_any(&pointer, sens);
            if attr == "id" {
                return match id {
                    Some(id) => Resolved::Known(Value::String(id.clone()), is_sensitive),
                    None => Resolved::Unknown,
                };
            }
            match value::get_path(attrs, attr) {
                Some(v) => Resolved::Known(v.clone(), is_sensitive),
                None => Resolved::Known(Value::Null, is_sensitive),
            }
        }
    }
}

async fn run_node(
    shared: &Arc<Shared>,
    index: usize,
    address: &str,
    phase: Phase,
    action: Action,
    tx: &mpsc::UnboundedSender<Msg>,
) -> Result<(), String> {
    match phase {
        Phase::Destroy => destroy(shared, address).await,
        Phase::Apply => {
            let declared = shared
                .declared
                .get(address)
                .map(|&i| &shared.spec.resources[i])
                .ok_or_else(|| format!("{address} is not declared"))?
                .clone();
            apply(shared, index, &declared, action, tx).await
        }
    }
}

fn pending(operation: &str, marker: Value) -> ResourceStatus {
    ResourceStatus::Pending(PendingOperation {
        operation: operation.to_string(),
        started: Utc::now(),
        marker,
    })
}

/// How one resource's records are written during its operation: its resolved config, the
/// pointers that are sensitive and its dependencies.
struct Recording<'a> {
    declared: &'a DeclaredResource,
    schema: &'a Schema,
    config: Value,
    sensitive: BTreeSet<String>,
    dependencies: Vec<String>,
}

impl Recording<'_> {
    fn record(
        &self,
        id: Option<String>,
        attributes: Value,
        status: ResourceStatus,
    ) -> ResourceState {
        let mut s: BTreeSet<String> = self
            .sensitive
            .iter()
            .map(|p| format!("/config{p}"))
            .collect();
        for f in &self.schema.fields {
            if f.sensitive && attributes.get(f.name).is_some() {
                s.insert(format!("/attributes/{}", value::escape(f.name)));
            }
        }
        for p in &self.sensitive {
            if attributes.pointer(p).is_some() {
                s.insert(format!("/attributes{p}"));
            }
        }
        ResourceState {
            kind: self.declared.kind.clone(),
            id,
            config: self.config.clone(),
            attributes,
            dependencies: self.dependencies.clone(),
            status,
            sensitive: s,
        }
    }

    /// The record of a create in flight, before the cloud has given it an id.
    fn create_intent(&self, marker: Value) -> ResourceState {
        self.record(
            None,
            Value::Object(Default::default()),
            pending("create", marker),
        )
    }
}

/// The config of `declared` resolved from what is known now, checked by its driver; and its
/// sensitive pointers. An error names what cannot be applied.
fn resolved_config(
    shared: &Shared,
    declared: &DeclaredResource,
    driver: &dyn crate::driver::Driver,
    prior: Option<&ResourceState>,
) -> Result<(Value, BTreeSet<String>), String> {
    let (config, mut sensitive) = {
        let known = shared.known.lock().expect("known mutex");
        diff::resolve_config(
            &declared.config,
            &declared.lifecycle,
            prior.map(|p| &p.config),
            &mut |t| lookup_known(t, &known, &shared.stack_outputs),
        )
    };
    if value::contains_unknown(&config) {
        return Err("a referenced value is still unknown (a dependency did not produce it)".into());
    }
    let errors = driver.problems(&config);
    if !errors.is_empty() {
        return Err(errors
            .iter()
            .map(|e| {
                let shown = if driver.schema().is_sensitive(&e.field) {
                    value::REDACTED.to_string()
                } else {
                    e.value.clone()
                };
                format!("field `{}` = {} {}; {}", e.field, shown, e.problem, e.fix)
            })
            .collect::<Vec<_>>()
            .join("; "));
    }
    if let Some(m) = config.as_object() {
        for k in m.keys() {
            if driver.schema().is_sensitive(k) {
                sensitive.insert(format!("/{}", value::escape(k)));
            }
        }
    }
    Ok((config, sensitive))
}

/// The driver's context for one operation: a checkpoint that records the create intent's
/// marker (for drivers with external effects) and a callback that makes the object usable by
/// dependents early.
fn driver_context(
    shared: &Arc<Shared>,
    index: usize,
    address: &str,
    recording: &Recording<'_>,
    effects: bool,
    tx: &mpsc::UnboundedSender<Msg>,
) -> DriverContext {
    let recorder = shared.recorder.clone();
    let checkpoint_record = recording.create_intent(Value::Null);
    let checkpoint_addr = address.to_string();
    let checkpoint: crate::driver::CheckpointFn = Arc::new(move |marker: Value| {
        let recorder = recorder.clone();
        let mut rec = checkpoint_record.clone();
        rec.status = pending("create", marker.clone());
        if let Some(id) = marker.get("id").and_then(Value::as_str) {
            rec.id = Some(id.to_string());
        }
        let addr = checkpoint_addr.clone();
        Box::pin(async move {
            recorder
                .write(vec![Write::Upsert(addr, Box::new(rec))])
                .await
                .map(|_| ())
        })
    });
    let tx_usable = tx.clone();
    let usable: Arc<dyn Fn(String, Value) + Send + Sync> = Arc::new(move |id, attrs| {
        let _ = tx_usable.send(Msg::Usable(index, id, attrs));
    });
    DriverContext::with(
        &shared.stack,
        address,
        shared.events.clone(),
        shared.cancel.clone(),
        effects.then_some(checkpoint),
        Some(usable),
    )
}

/// Saves a finished object's record and makes its attributes known to dependents.
async fn save_ready(shared: &Shared, address: &str, rec: ResourceState) -> Result<(), String> {
    shared
        .recorder
        .write(vec![Write::Upsert(address.into(), Box::new(rec.clone()))])
        .await?;
    let sensitive = diff::recorded_attribute_sensitive(&rec);
    shared
        .known
        .lock()
        .expect("known mutex")
        .insert(address.into(), (rec.id, rec.attributes, sensitive));
    Ok(())
}

async fn apply(
    shared: &Arc<Shared>,
    index: usize,
    declared: &DeclaredResource,
    action: Action,
    tx: &mpsc::UnboundedSender<Msg>,
) -> Result<(), String> {
    let address = declared.address.as_str();
    let driver = shared
        .registry
        .get(&declared.kind)
        .cloned()
        .ok_or_else(|| format!("unknown kind {}", declared.kind))?;
    let prior = shared.prior.resources.get(address).cloned();
    let (config, sensitive) = resolved_config(shared, declared, driver.as_ref(), prior.as_ref())?;
    let recording = Recording {
        declared,
        schema: driver.schema(),
        config,
        sensitive,
        dependencies: diff::dependencies_of(declared),
    };
    let effects = driver.has_external_effects();
    let ctx = driver_context(shared, index, address, &recording, effects, tx);
    match prior {
        Some(prior)
            if action == Action::Update
                && !matches!(&prior.status, ResourceStatus::Pending(op) if op.operation == "create") =>
        {
            if effects {
                let mut intent = prior.clone();
                intent.status = pending("update", Value::Null);
                shared
                    .recorder
                    .write(vec![Write::Upsert(address.into(), Box::new(intent))])
                    .await?;
            }
            let changed = shared
                .changed_fields
                .get(address)
                .cloned()
                .unwrap_or_default();
            let attrs = driver
                .update(
                    &ctx,
                    &Update {
                        recorded: &prior,
                        config: &recording.config,
                        changed: &changed,
                    },
                )
                .await
                .map_err(|e| e.to_string())?;
            let rec = recording.record(prior.id.clone(), attrs, ResourceStatus::Ready);
            save_ready(shared, address, rec).await
        }
        prior => {
            create(
                shared,
                driver.as_ref(),
                &ctx,
                &recording,
                action,
                prior,
                effects,
            )
            .await
        }
    }
}

/// A create: fresh, resumed from a recorded intent, or the create half of a replacement.
async fn create(
    shared: &Shared,
    driver: &dyn crate::driver::Driver,
    ctx: &DriverContext,
    recording: &Recording<'_>,
    action: Action,
    prior: Option<ResourceState>,
    effects: bool,
) -> Result<(), String> {
    let address = recording.declared.address.as_str();
    let resume_marker = prior.as_ref().and_then(|p| match &p.status {
        ResourceStatus::Pending(op) if op.operation == "create" => Some(op.marker.clone()),
        _ => None,
    });
    let mut writes = vec![];
    if action == Action::Replace
        && recording.declared.lifecycle.create_before_destroy
        && let Some(old) = &prior
    {
        writes.push(Write::Upsert(
            format!("{address}{DEPOSED_SUFFIX}"),
            Box::new(old.clone()),
        ));
    }
    if effects {
        writes.push(Write::Upsert(
            address.into(),
            Box::new(recording.create_intent(resume_marker.clone().unwrap_or(Value::Null))),
        ));
    }
    if !writes.is_empty() {
        shared.recorder.write(writes).await?;
    }
    let recovered = match &resume_marker {
        Some(marker) => driver
            .recover(ctx, &recording.config, marker)
            .await
            .map_err(|e| e.to_string())?,
        None => None,
    };
    let created: Created = match recovered {
        Some(c) => c,
        None => match driver.create(ctx, &recording.config).await {
            Ok(c) => c,
            Err(DriverError::Interrupted) => return Err("interrupted".into()),
            Err(e) => return Err(e.to_string()),
        },
    };
    let rec = recording.record(Some(created.id), created.attributes, ResourceStatus::Ready);
    save_ready(shared, address, rec).await
}

async fn destroy(shared: &Arc<Shared>, address: &str) -> Result<(), String> {
    // The deposed half of a create-before-destroy replacement is the prior object of its base
    // address (it was moved aside during this apply).
    let rec = shared
        .prior
        .resources
        .get(address)
        .or_else(|| {
            address
                .strip_suffix(DEPOSED_SUFFIX)
                .and_then(|base| shared.prior.resources.get(base))
        })
        .cloned()
        .ok_or_else(|| format!("{address} is not recorded"))?;
    let driver = shared
        .registry
        .get(&rec.kind)
        .cloned()
        .ok_or_else(|| format!("unknown kind {}", rec.kind))?;
    let base = address.trim_end_matches(DEPOSED_SUFFIX);
    let ctx = DriverContext::with(
        &shared.stack,
        base,
        shared.events.clone(),
        shared.cancel.clone(),
        None,
        None,
    );
    let effects = driver.has_external_effects();
    let mut target = rec.clone();
    if target.id.is_none() {
        // An interrupted create: find what it made, if anything.
        let marker = match &rec.status {
            ResourceStatus::Pending(op) => op.marker.clone(),
            _ => Value::Null,
        };
        match driver
            .recover(&ctx, &rec.config, &marker)
            .await
            .map_err(|e| e.to_string())?
        {
            Some(c) => {
                target.id = Some(c.id);
                target.attributes = c.attributes;
            }
            None => {
                shared
                    .recorder
                    .write(vec![Write::Remove(address.into())])
                    .await?;
                return Ok(());
            }
        }
    }
    if effects {
        let mut intent = target.clone();
        intent.status = pending("delete", Value::Null);
        shared
            .recorder
            .write(vec![Write::Upsert(address.into(), Box::new(intent))])
            .await?;
    }
    driver
        .delete(&ctx, &target)
        .await
        .map_err(|e| e.to_string())?;
    shared
        .recorder
        .write(vec![Write::Remove(address.into())])
        .await?;
    shared.known.lock().expect("known mutex").remove(address);
    Ok(())
}
