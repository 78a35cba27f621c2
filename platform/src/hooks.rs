//! Lifecycle hooks: user executables in `hooks/` (`pre-up`, `post-up`, `pre-up-infra`,
//! `post-down-app`, …) run around `up`, `down` and `backup` with the environment, the phase
//! and the non-sensitive outputs in environment variables, under a timeout.
//!
//! A failing `pre-*` hook is an error (the command stops before touching anything); a failing
//! `post-*` hook is returned as a report with `success == false` for the caller to warn about.
//! Hooks never receive secrets: [`PublicOutputs`] can only be built from state documents, and
//! it drops every sensitive output.

use std::collections::BTreeMap;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use kapstan_state::StateDocument;

use crate::error::PlatformError;

/// How long a hook may run when the caller has no other setting.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(300);

/// Lines of a failing hook's stderr quoted in the error.
const TAIL_LINES: usize = 10;

/// Output kept per stream (the tail is kept when a hook prints more).
const MAX_CAPTURE: usize = 256 * 1024;

/// Variables a hook never inherits: the state key and passphrase.
const WITHHELD: [&str; 2] = ["KAPSTAN_STATE_KEY", "KAPSTAN_STATE_PASSPHRASE"];

/// The non-sensitive outputs of an environment's stacks, the only values hooks receive.
///
/// Built only from state documents, keeping outputs not marked sensitive: a secret cannot reach
/// a hook by construction.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PublicOutputs(BTreeMap<String, String>);

impl PublicOutputs {
    /// No outputs (e.g. before the first phase was ever applied).
    pub fn empty() -> Self {
        Self::default()
    }

    /// The non-sensitive outputs of `docs`; a later document wins on a name both define (pass
    /// infra before app so the app phase's `access_url` is the one hooks see).
    pub fn from_documents<'a>(docs: impl IntoIterator<Item = &'a StateDocument>) -> Self {
        let mut out = BTreeMap::new();
        for doc in docs {
            for (name, o) in &doc.outputs {
                if o.sensitive || o.value.is_null() {
                    continue;
                }
                out.insert(name.clone(), crate::environment::value_string(&o.value));
            }
        }
        Self(out)
    }

    /// The outputs by name.
    pub fn as_map(&self) -> &BTreeMap<String, String> {
        &self.0
    }

    /// The environment variables hooks get for them: `KAPSTAN_OUTPUT_<NAME>`.
    pub fn variables(&self) -> Vec<(String, String)> {
        self.0
            .iter()
            .map(|(k, v)| (format!("KAPSTAN_OUTPUT_{}", variable_suffix(k)), v.clone()))
            .collect()
    }
}

/// `access_url` → `ACCESS_URL`: upper case, anything else than letters and digits as `_`.
fn variable_suffix(name: &str) -> String {
    name.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_uppercase()
            } else {
                '_'
            }
        })
        .collect()
}

/// What a hook did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HookReport {
    /// The hook's name (`post-up`).
    pub name: String,
    /// The executable run.
    pub path: PathBuf,
    /// Its exit code (`None` when killed, e.g. on timeout).
    pub exit_code: Option<i32>,
    /// Whether it exited 0 within the timeout.
    pub success: bool,
    /// Whether it was killed at the timeout.
    pub timed_out: bool,
    /// How long it ran.
    pub duration: Duration,
    /// Its standard output (the tail, when long).
    pub stdout: String,
    /// Its standard error (the tail, when long).
    pub stderr: String,
}

impl HookReport {
    /// The last `n` non-empty lines of stderr (stdout when stderr is empty).
    pub fn last_lines(&self, n: usize) -> Vec<String> {
        let text = if self.stderr.trim().is_empty() {
            &self.stdout
        } else {
            &self.stderr
        };
        let lines: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).collect();
        lines[lines.len().saturating_sub(n)..]
            .iter()
            .map(|l| l.to_string())
            .collect()
    }

    /// One line for the user: `hook post-up: exit code 3 after 0.2s`.
    pub fn summary(&self) -> String {
        let how = if self.timed_out {
            format!(
                "did not finish within {}s and was killed",
                self.duration.as_secs()
            )
        } else {
            match self.exit_code {
                Some(0) => "succeeded".to_string(),
                Some(c) => format!("failed with exit code {c}"),
                None => "was killed by a signal".to_string(),
            }
        };
        format!(
            "hook {} {how} ({:.1}s)",
            self.name,
            self.duration.as_secs_f64()
        )
    }
}

