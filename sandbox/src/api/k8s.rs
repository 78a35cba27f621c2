//! Kubernetes Kapsule `k8s/v1` (regional): versions, cluster types, clusters, pools, nodes and
//! kubeconfigs (reference §2).
//!
//! Cluster statuses: `creating → pool_required`, then `ready` as soon as one of its pools has
//! been ready; PATCH, set-type and upgrade go through `updating`. Pools: `scaling → ready`,
//! `upgrading → ready`, `deleting → 404`. The kubeconfig's server is this sandbox, under
//! `/k8s-api/{cluster_id}`, where a Kubernetes API emulator can be mounted.

use axum::Router;
use axum::extract::{Path, State};
use axum::routing::{get, post, put};
use base64::Engine;
use chrono::{DateTime, Utc};
use serde_json::{Map, Value, json};

use super::{ipam, render, touch, vpc};
use crate::server::Shared;
use crate::store::{GONE, Parent, Record, Store};
use crate::wire::{
    ApiError, ApiResult, JsonBody, Query, REGIONS, check_region, check_uuid, field, has_tags,
    list_response, name_matches, new_id, no_content, ok, patch_field, random_public_ip, tags, ts,
};

/// Store kind of clusters.
pub const CLUSTER: &str = "k8s.cluster";
/// Store kind of pools.
pub const POOL: &str = "k8s.pool";
/// Store kind of nodes.
pub const NODE: &str = "k8s.node";

/// Versions offered by `/versions`, newest first: (name, CNIs, released, deprecated, end of life).
const VERSIONS: &[(&str, &[&str], &str, &str, &str)] = &[
    (
        "1.35.3",
        &["cilium", "cilium_native", "calico", "kilo", "none"],
        "2026-01-19",
        "2027-01-19",
        "2027-03-19",
    ),
    (
        "1.34.6",
        &["cilium", "cilium_native", "calico", "kilo", "none"],
        "2025-09-29",
        "2026-09-29",
        "2026-11-29",
    ),
    (
        "1.33.10",
        &["cilium", "calico", "kilo", "none"],
        "2025-05-19",
        "2026-05-19",
        "2026-07-19",
    ),
    (
        "1.32.13",
        &["cilium", "calico", "kilo", "none"],
        "2025-01-20",
        "2026-01-20",
        "2026-03-20",
    ),
];

const CNIS: &[&str] = &[
    "cilium",
    "cilium_native",
    "calico",
    "weave",
    "flannel",
    "kilo",
    "none",
];

/// Cluster types: (name, max nodes, dedicated, resiliency, memory bytes).
const CLUSTER_TYPES: &[(&str, u32, bool, &str, u64)] = &[
    ("kapsule", 150, false, "standard", 4_000_000_000),
    (
        "kapsule-dedicated-4",
        250,
        true,
        "high_availability",
        4_000_000_000,
    ),
    (
        "kapsule-dedicated-8",
        500,
        true,
        "high_availability",
        8_000_000_000,
    ),
    (
        "kapsule-dedicated-16",
        500,
        true,
        "high_availability",
        16_000_000_000,
    ),
];

pub(super) fn routes() -> Router<Shared> {
    let base = "/k8s/v1/regions/{region}";
    Router::new()
        .route(&format!("{base}/versions"), get(list_versions))
        .route(&format!("{base}/versions/{{name}}"), get(get_version))
        .route(&format!("{base}/cluster-types"), get(list_cluster_types))
        .route(
            &format!("{base}/clusters"),
            get(list_clusters).post(create_cluster),
        )
        .route(
            &format!("{base}/clusters/{{id}}"),
            get(get_cluster)
                .patch(update_cluster)
                .delete(delete_cluster),
        )
        .route(
            &format!("{base}/clusters/{{id}}/upgrade"),
            post(upgrade_cluster),
        )
        .route(
            &format!("{base}/clusters/{{id}}/set-type"),
            post(set_cluster_type),
        )
        .route(
            &format!("{base}/clusters/{{id}}/available-versions"),
            get(available_versions),
        )
        .route(
            &format!("{base}/clusters/{{id}}/available-types"),
            get(available_types),
        )
        .route(
            &format!("{base}/clusters/{{id}}/kubeconfig"),
            get(kubeconfig),
        )
        .route(
            &format!("{base}/clusters/{{id}}/reset-admin-token"),
            post(reset_admin_token),
        )
        .route(
            &format!("{base}/clusters/{{id}}/pools"),
            get(list_pools).post(create_pool),
        )
        .route(&format!("{base}/clusters/{{id}}/nodes"), get(list_nodes))
        .route(
            &format!("{base}/pools/{{id}}"),
            get(get_pool).patch(update_pool).delete(delete_pool),
        )
        .route(&format!("{base}/pools/{{id}}/upgrade"), post(upgrade_pool))
        .route(&format!("{base}/pools/{{id}}/set-labels"), put(set_labels))
        .route(&format!("{base}/pools/{{id}}/set-taints"), put(set_taints))
        .route(
            &format!("{base}/pools/{{id}}/set-startup-taints"),
            put(set_startup_taints),
        )
        .route(&format!("{base}/nodes/{{id}}"), get(get_node))
        .route(&format!("{base}/nodes/{{id}}/reboot"), post(reboot_node))
        .route(&format!("{base}/nodes/{{id}}/replace"), post(reboot_node))
        .route("/sandbox/v1/k8s/{region}/versions", post(publish_version))
        .route(
            "/sandbox/v1/k8s/{region}/clusters/{id}/maintenance",
            post(run_maintenance),
        )
}

// ---------------------------------------------------------------------------------------------
// Sandbox control: what Scaleway does over time, on demand

/// `POST /sandbox/v1/k8s/{region}/versions {name, available_cnis?, released_at?, deprecated_at,
/// end_of_life_at}`: Scaleway publishes a version, or changes the support dates of one (dates
/// as `YYYY-MM-DD` or RFC 3339).
async fn publish_version(
    State(st): State<Shared>,
    Path(region): Path<String>,
    body: JsonBody,
) -> ApiResult {
    check_region(&region, REGIONS)?;
    let name = body.req_str("name")?;
    if parse_version(&name).is_none() {
        return Err(ApiError::invalid(
            "name",
            "constraint",
            "name must be x.y.z",
        ));
    }
    let day = |key: &str| -> Result<String, ApiError> {
        let v = body.req_str(key)?;
        let d = v.get(..10).unwrap_or_default();
        chrono::NaiveDate::parse_from_str(d, "%Y-%m-%d")
            .map(|_| d.to_string())
            .map_err(|_| ApiError::invalid(key, "constraint", format!("{key} must be a date")))
    };
    let (deprecated, end_of_life) = (day("deprecated_at")?, day("end_of_life_at")?);
    let released = match body.opt::<String>("released_at")? {
        Some(_) => day("released_at")?,
        None => Utc::now().format("%Y-%m-%d").to_string(),
    };
    let cnis: Vec<String> = body
        .opt::<Vec<String>>("available_cnis")?
        .unwrap_or_else(|| {
            ["cilium", "cilium_native", "calico", "kilo", "none"]
                .map(String::from)
                .to_vec()
        });
    st.write(|s, now| {
        s.remove(VERSION, &name);
        s.insert(
            VERSION,
            &name,
            None,
            json!({"available_cnis": cnis, "released": released, "deprecated": deprecated,
                   "end_of_life": end_of_life}),
            &[],
        );
        let v = catalog(s, now).into_iter().find(|v| v.name == name);
        Ok(v.map(|v| render_version(&region, &v)).unwrap_or_default())
    })
    .and_then(ok)
}

