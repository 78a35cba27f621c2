//! Load Balancer `lb/v1` zoned API: flexible IPs, load balancers, frontends, backends and
//! private network attachments (reference §4).
//!
//! LBs go `to_create → creating → ready`, `migrating → ready`, `to_delete → 404`; PN
//! attachments `pending → ready`. 404 bodies are LB's untyped `{"message":"<kind> not Found"}`.
//! Durations on the wire are integers in milliseconds, except `timeout_queue` and
//! `transient_check_delay` which are duration strings.

use axum::Router;
use axum::extract::{Path, State};
use axum::routing::{get, post, put};
use chrono::{DateTime, Utc};
use serde_json::{Map, Value, json};

use super::{ipam, render, touch, vpc};
use crate::server::{AppState, Shared};
use crate::store::{GONE, Parent, Record, Store};
use crate::wire::{
    ApiError, ApiResult, JsonBody, Query, ZONES, check_uuid, check_zone, has_tags, list_response,
    name_matches, new_id, no_content, ok, random_public_ip, random_public_ipv6, region_of, tags,
    ts,
};

/// Store kind of load balancers.
pub const LB: &str = "lb.lb";
/// Store kind of flexible IPs.
pub const IP: &str = "lb.ip";
/// Store kind of private network attachments (key `lb/pn`).
pub const LB_PN: &str = "lb.private_network";
/// Store kind of frontends.
pub const FRONTEND: &str = "lb.frontend";
/// Store kind of backends.
pub const BACKEND: &str = "lb.backend";

const LB_ZONES: &[&str] = &[
    "fr-par-1", "fr-par-2", "nl-ams-1", "nl-ams-2", "nl-ams-3", "pl-waw-1", "pl-waw-2", "pl-waw-3",
];
const LB_TYPES: &[(&str, u64)] = &[
    ("LB-S", 200_000_000),
    ("LB-GP-M", 500_000_000),
    ("LB-GP-L", 1_000_000_000),
    ("LB-GP-XL", 4_000_000_000),
];
const TRANSIENT: &[&str] = &[
    "pending",
    "migrating",
    "to_create",
    "creating",
    "to_delete",
    "deleting",
];
const SSL_LEVELS: &[&str] = &[
    "ssl_compatibility_level_intermediate",
    "ssl_compatibility_level_modern",
    "ssl_compatibility_level_old",
];

pub(super) fn routes() -> Router<Shared> {
    let base = "/lb/v1/zones/{zone}";
    Router::new()
        .route(&format!("{base}/lb-types"), get(list_lb_types))
        .route(&format!("{base}/ips"), get(list_ips).post(create_ip))
        .route(
            &format!("{base}/ips/{{id}}"),
            get(get_ip).patch(update_ip).delete(release_ip),
        )
        .route(&format!("{base}/lbs"), get(list_lbs).post(create_lb))
        .route(
            &format!("{base}/lbs/{{id}}"),
            get(get_lb).put(update_lb).delete(delete_lb),
        )
        .route(&format!("{base}/lbs/{{id}}/migrate"), post(migrate_lb))
        .route(
            &format!("{base}/lbs/{{id}}/private-networks"),
            get(list_lb_pns),
        )
        .route(
            &format!("{base}/lbs/{{id}}/attach-private-network"),
            post(attach_pn),
        )
        .route(
            &format!("{base}/lbs/{{id}}/detach-private-network"),
            post(detach_pn),
        )
        .route(
            &format!("{base}/lbs/{{id}}/backends"),
            get(list_backends).post(create_backend),
        )
        .route(
            &format!("{base}/backends/{{id}}"),
            get(get_backend).put(update_backend).delete(delete_backend),
        )
        .route(
            &format!("{base}/backends/{{id}}/servers"),
            post(add_servers).put(set_servers).delete(remove_servers),
        )
        .route(
            &format!("{base}/backends/{{id}}/healthcheck"),
            put(update_healthcheck),
        )
        .route(
            &format!("{base}/lbs/{{id}}/frontends"),
            get(list_frontends).post(create_frontend),
        )
        .route(
            &format!("{base}/frontends/{{id}}"),
            get(get_frontend)
                .put(update_frontend)
                .delete(delete_frontend),
        )
}

fn zone_ok(zone: &str) -> Result<(), ApiError> {
    check_zone(zone, LB_ZONES)?;
    debug_assert!(ZONES.contains(&zone));
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Types and IPs

async fn list_lb_types(Path(zone): Path<String>, q: Query) -> ApiResult {
    zone_ok(&zone)?;
    let items = LB_TYPES
        .iter()
        .map(|(name, bw)| json!({"name": name, "stock_status": "available", "description": format!("{name} (sandbox)"), "bandwidth": bw, "multicloud": false, "region": region_of(&zone), "zone": zone}))
        .collect();
    list_response("lb_types", items, &q, "created_at_asc")
}

fn find<'a>(
    s: &'a Store,
    kind: &str,
    zone: &str,
    id: &str,
    now: DateTime<Utc>,
) -> Result<&'a Record, ApiError> {
    let what = match kind {
        LB => "lbs",
        IP => "ips",
        FRONTEND => "frontend",
        BACKEND => "backend",
        _ => "privateNetwork",
    };
    s.get(kind, id, now)
        .filter(|r| r.str("zone") == zone)
        .ok_or_else(|| ApiError::lb_not_found(what))
}

#[allow(clippy::too_many_arguments)]
fn new_ip(
    s: &mut Store,
    zone: &str,
    project: &str,
    reverse: Option<String>,
    tags: Vec<String>,
    ipv6: bool,
    now: DateTime<Utc>,
) -> String {
    let id = new_id();
    let address = if ipv6 {
        random_public_ipv6()
    } else {
        random_public_ip()
    };
    let region = region_of(zone);
    let reverse = reverse
        .filter(|r| !r.is_empty())
        .unwrap_or_else(|| format!("{}.lb.{region}.scw.cloud", address.replace(['.', ':'], "-")));
    let body = json!({
        "id": id, "ip_address": address, "lb_id": null, "organization_id": project,
        "project_id": project, "region": region, "reverse": reverse, "tags": tags, "zone": zone,
    });
    s.insert(IP, &id, None, body, &[]);
    let _ = now;
    id
}

