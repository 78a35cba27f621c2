//! `coder_template`: a template pushed from a local directory. The directory is packed as a
//! deterministic ustar archive whose sha256 (`source_hash`) is part of the config, so only a
//! content change plans an update. Push: upload, create a version, wait for its build, then
//! create the template or promote the version. A failed build reports the job's error.

use std::path::Path;
use std::time::{Duration, Instant};

use kapstan_engine::state::ResourceState;
use kapstan_engine::{
    Created, Driver, DriverContext, DriverError, Field, FieldError, Input, Output, Resource,
    ResourceRef, Schema, async_trait,
};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::archive::archive_dir;
use super::client::CoderClient;
use super::first_user::coder_err;

/// A Coder template from a directory.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct CoderTemplate {
    /// Coder access URL.
    pub url: Input<String>,
    /// Email of an account allowed to manage templates (the first user).
    pub email: Input<String>,
    /// Its password (sensitive).
    pub password: Input<String>,
    /// Template name; changing it replaces the template.
    pub name: String,
    /// Directory holding the template's Terraform files.
    pub directory: String,
    /// sha256 of the directory's archive: set by [`CoderTemplate::from_dir`].
    pub source_hash: String,
    /// Organization (name or id; the user's first organization when absent).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub organization: Option<String>,
    /// Display name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub display_name: Option<String>,
    /// Description.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// How long to wait for Coder and for the build (600 s when absent).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout_seconds: Option<u64>,
}

impl CoderTemplate {
    /// A template named `name` from `directory`, with its content hash computed now (an
    /// unreadable directory gets an empty hash, which validation reports).
    pub fn from_dir(
        name: &str,
        directory: impl AsRef<Path>,
        url: impl Into<Input<String>>,
        email: impl Into<Input<String>>,
        password: impl Into<Input<String>>,
    ) -> CoderTemplate {
        let dir = directory.as_ref();
        CoderTemplate {
            url: url.into(),
            email: email.into(),
            password: password.into(),
            name: name.into(),
            directory: dir.display().to_string(),
            source_hash: archive_dir(dir).map(|a| a.sha256).unwrap_or_default(),
            ..Default::default()
        }
    }
}

/// Attributes of a `coder_template`.
#[derive(Debug, Clone)]
pub struct CoderTemplateAttributes(ResourceRef);

impl From<ResourceRef> for CoderTemplateAttributes {
    fn from(r: ResourceRef) -> Self {
        Self(r)
    }
}

impl CoderTemplateAttributes {
    /// The template id.
    pub fn template_id(&self) -> Output<String> {
        self.0.output("template_id")
    }
    /// The active version id.
    pub fn active_version_id(&self) -> Output<String> {
        self.0.output("active_version_id")
    }
    /// The id (the template id).
    pub fn id(&self) -> Output<String> {
        self.0.id()
    }
}

impl Resource for CoderTemplate {
    const KIND: &'static str = "coder_template";
    type Attributes = CoderTemplateAttributes;
}

/// The `coder_template` driver.
#[derive(Debug)]
pub struct CoderTemplateDriver {
    schema: Schema,
}

impl Default for CoderTemplateDriver {
    fn default() -> Self {
        Self::new()
    }
}

impl CoderTemplateDriver {
    /// The driver.
    pub fn new() -> Self {
        Self {
            schema: Schema::new(
                "coder_template",
                vec![
                    Field::required("url").describe("Coder access URL"),
                    Field::required("email").describe("account that manages templates"),
                    Field::required("password")
                        .sensitive()
                        .describe("its password"),
                    Field::required("name")
                        .force_new()
                        .describe("template name"),
                    Field::required("directory")
                        .describe("directory of the template's Terraform files"),
                    Field::required("source_hash")
                        .describe("sha256 of the directory's ustar archive"),
                    Field::optional("organization")
                        .force_new()
                        .describe("organization (the user's first)"),
                    Field::optional("display_name").describe("display name"),
                    Field::optional("description").describe("description"),
                    Field::optional("timeout_seconds").describe("how long to wait (600)"),
                    Field::computed("template_id").describe("template id"),
                    Field::computed("active_version_id").describe("active version id"),
                ],
            ),
        }
    }
}

