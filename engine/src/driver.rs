//! The `Driver` trait through which the engine sees every resource kind, and the registry of
//! kinds.

use std::collections::BTreeMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use async_trait::async_trait;
use kapstan_state::ResourceState;
use serde_json::Value;
use tokio::sync::Notify;

use crate::events::{Event, EventSink};
use crate::plan::ObjectChange;
use crate::schema::{FieldError, Schema};

/// A driver's failure. Messages never carry sensitive values.
#[derive(Debug, Clone, thiserror::Error)]
pub enum DriverError {
    /// The API refused or failed.
    #[error("{message}")]
    Failed {
        /// What happened, for users.
        message: String,
    },
    /// A wait ran past its deadline; the operation may still complete.
    #[error("timed out after {}s waiting for {what}; the next apply resumes the wait", .after.as_secs())]
    Timeout {
        /// What was awaited.
        what: String,
        /// The deadline.
        after: Duration,
    },
    /// Several live objects carry this resource's tags: kapstan will not guess.
    #[error(
        "{count} objects of kind {kind} are tagged {tag} ({ids}); delete the extra ones or import the right one with `kapstan import`"
    )]
    Ambiguous {
        /// The kind.
        kind: String,
        /// The tag searched.
        tag: String,
        /// How many matched.
        count: usize,
        /// Their ids.
        ids: String,
    },
    /// The operation was abandoned on a second interrupt.
    #[error("interrupted")]
    Interrupted,
    /// A provider API call failed; its typed error is kept as the source.
    #[error("{source}")]
    Api {
        /// The provider's error (its message carries no sensitive value).
        #[source]
        source: Arc<dyn std::error::Error + Send + Sync>,
        /// Whether the same call may succeed later (rate limits, server errors, busy objects).
        retryable: bool,
    },
}

impl DriverError {
    /// A failure with a message.
    pub fn failed(message: impl Into<String>) -> Self {
        Self::Failed {
            message: message.into(),
        }
    }

    /// A provider API failure keeping `source`, retryable or not.
    pub fn api(source: impl std::error::Error + Send + Sync + 'static, retryable: bool) -> Self {
        Self::Api {
            source: Arc::new(source),
            retryable,
        }
    }

    /// Whether trying the same operation again later may succeed: a timed-out wait resumes,
    /// a rate-limited or busy API answers later; a refusal or an ambiguity does not change.
    pub fn is_retryable(&self) -> bool {
        match self {
            Self::Api { retryable, .. } => *retryable,
            Self::Timeout { .. } => true,
            Self::Failed { .. } | Self::Ambiguous { .. } | Self::Interrupted => false,
        }
    }

    /// The source of an [`DriverError::Api`] failure as `E`, to match on its kind.
    pub fn api_source<E: std::error::Error + 'static>(&self) -> Option<&E> {
        match self {
            Self::Api { source, .. } => source.downcast_ref::<E>(),
            _ => None,
        }
    }
}

/// The result of a create.
#[derive(Debug, Clone, PartialEq)]
pub struct Created {
    /// Provider id.
    pub id: String,
    /// Attributes (a superset of the config's fields, as the provider reports them).
    pub attributes: Value,
}

/// What an in-place update is asked to do: the resource as recorded, the config to reach and
/// the config fields that differ.
#[derive(Debug, Clone, Copy)]
pub struct Update<'a> {
    /// The resource as recorded (its id, config and attributes before the update).
    pub recorded: &'a ResourceState,
    /// The declared config, references resolved.
    pub config: &'a Value,
    /// The changed fields, as JSON pointers into the config (`/tags`, `/settings/0`); empty
    /// when the update is due for another reason ([`Driver::due`]).
    pub changed: &'a [String],
}

impl Update<'_> {
    /// Whether the changed paths touch the top-level `field` (the field itself or a path
    /// under it).
    pub fn touches(&self, field: &str) -> bool {
        self.changed.iter().any(|c| {
            c.strip_prefix('/')
                .and_then(|c| c.strip_prefix(field))
                .is_some_and(|rest| rest.is_empty() || rest.starts_with('/'))
        })
    }
}

/// An existing object found by `import`.
#[derive(Debug, Clone, PartialEq)]
pub struct Imported {
    /// The config that reproduces it.
    pub config: Value,
    /// Its attributes.
    pub attributes: Value,
}

/// Interrupt requests shared by the CLI and the executor: the first stops scheduling, the
/// second abandons in-flight calls.
#[derive(Debug, Clone, Default)]
pub struct Cancel(Arc<CancelInner>);

#[derive(Debug, Default)]
struct CancelInner {
    count: AtomicU32,
    notify: Notify,
}

