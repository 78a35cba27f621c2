//! The shared test context of the CLI tests: a scratch project with its own HOME, the
//! `kapstan` command isolated from the caller's environment, the installed tools, readings of
//! an output (text, flattened, one snapshot transcript with one filter set) and the running
//! `kapstan sandbox serve` with the cloud controller's sync counter it exposes.
// Each module uses the pieces it needs; the `tools` modules use the rest.
#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::LazyLock;
use std::time::{Duration, Instant};

use serde_json::Value;

/// Environment variables a developer's shell may set that would change what kapstan does.
const CALLER_ENV: &[&str] = &[
    "KAPSTAN_STATE",
    "KAPSTAN_STACK",
    "KAPSTAN_STATE_KEY",
    "KAPSTAN_STATE_PASSPHRASE",
    "KAPSTAN_HELM",
    "KAPSTAN_SANDBOX_SECRET_KEY",
    "SCW_SECRET_KEY",
    "SCW_ACCESS_KEY",
    "SCW_DEFAULT_PROJECT_ID",
    "SCW_API_URL",
    "SCW_PROFILE",
    "SCW_CONFIG_PATH",
    "SCW_DEFAULT_REGION",
    "SCW_DEFAULT_ZONE",
    "XDG_CONFIG_HOME",
    "KUBECONFIG",
];

/// Where `scripts/test --tools-only` installs the test tools (`$KAPSTAN_TOOLS/bin`, default
/// `<workspace>/.tools/bin`).
pub fn tools_dir() -> PathBuf {
    std::env::var_os("KAPSTAN_TOOLS")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../.tools"))
        .join("bin")
}

/// The tools directory, after checking helm and kubectl are installed there.
pub fn tools_bin() -> PathBuf {
    let bin = tools_dir();
    for tool in ["helm", "kubectl"] {
        assert!(
            bin.join(tool).is_file(),
            "{tool} is missing from {}: run `scripts/test --tools-only` first",
            bin.display()
        );
    }
    bin
}

/// `PATH` with the tools directory first.
pub fn path_with_tools() -> String {
    format!(
        "{}:{}",
        tools_dir().display(),
        std::env::var("PATH").unwrap_or_default()
    )
}

/// The official Alloy chart the monitoring of staging and prod installs, which the sandbox's
/// chart repository serves (`KAPSTAN_SANDBOX_CHART_DIRS`).
pub fn alloy_chart() -> PathBuf {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../shared/fixtures/alloy-chart/alloy-1.11.1");
    assert!(
        dir.join("Chart.yaml").is_file(),
        "the official Alloy chart fixture is missing: expected {} (../shared/fixtures/alloy-chart/alloy-1.11.1 next to the repository)",
        dir.display()
    );
    dir
}

/// `program` run in `dir` with `home` as HOME, none of the caller's kapstan or Scaleway
/// settings, no colour, 100 columns, the tools on PATH and no terminal on stdin.
pub fn isolated(program: &Path, dir: &Path, home: &Path) -> Command {
    let mut c = Command::new(program);
    for var in CALLER_ENV {
        c.env_remove(var);
    }
    c.current_dir(dir)
        .env("HOME", home)
        .env("PATH", path_with_tools())
        .env("NO_COLOR", "1")
        .env("COLUMNS", "100")
        .env("KAPSTAN_SANDBOX_CHART_DIRS", alloy_chart())
        .stdin(Stdio::null());
    c
}

/// The kapstan binary under test.
pub fn kapstan_bin() -> &'static Path {
    Path::new(env!("CARGO_BIN_EXE_kapstan"))
}

/// `kapstan ARGS` in `dir` (also its HOME), isolated.
pub fn kapstan(dir: &Path, args: &[&str]) -> Command {
    let mut c = isolated(kapstan_bin(), dir, dir);
    c.args(args);
    c
}

/// Credentials that pass validation and an API address where nothing listens: a test that
/// reached the Scaleway API would fail.
pub fn offline(c: &mut Command) -> &mut Command {
    c.env("SCW_SECRET_KEY", "11111111-1111-4111-8111-111111111111")
        .env(
            "SCW_DEFAULT_PROJECT_ID",
            "22222222-2222-4222-8222-222222222222",
        )
        .env("SCW_API_URL", "http://127.0.0.1:9")
}

/// A scratch project directory with a HOME of its own (where `up` writes the kubeconfig).
pub struct Project {
    pub dir: tempfile::TempDir,
    pub home: tempfile::TempDir,
}

impl AsRef<Path> for Project {
    fn as_ref(&self) -> &Path {
        self.dir.path()
    }
}

