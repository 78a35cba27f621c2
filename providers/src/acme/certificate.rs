//! `acme_certificate`: a certificate issued by an ACME server (RFC 8555) with DNS-01
//! challenges answered in a Scaleway DNS zone, kept sealed in state and renewed when due.
//!
//! The certificate lives in kapstan's state, not in an API: `read` returns the record, and
//! the planner learns that a renewal is due from [`Driver::due`] (fewer than `renew_before`
//! days left), which plans an update saying `renew: expires in N days`. Nothing is re-issued
//! while names and key settings are unchanged and the certificate is not due, which keeps
//! clear of Let's Encrypt's duplicate-certificate limit. The ACME account key, the private key
//! and the chain are sensitive attributes; names, issuer, validity, serial and fingerprint are
//! plain. The challenge TXT records are checkpointed before they are written, so a run that
//! was interrupted has them removed by the next one.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use kapstan_engine::state::{ResourceState, ResourceStatus};
use kapstan_engine::{
    Created, Driver, DriverContext, DriverError, FieldError, Input, Schema, Update, async_trait,
};
use serde_json::{Value, json};

use super::issue::{self, ChallengeRecord, KeyAlgorithm};
use super::pem;
use crate::declare::{DeclaredSchema, out_of_range};
use crate::scaleway::ScalewayProvider;
use crate::scaleway::client::wire::domain::{DnsZone, DnsZoneStatus};
use crate::scaleway::dns_name;
use crate::scaleway::provider::strings;

/// Let's Encrypt's production directory (the default).
pub const LETS_ENCRYPT_PRODUCTION: &str = "https://acme-v02.api.letsencrypt.org/directory";
/// Let's Encrypt's staging directory (`directory = "staging"`).
pub const LETS_ENCRYPT_STAGING: &str = "https://acme-staging-v02.api.letsencrypt.org/directory";
/// Days before expiry a renewal is due, by default.
pub const DEFAULT_RENEW_BEFORE: u64 = 30;
/// Default deadline of the propagation wait, in seconds.
pub const DEFAULT_PROPAGATION_TIMEOUT: u64 = 300;
/// Deadline of the ACME validation and finalization polls.
const ORDER_TIMEOUT: Duration = Duration::from_secs(120);
/// Most names one certificate may carry (Let's Encrypt's limit).
const MAX_NAMES: usize = 100;

crate::declare::kind! {
    /// A certificate for `names`, all inside the Scaleway zone `dns_zone`.
    #[derive(Default)]
    pub struct AcmeCertificate = "acme_certificate";
    /// The Scaleway DNS zone the challenge TXT records are written in (`example.com`).
    dns_zone: Input<String>, required force_new
        => "the Scaleway DNS zone the challenge TXT records go in";
    /// The names (`coder.example.com`, `*.coder.example.com`); a change issues a new
    /// certificate.
    names: Vec<Input<String>>, required force_new
        => "names the certificate covers, e.g. coder.example.com and *.coder.example.com";
    /// `production` (Let's Encrypt, the default), `staging`, or a directory URL.
    directory: Option<String>, optional force_new
        => "production (Let's Encrypt, default), staging, or an ACME directory URL";
    /// PEM certificates trusted for the directory's TLS (a private ACME server).
    ca_bundle: Option<String>, optional
        => "PEM certificates trusted for the directory's TLS (private ACME servers)";
    /// `ecdsa-p256` (default) or `ecdsa-p384`.
    key_algorithm: Option<String>, optional force_new => "ecdsa-p256 (default) or ecdsa-p384";
    /// Renew when fewer than this many days are left (default 30).
    renew_before: Option<u32>, optional
        => "renew when fewer days than this are left (default 30)";
    /// Authoritative name servers (`HOST:PORT`) to check the challenge records on; default the
    /// zone's name servers on port 53.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    dns_servers: Vec<String>, optional
        => "HOST:PORT of authoritative name servers to check the challenge on; default the zone's";
    /// Deadline, in seconds, for the name servers to serve the challenge records (default 300).
    propagation_timeout: Option<u32>, optional
        => "seconds to wait for the name servers to serve the challenge (default 300)";
    computed "account" sensitive => "the ACME account credentials";
    /// The private key, PKCS#8 PEM (sensitive).
    computed private_key_pem: String, sensitive => "the certificate's private key, PKCS#8 PEM";
    /// The chain, leaf first, PEM (sensitive).
    computed certificate_pem: String, sensitive => "the certificate chain, leaf first, PEM";
    /// Issuer.
    computed issuer: String => "the issuer's name";
    computed "not_before" => "start of validity, RFC 3339";
    /// End of validity, RFC 3339.
    computed not_after: String => "end of validity, RFC 3339";
    computed "serial" => "serial number, hex";
    /// SHA-256 of the leaf certificate, hex.
    computed sha256: String => "SHA-256 of the leaf certificate, hex";
    /// Attributes of an `acme_certificate`; the id is the first name.
    attributes AcmeCertificateAttributes;
}