impl Cancel {
    /// A fresh, untriggered signal.
    pub fn new() -> Self {
        Self::default()
    }
    /// Requests interruption; returns how many have been requested so far.
    pub fn trigger(&self) -> u32 {
        let n = self.0.count.fetch_add(1, Ordering::SeqCst) + 1;
        self.0.notify.notify_waiters();
        n
    }
    /// How many interrupts were requested.
    pub fn count(&self) -> u32 {
        self.0.count.load(Ordering::SeqCst)
    }
    /// Waits until the count is at least `n`.
    pub async fn at_least(&self, n: u32) {
        loop {
            let notified = self.0.notify.notified();
            if self.count() >= n {
                return;
            }
            notified.await;
        }
    }
}

pub(crate) type CheckpointFn =
    Arc<dyn Fn(Value) -> Pin<Box<dyn Future<Output = Result<(), String>> + Send>> + Send + Sync>;
type UsableFn = Arc<dyn Fn(String, Value) + Send + Sync>;

/// What a driver call knows about its surroundings.
#[derive(Clone)]
pub struct DriverContext {
    /// The stack.
    pub stack: String,
    /// The resource address.
    pub address: String,
    events: EventSink,
    cancel: Cancel,
    checkpoint: Option<CheckpointFn>,
    usable: Option<UsableFn>,
}

impl std::fmt::Debug for DriverContext {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "DriverContext({}/{})", self.stack, self.address)
    }
}

impl DriverContext {
    /// A context for reads and tests: no checkpoints, no early-usable signal.
    pub fn detached(stack: &str, address: &str) -> Self {
        Self {
            stack: stack.to_string(),
            address: address.to_string(),
            events: EventSink::none(),
            cancel: Cancel::new(),
            checkpoint: None,
            usable: None,
        }
    }

    pub(crate) fn with(
        stack: &str,
        address: &str,
        events: EventSink,
        cancel: Cancel,
        checkpoint: Option<CheckpointFn>,
        usable: Option<UsableFn>,
    ) -> Self {
        Self {
            stack: stack.to_string(),
            address: address.to_string(),
            events,
            cancel,
            checkpoint,
            usable,
        }
    }

    /// The two tags every created resource that takes tags carries.
    pub fn ownership_tags(&self) -> Vec<String> {
        vec![
            format!("kapstan-stack={}", self.stack),
            format!("kapstan-addr={}", self.address),
        ]
    }

    /// Durably records what the driver knows so far (e.g. the id a create returned) before it
    /// waits, so that a crash leaves enough to resume instead of repeating.
    pub async fn checkpoint(&self, marker: Value) -> Result<(), DriverError> {
        match &self.checkpoint {
            Some(f) => f(marker).await.map_err(DriverError::failed),
            None => Ok(()),
        }
    }

    /// Declares the resource usable by its dependents before the operation finishes (e.g. a
    /// Kapsule cluster at `pool_required`).
    pub fn usable(&self, id: &str, attributes: Value) {
        if let Some(f) = &self.usable {
            f(id.to_string(), attributes);
        }
    }

    /// Reports progress of a long wait.
    pub fn progress(&self, message: impl Into<String>) {
        self.events.emit(Event::Progress {
            address: self.address.clone(),
            message: message.into(),
        });
    }

    /// Whether in-flight work should be abandoned (second interrupt).
    pub fn abandoned(&self) -> bool {
        self.cancel.count() >= 2
    }
}

/// A resource kind: the only way the engine touches the outside world.
#[async_trait]
pub trait Driver: Send + Sync {
    /// The kind's schema.
    fn schema(&self) -> &Schema;

