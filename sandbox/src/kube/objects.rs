//! Object storage and semantics of the Kubernetes emulator: create, replace, merge patch,
//! server-side apply with field ownership and conflicts, delete (namespaces cascade),
//! defaulting, `resourceVersion`, Deployment availability and Service load balancers.

use std::collections::BTreeSet;
use std::time::Duration;

use base64::Engine as _;
use chrono::{DateTime, Utc};
use serde_json::{Map, Value, json};

use super::fields::{self, Path};
use super::resources::{self, ResourceType};
use crate::api::k8s::CLUSTER;
use crate::api::lb::{IP, LB};

use crate::server::AppState;
use crate::store::{Parent, Record, Store};
use crate::wire::ts;

/// Store kind of Kubernetes objects.
pub const OBJECT: &str = "kube.object";
/// Store kind of the per-cluster bookkeeping record (resourceVersion counter).
pub const META: &str = "kube.meta";

/// How long a Deployment takes to become available, at speed 1.
pub const DEPLOYMENT_READY: Duration = Duration::from_secs(20);
/// How long a load balancer created for a Service takes to become ready, at speed 1.
pub const SERVICE_LB_READY: Duration = Duration::from_secs(30);

/// A Kubernetes `Status` failure.
#[derive(Debug, Clone)]
pub struct KubeError {
    /// HTTP status.
    pub code: u16,
    /// `reason` (NotFound, AlreadyExists, Conflict, Invalid, BadRequest, …).
    pub reason: &'static str,
    /// Human message.
    pub message: String,
    /// `details` object.
    pub details: Value,
}

impl KubeError {
    /// A failure.
    pub fn new(code: u16, reason: &'static str, message: impl Into<String>) -> Self {
        Self {
            code,
            reason,
            message: message.into(),
            details: json!({}),
        }
    }

    /// 404 for an object.
    pub fn not_found(rt: &ResourceType, name: &str) -> Self {
        let mut e = Self::new(
            404,
            "NotFound",
            format!("{} \"{name}\" not found", qualified(rt)),
        );
        e.details = json!({"name": name, "group": rt.group, "kind": rt.plural});
        e
    }

    /// 400 for a malformed request.
    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(400, "BadRequest", message)
    }

    /// 422 for an invalid object.
    pub fn invalid(rt: &ResourceType, name: &str, field: &str, problem: &str) -> Self {
        let mut e = Self::new(
            422,
            "Invalid",
            format!("{} \"{name}\" is invalid: {field}: {problem}", rt.kind),
        );
        e.details = json!({"name": name, "group": rt.group, "kind": rt.kind,
            "causes": [{"reason": "FieldValueInvalid", "message": problem, "field": field}]});
        e
    }

    /// The `Status` body.
    pub fn body(&self) -> Value {
        json!({
            "kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
            "message": self.message, "reason": self.reason, "details": self.details, "code": self.code,
        })
    }
}

/// `deployments.apps` / `secrets`.
pub fn qualified(rt: &ResourceType) -> String {
    if rt.group.is_empty() {
        rt.plural.to_string()
    } else {
        format!("{}.{}", rt.plural, rt.group)
    }
}

/// Store key of an object.
pub fn key(cluster: &str, rt: &ResourceType, ns: &str, name: &str) -> String {
    format!("{cluster}/{}/{}/{ns}/{name}", rt.group_key(), rt.plural)
}

fn ns_type() -> &'static ResourceType {
    resources::find("", "v1", "namespaces").expect("namespaces are served")
}

fn sc_type() -> &'static ResourceType {
    resources::find("storage.k8s.io", "v1", "storageclasses").expect("storage classes are served")
}

/// Whether the cluster's Kubernetes API has been initialized.
pub fn seeded(s: &Store, cluster: &str, now: DateTime<Utc>) -> bool {
    s.get(META, cluster, now).is_some()
}

/// Creates what a fresh Kapsule cluster has: system namespaces with their default service
/// accounts and the Scaleway storage classes.
pub fn seed(s: &mut Store, app: &AppState, cluster: &str, now: DateTime<Utc>) {
    if seeded(s, cluster, now) {
        return;
    }
    s.insert(
        META,
        cluster,
        Some(Parent {
            kind: CLUSTER.into(),
            id: cluster.into(),
        }),
        json!({"rv": 1}),
        &[],
    );
    for ns in ["default", "kube-system", "kube-public", "kube-node-lease"] {
        let obj = json!({"metadata": {"name": ns}});
        let _ = write(
            s,
            app,
            now,
            cluster,
            ns_type(),
            "",
            obj,
            None,
            "kube-apiserver",
            Op::Update,
        );
    }
    let classes = [
        ("scw-bssd", "b_ssd", true),
        ("sbs-default", "sbs_default", false),
    ];
    for (name, kind, default) in classes {
        let mut obj = json!({
            "metadata": {"name": name, "labels": {"k8s.scw.cloud/object": "StorageClass", "k8s.scw.cloud/system": "csi"}},
            "provisioner": "csi.scaleway.com", "reclaimPolicy": "Delete",
            "volumeBindingMode": "Immediate", "allowVolumeExpansion": true,
            "parameters": {"type": kind},
        });
        if default {
            obj["metadata"]["annotations"] =
                json!({"storageclass.kubernetes.io/is-default-class": "true"});
        }
        let _ = write(
            s,
            app,
            now,
            cluster,
            sc_type(),
            "",
            obj,
            None,
            "scaleway-csi",
            Op::Update,
        );
    }
}

