//! Read-only objects the Kubernetes emulator computes instead of storing: one `Node` per
//! node of the cluster's Kapsule pools (allocatable capacity by node type, `Ready` once the
//! Kapsule node is ready), and the `Pod`s of every Deployment (the template's spec and
//! resource requests, `Running` on a ready node once the Deployment is available, `Pending`
//! otherwise), so capacity tools (`kubectl describe nodes`, `kapstan scale --analyze-only`)
//! and auditors (`kapstan audit`) see a cluster shaped like a real one.
//!
//! Draining is modelled the way `kubectl drain` sees it: a node is cordoned with a patch of
//! `spec.unschedulable` (it then carries the `node.kubernetes.io/unschedulable` taint), and the
//! pods on it leave through the Eviction API, which refuses (429) an eviction that would take
//! a PodDisruptionBudget below its `minAvailable` / above its `maxUnavailable`. Once a pod was
//! evicted from a cordoned node the node is drained: the Deployments' pods are scheduled on
//! the remaining ready, schedulable nodes (or stay Pending when there is none).

use chrono::{DateTime, Utc};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use super::objects;
use super::resources::{self, ResourceType};
use crate::api::k8s::{NODE, POOL};
use crate::store::Store;

/// vCPUs and memory (GiB) of a Kapsule node type (`GP1-XS` or `gp1_xs`), `None` if unknown.
pub fn node_type_capacity(node_type: &str) -> Option<(u32, u32)> {
    let t = node_type.to_ascii_uppercase().replace('_', "-");
    let known: &[(&str, u32, u32)] = &[
        ("DEV1-M", 3, 4),
        ("DEV1-L", 4, 8),
        ("DEV1-XL", 4, 12),
        ("GP1-XS", 4, 16),
        ("GP1-S", 8, 32),
        ("GP1-M", 16, 64),
        ("GP1-L", 32, 128),
        ("GP1-XL", 48, 256),
        ("PLAY2-PICO", 1, 2),
        ("PLAY2-NANO", 2, 4),
        ("PLAY2-MICRO", 4, 8),
        ("PRO2-XXS", 2, 8),
        ("PRO2-XS", 4, 16),
        ("PRO2-S", 8, 32),
        ("PRO2-M", 16, 64),
        ("PRO2-L", 32, 128),
    ];
    if let Some((_, c, m)) = known.iter().find(|(n, _, _)| *n == t) {
        return Some((*c, *m));
    }
    // POP2 types carry their shape in the name: POP2-4C-16G, POP2-HM-8C-64G, ...
    let parts: Vec<&str> = t.split('-').collect();
    let cpu = parts
        .iter()
        .find_map(|p| p.strip_suffix('C').and_then(|n| n.parse().ok()))?;
    let mem = parts
        .iter()
        .find_map(|p| p.strip_suffix('G').and_then(|n| n.parse().ok()))?;
    Some((cpu, mem))
}

/// The computed objects of type `rt` in `cluster` (namespace `ns`, or every namespace), or
/// nothing for types that are only stored.
pub fn computed(
    s: &Store,
    now: DateTime<Utc>,
    cluster: &str,
    rt: &ResourceType,
    ns: Option<&str>,
) -> Vec<Value> {
    match (rt.group, rt.kind) {
        ("", "Node") => nodes(s, now, cluster),
        ("", "Pod") => deployment_pods(s, now, cluster, ns),
        _ => vec![],
    }
}

fn display_type(node_type: &str) -> String {
    node_type.to_ascii_uppercase().replace('_', "-")
}

