//! Managed Database `rdb/v1` (regional): engines, node types, instances, endpoints, ACLs,
//! settings, users, databases and privileges (reference §3).
//!
//! Instances go `provisioning → ready`; ACL, settings and endpoint removal cycle through
//! `configuring`; upgrades and new endpoints through `initializing`; deletes end in 404.
//! Every sub-resource call on a transient instance is refused with 409 `transient_state`.
//! Passwords are validated and then dropped: the sandbox never stores or logs them.

use axum::Router;
use axum::extract::{Path, State};
use axum::routing::{get, patch, post};
use base64::Engine;
use chrono::{DateTime, Utc};
use serde_json::{Map, Value, json};

use super::{ipam, render, touch, vpc};
use crate::server::Shared;
use crate::store::{GONE, Parent, Record, Store};
use crate::wire::{
    ApiError, ApiResult, JsonBody, Query, check_region, check_uuid, field, has_tags, list_response,
    name_matches, new_id, no_content, ok, random_public_ip, tags, ts,
};

/// Store kind of instances.
pub const INSTANCE: &str = "rdb.instance";
/// Store kind of databases (key `instance/name`).
pub const DATABASE: &str = "rdb.database";
/// Store kind of users (key `instance/name`).
pub const USER: &str = "rdb.user";
/// Store kind of privileges (key `instance/database/user`).
pub const PRIVILEGE: &str = "rdb.privilege";
/// Store kind of ACL rules (key `instance/ip`).
pub const ACL: &str = "rdb.acl_rule";
/// Store kind of database backups (children of their instance).
pub const BACKUP: &str = "rdb.backup";

const RDB_REGIONS: &[&str] = &["fr-par", "nl-ams", "pl-waw"];
const TRANSIENT: &[&str] = &[
    "provisioning",
    "configuring",
    "deleting",
    "autohealing",
    "initializing",
    "backuping",
    "snapshotting",
    "restarting",
];
const GB: u64 = 1_000_000_000;

/// Engines: (family, major versions).
const ENGINES: &[(&str, &[&str])] = &[("MySQL", &["8"]), ("PostgreSQL", &["17", "16", "15", "14"])];

/// Node types: (name, vcpus, memory bytes, lssd volume bytes).
const NODE_TYPES: &[(&str, u32, u64, u64)] = &[
    ("db-dev-s", 2, 2 * GB, 5 * GB),
    ("db-dev-m", 3, 4 * GB, 10 * GB),
    ("db-dev-l", 4, 8 * GB, 20 * GB),
    ("db-play2-pico", 1, 2 * GB, 5 * GB),
    ("db-play2-nano", 2, 4 * GB, 10 * GB),
    ("db-pro2-xxs", 2, 8 * GB, 20 * GB),
    ("db-gp-xs", 4, 16 * GB, 40 * GB),
    ("db-gp-s", 8, 32 * GB, 80 * GB),
    ("db-gp-m", 16, 64 * GB, 160 * GB),
    ("db-gp-l", 32, 128 * GB, 320 * GB),
    ("db-gp-xl", 48, 256 * GB, 640 * GB),
];

pub(super) fn routes() -> Router<Shared> {
    let base = "/rdb/v1/regions/{region}";
    let inst = format!("{base}/instances/{{id}}");
    Router::new()
        .route(&format!("{base}/database-engines"), get(list_engines))
        .route(&format!("{base}/node-types"), get(list_node_types))
        .route(
            &format!("{base}/instances"),
            get(list_instances).post(create_instance),
        )
        .route(
            &inst,
            get(get_instance)
                .patch(update_instance)
                .delete(delete_instance),
        )
        .route(&format!("{inst}/upgrade"), post(upgrade_instance))
        .route(&format!("{inst}/restart"), post(restart_instance))
        .route(&format!("{inst}/certificate"), get(certificate))
        .route(
            &format!("{inst}/renew-certificate"),
            post(renew_certificate),
        )
        .route(
            &format!("{inst}/settings"),
            post(add_settings).put(set_settings).delete(delete_settings),
        )
        .route(
            &format!("{inst}/acls"),
            get(list_acls)
                .post(add_acls)
                .put(set_acls)
                .delete(delete_acls),
        )
        .route(&format!("{inst}/users"), get(list_users).post(create_user))
        .route(
            &format!("{inst}/users/{{name}}"),
            patch(update_user).delete(delete_user),
        )
        .route(
            &format!("{inst}/databases"),
            get(list_databases).post(create_database),
        )
        .route(
            &format!("{inst}/databases/{{name}}"),
            axum::routing::delete(delete_database),
        )
        .route(
            &format!("{inst}/privileges"),
            get(list_privileges).put(set_privilege),
        )
        .route(&format!("{inst}/endpoints"), post(create_endpoint))
        .route(
            &format!("{base}/endpoints/{{id}}"),
            get(get_endpoint).delete(delete_endpoint),
        )
        .route(
            &format!("{base}/backups"),
            get(list_backups).post(create_backup),
        )
        .route(
            &format!("{base}/backups/{{id}}"),
            get(get_backup).delete(delete_backup),
        )
        .route(
            &format!("{base}/backups/{{id}}/restore"),
            post(restore_backup),
        )
}

// ---------------------------------------------------------------------------------------------
// Catalogues

fn default_settings(engine: &str) -> Vec<Value> {
    let pairs: &[(&str, &str)] = if engine.starts_with("MySQL") {
        &[
            ("max_connections", "100"),
            ("innodb_buffer_pool_size", "1000"),
            ("wait_timeout", "28800"),
        ]
    } else {
        &[
            ("effective_cache_size", "1300"),
            ("maintenance_work_mem", "150"),
            ("max_connections", "100"),
            ("max_parallel_workers", "0"),
            ("max_parallel_workers_per_gather", "0"),
            ("work_mem", "4"),
        ]
    };
    pairs
        .iter()
        .map(|(n, v)| json!({"name": n, "value": v}))
        .collect()
}

fn setting_spec(name: &str, default: &str) -> Value {
    json!({
        "name": name, "default_value": default, "hot_configurable": true,
        "description": format!("{name} (sandbox)"), "property_type": "INT", "unit": null,
        "string_constraint": null, "int_min": 0, "int_max": 1_000_000, "float_min": null, "float_max": null,
    })
}

/// Settings that can only be given at creation; only MySQL has one (observed).
fn init_settings(family: &str) -> Vec<Value> {
    if family == "MySQL" {
        let mut spec = setting_spec("lower_case_table_names", "0");
        spec["hot_configurable"] = json!(false);
        spec["int_max"] = json!(1);
        vec![spec]
    } else {
        vec![]
    }
}

