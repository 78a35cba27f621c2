//! The Kapsule cloud controller (CCM) for `LoadBalancer` Services, written from the behaviour of
//! scaleway-cloud-controller-manager (`docs/loadbalancer-annotations.md`,
//! `scaleway/loadbalancers.go`; restated in `reference/production-path.md` §2).
//!
//! Each sync of a Service (on every write of it, and every [`SYNC_PERIOD`] scaled by the speed
//! factor) finds or creates its load balancer, attaches the cluster's private network and
//! reconciles one frontend `<uid>_<proto>_<port>` and one backend `<uid>_<proto>_<nodePort>`
//! per port. Without `…-externally-managed: "true"` the load balancer is the CCM's: it detaches
//! other private networks, deletes frontends and backends it did not make, migrates the type and
//! resets the SSL level to the annotations' values (default intermediate). With it, the CCM
//! needs `…-id`, never creates, deletes or reconfigures the load balancer, never detaches, and
//! touches only the Service's own `<uid>_` frontends and backends, which it removes with the
//! Service. A failure (a bare id, a missing load balancer, a CCM-named one marked externally
//! managed) leaves the Service without an address and records a `SyncLoadBalancerFailed`
//! warning Event.

use std::time::Duration;

use chrono::{DateTime, Utc};
use serde_json::{Map, Value, json};

use super::objects::{self, OBJECT, Op};
use super::resources;
use crate::api::ipam;
use crate::api::k8s::{CLUSTER, NODE};
use crate::api::lb::{
    self as lbapi, BACKEND, FRONTEND, IP, LB, LB_PN, insert_backend, insert_frontend,
    remove_backend, remove_frontend, replace_backend, replace_frontend,
};
use crate::server::AppState;
use crate::store::Store;
use crate::wire::{JsonBody, new_id, random_public_ip, ts};

/// How often the controller resyncs every LoadBalancer Service, at speed 1.
pub const SYNC_PERIOD: Duration = Duration::from_secs(30);
/// Store kind of the per-cluster controller record (sync count, for tests and inspection).
pub const CCM: &str = "kube.ccm";

/// Prefix of the controller's Service annotations.
const ANN: &str = "service.beta.kubernetes.io/scw-loadbalancer-";
/// The tag the controller puts on every load balancer it creates.
pub const CCM_TAG: &str = "managed-by-scaleway-cloud-controller-manager";

/// The name prefix of load balancers the controller creates for `cluster`: Kapsule sets the
/// controller's prefix to the cluster id.
pub fn ccm_prefix(cluster: &str) -> String {
    format!("{cluster}_")
}

fn annotation<'a>(svc: &'a Value, key: &str) -> Option<&'a str> {
    svc["metadata"]["annotations"][format!("{ANN}{key}")].as_str()
}

/// Go's `strconv.ParseBool`.
fn parse_bool(v: &str) -> Option<bool> {
    match v {
        "1" | "t" | "T" | "TRUE" | "true" | "True" => Some(true),
        "0" | "f" | "F" | "FALSE" | "false" | "False" => Some(false),
        _ => None,
    }
}

/// Go's `time.ParseDuration` for the units the annotations use, in milliseconds.
fn parse_duration_ms(v: &str) -> Option<u64> {
    let mut total = 0f64;
    let mut rest = v;
    if rest.is_empty() {
        return None;
    }
    while !rest.is_empty() {
        let num_end = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(rest.len());
        let n: f64 = rest[..num_end].parse().ok()?;
        rest = &rest[num_end..];
        let unit_end = rest
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(rest.len());
        let mult = match &rest[..unit_end] {
            "ms" => 1.0,
            "s" => 1_000.0,
            "m" => 60_000.0,
            "h" => 3_600_000.0,
            _ => return None,
        };
        rest = &rest[unit_end..];
        total += n * mult;
    }
    Some(total.round() as u64)
}

