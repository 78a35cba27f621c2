//! Domains and DNS `domain/v2beta1` (global, no region or zone in the path): DNS zones,
//! records changed by batches of `add` / `set` / `delete` / `clear`, and zone versions.
//!
//! Written from `reference/production-path.md` §4, the official SDKs' request and response
//! types and recorded real traffic (Terraform provider cassettes, 2025): a zone is `D` or a
//! sub-zone `S.D` and is addressed by its full name; record names are relative to the zone
//! (the apex is `""`) and record types are upper-case on the wire (`A`, `TXT`); a new zone
//! carries the two default `NS` records of Scaleway's name servers; `type=unknown` is no
//! filter; `DELETE` of a zone answers `{}`; every edit of the records creates a zone version
//! holding the records after the edit.
//!
//! The sandbox's authoritative DNS responder (`crate::dns`) serves, for each zone, the newest
//! version that is visible, i.e. older than the configured visibility delay.

use std::collections::BTreeSet;

use axum::Router;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::{get, patch, post};
use chrono::{DateTime, Utc};
use serde_json::{Map, Value, json};

use crate::server::Shared;
use crate::store::{Parent, Record, Store};
use crate::wire::{
    ApiError, ApiResult, JsonBody, Query, check_uuid, field, new_id, ok, sort_by, ts,
};

/// Store kind of DNS zones (keyed by full zone name).
pub const ZONE: &str = "domain.dns_zone";
/// Store kind of DNS records (keyed by record id, parented to their zone).
pub const RECORD: &str = "domain.record";
/// Store kind of zone versions (keyed by version id, parented to their zone).
pub const VERSION: &str = "domain.zone_version";

/// Scaleway's default name servers, as a new zone lists them.
pub const DEFAULT_NS: [&str; 2] = ["ns0.dom.scw.cloud", "ns1.dom.scw.cloud"];

/// Record types the API accepts (the SDKs' `RecordType` enum, upper-case on the wire).
const RECORD_TYPES: &[&str] = &[
    "A", "AAAA", "CNAME", "TXT", "SRV", "TLSA", "MX", "NS", "PTR", "CAA", "ALIAS", "LOC", "SSHFP",
    "HINFO", "RP", "URI", "DS", "NAPTR", "DNAME", "SVCB", "HTTPS",
];

/// Zone statuses of the API (`DNSZoneStatus`).
pub const ZONE_STATUSES: &[&str] = &["active", "pending", "error", "locked"];

pub(super) fn routes() -> Router<Shared> {
    let base = "/domain/v2beta1/dns-zones";
    Router::new()
        .route(base, get(list_zones).post(create_zone))
        .route(
            &format!("{base}/{{zone}}"),
            axum::routing::delete(delete_zone),
        )
        .route(
            &format!("{base}/{{zone}}/records"),
            get(list_records).patch(update_records),
        )
        .route(
            &format!("{base}/{{zone}}/nameservers"),
            get(list_nameservers),
        )
        .route(&format!("{base}/{{zone}}/versions"), get(list_versions))
        .route(&format!("{base}/version/{{id}}"), get(list_version_records))
        .route(&format!("{base}/version/{{id}}/diff"), get(version_diff))
        .route(
            &format!("{base}/version/{{id}}/restore"),
            post(restore_version),
        )
        .route(
            "/sandbox/v1/dns-zones",
            patch(seed_zone_route).post(seed_zone_route),
        )
}

/// `D` or `S.D` of a zone record.
fn zone_name(domain: &str, subdomain: &str) -> String {
    if subdomain.is_empty() {
        domain.to_string()
    } else {
        format!("{subdomain}.{domain}")
    }
}

fn zone_not_found(zone: &str) -> ApiError {
    ApiError::not_found("dns_zone", zone)
}

/// A valid DNS name: labels of 1–63 letters, digits, hyphens (not at either end) or
/// underscores, 253 characters at most.
fn valid_hostname(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 253
        && name.split('.').all(|l| {
            !l.is_empty()
                && l.len() <= 63
                && !l.starts_with('-')
                && !l.ends_with('-')
                && l.chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        })
}