    /// The kind name.
    fn kind(&self) -> &'static str {
        self.schema().kind
    }

    /// Checks values beyond the schema (ranges, formats, known node types), adding one error
    /// per problem to `errors` — the same sink the kinds' own checks push into. Called before
    /// any API call; unknown values (`{"$unknown": true}`) must be skipped.
    fn validate(&self, _config: &Value, _errors: &mut Vec<FieldError>) {}

    /// Every problem [`Driver::validate`] finds in `config`, in the order it finds them.
    fn problems(&self, config: &Value) -> Vec<FieldError> {
        let mut errors = vec![];
        self.validate(config, &mut errors);
        errors
    }

    /// Whether operations change something outside kapstan's state. Kinds without external
    /// effects (a generated password) need no write-ahead intent: there is nothing to orphan.
    fn has_external_effects(&self) -> bool {
        true
    }

    /// Why a resource must be updated even when its config is unchanged, judged from its
    /// record and the declared config (references unresolved), e.g. a certificate close to
    /// its expiry: `renew: expires in 12 days`. The planner plans an update with this reason;
    /// the driver's `update` then receives no changed field. `None`: nothing is due.
    fn due(&self, _recorded: &ResourceState, _declared: &Value) -> Option<String> {
        None
    }

    /// Reads the live attributes; `None` when the object is gone.
    async fn read(
        &self,
        ctx: &DriverContext,
        recorded: &ResourceState,
    ) -> Result<Option<Value>, DriverError>;

    /// Creates the object.
    async fn create(&self, ctx: &DriverContext, config: &Value) -> Result<Created, DriverError>;

    /// Updates in place the fields the [`Update`] says changed, to its config.
    async fn update(&self, ctx: &DriverContext, update: &Update<'_>) -> Result<Value, DriverError>;

    /// Deletes the object; an object already gone is a success.
    async fn delete(
        &self,
        ctx: &DriverContext,
        recorded: &ResourceState,
    ) -> Result<(), DriverError>;

    /// After an interrupted create (crash, lost response, timeout): finds the object the
    /// earlier run created, from the checkpoint `marker` or the ownership tags, and waits for it.
    /// `None` means nothing was created and a fresh create is safe. By default: a kind whose
    /// create adopts what an earlier run made ([`Driver::create_adopts`]) creates again,
    /// any other finds nothing.
    async fn recover(
        &self,
        ctx: &DriverContext,
        config: &Value,
        _marker: &Value,
    ) -> Result<Option<Created>, DriverError> {
        if self.create_adopts() {
            self.create(ctx, config).await.map(Some)
        } else {
            Ok(None)
        }
    }

    /// Whether running [`Driver::create`] again adopts what an interrupted create made
    /// (server-side apply, adopt-or-create), so that recovering is creating again.
    fn create_adopts(&self) -> bool {
        false
    }

    /// Whether [`Driver::describe`] lists the objects a change of this kind touches. The
    /// planner keeps a clear config for the describe step only for such kinds.
    fn describes_objects(&self) -> bool {
        false
    }

    /// Lists what a planned change does to the objects this resource manages (e.g. the
    /// Kubernetes objects a Helm chart renders): created, updated (with the changed paths when
    /// known) and deleted objects, by name, never with values.
    ///
    /// Called by the planner's describe step after the pure diff, only for kinds whose
    /// [`Driver::describes_objects`] is true, for creates, updates and replacements whose
    /// `config` holds no unknown value. `recorded` is the state of an update; it is `None` for
    /// a create and for a replacement (whose new object starts from nothing). It may read
    /// (render a chart, fetch a release record) but must change nothing. A failure does not
    /// fail the plan: it is shown instead of the objects, so its message must not hold a
    /// secret.
    async fn describe(
        &self,
        _ctx: &DriverContext,
        _recorded: Option<&ResourceState>,
        _config: &Value,
    ) -> Result<Vec<ObjectChange>, DriverError> {
        Ok(vec![])
    }

    /// Whether [`Driver::check_live`] checks anything; the planner keeps a clear config for
    /// the check only for such kinds.
    fn checks_live(&self) -> bool {
        false
    }

    /// Checks a planned create, replacement or update against what the live API offers now
    /// (for example a Kubernetes version past its end of life), where [`Driver::validate`]
    /// cannot know. Called by the planner after the diff, so a refused value fails the plan
    /// before any mutating call. `changed` holds the changed paths of an update and is `None`
    /// for a create or a replacement. It may read, never change; unknown values are skipped.
    async fn check_live(
        &self,
        _ctx: &DriverContext,
        _config: &Value,
        _changed: Option<&[String]>,
    ) -> Result<Vec<FieldError>, DriverError> {
        Ok(vec![])
    }

    /// Reads an existing object by id for `kapstan import`.
    async fn import(
        &self,
        _ctx: &DriverContext,
        _id: &str,
    ) -> Result<Option<Imported>, DriverError> {
        Err(DriverError::failed(format!(
            "{} cannot be imported",
            self.kind()
        )))
    }
}

/// The kinds a stack may use.
#[derive(Clone, Default)]
pub struct Registry {
    drivers: BTreeMap<String, Arc<dyn Driver>>,
}

impl std::fmt::Debug for Registry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.drivers.keys()).finish()
    }
}

impl Registry {
    /// An empty registry.
    pub fn new() -> Self {
        Self::default()
    }
    /// Registers a driver under its kind.
    pub fn register(&mut self, driver: Arc<dyn Driver>) -> &mut Self {
        self.drivers.insert(driver.kind().to_string(), driver);
        self
    }
    /// The driver of `kind`.
    pub fn get(&self, kind: &str) -> Option<&Arc<dyn Driver>> {
        self.drivers.get(kind)
    }
    /// Every registered kind.
    pub fn kinds(&self) -> impl Iterator<Item = &str> {
        self.drivers.keys().map(String::as_str)
    }
}
