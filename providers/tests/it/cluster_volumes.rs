//! Deleting a Kapsule cluster whose CSI driver made block volumes for PersistentVolumeClaims:
//! the deletion stops before the cluster goes, naming each volume and its claim, and succeeds
//! once the claim is gone; a cluster whose Kubernetes API does not answer is not deleted
//! either, with an error that says why.

use crate::common;
use crate::steps::{self, run};

use std::time::Duration;

use kapstan_engine::{ApplyReport, Engine, PlanMode, Stack, StackSpec};
use kapstan_providers::kubernetes::{KubeClient, ObjectRef};
use kapstan_providers::scaleway::Region;
use kapstan_providers::scaleway::k8s_pool::Pool;
use kapstan_providers::scaleway::vpc_private_network::PrivateNetwork;
use kapstan_sandbox::{Sandbox, SandboxOptions};
use serde_json::json;

fn cluster_stack(with_pool: bool) -> StackSpec {
    let mut s = Stack::new(common::STACK);
    let pn = s.add(
        "network",
        PrivateNetwork {
            name: "kapstan-volumes".into(),
            ..Default::default()
        },
    );
    let cluster = s.add("cluster", common::cluster_on(&pn, "kapstan-volumes"));
    if with_pool {
        s.add(
            "pool",
            Pool {
                cluster_id: cluster.id().into(),
                name: "default".into(),
                node_type: "DEV1-M".into(),
                size: 1.into(),
                ..Default::default()
            },
        );
    }
    s.build()
}

async fn setup(options: SandboxOptions, with_pool: bool) -> (Sandbox, Engine, tempfile::TempDir) {
    let sb = Sandbox::start(options).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let provider = common::provider(sb.url(), "http://127.0.0.1:9");
    let e = steps::engine_with(common::registry(provider), dir.path());
    let report = run(&e, &cluster_stack(with_pool), PlanMode::Normal).await;
    assert!(report.is_success(), "{:?}", report.failed);
    (sb, e, dir)
}

fn errors(report: &ApplyReport) -> String {
    report
        .failed
        .iter()
        .map(|f| format!("{}: {}", f.address, f.error))
        .collect::<Vec<_>>()
        .join("\n")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cluster_with_a_csi_volume_is_not_deleted_until_its_claim_is_gone() {
    let (sb, e, _dir) = setup(
        SandboxOptions {
            speed: 2000.0,
            ..Default::default()
        },
        true,
    )
    .await;
    let cluster = e.state(common::STACK).await.unwrap().resources["cluster"]
        .id
        .clone()
        .unwrap();
    let client = common::provider(sb.url(), "http://127.0.0.1:9")
        .client()
        .unwrap();
    let kubeconfig = client
        .k8s(&Region::parse("fr-par").unwrap())
        .get_kubeconfig(&cluster)
        .await
        .unwrap();
    let kube = KubeClient::from_kubeconfig(kubeconfig.expose()).unwrap();
    let pvc = json!({"apiVersion": "v1", "kind": "PersistentVolumeClaim",
        "metadata": {"name": "data", "namespace": "default"},
        "spec": {"accessModes": ["ReadWriteOnce"], "storageClassName": "scw-bssd",
            "resources": {"requests": {"storage": "5Gi"}}}});
    kube.apply(&pvc, "test", true).await.unwrap();
    let pvs = kube
        .list("v1", "PersistentVolume", None, None)
        .await
        .unwrap();
    assert_eq!(pvs.len(), 1, "{pvs:#?}");
    let handle = pvs[0]["spec"]["csi"]["volumeHandle"]
        .as_str()
        .unwrap()
        .to_string();

    let report = run(&e, &cluster_stack(true), PlanMode::Destroy).await;
    assert!(!report.is_success());
    let err = errors(&report);
    for want in [handle.as_str(), "default/data", "5Gi", "--delete-volumes"] {
        assert!(err.contains(want), "the error names {want}: {err}");
    }
    let doc = e.state(common::STACK).await.unwrap();
    assert!(doc.resources.contains_key("cluster"), "the cluster stays");
    assert!(doc.resources.contains_key("network"), "its network stays");

    // Once the claim is deleted the driver deletes the volume, and the cluster may go.
    kube.delete(&ObjectRef::new(
        "v1",
        "PersistentVolumeClaim",
        Some("default"),
        "data",
    ))
    .await
    .unwrap();
    let report = run(&e, &cluster_stack(true), PlanMode::Destroy).await;
    assert!(report.is_success(), "{}", errors(&report));
    assert!(e.state(common::STACK).await.unwrap().resources.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cluster_whose_kubernetes_api_does_not_answer_is_not_deleted() {
    // Without a ready pool, a control plane that is slow to converge answers 503 throughout.
    let mut options = SandboxOptions {
        speed: 2000.0,
        ..Default::default()
    };
    options.durations.kube_api_warmup = Duration::from_secs(3600 * 2000);
    let (_sb, e, _dir) = setup(options, false).await;
    let report = run(&e, &cluster_stack(false), PlanMode::Destroy).await;
    assert!(!report.is_success());
    let err = errors(&report);
    assert!(
        err.contains("cannot list the PersistentVolumes of cluster kapstan-volumes"),
        "{err}"
    );
    assert!(err.contains("the cluster was not deleted"), "{err}");
    let doc = e.state(common::STACK).await.unwrap();
    assert!(doc.resources.contains_key("cluster"), "the cluster stays");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cluster_whose_pools_are_gone_is_checked_and_deleted() {
    // A control plane that was slow to answer at first keeps answering once its pools go, so
    // the check before the cluster's deletion (after its pool's) goes through.
    let mut options = SandboxOptions {
        speed: 2000.0,
        ..Default::default()
    };
    options.durations.kube_api_warmup = Duration::from_secs(600);
    let (_sb, e, _dir) = setup(options, true).await;
    let report = run(&e, &cluster_stack(true), PlanMode::Destroy).await;
    assert!(report.is_success(), "{}", errors(&report));
    assert!(e.state(common::STACK).await.unwrap().resources.is_empty());
}
