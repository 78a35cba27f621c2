//! Public Gateways `vpc-gw/v2` (zoned): gateway IPs, gateways and gateway networks.
//!
//! The reference does not detail this API; shapes follow Scaleway's public v2 documentation:
//! gateways go `allocating → running` and `deleting → 404`; gateway networks go
//! `attaching → ready` (their gateway shows `configuring` meanwhile).

use axum::Router;
use axum::extract::{Path, State};
use axum::routing::get;
use chrono::{DateTime, Utc};
use serde_json::{Value, json};

use super::{ipam, render, touch, vpc};
use crate::server::Shared;
use crate::store::{GONE, Parent, Record, Store};
use crate::wire::{
    ApiError, ApiResult, JsonBody, Query, ZONES, check_uuid, check_zone, has_tags, list_response,
    name_matches, new_id, no_content, ok, random_public_ip, region_of, tags, ts,
};

/// Store kind of gateway IPs.
pub const GW_IP: &str = "vpcgw.ip";
/// Store kind of gateways.
pub const GATEWAY: &str = "vpcgw.gateway";
/// Store kind of gateway networks.
pub const GW_NET: &str = "vpcgw.gateway_network";

const TYPES: &[(&str, u64)] = &[
    ("VPC-GW-S", 100_000_000),
    ("VPC-GW-M", 1_000_000_000),
    ("VPC-GW-L", 2_000_000_000),
    ("VPC-GW-XL", 5_000_000_000),
];

pub(super) fn routes() -> Router<Shared> {
    let base = "/vpc-gw/v2/zones/{zone}";
    Router::new()
        .route(&format!("{base}/gateway-types"), get(list_types))
        .route(&format!("{base}/ips"), get(list_ips).post(create_ip))
        .route(
            &format!("{base}/ips/{{id}}"),
            get(get_ip).patch(update_ip).delete(delete_ip),
        )
        .route(
            &format!("{base}/gateways"),
            get(list_gateways).post(create_gateway),
        )
        .route(
            &format!("{base}/gateways/{{id}}"),
            get(get_gateway)
                .patch(update_gateway)
                .delete(delete_gateway),
        )
        .route(
            &format!("{base}/gateway-networks"),
            get(list_gw_nets).post(create_gw_net),
        )
        .route(
            &format!("{base}/gateway-networks/{{id}}"),
            get(get_gw_net).patch(update_gw_net).delete(delete_gw_net),
        )
}

fn find<'a>(
    s: &'a Store,
    kind: &str,
    zone: &str,
    id: &str,
    now: DateTime<Utc>,
) -> Result<&'a Record, ApiError> {
    let resource = match kind {
        GW_IP => "ip",
        GATEWAY => "gateway",
        _ => "gateway_network",
    };
    s.get(kind, id, now)
        .filter(|r| r.str("zone") == zone)
        .ok_or_else(|| ApiError::not_found(resource, id))
}

fn gateway_status(s: &Store, rec: &Record, now: DateTime<Utc>) -> String {
    let raw = rec.status(now);
    if raw == "running"
        && s.list(GW_NET, now)
            .iter()
            .any(|n| n.str("gateway_id") == rec.id && n.status(now) == "attaching")
    {
        return "configuring".into();
    }
    raw.to_string()
}

fn find_stable<'a>(
    s: &'a Store,
    zone: &str,
    id: &str,
    now: DateTime<Utc>,
) -> Result<&'a Record, ApiError> {
    let rec = find(s, GATEWAY, zone, id, now)?;
    let status = gateway_status(s, rec, now);
    if status != "running" && status != "stopped" {
        return Err(ApiError::transient("gateway", id, &status));
    }
    Ok(rec)
}

fn render_gateway(s: &Store, rec: &Record, now: DateTime<Utc>) -> Value {
    let mut v = render(rec, now);
    v["status"] = json!(gateway_status(s, rec, now));
    v["ipv4"] = s
        .get(GW_IP, rec.str("ip_id"), now)
        .map(|i| render(i, now))
        .unwrap_or(Value::Null);
    v["gateway_networks"] = json!(
        s.list(GW_NET, now)
            .into_iter()
            .filter(|n| n.str("gateway_id") == rec.id)
            .map(|n| render(n, now))
            .collect::<Vec<_>>()
    );
    if let Some(o) = v.as_object_mut() {
        o.remove("ip_id");
    }
    v
}

async fn list_types(Path(zone): Path<String>) -> ApiResult {
    check_zone(&zone, ZONES)?;
    let types: Vec<Value> = TYPES
        .iter()
        .map(|(n, b)| json!({"name": n, "bandwidth": b, "zone": zone}))
        .collect();
    ok(json!({"types": types}))
}

