//! The engine facade: plan, apply, destroy and import a stack against a state store.

use std::collections::BTreeSet;
use std::sync::Arc;

use kapstan_state::{ResourceState, ResourceStatus, StateDelta, StateDocument, StateStore};

use crate::diff;
use crate::driver::{Cancel, DriverContext, Registry};
use crate::dsl::StackSpec;
use crate::error::EngineError;
use crate::events::EventSink;
use crate::executor::{self, ApplyOptions, ApplyReport};
use crate::plan::{Plan, PlanRuntime};
use crate::planfile::PlanFile;
use crate::planner::{self, PlanOptions};
use crate::value;

/// A stack handed to [`Engine::plan`]: borrowed (and copied into the plan) or given away.
pub trait IntoStackSpec {
    /// The stack, shared.
    fn into_stack_spec(self) -> Arc<StackSpec>;
}

impl IntoStackSpec for &StackSpec {
    fn into_stack_spec(self) -> Arc<StackSpec> {
        Arc::new(self.clone())
    }
}

impl IntoStackSpec for StackSpec {
    fn into_stack_spec(self) -> Arc<StackSpec> {
        Arc::new(self)
    }
}

impl IntoStackSpec for Arc<StackSpec> {
    fn into_stack_spec(self) -> Arc<StackSpec> {
        self
    }
}

impl IntoStackSpec for &Arc<StackSpec> {
    fn into_stack_spec(self) -> Arc<StackSpec> {
        Arc::clone(self)
    }
}

/// Plans and applies stacks with a registry of kinds and a state store.
#[derive(Clone)]
pub struct Engine {
    registry: Registry,
    store: Arc<dyn StateStore>,
    events: EventSink,
    cancel: Cancel,
}

impl std::fmt::Debug for Engine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Engine")
            .field("registry", &self.registry)
            .field("store", &self.store.location())
            .finish()
    }
}

impl Engine {
    /// An engine over `registry` and `store`.
    pub fn new(registry: Registry, store: Arc<dyn StateStore>) -> Self {
        Self {
            registry,
            store,
            events: EventSink::none(),
            cancel: Cancel::new(),
        }
    }

    /// Sends progress events to `events`.
    pub fn with_events(mut self, events: EventSink) -> Self {
        self.events = events;
        self
    }

    /// Uses `cancel` for interrupts.
    pub fn with_cancel(mut self, cancel: Cancel) -> Self {
        self.cancel = cancel;
        self
    }

    /// The state store.
    pub fn store(&self) -> &Arc<dyn StateStore> {
        &self.store
    }

    /// The registry of kinds.
    pub fn registry(&self) -> &Registry {
        &self.registry
    }

    /// Checks a stack without touching any API or state: kinds, references, values, cycles.
    pub fn validate(&self, spec: &StackSpec) -> Result<(), EngineError> {
        diff::validate(spec, &self.registry, None).map(|_| ())
    }

    /// The stack's state, or a fresh empty document.
    pub async fn state(&self, stack: &str) -> Result<StateDocument, EngineError> {
        Ok(self
            .store
            .load(stack)
            .await?
            .unwrap_or_else(|| StateDocument::new(stack)))
    }

    /// Plans `spec`. Refuses while another process holds the stack's lock.
    ///
    /// `spec` is a `&StackSpec` (copied into the plan, which apply needs), or a `StackSpec` or
    /// `Arc<StackSpec>` handed over so that large stacks are not copied.
    pub async fn plan(
        &self,
        spec: impl IntoStackSpec,
        options: &PlanOptions,
    ) -> Result<Plan, EngineError> {
        let spec = spec.into_stack_spec();
        let lock = self.store.lock(&spec.name, "plan").await?;
        let result = async {
            let prior = self.state(&spec.name).await?;
            planner::plan_with_state(
                spec.clone(),
                prior,
                &self.registry,
                &*self.store,
                options,
                &self.events,
            )
            .await
        }
        .await;
        self.store.unlock(&spec.name, &lock).await?;
        result
    }