/// Inserts a zone with its default `NS` records and a first version. Used by the API, by
/// seeding and by the implicit creation of `PATCH …/records`.
pub fn insert_zone(
    s: &mut Store,
    domain: &str,
    subdomain: &str,
    project: &str,
    status: &str,
    now: DateTime<Utc>,
    visible_at: DateTime<Utc>,
) -> String {
    let name = zone_name(domain, subdomain);
    let body = json!({
        "domain": domain, "subdomain": subdomain,
        "ns": DEFAULT_NS, "ns_default": DEFAULT_NS, "ns_master": [],
        "status": status, "message": null, "updated_at": ts(now),
        "project_id": project, "linked_products": [],
    });
    s.insert(ZONE, &name, None, body, &[]).extra = json!({"serial": serial_at(now, 0)});
    for ns in DEFAULT_NS {
        insert_record(
            s,
            &name,
            json!({"name": "", "type": "NS", "data": format!("{ns}."), "ttl": 1800,
                   "priority": 0, "comment": null}),
            now,
        );
    }
    snapshot(s, &name, now, visible_at);
    name
}

fn insert_record(s: &mut Store, zone: &str, mut body: Value, now: DateTime<Utc>) -> String {
    let id = new_id();
    body["id"] = json!(id);
    body["updated_at"] = json!(ts(now));
    s.insert(
        RECORD,
        &id,
        Some(Parent {
            kind: ZONE.into(),
            id: zone.into(),
        }),
        body,
        &[],
    );
    id
}

/// `YYYYMMDDnn`, the conventional SOA serial, moved past `previous`.
fn serial_at(now: DateTime<Utc>, previous: u64) -> u64 {
    let day: u64 = now.format("%Y%m%d00").to_string().parse().unwrap_or(0);
    day.max(previous + 1)
}

fn zone_records<'a>(s: &'a Store, zone: &str, now: DateTime<Utc>) -> Vec<&'a Record> {
    s.children(RECORD, ZONE, zone, now)
}

/// Records a zone version holding the zone's current records.
fn snapshot(s: &mut Store, zone: &str, now: DateTime<Utc>, visible_at: DateTime<Utc>) {
    let records: Vec<Value> = zone_records(s, zone, now)
        .iter()
        .map(|r| r.body.clone())
        .collect();
    let serial = s
        .get(ZONE, zone, now)
        .and_then(|z| z.extra["serial"].as_u64())
        .unwrap_or(0);
    let id = new_id();
    s.insert(
        VERSION,
        &id,
        Some(Parent {
            kind: ZONE.into(),
            id: zone.into(),
        }),
        json!({"id": id, "created_at": ts(now)}),
        &[],
    )
    .extra = json!({"records": records, "serial": serial, "visible_at": ts(visible_at)});
}

/// What the zone's authoritative servers serve at `now`: its status, the serial and the
/// records of its newest visible version.
#[derive(Debug, Clone)]
pub struct PublishedZone {
    /// Full zone name (`S.D`).
    pub name: String,
    /// Zone status.
    pub status: String,
    /// SOA serial of the served version.
    pub serial: u64,
    /// `(name relative to the zone, type, data, ttl)` of every served record.
    pub records: Vec<(String, String, String, u32)>,
}

