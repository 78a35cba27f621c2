//! The pure diff: declared stack + recorded state + refreshed attributes → plan. No I/O.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

use kapstan_state::{ResourceState, ResourceStatus, StateDocument};
use serde_json::Value;

use crate::dsl::{DeclaredResource, Lifecycle, StackSpec};
use crate::error::{EngineError, Problem};
use crate::graph::Graph;
use crate::plan::{Action, Drift, FieldChange, OutputChange, PlanMode, ResourceChange};
use crate::schema::Schema;
use crate::value::{self, Resolved, Target};

/// Suffix of the address under which a replaced object is kept while its successor is created
/// first (`create_before_destroy`).
pub const DEPOSED_SUFFIX: &str = "~deposed";

/// Outputs of other stacks: `(stack, output) → (value, sensitive)`.
pub type StackOutputs = BTreeMap<(String, String), (Value, bool)>;

/// Looks up the schema of a kind.
pub trait Schemas {
    /// The schema of `kind`, if the kind is registered.
    fn schema(&self, kind: &str) -> Option<&Schema>;
}

impl Schemas for crate::driver::Registry {
    fn schema(&self, kind: &str) -> Option<&Schema> {
        self.get(kind).map(|d| d.schema())
    }
}

impl Schemas for HashMap<String, Schema> {
    fn schema(&self, kind: &str) -> Option<&Schema> {
        self.get(kind)
    }
}

/// Everything the diff reads.
pub struct DiffInput<'a> {
    /// The declared stack.
    pub spec: &'a StackSpec,
    /// Recorded state.
    pub prior: &'a StateDocument,
    /// Refreshed attributes that differ from the recorded ones: `Some(attrs)` live, `None`
    /// gone. An address absent from the map is as recorded when `refreshed`, unknown otherwise.
    pub live: &'a BTreeMap<String, Option<Value>>,
    /// Whether refresh ran (then every readable resource missing from `live` was read and
    /// found exactly as recorded).
    pub refreshed: bool,
    /// Schemas of kinds.
    pub schemas: &'a dyn Schemas,
    /// Outputs of other stacks read through `StackRef`: `(stack, name) → (value, sensitive)`.
    pub stack_outputs: &'a StackOutputs,
    /// Plan mode.
    pub mode: PlanMode,
    /// Addresses to replace even if unchanged (`--replace`).
    pub replace: &'a BTreeSet<String>,
    /// When set, only these addresses (and what they need) are planned (`--target`).
    pub targets: Option<&'a BTreeSet<String>>,
    /// Kinds whose planned configs the diff returns in clear ([`DiffOutput::configs`]) for the
    /// planner's describe step.
    pub keep_configs: &'a BTreeSet<String>,
    /// Recorded resources whose drivers say an update is due although nothing changed
    /// ([`crate::Driver::due`]), with the reason shown in the plan.
    pub due: &'a BTreeMap<String, String>,
}

/// What the diff produces.
#[derive(Debug)]
pub struct DiffOutput {
    /// Changes by address, alphabetically.
    pub changes: Vec<ResourceChange>,
    /// Drift, alphabetically.
    pub drift: Vec<Drift>,
    /// Output changes, by name.
    pub outputs: Vec<OutputChange>,
    /// Resolved configs, in clear, of the creates, updates and replacements of the
    /// `keep_configs` kinds. Never part of a plan.
    pub configs: ClearConfigs,
}

/// Resolved configs in clear by address; `Debug` shows the addresses only.
#[derive(Default)]
pub struct ClearConfigs(pub BTreeMap<String, Value>);

impl std::fmt::Debug for ClearConfigs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.0.keys()).finish()
    }
}

/// The direct dependencies of a declared resource: what its references name, plus
/// `depends_on`, sorted.
pub fn dependencies_of(r: &DeclaredResource) -> Vec<String> {
    let mut deps: Vec<String> = value::targets(&r.config)
        .into_iter()
        .filter_map(|t| match t {
            Target::Attribute { resource, .. } => Some(resource),
            Target::StackOutput { .. } => None,
        })
        .chain(r.depends_on.iter().cloned())
        .collect();
    deps.sort();
    deps.dedup();
    deps
}

