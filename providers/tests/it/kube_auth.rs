//! Every way a kubeconfig can authenticate reaches the API server: a bearer token, an exec
//! credential plugin (a script that prints an `ExecCredential`, against the sandbox's
//! Kubernetes API, which checks the token) and a client certificate (against `openssl
//! s_server`, which refuses a TLS handshake without a certificate its CA signed).

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use base64::Engine as _;
use kapstan_providers::kubernetes::k8s_openapi::api::core::v1::ConfigMap;
use kapstan_providers::kubernetes::{KubeClient, KubeError, ObjectRef};
use kapstan_sandbox::{Sandbox, SandboxOptions};
use serde_json::json;

/// A sandbox cluster: its API server URL and admin token.
async fn sandbox_cluster() -> (Sandbox, String, String) {
    let sandbox = Sandbox::start(SandboxOptions {
        speed: 200.0,
        ..Default::default()
    })
    .await
    .expect("sandbox starts");
    let cluster = sandbox.create_cluster("c1").await.expect("cluster");
    (sandbox, cluster.server, cluster.token)
}

fn kubeconfig_with_user(server: &str, user: &str) -> String {
    format!(
        "apiVersion: v1\nkind: Config\nclusters:\n- name: c\n  cluster:\n    server: {server}\ncontexts:\n- name: c\n  context:\n    cluster: c\n    user: u\ncurrent-context: c\nusers:\n- name: u\n  user:\n{user}"
    )
}

/// A credential plugin that records that it ran and prints `token`.
fn exec_plugin(dir: &Path, name: &str, token: &str) -> String {
    let path = dir.join(name);
    let marker = dir.join(format!("{name}.ran"));
    std::fs::write(
        &path,
        format!(
            "#!/bin/sh\ntouch '{}'\ncat <<'EOF'\n{{\"apiVersion\":\"client.authentication.k8s.io/v1\",\"kind\":\"ExecCredential\",\"status\":{{\"token\":\"{token}\"}}}}\nEOF\n",
            marker.display()
        ),
    )
    .unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    format!(
        "    exec:\n      apiVersion: client.authentication.k8s.io/v1\n      command: {}\n      interactiveMode: Never\n",
        path.display()
    )
}

#[tokio::test]
async fn an_exec_credential_plugin_authenticates_to_the_sandbox_cluster() {
    let (_sandbox, server, token) = sandbox_cluster().await;
    let dir = tempfile::tempdir().unwrap();

    let user = exec_plugin(dir.path(), "good-plugin", &token);
    let client = KubeClient::from_kubeconfig(&kubeconfig_with_user(&server, &user))
        .expect("a kubeconfig with an exec plugin is accepted");
    assert!(
        dir.path().join("good-plugin.ran").exists(),
        "the plugin ran"
    );
    let cm = json!({"apiVersion": "v1", "kind": "ConfigMap",
        "metadata": {"name": "from-exec", "namespace": "default"}, "data": {"k": "v"}});
    client.apply(&cm, "kapstan", true).await.expect("apply");
    let read: ConfigMap = client
        .get_typed(Some("default"), "from-exec")
        .await
        .unwrap()
        .expect("the ConfigMap exists");
    assert_eq!(read.data.unwrap()["k"], "v");

    // The token the plugin prints is what the server checks: a wrong one is refused.
    let user = exec_plugin(dir.path(), "bad-plugin", "not-the-cluster-token");
    let client = KubeClient::from_kubeconfig(&kubeconfig_with_user(&server, &user))
        .unwrap()
        .with_retry_deadline(Duration::ZERO);
    let err = client
        .get(&ObjectRef::new(
            "v1",
            "ConfigMap",
            Some("default"),
            "from-exec",
        ))
        .await
        .unwrap_err();
    assert!(
        matches!(err, KubeError::Api { code: 401, .. }),
        "a wrong token is refused: {err}"
    );
    assert!(!err.to_string().contains("not-the-cluster-token"), "{err}");

    // A plugin that fails is reported when the client is made, before any API call.
    let user = "    exec:\n      apiVersion: client.authentication.k8s.io/v1\n      command: /bin/false\n      interactiveMode: Never\n";
    let err = KubeClient::from_kubeconfig(&kubeconfig_with_user(&server, user)).unwrap_err();
    assert!(matches!(err, KubeError::Auth { .. }), "{err}");
}

