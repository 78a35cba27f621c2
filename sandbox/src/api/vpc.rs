//! VPC `vpc/v2` (regional): VPCs, private networks and subnets (reference §5.1).

use axum::Router;
use axum::extract::{Path, State};
use axum::routing::{get, post};
use chrono::{DateTime, Utc};
use serde_json::{Value, json};

use super::{render, touch};
use crate::server::Shared;
use crate::store::{Record, Store};
use crate::wire::{
    ApiError, ApiResult, JsonBody, Query, REGIONS, check_region, check_uuid, has_tags,
    list_response, name_matches, new_id, no_content, ok, patch_field, tags, ts,
};

/// Store kind of VPCs.
pub const VPC: &str = "vpc.vpc";
/// Store kind of private networks.
pub const PN: &str = "vpc.private_network";

pub(super) fn routes() -> Router<Shared> {
    let base = "/vpc/v2/regions/{region}";
    Router::new()
        .route(&format!("{base}/vpcs"), get(list_vpcs).post(create_vpc))
        .route(
            &format!("{base}/vpcs/{{id}}"),
            get(get_vpc).patch(update_vpc).delete(delete_vpc),
        )
        .route(
            &format!("{base}/vpcs/{{id}}/enable-routing"),
            post(enable_routing),
        )
        .route(
            &format!("{base}/vpcs/{{id}}/enable-custom-routes-propagation"),
            post(enable_routing),
        )
        .route(
            &format!("{base}/private-networks"),
            get(list_pns).post(create_pn),
        )
        .route(
            &format!("{base}/private-networks/{{id}}"),
            get(get_pn).patch(update_pn).delete(delete_pn),
        )
        .route(
            &format!("{base}/private-networks/{{id}}/enable-dhcp"),
            post(enable_dhcp),
        )
        .route(&format!("{base}/subnets"), get(list_subnets))
}

fn render_vpc(s: &Store, rec: &Record, now: DateTime<Utc>) -> Value {
    let mut v = render(rec, now);
    let count = s
        .list(PN, now)
        .iter()
        .filter(|p| p.str("vpc_id") == rec.id)
        .count();
    v["private_network_count"] = json!(count);
    v
}

fn find<'a>(
    s: &'a Store,
    kind: &str,
    region: &str,
    id: &str,
    now: DateTime<Utc>,
) -> Result<&'a Record, ApiError> {
    let resource = if kind == VPC {
        "vpc"
    } else {
        "private_network"
    };
    s.get(kind, id, now)
        .filter(|r| r.str("region") == region)
        .ok_or_else(|| ApiError::not_found(resource, id))
}

async fn list_vpcs(State(st): State<Shared>, Path(region): Path<String>, q: Query) -> ApiResult {
    check_region(&region, REGIONS)?;
    let wanted_tags = q.all("tags");
    let is_default = q.bool("is_default")?;
    let items = st.read(|s, now| {
        s.list(VPC, now)
            .into_iter()
            .filter(|r| r.str("region") == region)
            .map(|r| render_vpc(s, r, now))
            .filter(|v| name_matches(v, q.get("name")) && has_tags(v, &wanted_tags))
            .filter(|v| q.get("project_id").is_none_or(|p| v["project_id"] == p))
            .filter(|v| is_default.is_none_or(|d| v["is_default"] == d))
            .collect::<Vec<_>>()
    });
    list_response("vpcs", items, &q, "created_at_asc")
}

/// Creates a VPC record (also used for the implicit default VPC).
#[allow(clippy::too_many_arguments)]
pub fn insert_vpc(
    s: &mut Store,
    region: &str,
    project: &str,
    name: &str,
    tags: Vec<String>,
    is_default: bool,
    transitivity: bool,
    now: DateTime<Utc>,
) -> String {
    let id = new_id();
    let body = json!({
        "id": id, "name": name, "tags": tags, "organization_id": project,
        "created_at": ts(now), "updated_at": ts(now), "project_id": project,
        "is_default": is_default, "private_network_count": 0,
        // Routing is always on nowadays, whatever the request says (observed).
        "routing_enabled": true, "custom_routes_propagation_enabled": true,
        "transitivity_enabled": transitivity, "region": region,
        "object_storage_private_access_enabled": false,
    });
    s.insert(VPC, &id, None, body, &[]);
    id
}

