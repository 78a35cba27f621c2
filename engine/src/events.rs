//! The typed event stream of plan and apply, for progress bars and NDJSON.

use std::sync::Arc;
use std::time::Duration;

use serde::Serialize;

/// Something that happened during refresh or apply. Never carries a sensitive value.
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Event {
    /// Refresh of recorded resources started.
    RefreshStarted {
        /// How many resources will be read.
        resources: usize,
    },
    /// One resource was read.
    Refreshed {
        /// Its address.
        address: String,
        /// Whether it still exists.
        exists: bool,
    },
    /// Apply is starting.
    ApplyStarted {
        /// Number of operations.
        operations: usize,
    },
    /// An operation started.
    OperationStarted {
        /// Resource address.
        address: String,
        /// `create`, `update`, `delete`, ...
        action: String,
    },
    /// A driver reported progress.
    Progress {
        /// Resource address.
        address: String,
        /// What it is waiting for.
        message: String,
    },
    /// A resource became usable by its dependents before its operation finished.
    Usable {
        /// Resource address.
        address: String,
    },
    /// An operation finished.
    OperationFinished {
        /// Resource address.
        address: String,
        /// The action.
        action: String,
        /// Provider id, if any.
        id: Option<String>,
        /// How long it took.
        #[serde(with = "millis")]
        elapsed: Duration,
    },
    /// An operation failed.
    OperationFailed {
        /// Resource address.
        address: String,
        /// The action.
        action: String,
        /// The error.
        error: String,
    },
    /// An operation was not attempted.
    Skipped {
        /// Resource address.
        address: String,
        /// Why.
        reason: String,
    },
    /// State was saved.
    StateSaved {
        /// The new serial.
        serial: u64,
    },
    /// Interruption requested.
    Interrupted {
        /// 1 for the first Ctrl-C, 2 for the second.
        count: u32,
    },
    /// Apply finished.
    ApplyFinished {
        /// Operations that succeeded.
        succeeded: usize,
        /// Operations that failed.
        failed: usize,
        /// Operations skipped.
        skipped: usize,
    },
}

mod millis {
    use serde::Serializer;
    use std::time::Duration;
    pub fn serialize<S: Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_u64(d.as_millis() as u64)
    }
}

/// Where events go.
#[derive(Clone)]
pub struct EventSink(Arc<dyn Fn(&Event) + Send + Sync>);

impl EventSink {
    /// A sink calling `f` for each event.
    pub fn new(f: impl Fn(&Event) + Send + Sync + 'static) -> Self {
        Self(Arc::new(f))
    }
    /// A sink that drops events.
    pub fn none() -> Self {
        Self::new(|_| {})
    }
    /// Emits one event (also as a `tracing` event at debug level).
    pub fn emit(&self, event: Event) {
        tracing::debug!(?event, "kapstan event");
        (self.0)(&event)
    }
}

impl Default for EventSink {
    fn default() -> Self {
        Self::none()
    }
}

impl std::fmt::Debug for EventSink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("EventSink")
    }
}