/// How a write is recorded in `managedFields`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Op {
    /// Server-side apply.
    Apply,
    /// Create, update or patch.
    Update,
}

/// Takes the next resourceVersion of a cluster.
pub fn bump_rv(s: &mut Store, cluster: &str, now: DateTime<Utc>) -> String {
    next_rv(s, cluster, now)
}

fn next_rv(s: &mut Store, cluster: &str, now: DateTime<Utc>) -> String {
    let rec = s.get_mut(META, cluster, now).expect("cluster seeded");
    let rv = rec.body["rv"].as_u64().unwrap_or(1) + 1;
    rec.body["rv"] = json!(rv);
    rv.to_string()
}

/// The current resourceVersion of a cluster (for lists).
pub fn current_rv(s: &Store, cluster: &str, now: DateTime<Utc>) -> String {
    s.get(META, cluster, now)
        .and_then(|r| r.body["rv"].as_u64())
        .unwrap_or(1)
        .to_string()
}

fn check_name(rt: &ResourceType, name: &str) -> Result<(), KubeError> {
    let label = matches!(rt.plural, "namespaces" | "services");
    let max = if label { 63 } else { 253 };
    let ok_chars = name
        .chars()
        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || (c == '.' && !label));
    let ends_ok = name
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphanumeric())
        && name
            .chars()
            .last()
            .is_some_and(|c| c.is_ascii_alphanumeric());
    if name.is_empty() || name.len() > max || !ok_chars || !ends_ok {
        let what = if label {
            "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character"
        } else {
            "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character"
        };
        return Err(KubeError::invalid(
            rt,
            name,
            "metadata.name",
            &format!("Invalid value: \"{name}\": {what}"),
        ));
    }
    Ok(())
}

fn string_map(rt: &ResourceType, name: &str, obj: &Value, field: &str) -> Result<(), KubeError> {
    if let Some(m) = obj["metadata"].get(field) {
        let ok = m.is_null()
            || m.as_object()
                .is_some_and(|m| m.values().all(Value::is_string));
        if !ok {
            return Err(KubeError::invalid(
                rt,
                name,
                &format!("metadata.{field}"),
                "Invalid value: values must be strings",
            ));
        }
    }
    Ok(())
}

/// The name of an object about to be written, after the checks the API server makes on its
/// metadata: a name, string labels and annotations, the request's namespace, which exists.
fn checked_name(
    s: &Store,
    now: DateTime<Utc>,
    cluster: &str,
    rt: &'static ResourceType,
    ns: &str,
    obj: &Value,
) -> Result<String, KubeError> {
    if !obj.is_object() {
        return Err(KubeError::bad_request("the object must be a JSON object"));
    }
    let name = obj["metadata"]["name"].as_str().unwrap_or("").to_string();
    if name.is_empty() {
        return Err(KubeError::invalid(
            rt,
            "",
            "metadata.name",
            "Required value: name or generateName is required",
        ));
    }
    check_name(rt, &name)?;
    string_map(rt, &name, obj, "labels")?;
    string_map(rt, &name, obj, "annotations")?;
    if rt.namespaced {
        if let Some(given) = obj["metadata"]["namespace"].as_str()
            && given != ns
        {
            return Err(KubeError::bad_request(
                "the namespace of the provided object does not match the namespace sent on the request",
            ));
        }
        let ns_key = key(cluster, ns_type(), "", ns);
        if s.get(OBJECT, &ns_key, now).is_none() {
            let mut e = KubeError::new(404, "NotFound", format!("namespaces \"{ns}\" not found"));
            e.details = json!({"name": ns, "kind": "namespaces"});
            return Err(e);
        }
    }
    Ok(name)
}

/// Managed fields after an Update by `manager`: the leaves it changed move to its entry.
fn record_update(
    managed: &mut Map<String, Value>,
    old_body: Option<&Value>,
    obj: &Value,
    manager: &str,
    now: DateTime<Utc>,
) {
    let changed = match old_body {
        Some(b) => fields::changed_leaves(b, obj),
        None => fields::leaves(obj),
    };
    if !changed.is_empty() {
        for (_, entry) in managed.iter_mut() {
            let mut paths = fields::paths_from(&entry["paths"]);
            paths.retain(|p| !changed.contains(p));
            entry["paths"] = fields::paths_to(&paths);
        }
        let entry_key = format!("{manager}|Update");
        let mut mine = managed
            .get(&entry_key)
            .map(|e| fields::paths_from(&e["paths"]))
            .unwrap_or_default();
        let present = fields::leaves(obj);
        mine.extend(changed.into_iter().filter(|p| present.contains(p)));
        managed.insert(
                entry_key,
                json!({"manager": manager, "operation": "Update", "time": ts(now), "paths": fields::paths_to(&mine)}),
            );
    }
}