async fn create_vpc(
    State(st): State<Shared>,
    Path(region): Path<String>,
    body: JsonBody,
) -> ApiResult {
    check_region(&region, REGIONS)?;
    let name = body.req_str("name")?;
    let project = body
        .opt::<String>("project_id")?
        .unwrap_or_else(|| st.project_id.clone());
    check_uuid("project_id", &project)?;
    let tags = tags(&body)?;
    let transitivity = body.opt::<bool>("enable_transitivity")?.unwrap_or(false);
    body.opt::<bool>("enable_routing")?;
    let v = st.write(|s, now| {
        let id = insert_vpc(s, &region, &project, &name, tags, false, transitivity, now);
        Ok(render_vpc(s, s.get(VPC, &id, now).expect("inserted"), now))
    })?;
    ok(v)
}

async fn get_vpc(
    State(st): State<Shared>,
    Path((region, id)): Path<(String, String)>,
) -> ApiResult {
    check_region(&region, REGIONS)?;
    ok(st.read(|s, now| find(s, VPC, &region, &id, now).map(|r| render_vpc(s, r, now)))?)
}

async fn update_vpc(
    State(st): State<Shared>,
    Path((region, id)): Path<(String, String)>,
    body: JsonBody,
) -> ApiResult {
    check_region(&region, REGIONS)?;
    body.opt::<String>("name")?;
    body.opt::<Vec<String>>("tags")?;
    ok(st.write(|s, now| {
        find(s, VPC, &region, &id, now)?;
        let rec = s.get_mut(VPC, &id, now).expect("found");
        patch_field(rec.obj(), &body.0, "name");
        patch_field(rec.obj(), &body.0, "tags");
        touch(rec, now);
        Ok(render_vpc(s, s.get(VPC, &id, now).expect("found"), now))
    })?)
}

async fn enable_routing(
    State(st): State<Shared>,
    Path((region, id)): Path<(String, String)>,
) -> ApiResult {
    check_region(&region, REGIONS)?;
    ok(st.write(|s, now| {
        find(s, VPC, &region, &id, now)?;
        Ok(render_vpc(s, s.get(VPC, &id, now).expect("found"), now))
    })?)
}

async fn delete_vpc(
    State(st): State<Shared>,
    Path((region, id)): Path<(String, String)>,
) -> ApiResult {
    check_region(&region, REGIONS)?;
    st.write(|s, now| {
        find(s, VPC, &region, &id, now)?;
        if s.list(PN, now).iter().any(|p| p.str("vpc_id") == id) {
            return Err(ApiError::still_in_use("VPC must be empty to be deleted"));
        }
        s.remove(VPC, &id);
        Ok(())
    })?;
    no_content()
}

async fn list_pns(State(st): State<Shared>, Path(region): Path<String>, q: Query) -> ApiResult {
    check_region(&region, REGIONS)?;
    let wanted_tags = q.all("tags");
    let ids = q.all("private_network_ids");
    let items = st.read(|s, now| {
        s.list(PN, now)
            .into_iter()
            .filter(|r| r.str("region") == region)
            .filter(|r| ids.is_empty() || ids.contains(&r.id))
            .map(|r| render(r, now))
            .filter(|v| name_matches(v, q.get("name")) && has_tags(v, &wanted_tags))
            .filter(|v| q.get("project_id").is_none_or(|p| v["project_id"] == p))
            .filter(|v| q.get("vpc_id").is_none_or(|p| v["vpc_id"] == p))
            .collect::<Vec<_>>()
    });
    list_response("private_networks", items, &q, "created_at_asc")
}

/// Index of an automatically allocated /22 inside 172.16.0.0/12.
fn auto_v4(k: usize) -> String {
    format!("172.{}.{}.0/22", 16 + k / 64, (k % 64) * 4)
}

fn random_ula() -> String {
    use rand::RngExt;
    let mut rng = rand::rng();
    format!(
        "fd{:02x}:{:04x}:{:04x}:{:04x}::/64",
        rng.random::<u8>(),
        rng.random::<u16>(),
        rng.random::<u16>(),
        rng.random::<u16>()
    )
}