async fn list_engines(Path(region): Path<String>, q: Query) -> ApiResult {
    check_region(&region, RDB_REGIONS)?;
    let engines: Vec<Value> = ENGINES
        .iter()
        .filter(|(family, _)| q.get("name").is_none_or(|n| n == *family))
        .map(|(family, majors)| {
            let versions: Vec<Value> = majors
                .iter()
                .map(|m| {
                    let name = format!("{family}-{m}");
                    let settings: Vec<Value> = default_settings(&name)
                        .iter()
                        .map(|s| setting_spec(s["name"].as_str().unwrap_or(""), s["value"].as_str().unwrap_or("")))
                        .collect();
                    json!({
                        "version": m, "name": name, "end_of_life": "2030-01-01T00:00:00Z",
                        "available_settings": settings, "disabled": false, "beta": false,
                        "available_init_settings": init_settings(family), "release_date": "2024-01-01T00:00:00Z",
                    })
                })
                .collect();
            json!({"name": family, "logo_url": format!("https://s3.nl-ams.scw.cloud/scw-rdb-logos/{}.svg", family.to_lowercase()), "versions": versions, "region": region})
        })
        .collect();
    let (page, total) = q.paginate(engines)?;
    ok(json!({"engines": page, "total_count": total}))
}

async fn list_node_types(Path(region): Path<String>, q: Query) -> ApiResult {
    check_region(&region, RDB_REGIONS)?;
    let items: Vec<Value> = NODE_TYPES
        .iter()
        .map(|(name, vcpus, memory, lssd)| json!({
            "name": name, "stock_status": "available", "description": format!("{name} (sandbox)"),
            "vcpus": vcpus, "memory": memory, "disabled": false, "beta": false,
            "available_volume_types": [
                {"type": "lssd", "description": "Local SSD", "min_size": lssd, "max_size": lssd, "chunk_size": 5 * GB, "class": "lssd"},
                {"type": "sbs_5k", "description": "Block SSD 5K", "min_size": 5 * GB, "max_size": 10_000 * GB, "chunk_size": 5 * GB, "class": "sbs"},
                {"type": "sbs_15k", "description": "Block SSD 15K", "min_size": 5 * GB, "max_size": 10_000 * GB, "chunk_size": 5 * GB, "class": "sbs"},
            ],
            "is_ha_required": false, "generation": "generation_v2", "instance_range": "dev", "region": region,
            "is_bssd_compatible": true,
            // Deprecated in favour of available_volume_types: the local SSD range.
            "volume_constraint": {"min_size": lssd, "max_size": lssd},
        }))
        .collect();
    let (page, total) = q.paginate(items)?;
    ok(json!({"node_types": page, "total_count": total}))
}

// ---------------------------------------------------------------------------------------------
// Instances

fn find<'a>(
    s: &'a Store,
    region: &str,
    id: &str,
    now: DateTime<Utc>,
) -> Result<&'a Record, ApiError> {
    s.get(INSTANCE, id, now)
        .filter(|r| r.str("region") == region)
        .ok_or_else(|| ApiError::not_found("instance", id))
}

/// The instance, refusing with 409 `transient_state` while it is busy.
fn find_stable<'a>(
    s: &'a Store,
    region: &str,
    id: &str,
    now: DateTime<Utc>,
) -> Result<&'a Record, ApiError> {
    let rec = find(s, region, id, now)?;
    let status = rec.status(now);
    if TRANSIENT.contains(&status) {
        return Err(ApiError::transient("instance", id, status));
    }
    Ok(rec)
}

fn render_instance(rec: &Record, now: DateTime<Utc>) -> Value {
    let mut v = render(rec, now);
    let provisioned = rec.status(now) != "provisioning";
    let endpoints = if provisioned {
        rec.extra["endpoints"].clone()
    } else {
        json!([])
    };
    v["endpoint"] = endpoints.get(0).cloned().unwrap_or(Value::Null);
    v["endpoints"] = endpoints;
    v["settings"] = if provisioned {
        rec.extra["settings"].clone()
    } else {
        json!([])
    };
    v
}

fn node_type(name: &str) -> Result<&'static (&'static str, u32, u64, u64), ApiError> {
    let lower = name.to_ascii_lowercase();
    NODE_TYPES.iter().find(|t| t.0 == lower).ok_or_else(|| {
        ApiError::invalid(
            "node_type",
            "constraint",
            format!("unknown node type {name}, see /node-types"),
        )
    })
}

fn check_password(password: &str) -> Result<(), ApiError> {
    let ok = (8..=128).contains(&password.chars().count())
        && password.chars().any(|c| c.is_ascii_digit())
        && password.chars().any(|c| c.is_ascii_uppercase())
        && password.chars().any(|c| c.is_ascii_lowercase())
        && password.chars().any(|c| !c.is_ascii_alphanumeric());
    if ok {
        Ok(())
    } else {
        Err(ApiError::invalid(
            "password",
            "constraint",
            "password must be 8 to 128 characters with at least one digit, one upper case, one lower case and one special character",
        ))
    }
}

fn check_user_name(name: &str, engine: &str) -> Result<(), ApiError> {
    let max = if engine.starts_with("MySQL") { 32 } else { 63 };
    let valid = (1..=max).contains(&name.len())
        && name.chars().next().is_some_and(|c| c.is_ascii_alphabetic())
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "_$-".contains(c))
        && !name.starts_with("_rdb")
        && !(engine.starts_with("PostgreSQL") && name.starts_with("pg_"));
    if valid {
        Ok(())
    } else {
        Err(ApiError::invalid(
            "user_name",
            "constraint",
            format!(
                "user name must be 1 to {max} characters of a-zA-Z0-9_$-, start with a letter and not use a reserved prefix"
            ),
        ))
    }
}

