//! The Domains and DNS API emulator and its authoritative DNS responder, checked over HTTP and
//! with a real DNS resolver (hickory-resolver, over UDP and over TCP).

use std::net::{IpAddr, Ipv4Addr};
use std::time::Duration;

use hickory_resolver::config::{
    NameServerConfig, NameServerConfigGroup, ResolverConfig, ResolverOpts,
};
use hickory_resolver::name_server::TokioConnectionProvider;
use hickory_resolver::proto::xfer::Protocol;
use hickory_resolver::{ResolveError, TokioResolver};
use kapstan_sandbox::{Sandbox, SandboxOptions};
use serde_json::{Value, json};

use crate::support::Api;

async fn sandbox(delay: Duration) -> Sandbox {
    Sandbox::start(SandboxOptions {
        speed: 1000.0,
        dns_zones: Some(vec!["example.test".into()]),
        dns_visibility_delay: delay,
        ..Default::default()
    })
    .await
    .expect("start sandbox")
}

fn resolver(sb: &Sandbox, protocol: Protocol) -> TokioResolver {
    let group = NameServerConfigGroup::from(vec![NameServerConfig::new(sb.dns_addr(), protocol)]);
    let mut opts = ResolverOpts::default();
    opts.cache_size = 0;
    opts.attempts = 1;
    opts.timeout = Duration::from_secs(5);
    TokioResolver::builder_with_config(
        ResolverConfig::from_parts(None, vec![], group),
        TokioConnectionProvider::default(),
    )
    .with_options(opts)
    .build()
}

async fn call(
    sb: &Sandbox,
    method: reqwest::Method,
    path: &str,
    body: Option<Value>,
) -> (u16, Value) {
    Api::new(sb).call(method.as_str(), path, body).await
}

async fn patch_records(sb: &Sandbox, zone: &str, changes: Value) -> (u16, Value) {
    call(
        sb,
        reqwest::Method::PATCH,
        &format!("/domain/v2beta1/dns-zones/{zone}/records"),
        Some(json!({"changes": changes, "disallow_new_zone_creation": true})),
    )
    .await
}

async fn a_lookup(r: &TokioResolver, name: &str) -> Result<Vec<Ipv4Addr>, ResolveError> {
    r.ipv4_lookup(name)
        .await
        .map(|l| l.iter().map(|a| a.0).collect())
}

#[tokio::test]
async fn seeded_zone_is_listed_active_with_default_name_servers() {
    let sb = sandbox(Duration::ZERO).await;
    let (code, body) = call(
        &sb,
        reqwest::Method::GET,
        &format!(
            "/domain/v2beta1/dns-zones?domain=&dns_zone=example.test&project_id={}",
            sb.project_id()
        ),
        None,
    )
    .await;
    assert_eq!(code, 200, "{body}");
    assert_eq!(body["total_count"], 1);
    let zone = &body["dns_zones"][0];
    assert_eq!(zone["domain"], "example.test");
    assert_eq!(zone["subdomain"], "");
    assert_eq!(zone["status"], "active");
    assert_eq!(
        zone["ns"],
        json!(["ns0.dom.scw.cloud", "ns1.dom.scw.cloud"])
    );
    // Another project sees nothing; an unknown zone is not found.
    let (_, other) = call(
        &sb,
        reqwest::Method::GET,
        "/domain/v2beta1/dns-zones?project_id=33333333-3333-4333-8333-333333333333",
        None,
    )
    .await;
    assert_eq!(other["total_count"], 0);
    let (code, err) = call(
        &sb,
        reqwest::Method::GET,
        "/domain/v2beta1/dns-zones/nope.test/records",
        None,
    )
    .await;
    assert_eq!(code, 404);
    assert_eq!(err["type"], "not_found");
}

#[tokio::test]
async fn record_changes_are_versioned_and_served_by_the_responder() {
    let sb = sandbox(Duration::ZERO).await;
    let udp = resolver(&sb, Protocol::Udp);
    added_records_are_served_over_udp_and_tcp(&sb, &udp).await;
    set_and_delete_change_the_answers(&sb, &udp).await;
    versions_restore_the_ns_only_zone(&sb, &udp).await;
}