/// Writes (creates or replaces) an object after defaulting and validation. `old` is the stored
/// record's body when the object exists. Returns the stored key.
#[allow(clippy::too_many_arguments)]
pub fn write(
    s: &mut Store,
    app: &AppState,
    now: DateTime<Utc>,
    cluster: &str,
    rt: &'static ResourceType,
    ns: &str,
    mut obj: Value,
    managed: Option<Map<String, Value>>,
    manager: &str,
    op: Op,
) -> Result<String, KubeError> {
    let name = checked_name(s, now, cluster, rt, ns, &obj)?;
    let k = key(cluster, rt, ns, &name);
    let old = s.get(OBJECT, &k, now).cloned();
    let old_body = old.as_ref().map(|r| r.body.clone());
    let meta = obj["metadata"].as_object_mut().expect("checked object");
    meta.remove("managedFields");
    meta.remove("selfLink");
    if rt.namespaced {
        meta.insert("namespace".into(), json!(ns));
    } else {
        meta.remove("namespace");
    }
    let (uid, created) = match &old_body {
        Some(b) => (
            b["metadata"]["uid"].clone(),
            b["metadata"]["creationTimestamp"].clone(),
        ),
        None => (json!(uuid::Uuid::new_v4().to_string()), json!(ts(now))),
    };
    meta.insert("uid".into(), uid);
    meta.insert("creationTimestamp".into(), created);
    obj["apiVersion"] = json!(rt.api_version());
    obj["kind"] = json!(rt.kind);
    let mut extra = old.as_ref().map(|r| r.extra.clone()).unwrap_or_else(|| {
        json!({"cluster": cluster, "ns": ns, "res": format!("{}/{}", rt.group_key(), rt.plural), "name": name, "managed": {}})
    });
    default_kind(
        s,
        app,
        now,
        cluster,
        rt,
        &name,
        &mut obj,
        old_body.as_ref(),
        &mut extra,
    )?;
    // Generation moves with the spec.
    let old_gen = old_body
        .as_ref()
        .and_then(|b| b["metadata"]["generation"].as_i64())
        .unwrap_or(0);
    let spec_changed = old_body
        .as_ref()
        .is_none_or(|b| b.get("spec") != obj.get("spec"));
    let generation = if spec_changed {
        old_gen + 1
    } else {
        old_gen.max(1)
    };
    obj["metadata"]["generation"] = json!(generation);
    // Managed fields.
    let mut managed =
        managed.unwrap_or_else(|| extra["managed"].as_object().cloned().unwrap_or_default());
    if op == Op::Update {
        record_update(&mut managed, old_body.as_ref(), &obj, manager, now);
    }
    managed.retain(|_, e| e["paths"].as_array().is_some_and(|a| !a.is_empty()));
    extra["managed"] = Value::Object(managed);
    // Unchanged objects keep their resourceVersion.
    let unchanged = old.as_ref().is_some_and(|r| {
        let mut a = r.body.clone();
        a["metadata"]["resourceVersion"] = Value::Null;
        let mut b = obj.clone();
        b["metadata"]["resourceVersion"] = Value::Null;
        a == b && r.extra["managed"] == extra["managed"]
    });
    if unchanged {
        return Ok(k);
    }
    obj["metadata"]["resourceVersion"] = json!(next_rv(s, cluster, now));
    let parent = if rt.namespaced {
        Parent {
            kind: OBJECT.into(),
            id: key(cluster, ns_type(), "", ns),
        }
    } else {
        Parent {
            kind: CLUSTER.into(),
            id: cluster.into(),
        }
    };
    match s.get_mut(OBJECT, &k, now) {
        Some(rec) => {
            rec.body = obj;
            rec.extra = extra;
        }
        None => {
            let rec = s.insert(OBJECT, &k, Some(parent), obj, &[]);
            rec.extra = extra;
        }
    }
    Ok(k)
}

