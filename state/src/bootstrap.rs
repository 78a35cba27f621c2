//! Bootstrap of a state bucket: create it if missing, turn versioning on, and set a lifecycle
//! rule that expires only noncurrent versions and aborts incomplete multipart uploads.
//!
//! `object_store` has no bucket APIs, so these few requests are sent with `reqwest`, signed by
//! `object_store`'s own SigV4 signer (see `s3_request`), their answers read with an XML parser.

use std::fmt;
use std::time::Duration;

use url::Url;

use crate::StateError;
use crate::config::S3Config;
use crate::s3::S3Credentials;
use crate::s3_request::{S3Answer, S3Requests, XmlDocument, xml_escape};

/// ID of the lifecycle rule kapstan manages.
pub const LIFECYCLE_RULE_ID: &str = "kapstan-state-noncurrent-versions";
/// Days after which an incomplete multipart upload is aborted.
pub const ABORT_MULTIPART_DAYS: u32 = 7;
const S3_NS: &str = "http://s3.amazonaws.com/doc/2006-03-01/";

/// What [`bootstrap_bucket`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BootstrapReport {
    /// The bucket.
    pub bucket: String,
    /// The bucket URL.
    pub url: String,
    /// Whether the bucket was created now.
    pub created: bool,
    /// Whether versioning was turned on now (false: it already was).
    pub versioning_enabled: bool,
    /// Whether the lifecycle rule was written now (false: it already was as wanted).
    pub lifecycle_set: bool,
    /// Noncurrent versions expire after this many days.
    pub noncurrent_days: u32,
    /// One line per step, saying what was done or found.
    pub actions: Vec<String>,
}

impl BootstrapReport {
    /// Whether anything was changed.
    pub fn changed(&self) -> bool {
        self.created || self.versioning_enabled || self.lifecycle_set
    }
}

impl fmt::Display for BootstrapReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "bucket {} ({}):", self.bucket, self.url)?;
        for a in &self.actions {
            writeln!(f, "  - {a}")?;
        }
        if self.changed() {
            write!(f, "the bucket is ready for kapstan state")
        } else {
            write!(f, "nothing to do: the bucket was already set up")
        }
    }
}

/// What a bucket looks like, as read back from the service.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct BucketStatus {
    /// Whether the bucket exists (and is reachable with these credentials).
    pub exists: bool,
    /// Versioning status (`Enabled`, `Suspended`), `None` when never set.
    pub versioning: Option<String>,
    /// `NoncurrentDays` of kapstan's lifecycle rule, when present.
    pub noncurrent_days: Option<u32>,
    /// `DaysAfterInitiation` of kapstan's lifecycle rule, when present.
    pub abort_multipart_days: Option<u32>,
    /// Whether kapstan's rule has `Status` `Enabled`.
    pub rule_enabled: bool,
    /// Lifecycle rules not managed by kapstan (kept as they are), by ID.
    pub other_rules: Vec<String>,
}

/// Every `<Rule>…</Rule>` element of a lifecycle configuration, as its source text (rules not
/// managed by kapstan are written back unchanged).
fn rules(xml: &str) -> Vec<String> {
    let Ok(doc) = XmlDocument::parse(xml) else {
        return vec![];
    };
    doc.children(doc.root(), "Rule")
        .map(|r| doc.source(r).to_string())
        .collect()
}

/// The text of the first `<tag>` in `xml` (entities decoded), `None` when absent or not XML.
fn xml_text(xml: &str, tag: &str) -> Option<String> {
    let doc = XmlDocument::parse(xml).ok()?;
    doc.text(doc.root(), tag).map(String::from)
}

/// A minimal signed S3 client for bucket-level calls.
struct BucketClient<'a> {
    config: &'a S3Config,
    requests: S3Requests,
    bucket_url: Url,
}

