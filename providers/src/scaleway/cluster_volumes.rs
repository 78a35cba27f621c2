//! Block volumes made by Kapsule's CSI driver (`csi.scaleway.com`) for PersistentVolumeClaims,
//! which outlive a cluster deleted without `with_additional_resources`, keep costing money
//! and hold users' data.
//!
//! The driver creates one Block Storage volume per dynamically provisioned PersistentVolume,
//! named after the PV (`pvc-<claim uid>`) and without tags, and records it in the PV as
//! `spec.csi.volumeHandle` = `<zone>/<volume id>`. Nothing outside the cluster says which
//! volumes a cluster made, so they are found through its Kubernetes API before the cluster is
//! deleted: any such PV stops the deletion with an error naming it, unless the caller opted in
//! to deleting the claims, in which case kapstan deletes them through Kubernetes and waits
//! until the driver has deleted the volumes (the only way that also honours the driver's own
//! checks). Volumes whose reclaim policy keeps them are never deleted by kapstan.

use std::fmt;
use std::time::Duration;

use kapstan_engine::{DriverContext, DriverError};
use serde_json::Value;

use super::client::{Client, Region};
use super::provider::{Pace, Poll, ScalewayProvider, api, wait_for};
use crate::kubernetes::{KubeClient, KubeError, ObjectRef};

/// The CSI driver name of Kapsule's block storage.
pub const CSI_DRIVER: &str = "csi.scaleway.com";

/// How long the Kubernetes API may keep failing before the cluster counts as unreachable.
const UNREACHABLE_AFTER: Duration = Duration::from_secs(60);

/// One PersistentVolume backed by a block volume of the CSI driver.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CsiVolume {
    /// `spec.csi.volumeHandle`: `<zone>/<block volume id>`.
    pub handle: String,
    /// The PV's name.
    pub pv: String,
    /// `namespace/name` of the claim bound to it, when it is still there.
    pub claim: Option<(String, String)>,
    /// `spec.capacity.storage`, e.g. `10Gi`.
    pub size: String,
    /// `spec.persistentVolumeReclaimPolicy`.
    pub reclaim: String,
}

impl CsiVolume {
    fn of(pv: &Value) -> Option<CsiVolume> {
        let spec = &pv["spec"];
        if spec["csi"]["driver"] != CSI_DRIVER {
            return None;
        }
        let phase = pv["status"]["phase"].as_str().unwrap_or_default();
        let claim = match (
            spec["claimRef"]["namespace"].as_str(),
            spec["claimRef"]["name"].as_str(),
        ) {
            (Some(ns), Some(n)) if phase != "Released" => Some((ns.to_string(), n.to_string())),
            _ => None,
        };
        Some(CsiVolume {
            handle: spec["csi"]["volumeHandle"]
                .as_str()
                .unwrap_or_default()
                .to_string(),
            pv: pv["metadata"]["name"]
                .as_str()
                .unwrap_or_default()
                .to_string(),
            claim,
            size: spec["capacity"]["storage"]
                .as_str()
                .unwrap_or("?")
                .to_string(),
            reclaim: spec["persistentVolumeReclaimPolicy"]
                .as_str()
                .unwrap_or("Delete")
                .to_string(),
        })
    }

    /// Whether deleting its claim makes the driver delete the volume.
    fn goes_with_claim(&self) -> bool {
        self.claim.is_some() && self.reclaim == "Delete"
    }
}

impl fmt::Display for CsiVolume {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({}, PV {}, ", self.handle, self.size, self.pv)?;
        match &self.claim {
            Some((ns, n)) => write!(f, "claimed by PVC {ns}/{n}")?,
            None => write!(f, "no claim")?,
        }
        if self.reclaim != "Delete" {
            write!(f, ", reclaim policy {}", self.reclaim)?;
        }
        write!(f, ")")
    }
}

/// The cluster's PersistentVolumes provisioned by the CSI driver.
pub async fn csi_volumes(kube: &KubeClient) -> Result<Vec<CsiVolume>, KubeError> {
    let pvs = kube.list("v1", "PersistentVolume", None, None).await?;
    Ok(pvs.iter().filter_map(CsiVolume::of).collect())
}

fn unreachable(cluster: &str, id: &str, why: &str) -> DriverError {
    DriverError::failed(format!(
        "cannot list the PersistentVolumes of cluster {cluster} through its Kubernetes API ({why}), \
         so kapstan cannot tell whether deleting the cluster would leave block volumes (and their data) behind, billed; \
         the cluster was not deleted. Make the API answer (check the cluster and its pools with \
         `scw k8s cluster get {id}` and `kubectl get pv` with its kubeconfig) and run the command again"
    ))
}