/// `POST /sandbox/v1/k8s/{region}/clusters/{id}/maintenance`: the cluster's maintenance window
/// comes, now. With auto-upgrade enabled Kapsule moves the cluster and its pools to the
/// newest patch of its minor, or, once that minor is deprecated, to the newest patch of the
/// next minor. Without auto-upgrade nothing happens.
async fn run_maintenance(
    State(st): State<Shared>,
    Path((region, id)): Path<(String, String)>,
) -> ApiResult {
    check_region(&region, REGIONS)?;
    ok(st.write(|s, now| {
        let rec = find_cluster(s, &region, &id, now)?;
        ensure_cluster_stable(s, rec, now)?;
        let enabled = rec.body["auto_upgrade"]["enabled"].as_bool() == Some(true);
        let current = rec.str("version").to_string();
        let versions = catalog(s, now);
        let target = parse_version(&current)
            .filter(|_| enabled)
            .and_then(|(ma, mi, _)| {
                let minor_deprecated =
                    known_version(&versions, &current).is_none_or(|k| k.deprecated_by(now));
                let next = if minor_deprecated { mi + 1 } else { mi };
                versions
                    .iter()
                    .filter(|k| k.triple().is_some_and(|(a, b, _)| a == ma && b == next))
                    .max_by_key(|k| k.triple())
                    .map(|k| k.name.clone())
                    .filter(|t| parse_version(t) > parse_version(&current))
            });
        if let Some(target) = target {
            start_upgrade(&st, s, &id, &target, true, now);
        }
        Ok::<_, ApiError>(render_cluster(
            s,
            s.get(CLUSTER, &id, now).expect("found"),
            now,
        ))
    })?)
}

// ---------------------------------------------------------------------------------------------
// Versions and types

fn parse_version(v: &str) -> Option<(u32, u32, u32)> {
    let mut it = v.split('.').map(|p| p.parse::<u32>().ok());
    Some((it.next()??, it.next()??, it.next()??))
}

/// Store kind of versions Scaleway published after the built-in catalog, or whose support
/// dates changed (sandbox control endpoint); they override [`VERSIONS`] by name.
pub const VERSION: &str = "k8s.version";

/// One Kubernetes version as `/versions` lists it.
#[derive(Debug, Clone)]
struct KubeVersion {
    name: String,
    cnis: Vec<String>,
    released: String,
    deprecated: String,
    end_of_life: String,
}

impl KubeVersion {
    fn triple(&self) -> Option<(u32, u32, u32)> {
        parse_version(&self.name)
    }

    fn deprecated_by(&self, now: DateTime<Utc>) -> bool {
        date_passed(&self.deprecated, now) || date_passed(&self.end_of_life, now)
    }
}

fn date_passed(day: &str, now: DateTime<Utc>) -> bool {
    chrono::NaiveDate::parse_from_str(day, "%Y-%m-%d")
        .ok()
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .is_some_and(|d| d.and_utc() <= now)
}

/// The versions offered now, newest first: the built-in catalog, overridden and extended by
/// published ones.
fn catalog(s: &Store, now: DateTime<Utc>) -> Vec<KubeVersion> {
    let mut out: Vec<KubeVersion> = VERSIONS
        .iter()
        .map(|(name, cnis, released, deprecated, eol)| KubeVersion {
            name: name.to_string(),
            cnis: cnis.iter().map(|c| c.to_string()).collect(),
            released: released.to_string(),
            deprecated: deprecated.to_string(),
            end_of_life: eol.to_string(),
        })
        .collect();
    for r in s.list(VERSION, now) {
        let b = &r.body;
        let v = KubeVersion {
            name: r.id.clone(),
            cnis: b["available_cnis"]
                .as_array()
                .map(|a| {
                    a.iter()
                        .filter_map(|c| c.as_str().map(String::from))
                        .collect()
                })
                .unwrap_or_default(),
            released: b["released"].as_str().unwrap_or_default().to_string(),
            deprecated: b["deprecated"].as_str().unwrap_or_default().to_string(),
            end_of_life: b["end_of_life"].as_str().unwrap_or_default().to_string(),
        };
        match out.iter_mut().find(|o| o.name == v.name) {
            Some(o) => *o = v,
            None => out.push(v),
        }
    }
    out.sort_by_key(|v| std::cmp::Reverse(v.triple()));
    out
}

/// The listed version of the same minor, if `v` is that version or an older patch of it.
fn known_version(catalog: &[KubeVersion], v: &str) -> Option<KubeVersion> {
    let (ma, mi, pa) = parse_version(v)?;
    catalog
        .iter()
        .find(|k| {
            k.triple()
                .is_some_and(|(a, b, c)| a == ma && b == mi && pa <= c)
        })
        .cloned()
}

fn render_version(region: &str, v: &KubeVersion) -> Value {
    let KubeVersion {
        name,
        cnis,
        released,
        deprecated,
        end_of_life: eol,
    } = v;
    json!({
        "region": region, "name": name, "label": format!("Kubernetes {name}"),
        "available_cnis": cnis, "available_container_runtimes": ["containerd"],
        "available_feature_gates": ["HPAScaleToZero", "CPUManagerPolicyAlphaOptions", "ImageVolume"],
        "available_admission_plugins": ["AlwaysPullImages", "PodNodeSelector", "PodTolerationRestriction"],
        "available_kubelet_args": {
            "containerLogMaxFiles": "uint16", "containerLogMaxSize": "quantity",
            "cpuCFSQuota": "bool", "cpuCFSQuotaPeriod": "duration",
            "cpuManagerPolicy": "enum:none|static", "cpuManagerPolicyOptions": "map[string]string",
            "enableDebuggingHandlers": "bool", "evictionHard": "map[string]string",
            "evictionMinimumReclaim": "map[string]string", "imageGCHighThresholdPercent": "uint32",
            "imageGCLowThresholdPercent": "uint32", "maxParallelImagePulls": "int32",
            "maxPods": "uint16", "registryBurst": "int32", "registryPullQPS": "int32",
            "serializeImagePulls": "bool",
        },
        "deprecated_at": format!("{deprecated}T00:00:00Z"),
        "end_of_life_at": format!("{eol}T00:00:00Z"),
        "released_at": format!("{released}T00:00:00Z"),
        // Sub-component versions (CNI, CoreDNS…) of the release: the sandbox runs none.
        "additional_components": {},
    })
}

async fn list_versions(State(st): State<Shared>, Path(region): Path<String>) -> ApiResult {
    check_region(&region, REGIONS)?;
    // Not paginated and without total_count (reference §2.1).
    let versions: Vec<Value> = st
        .read(catalog)
        .iter()
        .map(|v| render_version(&region, v))
        .collect();
    ok(json!({ "versions": versions }))
}

async fn get_version(
    State(st): State<Shared>,
    Path((region, name)): Path<(String, String)>,
) -> ApiResult {
    check_region(&region, REGIONS)?;
    st.read(catalog)
        .iter()
        .find(|v| v.name == name)
        .map(|v| ok(render_version(&region, v)))
        .unwrap_or_else(|| Err(ApiError::not_found("version", &name)))
}

fn render_cluster_type(region: &str, t: &(&str, u32, bool, &str, u64)) -> Value {
    let (name, max_nodes, dedicated, resiliency, memory) = t;
    json!({
        "name": name, "availability": "available", "max_nodes": max_nodes,
        "commitment_delay": if *dedicated { "2592000s" } else { "0s" },
        "sla": if *dedicated { 99.5 } else { 0.0 }, "resiliency": resiliency,
        "memory": memory, "dedicated": dedicated, "audit_logs_supported": dedicated,
        "max_etcd_size": 55_000_000, "region": region,
    })
}

async fn list_cluster_types(Path(region): Path<String>, q: Query) -> ApiResult {
    check_region(&region, REGIONS)?;
    let items = CLUSTER_TYPES
        .iter()
        .map(|t| render_cluster_type(&region, t))
        .collect();
    let (page, total) = q.paginate(items)?;
    ok(json!({"cluster_types": page, "total_count": total}))
}

// ---------------------------------------------------------------------------------------------
// Clusters

fn find_cluster<'a>(
    s: &'a Store,
    region: &str,
    id: &str,
    now: DateTime<Utc>,
) -> Result<&'a Record, ApiError> {
    s.get(CLUSTER, id, now)
        .filter(|r| r.str("region") == region)
        .ok_or_else(|| ApiError::not_found("cluster", id))
}

