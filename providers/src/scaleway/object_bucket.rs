//! `scaleway_object_bucket`: an Object Storage bucket through the S3 API (SigV4 with the
//! region slug, path-style URLs): creation, tags, versioning, lifecycle rules. The bucket name
//! is its natural key; ownership tags (`kapstan-stack`, `kapstan-addr`) are bucket tags.

use std::collections::BTreeMap;
use std::sync::Arc;

use base64::Engine as _;
use hmac::{Hmac, Mac};
use kapstan_engine::state::ResourceState;
use kapstan_engine::{
    Created, Driver, DriverContext, DriverError, Field, FieldError, Imported, Resource, Schema,
    async_trait,
};
use md5::Md5;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use super::provider::{ScalewayProvider, attributes, check, conform, string};

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
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expiration: Option<Expiration>,
    /// Move objects to another storage class.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub transition: Vec<Transition>,
    /// Abort incomplete multipart uploads after some days.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub abort_incomplete_multipart_upload_days: Option<u32>,
}

/// An Object Storage bucket.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct ObjectBucket {
    /// Globally unique name. Changing it replaces the bucket.
    pub name: String,
    /// Tags as a map (updated in place); kapstan adds its two ownership tags.
    #[serde(default)]
    pub tags: BTreeMap<String, String>,
    /// Versioning (updated in place).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub versioning: Option<Versioning>,
    /// Lifecycle rules (updated in place).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lifecycle_rule: Option<Vec<LifecycleRule>>,
    /// On destroy, delete every object first.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub force_destroy: Option<bool>,
    /// Region. Changing it replaces the bucket.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
}

attributes! {
    /// Attributes of a `scaleway_object_bucket`.
    ObjectBucketAttributes {
        /// The bucket endpoint URL.
        endpoint: String = "endpoint",
        /// The bucket name.
        name: String = "name",
    }
}

impl Resource for ObjectBucket {
    const KIND: &'static str = "scaleway_object_bucket";
    type Attributes = ObjectBucketAttributes;
}

/// Regions offering Object Storage.
pub const S3_REGIONS: &[&str] = &["fr-par", "nl-ams", "pl-waw"];

/// Computes an AWS Signature V4 `Authorization` header for S3.
///
/// `headers` must include `host`, `x-amz-date` and `x-amz-content-sha256`; names lower-case.
#[allow(clippy::too_many_arguments)]
pub fn sigv4_authorization(
    method: &str,
    path: &str,
    query: &[(String, String)],
    headers: &BTreeMap<String, String>,
    payload_sha256: &str,
    access_key: &str,
    secret_key: &str,
    region: &str,
) -> String {
    let amz_date = headers.get("x-amz-date").cloned().unwrap_or_default();
    let date = &amz_date[..amz_date.len().min(8)];
    let canonical_headers: String = headers
        .iter()
        .map(|(k, v)| format!("{k}:{}\n", v.trim()))
        .collect();
    let signed_headers = headers.keys().cloned().collect::<Vec<_>>().join(";");
    let mut q: Vec<(String, String)> = query
        .iter()
        .map(|(k, v)| (uri_encode(k, true), uri_encode(v, true)))
        .collect();
    q.sort();
    let canonical_query = q
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join("&");
    let canonical_request = format!(
        "{method}\n{}\n{canonical_query}\n{canonical_headers}\n{signed_headers}\n{payload_sha256}",
        uri_encode(path, false)
    );
    let scope = format!("{date}/{region}/s3/aws4_request");
    let to_sign = format!(
        "AWS4-HMAC-SHA256\n{amz_date}\n{scope}\n{}",
        hex::encode(Sha256::digest(canonical_request.as_bytes()))
    );
    let k_date = hmac(format!("AWS4{secret_key}").as_bytes(), date.as_bytes());
    let k_region = hmac(&k_date, region.as_bytes());
    let k_service = hmac(&k_region, b"s3");
    let k_signing = hmac(&k_service, b"aws4_request");
    let signature = hex::encode(hmac(&k_signing, to_sign.as_bytes()));
    format!(
        "AWS4-HMAC-SHA256 Credential={access_key}/{scope}, SignedHeaders={signed_headers}, Signature={signature}"
    )
}

fn hmac(key: &[u8], data: &[u8]) -> Vec<u8> {
    let mut m = <Hmac<Sha256> as Mac>::new_from_slice(key).expect("HMAC takes any key length");
    m.update(data);
    m.finalize().into_bytes().to_vec()
}