/// A flexible IP; `lb_id` is null once its load balancer is gone.
fn render_ip(s: &Store, rec: &Record, now: DateTime<Utc>) -> Value {
    let mut v = render(rec, now);
    if v["lb_id"]
        .as_str()
        .is_some_and(|lb| s.get(LB, lb, now).is_none())
    {
        v["lb_id"] = Value::Null;
    }
    v
}

async fn list_ips(State(st): State<Shared>, Path(zone): Path<String>, q: Query) -> ApiResult {
    zone_ok(&zone)?;
    let wanted_tags = q.all("tags");
    let items = st.read(|s, now| {
        s.list(IP, now)
            .into_iter()
            .filter(|r| r.str("zone") == zone)
            .map(|r| render_ip(s, r, now))
            .filter(|v| has_tags(v, &wanted_tags))
            .filter(|v| q.get("ip_address").is_none_or(|a| v["ip_address"] == a))
            .filter(|v| q.get("project_id").is_none_or(|a| v["project_id"] == a))
            .filter(|v| match q.enum_filter("ip_type") {
                Some("ipv4") => v["ip_address"].as_str().is_some_and(|a| !a.contains(':')),
                Some("ipv6") => v["ip_address"].as_str().is_some_and(|a| a.contains(':')),
                _ => true,
            })
            .collect::<Vec<_>>()
    });
    list_response("ips", items, &q, "created_at_asc")
}

async fn create_ip(
    State(st): State<Shared>,
    Path(zone): Path<String>,
    body: JsonBody,
) -> ApiResult {
    zone_ok(&zone)?;
    let project = body
        .opt::<String>("project_id")?
        .unwrap_or_else(|| st.project_id.clone());
    check_uuid("project_id", &project)?;
    let ipv6 = body.opt::<bool>("is_ipv6")?.unwrap_or(false);
    let reverse = body.opt::<String>("reverse")?;
    let tags = tags(&body)?;
    ok(st.write(|s, now| {
        let id = new_ip(s, &zone, &project, reverse, tags, ipv6, now);
        Ok(render_ip(s, s.get(IP, &id, now).expect("inserted"), now))
    })?)
}

async fn get_ip(State(st): State<Shared>, Path((zone, id)): Path<(String, String)>) -> ApiResult {
    zone_ok(&zone)?;
    ok(st.read(|s, now| find(s, IP, &zone, &id, now).map(|r| render_ip(s, r, now)))?)
}

async fn update_ip(
    State(st): State<Shared>,
    Path((zone, id)): Path<(String, String)>,
    body: JsonBody,
) -> ApiResult {
    zone_ok(&zone)?;
    let reverse = body.opt::<String>("reverse")?;
    let tags = body.opt::<Vec<String>>("tags")?;
    let lb_id = body.opt::<String>("lb_id")?;
    ok(st.write(|s, now| {
        find(s, IP, &zone, &id, now)?;
        if let Some(lb) = &lb_id {
            find(s, LB, &zone, lb, now)?;
            check_attachable(s, &id, lb, now)?;
        }
        let rec = s.get_mut(IP, &id, now).expect("found");
        if let Some(r) = reverse {
            rec.obj().insert("reverse".into(), json!(r));
        }
        if let Some(t) = tags {
            rec.obj().insert("tags".into(), json!(t));
        }
        if let Some(l) = lb_id {
            rec.obj().insert("lb_id".into(), json!(l));
        }
        Ok(render_ip(s, s.get(IP, &id, now).expect("found"), now))
    })?)
}

fn is_v6(rec: &Record) -> bool {
    rec.str("ip_address").contains(':')
}

/// A load balancer holds one flexible IPv4 and at most one IPv6, and its IPv4 cannot change
/// (Scaleway: "you cannot detach its flexible IP after creation to attach a different one. You
/// can attach a flexible IPv6 to a Load Balancer that does not already have one").
fn check_attachable(s: &Store, ip: &str, lb: &str, now: DateTime<Utc>) -> Result<(), ApiError> {
    let rec = s.get(IP, ip, now).expect("found");
    let current = rec.body["lb_id"].as_str().unwrap_or_default();
    if current == lb {
        return Ok(());
    }
    if s.get(LB, current, now).is_some() {
        return Err(ApiError::invalid(
            "lb_id",
            "constraint",
            format!("IP {ip} is already attached to load balancer {current}"),
        ));
    }
    let v6 = is_v6(rec);
    if s.list(IP, now)
        .iter()
        .any(|i| i.body["lb_id"] == lb && is_v6(i) == v6)
    {
        return Err(ApiError::invalid(
            "lb_id",
            "constraint",
            if v6 {
                "the load balancer already has a flexible IPv6"
            } else {
                "the flexible IPv4 of a load balancer cannot be changed"
            },
        ));
    }
    Ok(())
}

async fn release_ip(
    State(st): State<Shared>,
    Path((zone, id)): Path<(String, String)>,
) -> ApiResult {
    zone_ok(&zone)?;
    st.write(|s, now| {
        let rec = find(s, IP, &zone, &id, now)?;
        if let Some(lb) = rec.body["lb_id"].as_str()
            && s.get(LB, lb, now).is_some()
        {
            return Err(ApiError::still_in_use(
                "the IP is attached to a load balancer",
            ));
        }
        s.remove(IP, &id);
        Ok(())
    })?;
    no_content()
}

// ---------------------------------------------------------------------------------------------
// Load balancers