/// Builds an endpoint from an EndpointSpec, booking its address in IPAM when needed.
fn make_endpoint(
    s: &mut Store,
    inst: &Record,
    spec: &JsonBody,
    now: DateTime<Utc>,
) -> Result<Value, ApiError> {
    let region = inst.str("region").to_string();
    let engine = inst.str("engine");
    let id = new_id();
    if let Some(pn) = spec.obj("private_network")? {
        let pn_id: String = pn.req_str("private_network_id")?;
        let pn_rec = s
            .get(vpc::PN, &pn_id, now)
            .filter(|p| p.str("region") == region)
            .ok_or_else(|| ApiError::not_found("private_network", &pn_id))?;
        let _ = pn_rec;
        let port = if engine.starts_with("MySQL") {
            3306
        } else {
            5432
        };
        let (ip, service_ip, mode) = match pn.opt::<String>("service_ip")? {
            Some(cidr) => {
                let ip = cidr.split('/').next().unwrap_or("").to_string();
                if ip.parse::<std::net::Ipv4Addr>().is_err() {
                    return Err(ApiError::invalid(
                        "service_ip",
                        "format",
                        "service_ip must be an IPv4 CIDR",
                    ));
                }
                (ip, cidr, "static")
            }
            None => {
                let resource = json!({"type": "rdb_instance", "id": inst.id, "mac_address": null, "name": inst.str("name")});
                let project = inst.str("project_id").to_string();
                let inst_id = inst.id.clone();
                let ips = ipam::book_in_pn(
                    s,
                    &region,
                    &project,
                    &pn_id,
                    resource,
                    Some(Parent {
                        kind: INSTANCE.into(),
                        id: inst_id,
                    }),
                    true,
                    now,
                );
                let ip_id = ips.first().cloned().unwrap_or_default();
                let cidr = s
                    .get(ipam::IP, &ip_id, now)
                    .map(|r| r.str("address").to_string())
                    .unwrap_or_default();
                if let Some(r) = s.get_mut(ipam::IP, &ip_id, now) {
                    r.extra["endpoint_id"] = json!(id);
                }
                (
                    cidr.split('/').next().unwrap_or("").to_string(),
                    cidr,
                    "ipam",
                )
            }
        };
        return Ok(json!({
            "id": id, "ip": ip, "port": port, "name": null,
            "private_network": {"private_network_id": pn_id, "service_ip": service_ip, "zone": format!("{region}-1"), "provisioning_mode": mode},
        }));
    }
    if spec.has("load_balancer") {
        use rand::RngExt;
        return Ok(
            json!({"id": id, "ip": random_public_ip(), "load_balancer": {}, "name": null, "port": rand::rng().random_range(10_000..30_000u32)}),
        );
    }
    Err(ApiError::invalid(
        "endpoint_spec",
        "constraint",
        "an endpoint spec needs load_balancer or private_network",
    ))
}

async fn list_instances(
    State(st): State<Shared>,
    Path(region): Path<String>,
    q: Query,
) -> ApiResult {
    check_region(&region, RDB_REGIONS)?;
    let wanted_tags = q.all("tags");
    let items = st.read(|s, now| {
        s.list(INSTANCE, now)
            .into_iter()
            .filter(|r| r.str("region") == region)
            .map(|r| render_instance(r, now))
            .filter(|v| name_matches(v, q.get("name")) && has_tags(v, &wanted_tags))
            .filter(|v| q.get("project_id").is_none_or(|p| v["project_id"] == p))
            .filter(|v| {
                q.get("organization_id")
                    .is_none_or(|p| v["organization_id"] == p)
            })
            .collect::<Vec<_>>()
    });
    list_response("instances", items, &q, "created_at_asc")
}

async fn create_instance(
    State(st): State<Shared>,
    Path(region): Path<String>,
    body: JsonBody,
) -> ApiResult {
    check_region(&region, RDB_REGIONS)?;
    let project = body
        .opt::<String>("project_id")?
        .unwrap_or_else(|| st.project_id.clone());
    check_uuid("project_id", &project)?;
    let name = body.req_str("name")?;
    let engine = body.req_str("engine")?;
    if !ENGINES
        .iter()
        .any(|(f, majors)| majors.iter().any(|m| format!("{f}-{m}") == engine))
    {
        return Err(ApiError::invalid(
            "engine",
            "constraint",
            format!("unknown engine {engine}, see /database-engines"),
        ));
    }
    let nt = node_type(&body.req_str("node_type")?)?;
    let user_name = body.opt::<String>("user_name")?.unwrap_or_default();
    let password = body.opt::<String>("password")?.unwrap_or_default();
    if !user_name.is_empty() {
        check_user_name(&user_name, &engine)?;
        check_password(&password)?;
    }
    let volume_type = body
        .opt::<String>("volume_type")?
        .filter(|t| !t.is_empty())
        .unwrap_or_else(|| "lssd".into());
    let (class, size) = match volume_type.as_str() {
        "lssd" => ("lssd", nt.3),
        "bssd" | "sbs_5k" | "sbs_15k" => {
            let size = body.opt::<u64>("volume_size")?.unwrap_or(0);
            if size == 0 || !size.is_multiple_of(5 * GB) {
                return Err(ApiError::invalid(
                    "volume_size",
                    "constraint",
                    "volume_size must be a positive multiple of 5 GB (in bytes)",
                ));
            }
            (if volume_type == "bssd" { "bssd" } else { "sbs" }, size)
        }
        other => {
            return Err(ApiError::invalid(
                "volume_type",
                "constraint",
                format!("unknown volume type {other}"),
            ));
        }
    };
    let disable_backup = body.opt::<bool>("disable_backup")?.unwrap_or(false);
    let ha_mode = body.opt::<String>("high_availability_mode")?;
    let is_ha = body.opt::<bool>("is_ha_cluster")?.unwrap_or(false)
        || matches!(ha_mode.as_deref(), Some("single_zone" | "multiple_zone"));
    let init_settings: Vec<Value> = body.opt("init_settings")?.unwrap_or_default();
    let specs: Option<Vec<Map<String, Value>>> = body.opt("init_endpoints")?;
    let encryption = body
        .obj("encryption")?
        .map(|e| e.opt::<bool>("enabled"))
        .transpose()?
        .flatten()
        .unwrap_or(false);
    let backup_same_region = body.opt::<bool>("backup_same_region")?.unwrap_or(false);
    let tags = tags(&body)?;
    let v = st.write(|s, now| {
        let id = new_id();
        let next_run = if disable_backup { Value::Null } else { json!(ts(now + chrono::Duration::hours(24))) };
        let inst = json!({
            "backup_same_region": backup_same_region,
            "backup_schedule": {"disabled": disable_backup, "frequency": 24, "next_run_at": next_run, "retention": 7},
            "created_at": ts(now), "encryption": {"enabled": encryption}, "endpoint": null,
            "endpoints": [], "engine": engine, "id": id, "init_settings": init_settings,
            "is_ha_cluster": is_ha,
            "high_availability_mode": ha_mode.clone().unwrap_or_else(|| if is_ha { "single_zone" } else { "disabled" }.into()),
            "logs_policy": {"max_age_retention": 30, "total_disk_retention": null},
            "maintenances": [], "name": name, "node_type": nt.0, "organization_id": project,
            "project_id": project, "read_replicas": [], "region": region, "settings": [],
            "tags": tags, "upgradable_version": [],
            "volume": {"class": class, "size": size, "type": volume_type},
        });
        let ready = st.later(now, st.durations.rdb_create);
        s.insert(INSTANCE, &id, None, inst, &[("provisioning", now), ("ready", ready)]);
        let snapshot = s.get(INSTANCE, &id, now).expect("inserted").clone();
        // `init_endpoints: null` means one public load-balancer endpoint (reference §3.3).
        let specs = specs.unwrap_or_else(|| vec![json!({"load_balancer": {}}).as_object().cloned().expect("object")]);
        let mut endpoints = vec![];
        for spec in specs {
            endpoints.push(make_endpoint(s, &snapshot, &JsonBody(spec), now)?);
        }
        let rec = s.get_mut(INSTANCE, &id, now).expect("inserted");
        rec.extra = json!({"endpoints": endpoints, "settings": default_settings(&engine)});
        if !user_name.is_empty() {
            let key = format!("{id}/{user_name}");
            s.insert(USER, &key, Some(Parent { kind: INSTANCE.into(), id: id.clone() }), json!({"name": user_name, "is_admin": true}), &[]);
        }
        Ok(render_instance(s.get(INSTANCE, &id, now).expect("inserted"), now))
    })?;
    ok(v)
}