/// When the cluster's Kubernetes API answers: [`crate::Durations::kube_api_warmup`] after its
/// first pool was ready (`None` while no pool has been).
pub fn kube_api_available_at(
    st: &Shared,
    s: &Store,
    cluster_id: &str,
    now: DateTime<Utc>,
) -> Option<DateTime<Utc>> {
    let first_ready = s
        .children(POOL, CLUSTER, cluster_id, now)
        .iter()
        .filter_map(|p| p.extra["ready_at"].as_str())
        .filter_map(|t| DateTime::parse_from_rfc3339(t).ok())
        .map(|t| t.with_timezone(&Utc))
        .min()?;
    Some(st.later(first_ready, st.durations.kube_api_warmup))
}

/// Cluster status: `pool_required` turns into `ready` once any pool has been ready.
fn cluster_status(s: &Store, rec: &Record, now: DateTime<Utc>) -> String {
    let raw = rec.status(now);
    if raw == "pool_required" {
        let has_ready_pool = s.children(POOL, CLUSTER, &rec.id, now).iter().any(|p| {
            p.extra["ready_at"]
                .as_str()
                .and_then(|t| DateTime::parse_from_rfc3339(t).ok())
                .is_some_and(|t| t <= now)
                && p.status(now) != "deleting"
        });
        if has_ready_pool {
            return "ready".into();
        }
    }
    raw.to_string()
}

fn render_cluster(s: &Store, rec: &Record, now: DateTime<Utc>) -> Value {
    let mut v = render(rec, now);
    let status = cluster_status(s, rec, now);
    if status == "creating" {
        v["iam_nodes_group_id"] = json!("");
    }
    let current = parse_version(rec.str("version"));
    v["upgrade_available"] = json!(catalog(s, now).iter().any(|k| k.triple() > current));
    v["status"] = json!(status);
    v
}

fn ensure_cluster_stable(s: &Store, rec: &Record, now: DateTime<Utc>) -> Result<(), ApiError> {
    let status = cluster_status(s, rec, now);
    if matches!(status.as_str(), "creating" | "updating" | "deleting") {
        return Err(ApiError::transient("cluster", &rec.id, &status));
    }
    Ok(())
}

fn default_autoscaler() -> Map<String, Value> {
    json!({
        "scale_down_disabled": false, "scale_down_delay_after_add": "10m",
        "estimator": "binpacking", "expander": "random",
        "ignore_daemonsets_utilization": false, "balance_similar_node_groups": false,
        "expendable_pods_priority_cutoff": 0, "scale_down_unneeded_time": "10m",
        "scale_down_utilization_threshold": 0.5, "max_graceful_termination_sec": 0,
        "skip_nodes_with_local_storage": false, "log_level": 2,
    })
    .as_object()
    .cloned()
    .expect("object")
}

/// Applies an `autoscaler_config` request object: null fields and `unknown_*` enums are kept.
fn apply_autoscaler(
    target: &mut Map<String, Value>,
    req: Option<JsonBody>,
) -> Result<(), ApiError> {
    let Some(req) = req else { return Ok(()) };
    if let Some(e) = req.opt_enum("estimator", &["binpacking"])? {
        target.insert("estimator".into(), json!(e));
    }
    if let Some(e) = req.opt_enum(
        "expander",
        &["random", "most_pods", "least_waste", "priority", "price"],
    )? {
        target.insert("expander".into(), json!(e));
    }
    for k in [
        "scale_down_disabled",
        "ignore_daemonsets_utilization",
        "balance_similar_node_groups",
        "skip_nodes_with_local_storage",
    ] {
        if let Some(b) = req.opt::<bool>(k)? {
            target.insert(k.into(), json!(b));
        }
    }
    for k in ["scale_down_delay_after_add", "scale_down_unneeded_time"] {
        if let Some(b) = req.opt::<String>(k)? {
            target.insert(k.into(), json!(b));
        }
    }
    for k in [
        "expendable_pods_priority_cutoff",
        "max_graceful_termination_sec",
        "log_level",
    ] {
        if let Some(b) = req.opt::<i64>(k)? {
            target.insert(k.into(), json!(b));
        }
    }
    if let Some(t) = req.opt::<f64>("scale_down_utilization_threshold")? {
        if !(0.0..=1.0).contains(&t) {
            return Err(ApiError::invalid(
                "autoscaler_config.scale_down_utilization_threshold",
                "constraint",
                "must be between 0 and 1",
            ));
        }
        target.insert("scale_down_utilization_threshold".into(), json!(t));
    }
    Ok(())
}

/// Applies an `auto_upgrade` request (`enable`) onto the response object (`enabled`).
fn apply_auto_upgrade(
    target: &mut Map<String, Value>,
    req: Option<JsonBody>,
) -> Result<(), ApiError> {
    let Some(req) = req else { return Ok(()) };
    if let Some(e) = req.opt::<bool>("enable")? {
        target.insert("enabled".into(), json!(e));
    }
    if let Some(w) = req.obj("maintenance_window")? {
        let mw = target
            .entry("maintenance_window")
            .or_insert_with(|| json!({"start_hour": 0, "day": "any"}));
        if let Some(h) = w.opt::<u32>("start_hour")? {
            if h > 23 {
                return Err(ApiError::invalid(
                    "auto_upgrade.maintenance_window.start_hour",
                    "constraint",
                    "must be between 0 and 23",
                ));
            }
            mw["start_hour"] = json!(h);
        }
        let days = [
            "any",
            "monday",
            "tuesday",
            "wednesday",
            "thursday",
            "friday",
            "saturday",
            "sunday",
        ];
        if let Some(d) = w.opt_enum("day", &days)? {
            mw["day"] = json!(d);
        }
    }
    Ok(())
}

fn apply_oidc(target: &mut Map<String, Value>, req: Option<JsonBody>) -> Result<(), ApiError> {
    let Some(req) = req else { return Ok(()) };
    if let Some(url) = req.opt::<String>("issuer_url")?
        && !url.is_empty()
        && !url.starts_with("https://")
    {
        return Err(ApiError::invalid(
            "open_id_connect_config.issuer_url",
            "constraint",
            "issuer_url must use https",
        ));
    }
    for k in [
        "issuer_url",
        "client_id",
        "username_claim",
        "username_prefix",
        "groups_prefix",
    ] {
        req.opt::<String>(k)?;
        patch_field(target, &req.0, k);
    }
    for k in ["groups_claim", "required_claim"] {
        req.opt::<Vec<String>>(k)?;
        patch_field(target, &req.0, k);
    }
    Ok(())
}

fn admin_token() -> String {
    use rand::RngExt;
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    let mut rng = rand::rng();
    (0..64)
        .map(|_| ALPHABET[rng.random_range(0..ALPHABET.len())] as char)
        .collect()
}

async fn list_clusters(
    State(st): State<Shared>,
    Path(region): Path<String>,
    q: Query,
) -> ApiResult {
    check_region(&region, REGIONS)?;
    let wanted_tags = q.all("tags");
    let items = st.read(|s, now| {
        s.list(CLUSTER, now)
            .into_iter()
            .filter(|r| r.str("region") == region)
            .map(|r| render_cluster(s, r, now))
            .filter(|v| name_matches(v, q.get("name")) && has_tags(v, &wanted_tags))
            .filter(|v| q.get("project_id").is_none_or(|p| v["project_id"] == p))
            .filter(|v| {
                q.get("organization_id")
                    .is_none_or(|p| v["organization_id"] == p)
            })
            .filter(|v| q.enum_filter("status").is_none_or(|p| v["status"] == p))
            .filter(|v| q.get("type").is_none_or(|p| v["type"] == p))
            .filter(|v| {
                q.get("private_network_id")
                    .is_none_or(|p| v["private_network_id"] == p)
            })
            .filter(|v| {
                q.get("version")
                    .is_none_or(|p| v["version"].as_str().is_some_and(|x| x.starts_with(p)))
            })
            .collect::<Vec<_>>()
    });
    list_response("clusters", items, &q, "created_at_asc")
}