fn render_lb(s: &Store, rec: &Record, now: DateTime<Utc>) -> Value {
    let mut v = render(rec, now);
    let status = rec.status(now);
    let ips: Vec<Value> = s
        .list(IP, now)
        .into_iter()
        .filter(|i| i.body["lb_id"] == rec.id.as_str())
        .map(|i| render_ip(s, i, now))
        .collect();
    v["ip"] = json!(ips);
    let count = |kind: &str| {
        s.list(kind, now)
            .iter()
            .filter(|r| r.body["lb_id"] == rec.id.as_str())
            .count()
    };
    v["frontend_count"] = json!(count(FRONTEND));
    v["backend_count"] = json!(count(BACKEND));
    v["private_network_count"] = json!(count(LB_PN));
    v["route_count"] = json!(0);
    let instance_status = match status {
        "to_create" => None,
        "creating" => Some("unknown"),
        "migrating" => Some("pending"),
        _ => Some("ready"),
    };
    v["instances"] = match instance_status {
        None => json!([]),
        Some(st) => json!([{
            "created_at": rec.str("created_at"), "id": rec.extra["instance_id"], "ip_address": "",
            "region": rec.str("region"), "status": st, "updated_at": v["updated_at"], "zone": rec.str("zone"),
        }]),
    };
    v
}

fn find_stable_lb<'a>(
    s: &'a Store,
    zone: &str,
    id: &str,
    now: DateTime<Utc>,
) -> Result<&'a Record, ApiError> {
    let rec = find(s, LB, zone, id, now)?;
    let status = rec.status(now);
    if TRANSIENT.contains(&status) {
        return Err(ApiError::transient("lb", id, status));
    }
    Ok(rec)
}

async fn list_lbs(State(st): State<Shared>, Path(zone): Path<String>, q: Query) -> ApiResult {
    zone_ok(&zone)?;
    let wanted_tags = q.all("tags");
    let ids = q.all("lb_ids");
    let items = st.read(|s, now| {
        s.list(LB, now)
            .into_iter()
            .filter(|r| r.str("zone") == zone)
            .filter(|r| ids.is_empty() || ids.contains(&r.id))
            .map(|r| render_lb(s, r, now))
            .filter(|v| name_matches(v, q.get("name")) && has_tags(v, &wanted_tags))
            .filter(|v| q.get("project_id").is_none_or(|p| v["project_id"] == p))
            .collect::<Vec<_>>()
    });
    list_response("lbs", items, &q, "created_at_asc")
}

fn ssl_level(body: &JsonBody, required: bool) -> Result<String, ApiError> {
    match body.opt_enum("ssl_compatibility_level", SSL_LEVELS)? {
        Some(l) => Ok(l),
        None if required => Err(ApiError::invalid(
            "ssl_compatibility_level",
            "required",
            "ssl_compatibility_level is required",
        )),
        None => Ok(SSL_LEVELS[0].to_string()),
    }
}

async fn create_lb(
    State(st): State<Shared>,
    Path(zone): Path<String>,
    body: JsonBody,
) -> ApiResult {
    zone_ok(&zone)?;
    let project = body
        .opt::<String>("project_id")?
        .unwrap_or_else(|| st.project_id.clone());
    check_uuid("project_id", &project)?;
    let name = body.req_str("name")?;
    let kind = body.req_str("type")?;
    if !LB_TYPES.iter().any(|t| t.0.eq_ignore_ascii_case(&kind)) {
        return Err(ApiError::invalid(
            "type",
            "constraint",
            format!("unknown load balancer type {kind}, see /lb-types"),
        ));
    }
    let description = body.opt::<String>("description")?.unwrap_or_default();
    let tags = tags(&body)?;
    let ssl = ssl_level(&body, false)?;
    let mut ip_ids: Vec<String> = body.opt("ip_ids")?.unwrap_or_default();
    if let Some(ip) = body.opt::<String>("ip_id")?.filter(|i| !i.is_empty()) {
        ip_ids.push(ip);
    }
    let assign = body.opt::<bool>("assign_flexible_ip")?.unwrap_or(true);
    ok(st.write(|s, now| {
        let (mut v4, mut v6) = (0, 0);
        for ip in &ip_ids {
            if is_v6(find(s, IP, &zone, ip, now)?) {
                v6 += 1;
            } else {
                v4 += 1;
            }
        }
        // A public load balancer has one IPv4 and at most one IPv6, never an IPv6 alone.
        if v4 > 1 || v6 > 1 || (v4 == 0 && v6 > 0) {
            return Err(ApiError::invalid(
                "ip_ids",
                "constraint",
                "give one flexible IPv4 and at most one IPv6",
            ));
        }
        for ip in &ip_ids {
            let rec = find(s, IP, &zone, ip, now)?;
            if rec.body["lb_id"]
                .as_str()
                .is_some_and(|l| s.get(LB, l, now).is_some())
            {
                return Err(ApiError::invalid(
                    "ip_id",
                    "constraint",
                    format!("IP {ip} is already attached to a load balancer"),
                ));
            }
        }
        if ip_ids.is_empty() && assign {
            ip_ids.push(new_ip(s, &zone, &project, None, vec![], false, now));
        }
        let id = new_id();
        for ip in &ip_ids {
            s.get_mut(IP, ip, now)
                .expect("checked")
                .obj()
                .insert("lb_id".into(), json!(id));
        }
        let body = json!({
            "backend_count": 0, "created_at": ts(now), "description": description,
            "frontend_count": 0, "id": id, "instances": [], "ip": [], "name": name,
            "organization_id": project, "private_network_count": 0, "project_id": project,
            "region": region_of(&zone), "route_count": 0, "ssl_compatibility_level": ssl,
            "subscriber": null, "tags": tags, "type": kind.to_ascii_lowercase(),
            "updated_at": ts(now), "zone": zone,
        });
        let d = st.durations.lb_create;
        let (creating, ready) = (st.later(now, d / 10), st.later(now, d));
        let rec = s.insert(
            LB,
            &id,
            None,
            body,
            &[("to_create", now), ("creating", creating), ("ready", ready)],
        );
        rec.extra = json!({"instance_id": new_id()});
        Ok(render_lb(s, s.get(LB, &id, now).expect("inserted"), now))
    })?)
}

async fn get_lb(State(st): State<Shared>, Path((zone, id)): Path<(String, String)>) -> ApiResult {
    zone_ok(&zone)?;
    ok(st.read(|s, now| find(s, LB, &zone, &id, now).map(|r| render_lb(s, r, now)))?)
}

