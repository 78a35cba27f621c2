//! Kubeconfig documents read with `kube`'s own loader, kept in memory (never written to disk):
//! every authentication method `kube` supports works — bearer token, token file, client
//! certificate (inline or by path), basic auth and exec credential plugins.

use kube::config::{KubeConfigOptions, Kubeconfig as KubeconfigDocument, KubeconfigError};

use super::client::KubeError;

/// A kubeconfig with its context selected: the API server and how to authenticate to it.
#[derive(Clone)]
pub struct Kubeconfig {
    /// API server URL.
    pub server: String,
    pub(crate) config: kube::Config,
}

impl std::fmt::Debug for Kubeconfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Kubeconfig")
            .field("server", &self.server)
            .field("credentials", &"(sensitive)")
            .finish()
    }
}

impl Kubeconfig {
    /// Parses a kubeconfig document and selects its current context (its first context when
    /// `current-context` is unset or names no context).
    pub fn parse(text: &str) -> Result<Kubeconfig, KubeError> {
        let mut document = KubeconfigDocument::from_yaml(text)
            .map_err(|_| KubeError::Config("not a YAML kubeconfig document".into()))?;
        let current = document.current_context.clone().unwrap_or_default();
        if !document.contexts.iter().any(|c| c.name == current) {
            let first = document
                .contexts
                .first()
                .ok_or_else(|| KubeError::Config("the kubeconfig has no context".into()))?;
            document.current_context = Some(first.name.clone());
        }
        let loaded = Self::load(document)?;
        let server = loaded
            .cluster_url
            .to_string()
            .trim_end_matches('/')
            .to_string();
        let mut config = loaded;
        // kapstan retries transient failures itself, until the client's retry deadline.
        config.default_retry = false;
        config.read_timeout = Some(std::time::Duration::from_secs(60));
        config.connect_timeout = Some(std::time::Duration::from_secs(10));
        if config.cluster_url.scheme() == Some(&http::uri::Scheme::HTTP) {
            // No TLS on a plain-HTTP server (the sandbox on loopback): its CA is never used,
            // so it is not loaded either.
            config.root_cert = None;
        }
        Ok(Kubeconfig { server, config })
    }

    fn load(document: KubeconfigDocument) -> Result<kube::Config, KubeError> {
        use futures::FutureExt as _;
        // `from_custom_kubeconfig` is async but awaits nothing: it resolves on first poll.
        kube::Config::from_custom_kubeconfig(document, &KubeConfigOptions::default())
            .now_or_never()
            .ok_or_else(|| KubeError::Config("the kubeconfig loader did not finish".into()))?
            .map_err(describe)
    }
}

/// A message for a loader error that names what is wrong and never quotes credentials.
fn describe(e: KubeconfigError) -> KubeError {
    let message = match e {
        KubeconfigError::Parse(_) => "not a YAML kubeconfig document".to_string(),
        KubeconfigError::MissingClusterUrl => "the cluster has no server URL".to_string(),
        KubeconfigError::ParseClusterUrl(_) => {
            "the cluster's server is not a URL (expected e.g. https://host:6443)".to_string()
        }
        KubeconfigError::LoadClusterOfContext(name) => format!("no cluster named {name:?}"),
        KubeconfigError::LoadContext(name) => format!("no context named {name:?}"),
        KubeconfigError::LoadCertificateAuthority(_) | KubeconfigError::ParseCertificates(_) => {
            "certificate-authority-data is not a base64 PEM certificate".to_string()
        }
        KubeconfigError::LoadClientCertificate(_) => {
            "client-certificate(-data) cannot be read as a base64 PEM certificate".to_string()
        }
        KubeconfigError::LoadClientKey(_) => {
            "client-key(-data) cannot be read as a base64 PEM key".to_string()
        }
        other => other.to_string(),
    };
    KubeError::Config(message)
}