/// Every zone as its name servers serve it at `now`.
pub fn published(s: &Store, now: DateTime<Utc>) -> Vec<PublishedZone> {
    s.list(ZONE, now)
        .into_iter()
        .map(|z| {
            let newest = s
                .children(VERSION, ZONE, &z.id, now)
                .into_iter()
                .filter(|v| {
                    v.extra["visible_at"]
                        .as_str()
                        .and_then(|t| DateTime::parse_from_rfc3339(t).ok())
                        .is_some_and(|t| t.with_timezone(&Utc) <= now)
                })
                .max_by_key(|v| v.seq);
            let (serial, records) = match newest {
                Some(v) => (
                    v.extra["serial"].as_u64().unwrap_or(0),
                    v.extra["records"]
                        .as_array()
                        .map(|a| {
                            a.iter()
                                .map(|r| {
                                    (
                                        r["name"].as_str().unwrap_or("").to_string(),
                                        r["type"].as_str().unwrap_or("").to_string(),
                                        r["data"].as_str().unwrap_or("").to_string(),
                                        r["ttl"].as_u64().unwrap_or(0) as u32,
                                    )
                                })
                                .collect()
                        })
                        .unwrap_or_default(),
                ),
                None => (0, vec![]),
            };
            PublishedZone {
                name: z.id.clone(),
                status: z.str("status").to_string(),
                serial,
                records,
            }
        })
        .collect()
}

async fn list_zones(State(st): State<Shared>, q: Query) -> ApiResult {
    let wanted: Vec<String> = q.all("dns_zones");
    let items = st.read(|s, now| {
        s.list(ZONE, now)
            .into_iter()
            .filter(|z| q.get("project_id").is_none_or(|p| z.str("project_id") == p))
            .filter(|z| {
                q.get("organization_id")
                    .is_none_or(|o| z.str("project_id") == o)
            })
            .filter(|z| q.get("domain").is_none_or(|d| z.str("domain") == d))
            .filter(|z| q.get("dns_zone").is_none_or(|d| z.id == d))
            .filter(|z| wanted.is_empty() || wanted.contains(&z.id))
            .map(|z| z.body.clone())
            .collect::<Vec<_>>()
    });
    let mut items = items;
    let order = q.get("order_by").unwrap_or("domain_asc");
    if !matches!(
        order,
        "domain_asc"
            | "domain_desc"
            | "subdomain_asc"
            | "subdomain_desc"
            | "created_at_asc"
            | "created_at_desc"
            | "updated_at_asc"
            | "updated_at_desc"
    ) {
        return Err(ApiError::invalid(
            "order_by",
            "constraint",
            format!("unknown order_by {order}"),
        ));
    }
    if order.starts_with("created_at") {
        // Zones render no created_at; insertion order stands in for it.
        if order.ends_with("desc") {
            items.reverse();
        }
    } else {
        sort_by(&mut items, Some(order), "domain_asc");
    }
    let (page, total) = q.paginate(items)?;
    ok(json!({"total_count": total, "dns_zones": page}))
}

async fn create_zone(State(st): State<Shared>, body: JsonBody) -> ApiResult {
    let domain = body.req_str("domain")?.to_ascii_lowercase();
    let subdomain = body
        .opt::<String>("subdomain")?
        .unwrap_or_default()
        .to_ascii_lowercase();
    let project = body
        .opt::<String>("project_id")?
        .unwrap_or_else(|| st.project_id.clone());
    check_uuid("project_id", &project)?;
    if !valid_hostname(&domain) || !domain.contains('.') {
        return Err(ApiError::invalid(
            "domain",
            "constraint",
            format!("{domain} is not a valid domain name"),
        ));
    }
    if subdomain.is_empty() || !valid_hostname(&subdomain) {
        return Err(ApiError::invalid(
            "subdomain",
            "constraint",
            format!("{subdomain:?} is not a valid subdomain"),
        ));
    }
    let name = zone_name(&domain, &subdomain);
    let zone = st.write(|s, now| create_sub_zone(s, &st, &domain, &subdomain, &project, now))?;
    tracing::debug!(zone = %name, "dns zone created");
    ok(zone)
}

