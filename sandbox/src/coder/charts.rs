//! A Helm chart repository serving the Coder-like chart of `sandbox/charts/coder/`:
//! `GET /charts/index.yaml` and `GET /charts/coder-{version}.tgz`. The archives are built in
//! memory, deterministically (fixed mtimes and order), so their sha256 digests are stable.

use std::io::Write;

use axum::Router;
use axum::extract::Path;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use sha2::Digest;

/// Chart versions the repository publishes (appVersion is the same).
pub const CHART_VERSIONS: &[&str] = &["2.20.3", "2.21.1"];

const FILES: &[(&str, &str)] = &[
    ("Chart.yaml", include_str!("../../charts/coder/Chart.yaml")),
    (
        "values.yaml",
        include_str!("../../charts/coder/values.yaml"),
    ),
    (
        "templates/_helpers.tpl",
        include_str!("../../charts/coder/templates/_helpers.tpl"),
    ),
    (
        "templates/rbac.yaml",
        include_str!("../../charts/coder/templates/rbac.yaml"),
    ),
    (
        "templates/service.yaml",
        include_str!("../../charts/coder/templates/service.yaml"),
    ),
    (
        "templates/coder.yaml",
        include_str!("../../charts/coder/templates/coder.yaml"),
    ),
    (
        "templates/ingress.yaml",
        include_str!("../../charts/coder/templates/ingress.yaml"),
    ),
    (
        "templates/extra-templates.yaml",
        include_str!("../../charts/coder/templates/extra-templates.yaml"),
    ),
    (
        "templates/NOTES.txt",
        include_str!("../../charts/coder/templates/NOTES.txt"),
    ),
];

/// The chart archive for `version`.
pub fn package(version: &str) -> Vec<u8> {
    let mut tar = tar::Builder::new(Vec::new());
    for (path, text) in FILES {
        let content = if *path == "Chart.yaml" {
            text.lines()
                .map(|l| {
                    if l.starts_with("version:") {
                        format!("version: {version}")
                    } else if l.starts_with("appVersion:") {
                        format!("appVersion: \"{version}\"")
                    } else {
                        l.to_string()
                    }
                })
                .collect::<Vec<_>>()
                .join("\n")
                + "\n"
        } else {
            text.to_string()
        };
        let mut h = tar::Header::new_ustar();
        h.set_size(content.len() as u64);
        h.set_mode(0o644);
        h.set_mtime(1_735_689_600);
        h.set_uid(0);
        h.set_gid(0);
        h.set_cksum();
        let _ = tar.append_data(&mut h, format!("coder/{path}"), content.as_bytes());
    }
    let raw = tar.into_inner().unwrap_or_default();
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    let _ = gz.write_all(&raw);
    gz.finish().unwrap_or_default()
}

/// The repository index.
pub fn index() -> String {
    let mut out = String::from("apiVersion: v1\nentries:\n  coder:\n");
    for v in CHART_VERSIONS.iter().rev() {
        let digest: String = sha2::Sha256::digest(package(v))
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        out.push_str(&format!(
            "  - apiVersion: v2\n    appVersion: \"{v}\"\n    created: \"2025-01-01T00:00:00Z\"\n    description: A Coder-like chart served by the kapstan sandbox.\n    digest: {digest}\n    home: https://github.com/kapstan/kapstan\n    kubeVersion: \">= 1.19.0-0\"\n    name: coder\n    type: application\n    urls:\n    - coder-{v}.tgz\n    version: {v}\n"
        ));
    }
    out.push_str("generated: \"2025-01-01T00:00:00Z\"\n");
    out
}

/// The chart repository routes.
pub fn routes() -> Router {
    Router::new()
        .route("/charts/index.yaml", get(|| async { yaml(index()) }))
        .route("/charts/{file}", get(archive))
}

fn yaml(text: String) -> Response {
    let mut r = (StatusCode::OK, text).into_response();
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/x-yaml"),
    );
    r
}

async fn archive(Path(file): Path<String>) -> Response {
    let version = file
        .strip_prefix("coder-")
        .and_then(|f| f.strip_suffix(".tgz"))
        .filter(|v| CHART_VERSIONS.contains(v));
    match version {
        Some(v) => {
            let mut r = (StatusCode::OK, package(v)).into_response();
            r.headers_mut().insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/gzip"),
            );
            r
        }
        None => (StatusCode::NOT_FOUND, "chart not found\n").into_response(),
    }
}
