//! Finding and running the `helm` binary: version check, chart download with digest, and
//! `helm template`. Helm runs with private cache/config/data directories in a temporary
//! directory, so it neither reads nor writes the user's Helm configuration.

use std::path::{Path, PathBuf};
use std::process::Stdio;

use serde_json::Value;
use sha2::Digest;
use tokio::io::AsyncWriteExt;

/// The oldest helm kapstan works with.
pub const MIN_HELM_VERSION: (u64, u64, u64) = (3, 12, 0);

/// A failure of the helm step.
#[derive(Debug, Clone, thiserror::Error)]
pub enum HelmError {
    /// No helm binary.
    #[error("helm was not found ({where_}); install helm >= {}.{}.{} or set KAPSTAN_HELM to its path", MIN_HELM_VERSION.0, MIN_HELM_VERSION.1, MIN_HELM_VERSION.2)]
    Missing {
        /// Where kapstan looked.
        where_: String,
    },
    /// helm is older than [`MIN_HELM_VERSION`].
    #[error("helm {found} at {path} is too old: kapstan needs helm >= {}.{}.{}; install a newer helm or set KAPSTAN_HELM", MIN_HELM_VERSION.0, MIN_HELM_VERSION.1, MIN_HELM_VERSION.2)]
    TooOld {
        /// Version found.
        found: String,
        /// Binary path.
        path: String,
    },
    /// A helm command failed; `message` is helm's own error output.
    #[error("helm {step} failed: {message}")]
    Failed {
        /// The command (`pull`, `template`, `show chart`).
        step: String,
        /// helm's stderr.
        message: String,
    },
    /// Local I/O.
    #[error("{0}")]
    Io(String),
}

/// A located, version-checked helm.
#[derive(Debug, Clone)]
pub struct Helm {
    path: PathBuf,
    /// `v3.18.0`-style version.
    pub version: String,
}

/// A rendered chart.
#[derive(Debug, Clone)]
pub struct Rendered {
    /// The manifest text helm printed.
    pub manifest: String,
    /// The rendered objects, in helm's order.
    pub objects: Vec<Value>,
    /// Chart.yaml of the rendered chart, as JSON.
    pub chart: Value,
    /// sha256 of the chart archive (or of the chart directory's files).
    pub chart_sha256: String,
}

fn parse_version(v: &str) -> Option<(u64, u64, u64)> {
    let core = v.trim().trim_start_matches('v');
    let core = core.split(['+', '-']).next()?;
    let mut it = core.split('.').map(|p| p.parse::<u64>().ok());
    Some((it.next()??, it.next()??, it.next().flatten().unwrap_or(0)))
}

impl Helm {
    /// The helm at `path`, version-checked.
    pub async fn at(path: &Path) -> Result<Helm, HelmError> {
        if !path.exists() {
            return Err(HelmError::Missing {
                where_: format!("{} does not exist", path.display()),
            });
        }
        Self::check(path.to_path_buf()).await
    }

    /// The helm at `explicit` when given, else [`Helm::locate`]'s.
    pub async fn find(explicit: Option<&Path>) -> Result<Helm, HelmError> {
        match explicit {
            Some(p) => Self::at(p).await,
            None => Self::locate().await,
        }
    }

    /// Finds helm (`KAPSTAN_HELM`, else `helm` on `PATH`) and checks its version.
    pub async fn locate() -> Result<Helm, HelmError> {
        let path = match std::env::var_os("KAPSTAN_HELM") {
            Some(p) => {
                let p = PathBuf::from(p);
                if !p.exists() {
                    return Err(HelmError::Missing {
                        where_: format!("KAPSTAN_HELM={} does not exist", p.display()),
                    });
                }
                p
            }
            None => std::env::var_os("PATH")
                .and_then(|paths| {
                    std::env::split_paths(&paths)
                        .map(|d| d.join("helm"))
                        .find(|p| p.is_file())
                })
                .ok_or(HelmError::Missing {
                    where_: "not on PATH and KAPSTAN_HELM is not set".into(),
                })?,
        };
        Self::check(path).await
    }