/// Creates `S.D` when the project owns `D`; a sub-zone inherits its parent's status.
fn create_sub_zone(
    s: &mut Store,
    st: &Shared,
    domain: &str,
    subdomain: &str,
    project: &str,
    now: DateTime<Utc>,
) -> Result<Value, ApiError> {
    let name = zone_name(domain, subdomain);
    if s.get(ZONE, &name, now).is_some() {
        return Err(ApiError::already_exists(
            "dns_zone",
            &name,
            "this DNS zone already exists",
        ));
    }
    let parent = s
        .get(ZONE, domain, now)
        .filter(|z| z.str("project_id") == project)
        .ok_or_else(|| {
            ApiError::raw(
                StatusCode::FORBIDDEN,
                json!({"type": "permissions_denied", "message": "insufficient permissions",
                       "details": [{"resource": "dns_zone", "action": "create"}]}),
            )
        })?;
    let status = parent.str("status").to_string();
    let visible = st.dns_visible_at(now);
    insert_zone(s, domain, subdomain, project, &status, now, visible);
    Ok(s.get(ZONE, &name, now).expect("inserted").body.clone())
}

async fn delete_zone(State(st): State<Shared>, Path(zone): Path<String>, q: Query) -> ApiResult {
    st.write(|s, now| {
        let z = s
            .get(ZONE, &zone, now)
            .ok_or_else(|| zone_not_found(&zone))?;
        if q.get("project_id")
            .is_some_and(|p| z.str("project_id") != p)
        {
            return Err(zone_not_found(&zone));
        }
        s.remove(ZONE, &zone);
        s.purge(now);
        Ok(())
    })?;
    ok(json!({}))
}

fn render_record(r: &Record) -> Value {
    r.body.clone()
}

/// Record type from a request: case-insensitive (the Python SDK sends lower case), one of the
/// API's types.
fn record_type(argument: &str, v: &str) -> Result<String, ApiError> {
    let upper = v.to_ascii_uppercase();
    if RECORD_TYPES.contains(&upper.as_str()) {
        Ok(upper)
    } else {
        Err(ApiError::invalid(
            argument,
            "constraint",
            format!("{v} is not a valid record type"),
        ))
    }
}

async fn list_records(State(st): State<Shared>, Path(zone): Path<String>, q: Query) -> ApiResult {
    let type_filter = match q.get("type").filter(|t| *t != "unknown") {
        Some(t) => Some(record_type("type", t)?),
        None => None,
    };
    let mut items = st.read(|s, now| {
        let z = s
            .get(ZONE, &zone, now)
            .ok_or_else(|| zone_not_found(&zone))?;
        if q.get("project_id")
            .is_some_and(|p| z.str("project_id") != p)
        {
            return Err(zone_not_found(&zone));
        }
        Ok(zone_records(s, &zone, now)
            .into_iter()
            .filter(|r| q.get("name").is_none_or(|n| r.str("name") == n))
            .filter(|r| type_filter.as_deref().is_none_or(|t| r.str("type") == t))
            .filter(|r| q.get("id").is_none_or(|i| r.id == i))
            .map(render_record)
            .collect::<Vec<_>>())
    })?;
    let order = q.get("order_by").unwrap_or("name_asc");
    if order != "name_asc" && order != "name_desc" {
        return Err(ApiError::invalid(
            "order_by",
            "constraint",
            format!("unknown order_by {order}"),
        ));
    }
    sort_by(&mut items, Some(order), "name_asc");
    let (page, total) = q.paginate(items)?;
    ok(json!({"total_count": total, "records": page}))
}