async fn get_instance(
    State(st): State<Shared>,
    Path((region, id)): Path<(String, String)>,
) -> ApiResult {
    check_region(&region, RDB_REGIONS)?;
    ok(st.read(|s, now| find(s, &region, &id, now).map(|r| render_instance(r, now)))?)
}

async fn update_instance(
    State(st): State<Shared>,
    Path((region, id)): Path<(String, String)>,
    body: JsonBody,
) -> ApiResult {
    check_region(&region, RDB_REGIONS)?;
    let name = body.opt::<String>("name")?;
    let tags = body.opt::<Vec<String>>("tags")?;
    let freq = body.opt::<u32>("backup_schedule_frequency")?;
    let retention = body.opt::<u32>("backup_schedule_retention")?;
    let disabled = body.opt::<bool>("is_backup_schedule_disabled")?;
    let same_region = body.opt::<bool>("backup_same_region")?;
    let logs = body.obj("logs_policy")?;
    ok(st.write(|s, now| {
        find_stable(s, &region, &id, now)?;
        let rec = s.get_mut(INSTANCE, &id, now).expect("found");
        let created = rec.str("created_at").to_string();
        let o = rec.obj();
        if let Some(n) = name {
            o.insert("name".into(), json!(n));
        }
        if let Some(t) = tags {
            o.insert("tags".into(), json!(t));
        }
        if let Some(b) = same_region {
            o.insert("backup_same_region".into(), json!(b));
        }
        let bs = o.entry("backup_schedule").or_insert_with(|| json!({}));
        if let Some(f) = freq {
            bs["frequency"] = json!(f);
        }
        if let Some(r) = retention {
            bs["retention"] = json!(r);
        }
        if let Some(d) = disabled {
            bs["disabled"] = json!(d);
            let next = DateTime::parse_from_rfc3339(&created)
                .map(|t| t.with_timezone(&Utc))
                .unwrap_or(now)
                + chrono::Duration::hours(24);
            bs["next_run_at"] = if d {
                Value::Null
            } else {
                json!(ts(next.max(now)))
            };
        }
        if let Some(l) = logs {
            let lp = o.entry("logs_policy").or_insert_with(|| json!({}));
            for k in ["max_age_retention", "total_disk_retention"] {
                if let Some(v) = l.opt::<u64>(k)? {
                    lp[k] = json!(v);
                }
            }
        }
        Ok(render_instance(rec, now))
    })?)
}

async fn delete_instance(
    State(st): State<Shared>,
    Path((region, id)): Path<(String, String)>,
) -> ApiResult {
    check_region(&region, RDB_REGIONS)?;
    ok(st.write(|s, now| {
        let rec = find(s, &region, &id, now)?;
        if rec.status(now) == "deleting" {
            return Err(ApiError::transient("instance", &id, "deleting"));
        }
        let end = st.later(now, st.durations.rdb_delete);
        let rec = s.get_mut(INSTANCE, &id, now).expect("found");
        rec.schedule(&[("deleting", now), (GONE, end)]);
        Ok(render_instance(rec, now))
    })?)
}

/// Moves an instance through `status` back to `ready` after `d`.
fn cycle(st: &Shared, rec: &mut Record, now: DateTime<Utc>, status: &str, d: std::time::Duration) {
    let end = st.later(now, d);
    rec.schedule(&[(status, now), ("ready", end)]);
}

async fn upgrade_instance(
    State(st): State<Shared>,
    Path((region, id)): Path<(String, String)>,
    body: JsonBody,
) -> ApiResult {
    check_region(&region, RDB_REGIONS)?;
    let options = [
        "node_type",
        "enable_ha",
        "high_availability_mode",
        "volume_size",
        "volume_type",
        "upgradable_version_id",
        "major_upgrade_workflow",
        "enable_encryption",
    ];
    let given: Vec<&str> = options.iter().copied().filter(|k| body.has(k)).collect();
    if given.len() != 1 {
        return Err(ApiError::invalid(
            "upgrade",
            "constraint",
            format!("exactly one of {} must be set", options.join(", ")),
        ));
    }
    ok(st.write(|s, now| {
        let rec = find_stable(s, &region, &id, now)?;
        let current_size = rec.body["volume"]["size"].as_u64().unwrap_or(0);
        let current_type = rec.body["volume"]["type"].as_str().unwrap_or("lssd").to_string();
        let mut changes: Vec<(&str, Value)> = vec![];
        match given[0] {
            "node_type" => {
                let nt = node_type(&body.req_str("node_type")?)?;
                changes.push(("node_type", json!(nt.0)));
                if current_type == "lssd" {
                    changes.push(("volume", json!({"class": "lssd", "size": nt.3, "type": "lssd"})));
                }
            }
            "enable_ha" | "high_availability_mode" => {
                let mode = body.opt::<String>("high_availability_mode")?.unwrap_or_else(|| "single_zone".into());
                changes.push(("is_ha_cluster", json!(mode != "disabled")));
                changes.push(("high_availability_mode", json!(mode)));
            }
            "enable_encryption" => changes.push(("encryption", json!({"enabled": true}))),
            "volume_size" => {
                let size: u64 = body.req("volume_size")?;
                if current_type == "lssd" || size <= current_size || !size.is_multiple_of(5 * GB) {
                    return Err(ApiError::invalid("volume_size", "constraint", "volume_size can only grow, by multiples of 5 GB, on block volumes"));
                }
                let class = rec.body["volume"]["class"].clone();
                changes.push(("volume", json!({"class": class, "size": size, "type": current_type})));
            }
            "volume_type" => {
                let t = body.req_str("volume_type")?;
                if !["sbs_5k", "sbs_15k", "bssd"].contains(&t.as_str()) {
                    return Err(ApiError::invalid("volume_type", "constraint", format!("cannot migrate to volume type {t}")));
                }
                let size = current_size.max(5 * GB);
                changes.push(("volume", json!({"class": if t == "bssd" { "bssd" } else { "sbs" }, "size": size, "type": t})));
            }
            other => {
                return Err(ApiError::invalid(other, "constraint", "no upgradable version is available for this instance"));
            }
        }
        let rec = s.get_mut(INSTANCE, &id, now).expect("found");
        for (k, v) in changes {
            rec.obj().insert(k.into(), v);
        }
        cycle(&st, rec, now, "initializing", st.durations.rdb_initialize);
        Ok(render_instance(rec, now))
    })?)
}

