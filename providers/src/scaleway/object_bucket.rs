//! `scaleway_object_bucket`: an Object Storage bucket through the S3 API (signed by the state
//! crate's `S3Requests` with the region slug, path-style URLs): creation, tags, versioning, lifecycle rules. The bucket name
//! is its natural key; ownership tags (`kapstan-stack`, `kapstan-addr`) are bucket tags.

use std::collections::BTreeMap;
use std::sync::Arc;

use std::time::Duration;

use backon::{ExponentialBuilder, Retryable};
use kapstan_engine::state::{
    ResourceState, S3Answer, S3RequestError, S3Requests, XmlDocument, XmlNode, xml_escape,
};
use kapstan_engine::value::URL_COMPONENT;
use kapstan_engine::{
    Created, Driver, DriverContext, DriverError, FieldError, Imported, Schema, Update, async_trait,
};
use percent_encoding::{AsciiSet, utf8_percent_encode};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::kind::{Declared, attribute_as_is, config_block, kind, validate_with};
use super::provider::{ScalewayProvider, check, config_from, conform, items, string};

/// Versioning of a bucket.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Versioning {
    /// Enabled (once enabled it can only be suspended).
    pub enabled: bool,
}

/// Expiration of a lifecycle rule.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Expiration {
    /// Days after creation.
    pub days: u32,
}

/// Transition of a lifecycle rule.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Transition {
    /// Days after creation.
    pub days: u32,
    /// `GLACIER` or `ONEZONE_IA`.
    pub storage_class: String,
}

config_block! {
    /// A lifecycle rule.
    #[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
    pub struct LifecycleRule {
        /// Rule id.
        pub id: String,
        /// Key prefix the rule applies to (empty: every object).
        #[serde(default)]
        pub prefix: String,
        /// Whether the rule is active.
        pub enabled: bool,
        /// Delete objects after some days.
        pub expiration: Option<Expiration>,
        /// Move objects to another storage class.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        pub transition: Vec<Transition>,
        /// Abort incomplete multipart uploads after some days.
        pub abort_incomplete_multipart_upload_days: Option<u32>,
    }
}

kind! {
    /// An Object Storage bucket.
    pub struct ObjectBucket = "scaleway_object_bucket" (ObjectBucketKind, ObjectBucketAttributes);
    wire LiveBucket as b, id b.name;
    /// globally unique bucket name
    name: String, required force_new => b.name;
    /// tags `{key: value}` (updated in place); kapstan adds kapstan-stack and kapstan-addr
    #[serde(default)]
    tags: BTreeMap<String, String>, optional => b.tags;
    /// `{enabled}` (updated in place; once enabled, only suspended)
    versioning: Option<Versioning>, optional_computed => json!({"enabled": b.versioning});
    /// `[{id, prefix, enabled, expiration{days}, transition[{days, storage_class}],
    /// abort_incomplete_multipart_upload_days}]` (updated in place)
    lifecycle_rule: Option<Vec<LifecycleRule>>, optional => b.lifecycle_rule;
    /// on destroy, delete every object first
    force_destroy: Option<bool>, optional;
    region => b.region;
    /// URL of the bucket
    endpoint: String, computed => b.endpoint;
}

attribute_as_is!(Versioning, LifecycleRule);

/// A bucket as S3 describes it.
#[derive(Debug)]
pub struct LiveBucket {
    name: String,
    tags: BTreeMap<String, String>,
    versioning: bool,
    lifecycle_rule: Vec<Value>,
    region: String,
    endpoint: String,
}

/// Regions offering Object Storage.
pub const S3_REGIONS: &[&str] = &["fr-par", "nl-ams", "pl-waw"];

/// A key inside a bucket path: URI-encoded like a URL component, but `/` kept.
const KEY_PATH: &AsciiSet = &URL_COMPONENT.remove(b'/');

/// `key[=value]&…` for S3 sub-resources (`?tagging`, `?versionId=…`).
fn query_string(query: &[(&str, &str)]) -> String {
    query
        .iter()
        .map(|(k, v)| {
            let k = utf8_percent_encode(k, URL_COMPONENT);
            if v.is_empty() {
                k.to_string()
            } else {
                format!("{k}={}", utf8_percent_encode(v, URL_COMPONENT))
            }
        })
        .collect::<Vec<_>>()
        .join("&")
}

