//! `scaleway_domain_zone` and `scaleway_domain_record` against the sandbox: lifecycle with the
//! sandbox's DNS responder serving what was applied (queried with a real resolver), in-place
//! updates, drift, import, adoption after lost responses, a created sub-zone, the missing and
//! not-active zone errors before any record change, and bad input refused before any call.

use crate::steps;

use std::net::Ipv4Addr;
use std::sync::atomic::Ordering;

use crate::support::{counting_api, scw_get};
use hickory_resolver::TokioResolver;
use hickory_resolver::config::{
    NameServerConfig, NameServerConfigGroup, ResolverConfig, ResolverOpts,
};
use hickory_resolver::name_server::TokioConnectionProvider;
use hickory_resolver::proto::xfer::Protocol;
use kapstan_engine::{
    Action, ApplyOptions, ApplyReport, Engine, PlanMode, PlanOptions, Stack, StackSpec,
};
use kapstan_providers::scaleway::domain_record::DomainRecord;
use kapstan_providers::scaleway::domain_zone::DomainZone;
use kapstan_sandbox::{FaultSpec, Sandbox, SandboxOptions};
use serde_json::{Value, json};
use steps::{
    apply_ok, assert_drifted, assert_each_refused, assert_mentions, changes, edited, engine,
    engine_on, plan,
};

const STACK: &str = "dns-test";

async fn sandbox(faults: &str) -> Sandbox {
    Sandbox::start(SandboxOptions {
        speed: 2000.0,
        faults: FaultSpec::parse(faults).unwrap(),
        dns_zones: Some(vec!["example.test".into()]),
        ..Default::default()
    })
    .await
    .expect("sandbox starts")
}

/// A zone (adopted, or a created sub-zone) and the records Coder needs.
fn stack(domain: &str, subdomain: Option<&str>, ip: &str, ttl: Option<u32>) -> StackSpec {
    let mut s = Stack::new(STACK);
    let zone = s.add(
        "zone",
        DomainZone {
            domain: domain.into(),
            subdomain: subdomain.map(String::from),
            create_subzone: subdomain.is_some(),
            ..Default::default()
        },
    );
    let (host, wildcard) = if subdomain.is_some() {
        ("", "*")
    } else {
        ("coder", "*.coder")
    };
    s.add(
        "record-host",
        DomainRecord {
            dns_zone: zone.name().into(),
            name: host.into(),
            type_: "A".into(),
            data: ip.into(),
            ttl,
        },
    );
    s.add(
        "record-wildcard",
        DomainRecord {
            dns_zone: zone.name().into(),
            name: wildcard.into(),
            type_: "A".into(),
            data: ip.into(),
            ttl,
        },
    );
    s.add(
        "record-txt",
        DomainRecord {
            dns_zone: zone.name().into(),
            name: if subdomain.is_some() {
                "_acme-challenge"
            } else {
                "_acme-challenge.coder"
            }
            .into(),
            type_: "TXT".into(),
            data: "\"kapstan\"".into(),
            ttl: Some(60),
        },
    );
    s.build()
}

fn resolver(sb: &Sandbox) -> TokioResolver {
    let group =
        NameServerConfigGroup::from(vec![NameServerConfig::new(sb.dns_addr(), Protocol::Udp)]);
    let mut opts = ResolverOpts::default();
    opts.cache_size = 0;
    opts.attempts = 2;
    TokioResolver::builder_with_config(
        ResolverConfig::from_parts(None, vec![], group),
        TokioConnectionProvider::default(),
    )
    .with_options(opts)
    .build()
}

/// Fails the test unless the sandbox's DNS responder answers each of `names` with the one A
/// record `ip`.
async fn assert_serves(sb: &Sandbox, names: &[&str], ip: [u8; 4]) {
    let dns = resolver(sb);
    for name in names {
        assert_eq!(
            a(&dns, name).await,
            Some(vec![Ipv4Addr::from(ip)]),
            "{name}"
        );
    }
}

async fn a(r: &TokioResolver, name: &str) -> Option<Vec<Ipv4Addr>> {
    r.ipv4_lookup(name)
        .await
        .ok()
        .map(|l| l.iter().map(|x| x.0).collect())
}

