//! `coder_template`: a template pushed from a local directory. The directory is packed as a
//! deterministic ustar archive whose sha256 (`source_hash`) is part of the config, so only a
//! content change plans an update, and an update that changes only metadata uploads nothing.
//! Push: upload (within the session's upload budget), create a version, wait for its build
//! with backoff, then create the template or promote the version. Metadata updates read the
//! template and send the whole body back (Coder 2.21 resets what a PATCH omits). A failed
//! build reports the job's error, the last lines of its log (redacted), the template and the
//! directory; a job no provisioner can take, or in status `unknown`, fails at once. Deleting a
//! template that still has workspaces fails before any change unless `delete_workspaces` is
//! set, which deletes them first with delete builds.

use std::path::Path;
use std::time::{Duration, Instant};

use kapstan_engine::state::ResourceState;
use kapstan_engine::{
    Created, Driver, DriverContext, DriverError, FieldError, Input, Schema, Update, async_trait,
};
use serde_json::{Value, json};

use super::archive::archive_dir;
use super::client::CoderClient;
use super::first_user::coder_err;
use super::rules::{self, Rule};
use super::session::Sessions;

crate::declare::kind! {
    /// A Coder template from a directory.
    #[derive(Default)]
    pub struct CoderTemplate = "coder_template";
    /// Coder access URL.
    url: Input<String>, required => "Coder access URL";
    /// Email of an account allowed to manage templates (the first user).
    email: Input<String>, required => "account that manages templates";
    /// Its password (sensitive).
    password: Input<String>, required sensitive => "its password";
    /// Template name; changing it replaces the template.
    name: String, required force_new => "template name";
    /// Directory holding the template's Terraform files.
    directory: String, required => "directory of the template's Terraform files";
    /// sha256 of the directory's archive: set by [`CoderTemplate::from_dir`].
    source_hash: String, required => "sha256 of the directory's ustar archive";
    /// Organization (name or id; the user's first organization when absent).
    organization: Option<String>, optional force_new => "organization (the user's default)";
    /// Display name.
    display_name: Option<String>, optional => "display name";
    /// Description.
    description: Option<String>, optional => "description";
    /// How long to wait for Coder and for the build (600 s when absent).
    timeout_seconds: Option<u64>, optional => "how long to wait (600)";
    /// On delete, delete the template's workspaces first (with delete builds) instead of
    /// refusing while any exists.
    delete_workspaces: Option<bool>, optional
        => "delete the template's workspaces before deleting it";
    /// The template id.
    computed template_id: String => "template id";
    /// The active version id.
    computed active_version_id: String => "active version id";
    computed "file_id" => "id of the uploaded archive";
    /// Attributes of a `coder_template`; the id is the template id.
    attributes CoderTemplateAttributes;
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

crate::declare::schema_driver! {
    /// The `coder_template` driver.
    CoderTemplateDriver for CoderTemplate {
        sessions: Sessions,
    }
}

impl CoderTemplateDriver {
    /// The driver, its calls reaching Coder as `reach` says.
    pub fn with_reach(reach: super::CoderReach) -> Self {
        Self {
            sessions: Sessions::with_reach(reach),
            ..Self::new()
        }
    }

    /// Deletes the workspaces of the template recorded as `config` (url, email, password,
    /// name) with delete builds and waits until they are gone: what `kapstan down` runs before
    /// it destroys the application phase. Returns the names of the workspaces deleted. Calls
    /// for several templates of one Coder share one session.
    pub async fn delete_workspaces_of(
        &self,
        ctx: &DriverContext,
        config: &Value,
    ) -> Result<Vec<String>, DriverError> {
        let (client, _) = self.session(ctx, config).await?;
        let mut forced = config.clone();
        forced["delete_workspaces"] = json!(true);
        let ws = workspaces_in_the_way(&client, &forced).await?;
        delete_workspaces(ctx, &client, &forced, &ws).await?;
        Ok(ws
            .iter()
            .map(|w| w["name"].as_str().unwrap_or_default().to_string())
            .collect())
    }

    async fn session(
        &self,
        ctx: &DriverContext,
        config: &Value,
    ) -> Result<(CoderClient, String), DriverError> {
        let url = config["url"].as_str().unwrap_or_default();
        ctx.progress(format!("waiting for Coder at {url}"));
        let email = config["email"].as_str().unwrap_or_default();
        let client = self
            .sessions
            .client(
                url,
                email,
                config["password"].as_str().unwrap_or_default(),
                timeout(config),
            )
            .await
            .map_err(coder_err)?;
        let org = match config["organization"].as_str() {
            Some(o) => client
                .organizations()
                .await
                .map_err(coder_err)?
                .iter()
                .find(|x| x["name"] == o || x["id"] == o)
                .and_then(|x| x["id"].as_str())
                .map(str::to_string)
                .ok_or_else(|| {
                    DriverError::failed(format!("{email} is not a member of organization {o:?}"))
                })?,
            None => client
                .default_organization()
                .await
                .map_err(coder_err)?
                .ok_or_else(|| {
                    DriverError::failed(format!("{email} belongs to no default organization"))
                })?,
        };
        Ok((client, org))
    }

    /// Pushes the directory (or, when `unchanged` names the recorded attributes of the same
    /// content, only the metadata): returns the attributes.
    async fn push(
        &self,
        ctx: &DriverContext,
        config: &Value,
        known_template: Option<&str>,
        unchanged: Option<&Value>,
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
        let (client, org) = self.session(ctx, config).await?;
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
        let same_content = unchanged.filter(|rec| {
            rec["source_hash"] == archive.sha256.as_str()
                && existing
                    .as_ref()
                    .is_some_and(|t| t["active_version_id"] == rec["active_version_id"])
        });
        let (file_id, vid) = match same_content {
            Some(rec) => {
                ctx.progress(format!(
                    "template {name}: content unchanged, nothing to upload"
                ));
                (
                    rec["file_id"].clone(),
                    rec["active_version_id"]
                        .as_str()
                        .unwrap_or_default()
                        .to_string(),
                )
            }
            None => {
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
                wait_for_build(ctx, &client, config, &vid, &file_id).await?;
                if let Some(tid) = &template_id {
                    client.promote(tid, &vid).await.map_err(coder_err)?;
                }
                (json!(file_id), vid)
            }
        };
        let template = match (&template_id, existing) {
            (Some(tid), Some(live)) => {
                let mut body = live.clone();
                let mut changed = false;
                for k in ["display_name", "description"] {
                    if let Some(v) = config[k].as_str()
                        && live[k] != v
                    {
                        body[k] = json!(v);
                        changed = true;
                    }
                }
                if changed {
                    client.update_template(tid, body).await.map_err(coder_err)?;
                }
                client
                    .template(tid)
                    .await
                    .map_err(coder_err)?
                    .ok_or_else(|| {
                        DriverError::failed(format!("template {name} vanished during the push"))
                    })?
            }
            _ => {
                let mut body = json!({"name": name, "template_version_id": vid});
                for k in ["display_name", "description"] {
                    if let Some(v) = config[k].as_str() {
                        body[k] = json!(v);
                    }
                }
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
        attributes["file_id"] = file_id;
        Ok(attributes)
    }
}

fn timeout(config: &Value) -> Duration {
    Duration::from_secs(config["timeout_seconds"].as_u64().unwrap_or(600))
}

/// Longest pause between two polls of a build: 30 reads a minute of one version, far under
/// Coder's 512 per path, while a queued build is seen at most 2 s after it ends.
const POLL_CAP: Duration = Duration::from_secs(2);

/// How many log lines a failed build's error quotes.
const LOG_TAIL: usize = 12;

/// Waits for the import job of version `vid`, polling with backoff (0.25 s doubling to
/// [`POLL_CAP`]):
/// fails at once when no provisioner can take the job or its status is `unknown`, and on a
/// failed build quotes the end of its log.
async fn wait_for_build(
    ctx: &DriverContext,
    client: &CoderClient,
    config: &Value,
    vid: &str,
    file_id: &str,
) -> Result<(), DriverError> {
    let name = config["name"].as_str().unwrap_or_default();
    let dir = config["directory"].as_str().unwrap_or_default();
    let start = Instant::now();
    let deadline = timeout(config);
    let mut delay = Duration::from_millis(250);
    let mut last = String::new();
    loop {
        let v = client.version(vid).await.map_err(coder_err)?;
        let status = v["job"]["status"].as_str().unwrap_or("").to_string();
        match status.as_str() {
            "succeeded" => return Ok(()),
            "failed" | "canceled" => {
                let err = v["job"]["error"].as_str().unwrap_or("(no error message)");
                let logs = client.version_logs(vid).await.unwrap_or_default();
                let tail = log_tail(
                    &logs,
                    &[config["password"].as_str(), client.token().as_deref()],
                );
                return Err(DriverError::failed(format!(
                    "template {name} (directory {dir}, uploaded file {file_id}): the build of version {vid} {status}: {err}{tail}"
                )));
            }
            "unknown" => {
                return Err(DriverError::failed(format!(
                    "template {name} (directory {dir}): the build of version {vid} is in status \"unknown\": its provisioner lost track of it; check the provisioner daemons (`coder provisioner list`) and apply again"
                )));
            }
            "pending" if v["matched_provisioners"]["count"] == 0 => {
                return Err(DriverError::failed(format!(
                    "template {name} (directory {dir}): the build of version {vid} is pending and no provisioner daemon matches its tags (matched_provisioners.count = 0); start provisioner daemons (CODER_PROVISIONER_DAEMONS, 3 by default) or external provisioners with matching tags"
                )));
            }
            _ => {}
        }
        if status != last {
            let queue = match v["job"]["queue_position"].as_u64() {
                Some(p) if p > 0 => format!(" (position {p} in the queue)"),
                _ => String::new(),
            };
            ctx.progress(format!("template {name}: build {status}{queue}"));
            last = status;
        }
        if start.elapsed() >= deadline {
            return Err(DriverError::Timeout {
                what: format!("template {name}: the build of version {vid}"),
                after: deadline,
            });
        }
        let jitter = rand::random_range(0.8..1.2);
        tokio::time::sleep(delay.mul_f64(jitter)).await;
        delay = (delay * 2).min(POLL_CAP);
    }
}

/// The last lines of a job log with output, each secret replaced.
fn log_tail(logs: &[Value], secrets: &[Option<&str>]) -> String {
    let lines: Vec<String> = logs
        .iter()
        .filter_map(|l| l["output"].as_str())
        .filter(|o| !o.trim().is_empty())
        .map(|o| {
            secrets
                .iter()
                .flatten()
                .filter(|s| s.len() >= 4)
                .fold(o.to_string(), |line, s| line.replace(s, "(redacted)"))
        })
        .collect();
    if lines.is_empty() {
        return String::new();
    }
    let tail = &lines[lines.len().saturating_sub(LOG_TAIL)..];
    format!("\n  last log lines:\n    {}", tail.join("\n    "))
}

/// What deleting template `config` would do to its workspaces: their names, or an error that
/// names them and the option, when they exist and `delete_workspaces` is not set.
async fn workspaces_in_the_way(
    client: &CoderClient,
    config: &Value,
) -> Result<Vec<Value>, DriverError> {
    let name = config["name"].as_str().unwrap_or_default();
    let ws = client
        .workspaces_of_template(name)
        .await
        .map_err(coder_err)?;
    if ws.is_empty() || config["delete_workspaces"] == true {
        return Ok(ws);
    }
    let names: Vec<String> = ws
        .iter()
        .map(|w| {
            format!(
                "{}/{}",
                w["owner_name"].as_str().unwrap_or("?"),
                w["name"].as_str().unwrap_or("?")
            )
        })
        .collect();
    Err(DriverError::failed(format!(
        "template {name} still has {} workspace(s): {}; Coder refuses to delete a template in use. Delete them first (`coder delete OWNER/NAME`), or set `delete_workspaces: true` on the coder_template (`kapstan down` does this) to have kapstan delete them with delete builds before the template; nothing was deleted",
        names.len(),
        names.join(", ")
    )))
}

/// Deletes `workspaces` with delete builds and waits until they are gone.
async fn delete_workspaces(
    ctx: &DriverContext,
    client: &CoderClient,
    config: &Value,
    workspaces: &[Value],
) -> Result<(), DriverError> {
    let name = config["name"].as_str().unwrap_or_default();
    let deadline = Instant::now() + timeout(config);
    let mut waiting: Vec<(String, String)> = workspaces
        .iter()
        .map(|w| {
            (
                w["id"].as_str().unwrap_or_default().to_string(),
                w["name"].as_str().unwrap_or_default().to_string(),
            )
        })
        .collect();
    let mut requested = vec![false; waiting.len()];
    let mut delay = Duration::from_millis(250);
    while !waiting.is_empty() {
        let mut still = vec![];
        let mut still_requested = vec![];
        for ((id, wname), asked) in waiting.into_iter().zip(requested) {
            let mut asked = asked;
            if !asked {
                match client.build_workspace(&id, "delete", false).await {
                    Ok(_) => {
                        ctx.progress(format!("template {name}: deleting workspace {wname}"));
                        asked = true;
                    }
                    // Another build is active: ask again once it ends.
                    Err(e) if e.status() == Some(409) => {}
                    Err(e) if e.status() == Some(410) || e.status() == Some(404) => continue,
                    Err(e) => return Err(coder_err(e)),
                }
            }
            if asked && client.workspace(&id).await.map_err(coder_err)?.is_none() {
                continue;
            }
            still.push((id, wname));
            still_requested.push(asked);
        }
        waiting = still;
        requested = still_requested;
        if waiting.is_empty() {
            break;
        }
        if Instant::now() >= deadline {
            let names: Vec<&str> = waiting.iter().map(|(_, n)| n.as_str()).collect();
            return Err(DriverError::Timeout {
                what: format!(
                    "template {name}: the delete builds of workspaces {}",
                    names.join(", ")
                ),
                after: timeout(config),
            });
        }
        tokio::time::sleep(delay).await;
        delay = (delay * 2).min(Duration::from_secs(5));
    }
    Ok(())
}

#[async_trait]
impl Driver for CoderTemplateDriver {
    fn schema(&self) -> &Schema {
        &self.schema
    }

    fn validate(&self, config: &Value, errors: &mut Vec<FieldError>) {
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
        rules::check_config(
            config,
            &[
                ("name", Rule::Name("template name")),
                ("display_name", Rule::DisplayName),
                ("description", Rule::Description),
            ],
            errors,
        );
    }

    async fn read(
        &self,
        ctx: &DriverContext,
        recorded: &ResourceState,
    ) -> Result<Option<Value>, DriverError> {
        let (client, _) = self.session(ctx, &recorded.config).await?;
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
        let attributes = self.push(ctx, config, None, None).await?;
        Ok(Created {
            id: attributes["template_id"]
                .as_str()
                .unwrap_or_default()
                .to_string(),
            attributes,
        })
    }

    async fn update(&self, ctx: &DriverContext, update: &Update<'_>) -> Result<Value, DriverError> {
        self.push(
            ctx,
            update.config,
            update.recorded.attributes["template_id"].as_str(),
            Some(&update.recorded.attributes),
        )
        .await
    }

    async fn delete(
        &self,
        ctx: &DriverContext,
        recorded: &ResourceState,
    ) -> Result<(), DriverError> {
        let (client, _) = self.session(ctx, &recorded.config).await?;
        let id = recorded.attributes["template_id"]
            .as_str()
            .unwrap_or_default();
        if client.template(id).await.map_err(coder_err)?.is_none() {
            return Ok(());
        }
        let ws = workspaces_in_the_way(&client, &recorded.config).await?;
        delete_workspaces(ctx, &client, &recorded.config, &ws).await?;
        client.delete_template(id).await.map_err(coder_err)
    }

    // A push is keyed by the template's name: pushing again promotes a new version of the
    // template an interrupted run created.
    fn create_adopts(&self) -> bool {
        true
    }
}
