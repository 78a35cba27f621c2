//! An HTTPS request to a name served at a loopback address, trusting one root only: what a
//! client of a domain deployment sees (SNI and `Host:` carry the name). Shared by the sandbox
//! and the CLI test binaries (`#[path]`).

use std::net::SocketAddr;
use std::time::Duration;

/// `GET https://{name}{path}` with `name` resolved to `addr` and `root` (PEM) the only trust
/// anchor: the status and the DER of the leaf certificate the server presented.
pub async fn https_get(
    addr: SocketAddr,
    root: &str,
    name: &str,
    path: &str,
) -> Result<(u16, Vec<u8>), String> {
    let client = reqwest::Client::builder()
        .tls_certs_only([reqwest::Certificate::from_pem(root.as_bytes()).unwrap()])
        .resolve(name, addr)
        .tls_info(true)
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap();
    let r = client
        .get(format!("https://{name}{path}"))
        .send()
        .await
        .map_err(|e| format!("{e:?}"))?;
    let leaf = r
        .extensions()
        .get::<reqwest::tls::TlsInfo>()
        .and_then(|i| i.peer_certificate())
        .map(<[u8]>::to_vec)
        .unwrap_or_default();
    Ok((r.status().as_u16(), leaf))
}
