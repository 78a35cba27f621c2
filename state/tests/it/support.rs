//! The shared test context of the state tests: real S3 servers (ministack, moto) from
//! `scripts/test --tools-only` started on free loopback ports and stopped by PID when dropped.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Where `scripts/test --tools-only` installed the tools.
pub fn tools_dir() -> PathBuf {
    match std::env::var("KAPSTAN_TOOLS") {
        Ok(dir) if !dir.is_empty() => PathBuf::from(dir),
        _ => Path::new(env!("CARGO_MANIFEST_DIR")).join("../.tools"),
    }
}

/// The installed tool `name` (in the tools' Python venv).
pub fn tool(name: &str) -> PathBuf {
    tool_in(&tools_dir(), name)
}

/// The tool `name` under `tools`, or a panic saying how to install it.
pub fn tool_in(tools: &Path, name: &str) -> PathBuf {
    let path = tools.join("venv/bin").join(name);
    assert!(
        path.exists(),
        "{} is missing: these tests need real S3 servers; run `scripts/test --tools-only` (or set KAPSTAN_TOOLS to a directory holding venv/bin/{name})",
        path.display()
    );
    path
}

/// A free loopback port.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Which S3 server.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Kind {
    Ministack,
    Moto,
}

/// A running S3 server on a free loopback port, killed when dropped.
pub struct Server {
    kind: Kind,
    child: Option<Child>,
    pub port: u16,
    dir: tempfile::TempDir,
}

impl Server {
    /// A ministack with objects in a scratch directory.
    pub fn ministack() -> Self {
        Self::start(Kind::Ministack, None)
    }

    /// A moto server.
    pub fn moto() -> Self {
        Self::start(Kind::Moto, None)
    }

    /// A ministack keeping its objects in `data` across restarts.
    pub fn ministack_persistent(data: &Path) -> Self {
        Self::start(Kind::Ministack, Some(data))
    }

    fn start(kind: Kind, persist: Option<&Path>) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let port = free_port();
        let log = std::fs::File::create(dir.path().join("server.log")).unwrap();
        let mut cmd = match kind {
            Kind::Ministack => {
                let mut c = Command::new(tool("ministack"));
                c.env("SERVICES", "s3")
                    .env("GATEWAY_PORT", port.to_string())
                    .env("BIND_HOST", "127.0.0.1")
                    .env(
                        "S3_DATA_DIR",
                        persist.map_or_else(|| dir.path().join("data"), Path::to_path_buf),
                    );
                if persist.is_some() {
                    c.env("S3_PERSIST", "1");
                }
                c
            }
            Kind::Moto => {
                let mut c = Command::new(tool("moto_server"));
                c.args(["-H", "127.0.0.1", "-p", &port.to_string()]);
                c
            }
        };
        let child = cmd
            .env("AWS_ACCESS_KEY_ID", "test")
            .env("AWS_SECRET_ACCESS_KEY", "test")
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .unwrap_or_else(|e| panic!("starting {kind:?}: {e}"));
        let mut server = Self {
            kind,
            child: Some(child),
            port,
            dir,
        };
        server.wait_ready();
        server
    }

    fn wait_ready(&mut self) {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Ok(mut s) = TcpStream::connect(("127.0.0.1", self.port)) {
                let _ = s.set_read_timeout(Some(Duration::from_secs(2)));
                let _ = s.write_all(b"GET / HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n");
                let mut buf = [0u8; 5];
                if s.read_exact(&mut buf).is_ok() && &buf == b"HTTP/" {
                    return;
                }
            }
            if let Some(status) = self.child.as_mut().and_then(|c| c.try_wait().unwrap()) {
                panic!(
                    "{:?} exited with {status} before answering: {}",
                    self.kind,
                    std::fs::read_to_string(self.dir.path().join("server.log")).unwrap_or_default()
                );
            }
            assert!(
                Instant::now() < deadline,
                "{:?} did not answer on port {} within 30 s",
                self.kind,
                self.port
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// The server's URL.
    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Kills the server process (by its PID) and waits for it.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.kill();
    }
}
