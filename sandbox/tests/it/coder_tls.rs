//! Coder's TLS listener as the official chart turns it on (`coder.tls.secretNames`, rendered by
//! the real `helm` from `../shared/fixtures/coder-chart/coder-2.21.1`), reached through the
//! load balancer's 443 frontend the cloud controller makes: the certificate of the
//! `kubernetes.io/tls` Secret for the access host and the wildcard, a chain to the issuing CA
//! as the only trust anchor, port 80 redirected to the `https://` access URL, a Secret changed
//! without a rollout still serving the old certificate, a rolled pod the new one, and no TLS
//! once the Service loses its 443 port.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::https_get::https_get as get_tls;
use crate::kube::Cluster;
use crate::support::fixture;

const HOST: &str = "coder.example.test";

/// A CA and a function issuing leaves for `coder.example.test` and `*.coder.example.test`.
struct Ca {
    issuer: rcgen::Issuer<'static, rcgen::KeyPair>,
    pem: String,
}

impl Ca {
    fn new() -> Ca {
        let key = rcgen::KeyPair::generate().unwrap();
        let mut params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
        params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        params
            .distinguished_name
            .push(rcgen::DnType::CommonName, "kapstan test CA");
        let cert = params.self_signed(&key).unwrap();
        Ca {
            issuer: rcgen::Issuer::new(params, key),
            pem: cert.pem(),
        }
    }

    /// A leaf for the access host and its wildcard: (certificate PEM, key PEM, DER).
    fn leaf(&self) -> (String, String, Vec<u8>) {
        let key = rcgen::KeyPair::generate().unwrap();
        let params =
            rcgen::CertificateParams::new(vec![HOST.to_string(), format!("*.{HOST}")]).unwrap();
        let cert = params.signed_by(&key, &self.issuer).unwrap();
        (cert.pem(), key.serialize_pem(), cert.der().to_vec())
    }
}

/// Waits until the TLS endpoint presents `want` for the access host.
async fn wait_for_leaf(tls: SocketAddr, ca: &str, want: &[u8]) {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let got = get_tls(tls, ca, HOST, "/healthz").await;
        if matches!(&got, Ok((200, leaf)) if leaf == want) {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "the TLS endpoint never served the expected certificate: {got:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn secret(cert: &str, key: &str) -> String {
    use base64::Engine as _;
    let b64 = |s: &str| base64::engine::general_purpose::STANDARD.encode(s);
    json!({"apiVersion": "v1", "kind": "Secret", "type": "kubernetes.io/tls",
        "metadata": {"name": "coder-tls", "namespace": "coder"},
        "data": {"tls.crt": b64(cert), "tls.key": b64(key)}})
    .to_string()
}

/// Coder installed from the official chart with TLS on, behind load balancer `lb_id`.
struct Deployed {
    lb_id: String,
    rendered: String,
    /// The 443 frontend's loopback address.
    tls: SocketAddr,
    /// The plain-HTTP frontend's base URL.
    plain: String,
}

fn kubectl_apply(c: &Cluster, args: &[&str], yaml: &str) {
    let (ok, _, err) = c.run("kubectl", args, Some(yaml));
    assert!(ok, "kubectl {args:?}: {err}");
}

/// A load balancer, the `coder` namespace, the TLS Secret of `cert`/`key`, and the chart
/// rendered with TLS, the wildcard and the redirect, applied server-side.
async fn deploy(c: &Cluster, cert: &str, key: &str) -> Deployed {
    let (_, lb) = c
        .scw(
            "POST",
            "/lb/v1/zones/fr-par-1/lbs",
            Some(json!({"name": "coder", "type": "LB-S"})),
        )
        .await;
    let lb_id = lb["id"].as_str().unwrap().to_string();
    let namespace = json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "coder"}});
    kubectl_apply(c, &["apply", "-f", "-"], &namespace.to_string());
    kubectl_apply(c, &["apply", "-f", "-"], &secret(cert, key));

    let values = format!(
        r#"
coder:
  env:
    - name: CODER_ACCESS_URL
      value: https://{HOST}
    - name: CODER_WILDCARD_ACCESS_URL
      value: "*.{HOST}"
    - name: CODER_REDIRECT_TO_ACCESS_URL
      value: "true"
  tls:
    secretNames: [coder-tls]
  podAnnotations:
    roll: "1"
  service:
    annotations:
      service.beta.kubernetes.io/scw-loadbalancer-id: fr-par-1/{lb_id}
"#
    );
    let chart = fixture("coder-chart/coder-2.21.1");
    let (ok, rendered, err) = c.run(
        "helm",
        &[
            "template",
            "coder",
            chart.to_str().unwrap(),
            "--namespace",
            "coder",
            "-f",
            "-",
        ],
        Some(&values),
    );
    assert!(ok, "helm template: {err}");
    apply_chart(c, &rendered);

    let ep: Value = c
        .http
        .get(format!(
            "{}/sandbox/v1/lb-endpoints/fr-par-1/{lb_id}",
            c.sandbox.url()
        ))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    Deployed {
        tls: ep["tls_address"].as_str().unwrap().parse().unwrap(),
        plain: ep["url"].as_str().unwrap().to_string(),
        lb_id,
        rendered,
    }
}