async fn update_lb(
    State(st): State<Shared>,
    Path((zone, id)): Path<(String, String)>,
    body: JsonBody,
) -> ApiResult {
    zone_ok(&zone)?;
    // A full replacement: every field is required (reference §1.4).
    let name = body.req_str("name")?;
    let description: String = body.req("description")?;
    let tags: Vec<String> = body.req("tags")?;
    let ssl = ssl_level(&body, true)?;
    ok(st.write(|s, now| {
        find_stable_lb(s, &zone, &id, now)?;
        let rec = s.get_mut(LB, &id, now).expect("found");
        let o = rec.obj();
        o.insert("name".into(), json!(name));
        o.insert("description".into(), json!(description));
        o.insert("tags".into(), json!(tags));
        o.insert("ssl_compatibility_level".into(), json!(ssl));
        touch(rec, now);
        Ok(render_lb(s, s.get(LB, &id, now).expect("found"), now))
    })?)
}

async fn delete_lb(
    State(st): State<Shared>,
    Path((zone, id)): Path<(String, String)>,
    q: Query,
) -> ApiResult {
    zone_ok(&zone)?;
    let release = q.bool("release_ip")?.unwrap_or(false);
    st.write(|s, now| {
        let rec = find(s, LB, &zone, &id, now)?;
        let status = rec.status(now);
        if matches!(status, "to_delete" | "deleting") {
            return Err(ApiError::transient("lb", &id, status));
        }
        // IPs stay attached while the LB is `to_delete`; then they are released with it
        // (`release_ip=true`) or show `lb_id: null` (see `render_ip`).
        if release {
            let ips: Vec<String> = s
                .list(IP, now)
                .iter()
                .filter(|i| i.body["lb_id"] == id.as_str())
                .map(|i| i.id.clone())
                .collect();
            for ip in ips {
                if let Some(r) = s.get_mut(IP, &ip, now) {
                    r.parent = Some(Parent {
                        kind: LB.into(),
                        id: id.clone(),
                    });
                }
            }
        }
        let end = st.later(now, st.durations.lb_delete);
        let rec = s.get_mut(LB, &id, now).expect("found");
        rec.schedule(&[("to_delete", now), (GONE, end)]);
        touch(rec, now);
        Ok(())
    })?;
    no_content()
}

async fn migrate_lb(
    State(st): State<Shared>,
    Path((zone, id)): Path<(String, String)>,
    body: JsonBody,
) -> ApiResult {
    zone_ok(&zone)?;
    let kind = body.req_str("type")?;
    if !LB_TYPES.iter().any(|t| t.0.eq_ignore_ascii_case(&kind)) {
        return Err(ApiError::invalid(
            "type",
            "constraint",
            format!("unknown load balancer type {kind}"),
        ));
    }
    ok(st.write(|s, now| {
        find_stable_lb(s, &zone, &id, now)?;
        let end = st.later(now, st.durations.lb_migrate);
        let rec = s.get_mut(LB, &id, now).expect("found");
        rec.obj()
            .insert("type".into(), json!(kind.to_ascii_lowercase()));
        rec.schedule(&[("migrating", now), ("ready", end)]);
        touch(rec, now);
        Ok(render_lb(s, s.get(LB, &id, now).expect("found"), now))
    })?)
}

// ---------------------------------------------------------------------------------------------
// Private networks

fn render_attachment(s: &Store, rec: &Record, now: DateTime<Utc>) -> Value {
    let mut v = render(rec, now);
    if let Some(lb) = s.get(LB, rec.str("lb_id"), now) {
        v["lb"] = render_lb(s, lb, now);
    }
    if let Some(o) = v.as_object_mut() {
        o.remove("lb_id");
        o.remove("zone");
    }
    v
}

async fn list_lb_pns(
    State(st): State<Shared>,
    Path((zone, id)): Path<(String, String)>,
    q: Query,
) -> ApiResult {
    zone_ok(&zone)?;
    let items = st.read(|s, now| {
        find(s, LB, &zone, &id, now)?;
        Ok::<_, ApiError>(
            s.children(LB_PN, LB, &id, now)
                .into_iter()
                .map(|r| render_attachment(s, r, now))
                .collect::<Vec<_>>(),
        )
    })?;
    // The list key is singular on this endpoint (observed).
    list_response("private_network", items, &q, "created_at_asc")
}

async fn attach_pn(
    State(st): State<Shared>,
    Path((zone, id)): Path<(String, String)>,
    body: JsonBody,
) -> ApiResult {
    zone_ok(&zone)?;
    let pn = body.req_str("private_network_id")?;
    let ipam_ids: Vec<String> = body.opt("ipam_ids")?.unwrap_or_default();
    ok(st.write(|s, now| {
        let key = attach_private_network(s, &st, &zone, &id, &pn, &ipam_ids, now)?;
        Ok(render_attachment(
            s,
            s.get(LB_PN, &key, now).expect("inserted"),
            now,
        ))
    })?)
}