/// Validates a stack without I/O: duplicate addresses, unknown kinds, references to
/// undeclared resources or unknown attributes, schema and driver validation, cycles.
/// Returns the topological order of addresses.
pub fn validate(
    spec: &StackSpec,
    registry: &crate::driver::Registry,
    stack_outputs: Option<&StackOutputs>,
) -> Result<Vec<String>, EngineError> {
    let mut problems: Vec<Problem> = spec
        .problems
        .iter()
        .map(|m| Problem {
            address: String::new(),
            message: m.clone(),
        })
        .collect();
    let by_addr = spec.by_address();
    for r in &spec.resources {
        if let Err(m) = check_address(&r.address) {
            problems.push(Problem {
                address: r.address.clone(),
                message: m,
            });
        }
        let Some(driver) = registry.get(&r.kind) else {
            problems.push(Problem {
                address: r.address.clone(),
                message: format!(
                    "unknown kind `{}`; known kinds: {}",
                    r.kind,
                    registry.kinds().collect::<Vec<_>>().join(", ")
                ),
            });
            continue;
        };
        check_references(r, &by_addr, registry, stack_outputs, &mut problems);
        for d in &r.depends_on {
            if !by_addr.contains_key(d.as_str()) {
                problems.push(Problem {
                    address: r.address.clone(),
                    message: format!("depends_on `{d}`, but no resource `{d}` is declared"),
                });
            }
        }
        check_config(r, driver.as_ref(), &mut problems);
    }
    for o in &spec.outputs {
        for t in value::targets(&o.value) {
            if let Target::Attribute { resource, .. } = t
                && !by_addr.contains_key(resource.as_str())
            {
                problems.push(Problem {
                    address: format!("output.{}", o.name),
                    message: format!("references undeclared resource `{resource}`"),
                });
            }
        }
    }
    if !problems.is_empty() {
        return Err(EngineError::Invalid {
            stack: spec.name.clone(),
            problems,
        });
    }
    let deps: Vec<(String, Vec<String>)> = spec
        .resources
        .iter()
        .map(|r| (r.address.clone(), dependencies_of(r)))
        .collect();
    Graph::new(
        deps.iter()
            .map(|(a, ds)| (a.as_str(), ds.iter().map(String::as_str).collect())),
    )
    .topological()
}

/// References of `r` to undeclared resources, unknown attributes or missing stack outputs.
fn check_references(
    r: &DeclaredResource,
    by_addr: &ByAddress<'_>,
    registry: &crate::driver::Registry,
    stack_outputs: Option<&StackOutputs>,
    problems: &mut Vec<Problem>,
) {
    for t in value::targets(&r.config) {
        match t {
            Target::Attribute { resource, attr, .. } => match by_addr.get(resource.as_str()) {
                None => problems.push(Problem {
                    address: r.address.clone(),
                    message: format!(
                        "references `{resource}.{attr}`, but no resource `{resource}` is declared; declare it or fix the reference"
                    ),
                }),
                Some(target) => {
                    if let Some(d) = registry.get(&target.kind)
                        && !d.schema().has_attribute(&attr)
                    {
                        problems.push(Problem {
                            address: r.address.clone(),
                            message: format!(
                                "references `{resource}.{attr}`, but {} has no attribute `{attr}`; attributes: id, {}",
                                target.kind,
                                d.schema().fields.iter().map(|f| f.name).collect::<Vec<_>>().join(", ")
                            ),
                        });
                    }
                }
            },
            Target::StackOutput { stack, output } => {
                if let Some(outputs) = stack_outputs
                    && !outputs.contains_key(&(stack.clone(), output.clone()))
                {
                    problems.push(Problem {
                        address: r.address.clone(),
                        message: format!(
                            "reads output `{output}` of stack `{stack}`, which has no such output in state; apply stack `{stack}` first"
                        ),
                    });
                }
            }
        }
    }
}

