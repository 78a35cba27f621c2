//! Coder's own TLS listener behind a load balancer's TCP 443 frontend, and Coder's redirect of
//! plain HTTP to the access URL.
//!
//! Written from the official chart (`coder.tls.secretNames`: `CODER_TLS_ENABLE`,
//! `CODER_TLS_ADDRESS=0.0.0.0:8443`, `CODER_TLS_CERT_FILE` / `CODER_TLS_KEY_FILE` under the
//! `kubernetes.io/tls` Secret's volume, a container port `https` 8443 and a Service port 443 →
//! `https`), from Scaleway's load balancer (a TCP frontend passes the TLS stream through to the
//! backend's servers on the Service's node port) and from Coder's server (it reads its
//! certificate files once, at start-up; with `CODER_REDIRECT_TO_ACCESS_URL` a plain-HTTP request
//! is answered `307` to the `https://` access URL, except `/healthz` and DERP, and a request for
//! another host than the access URL's or the wildcard's is redirected too).
//!
//! A pod reads its files when it starts: [`mounted_tls_files`] records them at each rollout, so
//! a Secret changed without a rollout keeps the old certificate served, as on a real cluster.

use std::sync::{Arc, Weak};
use std::time::Duration;

use axum::Router;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use chrono::{DateTime, Utc};
use hyper_util::rt::TokioIo;
use hyper_util::service::TowerToHyperService;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use serde_json::{Value, json};

use crate::api::lb::{BACKEND, FRONTEND, LB};
use crate::kube::objects::{self, OBJECT};
use crate::kube::resources;
use crate::server::AppState;
use crate::store::Store;

/// The port a Service exposes Coder's TLS listener on (the chart's `https` port).
pub const HTTPS_PORT: u64 = 443;

/// The value of environment variable `name` of the Coder container of Deployment `spec`.
fn env_value<'a>(deployment: &'a Value, name: &str) -> Option<&'a str> {
    coder_container(deployment)?["env"]
        .as_array()?
        .iter()
        .find(|e| e["name"] == name)
        .and_then(|e| e["value"].as_str())
}

fn coder_container(deployment: &Value) -> Option<&Value> {
    deployment["spec"]["template"]["spec"]["containers"]
        .as_array()?
        .iter()
        .find(|c| {
            c["image"]
                .as_str()
                .is_some_and(|i| i.contains("coder/coder"))
                || c["command"].get(0).and_then(Value::as_str) == Some("/opt/coder")
        })
}

/// Where file `path` of the Coder container comes from: the Secret and key of the volume
/// mounted over it.
fn secret_file(deployment: &Value, path: &str) -> Result<(String, String), String> {
    let container = coder_container(deployment).ok_or("no Coder container")?;
    let mount = container["volumeMounts"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|m| {
            m["mountPath"].as_str().is_some_and(|mp| {
                path.strip_prefix(mp.trim_end_matches('/'))
                    .is_some_and(|rest| rest.starts_with('/') && rest.len() > 1)
            })
        })
        .ok_or_else(|| format!("{path}: no volume is mounted there"))?;
    let mount_path = mount["mountPath"].as_str().unwrap_or_default();
    let volume = deployment["spec"]["template"]["spec"]["volumes"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|v| v["name"] == mount["name"])
        .ok_or_else(|| format!("{path}: volume {} is not declared", mount["name"]))?;
    let secret = volume["secret"]["secretName"]
        .as_str()
        .ok_or_else(|| format!("{path}: volume {} is not a Secret", mount["name"]))?;
    let key = path[mount_path.trim_end_matches('/').len() + 1..].to_string();
    Ok((secret.to_string(), key))
}

/// The certificate and key files the Coder pod of `deployment` reads at start-up, from the
/// Secrets mounted now: `{"cert": base64, "key": base64}`, `{"error": why}`, or `null` when
/// TLS is off.
pub fn mounted_tls_files(
    s: &Store,
    now: DateTime<Utc>,
    cluster: &str,
    ns: &str,
    deployment: &Value,
) -> Value {
    if env_value(deployment, "CODER_TLS_ENABLE") != Some("true") {
        return Value::Null;
    }
    let secret_rt = resources::find("", "v1", "secrets").expect("served");
    let read = |var: &str| -> Result<String, String> {
        // One certificate per Secret in `secretNames`; Coder serves the first that matches
        // the name asked, and kapstan names one.
        let path = env_value(deployment, var)
            .and_then(|v| v.split(',').next())
            .filter(|p| !p.is_empty())
            .ok_or_else(|| format!("{var} is not set"))?;
        let (secret, key) = secret_file(deployment, path)?;
        let rec = s
            .get(OBJECT, &objects::key(cluster, secret_rt, ns, &secret), now)
            .ok_or_else(|| format!("secret \"{secret}\" not found (volume of {path})"))?;
        rec.body["data"][&key]
            .as_str()
            .map(str::to_string)
            .ok_or_else(|| format!("secret \"{secret}\" has no key {key} ({path})"))
    };
    match (read("CODER_TLS_CERT_FILE"), read("CODER_TLS_KEY_FILE")) {
        (Ok(cert), Ok(key)) => json!({"cert": cert, "key": key}),
        (Err(e), _) | (_, Err(e)) => json!({"error": e}),
    }
}