async fn restart_instance(
    State(st): State<Shared>,
    Path((region, id)): Path<(String, String)>,
) -> ApiResult {
    check_region(&region, RDB_REGIONS)?;
    ok(st.write(|s, now| {
        find_stable(s, &region, &id, now)?;
        let rec = s.get_mut(INSTANCE, &id, now).expect("found");
        cycle(&st, rec, now, "restarting", st.durations.rdb_configure);
        Ok(render_instance(rec, now))
    })?)
}

async fn certificate(
    State(st): State<Shared>,
    Path((region, id)): Path<(String, String)>,
) -> ApiResult {
    check_region(&region, RDB_REGIONS)?;
    ok(st.read(|s, now| {
        find(s, &region, &id, now)?;
        let pem = super::k8s::fake_pem(&format!("rw-{id}.rdb.{region}.scw.cloud"));
        Ok::<_, ApiError>(json!({
            "name": "ssl_certificate", "content_type": "application/x-pem-file",
            "content": base64::engine::general_purpose::STANDARD.encode(pem),
        }))
    })?)
}

async fn renew_certificate(
    State(st): State<Shared>,
    Path((region, id)): Path<(String, String)>,
) -> ApiResult {
    check_region(&region, RDB_REGIONS)?;
    st.write(|s, now| {
        find_stable(s, &region, &id, now)?;
        let rec = s.get_mut(INSTANCE, &id, now).expect("found");
        cycle(&st, rec, now, "configuring", st.durations.rdb_configure);
        Ok(())
    })?;
    no_content()
}

// ---------------------------------------------------------------------------------------------
// Settings

fn settings_req(body: &JsonBody) -> Result<Vec<(String, String)>, ApiError> {
    let list: Vec<Map<String, Value>> = body.req("settings")?;
    list.iter()
        .map(|m| {
            Ok((
                field::<String>(m, "name")?.unwrap_or_default(),
                field::<String>(m, "value")?.unwrap_or_default(),
            ))
        })
        .collect()
}