/// `AttachPrivateNetwork` (also what the cloud controller emulation calls); returns the
/// attachment's key.
pub(crate) fn attach_private_network(
    s: &mut Store,
    st: &AppState,
    zone: &str,
    id: &str,
    pn: &str,
    ipam_ids: &[String],
    now: DateTime<Utc>,
) -> Result<String, ApiError> {
    let lb = find_stable_lb(s, zone, id, now)?;
    let (lb_name, project) = (lb.str("name").to_string(), lb.str("project_id").to_string());
    let region = region_of(zone);
    s.get(vpc::PN, pn, now)
        .filter(|p| p.str("region") == region)
        .ok_or_else(|| ApiError::lb_not_found("privateNetwork"))?;
    let key = format!("{id}/{pn}");
    if s.get(LB_PN, &key, now).is_some() {
        return Err(ApiError::already_exists(
            "private_network",
            pn,
            "the private network is already attached to this load balancer",
        ));
    }
    let resource = json!({"type": "lb_server", "id": id, "mac_address": null, "name": lb_name});
    let parent = Parent {
        kind: LB_PN.into(),
        id: key.clone(),
    };
    let ids = if ipam_ids.is_empty() {
        ipam::book_in_pn(
            s,
            &region,
            &project,
            pn,
            resource,
            Some(parent.clone()),
            true,
            now,
        )
    } else {
        for ip in ipam_ids {
            let rec = s.get_mut(ipam::IP, ip, now).ok_or_else(|| {
                ApiError::invalid("ipam_ids", "constraint", format!("IPAM IP {ip} not found"))
            })?;
            if rec.extra["private_network_id"] != pn {
                return Err(ApiError::invalid(
                    "ipam_ids",
                    "constraint",
                    format!("IPAM IP {ip} is not in private network {pn}"),
                ));
            }
            rec.obj().insert("resource".into(), resource.clone());
        }
        ipam_ids.to_vec()
    };
    let end = st.later(now, st.durations.lb_attach);
    let body = json!({
        "created_at": ts(now), "dhcp_config": {"ip_id": ids.first()}, "ipam_ids": ids,
        "private_network_id": pn, "updated_at": ts(now), "lb_id": id, "zone": zone,
    });
    let rec = s.insert(
        LB_PN,
        &key,
        Some(Parent {
            kind: LB.into(),
            id: id.to_string(),
        }),
        body,
        &[("pending", now), ("ready", end)],
    );
    rec.extra = json!({"booked": ipam_ids});
    Ok(key)
}

async fn detach_pn(
    State(st): State<Shared>,
    Path((zone, id)): Path<(String, String)>,
    body: JsonBody,
) -> ApiResult {
    zone_ok(&zone)?;
    let pn = body.req_str("private_network_id")?;
    st.write(|s, now| detach_private_network(s, &zone, &id, &pn, now))?;
    no_content()
}