#[allow(clippy::too_many_arguments)]
fn default_kind(
    s: &mut Store,
    app: &AppState,
    now: DateTime<Utc>,
    cluster: &str,
    rt: &ResourceType,
    name: &str,
    obj: &mut Value,
    old: Option<&Value>,
    extra: &mut Value,
) -> Result<(), KubeError> {
    // Status is not writable through the main resource.
    match old.and_then(|o| o.get("status")) {
        Some(st) => obj["status"] = st.clone(),
        None => {
            if let Some(m) = obj.as_object_mut() {
                m.remove("status");
            }
        }
    }
    match rt.kind {
        "Namespace" => {
            obj["metadata"]["labels"]["kubernetes.io/metadata.name"] = json!(name);
            if obj["spec"]["finalizers"].is_null() {
                obj["spec"]["finalizers"] = json!(["kubernetes"]);
            }
            obj["status"] = json!({"phase": "Active"});
        }
        "Secret" => default_secret(obj)?,
        "Deployment" => {
            let started = extra["available_at"].clone();
            default_deployment(app, now, rt, name, obj, old, extra)?;
            if extra["available_at"] != started {
                // The new pod reads Coder's certificate files when it starts.
                let ns = extra["ns"].as_str().unwrap_or_default().to_string();
                extra["tls_files"] =
                    crate::coder::tls::mounted_tls_files(s, now, cluster, &ns, obj);
            }
        }
        "Service" => default_service(s, app, now, cluster, obj, old, extra)?,
        "PersistentVolume" => {
            let claim_gone = old.is_some_and(|o| o["status"]["phase"] == "Released");
            obj["status"] = super::csi::pv_status(obj, claim_gone);
        }
        "PersistentVolumeClaim" => {
            if obj["spec"]["storageClassName"].is_null() {
                obj["spec"]["storageClassName"] = json!("scw-bssd");
            }
            if obj["spec"]["volumeMode"].is_null() {
                obj["spec"]["volumeMode"] = json!("Filesystem");
            }
            if old.is_none()
                && obj["spec"]["volumeName"].is_null()
                && let Some(pv) = super::csi::provision(s, app, now, cluster, obj)?
            {
                obj["spec"]["volumeName"] = json!(pv);
            }
            if obj["spec"]["volumeName"].is_null() {
                obj["spec"]["volumeName"] = json!(format!("pvc-{}", uuid::Uuid::new_v4()));
            }
            obj["status"] = json!({
                "phase": "Bound", "accessModes": obj["spec"]["accessModes"],
                "capacity": {"storage": obj["spec"]["resources"]["requests"]["storage"]},
            });
        }
        _ => {}
    }
    Ok(())
}

/// A Secret's `stringData` folded into `data`, every `data` value valid base64, type `Opaque`
/// by default.
fn default_secret(obj: &mut Value) -> Result<(), KubeError> {
    if let Some(sd) = obj.as_object_mut().and_then(|m| m.remove("stringData"))
        && let Some(sd) = sd.as_object()
    {
        for (k, v) in sd {
            let text = v.as_str().unwrap_or_default();
            obj["data"][k] = json!(base64::engine::general_purpose::STANDARD.encode(text));
        }
    }
    if let Some(data) = obj.get("data").and_then(Value::as_object) {
        for (k, v) in data {
            let valid = v
                .as_str()
                .is_some_and(|t| base64::engine::general_purpose::STANDARD.decode(t).is_ok());
            if !valid {
                return Err(KubeError::bad_request(format!(
                    "Secret in version \"v1\" cannot be handled as a Secret: illegal base64 data in data.{k}"
                )));
            }
        }
    }
    if obj["type"].is_null() {
        obj["type"] = json!("Opaque");
    }
    Ok(())
}

/// A Deployment's defaults and checks; a changed template or replica count starts a rollout.
fn default_deployment(
    app: &AppState,
    now: DateTime<Utc>,
    rt: &ResourceType,
    name: &str,
    obj: &mut Value,
    old: Option<&Value>,
    extra: &mut Value,
) -> Result<(), KubeError> {
    let spec = &mut obj["spec"];
    if spec["replicas"].is_null() {
        spec["replicas"] = json!(1);
    }
    if spec["selector"].is_null() {
        return Err(KubeError::invalid(
            rt,
            name,
            "spec.selector",
            "Required value",
        ));
    }
    let labels = spec["template"]["metadata"]["labels"].clone();
    if !fields::map_selects(&spec["selector"]["matchLabels"], Some(&labels)) {
        return Err(KubeError::invalid(
            rt,
            name,
            "spec.template.metadata.labels",
            "Invalid value: `selector` does not match template `labels`",
        ));
    }
    if spec["strategy"].is_null() {
        spec["strategy"] = json!({"type": "RollingUpdate", "rollingUpdate": {"maxSurge": "25%", "maxUnavailable": "25%"}});
    }
    if spec["revisionHistoryLimit"].is_null() {
        spec["revisionHistoryLimit"] = json!(10);
    }
    if spec["progressDeadlineSeconds"].is_null() {
        spec["progressDeadlineSeconds"] = json!(600);
    }
    let rollout = old.is_none_or(|o| {
        o["spec"]["template"] != obj["spec"]["template"]
            || o["spec"]["replicas"] != obj["spec"]["replicas"]
    });
    if rollout {
        extra["available_at"] = json!(ts(app.later(now, DEPLOYMENT_READY)));
        // The Deployment controller marks a rollout that made no progress within
        // `progressDeadlineSeconds` with `Progressing=False, ProgressDeadlineExceeded`.
        let deadline = obj["spec"]["progressDeadlineSeconds"]
            .as_u64()
            .unwrap_or(600);
        extra["progress_deadline_at"] = json!(ts(app.later(now, Duration::from_secs(deadline))));
        extra["crash"] = match crashing_container(app, &obj["spec"]["template"]) {
            Some(reason) => json!(reason),
            None => Value::Null,
        };
    }
    Ok(())
}

