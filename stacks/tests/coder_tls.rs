//! The Coder stacks of a domain deployment: with TLS by ACME the infra phase looks up the
//! zone, points `A S` and `A *.S` at the load balancer and declares one certificate for `S.D`
//! and `*.S.D`; the app phase puts it in a `kubernetes.io/tls` Secret that turns on the
//! chart's TLS listener and rolls the pod on renewal. `--tls external` and no domain keep
//! today's resources.

use kapstan_engine::StackSpec;
use kapstan_stacks::{StackVars, find};
use serde_json::{Value, json};

fn vars(pairs: &[(&str, &str)], dir: &std::path::Path) -> StackVars {
    let mut v: StackVars = pairs
        .iter()
        .map(|(k, v)| ((*k).to_string(), (*v).to_string()))
        .collect();
    v.insert("project_dir".into(), dir.display().to_string());
    v
}

fn resource<'a>(spec: &'a StackSpec, address: &str) -> Option<&'a Value> {
    spec.resources
        .iter()
        .find(|r| r.address == address)
        .map(|r| &r.config)
}

fn kinds(spec: &StackSpec) -> Vec<String> {
    spec.resources.iter().map(|r| r.kind.clone()).collect()
}

#[test]
fn a_domain_gets_records_a_certificate_and_coder_tls() {
    let dir = tempfile::tempdir().unwrap();
    let v = vars(
        &[
            ("domain", "example.test"),
            ("subdomain", "coder"),
            ("acme_directory", "staging"),
            ("acme_dns_servers", "127.0.0.1:5353"),
        ],
        dir.path(),
    );
    let infra = find("coder-prod-infra", &v).unwrap();
    let cert = resource(&infra, "tls-certificate").expect("a certificate");
    assert_eq!(
        cert["names"],
        json!(["coder.example.test", "*.coder.example.test"])
    );
    assert_eq!(cert["directory"], "staging");
    assert_eq!(cert["dns_servers"], json!(["127.0.0.1:5353"]));
    assert_eq!(resource(&infra, "dns-host").unwrap()["name"], "coder");
    assert_eq!(resource(&infra, "dns-wildcard").unwrap()["name"], "*.coder");
    assert_eq!(
        resource(&infra, "dns-zone").unwrap()["domain"],
        "example.test"
    );
    let outputs: Vec<(&str, bool)> = infra
        .outputs
        .iter()
        .map(|o| (o.name.as_str(), o.sensitive))
        .collect();
    assert!(outputs.contains(&("tls_private_key", true)), "{outputs:?}");
    assert!(outputs.contains(&("tls_certificate", true)), "{outputs:?}");

    let app = find("coder-prod-app", &v).unwrap();
    let secret = resource(&app, "tls-secret").expect("a TLS Secret");
    assert_eq!(secret["type"], "kubernetes.io/tls");
    assert_eq!(secret["name"], "coder-tls");
    let values = &resource(&app, "coder").unwrap()["values"]["coder"];
    assert_eq!(values["tls"]["secretNames"], json!(["coder-tls"]));
    assert!(
        values["podAnnotations"]
            .get("kapstan.dev/tls-certificate-sha256")
            .is_some(),
        "{values}"
    );
    assert!(
        values["env"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["name"] == "CODER_REDIRECT_TO_ACCESS_URL" && e["value"] == "true"),
        "{values}"
    );
}

#[test]
fn external_tls_and_no_domain_keep_plain_resources() {
    let dir = tempfile::tempdir().unwrap();
    for v in [
        vars(
            &[
                ("domain", "example.test"),
                ("subdomain", "coder"),
                ("tls", "external"),
            ],
            dir.path(),
        ),
        vars(&[], dir.path()),
    ] {
        let infra = find("coder-prod-infra", &v).unwrap();
        let k = kinds(&infra);
        assert!(
            !k.iter()
                .any(|k| k == "acme_certificate" || k.starts_with("scaleway_domain")),
            "{k:?}"
        );
        let app = find("coder-prod-app", &v).unwrap();
        assert!(resource(&app, "tls-secret").is_none());
        let values = &resource(&app, "coder").unwrap()["values"]["coder"];
        assert!(
            values.get("tls").is_none_or(|t| t["secretNames"].is_null()),
            "{values}"
        );
    }
}

#[test]
fn bad_tls_settings_are_refused_naming_the_fix() {
    let dir = tempfile::tempdir().unwrap();
    let e = find(
        "coder-prod-infra",
        &vars(
            &[
                ("domain", "example.test"),
                ("subdomain", "coder"),
                ("tls", "https"),
            ],
            dir.path(),
        ),
    )
    .unwrap_err()
    .to_string();
    assert!(
        e.contains("tls") && e.contains("acme") && e.contains("external"),
        "{e}"
    );
    let e = find(
        "coder-prod-infra",
        &vars(
            &[
                ("domain", "example.test"),
                ("subdomain", "coder"),
                ("acme_ca_bundle_file", "missing.pem"),
            ],
            dir.path(),
        ),
    )
    .unwrap_err()
    .to_string();
    assert!(
        e.contains("missing.pem") && e.contains("cannot be read"),
        "{e}"
    );
}