/// Whether `name` is a hook name kapstan runs: `pre-` or `post-` followed by a command and an
/// optional phase (`pre-up`, `post-down-app`, `pre-backup`).
pub fn is_valid_name(name: &str) -> bool {
    (name.starts_with("pre-") || name.starts_with("post-"))
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        && !name.ends_with('-')
}

/// Runs `hooks/<name>` of the project if it exists (`Ok(None)` when it does not), with
/// `KAPSTAN_ENV`, `KAPSTAN_PHASE` (empty for whole-environment hooks), `KAPSTAN_HOOK`,
/// `KAPSTAN_PROJECT_DIR` and `KAPSTAN_OUTPUT_<NAME>` for every public output, in the project
/// directory, with stdin closed, killed (with its process group) after `timeout`.
///
/// A `pre-*` hook that fails, times out or cannot be run is an error naming the hook, its exit
/// code and the last lines of its stderr. A `post-*` hook's failure is returned as a report
/// with `success == false`: the caller warns and carries on.
pub fn run_hook(
    project_dir: &Path,
    name: &str,
    env: &str,
    phase: Option<&str>,
    outputs: &PublicOutputs,
    timeout: Duration,
) -> Result<Option<HookReport>, PlatformError> {
    if !is_valid_name(name) {
        return Err(PlatformError::usage(
            format!("`{name}` is not a hook name"),
            "hooks are named pre-<command>[-<phase>] or post-<command>[-<phase>], e.g. pre-up, post-down-app",
        ));
    }
    let path = project_dir.join("hooks").join(name);
    let meta = match std::fs::metadata(&path) {
        Ok(m) if m.is_file() => m,
        Ok(_) => return Ok(None),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(source) => {
            return Err(PlatformError::Io {
                action: "reading",
                path: path.display().to_string(),
                source,
            });
        }
    };
    let report = if is_executable(&meta) {
        execute(project_dir, &path, name, env, phase, outputs, timeout)?
    } else {
        HookReport {
            name: name.into(),
            path: path.clone(),
            exit_code: None,
            success: false,
            timed_out: false,
            duration: Duration::ZERO,
            stdout: String::new(),
            stderr: format!(
                "{} is not executable; run `chmod +x hooks/{name}`",
                path.display()
            ),
        }
    };
    if !report.success && name.starts_with("pre-") {
        return Err(failure(&report));
    }
    Ok(Some(report))
}

/// The error of a failed hook: its name, exit code and the last lines of its stderr.
pub fn failure(report: &HookReport) -> PlatformError {
    let tail = report.last_lines(TAIL_LINES);
    let mut message = report.summary();
    if !tail.is_empty() {
        message.push_str(":\n");
        for l in &tail {
            message.push_str("  | ");
            message.push_str(l);
            message.push('\n');
        }
        message.pop();
    }
    PlatformError::usage(
        message,
        format!(
            "nothing was changed; fix hooks/{} (or remove it) and run the command again",
            report.name
        ),
    )
}

#[cfg(unix)]
fn is_executable(meta: &std::fs::Metadata) -> bool {
    use std::os::unix::fs::PermissionsExt;
    meta.permissions().mode() & 0o111 != 0
}

#[cfg(not(unix))]
fn is_executable(_meta: &std::fs::Metadata) -> bool {
    true
}

fn capture(mut stream: impl Read + Send + 'static) -> std::thread::JoinHandle<String> {
    std::thread::spawn(move || {
        let mut kept: Vec<u8> = Vec::new();
        let mut buf = [0u8; 8192];
        loop {
            match stream.read(&mut buf) {
                Ok(0) | Err(_) => break,
                Ok(n) => {
                    kept.extend_from_slice(&buf[..n]);
                    if kept.len() > 2 * MAX_CAPTURE {
                        kept.drain(..kept.len() - MAX_CAPTURE);
                    }
                }
            }
        }
        if kept.len() > MAX_CAPTURE {
            kept.drain(..kept.len() - MAX_CAPTURE);
        }
        String::from_utf8_lossy(&kept).into_owned()
    })
}

