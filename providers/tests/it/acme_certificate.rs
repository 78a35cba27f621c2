//! `acme_certificate` against the real ACME test server (Debian's `pebble`, installed by
//! `scripts/test` into `.tools/bin`) resolving DNS-01 challenges through the sandbox's DNS
//! responder: issuance of `S.D` + `*.S.D` with a chain to Pebble's root (random nonce
//! rejections on), no re-issue on a second plan, a renewal planned with its reason and
//! applied, and clear errors that leave no TXT record and no certificate in state for an
//! unreachable server, a missing zone, invalid names and a failed challenge.

use crate::common;
use crate::steps;
use crate::support::scw_get;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use kapstan_engine::{Action, ApplyOptions, Engine, Plan, PlanMode, PlanOptions, Stack, StackSpec};
use kapstan_providers::acme::AcmeCertificate;
use kapstan_sandbox::{Sandbox, SandboxOptions};
use rustls::client::danger::ServerCertVerifier;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use serde_json::Value;

const STACK: &str = "acme-test";

use crate::pebble::{Pebble, free_port};

/// Starts Pebble resolving through `dns` with `nonce_reject` percent of nonces refused.
fn pebble(dns: SocketAddr, nonce_reject: u32) -> Pebble {
    Pebble::start(&crate::support::tool("pebble"), dns, nonce_reject)
}

/// Pebble's issuing root (DER).
async fn root(pb: &Pebble) -> Vec<u8> {
    kapstan_providers::acme::pem::chain_der(&pb.root_pem().await).unwrap()[0].clone()
}

async fn sandbox() -> Sandbox {
    Sandbox::start(SandboxOptions {
        speed: 2000.0,
        dns_zones: Some(vec!["example.test".into()]),
        ..Default::default()
    })
    .await
    .expect("sandbox starts")
}

/// The sandbox, a Pebble resolving through it with `nonce_reject` percent of nonces refused,
/// and an engine keeping its state in a scratch directory.
async fn started(nonce_reject: u32) -> (Sandbox, Pebble, tempfile::TempDir, Engine) {
    let sb = sandbox().await;
    let pb = pebble(sb.dns_addr(), nonce_reject);
    let dir = tempfile::tempdir().unwrap();
    let e = engine(sb.url(), dir.path());
    (sb, pb, dir, e)
}

fn engine(api: &str, dir: &Path) -> Engine {
    let provider = common::provider(api, "http://127.0.0.1:9");
    let mut registry = common::registry(provider.clone());
    kapstan_providers::acme::register_with(&mut registry, provider);
    steps::engine_with(registry, dir)
}

/// A certificate for `names` in `zone`, issued by `pb`, its challenges checked on the
/// sandbox's name servers.
fn certificate(sb: &Sandbox, pb: &Pebble, zone: &str, names: &[&str]) -> AcmeCertificate {
    AcmeCertificate {
        dns_zone: zone.into(),
        names: names.iter().map(|n| (*n).into()).collect(),
        directory: Some(pb.directory.clone()),
        ca_bundle: Some(pb.tls_ca.clone()),
        dns_servers: vec![sb.dns_addr().to_string()],
        propagation_timeout: Some(30),
        ..Default::default()
    }
}

fn stack(cert: AcmeCertificate) -> StackSpec {
    let mut s = Stack::new(STACK);
    s.add("cert", cert);
    s.build()
}

async fn plan(engine: &Engine, spec: &StackSpec) -> Result<Plan, String> {
    engine
        .plan(
            spec,
            &PlanOptions {
                mode: PlanMode::Normal,
                ..Default::default()
            },
        )
        .await
        .map_err(|e| format!("{e:?}"))
}

/// Applies `spec`, which fails once with a message holding each of `wants`.
async fn assert_fails(engine: &Engine, spec: &StackSpec, wants: &[&str]) {
    let failures = apply(engine, spec).await;
    assert!(
        failures.len() == 1 && wants.iter().all(|w| failures[0].contains(w)),
        "{failures:?}"
    );
}

/// No certificate is recorded.
async fn assert_no_certificate(engine: &Engine) {
    assert!(
        attributes(engine)
            .await
            .is_none_or(|a| a.get("certificate_pem").is_none())
    );
}

/// Applies and returns the failures' messages (empty on success).
async fn apply(engine: &Engine, spec: &StackSpec) -> Vec<String> {
    let p = plan(engine, spec).await.expect("plan");
    let report = engine
        .apply(&p, &ApplyOptions::default())
        .await
        .expect("apply");
    report.failed.iter().map(|f| f.error.clone()).collect()
}

/// Fails the test (saying `why`) unless the sandbox's `example.test` zone holds no TXT record.
async fn assert_no_txt(sb: &Sandbox, why: &str) {
    assert!(txt_records(sb, "example.test").await.is_empty(), "{why}");
}