/// A record of an `add` or `set` change, validated and normalized.
fn parse_record(path: &str, zone: &str, v: &Value) -> Result<Value, ApiError> {
    let map = v
        .as_object()
        .ok_or_else(|| ApiError::invalid(path, "format", "a record must be an object"))?;
    let arg = |k: &str| format!("{path}.{k}");
    let mut name: String = field::<String>(map, "name")
        .map_err(|_| ApiError::invalid(&arg("name"), "format", "name must be a string"))?
        .unwrap_or_default()
        .to_ascii_lowercase();
    // A fully qualified name of the zone is accepted and made relative, as the API does.
    let suffix = format!(".{zone}.");
    if let Some(rel) = name.strip_suffix(&suffix) {
        name = rel.to_string();
    } else if name == format!("{zone}.") || name == "@" {
        name = String::new();
    }
    if !name.is_empty() && !valid_hostname(&name.replace('*', "x")) {
        return Err(ApiError::invalid(
            &arg("name"),
            "constraint",
            format!("{name:?} is not a valid record name"),
        ));
    }
    let type_: String = field::<String>(map, "type")
        .map_err(|_| ApiError::invalid(&arg("type"), "format", "type must be a string"))?
        .ok_or_else(|| ApiError::invalid(&arg("type"), "required", "type is required"))?;
    let type_ = record_type(&arg("type"), &type_)?;
    let data: String = field::<String>(map, "data")
        .map_err(|_| ApiError::invalid(&arg("data"), "format", "data must be a string"))?
        .unwrap_or_default();
    if data.is_empty() {
        return Err(ApiError::invalid(
            &arg("data"),
            "required",
            "data is required",
        ));
    }
    match type_.as_str() {
        "A" if data.parse::<std::net::Ipv4Addr>().is_err() => {
            return Err(ApiError::invalid(
                &arg("data"),
                "constraint",
                format!("{data} is not an IPv4 address"),
            ));
        }
        "AAAA" if data.parse::<std::net::Ipv6Addr>().is_err() => {
            return Err(ApiError::invalid(
                &arg("data"),
                "constraint",
                format!("{data} is not an IPv6 address"),
            ));
        }
        _ => {}
    }
    let ttl: u64 = field::<u64>(map, "ttl")
        .map_err(|_| ApiError::invalid(&arg("ttl"), "format", "ttl must be an integer"))?
        .unwrap_or(3600);
    if !(60..=2_592_000).contains(&ttl) {
        return Err(ApiError::invalid(
            &arg("ttl"),
            "constraint",
            "ttl must be between 60 and 2592000",
        ));
    }
    let priority: u64 = field::<u64>(map, "priority")
        .map_err(|_| ApiError::invalid(&arg("priority"), "format", "priority must be an integer"))?
        .unwrap_or(0);
    let comment = map.get("comment").cloned().unwrap_or(Value::Null);
    Ok(
        json!({"comment": comment, "data": data, "name": name, "priority": priority,
              "ttl": ttl, "type": type_}),
    )
}

/// The records an `id` or `id_fields` selects; none is an error naming the selector.
fn select(
    s: &Store,
    zone: &str,
    path: &str,
    change: &Map<String, Value>,
    now: DateTime<Utc>,
) -> Result<Vec<String>, ApiError> {
    let id = field::<String>(change, "id")?.filter(|i| !i.is_empty());
    let fields = field::<Map<String, Value>>(change, "id_fields")?;
    let records = zone_records(s, zone, now);
    let found: Vec<String> = match (id, fields) {
        (Some(id), None) => records
            .iter()
            .filter(|r| r.id == id)
            .map(|r| r.id.clone())
            .collect(),
        (None, Some(f)) => {
            let name = field::<String>(&f, "name")?.unwrap_or_default();
            let type_ = field::<String>(&f, "type")?
                .ok_or_else(|| {
                    ApiError::invalid(
                        &format!("{path}.id_fields.type"),
                        "required",
                        "type is required",
                    )
                })
                .and_then(|t| record_type(&format!("{path}.id_fields.type"), &t))?;
            let data = field::<String>(&f, "data")?.filter(|d| !d.is_empty());
            let ttl = field::<u64>(&f, "ttl")?.filter(|t| *t != 0);
            records
                .iter()
                .filter(|r| r.str("name") == name && r.str("type") == type_)
                .filter(|r| data.as_deref().is_none_or(|d| r.str("data") == d))
                .filter(|r| ttl.is_none_or(|t| r.body["ttl"].as_u64() == Some(t)))
                .map(|r| r.id.clone())
                .collect()
        }
        _ => {
            return Err(ApiError::invalid(
                path,
                "constraint",
                "exactly one of id and id_fields must be set",
            ));
        }
    };
    if found.is_empty() {
        return Err(ApiError::raw(
            StatusCode::NOT_FOUND,
            json!({"message": "record not found", "resource": "record", "type": "not_found",
                   "resource_id": field::<String>(change, "id").ok().flatten().unwrap_or_default()}),
        ));
    }
    Ok(found)
}