/// One Node per Kapsule node of the cluster's pools, in name order.
pub fn nodes(s: &Store, now: DateTime<Utc>, cluster: &str) -> Vec<Value> {
    let rv = objects::current_rv(s, cluster, now);
    let mut out: Vec<Value> = s
        .list(NODE, now)
        .into_iter()
        .filter(|n| n.str("cluster_id") == cluster)
        .map(|n| {
            let pool = s.get(POOL, n.str("pool_id"), now);
            let node_type = pool.map(|p| p.str("node_type")).unwrap_or_default();
            let (cpu, mem) = node_type_capacity(node_type).unwrap_or((2, 4));
            let resources = json!({
                "cpu": cpu.to_string(), "memory": format!("{mem}Gi"), "pods": "110",
                "ephemeral-storage": "20Gi",
            });
            let ready = n.status(now) == "ready";
            let name = n.str("name");
            let cordoned = n.extra["unschedulable"].as_bool() == Some(true);
            let taints = if cordoned {
                json!([{"key": "node.kubernetes.io/unschedulable", "effect": "NoSchedule",
                        "timeAdded": n.extra["cordoned_at"]}])
            } else {
                json!([])
            };
            json!({
                "apiVersion": "v1", "kind": "Node",
                "metadata": {
                    "name": name, "uid": n.id,
                    "creationTimestamp": n.body["created_at"],
                    "resourceVersion": rv,
                    "labels": {
                        "kubernetes.io/hostname": name,
                        "kubernetes.io/os": "linux", "kubernetes.io/arch": "amd64",
                        "node.kubernetes.io/instance-type": display_type(node_type),
                        "k8s.scaleway.com/pool-name": pool.map(|p| p.str("name")).unwrap_or_default(),
                        "k8s.scaleway.com/pool": n.str("pool_id"),
                        "topology.kubernetes.io/region": n.str("region"),
                        "topology.kubernetes.io/zone": pool.map(|p| p.str("zone")).unwrap_or_default(),
                    },
                },
                "spec": {"providerID": n.body["provider_id"], "unschedulable": cordoned, "taints": taints},
                "status": {
                    "capacity": resources, "allocatable": resources,
                    "conditions": [{
                        "type": "Ready",
                        "status": if ready { "True" } else { "False" },
                        "reason": if ready { "KubeletReady" } else { "KubeletNotReady" },
                        "message": if ready { "kubelet is posting ready status".to_string() }
                                   else { format!("the Kapsule node is {}", n.status(now)) },
                    }],
                    "nodeInfo": {
                        "kubeletVersion": resources::GIT_VERSION,
                        "containerRuntimeVersion": "containerd://1.7.27",
                        "operatingSystem": "linux", "architecture": "amd64",
                    },
                },
            })
        })
        .collect();
    out.sort_by(|a, b| {
        a["metadata"]["name"]
            .as_str()
            .cmp(&b["metadata"]["name"].as_str())
    });
    out
}

fn short_hash(input: &str, len: usize) -> String {
    let digest = Sha256::digest(input.as_bytes());
    // Kubernetes' safe alphabet for generated names (no vowels, no look-alikes).
    const ALPHABET: &[u8] = b"bcdfghjklmnpqrstvwxz2456789";
    digest
        .iter()
        .take(len)
        .map(|b| ALPHABET[*b as usize % ALPHABET.len()] as char)
        .collect()
}

/// The names of the nodes pods can run on: ready and not drained, oldest first.
fn schedulable_nodes(s: &Store, now: DateTime<Utc>, cluster: &str) -> Vec<String> {
    let drained: Vec<&str> = s
        .list(NODE, now)
        .into_iter()
        .filter(|n| n.str("cluster_id") == cluster && n.extra["drained"].as_bool() == Some(true))
        .map(|n| n.str("name"))
        .collect();
    // The scheduler never moves a running pod to a node that joins later: pods fill the
    // ready nodes oldest first, so they leave a node only when it is drained or stops being
    // ready.
    let mut ready: Vec<Value> = nodes(s, now, cluster)
        .into_iter()
        .filter(|n| n["status"]["conditions"][0]["status"] == "True")
        .collect();
    ready.sort_by_key(|n| {
        (
            n["metadata"]["creationTimestamp"]
                .as_str()
                .unwrap_or_default()
                .to_string(),
            n["metadata"]["name"]
                .as_str()
                .unwrap_or_default()
                .to_string(),
        )
    });
    ready
        .iter()
        .filter_map(|n| n["metadata"]["name"].as_str().map(str::to_string))
        .filter(|n| !drained.contains(&n.as_str()))
        .collect()
}