impl<'a> BucketClient<'a> {
    fn new(config: &'a S3Config, creds: &'a S3Credentials) -> Result<Self, StateError> {
        config.validate()?;
        let http = reqwest::Client::builder()
            .timeout(config.request_timeout)
            .connect_timeout(Duration::from_secs(5).min(config.request_timeout))
            .build()
            .map_err(|e| StateError::Config(format!("HTTP client: {e}")))?;
        Ok(Self {
            config,
            requests: S3Requests::new(http, creds.access_key(), creds.secret_key(), &config.region),
            bucket_url: config.bucket_url()?,
        })
    }

    fn url(&self, subresource: Option<&str>) -> Url {
        let mut url = self.bucket_url.clone();
        if let Some(s) = subresource {
            url.set_query(Some(s));
        }
        url
    }

    fn error(&self, action: &str, detail: String) -> StateError {
        StateError::Remote {
            location: format!("s3://{} ({})", self.config.bucket, self.bucket_url),
            reason: format!("{action}: {detail}"),
        }
    }

    async fn send(
        &self,
        method: reqwest::Method,
        subresource: Option<&str>,
        body: Vec<u8>,
        action: &str,
    ) -> Result<S3Answer, StateError> {
        let url = self.url(subresource);
        let body = (!body.is_empty()).then_some(body);
        self.requests
            .send(method, &url, body)
            .await
            .map_err(|e| self.error(action, e.to_string()))
    }

    fn failure(&self, action: &str, r: &S3Answer) -> StateError {
        let code = r.code();
        let message = r.message();
        let hint = match (r.status, code.as_str()) {
            (403, _) | (_, "SignatureDoesNotMatch" | "InvalidAccessKeyId" | "AccessDenied") => {
                "; check the access key and secret key and their permissions (for a bucket of another Scaleway project use ACCESS_KEY@PROJECT_ID)"
            }
            (301, _) | (_, "PermanentRedirect" | "AuthorizationHeaderMalformed") => {
                "; the bucket may live in another region: set `region`"
            }
            _ => "",
        };
        self.error(
            action,
            format!("HTTP {} {code} {message}{hint}", r.status)
                .trim()
                .to_string(),
        )
    }

    async fn exists(&self) -> Result<bool, StateError> {
        let r = self
            .send(reqwest::Method::HEAD, None, vec![], "checking the bucket")
            .await?;
        match r.status {
            200..=299 => Ok(true),
            404 => Ok(false),
            403 => Err(self.error(
                "checking the bucket",
                "HTTP 403: the bucket exists but these credentials may not use it (bucket names are global: it may belong to someone else; or the key lacks permissions)".into(),
            )),
            _ => Err(self.failure("checking the bucket", &r)),
        }
    }

    async fn create(&self) -> Result<bool, StateError> {
        // Scaleway takes the region from the endpoint and wants an empty body; other services
        // (AWS outside us-east-1) want a LocationConstraint.
        let with_constraint = !self.config.is_scaleway() && self.config.region != "us-east-1";
        let body = if with_constraint {
            format!(
                "<CreateBucketConfiguration xmlns=\"{S3_NS}\"><LocationConstraint>{}</LocationConstraint></CreateBucketConfiguration>",
                xml_escape(&self.config.region)
            )
            .into_bytes()
        } else {
            vec![]
        };
        let mut r = self
            .send(reqwest::Method::PUT, None, body, "creating the bucket")
            .await?;
        if with_constraint && r.status == 400 && r.body.contains("LocationConstraint") {
            r = self
                .send(reqwest::Method::PUT, None, vec![], "creating the bucket")
                .await?;
        }
        match (r.status, r.code().as_str()) {
            (200..=299, _) => Ok(true),
            (409, "BucketAlreadyOwnedByYou") => Ok(false),
            (409, "BucketAlreadyExists") => Err(self.error(
                "creating the bucket",
                "the name is taken by someone else (bucket names are global); choose another name"
                    .into(),
            )),
            _ => Err(self.failure("creating the bucket", &r)),
        }
    }

    async fn versioning(&self) -> Result<Option<String>, StateError> {
        let r = self
            .send(
                reqwest::Method::GET,
                Some("versioning"),
                vec![],
                "reading versioning",
            )
            .await?;
        if !(200..300).contains(&r.status) {
            return Err(self.failure("reading versioning", &r));
        }
        Ok(xml_text(&r.body, "Status"))
    }

