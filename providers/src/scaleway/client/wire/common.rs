//! Wire types shared by several APIs.

use base64::Engine;
use serde::{Deserialize, Serialize};

use crate::scaleway::client::secret::SecretString;

/// A file returned inside JSON (`kubeconfig`, RDB `certificate`): base64 content.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct File {
    /// File name (`kubeconfig`, `ssl_certificate`).
    pub name: String,
    /// Base64 content; sensitive (kubeconfigs carry a token), so redacted in `Debug`.
    pub content: SecretString,
}

impl File {
    /// Decodes the base64 content.
    pub fn decode(&self) -> Result<SecretString, base64::DecodeError> {
        let bytes = base64::engine::general_purpose::STANDARD.decode(self.content.expose())?;
        Ok(SecretString::new(
            String::from_utf8_lossy(&bytes).into_owned(),
        ))
    }
}

/// An empty JSON object, as sent for `load_balancer: {}` or `ipam_config: {}`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Empty {}
