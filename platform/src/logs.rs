//! Run logs: every `up`, `down` and `backup` writes a transcript to
//! `logs/<command>/<timestamp>-<env>.log`, each line timestamped and passed through a
//! [`Redactor`] that replaces every secret known to the run with `(sensitive value)`.
//!
//! kapstan never prints secrets in the first place; the redactor is belt and braces for text
//! that comes from elsewhere (hook output, API error messages).

use std::collections::BTreeSet;
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use kapstan_state::StateDocument;
use serde_json::Value;

use crate::error::PlatformError;
use crate::hooks::HookReport;

/// What a secret is replaced with.
pub const REDACTED: &str = "(sensitive value)";

/// Secrets shorter than this are not redacted (they would mangle ordinary text); kapstan's
/// generated secrets are 24 characters or more.
const MIN_SECRET_LEN: usize = 6;

/// Replaces known secret values in text.
#[derive(Debug, Clone, Default)]
pub struct Redactor {
    /// Longest first, so a secret containing another is replaced whole.
    secrets: Vec<String>,
}

impl Redactor {
    /// A redactor that knows no secret yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// A redactor for every secret recorded in `docs`.
    pub fn from_documents<'a>(docs: impl IntoIterator<Item = &'a StateDocument>) -> Self {
        let mut r = Self::new();
        for d in docs {
            r.add_all(secrets_of(d));
        }
        r
    }

    /// Adds one secret value, its percent-encoded form and, for multi-line values such as a
    /// kubeconfig, each line and each `key: value` value of it.
    pub fn add(&mut self, secret: &str) {
        let mut set: BTreeSet<String> = self.secrets.drain(..).collect();
        let mut push = |s: &str| {
            let s = s.trim();
            if s.len() >= MIN_SECRET_LEN {
                set.insert(s.to_string());
            }
        };
        push(secret);
        let encoded: String =
            percent_encoding::utf8_percent_encode(secret, percent_encoding::NON_ALPHANUMERIC)
                .to_string();
        if encoded != secret {
            push(&encoded);
        }
        if secret.contains('\n') {
            for line in secret.lines() {
                push(line);
                if let Some((_, v)) = line.split_once(": ") {
                    push(v.trim_matches('"'));
                }
            }
        }
        let mut v: Vec<String> = set.into_iter().collect();
        v.sort_by(|a, b| b.len().cmp(&a.len()).then_with(|| a.cmp(b)));
        self.secrets = v;
    }

    /// Adds several secrets.
    pub fn add_all<I: IntoIterator<Item = String>>(&mut self, secrets: I) {
        for s in secrets {
            self.add(&s);
        }
    }

    /// How many values are redacted.
    pub fn len(&self) -> usize {
        self.secrets.len()
    }

    /// Whether no value is redacted.
    pub fn is_empty(&self) -> bool {
        self.secrets.is_empty()
    }

    /// `text` with every known secret replaced by [`REDACTED`].
    pub fn redact(&self, text: &str) -> String {
        let mut out = text.to_string();
        for s in &self.secrets {
            if out.contains(s.as_str()) {
                out = out.replace(s.as_str(), REDACTED);
            }
        }
        out
    }
}

/// Every sensitive value recorded in a state document: sensitive outputs and the sensitive
/// paths of every resource (strings, and the strings inside sensitive objects).
pub fn secrets_of(doc: &StateDocument) -> Vec<String> {
    let mut out = vec![];
    for o in doc.outputs.values().filter(|o| o.sensitive) {
        strings(&o.value, &mut out);
    }
    for r in doc.resources.values() {
        let whole = serde_json::to_value(r).unwrap_or(Value::Null);
        for p in &r.sensitive {
            if let Some(v) = whole.pointer(p) {
                strings(v, &mut out);
            }
        }
    }
    out
}

fn strings(v: &Value, out: &mut Vec<String>) {
    match v {
        Value::String(s) => out.push(s.clone()),
        Value::Array(a) => a.iter().for_each(|x| strings(x, out)),
        Value::Object(m) => m.values().for_each(|x| strings(x, out)),
        _ => {}
    }
}

/// A run log file, safe to share between tasks.
#[derive(Debug)]
pub struct RunLog {
    path: PathBuf,
    inner: Mutex<(BufWriter<File>, Redactor)>,
}