/// Why one attempt of an S3 request is worth another.
enum Attempt {
    /// The service answered 429 or 5xx.
    Busy(S3Answer),
    /// It could not be reached.
    Unreachable(S3RequestError),
}

/// A minimal S3 client for bucket calls: path-style URLs, requests signed by [`S3Requests`].
struct S3 {
    requests: S3Requests,
    endpoint: String,
    region: String,
}

impl S3 {
    /// Sends one request, retried with jittered exponential backoff (200 ms, 4 retries) while
    /// the service is unreachable or answers 429/5xx; the last such answer is returned as is.
    async fn send(
        &self,
        method: &str,
        bucket: &str,
        query: &[(&str, &str)],
        body: Option<String>,
    ) -> Result<S3Answer, DriverError> {
        let mut url = reqwest::Url::parse(&format!(
            "{}/{}",
            self.endpoint.trim_end_matches('/'),
            bucket
        ))
        .map_err(|e| DriverError::failed(format!("bad Object Storage endpoint: {e}")))?;
        if !query.is_empty() {
            url.set_query(Some(&query_string(query)));
        }
        let m = reqwest::Method::from_bytes(method.as_bytes())
            .map_err(|e| DriverError::failed(e.to_string()))?;
        let body = body.map(String::into_bytes);
        let attempt = || async {
            let answer = self
                .requests
                .send(m.clone(), &url, body.clone())
                .await
                .map_err(Attempt::Unreachable)?;
            if answer.status == 429 || answer.status >= 500 {
                return Err(Attempt::Busy(answer));
            }
            Ok(answer)
        };
        let backoff = ExponentialBuilder::default()
            .with_min_delay(Duration::from_millis(200))
            .with_max_times(4)
            .with_jitter();
        match attempt.retry(backoff).await {
            Ok(answer) | Err(Attempt::Busy(answer)) => Ok(answer),
            Err(Attempt::Unreachable(e)) => Err(DriverError::failed(format!(
                "{method} bucket {bucket}: {e}"
            ))),
        }
    }
}

fn failed(what: &str, bucket: &str, r: &S3Answer) -> DriverError {
    DriverError::failed(format!(
        "{what} of bucket {bucket}: HTTP {} {}",
        r.status,
        r.code()
    ))
}

/// The `scaleway_object_bucket` driver.
#[derive(Debug)]
pub struct ObjectBucketDriver {
    p: Arc<ScalewayProvider>,
    schema: Schema,
}

impl ObjectBucketDriver {
    /// The driver.
    pub fn new(p: Arc<ScalewayProvider>) -> Self {
        Self {
            p,
            schema: Schema::new(ObjectBucketKind::NAME, ObjectBucketKind::fields()),
        }
    }

    fn s3(&self, config: &Value) -> Result<S3, DriverError> {
        let client = self.p.client()?;
        let cfg = client.config();
        let region = self.p.region_of(config)?;
        let access_key = cfg
            .access_key
            .clone()
            .ok_or_else(|| DriverError::failed("Object Storage needs an access key: set SCW_ACCESS_KEY (or access_key in the profile)"))?;
        let access_key = access_key.split('@').next().unwrap_or_default().to_string();
        Ok(S3 {
            requests: S3Requests::new(
                reqwest::Client::new(),
                &access_key,
                cfg.secret_key.expose(),
                region.as_str(),
            ),
            endpoint: self
                .p
                .s3_endpoint()
                .map(String::from)
                .unwrap_or_else(|| format!("https://s3.{region}.scw.cloud")),
            region: region.to_string(),
        })
    }

