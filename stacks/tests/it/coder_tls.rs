//! The Coder stacks of a domain deployment: with TLS by ACME the infra phase looks up the
//! zone, points `A S` and `A *.S` at the load balancer and declares one certificate for `S.D`
//! and `*.S.D`; the app phase puts it in a `kubernetes.io/tls` Secret that turns on the
//! chart's TLS listener and rolls the pod on renewal. `--tls external` and no domain keep
//! today's resources.

use kapstan_engine::StackSpec;
use kapstan_stacks::find;
use serde_json::json;

use crate::support::{Project, resource};

fn kinds(spec: &StackSpec) -> Vec<String> {
    spec.resources.iter().map(|r| r.kind.clone()).collect()
}

#[test]
fn a_domain_gets_records_a_certificate_and_coder_tls() {
    let project = Project::new();
    let v = project.vars(&[
        ("domain", "example.test"),
        ("subdomain", "coder"),
        ("acme_directory", "staging"),
        ("acme_dns_servers", "127.0.0.1:5353"),
    ]);
    let infra = find("coder-prod-infra", &v).unwrap();
    let cert = resource(&infra, "tls-certificate");
    assert_eq!(
        cert["names"],
        json!(["coder.example.test", "*.coder.example.test"])
    );
    assert_eq!(cert["directory"], "staging");
    assert_eq!(cert["dns_servers"], json!(["127.0.0.1:5353"]));
    assert_eq!(resource(&infra, "dns-host")["name"], "coder");
    assert_eq!(resource(&infra, "dns-wildcard")["name"], "*.coder");
    assert_eq!(resource(&infra, "dns-zone")["domain"], "example.test");
    let outputs: Vec<(&str, bool)> = infra
        .outputs
        .iter()
        .map(|o| (o.name.as_str(), o.sensitive))
        .collect();
    assert!(outputs.contains(&("tls_private_key", true)), "{outputs:?}");
    assert!(outputs.contains(&("tls_certificate", true)), "{outputs:?}");

    let app = find("coder-prod-app", &v).unwrap();
    let secret = resource(&app, "tls-secret");
    assert_eq!(secret["type"], "kubernetes.io/tls");
    assert_eq!(secret["name"], "coder-tls");
    let values = &resource(&app, "coder")["values"]["coder"];
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
    let project = Project::new();
    for v in [
        project.vars(&[
            ("domain", "example.test"),
            ("subdomain", "coder"),
            ("tls", "external"),
        ]),
        project.vars(&[]),
    ] {
        let infra = find("coder-prod-infra", &v).unwrap();
        let k = kinds(&infra);
        assert!(
            !k.iter()
                .any(|k| k == "acme_certificate" || k.starts_with("scaleway_domain")),
            "{k:?}"
        );
        let app = find("coder-prod-app", &v).unwrap();
        assert!(!app.by_address().contains_key("tls-secret"));
        let values = &resource(&app, "coder")["values"]["coder"];
        assert!(
            values.get("tls").is_none_or(|t| t["secretNames"].is_null()),
            "{values}"
        );
    }
}

#[test]
fn bad_tls_settings_are_refused_naming_the_fix() {
    let project = Project::new();
    let e = find(
        "coder-prod-infra",
        &project.vars(&[
            ("domain", "example.test"),
            ("subdomain", "coder"),
            ("tls", "https"),
        ]),
    )
    .unwrap_err()
    .to_string();
    assert!(
        e.contains("tls") && e.contains("acme") && e.contains("external"),
        "{e}"
    );
    let e = find(
        "coder-prod-infra",
        &project.vars(&[
            ("domain", "example.test"),
            ("subdomain", "coder"),
            ("acme_ca_bundle_file", "missing.pem"),
        ]),
    )
    .unwrap_err()
    .to_string();
    assert!(
        e.contains("missing.pem") && e.contains("cannot be read"),
        "{e}"
    );
}