/// The `acme_certificate` driver.
#[derive(Debug)]
pub struct AcmeCertificateDriver {
    p: Arc<ScalewayProvider>,
    schema: Schema,
}

impl AcmeCertificateDriver {
    /// The driver; the challenge records go through `p`'s Scaleway DNS API.
    pub fn new(p: Arc<ScalewayProvider>) -> Self {
        Self {
            p,
            schema: AcmeCertificate::schema(),
        }
    }
}

/// The directory URL a `directory` value names.
pub fn directory_url(config: &Value) -> String {
    match config.get("directory").and_then(Value::as_str) {
        None | Some("production") => LETS_ENCRYPT_PRODUCTION.into(),
        Some("staging") => LETS_ENCRYPT_STAGING.into(),
        Some(url) => url.into(),
    }
}

fn renew_before(config: &Value) -> u64 {
    config
        .get("renew_before")
        .and_then(Value::as_u64)
        .unwrap_or(DEFAULT_RENEW_BEFORE)
}

/// The checkpoint marker naming the challenge records about to be written.
pub(crate) fn challenge_marker(zone: &str, records: &[ChallengeRecord]) -> Value {
    json!({
        "dns_zone": zone,
        "challenges": records
            .iter()
            .map(|r| json!({"name": r.name, "value": r.value}))
            .collect::<Vec<_>>(),
    })
}

fn marker_records(marker: &Value) -> Option<(String, Vec<ChallengeRecord>)> {
    let zone = marker.get("dns_zone")?.as_str()?.to_string();
    let records = marker
        .get("challenges")?
        .as_array()?
        .iter()
        .filter_map(|c| {
            Some(ChallengeRecord {
                name: c.get("name")?.as_str()?.to_string(),
                value: c.get("value")?.as_str()?.to_string(),
            })
        })
        .collect();
    Some((zone, records))
}

/// Why the certificate recorded in `attributes` is due, with `renew_before` days.
pub fn due_reason(attributes: &Value, renew_before: u64) -> Option<String> {
    let not_after = attributes.get("not_after")?.as_str()?;
    let not_after = chrono::DateTime::parse_from_rfc3339(not_after)
        .ok()?
        .with_timezone(&Utc);
    let left = pem::days_left(not_after, Utc::now());
    if left < 0 {
        Some(format!("renew: expired {} days ago", -left))
    } else if (left as u64) < renew_before {
        Some(format!("renew: expires in {left} days"))
    } else {
        None
    }
}