/// Every record of `zone`, retried through injected faults (the listing must answer).
async fn records(sb: &Sandbox, zone: &str) -> Vec<Value> {
    for _ in 0..50 {
        let path = format!("/domain/v2beta1/dns-zones/{zone}/records?page_size=100");
        let resp = send(sb, reqwest::Method::GET, &path, None).await;
        if resp.status().is_success() {
            let v: Value = resp.json().await.unwrap();
            return v["records"].as_array().cloned().expect("records");
        }
    }
    panic!("the records of {zone} could not be listed");
}

/// `METHOD path` (with a JSON `body`) on the sandbox's API with its secret key: the answer,
/// whatever its status.
async fn send(
    sb: &Sandbox,
    method: reqwest::Method,
    path: &str,
    body: Option<Value>,
) -> reqwest::Response {
    let mut request = reqwest::Client::new()
        .request(method, format!("{}{path}", sb.url()))
        .header("x-auth-token", sb.secret_key());
    if let Some(body) = body {
        request = request.json(&body);
    }
    request.send().await.unwrap()
}

async fn patch(sb: &Sandbox, path: &str, body: Value) -> u16 {
    let resp = send(sb, reqwest::Method::PATCH, path, Some(body)).await;
    resp.status().as_u16()
}

fn non_ns(records: &[Value]) -> Vec<(String, String, String)> {
    let mut out: Vec<_> = records
        .iter()
        .filter(|r| r["type"] != "NS")
        .map(|r| {
            (
                r["name"].as_str().unwrap().to_string(),
                r["type"].as_str().unwrap().to_string(),
                r["data"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    out.sort();
    out
}

/// Plans and applies `spec`, which must fail at `address`: the report and that error.
async fn apply_failing_at(e: &Engine, spec: &StackSpec, address: &str) -> (ApplyReport, String) {
    let p = plan(e, spec, PlanMode::Normal).await;
    let report = e.apply(&p, &ApplyOptions::default()).await.unwrap();
    let error = report
        .failed
        .iter()
        .find(|f| f.address == address)
        .unwrap_or_else(|| panic!("{address} fails: {report:?}"))
        .error
        .clone();
    (report, error)
}

/// Into a fresh state the zone imports by name and records by zone/id, leaving nothing to do;
/// creating a record identical to one kapstan does not own says to import it.
async fn fresh_states_import_or_refuse(e: &Engine, sb: &Sandbox, moved: &StackSpec) {
    // Import into a fresh state: the zone by name, records by zone/id; nothing left to do.
    let doc = e.state(STACK).await.unwrap();
    let (e2, _dir2) = engine_on(sb);
    for r in &moved.resources {
        let id = doc.resources[&r.address].id.clone().unwrap();
        e2.import(moved, &r.address, &id).await.expect("import");
    }
    assert!(changes(&plan(&e2, moved, PlanMode::Normal).await).is_empty());

    // Creating a record identical to one kapstan does not own says to import it.
    let (e3, _dir3) = engine_on(sb);
    let (_, error) = apply_failing_at(&e3, moved, "record-host").await;
    assert_mentions(&error, &["already exists", "kapstan import"]);
    e3.apply(
        &plan(&e3, moved, PlanMode::Destroy).await,
        &ApplyOptions::default(),
    )
    .await
    .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn records_lifecycle_served_by_the_dns_responder() {
    let sb = sandbox("").await;
    let (e, _dir) = engine_on(&sb);
    let spec = stack("example.test", None, "192.0.2.10", Some(300));

    let created = apply_ok(&e, &spec, PlanMode::Normal).await;
    assert_eq!(created.actionable().count(), 4);
    assert_serves(
        &sb,
        &["coder.example.test.", "app--ws--user.coder.example.test."],
        [192, 0, 2, 10],
    )
    .await;
    let dns = resolver(&sb);
    let txt = dns
        .txt_lookup("_acme-challenge.coder.example.test.")
        .await
        .unwrap();
    assert_eq!(
        txt.iter().map(|t| t.to_string()).collect::<Vec<_>>(),
        vec!["kapstan"]
    );
    let doc = e.state(STACK).await.unwrap();
    assert_eq!(doc.resources["zone"].id.as_deref(), Some("example.test"));
    assert_eq!(
        doc.resources["record-host"].attributes["fqdn"],
        "coder.example.test"
    );

    // Nothing to do on a second plan.
    assert!(changes(&plan(&e, &spec, PlanMode::Normal).await).is_empty());

    // Data and TTL update in place, keeping the record.
    let moved = stack("example.test", None, "192.0.2.20", Some(600));
    let p = apply_ok(&e, &moved, PlanMode::Normal).await;
    assert_eq!(
        changes(&p),
        vec![
            ("record-host".into(), Action::Update),
            ("record-wildcard".into(), Action::Update)
        ]
    );
    let after = e.state(STACK).await.unwrap();
    assert_eq!(
        after.resources["record-host"].id,
        doc.resources["record-host"].id
    );
    assert_serves(&sb, &["coder.example.test."], [192, 0, 2, 20]).await;

    // Drift: someone repoints the record by hand; the plan reports it and puts it back.
    let id = after.resources["record-host"].id.clone().unwrap();
    let rid = id.split_once('/').unwrap().1;
    let code = patch(
        &sb,
        "/domain/v2beta1/dns-zones/example.test/records",
        json!({"disallow_new_zone_creation": true, "changes": [{"set": {"id": rid,
            "records": [{"name": "coder", "type": "A", "data": "198.51.100.1", "ttl": 600}]}}]}),
    )
    .await;
    assert_eq!(code, 200);
    let drifted = plan(&e, &moved, PlanMode::Normal).await;
    assert_drifted(&drifted, "record-host", "/data");
    assert_eq!(
        changes(&drifted),
        vec![("record-host".into(), Action::Update)]
    );
    apply_ok(&e, &moved, PlanMode::Normal).await;
    assert_serves(&sb, &["coder.example.test."], [192, 0, 2, 20]).await;

    // A record deleted by hand is planned for creation again.
    let code = patch(
        &sb,
        "/domain/v2beta1/dns-zones/example.test/records",
        json!({"disallow_new_zone_creation": true, "changes": [{"delete": {"id": rid}}]}),
    )
    .await;
    assert_eq!(code, 200);
    let gone = plan(&e, &moved, PlanMode::Normal).await;
    assert!(
        gone.drift
            .iter()
            .any(|d| d.address == "record-host" && d.deleted)
    );
    assert_eq!(changes(&gone), vec![("record-host".into(), Action::Create)]);
    apply_ok(&e, &moved, PlanMode::Normal).await;

    fresh_states_import_or_refuse(&e, &sb, &moved).await;

    // Destroy removes the records; the adopted zone stays (it is the user's).
    apply_ok(&e, &moved, PlanMode::Destroy).await;
    assert!(non_ns(&records(&sb, "example.test").await).is_empty());
    assert!(a(&dns, "coder.example.test.").await.is_none());
    let zones = scw_get(&sb, "/domain/v2beta1/dns-zones?dns_zone=example.test").await;
    assert_eq!(zones["total_count"], 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sub_zone_is_created_when_asked_and_deleted_with_the_stack() {
    let sb = sandbox("").await;
    let (e, _dir) = engine_on(&sb);
    let spec = stack("example.test", Some("coder"), "192.0.2.30", None);
    apply_ok(&e, &spec, PlanMode::Normal).await;
    let doc = e.state(STACK).await.unwrap();
    assert_eq!(
        doc.resources["zone"].id.as_deref(),
        Some("coder.example.test")
    );
    assert_eq!(doc.resources["zone"].attributes["created_by_kapstan"], true);
    assert_eq!(doc.resources["record-host"].attributes["ttl"], 3600);
    assert_serves(
        &sb,
        &["coder.example.test.", "x.coder.example.test."],
        [192, 0, 2, 30],
    )
    .await;
    assert!(changes(&plan(&e, &spec, PlanMode::Normal).await).is_empty());
    apply_ok(&e, &spec, PlanMode::Destroy).await;
    let path = "/domain/v2beta1/dns-zones/coder.example.test/records";
    let resp = send(&sb, reqwest::Method::GET, path, None).await;
    assert_eq!(
        resp.status().as_u16(),
        404,
        "the created sub-zone is deleted"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn missing_or_inactive_zones_fail_before_any_record_change() {
    let sb = sandbox("").await;
    let (e, _dir) = engine_on(&sb);

    // A domain the project does not have.
    let spec = stack("missing.test", None, "192.0.2.10", None);
    let (report, error) = apply_failing_at(&e, &spec, "zone").await;
    assert_mentions(
        &error,
        &["missing.test", "ns0.dom.scw.cloud", "--tls external"],
    );
    assert_eq!(
        report.skipped.len(),
        3,
        "records never start: {:?}",
        report.skipped
    );
    assert!(
        e.state(STACK)
            .await
            .unwrap()
            .resources
            .get("zone")
            .is_none_or(|r| r.id.is_none())
    );

    // A sub-zone of a domain the project does not have cannot be created either.
    let sub = stack("missing.test", Some("coder"), "192.0.2.10", None);
    let (_, error) = apply_failing_at(&e, &sub, "zone").await;
    assert_mentions(&error, &["missing.test", "--tls external"]);

    // A zone that is not delegated yet (pending).
    let code = patch(
        &sb,
        "/sandbox/v1/dns-zones",
        json!({"dns_zone": "example.test", "status": "pending"}),
    )
    .await;
    assert_eq!(code, 200);
    let z = scw_get(&sb, "/domain/v2beta1/dns-zones?dns_zone=example.test").await;
    assert_eq!(z["dns_zones"][0]["status"], "pending", "{z}");
    let spec = stack("example.test", None, "192.0.2.10", None);
    let (_, error) = apply_failing_at(&e, &spec, "zone").await;
    assert_mentions(
        &error,
        &["example.test is pending, not active", "--tls external"],
    );
    assert!(
        non_ns(&records(&sb, "example.test").await).is_empty(),
        "no record was written"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lost_responses_adopt_exactly_the_records_created() {
    let sb = sandbox("lost=0.3,503=0.1").await;
    let (e, _dir) = engine_on(&sb);
    let spec = stack("example.test", None, "192.0.2.10", Some(300));
    let mut done = false;
    for _ in 0..20 {
        let Ok(p) = e.plan(&spec, &PlanOptions::default()).await else {
            continue;
        };
        if !p.has_changes() {
            done = true;
            break;
        }
        let _ = e.apply(&p, &ApplyOptions::default()).await;
    }
    assert!(done, "no convergence");
    assert_eq!(
        non_ns(&records(&sb, "example.test").await),
        vec![
            ("*.coder".into(), "A".into(), "192.0.2.10".into()),
            (
                "_acme-challenge.coder".into(),
                "TXT".into(),
                "\"kapstan\"".into()
            ),
            ("coder".into(), "A".into(), "192.0.2.10".into()),
        ],
        "one record each, no duplicate"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_names_and_values_are_refused_before_any_call() {
    let (api, count) = counting_api().await;
    let dir = tempfile::tempdir().unwrap();
    let e = engine(&api, dir.path());
    // What is edited (address, key, value) and what the refusal says.
    let edits = [
        (
            "absolute name",
            "record-host",
            "name",
            json!("coder.example.test."),
            "names are relative",
        ),
        (
            "long label",
            "record-host",
            "name",
            json!("x".repeat(64)),
            "at most 63",
        ),
        (
            "bad wildcard",
            "record-wildcard",
            "name",
            json!("a*.coder"),
            "wildcard",
        ),
        (
            "not an IPv4",
            "record-host",
            "data",
            json!("999.1.1.1"),
            "not an IPv4 address",
        ),
        (
            "TTL too low",
            "record-host",
            "ttl",
            json!(5),
            "between 60 and 2592000",
        ),
        (
            "unknown type",
            "record-host",
            "type",
            json!("XYZ"),
            "not a record type",
        ),
        (
            "bad domain",
            "zone",
            "domain",
            json!("exa mple.test"),
            "character ' '",
        ),
        (
            "single label",
            "zone",
            "domain",
            json!("localhost"),
            "single label",
        ),
    ];
    let cases: Vec<(&str, StackSpec, &str)> = edits
        .into_iter()
        .map(|(what, addr, key, v, expected)| {
            let base = stack("example.test", None, "192.0.2.10", None);
            (what, edited(base, addr, key, v), expected)
        })
        .collect();
    assert_each_refused(&e, &cases).await;
    assert_eq!(
        count.load(Ordering::SeqCst),
        0,
        "no API request may be sent for invalid input"
    );
}