async fn create_cluster(
    State(st): State<Shared>,
    Path(region): Path<String>,
    body: JsonBody,
) -> ApiResult {
    check_region(&region, REGIONS)?;
    let request = ClusterRequest::parse(&st, &body)?;
    let inline_pools: Vec<Map<String, Value>> = body.opt("pools")?.unwrap_or_default();
    let v = st.write(|s, now| {
        s.get(vpc::PN, &request.private_network_id, now)
            .filter(|p| p.str("region") == region)
            .ok_or_else(|| {
                ApiError::invalid(
                    "private_network_id",
                    "constraint",
                    format!(
                        "private network {} not found in {region}",
                        request.private_network_id
                    ),
                )
            })?;
        let id = new_id();
        let body = request.into_record(&st, &region, &id, now);
        let ready = st.later(now, st.durations.cluster_create);
        let rec = s.insert(
            CLUSTER,
            &id,
            None,
            body,
            &[("creating", now), ("pool_required", ready)],
        );
        rec.extra = json!({"admin_token": admin_token()});
        for p in inline_pools {
            insert_pool(s, &st, &id, JsonBody(p), now)?;
        }
        let rec = s.get(CLUSTER, &id, now).expect("inserted");
        Ok(render_cluster(s, rec, now))
    })?;
    ok(v)
}

/// A CreateCluster request, checked field by field in the order the API reports them.
struct ClusterRequest {
    project: String,
    name: String,
    version: String,
    cni: String,
    kind: String,
    private_network_id: String,
    description: String,
    tags: Vec<String>,
    autoscaler: Map<String, Value>,
    auto_upgrade: Map<String, Value>,
    oidc: Map<String, Value>,
    feature_gates: Vec<String>,
    admission_plugins: Vec<String>,
    apiserver_cert_sans: Vec<String>,
    pod_cidr: String,
    service_cidr: String,
    service_dns_ip: String,
}

impl ClusterRequest {
    fn parse(st: &Shared, body: &JsonBody) -> Result<Self, ApiError> {
        let project = body
            .opt::<String>("project_id")?
            .unwrap_or_else(|| st.project_id.clone());
        check_uuid("project_id", &project)?;
        let name = body.req_str("name")?;
        let (version, cni) = cluster_version_and_cni(st, body)?;
        let kind = cluster_type(body)?;
        let private_network_id = cluster_private_network(body)?;
        let description = body.opt::<String>("description")?.unwrap_or_default();
        let tags = tags(body)?;
        let mut autoscaler = default_autoscaler();
        apply_autoscaler(&mut autoscaler, body.obj("autoscaler_config")?)?;
        let mut auto_upgrade =
            json!({"enabled": false, "maintenance_window": {"start_hour": 0, "day": "any"}})
                .as_object()
                .cloned()
                .expect("object");
        apply_auto_upgrade(&mut auto_upgrade, body.obj("auto_upgrade")?)?;
        let mut oidc = json!({"issuer_url": "", "client_id": "", "username_claim": "", "username_prefix": "", "groups_claim": [], "groups_prefix": "", "required_claim": []})
            .as_object()
            .cloned()
            .expect("object");
        apply_oidc(&mut oidc, body.obj("open_id_connect_config")?)?;
        let list = |key| body.opt::<Vec<String>>(key).map(Option::unwrap_or_default);
        let (feature_gates, admission_plugins, apiserver_cert_sans) = (
            list("feature_gates")?,
            list("admission_plugins")?,
            list("apiserver_cert_sans")?,
        );
        let (pod_cidr, service_cidr, service_dns_ip) = cluster_cidrs(body)?;
        Ok(Self {
            project,
            name,
            version,
            cni,
            kind,
            private_network_id,
            description,
            tags,
            autoscaler,
            auto_upgrade,
            oidc,
            feature_gates,
            admission_plugins,
            apiserver_cert_sans,
            pod_cidr,
            service_cidr,
            service_dns_ip,
        })
    }

    /// The stored cluster `id`, with what the API assigns: its URLs, dates and IAM group.
    fn into_record(self, st: &Shared, region: &str, id: &str, now: DateTime<Utc>) -> Value {
        let base = &st.base_url;
        json!({
            "region": region, "id": id, "organization_id": self.project, "project_id": self.project,
            "created_at": ts(now), "updated_at": ts(now), "type": self.kind, "name": self.name,
            "description": self.description, "version": self.version, "cni": self.cni,
            "tags": self.tags,
            "cluster_url": format!("{base}/k8s-api/{id}"),
            "dns_wildcard": format!("*.{id}.nodes.k8s.{region}.scw.cloud"),
            "autoscaler_config": self.autoscaler, "auto_upgrade": self.auto_upgrade,
            "upgrade_available": false, "feature_gates": self.feature_gates,
            "admission_plugins": self.admission_plugins,
            "open_id_connect_config": self.oidc, "apiserver_cert_sans": self.apiserver_cert_sans,
            "private_network_id": self.private_network_id, "commitment_ends_at": ts(now),
            "acl_available": true, "iam_nodes_group_id": new_id(), "pod_cidr": self.pod_cidr,
            "service_cidr": self.service_cidr, "service_dns_ip": self.service_dns_ip,
        })
    }
}

/// The requested version, which `/versions` must list, and a CNI that version offers.
fn cluster_version_and_cni(st: &Shared, body: &JsonBody) -> Result<(String, String), ApiError> {
    let version: String = body.req_str("version")?;
    let known = known_version(&st.read(catalog), &version).ok_or_else(|| {
        ApiError::invalid(
            "version",
            "constraint",
            format!("version {version} is not available, see /versions"),
        )
    })?;
    let cni = body
        .opt_enum("cni", CNIS)?
        .ok_or_else(|| ApiError::invalid("cni", "required", "cni is required"))?;
    if !known.cnis.contains(&cni) {
        return Err(ApiError::invalid(
            "cni",
            "constraint",
            format!("cni {cni} is not available for version {version}"),
        ));
    }
    Ok((version, cni))
}

/// The cluster type (`kapsule` when empty), one of the offered types.
fn cluster_type(body: &JsonBody) -> Result<String, ApiError> {
    let kind = body
        .opt::<String>("type")?
        .filter(|t| !t.is_empty())
        .unwrap_or_else(|| "kapsule".into());
    if !CLUSTER_TYPES.iter().any(|t| t.0 == kind) {
        return Err(ApiError::invalid(
            "type",
            "constraint",
            format!("unknown cluster type {kind}"),
        ));
    }
    Ok(kind)
}

/// The private network, mandatory for new Kapsule clusters.
fn cluster_private_network(body: &JsonBody) -> Result<String, ApiError> {
    let pn = body.opt::<String>("private_network_id")?;
    pn.filter(|p| !p.is_empty()).ok_or_else(|| {
        ApiError::invalid(
            "private_network_id",
            "constraint",
            "private_network_id does not respect constraint, a Private Network is mandatory for this cluster type",
        )
    })
}

/// The pod and service CIDRs and the DNS service address (by default in the service CIDR).
fn cluster_cidrs(body: &JsonBody) -> Result<(String, String, String), ApiError> {
    let pod_cidr = body
        .opt::<String>("pod_cidr")?
        .unwrap_or_else(|| "100.64.0.0/15".into());
    let service_cidr = body
        .opt::<String>("service_cidr")?
        .unwrap_or_else(|| "10.32.0.0/20".into());
    let service_dns_ip = match body.opt::<String>("service_dns_ip")? {
        Some(ip) => ip,
        None => dns_ip_of(&service_cidr).ok_or_else(|| {
            ApiError::invalid(
                "service_cidr",
                "format",
                "service_cidr must be an IPv4 CIDR",
            )
        })?,
    };
    Ok((pod_cidr, service_cidr, service_dns_ip))
}

fn dns_ip_of(cidr: &str) -> Option<String> {
    let (net, _) = cidr.split_once('/')?;
    let ip: std::net::Ipv4Addr = net.parse().ok()?;
    Some(std::net::Ipv4Addr::from(u32::from(ip) + 10).to_string())
}