fn uri_encode(s: &str, encode_slash: bool) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                out.push(b as char)
            }
            b'/' if !encode_slash => out.push('/'),
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

/// The inner texts of every `<tag>…</tag>` in `xml` (no nesting of the same tag).
fn elements<'a>(xml: &'a str, tag: &str) -> Vec<&'a str> {
    let (open, close) = (format!("<{tag}>"), format!("</{tag}>"));
    let mut out = vec![];
    let mut rest = xml;
    while let Some(i) = rest.find(&open) {
        let after = &rest[i + open.len()..];
        let Some(j) = after.find(&close) else { break };
        out.push(&after[..j]);
        rest = &after[j + close.len()..];
    }
    out
}

fn element<'a>(xml: &'a str, tag: &str) -> Option<&'a str> {
    elements(xml, tag).into_iter().next()
}

fn xml_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

fn xml_unescape(s: &str) -> String {
    s.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&amp;", "&")
}

/// An S3 answer.
struct S3Response {
    status: u16,
    body: String,
}

impl S3Response {
    fn code(&self) -> String {
        element(&self.body, "Code").unwrap_or_default().to_string()
    }
}

/// A minimal S3 client: path-style requests signed with SigV4.
struct S3 {
    http: reqwest::Client,
    endpoint: String,
    region: String,
    access_key: String,
    secret_key: String,
}

impl S3 {
    async fn send(
        &self,
        method: &str,
        bucket: &str,
        query: &[(&str, &str)],
        body: Option<String>,
    ) -> Result<S3Response, DriverError> {
        let url = reqwest::Url::parse(&format!(
            "{}/{}",
            self.endpoint.trim_end_matches('/'),
            bucket
        ))
        .map_err(|e| DriverError::failed(format!("bad Object Storage endpoint: {e}")))?;
        let host = match url.port() {
            Some(p) => format!("{}:{p}", url.host_str().unwrap_or_default()),
            None => url.host_str().unwrap_or_default().to_string(),
        };
        let payload = body.clone().unwrap_or_default();
        let payload_hash = hex::encode(Sha256::digest(payload.as_bytes()));
        let amz_date = chrono::Utc::now().format("%Y%m%dT%H%M%SZ").to_string();
        let mut headers = BTreeMap::new();
        headers.insert("host".to_string(), host);
        headers.insert("x-amz-content-sha256".to_string(), payload_hash.clone());
        headers.insert("x-amz-date".to_string(), amz_date);
        if body.is_some() {
            let md5 =
                base64::engine::general_purpose::STANDARD.encode(Md5::digest(payload.as_bytes()));
            headers.insert("content-md5".to_string(), md5);
        }
        let q: Vec<(String, String)> = query
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let auth = sigv4_authorization(
            method,
            url.path(),
            &q,
            &headers,
            &payload_hash,
            &self.access_key,
            &self.secret_key,
            &self.region,
        );
        let mut full = url.clone();
        if !q.is_empty() {
            let qs = q
                .iter()
                .map(|(k, v)| {
                    if v.is_empty() {
                        uri_encode(k, true)
                    } else {
                        format!("{}={}", uri_encode(k, true), uri_encode(v, true))
                    }
                })
                .collect::<Vec<_>>()
                .join("&");
            full.set_query(Some(&qs));
        }
        let m = reqwest::Method::from_bytes(method.as_bytes())
            .map_err(|e| DriverError::failed(e.to_string()))?;
        let mut req = self.http.request(m, full).header("authorization", auth);
        for (k, v) in &headers {
            if k != "host" {
                req = req.header(k, v);
            }
        }
        if let Some(b) = body {
            req = req.body(b);
        }
        let mut last = String::new();
        for attempt in 0..5u32 {
            match req.try_clone().expect("no streaming body").send().await {
                Ok(resp) => {
                    let status = resp.status().as_u16();
                    let body = resp.text().await.unwrap_or_default();
                    if (status == 429 || status >= 500) && attempt < 4 {
                        last = format!("HTTP {status}");
                        tokio::time::sleep(std::time::Duration::from_millis(
                            200 * 2u64.pow(attempt),
                        ))
                        .await;
                        continue;
                    }
                    return Ok(S3Response { status, body });
                }
                Err(e) => {
                    last = e.to_string();
                    tokio::time::sleep(std::time::Duration::from_millis(200 * 2u64.pow(attempt)))
                        .await;
                }
            }
        }
        Err(DriverError::failed(format!(
            "{method} bucket {bucket}: {last}"
        )))
    }
}