    /// The live bucket, or `None` when it does not exist.
    async fn live(&self, s3: &S3, bucket: &str) -> Result<Option<LiveBucket>, DriverError> {
        let head = s3.send("HEAD", bucket, &[], None).await?;
        if head.status == 404 {
            return Ok(None);
        }
        if head.status >= 300 {
            return Err(failed("reading", bucket, &head));
        }
        let tagging = s3.send("GET", bucket, &[("tagging", "")], None).await?;
        let mut tags = BTreeMap::new();
        if tagging.status < 300 {
            let doc = parse(bucket, "tags", &tagging.body)?;
            for t in doc.all(doc.root(), "Tag") {
                tags.insert(
                    doc.text(t, "Key").unwrap_or_default().to_string(),
                    doc.text(t, "Value").unwrap_or_default().to_string(),
                );
            }
        }
        let versioning = s3.send("GET", bucket, &[("versioning", "")], None).await?;
        let enabled = versioning.is_success() && {
            let doc = parse(bucket, "versioning", &versioning.body)?;
            doc.text(doc.root(), "Status") == Some("Enabled")
        };
        let lifecycle = s3.send("GET", bucket, &[("lifecycle", "")], None).await?;
        let rules: Vec<Value> = if lifecycle.status < 300 {
            let doc = parse(bucket, "lifecycle rules", &lifecycle.body)?;
            doc.all(doc.root(), "Rule")
                .map(|r| parse_rule(&doc, r))
                .collect()
        } else {
            vec![]
        };
        Ok(Some(LiveBucket {
            name: bucket.to_string(),
            tags,
            versioning: enabled,
            lifecycle_rule: rules,
            region: s3.region.clone(),
            endpoint: format!("{}/{bucket}", s3.endpoint.trim_end_matches('/')),
        }))
    }

    /// Applies tags (with ownership), versioning and lifecycle as declared.
    async fn apply(
        &self,
        ctx: &DriverContext,
        s3: &S3,
        bucket: &str,
        config: &Value,
        only: Option<&[String]>,
    ) -> Result<(), DriverError> {
        let touched = |f: &str| {
            only.is_none_or(|c| {
                c.iter()
                    .any(|p| p == &format!("/{f}") || p.starts_with(&format!("/{f}/")))
            })
        };
        if touched("tags") {
            let mut tags: BTreeMap<String, String> = config
                .get("tags")
                .and_then(Value::as_object)
                .map(|m| {
                    m.iter()
                        .map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_string()))
                        .collect()
                })
                .unwrap_or_default();
            for t in ctx.ownership_tags() {
                if let Some((k, v)) = t.split_once('=') {
                    tags.insert(k.to_string(), v.to_string());
                }
            }
            let body = format!(
                "<Tagging><TagSet>{}</TagSet></Tagging>",
                tags.iter()
                    .map(|(k, v)| format!(
                        "<Tag><Key>{}</Key><Value>{}</Value></Tag>",
                        xml_escape(k),
                        xml_escape(v)
                    ))
                    .collect::<String>()
            );
            let r = s3
                .send("PUT", bucket, &[("tagging", "")], Some(body))
                .await?;
            if r.status >= 300 {
                return Err(failed("tagging", bucket, &r));
            }
        }
        if touched("versioning")
            && let Some(enabled) = config
                .pointer("/versioning/enabled")
                .and_then(Value::as_bool)
        {
            let status = if enabled { "Enabled" } else { "Suspended" };
            let body = format!(
                "<VersioningConfiguration><Status>{status}</Status></VersioningConfiguration>"
            );
            let r = s3
                .send("PUT", bucket, &[("versioning", "")], Some(body))
                .await?;
            if r.status >= 300 {
                return Err(failed("versioning", bucket, &r));
            }
        }
        if touched("lifecycle_rule") && config.get("lifecycle_rule").is_some() {
            let rules = config
                .get("lifecycle_rule")
                .and_then(Value::as_array)
                .cloned()
                .unwrap_or_default();
            let r = if rules.is_empty() {
                s3.send("DELETE", bucket, &[("lifecycle", "")], None)
                    .await?
            } else {
                let body = format!(
                    "<LifecycleConfiguration>{}</LifecycleConfiguration>",
                    rules.iter().map(rule_xml).collect::<String>()
                );
                s3.send("PUT", bucket, &[("lifecycle", "")], Some(body))
                    .await?
            };
            if r.status >= 300 && r.status != 404 {
                return Err(failed("lifecycle", bucket, &r));
            }
        }
        Ok(())
    }

    /// Refuses a bucket another kapstan resource owns; an untagged one is adopted.
    fn owned_or_untagged(ctx: &DriverContext, live: &LiveBucket) -> Result<(), DriverError> {
        let addr = live.tags.get("kapstan-addr");
        let stack = live.tags.get("kapstan-stack");
        match (stack, addr) {
            (None, None) => Ok(()),
            (Some(s), Some(a)) if *s == ctx.stack && *a == ctx.address => Ok(()),
            _ => Err(DriverError::failed(format!(
                "bucket {} exists and belongs to another kapstan resource ({}/{}); choose another name or import it",
                live.name,
                stack.map_or("?", String::as_str),
                addr.map_or("?", String::as_str)
            ))),
        }
    }

    /// Applies the declaration to a bucket this resource owns and reads it back.
    async fn settle(
        &self,
        ctx: &DriverContext,
        s3: &S3,
        name: &str,
        config: &Value,
    ) -> Result<Created, DriverError> {
        self.apply(ctx, s3, name, config, None).await?;
        let live = self
            .live(s3, name)
            .await?
            .ok_or_else(|| DriverError::failed(format!("bucket {name} vanished")))?;
        Ok(Created {
            id: name.to_string(),
            attributes: user_view(&live, config),
        })
    }
}

