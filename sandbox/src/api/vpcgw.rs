//! placeholder
use axum::Router;
use crate::server::Shared;
/// Store kind of gateway networks.
pub const GW_NET: &str = "vpcgw.gateway_network";
pub(super) fn routes() -> Router<Shared> { Router::new() }
