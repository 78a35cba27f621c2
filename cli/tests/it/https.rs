//! HTTPS on a domain, end to end through the binary: `kapstan up --env prod --domain
//! example.test --subdomain coder --sandbox` against the project's served sandbox, with the
//! real ACME test server (Pebble, random `badNonce` rejections on) validating DNS-01 through
//! the sandbox's DNS responder. The access host and a workspace-app wildcard name answer over
//! TLS with a chain to Pebble's root as the only trust anchor, reached where `kapstan sandbox
//! resolve` says; Coder is told its `https://` access URL (as in production) and redirects
//! plain HTTP on port 80 there, `/healthz` excepted; a second `up` issues nothing; a renewal forced by `renew_before` serves the
//! new certificate after the rollout; `down` removes the records, the TLS Secret and the
//! certificate's state.

use std::net::SocketAddr;
use std::time::Duration;

use crate::pebble::{Pebble, free_port};
use crate::support::{Project, Served, flat, objects, report, stdout, tools_dir};

const UP: &[&str] = &[
    "up",
    "--env",
    "prod",
    "--domain",
    "example.test",
    "--subdomain",
    "coder",
    "--sandbox",
    "--auto-approve",
];

/// The project's sandbox served on a free recorded port; its DNS responder's address.
fn served_sandbox(p: &Project) -> (Served, SocketAddr) {
    std::fs::create_dir_all(p.path().join(".kapstan/sandbox")).unwrap();
    std::fs::write(
        p.path().join(".kapstan/sandbox/port"),
        free_port().to_string(),
    )
    .unwrap();
    let served = p.serve_recorded_until("20", "pebble -dnsserver");
    let dns = served
        .banner
        .split("pebble -dnsserver ")
        .nth(1)
        .and_then(|rest| rest.split(')').next())
        .and_then(|a| a.parse().ok())
        .unwrap_or_else(|| panic!("DNS responder printed: {}", served.banner));
    (served, dns)
}

fn up(p: &Project, pb: &Pebble) -> std::process::Output {
    p.cmd(UP)
        .env("KAPSTAN_SANDBOX_ACME_DIRECTORY", &pb.directory)
        .env("KAPSTAN_SANDBOX_ACME_CA_BUNDLE", pb.tls_ca_file())
        .output()
        .unwrap()
}

/// The loopback address of the access host's 443 frontend, as `kapstan sandbox resolve` prints.
fn https_endpoint(p: &Project, name: &str) -> SocketAddr {
    let out = p.ok(&["sandbox", "resolve", name]);
    out.lines()
        .find_map(|l| l.trim().strip_prefix("https (port 443): "))
        .and_then(|a| a.trim().parse().ok())
        .unwrap_or_else(|| panic!("sandbox resolve printed: {out}"))
}

/// The loopback address of the access host's port 80 frontend, as `kapstan sandbox resolve`
/// prints.
fn http_endpoint(p: &Project, name: &str) -> SocketAddr {
    let out = p.ok(&["sandbox", "resolve", name]);
    out.lines()
        .find_map(|l| l.trim().strip_prefix("http  (port 80):"))
        .and_then(|a| a.trim().parse().ok())
        .unwrap_or_else(|| panic!("sandbox resolve printed: {out}"))
}

/// `GET path` over plain HTTP at `addr` with `Host: host`: the status and the `Location`
/// header (empty when none).
async fn plain_get(addr: SocketAddr, host: &str, path: &str) -> (u16, String) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    let request = format!("GET {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut answer = vec![];
    stream.read_to_end(&mut answer).await.unwrap();
    let answer = String::from_utf8_lossy(&answer);
    let status = answer
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or_else(|| panic!("GET {path}: {answer}"));
    let location = answer
        .lines()
        .take_while(|l| !l.is_empty())
        .find_map(|l| {
            let (k, v) = l.split_once(':')?;
            k.eq_ignore_ascii_case("location")
                .then(|| v.trim().to_string())
        })
        .unwrap_or_default();
    (status, location)
}

