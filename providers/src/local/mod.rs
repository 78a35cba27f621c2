//! Local resource kinds: no cloud involved. `random_password` generates a secret once and keeps
//! it sealed in state; `kapstan_test_object` is a controllable kind for tests, demos and
//! benchmarks.

mod random_password;
mod test_object;

pub use random_password::{RandomPassword, RandomPasswordAttributes, RandomPasswordDriver};
pub use test_object::{TestObject, TestObjectAttributes, TestObjectDriver};

use std::sync::Arc;

use kapstan_engine::Registry;

/// Registers the local kinds.
pub fn register(registry: &mut Registry) {
    registry.register(Arc::new(RandomPasswordDriver::new()));
    registry.register(Arc::new(TestObjectDriver::new()));
}
