//! A small client for the Coder REST API (`/api/v2`): health, first user, login, files,
//! template versions and templates. Errors carry Coder's message, never a password or token.

use std::time::{Duration, Instant};

use serde_json::{Value, json};

/// A Coder API failure.
#[derive(Debug, Clone, thiserror::Error)]
pub enum CoderError {
    /// Nothing answered at the URL before the deadline.
    #[error("Coder at {url} did not answer within {}s ({last})", .after.as_secs())]
    Unreachable {
        /// The access URL.
        url: String,
        /// The deadline.
        after: Duration,
        /// The last failure seen.
        last: String,
    },
    /// The API refused.
    #[error("Coder API {method} {path} returned {status}: {message}")]
    Api {
        /// HTTP method.
        method: String,
        /// Path.
        path: String,
        /// HTTP status.
        status: u16,
        /// Coder's message.
        message: String,
    },
    /// Transport failure on a call.
    #[error("Coder API {path}: {message}")]
    Transport {
        /// Path.
        path: String,
        /// What failed.
        message: String,
    },
}

/// A Coder API client, optionally logged in.
#[derive(Debug, Clone)]
pub struct CoderClient {
    http: reqwest::Client,
    url: String,
    token: Option<String>,
}

impl CoderClient {
    /// A client for the Coder at `url` (its access URL).
    pub fn new(url: &str) -> CoderClient {
        CoderClient {
            http: reqwest::Client::builder()
                .timeout(Duration::from_secs(60))
                .connect_timeout(Duration::from_secs(5))
                .build()
                .unwrap_or_default(),
            url: url.trim_end_matches('/').to_string(),
            token: None,
        }
    }