impl Project {
    pub fn new() -> Self {
        Self {
            dir: tempfile::tempdir().unwrap(),
            home: tempfile::tempdir().unwrap(),
        }
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// Writes `text` to `relative` in the project, creating its directories.
    pub fn write(&self, relative: &str, text: &str) {
        let path = self.path().join(relative);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }

    /// `program ARGS` in the project, isolated.
    pub fn command(&self, program: &Path, args: &[&str]) -> Command {
        let mut c = isolated(program, self.path(), self.home.path());
        c.args(args);
        c
    }

    /// `kapstan ARGS` in the project, isolated, without credentials.
    pub fn cmd(&self, args: &[&str]) -> Command {
        self.command(kapstan_bin(), args)
    }

    pub fn run(&self, args: &[&str]) -> Output {
        self.cmd(args).output().unwrap()
    }

    /// `kapstan ARGS` with [`offline`] credentials.
    pub fn run_offline(&self, args: &[&str]) -> Output {
        offline(&mut self.cmd(args)).output().unwrap()
    }

    /// `kapstan ARGS`, which must succeed; its stdout.
    pub fn ok(&self, args: &[&str]) -> String {
        let o = self.run(args);
        assert!(
            o.status.success(),
            "kapstan {}: {}",
            args.join(" "),
            report(&o)
        );
        stdout(&o)
    }

    /// `kapstan WORDS`, the arguments split at whitespace (none of them holds a space).
    pub fn run_line(&self, words: &str) -> Output {
        self.run(&words.split_whitespace().collect::<Vec<_>>())
    }

    /// `kapstan WORDS` (split at whitespace), which must succeed; its stdout.
    pub fn ok_line(&self, words: &str) -> String {
        self.ok(&words.split_whitespace().collect::<Vec<_>>())
    }

    /// `kapstan up --env ENV --sandbox --auto-approve --template react-typescript`: both
    /// phases of `env` in the project's sandbox with one template, which must succeed; stdout
    /// then stderr.
    pub fn up_in_sandbox(&self, env: &str) -> String {
        let line = format!("up --env {env} --sandbox --auto-approve --template react-typescript");
        let o = self.run_line(&line);
        assert!(o.status.success(), "kapstan {line}: {}", report(&o));
        text(&o)
    }

    /// `kapstan up --env ENV --sandbox --dry-run --template react-typescript` plans no change
    /// in either phase (`what` names the moment in the failure message).
    pub fn up_plans_nothing(&self, env: &str, what: &str) {
        let o = self.run_line(&format!(
            "up --env {env} --sandbox --dry-run --template react-typescript"
        ));
        let t = text(&o);
        assert!(o.status.success(), "{t}");
        assert_eq!(t.matches("No changes.").count(), 2, "{what}: {t}");
    }

    /// `kapstan ARGS` against a served sandbox, configured the way `sandbox serve` says.
    pub fn run_against(&self, served: &Served, args: &[&str]) -> Output {
        self.cmd(args)
            .env("SCW_API_URL", &served.url)
            .env("SCW_SECRET_KEY", kapstan_sandbox::DEFAULT_SECRET_KEY)
            .env("SCW_ACCESS_KEY", "SCWSANDBOXXXXXXXXXXX")
            .env(
                "SCW_DEFAULT_PROJECT_ID",
                kapstan_sandbox::DEFAULT_PROJECT_ID,
            )
            .env("SCW_DEFAULT_REGION", "fr-par")
            .env("SCW_DEFAULT_ZONE", "fr-par-1")
            .output()
            .unwrap()
    }

    /// `kapstan sandbox serve ARGS` in the project, once it has printed `ready` (and its URL);
    /// stopped when the guard drops.
    pub fn serve(&self, args: &[&str], ready: &str) -> Served {
        let mut cmd = vec!["sandbox", "serve"];
        cmd.extend_from_slice(args);
        let mut child = self
            .cmd(&cmd)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        // Borrowed, not taken: the pipe stays open while it runs (a closed one would kill it
        // with SIGPIPE at its next line).
        let mut reader = BufReader::new(child.stdout.as_mut().unwrap());
        let mut banner = String::new();
        while !banner.contains(ready) {
            if reader.read_line(&mut banner).unwrap() == 0 {
                break;
            }
        }
        let url = banner
            .split_whitespace()
            .find(|w| w.starts_with("http://"))
            .unwrap_or_else(|| panic!("sandbox URL printed: {banner}"))
            .trim_end_matches(|c: char| !c.is_ascii_alphanumeric())
            .to_string();
        Served { child, url, banner }
    }

    /// The project's persisted sandbox served on its recorded port (the kubeconfig `up` wrote
    /// points there) at `speed`.
    pub fn serve_recorded(&self, speed: &str) -> Served {
        self.serve_recorded_until(speed, "http://")
    }

    /// [`Project::serve_recorded`], once it has printed `ready`.
    pub fn serve_recorded_until(&self, speed: &str, ready: &str) -> Served {
        let data = self.path().join(".kapstan/sandbox");
        let addr = format!("127.0.0.1:{}", self.sandbox_port());
        self.serve(
            &[
                "--addr",
                &addr,
                "--speed",
                speed,
                "--data-dir",
                data.to_str().unwrap(),
            ],
            ready,
        )
    }

    /// The port of the sandbox `--sandbox` persisted in the project.
    pub fn sandbox_port(&self) -> u16 {
        std::fs::read_to_string(self.path().join(".kapstan/sandbox/port"))
            .unwrap()
            .trim()
            .parse()
            .unwrap()
    }
}

pub fn code(o: &Output) -> i32 {
    o.status.code().unwrap_or(-1)
}

pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// stdout then stderr, for `contains` checks.
pub fn text(o: &Output) -> String {
    format!("{}{}", stdout(o), stderr(o))
}

/// stdout and stderr with miette's wrapping and gutters undone, for `contains` checks.
pub fn flat(o: &Output) -> String {
    text(o)
        .replace('│', " ")
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

/// Exit code, stdout and stderr, labelled: for snapshots and failure messages.
pub fn report(o: &Output) -> String {
    format!(
        "exit: {}\n--- stdout\n{}--- stderr\n{}",
        code(o),
        stdout(o),
        stderr(o)
    )
}

/// The one filter set of every snapshot: what changes from run to run becomes a placeholder.
static FILTERS: LazyLock<Vec<(regex::Regex, &'static str)>> = LazyLock::new(|| {
    [
        (r"obj-[0-9a-f]{16}", "[ID]"),
        (
            r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}",
            "[UUID]",
        ),
        (r"[0-9a-f]{64}", "[SHA256]"),
        (
            r"\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}:\d{2}(\.\d+)?Z?( UTC)?",
            "[TIME]",
        ),
        (r"\d{8}T\d{6}Z", "[STAMP]"),
        (r"pid \d+", "pid [PID]"),
        (r"host [A-Za-z0-9.-]+", "host [HOST]"),
        (r"[A-Za-z0-9_-]+@[A-Za-z0-9.-]+ \(pid", "[USER]@[HOST] (pid"),
        (r"after \d+s", "after [N]s"),
        // Group commits make the number of saves depend on timing.
        (r"serial \d+", "serial [N]"),
        (r"\d+ now\)", "[N] now)"),
    ]
    .into_iter()
    .map(|(re, placeholder)| (regex::Regex::new(re).unwrap(), placeholder))
    .collect()
});