async fn update_records(
    State(st): State<Shared>,
    Path(zone): Path<String>,
    body: JsonBody,
) -> ApiResult {
    let changes: Vec<Value> = body.req("changes")?;
    let return_all = body.opt::<bool>("return_all_records")?.unwrap_or(false);
    let disallow_new = body
        .opt::<bool>("disallow_new_zone_creation")?
        .unwrap_or(false);
    let serial = body.opt::<u64>("serial")?.filter(|s| *s != 0);
    let records = st.write(|s, now| {
        ensure_zone(s, &st, &zone, disallow_new, now)?;
        let mut touched: Vec<String> = vec![];
        for (i, change) in changes.iter().enumerate() {
            apply_change(
                s,
                &zone,
                &format!("changes[{i}]"),
                change,
                now,
                &mut touched,
            )?;
        }
        let visible = st.dns_visible_at(now);
        let z = s.get_mut(ZONE, &zone, now).expect("exists");
        let previous = z.extra["serial"].as_u64().unwrap_or(0);
        let next = serial.unwrap_or_else(|| serial_at(now, previous));
        z.extra = json!({"serial": next});
        z.obj().insert("updated_at".into(), json!(ts(now)));
        snapshot(s, &zone, now, visible);
        let all = zone_records(s, &zone, now);
        Ok(all
            .into_iter()
            .filter(|r| return_all || touched.contains(&r.id))
            .map(render_record)
            .collect::<Vec<_>>())
    })?;
    ok(json!({"records": records}))
}

/// The zone records are changed in: the API creates a missing sub-zone of a zone the project
/// owns unless told not to.
fn ensure_zone(
    s: &mut Store,
    st: &Shared,
    zone: &str,
    disallow_new: bool,
    now: DateTime<Utc>,
) -> Result<(), ApiError> {
    if s.get(ZONE, zone, now).is_some() {
        return Ok(());
    }
    let parent = zone
        .split_once('.')
        .map(|(sub, d)| (sub.to_string(), d.to_string()));
    match parent {
        Some((sub, domain)) if !disallow_new && s.get(ZONE, &domain, now).is_some() => {
            let project = s
                .get(ZONE, &domain, now)
                .expect("checked")
                .str("project_id")
                .to_string();
            create_sub_zone(s, st, &domain, &sub, &project, now)?;
            Ok(())
        }
        _ => Err(zone_not_found(zone)),
    }
}

/// Applies the change at `path` (exactly one of `add`, `set`, `delete`, `clear`), noting the
/// records it wrote in `touched`.
fn apply_change(
    s: &mut Store,
    zone: &str,
    path: &str,
    change: &Value,
    now: DateTime<Utc>,
    touched: &mut Vec<String>,
) -> Result<(), ApiError> {
    let obj = change
        .as_object()
        .ok_or_else(|| ApiError::invalid(path, "format", "a change must be an object"))?;
    let kinds: Vec<&String> = obj.keys().filter(|k| !obj[*k].is_null()).collect();
    if kinds.len() != 1 {
        return Err(ApiError::invalid(
            path,
            "constraint",
            "exactly one of add, set, delete and clear must be set",
        ));
    }
    let kind = kinds[0].as_str();
    let inner = obj[kind].as_object().cloned().unwrap_or_default();
    match kind {
        "add" => {
            let list: Vec<Value> = field(&inner, "records")?.unwrap_or_default();
            for (j, r) in list.iter().enumerate() {
                let rec = parse_record(&format!("{path}.add.records[{j}]"), zone, r)?;
                touched.push(insert_record(s, zone, rec, now));
            }
        }
        "set" => set_records(s, zone, path, &inner, now, touched)?,
        "delete" => {
            for id in select(s, zone, &format!("{path}.delete"), &inner, now)? {
                s.remove(RECORD, &id);
            }
        }
        "clear" => {
            let ids: Vec<String> = zone_records(s, zone, now)
                .iter()
                .map(|r| r.id.clone())
                .collect();
            for id in ids {
                s.remove(RECORD, &id);
            }
        }
        other => {
            return Err(ApiError::invalid(
                path,
                "constraint",
                format!("unknown change {other}"),
            ));
        }
    }
    Ok(())
}