/// An `add` of an A, a wildcard A and a TXT record is answered over UDP and TCP: NXDOMAIN for
/// a missing name, NODATA for a missing type, and nothing for a name outside every zone.
async fn added_records_are_served_over_udp_and_tcp(sb: &Sandbox, udp: &TokioResolver) {
    let (code, body) = patch_records(
        sb,
        "example.test",
        json!([{"add": {"records": [
            {"name": "coder", "type": "A", "data": "192.0.2.10", "ttl": 300},
            {"name": "*.coder", "type": "A", "data": "192.0.2.10", "ttl": 300},
            {"name": "_acme-challenge.coder", "type": "TXT", "data": "\"token-value\"", "ttl": 60},
        ]}}]),
    )
    .await;
    assert_eq!(code, 200, "{body}");
    assert_eq!(body["records"].as_array().unwrap().len(), 3, "{body}");
    assert_eq!(
        a_lookup(udp, "coder.example.test.").await.unwrap(),
        vec![Ipv4Addr::new(192, 0, 2, 10)]
    );
    // The wildcard answers a workspace application's name.
    assert_eq!(
        a_lookup(udp, "app--ws--user.coder.example.test.")
            .await
            .unwrap(),
        vec![Ipv4Addr::new(192, 0, 2, 10)]
    );
    let txt = udp
        .txt_lookup("_acme-challenge.coder.example.test.")
        .await
        .unwrap();
    let values: Vec<String> = txt.iter().map(|t| t.to_string()).collect();
    assert_eq!(values, vec!["token-value".to_string()]);
    // NXDOMAIN for a name that does not exist, NODATA (not NXDOMAIN) for a missing type.
    let nx = a_lookup(udp, "nothing.example.test.").await.unwrap_err();
    assert!(nx.is_nx_domain(), "{nx:?}");
    let nodata = udp.txt_lookup("coder.example.test.").await.unwrap_err();
    assert!(
        nodata.is_no_records_found() && !nodata.is_nx_domain(),
        "{nodata:?}"
    );
    // Over TCP too.
    let tcp = resolver(sb, Protocol::Tcp);
    assert_eq!(
        a_lookup(&tcp, "coder.example.test.").await.unwrap(),
        vec![Ipv4Addr::new(192, 0, 2, 10)]
    );
    // A name outside every zone is refused, not answered.
    assert!(a_lookup(udp, "example.org.").await.is_err());
}

/// `set` by id_fields replaces the value; `delete` removes the TXT record, and deleting a
/// record that does not exist is an error and changes nothing.
async fn set_and_delete_change_the_answers(sb: &Sandbox, udp: &TokioResolver) {
    let (code, body) = patch_records(
        sb,
        "example.test",
        json!([
            {"set": {"id_fields": {"name": "coder", "type": "A"},
                     "records": [{"name": "coder", "type": "A", "data": "192.0.2.20", "ttl": 300}]}},
            {"delete": {"id_fields": {"name": "_acme-challenge.coder", "type": "TXT"}}},
        ]),
    )
    .await;
    assert_eq!(code, 200, "{body}");
    assert_eq!(
        a_lookup(udp, "coder.example.test.").await.unwrap(),
        vec![Ipv4Addr::new(192, 0, 2, 20)]
    );
    // The wildcard `*.coder` now covers the name (RFC 4592), so it is NODATA, not NXDOMAIN.
    let gone = udp
        .txt_lookup("_acme-challenge.coder.example.test.")
        .await
        .unwrap_err();
    assert!(
        gone.is_no_records_found() && !gone.is_nx_domain(),
        "{gone:?}"
    );
    let (_, list) = call(
        sb,
        reqwest::Method::GET,
        "/domain/v2beta1/dns-zones/example.test/records?name=coder&type=A",
        None,
    )
    .await;
    assert_eq!(list["total_count"], 1);
    assert_eq!(list["records"][0]["data"], "192.0.2.20");

    // Deleting a record that does not exist is an error and changes nothing.
    let (code, _) = patch_records(
        sb,
        "example.test",
        json!([{"delete": {"id_fields": {"name": "missing", "type": "A"}}}]),
    )
    .await;
    assert_eq!(code, 404);
}

/// Versions are listed newest first; restoring the first one brings back the NS-only zone.
async fn versions_restore_the_ns_only_zone(sb: &Sandbox, udp: &TokioResolver) {
    let (_, versions) = call(
        sb,
        reqwest::Method::GET,
        "/domain/v2beta1/dns-zones/example.test/versions",
        None,
    )
    .await;
    let versions = versions["versions"].as_array().unwrap().clone();
    assert_eq!(versions.len(), 3, "{versions:?}");
    let first = versions.last().unwrap()["id"].as_str().unwrap().to_string();
    let (_, diff) = call(
        sb,
        reqwest::Method::GET,
        &format!("/domain/v2beta1/dns-zones/version/{first}/diff"),
        None,
    )
    .await;
    assert_eq!(diff["changes"].as_array().unwrap().len(), 2, "{diff}");
    let (code, _) = call(
        sb,
        reqwest::Method::POST,
        &format!("/domain/v2beta1/dns-zones/version/{first}/restore"),
        Some(json!({})),
    )
    .await;
    assert_eq!(code, 200);
    assert!(
        a_lookup(udp, "coder.example.test.")
            .await
            .unwrap_err()
            .is_nx_domain()
    );
}