/// The sandbox's Kubernetes objects of `kind` (their bodies).
fn kube_objects(served: &Served, kind: &str) -> Vec<serde_json::Value> {
    objects(&served.resources(), "kube.object")
        .into_iter()
        .filter(|o| o["kind"] == kind)
        .collect()
}

/// The value of environment variable `name` of the Coder container of Deployment
/// `coder/coder` in the sandbox.
fn coder_env(served: &Served, name: &str) -> Option<String> {
    kube_objects(served, "Deployment")
        .into_iter()
        .find(|d| d["metadata"]["name"] == "coder" && d["metadata"]["namespace"] == "coder")?
        ["spec"]["template"]["spec"]["containers"]
        .as_array()?
        .iter()
        .flat_map(|c| c["env"].as_array().into_iter().flatten())
        .find(|e| e["name"] == name)
        .and_then(|e| e["value"].as_str().map(String::from))
}

async fn get_tls(addr: SocketAddr, root: &str, name: &str) -> Result<(u16, Vec<u8>), String> {
    crate::https_get::https_get(addr, root, name, "/healthz").await
}

/// Waits until the access host presents a leaf other than `old` (any leaf when empty).
async fn served_leaf(addr: SocketAddr, root: &str, old: &[u8]) -> Vec<u8> {
    let deadline = std::time::Instant::now() + Duration::from_secs(120);
    loop {
        let got = get_tls(addr, root, "coder.example.test").await;
        if let Ok((200, leaf)) = &got
            && leaf.as_slice() != old
        {
            return leaf.clone();
        }
        assert!(
            std::time::Instant::now() < deadline,
            "https://coder.example.test never served a new certificate: {got:?}"
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

/// `kapstan health --env prod --sandbox` finds the access host serving `leaf` (DER) as the
/// recorded certificate, and reports its names and days left.
fn assert_health_sees(p: &Project, leaf: &[u8]) {
    use sha2::Digest as _;
    let o = p
        .cmd(&["health", "--env", "prod", "--sandbox", "--json"])
        .output()
        .unwrap();
    let body: serde_json::Value = serde_json::from_slice(&o.stdout)
        .unwrap_or_else(|e| panic!("health --json: {e}: {}", report(&o)));
    let check = |name: &str| {
        body["checks"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|c| c["component"] == "tls" && c["check"] == name)
            .cloned()
            .unwrap_or_else(|| panic!("no tls check `{name}`: {body:#}"))
    };
    let served = check("served certificate");
    let fingerprint = hex::encode(sha2::Sha256::digest(leaf));
    assert_eq!(served["status"], "pass", "{served:#}");
    let detail = served["detail"].as_str().unwrap_or_default();
    assert!(
        detail.starts_with("https://coder.example.test serves the recorded certificate")
            && detail.contains(&fingerprint[..16]),
        "{served:#}"
    );
    let certificate = check("certificate");
    assert_eq!(certificate["status"], "pass", "{certificate:#}");
    let detail = certificate["detail"].as_str().unwrap_or_default();
    assert!(
        detail.starts_with("coder.example.test, *.coder.example.test: ")
            && detail.contains(" days left (expires "),
        "{certificate:#}"
    );
}

fn txt_records(served: &Served) -> Vec<serde_json::Value> {
    objects(&served.resources(), "domain.record")
        .into_iter()
        .filter(|r| r["type"] == "TXT")
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_domain_deployment_serves_https_renews_and_goes_away() {
    let p = Project::new();
    let (served, dns) = served_sandbox(&p);
    let pb = Pebble::start(&tools_dir().join("pebble"), dns, 5);
    let root = pb.root_pem().await;

    let o = up(&p, &pb);
    assert!(o.status.success(), "up: {}", report(&o));
    let text = flat(&o);
    assert!(
        text.contains("HTTPS: certificate for coder.example.test, *.coder.example.test"),
        "{text}"
    );
    assert!(
        txt_records(&served).is_empty(),
        "a challenge record was left behind"
    );
    let addr = https_endpoint(&p, "coder.example.test");
    let first = served_leaf(addr, &root, &[]).await;
    let (status, wildcard_leaf) = get_tls(addr, &root, "app--ws--user.coder.example.test")
        .await
        .expect("the wildcard name answers over TLS with a chain to Pebble's root");
    assert_eq!((status, &wildcard_leaf), (200, &first));
    assert_health_sees(&p, &first);

    // Coder is told its https:// access URL, as in production (kapstan's own calls reach it
    // over TLS, verifying the chain): plain HTTP on port 80 is redirected there, /healthz is
    // not.
    assert_eq!(
        coder_env(&served, "CODER_ACCESS_URL").as_deref(),
        Some("https://coder.example.test")
    );
    let http = http_endpoint(&p, "coder.example.test");
    let (status, location) = plain_get(http, "coder.example.test", "/login").await;
    assert_eq!(status, 307, "plain-HTTP /login: {location}");
    assert!(
        location.starts_with("https://coder.example.test"),
        "redirected to {location:?}"
    );
    let (status, location) = plain_get(http, "coder.example.test", "/healthz").await;
    assert_eq!(
        (status, location.as_str()),
        (200, ""),
        "plain-HTTP /healthz"
    );

    // Nothing is due: a second `up` issues nothing.
    let o = up(&p, &pb);
    assert!(o.status.success(), "second up: {}", report(&o));
    assert!(!stdout(&o).contains("tls-certificate"), "{}", stdout(&o));
    let (_, leaf) = get_tls(addr, &root, "coder.example.test").await.unwrap();
    assert_eq!(leaf, first);

    // A renewal forced by renew_before beyond the certificate's life: planned with its
    // reason, applied, and served once the Coder pod has rolled.
    p.write("environments/prod.toml", "[tls]\nrenew_before = 3650\n");
    let o = up(&p, &pb);
    assert!(o.status.success(), "renewing up: {}", report(&o));
    assert!(flat(&o).contains("renew"), "{}", stdout(&o));
    let renewed = served_leaf(addr, &root, &first).await;
    assert_ne!(renewed, first);
    assert!(txt_records(&served).is_empty());
    assert_health_sees(&p, &renewed);

    let o = p
        .cmd(&["down", "--env", "prod", "--sandbox", "--auto-approve"])
        .output()
        .unwrap();
    assert!(o.status.success(), "down: {}", report(&o));
    let records = objects(&served.resources(), "domain.record");
    assert!(
        !records
            .iter()
            .any(|r| r["name"] == "coder" || r["name"] == "*.coder"),
        "the A records outlived down: {records:?}"
    );
    let o = p.run(&["state", "list", "--stack", "coder-prod-infra"]);
    assert!(!stdout(&o).contains("tls-certificate"), "{}", report(&o));
    let tls_secrets: Vec<_> = kube_objects(&served, "Secret")
        .into_iter()
        .filter(|s| s["type"] == "kubernetes.io/tls")
        .collect();
    assert!(
        tls_secrets.is_empty(),
        "the TLS Secret outlived down: {tls_secrets:?}"
    );
    drop(served);
}

/// Every file the project holds outside the sandbox's own store (state, plans, logs), as text.
fn project_files_text(p: &Project) -> String {
    fn walk(dir: &std::path::Path, out: &mut String) {
        for e in std::fs::read_dir(dir).into_iter().flatten().flatten() {
            let path = e.path();
            if path.ends_with(".kapstan/sandbox") {
                continue;
            }
            if path.is_dir() {
                walk(&path, out);
            } else if let Ok(bytes) = std::fs::read(&path) {
                out.push_str(&String::from_utf8_lossy(&bytes));
            }
        }
    }
    let mut out = String::new();
    walk(p.path(), &mut out);
    out
}

/// No private key (the TLS key's PEM, the ACME account's PKCS#8 key) in `text`.
fn assert_no_key(what: &str, text: &str) {
    for marker in ["PRIVATE KEY", "key_pkcs8"] {
        assert!(
            !text.contains(marker),
            "{what} holds a private key ({marker})"
        );
    }
}

fn up_with(
    p: &Project,
    args: &[&str],
    directory: &str,
    ca: &std::path::Path,
) -> std::process::Output {
    p.cmd(args)
        .env("KAPSTAN_SANDBOX_ACME_DIRECTORY", directory)
        .env("KAPSTAN_SANDBOX_ACME_CA_BUNDLE", ca)
        .output()
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn https_failures_are_clear_leave_no_challenge_record_and_no_key_in_sight() {
    let p = Project::new();
    let (served, dns) = served_sandbox(&p);
    let pb = Pebble::start(&tools_dir().join("pebble"), dns, 0);
    let ca = pb.tls_ca_file();
    let mut seen = String::new();

    // No ACME directory for the sandbox: refused before any call, saying how to set one.
    let o = p.cmd(UP).output().unwrap();
    assert_ne!(o.status.code(), Some(0));
    assert!(
        flat(&o).contains("KAPSTAN_SANDBOX_ACME_DIRECTORY"),
        "{}",
        report(&o)
    );
    assert!(
        objects(&served.resources(), "k8s.cluster").is_empty(),
        "a call was made"
    );

    // An invalid domain name: refused naming it.
    let mut bad = UP.to_vec();
    bad[4] = "exa mple..test";
    let o = up_with(&p, &bad, &pb.directory, &ca);
    assert_ne!(o.status.code(), Some(0));
    assert!(flat(&o).contains("exa mple..test"), "{}", report(&o));

    // A zone that is not in the project: the zone named, and the fix.
    let mut missing = UP.to_vec();
    missing[4] = "missing.test";
    let o = up_with(&p, &missing, &pb.directory, &ca);
    seen.push_str(&flat(&o));
    assert_ne!(o.status.code(), Some(0));
    assert!(flat(&o).contains("missing.test"), "{}", report(&o));

    // An ACME server that does not answer: the directory named.
    let dead = format!("https://127.0.0.1:{}/dir", free_port());
    let o = up_with(&p, UP, &dead, &ca);
    seen.push_str(&flat(&o));
    assert_ne!(o.status.code(), Some(0));
    assert!(flat(&o).contains(&dead), "{}", report(&o));
    assert!(txt_records(&served).is_empty());

    // A challenge the server cannot validate (it resolves through a dead DNS server).
    let blind = Pebble::start(
        &tools_dir().join("pebble"),
        format!("127.0.0.1:{}", free_port()).parse().unwrap(),
        0,
    );
    let o = up_with(&p, UP, &blind.directory, &blind.tls_ca_file());
    seen.push_str(&flat(&o));
    assert_ne!(o.status.code(), Some(0));
    assert!(flat(&o).contains("tls-certificate"), "{}", report(&o));
    assert!(
        txt_records(&served).is_empty(),
        "a challenge record was left behind"
    );

    // State stayed consistent: a plan is sane and still plans the certificate, then it works.
    let mut dry = UP.to_vec();
    dry.push("--dry-run");
    let o = up_with(&p, &dry, &pb.directory, &ca);
    seen.push_str(&stdout(&o));
    assert!(o.status.success(), "{}", report(&o));
    assert!(stdout(&o).contains("tls-certificate"), "{}", stdout(&o));
    let o = up_with(&p, UP, &pb.directory, &ca);
    seen.push_str(&stdout(&o));
    assert!(o.status.success(), "{}", report(&o));
    let o = p.run(&["output", "--env", "prod"]);
    seen.push_str(&stdout(&o));
    assert_no_key("the commands' output", &seen);
    assert_no_key(
        "the project's state, plans and logs",
        &project_files_text(&p),
    );
    drop(served);
}
