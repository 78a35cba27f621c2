//! `scaleway_lb.ip_ids` against the sandbox: a flexible IP attached to the load balancer out of
//! band plans an in-place update, never a replacement of the load balancer; declared IPs attach
//! in place and the apply converges; an IP the API cannot detach is named in the error.

use crate::common;
use crate::steps;

use kapstan_engine::{Action, Engine, PlanMode, PlanOptions, Stack, StackSpec};
use kapstan_providers::scaleway::Zone;
use kapstan_providers::scaleway::client::wire::lb::{CreateIpRequest, UpdateIpRequest};
use kapstan_providers::scaleway::lb::Lb;
use kapstan_providers::scaleway::lb_ip::LbIp;

fn lb_stack(extra_ip: bool) -> StackSpec {
    let mut s = Stack::new(common::STACK);
    let ip = s.add("lb-ip", LbIp::default());
    let mut ip_ids = vec![ip.id().into()];
    if extra_ip {
        // A load balancer holds one IPv4 and at most one IPv6; only the IPv6 can be added.
        let extra = s.add(
            "lb-ip-v6",
            LbIp {
                is_ipv6: Some(true),
                ..Default::default()
            },
        );
        ip_ids.push(extra.id().into());
    }
    s.add(
        "lb",
        Lb {
            name: "kapstan-ips".into(),
            lb_type: "LB-S".into(),
            ip_ids: Some(ip_ids),
            ..Default::default()
        },
    );
    s.build()
}

async fn changes(e: &Engine, spec: &StackSpec) -> Vec<(String, Action, Vec<String>)> {
    let p = e.plan(spec, &PlanOptions::default()).await.expect("plan");
    p.actionable()
        .map(|c| {
            (
                c.address.clone(),
                c.action,
                c.fields.iter().map(|f| f.path.clone()).collect(),
            )
        })
        .collect()
}

async fn apply(e: &Engine, spec: &StackSpec) -> kapstan_engine::ApplyReport {
    steps::run(e, spec, PlanMode::Normal).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_ip_attached_out_of_band_is_an_update_not_a_replacement() {
    let (_sandbox, provider, e, _dir) = steps::sandbox_engine(2000.0).await;
    assert!(apply(&e, &lb_stack(false)).await.is_success());
    let state = e.state(common::STACK).await.unwrap();
    let lb_id = state.resources["lb"].id.clone().unwrap();

    // Someone attaches a flexible IPv6 to the load balancer by hand.
    let client = provider.client().unwrap();
    let zone = Zone::parse("fr-par-1").unwrap();
    let extra = client
        .lb(&zone)
        .create_ip(&CreateIpRequest {
            project_id: common::PROJECT_ID.into(),
            is_ipv6: true,
            ..Default::default()
        })
        .await
        .unwrap();
    client
        .lb(&zone)
        .update_ip(
            &extra.id,
            &UpdateIpRequest {
                reverse: None,
                lb_id: Some(lb_id.clone()),
                tags: None,
            },
        )
        .await
        .unwrap();
    let planned = changes(&e, &lb_stack(false)).await;
    assert_eq!(
        planned,
        vec![(
            "lb".to_string(),
            Action::Update,
            vec!["/ip_ids".to_string()]
        )],
        "an in-place update of ip_ids, not a replacement"
    );
    // The API cannot detach it: the apply says which IP and what to do, and keeps the LB.
    let report = apply(&e, &lb_stack(false)).await;
    assert!(!report.is_success());
    let why = format!("{:?}", report.failed);
    assert!(
        why.contains(&extra.id) && why.contains("cannot detach"),
        "{why}"
    );
    let state = e.state(common::STACK).await.unwrap();
    assert_eq!(state.resources["lb"].id.as_deref(), Some(lb_id.as_str()));

    // A second IPv4 is refused by the API, as Scaleway documents.
    let v4 = client
        .lb(&zone)
        .create_ip(&CreateIpRequest {
            project_id: common::PROJECT_ID.into(),
            ..Default::default()
        })
        .await
        .unwrap();
    let refused = client
        .lb(&zone)
        .update_ip(
            &v4.id,
            &UpdateIpRequest {
                reverse: None,
                lb_id: Some(lb_id.clone()),
                tags: None,
            },
        )
        .await;
    assert!(refused.is_err(), "a load balancer's IPv4 cannot change");

    // Declaring an IPv6 of its own attaches it in place, and the apply converges.
    // (A fresh state, since the first load balancer keeps its undetachable IP.)
    client.lb(&zone).delete_lb(&lb_id, false).await.unwrap();
    let fresh = tempfile::tempdir().unwrap();
    let e3 = steps::engine_with(common::registry(provider.clone()), fresh.path());
    assert!(apply(&e3, &lb_stack(false)).await.is_success());
    let first_lb = e3.state(common::STACK).await.unwrap().resources["lb"]
        .id
        .clone();
    let planned = changes(&e3, &lb_stack(true)).await;
    assert!(
        planned.iter().any(|(a, act, f)| a == "lb"
            && *act == Action::Update
            && f == &vec!["/ip_ids".to_string()]),
        "{planned:?}"
    );
    assert!(apply(&e3, &lb_stack(true)).await.is_success());
    let state = e3.state(common::STACK).await.unwrap();
    assert_eq!(state.resources["lb"].id, first_lb, "the same load balancer");
    assert!(changes(&e3, &lb_stack(true)).await.is_empty(), "converged");
    let lb = client
        .lb(&zone)
        .get_lb(first_lb.as_deref().unwrap())
        .await
        .unwrap();
    assert_eq!(lb.ip.len(), 2);
}