impl AcmeCertificateDriver {
    async fn dns_servers(
        &self,
        config: &Value,
        zone: &str,
    ) -> Result<Vec<SocketAddr>, DriverError> {
        let given: Vec<&str> = config
            .get("dns_servers")
            .and_then(Value::as_array)
            .map(|a| a.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        let hosts: Vec<String> = if given.is_empty() {
            let z = self.zone(zone).await?;
            z.ns.iter().map(|h| format!("{h}:53")).collect()
        } else {
            given.iter().map(|s| s.to_string()).collect()
        };
        let mut out = vec![];
        for h in &hosts {
            let addrs = tokio::net::lookup_host(h.as_str()).await.map_err(|e| {
                DriverError::failed(format!(
                    "cannot resolve the name server {h}: {e}; set `dns_servers` to HOST:PORT addresses"
                ))
            })?;
            out.extend(addrs.filter(SocketAddr::is_ipv4).take(1));
        }
        if out.is_empty() {
            return Err(DriverError::failed(format!(
                "DNS zone {zone} lists no name server to check the challenge on; set `dns_servers`"
            )));
        }
        Ok(out)
    }

    /// The project's DNS zone `zone`; an error naming it when it is not in the project.
    async fn zone(&self, zone: &str) -> Result<DnsZone, DriverError> {
        self.p
            .client()?
            .domain()
            .find_zone(zone, None)
            .await
            .map_err(|e| DriverError::failed(format!("cannot look up DNS zone {zone}: {e}")))?
            .ok_or_else(|| missing_zone(zone))
    }

    /// Checks the zone is in the project and active before anything is written.
    async fn check_zone(&self, zone: &str) -> Result<(), DriverError> {
        let z = self.zone(zone).await?;
        if z.status != DnsZoneStatus::Active {
            return Err(DriverError::failed(format!(
                "DNS zone {zone} is {:?}, not active{}; delegate the domain to Scaleway's name servers ({}) and wait until the zone is active",
                z.status,
                z.message.map(|m| format!(" ({m})")).unwrap_or_default(),
                if z.ns_default.is_empty() {
                    "ns0.dom.scw.cloud, ns1.dom.scw.cloud".to_string()
                } else {
                    z.ns_default.join(", ")
                }
            )));
        }
        Ok(())
    }

    async fn issue(
        &self,
        ctx: &DriverContext,
        config: &Value,
        account: Option<&str>,
    ) -> Result<Value, DriverError> {
        let zone = config
            .get("dns_zone")
            .and_then(Value::as_str)
            .ok_or_else(|| DriverError::failed("acme_certificate: dns_zone is not known"))?
            .to_string();
        self.check_zone(&zone).await?;
        let servers = self.dns_servers(config, &zone).await?;
        let names = strings(config, "names");
        let directory = directory_url(config);
        let key_algorithm = config
            .get("key_algorithm")
            .and_then(Value::as_str)
            .and_then(KeyAlgorithm::parse)
            .unwrap_or(KeyAlgorithm::EcdsaP256);
        let client = self.p.client()?;
        let issued = issue::issue(
            ctx,
            &client,
            &issue::Request {
                zone: &zone,
                names: &names,
                directory_url: &directory,
                ca_bundle: config.get("ca_bundle").and_then(Value::as_str),
                key_algorithm,
                account,
                dns_servers: &servers,
                propagation_timeout: Duration::from_secs(
                    config
                        .get("propagation_timeout")
                        .and_then(Value::as_u64)
                        .unwrap_or(DEFAULT_PROPAGATION_TIMEOUT),
                ),
                order_timeout: ORDER_TIMEOUT,
            },
        )
        .await?;
        let mut attrs = config.clone();
        let info = &issued.info;
        attrs["account"] = json!(issued.account);
        attrs["private_key_pem"] = json!(issued.private_key_pem);
        attrs["certificate_pem"] = json!(issued.chain_pem);
        attrs["issuer"] = json!(info.issuer);
        attrs["not_before"] = json!(info.not_before.to_rfc3339());
        attrs["not_after"] = json!(info.not_after.to_rfc3339());
        attrs["serial"] = json!(info.serial);
        attrs["sha256"] = json!(info.sha256);
        Ok(attrs)
    }

    /// Removes the challenge records an interrupted run checkpointed.
    async fn clean_marker(&self, marker: &Value) -> Result<(), DriverError> {
        if let Some((zone, records)) = marker_records(marker)
            && !records.is_empty()
        {
            let client = self.p.client()?;
            issue::remove_challenges(&client, &zone, &records).await?;
        }
        Ok(())
    }
}

fn missing_zone(zone: &str) -> DriverError {
    DriverError::failed(format!(
        "DNS zone {zone} is not in the Scaleway project; add the domain to Scaleway Domains and DNS and delegate it to Scaleway's name servers, or use `--tls external` and create the records yourself"
    ))
}

fn check_name(zone: Option<&str>, i: usize, name: &str, errors: &mut Vec<FieldError>) {
    let field = format!("names[{i}]");
    let shown = format!("{name:?}");
    let base = name.strip_prefix("*.").unwrap_or(name);
    if base.contains('*') {
        errors.push(FieldError::new(
            &field,
            &shown,
            "has a wildcard that is not the whole first label",
            "write a wildcard as *.coder.example.com",
        ));
        return;
    }
    let before = errors.len();
    dns_name::check_domain(&field, base, errors);
    if errors.len() > before {
        return;
    }
    if let Some(z) = zone
        && base != z
        && !base.ends_with(&format!(".{z}"))
    {
        errors.push(FieldError::new(
            &field,
            &shown,
            &format!("is not inside the zone {z}, where the challenge records are written"),
            &format!("use a name ending in .{z}, or set dns_zone to the zone holding {base}"),
        ));
    }
}

#[async_trait]
impl Driver for AcmeCertificateDriver {
    fn schema(&self) -> &Schema {
        &self.schema
    }