fn openssl(dir: &Path, args: &[&str]) {
    let out = Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .output()
        .expect("openssl runs (Debian package openssl)");
    assert!(
        out.status.success(),
        "openssl {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A CA, a server certificate for 127.0.0.1 and a client certificate, all signed by the CA.
fn certificates(dir: &Path) {
    openssl(
        dir,
        &[
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "1",
            "-subj",
            "/CN=kapstan test CA",
            "-keyout",
            "ca.key",
            "-out",
            "ca.pem",
        ],
    );
    std::fs::write(
        dir.join("server.ext"),
        "subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth\n",
    )
    .unwrap();
    std::fs::write(dir.join("client.ext"), "extendedKeyUsage=clientAuth\n").unwrap();
    for (who, subject) in [
        ("server", "/CN=127.0.0.1"),
        ("client", "/O=system:masters/CN=admin"),
    ] {
        openssl(
            dir,
            &[
                "req",
                "-newkey",
                "rsa:2048",
                "-nodes",
                "-subj",
                subject,
                "-keyout",
                &format!("{who}.key"),
                "-out",
                &format!("{who}.csr"),
            ],
        );
        openssl(
            dir,
            &[
                "x509",
                "-req",
                "-in",
                &format!("{who}.csr"),
                "-CA",
                "ca.pem",
                "-CAkey",
                "ca.key",
                "-CAcreateserial",
                "-days",
                "1",
                "-extfile",
                &format!("{who}.ext"),
                "-out",
                &format!("{who}.pem"),
            ],
        );
    }
}

struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// `openssl s_server` requiring a client certificate signed by the CA, serving the files of
/// `dir` (`GET /version` answers the `version` file).
fn tls_server(dir: &Path) -> (Server, u16) {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    std::fs::write(
        dir.join("version"),
        json!({"major": "1", "minor": "32", "gitVersion": "v1.32.13", "gitCommit": "x",
            "gitTreeState": "clean", "buildDate": "2026-01-01T00:00:00Z", "goVersion": "go1.24",
            "compiler": "gc", "platform": "linux/amd64"})
        .to_string(),
    )
    .unwrap();
    let child = Command::new("openssl")
        .args([
            "s_server",
            "-accept",
            &format!("127.0.0.1:{port}"),
            "-cert",
            "server.pem",
            "-key",
            "server.key",
            "-CAfile",
            "ca.pem",
            "-Verify",
            "1",
            "-verify_return_error",
            "-WWW",
            "-quiet",
        ])
        .current_dir(dir)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("openssl s_server starts");
    let server = Server(child);
    for _ in 0..100 {
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    (server, port)
}

fn b64_file(dir: &Path, name: &str) -> String {
    base64::engine::general_purpose::STANDARD.encode(std::fs::read(dir.join(name)).unwrap())
}

#[tokio::test]
async fn a_client_certificate_authenticates_over_tls() {
    let dir = tempfile::tempdir().unwrap();
    certificates(dir.path());
    let (_server, port) = tls_server(dir.path());
    let kubeconfig = |user: &str| {
        format!(
            "apiVersion: v1\nkind: Config\nclusters:\n- name: c\n  cluster:\n    server: https://127.0.0.1:{port}\n    certificate-authority-data: {}\ncontexts:\n- name: c\n  context:\n    cluster: c\n    user: u\ncurrent-context: c\nusers:\n- name: u\n  user:\n{user}",
            b64_file(dir.path(), "ca.pem")
        )
    };
    let with_cert = format!(
        "    client-certificate-data: {}\n    client-key-data: {}\n",
        b64_file(dir.path(), "client.pem"),
        b64_file(dir.path(), "client.key")
    );
    let client = KubeClient::from_kubeconfig(&kubeconfig(&with_cert))
        .expect("a kubeconfig with a client certificate is accepted");
    let version = client
        .wait_until_ready(Duration::from_secs(20))
        .await
        .expect("the server accepts the client certificate");
    assert_eq!(version, "v1.32.13");

    // Without a certificate the server refuses the handshake.
    let client = KubeClient::from_kubeconfig(&kubeconfig("    token: t\n"))
        .unwrap()
        .with_retry_deadline(Duration::ZERO);
    let err = client
        .wait_until_ready(Duration::ZERO)
        .await
        .expect_err("no client certificate, no TLS session");
    assert!(matches!(err, KubeError::Unreachable { .. }), "{err}");

    // A certificate without its key is named, before any API call.
    let broken = format!(
        "    client-certificate-data: {}\n",
        b64_file(dir.path(), "client.pem")
    );
    let err = KubeClient::from_kubeconfig(&kubeconfig(&broken)).unwrap_err();
    assert!(err.to_string().contains("client"), "{err}");
}
