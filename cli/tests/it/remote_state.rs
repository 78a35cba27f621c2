//! The `kapstan` binary with its state on a real S3 server (ministack, started here on
//! 127.0.0.1): bootstrap, two concurrent applies on one stack (exactly one proceeds, the other
//! fails fast naming the holder), secrets sealed in the bucket, migration back to local.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::support::{self, text};

fn ministack() -> PathBuf {
    let tools = std::env::var_os("KAPSTAN_TOOLS")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../.tools"));
    let bin = tools.join("venv/bin/ministack");
    assert!(
        bin.exists(),
        "{} is missing: run `scripts/test --tools-only` first",
        bin.display()
    );
    bin
}

struct S3 {
    child: Child,
    port: u16,
    _dir: tempfile::TempDir,
}

impl S3 {
    fn start() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let child = Command::new(ministack())
            .env("SERVICES", "s3")
            .env("GATEWAY_PORT", port.to_string())
            .env("BIND_HOST", "127.0.0.1")
            .env("S3_DATA_DIR", dir.path().join("data"))
            .env("AWS_ACCESS_KEY_ID", "test")
            .env("AWS_SECRET_ACCESS_KEY", "test")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Ok(mut s) = TcpStream::connect(("127.0.0.1", port)) {
                let _ = s.set_read_timeout(Some(Duration::from_secs(2)));
                let _ = s.write_all(b"GET / HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n");
                let mut buf = [0u8; 5];
                if s.read_exact(&mut buf).is_ok() && &buf == b"HTTP/" {
                    break;
                }
            }
            assert!(Instant::now() < deadline, "ministack did not start");
            std::thread::sleep(Duration::from_millis(100));
        }
        Self {
            child,
            port,
            _dir: dir,
        }
    }

    fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }
}

impl Drop for S3 {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `kapstan ARGS` in `dir` on the state `state`, sealed with a fixed key, with the S3
/// server's credentials.
fn kapstan(dir: &Path, state: &str, args: &[&str]) -> Command {
    let mut c = support::kapstan(dir, args);
    c.env("KAPSTAN_STATE", state)
        .env(
            "KAPSTAN_STATE_KEY",
            "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=",
        )
        .env("AWS_ACCESS_KEY_ID", "test")
        .env("AWS_SECRET_ACCESS_KEY", "test");
    c
}

#[test]
fn two_applies_on_one_s3_stack_exactly_one_proceeds_and_secrets_stay_sealed() {
    let s3 = S3::start();
    let project = tempfile::tempdir().unwrap();
    let dir = project.path();
    let boot = kapstan(
        dir,
        "local",
        &[
            "state",
            "bootstrap",
            "--bucket",
            "kapstan-state",
            "--region",
            "us-east-1",
            "--endpoint",
            &s3.endpoint(),
            "--path-style",
        ],
    )
    .output()
    .unwrap();
    assert!(boot.status.success(), "{}", text(&boot));
    let state = format!(
        "s3://kapstan-state/teams?region=us-east-1&endpoint={}&path_style=true",
        s3.endpoint()
    );

    let args = [
        "apply",
        "--auto-approve",
        "--stack",
        "synthetic",
        "--var",
        "resources=3",
        "--var",
        "delay_ms=1500",
    ];
    let first = kapstan(dir, &state, &args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let first_pid = first.id();
    // Start the second while the first holds the lock for its apply.
    std::thread::sleep(Duration::from_millis(700));
    let started = Instant::now();
    let second = kapstan(dir, &state, &args).output().unwrap();
    let second_took = started.elapsed();
    let first = first.wait_with_output().unwrap();
    assert!(first.status.success(), "first: {}", text(&first));
    assert!(
        !second.status.success(),
        "second must not proceed: {}",
        text(&second)
    );
    let t = text(&second);
    assert!(t.contains("is locked by"), "{t}");
    assert!(
        t.contains(&format!("pid {first_pid}")),
        "names the holder: {t}"
    );
    assert!(
        second_took < Duration::from_secs(5),
        "fails fast, took {second_took:?}"
    );

    // The demo stack's password is sealed in the bucket: pull shows it sealed, output shows it.
    let o = kapstan(dir, &state, &["apply", "--auto-approve"])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", text(&o));
    let secret = kapstan(dir, &state, &["output", "db_password"])
        .output()
        .unwrap();
    let secret = String::from_utf8_lossy(&secret.stdout).trim().to_string();
    assert_eq!(secret.len(), 24);
    let pulled = kapstan(dir, &state, &["state", "pull"]).output().unwrap();
    let pulled = String::from_utf8_lossy(&pulled.stdout);
    assert!(
        pulled.contains("$sealed") && !pulled.contains(&secret),
        "sealed in the bucket"
    );

    // Migrate every stack back to a local store; kapstan.toml then points there.
    let o = kapstan(
        dir,
        &state,
        &["state", "migrate", "--to", "local:.kapstan-local"],
    )
    .env_remove("KAPSTAN_STATE")
    .env("KAPSTAN_STATE", &state)
    .output()
    .unwrap();
    assert!(o.status.success(), "{}", text(&o));
    let toml = std::fs::read_to_string(dir.join("kapstan.toml")).unwrap();
    assert!(toml.contains(".kapstan-local"), "{toml}");
    let mut local = kapstan(dir, "", &["output", "db_password"]);
    local.env_remove("KAPSTAN_STATE");
    let o = local.output().unwrap();
    assert_eq!(
        String::from_utf8_lossy(&o.stdout).trim(),
        secret,
        "{}",
        text(&o)
    );
}