/// The pods of every Deployment in `ns` (or everywhere): `spec.replicas` of each, named like
/// the ReplicaSet controller names them.
pub fn deployment_pods(
    s: &Store,
    now: DateTime<Utc>,
    cluster: &str,
    ns: Option<&str>,
) -> Vec<Value> {
    let Some(deploy_rt) = resources::find("apps", "v1", "deployments") else {
        return vec![];
    };
    let ready_nodes = schedulable_nodes(s, now, cluster);
    let rv = objects::current_rv(s, cluster, now);
    let mut out = vec![];
    let mut slot = 0usize;
    for rec in objects::list(s, now, cluster, deploy_rt, ns) {
        let d = &rec.body;
        let name = d["metadata"]["name"].as_str().unwrap_or_default();
        let namespace = d["metadata"]["namespace"].as_str().unwrap_or_default();
        let uid = d["metadata"]["uid"].as_str().unwrap_or_default();
        let template = &d["spec"]["template"];
        let hash = short_hash(&format!("{uid}/{}", template), 10);
        let replicas = d["spec"]["replicas"].as_u64().unwrap_or(1);
        let available = objects::deployment_available(s, rec, now);
        let problem = objects::deployment_problem(s, rec, now);
        for i in 0..replicas {
            let pod_name = format!(
                "{name}-{hash}-{}",
                short_hash(&format!("{uid}/{hash}/{i}"), 5)
            );
            let mut labels = template["metadata"]["labels"].clone();
            if !labels.is_object() {
                labels = json!({});
            }
            labels["pod-template-hash"] = json!(hash);
            let node =
                (!ready_nodes.is_empty()).then(|| ready_nodes[slot % ready_nodes.len()].clone());
            slot += 1;
            let mut spec = template["spec"].clone();
            if !spec.is_object() {
                spec = json!({});
            }
            let status = match (&node, available) {
                (Some(node), true) => {
                    spec["nodeName"] = json!(node);
                    json!({
                        "phase": "Running",
                        "conditions": [
                            {"type": "PodScheduled", "status": "True"},
                            {"type": "Ready", "status": "True"},
                        ],
                        "podIP": format!("100.64.{}.{}", (slot / 250) % 250, slot % 250 + 2),
                        "startTime": d["metadata"]["creationTimestamp"],
                    })
                }
                (None, _) => json!({
                    "phase": "Pending",
                    "conditions": [{
                        "type": "PodScheduled", "status": "False", "reason": "Unschedulable",
                        "message": "0/0 nodes are available: no ready node in the cluster.",
                    }],
                }),
                (Some(node), false) => {
                    spec["nodeName"] = json!(node);
                    json!({
                        "phase": "Pending",
                        "conditions": [
                            {"type": "PodScheduled", "status": "True"},
                            {"type": "Ready", "status": "False", "reason": "ContainersNotReady",
                             "message": problem.clone().unwrap_or_else(|| "containers are starting".into())},
                        ],
                    })
                }
            };
            out.push(json!({
                "apiVersion": "v1", "kind": "Pod",
                "metadata": {
                    "name": pod_name, "namespace": namespace,
                    "uid": format!("{}-{i}", &uid[..uid.len().min(30)]),
                    "creationTimestamp": d["metadata"]["creationTimestamp"],
                    "resourceVersion": rv,
                    "labels": labels,
                    "annotations": template["metadata"]["annotations"],
                    "ownerReferences": [{
                        "apiVersion": "apps/v1", "kind": "ReplicaSet",
                        "name": format!("{name}-{hash}"), "controller": true,
                        "blockOwnerDeletion": true,
                    }],
                },
                "spec": spec,
                "status": status,
            }));
        }
    }
    out
}