/// The schema's and the driver's checks of `r`'s config, sensitive values redacted.
fn check_config(
    r: &DeclaredResource,
    driver: &dyn crate::driver::Driver,
    problems: &mut Vec<Problem>,
) {
    // Validation sees references as unknown: a value known only after apply is checked
    // by the driver at apply time.
    let (config, sensitive) = value::resolve(&r.config, &mut |_| Resolved::Unknown);
    for e in driver
        .schema()
        .check(&config)
        .into_iter()
        .chain(driver.problems(&config))
    {
        let pointer = value::dotted_to_pointer(&e.field);
        let shown =
            if value::under_any(&pointer, &sensitive) || driver.schema().is_sensitive(&e.field) {
                value::REDACTED.to_string()
            } else {
                e.value.clone()
            };
        problems.push(Problem {
            address: r.address.clone(),
            message: format!("field `{}` = {} {}; {}", e.field, shown, e.problem, e.fix),
        });
    }
}

fn check_address(addr: &str) -> Result<(), String> {
    let ok = !addr.is_empty()
        && addr.len() <= 200
        && addr
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | '[' | ']'));
    if ok {
        Ok(())
    } else {
        Err(format!(
            "address `{addr}` is not valid: use letters, digits, `-`, `_`, `.` and `[]`, at most 200 characters"
        ))
    }
}

/// The attributes of a recorded resource as references see them (`id` included).
pub(crate) fn attribute(res: &ResourceState, live: Option<&Value>, attr: &str) -> Option<Value> {
    if attr == "id" {
        return res.id.clone().map(Value::String);
    }
    let attrs = live.unwrap_or(&res.attributes);
    value::get_path(attrs, attr)
        .or_else(|| value::get_path(&res.config, attr))
        .cloned()
}

/// Resolves a declared config, keeping prior values at `ignore_changes` paths.
pub(crate) fn resolve_config(
    template: &Value,
    lifecycle: &Lifecycle,
    prior_config: Option<&Value>,
    lookup: &mut dyn FnMut(&Target) -> Resolved,
) -> (Value, BTreeSet<String>) {
    let (mut config, sensitive) = value::resolve(template, lookup);
    if let Some(prior) = prior_config {
        for path in &lifecycle.ignore_changes {
            let pointer = value::dotted_to_pointer(path);
            let old = prior.pointer(&pointer).cloned();
            set_pointer(&mut config, &pointer, old);
        }
    }
    (config, sensitive)
}

fn set_pointer(v: &mut Value, pointer: &str, new: Option<Value>) {
    let Some((parent, last)) = pointer.rsplit_once('/') else {
        return;
    };
    let last = last.replace("~1", "/").replace("~0", "~");
    let target = if parent.is_empty() {
        Some(v)
    } else {
        v.pointer_mut(parent)
    };
    if let Some(Value::Object(m)) = target {
        match new {
            Some(x) => {
                m.insert(last, x);
            }
            None => {
                m.remove(&last);
            }
        }
    }
}

/// Sensitive pointers of a recorded config, relative to the config.
pub(crate) fn recorded_config_sensitive(res: &ResourceState) -> BTreeSet<String> {
    res.sensitive
        .iter()
        .filter_map(|p| p.strip_prefix("/config"))
        .map(String::from)
        .collect()
}

/// Sensitive pointers of recorded attributes, relative to the attributes.
pub(crate) fn recorded_attribute_sensitive(res: &ResourceState) -> BTreeSet<String> {
    res.sensitive
        .iter()
        .filter_map(|p| p.strip_prefix("/attributes"))
        .map(String::from)
        .collect()
}

struct Planned {
    action: Action,
    /// The resolved config, kept for updates only: references to an object with any other
    /// action never read it, and not keeping N copies keeps plans small.
    config: Option<Value>,
}

/// Declared resources by address, as the diff looks them up.
type ByAddress<'a> = BTreeMap<&'a str, &'a DeclaredResource>;

