//! One ACME (RFC 8555) issuance with DNS-01 challenges answered through the Scaleway DNS API:
//! account, order, challenge TXT records, the propagation wait on the zone's authoritative
//! name servers, finalization with a fresh key, and the removal of every TXT record written,
//! whatever the outcome.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use hickory_resolver::TokioResolver;
use hickory_resolver::config::{
    NameServerConfig, NameServerConfigGroup, ResolverConfig, ResolverOpts,
};
use hickory_resolver::name_server::TokioConnectionProvider;
use hickory_resolver::proto::xfer::Protocol;
use instant_acme::{
    Account, AccountCredentials, AuthorizationStatus, ChallengeType, Identifier, NewAccount,
    NewOrder, OrderStatus, RetryPolicy,
};
use kapstan_engine::{DriverContext, DriverError};

use crate::scaleway::client::Client;
use crate::scaleway::client::wire::domain::{
    DnsRecord, RecordChange, RecordIdentifier, RecordSelector, UpdateDnsRecordsRequest,
};

use super::pem::{self, CertificateInfo};

/// TTL of the challenge TXT records: the shortest Scaleway accepts, so a stale value does not
/// linger in resolvers between attempts.
const CHALLENGE_TTL: u32 = 60;

/// The certificate's private key type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyAlgorithm {
    /// ECDSA on P-256 with SHA-256 (the default: small, universally supported).
    EcdsaP256,
    /// ECDSA on P-384 with SHA-384.
    EcdsaP384,
}

impl KeyAlgorithm {
    /// Every accepted spelling.
    pub const NAMES: &'static [&'static str] = &["ecdsa-p256", "ecdsa-p384"];

    /// The algorithm named `s`.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "ecdsa-p256" => Some(Self::EcdsaP256),
            "ecdsa-p384" => Some(Self::EcdsaP384),
            _ => None,
        }
    }

    fn rcgen(self) -> &'static rcgen::SignatureAlgorithm {
        match self {
            Self::EcdsaP256 => &rcgen::PKCS_ECDSA_P256_SHA256,
            Self::EcdsaP384 => &rcgen::PKCS_ECDSA_P384_SHA384,
        }
    }
}

/// What one issuance needs.
pub struct Request<'a> {
    /// The Scaleway DNS zone holding every name.
    pub zone: &'a str,
    /// The names, wildcards as `*.S.D`.
    pub names: &'a [String],
    /// The ACME directory URL.
    pub directory_url: &'a str,
    /// PEM certificates trusted for the directory's TLS, instead of the system roots.
    pub ca_bundle: Option<&'a str>,
    /// The certificate key type.
    pub key_algorithm: KeyAlgorithm,
    /// The account credentials of an earlier issuance (JSON, sealed in state).
    pub account: Option<&'a str>,
    /// Authoritative name servers to check the TXT records on.
    pub dns_servers: &'a [SocketAddr],
    /// Deadline of the propagation wait.
    pub propagation_timeout: Duration,
    /// Deadline of the validation and finalization polls.
    pub order_timeout: Duration,
}

/// What an issuance produced. `Debug` shows no secret.
pub struct Issued {
    /// Account credentials (JSON).
    pub account: String,
    /// The certificate's private key, PKCS#8 PEM.
    pub private_key_pem: String,
    /// The chain, leaf first, PEM.
    pub chain_pem: String,
    /// What the leaf says.
    pub info: CertificateInfo,
}

impl std::fmt::Debug for Issued {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Issued").field("info", &self.info).finish()
    }
}

/// One challenge TXT record: name relative to the zone and value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChallengeRecord {
    /// `_acme-challenge.coder` (relative to the zone).
    pub name: String,
    /// The base64url SHA-256 of the key authorization.
    pub value: String,
}

/// How often a request refused with `badNonce` is sent again with the fresh nonce the refusal
/// carries (RFC 8555 §6.5: the client should retry), on top of the library's own retries.
const BAD_NONCE_RETRIES: u32 = 8;