    async fn enable_versioning(&self) -> Result<(), StateError> {
        let body = format!(
            "<VersioningConfiguration xmlns=\"{S3_NS}\"><Status>Enabled</Status></VersioningConfiguration>"
        );
        let r = self
            .send(
                reqwest::Method::PUT,
                Some("versioning"),
                body.into_bytes(),
                "turning versioning on",
            )
            .await?;
        if (200..300).contains(&r.status) {
            Ok(())
        } else {
            Err(self.failure("turning versioning on", &r))
        }
    }

    /// The lifecycle configuration XML, `None` when there is none.
    async fn lifecycle(&self) -> Result<Option<String>, StateError> {
        let r = self
            .send(
                reqwest::Method::GET,
                Some("lifecycle"),
                vec![],
                "reading the lifecycle rules",
            )
            .await?;
        match r.status {
            200..=299 => Ok(Some(r.body)),
            404 => Ok(None),
            _ => Err(self.failure("reading the lifecycle rules", &r)),
        }
    }

    async fn put_lifecycle(&self, xml: String) -> Result<(), StateError> {
        let r = self
            .send(
                reqwest::Method::PUT,
                Some("lifecycle"),
                xml.into_bytes(),
                "writing the lifecycle rule",
            )
            .await?;
        if (200..300).contains(&r.status) {
            Ok(())
        } else {
            Err(self.failure("writing the lifecycle rule", &r))
        }
    }
}

fn our_rule(noncurrent_days: u32) -> String {
    format!(
        "<Rule><ID>{LIFECYCLE_RULE_ID}</ID><Filter><Prefix></Prefix></Filter><Status>Enabled</Status>\
<NoncurrentVersionExpiration><NoncurrentDays>{noncurrent_days}</NoncurrentDays></NoncurrentVersionExpiration>\
<AbortIncompleteMultipartUpload><DaysAfterInitiation>{ABORT_MULTIPART_DAYS}</DaysAfterInitiation></AbortIncompleteMultipartUpload></Rule>"
    )
}

fn status_of(exists: bool, versioning: Option<String>, lifecycle: Option<&str>) -> BucketStatus {
    let mut status = BucketStatus {
        exists,
        versioning,
        ..BucketStatus::default()
    };
    for rule in lifecycle.map(rules).unwrap_or_default() {
        let id = xml_text(&rule, "ID").unwrap_or_default();
        if id == LIFECYCLE_RULE_ID {
            status.noncurrent_days = xml_text(&rule, "NoncurrentDays").and_then(|d| d.parse().ok());
            status.abort_multipart_days =
                xml_text(&rule, "DaysAfterInitiation").and_then(|d| d.parse().ok());
            status.rule_enabled = xml_text(&rule, "Status").as_deref() == Some("Enabled");
        } else {
            status.other_rules.push(id);
        }
    }
    status
}

/// Reads the bucket's existence, versioning and kapstan's lifecycle rule.
pub async fn inspect_bucket(
    config: &S3Config,
    creds: &S3Credentials,
) -> Result<BucketStatus, StateError> {
    let client = BucketClient::new(config, creds)?;
    if !client.exists().await? {
        return Ok(BucketStatus::default());
    }
    let versioning = client.versioning().await?;
    let lifecycle = client.lifecycle().await?;
    Ok(status_of(true, versioning, lifecycle.as_deref()))
}