/// Computes the plan. Pure: the same input always gives the same output.
pub fn diff(input: &DiffInput<'_>, order: &[String]) -> Result<DiffOutput, EngineError> {
    let spec = input.spec;
    let by_addr = spec.by_address();
    let included = included_addresses(input, order);
    let mut planned: HashMap<&str, Planned> = HashMap::with_capacity(spec.resources.len());
    let mut changes = Vec::with_capacity(spec.resources.len() + 8);
    let mut drift = vec![];
    let mut configs = ClearConfigs::default();

    for addr in order {
        let r = by_addr[addr.as_str()];
        if let (Some(rec), Some(live)) = (input.prior.resources.get(addr), input.live.get(addr))
            && let Some(d) = drift_of(addr, rec, live.as_ref())
        {
            drift.push(d);
        }
        let (change, config) = plan_declared(input, r, &included, &planned, &by_addr)?;
        if matches!(
            change.action,
            Action::Create | Action::Update | Action::Replace
        ) && input.keep_configs.contains(&r.kind)
        {
            configs.0.insert(addr.clone(), config.clone());
        }
        planned.insert(
            r.address.as_str(),
            Planned {
                action: change.action,
                config: (change.action == Action::Update).then_some(config),
            },
        );
        changes.push(change);
    }

    // A delete replaces whatever change the loop above made for the same address.
    let mut deletes = plan_deletes(input, &by_addr, &included, &mut drift)?;
    if !deletes.is_empty() {
        let superseded: HashSet<&str> = deletes.iter().map(|c| c.address.as_str()).collect();
        changes.retain(|c| !superseded.contains(c.address.as_str()));
        changes.append(&mut deletes);
    }
    changes.sort_by(|a, b| a.address.cmp(&b.address));
    drift.sort_by(|a, b| a.address.cmp(&b.address));

    Ok(DiffOutput {
        changes,
        drift,
        outputs: plan_outputs(input, &planned, &by_addr),
        configs,
    })
}

/// The change of one declared resource, and its resolved config.
fn plan_declared(
    input: &DiffInput<'_>,
    r: &DeclaredResource,
    included: &BTreeSet<&str>,
    planned: &HashMap<&str, Planned>,
    by_addr: &ByAddress<'_>,
) -> Result<(ResourceChange, Value), EngineError> {
    let addr = &r.address;
    let schema = input.schemas.schema(&r.kind);
    let rec = input.prior.resources.get(addr);
    let (config, mut sensitive) =
        resolve_config(&r.config, &r.lifecycle, rec.map(|x| &x.config), &mut |t| {
            lookup(t, input, planned, by_addr)
        });
    if let Some(s) = schema
        && let Some(m) = config.as_object()
    {
        for k in m.keys() {
            if s.is_sensitive(k) {
                sensitive.insert(format!("/{}", value::escape(k)));
            }
        }
    }
    let mut change = ResourceChange {
        address: addr.clone(),
        kind: r.kind.clone(),
        action: Action::NoOp,
        create_before_destroy: r.lifecycle.create_before_destroy,
        reason: None,
        fields: vec![],
        before: None,
        after: Some(value::redact(&config, &sensitive)),
        before_sensitive: BTreeSet::new(),
        after_sensitive: sensitive.clone(),
        depends_on: dependencies_of(r),
        resume: false,
        details: vec![],
    };
    let skip = input.mode == PlanMode::RefreshOnly || !included.contains(addr.as_str());
    match (input.mode, rec) {
        (PlanMode::Destroy, _) => {}
        (_, None) => {
            if !skip {
                change.action = Action::Create;
            }
        }
        (_, Some(rec)) => {
            let before_sensitive = recorded_config_sensitive(rec);
            change.before = Some(value::redact(&rec.config, &before_sensitive));
            change.before_sensitive = before_sensitive;
            if !skip {
                plan_recorded(&mut change, input, r, rec, &config, schema);
            }
        }
    }
    if change.action == Action::Replace && r.lifecycle.prevent_destroy {
        return Err(EngineError::PreventDestroy {
            address: addr.clone(),
            action: "replace".into(),
        });
    }
    Ok((change, config))
}

