//! kapstan drivers: the resource kinds kapstan manages, grouped by the API they call.

pub mod local;
pub mod pricing;
pub mod scaleway;
