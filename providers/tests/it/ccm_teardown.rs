//! Deleting a private network that a load balancer kapstan does not own still uses: the
//! deletion stops at once with an error naming that load balancer (instead of waiting on the
//! API's 412 until a deadline), and succeeds once it is gone.

use crate::common;
use crate::steps;

use std::time::Duration;

use kapstan_engine::{Engine, PlanMode, Stack, StackSpec};
use kapstan_providers::scaleway::Zone;
use kapstan_providers::scaleway::client::wire::lb::{AttachPrivateNetworkRequest, CreateLbRequest};
use kapstan_providers::scaleway::vpc_private_network::PrivateNetwork;

fn network_stack() -> StackSpec {
    let mut s = Stack::new(common::STACK);
    s.add(
        "network",
        PrivateNetwork {
            name: "kapstan-teardown".into(),
            ..Default::default()
        },
    );
    s.build()
}

async fn run(e: &Engine, mode: PlanMode) -> kapstan_engine::ApplyReport {
    steps::run(e, &network_stack(), mode).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_foreign_load_balancer_on_the_network_is_named_and_blocks_its_deletion() {
    let (_sandbox, provider, e, _dir) = steps::sandbox_engine(2000.0).await;
    assert!(run(&e, PlanMode::Normal).await.is_success());
    let pn = e.state(common::STACK).await.unwrap().resources["network"]
        .id
        .clone()
        .unwrap();
    // A load balancer made by someone else (a cloud controller's tag) on that network.
    let client = provider.client().unwrap();
    let zone = Zone::parse("fr-par-1").unwrap();
    let lbapi = client.lb(&zone);
    let lb = lbapi
        .create_lb(&CreateLbRequest {
            project_id: common::PROJECT_ID.into(),
            name: "someone-elses".into(),
            lb_type: "LB-S".into(),
            tags: vec!["managed-by-scaleway-cloud-controller-manager".into()],
            ..Default::default()
        })
        .await
        .unwrap();
    loop {
        let got = lbapi.get_lb(&lb.id).await.unwrap();
        if got.status.as_str() == "ready" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    lbapi
        .attach_private_network(
            &lb.id,
            &AttachPrivateNetworkRequest {
                private_network_id: pn.clone(),
                ipam_ids: vec![],
            },
        )
        .await
        .unwrap();
    let report = run(&e, PlanMode::Destroy).await;
    assert!(!report.is_success());
    let why = format!("{:?}", report.failed);
    assert!(
        why.contains(&format!("fr-par-1/{}", lb.id))
            && why.contains("someone-elses")
            && why.contains("created by a Kubernetes cloud controller"),
        "{why}"
    );
    // Not kapstan's to delete: it is still there, and so is the network.
    assert!(lbapi.get_lb(&lb.id).await.is_ok());
    lbapi.delete_lb(&lb.id, true).await.unwrap();
    loop {
        if lbapi.get_lb(&lb.id).await.is_err() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert!(run(&e, PlanMode::Destroy).await.is_success());
}