fn is_bad_nonce(e: &instant_acme::Error) -> bool {
    matches!(e, instant_acme::Error::Api(p)
        if p.r#type.as_deref() == Some("urn:ietf:params:acme:error:badNonce"))
}

/// Evaluates an ACME call again while the server answers `badNonce`.
macro_rules! nonce_retry {
    ($call:expr) => {{
        let mut attempt = 0;
        loop {
            match $call {
                Err(e) if is_bad_nonce(&e) && attempt < BAD_NONCE_RETRIES => attempt += 1,
                result => break result,
            }
        }
    }};
}

fn failed(message: impl Into<String>) -> DriverError {
    DriverError::failed(message)
}

/// A user-facing message for an ACME library error, per RFC 8555 §6.7 problem types.
fn acme_error(step: &str, directory: &str, e: instant_acme::Error) -> DriverError {
    match e {
        instant_acme::Error::Api(p) => {
            let kind = p.r#type.as_deref().unwrap_or("");
            let detail = p.detail.clone().unwrap_or_default();
            let short = kind.rsplit(':').next().unwrap_or(kind);
            let fix = match short {
                "rateLimited" => {
                    "the ACME server rate-limits this request (Let's Encrypt: 50 certificates per registered domain and 5 duplicates per name set per week); kapstan does not retry a rate-limited request: wait for the window the server names, or use `directory = \"staging\"` while testing"
                }
                "badNonce" => {
                    "the server kept rejecting the replay nonce after the retries RFC 8555 §6.5 prescribes; run again"
                }
                "rejectedIdentifier" | "unsupportedIdentifier" => {
                    "the server will not issue for these names; check `names`"
                }
                "caa" => "a CAA record of the domain forbids this CA; fix or remove the CAA record",
                "dns" | "unauthorized" | "incorrectResponse" => {
                    "the server could not validate the dns-01 challenge TXT record; check that the zone is delegated to Scaleway's name servers and that nothing else answers for it"
                }
                "accountDoesNotExist" | "unauthorized_account" => {
                    "the recorded ACME account is gone; replace the certificate (`kapstan up --replace ADDRESS`)"
                }
                _ => "see the server's detail above",
            };
            failed(format!(
                "ACME {step} refused by {directory}: {detail} ({short}); {fix}"
            ))
        }
        instant_acme::Error::Timeout(_) => failed(format!(
            "ACME {step} at {directory} did not complete in time; the next apply starts a fresh order"
        )),
        other => failed(format!(
            "ACME {step} at {directory} failed: {other}; check that `directory` is an ACME directory URL this machine can reach (and `ca_bundle` when it uses a private CA)"
        )),
    }
}

/// An ACME account builder trusting `ca_bundle` (PEM) when given, the platform roots
/// otherwise.
fn builder(
    ca_bundle: Option<&str>,
    directory: &str,
) -> Result<instant_acme::AccountBuilder, DriverError> {
    let Some(bundle) = ca_bundle else {
        return Account::builder().map_err(|e| acme_error("client set-up", directory, e));
    };
    use rustls_pki_types::CertificateDer;
    use rustls_pki_types::pem::PemObject;
    let mut roots = rustls::RootCertStore::empty();
    for cert in CertificateDer::pem_slice_iter(bundle.as_bytes()) {
        let cert = cert.map_err(|e| failed(format!("ca_bundle is not PEM: {e}")))?;
        roots
            .add(cert)
            .map_err(|e| failed(format!("ca_bundle holds an unusable certificate: {e}")))?;
    }
    let tls = rustls::ClientConfig::builder()
        .with_root_certificates(roots)
        .with_no_client_auth();
    let https = hyper_rustls::HttpsConnectorBuilder::new()
        .with_tls_config(tls)
        .https_only()
        .enable_http1()
        .enable_http2()
        .build();
    let client = hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
        .build(https);
    Ok(Account::builder_with_http(Box::new(client)))
}

/// The ACME account: the recorded one, or a new one (terms of service agreed).
async fn account(req: &Request<'_>) -> Result<(Account, String), DriverError> {
    let dir = req.directory_url;
    let b = builder(req.ca_bundle, dir)?;
    if let Some(json) = req.account {
        let creds: AccountCredentials = serde_json::from_str(json)
            .map_err(|_| failed("the recorded ACME account cannot be read; replace the certificate (`kapstan up --replace ADDRESS`)"))?;
        let account = b
            .from_credentials(creds)
            .await
            .map_err(|e| acme_error("directory fetch", dir, e))?;
        // (restoring an account sends no signed request: no nonce to retry)
        return Ok((account, json.to_string()));
    }
    // The builder is spent by a registration attempt: a `badNonce` retry builds a new one.
    let mut b = Some(b);
    let (account, creds) = nonce_retry!({
        let builder = match b.take() {
            Some(b) => b,
            None => builder(req.ca_bundle, dir)?,
        };
        builder
            .create(
                &NewAccount {
                    contact: &[],
                    terms_of_service_agreed: true,
                    only_return_existing: false,
                },
                dir.to_string(),
                None,
            )
            .await
    })
    .map_err(|e| acme_error("account registration", dir, e))?;
    let json = serde_json::to_string(&creds)
        .map_err(|e| failed(format!("cannot serialize the ACME account: {e}")))?;
    Ok((account, json))
}

/// `_acme-challenge.<base>` relative to `zone`, for an identifier `base` (without `*.`).
pub fn challenge_name(zone: &str, base: &str) -> String {
    let rel = base
        .strip_suffix(zone)
        .map(|r| r.trim_end_matches('.'))
        .unwrap_or(base);
    if rel.is_empty() {
        "_acme-challenge".to_string()
    } else {
        format!("_acme-challenge.{rel}")
    }
}

fn txt_record(r: &ChallengeRecord) -> DnsRecord {
    DnsRecord {
        id: String::new(),
        name: r.name.clone(),
        type_: "TXT".into(),
        data: format!("\"{}\"", r.value),
        ttl: CHALLENGE_TTL,
        priority: 0,
        comment: None,
    }
}

/// Writes the challenge records, one zone version.
pub async fn add_challenges(
    client: &Client,
    zone: &str,
    records: &[ChallengeRecord],
) -> Result<(), DriverError> {
    client
        .domain()
        .update_records(
            zone,
            &UpdateDnsRecordsRequest {
                changes: vec![RecordChange::Add {
                    records: records.iter().map(txt_record).collect(),
                }],
                return_all_records: false,
                disallow_new_zone_creation: true,
            },
        )
        .await
        .map_err(|e| {
            failed(format!(
                "cannot write the ACME challenge TXT records in zone {zone}: {e}"
            ))
        })?;
    Ok(())
}

/// Removes the challenge records (exact name, type and value; records already gone are
/// fine). Each record is its own selector, so one missing record does not keep the others.
pub async fn remove_challenges(
    client: &Client,
    zone: &str,
    records: &[ChallengeRecord],
) -> Result<(), DriverError> {
    let mut names: Vec<&str> = records.iter().map(|r| r.name.as_str()).collect();
    names.sort_unstable();
    names.dedup();
    let mut present = vec![];
    for name in names {
        let live = client
            .domain()
            .list_records(zone, Some(name), Some("TXT"), None)
            .await
            .map_err(|e| {
                failed(format!(
                    "cannot list TXT records {name} in zone {zone}: {e}"
                ))
            })?;
        present.extend(live.into_iter().filter(|l| {
            records
                .iter()
                .any(|r| r.name == l.name && r.value == l.data.trim_matches('"'))
        }));
    }
    if present.is_empty() {
        return Ok(());
    }
    let changes = present
        .into_iter()
        .map(|r| RecordChange::Delete {
            selector: if r.id.is_empty() {
                RecordSelector::Fields(RecordIdentifier {
                    name: r.name,
                    type_: "TXT".into(),
                    data: Some(r.data),
                    ttl: None,
                })
            } else {
                RecordSelector::Id(r.id)
            },
        })
        .collect();
    client
        .domain()
        .update_records(
            zone,
            &UpdateDnsRecordsRequest {
                changes,
                return_all_records: false,
                disallow_new_zone_creation: true,
            },
        )
        .await
        .map_err(|e| {
            failed(format!(
                "cannot remove the ACME challenge TXT records from zone {zone}: {e}; remove the `_acme-challenge` TXT records by hand"
            ))
        })?;
    Ok(())
}

fn resolver(server: SocketAddr) -> TokioResolver {
    let group = NameServerConfigGroup::from(vec![NameServerConfig::new(server, Protocol::Udp)]);
    let mut opts = ResolverOpts::default();
    // Ask the authoritative server itself, never a cache.
    opts.cache_size = 0;
    opts.recursion_desired = false;
    opts.attempts = 1;
    opts.timeout = Duration::from_secs(2);
    TokioResolver::builder_with_config(
        ResolverConfig::from_parts(None, vec![], group),
        TokioConnectionProvider::default(),
    )
    .with_options(opts)
    .build()
}

/// The TXT values `server` serves for `fqdn` (empty when none).
async fn served_txt(r: &TokioResolver, fqdn: &str) -> Vec<String> {
    match r.txt_lookup(format!("{fqdn}.")).await {
        Ok(l) => l
            .iter()
            .map(|t| {
                t.txt_data()
                    .iter()
                    .map(|d| String::from_utf8_lossy(d).into_owned())
                    .collect::<String>()
            })
            .collect(),
        Err(_) => vec![],
    }
}

/// Waits until every server serves every challenge value, or the deadline passes.
pub async fn wait_propagated(
    ctx: &DriverContext,
    zone: &str,
    records: &[ChallengeRecord],
    servers: &[SocketAddr],
    timeout: Duration,
) -> Result<(), DriverError> {
    let start = Instant::now();
    let resolvers: Vec<(SocketAddr, TokioResolver)> =
        servers.iter().map(|s| (*s, resolver(*s))).collect();
    let mut delay = Duration::from_millis(100);
    loop {
        let mut missing = None;
        'check: for (addr, r) in &resolvers {
            for rec in records {
                let fqdn = format!("{}.{zone}", rec.name);
                if !served_txt(r, &fqdn).await.contains(&rec.value) {
                    missing = Some((*addr, fqdn));
                    break 'check;
                }
            }
        }
        let Some((addr, fqdn)) = missing else {
            return Ok(());
        };
        if ctx.abandoned() {
            return Err(DriverError::Interrupted);
        }
        if start.elapsed() >= timeout {
            return Err(failed(format!(
                "the name server {addr} still does not serve the ACME challenge TXT record {fqdn} after {}s; check that zone {zone} is delegated to Scaleway's name servers (or raise `propagation_timeout`)",
                timeout.as_secs()
            )));
        }
        ctx.progress(format!("waiting for {fqdn} TXT on {addr}"));
        tokio::time::sleep(delay).await;
        delay = (delay * 2).min(Duration::from_secs(5));
    }
}

