//! What a PEM certificate chain's leaf says: names, issuer, validity, serial and fingerprint
//! (`x509-parser`), for the certificate's plain attributes and for comparing a served
//! certificate with the recorded one.

use chrono::{DateTime, Utc};
use sha2::{Digest, Sha256};

/// The plain facts of a leaf certificate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CertificateInfo {
    /// DNS subject alternative names, in certificate order.
    pub names: Vec<String>,
    /// Issuer distinguished name.
    pub issuer: String,
    /// Start of validity.
    pub not_before: DateTime<Utc>,
    /// End of validity.
    pub not_after: DateTime<Utc>,
    /// Serial number, hex.
    pub serial: String,
    /// SHA-256 of the leaf's DER, lower-case hex.
    pub sha256: String,
}

/// A PEM chain could not be read.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct PemError(String);

/// The DER of every certificate in a PEM chain, in order.
pub fn chain_der(chain: &str) -> Result<Vec<Vec<u8>>, PemError> {
    let mut out = vec![];
    for p in x509_parser::pem::Pem::iter_from_buffer(chain.as_bytes()) {
        let p = p.map_err(|e| PemError(format!("not PEM: {e}")))?;
        if p.label == "CERTIFICATE" {
            out.push(p.contents);
        }
    }
    if out.is_empty() {
        return Err(PemError("no CERTIFICATE block".into()));
    }
    Ok(out)
}

/// Reads the leaf (first certificate) of a PEM chain.
pub fn certificate_info(chain: &str) -> Result<CertificateInfo, PemError> {
    let der = chain_der(chain)?;
    info_of_der(&der[0])
}

/// Reads one DER certificate.
pub fn info_of_der(der: &[u8]) -> Result<CertificateInfo, PemError> {
    let (_, cert) = x509_parser::parse_x509_certificate(der)
        .map_err(|e| PemError(format!("not an X.509 certificate: {e}")))?;
    let time = |t: i64| {
        DateTime::<Utc>::from_timestamp(t, 0).ok_or_else(|| PemError("bad validity".into()))
    };
    let mut names = vec![];
    if let Ok(Some(san)) = cert.subject_alternative_name() {
        for n in &san.value.general_names {
            if let x509_parser::extensions::GeneralName::DNSName(d) = n {
                names.push((*d).to_string());
            }
        }
    }
    Ok(CertificateInfo {
        names,
        issuer: cert.issuer().to_string(),
        not_before: time(cert.validity().not_before.timestamp())?,
        not_after: time(cert.validity().not_after.timestamp())?,
        serial: cert.raw_serial_as_string().replace(':', ""),
        sha256: hex::encode(Sha256::digest(der)),
    })
}

/// Whole days from `now` until `not_after` (negative once expired).
pub fn days_left(not_after: DateTime<Utc>, now: DateTime<Utc>) -> i64 {
    (not_after - now).num_days()
}
