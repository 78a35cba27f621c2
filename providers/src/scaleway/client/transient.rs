//! The 409 `transient_state` hook: a driver-supplied wait that runs before the call is retried.
//!
//! The client cannot know how to wait for an arbitrary resource (an RDB instance for a user
//! creation, a gateway for a gateway network), so the driver attaches a hook with
//! [`Client::with_transient_hook`](super::Client::with_transient_hook). A 409 is a definite
//! answer (nothing was done), so even a POST is safely retried after the wait.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use super::error::Error;

/// The conflict the API reported.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TransientConflict {
    /// HTTP method of the rejected call.
    pub method: String,
    /// Path of the rejected call.
    pub path: String,
    /// The busy resource kind, when the body says (`instance`, `gateway`…).
    pub resource: Option<String>,
    /// Its ID, when the body says.
    pub resource_id: Option<String>,
    /// Its current status, when the body says.
    pub current_state: Option<String>,
    /// How many waits already happened for this call (0 for the first).
    pub attempt: usize,
}

/// Future returned by a hook.
pub type HookFuture<'a> = Pin<Box<dyn Future<Output = Result<(), Error>> + Send + 'a>>;

/// Waits until the resource named in a conflict can be mutated again.
pub trait TransientStateHook: Send + Sync {
    /// Waits; an error aborts the call with that error.
    fn wait<'a>(&'a self, conflict: &'a TransientConflict) -> HookFuture<'a>;
}

struct FnHook<F>(F);

impl<F, Fut> TransientStateHook for FnHook<F>
where
    F: Fn(TransientConflict) -> Fut + Send + Sync,
    Fut: Future<Output = Result<(), Error>> + Send + 'static,
{
    fn wait<'a>(&'a self, conflict: &'a TransientConflict) -> HookFuture<'a> {
        Box::pin((self.0)(conflict.clone()))
    }
}

/// A hook from an async closure: `hook_fn(|c| async move { waiter.wait(&c).await })`.
pub fn hook_fn<F, Fut>(f: F) -> Arc<dyn TransientStateHook>
where
    F: Fn(TransientConflict) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<(), Error>> + Send + 'static,
{
    Arc::new(FnHook(f))
}