    async fn check(path: PathBuf) -> Result<Helm, HelmError> {
        let out = tokio::process::Command::new(&path)
            .args(["version", "--template", "{{.Version}}"])
            .stdin(Stdio::null())
            .output()
            .await
            .map_err(|e| HelmError::Missing {
                where_: format!("{} cannot run: {e}", path.display()),
            })?;
        let version = String::from_utf8_lossy(&out.stdout).trim().to_string();
        match parse_version(&version) {
            Some(v) if v >= MIN_HELM_VERSION => Ok(Helm { path, version }),
            _ => Err(HelmError::TooOld {
                found: if version.is_empty() {
                    "(unknown version)".into()
                } else {
                    version
                },
                path: path.display().to_string(),
            }),
        }
    }

    async fn run(
        &self,
        step: &str,
        dir: &Path,
        args: &[&str],
        stdin: Option<&str>,
    ) -> Result<String, HelmError> {
        let mut cmd = tokio::process::Command::new(&self.path);
        cmd.args(args)
            .env("HELM_CACHE_HOME", dir.join("cache"))
            .env("HELM_CONFIG_HOME", dir.join("config"))
            .env("HELM_DATA_HOME", dir.join("data"))
            .env_remove("KUBECONFIG")
            .stdin(if stdin.is_some() {
                Stdio::piped()
            } else {
                Stdio::null()
            })
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        let mut child = cmd
            .spawn()
            .map_err(|e| HelmError::Io(format!("cannot run helm: {e}")))?;
        if let (Some(input), Some(mut pipe)) = (stdin, child.stdin.take()) {
            pipe.write_all(input.as_bytes())
                .await
                .map_err(|e| HelmError::Io(format!("cannot write values to helm: {e}")))?;
            drop(pipe);
        }
        let out = child
            .wait_with_output()
            .await
            .map_err(|e| HelmError::Io(format!("helm did not finish: {e}")))?;
        if !out.status.success() {
            let message = String::from_utf8_lossy(&out.stderr).trim().to_string();
            return Err(HelmError::Failed {
                step: step.into(),
                message: if message.is_empty() {
                    format!("exit status {}", out.status)
                } else {
                    message
                },
            });
        }
        Ok(String::from_utf8_lossy(&out.stdout).to_string())
    }

    /// Renders `chart` (from `repository` at `version`, or a local path) as release `name` in
    /// `namespace` with `values`.
    pub async fn render(
        &self,
        name: &str,
        namespace: &str,
        repository: Option<&str>,
        chart: &str,
        version: Option<&str>,
        values: &Value,
    ) -> Result<Rendered, HelmError> {
        let tmp =
            tempfile::tempdir().map_err(|e| HelmError::Io(format!("temporary directory: {e}")))?;
        let dir = tmp.path();
        let (chart_ref, chart_sha256) = match repository {
            Some(repo) => {
                let dest = dir.join("charts");
                std::fs::create_dir_all(&dest)
                    .map_err(|e| HelmError::Io(format!("temporary directory: {e}")))?;
                let dest_s = dest.display().to_string();
                let mut args = vec!["pull", chart, "--repo", repo, "--destination", &dest_s];
                if let Some(v) = version {
                    args.extend(["--version", v]);
                }
                self.run("pull", dir, &args, None).await?;
                let archive = std::fs::read_dir(&dest)
                    .map_err(|e| HelmError::Io(format!("read downloaded chart: {e}")))?
                    .filter_map(Result::ok)
                    .map(|e| e.path())
                    .find(|p| p.extension().is_some_and(|x| x == "tgz"))
                    .ok_or_else(|| HelmError::Io("helm pull produced no chart archive".into()))?;
                let bytes = std::fs::read(&archive)
                    .map_err(|e| HelmError::Io(format!("read chart: {e}")))?;
                (
                    archive.display().to_string(),
                    hex::encode(sha2::Sha256::digest(&bytes)),
                )
            }
            None => {
                let p = Path::new(chart);
                if !p.exists() {
                    return Err(HelmError::Io(format!(
                        "chart {chart:?} is not a local path; set `repository` to install from a chart repository"
                    )));
                }
                (chart.to_string(), path_digest(p)?)
            }
        };
        let values_text = serde_json::to_string(values).unwrap_or_else(|_| "{}".into());
        let manifest = self
            .run(
                "template",
                dir,
                &[
                    "template",
                    name,
                    &chart_ref,
                    "--namespace",
                    namespace,
                    "--include-crds",
                    "--values",
                    "-",
                ],
                Some(&values_text),
            )
            .await?;
        let chart_yaml = self
            .run("show chart", dir, &["show", "chart", &chart_ref], None)
            .await?;
        let chart: Value = serde_norway::from_str(&chart_yaml).unwrap_or(Value::Null);
        let objects = split_manifest(&manifest)?;
        Ok(Rendered {
            manifest,
            objects,
            chart,
            chart_sha256,
        })
    }
}

