//! Pebble, Let's Encrypt's ACME test server (Debian's `pebble`, installed by `scripts/test`
//! into `.tools/bin`), started for a test on 127.0.0.1: a localhost certificate generated for
//! its API, DNS-01 challenges resolved through the DNS server given (the sandbox's responder),
//! no artificial validation delay, and the share of nonces it refuses (`badNonce`) chosen by
//! the test. Shared by the provider and the CLI test binaries (`#[path]`): one start-up.
// Each binary uses the parts it needs.
#![allow(dead_code)]

use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// A running Pebble; killed on drop.
pub struct Pebble {
    child: Child,
    /// Its ACME directory URL.
    pub directory: String,
    /// Its management interface (roots, intermediates).
    pub management: SocketAddr,
    /// The self-signed certificate Pebble serves its API with (PEM): the CA bundle a client
    /// of the directory needs.
    pub tls_ca: String,
    dir: tempfile::TempDir,
}

impl Drop for Pebble {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A port free on 127.0.0.1 now.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

impl Pebble {
    /// Starts the Pebble at `binary` resolving through `dns` with `nonce_reject` percent of
    /// nonces refused; returns once both listeners accept connections.
    pub fn start(binary: &Path, dns: SocketAddr, nonce_reject: u32) -> Pebble {
        let dir = tempfile::tempdir().unwrap();
        let key = rcgen::KeyPair::generate().unwrap();
        let mut params =
            rcgen::CertificateParams::new(vec!["localhost".into(), "127.0.0.1".into()]).unwrap();
        params.is_ca = rcgen::IsCa::NoCa;
        let cert = params.self_signed(&key).unwrap();
        std::fs::write(dir.path().join("cert.pem"), cert.pem()).unwrap();
        std::fs::write(dir.path().join("key.pem"), key.serialize_pem()).unwrap();
        let (api, mgmt) = (free_port(), free_port());
        let config = serde_json::json!({"pebble": {
            "listenAddress": format!("127.0.0.1:{api}"),
            "managementListenAddress": format!("127.0.0.1:{mgmt}"),
            "certificate": dir.path().join("cert.pem"),
            "privateKey": dir.path().join("key.pem"),
            "httpPort": 5002,
            "tlsPort": 5001,
            "ocspResponderURL": "",
            "externalAccountBindingRequired": false
        }});
        let cfg = dir.path().join("pebble.json");
        std::fs::write(&cfg, config.to_string()).unwrap();
        let child = Command::new(binary)
            .arg("-config")
            .arg(&cfg)
            .arg("-dnsserver")
            .arg(dns.to_string())
            .env("PEBBLE_VA_NOSLEEP", "1")
            .env("PEBBLE_WFE_NONCEREJECT", nonce_reject.to_string())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("pebble starts");
        let management: SocketAddr = format!("127.0.0.1:{mgmt}").parse().unwrap();
        for _ in 0..200 {
            if TcpStream::connect(("127.0.0.1", api)).is_ok()
                && TcpStream::connect(management).is_ok()
            {
                break;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        Pebble {
            child,
            directory: format!("https://127.0.0.1:{api}/dir"),
            management,
            tls_ca: cert.pem(),
            dir,
        }
    }

    /// The CA bundle of the directory's TLS, written to a file (for `ca_bundle_file`).
    pub fn tls_ca_file(&self) -> std::path::PathBuf {
        let path = self.dir.path().join("api-ca.pem");
        std::fs::write(&path, &self.tls_ca).unwrap();
        path
    }

    /// Pebble's issuing root (PEM), generated at its start.
    pub async fn root_pem(&self) -> String {
        let client = reqwest::Client::builder()
            .add_root_certificate(reqwest::Certificate::from_pem(self.tls_ca.as_bytes()).unwrap())
            .build()
            .unwrap();
        client
            .get(format!("https://{}/roots/0", self.management))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap()
    }
}
