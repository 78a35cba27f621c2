//! The Helm release record: a Secret `sh.helm.release.v1.<name>.v<revision>` of type
//! `helm.sh/release.v1` whose `release` key holds base64(gzip(release JSON)), labelled
//! `owner=helm`, `name`, `status`, `version` — what Helm's secrets storage driver reads for
//! `helm list`, `helm status` and `helm history`.

use std::io::{Read, Write};

use base64::Engine as _;
use k8s_openapi::ByteString;
use k8s_openapi::api::core::v1::Secret;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use serde_json::{Value, json};

/// The record Secret's name.
pub fn secret_name(release: &str, revision: u64) -> String {
    format!("sh.helm.release.v1.{release}.v{revision}")
}

/// Encodes a release JSON as Helm stores it (the Secret's decoded `release` value).
pub fn encode_release(release: &Value) -> String {
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    let _ = gz.write_all(release.to_string().as_bytes());
    let bytes = gz.finish().unwrap_or_default();
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// Decodes what [`encode_release`] produced (gzip is optional, as in Helm).
pub fn decode_release(encoded: &str) -> Option<Value> {
    let raw = base64::engine::general_purpose::STANDARD
        .decode(encoded.trim())
        .ok()?;
    let json = if raw.starts_with(&[0x1f, 0x8b, 0x08]) {
        let mut out = vec![];
        flate2::read::GzDecoder::new(&raw[..])
            .read_to_end(&mut out)
            .ok()?;
        out
    } else {
        raw
    };
    serde_json::from_slice(&json).ok()
}

/// Everything a release record says.
pub struct ReleaseInfo<'a> {
    /// Release name.
    pub name: &'a str,
    /// Namespace.
    pub namespace: &'a str,
    /// Revision.
    pub revision: u64,
    /// `deployed`, `superseded`, `failed`.
    pub status: &'a str,
    /// First deployment time (RFC 3339).
    pub first_deployed: &'a str,
    /// This deployment's time (RFC 3339).
    pub last_deployed: &'a str,
    /// `Install complete` / `Upgrade complete`.
    pub description: &'a str,
    /// Chart.yaml as JSON.
    pub chart: &'a Value,
    /// User-supplied values.
    pub values: &'a Value,
    /// The rendered manifest.
    pub manifest: &'a str,
}

/// The release JSON.
pub fn release_json(i: &ReleaseInfo<'_>) -> Value {
    json!({
        "name": i.name,
        "info": {
            "first_deployed": i.first_deployed, "last_deployed": i.last_deployed, "deleted": "",
            "description": i.description, "status": i.status, "notes": "",
        },
        "chart": {"metadata": i.chart, "lock": null, "templates": [], "values": {}, "schema": null, "files": []},
        "config": i.values,
        "manifest": i.manifest,
        "hooks": [],
        "version": i.revision,
        "namespace": i.namespace,
    })
}

/// The record Secret for a release JSON.
pub fn record_secret(release: &Value, modified_at: i64) -> Value {
    let name = release["name"].as_str().unwrap_or_default();
    let revision = release["version"].as_u64().unwrap_or(1);
    let status = release["info"]["status"].as_str().unwrap_or("deployed");
    let labels = [
        ("name", name.to_string()),
        ("owner", "helm".to_string()),
        ("status", status.to_string()),
        ("version", revision.to_string()),
        ("modifiedAt", modified_at.to_string()),
    ];
    let secret = Secret {
        metadata: ObjectMeta {
            name: Some(secret_name(name, revision)),
            namespace: release["namespace"].as_str().map(str::to_string),
            labels: Some(labels.map(|(k, v)| (k.to_string(), v)).into()),
            ..Default::default()
        },
        type_: Some("helm.sh/release.v1".into()),
        data: Some(
            [(
                "release".to_string(),
                ByteString(encode_release(release).into_bytes()),
            )]
            .into(),
        ),
        ..Default::default()
    };
    crate::kubernetes::to_manifest(&secret)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips() {
        let chart = json!({"name": "coder", "version": "2.21.1", "appVersion": "2.21.1", "apiVersion": "v2"});
        let r = release_json(&ReleaseInfo {
            name: "coder",
            namespace: "coder",
            revision: 2,
            status: "deployed",
            first_deployed: "2026-01-01T00:00:00Z",
            last_deployed: "2026-01-02T00:00:00Z",
            description: "Upgrade complete",
            chart: &chart,
            values: &json!({}),
            manifest: "---\n",
        });
        let s = record_secret(&r, 1);
        assert_eq!(s["metadata"]["name"], "sh.helm.release.v1.coder.v2");
        let inner = String::from_utf8(
            base64::engine::general_purpose::STANDARD
                .decode(s["data"]["release"].as_str().unwrap())
                .unwrap(),
        )
        .unwrap();
        assert_eq!(decode_release(&inner).unwrap(), r);
    }
}