/// [`report`] with the project and template paths and [`FILTERS`] made stable.
pub fn transcript(dir: impl AsRef<Path>, o: &Output) -> String {
    let templates = kapstan_stacks::templates::shipped_root();
    let mut out = report(o)
        .replace(&dir.as_ref().display().to_string(), "[PROJECT]")
        .replace(&templates.display().to_string(), "[TEMPLATES]");
    for (re, placeholder) in FILTERS.iter() {
        out = re.replace_all(&out, *placeholder).into_owned();
    }
    out
}

/// Stops a child process (started by a test) when the test ends, however it ends.
pub struct Guard(pub Child);

impl Drop for Guard {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A running `kapstan sandbox serve` at `url`, stopped on drop.
pub struct Served {
    pub child: Child,
    pub url: String,
    /// What it printed up to its `ready` line.
    pub banner: String,
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Served {
    /// The sandbox's inspection document (`GET /sandbox/v1/resources`).
    pub fn resources(&self) -> Value {
        let out = Command::new("curl")
            .args(["-sf", &format!("{}/sandbox/v1/resources", self.url)])
            .output()
            .unwrap();
        serde_json::from_slice(&out.stdout).unwrap_or(Value::Null)
    }

    /// How many times the sandbox's cloud controller has synced the busiest cluster's Services.
    pub fn ccm_syncs(&self) -> u64 {
        self.resources()["resources"]["kube.ccm"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|c| c["object"]["syncs"].as_u64())
            .max()
            .unwrap_or(0)
    }

    /// Waits until the cloud controller has synced the Services `n` more times.
    pub fn wait_for_ccm_syncs(&self, n: u64) {
        let start = self.ccm_syncs();
        let deadline = Instant::now() + Duration::from_secs(120);
        while self.ccm_syncs() < start + n {
            assert!(
                Instant::now() < deadline,
                "the cloud controller did not sync {n} times"
            );
            std::thread::sleep(Duration::from_millis(200));
        }
    }
}

/// The objects of one kind in a sandbox inspection document.
pub fn objects(doc: &Value, kind: &str) -> Vec<Value> {
    doc["resources"][kind]
        .as_array()
        .map(|a| a.iter().map(|r| r["object"].clone()).collect())
        .unwrap_or_default()
}