/// A `set` change: the selected records are replaced by the given ones.
fn set_records(
    s: &mut Store,
    zone: &str,
    path: &str,
    set: &Map<String, Value>,
    now: DateTime<Utc>,
    touched: &mut Vec<String>,
) -> Result<(), ApiError> {
    let selected = select(s, zone, &format!("{path}.set"), set, now)?;
    let list: Vec<Value> = field(set, "records")?.unwrap_or_default();
    let parsed = list
        .iter()
        .enumerate()
        .map(|(j, r)| parse_record(&format!("{path}.set.records[{j}]"), zone, r))
        .collect::<Result<Vec<_>, _>>()?;
    // The first selected record keeps its id when it is replaced one-to-one.
    let keep = (selected.len() == 1 && parsed.len() == 1).then(|| selected[0].clone());
    for id in &selected {
        if Some(id) != keep.as_ref() {
            s.remove(RECORD, id);
        }
    }
    for mut rec in parsed {
        match &keep {
            Some(id) => {
                let r = s.get_mut(RECORD, id, now).expect("selected");
                rec["id"] = json!(id);
                rec["updated_at"] = json!(ts(now));
                r.body = rec;
                touched.push(id.clone());
            }
            None => touched.push(insert_record(s, zone, rec, now)),
        }
    }
    Ok(())
}

async fn list_nameservers(State(st): State<Shared>, Path(zone): Path<String>) -> ApiResult {
    st.read(|s, now| {
        s.get(ZONE, &zone, now)
            .map(|_| ())
            .ok_or_else(|| zone_not_found(&zone))
    })?;
    let ns: Vec<Value> = DEFAULT_NS
        .iter()
        .map(|n| json!({"name": n, "ip": []}))
        .collect();
    ok(json!({"ns": ns}))
}

async fn list_versions(State(st): State<Shared>, Path(zone): Path<String>, q: Query) -> ApiResult {
    let items = st.read(|s, now| {
        s.get(ZONE, &zone, now)
            .ok_or_else(|| zone_not_found(&zone))?;
        let mut v: Vec<Value> = s
            .children(VERSION, ZONE, &zone, now)
            .into_iter()
            .map(|v| v.body.clone())
            .collect();
        // Newest first, as a history is read.
        v.reverse();
        Ok(v)
    })?;
    let (page, total) = q.paginate(items)?;
    ok(json!({"total_count": total, "versions": page}))
}

fn version_records(
    s: &Store,
    id: &str,
    now: DateTime<Utc>,
) -> Result<(String, Vec<Value>), ApiError> {
    let v = s
        .get(VERSION, id, now)
        .ok_or_else(|| ApiError::not_found("dns_zone_version", id))?;
    let zone = v.parent.as_ref().map(|p| p.id.clone()).unwrap_or_default();
    Ok((
        zone,
        v.extra["records"].as_array().cloned().unwrap_or_default(),
    ))
}

async fn list_version_records(
    State(st): State<Shared>,
    Path(id): Path<String>,
    q: Query,
) -> ApiResult {
    let (_, records) = st.read(|s, now| version_records(s, &id, now))?;
    let (page, total) = q.paginate(records)?;
    ok(json!({"total_count": total, "records": page}))
}

fn identity(r: &Value) -> (String, String, String, u64) {
    (
        r["name"].as_str().unwrap_or("").to_string(),
        r["type"].as_str().unwrap_or("").to_string(),
        r["data"].as_str().unwrap_or("").to_string(),
        r["ttl"].as_u64().unwrap_or(0),
    )
}