/// The value of a per-port annotation (`80:http;443,8443:https` or one value for all ports).
fn value_for_port(full: &str, port: u64) -> Result<Option<String>, String> {
    let mut default = None;
    for part in full.split(';') {
        let split: Vec<&str> = part.split(':').collect();
        match split.as_slice() {
            [v] => {
                if default.is_none() {
                    default = Some(v.to_string());
                }
            }
            [ports, v] => {
                for p in ports.split(',') {
                    let p: u64 = p
                        .trim()
                        .parse()
                        .map_err(|_| format!("annotation value {full} has a bad port {p:?}"))?;
                    if p == port {
                        return Ok(Some(v.to_string()));
                    }
                }
            }
            _ => {
                return Err(format!(
                    "annotation with value {full} is wrongly formatted, should be `port1:value1;port2,port3:value2`"
                ));
            }
        }
    }
    Ok(default)
}

fn port_annotation(svc: &Value, key: &str, port: u64) -> Result<Option<String>, String> {
    match annotation(svc, key) {
        None => Ok(None),
        Some(v) => value_for_port(v, port),
    }
}

fn duration_annotation(svc: &Value, key: &str, default_ms: u64) -> Result<u64, String> {
    match annotation(svc, key) {
        None => Ok(default_ms),
        Some(v) => parse_duration_ms(v)
            .ok_or_else(|| format!("invalid value for annotation {ANN}{key}: {v:?}")),
    }
}

/// `true`, `*` or a list of service ports containing `port`.
fn port_enabled(svc: &Value, key: &str, port: u64) -> bool {
    match annotation(svc, key) {
        None => false,
        Some("true") | Some("*") => true,
        Some(list) => list.split(',').any(|p| p.trim().parse() == Ok(port)),
    }
}

/// The zone and id of `…-id`; a bare id is an error, a region means its first zone.
fn annotated_id(svc: &Value) -> Result<Option<(String, String)>, String> {
    let Some(v) = annotation(svc, "id") else {
        return Ok(None);
    };
    let lower = v.to_ascii_lowercase();
    let parts: Vec<&str> = lower.split('/').collect();
    let [zone, id] = parts.as_slice() else {
        return Err(format!(
            "invalid value for annotation {ANN}id: {v:?}: expected <zone>/<load balancer id>"
        ));
    };
    let zone = if zone.matches('-').count() == 1 {
        format!("{zone}-1")
    } else {
        zone.to_string()
    };
    Ok(Some((zone, id.to_string())))
}

fn cluster_region(s: &Store, cluster: &str, now: DateTime<Utc>) -> String {
    s.get(CLUSTER, cluster, now)
        .map(|r| r.str("region").to_string())
        .unwrap_or_else(|| "fr-par".into())
}

/// Syncs one Service: its body may gain the `…-id` annotation; `extra["lb"]` records the
/// binding (`{id, zone}`) or the failure (`{error}`).
pub fn sync_service(
    s: &mut Store,
    app: &AppState,
    now: DateTime<Utc>,
    cluster: &str,
    svc: &mut Value,
    extra: &mut Value,
) {
    let is_lb = svc["spec"]["type"] == "LoadBalancer" && svc["spec"]["loadBalancerClass"].is_null();
    if !is_lb {
        if extra.get("lb").is_some() {
            let before = svc.clone();
            release(s, now, cluster, &before);
            if let Some(m) = extra.as_object_mut() {
                m.remove("lb");
            }
        }
        return;
    }
    match ensure(s, app, now, cluster, svc) {
        Ok(binding) => extra["lb"] = binding,
        Err(why) => {
            extra["lb"] = json!({"error": why});
            warn(s, app, now, cluster, svc, &why);
        }
    }
}

