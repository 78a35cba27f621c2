//! `scaleway_lb_ip`: a flexible IP for a load balancer (zonal, tagged).

use kapstan_engine::{DriverError, FieldError};
use serde_json::Value;

use super::client::Zone;
use super::client::wire::lb::{CreateIpRequest, Ip, UpdateIpRequest};
use super::kind::{Op, kind, kind_impl};
use super::provider::{check, flag, string};

/// Zones offering load balancers.
pub const LB_ZONES: &[&str] = &[
    "fr-par-1", "fr-par-2", "nl-ams-1", "nl-ams-2", "nl-ams-3", "pl-waw-1", "pl-waw-2", "pl-waw-3",
];

kind! {
    /// A load balancer flexible IP.
    pub struct LbIp = "scaleway_lb_ip" (LbIpKind, LbIpAttributes, LbIpDriver);
    wire Ip as i, id i.id;
    /// reverse DNS (updated in place; default `a-b-c-d.lb.<region>.scw.cloud`)
    reverse: Option<String>, optional_computed => i.reverse;
    tags => i.tags;
    /// IPv6 instead of IPv4
    is_ipv6: Option<bool>, optional force_new => i.ip_address.contains(':');
    zone => i.zone;
    project_id => i.project_id;
    /// the address
    ip_address: String, computed => i.ip_address;
    /// region of the zone
    region: String, computed => i.zone.rsplit_once('-').map(|(r, _)| r).unwrap_or_default();
}

kind_impl! {
    impl Kind for LbIpKind, calls lb {
        get: get_ip; list_tagged: list_ips; post: create_ip; remove: release_ip;
    }
    update(op, config) => update_ip(UpdateIpRequest {
        reverse: string(config, "reverse"),
        lb_id: None,
        tags: Some(op.tags()),
    });

    type Place = Zone;
    type Request = CreateIpRequest;

    fn validate(config: &Value, e: &mut Vec<FieldError>) {
        check::one_of(config, "zone", LB_ZONES, "Load Balancer zone", e);
    }

    async fn request(op: &Op<'_, Self>) -> Result<CreateIpRequest, DriverError> {
        let config = op.config;
        Ok(CreateIpRequest {
            project_id: op.project()?,
            reverse: string(config, "reverse"),
            is_ipv6: flag(config, "is_ipv6").unwrap_or(false),
            tags: op.tags(),
        })
    }
}