fn insert_ip(
    s: &mut Store,
    zone: &str,
    project: &str,
    tags: Vec<String>,
    now: DateTime<Utc>,
) -> String {
    let id = new_id();
    let address = random_public_ip();
    let body = json!({
        "id": id, "organization_id": project, "project_id": project, "created_at": ts(now),
        "updated_at": ts(now), "tags": tags, "address": address,
        "reverse": format!("{}.instances.scw.cloud", address.replace('.', "-")),
        "gateway_id": null, "zone": zone,
    });
    s.insert(GW_IP, &id, None, body, &[]);
    id
}

async fn list_ips(State(st): State<Shared>, Path(zone): Path<String>, q: Query) -> ApiResult {
    check_zone(&zone, ZONES)?;
    let wanted = q.all("tags");
    let items = st.read(|s, now| {
        s.list(GW_IP, now)
            .into_iter()
            .filter(|r| r.str("zone") == zone)
            .map(|r| render(r, now))
            .filter(|v| has_tags(v, &wanted))
            .filter(|v| q.get("project_id").is_none_or(|p| v["project_id"] == p))
            .collect::<Vec<_>>()
    });
    list_response("ips", items, &q, "created_at_asc")
}

async fn create_ip(
    State(st): State<Shared>,
    Path(zone): Path<String>,
    body: JsonBody,
) -> ApiResult {
    check_zone(&zone, ZONES)?;
    let project = body
        .opt::<String>("project_id")?
        .unwrap_or_else(|| st.project_id.clone());
    check_uuid("project_id", &project)?;
    let tags = tags(&body)?;
    ok(st.write(|s, now| {
        let id = insert_ip(s, &zone, &project, tags, now);
        Ok(render(s.get(GW_IP, &id, now).expect("inserted"), now))
    })?)
}

async fn get_ip(State(st): State<Shared>, Path((zone, id)): Path<(String, String)>) -> ApiResult {
    check_zone(&zone, ZONES)?;
    ok(st.read(|s, now| find(s, GW_IP, &zone, &id, now).map(|r| render(r, now)))?)
}

async fn update_ip(
    State(st): State<Shared>,
    Path((zone, id)): Path<(String, String)>,
    body: JsonBody,
) -> ApiResult {
    check_zone(&zone, ZONES)?;
    let tags = body.opt::<Vec<String>>("tags")?;
    let reverse = body.opt::<String>("reverse")?;
    ok(st.write(|s, now| {
        find(s, GW_IP, &zone, &id, now)?;
        let rec = s.get_mut(GW_IP, &id, now).expect("found");
        if let Some(t) = tags {
            rec.obj().insert("tags".into(), json!(t));
        }
        if let Some(r) = reverse {
            rec.obj().insert("reverse".into(), json!(r));
        }
        touch(rec, now);
        Ok(render(rec, now))
    })?)
}

async fn delete_ip(
    State(st): State<Shared>,
    Path((zone, id)): Path<(String, String)>,
) -> ApiResult {
    check_zone(&zone, ZONES)?;
    st.write(|s, now| {
        find(s, GW_IP, &zone, &id, now)?;
        if s.list(GATEWAY, now).iter().any(|g| g.str("ip_id") == id) {
            return Err(ApiError::still_in_use("the IP is used by a gateway"));
        }
        s.remove(GW_IP, &id);
        Ok(())
    })?;
    no_content()
}

async fn list_gateways(State(st): State<Shared>, Path(zone): Path<String>, q: Query) -> ApiResult {
    check_zone(&zone, ZONES)?;
    let wanted = q.all("tags");
    let items = st.read(|s, now| {
        s.list(GATEWAY, now)
            .into_iter()
            .filter(|r| r.str("zone") == zone)
            .map(|r| render_gateway(s, r, now))
            .filter(|v| name_matches(v, q.get("name")) && has_tags(v, &wanted))
            .filter(|v| q.get("project_id").is_none_or(|p| v["project_id"] == p))
            .filter(|v| q.enum_filter("status").is_none_or(|p| v["status"] == p))
            .collect::<Vec<_>>()
    });
    list_response("gateways", items, &q, "created_at_asc")
}

