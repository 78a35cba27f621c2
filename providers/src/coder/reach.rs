//! How kapstan's own Coder calls reach an `https://` access URL the machine alone cannot
//! verify or resolve: extra trust roots for that host (the issuers of the chain kapstan
//! obtained, when the ACME directory is Let's Encrypt's staging or a private CA) and, in the
//! sandbox only, the loopback address the host leads to (its DNS is emulated). Given to the
//! drivers through `RegistryOptions::coder` and to the probes as an argument: never read from
//! the process environment, never a switch that turns verification off.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::time::Duration;

/// How one access host is reached.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HostReach {
    /// DER certificates trusted as roots for this host, beside the system's: the issuers of
    /// the certificate chain kapstan obtained for it (never its leaf).
    pub roots_der: Vec<Vec<u8>>,
    /// Where the host leads on this machine instead of where DNS says (the sandbox's
    /// emulated zones); the host still names the server in the handshake (SNI) and `Host:`.
    pub connect_to: Option<SocketAddr>,
}

impl HostReach {
    /// Trusts the issuers of `chain_pem` (a leaf followed by its intermediates, as an ACME
    /// server hands it out): every certificate but the first. A chain of a leaf alone adds
    /// nothing.
    pub fn trusting_issuers_of(chain_pem: &str) -> Result<HostReach, String> {
        let der = crate::acme::pem::chain_der(chain_pem).map_err(|e| e.to_string())?;
        Ok(HostReach {
            roots_der: der.into_iter().skip(1).collect(),
            connect_to: None,
        })
    }
}

/// How each access host kapstan talks to is reached; a host it does not name gets the
/// system's roots and DNS. The default names none.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CoderReach {
    /// By host name (`coder.example.com`).
    pub hosts: BTreeMap<String, HostReach>,
}

impl CoderReach {
    /// A reach naming `host` alone.
    pub fn host(host: &str, reach: HostReach) -> CoderReach {
        CoderReach {
            hosts: BTreeMap::from([(host.to_ascii_lowercase(), reach)]),
        }
    }

    /// What applies to the host of `url`, if anything.
    pub fn for_url(&self, url: &str) -> Option<(&str, &HostReach)> {
        let host = reqwest::Url::parse(url)
            .ok()?
            .host_str()?
            .to_ascii_lowercase();
        self.hosts
            .get_key_value(&host)
            .map(|(h, r)| (h.as_str(), r))
    }