/// The action for a declared resource that is recorded: resume, re-create, replace, update or
/// nothing.
fn plan_recorded(
    change: &mut ResourceChange,
    input: &DiffInput<'_>,
    r: &DeclaredResource,
    rec: &ResourceState,
    config: &Value,
    schema: Option<&Schema>,
) {
    let live = input.live.get(&r.address);
    if matches!(&rec.status, ResourceStatus::Pending(p) if p.operation == "create") {
        change.action = Action::Create;
        change.resume = true;
        change.before = None;
        change.reason = Some("resuming an interrupted create".into());
        return;
    }
    if matches!(live, Some(None)) {
        change.action = Action::Create;
        change.before = None;
        change.reason = Some("deleted outside kapstan".into());
        return;
    }
    // Unchanged live attributes are not kept by refresh: they are the recorded ones.
    let live_attrs = live
        .and_then(Option::as_ref)
        .or(input.refreshed.then_some(&rec.attributes));
    let current = current_config(&rec.config, live_attrs, config);
    change.fields = field_changes(change, r, &current, config, schema);
    if let ResourceStatus::Tainted { reason } = &rec.status {
        change.action = Action::Replace;
        change.reason = Some(format!("tainted: {reason}"));
    } else if input.replace.contains(&r.address) {
        change.action = Action::Replace;
        change.reason = Some("replacement requested with --replace".into());
    } else if let Some(f) = change.fields.iter().find(|f| f.forces_replacement) {
        change.action = Action::Replace;
        change.reason = Some(format!(
            "`{}` forces replacement",
            f.path.trim_start_matches('/').replace('/', ".")
        ));
    } else if !change.fields.is_empty() {
        change.action = Action::Update;
        change.reason = input.due.get(&r.address).cloned();
    } else if let Some(why) = input.due.get(&r.address) {
        change.action = Action::Update;
        change.reason = Some(why.clone());
    } else if matches!(&rec.status, ResourceStatus::Pending(p) if p.operation == "update") {
        // The intent of an update that failed or was interrupted: the live resource is what
        // it left, not what the record says, so the update is made again.
        change.action = Action::Update;
        change.reason = Some("resuming an interrupted update".into());
    }
}

/// The fields that differ between the current and the declared config, minus those the
/// lifecycle ignores, redacted where either side is sensitive.
fn field_changes(
    change: &ResourceChange,
    r: &DeclaredResource,
    current: &Value,
    config: &Value,
    schema: Option<&Schema>,
) -> Vec<FieldChange> {
    let ignored: Vec<String> = r
        .lifecycle
        .ignore_changes
        .iter()
        .map(|p| value::dotted_to_pointer(p))
        .collect();
    let all_sensitive: BTreeSet<String> = change
        .after_sensitive
        .union(&change.before_sensitive)
        .cloned()
        .collect();
    let mut fields = vec![];
    for (path, b, a) in value::diff(current, config) {
        if ignored
            .iter()
            .any(|i| path == *i || path.starts_with(&format!("{i}/")))
        {
            continue;
        }
        let is_sensitive = value::under_any(&path, &all_sensitive);
        let forces = schema.is_some_and(|s| s.forces_replacement(&path));
        fields.push(FieldChange {
            forces_replacement: forces,
            sensitive: is_sensitive,
            before: b.map(|v| redact_value(v, is_sensitive)),
            after: a.map(|v| redact_value(v, is_sensitive)),
            path,
        });
    }
    fields
}

/// Recorded but not declared (or everything, when destroying): delete.
fn plan_deletes(
    input: &DiffInput<'_>,
    by_addr: &ByAddress<'_>,
    included: &BTreeSet<&str>,
    drift: &mut Vec<Drift>,
) -> Result<Vec<ResourceChange>, EngineError> {
    let mut deletes = vec![];
    for (addr, rec) in &input.prior.resources {
        let declared = by_addr.contains_key(addr.as_str());
        let destroying = input.mode == PlanMode::Destroy;
        if declared && !destroying {
            continue;
        }
        if let Some(live) = input.live.get(addr)
            && !declared
            && let Some(d) = drift_of(addr, rec, live.as_ref())
        {
            drift.push(d);
        }
        let in_scope = match input.targets {
            None => true,
            Some(_) => included.contains(addr.as_str()),
        };
        let before_sensitive = recorded_config_sensitive(rec);
        let action = if input.mode == PlanMode::RefreshOnly || !in_scope {
            Action::NoOp
        } else {
            Action::Delete
        };
        if action == Action::Delete
            && let Some(r) = by_addr.get(addr.as_str())
            && r.lifecycle.prevent_destroy
        {
            return Err(EngineError::PreventDestroy {
                address: addr.clone(),
                action: "delete".into(),
            });
        }
        deletes.push(ResourceChange {
            address: addr.clone(),
            kind: rec.kind.clone(),
            action,
            create_before_destroy: false,
            reason: if declared {
                None
            } else if addr.ends_with(DEPOSED_SUFFIX) {
                Some("deposed by a create-before-destroy replacement".into())
            } else {
                Some("no longer declared".into())
            },
            fields: vec![],
            before: Some(value::redact(&rec.config, &before_sensitive)),
            after: None,
            before_sensitive,
            after_sensitive: BTreeSet::new(),
            depends_on: rec.dependencies.clone(),
            resume: false,
            details: vec![],
        });
    }
    Ok(deletes)
}