async fn create_gateway(
    State(st): State<Shared>,
    Path(zone): Path<String>,
    body: JsonBody,
) -> ApiResult {
    check_zone(&zone, ZONES)?;
    let project = body
        .opt::<String>("project_id")?
        .unwrap_or_else(|| st.project_id.clone());
    check_uuid("project_id", &project)?;
    let name = body.req_str("name")?;
    let kind = body
        .opt::<String>("type")?
        .filter(|t| !t.is_empty())
        .unwrap_or_else(|| "VPC-GW-S".into());
    let bandwidth = TYPES
        .iter()
        .find(|t| t.0 == kind)
        .map(|t| t.1)
        .ok_or_else(|| {
            ApiError::invalid("type", "constraint", format!("unknown gateway type {kind}"))
        })?;
    let ip_id = body.opt::<String>("ip_id")?;
    let tags = tags(&body)?;
    let bastion = body.opt::<bool>("enable_bastion")?.unwrap_or(false);
    let bastion_port = body.opt::<u32>("bastion_port")?.unwrap_or(61000);
    let smtp = body.opt::<bool>("enable_smtp")?.unwrap_or(false);
    ok(st.write(|s, now| {
        let ip_id = match ip_id {
            Some(ip) => {
                find(s, GW_IP, &zone, &ip, now)?;
                if s.list(GATEWAY, now).iter().any(|g| g.str("ip_id") == ip) {
                    return Err(ApiError::invalid(
                        "ip_id",
                        "constraint",
                        "the IP is already used by a gateway",
                    ));
                }
                ip
            }
            None => insert_ip(s, &zone, &project, vec![], now),
        };
        let id = new_id();
        s.get_mut(GW_IP, &ip_id, now)
            .expect("exists")
            .obj()
            .insert("gateway_id".into(), json!(id));
        let body = json!({
            "id": id, "organization_id": project, "project_id": project, "created_at": ts(now),
            "updated_at": ts(now), "type": kind, "bandwidth": bandwidth, "name": name, "tags": tags,
            "ip_id": ip_id, "version": "0.7.4", "can_upgrade_to": null, "bastion_enabled": bastion,
            "bastion_port": bastion_port, "smtp_enabled": smtp, "is_legacy": false,
            "bastion_allowed_ips": ["0.0.0.0/0"], "zone": zone,
        });
        let running = st.later(now, st.durations.gateway_create);
        s.insert(
            GATEWAY,
            &id,
            None,
            body,
            &[("allocating", now), ("running", running)],
        );
        Ok(render_gateway(
            s,
            s.get(GATEWAY, &id, now).expect("inserted"),
            now,
        ))
    })?)
}

async fn get_gateway(
    State(st): State<Shared>,
    Path((zone, id)): Path<(String, String)>,
) -> ApiResult {
    check_zone(&zone, ZONES)?;
    ok(st.read(|s, now| find(s, GATEWAY, &zone, &id, now).map(|r| render_gateway(s, r, now)))?)
}

async fn update_gateway(
    State(st): State<Shared>,
    Path((zone, id)): Path<(String, String)>,
    body: JsonBody,
) -> ApiResult {
    check_zone(&zone, ZONES)?;
    let name = body.opt::<String>("name")?;
    let tags = body.opt::<Vec<String>>("tags")?;
    let bastion = body.opt::<bool>("enable_bastion")?;
    let port = body.opt::<u32>("bastion_port")?;
    let smtp = body.opt::<bool>("enable_smtp")?;
    ok(st.write(|s, now| {
        find_stable(s, &zone, &id, now)?;
        let rec = s.get_mut(GATEWAY, &id, now).expect("found");
        let o = rec.obj();
        if let Some(v) = name {
            o.insert("name".into(), json!(v));
        }
        if let Some(v) = tags {
            o.insert("tags".into(), json!(v));
        }
        if let Some(v) = bastion {
            o.insert("bastion_enabled".into(), json!(v));
        }
        if let Some(v) = port {
            o.insert("bastion_port".into(), json!(v));
        }
        if let Some(v) = smtp {
            o.insert("smtp_enabled".into(), json!(v));
        }
        touch(rec, now);
        Ok(render_gateway(
            s,
            s.get(GATEWAY, &id, now).expect("found"),
            now,
        ))
    })?)
}

async fn delete_gateway(
    State(st): State<Shared>,
    Path((zone, id)): Path<(String, String)>,
    q: Query,
) -> ApiResult {
    check_zone(&zone, ZONES)?;
    let delete_ip = q.bool("delete_ip")?.unwrap_or(false);
    st.write(|s, now| {
        let rec = find_stable(s, &zone, &id, now)?;
        let ip = rec.str("ip_id").to_string();
        if s.list(GW_NET, now)
            .iter()
            .any(|n| n.str("gateway_id") == id)
        {
            return Err(ApiError::still_in_use(
                "the gateway still has gateway networks",
            ));
        }
        if delete_ip {
            s.remove(GW_IP, &ip);
        } else if let Some(r) = s.get_mut(GW_IP, &ip, now) {
            r.obj().insert("gateway_id".into(), Value::Null);
        }
        let end = st.later(now, st.durations.gateway_create / 3);
        let rec = s.get_mut(GATEWAY, &id, now).expect("found");
        rec.obj().insert("ip_id".into(), json!(""));
        rec.schedule(&[("deleting", now), (GONE, end)]);
        Ok(())
    })?;
    no_content()
}