fn rule_xml(r: &Value) -> String {
    let mut x = format!(
        "<Rule><ID>{}</ID><Filter><Prefix>{}</Prefix></Filter><Status>{}</Status>",
        xml_escape(r["id"].as_str().unwrap_or_default()),
        xml_escape(r["prefix"].as_str().unwrap_or_default()),
        if r["enabled"].as_bool().unwrap_or(false) {
            "Enabled"
        } else {
            "Disabled"
        }
    );
    if let Some(d) = r.pointer("/expiration/days").and_then(Value::as_u64) {
        x.push_str(&format!("<Expiration><Days>{d}</Days></Expiration>"));
    }
    for t in items(r, "transition") {
        x.push_str(&format!(
            "<Transition><Days>{}</Days><StorageClass>{}</StorageClass></Transition>",
            t["days"].as_u64().unwrap_or(0),
            xml_escape(t["storage_class"].as_str().unwrap_or_default())
        ));
    }
    if let Some(d) = r
        .get("abort_incomplete_multipart_upload_days")
        .and_then(Value::as_u64)
    {
        x.push_str(&format!("<AbortIncompleteMultipartUpload><DaysAfterInitiation>{d}</DaysAfterInitiation></AbortIncompleteMultipartUpload>"));
    }
    x.push_str("</Rule>");
    x
}

/// The answer of `what` for `bucket` as an XML document; an empty body reads as an empty one.
fn parse<'a>(bucket: &str, what: &str, body: &'a str) -> Result<XmlDocument<'a>, DriverError> {
    let body = if body.trim().is_empty() {
        "<Empty/>"
    } else {
        body
    };
    XmlDocument::parse(body).map_err(|e| {
        DriverError::failed(format!(
            "reading the {what} of bucket {bucket}: the answer is not XML ({e})"
        ))
    })
}

fn parse_rule(doc: &XmlDocument<'_>, rule: XmlNode<'_, '_>) -> Value {
    let days = |n: XmlNode<'_, '_>| doc.text(n, "Days").and_then(|d| d.parse::<u32>().ok());
    let mut r = json!({
        "id": doc.text(rule, "ID").unwrap_or_default(),
        "prefix": doc.text(rule, "Prefix").unwrap_or_default(),
        "enabled": doc.text(rule, "Status") == Some("Enabled"),
    });
    if let Some(e) = doc.children(rule, "Expiration").next().and_then(days) {
        r["expiration"] = json!({"days": e});
    }
    let transitions: Vec<Value> = doc
        .children(rule, "Transition")
        .map(|t| json!({"days": days(t).unwrap_or(0), "storage_class": doc.text(t, "StorageClass").unwrap_or_default()}))
        .collect();
    if !transitions.is_empty() {
        r["transition"] = json!(transitions);
    }
    if let Some(d) = doc
        .text(rule, "DaysAfterInitiation")
        .and_then(|d| d.parse::<u32>().ok())
    {
        r["abort_incomplete_multipart_upload_days"] = json!(d);
    }
    r
}

/// The attributes of a live bucket as users declare it: without the ownership tags, shaped
/// like `config`.
fn user_view(live: &LiveBucket, config: &Value) -> Value {
    let mut a = ObjectBucketKind::attributes(live);
    if let Some(tags) = a.get_mut("tags").and_then(Value::as_object_mut) {
        tags.remove("kapstan-stack");
        tags.remove("kapstan-addr");
    }
    conform(&mut a, config);
    a
}