/// `EnsureLoadBalancer`.
fn ensure(
    s: &mut Store,
    app: &AppState,
    now: DateTime<Utc>,
    cluster: &str,
    svc: &mut Value,
) -> Result<Value, String> {
    let external = match annotation(svc, "externally-managed") {
        None => false,
        Some(v) => parse_bool(v).ok_or_else(|| {
            format!("invalid value for annotation {ANN}externally-managed: expected boolean")
        })?,
    };
    let uid = svc["metadata"]["uid"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    let wanted = annotated_id(svc)?;
    if external && wanted.is_none() {
        return Err(
            "loadbalancer id must be defined for externally managed loadbalancer".to_string(),
        );
    }
    let prefix = ccm_prefix(cluster);
    let name = format!("{prefix}{uid}");
    let found = match &wanted {
        Some((zone, id)) => s
            .get(LB, id, now)
            .filter(|r| r.str("zone") == zone)
            .map(|r| r.id.clone()),
        None => s
            .list(LB, now)
            .into_iter()
            .find(|r| r.str("name") == name)
            .map(|r| r.id.clone()),
    };
    let id = match found {
        Some(id) => {
            let lb_name = s.get(LB, &id, now).map(|r| r.str("name").to_string());
            if external && lb_name.is_some_and(|n| n.starts_with(&prefix)) {
                return Err(
                    "externally managed loadbalancer must not be prefixed by the cluster id".into(),
                );
            }
            id
        }
        None if external => {
            return Err(
                "cannot create an externally managed load balancer, please provide an existing load balancer instead"
                    .into(),
            );
        }
        None => create_lb(s, app, now, cluster, svc, &name),
    };
    let (zone, status) = {
        let r = s.get(LB, &id, now).expect("found or created");
        (r.str("zone").to_string(), r.status(now).to_string())
    };
    // The controller writes the binding back on the Service.
    svc["metadata"]["annotations"][format!("{ANN}id")] = json!(format!("{zone}/{id}"));
    let binding = json!({"id": id, "zone": zone});
    if status != "ready" {
        // Retried on the next sync, as the real controller does on `LoadBalancerNotReady`.
        return Ok(binding);
    }
    update(s, app, now, cluster, svc, &zone, &id, external)?;
    Ok(binding)
}

fn create_lb(
    s: &mut Store,
    app: &AppState,
    now: DateTime<Utc>,
    cluster: &str,
    svc: &Value,
    name: &str,
) -> String {
    let region = cluster_region(s, cluster, now);
    let zone = annotation(svc, "zone")
        .map(str::to_string)
        .unwrap_or_else(|| format!("{region}-1"));
    let project = app.project_id.clone();
    let id = new_id();
    let ip_id = new_id();
    let address = random_public_ip();
    s.insert(
        IP,
        &ip_id,
        None,
        json!({
            "id": ip_id, "ip_address": address, "lb_id": id, "organization_id": project,
            "project_id": project, "region": region, "tags": [], "zone": zone,
            "reverse": format!("{}.lb.{region}.scw.cloud", address.replace('.', "-")),
        }),
        &[],
    );
    let ssl = annotation(svc, "ssl-compatibility-level")
        .unwrap_or("ssl_compatibility_level_intermediate");
    let lb_type = annotation(svc, "type")
        .unwrap_or("lb-s")
        .to_ascii_lowercase();
    let body = json!({
        "backend_count": 0, "created_at": ts(now),
        "description": format!("kubernetes service {}", svc["metadata"]["name"].as_str().unwrap_or_default()),
        "frontend_count": 0, "id": id, "instances": [], "ip": [], "name": name,
        "organization_id": project, "private_network_count": 0, "project_id": project,
        "region": region, "route_count": 0, "ssl_compatibility_level": ssl,
        "subscriber": null, "tags": [format!("kapsule={cluster}"), CCM_TAG], "type": lb_type,
        "updated_at": ts(now), "zone": zone,
    });
    let ready = app.later(now, objects::SERVICE_LB_READY);
    let rec = s.insert(
        LB,
        &id,
        None,
        body,
        &[("to_create", now), ("creating", now), ("ready", ready)],
    );
    rec.extra = json!({"instance_id": new_id()});
    id
}

/// Private addresses of the cluster's nodes (the backends' servers on a private cluster).
fn node_ips(s: &Store, cluster: &str, now: DateTime<Utc>) -> Vec<String> {
    let mut ips: Vec<String> = s
        .list(NODE, now)
        .into_iter()
        .filter(|n| n.str("cluster_id") == cluster)
        .flat_map(|n| s.children(ipam::IP, NODE, &n.id, now))
        .filter(|ip| ip.body["is_ipv6"] != true)
        .filter_map(|ip| ip.body["address"].as_str())
        .map(|a| a.split('/').next().unwrap_or(a).to_string())
        .collect();
    ips.sort();
    ips
}

/// Private networks of the load balancer: the cluster's (the controller's PN_ID) unless the
/// Service annotates others; an externally managed load balancer only gains networks.
#[allow(clippy::too_many_arguments)]
fn sync_private_networks(
    s: &mut Store,
    app: &AppState,
    now: DateTime<Utc>,
    cluster: &str,
    svc: &Value,
    zone: &str,
    id: &str,
    external: bool,
) -> Result<(), String> {
    let api = |e: crate::wire::ApiError| format!("load balancer {zone}/{id}: {e:?}");
    let cluster_pn = s
        .get(CLUSTER, cluster, now)
        .map(|c| c.str("private_network_id").to_string())
        .unwrap_or_default();
    if !cluster_pn.is_empty() {
        let mut wanted: Vec<String> = vec![];
        if !external && let Some(list) = annotation(svc, "pn-ids") {
            wanted.extend(list.split(',').map(|p| p.trim().to_string()));
        }
        if wanted.is_empty() {
            wanted.push(cluster_pn);
        }
        let attached: Vec<String> = s
            .children(LB_PN, LB, id, now)
            .iter()
            .map(|a| a.str("private_network_id").to_string())
            .collect();
        for pn in &attached {
            if !external && !wanted.contains(pn) {
                lbapi::detach_private_network(s, zone, id, pn, now).map_err(api)?;
            }
        }
        for pn in &wanted {
            if !attached.contains(pn) {
                lbapi::attach_private_network(s, app, zone, id, pn, &[], now).map_err(api)?;
            }
        }
    }
    Ok(())
}

/// `updateLoadBalancer`: private networks, frontends and backends, then LB-wide settings.
#[allow(clippy::too_many_arguments)]
fn update(
    s: &mut Store,
    app: &AppState,
    now: DateTime<Utc>,
    cluster: &str,
    svc: &Value,
    zone: &str,
    id: &str,
    external: bool,
) -> Result<(), String> {
    let api = |e: crate::wire::ApiError| format!("load balancer {zone}/{id}: {e:?}");
    sync_private_networks(s, app, now, cluster, svc, zone, id, external)?;
    let servers = node_ips(s, cluster, now);
    let uid = svc["metadata"]["uid"].as_str().unwrap_or_default();
    let filter = if external {
        format!("{uid}_")
    } else {
        String::new()
    };
    let ports = svc["spec"]["ports"].as_array().cloned().unwrap_or_default();
    let mut keep_frontends = vec![];
    let mut keep_backends = vec![];
    for port in &ports {
        let proto = port["protocol"]
            .as_str()
            .unwrap_or("TCP")
            .to_ascii_lowercase();
        let (p, node_port) = (
            port["port"].as_u64().unwrap_or(0),
            port["nodePort"].as_u64().unwrap_or(0),
        );
        let backend_name = format!("{uid}_{proto}_{node_port}");
        let frontend_name = format!("{uid}_{proto}_{p}");
        let backend = backend_request(svc, &backend_name, p, node_port, &servers)?;
        let existing = s
            .children(BACKEND, LB, id, now)
            .into_iter()
            .find(|b| b.str("name") == backend_name)
            .map(|b| (b.id.clone(), b.body.clone()));
        let backend_id = match existing {
            Some((bid, body)) => {
                if !backend_matches(&body, &backend) {
                    replace_backend(s, zone, &bid, &JsonBody(backend.clone()), now).map_err(api)?;
                }
                bid
            }
            None => insert_backend(s, zone, id, &JsonBody(backend.clone()), now).map_err(api)?,
        };
        keep_backends.push(backend_id.clone());
        let frontend = frontend_request(svc, &frontend_name, p, &backend_id)?;
        let existing = s
            .children(FRONTEND, LB, id, now)
            .into_iter()
            .find(|f| f.str("name") == frontend_name)
            .map(|f| (f.id.clone(), f.body.clone()));
        let frontend_id = match existing {
            Some((fid, body)) => {
                if frontend.iter().any(|(k, v)| body.get(k) != Some(v)) {
                    replace_frontend(s, zone, &fid, &JsonBody(frontend), now).map_err(api)?;
                }
                fid
            }
            None => insert_frontend(s, zone, id, &JsonBody(frontend), now).map_err(api)?,
        };
        keep_frontends.push(frontend_id);
    }
    // Frontends before backends: a backend in use cannot go.
    let stale: Vec<String> = s
        .children(FRONTEND, LB, id, now)
        .iter()
        .filter(|f| f.str("name").starts_with(&filter) && !keep_frontends.contains(&f.id))
        .map(|f| f.id.clone())
        .collect();
    for f in stale {
        remove_frontend(s, zone, &f, now).map_err(api)?;
    }
    let stale: Vec<String> = s
        .children(BACKEND, LB, id, now)
        .iter()
        .filter(|b| b.str("name").starts_with(&filter) && !keep_backends.contains(&b.id))
        .map(|b| b.id.clone())
        .collect();
    for b in stale {
        remove_backend(s, zone, &b, now).map_err(api)?;
    }
    if !external {
        let ssl = annotation(svc, "ssl-compatibility-level")
            .unwrap_or("ssl_compatibility_level_intermediate")
            .to_string();
        let lb_type = annotation(svc, "type").map(str::to_ascii_lowercase);
        let rec = s.get_mut(LB, id, now).expect("found");
        if rec.body["ssl_compatibility_level"] != ssl.as_str() {
            rec.obj()
                .insert("ssl_compatibility_level".into(), json!(ssl));
            rec.obj().insert("updated_at".into(), json!(ts(now)));
        }
        if let Some(t) = lb_type
            && rec.body["type"] != t.as_str()
        {
            rec.obj().insert("type".into(), json!(t));
            let end = app.later(now, app.durations.lb_migrate);
            rec.schedule(&[("migrating", now), ("ready", end)]);
        }
    }
    Ok(())
}

/// The `CreateBackend` body the controller sends for one port.
fn backend_request(
    svc: &Value,
    name: &str,
    port: u64,
    node_port: u64,
    servers: &[String],
) -> Result<Map<String, Value>, String> {
    let http = port_enabled(svc, "protocol-http", port);
    let hc_type = port_annotation(svc, "health-check-type", port)?.unwrap_or_else(|| "tcp".into());
    let mut hc = json!({
        "port": node_port,
        "check_delay": duration_annotation(svc, "health-check-delay", 5_000)?,
        "check_timeout": duration_annotation(svc, "health-check-timeout", 5_000)?,
        "check_max_retries": annotation(svc, "health-check-max-retries")
            .map(|v| v.parse::<u32>().map_err(|_| format!("invalid value for annotation {ANN}health-check-max-retries: {v:?}")))
            .transpose()?
            .unwrap_or(5),
        "check_send_proxy": annotation(svc, "health-check-send-proxy").and_then(parse_bool).unwrap_or(false),
    });
    match hc_type.as_str() {
        "http" | "https" => {
            let uri =
                port_annotation(svc, "health-check-http-uri", port)?.unwrap_or_else(|| "/".into());
            let method = port_annotation(svc, "health-check-http-method", port)?
                .unwrap_or_else(|| "GET".into());
            let code: u32 = port_annotation(svc, "health-check-http-code", port)?
                .unwrap_or_else(|| "200".into())
                .parse()
                .map_err(|_| format!("invalid value for annotation {ANN}health-check-http-code"))?;
            hc[format!("{hc_type}_config")] = json!({"uri": uri, "method": method, "code": code});
        }
        "tcp" | "mysql" | "pgsql" | "redis" | "ldap" => {
            hc[format!("{hc_type}_config")] = json!({});
        }
        other => {
            return Err(format!(
                "invalid value for annotation {ANN}health-check-type: {other:?}"
            ));
        }
    }
    let proxy = if port_enabled(svc, "proxy-protocol-v2", port) {
        "proxy_protocol_v2"
    } else if port_enabled(svc, "proxy-protocol-v1", port) {
        "proxy_protocol_v1"
    } else {
        "proxy_protocol_none"
    };
    let body = json!({
        "name": name,
        "forward_protocol": if http { "http" } else { "tcp" },
        "forward_port": node_port,
        "forward_port_algorithm": annotation(svc, "forward-port-algorithm").unwrap_or("roundrobin"),
        "sticky_sessions": annotation(svc, "sticky-sessions").unwrap_or("none"),
        "proxy_protocol": proxy,
        "timeout_server": duration_annotation(svc, "timeout-server", 10_000)?,
        "timeout_connect": duration_annotation(svc, "timeout-connect", 600_000)?,
        "timeout_tunnel": duration_annotation(svc, "timeout-tunnel", 600_000)?,
        "on_marked_down_action": annotation(svc, "on-marked-down-action").unwrap_or("on_marked_down_action_none"),
        "health_check": hc,
        "server_ip": servers,
    });
    Ok(body.as_object().cloned().unwrap_or_default())
}

/// Whether a stored backend already has what the controller would send.
fn backend_matches(stored: &Value, wanted: &Map<String, Value>) -> bool {
    wanted.iter().all(|(k, v)| match k.as_str() {
        "server_ip" => stored["pool"] == *v,
        "health_check" => v
            .as_object()
            .is_some_and(|hc| hc.iter().all(|(hk, hv)| stored["health_check"][hk] == *hv)),
        _ => stored.get(k) == Some(v),
    })
}

/// The `CreateFrontend` body the controller sends for one port.
fn frontend_request(
    svc: &Value,
    name: &str,
    port: u64,
    backend_id: &str,
) -> Result<Map<String, Value>, String> {
    let certs: Vec<String> = port_annotation(svc, "certificate-ids", port)?
        .map(|c| c.split(',').map(str::to_string).collect())
        .unwrap_or_default();
    let body = json!({
        "name": name,
        "inbound_port": port,
        "backend_id": backend_id,
        "timeout_client": duration_annotation(svc, "timeout-client", 600_000)?,
        "certificate_ids": certs,
    });
    Ok(body.as_object().cloned().unwrap_or_default())
}

/// `EnsureLoadBalancerDeleted`, when a Service goes or stops being a LoadBalancer: an
/// externally managed load balancer loses exactly the Service's `<uid>_` frontends and
/// backends; one the controller named after this Service is deleted with its IP; any other
/// (renamed, or bound by id without the annotation) is left as it is, frontends included.
pub fn release(s: &mut Store, now: DateTime<Utc>, cluster: &str, svc: &Value) {
    let Ok(Some((zone, id))) = annotated_id(svc) else {
        return;
    };
    let Some(lb) = s.get(LB, &id, now).filter(|r| r.str("zone") == zone) else {
        return;
    };
    let lb_name = lb.str("name").to_string();
    let uid = svc["metadata"]["uid"].as_str().unwrap_or_default();
    let external = annotation(svc, "externally-managed").and_then(parse_bool) == Some(true);
    if external {
        let prefix = format!("{uid}_");
        let frontends: Vec<String> = s
            .children(FRONTEND, LB, &id, now)
            .iter()
            .filter(|f| f.str("name").starts_with(&prefix))
            .map(|f| f.id.clone())
            .collect();
        for f in frontends {
            let _ = remove_frontend(s, &zone, &f, now);
        }
        let backends: Vec<String> = s
            .children(BACKEND, LB, &id, now)
            .iter()
            .filter(|b| b.str("name").starts_with(&prefix))
            .map(|b| b.id.clone())
            .collect();
        for b in backends {
            let _ = remove_backend(s, &zone, &b, now);
        }
        return;
    }
    if lb_name != format!("{}{uid}", ccm_prefix(cluster)) {
        return;
    }
    let static_ips = annotation(svc, "ip-ids").is_some();
    let ips: Vec<String> = s
        .list(IP, now)
        .into_iter()
        .filter(|r| r.body["lb_id"] == id.as_str())
        .map(|r| r.id.clone())
        .collect();
    for ip in ips {
        if static_ips {
            if let Some(r) = s.get_mut(IP, &ip, now) {
                r.obj().insert("lb_id".into(), Value::Null);
            }
        } else {
            s.remove(IP, &ip);
        }
    }
    s.remove(LB, &id);
    s.purge(now);
}

/// Records (or counts again) a `SyncLoadBalancerFailed` warning Event for the Service.
fn warn(s: &mut Store, app: &AppState, now: DateTime<Utc>, cluster: &str, svc: &Value, why: &str) {
    let Some(rt) = resources::find("", "v1", "events") else {
        return;
    };
    let ns = svc["metadata"]["namespace"].as_str().unwrap_or("default");
    let svc_name = svc["metadata"]["name"].as_str().unwrap_or_default();
    let digest: u32 = why.bytes().fold(2_166_136_261u32, |h, b| {
        (h ^ b as u32).wrapping_mul(16_777_619)
    });
    let name = format!("{svc_name}.{digest:08x}");
    let k = objects::key(cluster, rt, ns, &name);
    let count = s
        .get(OBJECT, &k, now)
        .and_then(|r| r.body["count"].as_u64())
        .unwrap_or(0)
        + 1;
    let first = s
        .get(OBJECT, &k, now)
        .map(|r| r.body["firstTimestamp"].clone())
        .unwrap_or(json!(ts(now)));
    let event = json!({
        "metadata": {"name": name, "namespace": ns},
        "involvedObject": {"kind": "Service", "namespace": ns, "name": svc_name,
            "uid": svc["metadata"]["uid"], "apiVersion": "v1"},
        "reason": "SyncLoadBalancerFailed",
        "message": format!("Error syncing load balancer: failed to ensure load balancer: {why}"),
        "type": "Warning", "count": count, "firstTimestamp": first, "lastTimestamp": ts(now),
        "source": {"component": "service-controller"},
        "reportingComponent": "service-controller",
    });
    let _ = objects::write(
        s,
        app,
        now,
        cluster,
        rt,
        ns,
        event,
        None,
        "service-controller",
        Op::Update,
    );
}

/// Runs [`sync_all`] once now (a restarted controller resyncs everything) and then every
/// [`SYNC_PERIOD`] divided by the speed factor, until the sandbox is dropped.
pub fn spawn_sync_loop(app: std::sync::Weak<AppState>) {
    tokio::spawn(async move {
        loop {
            let Some(st) = app.upgrade() else {
                return;
            };
            let busy = st.read(|s, now| {
                s.list(OBJECT, now).iter().any(|r| {
                    r.body["kind"] == "Service"
                        && (r.body["spec"]["type"] == "LoadBalancer" || r.extra.get("lb").is_some())
                })
            });
            if busy {
                let _ = st.write(|s, now| {
                    sync_all(s, &st, now);
                    Ok(())
                });
            }
            let period = Duration::from_secs_f64(SYNC_PERIOD.as_secs_f64() / st.speed)
                .max(Duration::from_millis(100));
            drop(st);
            tokio::time::sleep(period).await;
        }
    });
}

/// One periodic sync of every LoadBalancer Service of every cluster.
pub fn sync_all(s: &mut Store, app: &AppState, now: DateTime<Utc>) {
    let services: Vec<String> = s
        .list(OBJECT, now)
        .into_iter()
        .filter(|r| r.body["kind"] == "Service")
        .filter(|r| r.body["spec"]["type"] == "LoadBalancer" || r.extra.get("lb").is_some())
        .map(|r| r.id.clone())
        .collect();
    let clusters: Vec<String> = s.list(CLUSTER, now).iter().map(|c| c.id.clone()).collect();
    for k in services {
        let Some(rec) = s.get(OBJECT, &k, now) else {
            continue;
        };
        let (mut body, mut extra) = (rec.body.clone(), rec.extra.clone());
        let cluster = extra["cluster"].as_str().unwrap_or_default().to_string();
        sync_service(s, app, now, &cluster, &mut body, &mut extra);
        let changed = s.get(OBJECT, &k, now).is_some_and(|r| r.body != body);
        if changed {
            body["metadata"]["resourceVersion"] = json!(objects::bump_rv(s, &cluster, now));
        }
        if let Some(rec) = s.get_mut(OBJECT, &k, now) {
            rec.body = body;
            rec.extra = extra;
        }
    }
    for c in clusters {
        match s.get_mut(CCM, &c, now) {
            Some(r) => {
                let n = r.body["syncs"].as_u64().unwrap_or(0) + 1;
                r.body["syncs"] = json!(n);
                r.body["last_sync"] = json!(ts(now));
            }
            None => {
                s.insert(
                    CCM,
                    &c,
                    Some(crate::store::Parent {
                        kind: CLUSTER.into(),
                        id: c.clone(),
                    }),
                    json!({"cluster_id": c, "syncs": 1, "last_sync": ts(now)}),
                    &[],
                );
            }
        }
    }
}

/// Load balancers the controller created for `cluster` (named with its prefix), which Kapsule
/// deletes with the cluster only when asked `with_additional_resources=true`.
pub fn delete_cluster_lbs(s: &mut Store, now: DateTime<Utc>, cluster: &str) {
    let prefix = ccm_prefix(cluster);
    let ids: Vec<String> = s
        .list(LB, now)
        .into_iter()
        .filter(|r| r.str("name").starts_with(&prefix))
        .map(|r| r.id.clone())
        .collect();
    for id in ids {
        let ips: Vec<String> = s
            .list(IP, now)
            .into_iter()
            .filter(|r| r.body["lb_id"] == id.as_str())
            .map(|r| r.id.clone())
            .collect();
        for ip in ips {
            s.remove(IP, &ip);
        }
        s.remove(LB, &id);
    }
    s.purge(now);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_durations_and_per_port_values_parse() {
        assert_eq!(parse_duration_ms("1h"), Some(3_600_000));
        assert_eq!(parse_duration_ms("1m30s"), Some(90_000));
        assert_eq!(parse_duration_ms("500ms"), Some(500));
        assert_eq!(parse_duration_ms("10"), None);
        assert_eq!(
            value_for_port("80:http;443,8443:https", 443).unwrap(),
            Some("https".into())
        );
        assert_eq!(
            value_for_port("/healthz", 80).unwrap(),
            Some("/healthz".into())
        );
        assert_eq!(value_for_port("80:http", 443).unwrap(), None);
    }
}