/// Why a container of `template` exits at start: one running a Coder version the sandbox was
/// told crashes (`CoderOptions::crashing_versions`).
fn crashing_container(app: &AppState, template: &Value) -> Option<String> {
    let bare = |v: &str| v.trim_start_matches('v').to_string();
    let crashing: Vec<String> = app
        .coder
        .crashing_versions
        .iter()
        .map(|v| bare(v))
        .collect();
    template["spec"]["containers"]
        .as_array()?
        .iter()
        .find_map(|c| {
            let image = c["image"].as_str()?;
            let (_, tag) = image.rsplit_once(':')?;
            crashing.contains(&bare(tag)).then(|| {
                format!(
                    "CrashLoopBackOff: back-off restarting failed container {} ({image}): exit code 1",
                    c["name"].as_str().unwrap_or("coder")
                )
            })
        })
}

fn default_service(
    s: &mut Store,
    app: &AppState,
    now: DateTime<Utc>,
    cluster: &str,
    obj: &mut Value,
    old: Option<&Value>,
    extra: &mut Value,
) -> Result<(), KubeError> {
    let spec = &mut obj["spec"];
    if spec["type"].is_null() {
        spec["type"] = json!("ClusterIP");
    }
    if spec["sessionAffinity"].is_null() {
        spec["sessionAffinity"] = json!("None");
    }
    let ip = old
        .and_then(|o| o["spec"]["clusterIP"].as_str().map(str::to_string))
        .unwrap_or_else(|| {
            use rand::RngExt;
            let mut rng = rand::rng();
            format!(
                "10.32.{}.{}",
                rng.random_range(0..=255u8),
                rng.random_range(1..=254u8)
            )
        });
    if spec["clusterIP"].is_null() {
        spec["clusterIP"] = json!(ip);
        spec["clusterIPs"] = json!([ip]);
    }
    let kind = spec["type"].as_str().unwrap_or("ClusterIP").to_string();
    let old_ports = old
        .map(|o| o["spec"]["ports"].clone())
        .unwrap_or(Value::Null);
    if let Some(ports) = spec["ports"].as_array_mut() {
        for (i, p) in ports.iter_mut().enumerate() {
            if p["protocol"].is_null() {
                p["protocol"] = json!("TCP");
            }
            if p["targetPort"].is_null() {
                p["targetPort"] = p["port"].clone();
            }
            if (kind == "LoadBalancer" || kind == "NodePort") && p["nodePort"].is_null() {
                let prior = old_ports.get(i).and_then(|o| o["nodePort"].as_u64());
                let np = prior.unwrap_or_else(|| {
                    use rand::RngExt;
                    rand::rng().random_range(30000..32768u64)
                });
                p["nodePort"] = json!(np);
            }
        }
    }
    if kind == "LoadBalancer" && spec["externalTrafficPolicy"].is_null() {
        spec["externalTrafficPolicy"] = json!("Cluster");
    }
    super::ccm::sync_service(s, app, now, cluster, obj, extra);
    Ok(())
}

/// Server-side apply's ownership rule: fields `applied` sets to a new value that another
/// manager owns are a conflict, unless `force` takes them over.
fn take_fields(
    managed: &mut Map<String, Value>,
    entry_key: &str,
    current: &Value,
    patch: &Value,
    applied: &BTreeSet<Path>,
    force: bool,
) -> Result<(), KubeError> {
    let mut conflicts: Vec<(String, String)> = vec![];
    for (k2, entry) in managed.iter_mut() {
        if k2 == entry_key {
            continue;
        }
        let owner = entry["manager"].as_str().unwrap_or("unknown").to_string();
        let mut paths = fields::paths_from(&entry["paths"]);
        let clashing: Vec<Path> = paths
            .iter()
            .filter(|p| applied.contains(*p))
            .filter(|p| fields::get(current, p) != fields::get(patch, p))
            .cloned()
            .collect();
        if force {
            paths.retain(|p| !clashing.contains(p));
            entry["paths"] = fields::paths_to(&paths);
        } else {
            conflicts.extend(clashing.iter().map(|p| (owner.clone(), fields::dotted(p))));
        }
    }
    if !conflicts.is_empty() {
        let mut e = KubeError::new(
            409,
            "Conflict",
            format!(
                "Apply failed with {} conflict{}: {}",
                conflicts.len(),
                if conflicts.len() == 1 { "" } else { "s" },
                conflicts
                    .iter()
                    .map(|(m, f)| format!("conflict with \"{m}\": {f}"))
                    .collect::<Vec<_>>()
                    .join("\n")
            ),
        );
        e.details = json!({"causes": conflicts.iter().map(|(m, f)| json!({
                    "type": "FieldManagerConflict", "message": format!("conflict with \"{m}\""), "field": f,
                })).collect::<Vec<_>>()});
        return Err(e);
    }
    Ok(())
}

