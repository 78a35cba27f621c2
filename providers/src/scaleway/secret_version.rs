//! `scaleway_secret_version`: one revision of a Scaleway Secret Manager secret
//! (`secret-manager/v1beta1`, regional), read by name. Kapstan never writes the secret: the
//! user keeps it in Secret Manager, and a stack reads its data (sensitive, sealed in state) at
//! plan time (refresh) and apply time (create), so a rotation shows up in the next plan. A
//! secret or revision that does not exist fails the plan before any mutating call, naming it.
//!
//! Also the `secret-manager://NAME[#REVISION]` reference syntax environment files use.
//! Declared with `kind!`; its driver stays hand-written (see [`SecretVersionDriver`]).

use std::sync::Arc;

use base64::Engine;
use kapstan_engine::state::ResourceState;
use kapstan_engine::{
    Created, Driver, DriverContext, DriverError, FieldError, Input, Schema, Update, async_trait,
};
use serde::Deserialize;
use serde_json::Value;

use super::client::{Api, Client, Paginated, Query, Region, path_segment};
use super::kind::{Declared, kind, validate_with};
use super::provider::{ScalewayProvider, api, check, string};

/// The scheme of a Secret Manager reference.
pub const SCHEME: &str = "secret-manager://";

/// The revision a reference without `#REVISION` reads: the newest one that can be accessed.
pub const DEFAULT_REVISION: &str = "latest_enabled";

/// A parsed `secret-manager://NAME[#REVISION]` reference.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SecretReference {
    /// Secret name (at the root path `/`), or `/folder/name` for a secret in a folder.
    pub name: String,
    /// `latest`, `latest_enabled` or a revision number.
    pub revision: String,
}

/// Why a reference cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{problem}")]
pub struct ReferenceError {
    /// What is wrong and how to write it.
    pub problem: String,
}

impl SecretReference {
    /// Whether a configured value is a Secret Manager reference (then [`Self::parse`] it).
    pub fn is_reference(value: &str) -> bool {
        value.starts_with(SCHEME)
    }

    /// Parses `secret-manager://NAME[#REVISION]`.
    pub fn parse(value: &str) -> Result<Self, ReferenceError> {
        let fail = |problem: String| ReferenceError { problem };
        let rest = value.strip_prefix(SCHEME).ok_or_else(|| {
            fail(format!(
                "is not a Secret Manager reference; write {SCHEME}NAME or {SCHEME}NAME#REVISION"
            ))
        })?;
        let (name, revision) = match rest.split_once('#') {
            Some((n, r)) => (n, r),
            None => (rest, DEFAULT_REVISION),
        };
        if name.is_empty() {
            return Err(fail(format!(
                "names no secret; write {SCHEME}NAME or {SCHEME}NAME#REVISION"
            )));
        }
        if let Some(bad) = name
            .chars()
            .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | '/')))
        {
            return Err(fail(format!(
                "has {bad:?} in the secret name; names use letters, digits, '-', '_' and '.' (and '/' for folders)"
            )));
        }
        if !revision_ok(revision) {
            return Err(fail(format!(
                "has revision {revision:?}; use a revision number (1, 2, …), `latest` or `latest_enabled`"
            )));
        }
        Ok(Self {
            name: name.to_string(),
            revision: revision.to_string(),
        })
    }

    /// `(path, name)` of the secret: `/a/b` is `b` in folder `/a`; a bare name is at `/`.
    pub fn path_and_name(&self) -> (String, String) {
        match self.name.rsplit_once('/') {
            Some(("", n)) => ("/".into(), n.into()),
            Some((p, n)) => {
                let p = if p.starts_with('/') {
                    p.to_string()
                } else {
                    format!("/{p}")
                };
                (p, n.into())
            }
            None => ("/".into(), self.name.clone()),
        }
    }

    /// A resource declaration reading this reference.
    pub fn declaration(&self) -> SecretVersion {
        let (path, name) = self.path_and_name();
        SecretVersion {
            secret_name: name.into(),
            path: (path != "/").then_some(path),
            revision: Some(self.revision.clone()),
            region: None,
            project_id: None,
        }
    }
}

impl std::fmt::Display for SecretReference {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{SCHEME}{}#{}", self.name, self.revision)
    }
}

fn revision_ok(r: &str) -> bool {
    matches!(r, "latest" | "latest_enabled")
        || (!r.is_empty()
            && r.bytes().all(|b| b.is_ascii_digit())
            && r != "0"
            && !r.starts_with('0'))
}

kind! {
    /// A revision of a secret, read by name. Every argument names another revision: a change
    /// reads it anew (a replacement, so what uses the data sees it as unknown until then).
    pub struct SecretVersion = "scaleway_secret_version"
        (SecretVersionKind, SecretVersionAttributes);
    wire SecretRead as r, id format!("{}/{}", r.secret_id, r.revision_number);
    /// name of the secret in Secret Manager
    secret_name: Input<String>, required force_new => r.secret_name;
    /// folder of the secret; default `/`
    path: Option<String>, optional force_new;
    /// a revision number, `latest` or `latest_enabled` (default)
    revision: Option<String>, optional force_new;
    region => r.region;
    project_id => r.project_id;
    /// the secret's id
    secret_id: String, computed => r.secret_id;
    /// the revision that was read
    revision_number: u64, computed => r.revision_number;
    /// the revision's data, as text
    data: String, computed sensitive => r.data;
}

