//! `scaleway_lb_ip`: a flexible IP for a load balancer (zonal, tagged).

use kapstan_engine::state::ResourceState;
use kapstan_engine::{DriverError, FieldError, Resource, async_trait};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::client::api::ListFilter;
use super::client::wire::lb::{CreateIpRequest, Ip, UpdateIpRequest};
use super::client::{Client, Error as ApiErr, Zone};
use super::kind::{Kind, KindDriver, Op, PROJECT_DOC, TAGS_DOC, ZONE_DOC, fields};
use super::provider::{api, attributes, check, owned_tags, string, strings, user_tags};

/// Zones offering load balancers.
pub const LB_ZONES: &[&str] = &[
    "fr-par-1", "fr-par-2", "nl-ams-1", "nl-ams-2", "nl-ams-3", "pl-waw-1", "pl-waw-2", "pl-waw-3",
];

/// A load balancer flexible IP.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct LbIp {
    /// Reverse DNS (updated in place; default `a-b-c-d.lb.<region>.scw.cloud`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reverse: Option<String>,
    /// Tags (updated in place); kapstan adds its two ownership tags.
    #[serde(default)]
    pub tags: Vec<String>,
    /// IPv6 instead of IPv4. Changing it replaces the IP.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub is_ipv6: Option<bool>,
    /// Zone. Changing it replaces the IP.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub zone: Option<String>,
    /// Project. Changing it replaces the IP.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub project_id: Option<String>,
}

attributes! {
    /// Attributes of a `scaleway_lb_ip`.
    LbIpAttributes {
        /// The address.
        ip_address: String = "ip_address",
        /// The reverse DNS name.
        reverse: String = "reverse",
        /// The zone.
        zone: String = "zone",
    }
}

impl Resource for LbIp {
    const KIND: &'static str = "scaleway_lb_ip";
    type Attributes = LbIpAttributes;
}

/// The `scaleway_lb_ip` driver.
pub type LbIpDriver = KindDriver<LbIpKind>;

/// The declaration of `scaleway_lb_ip`.
#[derive(Debug)]
pub struct LbIpKind;

#[async_trait]
impl Kind for LbIpKind {
    const NAME: &'static str = "scaleway_lb_ip";
    type Place = Zone;
    type Wire = Ip;
    type Request = CreateIpRequest;

    fields! { Ip as i;
        id = i.id;
        tags = i.tags;
        "reverse": optional_computed, "reverse DNS (updated in place)" => i.reverse;
        "tags": optional, TAGS_DOC => user_tags(&i.tags);
        "is_ipv6": optional force_new, "IPv6 instead of IPv4" => i.ip_address.contains(':');
        "zone": optional_computed force_new, ZONE_DOC => i.zone;
        "project_id": optional_computed force_new, PROJECT_DOC => i.project_id;
        "ip_address": computed, "the address" => i.ip_address;
        "region": computed, "region of the zone"
            => i.zone.rsplit_once('-').map(|(r, _)| r).unwrap_or_default();
    }

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
        let Op { d, ctx, .. } = *op;
        Ok(CreateIpRequest {
            project_id: d.p.project_of(config)?,
            reverse: string(config, "reverse"),
            is_ipv6: config
                .get("is_ipv6")
                .and_then(Value::as_bool)
                .unwrap_or(false),
            tags: owned_tags(ctx, &strings(config, "tags")),
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
        let Op { ctx, c, at, .. } = *op;
        let req = UpdateIpRequest {
            reverse: string(config, "reverse"),
            lb_id: None,
            tags: Some(owned_tags(ctx, &strings(config, "tags"))),
        };
        c.lb(at).update_ip(id, &req).await.map_err(api)
    }

    async fn remove(c: &Client, at: &Zone, id: &str, _rec: &ResourceState) -> Result<(), ApiErr> {
        c.lb(at).release_ip(id).await
    }
}