async fn get_cluster(
    State(st): State<Shared>,
    Path((region, id)): Path<(String, String)>,
) -> ApiResult {
    check_region(&region, REGIONS)?;
    ok(st.read(|s, now| find_cluster(s, &region, &id, now).map(|r| render_cluster(s, r, now)))?)
}

/// Puts a cluster in `updating` for `d`, returning to `pool_required` (or `ready`, derived).
fn start_update(st: &Shared, rec: &mut Record, now: DateTime<Utc>, d: std::time::Duration) {
    let end = st.later(now, d);
    rec.schedule(&[("updating", now), ("pool_required", end)]);
    touch(rec, now);
}

async fn update_cluster(
    State(st): State<Shared>,
    Path((region, id)): Path<(String, String)>,
    body: JsonBody,
) -> ApiResult {
    check_region(&region, REGIONS)?;
    for k in ["name", "description"] {
        body.opt::<String>(k)?;
    }
    for k in [
        "tags",
        "feature_gates",
        "admission_plugins",
        "apiserver_cert_sans",
    ] {
        body.opt::<Vec<String>>(k)?;
    }
    ok(st.write(|s, now| {
        let rec = find_cluster(s, &region, &id, now)?;
        ensure_cluster_stable(s, rec, now)?;
        let mut obj = rec.body.as_object().cloned().unwrap_or_default();
        for k in [
            "name",
            "description",
            "tags",
            "feature_gates",
            "admission_plugins",
            "apiserver_cert_sans",
        ] {
            patch_field(&mut obj, &body.0, k);
        }
        let mut autoscaler = obj["autoscaler_config"]
            .as_object()
            .cloned()
            .unwrap_or_default();
        apply_autoscaler(&mut autoscaler, body.obj("autoscaler_config")?)?;
        obj.insert("autoscaler_config".into(), Value::Object(autoscaler));
        let mut au = obj["auto_upgrade"].as_object().cloned().unwrap_or_default();
        apply_auto_upgrade(&mut au, body.obj("auto_upgrade")?)?;
        obj.insert("auto_upgrade".into(), Value::Object(au));
        let mut oidc = obj["open_id_connect_config"]
            .as_object()
            .cloned()
            .unwrap_or_default();
        apply_oidc(&mut oidc, body.obj("open_id_connect_config")?)?;
        obj.insert("open_id_connect_config".into(), Value::Object(oidc));
        let rec = s.get_mut(CLUSTER, &id, now).expect("found");
        rec.body = Value::Object(obj);
        start_update(&st, rec, now, st.durations.cluster_update);
        Ok(render_cluster(
            s,
            s.get(CLUSTER, &id, now).expect("found"),
            now,
        ))
    })?)
}

fn allowed_upgrades(catalog: &[KubeVersion], current: &str) -> Vec<KubeVersion> {
    let Some((ma, mi, pa)) = parse_version(current) else {
        return vec![];
    };
    catalog
        .iter()
        .filter(|k| {
            k.triple()
                .is_some_and(|(a, b, c)| a == ma && ((b == mi && c > pa) || b == mi + 1))
        })
        .cloned()
        .collect()
}

/// Moves the cluster (and with `upgrade_pools` its pools) to `version`: the control plane goes
/// `updating`, then the pools `upgrading` while their nodes are replaced.
fn start_upgrade(
    st: &Shared,
    s: &mut Store,
    id: &str,
    version: &str,
    upgrade_pools: bool,
    now: DateTime<Utc>,
) {
    let pools: Vec<String> = s
        .children(POOL, CLUSTER, id, now)
        .iter()
        .map(|p| p.id.clone())
        .collect();
    let Some(rec) = s.get_mut(CLUSTER, id, now) else {
        return;
    };
    rec.obj().insert("version".into(), json!(version));
    start_update(st, rec, now, st.durations.cluster_upgrade);
    if upgrade_pools {
        let start = st.later(now, st.durations.cluster_upgrade);
        let end = st.later(start, st.durations.pool_upgrade);
        for pid in pools {
            if let Some(p) = s.get_mut(POOL, &pid, now) {
                p.obj().insert("version".into(), json!(version));
                p.schedule(&[("upgrading", now), ("ready", end)]);
                touch(p, now);
            }
        }
    }
}

async fn upgrade_cluster(
    State(st): State<Shared>,
    Path((region, id)): Path<(String, String)>,
    body: JsonBody,
) -> ApiResult {
    check_region(&region, REGIONS)?;
    let version = body.req_str("version")?;
    let upgrade_pools = body.opt::<bool>("upgrade_pools")?.unwrap_or(false);
    ok(st.write(|s, now| {
        let rec = find_cluster(s, &region, &id, now)?;
        ensure_cluster_stable(s, rec, now)?;
        if !allowed_upgrades(&catalog(s, now), rec.str("version"))
            .iter()
            .any(|v| v.name == version)
        {
            return Err(ApiError::invalid(
                "version",
                "constraint",
                format!(
                    "cannot upgrade from {} to {version}, see available-versions",
                    rec.str("version")
                ),
            ));
        }
        start_upgrade(&st, s, &id, &version, upgrade_pools, now);
        Ok(render_cluster(
            s,
            s.get(CLUSTER, &id, now).expect("found"),
            now,
        ))
    })?)
}

async fn set_cluster_type(
    State(st): State<Shared>,
    Path((region, id)): Path<(String, String)>,
    body: JsonBody,
) -> ApiResult {
    check_region(&region, REGIONS)?;
    let kind = body.req_str("type")?;
    ok(st.write(|s, now| {
        let rec = find_cluster(s, &region, &id, now)?;
        ensure_cluster_stable(s, rec, now)?;
        let current = CLUSTER_TYPES
            .iter()
            .position(|t| t.0 == rec.str("type"))
            .unwrap_or(0);
        match CLUSTER_TYPES.iter().position(|t| t.0 == kind) {
            Some(i) if i >= current => {}
            _ => {
                return Err(ApiError::invalid(
                    "type",
                    "constraint",
                    format!("cannot change type to {kind}, see available-types"),
                ));
            }
        }
        let rec = s.get_mut(CLUSTER, &id, now).expect("found");
        rec.obj().insert("type".into(), json!(kind));
        start_update(&st, rec, now, st.durations.cluster_update);
        Ok(render_cluster(
            s,
            s.get(CLUSTER, &id, now).expect("found"),
            now,
        ))
    })?)
}

async fn available_versions(
    State(st): State<Shared>,
    Path((region, id)): Path<(String, String)>,
) -> ApiResult {
    check_region(&region, REGIONS)?;
    ok(st.read(|s, now| {
        let rec = find_cluster(s, &region, &id, now)?;
        let versions: Vec<Value> = allowed_upgrades(&catalog(s, now), rec.str("version"))
            .iter()
            .map(|v| render_version(&region, v))
            .collect();
        Ok::<_, ApiError>(json!({ "versions": versions }))
    })?)
}

async fn available_types(
    State(st): State<Shared>,
    Path((region, id)): Path<(String, String)>,
) -> ApiResult {
    check_region(&region, REGIONS)?;
    ok(st.read(|s, now| {
        let rec = find_cluster(s, &region, &id, now)?;
        // After a move to a bigger dedicated type, smaller types are no longer offered.
        let current = CLUSTER_TYPES
            .iter()
            .position(|t| t.0 == rec.str("type"))
            .unwrap_or(0);
        let types: Vec<Value> = CLUSTER_TYPES[current..]
            .iter()
            .map(|t| render_cluster_type(&region, t))
            .collect();
        Ok::<_, ApiError>(json!({ "cluster_types": types, "total_count": types.len() }))
    })?)
}

/// A syntactically valid, self-describing PEM block standing in for a CA certificate.
pub fn fake_pem(subject: &str) -> String {
    let der = base64::engine::general_purpose::STANDARD
        .encode(format!("kapstan sandbox certificate for {subject}"));
    format!("-----BEGIN CERTIFICATE-----\n{der}\n-----END CERTIFICATE-----\n")
}