fn timeout(config: &Value) -> Duration {
    Duration::from_secs(config["timeout_seconds"].as_u64().unwrap_or(600))
}

async fn login(ctx: &DriverContext, config: &Value) -> Result<(CoderClient, String), DriverError> {
    let url = config["url"].as_str().unwrap_or_default();
    let mut client = CoderClient::new(url);
    ctx.progress(format!("waiting for Coder at {url}"));
    client
        .wait_healthy(timeout(config))
        .await
        .map_err(coder_err)?;
    let email = config["email"].as_str().unwrap_or_default();
    client
        .login(email, config["password"].as_str().unwrap_or_default())
        .await
        .map_err(coder_err)?;
    let orgs = client.organizations().await.map_err(coder_err)?;
    let org = match config["organization"].as_str() {
        Some(o) => orgs
            .iter()
            .find(|x| x["name"] == o || x["id"] == o)
            .and_then(|x| x["id"].as_str())
            .ok_or_else(|| {
                DriverError::failed(format!("{email} is not a member of organization {o:?}"))
            })?,
        None => orgs
            .first()
            .and_then(|x| x["id"].as_str())
            .ok_or_else(|| DriverError::failed(format!("{email} belongs to no organization")))?,
    }
    .to_string();
    Ok((client, org))
}