#[async_trait]
impl Driver for ObjectBucketDriver {
    fn schema(&self) -> &Schema {
        &self.schema
    }

    fn validate(&self, config: &Value, errors: &mut Vec<FieldError>) {
        let credentials_ok = self.p.credential_errors().is_empty();
        errors.extend(validate_with(&self.p, &self.schema, config, |config, e| {
            if credentials_ok
                && let Ok(cfg) = self.p.config()
                && cfg.access_key.is_none()
            {
                e.push(FieldError::new(
                    "(scaleway credentials)",
                    "(not set)",
                    "lack an access key, which Object Storage signatures need",
                    "set SCW_ACCESS_KEY (or access_key in the profile)",
                ));
            }
            check::one_of(config, "region", S3_REGIONS, "Object Storage region", e);
            if let Some(n) = config.get("name").and_then(Value::as_str) {
                let ok = (3..=63).contains(&n.len())
                    && n.chars().all(|c| {
                        c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '.'
                    })
                    && n.starts_with(|c: char| c.is_ascii_alphanumeric())
                    && n.ends_with(|c: char| c.is_ascii_alphanumeric());
                if !ok {
                    e.push(FieldError::new("name", &format!("{n:?}"), "is not a valid bucket name", "use 3 to 63 lower-case letters, digits, `-` or `.`, starting and ending with a letter or digit"));
                }
            }
            if let Some(tags) = config.get("tags").and_then(Value::as_object)
                && tags
                    .keys()
                    .any(|k| k == "kapstan-stack" || k == "kapstan-addr")
            {
                e.push(FieldError::new(
                    "tags",
                    "kapstan-…",
                    "uses a key reserved for kapstan's ownership tags",
                    "remove it",
                ));
            }
            for r in items(config, "lifecycle_rule") {
                for t in items(r, "transition") {
                    if let Some(c) = t.get("storage_class").and_then(Value::as_str)
                        && !["GLACIER", "ONEZONE_IA", "STANDARD"].contains(&c)
                    {
                        e.push(FieldError::new(
                            "lifecycle_rule.transition.storage_class",
                            &format!("{c:?}"),
                            "is not a storage class",
                            "use GLACIER or ONEZONE_IA",
                        ));
                    }
                }
            }
        }));
    }

    async fn read(
        &self,
        _ctx: &DriverContext,
        rec: &ResourceState,
    ) -> Result<Option<Value>, DriverError> {
        let s3 = self.s3(&rec.config)?;
        let name = rec.id.clone().unwrap_or_default();
        Ok(self
            .live(&s3, &name)
            .await?
            .map(|l| user_view(&l, &rec.config)))
    }

    async fn create(&self, ctx: &DriverContext, config: &Value) -> Result<Created, DriverError> {
        let s3 = self.s3(config)?;
        let name = string(config, "name").unwrap_or_default();
        let r = s3.send("PUT", &name, &[], None).await?;
        match (r.status, r.code().as_str()) {
            (s, _) if s < 300 => {}
            (409, "BucketAlreadyOwnedByYou") => {
                // A lost answer or an earlier crash: adopt it unless another resource owns it.
                if let Some(live) = self.live(&s3, &name).await? {
                    Self::owned_or_untagged(ctx, &live)?;
                }
            }
            _ => return Err(failed("creation", &name, &r)),
        }
        ctx.checkpoint(json!({"id": name})).await?;
        self.settle(ctx, &s3, &name, config).await
    }

    async fn recover(
        &self,
        ctx: &DriverContext,
        config: &Value,
        _marker: &Value,
    ) -> Result<Option<Created>, DriverError> {
        let s3 = self.s3(config)?;
        let name = string(config, "name").unwrap_or_default();
        let Some(live) = self.live(&s3, &name).await? else {
            return Ok(None);
        };
        Self::owned_or_untagged(ctx, &live)?;
        self.settle(ctx, &s3, &name, config).await.map(Some)
    }

    async fn update(&self, ctx: &DriverContext, update: &Update<'_>) -> Result<Value, DriverError> {
        let Update {
            recorded: rec,
            config,
            changed,
        } = *update;
        let s3 = self.s3(config)?;
        let name = rec.id.clone().unwrap_or_default();
        self.apply(ctx, &s3, &name, config, Some(changed)).await?;
        let live = self
            .live(&s3, &name)
            .await?
            .ok_or_else(|| DriverError::failed(format!("bucket {name} is gone")))?;
        Ok(user_view(&live, config))
    }