/// Creates the bucket of `config` if missing, turns versioning on, and sets a lifecycle rule
/// that expires noncurrent versions after `noncurrent_days` days (current versions are never
/// expired) and aborts multipart uploads left incomplete for [`ABORT_MULTIPART_DAYS`] days.
/// Other lifecycle rules are kept. Idempotent: a second run changes nothing and says so.
pub async fn bootstrap_bucket(
    config: &S3Config,
    creds: &S3Credentials,
    noncurrent_days: u32,
) -> Result<BootstrapReport, StateError> {
    if noncurrent_days == 0 {
        return Err(StateError::Config(
            "noncurrent_days must be at least 1 (default 90)".into(),
        ));
    }
    let client = BucketClient::new(config, creds)?;
    let mut report = BootstrapReport {
        bucket: config.bucket.clone(),
        url: client.bucket_url.to_string(),
        created: false,
        versioning_enabled: false,
        lifecycle_set: false,
        noncurrent_days,
        actions: vec![],
    };
    if client.exists().await? {
        report.actions.push("bucket exists".into());
    } else if client.create().await? {
        report.created = true;
        report
            .actions
            .push(format!("created the bucket in {}", config.region));
    } else {
        report.actions.push("bucket exists (already yours)".into());
    }

    match client.versioning().await?.as_deref() {
        Some("Enabled") => report.actions.push("versioning already on".into()),
        other => {
            client.enable_versioning().await?;
            report.versioning_enabled = true;
            report.actions.push(match other {
                Some("Suspended") => "versioning was suspended: turned it back on".into(),
                _ => "turned versioning on".into(),
            });
        }
    }

    let lifecycle = client.lifecycle().await?;
    let status = status_of(true, None, lifecycle.as_deref());
    if status.noncurrent_days == Some(noncurrent_days)
        && status.abort_multipart_days == Some(ABORT_MULTIPART_DAYS)
        && status.rule_enabled
    {
        report.actions.push(format!(
            "lifecycle rule `{LIFECYCLE_RULE_ID}` already expires noncurrent versions after {noncurrent_days} days"
        ));
    } else {
        let mut body = format!("<LifecycleConfiguration xmlns=\"{S3_NS}\">");
        for rule in lifecycle.as_deref().map(rules).unwrap_or_default() {
            if xml_text(&rule, "ID").as_deref() != Some(LIFECYCLE_RULE_ID) {
                body.push_str(&rule);
            }
        }
        body.push_str(&our_rule(noncurrent_days));
        body.push_str("</LifecycleConfiguration>");
        client.put_lifecycle(body).await?;
        report.lifecycle_set = true;
        let kept = if status.other_rules.is_empty() {
            String::new()
        } else {
            format!(" (kept other rules: {})", status.other_rules.join(", "))
        };
        report.actions.push(format!(
            "set lifecycle rule `{LIFECYCLE_RULE_ID}`: noncurrent versions expire after {noncurrent_days} days, incomplete multipart uploads are aborted after {ABORT_MULTIPART_DAYS} days; current versions never expire{kept}"
        ));
    }
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lifecycle_rules_are_read_and_kept() {
        let xml = format!(
            "<LifecycleConfiguration><Rule><ID>logs</ID><Status>Enabled</Status><Expiration><Days>3</Days></Expiration></Rule>{}</LifecycleConfiguration>",
            our_rule(30)
        );
        let s = status_of(true, Some("Enabled".into()), Some(&xml));
        assert_eq!(s.noncurrent_days, Some(30));
        assert_eq!(s.abort_multipart_days, Some(ABORT_MULTIPART_DAYS));
        assert!(s.rule_enabled);
        assert_eq!(s.other_rules, vec!["logs".to_string()]);
    }

    #[test]
    fn lifecycle_rules_are_read_in_the_s3_namespace_and_kept_verbatim() {
        // AWS and Scaleway answer with the namespace and whitespace; a rule whose ID holds an
        // entity and one with elements kapstan does not know must survive a rewrite.
        let other = "<Rule>\n  <ID>a&amp;b</ID>\n  <Filter><And><Prefix>x/</Prefix></And></Filter><Status>Enabled</Status><NoncurrentVersionTransition><NoncurrentDays>5</NoncurrentDays><StorageClass>GLACIER</StorageClass></NoncurrentVersionTransition></Rule>";
        let xml = format!(
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<LifecycleConfiguration xmlns=\"{S3_NS}\">\n{other}\n{}</LifecycleConfiguration>",
            our_rule(12)
        );
        let s = status_of(true, None, Some(&xml));
        assert_eq!(s.noncurrent_days, Some(12));
        assert_eq!(s.other_rules, vec!["a&b".to_string()]);
        assert_eq!(rules(&xml)[0], other);
    }
}