fn valid_cidr(c: &str) -> bool {
    let Some((ip, len)) = c.split_once('/') else {
        return false;
    };
    let Ok(len) = len.parse::<u8>() else {
        return false;
    };
    match ip.parse::<std::net::IpAddr>() {
        Ok(std::net::IpAddr::V4(_)) => len <= 32,
        Ok(std::net::IpAddr::V6(_)) => len <= 128,
        Err(_) => false,
    }
}

async fn create_pn(
    State(st): State<Shared>,
    Path(region): Path<String>,
    body: JsonBody,
) -> ApiResult {
    check_region(&region, REGIONS)?;
    let name = body.req_str("name")?;
    let project = body
        .opt::<String>("project_id")?
        .unwrap_or_else(|| st.project_id.clone());
    check_uuid("project_id", &project)?;
    let tags = tags(&body)?;
    let subnets = body.opt::<Vec<String>>("subnets")?;
    if let Some(bad) = subnets.iter().flatten().find(|c| !valid_cidr(c)) {
        return Err(ApiError::invalid(
            "subnets",
            "format",
            format!("{bad} is not a CIDR"),
        ));
    }
    let vpc_id = body.opt::<String>("vpc_id")?;
    let propagation = body
        .opt::<bool>("default_route_propagation_enabled")?
        .unwrap_or(false);
    let v = st.write(|s, now| {
        let vpc_id = match vpc_id {
            Some(v) => {
                find(s, VPC, &region, &v, now)?;
                v
            }
            None => match s.list(VPC, now).into_iter().find(|r| {
                r.str("region") == region
                    && r.str("project_id") == project
                    && r.body["is_default"] == true
            }) {
                Some(r) => r.id.clone(),
                None => insert_vpc(s, &region, &project, "default", vec![], true, false, now),
            },
        };
        let id = new_id();
        let cidrs = match subnets {
            Some(c) if !c.is_empty() => c,
            _ => {
                let used: Vec<String> = s
                    .list(PN, now)
                    .iter()
                    .filter(|p| p.str("region") == region)
                    .flat_map(|p| p.body["subnets"].as_array().cloned().unwrap_or_default())
                    .filter_map(|sn| sn["subnet"].as_str().map(str::to_string))
                    .collect();
                let k = (0..)
                    .find(|k| !used.contains(&auto_v4(*k)))
                    .expect("free subnet");
                vec![auto_v4(k), random_ula()]
            }
        };
        let subnets: Vec<Value> = cidrs
            .iter()
            .map(|c| json!({
                "id": new_id(), "created_at": ts(now), "updated_at": ts(now), "subnet": c,
                "project_id": project, "private_network_id": id, "vpc_id": vpc_id, "region": region,
            }))
            .collect();
        let body = json!({
            "id": id, "name": name, "tags": tags, "organization_id": project,
            "created_at": ts(now), "updated_at": ts(now), "project_id": project,
            "subnets": subnets, "vpc_id": vpc_id, "dhcp_enabled": true,
            "default_route_propagation_enabled": propagation, "has_object_storage_private_access": false, "region": region,
        });
        let rec = s.insert(PN, &id, None, body, &[]);
        rec.extra = json!({"next_host": 2});
        Ok(render(rec, now))
    })?;
    ok(v)
}

async fn get_pn(State(st): State<Shared>, Path((region, id)): Path<(String, String)>) -> ApiResult {
    check_region(&region, REGIONS)?;
    ok(st.read(|s, now| find(s, PN, &region, &id, now).map(|r| render(r, now)))?)
}

async fn update_pn(
    State(st): State<Shared>,
    Path((region, id)): Path<(String, String)>,
    body: JsonBody,
) -> ApiResult {
    check_region(&region, REGIONS)?;
    body.opt::<String>("name")?;
    body.opt::<Vec<String>>("tags")?;
    body.opt::<bool>("default_route_propagation_enabled")?;
    ok(st.write(|s, now| {
        find(s, PN, &region, &id, now)?;
        let rec = s.get_mut(PN, &id, now).expect("found");
        for k in ["name", "tags", "default_route_propagation_enabled"] {
            patch_field(rec.obj(), &body.0, k);
        }
        touch(rec, now);
        Ok(render(rec, now))
    })?)
}

async fn enable_dhcp(
    State(st): State<Shared>,
    Path((region, id)): Path<(String, String)>,
) -> ApiResult {
    check_region(&region, REGIONS)?;
    ok(st.write(|s, now| {
        find(s, PN, &region, &id, now)?;
        let rec = s.get_mut(PN, &id, now).expect("found");
        rec.obj().insert("dhcp_enabled".into(), json!(true));
        Ok(render(rec, now))
    })?)
}