async fn change_settings(
    st: Shared,
    region: String,
    id: String,
    f: impl FnOnce(&mut Vec<Value>) -> Vec<Value>,
) -> ApiResult {
    check_region(&region, RDB_REGIONS)?;
    ok(st.write(|s, now| {
        find_stable(s, &region, &id, now)?;
        let rec = s.get_mut(INSTANCE, &id, now).expect("found");
        let mut settings: Vec<Value> = rec.extra["settings"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        let out = f(&mut settings);
        rec.extra["settings"] = json!(settings);
        cycle(&st, rec, now, "configuring", st.durations.rdb_configure);
        Ok(json!({"settings": out}))
    })?)
}

fn upsert(settings: &mut Vec<Value>, name: &str, value: &str) {
    match settings.iter_mut().find(|s| s["name"] == name) {
        Some(s) => s["value"] = json!(value),
        None => settings.push(json!({"name": name, "value": value})),
    }
}

async fn add_settings(
    State(st): State<Shared>,
    Path((region, id)): Path<(String, String)>,
    body: JsonBody,
) -> ApiResult {
    let req = settings_req(&body)?;
    change_settings(st, region, id, move |settings| {
        for (n, v) in &req {
            upsert(settings, n, v);
        }
        settings.clone()
    })
    .await
}

async fn set_settings(
    State(st): State<Shared>,
    Path((region, id)): Path<(String, String)>,
    body: JsonBody,
) -> ApiResult {
    let req = settings_req(&body)?;
    change_settings(st, region, id, move |settings| {
        for (n, v) in &req {
            upsert(settings, n, v);
        }
        settings.clone()
    })
    .await
}

async fn delete_settings(
    State(st): State<Shared>,
    Path((region, id)): Path<(String, String)>,
    body: JsonBody,
) -> ApiResult {
    let names: Vec<String> = body.req("setting_names")?;
    change_settings(st, region, id, move |settings| {
        settings.retain(|s| !names.iter().any(|n| s["name"] == n.as_str()));
        settings.clone()
    })
    .await
}

// ---------------------------------------------------------------------------------------------
// ACLs

fn normalize_cidr(ip: &str) -> Result<String, ApiError> {
    let (addr, len) = match ip.split_once('/') {
        Some((a, l)) => (a, Some(l)),
        None => (ip, None),
    };
    let parsed: std::net::IpAddr = addr.parse().map_err(|_| {
        ApiError::invalid("rules.ip", "format", format!("{ip} is not an IP network"))
    })?;
    let max = if parsed.is_ipv4() { 32 } else { 128 };
    let len = match len {
        None => max,
        Some(l) => l.parse::<u8>().ok().filter(|l| *l <= max).ok_or_else(|| {
            ApiError::invalid("rules.ip", "format", format!("{ip} is not an IP network"))
        })?,
    };
    Ok(format!("{addr}/{len}"))
}

fn acl_rules_req(body: &JsonBody) -> Result<Vec<(String, String)>, ApiError> {
    let rules: Vec<Map<String, Value>> = body.req("rules")?;
    rules
        .iter()
        .map(|r| {
            let ip: String = field(r, "ip")?
                .ok_or_else(|| ApiError::invalid("rules.ip", "required", "ip is required"))?;
            let description: String = field(r, "description")?.unwrap_or_default();
            // An empty description becomes "IP allowed" on the server (observed).
            let description = if description.is_empty() {
                "IP allowed".to_string()
            } else {
                description
            };
            Ok((normalize_cidr(&ip)?, description))
        })
        .collect()
}

fn acl_port(inst: &Record) -> u64 {
    inst.extra["endpoints"]
        .as_array()
        .and_then(|eps| {
            eps.iter()
                .find(|e| e.get("load_balancer").is_some())
                .or(eps.first())
        })
        .and_then(|e| e["port"].as_u64())
        .unwrap_or(5432)
}

fn render_rule(port: u64, rec: &Record) -> Value {
    json!({"ip": rec.str("ip"), "port": port, "protocol": "tcp", "direction": "inbound", "action": "allow", "description": rec.str("description")})
}

async fn list_acls(
    State(st): State<Shared>,
    Path((region, id)): Path<(String, String)>,
    q: Query,
) -> ApiResult {
    check_region(&region, RDB_REGIONS)?;
    let items = st.read(|s, now| {
        let inst = find(s, &region, &id, now)?;
        let port = acl_port(inst);
        Ok::<_, ApiError>(
            s.children(ACL, INSTANCE, &id, now)
                .into_iter()
                .map(|r| render_rule(port, r))
                .collect::<Vec<_>>(),
        )
    })?;
    let (page, total) = q.paginate(items)?;
    ok(json!({"rules": page, "total_count": total}))
}

async fn write_acls(
    st: Shared,
    region: String,
    id: String,
    add: Vec<(String, String)>,
    replace: bool,
) -> ApiResult {
    check_region(&region, RDB_REGIONS)?;
    ok(st.write(|s, now| {
        let inst = find_stable(s, &region, &id, now)?;
        let port = acl_port(inst);
        if replace {
            for r in s
                .children(ACL, INSTANCE, &id, now)
                .iter()
                .map(|r| r.id.clone())
                .collect::<Vec<_>>()
            {
                s.remove(ACL, &r);
            }
        }
        let mut out = vec![];
        for (ip, description) in add {
            let key = format!("{id}/{ip}");
            s.remove(ACL, &key);
            let rec = s.insert(
                ACL,
                &key,
                Some(Parent {
                    kind: INSTANCE.into(),
                    id: id.clone(),
                }),
                json!({"ip": ip, "description": description}),
                &[],
            );
            out.push(render_rule(port, rec));
        }
        let rec = s.get_mut(INSTANCE, &id, now).expect("found");
        cycle(&st, rec, now, "configuring", st.durations.rdb_configure);
        Ok(json!({"rules": out}))
    })?)
}

async fn add_acls(
    State(st): State<Shared>,
    Path((region, id)): Path<(String, String)>,
    body: JsonBody,
) -> ApiResult {
    let rules = acl_rules_req(&body)?;
    write_acls(st, region, id, rules, false).await
}

async fn set_acls(
    State(st): State<Shared>,
    Path((region, id)): Path<(String, String)>,
    body: JsonBody,
) -> ApiResult {
    let rules = acl_rules_req(&body)?;
    write_acls(st, region, id, rules, true).await
}

async fn delete_acls(
    State(st): State<Shared>,
    Path((region, id)): Path<(String, String)>,
    body: JsonBody,
) -> ApiResult {
    check_region(&region, RDB_REGIONS)?;
    let ips: Vec<String> = body.req("acl_rule_ips")?;
    let ips: Vec<String> = ips
        .iter()
        .map(|i| normalize_cidr(i))
        .collect::<Result<_, _>>()?;
    ok(st.write(|s, now| {
        let inst = find_stable(s, &region, &id, now)?;
        let port = acl_port(inst);
        let mut removed = vec![];
        for ip in ips {
            if let Some(r) = s.remove(ACL, &format!("{id}/{ip}")) {
                removed.push(render_rule(port, &r));
            }
        }
        let rec = s.get_mut(INSTANCE, &id, now).expect("found");
        cycle(&st, rec, now, "configuring", st.durations.rdb_configure);
        Ok(json!({"rules": removed}))
    })?)
}

// ---------------------------------------------------------------------------------------------
// Users, databases, privileges

async fn list_users(
    State(st): State<Shared>,
    Path((region, id)): Path<(String, String)>,
    q: Query,
) -> ApiResult {
    check_region(&region, RDB_REGIONS)?;
    let items = st.read(|s, now| {
        find_stable(s, &region, &id, now)?;
        Ok::<_, ApiError>(
            s.children(USER, INSTANCE, &id, now)
                .into_iter()
                .map(|r| r.body.clone())
                .filter(|v| name_matches(v, q.get("name")))
                .collect::<Vec<_>>(),
        )
    })?;
    list_response("users", items, &q, "name_asc")
}

async fn create_user(
    State(st): State<Shared>,
    Path((region, id)): Path<(String, String)>,
    body: JsonBody,
) -> ApiResult {
    check_region(&region, RDB_REGIONS)?;
    let name = body.req_str("name")?;
    let password = body.req_str("password")?;
    check_password(&password)?;
    let is_admin = body.opt::<bool>("is_admin")?.unwrap_or(false);
    ok(st.write(|s, now| {
        let inst = find_stable(s, &region, &id, now)?;
        check_user_name(&name, inst.str("engine"))?;
        let key = format!("{id}/{name}");
        if s.get(USER, &key, now).is_some() {
            return Err(ApiError::already_exists(
                "user",
                &name,
                "a user with this name already exists",
            ));
        }
        let rec = s.insert(
            USER,
            &key,
            Some(Parent {
                kind: INSTANCE.into(),
                id: id.clone(),
            }),
            json!({"is_admin": is_admin, "name": name}),
            &[],
        );
        Ok(rec.body.clone())
    })?)
}

async fn update_user(
    State(st): State<Shared>,
    Path((region, id, name)): Path<(String, String, String)>,
    body: JsonBody,
) -> ApiResult {
    check_region(&region, RDB_REGIONS)?;
    if let Some(p) = body.opt::<String>("password")? {
        check_password(&p)?;
    }
    let is_admin = body.opt::<bool>("is_admin")?;
    ok(st.write(|s, now| {
        find_stable(s, &region, &id, now)?;
        let rec = s
            .get_mut(USER, &format!("{id}/{name}"), now)
            .ok_or_else(|| ApiError::not_found("user", &name))?;
        if let Some(a) = is_admin {
            rec.obj().insert("is_admin".into(), json!(a));
        }
        Ok(rec.body.clone())
    })?)
}

async fn delete_user(
    State(st): State<Shared>,
    Path((region, id, name)): Path<(String, String, String)>,
) -> ApiResult {
    check_region(&region, RDB_REGIONS)?;
    st.write(|s, now| {
        find_stable(s, &region, &id, now)?;
        s.remove(USER, &format!("{id}/{name}"))
            .ok_or_else(|| ApiError::not_found("user", &name))?;
        for k in s
            .children(PRIVILEGE, INSTANCE, &id, now)
            .iter()
            .filter(|p| p.str("user_name") == name)
            .map(|p| p.id.clone())
            .collect::<Vec<_>>()
        {
            s.remove(PRIVILEGE, &k);
        }
        Ok(())
    })?;
    no_content()
}

fn render_database(rec: &Record, now: DateTime<Utc>, skip_size: bool) -> Value {
    let _ = now;
    let mut v = rec.body.clone();
    // The owner is only empty in the creation response; reads show the superadmin (observed).
    v["owner"] = json!("_rdb_superadmin");
    v["size"] = json!(if skip_size { 0 } else { 7_736_467 });
    v
}

async fn list_databases(
    State(st): State<Shared>,
    Path((region, id)): Path<(String, String)>,
    q: Query,
) -> ApiResult {
    check_region(&region, RDB_REGIONS)?;
    let skip = q.bool("skip_size_retrieval")?.unwrap_or(false);
    let managed = q.bool("managed")?;
    let items = st.read(|s, now| {
        // Even reads are refused while the instance is busy (reference §3.9).
        find_stable(s, &region, &id, now)?;
        Ok::<_, ApiError>(
            s.children(DATABASE, INSTANCE, &id, now)
                .into_iter()
                .map(|r| render_database(r, now, skip))
                .filter(|v| name_matches(v, q.get("name")))
                .filter(|v| q.get("owner").is_none_or(|o| v["owner"] == o))
                .filter(|v| managed.is_none_or(|m| v["managed"] == m))
                .collect::<Vec<_>>(),
        )
    })?;
    list_response("databases", items, &q, "name_asc")
}

async fn create_database(
    State(st): State<Shared>,
    Path((region, id)): Path<(String, String)>,
    body: JsonBody,
) -> ApiResult {
    check_region(&region, RDB_REGIONS)?;
    let name = body.req_str("name")?;
    if name.len() > 63
        || !name.chars().next().is_some_and(|c| c.is_ascii_alphabetic())
        || !name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "_-$".contains(c))
    {
        return Err(ApiError::invalid(
            "name",
            "constraint",
            "database name must be 1 to 63 characters of a-zA-Z0-9_$- starting with a letter",
        ));
    }
    ok(st.write(|s, now| {
        find_stable(s, &region, &id, now)?;
        let key = format!("{id}/{name}");
        if s.get(DATABASE, &key, now).is_some() {
            return Err(ApiError::already_exists(
                "database",
                &name,
                "a database with this name already exists",
            ));
        }
        s.insert(
            DATABASE,
            &key,
            Some(Parent {
                kind: INSTANCE.into(),
                id: id.clone(),
            }),
            json!({"managed": true, "name": name, "owner": "", "size": 0}),
            &[],
        );
        Ok(json!({"managed": true, "name": name, "owner": "", "size": 0}))
    })?)
}