async fn kubeconfig(
    State(st): State<Shared>,
    Path((region, id)): Path<(String, String)>,
    q: Query,
) -> ApiResult {
    check_region(&region, REGIONS)?;
    let redacted = q.bool("redacted")?.unwrap_or(false);
    ok(st.read(|s, now| {
        let rec = find_cluster(s, &region, &id, now)?;
        let status = cluster_status(s, rec, now);
        // The kubeconfig exists once the control plane is up, i.e. after `creating`.
        if status == "creating" {
            return Err(ApiError::transient("cluster", &id, &status));
        }
        let name = rec.str("name");
        let token = if redacted { "" } else { rec.extra["admin_token"].as_str().unwrap_or("") };
        let ca = base64::engine::general_purpose::STANDARD.encode(fake_pem(&format!("{id}.api.k8s.{region}.scw.cloud")));
        let yaml = format!(
            "apiVersion: v1\nclusters:\n- name: \"{name}\"\n  cluster:\n    certificate-authority-data: {ca}\n    server: {}/k8s-api/{id}\ncontexts:\n- name: admin@{name}\n  context:\n    cluster: \"{name}\"\n    user: {name}-admin\ncurrent-context: admin@{name}\nkind: Config\npreferences: {{}}\nusers:\n- name: {name}-admin\n  user:\n    token: {token}\n",
            st.base_url
        );
        Ok(json!({
            "name": "kubeconfig", "content_type": "application/octet-stream",
            "content": base64::engine::general_purpose::STANDARD.encode(yaml),
        }))
    })?)
}

async fn reset_admin_token(
    State(st): State<Shared>,
    Path((region, id)): Path<(String, String)>,
) -> ApiResult {
    check_region(&region, REGIONS)?;
    st.write(|s, now| {
        find_cluster(s, &region, &id, now)?;
        let rec = s.get_mut(CLUSTER, &id, now).expect("found");
        rec.extra["admin_token"] = json!(admin_token());
        Ok(())
    })?;
    no_content()
}

async fn delete_cluster(
    State(st): State<Shared>,
    Path((region, id)): Path<(String, String)>,
    q: Query,
) -> ApiResult {
    check_region(&region, REGIONS)?;
    let with_additional = q.bool("with_additional_resources")?.unwrap_or(false);
    ok(st.write(|s, now| {
        let rec = find_cluster(s, &region, &id, now)?;
        if rec.status(now) == "deleting" {
            return Err(ApiError::transient("cluster", &id, "deleting"));
        }
        let pn = rec.str("private_network_id").to_string();
        let end = st.later(now, st.durations.cluster_delete);
        for pid in s
            .children(POOL, CLUSTER, &id, now)
            .iter()
            .map(|p| p.id.clone())
            .collect::<Vec<_>>()
        {
            if let Some(p) = s.get_mut(POOL, &pid, now) {
                p.schedule(&[("deleting", now), (GONE, end)]);
            }
        }
        let rec = s.get_mut(CLUSTER, &id, now).expect("found");
        rec.schedule(&[("deleting", now), (GONE, end)]);
        touch(rec, now);
        let out = render_cluster(s, s.get(CLUSTER, &id, now).expect("found"), now);
        if with_additional {
            // The cloud controller's load balancers go with the cluster only when asked.
            crate::kube::ccm::delete_cluster_lbs(s, now, &id);
        }
        if with_additional && !pn.is_empty() {
            // Kapsule also deletes the private network when nothing else uses it (§2.10).
            let own_ips = s
                .list(ipam::IP, now)
                .iter()
                .filter(|ip| {
                    ip.extra["private_network_id"] == pn.as_str()
                        && ip.extra["cluster_id"] == id.as_str()
                })
                .count();
            let others = vpc::pn_users(s, &pn, now).saturating_sub(own_ips + 1);
            if others == 0
                && let Some(p) = s.get_mut(vpc::PN, &pn, now)
            {
                p.schedule(&[(GONE, end)]);
            }
        }
        Ok(out)
    })?)
}

// ---------------------------------------------------------------------------------------------
// Pools and nodes

fn find_pool<'a>(
    s: &'a Store,
    region: &str,
    id: &str,
    now: DateTime<Utc>,
) -> Result<&'a Record, ApiError> {
    s.get(POOL, id, now)
        .filter(|r| r.str("region") == region)
        .ok_or_else(|| ApiError::not_found("pool", id))
}

fn ensure_pool_stable(rec: &Record, now: DateTime<Utc>) -> Result<(), ApiError> {
    let status = rec.status(now);
    if matches!(status, "scaling" | "upgrading" | "deleting") {
        return Err(ApiError::transient("pool", &rec.id, status));
    }
    Ok(())
}

fn normalize_node_type(t: &str) -> String {
    t.to_ascii_lowercase().replace('-', "_")
}

/// Validates a CreatePool request and inserts the pool with its nodes.
fn insert_pool(
    s: &mut Store,
    st: &Shared,
    cluster_id: &str,
    body: JsonBody,
    now: DateTime<Utc>,
) -> Result<String, ApiError> {
    let cluster = s
        .get(CLUSTER, cluster_id, now)
        .ok_or_else(|| ApiError::not_found("cluster", cluster_id))?;
    let region = cluster.str("region").to_string();
    let version = cluster.str("version").to_string();
    let pool_private_network = body.opt::<String>("private_network_id")?.or_else(|| {
        cluster.body["private_network_id"]
            .as_str()
            .map(str::to_string)
    });
    let name = body.req_str("name")?;
    if s.children(POOL, CLUSTER, cluster_id, now)
        .iter()
        .any(|p| p.str("name") == name)
    {
        return Err(ApiError::already_exists(
            "pool",
            &name,
            "a pool with this name already exists in the cluster",
        ));
    }
    let node_type = pool_node_type(&body)?;
    let zone = pool_zone(&body, &region)?;
    let PoolSizes {
        autoscaling,
        size,
        min_size,
        max_size,
    } = PoolSizes::parse(&body)?;
    let runtime = body
        .opt_enum("container_runtime", &["docker", "containerd", "crio"])?
        .unwrap_or_else(|| "containerd".into());
    let (root_volume_type, root_volume_size) = pool_root_volume(&body)?;
    let policy = pool_upgrade_policy(&body)?;
    let id = new_id();
    let pool = json!({
        "region": region, "id": id, "cluster_id": cluster_id, "created_at": ts(now),
        "updated_at": ts(now), "name": name, "version": version, "node_type": node_type,
        "autoscaling": autoscaling, "size": size, "min_size": min_size, "max_size": max_size,
        "container_runtime": runtime, "autohealing": body.opt::<bool>("autohealing")?.unwrap_or(false),
        "tags": tags(&body)?, "placement_group_id": body.opt::<String>("placement_group_id")?,
        "kubelet_args": body.opt::<Map<String, Value>>("kubelet_args")?.unwrap_or_default(),
        "upgrade_policy": policy, "zone": zone, "root_volume_type": root_volume_type,
        "root_volume_size": root_volume_size,
        "public_ip_disabled": body.opt::<bool>("public_ip_disabled")?.unwrap_or(false),
        "security_group_id": body.opt::<String>("security_group_id")?.unwrap_or_else(new_id),
        "labels": body.opt::<Map<String, Value>>("labels")?.unwrap_or_default(),
        "taints": body.opt::<Vec<Value>>("taints")?.unwrap_or_default(),
        "startup_taints": body.opt::<Vec<Value>>("startup_taints")?.unwrap_or_default(),
        // Nodes join the cluster's private network unless the pool names another one.
        "private_network_id": pool_private_network,
        "error_message": null,
        // SDK docs: "Defaults to 15 minutes, up to 1 hour".
        "max_termination_grace_period": body.opt::<String>("max_termination_grace_period")?.unwrap_or_else(|| "900s".into()),
    });
    let ready = st.later(now, st.durations.pool_scale);
    let rec = s.insert(
        POOL,
        &id,
        Some(Parent {
            kind: CLUSTER.into(),
            id: cluster_id.into(),
        }),
        pool,
        &[("scaling", now), ("ready", ready)],
    );
    rec.extra = json!({"ready_at": ts(ready)});
    for _ in 0..size {
        add_node(s, &id, now, ready);
    }
    Ok(id)
}