/// What still uses a private network (clusters, RDB endpoints, LB attachments, gateways, IPs).
pub fn pn_users(s: &Store, pn: &str, now: DateTime<Utc>) -> usize {
    let clusters = s
        .list(super::k8s::CLUSTER, now)
        .iter()
        .filter(|c| c.str("private_network_id") == pn)
        .count();
    let attachments = s
        .list(super::lb::LB_PN, now)
        .iter()
        .filter(|a| a.str("private_network_id") == pn)
        .count();
    let gateways = s
        .list(super::vpcgw::GW_NET, now)
        .iter()
        .filter(|a| a.str("private_network_id") == pn)
        .count();
    let ips = s
        .list(super::ipam::IP, now)
        .iter()
        .filter(|ip| ip.extra["private_network_id"] == pn)
        .count();
    let rdb_static = s
        .list(super::rdb::INSTANCE, now)
        .iter()
        .filter(|i| {
            i.extra["endpoints"].as_array().is_some_and(|eps| {
                eps.iter()
                    .any(|e| e["private_network"]["private_network_id"] == pn)
            })
        })
        .count();
    clusters + attachments + gateways + ips + rdb_static
}

async fn delete_pn(
    State(st): State<Shared>,
    Path((region, id)): Path<(String, String)>,
) -> ApiResult {
    check_region(&region, REGIONS)?;
    st.write(|s, now| {
        find(s, PN, &region, &id, now)?;
        if pn_users(s, &id, now) > 0 {
            return Err(ApiError::still_in_use(
                "Private Network must be empty to be deleted",
            ));
        }
        s.remove(PN, &id);
        Ok(())
    })?;
    no_content()
}

async fn list_subnets(State(st): State<Shared>, Path(region): Path<String>, q: Query) -> ApiResult {
    check_region(&region, REGIONS)?;
    let ids = q.all("subnet_ids");
    let items = st.read(|s, now| {
        s.list(PN, now)
            .into_iter()
            .filter(|r| r.str("region") == region)
            .flat_map(|r| r.body["subnets"].as_array().cloned().unwrap_or_default())
            .filter(|sn| {
                ids.is_empty()
                    || sn["id"]
                        .as_str()
                        .is_some_and(|i| ids.iter().any(|w| w == i))
            })
            .filter(|sn| q.get("vpc_id").is_none_or(|v| sn["vpc_id"] == v))
            .filter(|sn| q.get("project_id").is_none_or(|v| sn["project_id"] == v))
            .collect::<Vec<_>>()
    });
    list_response("subnets", items, &q, "created_at_asc")
}

/// Allocates the next host address of a private network's subnets, as `(v4, v6, v4_subnet_id,
/// v6_subnet_id)` in CIDR notation (`172.16.0.2/22`).
pub fn allocate_in_pn(
    s: &mut Store,
    pn: &str,
    now: DateTime<Utc>,
) -> Option<Vec<(String, String, bool)>> {
    let rec = s.get_mut(PN, pn, now)?;
    let host = rec.extra["next_host"].as_u64().unwrap_or(2);
    rec.extra["next_host"] = json!(host + 1);
    let mut out = vec![];
    for sn in rec.body["subnets"].as_array().cloned().unwrap_or_default() {
        let (Some(cidr), Some(sid)) = (sn["subnet"].as_str(), sn["id"].as_str()) else {
            continue;
        };
        let Some((net, len)) = cidr.split_once('/') else {
            continue;
        };
        match net.parse::<std::net::IpAddr>() {
            Ok(std::net::IpAddr::V4(v4)) => {
                let addr = std::net::Ipv4Addr::from(u32::from(v4) + host as u32);
                out.push((format!("{addr}/{len}"), sid.to_string(), false));
            }
            Ok(std::net::IpAddr::V6(v6)) => {
                use rand::RngExt;
                let addr =
                    std::net::Ipv6Addr::from(u128::from(v6) + rand::rng().random::<u64>() as u128);
                out.push((format!("{addr}/{len}"), sid.to_string(), true));
            }
            Err(_) => {}
        }
    }
    Some(out)
}