    fn validate(&self, config: &Value, e: &mut Vec<FieldError>) {
        e.extend(self.p.credential_errors());
        let zone = config.get("dns_zone").and_then(Value::as_str);
        if let Some(z) = zone {
            dns_name::check_domain("dns_zone", z, e);
        }
        match config.get("names").and_then(Value::as_array) {
            Some(list) if list.is_empty() => e.push(FieldError::new(
                "names",
                "[]",
                "is empty",
                "give at least one name, e.g. [\"coder.example.com\", \"*.coder.example.com\"]",
            )),
            Some(list) if list.len() > MAX_NAMES => e.push(FieldError::new(
                "names",
                &format!("{} names", list.len()),
                &format!("holds more than {MAX_NAMES} names"),
                "split the names over several certificates",
            )),
            Some(list) => {
                let mut seen = std::collections::BTreeSet::new();
                for (i, n) in list.iter().enumerate() {
                    let Some(n) = n.as_str() else { continue };
                    if !seen.insert(n) {
                        e.push(FieldError::new(
                            &format!("names[{i}]"),
                            &format!("{n:?}"),
                            "is listed twice",
                            "list each name once",
                        ));
                        continue;
                    }
                    check_name(zone, i, n, e);
                }
            }
            None => {}
        }
        if let Some(d) = config.get("directory").and_then(Value::as_str)
            && d != "production"
            && d != "staging"
            && !d.starts_with("https://")
        {
            e.push(FieldError::new(
                "directory",
                &format!("{d:?}"),
                "is neither production, staging nor an https:// directory URL",
                "use production, staging or e.g. https://acme.example.net/directory",
            ));
        }
        if let Some(b) = config.get("ca_bundle").and_then(Value::as_str) {
            let ok = pem::chain_der(b).is_ok_and(|c| c.iter().all(|d| pem::info_of_der(d).is_ok()));
            if !ok {
                e.push(FieldError::new(
                    "ca_bundle",
                    "(PEM text)",
                    "holds no readable PEM certificate",
                    "give the ACME server's CA certificates as PEM (-----BEGIN CERTIFICATE-----)",
                ));
            }
        }
        if let Some(k) = config.get("key_algorithm").and_then(Value::as_str)
            && KeyAlgorithm::parse(k).is_none()
        {
            e.push(FieldError::new(
                "key_algorithm",
                &format!("{k:?}"),
                "is not a key type kapstan issues",
                &format!("use one of {}", KeyAlgorithm::NAMES.join(", ")),
            ));
        }
        e.extend(out_of_range(
            config,
            "renew_before",
            1..=3650,
            "use 1 to 3650 days (30 suits Let's Encrypt's 90-day certificates)",
        ));
        e.extend(out_of_range(
            config,
            "propagation_timeout",
            1..=3600,
            "use 1 to 3600 seconds",
        ));
        if let Some(list) = config.get("dns_servers").and_then(Value::as_array) {
            for (i, s) in list.iter().enumerate() {
                let Some(s) = s.as_str() else { continue };
                let port_ok = s
                    .rsplit_once(':')
                    .is_some_and(|(h, p)| !h.is_empty() && p.parse::<u16>().is_ok_and(|p| p > 0));
                if !port_ok {
                    e.push(FieldError::new(
                        &format!("dns_servers[{i}]"),
                        &format!("{s:?}"),
                        "is not HOST:PORT",
                        "use e.g. ns0.dom.scw.cloud:53 or 127.0.0.1:5353",
                    ));
                }
            }
        }
    }