/// What a read found: the revision, with the reference's name, region and project.
#[derive(Debug)]
pub struct SecretRead {
    secret_name: Option<String>,
    region: Option<String>,
    project_id: Option<String>,
    secret_id: String,
    revision_number: u64,
    data: String,
}

#[derive(Debug, Deserialize)]
struct WireSecret {
    id: String,
    name: String,
    #[serde(default)]
    path: Option<String>,
}

#[derive(Debug, Deserialize)]
struct ListSecrets {
    secrets: Vec<WireSecret>,
    total_count: u64,
}

impl Paginated for ListSecrets {
    type Item = WireSecret;
    fn total_count(&self) -> Option<u64> {
        Some(self.total_count)
    }
    fn into_items(self) -> Vec<WireSecret> {
        self.secrets
    }
}

#[derive(Deserialize)]
struct Access {
    revision: u64,
    data: String,
}

/// What a read found.
enum Lookup {
    Found(SecretRead),
    /// The reason, naming the secret or revision.
    Missing(String),
}

/// The `scaleway_secret_version` driver. Not on the driver core: a read looks the declared
/// reference up anew (the recorded id names the revision last read, not what to read), and
/// there is nothing to create, adopt, recover, import or delete.
#[derive(Debug)]
pub struct SecretVersionDriver {
    p: Arc<ScalewayProvider>,
    schema: Schema,
}

impl SecretVersionDriver {
    /// The driver.
    pub fn new(p: Arc<ScalewayProvider>) -> Self {
        Self {
            p,
            schema: Schema::new(SecretVersionKind::NAME, SecretVersionKind::fields()),
        }
    }

    fn reference(config: &Value) -> String {
        let name = string(config, "secret_name").unwrap_or_default();
        let path = string(config, "path").unwrap_or_else(|| "/".into());
        let revision = string(config, "revision").unwrap_or_else(|| DEFAULT_REVISION.into());
        let full = if path == "/" {
            name
        } else {
            format!("{}/{name}", path.trim_end_matches('/'))
        };
        format!("{SCHEME}{full}#{revision}")
    }

    async fn lookup(&self, client: &Client, config: &Value) -> Result<Lookup, DriverError> {
        let region: Region = self.p.region_of(config)?;
        let name = string(config, "secret_name").unwrap_or_default();
        let path = string(config, "path").unwrap_or_else(|| "/".into());
        let revision = string(config, "revision").unwrap_or_else(|| DEFAULT_REVISION.into());
        let project = self.p.project_of(config)?;
        let query = Query::new()
            .set("name", &name)
            .set("path", &path)
            .set("project_id", &project);
        let found: Vec<WireSecret> = client
            .list_all::<ListSecrets>(Api::SecretManager, &region, "/secrets", query)
            .await
            .map_err(api)?
            .into_iter()
            .filter(|s| s.name == name && s.path.as_deref().unwrap_or("/") == path)
            .collect();
        let reference = Self::reference(config);
        let secret = match found.as_slice() {
            [one] => one,
            [] => {
                return Ok(Lookup::Missing(format!(
                    "{reference}: Secret Manager has no secret {name:?} in {path} (project {project}, region {region})"
                )));
            }
            many => {
                return Err(DriverError::failed(format!(
                    "{reference}: Secret Manager has {} secrets named {name:?} in {path}",
                    many.len()
                )));
            }
        };
        let access = client
            .get::<Access>(
                Api::SecretManager,
                &region,
                &format!(
                    "/secrets/{}/versions/{}/access",
                    path_segment(&secret.id),
                    path_segment(&revision)
                ),
            )
            .await;
        let access = match access {
            Ok(a) => a,
            Err(e) if e.is_not_found() => {
                return Ok(Lookup::Missing(format!(
                    "{reference}: secret {name:?} has no revision {revision}"
                )));
            }
            Err(e) if e.api_error().is_some_and(|a| a.status == 412) => {
                return Ok(Lookup::Missing(format!(
                    "{reference}: revision {revision} of secret {name:?} cannot be read (disabled or deleted); enable it or name another revision"
                )));
            }
            Err(e) => return Err(api(e)),
        };
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(access.data.as_bytes())
            .map_err(|_| {
                DriverError::failed(format!(
                    "{reference}: Secret Manager sent data that is not base64"
                ))
            })?;
        let data = String::from_utf8(bytes).map_err(|_| {
            DriverError::failed(format!(
                "{reference}: revision {} is not text; kapstan passes secrets as text",
                access.revision
            ))
        })?;
        Ok(Lookup::Found(SecretRead {
            secret_name: string(config, "secret_name"),
            region: Some(region.to_string()),
            project_id: Some(project),
            secret_id: secret.id.clone(),
            revision_number: access.revision,
            data,
        }))
    }

