//! A Helm chart repository serving the Coder-like chart of `sandbox/charts/coder/` and any
//! chart directory given at start ([`crate::SandboxOptions::chart_dirs`], e.g. the official
//! Coder chart): `GET /charts/index.yaml` and `GET /charts/{name}-{version}.tgz`, the layout
//! of `helm.coder.com`. The archives are built in memory, deterministically (sorted entries,
//! fixed mtimes), so their sha256 digests are stable.

use std::io::Write;
use std::path::{Path as FsPath, PathBuf};
use std::sync::Arc;

use axum::Router;
use axum::extract::{Path, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde::Deserialize;
use sha2::Digest;

use crate::SandboxError;

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

/// The archive of the sandbox's own chart as `version`.
pub fn package(version: &str) -> Vec<u8> {
    let files: Vec<(String, Vec<u8>)> = FILES
        .iter()
        .map(|(path, text)| {
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
            (format!("coder/{path}"), content.into_bytes())
        })
        .collect();
    archive_of(&files)
}

/// A gzipped tar of `files` (path in the archive, content), as `helm package` lays it out.
fn archive_of(files: &[(String, Vec<u8>)]) -> Vec<u8> {
    let mut tar = tar::Builder::new(Vec::new());
    for (path, content) in files {
        let mut h = tar::Header::new_ustar();
        h.set_size(content.len() as u64);
        h.set_mode(0o644);
        h.set_mtime(1_735_689_600);
        h.set_uid(0);
        h.set_gid(0);
        h.set_cksum();
        let _ = tar.append_data(&mut h, path, content.as_slice());
    }
    let raw = tar.into_inner().unwrap_or_default();
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    let _ = gz.write_all(&raw);
    gz.finish().unwrap_or_default()
}

fn sha256_hex(bytes: &[u8]) -> String {
    sha2::Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// One published chart version.
#[derive(Debug, Clone)]
struct Published {
    name: String,
    version: String,
    app_version: String,
    description: String,
    archive: Vec<u8>,
}

/// The fields of `Chart.yaml` the index repeats.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ChartMeta {
    name: String,
    version: String,
    #[serde(default)]
    app_version: Option<String>,
    #[serde(default)]
    description: Option<String>,
}

/// The charts the repository serves: the sandbox's own Coder-like chart in
/// [`CHART_VERSIONS`], plus the chart directories given at start, each of which replaces an
/// own chart of the same name and version.
#[derive(Debug, Clone)]
pub struct Repository {
    charts: Vec<Published>,
}

impl Repository {
    /// Packages every directory of `chart_dirs` (read once, now) next to the own chart.
    pub fn new(chart_dirs: &[PathBuf]) -> Result<Repository, SandboxError> {
        let mut charts: Vec<Published> = Vec::new();
        for dir in chart_dirs {
            let chart = package_dir(dir).map_err(|reason| SandboxError::InvalidOption {
                name: "chart-dir",
                reason: format!("{}: {reason}", dir.display()),
            })?;
            charts.retain(|c| !(c.name == chart.name && c.version == chart.version));
            charts.push(chart);
        }
        for v in CHART_VERSIONS {
            if !charts.iter().any(|c| c.name == "coder" && c.version == *v) {
                charts.push(Published {
                    name: "coder".into(),
                    version: (*v).into(),
                    app_version: (*v).into(),
                    description: "A Coder-like chart served by the kapstan sandbox.".into(),
                    archive: package(v),
                });
            }
        }
        Ok(Repository { charts })
    }

    /// The repository index (`index.yaml`), newest version first per chart.
    pub fn index(&self) -> String {
        let mut names: Vec<&str> = self.charts.iter().map(|c| c.name.as_str()).collect();
        names.sort_unstable();
        names.dedup();
        let mut out = String::from("apiVersion: v1\nentries:\n");
        for name in names {
            out.push_str(&format!("  {name}:\n"));
            let mut versions: Vec<&Published> =
                self.charts.iter().filter(|c| c.name == name).collect();
            versions.sort_by_key(|c| std::cmp::Reverse(semver_key(&c.version)));
            for c in versions {
                out.push_str(&format!(
                    "  - apiVersion: v2\n    appVersion: {app}\n    created: \"2025-01-01T00:00:00Z\"\n    description: {desc}\n    digest: {digest}\n    name: {name}\n    type: application\n    urls:\n    - {name}-{v}.tgz\n    version: {v}\n",
                    app = yaml_string(&c.app_version),
                    desc = yaml_string(&c.description),
                    digest = sha256_hex(&c.archive),
                    v = c.version,
                ));
            }
        }
        out.push_str("generated: \"2025-01-01T00:00:00Z\"\n");
        out
    }

    fn archive(&self, file: &str) -> Option<&[u8]> {
        self.charts
            .iter()
            .find(|c| file == format!("{}-{}.tgz", c.name, c.version))
            .map(|c| c.archive.as_slice())
    }
}

fn yaml_string(s: &str) -> String {
    serde_json::to_string(s).unwrap_or_else(|_| "\"\"".into())
}

fn semver_key(v: &str) -> Vec<u64> {
    v.split(['.', '-', '+'])
        .map(|p| p.parse().unwrap_or(0))
        .collect()
}

/// Packages a chart directory as `helm package` would: every file under `<name>/`, minus the
/// `.helmignore` patterns (names, `*suffix` globs and `dir/`; negations are not supported).
fn package_dir(dir: &FsPath) -> Result<Published, String> {
    let chart_yaml = std::fs::read_to_string(dir.join("Chart.yaml"))
        .map_err(|e| format!("cannot read Chart.yaml: {e}"))?;
    let meta: ChartMeta =
        serde_norway::from_str(&chart_yaml).map_err(|e| format!("Chart.yaml: {e}"))?;
    let ignore: Vec<String> = std::fs::read_to_string(dir.join(".helmignore"))
        .unwrap_or_default()
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#') && !l.starts_with('!'))
        .map(|l| l.trim_end_matches('/').to_string())
        .collect();
    let mut files = Vec::new();
    collect(dir, dir, &ignore, &mut files)?;
    files.sort();
    let files: Vec<(String, Vec<u8>)> = files
        .into_iter()
        .map(|(rel, content)| (format!("{}/{rel}", meta.name), content))
        .collect();
    Ok(Published {
        app_version: meta.app_version.unwrap_or_else(|| meta.version.clone()),
        description: meta.description.unwrap_or_default(),
        archive: archive_of(&files),
        name: meta.name,
        version: meta.version,
    })
}

fn ignored(name: &str, patterns: &[String]) -> bool {
    patterns.iter().any(|p| match p.strip_prefix('*') {
        Some(suffix) => name.ends_with(suffix),
        None => name == p,
    })
}

fn collect(
    root: &FsPath,
    dir: &FsPath,
    ignore: &[String],
    out: &mut Vec<(String, Vec<u8>)>,
) -> Result<(), String> {
    let entries = std::fs::read_dir(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    for entry in entries {
        let entry = entry.map_err(|e| e.to_string())?;
        let path = entry.path();
        let name = entry.file_name().to_string_lossy().to_string();
        if ignored(&name, ignore) {
            continue;
        }
        if path.is_dir() {
            collect(root, &path, ignore, out)?;
        } else {
            let rel = path
                .strip_prefix(root)
                .map_err(|e| e.to_string())?
                .to_string_lossy()
                .replace('\\', "/");
            let content = std::fs::read(&path).map_err(|e| format!("{}: {e}", path.display()))?;
            out.push((rel, content));
        }
    }
    Ok(())
}

/// The chart repository routes.
pub fn routes(repository: Arc<Repository>) -> Router {
    Router::new()
        .route(
            "/charts/index.yaml",
            get(|State(repo): State<Arc<Repository>>| async move { yaml(repo.index()) }),
        )
        .route("/charts/{file}", get(archive))
        .with_state(repository)
}

fn yaml(text: String) -> Response {
    let mut r = (StatusCode::OK, text).into_response();
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/x-yaml"),
    );
    r
}

async fn archive(State(repo): State<Arc<Repository>>, Path(file): Path<String>) -> Response {
    match repo.archive(&file) {
        Some(bytes) => {
            let mut r = (StatusCode::OK, bytes.to_vec()).into_response();
            r.headers_mut().insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/gzip"),
            );
            r
        }
        None => (StatusCode::NOT_FOUND, "chart not found\n").into_response(),
    }
}