#[tokio::test]
async fn invalid_records_are_refused_naming_the_field() {
    let sb = sandbox(Duration::ZERO).await;
    let (code, body) = patch_records(
        &sb,
        "example.test",
        json!([{"add": {"records": [{"name": "x", "type": "A", "data": "not-an-ip", "ttl": 300}]}}]),
    )
    .await;
    assert_eq!(code, 400);
    assert_eq!(
        body["details"][0]["argument_name"],
        "changes[0].add.records[0].data"
    );
    let (code, body) = patch_records(
        &sb,
        "example.test",
        json!([{"add": {"records": [{"name": "bad_label-", "type": "A", "data": "192.0.2.1", "ttl": 300}]}}]),
    )
    .await;
    assert_eq!(code, 400, "{body}");
    let (_, list) = call(
        &sb,
        reqwest::Method::GET,
        "/domain/v2beta1/dns-zones/example.test/records",
        None,
    )
    .await;
    assert_eq!(
        list["total_count"], 2,
        "only the default NS records: {list}"
    );
}

#[tokio::test]
async fn sub_zone_creation_and_pending_zones_are_not_served() {
    let sb = sandbox(Duration::ZERO).await;
    let (code, zone) = call(
        &sb,
        reqwest::Method::POST,
        "/domain/v2beta1/dns-zones",
        Some(
            json!({"domain": "example.test", "subdomain": "coder", "project_id": sb.project_id()}),
        ),
    )
    .await;
    assert_eq!(code, 200, "{zone}");
    assert_eq!(zone["status"], "active");
    let (code, _) = call(
        &sb,
        reqwest::Method::POST,
        "/domain/v2beta1/dns-zones",
        Some(json!({"domain": "elsewhere.test", "subdomain": "coder"})),
    )
    .await;
    assert_eq!(code, 403, "a domain the project does not own");
    patch_records(&sb, "coder.example.test", json!([{"add": {"records": [{"name": "", "type": "A", "data": "192.0.2.30", "ttl": 300}]}}])).await;
    let udp = resolver(&sb, Protocol::Udp);
    assert_eq!(
        a_lookup(&udp, "coder.example.test.").await.unwrap(),
        vec![Ipv4Addr::new(192, 0, 2, 30)]
    );
    // A zone that is not delegated yet (pending) is not answered.
    let (code, _) = call(
        &sb,
        reqwest::Method::PATCH,
        "/sandbox/v1/dns-zones",
        Some(json!({"dns_zone": "coder.example.test", "status": "pending"})),
    )
    .await;
    assert_eq!(code, 200);
    assert!(a_lookup(&udp, "coder.example.test.").await.is_err());
}

#[tokio::test]
async fn changes_reach_the_responder_after_the_visibility_delay() {
    let sb = sandbox(Duration::from_secs(2)).await;
    patch_records(&sb, "example.test", json!([{"add": {"records": [{"name": "late", "type": "A", "data": "192.0.2.40", "ttl": 60}]}}])).await;
    let udp = resolver(&sb, Protocol::Udp);
    // The API lists it at once; the name servers do not serve it yet.
    let (_, list) = call(
        &sb,
        reqwest::Method::GET,
        "/domain/v2beta1/dns-zones/example.test/records?name=late",
        None,
    )
    .await;
    assert_eq!(list["total_count"], 1);
    assert!(
        a_lookup(&udp, "late.example.test.")
            .await
            .unwrap_err()
            .is_nx_domain()
    );
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    loop {
        if let Ok(ips) = a_lookup(&udp, "late.example.test.").await {
            assert_eq!(ips, vec![Ipv4Addr::new(192, 0, 2, 40)]);
            break;
        }
        assert!(std::time::Instant::now() < deadline, "never became visible");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[tokio::test]
async fn dns_port_and_zones_persist_across_restarts() {
    let dir = tempfile::tempdir().unwrap();
    let start = || {
        Sandbox::start(SandboxOptions {
            speed: 1000.0,
            data_dir: Some(dir.path().to_path_buf()),
            ..Default::default()
        })
    };
    let sb = start().await.unwrap();
    let port = sb.dns_addr().port();
    assert_eq!(sb.dns_addr().ip(), IpAddr::from([127, 0, 0, 1]));
    // A persistent sandbox owns example.test from the start.
    patch_records(&sb, "example.test", json!([{"add": {"records": [{"name": "coder", "type": "A", "data": "192.0.2.50", "ttl": 300}]}}])).await;
    sb.shutdown().await;
    let sb = start().await.unwrap();
    assert_eq!(sb.dns_addr().port(), port);
    let udp = resolver(&sb, Protocol::Udp);
    assert_eq!(
        a_lookup(&udp, "coder.example.test.").await.unwrap(),
        vec![Ipv4Addr::new(192, 0, 2, 50)]
    );
}