async fn delete_database(
    State(st): State<Shared>,
    Path((region, id, name)): Path<(String, String, String)>,
) -> ApiResult {
    check_region(&region, RDB_REGIONS)?;
    st.write(|s, now| {
        find_stable(s, &region, &id, now)?;
        s.remove(DATABASE, &format!("{id}/{name}"))
            .ok_or_else(|| ApiError::not_found("database", &name))?;
        for k in s
            .children(PRIVILEGE, INSTANCE, &id, now)
            .iter()
            .filter(|p| p.str("database_name") == name)
            .map(|p| p.id.clone())
            .collect::<Vec<_>>()
        {
            s.remove(PRIVILEGE, &k);
        }
        Ok(())
    })?;
    no_content()
}

async fn list_privileges(
    State(st): State<Shared>,
    Path((region, id)): Path<(String, String)>,
    q: Query,
) -> ApiResult {
    check_region(&region, RDB_REGIONS)?;
    let items = st.read(|s, now| {
        find_stable(s, &region, &id, now)?;
        Ok::<_, ApiError>(
            s.children(PRIVILEGE, INSTANCE, &id, now)
                .into_iter()
                .map(|r| r.body.clone())
                .filter(|v| {
                    q.get("database_name")
                        .is_none_or(|d| v["database_name"] == d)
                })
                .filter(|v| q.get("user_name").is_none_or(|u| v["user_name"] == u))
                .collect::<Vec<_>>(),
        )
    })?;
    list_response("privileges", items, &q, "user_name_asc")
}

async fn set_privilege(
    State(st): State<Shared>,
    Path((region, id)): Path<(String, String)>,
    body: JsonBody,
) -> ApiResult {
    check_region(&region, RDB_REGIONS)?;
    let database = body.req_str("database_name")?;
    let user = body.req_str("user_name")?;
    let permission = body
        .opt_enum(
            "permission",
            &["readonly", "readwrite", "all", "custom", "none"],
        )?
        .ok_or_else(|| ApiError::invalid("permission", "required", "permission is required"))?;
    ok(st.write(|s, now| {
        find_stable(s, &region, &id, now)?;
        if s.get(DATABASE, &format!("{id}/{database}"), now).is_none() {
            return Err(ApiError::not_found("database", &database));
        }
        if s.get(USER, &format!("{id}/{user}"), now).is_none() {
            return Err(ApiError::not_found("user", &user));
        }
        let key = format!("{id}/{database}/{user}");
        let body = json!({"permission": permission, "database_name": database, "user_name": user});
        s.remove(PRIVILEGE, &key);
        // Setting `none` is how a privilege is removed.
        if permission != "none" {
            s.insert(
                PRIVILEGE,
                &key,
                Some(Parent {
                    kind: INSTANCE.into(),
                    id: id.clone(),
                }),
                body.clone(),
                &[],
            );
        }
        Ok(body)
    })?)
}

// ---------------------------------------------------------------------------------------------
// Endpoints

async fn create_endpoint(
    State(st): State<Shared>,
    Path((region, id)): Path<(String, String)>,
    body: JsonBody,
) -> ApiResult {
    check_region(&region, RDB_REGIONS)?;
    let spec = body.obj("endpoint_spec")?.ok_or_else(|| {
        ApiError::invalid("endpoint_spec", "required", "endpoint_spec is required")
    })?;
    st.write(|s, now| {
        let inst = find_stable(s, &region, &id, now)?.clone();
        let endpoint = make_endpoint(s, &inst, &spec, now)?;
        let rec = s.get_mut(INSTANCE, &id, now).expect("found");
        let mut eps = rec.extra["endpoints"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        eps.push(endpoint);
        rec.extra["endpoints"] = json!(eps);
        cycle(&st, rec, now, "initializing", st.durations.rdb_initialize);
        Ok(())
    })?;
    // The API answers with a placeholder; the endpoint shows up on the instance (observed).
    ok(json!({"id": "", "name": null, "port": 0}))
}

fn endpoint_owner<'a>(
    s: &'a Store,
    region: &str,
    endpoint: &str,
    now: DateTime<Utc>,
) -> Option<(&'a Record, Value)> {
    s.list(INSTANCE, now)
        .into_iter()
        .filter(|r| r.str("region") == region)
        .find_map(|r| {
            r.extra["endpoints"]
                .as_array()
                .and_then(|eps| eps.iter().find(|e| e["id"] == endpoint).cloned())
                .map(|e| (r, e))
        })
}

async fn get_endpoint(
    State(st): State<Shared>,
    Path((region, id)): Path<(String, String)>,
) -> ApiResult {
    check_region(&region, RDB_REGIONS)?;
    ok(st.read(|s, now| {
        endpoint_owner(s, &region, &id, now)
            .map(|(_, e)| e)
            .ok_or_else(|| ApiError::not_found("endpoint", &id))
    })?)
}