    /// Applies a plan made by [`Engine::plan`] or bound by [`Engine::bind`]. Refuses when the
    /// state changed since the plan was made.
    pub async fn apply(
        &self,
        plan: &Plan,
        options: &ApplyOptions,
    ) -> Result<ApplyReport, EngineError> {
        let runtime = plan.runtime.clone().ok_or_else(|| {
            EngineError::Usage(
                "this plan is not bound to its stack; load it with Engine::bind".into(),
            )
        })?;
        let operation = match plan.mode {
            crate::plan::PlanMode::Destroy => "destroy",
            _ => "apply",
        };
        let lock = self.store.lock(&plan.stack, operation).await?;
        let result = async {
            let current = self.state(&plan.stack).await?;
            if current.serial != plan.base_serial
                || (current.serial > 0 && current.lineage != plan.lineage)
            {
                return Err(EngineError::StalePlan {
                    path: "(in memory)".into(),
                    reason: format!(
                        "state of `{}` changed since the plan was made (serial {} then, {} now)",
                        plan.stack, plan.base_serial, current.serial
                    ),
                });
            }
            Ok(executor::execute(
                plan,
                &runtime,
                &self.registry,
                self.store.clone(),
                options,
                &self.events,
                &self.cancel,
            )
            .await?)
        }
        .await;
        self.store.unlock(&plan.stack, &lock).await?;
        result
    }

    /// Binds a saved plan to the stack's code and current state; refuses it when either
    /// changed since it was saved.
    pub async fn bind(
        &self,
        spec: &StackSpec,
        file: &PlanFile,
        path: &str,
    ) -> Result<Plan, EngineError> {
        let stale = |reason: String| EngineError::StalePlan {
            path: path.to_string(),
            reason,
        };
        let plan = &file.plan;
        if plan.stack != spec.name {
            return Err(stale(format!(
                "it was made for stack `{}`, not `{}`",
                plan.stack, spec.name
            )));
        }
        let prior = self.state(&spec.name).await?;
        if prior.serial != plan.base_serial || (prior.serial > 0 && prior.lineage != plan.lineage) {
            return Err(stale(format!(
                "state changed since the plan was made (serial {} then, {} now)",
                plan.base_serial, prior.serial
            )));
        }
        if planner::config_hash(spec) != plan.config_hash {
            return Err(stale(
                "the stack's declaration changed since the plan was made".into(),
            ));
        }
        let stack_outputs = planner::stack_outputs(spec, &*self.store).await?;
        diff::validate(spec, &self.registry, Some(&stack_outputs))?;
        let mut plan = plan.clone();
        let mut prior = prior;
        if prior.serial == 0 {
            prior.lineage = plan.lineage;
        }
        plan.runtime = Some(Arc::new(PlanRuntime {
            prior,
            spec: Arc::new(spec.clone()),
            stack_outputs,
            live: Default::default(),
        }));
        Ok(plan)
    }

    /// Adopts an existing object as `address` of the stack; the next plan shows only real
    /// differences between it and the declaration.
    pub async fn import(
        &self,
        spec: &StackSpec,
        address: &str,
        id: &str,
    ) -> Result<u64, EngineError> {
        let declared = spec
            .resources
            .iter()
            .find(|r| r.address == address)
            .ok_or_else(|| {
                EngineError::Usage(format!(
                    "`{address}` is not declared in stack `{}`; declare it before importing",
                    spec.name
                ))
            })?;
        let driver = self
            .registry
            .get(&declared.kind)
            .ok_or_else(|| EngineError::Usage(format!("unknown kind `{}`", declared.kind)))?;
        let lock = self.store.lock(&spec.name, "import").await?;
        let result = async {
            let doc = self.state(&spec.name).await?;
            if doc.resources.contains_key(address) {
                return Err(EngineError::Usage(format!(
                    "`{address}` is already in state; remove it with `kapstan state rm {address}` first"
                )));
            }
            let ctx = DriverContext::detached(&spec.name, address);
            let imported = driver
                .import(&ctx, id)
                .await
                .map_err(|e| EngineError::Driver {
                    address: address.into(),
                    message: e.to_string(),
                })?
                .ok_or_else(|| EngineError::Driver {
                    address: address.into(),
                    message: format!("no {} with id `{id}` exists", declared.kind),
                })?;
            let mut sensitive = BTreeSet::new();
            for f in &driver.schema().fields {
                if f.sensitive {
                    if imported.config.get(f.name).is_some() {
                        sensitive.insert(format!("/config/{}", value::escape(f.name)));
                    }
                    if imported.attributes.get(f.name).is_some() {
                        sensitive.insert(format!("/attributes/{}", value::escape(f.name)));
                    }
                }
            }
            let mut delta = StateDelta::on(&doc, &format!("import {address} {id}"));
            delta.upserts.insert(
                address.to_string(),
                ResourceState {
                    kind: declared.kind.clone(),
                    id: Some(id.to_string()),
                    config: imported.config,
                    attributes: imported.attributes,
                    dependencies: diff::dependencies_of(declared),
                    status: ResourceStatus::Ready,
                    sensitive,
                },
            );
            Ok(self.store.commit(&spec.name, delta).await?)
        }
        .await;
        self.store.unlock(&spec.name, &lock).await?;
        result
    }
}
