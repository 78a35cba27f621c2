//! `scaleway_lb_ip`: a flexible IP for a load balancer (zonal, tagged).

use kapstan_engine::state::ResourceState;
use kapstan_engine::{DriverError, FieldError, async_trait};
use serde_json::Value;

use super::client::api::ListFilter;
use super::client::wire::lb::{CreateIpRequest, Ip, UpdateIpRequest};
use super::client::{Client, Error as ApiErr, Zone};
use super::kind::{Kind, Op, kind};
use super::provider::{api, check, string};

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

#[async_trait]
impl Kind for LbIpKind {
    type Place = Zone;
    type Request = CreateIpRequest;

    fn validate(config: &Value, e: &mut Vec<FieldError>) {
        check::one_of(config, "zone", LB_ZONES, "Load Balancer zone", e);
    }

    async fn get(c: &Client, at: &Zone, id: &str) -> Result<Option<Ip>, ApiErr> {
        c.lb(at).get_ip(id).await.map(Some)
    }

    async fn list_tagged(c: &Client, at: &Zone, tags: &[String]) -> Result<Vec<Ip>, ApiErr> {
        c.lb(at).list_ips(&ListFilter::tags(tags.to_vec())).await
    }

    async fn request(op: &Op<'_, Self>, config: &Value) -> Result<CreateIpRequest, DriverError> {
        Ok(CreateIpRequest {
            project_id: op.project(config)?,
            reverse: string(config, "reverse"),
            is_ipv6: config
                .get("is_ipv6")
                .and_then(Value::as_bool)
                .unwrap_or(false),
            tags: op.tags(config),
        })
    }

    async fn post(c: &Client, at: &Zone, req: &CreateIpRequest) -> Result<Ip, ApiErr> {
        c.lb(at).create_ip(req).await
    }

    async fn update(
        op: &Op<'_, Self>,
        id: &str,
        _rec: &ResourceState,
        config: &Value,
        _changed: &[String],
    ) -> Result<Ip, DriverError> {
        let Op { c, at, .. } = *op;
        let req = UpdateIpRequest {
            reverse: string(config, "reverse"),
            lb_id: None,
            tags: Some(op.tags(config)),
        };
        c.lb(at).update_ip(id, &req).await.map_err(api)
    }

    async fn remove(c: &Client, at: &Zone, id: &str, _rec: &ResourceState) -> Result<(), ApiErr> {
        c.lb(at).release_ip(id).await
    }
}
