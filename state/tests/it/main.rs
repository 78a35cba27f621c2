//! The state tests, one binary (uv's `tests/it` layout): `s3` runs the S3 store against real
//! S3 servers; `support` is the shared test context that starts them. Both need the servers
//! `scripts/test` installs, so they are behind the `tools` feature and plain `cargo test` on a
//! fresh clone passes.

#[cfg(feature = "tools")]
mod support;

#[cfg(feature = "tools")]
mod s3;