fn failed(what: &str, bucket: &str, r: &S3Response) -> DriverError {
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
            schema: Schema::new(
                "scaleway_object_bucket",
                vec![
                    Field::required("name").force_new().describe("globally unique bucket name"),
                    Field::optional("tags").describe("tags `{key: value}` (updated in place); kapstan adds kapstan-stack and kapstan-addr"),
                    Field::optional_computed("versioning").describe("`{enabled}` (updated in place; once enabled, only suspended)"),
                    Field::optional("lifecycle_rule").describe("`[{id, prefix, enabled, expiration{days}, transition[{days, storage_class}], abort_incomplete_multipart_upload_days}]` (updated in place)"),
                    Field::optional("force_destroy").describe("on destroy, delete every object first"),
                    Field::optional_computed("region").force_new().describe("region; default: the configured region"),
                    Field::computed("endpoint").describe("URL of the bucket"),
                ],
            ),
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
            http: reqwest::Client::new(),
            endpoint: self
                .p
                .s3_endpoint()
                .map(String::from)
                .unwrap_or_else(|| format!("https://s3.{region}.scw.cloud")),
            region: region.to_string(),
            access_key,
            secret_key: cfg.secret_key.expose().to_string(),
        })
    }

    /// The live bucket, or `None` when it does not exist.
    async fn live(&self, s3: &S3, bucket: &str) -> Result<Option<Value>, DriverError> {
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
            for t in elements(&tagging.body, "Tag") {
                tags.insert(
                    xml_unescape(element(t, "Key").unwrap_or_default()),
                    xml_unescape(element(t, "Value").unwrap_or_default()),
                );
            }
        }
        let versioning = s3.send("GET", bucket, &[("versioning", "")], None).await?;
        let enabled = element(&versioning.body, "Status") == Some("Enabled");
        let lifecycle = s3.send("GET", bucket, &[("lifecycle", "")], None).await?;
        let rules: Vec<Value> = if lifecycle.status < 300 {
            elements(&lifecycle.body, "Rule")
                .into_iter()
                .map(parse_rule)
                .collect()
        } else {
            vec![]
        };
        Ok(Some(json!({
            "name": bucket,
            "tags": tags,
            "versioning": {"enabled": enabled},
            "lifecycle_rule": rules,
            "region": s3.region,
            "endpoint": format!("{}/{bucket}", s3.endpoint.trim_end_matches('/')),
        })))
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

    async fn owned_or_untagged(
        &self,
        ctx: &DriverContext,
        live: &Value,
    ) -> Result<(), DriverError> {
        let addr = live.pointer("/tags/kapstan-addr").and_then(Value::as_str);
        let stack = live.pointer("/tags/kapstan-stack").and_then(Value::as_str);
        match (stack, addr) {
            (None, None) => Ok(()),
            (Some(s), Some(a)) if s == ctx.stack && a == ctx.address => Ok(()),
            _ => Err(DriverError::failed(format!(
                "bucket {} exists and belongs to another kapstan resource ({}/{}); choose another name or import it",
                live["name"].as_str().unwrap_or_default(),
                stack.unwrap_or("?"),
                addr.unwrap_or("?")
            ))),
        }
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
    for t in r
        .get("transition")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
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

fn parse_rule(x: &str) -> Value {
    let days = |s: &str| element(s, "Days").and_then(|d| d.trim().parse::<u32>().ok());
    let mut r = json!({
        "id": xml_unescape(element(x, "ID").unwrap_or_default()),
        "prefix": xml_unescape(element(x, "Prefix").unwrap_or_default()),
        "enabled": element(x, "Status") == Some("Enabled"),
    });
    if let Some(e) = element(x, "Expiration").and_then(days) {
        r["expiration"] = json!({"days": e});
    }
    let transitions: Vec<Value> = elements(x, "Transition")
        .into_iter()
        .map(|t| json!({"days": days(t).unwrap_or(0), "storage_class": element(t, "StorageClass").unwrap_or_default()}))
        .collect();
    if !transitions.is_empty() {
        r["transition"] = json!(transitions);
    }
    if let Some(d) = element(x, "DaysAfterInitiation").and_then(|d| d.trim().parse::<u32>().ok()) {
        r["abort_incomplete_multipart_upload_days"] = json!(d);
    }
    r
}

fn user_view(mut live: Value, config: &Value) -> Value {
    if let Some(tags) = live.get_mut("tags").and_then(Value::as_object_mut) {
        tags.remove("kapstan-stack");
        tags.remove("kapstan-addr");
    }
    conform(&mut live, config);
    live
}

#[async_trait]
impl Driver for ObjectBucketDriver {
    fn schema(&self) -> &Schema {
        &self.schema
    }

    fn validate(&self, config: &Value) -> Vec<FieldError> {
        let mut e = self.p.credential_errors();
        if e.is_empty()
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
        check::locality(config, &mut e);
        check::one_of(
            config,
            "region",
            S3_REGIONS,
            "Object Storage region",
            &mut e,
        );
        if let Some(n) = config.get("name").and_then(Value::as_str) {
            let ok = (3..=63).contains(&n.len())
                && n.chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '.')
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
        for r in config
            .get("lifecycle_rule")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            for t in r
                .get("transition")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
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
        e
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
            .map(|l| user_view(l, &rec.config)))
    }

    async fn create(&self, ctx: &DriverContext, config: &Value) -> Result<Created, DriverError> {
        let s3 = self.s3(config)?;
        let name = string(config, "name").unwrap_or_default();
        let r = s3.send("PUT", &name, &[], None).await?;
        match (r.status, r.code().as_str()) {
            (s, _) if s < 300 => {}
            (409, "BucketAlreadyOwnedByYou") => {
                // A lost answer or an earlier crash: adopt it unless another resource owns it.
                let live = self
                    .live(&s3, &name)
                    .await?
                    .unwrap_or_else(|| json!({"name": name}));
                self.owned_or_untagged(ctx, &live).await?;
            }
            _ => return Err(failed("creation", &name, &r)),
        }
        ctx.checkpoint(json!({"id": name})).await?;
        self.apply(ctx, &s3, &name, config, None).await?;
        let live = self
            .live(&s3, &name)
            .await?
            .ok_or_else(|| DriverError::failed(format!("bucket {name} vanished")))?;
        Ok(Created {
            id: name,
            attributes: user_view(live, config),
        })
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
        self.owned_or_untagged(ctx, &live).await?;
        self.apply(ctx, &s3, &name, config, None).await?;
        let live = self.live(&s3, &name).await?.unwrap_or(live);
        Ok(Some(Created {
            id: name,
            attributes: user_view(live, config),
        }))
    }

    async fn update(
        &self,
        ctx: &DriverContext,
        rec: &ResourceState,
        config: &Value,
        changed: &[String],
    ) -> Result<Value, DriverError> {
        let s3 = self.s3(config)?;
        let name = rec.id.clone().unwrap_or_default();
        self.apply(ctx, &s3, &name, config, Some(changed)).await?;
        let live = self
            .live(&s3, &name)
            .await?
            .ok_or_else(|| DriverError::failed(format!("bucket {name} is gone")))?;
        Ok(user_view(live, config))
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
                    for v in elements(&list.body, "Version")
                        .into_iter()
                        .chain(elements(&list.body, "DeleteMarker"))
                    {
                        let key = xml_unescape(element(v, "Key").unwrap_or_default());
                        let version = element(v, "VersionId").unwrap_or("null").to_string();
                        let path = format!("{name}/{}", uri_encode(&key, false));
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
            let attributes = user_view(live, &Value::Null);
            let config = super::provider::config_from(&self.schema, &attributes);
            Imported { config, attributes }
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signature_matches_the_aws_example() {
        // "GET Object" example of the AWS SigV4 documentation.
        let mut h = BTreeMap::new();
        h.insert(
            "host".to_string(),
            "examplebucket.s3.amazonaws.com".to_string(),
        );
        h.insert("range".to_string(), "bytes=0-9".to_string());
        h.insert(
            "x-amz-content-sha256".to_string(),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855".to_string(),
        );
        h.insert("x-amz-date".to_string(), "20130524T000000Z".to_string());
        let auth = sigv4_authorization(
            "GET",
            "/test.txt",
            &[],
            &h,
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
            "AKIAIOSFODNN7EXAMPLE",
            "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
            "us-east-1",
        );
        assert!(
            auth.ends_with(
                "Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41"
            ),
            "{auth}"
        );
    }

    #[test]
    fn lifecycle_rules_round_trip_through_xml() {
        let rule = json!({"id": "logs", "prefix": "logs/", "enabled": true, "expiration": {"days": 30},
            "transition": [{"days": 7, "storage_class": "GLACIER"}], "abort_incomplete_multipart_upload_days": 2});
        assert_eq!(parse_rule(&rule_xml(&rule)), rule);
    }
}