/// `PATCH` of a Node: only `spec.unschedulable` (cordon, uncordon) is honoured.
pub fn cordon(
    s: &mut Store,
    now: DateTime<Utc>,
    cluster: &str,
    name: &str,
    patch: &Value,
) -> Result<(axum::http::StatusCode, Value), objects::KubeError> {
    let id = s
        .list(NODE, now)
        .into_iter()
        .find(|n| n.str("cluster_id") == cluster && n.str("name") == name)
        .map(|n| n.id.clone())
        .ok_or_else(|| {
            objects::KubeError::new(404, "NotFound", format!("nodes \"{name}\" not found"))
        })?;
    if let Some(u) = patch["spec"]["unschedulable"].as_bool()
        && let Some(n) = s.get_mut(NODE, &id, now)
    {
        n.extra["unschedulable"] = json!(u);
        n.extra["cordoned_at"] = json!(now.to_rfc3339_opts(chrono::SecondsFormat::Secs, true));
        if !u {
            n.extra["drained"] = json!(false);
        }
    }
    let node = nodes(s, now, cluster)
        .into_iter()
        .find(|n| n["metadata"]["name"] == name)
        .unwrap_or_default();
    Ok((axum::http::StatusCode::OK, node))
}

/// How many more pods `pdb` lets go, given the pods it selects.
fn disruptions_allowed(pdb: &Value, selected: &[&Value]) -> i64 {
    let expected = selected.len() as i64;
    let healthy = selected
        .iter()
        .filter(|p| p["status"]["phase"] == "Running")
        .count() as i64;
    let count = |v: &Value, round_up: bool| -> Option<i64> {
        if let Some(n) = v.as_i64() {
            return Some(n);
        }
        let pct: f64 = v.as_str()?.strip_suffix('%')?.parse().ok()?;
        let x = expected as f64 * pct / 100.0;
        Some(if round_up { x.ceil() } else { x.floor() } as i64)
    };
    let spec = &pdb["spec"];
    if let Some(min) = count(&spec["minAvailable"], true) {
        healthy - min
    } else if let Some(max) = count(&spec["maxUnavailable"], false) {
        max - (expected - healthy)
    } else {
        // A budget that bounds nothing lets every pod go.
        i64::MAX
    }
}

/// `POST .../pods/{name}/eviction`: refused with 429 while a PodDisruptionBudget selecting
/// the pod has no disruption left; accepted otherwise, which drains a cordoned node.
pub fn evict(
    s: &mut Store,
    now: DateTime<Utc>,
    cluster: &str,
    ns: &str,
    name: &str,
) -> Result<(axum::http::StatusCode, Value), objects::KubeError> {
    let pods = deployment_pods(s, now, cluster, Some(ns));
    let pod = pods
        .iter()
        .find(|p| p["metadata"]["name"] == name)
        .ok_or_else(|| {
            objects::KubeError::new(404, "NotFound", format!("pods \"{name}\" not found"))
        })?;
    let selects = |pdb: &Value, p: &Value| {
        pdb["spec"]["selector"]["matchLabels"]
            .as_object()
            .is_some_and(|m| m.iter().all(|(k, v)| &p["metadata"]["labels"][k] == v))
    };
    if let Some(pdb_rt) = resources::find("policy", "v1", "poddisruptionbudgets") {
        for pdb in objects::list(s, now, cluster, pdb_rt, Some(ns)) {
            let pdb = &pdb.body;
            if !selects(pdb, pod) {
                continue;
            }
            let selected: Vec<&Value> = pods.iter().filter(|p| selects(pdb, p)).collect();
            if disruptions_allowed(pdb, &selected) < 1 {
                return Err(objects::KubeError::new(
                    429,
                    "TooManyRequests",
                    format!(
                        "Cannot evict pod as it would violate the pod's disruption budget ({}).",
                        pdb["metadata"]["name"].as_str().unwrap_or_default()
                    ),
                ));
            }
        }
    }
    if let Some(node) = pod["spec"]["nodeName"].as_str() {
        let id = s
            .list(NODE, now)
            .into_iter()
            .find(|n| {
                n.str("cluster_id") == cluster
                    && n.str("name") == node
                    && n.extra["unschedulable"].as_bool() == Some(true)
            })
            .map(|n| n.id.clone());
        if let Some(id) = id
            && let Some(n) = s.get_mut(NODE, &id, now)
        {
            n.extra["drained"] = json!(true);
        }
    }
    Ok((
        axum::http::StatusCode::CREATED,
        json!({"kind": "Status", "apiVersion": "v1", "status": "Success"}),
    ))
}
