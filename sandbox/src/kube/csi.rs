//! Kapsule's block storage CSI driver (`csi.scaleway.com`) as Kubernetes sees it: dynamic
//! provisioning of a PersistentVolume for a claim of a storage class it provisions, and
//! reclaiming when the claim goes.
//!
//! Rules, from the Kubernetes persistent volume and CSI external-provisioner documentation and
//! the driver's public sources: the provisioner names the volume `pvc-<claim uid>` and binds it
//! to the claim (`spec.claimRef`, the claim's `spec.volumeName`); the PV's `spec.csi` names the
//! driver and carries the driver's volume id, which for this driver is `<zone>/<block volume
//! id>`; the reclaim policy is the storage class's. Deleting the claim of a `Delete` volume
//! deletes the cloud volume and then the PV; a `Retain` volume stays, `Released`.

use chrono::{DateTime, Utc};
use serde_json::{Value, json};

use super::objects::{KubeError, OBJECT, Op, key, write};
use super::resources::{self, ResourceType};
use crate::api::k8s::CLUSTER;
use crate::server::AppState;
use crate::store::Store;

/// The driver name Kapsule's storage classes provision with.
pub const DRIVER: &str = "csi.scaleway.com";

fn pv_type() -> &'static ResourceType {
    resources::find("", "v1", "persistentvolumes").expect("persistent volumes are served")
}

fn sc_type() -> &'static ResourceType {
    resources::find("storage.k8s.io", "v1", "storageclasses").expect("storage classes are served")
}

/// The storage class of the driver named `class`, when it exists and this driver provisions it.
fn driver_class(s: &Store, now: DateTime<Utc>, cluster: &str, class: &str) -> Option<Value> {
    let rec = s.get(OBJECT, &key(cluster, sc_type(), "", class), now)?;
    (rec.body["provisioner"] == DRIVER).then(|| rec.body.clone())
}

/// Provisions the volume of a new claim `pvc` (defaulted, with its uid) when its class is
/// the driver's: writes the bound PV and returns its name, or `None` when this driver does
/// not provision the claim.
pub fn provision(
    s: &mut Store,
    app: &AppState,
    now: DateTime<Utc>,
    cluster: &str,
    pvc: &Value,
) -> Result<Option<String>, KubeError> {
    let class_name = pvc["spec"]["storageClassName"].as_str().unwrap_or_default();
    let Some(class) = driver_class(s, now, cluster, class_name) else {
        return Ok(None);
    };
    let uid = pvc["metadata"]["uid"].as_str().unwrap_or_default();
    let name = format!("pvc-{uid}");
    // Kapsule nodes, and so their volumes, live in the cluster's region's first zone here.
    let region = s
        .get(CLUSTER, cluster, now)
        .and_then(|c| c.body["region"].as_str().map(str::to_string))
        .unwrap_or_else(|| "fr-par".into());
    let zone = format!("{region}-1");
    let pv = json!({
        "metadata": {
            "name": name,
            "annotations": {"pv.kubernetes.io/provisioned-by": DRIVER,
                "volume.kubernetes.io/provisioner-deletion-secret-name": "",
                "volume.kubernetes.io/provisioner-deletion-secret-namespace": ""},
            "finalizers": ["kubernetes.io/pv-protection", "external-provisioner.volume.kubernetes.io/finalizer"],
        },
        "spec": {
            "accessModes": pvc["spec"]["accessModes"],
            "capacity": {"storage": pvc["spec"]["resources"]["requests"]["storage"]},
            "claimRef": {"apiVersion": "v1", "kind": "PersistentVolumeClaim",
                "namespace": pvc["metadata"]["namespace"], "name": pvc["metadata"]["name"], "uid": uid},
            "csi": {"driver": DRIVER, "fsType": "ext4",
                "volumeHandle": format!("{zone}/{}", uuid::Uuid::new_v4())},
            "nodeAffinity": {"required": {"nodeSelectorTerms": [{"matchExpressions": [
                {"key": "topology.csi.scaleway.com/zone", "operator": "In", "values": [zone]}]}]}},
            "persistentVolumeReclaimPolicy": class["reclaimPolicy"].as_str().unwrap_or("Delete"),
            "storageClassName": class_name,
            "volumeMode": pvc["spec"]["volumeMode"],
        },
    });
    write(
        s,
        app,
        now,
        cluster,
        pv_type(),
        "",
        pv,
        None,
        "csi-provisioner",
        Op::Update,
    )?;
    Ok(Some(name))
}

/// The phase of a PV: bound while it has a claim, released once the claim is gone.
pub fn pv_status(obj: &Value, claim_gone: bool) -> Value {
    let phase = if obj["spec"]["claimRef"].is_null() {
        "Available"
    } else if claim_gone {
        "Released"
    } else {
        "Bound"
    };
    json!({"phase": phase})
}

/// What happens to the volume of a deleted claim: with the `Delete` policy the driver
/// deletes it and the PV goes; otherwise the PV stays, released.
pub fn reclaim(s: &mut Store, now: DateTime<Utc>, cluster: &str, pvc: &Value) {
    let Some(pv_name) = pvc["spec"]["volumeName"].as_str() else {
        return;
    };
    let k = key(cluster, pv_type(), "", pv_name);
    let Some(rec) = s.get_mut(OBJECT, &k, now) else {
        return;
    };
    if rec.body["spec"]["claimRef"]["uid"] != pvc["metadata"]["uid"] {
        return;
    }
    if rec.body["spec"]["persistentVolumeReclaimPolicy"] == "Delete" {
        s.remove(OBJECT, &k);
    } else {
        rec.body["status"] = pv_status(&rec.body, true);
    }
}