/// Server-side apply of `patch` by `manager`.
#[allow(clippy::too_many_arguments)]
pub fn apply(
    s: &mut Store,
    app: &AppState,
    now: DateTime<Utc>,
    cluster: &str,
    rt: &'static ResourceType,
    ns: &str,
    name: &str,
    patch: Value,
    manager: &str,
    force: bool,
) -> Result<String, KubeError> {
    if !patch.is_object() {
        return Err(KubeError::bad_request("the apply patch must be an object"));
    }
    if patch["kind"].as_str() != Some(rt.kind)
        || patch["apiVersion"].as_str() != Some(&rt.api_version())
    {
        return Err(KubeError::bad_request(format!(
            "the apply patch must have apiVersion {} and kind {}",
            rt.api_version(),
            rt.kind
        )));
    }
    if patch["metadata"]["name"]
        .as_str()
        .is_some_and(|n| n != name)
    {
        return Err(KubeError::bad_request(
            "the name of the object (metadata.name) does not match the name on the URL",
        ));
    }
    let k = key(cluster, rt, ns, name);
    let existing = s.get(OBJECT, &k, now).cloned();
    let applied: BTreeSet<Path> = fields::leaves(&patch);
    let entry_key = format!("{manager}|Apply");
    let mut managed: Map<String, Value> = existing
        .as_ref()
        .and_then(|r| r.extra["managed"].as_object().cloned())
        .unwrap_or_default();
    let obj = match &existing {
        None => {
            let mut obj = patch.clone();
            obj["metadata"]["name"] = json!(name);
            obj
        }
        Some(rec) => {
            if let Some(rv) = patch["metadata"]["resourceVersion"].as_str()
                && rec.body["metadata"]["resourceVersion"].as_str() != Some(rv)
            {
                return Err(conflict_rv(rt, name));
            }
            take_fields(&mut managed, &entry_key, &rec.body, &patch, &applied, force)?;
            let mut obj = rec.body.clone();
            let previously = managed
                .get(&entry_key)
                .map(|e| fields::paths_from(&e["paths"]))
                .unwrap_or_default();
            let others: BTreeSet<Path> = managed
                .iter()
                .filter(|(k2, _)| **k2 != entry_key)
                .flat_map(|(_, e)| fields::paths_from(&e["paths"]))
                .collect();
            for p in previously.difference(&applied) {
                if !others.contains(p) {
                    fields::remove(&mut obj, p);
                }
            }
            let mut patch_body = patch.clone();
            if let Some(m) = patch_body["metadata"].as_object_mut() {
                m.remove("resourceVersion");
            }
            fields::deep_merge(&mut obj, &patch_body);
            obj
        }
    };
    let previous_time = managed
        .get(&entry_key)
        .filter(|e| fields::paths_from(&e["paths"]) == applied)
        .map(|e| e["time"].clone());
    managed.insert(
        entry_key,
        json!({"manager": manager, "operation": "Apply", "time": previous_time.unwrap_or(json!(ts(now))), "paths": fields::paths_to(&applied)}),
    );
    write(
        s,
        app,
        now,
        cluster,
        rt,
        ns,
        obj,
        Some(managed),
        manager,
        Op::Apply,
    )
}

/// The 409 for a stale resourceVersion.
pub fn conflict_rv(rt: &ResourceType, name: &str) -> KubeError {
    let mut e = KubeError::new(
        409,
        "Conflict",
        format!(
            "Operation cannot be fulfilled on {} \"{name}\": the object has been modified; please apply your changes to the latest version and try again",
            qualified(rt)
        ),
    );
    e.details = json!({"name": name, "group": rt.group, "kind": rt.plural});
    e
}

/// Deletes an object; a namespace takes everything in it along. Returns the deleted body.
pub fn delete(
    s: &mut Store,
    now: DateTime<Utc>,
    cluster: &str,
    rt: &'static ResourceType,
    ns: &str,
    name: &str,
) -> Result<Value, KubeError> {
    let k = key(cluster, rt, ns, name);
    let Some(rec) = s.get(OBJECT, &k, now).cloned() else {
        return Err(KubeError::not_found(rt, name));
    };
    let mut victims = vec![rec.clone()];
    if rt.kind == "Namespace" {
        let prefix_ns = name.to_string();
        victims.extend(
            s.list(OBJECT, now)
                .into_iter()
                .filter(|r| {
                    r.extra["cluster"] == cluster
                        && r.extra["ns"] == prefix_ns.as_str()
                        && r.id != k
                })
                .cloned(),
        );
    }
    for v in &victims {
        if v.extra.get("lb").is_some() {
            super::ccm::release(s, now, cluster, &v.body);
        }
        s.remove(OBJECT, &v.id);
        if v.body["kind"] == "PersistentVolumeClaim" {
            super::csi::reclaim(s, now, cluster, &v.body);
        }
    }
    s.purge(now);
    let mut body = rec.body;
    body["metadata"]["deletionTimestamp"] = json!(ts(now));
    Ok(body)
}