async fn delete_endpoint(
    State(st): State<Shared>,
    Path((region, id)): Path<(String, String)>,
) -> ApiResult {
    check_region(&region, RDB_REGIONS)?;
    st.write(|s, now| {
        let (inst, _) = endpoint_owner(s, &region, &id, now)
            .ok_or_else(|| ApiError::not_found("endpoint", &id))?;
        let status = inst.status(now);
        if TRANSIENT.contains(&status) {
            return Err(ApiError::transient("instance", &inst.id, status));
        }
        let inst_id = inst.id.clone();
        for ip in s
            .list(ipam::IP, now)
            .iter()
            .filter(|ip| ip.extra["endpoint_id"] == id.as_str())
            .map(|ip| ip.id.clone())
            .collect::<Vec<_>>()
        {
            s.remove(ipam::IP, &ip);
        }
        let rec = s.get_mut(INSTANCE, &inst_id, now).expect("found");
        let eps: Vec<Value> = rec.extra["endpoints"]
            .as_array()
            .cloned()
            .unwrap_or_default()
            .into_iter()
            .filter(|e| e["id"] != id.as_str())
            .collect();
        rec.extra["endpoints"] = json!(eps);
        cycle(&st, rec, now, "configuring", st.durations.rdb_configure);
        touch(rec, now);
        Ok(())
    })?;
    no_content()
}

// ---------------------------------------------------------------------------------------------
// Database backups (`/backups`, reference §3.1): `creating → ready`, deleted through `deleting`.

fn render_backup(rec: &Record, now: DateTime<Utc>) -> Value {
    let mut v = render(rec, now);
    let ready = rec.status(now) == "ready";
    v["size"] = if ready {
        json!(rec.extra["size"])
    } else {
        Value::Null
    };
    v
}

fn find_backup<'a>(
    s: &'a Store,
    region: &str,
    id: &str,
    now: DateTime<Utc>,
) -> Result<&'a Record, ApiError> {
    s.get(BACKUP, id, now)
        .filter(|r| r.str("region") == region)
        .ok_or_else(|| ApiError::not_found("database_backup", id))
}

async fn create_backup(
    State(st): State<Shared>,
    Path(region): Path<String>,
    body: JsonBody,
) -> ApiResult {
    check_region(&region, RDB_REGIONS)?;
    let instance_id = body.req_str("instance_id")?;
    check_uuid("instance_id", &instance_id)?;
    let database = body.req_str("database_name")?;
    let name = body
        .opt::<String>("name")?
        .filter(|n| !n.is_empty())
        .unwrap_or_else(|| format!("bkp-{}", &new_id()[..8]));
    let expires_at = body.opt::<String>("expires_at")?;
    if let Some(e) = &expires_at
        && DateTime::parse_from_rfc3339(e).is_err()
    {
        return Err(ApiError::invalid(
            "expires_at",
            "constraint",
            "expires_at must be an RFC 3339 time",
        ));
    }
    ok(st.write(|s, now| {
        let inst = find_stable(s, &region, &instance_id, now)?;
        let instance_name = inst.str("name").to_string();
        let same_region = inst.body["backup_same_region"].as_bool().unwrap_or(false);
        if s.get(DATABASE, &format!("{instance_id}/{database}"), now)
            .is_none()
        {
            return Err(ApiError::not_found("database", &database));
        }
        let id = new_id();
        let ready = st.later(now, st.durations.rdb_configure);
        let rec = s.insert(
            BACKUP,
            &id,
            Some(Parent {
                kind: INSTANCE.into(),
                id: instance_id.clone(),
            }),
            json!({
                "id": id, "instance_id": instance_id, "database_name": database, "name": name,
                "expires_at": expires_at, "created_at": ts(now), "updated_at": ts(now),
                "instance_name": instance_name, "download_url": null,
                "download_url_expires_at": null, "region": region, "same_region": same_region,
            }),
            &[("creating", now), ("ready", ready)],
        );
        rec.extra = json!({"size": 8_388_608});
        Ok(render_backup(rec, now))
    })?)
}

async fn get_backup(
    State(st): State<Shared>,
    Path((region, id)): Path<(String, String)>,
) -> ApiResult {
    check_region(&region, RDB_REGIONS)?;
    ok(st.read(|s, now| find_backup(s, &region, &id, now).map(|r| render_backup(r, now)))?)
}

async fn list_backups(State(st): State<Shared>, Path(region): Path<String>, q: Query) -> ApiResult {
    check_region(&region, RDB_REGIONS)?;
    let items = st.read(|s, now| {
        s.list(BACKUP, now)
            .into_iter()
            .filter(|r| r.str("region") == region)
            .map(|r| render_backup(r, now))
            .filter(|v| name_matches(v, q.get("name")))
            .filter(|v| q.get("instance_id").is_none_or(|i| v["instance_id"] == i))
            .collect::<Vec<_>>()
    });
    list_response("database_backups", items, &q, "created_at_asc")
}

/// `POST /backups/{id}/restore {instance_id, database_name?}` (SDK `RestoreDatabaseBackup`):
/// a ready backup is restored into a database of a stable instance (default: the backup's own
/// database name), the backup showing `restoring` until done. The target database is created
/// when it does not exist (inferred: the API takes any destination name).
async fn restore_backup(
    State(st): State<Shared>,
    Path((region, id)): Path<(String, String)>,
    body: JsonBody,
) -> ApiResult {
    check_region(&region, RDB_REGIONS)?;
    let instance_id = body.req_str("instance_id")?;
    check_uuid("instance_id", &instance_id)?;
    let database = body
        .opt::<String>("database_name")?
        .filter(|d| !d.is_empty());
    ok(st.write(|s, now| {
        let backup = find_backup(s, &region, &id, now)?;
        let status = backup.status(now).to_string();
        if status != "ready" {
            return Err(ApiError::transient("database_backup", &id, &status));
        }
        let target = database.unwrap_or_else(|| backup.str("database_name").to_string());
        find_stable(s, &region, &instance_id, now)?;
        let key = format!("{instance_id}/{target}");
        if s.get(DATABASE, &key, now).is_none() {
            s.insert(
                DATABASE,
                &key,
                Some(Parent {
                    kind: INSTANCE.into(),
                    id: instance_id.clone(),
                }),
                json!({"name": target, "owner": "", "managed": true, "size": 0}),
                &[],
            );
        }
        let done = st.later(now, st.durations.rdb_configure);
        let rec = s.get_mut(BACKUP, &id, now).expect("found");
        rec.schedule(&[("restoring", now), ("ready", done)]);
        let mut restores = rec.extra["restores"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        restores.push(json!({"instance_id": instance_id, "database_name": target, "at": ts(now)}));
        rec.extra["restores"] = json!(restores);
        Ok(render_backup(rec, now))
    })?)
}

async fn delete_backup(
    State(st): State<Shared>,
    Path((region, id)): Path<(String, String)>,
) -> ApiResult {
    check_region(&region, RDB_REGIONS)?;
    ok(st.write(|s, now| {
        let status = find_backup(s, &region, &id, now)?.status(now).to_string();
        if status != "ready" && status != "error" {
            return Err(ApiError::transient("database_backup", &id, &status));
        }
        let end = st.later(now, st.durations.rdb_configure);
        let rec = s.get_mut(BACKUP, &id, now).expect("found");
        rec.schedule(&[("deleting", now), (GONE, end)]);
        Ok(render_backup(rec, now))
    })?)
}