/// What the TLS listener of load balancer `lb_id` serves now: the certificate chain and key
/// the Coder pod loaded, or why the connection cannot reach a TLS listener.
fn identity(s: &Store, lb_id: &str, now: DateTime<Utc>) -> Result<(Vec<u8>, Vec<u8>), String> {
    let backend = objects::coder_backend(s, lb_id, now)?;
    let deployment = s
        .get(OBJECT, &backend.deployment_key, now)
        .ok_or("the Coder Deployment is gone")?;
    let body = &deployment.body;
    if env_value(body, "CODER_TLS_ENABLE") != Some("true") {
        return Err("Coder's TLS listener is off (CODER_TLS_ENABLE is not true)".into());
    }
    let tls_port: u64 = env_value(body, "CODER_TLS_ADDRESS")
        .and_then(|a| a.rsplit(':').next())
        .and_then(|p| p.parse().ok())
        .ok_or("CODER_TLS_ADDRESS names no port")?;
    let service = s
        .list(OBJECT, now)
        .into_iter()
        .find(|r| r.body["kind"] == "Service" && r.extra["lb"]["id"] == lb_id)
        .ok_or("no Service uses this load balancer")?;
    let port = service.body["spec"]["ports"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|p| p["port"] == HTTPS_PORT)
        .ok_or("the Service has no port 443")?;
    let container_port = match &port["targetPort"] {
        Value::Number(n) => n.as_u64(),
        Value::String(name) => coder_container(body)
            .and_then(|c| c["ports"].as_array())
            .into_iter()
            .flatten()
            .find(|p| p["name"] == name.as_str())
            .and_then(|p| p["containerPort"].as_u64()),
        _ => None,
    };
    if container_port != Some(tls_port) {
        return Err(format!(
            "the Service's port 443 targets {}, not Coder's TLS listener on {tls_port}",
            port["targetPort"]
        ));
    }
    let node_port = port["nodePort"]
        .as_u64()
        .ok_or("port 443 has no node port")?;
    // TCP passthrough: a frontend on 443 whose backend forwards TCP to the node port.
    let passthrough = s.children(FRONTEND, LB, lb_id, now).into_iter().any(|f| {
        f.body["inbound_port"] == HTTPS_PORT
            && f.body["certificate_ids"]
                .as_array()
                .is_none_or(|c| c.is_empty())
            && s.get(BACKEND, f.str("backend_id"), now).is_some_and(|b| {
                b.body["forward_port"] == node_port && b.body["forward_protocol"] == "tcp"
            })
    });
    if !passthrough {
        return Err(
            "the load balancer has no TCP frontend on 443 forwarding to the Service's node port"
                .into(),
        );
    }
    let files = match &deployment.extra["tls_files"] {
        // The pod waits for its Secret volume: it starts with what the Secret holds once there.
        f if f.get("error").is_some() || f.is_null() => {
            let cluster = deployment.extra["cluster"].as_str().unwrap_or_default();
            let ns = deployment.extra["ns"].as_str().unwrap_or_default();
            mounted_tls_files(s, now, cluster, ns, body)
        }
        f => f.clone(),
    };
    if let Some(e) = files["error"].as_str() {
        return Err(format!("the Coder pod cannot start its TLS listener: {e}"));
    }
    let decode = |k: &str| {
        base64::engine::general_purpose::STANDARD
            .decode(files[k].as_str().unwrap_or_default())
            .map_err(|_| format!("the Secret's {k} is not base64"))
    };
    Ok((decode("cert")?, decode("key")?))
}