/// A recorded output that goes away.
fn output_deleted(name: &str, o: &kapstan_state::OutputState) -> OutputChange {
    OutputChange {
        name: name.to_string(),
        action: Action::Delete,
        before: Some(redact_value(o.value.clone(), o.sensitive)),
        after: None,
        sensitive: o.sensitive,
    }
}

/// The changes of the stack's outputs.
fn plan_outputs(
    input: &DiffInput<'_>,
    planned: &HashMap<&str, Planned>,
    by_addr: &ByAddress<'_>,
) -> Vec<OutputChange> {
    let (spec, prior) = (input.spec, input.prior);
    if input.mode == PlanMode::Destroy {
        return prior
            .outputs
            .iter()
            .map(|(name, o)| output_deleted(name, o))
            .collect();
    }
    let mut out = vec![];
    for o in &spec.outputs {
        let (v, s) = value::resolve(&o.value, &mut |t| lookup(t, input, planned, by_addr));
        let sensitive = o.sensitive || !s.is_empty();
        let before = prior.outputs.get(&o.name);
        let action = match before {
            None => Action::Create,
            Some(b) if b.value != v || value::contains_unknown(&v) => Action::Update,
            Some(_) => Action::NoOp,
        };
        out.push(OutputChange {
            name: o.name.clone(),
            action: if input.mode == PlanMode::RefreshOnly {
                Action::NoOp
            } else {
                action
            },
            before: before.map(|b| redact_value(b.value.clone(), b.sensitive || sensitive)),
            after: Some(if value::contains_unknown(&v) {
                v
            } else {
                redact_value(v, sensitive)
            }),
            sensitive,
        });
    }
    for (name, o) in &prior.outputs {
        if !spec.outputs.iter().any(|d| &d.name == name) {
            out.push(output_deleted(name, o));
        }
    }
    out.sort_by(|a, b| a.name.cmp(&b.name));
    out
}

fn redact_value(v: Value, sensitive: bool) -> Value {
    if sensitive {
        Value::String(value::REDACTED.into())
    } else {
        v
    }
}

/// The recorded config with live values overlaid for every declared top-level field the
/// provider reports: this is what the declared config is compared with.
fn current_config(recorded: &Value, live: Option<&Value>, declared: &Value) -> Value {
    let mut current = recorded.clone();
    if let (Some(Value::Object(live)), Some(decl), Value::Object(cur)) =
        (live, declared.as_object(), &mut current)
    {
        for k in decl.keys() {
            if let Some(v) = live.get(k) {
                cur.insert(k.clone(), v.clone());
            }
        }
    }
    current
}

fn drift_of(addr: &str, rec: &ResourceState, live: Option<&Value>) -> Option<Drift> {
    if matches!(rec.status, ResourceStatus::Pending(_)) {
        return None;
    }
    let Some(live) = live else {
        return Some(Drift {
            address: addr.to_string(),
            kind: rec.kind.clone(),
            deleted: true,
            fields: vec![],
        });
    };
    let sensitive = recorded_attribute_sensitive(rec);
    let fields: Vec<FieldChange> = value::diff(&rec.attributes, live)
        .into_iter()
        .map(|(path, b, a)| {
            let s = value::under_any(&path, &sensitive);
            FieldChange {
                before: b.map(|v| redact_value(v, s)),
                after: a.map(|v| redact_value(v, s)),
                forces_replacement: false,
                sensitive: s,
                path,
            }
        })
        .collect();
    (!fields.is_empty()).then(|| Drift {
        address: addr.to_string(),
        kind: rec.kind.clone(),
        deleted: false,
        fields,
    })
}