/// `DetachPrivateNetwork` (also what the cloud controller emulation calls).
pub(crate) fn detach_private_network(
    s: &mut Store,
    zone: &str,
    id: &str,
    pn: &str,
    now: DateTime<Utc>,
) -> Result<(), ApiError> {
    find_stable_lb(s, zone, id, now)?;
    let rec = s
        .remove(LB_PN, &format!("{id}/{pn}"))
        .ok_or_else(|| ApiError::lb_not_found("privateNetwork"))?;
    // IPs the user booked go back to unattached; the ones we allocated go with the attachment.
    for ip in rec.extra["booked"].as_array().cloned().unwrap_or_default() {
        if let Some(r) = ip.as_str().and_then(|ip| s.get_mut(ipam::IP, ip, now)) {
            r.obj().insert("resource".into(), Value::Null);
        }
    }
    s.purge(now);
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Backends

/// Parses a duration string (`"0.5s"`, `"0.500000000s"`, `"1m"`) into seconds.
fn duration_secs(s: &str) -> Option<f64> {
    let (n, mult) = if let Some(n) = s.strip_suffix("ms") {
        (n, 0.001)
    } else if let Some(n) = s.strip_suffix('s') {
        (n, 1.0)
    } else if let Some(n) = s.strip_suffix('m') {
        (n, 60.0)
    } else {
        (s, 1.0)
    };
    n.parse::<f64>()
        .ok()
        .filter(|v| *v >= 0.0)
        .map(|v| v * mult)
}

fn duration_string(body: &JsonBody, key: &str, default: &str) -> Result<String, ApiError> {
    match body.opt::<String>(key)? {
        None => Ok(default.to_string()),
        Some(s) => duration_secs(&s)
            .map(|v| format!("{v:.3}s"))
            .ok_or_else(|| ApiError::invalid(key, "format", "expected a duration such as 0.5s")),
    }
}

fn health_check(body: Option<JsonBody>, forward_port: u64) -> Result<Value, ApiError> {
    let b = body.unwrap_or(JsonBody(Map::new()));
    let mut hc = json!({
        "port": b.opt::<u64>("port")?.unwrap_or(forward_port),
        "check_delay": b.opt::<u64>("check_delay")?.unwrap_or(60_000),
        "check_timeout": b.opt::<u64>("check_timeout")?.unwrap_or(30_000),
        "check_max_retries": b.opt::<u32>("check_max_retries")?.unwrap_or(2),
        "check_send_proxy": b.opt::<bool>("check_send_proxy")?.unwrap_or(false),
        "transient_check_delay": duration_string(&b, "transient_check_delay", "0.500s")?,
    });
    let configs = [
        "tcp_config",
        "mysql_config",
        "pgsql_config",
        "ldap_config",
        "redis_config",
        "http_config",
        "https_config",
    ];
    let mut chosen = false;
    for c in configs {
        if let Some(v) = b.opt::<Map<String, Value>>(c)? {
            hc[c] = Value::Object(v);
            chosen = true;
        }
    }
    if !chosen {
        hc["tcp_config"] = json!({});
    }
    Ok(hc)
}

/// Backend fields set by create and fully replaced by PUT, with their server defaults.
fn backend_fields(body: &JsonBody) -> Result<Map<String, Value>, ApiError> {
    let mut m = Map::new();
    m.insert("name".into(), json!(body.req_str("name")?));
    let protocol = body
        .opt_enum("forward_protocol", &["tcp", "http"])?
        .ok_or_else(|| {
            ApiError::invalid(
                "forward_protocol",
                "required",
                "forward_protocol is required",
            )
        })?;
    m.insert("forward_protocol".into(), json!(protocol));
    m.insert(
        "forward_port".into(),
        json!(body.req::<u64>("forward_port")?),
    );
    m.insert(
        "forward_port_algorithm".into(),
        json!(
            body.opt_enum(
                "forward_port_algorithm",
                &["roundrobin", "leastconn", "first"]
            )?
            .unwrap_or_else(|| "roundrobin".into())
        ),
    );
    m.insert(
        "sticky_sessions".into(),
        json!(
            body.opt_enum("sticky_sessions", &["none", "cookie", "table"])?
                .unwrap_or_else(|| "none".into())
        ),
    );
    m.insert(
        "sticky_sessions_cookie_name".into(),
        json!(
            body.opt::<String>("sticky_sessions_cookie_name")?
                .unwrap_or_default()
        ),
    );
    m.insert(
        "send_proxy_v2".into(),
        json!(body.opt::<bool>("send_proxy_v2")?.unwrap_or(false)),
    );
    for (k, d) in [
        ("timeout_server", 300_000u64),
        ("timeout_connect", 5_000),
        ("timeout_tunnel", 900_000),
    ] {
        m.insert(k.into(), json!(body.opt::<u64>(k)?.unwrap_or(d)));
    }
    m.insert(
        "on_marked_down_action".into(),
        json!(
            body.opt::<String>("on_marked_down_action")?
                .unwrap_or_else(|| "on_marked_down_action_none".into())
        ),
    );
    let proxy = body
        .opt::<String>("proxy_protocol")?
        .filter(|p| p != "proxy_protocol_unknown")
        .unwrap_or_else(|| "proxy_protocol_none".into());
    m.insert("proxy_protocol".into(), json!(proxy));
    m.insert(
        "failover_host".into(),
        json!(body.opt::<String>("failover_host")?),
    );
    m.insert(
        "ssl_bridging".into(),
        json!(body.opt::<bool>("ssl_bridging")?.unwrap_or(false)),
    );
    m.insert(
        "ignore_ssl_server_verify".into(),
        json!(
            body.opt::<bool>("ignore_ssl_server_verify")?
                .unwrap_or(false)
        ),
    );
    m.insert(
        "redispatch_attempt_count".into(),
        json!(body.opt::<u32>("redispatch_attempt_count")?.unwrap_or(0)),
    );
    m.insert(
        "max_retries".into(),
        json!(body.opt::<u32>("max_retries")?.unwrap_or(3)),
    );
    m.insert(
        "max_connections".into(),
        json!(body.opt::<u32>("max_connections")?),
    );
    m.insert(
        "timeout_queue".into(),
        json!(duration_string(body, "timeout_queue", "0.000s")?),
    );
    m.insert("host".into(), json!(body.opt::<String>("host")?));
    Ok(m)
}

fn render_backend(s: &Store, rec: &Record, now: DateTime<Utc>) -> Value {
    let mut v = render(rec, now);
    if let Some(lb) = s.get(LB, rec.str("lb_id"), now) {
        v["lb"] = render_lb(s, lb, now);
    }
    if let Some(o) = v.as_object_mut() {
        o.remove("lb_id");
        o.remove("zone");
    }
    v
}

async fn list_backends(
    State(st): State<Shared>,
    Path((zone, id)): Path<(String, String)>,
    q: Query,
) -> ApiResult {
    zone_ok(&zone)?;
    let items = st.read(|s, now| {
        find(s, LB, &zone, &id, now)?;
        Ok::<_, ApiError>(
            s.children(BACKEND, LB, &id, now)
                .into_iter()
                .map(|r| render_backend(s, r, now))
                .filter(|v| name_matches(v, q.get("name")))
                .collect::<Vec<_>>(),
        )
    })?;
    list_response("backends", items, &q, "created_at_asc")
}

async fn create_backend(
    State(st): State<Shared>,
    Path((zone, id)): Path<(String, String)>,
    body: JsonBody,
) -> ApiResult {
    zone_ok(&zone)?;
    ok(st.write(|s, now| {
        let bid = insert_backend(s, &zone, &id, &body, now)?;
        Ok(render_backend(
            s,
            s.get(BACKEND, &bid, now).expect("inserted"),
            now,
        ))
    })?)
}

/// `CreateBackend` on load balancer `lb` (also what the cloud controller emulation calls).
pub(crate) fn insert_backend(
    s: &mut Store,
    zone: &str,
    lb: &str,
    body: &JsonBody,
    now: DateTime<Utc>,
) -> Result<String, ApiError> {
    let mut fields = backend_fields(body)?;
    let port = fields["forward_port"].as_u64().unwrap_or(0);
    fields.insert(
        "health_check".into(),
        health_check(body.obj("health_check")?, port)?,
    );
    let servers: Vec<String> = body.opt("server_ip")?.unwrap_or_default();
    find_stable_lb(s, zone, lb, now)?;
    let bid = new_id();
    fields.insert("id".into(), json!(bid));
    fields.insert("pool".into(), json!(servers));
    fields.insert("created_at".into(), json!(ts(now)));
    fields.insert("updated_at".into(), json!(ts(now)));
    fields.insert("lb_id".into(), json!(lb));
    fields.insert("zone".into(), json!(zone));
    s.insert(
        BACKEND,
        &bid,
        Some(Parent {
            kind: LB.into(),
            id: lb.to_string(),
        }),
        Value::Object(fields),
        &[],
    );
    Ok(bid)
}

async fn get_backend(
    State(st): State<Shared>,
    Path((zone, id)): Path<(String, String)>,
) -> ApiResult {
    zone_ok(&zone)?;
    ok(st.read(|s, now| find(s, BACKEND, &zone, &id, now).map(|r| render_backend(s, r, now)))?)
}

/// Mutates a backend after checking its LB is stable.
fn with_backend(
    st: &Shared,
    zone: &str,
    id: &str,
    f: impl FnOnce(&mut Record) -> Result<(), ApiError>,
) -> ApiResult {
    zone_ok(zone)?;
    ok(st.write(|s, now| {
        change_backend(s, zone, id, now, f)?;
        Ok(render_backend(
            s,
            s.get(BACKEND, id, now).expect("found"),
            now,
        ))
    })?)
}

fn change_backend(
    s: &mut Store,
    zone: &str,
    id: &str,
    now: DateTime<Utc>,
    f: impl FnOnce(&mut Record) -> Result<(), ApiError>,
) -> Result<(), ApiError> {
    let lb = find(s, BACKEND, zone, id, now)?.str("lb_id").to_string();
    find_stable_lb(s, zone, &lb, now)?;
    let rec = s.get_mut(BACKEND, id, now).expect("found");
    f(rec)?;
    touch(rec, now);
    Ok(())
}

/// `UpdateBackend` (a full replacement of the backend's fields) followed by
/// `UpdateHealthCheck` and `SetBackendServers`, as the cloud controller emulation calls them.
pub(crate) fn replace_backend(
    s: &mut Store,
    zone: &str,
    id: &str,
    body: &JsonBody,
    now: DateTime<Utc>,
) -> Result<(), ApiError> {
    let fields = backend_fields(body)?;
    let port = fields["forward_port"].as_u64().unwrap_or(0);
    let hc = health_check(body.obj("health_check")?, port)?;
    let servers: Vec<String> = body.opt("server_ip")?.unwrap_or_default();
    change_backend(s, zone, id, now, |rec| {
        for (k, v) in fields {
            rec.obj().insert(k, v);
        }
        rec.obj().insert("health_check".into(), hc);
        rec.obj().insert("pool".into(), json!(servers));
        Ok(())
    })
}

async fn update_backend(
    State(st): State<Shared>,
    Path((zone, id)): Path<(String, String)>,
    body: JsonBody,
) -> ApiResult {
    let fields = backend_fields(&body)?;
    with_backend(&st, &zone, &id, |rec| {
        for (k, v) in fields {
            rec.obj().insert(k, v);
        }
        Ok(())
    })
}

async fn update_healthcheck(
    State(st): State<Shared>,
    Path((zone, id)): Path<(String, String)>,
    body: JsonBody,
) -> ApiResult {
    let port = body.opt::<u64>("port")?.unwrap_or(0);
    let hc = health_check(Some(body), port)?;
    zone_ok(&zone)?;
    // The API answers with the health check itself (`UpdateHealthCheck` returns a
    // `HealthCheck` in the official SDKs), not with the backend.
    ok(st.write(|s, now| {
        let lb = find(s, BACKEND, &zone, &id, now)?.str("lb_id").to_string();
        find_stable_lb(s, &zone, &lb, now)?;
        let rec = s.get_mut(BACKEND, &id, now).expect("found");
        rec.obj().insert("health_check".into(), hc.clone());
        touch(rec, now);
        Ok(hc)
    })?)
}

fn server_ips(body: &JsonBody) -> Result<Vec<String>, ApiError> {
    let ips: Vec<String> = body.req("server_ip")?;
    if let Some(bad) = ips.iter().find(|i| i.parse::<std::net::IpAddr>().is_err()) {
        return Err(ApiError::invalid(
            "server_ip",
            "format",
            format!("{bad} is not an IP address"),
        ));
    }
    Ok(ips)
}

fn pool_of(rec: &Record) -> Vec<String> {
    rec.body["pool"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|v| v.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

async fn add_servers(
    State(st): State<Shared>,
    Path((zone, id)): Path<(String, String)>,
    body: JsonBody,
) -> ApiResult {
    let ips = server_ips(&body)?;
    with_backend(&st, &zone, &id, |rec| {
        let mut pool = pool_of(rec);
        pool.extend(ips.into_iter().filter(|i| !pool_of(rec).contains(i)));
        rec.obj().insert("pool".into(), json!(pool));
        Ok(())
    })
}

async fn set_servers(
    State(st): State<Shared>,
    Path((zone, id)): Path<(String, String)>,
    body: JsonBody,
) -> ApiResult {
    let ips = server_ips(&body)?;
    with_backend(&st, &zone, &id, |rec| {
        rec.obj().insert("pool".into(), json!(ips));
        Ok(())
    })
}

async fn remove_servers(
    State(st): State<Shared>,
    Path((zone, id)): Path<(String, String)>,
    body: JsonBody,
) -> ApiResult {
    let ips = server_ips(&body)?;
    with_backend(&st, &zone, &id, |rec| {
        let pool: Vec<String> = pool_of(rec)
            .into_iter()
            .filter(|i| !ips.contains(i))
            .collect();
        rec.obj().insert("pool".into(), json!(pool));
        Ok(())
    })
}

async fn delete_backend(
    State(st): State<Shared>,
    Path((zone, id)): Path<(String, String)>,
) -> ApiResult {
    zone_ok(&zone)?;
    st.write(|s, now| remove_backend(s, &zone, &id, now))?;
    no_content()
}

/// `DeleteBackend`: refused while a frontend uses it.
pub(crate) fn remove_backend(
    s: &mut Store,
    zone: &str,
    id: &str,
    now: DateTime<Utc>,
) -> Result<(), ApiError> {
    let lb = find(s, BACKEND, zone, id, now)?.str("lb_id").to_string();
    find_stable_lb(s, zone, &lb, now)?;
    if s.list(FRONTEND, now)
        .iter()
        .any(|f| f.str("backend_id") == id)
    {
        return Err(ApiError::still_in_use("the backend is used by a frontend"));
    }
    s.remove(BACKEND, id);
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Frontends

fn frontend_fields(body: &JsonBody) -> Result<Map<String, Value>, ApiError> {
    let mut m = Map::new();
    m.insert("name".into(), json!(body.req_str("name")?));
    let port: u64 = body.req("inbound_port")?;
    if !(1..=65535).contains(&port) {
        return Err(ApiError::invalid(
            "inbound_port",
            "constraint",
            "inbound_port must be between 1 and 65535",
        ));
    }
    m.insert("inbound_port".into(), json!(port));
    m.insert("backend_id".into(), json!(body.req_str("backend_id")?));
    m.insert(
        "timeout_client".into(),
        json!(body.opt::<u64>("timeout_client")?.unwrap_or(300_000)),
    );
    let mut certs: Vec<String> = body.opt("certificate_ids")?.unwrap_or_default();
    if let Some(c) = body
        .opt::<String>("certificate_id")?
        .filter(|c| !c.is_empty())
    {
        certs.push(c);
    }
    m.insert("certificate_ids".into(), json!(certs));
    // The deprecated single `certificate` object; the sandbox serves no certificates.
    m.insert("certificate".into(), Value::Null);
    m.insert(
        "enable_http3".into(),
        json!(body.opt::<bool>("enable_http3")?.unwrap_or(false)),
    );
    m.insert(
        "connection_rate_limit".into(),
        json!(body.opt::<u32>("connection_rate_limit")?.unwrap_or(0)),
    );
    m.insert(
        "enable_access_logs".into(),
        json!(body.opt::<bool>("enable_access_logs")?.unwrap_or(false)),
    );
    Ok(m)
}

fn render_frontend(s: &Store, rec: &Record, now: DateTime<Utc>) -> Value {
    let mut v = render(rec, now);
    if let Some(lb) = s.get(LB, rec.str("lb_id"), now) {
        v["lb"] = render_lb(s, lb, now);
    }
    if let Some(b) = s.get(BACKEND, rec.str("backend_id"), now) {
        v["backend"] = render_backend(s, b, now);
    }
    if let Some(o) = v.as_object_mut() {
        o.remove("lb_id");
        o.remove("backend_id");
        o.remove("zone");
    }
    v
}

fn check_frontend_refs(
    s: &Store,
    zone: &str,
    lb: &str,
    fields: &Map<String, Value>,
    except: Option<&str>,
    now: DateTime<Utc>,
) -> Result<(), ApiError> {
    let backend = fields["backend_id"].as_str().unwrap_or("");
    let b = find(s, BACKEND, zone, backend, now)?;
    if b.str("lb_id") != lb {
        return Err(ApiError::invalid(
            "backend_id",
            "constraint",
            "the backend belongs to another load balancer",
        ));
    }
    let port = &fields["inbound_port"];
    if s.children(FRONTEND, LB, lb, now)
        .iter()
        .any(|f| &f.body["inbound_port"] == port && Some(f.id.as_str()) != except)
    {
        return Err(ApiError::invalid(
            "inbound_port",
            "constraint",
            "another frontend of this load balancer uses this port",
        ));
    }
    Ok(())
}

async fn list_frontends(
    State(st): State<Shared>,
    Path((zone, id)): Path<(String, String)>,
    q: Query,
) -> ApiResult {
    zone_ok(&zone)?;
    let items = st.read(|s, now| {
        find(s, LB, &zone, &id, now)?;
        Ok::<_, ApiError>(
            s.children(FRONTEND, LB, &id, now)
                .into_iter()
                .map(|r| render_frontend(s, r, now))
                .filter(|v| name_matches(v, q.get("name")))
                .collect::<Vec<_>>(),
        )
    })?;
    list_response("frontends", items, &q, "created_at_asc")
}

async fn create_frontend(
    State(st): State<Shared>,
    Path((zone, id)): Path<(String, String)>,
    body: JsonBody,
) -> ApiResult {
    zone_ok(&zone)?;
    ok(st.write(|s, now| {
        let fid = insert_frontend(s, &zone, &id, &body, now)?;
        Ok(render_frontend(
            s,
            s.get(FRONTEND, &fid, now).expect("inserted"),
            now,
        ))
    })?)
}

/// `CreateFrontend` on load balancer `lb` (also what the cloud controller emulation calls).
pub(crate) fn insert_frontend(
    s: &mut Store,
    zone: &str,
    lb: &str,
    body: &JsonBody,
    now: DateTime<Utc>,
) -> Result<String, ApiError> {
    let mut fields = frontend_fields(body)?;
    find_stable_lb(s, zone, lb, now)?;
    check_frontend_refs(s, zone, lb, &fields, None, now)?;
    let fid = new_id();
    fields.insert("id".into(), json!(fid));
    fields.insert("created_at".into(), json!(ts(now)));
    fields.insert("updated_at".into(), json!(ts(now)));
    fields.insert("lb_id".into(), json!(lb));
    fields.insert("zone".into(), json!(zone));
    s.insert(
        FRONTEND,
        &fid,
        Some(Parent {
            kind: LB.into(),
            id: lb.to_string(),
        }),
        Value::Object(fields),
        &[],
    );
    Ok(fid)
}

async fn get_frontend(
    State(st): State<Shared>,
    Path((zone, id)): Path<(String, String)>,
) -> ApiResult {
    zone_ok(&zone)?;
    ok(st.read(|s, now| find(s, FRONTEND, &zone, &id, now).map(|r| render_frontend(s, r, now)))?)
}

async fn update_frontend(
    State(st): State<Shared>,
    Path((zone, id)): Path<(String, String)>,
    body: JsonBody,
) -> ApiResult {
    zone_ok(&zone)?;
    ok(st.write(|s, now| {
        replace_frontend(s, &zone, &id, &body, now)?;
        Ok(render_frontend(
            s,
            s.get(FRONTEND, &id, now).expect("found"),
            now,
        ))
    })?)
}

/// `UpdateFrontend`: a full replacement of the frontend's fields.
pub(crate) fn replace_frontend(
    s: &mut Store,
    zone: &str,
    id: &str,
    body: &JsonBody,
    now: DateTime<Utc>,
) -> Result<(), ApiError> {
    let fields = frontend_fields(body)?;
    let lb = find(s, FRONTEND, zone, id, now)?.str("lb_id").to_string();
    find_stable_lb(s, zone, &lb, now)?;
    check_frontend_refs(s, zone, &lb, &fields, Some(id), now)?;
    let rec = s.get_mut(FRONTEND, id, now).expect("found");
    for (k, v) in fields {
        rec.obj().insert(k, v);
    }
    touch(rec, now);
    Ok(())
}

async fn delete_frontend(
    State(st): State<Shared>,
    Path((zone, id)): Path<(String, String)>,
) -> ApiResult {
    zone_ok(&zone)?;
    st.write(|s, now| remove_frontend(s, &zone, &id, now))?;
    no_content()
}

/// `DeleteFrontend`.
pub(crate) fn remove_frontend(
    s: &mut Store,
    zone: &str,
    id: &str,
    now: DateTime<Utc>,
) -> Result<(), ApiError> {
    let lb = find(s, FRONTEND, zone, id, now)?.str("lb_id").to_string();
    find_stable_lb(s, zone, &lb, now)?;
    s.remove(FRONTEND, id);
    Ok(())
}
