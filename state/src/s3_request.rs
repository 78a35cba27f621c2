//! Signed S3 requests for the bucket-level calls `object_store` has no API for (create a
//! bucket, versioning, lifecycle, tagging), and reading their XML answers.
//!
//! The one SigV4 signer is `object_store`'s [`AwsAuthorizer`]: kapstan already links it for the
//! state store, so bucket calls are signed by the same maintained code as object calls.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use md5::{Digest, Md5};
use object_store::aws::{AwsAuthorizer, AwsCredential};
use object_store::client::{HttpRequest, HttpRequestBody};
use url::Url;

/// An S3 answer: status and body text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct S3Answer {
    /// HTTP status.
    pub status: u16,
    /// The body, as text (S3 answers in XML).
    pub body: String,
}

impl S3Answer {
    /// Whether the status is 2xx.
    pub fn is_success(&self) -> bool {
        (200..300).contains(&self.status)
    }

    /// The `<Code>` of an S3 error document, empty when there is none.
    pub fn code(&self) -> String {
        XmlDocument::parse(&self.body)
            .ok()
            .and_then(|d| d.text(d.root(), "Code").map(String::from))
            .unwrap_or_default()
    }

    /// The `<Message>` of an S3 error document, empty when there is none.
    pub fn message(&self) -> String {
        XmlDocument::parse(&self.body)
            .ok()
            .and_then(|d| d.text(d.root(), "Message").map(String::from))
            .unwrap_or_default()
    }
}

/// A failed S3 exchange: the service could not be reached or its answer not read.
#[derive(Debug, thiserror::Error)]
pub enum S3RequestError {
    /// Sending or reading failed.
    #[error("cannot reach {url}: {source}")]
    Transport {
        /// The request URL.
        url: Url,
        /// The client error.
        #[source]
        source: reqwest::Error,
    },
    /// The URL is not a valid HTTP request target.
    #[error("{url} is not a valid request URL: {source}")]
    Url {
        /// The request URL.
        url: Url,
        /// Why.
        #[source]
        source: http::uri::InvalidUri,
    },
    /// The request could not be signed.
    #[error("signing the request to {url}: {source}")]
    Signing {
        /// The request URL.
        url: Url,
        /// The signer's error.
        #[source]
        source: Box<object_store::Error>,
    },
}

/// Sends S3 requests signed with AWS Signature V4 (service `s3`).
pub struct S3Requests {
    http: reqwest::Client,
    credential: AwsCredential,
    region: String,
}

impl std::fmt::Debug for S3Requests {
    // By hand: `AwsCredential`'s own `Debug` prints the secret key.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("S3Requests")
            .field("access_key", &self.credential.key_id)
            .field("region", &self.region)
            .finish_non_exhaustive()
    }
}

impl S3Requests {
    /// A sender for `region` (the signing region, a Scaleway region slug for Scaleway).
    pub fn new(http: reqwest::Client, access_key: &str, secret_key: &str, region: &str) -> Self {
        Self {
            http,
            credential: AwsCredential {
                key_id: access_key.to_string(),
                secret_key: secret_key.to_string(),
                token: None,
            },
            region: region.to_string(),
        }
    }

    /// The signed request for `method url` with an XML `body` (`None`: no body), without
    /// sending it: `Content-MD5` and `Content-Type` are set and signed when there is a body
    /// (S3 requires `Content-MD5` on lifecycle and tagging writes).
    pub fn sign(
        &self,
        method: reqwest::Method,
        url: &Url,
        body: Option<Vec<u8>>,
    ) -> Result<HttpRequest, S3RequestError> {
        let mut request = HttpRequest::new(HttpRequestBody::from(body.clone().unwrap_or_default()));
        *request.method_mut() = method;
        *request.uri_mut() = url.as_str().parse().map_err(|source| S3RequestError::Url {
            url: url.clone(),
            source,
        })?;
        if let Some(body) = &body {
            let headers = request.headers_mut();
            let md5 = B64.encode(Md5::digest(body));
            headers.insert(
                "content-md5",
                md5.parse().expect("base64 is a valid header value"),
            );
            headers.insert(
                "content-type",
                http::HeaderValue::from_static("application/xml"),
            );
        }
        AwsAuthorizer::new(&self.credential, "s3", &self.region)
            .try_authorize(&mut request, None)
            .map_err(|source| S3RequestError::Signing {
                url: url.clone(),
                source: Box::new(source),
            })?;
        Ok(request)
    }

    /// Signs and sends one request, returning whatever status the service answers.
    pub async fn send(
        &self,
        method: reqwest::Method,
        url: &Url,
        body: Option<Vec<u8>>,
    ) -> Result<S3Answer, S3RequestError> {
        let signed = self.sign(method.clone(), url, body.clone())?;
        let transport = |source| S3RequestError::Transport {
            url: url.clone(),
            source,
        };
        let mut request = self.http.request(method, url.clone());
        for (name, value) in signed.headers() {
            request = request.header(name, value);
        }
        if let Some(body) = body {
            request = request.body(body);
        }
        let response = request.send().await.map_err(transport)?;
        let status = response.status().as_u16();
        let body = response.text().await.map_err(transport)?;
        Ok(S3Answer { status, body })
    }
}