    /// An HTTP client for calls to `url` with `timeout` per request: the host's extra roots
    /// merged with the system's and its address, when this names the host. The roots are
    /// trusted by this client only, which kapstan uses for that host alone.
    pub fn http_client(&self, url: &str, timeout: Duration) -> Result<reqwest::Client, String> {
        let mut builder = reqwest::Client::builder()
            .timeout(timeout)
            .connect_timeout(Duration::from_secs(5));
        if let Some((host, reach)) = self.for_url(url) {
            let roots = reach
                .roots_der
                .iter()
                .map(|der| reqwest::Certificate::from_der(der))
                .collect::<Result<Vec<_>, _>>()
                .map_err(|e| format!("a trust root for {host} is not a certificate: {e}"))?;
            builder = builder.tls_certs_merge(roots);
            if let Some(addr) = reach.connect_to {
                builder = builder.resolve(host, addr);
            }
        }
        builder.build().map_err(|e| format!("HTTP client: {e}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chain() -> (String, String) {
        let ca_key = rcgen::KeyPair::generate().unwrap();
        let mut ca = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
        ca.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        let ca = ca.self_signed(&ca_key).unwrap();
        let issuer = rcgen::Issuer::new(
            rcgen::CertificateParams::new(Vec::<String>::new()).unwrap(),
            ca_key,
        );
        let leaf_key = rcgen::KeyPair::generate().unwrap();
        let leaf = rcgen::CertificateParams::new(vec!["coder.example.test".to_string()])
            .unwrap()
            .signed_by(&leaf_key, &issuer)
            .unwrap();
        (format!("{}{}", leaf.pem(), ca.pem()), ca.pem())
    }

    /// A root CA, an intermediate it signed and a leaf for `coder.example.test` the
    /// intermediate signed: `(leaf + intermediate PEM, the leaf's key PEM)`.
    fn three_level_chain() -> (String, String) {
        let ca = |name: &str| {
            let mut p = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
            p.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
            p.distinguished_name
                .push(rcgen::DnType::CommonName, name.to_string());
            p
        };
        let root_key = rcgen::KeyPair::generate().unwrap();
        let root = rcgen::Issuer::new(ca("throwaway root"), root_key);
        let int_key = rcgen::KeyPair::generate().unwrap();
        let int_params = ca("throwaway intermediate");
        let int = int_params.signed_by(&int_key, &root).unwrap();
        let int_issuer = rcgen::Issuer::new(int_params, int_key);
        let leaf_key = rcgen::KeyPair::generate().unwrap();
        let leaf = rcgen::CertificateParams::new(vec!["coder.example.test".to_string()])
            .unwrap()
            .signed_by(&leaf_key, &int_issuer)
            .unwrap();
        (
            format!("{}{}", leaf.pem(), int.pem()),
            leaf_key.serialize_pem(),
        )
    }

    /// Serves `chain` and `key` on a loopback TLS listener, answering every request
    /// `200 OK`, until the process ends.
    fn tls_server(chain: &str, key: &str) -> SocketAddr {
        use rustls::pki_types::pem::PemObject;
        use rustls::pki_types::{CertificateDer, PrivateKeyDer};
        use std::io::{Read, Write};
        let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_slice_iter(chain.as_bytes())
            .collect::<Result<_, _>>()
            .unwrap();
        let key = PrivateKeyDer::from_pem_slice(key.as_bytes()).unwrap();
        let config = std::sync::Arc::new(
            rustls::ServerConfig::builder_with_provider(std::sync::Arc::new(
                rustls::crypto::aws_lc_rs::default_provider(),
            ))
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_no_client_auth()
            .with_single_cert(certs, key)
            .unwrap(),
        );
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let conn = rustls::ServerConnection::new(config.clone()).unwrap();
                let mut tls = rustls::StreamOwned::new(conn, stream);
                let mut request = vec![];
                let mut buf = [0u8; 1024];
                // A client that refuses the certificate ends the handshake: next connection.
                while !request.windows(4).any(|w| w == b"\r\n\r\n") {
                    match tls.read(&mut buf) {
                        Ok(n) if n > 0 => request.extend_from_slice(&buf[..n]),
                        _ => break,
                    }
                }
                let _ = tls.write_all(
                    b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\nconnection: close\r\n\r\nOK",
                );
                let _ = tls.flush();
                tls.conn.send_close_notify();
                let _ = tls.flush();
            }
        });
        addr
    }

    #[tokio::test]
    async fn the_coder_client_trusts_the_issuer_of_the_chain_given_as_extra_root() {
        let (chain, key) = three_level_chain();
        let addr = tls_server(&chain, &key);
        let url = "https://coder.example.test";
        let wait = Duration::from_millis(600);
        let mut host = HostReach::trusting_issuers_of(&chain).unwrap();
        host.connect_to = Some(addr);
        let reach = CoderReach::host("coder.example.test", host);
        super::super::CoderClient::with_reach(url, &reach)
            .unwrap()
            .wait_healthy(Duration::from_secs(10))
            .await
            .expect("the issuer of the chain verifies the served leaf");
        assert!(crate::coder::probe::healthz_with(url, &reach).await.is_ok());

        // Without the extra root the same address is refused: verification stays on.
        let unverified = CoderReach::host(
            "coder.example.test",
            HostReach {
                roots_der: vec![],
                connect_to: Some(addr),
            },
        );
        let e = super::super::CoderClient::with_reach(url, &unverified)
            .unwrap()
            .wait_healthy(wait)
            .await
            .unwrap_err();
        assert!(e.to_string().contains("did not answer"), "{e}");
    }

    #[test]
    fn the_issuers_of_a_chain_are_trusted_never_its_leaf() {
        let (chain, ca) = chain();
        let reach = HostReach::trusting_issuers_of(&chain).unwrap();
        assert_eq!(reach.roots_der, crate::acme::pem::chain_der(&ca).unwrap());
        let leaf_only = chain.split_inclusive("-----END CERTIFICATE-----\n").next();
        let reach = HostReach::trusting_issuers_of(leaf_only.unwrap()).unwrap();
        assert!(reach.roots_der.is_empty());
        assert!(HostReach::trusting_issuers_of("not a certificate").is_err());
    }

    #[test]
    fn only_the_named_host_is_reached_differently() {
        let reach = CoderReach::host("Coder.Example.Test", HostReach::default());
        assert!(reach.for_url("https://coder.example.test/").is_some());
        assert!(reach.for_url("https://CODER.example.test:8443").is_some());
        assert!(reach.for_url("https://other.example.test").is_none());
        assert!(reach.for_url("not a url").is_none());
    }
}