/// Issues a certificate. The challenge records written are removed before this returns,
/// whether it succeeds or not; `on_records` sees them before they are written, so an
/// interrupted run can find them (see the driver's checkpoint).
pub async fn issue(
    ctx: &DriverContext,
    client: &Client,
    req: &Request<'_>,
) -> Result<Issued, DriverError> {
    let dir = req.directory_url;
    let (account, account_json) = account(req).await?;
    let identifiers: Vec<Identifier> = req
        .names
        .iter()
        .map(|n| Identifier::Dns(n.clone()))
        .collect();
    let mut order = nonce_retry!(account.new_order(&NewOrder::new(&identifiers)).await)
        .map_err(|e| acme_error("new order", dir, e))?;
    let records = nonce_retry!(challenges(&mut order, req.zone).await)
        .map_err(|e| acme_error("authorization fetch", dir, e))??;

    if !records.is_empty() {
        ctx.checkpoint(super::certificate::challenge_marker(req.zone, &records))
            .await?;
    }
    let outcome = answer_and_finalize(ctx, client, req, &mut order, &records).await;
    let cleanup = if records.is_empty() {
        Ok(())
    } else {
        remove_challenges(client, req.zone, &records).await
    };
    let (key, chain) = match (outcome, cleanup) {
        (Ok(v), Ok(())) => v,
        (Err(e), Ok(())) => return Err(e),
        (Ok(_), Err(c)) => return Err(c),
        (Err(e), Err(c)) => return Err(failed(format!("{e}; and then: {c}"))),
    };
    let info = pem::certificate_info(&chain).map_err(|e| {
        failed(format!(
            "the ACME server sent an unreadable certificate: {e}"
        ))
    })?;
    Ok(Issued {
        account: account_json,
        private_key_pem: key,
        chain_pem: chain,
        info,
    })
}