/// Kills the hook and everything it started (its process group).
fn kill_group(child: &mut std::process::Child) {
    #[cfg(unix)]
    {
        let _ = Command::new("kill")
            .args(["-KILL", "--", &format!("-{}", child.id())])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
    }
    let _ = child.kill();
}

/// Spawns `cmd`, retrying for up to a second while the kernel says the script is busy
/// (`ETXTBSY`): a hook written just before it runs can still be open for writing in a child
/// another thread forked in between, until that child execs and closes it.
fn spawn_retrying_busy(cmd: &mut Command) -> std::io::Result<std::process::Child> {
    let deadline = Instant::now() + Duration::from_secs(1);
    loop {
        match cmd.spawn() {
            Err(e)
                if e.kind() == std::io::ErrorKind::ExecutableFileBusy
                    && Instant::now() < deadline =>
            {
                std::thread::sleep(Duration::from_millis(10));
            }
            other => return other,
        }
    }
}

fn execute(
    project_dir: &Path,
    path: &Path,
    name: &str,
    env: &str,
    phase: Option<&str>,
    outputs: &PublicOutputs,
    timeout: Duration,
) -> Result<HookReport, PlatformError> {
    let mut cmd = Command::new(path);
    cmd.current_dir(project_dir)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .env("KAPSTAN_ENV", env)
        .env("KAPSTAN_PHASE", phase.unwrap_or(""))
        .env("KAPSTAN_HOOK", name)
        .env("KAPSTAN_PROJECT_DIR", project_dir);
    for v in WITHHELD {
        cmd.env_remove(v);
    }
    // Outputs the user's environment may carry from an earlier run are not ours: clear them.
    for (k, _) in std::env::vars_os() {
        if let Some(k) = k.to_str()
            && k.starts_with("KAPSTAN_OUTPUT_")
        {
            cmd.env_remove(k);
        }
    }
    for (k, v) in outputs.variables() {
        cmd.env(k, v);
    }
    #[cfg(unix)]
    {
        use std::os::unix::process::CommandExt;
        cmd.process_group(0);
    }
    let start = Instant::now();
    let mut child = spawn_retrying_busy(&mut cmd).map_err(|source| PlatformError::Io {
        action: "running hook",
        path: path.display().to_string(),
        source,
    })?;
    let out = capture(child.stdout.take().expect("piped stdout"));
    let err = capture(child.stderr.take().expect("piped stderr"));
    let mut timed_out = false;
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break Some(status),
            Ok(None) if start.elapsed() >= timeout => {
                timed_out = true;
                kill_group(&mut child);
                break child.wait().ok();
            }
            Ok(None) => std::thread::sleep(Duration::from_millis(20)),
            Err(_) => {
                kill_group(&mut child);
                break child.wait().ok();
            }
        }
    };
    let duration = start.elapsed();
    // Anything the hook left running in its group was killed above on timeout; on a normal
    // exit, stray background processes holding the pipes are killed too so we do not hang.
    if !timed_out {
        kill_group(&mut child);
    }
    let stdout = out.join().unwrap_or_default();
    let stderr = err.join().unwrap_or_default();
    let exit_code = if timed_out {
        None
    } else {
        status.and_then(|s| s.code())
    };
    Ok(HookReport {
        name: name.into(),
        path: path.to_path_buf(),
        exit_code,
        success: !timed_out && exit_code == Some(0),
        timed_out,
        duration,
        stdout,
        stderr,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hook(dir: &Path, name: &str, body: &str) {
        use std::os::unix::fs::PermissionsExt;
        let hooks = dir.join("hooks");
        std::fs::create_dir_all(&hooks).unwrap();
        let p = hooks.join(name);
        std::fs::write(&p, body).unwrap();
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).unwrap();
    }

    fn outputs() -> PublicOutputs {
        let mut doc = StateDocument::new("coder-dev-infra");
        doc.outputs.insert(
            "access_url".into(),
            kapstan_state::OutputState {
                value: serde_json::json!("http://1.2.3.4"),
                sensitive: false,
            },
        );
        doc.outputs.insert(
            "database_password".into(),
            kapstan_state::OutputState {
                value: serde_json::json!("s3cret-value"),
                sensitive: true,
            },
        );
        PublicOutputs::from_documents([&doc])
    }

    #[test]
    fn absent_hook_is_none() {
        let d = tempfile::tempdir().unwrap();
        let r = run_hook(d.path(), "pre-up", "dev", None, &outputs(), DEFAULT_TIMEOUT).unwrap();
        assert!(r.is_none());
    }

    #[test]
    fn variables_and_no_secrets() {
        let d = tempfile::tempdir().unwrap();
        hook(
            d.path(),
            "post-up",
            "#!/bin/sh\nenv | grep ^KAPSTAN_ | sort\n",
        );
        let r = run_hook(
            d.path(),
            "post-up",
            "dev",
            Some("infra"),
            &outputs(),
            DEFAULT_TIMEOUT,
        )
        .unwrap()
        .unwrap();
        assert!(r.success, "{r:?}");
        assert!(r.stdout.contains("KAPSTAN_ENV=dev"));
        assert!(r.stdout.contains("KAPSTAN_PHASE=infra"));
        assert!(r.stdout.contains("KAPSTAN_HOOK=post-up"));
        assert!(
            r.stdout
                .contains("KAPSTAN_OUTPUT_ACCESS_URL=http://1.2.3.4")
        );
        assert!(!r.stdout.contains("s3cret-value"));
        assert!(!r.stdout.contains("DATABASE_PASSWORD"));
    }

    #[test]
    fn a_hook_still_open_for_writing_elsewhere_runs_once_it_is_closed() {
        let d = tempfile::tempdir().unwrap();
        hook(d.path(), "pre-up", "#!/bin/sh\necho ran\n");
        // What a child forked by another thread holds until it execs: the script open for
        // writing, which makes exec fail with ETXTBSY meanwhile.
        let writer = std::fs::OpenOptions::new()
            .append(true)
            .open(d.path().join("hooks/pre-up"))
            .unwrap();
        let closer = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(150));
            drop(writer);
        });
        let r = run_hook(d.path(), "pre-up", "dev", None, &outputs(), DEFAULT_TIMEOUT)
            .unwrap()
            .unwrap();
        closer.join().unwrap();
        assert!(r.success && r.stdout.contains("ran"), "{r:?}");
    }

    #[test]
    fn failing_pre_hook_is_an_error_post_hook_a_report() {
        let d = tempfile::tempdir().unwrap();
        let body = "#!/bin/sh\necho starting\necho 'no quota left' >&2\nexit 3\n";
        hook(d.path(), "pre-up", body);
        hook(d.path(), "post-up", body);
        let e = run_hook(d.path(), "pre-up", "dev", None, &outputs(), DEFAULT_TIMEOUT).unwrap_err();
        let msg = e.to_string();
        assert!(
            msg.contains("pre-up") && msg.contains("exit code 3") && msg.contains("no quota left"),
            "{msg}"
        );
        let r = run_hook(
            d.path(),
            "post-up",
            "dev",
            None,
            &outputs(),
            DEFAULT_TIMEOUT,
        )
        .unwrap()
        .unwrap();
        assert!(!r.success);
        assert_eq!(r.exit_code, Some(3));
    }

    #[test]
    fn timeout_kills_the_hook_and_its_children() {
        let d = tempfile::tempdir().unwrap();
        hook(d.path(), "post-down", "#!/bin/sh\nsleep 30 &\nsleep 30\n");
        let start = Instant::now();
        let r = run_hook(
            d.path(),
            "post-down",
            "dev",
            None,
            &outputs(),
            Duration::from_millis(300),
        )
        .unwrap()
        .unwrap();
        assert!(r.timed_out && !r.success);
        assert!(start.elapsed() < Duration::from_secs(10));
        assert!(r.summary().contains("did not finish"));
    }

    #[test]
    fn bad_names_are_refused() {
        let d = tempfile::tempdir().unwrap();
        for n in ["up", "pre-../x", "pre-", "PRE-UP"] {
            assert!(
                run_hook(d.path(), n, "dev", None, &outputs(), DEFAULT_TIMEOUT).is_err(),
                "{n}"
            );
        }
    }
}
