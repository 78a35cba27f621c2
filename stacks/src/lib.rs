//! placeholder

pub mod templates;