async fn answer_and_finalize(
    ctx: &DriverContext,
    client: &Client,
    req: &Request<'_>,
    order: &mut instant_acme::Order,
    records: &[ChallengeRecord],
) -> Result<(String, String), DriverError> {
    let dir = req.directory_url;
    if !records.is_empty() {
        add_challenges(client, req.zone, records).await?;
        wait_propagated(
            ctx,
            req.zone,
            records,
            req.dns_servers,
            req.propagation_timeout,
        )
        .await?;
        nonce_retry!(set_ready(order).await).map_err(|e| acme_error("challenge answer", dir, e))?;
    }
    let policy = RetryPolicy::new()
        .initial_delay(Duration::from_millis(200))
        .timeout(req.order_timeout);
    let status = nonce_retry!(order.poll_ready(&policy).await)
        .map_err(|e| acme_error("validation", dir, e))?;
    if status != OrderStatus::Ready {
        return Err(failed(challenge_failure(order, dir).await));
    }
    let key = rcgen::KeyPair::generate_for(req.key_algorithm.rcgen())
        .map_err(|e| failed(format!("cannot generate the certificate key: {e}")))?;
    let mut params = rcgen::CertificateParams::new(req.names.to_vec())
        .map_err(|e| failed(format!("cannot build the certificate request: {e}")))?;
    params.distinguished_name = rcgen::DistinguishedName::new();
    let csr = params
        .serialize_request(&key)
        .map_err(|e| failed(format!("cannot sign the certificate request: {e}")))?;
    nonce_retry!(order.finalize_csr(csr.der()).await)
        .map_err(|e| acme_error("finalization", dir, e))?;
    let chain = nonce_retry!(order.poll_certificate(&policy).await)
        .map_err(|e| acme_error("certificate download", dir, e))?;
    Ok((key.serialize_pem(), chain))
}