    async fn delete(&self, _ctx: &DriverContext, rec: &ResourceState) -> Result<(), DriverError> {
        let s3 = self.s3(&rec.config)?;
        let name = rec.id.clone().unwrap_or_default();
        for _ in 0..3 {
            let r = s3.send("DELETE", &name, &[], None).await?;
            match (r.status, r.code().as_str()) {
                (s, _) if s < 300 || s == 404 => return Ok(()),
                (409, "BucketNotEmpty")
                    if rec.config.get("force_destroy").and_then(Value::as_bool) == Some(true) =>
                {
                    let list = s3.send("GET", &name, &[("versions", "")], None).await?;
                    let doc = parse(&name, "object versions", &list.body)?;
                    let versions: Vec<(String, String)> = doc
                        .all(doc.root(), "Version")
                        .chain(doc.all(doc.root(), "DeleteMarker"))
                        .map(|v| {
                            (
                                doc.text(v, "Key").unwrap_or_default().to_string(),
                                doc.text(v, "VersionId").unwrap_or("null").to_string(),
                            )
                        })
                        .collect();
                    for (key, version) in versions {
                        let path = format!("{name}/{}", utf8_percent_encode(&key, KEY_PATH));
                        s3.send("DELETE", &path, &[("versionId", &version)], None)
                            .await?;
                    }
                }
                _ => return Err(failed("deletion", &name, &r)),
            }
        }
        Err(DriverError::failed(format!(
            "bucket {name} is still not empty after deleting its objects"
        )))
    }

    async fn import(
        &self,
        _ctx: &DriverContext,
        id: &str,
    ) -> Result<Option<Imported>, DriverError> {
        let (region, name) = match id.split_once('/') {
            Some((r, n)) => (Some(r.to_string()), n.to_string()),
            None => (None, id.to_string()),
        };
        let config = json!({"name": name, "region": region});
        let s3 = self.s3(&config)?;
        Ok(self.live(&s3, &name).await?.map(|live| {
            let attributes = user_view(&live, &Value::Null);
            let config = config_from(&self.schema, &attributes);
            Imported { config, attributes }
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lifecycle_rules_round_trip_through_xml() {
        let rule = json!({"id": "logs", "prefix": "logs/", "enabled": true, "expiration": {"days": 30},
            "transition": [{"days": 7, "storage_class": "GLACIER"}], "abort_incomplete_multipart_upload_days": 2});
        let xml = format!(
            "<LifecycleConfiguration>{}</LifecycleConfiguration>",
            rule_xml(&rule)
        );
        let doc = XmlDocument::parse(&xml).unwrap();
        let parsed = doc.children(doc.root(), "Rule").next().unwrap();
        assert_eq!(parse_rule(&doc, parsed), rule);
    }

    #[test]
    fn lifecycle_rules_are_read_from_a_namespaced_answer_with_entities() {
        // What Scaleway and AWS send: a declaration, the S3 namespace, indentation, entities.
        let xml = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<LifecycleConfiguration xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">\n  <Rule>\n    <ID>a&amp;b</ID>\n    <Filter><Prefix>logs/</Prefix></Filter>\n    <Status>Enabled</Status>\n    <Expiration><Days> 3 </Days></Expiration>\n  </Rule>\n</LifecycleConfiguration>";
        let doc = XmlDocument::parse(xml).unwrap();
        let rules: Vec<Value> = doc
            .all(doc.root(), "Rule")
            .map(|r| parse_rule(&doc, r))
            .collect();
        assert_eq!(
            rules,
            vec![
                json!({"id": "a&b", "prefix": "logs/", "enabled": true, "expiration": {"days": 3}})
            ]
        );
    }

    #[test]
    fn sub_resource_queries_are_uri_encoded() {
        assert_eq!(query_string(&[("tagging", "")]), "tagging");
        assert_eq!(
            query_string(&[("versionId", "a+b/c=")]),
            "versionId=a%2Bb%2Fc%3D"
        );
        assert_eq!(
            utf8_percent_encode("dir/a b+c", KEY_PATH).to_string(),
            "dir/a%20b%2Bc"
        );
    }
}