fn lookup(
    t: &Target,
    input: &DiffInput<'_>,
    planned: &HashMap<&str, Planned>,
    by_addr: &BTreeMap<&str, &DeclaredResource>,
) -> Resolved {
    match t {
        Target::StackOutput { stack, output } => {
            match input.stack_outputs.get(&(stack.clone(), output.clone())) {
                Some((v, s)) => Resolved::Known(v.clone(), *s),
                None => Resolved::Unknown,
            }
        }
        Target::Attribute {
            resource,
            attr,
            sensitive,
        } => {
            let Some(p) = planned.get(resource.as_str()) else {
                return Resolved::Unknown;
            };
            let schema = by_addr
                .get(resource.as_str())
                .and_then(|r| input.schemas.schema(&r.kind));
            let rec = input.prior.resources.get(resource);
            let is_sensitive = *sensitive
                || schema.is_some_and(|s| s.is_sensitive(attr))
                || rec.is_some_and(|r| {
                    value::under_any(
                        &format!("/config{}", value::dotted_to_pointer(attr)),
                        &r.sensitive,
                    ) || value::under_any(
                        &format!("/attributes{}", value::dotted_to_pointer(attr)),
                        &r.sensitive,
                    )
                });
            match p.action {
                Action::Create | Action::Replace => Resolved::Unknown,
                Action::Update | Action::NoOp | Action::Delete => {
                    let is_argument = schema
                        .and_then(|s| s.field(attr))
                        .is_some_and(|f| f.is_argument());
                    if p.action == Action::Update
                        && is_argument
                        && let Some(v) = p.config.as_ref().and_then(|c| value::get_path(c, attr))
                    {
                        return Resolved::Known(v.clone(), is_sensitive);
                    }
                    let Some(rec) = rec else {
                        return Resolved::Unknown;
                    };
                    let live = input.live.get(resource).and_then(Option::as_ref);
                    match attribute(rec, live, attr) {
                        Some(v) => Resolved::Known(v, is_sensitive),
                        None => Resolved::Known(Value::Null, is_sensitive),
                    }
                }
            }
        }
    }
}

/// The declared addresses `targets` need (themselves included), and the recorded targets:
/// what a targeted plan reads at refresh.
pub(crate) fn target_closure(spec: &StackSpec, targets: &[String]) -> BTreeSet<String> {
    let spec_deps: Vec<(String, Vec<String>)> = spec
        .resources
        .iter()
        .map(|r| (r.address.clone(), dependencies_of(r)))
        .collect();
    let g = Graph::new(
        spec_deps
            .iter()
            .map(|(a, ds)| (a.as_str(), ds.iter().map(String::as_str).collect())),
    );
    let roots: Vec<&str> = targets.iter().map(String::as_str).collect();
    let mut out = g.closure(&roots);
    out.extend(targets.iter().cloned());
    out
}

/// Which declared and recorded addresses are in scope of `--target`.
fn included_addresses<'a>(input: &DiffInput<'a>, order: &'a [String]) -> BTreeSet<&'a str> {
    let Some(targets) = input.targets else {
        let mut all: BTreeSet<&str> = order.iter().map(String::as_str).collect();
        all.extend(input.prior.resources.keys().map(String::as_str));
        return all;
    };
    let mut out = BTreeSet::new();
    if input.mode == PlanMode::Destroy {
        // Destroying a target destroys what depends on it first.
        let mut dependents: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
        for (addr, rec) in &input.prior.resources {
            for d in &rec.dependencies {
                dependents
                    .entry(d.as_str())
                    .or_default()
                    .push(addr.as_str());
            }
        }
        let mut stack: Vec<&str> = input
            .prior
            .resources
            .keys()
            .filter(|a| targets.contains(*a))
            .map(String::as_str)
            .collect();
        while let Some(a) = stack.pop() {
            if out.insert(a) {
                stack.extend(dependents.get(a).into_iter().flatten().copied());
            }
        }
        return out
            .into_iter()
            .filter_map(|a| {
                input
                    .prior
                    .resources
                    .get_key_value(a)
                    .map(|(k, _)| k.as_str())
            })
            .collect();
    }
    let roots: Vec<String> = targets.iter().cloned().collect();
    let closure = target_closure(input.spec, &roots);
    for a in order {
        if closure.contains(a) {
            out.insert(a.as_str());
        }
    }
    for a in input.prior.resources.keys() {
        if targets.contains(a) {
            out.insert(a.as_str());
        }
    }
    out
}