    /// The base URL.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// Waits until `/healthz` answers 200, up to `timeout`.
    pub async fn wait_healthy(&self, timeout: Duration) -> Result<(), CoderError> {
        let start = Instant::now();
        loop {
            let last = match self.http.get(format!("{}/healthz", self.url)).send().await {
                Ok(r) if r.status().is_success() => return Ok(()),
                Ok(r) => format!("/healthz answered {}", r.status()),
                Err(e) => e.without_url().to_string(),
            };
            if start.elapsed() >= timeout {
                return Err(CoderError::Unreachable {
                    url: self.url.clone(),
                    after: timeout,
                    last,
                });
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    async fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> Result<(u16, Value), CoderError> {
        let mut req = self
            .http
            .request(method.clone(), format!("{}/api/v2{path}", self.url));
        if let Some(t) = &self.token {
            req = req.header("Coder-Session-Token", t);
        }
        if let Some(b) = body {
            req = req.json(&b);
        }
        let resp = req.send().await.map_err(|e| CoderError::Transport {
            path: path.into(),
            message: e.without_url().to_string(),
        })?;
        let status = resp.status().as_u16();
        let text = resp.text().await.unwrap_or_default();
        let v: Value = serde_json::from_str(&text).unwrap_or(Value::String(text));
        Ok((status, v))
    }

    fn fail(method: &str, path: &str, status: u16, v: &Value) -> CoderError {
        let mut message = v["message"]
            .as_str()
            .map(str::to_string)
            .unwrap_or_else(|| v.to_string());
        if let Some(d) = v["detail"].as_str().filter(|d| !d.is_empty()) {
            message.push_str(&format!(" ({d})"));
        }
        if let Some(vs) = v["validations"].as_array() {
            let fields: Vec<String> = vs
                .iter()
                .map(|x| {
                    format!(
                        "{}: {}",
                        x["field"].as_str().unwrap_or(""),
                        x["detail"].as_str().unwrap_or("")
                    )
                })
                .collect();
            if !fields.is_empty() {
                message.push_str(&format!(" [{}]", fields.join("; ")));
            }
        }
        CoderError::Api {
            method: method.into(),
            path: path.into(),
            status,
            message,
        }
    }

    async fn expect(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
        ok: &[u16],
    ) -> Result<Value, CoderError> {
        let m = method.to_string();
        let (status, v) = self.call(method, path, body).await?;
        if ok.contains(&status) {
            Ok(v)
        } else {
            Err(Self::fail(&m, path, status, &v))
        }
    }

    /// Whether the deployment already has its first user.
    pub async fn has_first_user(&self) -> Result<bool, CoderError> {
        let (status, v) = self
            .call(reqwest::Method::GET, "/users/first", None)
            .await?;
        match status {
            200 => Ok(true),
            404 => Ok(false),
            s => Err(Self::fail("GET", "/users/first", s, &v)),
        }
    }

    /// Creates the first user (owner); returns `(user_id, organization_id)`.
    pub async fn create_first_user(
        &self,
        email: &str,
        username: &str,
        password: &str,
        name: &str,
    ) -> Result<(String, String), CoderError> {
        let body = json!({"email": email, "username": username, "password": password, "name": name, "trial": false});
        let v = self
            .expect(reqwest::Method::POST, "/users/first", Some(body), &[201])
            .await?;
        Ok((
            v["user_id"].as_str().unwrap_or_default().to_string(),
            v["organization_id"]
                .as_str()
                .unwrap_or_default()
                .to_string(),
        ))
    }

    /// Logs in with a password; later calls carry the session token.
    pub async fn login(&mut self, email: &str, password: &str) -> Result<(), CoderError> {
        let v = self
            .expect(
                reqwest::Method::POST,
                "/users/login",
                Some(json!({"email": email, "password": password})),
                &[200, 201],
            )
            .await?;
        self.token = v["session_token"].as_str().map(str::to_string);
        Ok(())
    }

    /// The logged-in user.
    pub async fn me(&self) -> Result<Value, CoderError> {
        self.expect(reqwest::Method::GET, "/users/me", None, &[200])
            .await
    }

    /// The logged-in user's organizations.
    pub async fn organizations(&self) -> Result<Vec<Value>, CoderError> {
        let v = self
            .expect(
                reqwest::Method::GET,
                "/users/me/organizations",
                None,
                &[200],
            )
            .await?;
        Ok(v.as_array().cloned().unwrap_or_default())
    }

    /// Uploads a tar archive; returns the file id.
    pub async fn upload(&self, tar: Vec<u8>) -> Result<String, CoderError> {
        let mut req = self
            .http
            .post(format!("{}/api/v2/files", self.url))
            .header("content-type", "application/x-tar")
            .body(tar);
        if let Some(t) = &self.token {
            req = req.header("Coder-Session-Token", t);
        }
        let resp = req.send().await.map_err(|e| CoderError::Transport {
            path: "/files".into(),
            message: e.without_url().to_string(),
        })?;
        let status = resp.status().as_u16();
        let v: Value = resp.json().await.unwrap_or(Value::Null);
        if status == 200 || status == 201 {
            Ok(v["hash"].as_str().unwrap_or_default().to_string())
        } else {
            Err(Self::fail("POST", "/files", status, &v))
        }
    }

    /// Creates a template version from an uploaded file.
    pub async fn create_version(
        &self,
        org: &str,
        file_id: &str,
        template_id: Option<&str>,
    ) -> Result<Value, CoderError> {
        let mut body = json!({"storage_method": "file", "file_id": file_id, "provisioner": "terraform", "tags": {}});
        if let Some(t) = template_id {
            body["template_id"] = json!(t);
        }
        self.expect(
            reqwest::Method::POST,
            &format!("/organizations/{org}/templateversions"),
            Some(body),
            &[201],
        )
        .await
    }

    /// Reads a template version.
    pub async fn version(&self, id: &str) -> Result<Value, CoderError> {
        self.expect(
            reqwest::Method::GET,
            &format!("/templateversions/{id}"),
            None,
            &[200],
        )
        .await
    }

    /// The template `name` of `org`, if any.
    pub async fn template_by_name(
        &self,
        org: &str,
        name: &str,
    ) -> Result<Option<Value>, CoderError> {
        let path = format!("/organizations/{org}/templates/{name}");
        let (status, v) = self.call(reqwest::Method::GET, &path, None).await?;
        match status {
            200 => Ok(Some(v)),
            404 => Ok(None),
            s => Err(Self::fail("GET", &path, s, &v)),
        }
    }

    /// A template by id, if it exists.
    pub async fn template(&self, id: &str) -> Result<Option<Value>, CoderError> {
        let path = format!("/templates/{id}");
        let (status, v) = self.call(reqwest::Method::GET, &path, None).await?;
        match status {
            200 => Ok(Some(v)),
            404 => Ok(None),
            s => Err(Self::fail("GET", &path, s, &v)),
        }
    }

    /// Creates a template from a built version.
    pub async fn create_template(&self, org: &str, body: Value) -> Result<Value, CoderError> {
        self.expect(
            reqwest::Method::POST,
            &format!("/organizations/{org}/templates"),
            Some(body),
            &[201],
        )
        .await
    }

    /// Makes `version_id` the template's active version.
    pub async fn promote(&self, template_id: &str, version_id: &str) -> Result<(), CoderError> {
        self.expect(
            reqwest::Method::PATCH,
            &format!("/templates/{template_id}/versions"),
            Some(json!({"id": version_id})),
            &[200],
        )
        .await
        .map(|_| ())
    }

    /// Updates template metadata.
    pub async fn update_template(
        &self,
        template_id: &str,
        body: Value,
    ) -> Result<Value, CoderError> {
        self.expect(
            reqwest::Method::PATCH,
            &format!("/templates/{template_id}"),
            Some(body),
            &[200],
        )
        .await
    }

    /// Deletes a template; a missing one is fine.
    pub async fn delete_template(&self, template_id: &str) -> Result<(), CoderError> {
        let path = format!("/templates/{template_id}");
        let (status, v) = self.call(reqwest::Method::DELETE, &path, None).await?;
        match status {
            200 | 204 | 404 => Ok(()),
            s => Err(Self::fail("DELETE", &path, s, &v)),
        }
    }
}