fn apply_chart(c: &Cluster, yaml: &str) {
    kubectl_apply(
        c,
        &["-n", "coder", "apply", "--server-side", "-f", "-"],
        yaml,
    );
}

/// The controller made one TCP frontend per Service port, each forwarding to its node port.
async fn assert_one_tcp_frontend_per_service_port(c: &Cluster, lb_id: &str) {
    let (_, svc) = c
        .req("GET", "/api/v1/namespaces/coder/services/coder", "", None)
        .await;
    let (_, frontends) = c
        .scw(
            "GET",
            &format!("/lb/v1/zones/fr-par-1/lbs/{lb_id}/frontends"),
            None,
        )
        .await;
    let mut inbound: Vec<u64> = frontends["frontends"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["inbound_port"].as_u64().unwrap())
        .collect();
    inbound.sort();
    assert_eq!(inbound, [80, 443]);
    for f in frontends["frontends"].as_array().unwrap() {
        let port = svc["spec"]["ports"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["port"] == f["inbound_port"])
            .unwrap();
        assert_eq!(f["backend"]["forward_port"], port["nodePort"], "{f}");
        assert_eq!(f["backend"]["forward_protocol"], "tcp");
    }
}

/// Plain HTTP: a 307 to the https:// access URL, /healthz answered for the load balancer.
async fn assert_plain_http_redirects(plain: &str) {
    let no_redirect = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let r = no_redirect
        .get(format!("{plain}/api/v2/buildinfo"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 307);
    assert_eq!(r.headers()["location"], format!("https://{HOST}/").as_str());
    let r = no_redirect
        .get(format!("{plain}/healthz"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
}

/// Without the Service's 443 port nothing answers TLS on the frontend.
async fn assert_no_tls_without_port_443(c: &Cluster, tls: SocketAddr, ca: &str) {
    let (ok, _, err) = c.run(
        "kubectl",
        &[
            "-n",
            "coder",
            "patch",
            "service",
            "coder",
            "--type=merge",
            "-p",
            r#"{"spec": {"ports": [{"name": "http", "port": 80, "targetPort": "http", "protocol": "TCP"}]}}"#,
        ],
        None,
    );
    assert!(ok, "{err}");
    let deadline = Instant::now() + Duration::from_secs(30);
    while get_tls(tls, ca, HOST, "/healthz").await.is_ok() {
        assert!(
            Instant::now() < deadline,
            "TLS still answered without port 443"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn coder_serves_its_tls_secret_on_the_load_balancers_443_frontend() {
    let c = Cluster::start().await;
    let ca = Ca::new();
    let (cert_a, key_a, der_a) = ca.leaf();
    let d = deploy(&c, &cert_a, &key_a).await;
    wait_for_leaf(d.tls, &ca.pem, &der_a).await;
    assert_one_tcp_frontend_per_service_port(&c, &d.lb_id).await;

    // The wildcard name of a workspace app is served with the same certificate.
    let (status, leaf) = get_tls(
        d.tls,
        &ca.pem,
        "app--ws--user.coder.example.test",
        "/healthz",
    )
    .await
    .unwrap();
    assert_eq!((status, leaf == der_a), (200, true));
    let (status, _) = get_tls(d.tls, &ca.pem, HOST, "/api/v2/buildinfo")
        .await
        .unwrap();
    assert_eq!(status, 200);
    assert_plain_http_redirects(&d.plain).await;

    // A new certificate in the Secret is not served until the pod restarts.
    let (cert_b, key_b, der_b) = ca.leaf();
    kubectl_apply(&c, &["apply", "-f", "-"], &secret(&cert_b, &key_b));
    tokio::time::sleep(Duration::from_millis(500)).await;
    let (_, leaf) = get_tls(d.tls, &ca.pem, HOST, "/healthz").await.unwrap();
    assert!(
        leaf == der_a,
        "the running pod kept the certificate it loaded"
    );
    apply_chart(&c, &d.rendered.replace("roll: \"1\"", "roll: \"2\""));
    wait_for_leaf(d.tls, &ca.pem, &der_b).await;

    assert_no_tls_without_port_443(&c, d.tls, &ca.pem).await;
    c.sandbox.shutdown().await;
}
