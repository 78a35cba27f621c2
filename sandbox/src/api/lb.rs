//! placeholder
use axum::Router;
use crate::server::Shared;
/// Store kind of LB private network attachments.
pub const LB_PN: &str = "lb.private_network";
pub(super) fn routes() -> Router<Shared> { Router::new() }