fn blocked(cluster: &str, volumes: &[CsiVolume]) -> DriverError {
    let list: Vec<String> = volumes.iter().map(ToString::to_string).collect();
    DriverError::failed(format!(
        "cluster {cluster} still has {} block volume(s) created by its CSI driver ({CSI_DRIVER}), which deleting the \
         cluster would leave behind, billed, with their data: {}. Delete the PersistentVolumeClaims first \
         (`kubectl delete pvc -n NAMESPACE NAME`, or the workspaces that use them), or run `kapstan down` with \
         `--delete-volumes` to have kapstan delete the claims and wait until the driver has deleted the volumes; \
         the cluster was not deleted",
        volumes.len(),
        list.join(", ")
    ))
}

fn retained(cluster: &str, volumes: &[CsiVolume]) -> DriverError {
    let list: Vec<String> = volumes.iter().map(ToString::to_string).collect();
    DriverError::failed(format!(
        "cluster {cluster} has block volume(s) of its CSI driver that deleting a claim does not delete: {}. \
         kapstan never deletes a volume kept on purpose. Keep the data elsewhere, then delete each PV \
         (`kubectl delete pv NAME`) and its volume (`scw block volume delete ID zone=ZONE`), and run the command \
         again; nothing was deleted",
        list.join(", ")
    ))
}

/// `claim (pod, …)` for each claim of `volumes` that a running or pending pod mounts.
fn mounted_claims(pods: &[Value], volumes: &[CsiVolume]) -> Vec<String> {
    let mut out = vec![];
    for v in volumes {
        let Some((ns, name)) = &v.claim else { continue };
        let users: Vec<String> = pods
            .iter()
            .filter(|p| p["metadata"]["namespace"] == ns.as_str())
            .filter(|p| !matches!(p["status"]["phase"].as_str(), Some("Succeeded" | "Failed")))
            .filter(|p| {
                p["spec"]["volumes"].as_array().is_some_and(|vs| {
                    vs.iter()
                        .any(|vol| vol["persistentVolumeClaim"]["claimName"] == name.as_str())
                })
            })
            .filter_map(|p| {
                p["metadata"]["name"]
                    .as_str()
                    .map(|n| format!("pod {ns}/{n}"))
            })
            .collect();
        if !users.is_empty() {
            out.push(format!("PVC {ns}/{name} ({})", users.join(", ")));
        }
    }
    out
}

fn in_use(cluster: &str, busy: &[String]) -> DriverError {
    DriverError::failed(format!(
        "cluster {cluster}: claims to delete are still mounted, and Kubernetes keeps a mounted claim (and its volume) \
         until its pods are gone: {}. Stop the workloads that mount them (e.g. `kubectl scale statefulset NAME \
         --replicas=0 -n NAMESPACE`, or delete the Deployment), then run the command again; nothing was deleted",
        busy.join(", ")
    ))
}