fn server_config(cert: &[u8], key: &[u8]) -> Result<rustls::ServerConfig, String> {
    let chain: Vec<CertificateDer<'static>> = CertificateDer::pem_slice_iter(cert)
        .collect::<Result<_, _>>()
        .map_err(|e| format!("tls.crt is not PEM: {e}"))?;
    if chain.is_empty() {
        return Err("tls.crt holds no certificate".into());
    }
    let key = PrivateKeyDer::from_pem_slice(key).map_err(|e| format!("tls.key: {e}"))?;
    rustls::ServerConfig::builder_with_provider(Arc::new(
        rustls::crypto::aws_lc_rs::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .map_err(|e| e.to_string())?
    .with_no_client_auth()
    .with_single_cert(chain, key)
    .map_err(|e| format!("the certificate and key do not go together: {e}"))
}

/// Serves load balancer `lb_id`'s 443 frontend on `listener`: each connection is passed to
/// the Coder pod's TLS listener (the handshake with the certificate it loaded, then
/// `router`), or closed when none is reachable, until the sandbox stops.
pub fn serve_tls_endpoint(
    listener: tokio::net::TcpListener,
    app: Weak<AppState>,
    lb_id: String,
    router: Router,
) {
    tokio::spawn(async move {
        loop {
            let accepted =
                tokio::time::timeout(Duration::from_millis(200), listener.accept()).await;
            let Some(st) = app.upgrade() else {
                return;
            };
            let Ok(accepted) = accepted else {
                continue;
            };
            let Ok((stream, _)) = accepted else {
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            };
            let config = st
                .read(|s, now| identity(s, &lb_id, now))
                .and_then(|(cert, key)| server_config(&cert, &key));
            drop(st);
            let config = match config {
                Ok(c) => c,
                Err(why) => {
                    tracing::debug!(lb = %lb_id, %why, "TLS frontend: no listener behind it");
                    continue;
                }
            };
            let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
            let router = router.clone();
            tokio::spawn(async move {
                let Ok(tls) = acceptor.accept(stream).await else {
                    return;
                };
                let svc = tower::service_fn(move |req: hyper::Request<hyper::body::Incoming>| {
                    tower::ServiceExt::oneshot(router.clone(), req.map(axum::body::Body::new))
                });
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(tls), TowerToHyperService::new(svc))
                    .with_upgrades()
                    .await;
            });
        }
    });
}

/// Coder's `redirectToAccessURL` for a request to `host` and `path` of the Deployment at
/// `deployment_key`: the `307` to the access URL, or `None` when the request is served.
pub fn redirect(
    s: &Store,
    now: DateTime<Utc>,
    deployment_key: &str,
    over_tls: bool,
    host: &str,
    path: &str,
) -> Option<Response> {
    let d = s.get(OBJECT, deployment_key, now)?;
    if env_value(&d.body, "CODER_REDIRECT_TO_ACCESS_URL") != Some("true") {
        return None;
    }
    let access = url::Url::parse(env_value(&d.body, "CODER_ACCESS_URL")?).ok()?;
    if path == "/healthz" || path == "/derp" || path.starts_with("/derp/") {
        return None;
    }
    let to_access = || {
        let mut r = StatusCode::TEMPORARY_REDIRECT.into_response();
        if let Ok(v) = HeaderValue::from_str(access.as_str()) {
            r.headers_mut().insert(header::LOCATION, v);
        }
        Some(r)
    };
    if access.scheme() == "https" && !over_tls {
        return to_access();
    }
    let access_host = match access.port() {
        Some(p) => format!("{}:{p}", access.host_str().unwrap_or_default()),
        None => access.host_str().unwrap_or_default().to_string(),
    };
    if host == access_host {
        return None;
    }
    let wildcard = env_value(&d.body, "CODER_WILDCARD_ACCESS_URL").unwrap_or_default();
    if let Some((prefix, suffix)) = wildcard.split_once('*') {
        let bare = host.split(':').next().unwrap_or(host);
        let matched = bare.len() > prefix.len() + suffix.len()
            && bare.starts_with(prefix)
            && bare.ends_with(suffix)
            && !bare[prefix.len()..bare.len() - suffix.len()].contains('.');
        if matched {
            return None;
        }
    }
    to_access()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn certificate_files_come_from_the_secret_volume_mounted_over_them() {
        let d = json!({"spec": {"template": {"spec": {
            "containers": [{"name": "coder", "image": "ghcr.io/coder/coder:v2.21.1",
                "volumeMounts": [{"name": "tls-coder-tls", "mountPath": "/etc/ssl/certs/coder/coder-tls", "readOnly": true}]}],
            "volumes": [{"name": "tls-coder-tls", "secret": {"secretName": "coder-tls"}}]}}}});
        assert_eq!(
            secret_file(&d, "/etc/ssl/certs/coder/coder-tls/tls.crt").unwrap(),
            ("coder-tls".to_string(), "tls.crt".to_string())
        );
        assert!(secret_file(&d, "/etc/ssl/other/tls.crt").is_err());
    }
}