/// Pushes the directory: returns the attributes.
async fn push(
    ctx: &DriverContext,
    config: &Value,
    known_template: Option<&str>,
) -> Result<Value, DriverError> {
    let name = config["name"].as_str().unwrap_or_default();
    let dir = config["directory"].as_str().unwrap_or_default();
    let archive = archive_dir(Path::new(dir))
        .map_err(|e| DriverError::failed(format!("template {name}: {e}")))?;
    let want = config["source_hash"].as_str().unwrap_or_default();
    if !want.is_empty() && archive.sha256 != want {
        return Err(DriverError::failed(format!(
            "template {name}: the files in {dir} changed since the plan (sha256 {} instead of {want}); plan again",
            archive.sha256
        )));
    }
    let (client, org) = login(ctx, config).await?;
    let existing = match known_template {
        Some(id) => client.template(id).await.map_err(coder_err)?,
        None => None,
    };
    let existing = match existing {
        Some(t) => Some(t),
        None => client
            .template_by_name(&org, name)
            .await
            .map_err(coder_err)?,
    };
    let template_id = existing
        .as_ref()
        .and_then(|t| t["id"].as_str())
        .map(str::to_string);
    ctx.progress(format!(
        "uploading template {name} ({} bytes)",
        archive.bytes.len()
    ));
    let file_id = client.upload(archive.bytes).await.map_err(coder_err)?;
    let version = client
        .create_version(&org, &file_id, template_id.as_deref())
        .await
        .map_err(coder_err)?;
    let vid = version["id"].as_str().unwrap_or_default().to_string();
    ctx.checkpoint(json!({"version_id": vid, "template_id": template_id}))
        .await?;
    // Wait for the build.
    let start = Instant::now();
    let deadline = timeout(config);
    let mut last = String::new();
    loop {
        let v = client.version(&vid).await.map_err(coder_err)?;
        let status = v["job"]["status"].as_str().unwrap_or("").to_string();
        match status.as_str() {
            "succeeded" => break,
            "failed" | "canceled" => {
                let err = v["job"]["error"].as_str().unwrap_or("(no error message)");
                return Err(DriverError::failed(format!(
                    "template {name}: the build of version {vid} {status}: {err}"
                )));
            }
            _ => {}
        }
        if status != last {
            ctx.progress(format!("template {name}: build {status}"));
            last = status;
        }
        if start.elapsed() >= deadline {
            return Err(DriverError::Timeout {
                what: format!("template {name}: the build of version {vid}"),
                after: deadline,
            });
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let meta = |body: &mut Value| {
        for k in ["display_name", "description"] {
            if let Some(v) = config[k].as_str() {
                body[k] = json!(v);
            }
        }
    };
    let template = match template_id {
        Some(tid) => {
            client.promote(&tid, &vid).await.map_err(coder_err)?;
            let mut body = json!({});
            meta(&mut body);
            if body.as_object().is_some_and(|m| !m.is_empty()) {
                client
                    .update_template(&tid, body)
                    .await
                    .map_err(coder_err)?;
            }
            client
                .template(&tid)
                .await
                .map_err(coder_err)?
                .ok_or_else(|| {
                    DriverError::failed(format!("template {name} vanished during the push"))
                })?
        }
        None => {
            let mut body = json!({"name": name, "template_version_id": vid});
            meta(&mut body);
            client
                .create_template(&org, body)
                .await
                .map_err(coder_err)?
        }
    };
    let mut attributes = config.clone();
    attributes["source_hash"] = json!(archive.sha256);
    attributes["template_id"] = template["id"].clone();
    attributes["active_version_id"] = template["active_version_id"].clone();
    Ok(attributes)
}

#[async_trait]
impl Driver for CoderTemplateDriver {
    fn schema(&self) -> &Schema {
        &self.schema
    }

    fn validate(&self, config: &Value) -> Vec<FieldError> {
        let mut errors = vec![];
        if let Some(dir) = config["directory"].as_str() {
            match archive_dir(Path::new(dir)) {
                Err(e) => errors.push(FieldError::new(
                    "directory",
                    &format!("{dir:?}"),
                    &format!("cannot be read: {e}"),
                    "point `directory` at the template's folder",
                )),
                Ok(a) if !a.has_terraform => errors.push(FieldError::new(
                    "directory",
                    &format!("{dir:?}"),
                    "holds no Terraform file (*.tf or *.tf.json) at its top level",
                    "add the template's main.tf, or point `directory` at the right folder",
                )),
                Ok(_) => {}
            }
        }
        if let Some(n) = config["name"].as_str() {
            let ok = !n.is_empty()
                && n.len() <= 32
                && n.chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
            if !ok {
                errors.push(FieldError::new(
                    "name",
                    &format!("{n:?}"),
                    "is not a valid template name",
                    "use letters, digits, '-' and '_', at most 32 characters",
                ));
            }
        }
        errors
    }

    async fn read(
        &self,
        ctx: &DriverContext,
        recorded: &ResourceState,
    ) -> Result<Option<Value>, DriverError> {
        let (client, _) = login(ctx, &recorded.config).await?;
        let id = recorded.attributes["template_id"]
            .as_str()
            .unwrap_or_default();
        let Some(t) = client.template(id).await.map_err(coder_err)? else {
            return Ok(None);
        };
        let mut attributes = recorded.attributes.clone();
        attributes["active_version_id"] = t["active_version_id"].clone();
        for k in ["display_name", "description"] {
            if recorded.config.get(k).is_some_and(|v| !v.is_null()) {
                attributes[k] = t[k].clone();
            }
        }
        Ok(Some(attributes))
    }

    async fn create(&self, ctx: &DriverContext, config: &Value) -> Result<Created, DriverError> {
        let attributes = push(ctx, config, None).await?;
        Ok(Created {
            id: attributes["template_id"]
                .as_str()
                .unwrap_or_default()
                .to_string(),
            attributes,
        })
    }

    async fn update(
        &self,
        ctx: &DriverContext,
        recorded: &ResourceState,
        config: &Value,
        _changed: &[String],
    ) -> Result<Value, DriverError> {
        push(ctx, config, recorded.attributes["template_id"].as_str()).await
    }

    async fn delete(
        &self,
        ctx: &DriverContext,
        recorded: &ResourceState,
    ) -> Result<(), DriverError> {
        let (client, _) = login(ctx, &recorded.config).await?;
        let id = recorded.attributes["template_id"]
            .as_str()
            .unwrap_or_default();
        client.delete_template(id).await.map_err(coder_err)
    }

    async fn recover(
        &self,
        ctx: &DriverContext,
        config: &Value,
        _marker: &Value,
    ) -> Result<Option<Created>, DriverError> {
        // A push is keyed by the template's name: pushing again promotes a new version of the
        // template an interrupted run created.
        self.create(ctx, config).await.map(Some)
    }
}