async fn txt_records(sb: &Sandbox, zone: &str) -> Vec<Value> {
    let v = scw_get(
        sb,
        &format!("/domain/v2beta1/dns-zones/{zone}/records?page_size=100"),
    )
    .await;
    v["records"]
        .as_array()
        .cloned()
        .unwrap_or_default()
        .into_iter()
        .filter(|r| r["type"] == "TXT")
        .collect()
}

async fn attributes(engine: &Engine) -> Option<Value> {
    let st = engine.state(STACK).await.unwrap();
    st.resources.get("cert").map(|r| r.attributes.clone())
}

/// Verifies `chain` (PEM) for `name` against `root` with rustls' WebPKI verifier.
fn verify(chain: &str, root: &[u8], name: &str) -> Result<(), String> {
    let ders = kapstan_providers::acme::pem::chain_der(chain).map_err(|e| e.to_string())?;
    let mut roots = rustls::RootCertStore::empty();
    roots.add(CertificateDer::from(root.to_vec())).unwrap();
    let verifier = rustls::client::WebPkiServerVerifier::builder(Arc::new(roots))
        .build()
        .unwrap();
    let leaf = CertificateDer::from(ders[0].clone());
    let rest: Vec<CertificateDer> = ders[1..]
        .iter()
        .map(|d| CertificateDer::from(d.clone()))
        .collect();
    verifier
        .verify_server_cert(
            &leaf,
            &rest,
            &ServerName::try_from(name.to_string()).unwrap(),
            &[],
            UnixTime::now(),
        )
        .map(|_| ())
        .map_err(|e| e.to_string())
}

const NAMES: &[&str] = &["coder.example.test", "*.coder.example.test"];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn issues_once_renews_when_due_and_leaves_no_challenge_record() {
    // Random nonce rejections on: the client must retry `badNonce` (RFC 8555 §6.5).
    let (sb, pb, dir, e) = started(5).await;
    let spec = stack(certificate(&sb, &pb, "example.test", NAMES));

    let p = plan(&e, &spec).await.unwrap();
    assert_eq!(p.changes[0].action, Action::Create);
    // The plan never holds the certificate's secrets.
    let shown = serde_json::to_string(&p.changes).unwrap();
    assert!(!shown.contains("PRIVATE KEY"), "{shown}");
    let failures = apply(&e, &spec).await;
    assert!(failures.is_empty(), "{failures:?}");

    let attrs = attributes(&e).await.expect("certificate recorded");
    let chain = attrs["certificate_pem"].as_str().expect("chain recorded");
    assert!(
        attrs["private_key_pem"]
            .as_str()
            .is_some_and(|k| k.contains("PRIVATE KEY")),
        "private key recorded"
    );
    assert!(attrs["account"].as_str().is_some(), "account recorded");
    assert!(
        attrs["issuer"].as_str().unwrap().contains("Pebble"),
        "{attrs}"
    );
    let root = root(&pb).await;
    verify(chain, &root, "coder.example.test").expect("chain to Pebble's root for the host");
    verify(chain, &root, "app--ws--user.coder.example.test")
        .expect("chain to Pebble's root for a wildcard name");
    assert!(verify(chain, &root, "other.example.test").is_err());
    assert_no_txt(&sb, "challenge TXT removed").await;
    // The state file holds the secrets sealed, never in clear.
    for f in walk(dir.path()) {
        let text = String::from_utf8_lossy(&std::fs::read(&f).unwrap()).into_owned();
        assert!(
            !text.contains("PRIVATE KEY"),
            "{} holds a key in clear",
            f.display()
        );
    }

    // Unchanged and not due: nothing planned, nothing issued.
    let p = plan(&e, &spec).await.unwrap();
    assert!(p.actionable().next().is_none(), "{:?}", p.changes);
    let first = attrs["sha256"].clone();

    // Due (renew_before beyond Pebble's validity): an update that says why.
    let mut cert = certificate(&sb, &pb, "example.test", NAMES);
    cert.renew_before = Some(3650);
    let due = stack(cert);
    let p = plan(&e, &due).await.unwrap();
    let c = &p.changes[0];
    assert_eq!(c.action, Action::Update, "{c:?}");
    let reason = c.reason.clone().unwrap_or_default();
    assert!(
        reason.starts_with("renew: expires in ") && reason.ends_with(" days"),
        "{reason}"
    );
    let failures = apply(&e, &due).await;
    assert!(failures.is_empty(), "{failures:?}");
    let renewed = attributes(&e).await.unwrap();
    assert_ne!(renewed["sha256"], first, "a new certificate");
    assert_eq!(
        renewed["account"], attrs["account"],
        "the same ACME account"
    );
    verify(
        renewed["certificate_pem"].as_str().unwrap(),
        &root,
        "coder.example.test",
    )
    .unwrap();
    assert_no_txt(&sb, "challenge TXT removed after the renewal").await;

    // Back to the default: not due, nothing issued (the setting is recorded in place).
    let p = plan(&e, &spec).await.unwrap();
    assert_eq!(p.changes[0].action, Action::Update);
    assert!(apply(&e, &spec).await.is_empty());
    assert_eq!(attributes(&e).await.unwrap()["sha256"], renewed["sha256"]);
    assert!(plan(&e, &spec).await.unwrap().actionable().next().is_none());
}

fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut out = vec![];
    for entry in std::fs::read_dir(dir).unwrap().flatten() {
        let p = entry.path();
        if p.is_dir() {
            out.extend(walk(&p));
        } else {
            out.push(p);
        }
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failures_are_clear_and_leave_nothing_behind() {
    let (sb, pb, _dir, e) = started(0).await;

    // Invalid names: refused before any call.
    let bad = stack(certificate(
        &sb,
        &pb,
        "example.test",
        &["coder.other.test", "*.*.coder.example.test"],
    ));
    let err = plan(&e, &bad).await.expect_err("invalid names refused");
    assert!(
        err.contains("names[0]") && err.contains("not inside the zone example.test"),
        "{err}"
    );
    assert!(
        err.contains("names[1]") && err.contains("wildcard"),
        "{err}"
    );

    // ACME server unreachable.
    let mut down = certificate(&sb, &pb, "example.test", NAMES);
    down.directory = Some(format!("https://127.0.0.1:{}/dir", free_port()));
    let down = stack(down);
    assert_fails(&e, &down, &["127.0.0.1", "directory"]).await;
    assert_no_certificate(&e).await;

    // Zone not in the project.
    let missing = stack(certificate(
        &sb,
        &pb,
        "nothere.test",
        &["coder.nothere.test"],
    ));
    assert_fails(
        &e,
        &missing,
        &[
            "nothere.test is not in the Scaleway project",
            "--tls external",
        ],
    )
    .await;

    // A challenge the server cannot validate: this Pebble resolves through a dead DNS server.
    let blind = pebble(format!("127.0.0.1:{}", free_port()).parse().unwrap(), 0);
    let failing = stack(certificate(&sb, &blind, "example.test", NAMES));
    assert_fails(
        &e,
        &failing,
        &[
            "could not validate the dns-01 challenge",
            "Error retrieving TXT records",
        ],
    )
    .await;
    assert_no_txt(&sb, "no TXT left").await;
    assert_no_certificate(&e).await;

    // The propagation wait: name servers that never serve the record fail by the deadline.
    let mut unseen = certificate(&sb, &pb, "example.test", NAMES);
    unseen.dns_servers = vec![format!("127.0.0.1:{}", free_port())];
    unseen.propagation_timeout = Some(2);
    assert_fails(
        &e,
        &stack(unseen),
        &[
            "still does not serve the ACME challenge TXT record",
            "_acme-challenge.coder.example.test",
        ],
    )
    .await;
    assert_no_txt(&sb, "no TXT left").await;

    // After all that, the working configuration issues.
    let good = stack(certificate(&sb, &pb, "example.test", NAMES));
    assert!(apply(&e, &good).await.is_empty());
    assert!(attributes(&e).await.unwrap()["certificate_pem"].is_string());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_interrupted_issuance_has_its_challenge_records_removed() {
    use kapstan_engine::{Driver, DriverContext};
    use kapstan_providers::acme::AcmeCertificateDriver;
    use kapstan_providers::acme::issue::{ChallengeRecord, add_challenges};

    let sb = sandbox().await;
    let provider = common::provider(sb.url(), "http://127.0.0.1:9");
    let client = provider.client().unwrap();
    // What a run killed during the propagation wait leaves: its two challenge values, beside a
    // TXT record of the user's under the same name.
    let left = vec![
        ChallengeRecord {
            name: "_acme-challenge.coder".into(),
            value: "value-for-the-host".into(),
        },
        ChallengeRecord {
            name: "_acme-challenge.coder".into(),
            value: "value-for-the-wildcard".into(),
        },
    ];
    let users = ChallengeRecord {
        name: "_acme-challenge.coder".into(),
        value: "the-users-own".into(),
    };
    add_challenges(&client, "example.test", &left)
        .await
        .unwrap();
    add_challenges(&client, "example.test", std::slice::from_ref(&users))
        .await
        .unwrap();
    assert_eq!(txt_records(&sb, "example.test").await.len(), 3);

    // The checkpoint the interrupted run wrote before adding them.
    let marker = serde_json::json!({
        "dns_zone": "example.test",
        "challenges": left
            .iter()
            .map(|r| serde_json::json!({"name": r.name, "value": r.value}))
            .collect::<Vec<_>>(),
    });
    let driver = AcmeCertificateDriver::new(provider);
    let ctx = DriverContext::detached(STACK, "cert");
    let found = driver
        .recover(&ctx, &serde_json::json!({}), &marker)
        .await
        .unwrap();
    assert!(found.is_none(), "nothing to resume: a fresh order follows");
    let remaining = txt_records(&sb, "example.test").await;
    assert_eq!(remaining.len(), 1, "{remaining:?}");
    assert_eq!(
        remaining[0]["data"].as_str().unwrap().trim_matches('"'),
        "the-users-own"
    );
}