/// The challenge records the order's pending authorizations need. Authorizations still
/// valid from an earlier order need none (RFC 8555 §7.1.4). The outer error is the server's
/// (retried on `badNonce`), the inner one kapstan's.
async fn challenges(
    order: &mut instant_acme::Order,
    zone: &str,
) -> Result<Result<Vec<ChallengeRecord>, DriverError>, instant_acme::Error> {
    let mut records = vec![];
    let mut authz = order.authorizations();
    while let Some(a) = authz.next().await {
        let mut a = a?;
        match a.status {
            AuthorizationStatus::Valid => continue,
            AuthorizationStatus::Pending => {}
            other => {
                return Ok(Err(failed(format!(
                    "ACME authorization for {} is {other:?}; run again for a fresh order",
                    a.identifier()
                ))));
            }
        }
        let base = match &a.identifier().identifier {
            Identifier::Dns(d) => d.clone(),
            other => return Ok(Err(failed(format!("unexpected ACME identifier {other:?}")))),
        };
        let Some(ch) = a.challenge(ChallengeType::Dns01) else {
            return Ok(Err(failed(format!(
                "the ACME server offers no dns-01 challenge for {base}"
            ))));
        };
        records.push(ChallengeRecord {
            name: challenge_name(zone, &base),
            value: ch.key_authorization().dns_value(),
        });
    }
    Ok(Ok(records))
}

/// Tells the server every pending dns-01 challenge is ready to be validated.
async fn set_ready(order: &mut instant_acme::Order) -> Result<(), instant_acme::Error> {
    let mut authz = order.authorizations();
    while let Some(a) = authz.next().await {
        let mut a = a?;
        if a.status != AuthorizationStatus::Pending {
            continue;
        }
        if let Some(mut ch) = a.challenge(ChallengeType::Dns01)
            && ch.status == instant_acme::ChallengeStatus::Pending
        {
            ch.set_ready().await?;
        }
    }
    Ok(())
}

/// Why an order became invalid: the first failed challenge's problem.
async fn challenge_failure(order: &mut instant_acme::Order, dir: &str) -> String {
    let mut authz = order.authorizations();
    while let Some(Ok(mut a)) = authz.next().await {
        let Ok(state) = a.refresh().await else {
            continue;
        };
        if state.status == AuthorizationStatus::Valid {
            continue;
        }
        let name = state.identifier().to_string();
        if let Some(p) = state.challenges.iter().find_map(|c| c.error.as_ref()) {
            return format!(
                "the ACME server {dir} refused the dns-01 challenge for {name}: {}; check that the zone is delegated to Scaleway's name servers",
                p.detail.clone().unwrap_or_default()
            );
        }
        return format!("the ACME server {dir} did not validate {name}");
    }
    format!("the ACME order at {dir} became invalid")
}
