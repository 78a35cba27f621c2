//! The `kapstan` binary.
fn main() {}