/// Objects of a type: in `ns`, or in every namespace when `ns` is `None`.
pub fn list<'a>(
    s: &'a Store,
    now: DateTime<Utc>,
    cluster: &str,
    rt: &ResourceType,
    ns: Option<&str>,
) -> Vec<&'a Record> {
    let prefix = match ns {
        Some(ns) => format!("{cluster}/{}/{}/{ns}/", rt.group_key(), rt.plural),
        None => format!("{cluster}/{}/{}/", rt.group_key(), rt.plural),
    };
    s.list(OBJECT, now)
        .into_iter()
        .filter(|r| r.id.starts_with(&prefix))
        .collect()
}

/// The object as served: stored body plus `managedFields` and computed status.
pub fn render(s: &Store, rec: &Record, now: DateTime<Utc>) -> Value {
    let mut obj = rec.body.clone();
    let managed: Vec<Value> = rec.extra["managed"]
        .as_object()
        .map(|m| {
            m.values()
                .map(|e| {
                    json!({
                        "manager": e["manager"], "operation": e["operation"],
                        "apiVersion": obj["apiVersion"], "time": e["time"], "fieldsType": "FieldsV1",
                        "fieldsV1": fields::fields_v1(&fields::paths_from(&e["paths"])),
                    })
                })
                .collect()
        })
        .unwrap_or_default();
    if !managed.is_empty() {
        obj["metadata"]["managedFields"] = json!(managed);
    }
    match obj["kind"].as_str() {
        Some("Deployment") => {
            obj["status"] = deployment_status(s, rec, now);
        }
        Some("Service") if obj["spec"]["type"] == "LoadBalancer" => {
            let ingress = lb_address(s, rec, now)
                .map(|ip| json!([{"ip": ip, "ipMode": "VIP"}]))
                .unwrap_or(json!(null));
            obj["status"] = match ingress {
                Value::Null => json!({"loadBalancer": {}}),
                i => json!({"loadBalancer": {"ingress": i}}),
            };
        }
        _ => {}
    }
    obj
}

/// The public address of a LoadBalancer Service once its load balancer is ready.
pub fn lb_address(s: &Store, rec: &Record, now: DateTime<Utc>) -> Option<String> {
    let id = rec.extra["lb"]["id"].as_str()?;
    let lb = s.get(LB, id, now)?;
    if lb.status(now) != "ready" {
        return None;
    }
    s.list(IP, now)
        .into_iter()
        .find(|i| i.body["lb_id"] == id)
        .and_then(|i| i.body["ip_address"].as_str().map(str::to_string))
}