/// The node type in the API's spelling (`gp1_xs`), of letters, digits and `_` only.
fn pool_node_type(body: &JsonBody) -> Result<String, ApiError> {
    let node_type = normalize_node_type(&body.req_str("node_type")?);
    if !node_type
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || c == '_')
    {
        return Err(ApiError::invalid(
            "node_type",
            "format",
            "invalid node type",
        ));
    }
    Ok(node_type)
}

/// The pool's zone (the region's first by default), a zone of the cluster's region.
fn pool_zone(body: &JsonBody, region: &str) -> Result<String, ApiError> {
    let zone = body
        .opt::<String>("zone")?
        .filter(|z| !z.is_empty())
        .unwrap_or_else(|| format!("{region}-1"));
    if crate::wire::region_of(&zone) != region || !crate::wire::ZONES.contains(&zone.as_str()) {
        return Err(ApiError::invalid(
            "zone",
            "constraint",
            format!("zone {zone} is not in region {region}"),
        ));
    }
    Ok(zone)
}

/// A pool's size and autoscaling bounds.
struct PoolSizes {
    autoscaling: bool,
    size: u32,
    min_size: u32,
    max_size: u32,
}

impl PoolSizes {
    /// The bounds default to the size; an autoscaled size must lie within them.
    fn parse(body: &JsonBody) -> Result<Self, ApiError> {
        let autoscaling = body.opt::<bool>("autoscaling")?.unwrap_or(false);
        let size = body.req::<u32>("size")?;
        let min_size = body.opt::<u32>("min_size")?.unwrap_or(size);
        let max_size = body.opt::<u32>("max_size")?.unwrap_or(size);
        if max_size < 1
            || min_size > max_size
            || (autoscaling && (size < min_size || size > max_size))
        {
            return Err(ApiError::invalid(
                "size",
                "constraint",
                "expected min_size <= size <= max_size and max_size >= 1",
            ));
        }
        Ok(Self {
            autoscaling,
            size,
            min_size,
            max_size,
        })
    }
}

/// The root volume's type (`default_volume_type` is `sbs_5k`) and size in bytes (20 GB).
fn pool_root_volume(body: &JsonBody) -> Result<(String, u64), ApiError> {
    let root_volume_type = match body
        .opt_enum(
            "root_volume_type",
            &["default_volume_type", "l_ssd", "b_ssd", "sbs_5k", "sbs_15k"],
        )?
        .as_deref()
    {
        None | Some("default_volume_type") => "sbs_5k".to_string(),
        Some(t) => t.to_string(),
    };
    let root_volume_size = body
        .opt::<u64>("root_volume_size")?
        .unwrap_or(20_000_000_000);
    Ok((root_volume_type, root_volume_size))
}

/// The upgrade policy: one node unavailable at a time and no surge unless asked.
fn pool_upgrade_policy(body: &JsonBody) -> Result<Value, ApiError> {
    let mut policy = json!({"max_unavailable": 1, "max_surge": 0});
    if let Some(p) = body.obj("upgrade_policy")? {
        if let Some(v) = p.opt::<u32>("max_unavailable")? {
            policy["max_unavailable"] = json!(v);
        }
        if let Some(v) = p.opt::<u32>("max_surge")? {
            policy["max_surge"] = json!(v);
        }
    }
    Ok(policy)
}

/// Adds one node to a pool, `creating` until `ready_at`, with its private IPs in IPAM.
fn add_node(s: &mut Store, pool_id: &str, now: DateTime<Utc>, ready_at: DateTime<Utc>) {
    let Some(pool) = s.get(POOL, pool_id, now) else {
        return;
    };
    let cluster_id = pool.str("cluster_id").to_string();
    let Some(cluster) = s.get(CLUSTER, &cluster_id, now) else {
        return;
    };
    let (region, zone) = (pool.str("region").to_string(), pool.str("zone").to_string());
    let pn = cluster.str("private_network_id").to_string();
    let project = cluster.str("project_id").to_string();
    let id = new_id();
    let name = format!(
        "scw-{}-{}-{}",
        cluster.str("name"),
        pool.str("name"),
        &id[..6]
    );
    let public_ip = if pool.body["public_ip_disabled"] == true {
        Value::Null
    } else {
        json!(random_public_ip())
    };
    let node = json!({
        "region": region, "id": id, "cluster_id": cluster_id, "created_at": ts(now),
        "updated_at": ts(now), "pool_id": pool_id, "name": name,
        "public_ip_v4": public_ip, "public_ip_v6": null,
        "provider_id": format!("scaleway://instance/{zone}/{}", new_id()), "error_message": "",
    });
    s.insert(
        NODE,
        &id,
        Some(Parent {
            kind: POOL.into(),
            id: pool_id.into(),
        }),
        node,
        &[("creating", now), ("ready", ready_at)],
    );
    if !pn.is_empty() {
        let nic = new_id();
        let resource = json!({"type": "instance_private_nic", "id": nic, "mac_address": "02:00:00:14:AE:DD", "name": name});
        let ips = ipam::book_in_pn(
            s,
            &region,
            &project,
            &pn,
            resource,
            Some(Parent {
                kind: NODE.into(),
                id: id.clone(),
            }),
            false,
            now,
        );
        for ip in ips {
            if let Some(r) = s.get_mut(ipam::IP, &ip, now) {
                r.extra["cluster_id"] = json!(cluster_id);
            }
        }
    }
}

fn render_node(rec: &Record, now: DateTime<Utc>) -> Value {
    let mut v = render(rec, now);
    let ready = if rec.status(now) == "ready" {
        "True"
    } else {
        "False"
    };
    v["conditions"] = json!({"DiskPressure": "False", "MemoryPressure": "False", "NetworkUnavailable": "False", "PIDPressure": "False", "Ready": ready});
    v
}

async fn list_pools(
    State(st): State<Shared>,
    Path((region, id)): Path<(String, String)>,
    q: Query,
) -> ApiResult {
    check_region(&region, REGIONS)?;
    let items = st.read(|s, now| {
        find_cluster(s, &region, &id, now)?;
        Ok::<_, ApiError>(
            s.children(POOL, CLUSTER, &id, now)
                .into_iter()
                .map(|r| render(r, now))
                .filter(|v| name_matches(v, q.get("name")))
                .filter(|v| q.enum_filter("status").is_none_or(|p| v["status"] == p))
                .collect::<Vec<_>>(),
        )
    })?;
    list_response("pools", items, &q, "created_at_asc")
}

async fn create_pool(
    State(st): State<Shared>,
    Path((region, id)): Path<(String, String)>,
    body: JsonBody,
) -> ApiResult {
    check_region(&region, REGIONS)?;
    ok(st.write(|s, now| {
        let cluster = find_cluster(s, &region, &id, now)?;
        let status = cluster_status(s, cluster, now);
        if matches!(status.as_str(), "updating" | "deleting") {
            return Err(ApiError::transient("cluster", &id, &status));
        }
        let pid = insert_pool(s, &st, &id, body, now)?;
        Ok(render(s.get(POOL, &pid, now).expect("inserted"), now))
    })?)
}

async fn get_pool(
    State(st): State<Shared>,
    Path((region, id)): Path<(String, String)>,
) -> ApiResult {
    check_region(&region, REGIONS)?;
    ok(st.read(|s, now| find_pool(s, &region, &id, now).map(|r| render(r, now)))?)
}