async fn list_gw_nets(State(st): State<Shared>, Path(zone): Path<String>, q: Query) -> ApiResult {
    check_zone(&zone, ZONES)?;
    let items = st.read(|s, now| {
        s.list(GW_NET, now)
            .into_iter()
            .filter(|r| r.str("zone") == zone)
            .map(|r| render(r, now))
            .filter(|v| q.get("gateway_id").is_none_or(|p| v["gateway_id"] == p))
            .filter(|v| {
                q.get("private_network_id")
                    .is_none_or(|p| v["private_network_id"] == p)
            })
            .filter(|v| q.enum_filter("status").is_none_or(|p| v["status"] == p))
            .collect::<Vec<_>>()
    });
    list_response("gateway_networks", items, &q, "created_at_asc")
}

async fn create_gw_net(
    State(st): State<Shared>,
    Path(zone): Path<String>,
    body: JsonBody,
) -> ApiResult {
    check_zone(&zone, ZONES)?;
    let gateway = body.req_str("gateway_id")?;
    let pn = body.req_str("private_network_id")?;
    let masquerade = body.opt::<bool>("enable_masquerade")?.unwrap_or(true);
    let push_default_route = body.opt::<bool>("push_default_route")?.unwrap_or(false);
    let ipam_ip = body.opt::<String>("ipam_ip_id")?;
    ok(st.write(|s, now| {
        let gw = find_stable(s, &zone, &gateway, now)?;
        let project = gw.str("project_id").to_string();
        let region = region_of(&zone);
        s.get(vpc::PN, &pn, now).filter(|p| p.str("region") == region).ok_or_else(|| ApiError::not_found("private_network", &pn))?;
        if s.list(GW_NET, now).iter().any(|n| n.str("gateway_id") == gateway && n.str("private_network_id") == pn) {
            return Err(ApiError::already_exists("gateway_network", &pn, "the private network is already attached to this gateway"));
        }
        let id = new_id();
        let ip_id = match ipam_ip {
            Some(ip) => {
                s.get(ipam::IP, &ip, now).ok_or_else(|| ApiError::not_found("ip", &ip))?;
                ip
            }
            None => {
                let resource = json!({"type": "vpc_gateway_network", "id": id, "mac_address": null, "name": null});
                let parent = Parent { kind: GW_NET.into(), id: id.clone() };
                ipam::book_in_pn(s, &region, &project, &pn, resource, Some(parent), true, now).into_iter().next().unwrap_or_default()
            }
        };
        let body = json!({
            "id": id, "created_at": ts(now), "updated_at": ts(now), "gateway_id": gateway,
            "private_network_id": pn, "mac_address": "02:00:00:00:00:01",
            "masquerade_enabled": masquerade, "push_default_route": push_default_route,
            "ipam_ip_id": ip_id, "zone": zone,
        });
        let end = st.later(now, st.durations.gateway_network_attach);
        s.insert(GW_NET, &id, Some(Parent { kind: GATEWAY.into(), id: gateway.clone() }), body, &[("attaching", now), ("ready", end)]);
        Ok(render(s.get(GW_NET, &id, now).expect("inserted"), now))
    })?)
}

async fn get_gw_net(
    State(st): State<Shared>,
    Path((zone, id)): Path<(String, String)>,
) -> ApiResult {
    check_zone(&zone, ZONES)?;
    ok(st.read(|s, now| find(s, GW_NET, &zone, &id, now).map(|r| render(r, now)))?)
}

async fn update_gw_net(
    State(st): State<Shared>,
    Path((zone, id)): Path<(String, String)>,
    body: JsonBody,
) -> ApiResult {
    check_zone(&zone, ZONES)?;
    let masquerade = body.opt::<bool>("enable_masquerade")?;
    let push = body.opt::<bool>("push_default_route")?;
    ok(st.write(|s, now| {
        let rec = find(s, GW_NET, &zone, &id, now)?;
        if rec.status(now) != "ready" {
            return Err(ApiError::transient("gateway_network", &id, rec.status(now)));
        }
        let rec = s.get_mut(GW_NET, &id, now).expect("found");
        if let Some(v) = masquerade {
            rec.obj().insert("masquerade_enabled".into(), json!(v));
        }
        if let Some(v) = push {
            rec.obj().insert("push_default_route".into(), json!(v));
        }
        touch(rec, now);
        Ok(render(rec, now))
    })?)
}

async fn delete_gw_net(
    State(st): State<Shared>,
    Path((zone, id)): Path<(String, String)>,
) -> ApiResult {
    check_zone(&zone, ZONES)?;
    st.write(|s, now| {
        let rec = find(s, GW_NET, &zone, &id, now)?;
        if rec.status(now) != "ready" {
            return Err(ApiError::transient("gateway_network", &id, rec.status(now)));
        }
        s.remove(GW_NET, &id);
        s.purge(now);
        Ok(())
    })?;
    no_content()
}
