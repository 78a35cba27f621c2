//! Certificates from ACME servers (RFC 8555): Let's Encrypt by default, any directory for
//! private CAs, with DNS-01 challenges answered in a Scaleway DNS zone.

pub mod certificate;
pub mod issue;
pub mod pem;

pub use certificate::{AcmeCertificate, AcmeCertificateAttributes, AcmeCertificateDriver};

use std::sync::Arc;

use kapstan_engine::Registry;

use crate::scaleway::ScalewayProvider;

/// Registers the ACME kinds, writing challenge records through `provider`.
pub fn register_with(registry: &mut Registry, provider: Arc<ScalewayProvider>) {
    registry.register(Arc::new(AcmeCertificateDriver::new(provider)));
}