async fn update_pool(
    State(st): State<Shared>,
    Path((region, id)): Path<(String, String)>,
    body: JsonBody,
) -> ApiResult {
    check_region(&region, REGIONS)?;
    for k in ["autoscaling", "autohealing"] {
        body.opt::<bool>(k)?;
    }
    for k in ["size", "min_size", "max_size"] {
        body.opt::<u32>(k)?;
    }
    body.opt::<Vec<String>>("tags")?;
    body.opt::<Map<String, Value>>("kubelet_args")?;
    ok(st.write(|s, now| {
        let rec = find_pool(s, &region, &id, now)?;
        ensure_pool_stable(rec, now)?;
        let mut obj = rec.body.as_object().cloned().unwrap_or_default();
        for k in [
            "autoscaling",
            "autohealing",
            "size",
            "min_size",
            "max_size",
            "tags",
            "kubelet_args",
            "security_group_id",
        ] {
            patch_field(&mut obj, &body.0, k);
        }
        if let Some(p) = body.obj("upgrade_policy")? {
            let policy = obj.entry("upgrade_policy").or_insert_with(|| json!({}));
            for k in ["max_unavailable", "max_surge"] {
                if let Some(v) = p.opt::<u32>(k)? {
                    policy[k] = json!(v);
                }
            }
        }
        let num = |k: &str| obj.get(k).and_then(Value::as_u64).unwrap_or(0);
        let (size, min, max) = (num("size"), num("min_size"), num("max_size"));
        if max < 1 || min > max || (obj["autoscaling"] == true && (size < min || size > max)) {
            return Err(ApiError::invalid(
                "size",
                "constraint",
                "expected min_size <= size <= max_size and max_size >= 1",
            ));
        }
        let old_size = rec.body["size"].as_u64().unwrap_or(0);
        let nodes: Vec<String> = s
            .children(NODE, POOL, &id, now)
            .iter()
            .map(|n| n.id.clone())
            .collect();
        let rec = s.get_mut(POOL, &id, now).expect("found");
        rec.body = Value::Object(obj);
        touch(rec, now);
        if size != old_size {
            let end = st.later(now, st.durations.pool_scale);
            rec.schedule(&[("scaling", now), ("ready", end)]);
            if size > old_size {
                for _ in old_size..size {
                    add_node(s, &id, now, end);
                }
            } else {
                for nid in nodes.iter().rev().take((old_size - size) as usize) {
                    if let Some(n) = s.get_mut(NODE, nid, now) {
                        n.schedule(&[("deleting", now), (GONE, end)]);
                    }
                }
            }
        }
        Ok(render(s.get(POOL, &id, now).expect("found"), now))
    })?)
}

async fn upgrade_pool(
    State(st): State<Shared>,
    Path((region, id)): Path<(String, String)>,
    body: JsonBody,
) -> ApiResult {
    check_region(&region, REGIONS)?;
    let version = body.req_str("version")?;
    ok(st.write(|s, now| {
        let rec = find_pool(s, &region, &id, now)?;
        ensure_pool_stable(rec, now)?;
        let cluster_version = s
            .get(CLUSTER, rec.str("cluster_id"), now)
            .map(|c| c.str("version").to_string())
            .unwrap_or_default();
        if version != cluster_version {
            return Err(ApiError::invalid(
                "version",
                "constraint",
                format!("a pool can only be upgraded to its cluster's version ({cluster_version})"),
            ));
        }
        let end = st.later(now, st.durations.pool_upgrade);
        let rec = s.get_mut(POOL, &id, now).expect("found");
        rec.obj().insert("version".into(), json!(version));
        rec.schedule(&[("upgrading", now), ("ready", end)]);
        touch(rec, now);
        Ok(render(rec, now))
    })?)
}

async fn set_pool_field(
    st: Shared,
    region: String,
    id: String,
    key: &'static str,
    value: Value,
) -> ApiResult {
    check_region(&region, REGIONS)?;
    ok(st.write(|s, now| {
        let rec = find_pool(s, &region, &id, now)?;
        ensure_pool_stable(rec, now)?;
        let rec = s.get_mut(POOL, &id, now).expect("found");
        rec.obj().insert(key.into(), value);
        touch(rec, now);
        Ok(render(rec, now))
    })?)
}

async fn set_labels(
    State(st): State<Shared>,
    Path((region, id)): Path<(String, String)>,
    body: JsonBody,
) -> ApiResult {
    let labels: Map<String, Value> = body.opt("labels")?.unwrap_or_default();
    set_pool_field(st, region, id, "labels", Value::Object(labels)).await
}

fn taints(body: &JsonBody, key: &str) -> Result<Vec<Value>, ApiError> {
    let list: Vec<Map<String, Value>> = body.opt(key)?.unwrap_or_default();
    for t in &list {
        let effect: Option<String> = field(t, "effect")?;
        if !matches!(
            effect.as_deref(),
            Some("NoSchedule" | "PreferNoSchedule" | "NoExecute")
        ) {
            return Err(ApiError::invalid(
                &format!("{key}.effect"),
                "constraint",
                "effect must be NoSchedule, PreferNoSchedule or NoExecute",
            ));
        }
    }
    Ok(list.into_iter().map(Value::Object).collect())
}

async fn set_taints(
    State(st): State<Shared>,
    Path((region, id)): Path<(String, String)>,
    body: JsonBody,
) -> ApiResult {
    let t = taints(&body, "taints")?;
    set_pool_field(st, region, id, "taints", Value::Array(t)).await
}

async fn set_startup_taints(
    State(st): State<Shared>,
    Path((region, id)): Path<(String, String)>,
    body: JsonBody,
) -> ApiResult {
    let t = taints(&body, "startup_taints")?;
    set_pool_field(st, region, id, "startup_taints", Value::Array(t)).await
}

async fn delete_pool(
    State(st): State<Shared>,
    Path((region, id)): Path<(String, String)>,
) -> ApiResult {
    check_region(&region, REGIONS)?;
    ok(st.write(|s, now| {
        let rec = find_pool(s, &region, &id, now)?;
        if rec.status(now) == "deleting" {
            return Err(ApiError::transient("pool", &id, "deleting"));
        }
        let end = st.later(now, st.durations.pool_delete);
        for nid in s
            .children(NODE, POOL, &id, now)
            .iter()
            .map(|n| n.id.clone())
            .collect::<Vec<_>>()
        {
            if let Some(n) = s.get_mut(NODE, &nid, now) {
                n.schedule(&[("deleting", now), (GONE, end)]);
            }
        }
        let rec = s.get_mut(POOL, &id, now).expect("found");
        rec.schedule(&[("deleting", now), (GONE, end)]);
        touch(rec, now);
        Ok(render(rec, now))
    })?)
}

async fn list_nodes(
    State(st): State<Shared>,
    Path((region, id)): Path<(String, String)>,
    q: Query,
) -> ApiResult {
    check_region(&region, REGIONS)?;
    let items = st.read(|s, now| {
        find_cluster(s, &region, &id, now)?;
        Ok::<_, ApiError>(
            s.list(NODE, now)
                .into_iter()
                .filter(|n| n.str("cluster_id") == id)
                .map(|r| render_node(r, now))
                .filter(|v| q.get("pool_id").is_none_or(|p| v["pool_id"] == p))
                .filter(|v| name_matches(v, q.get("name")))
                .filter(|v| q.enum_filter("status").is_none_or(|p| v["status"] == p))
                .collect::<Vec<_>>(),
        )
    })?;
    list_response("nodes", items, &q, "created_at_asc")
}

async fn get_node(
    State(st): State<Shared>,
    Path((region, id)): Path<(String, String)>,
) -> ApiResult {
    check_region(&region, REGIONS)?;
    ok(st.read(|s, now| {
        s.get(NODE, &id, now)
            .filter(|r| r.str("region") == region)
            .map(|r| render_node(r, now))
            .ok_or_else(|| ApiError::not_found("node", &id))
    })?)
}

async fn reboot_node(
    State(st): State<Shared>,
    Path((region, id)): Path<(String, String)>,
) -> ApiResult {
    check_region(&region, REGIONS)?;
    ok(st.write(|s, now| {
        let rec = s
            .get(NODE, &id, now)
            .filter(|r| r.str("region") == region)
            .ok_or_else(|| ApiError::not_found("node", &id))?;
        if rec.status(now) != "ready" {
            return Err(ApiError::transient("node", &id, rec.status(now)));
        }
        let end = st.later(now, st.durations.pool_upgrade);
        let rec = s.get_mut(NODE, &id, now).expect("found");
        rec.schedule(&[("rebooting", now), ("ready", end)]);
        Ok(render_node(rec, now))
    })?)
}