/// Before cluster `cluster_id` is deleted: finds the block volumes its CSI driver created.
/// Without `delete_claims` any of them is an error that names each; with it, the claims of
/// the ones the driver deletes with their claim are deleted and this waits until their PVs
/// are gone, returning what was deleted; volumes kept on purpose are an error either way,
/// raised before anything is deleted. An unreachable Kubernetes API is an error too.
pub async fn clear_cluster_volumes(
    p: &ScalewayProvider,
    ctx: &DriverContext,
    client: &Client,
    region: &Region,
    cluster_id: &str,
    cluster_name: &str,
    delete_claims: bool,
) -> Result<Vec<String>, DriverError> {
    let label = format!("{cluster_name} ({cluster_id})");
    let kubeconfig = match client.k8s(region).get_kubeconfig(cluster_id).await {
        Ok(k) => k,
        Err(e) if e.is_not_found() => return Ok(vec![]),
        Err(e) => return Err(unreachable(&label, cluster_id, &api(e).to_string())),
    };
    let kube = KubeClient::from_kubeconfig(kubeconfig.expose())
        .map_err(|e| unreachable(&label, cluster_id, &e.to_string()))?
        .with_retry_deadline(UNREACHABLE_AFTER.min(p.pacing(Pace::Fast).deadline));
    ctx.progress("looking for block volumes made by the cluster's CSI driver");
    let volumes = csi_volumes(&kube)
        .await
        .map_err(|e| unreachable(&label, cluster_id, &e.to_string()))?;
    if volumes.is_empty() {
        return Ok(vec![]);
    }
    if !delete_claims {
        return Err(blocked(&label, &volumes));
    }
    let kept: Vec<CsiVolume> = volumes
        .iter()
        .filter(|v| !v.goes_with_claim())
        .cloned()
        .collect();
    if !kept.is_empty() {
        return Err(retained(&label, &kept));
    }
    let kerr = |e: KubeError| DriverError::failed(e.to_string());
    // Kubernetes keeps a claim that a pod mounts until that pod is gone (PVC protection):
    // deleting it would only wait, so the pods are named instead.
    let pods = kube.list("v1", "Pod", None, None).await.map_err(kerr)?;
    let busy = mounted_claims(&pods, &volumes);
    if !busy.is_empty() {
        return Err(in_use(&label, &busy));
    }
    for v in &volumes {
        let Some((ns, name)) = &v.claim else { continue };
        tracing::warn!("deleting PersistentVolumeClaim {ns}/{name} and so block volume {v}");
        ctx.progress(format!("deleting PersistentVolumeClaim {ns}/{name} ({v})"));
        kube.delete(&ObjectRef {
            api_version: "v1".into(),
            kind: "PersistentVolumeClaim".into(),
            namespace: Some(ns.clone()),
            name: name.clone(),
        })
        .await
        .map_err(kerr)?;
    }
    let (kube, names) = (&kube, &volumes);
    wait_for(
        ctx,
        p.pacing(Pace::Long),
        "the CSI driver's deletion of the volumes",
        move || async move {
            let left: Vec<CsiVolume> = csi_volumes(kube)
                .await
                .map_err(kerr)?
                .into_iter()
                .filter(|v| names.iter().any(|n| n.pv == v.pv))
                .collect();
            Ok(match left.first() {
                None => Poll::Done(()),
                Some(v) => Poll::Pending(format!("{} volume(s) left, e.g. {v}", left.len())),
            })
        },
    )
    .await?;
    Ok(volumes.iter().map(ToString::to_string).collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn pv(driver: &str, phase: &str, reclaim: &str) -> Value {
        json!({"metadata": {"name": "pvc-1"}, "status": {"phase": phase},
            "spec": {"csi": {"driver": driver, "volumeHandle": "fr-par-1/abc"},
                "capacity": {"storage": "10Gi"}, "persistentVolumeReclaimPolicy": reclaim,
                "claimRef": {"namespace": "default", "name": "data"}}})
    }

    #[test]
    fn only_the_scaleway_driver_s_volumes_count() {
        assert_eq!(
            CsiVolume::of(&pv("ebs.csi.aws.com", "Bound", "Delete")),
            None
        );
        let v = CsiVolume::of(&pv(CSI_DRIVER, "Bound", "Delete")).unwrap();
        assert!(v.goes_with_claim());
        assert_eq!(
            v.to_string(),
            "fr-par-1/abc (10Gi, PV pvc-1, claimed by PVC default/data)"
        );
    }

    #[test]
    fn pods_that_mount_a_claim_are_named() {
        let v = CsiVolume::of(&pv(CSI_DRIVER, "Bound", "Delete")).unwrap();
        let pod = |ns: &str, name: &str, claim: &str, phase: &str| {
            json!({"metadata": {"namespace": ns, "name": name}, "status": {"phase": phase},
                "spec": {"volumes": [{"name": "d", "persistentVolumeClaim": {"claimName": claim}}]}})
        };
        let pods = vec![
            pod("default", "db-0", "data", "Running"),
            pod("default", "done", "data", "Succeeded"),
            pod("other", "x", "data", "Running"),
            pod("default", "y", "logs", "Running"),
        ];
        assert_eq!(
            mounted_claims(&pods, std::slice::from_ref(&v)),
            vec!["PVC default/data (pod default/db-0)".to_string()]
        );
        assert!(mounted_claims(&pods[1..], &[v]).is_empty());
    }

    #[test]
    fn released_or_retained_volumes_do_not_go_with_a_claim() {
        let released = CsiVolume::of(&pv(CSI_DRIVER, "Released", "Delete")).unwrap();
        assert!(!released.goes_with_claim());
        assert!(released.to_string().contains("no claim"));
        let kept = CsiVolume::of(&pv(CSI_DRIVER, "Bound", "Retain")).unwrap();
        assert!(!kept.goes_with_claim());
        assert!(kept.to_string().contains("reclaim policy Retain"));
    }
}