    /// The attributes of what was read: the declaration's `path` and `revision` as given.
    fn attributes(config: &Value, read: &SecretRead) -> Value {
        let mut a = SecretVersionKind::attributes(read);
        for key in ["path", "revision"] {
            if let Some(v) = config.get(key).filter(|v| !v.is_null()) {
                a[key] = v.clone();
            }
        }
        a
    }

    /// The declared revision's attributes; a missing secret or revision is an error.
    async fn read_declared(&self, config: &Value) -> Result<Created, DriverError> {
        let client = self.p.client_with_backoff()?;
        match self.lookup(&client, config).await? {
            Lookup::Found(read) => Ok(Created {
                id: SecretVersionKind::id(&read),
                attributes: Self::attributes(config, &read),
            }),
            Lookup::Missing(problem) => Err(DriverError::failed(problem)),
        }
    }
}

#[async_trait]
impl Driver for SecretVersionDriver {
    fn schema(&self) -> &Schema {
        &self.schema
    }

    fn has_external_effects(&self) -> bool {
        false
    }

    fn validate(&self, config: &Value, errors: &mut Vec<FieldError>) {
        errors.extend(validate_with(&self.p, &self.schema, config, |config, e| {
            let rules: [check::TextRule; 3] = [
                (
                    "secret_name",
                    |n| !n.is_empty() && !n.contains('/'),
                    "is not a secret name",
                    "give the name alone and the folder in `path`",
                ),
                (
                    "path",
                    |p| p.starts_with('/'),
                    "is not a Secret Manager folder",
                    "folders start with `/`, e.g. \"/coder\"",
                ),
                (
                    "revision",
                    revision_ok,
                    "is not a revision",
                    "use a revision number (1, 2, …), `latest` or `latest_enabled`",
                ),
            ];
            check::texts(config, &rules, e);
        }));
    }

    async fn read(
        &self,
        _ctx: &DriverContext,
        rec: &ResourceState,
    ) -> Result<Option<Value>, DriverError> {
        let client = self.p.client()?;
        Ok(match self.lookup(&client, &rec.config).await? {
            Lookup::Found(read) => Some(Self::attributes(&rec.config, &read)),
            // Gone: the plan declares it again and the live check names what is missing.
            Lookup::Missing(_) => None,
        })
    }

    fn checks_live(&self) -> bool {
        true
    }

    async fn check_live(
        &self,
        _ctx: &DriverContext,
        config: &Value,
        _changed: Option<&[String]>,
    ) -> Result<Vec<FieldError>, DriverError> {
        if string(config, "secret_name").is_none() {
            return Ok(vec![]);
        }
        let client = self.p.client()?;
        Ok(match self.lookup(&client, config).await? {
            Lookup::Found(_) => vec![],
            Lookup::Missing(problem) => vec![FieldError::new(
                "secret_name",
                &Self::reference(config),
                &problem,
                "create it with `scw secret secret create` and `scw secret version create`, or fix the reference",
            )],
        })
    }

    async fn create(&self, _ctx: &DriverContext, config: &Value) -> Result<Created, DriverError> {
        self.read_declared(config).await
    }

    async fn update(
        &self,
        _ctx: &DriverContext,
        update: &Update<'_>,
    ) -> Result<Value, DriverError> {
        let Update { config, .. } = *update;
        Ok(self.read_declared(config).await?.attributes)
    }

    async fn delete(&self, _ctx: &DriverContext, _rec: &ResourceState) -> Result<(), DriverError> {
        // The secret belongs to the user: forgetting it is all a delete does.
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn references_parse_with_and_without_revision() {
        let r = SecretReference::parse("secret-manager://coder-oidc#3").unwrap();
        assert_eq!((r.name.as_str(), r.revision.as_str()), ("coder-oidc", "3"));
        let r = SecretReference::parse("secret-manager://coder/oidc").unwrap();
        assert_eq!(r.revision, "latest_enabled");
        assert_eq!(r.path_and_name(), ("/coder".into(), "oidc".into()));
        assert_eq!(
            SecretReference::parse("secret-manager://a#latest")
                .unwrap()
                .path_and_name(),
            ("/".into(), "a".into())
        );
    }

    #[test]
    fn bad_references_say_how_to_write_them() {
        for bad in [
            "secret-manager://",
            "secret-manager://x#0",
            "secret-manager://x#first",
            "secret-manager://x y",
            "vault://x",
        ] {
            let e = SecretReference::parse(bad).unwrap_err();
            assert!(
                e.problem.contains("secret-manager://NAME")
                    || e.problem.contains("revision")
                    || e.problem.contains("secret name"),
                "{bad}: {}",
                e.problem
            );
        }
    }
}