impl RunLog {
    /// Creates `logs/<command>/<timestamp>-<env>.log` under the project (and the directory),
    /// mode 0600, and writes a header line.
    pub fn create(project_dir: &Path, command: &str, env: &str) -> Result<RunLog, PlatformError> {
        let dir = project_dir.join("logs").join(command);
        std::fs::create_dir_all(&dir).map_err(|source| PlatformError::Io {
            action: "creating",
            path: dir.display().to_string(),
            source,
        })?;
        let stamp = chrono::Utc::now().format("%Y%m%dT%H%M%SZ").to_string();
        let mut n = 1;
        loop {
            let name = if n == 1 {
                format!("{stamp}-{env}.log")
            } else {
                format!("{stamp}-{env}-{n}.log")
            };
            let path = dir.join(name);
            let mut options = std::fs::OpenOptions::new();
            options.write(true).create_new(true);
            #[cfg(unix)]
            {
                use std::os::unix::fs::OpenOptionsExt;
                options.mode(0o600);
            }
            match options.open(&path) {
                Ok(file) => {
                    let log = RunLog {
                        path,
                        inner: Mutex::new((BufWriter::new(file), Redactor::new())),
                    };
                    log.line(&format!(
                        "kapstan {} {command} --env {env}",
                        env!("CARGO_PKG_VERSION")
                    ));
                    return Ok(log);
                }
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists && n < 100 => n += 1,
                Err(source) => {
                    return Err(PlatformError::Io {
                        action: "creating",
                        path: path.display().to_string(),
                        source,
                    });
                }
            }
        }
    }

    /// Where the log is.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Makes the log redact these secrets from now on.
    pub fn add_secrets<I: IntoIterator<Item = String>>(&self, secrets: I) {
        let mut g = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        g.1.add_all(secrets);
    }

    /// Makes the log redact every secret recorded in `doc`.
    pub fn add_document_secrets(&self, doc: &StateDocument) {
        self.add_secrets(secrets_of(doc));
    }

    /// Writes `text` (each of its lines), timestamped, with secrets redacted, and flushes.
    pub fn line(&self, text: &str) {
        let mut g = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        let (w, redactor) = &mut *g;
        let clean = redactor.redact(text);
        let stamp = chrono::Utc::now().format("%Y-%m-%dT%H:%M:%S%.3fZ");
        for l in clean.lines() {
            let _ = writeln!(w, "{stamp} {l}");
        }
        if clean.is_empty() {
            let _ = writeln!(w, "{stamp}");
        }
        let _ = w.flush();
    }

    /// Records a hook run: its summary, then its stdout and stderr, prefixed.
    pub fn hook(&self, report: &HookReport) {
        self.line(&report.summary());
        for l in report.stdout.lines() {
            self.line(&format!("[{} stdout] {l}", report.name));
        }
        for l in report.stderr.lines() {
            self.line(&format!("[{} stderr] {l}", report.name));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redacts_every_known_form() {
        let mut r = Redactor::new();
        r.add("p@ss/w#rd:%xyz");
        r.add("apiVersion: v1\nusers:\n- name: admin\n  user:\n    token: abcdef0123456789\n");
        r.add("abc");
        let text = "url postgres://coder:p%40ss%2Fw%23rd%3A%25xyz@h/db and p@ss/w#rd:%xyz, token abcdef0123456789 abc";
        let out = r.redact(text);
        assert!(!out.contains("p@ss"), "{out}");
        assert!(!out.contains("p%40ss"), "{out}");
        assert!(!out.contains("abcdef0123456789"), "{out}");
        assert!(out.contains(" abc"), "short values are kept: {out}");
    }

    #[test]
    fn log_file_has_no_secret() {
        let d = tempfile::tempdir().unwrap();
        let log = RunLog::create(d.path(), "up", "dev").unwrap();
        log.add_secrets(["s3cret-password-1".to_string()]);
        log.line("connecting with s3cret-password-1\nsecond line");
        let text = std::fs::read_to_string(log.path()).unwrap();
        assert!(log.path().starts_with(d.path().join("logs/up")));
        assert!(
            log.path()
                .file_name()
                .unwrap()
                .to_str()
                .unwrap()
                .ends_with("-dev.log")
        );
        assert!(!text.contains("s3cret-password-1"));
        assert!(text.contains("connecting with (sensitive value)"));
        assert!(text.contains("second line"));
        let again = RunLog::create(d.path(), "up", "dev").unwrap();
        assert_ne!(again.path(), log.path());
    }
}