/// The objects of a multi-document YAML manifest (empty documents and `List`s handled).
pub fn split_manifest(text: &str) -> Result<Vec<Value>, HelmError> {
    let mut out = vec![];
    let mut doc = String::new();
    let flush = |doc: &mut String, out: &mut Vec<Value>| -> Result<(), HelmError> {
        if !doc.trim().is_empty() {
            let v: Value = serde_norway::from_str(doc).map_err(|e| HelmError::Failed {
                step: "template".into(),
                message: format!("the chart rendered invalid YAML: {e}"),
            })?;
            match v {
                Value::Object(_)
                    if v["kind"].as_str().is_some_and(|k| k.ends_with("List"))
                        && v["items"].is_array() =>
                {
                    out.extend(v["items"].as_array().cloned().unwrap_or_default())
                }
                Value::Object(_) => out.push(v),
                _ => {}
            }
        }
        doc.clear();
        Ok(())
    };
    for line in text.lines() {
        if line.starts_with("---") {
            flush(&mut doc, &mut out)?;
        } else {
            doc.push_str(line);
            doc.push('\n');
        }
    }
    flush(&mut doc, &mut out)?;
    Ok(out)
}

/// sha256 of a chart archive, or of a chart directory's files (sorted paths and contents).
fn path_digest(p: &Path) -> Result<String, HelmError> {
    let mut h = sha2::Sha256::new();
    if p.is_file() {
        h.update(std::fs::read(p).map_err(|e| HelmError::Io(format!("read chart: {e}")))?);
    } else {
        let mut files = vec![];
        collect(p, p, &mut files)?;
        files.sort();
        for (rel, full) in files {
            h.update(rel.as_bytes());
            h.update([0]);
            h.update(std::fs::read(&full).map_err(|e| HelmError::Io(format!("read chart: {e}")))?);
            h.update([0]);
        }
    }
    Ok(hex::encode(h.finalize()))
}

fn collect(root: &Path, dir: &Path, out: &mut Vec<(String, PathBuf)>) -> Result<(), HelmError> {
    for e in
        std::fs::read_dir(dir).map_err(|e| HelmError::Io(format!("read chart directory: {e}")))?
    {
        let path = e.map_err(|e| HelmError::Io(e.to_string()))?.path();
        if path.is_dir() {
            collect(root, &path, out)?;
        } else {
            let rel = path
                .strip_prefix(root)
                .unwrap_or(&path)
                .to_string_lossy()
                .to_string();
            out.push((rel, path));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_compare() {
        assert_eq!(parse_version("v3.18.0+gcc58e3f"), Some((3, 18, 0)));
        assert!(parse_version("v3.11.2").unwrap() < MIN_HELM_VERSION);
        assert!(parse_version("v4.1.4").unwrap() >= MIN_HELM_VERSION);
        assert_eq!(parse_version("garbage"), None);
    }

    #[test]
    fn splits_documents() {
        let text = "---\n# Source: a\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\n---\n\n---\napiVersion: v1\nkind: Secret\nmetadata:\n  name: b\n";
        let objs = split_manifest(text).unwrap();
        assert_eq!(objs.len(), 2);
        assert_eq!(objs[1]["kind"], "Secret");
    }
}