/// Why a Deployment's pods cannot run (missing secrets, an unusable database URL), if so.
pub fn deployment_problem(s: &Store, rec: &Record, now: DateTime<Utc>) -> Option<String> {
    if let Some(crash) = rec.extra["crash"].as_str() {
        return Some(crash.to_string());
    }
    let cluster = rec.extra["cluster"].as_str().unwrap_or_default();
    let ns = rec.extra["ns"].as_str().unwrap_or_default();
    let secret_rt = resources::find("", "v1", "secrets").expect("served");
    let containers = rec.body["spec"]["template"]["spec"]["containers"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    for c in &containers {
        for env in c["env"].as_array().into_iter().flatten() {
            let Some(r) = env["valueFrom"]["secretKeyRef"].as_object() else {
                continue;
            };
            if r.get("optional").and_then(Value::as_bool) == Some(true) {
                continue;
            }
            let sname = r.get("name").and_then(Value::as_str).unwrap_or_default();
            let skey = r.get("key").and_then(Value::as_str).unwrap_or_default();
            let secret = s.get(OBJECT, &key(cluster, secret_rt, ns, sname), now);
            let Some(value) = secret.and_then(|sec| sec.body["data"][skey].as_str()) else {
                return Some(format!(
                    "CreateContainerConfigError: secret \"{sname}\" (key \"{skey}\") not found"
                ));
            };
            if env["name"] == "CODER_PG_CONNECTION_URL" {
                let url = base64::engine::general_purpose::STANDARD
                    .decode(value)
                    .ok()
                    .and_then(|b| String::from_utf8(b).ok())
                    .unwrap_or_default();
                if let Err(why) = check_pg_url(&url) {
                    return Some(format!(
                        "CrashLoopBackOff: coder cannot connect to PostgreSQL: {why}"
                    ));
                }
            }
        }
    }
    None
}

/// Checks a PostgreSQL URL the way a URL parser would see it.
fn check_pg_url(url: &str) -> Result<(), String> {
    let parsed = url::Url::parse(url).map_err(|e| format!("parse database URL: {e}"))?;
    if !matches!(parsed.scheme(), "postgres" | "postgresql") {
        return Err(format!("unsupported scheme {:?}", parsed.scheme()));
    }
    if parsed.host_str().is_none_or(str::is_empty) {
        return Err("the database URL has no host".into());
    }
    if parsed.path().trim_start_matches('/').is_empty() || parsed.fragment().is_some() {
        return Err(
            "the database URL has no database name (is the password percent-encoded?)".into(),
        );
    }
    Ok(())
}

/// Whether a Deployment is available now.
pub fn deployment_available(s: &Store, rec: &Record, now: DateTime<Utc>) -> bool {
    let due = rec.extra["available_at"]
        .as_str()
        .and_then(|t| DateTime::parse_from_rfc3339(t).ok())
        .map(|t| t.with_timezone(&Utc));
    due.is_some_and(|d| d <= now) && deployment_problem(s, rec, now).is_none()
}

fn deployment_status(s: &Store, rec: &Record, now: DateTime<Utc>) -> Value {
    let replicas = rec.body["spec"]["replicas"].as_i64().unwrap_or(1);
    let generation = rec.body["metadata"]["generation"].clone();
    let since = rec.extra["available_at"].clone();
    if deployment_available(s, rec, now) {
        json!({
            "observedGeneration": generation, "replicas": replicas, "updatedReplicas": replicas,
            "readyReplicas": replicas, "availableReplicas": replicas,
            "conditions": [
                {"type": "Available", "status": "True", "reason": "MinimumReplicasAvailable",
                 "message": "Deployment has minimum availability.", "lastUpdateTime": since, "lastTransitionTime": since},
                {"type": "Progressing", "status": "True", "reason": "NewReplicaSetAvailable",
                 "message": format!("ReplicaSet \"{}\" has successfully progressed.", rec.extra["name"].as_str().unwrap_or("")),
                 "lastUpdateTime": since, "lastTransitionTime": since},
            ],
        })
    } else {
        let why = deployment_problem(s, rec, now)
            .unwrap_or_else(|| "Deployment does not have minimum availability.".into());
        let deadline_passed = rec.extra["progress_deadline_at"]
            .as_str()
            .and_then(|t| DateTime::parse_from_rfc3339(t).ok())
            .is_some_and(|t| t.with_timezone(&Utc) <= now);
        let progressing = if deadline_passed {
            json!({"type": "Progressing", "status": "False", "reason": "ProgressDeadlineExceeded",
                   "message": format!("ReplicaSet \"{}\" has timed out progressing.", rec.extra["name"].as_str().unwrap_or(""))})
        } else {
            json!({"type": "Progressing", "status": "True", "reason": "ReplicaSetUpdated",
                   "message": "ReplicaSet is progressing."})
        };
        json!({
            "observedGeneration": generation, "replicas": replicas, "updatedReplicas": replicas,
            "unavailableReplicas": replicas,
            "conditions": [
                {"type": "Available", "status": "False", "reason": "MinimumReplicasUnavailable", "message": why},
                progressing,
            ],
        })
    }
}

/// A Coder server reachable through a load balancer.
#[derive(Debug, Clone)]
pub struct CoderBackend {
    /// Store key of the Coder Deployment.
    pub deployment_key: String,
    /// `CODER_ACCESS_URL` of the server, when set.
    pub access_url: Option<String>,
    /// Version from the image tag.
    pub version: String,
}

/// The available Coder Deployment behind the Service bound to load balancer `lb_id`.
pub fn coder_backend(s: &Store, lb_id: &str, now: DateTime<Utc>) -> Result<CoderBackend, String> {
    let services: Vec<&Record> = s
        .list(OBJECT, now)
        .into_iter()
        .filter(|r| r.body["kind"] == "Service" && r.extra["lb"]["id"] == lb_id)
        .collect();
    if services.is_empty() {
        return Err("no Kubernetes Service uses this load balancer".into());
    }
    let deploy_rt = resources::find("apps", "v1", "deployments").expect("served");
    for svc in services {
        let cluster = svc.extra["cluster"].as_str().unwrap_or_default();
        let ns = svc.extra["ns"].as_str().unwrap_or_default();
        let selector = &svc.body["spec"]["selector"];
        for d in list(s, now, cluster, deploy_rt, Some(ns)) {
            let labels = &d.body["spec"]["template"]["metadata"]["labels"];
            if !fields::map_selects(selector, Some(labels)) || !deployment_available(s, d, now) {
                continue;
            }
            let containers = d.body["spec"]["template"]["spec"]["containers"]
                .as_array()
                .cloned()
                .unwrap_or_default();
            let coder = containers.iter().find(|c| {
                c["image"]
                    .as_str()
                    .is_some_and(|i| i.contains("coder/coder"))
                    || c["command"].get(0).and_then(Value::as_str) == Some("/opt/coder")
            });
            if let Some(c) = coder {
                let env = c["env"].as_array().cloned().unwrap_or_default();
                let access_url = env
                    .iter()
                    .find(|e| e["name"] == "CODER_ACCESS_URL")
                    .and_then(|e| e["value"].as_str().map(str::to_string));
                let version = c["image"]
                    .as_str()
                    .and_then(|i| i.rsplit_once(':').map(|(_, t)| t.to_string()))
                    .unwrap_or_else(|| "v2.0.0".into());
                return Ok(CoderBackend {
                    deployment_key: d.id.clone(),
                    access_url,
                    version,
                });
            }
        }
    }
    Err("no available backend behind this load balancer".into())
}