/// `text` with the five XML special characters escaped, for element content and attributes.
pub fn xml_escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            c => out.push(c),
        }
    }
    out
}

/// A parsed XML document (S3 answers), read by element local name so that the S3 namespace
/// (present or not, depending on the service) does not matter.
#[derive(Debug)]
pub struct XmlDocument<'a> {
    doc: roxmltree::Document<'a>,
}

/// An element of an [`XmlDocument`].
pub type XmlNode<'a, 'input> = roxmltree::Node<'a, 'input>;

impl<'a> XmlDocument<'a> {
    /// Parses `xml`.
    pub fn parse(xml: &'a str) -> Result<Self, roxmltree::Error> {
        Ok(Self {
            doc: roxmltree::Document::parse(xml)?,
        })
    }

    /// The document element.
    pub fn root(&self) -> XmlNode<'_, 'a> {
        self.doc.root_element()
    }

    /// The source text of `node`, markup included (to write an element back unchanged).
    pub fn source(&self, node: XmlNode<'_, 'a>) -> &'a str {
        &self.doc.input_text()[node.range()]
    }

    /// Every descendant element of `node` named `name`, in document order.
    pub fn all<'n>(
        &'n self,
        node: XmlNode<'n, 'a>,
        name: &'n str,
    ) -> impl Iterator<Item = XmlNode<'n, 'a>> + 'n {
        node.descendants()
            .filter(move |n| n.is_element() && n.tag_name().name() == name)
    }

    /// Every child element of `node` named `name`, in document order.
    pub fn children<'n>(
        &'n self,
        node: XmlNode<'n, 'a>,
        name: &'n str,
    ) -> impl Iterator<Item = XmlNode<'n, 'a>> + 'n {
        node.children()
            .filter(move |n| n.is_element() && n.tag_name().name() == name)
    }

    /// The trimmed text of the first descendant element of `node` named `name` (entities
    /// decoded); `Some("")` for an empty element, `None` when there is none.
    pub fn text<'n>(&'n self, node: XmlNode<'n, 'a>, name: &str) -> Option<&'n str> {
        node.descendants()
            .find(|n| n.is_element() && n.tag_name().name() == name)
            .map(|n| n.text().unwrap_or("").trim())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header<'r>(r: &'r HttpRequest, name: &str) -> &'r str {
        r.headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
    }

    #[test]
    fn a_body_is_signed_with_its_md5_and_type() {
        let s3 = S3Requests::new(reqwest::Client::new(), "SCWKEY", "secret", "fr-par");
        let url = Url::parse("http://127.0.0.1:9000/bucket?lifecycle").unwrap();
        let r = s3
            .sign(reqwest::Method::PUT, &url, Some(b"<a/>".to_vec()))
            .unwrap();
        let auth = header(&r, "authorization");
        assert!(
            auth.starts_with("AWS4-HMAC-SHA256 Credential=SCWKEY/"),
            "{auth}"
        );
        assert!(auth.contains("/fr-par/s3/aws4_request"), "{auth}");
        assert!(
            auth.contains(
                "SignedHeaders=content-md5;content-type;host;x-amz-content-sha256;x-amz-date"
            ),
            "{auth}"
        );
        assert_eq!(header(&r, "content-md5"), B64.encode(Md5::digest(b"<a/>")));
        assert!(!auth.contains("secret"));
        assert!(!format!("{s3:?}").contains("secret"));
    }

    #[test]
    fn error_documents_are_read_with_or_without_a_namespace() {
        let plain = S3Answer {
            status: 409,
            body:
                "<Error><Code>BucketAlreadyExists</Code><Message>taken &amp; gone</Message></Error>"
                    .into(),
        };
        assert_eq!(plain.code(), "BucketAlreadyExists");
        assert_eq!(plain.message(), "taken & gone");
        let namespaced = S3Answer {
            status: 403,
            body: "<?xml version=\"1.0\"?>\n<Error xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\"><Code>AccessDenied</Code></Error>".into(),
        };
        assert_eq!(namespaced.code(), "AccessDenied");
        let empty = S3Answer {
            status: 500,
            body: String::new(),
        };
        assert_eq!(empty.code(), "");
    }

    #[test]
    fn escaped_text_reads_back() {
        let text = "a<b>&\"c'";
        let xml = format!("<K>{}</K>", xml_escape(text));
        let d = XmlDocument::parse(&xml).unwrap();
        assert_eq!(d.text(d.root(), "K"), Some(text));
    }
}
