//! placeholder
use axum::Router;
use crate::server::Shared;
pub(super) fn routes() -> Router<Shared> { Router::new() }