    fn due(&self, recorded: &ResourceState, declared: &Value) -> Option<String> {
        due_reason(&recorded.attributes, renew_before(declared))
    }

    async fn read(
        &self,
        _ctx: &DriverContext,
        recorded: &ResourceState,
    ) -> Result<Option<Value>, DriverError> {
        Ok(Some(recorded.attributes.clone()))
    }

    async fn create(&self, ctx: &DriverContext, config: &Value) -> Result<Created, DriverError> {
        let attributes = self.issue(ctx, config, None).await?;
        Ok(Created {
            id: strings(config, "names")
                .first()
                .cloned()
                .unwrap_or_default(),
            attributes,
        })
    }

    async fn update(&self, ctx: &DriverContext, update: &Update<'_>) -> Result<Value, DriverError> {
        let Update {
            recorded, config, ..
        } = *update;
        if let ResourceStatus::Pending(op) = &recorded.status {
            self.clean_marker(&op.marker).await?;
        }
        let due = due_reason(&recorded.attributes, renew_before(config)).is_some()
            || recorded.attributes.get("certificate_pem").is_none();
        if !due {
            // Settings that only matter for the next issuance: recorded, nothing issued.
            let mut attrs = recorded.attributes.clone();
            if let (Some(a), Some(c)) = (attrs.as_object_mut(), config.as_object()) {
                for (k, v) in c {
                    a.insert(k.clone(), v.clone());
                }
                for k in [
                    "ca_bundle",
                    "renew_before",
                    "dns_servers",
                    "propagation_timeout",
                ] {
                    if !c.contains_key(k) {
                        a.remove(k);
                    }
                }
            }
            return Ok(attrs);
        }
        let account = recorded.attributes.get("account").and_then(Value::as_str);
        self.issue(ctx, config, account).await
    }

    async fn delete(
        &self,
        _ctx: &DriverContext,
        recorded: &ResourceState,
    ) -> Result<(), DriverError> {
        // The certificate expires on its own; revoking it would only matter for a leaked key.
        if let ResourceStatus::Pending(op) = &recorded.status {
            self.clean_marker(&op.marker).await?;
        }
        Ok(())
    }

    async fn recover(
        &self,
        _ctx: &DriverContext,
        _config: &Value,
        marker: &Value,
    ) -> Result<Option<Created>, DriverError> {
        // The order of an interrupted run is abandoned (its key is lost); only its challenge
        // records need removing before a fresh issuance.
        self.clean_marker(marker).await?;
        Ok(None)
    }
}