/// The changes that take the zone from its current records to the version's: deletions of
/// records the version lacks, then additions of records the zone lacks.
async fn version_diff(State(st): State<Shared>, Path(id): Path<String>) -> ApiResult {
    let changes = st.read(|s, now| {
        let (zone, records) = version_records(s, &id, now)?;
        let current: Vec<Value> = zone_records(s, &zone, now)
            .iter()
            .map(|r| r.body.clone())
            .collect();
        let wanted: BTreeSet<_> = records.iter().map(identity).collect();
        let have: BTreeSet<_> = current.iter().map(identity).collect();
        let mut changes: Vec<Value> = current
            .iter()
            .filter(|r| !wanted.contains(&identity(r)))
            .map(|r| json!({"delete": {"id": r["id"]}}))
            .collect();
        let adds: Vec<Value> = records
            .iter()
            .filter(|r| !have.contains(&identity(r)))
            .cloned()
            .collect();
        if !adds.is_empty() {
            changes.push(json!({"add": {"records": adds}}));
        }
        Ok::<_, ApiError>(changes)
    })?;
    ok(json!({"changes": changes}))
}

async fn restore_version(State(st): State<Shared>, Path(id): Path<String>) -> ApiResult {
    st.write(|s, now| {
        let (zone, records) = version_records(s, &id, now)?;
        let ids: Vec<String> = zone_records(s, &zone, now)
            .iter()
            .map(|r| r.id.clone())
            .collect();
        for rid in ids {
            s.remove(RECORD, &rid);
        }
        for r in records {
            let rid = r["id"].as_str().unwrap_or_default().to_string();
            s.insert(
                RECORD,
                &rid,
                Some(Parent {
                    kind: ZONE.into(),
                    id: zone.clone(),
                }),
                r,
                &[],
            );
        }
        let visible = st.dns_visible_at(now);
        if let Some(z) = s.get_mut(ZONE, &zone, now) {
            let previous = z.extra["serial"].as_u64().unwrap_or(0);
            z.extra = json!({"serial": serial_at(now, previous)});
        }
        snapshot(s, &zone, now, visible);
        Ok(())
    })?;
    ok(json!({}))
}

/// Seeds a zone as if the project owned it: `{"dns_zone": "example.test", "status": "active",
/// "project_id": …}`. Sandbox-only (no auth, like every `/sandbox/v1` route); an existing zone
/// gets the new status, so a test can turn a zone `pending` and back.
async fn seed_zone_route(State(st): State<Shared>, body: JsonBody) -> ApiResult {
    let zone = body.req_str("dns_zone")?.to_ascii_lowercase();
    let status = body
        .opt::<String>("status")?
        .unwrap_or_else(|| "active".into());
    let project = body
        .opt::<String>("project_id")?
        .unwrap_or_else(|| st.project_id.clone());
    let v = st.write(|s, now| seed_zone(s, &zone, &status, &project, now))?;
    ok(v)
}

/// Creates (or sets the status of) a zone a project owns, visible at once, as a registered
/// domain of its own (empty `subdomain`): the zone a user delegated to Scaleway.
pub fn seed_zone(
    s: &mut Store,
    zone: &str,
    status: &str,
    project: &str,
    now: DateTime<Utc>,
) -> Result<Value, ApiError> {
    if !valid_hostname(zone) || !zone.contains('.') {
        return Err(ApiError::invalid(
            "dns_zone",
            "constraint",
            format!("{zone} is not a valid zone name"),
        ));
    }
    if !ZONE_STATUSES.contains(&status) {
        return Err(ApiError::invalid(
            "status",
            "constraint",
            format!("{status} is not one of {}", ZONE_STATUSES.join(", ")),
        ));
    }
    check_uuid("project_id", project)?;
    if let Some(z) = s.get_mut(ZONE, zone, now) {
        z.obj().insert("status".into(), json!(status));
        z.obj().insert("project_id".into(), json!(project));
    } else {
        insert_zone(s, zone, "", project, status, now, now);
    }
    Ok(s.get(ZONE, zone, now).expect("seeded").body.clone())
}
