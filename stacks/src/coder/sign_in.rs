//! Day-two settings of an environment file: single sign-on (`[oidc]`), Git provider
//! authentication (`[[external_auth]]`), the built-in provisioner daemons and the secrets they
//! need, always as references (`secret-manager://NAME[#REVISION]` or `env:VARIABLE`), never
//! in the file. Each becomes the Coder server option of the same meaning, named as Coder names
//! it: the OIDC and provisioner options in `codersdk/deployment.go`
//! (`CODER_OIDC_ISSUER_URL`, …, `CODER_PROVISIONER_DAEMONS`, `CODER_DISABLE_PASSWORD_AUTH`), the
//! external auth providers in `cli/server.go` (`CODER_EXTERNAL_AUTH_<n>_ID`, `_TYPE`, …).

use std::collections::BTreeMap;

use kapstan_providers::scaleway::secret_version::SecretReference;
use serde::Deserialize;
use serde_json::{Value, json};

/// `(table, key, message)`: a problem found in an environment file.
pub type SettingError = (&'static str, &'static str, String);

/// Where a secret comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SecretSource {
    /// Read from Scaleway Secret Manager at plan and apply time.
    SecretManager(SecretReference),
    /// Read from the environment of the process running kapstan (CI variables).
    Env(String),
}

impl SecretSource {
    /// Parses a configured reference; `table` and `key` name it in errors.
    pub fn parse(
        value: &str,
        table: &'static str,
        key: &'static str,
    ) -> Result<Self, SettingError> {
        if SecretReference::is_reference(value) {
            return SecretReference::parse(value)
                .map(Self::SecretManager)
                .map_err(|e| {
                    (
                        table,
                        key,
                        format!("[{table}] {key} = {value:?} {}", e.problem),
                    )
                });
        }
        if let Some(var) = value.strip_prefix("env:") {
            let valid = !var.is_empty()
                && var.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
                && !var.starts_with(|c: char| c.is_ascii_digit());
            if !valid {
                return Err((
                    table,
                    key,
                    format!(
                        "[{table}] {key} = {value:?} names no environment variable; write env:VARIABLE_NAME"
                    ),
                ));
            }
            return Ok(Self::Env(var.to_string()));
        }
        // The value itself is never repeated: it may be the secret.
        Err((
            table,
            key,
            format!(
                "[{table}] {key} must be a reference, not the secret itself: store it in Scaleway Secret Manager and write \"secret-manager://NAME\" (or \"secret-manager://NAME#REVISION\"), or write \"env:VARIABLE\" to read it from the environment"
            ),
        ))
    }

    /// Checks what can be checked without a call: an `env:` variable is set and not empty.
    pub fn check_present(
        &self,
        table: &'static str,
        key: &'static str,
    ) -> Result<(), SettingError> {
        match self {
            Self::SecretManager(_) => Ok(()),
            Self::Env(var) => match std::env::var(var) {
                Ok(v) if !v.is_empty() => Ok(()),
                _ => Err((
                    table,
                    key,
                    format!(
                        "[{table}] {key} = \"env:{var}\": the environment variable {var} is not set (or empty); export it or use a secret-manager:// reference"
                    ),
                )),
            },
        }
    }
}

/// Group sync (`CODER_OIDC_GROUP_*`; a Premium feature of Coder).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GroupSync {
    /// The claim holding the user's groups, e.g. `groups`.
    pub field: String,
    /// Identity provider group → Coder group.
    #[serde(default)]
    pub mapping: BTreeMap<String, String>,
    /// Create Coder groups that do not exist yet.
    #[serde(default)]
    pub auto_create: bool,
    /// Only groups matching this regular expression are synced.
    #[serde(default)]
    pub regex_filter: Option<String>,
    /// Only users in one of these groups may sign in.
    #[serde(default)]
    pub allowed: Vec<String>,
}

/// Role sync (`CODER_OIDC_USER_ROLE_*`; a Premium feature of Coder).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RoleSync {
    /// The claim holding the user's roles (an array of strings).
    pub field: String,
    /// Identity provider role → Coder site roles.
    #[serde(default)]
    pub mapping: BTreeMap<String, Vec<String>>,
    /// Roles every OIDC user gets (`member` always).
    #[serde(default)]
    pub default: Vec<String>,
}

/// `[oidc]`: single sign-on with an OpenID Connect provider.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OidcSettings {
    /// The issuer, `https://…` (its `/.well-known/openid-configuration` must answer).
    pub issuer_url: String,
    /// The client registered for Coder at the provider.
    pub client_id: String,
    /// The client secret, as a reference.
    pub client_secret: String,
    /// Scopes requested (Coder's default: openid, profile, email).
    #[serde(default = "default_scopes")]
    pub scopes: Vec<String>,
    /// Email domains allowed to sign in (empty: any).
    #[serde(default)]
    pub allowed_email_domains: Vec<String>,
    /// Let new users sign up through the provider.
    #[serde(default = "yes")]
    pub allow_signups: bool,
    /// Text of the sign-in button.
    #[serde(default)]
    pub sign_in_text: Option<String>,
    /// Icon of the sign-in button.
    #[serde(default)]
    pub icon_url: Option<String>,
    /// Whether password login stays enabled (owners can always use theirs).
    #[serde(default = "yes")]
    pub password_login: bool,
    /// Claim used as the username (Coder's default `preferred_username`).
    #[serde(default)]
    pub username_field: Option<String>,
    /// Claim used as the email (Coder's default `email`).
    #[serde(default)]
    pub email_field: Option<String>,
    /// Accept emails the provider has not verified.
    #[serde(default)]
    pub ignore_email_verified: bool,
    /// Group sync.
    #[serde(default)]
    pub groups: Option<GroupSync>,
    /// Role sync.
    #[serde(default)]
    pub roles: Option<RoleSync>,
}

fn default_scopes() -> Vec<String> {
    ["openid", "profile", "email"].map(String::from).to_vec()
}

fn yes() -> bool {
    true
}

/// The Git providers Coder's external auth knows and kapstan types (`codersdk`'s
/// `EnhancedExternalAuthProvider` values).
pub const EXTERNAL_AUTH_TYPES: &[&str] =
    &["github", "gitlab", "bitbucket-cloud", "bitbucket-server"];

/// One `[[external_auth]]` entry: a Git provider templates authenticate to.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExternalAuthSettings {
    /// The id templates name in `data "coder_external_auth" "<x>" { id = "<id>" }`.
    pub id: String,
    /// `github`, `gitlab`, `bitbucket-cloud` or `bitbucket-server`.
    #[serde(rename = "type")]
    pub provider: String,
    /// OAuth application client id.
    pub client_id: String,
    /// OAuth application client secret, as a reference.
    pub client_secret: String,
    /// Authorization URL of a self-hosted instance.
    #[serde(default)]
    pub auth_url: Option<String>,
    /// Token URL of a self-hosted instance.
    #[serde(default)]
    pub token_url: Option<String>,
    /// Token validation URL of a self-hosted instance.
    #[serde(default)]
    pub validate_url: Option<String>,
    /// Repository URLs this provider authenticates (a regular expression).
    #[serde(default)]
    pub regex: Option<String>,
    /// OAuth scopes.
    #[serde(default)]
    pub scopes: Vec<String>,
    /// Name shown to users.
    #[serde(default)]
    pub display_name: Option<String>,
    /// Icon shown to users.
    #[serde(default)]
    pub display_icon: Option<String>,
    /// Use the device flow (GitHub).
    #[serde(default)]
    pub device_flow: Option<bool>,
    /// Tokens cannot be refreshed (GitHub apps without expiring tokens).
    #[serde(default)]
    pub no_refresh: Option<bool>,
}

/// Coder's site-wide roles (what role sync may assign).
pub const CODER_ROLES: &[&str] = &["owner", "user-admin", "template-admin", "auditor", "member"];

/// The most built-in provisioner daemons kapstan lets one Coder replica run: each runs
/// Terraform inside the server container and holds its memory while a build runs.
pub const MAX_PROVISIONER_DAEMONS: u32 = 32;

fn https_url(value: &str, table: &'static str, key: &'static str) -> Result<(), SettingError> {
    let parsed = url::Url::parse(value).map_err(|e| {
        (
            table,
            key,
            format!("[{table}] {key} = {value:?} is not a URL ({e}); write https://host/path"),
        )
    })?;
    if parsed.scheme() != "https" {
        return Err((
            table,
            key,
            format!(
                "[{table}] {key} = {value:?} must use https: Coder sends OAuth codes and tokens to it"
            ),
        ));
    }
    if parsed.host_str().is_none_or(str::is_empty) {
        return Err((
            table,
            key,
            format!("[{table}] {key} = {value:?} names no host"),
        ));
    }
    Ok(())
}

fn regex_ok(value: &str, table: &'static str, key: &'static str) -> Result<(), SettingError> {
    regex::Regex::new(value).map(|_| ()).map_err(|e| {
        (
            table,
            key,
            format!("[{table}] {key} = {value:?} is not a regular expression: {e}"),
        )
    })
}

fn not_empty(value: &str, table: &'static str, key: &'static str) -> Result<(), SettingError> {
    if value.trim().is_empty() {
        return Err((table, key, format!("[{table}] {key} is empty; set it")));
    }
    Ok(())
}

impl OidcSettings {
    /// Checks every field before anything is called.
    pub fn check(&self) -> Result<(), SettingError> {
        let t = "oidc";
        https_url(&self.issuer_url, t, "issuer_url")?;
        let issuer = url::Url::parse(&self.issuer_url).expect("checked");
        if issuer.query().is_some() || issuer.fragment().is_some() {
            return Err((
                t,
                "issuer_url",
                format!(
                    "[oidc] issuer_url = {:?} has a query or fragment; an issuer is a bare https URL (its discovery document is at <issuer>/.well-known/openid-configuration)",
                    self.issuer_url
                ),
            ));
        }
        not_empty(&self.client_id, t, "client_id")?;
        let secret = SecretSource::parse(&self.client_secret, t, "client_secret")?;
        secret.check_present(t, "client_secret")?;
        if !self.scopes.iter().any(|s| s == "openid") {
            return Err((
                t,
                "scopes",
                format!(
                    "[oidc] scopes = {:?} lacks \"openid\": without it the provider issues no ID token; add it",
                    self.scopes
                ),
            ));
        }
        if let Some(bad) = self
            .scopes
            .iter()
            .find(|s| s.is_empty() || s.contains([' ', ',']))
        {
            return Err((
                t,
                "scopes",
                format!(
                    "[oidc] scopes: {bad:?} is not one scope; give each scope as its own string"
                ),
            ));
        }
        for d in &self.allowed_email_domains {
            let ok = !d.is_empty()
                && d.contains('.')
                && d.chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '.'));
            if !ok {
                return Err((
                    t,
                    "allowed_email_domains",
                    format!(
                        "[oidc] allowed_email_domains: {d:?} is not a domain; write the part after @, e.g. \"example.com\""
                    ),
                ));
            }
        }
        if let Some(icon) = &self.icon_url
            && !icon.starts_with('/')
        {
            https_url(icon, t, "icon_url")?;
        }
        if let Some(text) = &self.sign_in_text {
            not_empty(text, t, "sign_in_text")?;
        }
        if let Some(g) = &self.groups {
            not_empty(&g.field, "oidc.groups", "field")?;
            if let Some(r) = &g.regex_filter {
                regex_ok(r, "oidc.groups", "regex_filter")?;
            }
        }
        if let Some(r) = &self.roles {
            not_empty(&r.field, "oidc.roles", "field")?;
            for role in r.mapping.values().flatten().chain(&r.default) {
                if !CODER_ROLES.contains(&role.as_str()) {
                    return Err((
                        "oidc.roles",
                        "mapping",
                        format!(
                            "[oidc.roles] {role:?} is not a Coder role{}; use {}",
                            crate::suggest::did_you_mean(role, CODER_ROLES),
                            CODER_ROLES.join(", ")
                        ),
                    ));
                }
            }
        }
        Ok(())
    }

    /// The client secret's source (valid after [`Self::check`]).
    pub fn secret(&self) -> SecretSource {
        SecretSource::parse(&self.client_secret, "oidc", "client_secret").expect("checked")
    }

    /// Coder's environment for these settings; the client secret comes from
    /// `secret_name`/`secret_key` of a Kubernetes Secret.
    pub fn env(&self, secret_name: &str, secret_key: &str) -> Vec<Value> {
        let mut env = vec![
            plain("CODER_OIDC_ISSUER_URL", &self.issuer_url),
            plain("CODER_OIDC_CLIENT_ID", &self.client_id),
            from_secret("CODER_OIDC_CLIENT_SECRET", secret_name, secret_key),
            plain("CODER_OIDC_SCOPES", &self.scopes.join(",")),
            plain("CODER_OIDC_ALLOW_SIGNUPS", &self.allow_signups.to_string()),
            plain(
                "CODER_DISABLE_PASSWORD_AUTH",
                &(!self.password_login).to_string(),
            ),
        ];
        if !self.allowed_email_domains.is_empty() {
            env.push(plain(
                "CODER_OIDC_EMAIL_DOMAIN",
                &self.allowed_email_domains.join(","),
            ));
        }
        if let Some(v) = &self.sign_in_text {
            env.push(plain("CODER_OIDC_SIGN_IN_TEXT", v));
        }
        if let Some(v) = &self.icon_url {
            env.push(plain("CODER_OIDC_ICON_URL", v));
        }
        if let Some(v) = &self.username_field {
            env.push(plain("CODER_OIDC_USERNAME_FIELD", v));
        }
        if let Some(v) = &self.email_field {
            env.push(plain("CODER_OIDC_EMAIL_FIELD", v));
        }
        if self.ignore_email_verified {
            env.push(plain("CODER_OIDC_IGNORE_EMAIL_VERIFIED", "true"));
        }
        if let Some(g) = &self.groups {
            env.push(plain("CODER_OIDC_GROUP_FIELD", &g.field));
            env.push(plain(
                "CODER_OIDC_GROUP_MAPPING",
                &serde_json::to_string(&g.mapping).expect("a map of strings"),
            ));
            env.push(plain(
                "CODER_OIDC_GROUP_AUTO_CREATE",
                &g.auto_create.to_string(),
            ));
            if let Some(r) = &g.regex_filter {
                env.push(plain("CODER_OIDC_GROUP_REGEX_FILTER", r));
            }
            if !g.allowed.is_empty() {
                env.push(plain("CODER_OIDC_ALLOWED_GROUPS", &g.allowed.join(",")));
            }
        }
        if let Some(r) = &self.roles {
            env.push(plain("CODER_OIDC_USER_ROLE_FIELD", &r.field));
            env.push(plain(
                "CODER_OIDC_USER_ROLE_MAPPING",
                &serde_json::to_string(&r.mapping).expect("a map of string lists"),
            ));
            if !r.default.is_empty() {
                env.push(plain("CODER_OIDC_USER_ROLE_DEFAULT", &r.default.join(",")));
            }
        }
        env
    }
}

impl ExternalAuthSettings {
    /// Checks one entry; `all` is every entry (ids must be unique).
    pub fn check(&self, all: &[ExternalAuthSettings]) -> Result<(), SettingError> {
        let t = "external_auth";
        let id_ok = !self.id.is_empty()
            && self.id.len() <= 32
            && self
                .id
                .split('-')
                .all(|p| !p.is_empty() && p.chars().all(|c| c.is_ascii_alphanumeric()));
        if !id_ok {
            return Err((
                t,
                "id",
                format!(
                    "[[external_auth]] id = {:?} must be letters and digits in dash-separated words (at most 32), e.g. \"github\" or \"gitlab-internal\"",
                    self.id
                ),
            ));
        }
        if all.iter().filter(|o| o.id == self.id).count() > 1 {
            return Err((
                t,
                "id",
                format!(
                    "[[external_auth]] id = {:?} is used twice; give each provider its own id",
                    self.id
                ),
            ));
        }
        if !EXTERNAL_AUTH_TYPES.contains(&self.provider.as_str()) {
            let hint = if self.provider == "bitbucket" {
                "; Coder calls Bitbucket's hosted service \"bitbucket-cloud\" and a self-hosted one \"bitbucket-server\"".to_string()
            } else {
                crate::suggest::did_you_mean(&self.provider, EXTERNAL_AUTH_TYPES)
            };
            return Err((
                t,
                "type",
                format!(
                    "[[external_auth]] type = {:?} is not a Git provider kapstan configures{hint}; use {}",
                    self.provider,
                    EXTERNAL_AUTH_TYPES.join(", ")
                ),
            ));
        }
        not_empty(&self.client_id, t, "client_id")?;
        SecretSource::parse(&self.client_secret, t, "client_secret")?
            .check_present(t, "client_secret")?;
        let urls = [
            ("auth_url", &self.auth_url),
            ("token_url", &self.token_url),
            ("validate_url", &self.validate_url),
        ];
        for (key, v) in urls {
            if let Some(v) = v {
                https_url(v, t, key)?;
            }
        }
        let given = urls.iter().filter(|(_, v)| v.is_some()).count();
        if self.provider == "bitbucket-server" && given < 3 {
            return Err((
                t,
                "auth_url",
                format!(
                    "[[external_auth]] {:?}: a bitbucket-server instance is self-hosted; set auth_url, token_url and validate_url (…/rest/oauth2/latest/authorize, …/rest/oauth2/latest/token, …/rest/api/latest/inbox/pull-requests/count)",
                    self.id
                ),
            ));
        }
        if given != 0 && given != 3 {
            return Err((
                t,
                "auth_url",
                format!(
                    "[[external_auth]] {:?}: a self-hosted instance needs auth_url, token_url and validate_url together; set all three or none",
                    self.id
                ),
            ));
        }
        if let Some(r) = &self.regex {
            regex_ok(r, t, "regex")?;
        }
        if let Some(bad) = self.scopes.iter().find(|s| s.is_empty() || s.contains(' ')) {
            return Err((
                t,
                "scopes",
                format!(
                    "[[external_auth]] scopes: {bad:?} is not one scope; give each scope as its own string"
                ),
            ));
        }
        Ok(())
    }

    /// The client secret's source (valid after [`Self::check`]).
    pub fn secret(&self) -> SecretSource {
        SecretSource::parse(&self.client_secret, "external_auth", "client_secret").expect("checked")
    }

    /// The key of this provider's client secret in the external auth Kubernetes Secret.
    pub fn secret_key(&self) -> String {
        format!("{}-client-secret", self.id)
    }

    /// Coder's environment for provider number `n` (numbers must be consecutive from 0).
    pub fn env(&self, n: usize, secret_name: &str) -> Vec<Value> {
        let p = |k: &str| format!("CODER_EXTERNAL_AUTH_{n}_{k}");
        let mut env = vec![
            plain(&p("ID"), &self.id),
            plain(&p("TYPE"), &self.provider),
            plain(&p("CLIENT_ID"), &self.client_id),
            from_secret(&p("CLIENT_SECRET"), secret_name, &self.secret_key()),
        ];
        let optional = [
            ("AUTH_URL", self.auth_url.clone()),
            ("TOKEN_URL", self.token_url.clone()),
            ("VALIDATE_URL", self.validate_url.clone()),
            ("REGEX", self.regex.clone()),
            // Coder splits this variable on spaces.
            (
                "SCOPES",
                (!self.scopes.is_empty()).then(|| self.scopes.join(" ")),
            ),
            ("DISPLAY_NAME", self.display_name.clone()),
            ("DISPLAY_ICON", self.display_icon.clone()),
            ("DEVICE_FLOW", self.device_flow.map(|b| b.to_string())),
            ("NO_REFRESH", self.no_refresh.map(|b| b.to_string())),
        ];
        for (k, v) in optional {
            if let Some(v) = v {
                env.push(plain(&p(k), &v));
            }
        }
        env
    }
}

/// Checks the provisioner daemon count of a profile.
pub fn check_provisioner_daemons(n: u32) -> Result<(), SettingError> {
    if n == 0 {
        return Err((
            "coder",
            "provisioner_daemons",
            "[coder] provisioner_daemons = 0 leaves no built-in provisioner: no template or workspace could build (external provisioners are not configured by kapstan); use at least 1".into(),
        ));
    }
    if n > MAX_PROVISIONER_DAEMONS {
        return Err((
            "coder",
            "provisioner_daemons",
            format!(
                "[coder] provisioner_daemons = {n} is more than {MAX_PROVISIONER_DAEMONS}: each daemon runs Terraform inside the Coder server container; add Coder replicas instead"
            ),
        ));
    }
    Ok(())
}

fn plain(name: &str, value: &str) -> Value {
    json!({"name": name, "value": value})
}

fn from_secret(name: &str, secret: &str, key: &str) -> Value {
    json!({"name": name, "valueFrom": {"secretKeyRef": {"name": secret, "key": key}}})
}

#[cfg(test)]
mod tests {
    use super::*;

    fn oidc() -> OidcSettings {
        toml::from_str(
            r#"
            issuer_url = "https://login.example.com/realms/eng"
            client_id = "coder"
            client_secret = "secret-manager://coder-oidc#2"
            allowed_email_domains = ["example.com"]
            sign_in_text = "Sign in with Example"
            password_login = false
            [groups]
            field = "groups"
            mapping = { "eng-admins" = "admins" }
            [roles]
            field = "roles"
            mapping = { "platform" = ["template-admin"] }
            "#,
        )
        .unwrap()
    }

    #[test]
    fn oidc_renders_coders_own_option_names() {
        let o = oidc();
        o.check().unwrap();
        let env = o.env("coder-oidc", "client-secret");
        let get = |n: &str| env.iter().find(|e| e["name"] == n).cloned();
        assert_eq!(
            get("CODER_OIDC_ISSUER_URL").unwrap()["value"],
            "https://login.example.com/realms/eng"
        );
        assert_eq!(
            get("CODER_OIDC_CLIENT_SECRET").unwrap()["valueFrom"]["secretKeyRef"]["name"],
            "coder-oidc"
        );
        assert!(
            get("CODER_OIDC_CLIENT_SECRET")
                .unwrap()
                .get("value")
                .is_none()
        );
        assert_eq!(get("CODER_DISABLE_PASSWORD_AUTH").unwrap()["value"], "true");
        assert_eq!(
            get("CODER_OIDC_SCOPES").unwrap()["value"],
            "openid,profile,email"
        );
        assert_eq!(
            get("CODER_OIDC_GROUP_MAPPING").unwrap()["value"],
            r#"{"eng-admins":"admins"}"#
        );
        assert_eq!(
            get("CODER_OIDC_USER_ROLE_MAPPING").unwrap()["value"],
            r#"{"platform":["template-admin"]}"#
        );
    }

    #[test]
    fn bad_oidc_settings_name_the_field() {
        type Change = Box<dyn Fn(&mut OidcSettings)>;
        let cases: Vec<(Change, &str, &str)> = vec![
            (
                Box::new(|o| o.issuer_url = "http://login.example.com".into()),
                "issuer_url",
                "must use https",
            ),
            (
                Box::new(|o| o.issuer_url = "https://x.example.com/?a=b".into()),
                "issuer_url",
                "query or fragment",
            ),
            (
                Box::new(|o| o.client_secret = "hunter2-plain".into()),
                "client_secret",
                "must be a reference",
            ),
            (
                Box::new(|o| o.client_secret = "secret-manager://x#zero".into()),
                "client_secret",
                "revision",
            ),
            (
                Box::new(|o| o.client_secret = "env:KAPSTAN_TEST_UNSET_VARIABLE".into()),
                "client_secret",
                "is not set",
            ),
            (
                Box::new(|o| o.scopes = vec!["profile".into()]),
                "scopes",
                "lacks \"openid\"",
            ),
            (
                Box::new(|o| o.allowed_email_domains = vec!["@example.com".into()]),
                "allowed_email_domains",
                "is not a domain",
            ),
            (
                Box::new(|o| {
                    o.roles
                        .as_mut()
                        .unwrap()
                        .mapping
                        .insert("x".into(), vec!["admin".into()])
                        .map(|_| ())
                        .unwrap_or(())
                }),
                "mapping",
                "is not a Coder role",
            ),
            (
                Box::new(|o| o.groups.as_mut().unwrap().regex_filter = Some("(".into())),
                "regex_filter",
                "is not a regular expression",
            ),
        ];
        for (change, key, problem) in cases {
            let mut o = oidc();
            change(&mut o);
            let (_, k, message) = o.check().unwrap_err();
            assert_eq!(k, key, "{message}");
            assert!(message.contains(problem), "{message}");
            assert!(
                !message.contains("hunter2"),
                "the value is never repeated: {message}"
            );
        }
    }

    #[test]
    fn external_auth_checks_types_urls_and_ids() {
        let entry = |t: &str| ExternalAuthSettings {
            id: "git".into(),
            provider: t.into(),
            client_id: "abc".into(),
            client_secret: "secret-manager://git-oauth".into(),
            auth_url: None,
            token_url: None,
            validate_url: None,
            regex: None,
            scopes: vec![],
            display_name: None,
            display_icon: None,
            device_flow: None,
            no_refresh: None,
        };
        for t in EXTERNAL_AUTH_TYPES
            .iter()
            .filter(|t| **t != "bitbucket-server")
        {
            entry(t).check(&[entry(t)]).unwrap();
        }
        let (_, key, m) = entry("bitbucket").check(&[]).unwrap_err();
        assert_eq!(key, "type");
        assert!(m.contains("bitbucket-cloud"), "{m}");
        let (_, key, m) = entry("bitbucket-server").check(&[]).unwrap_err();
        assert_eq!(key, "auth_url", "{m}");
        let mut half = entry("gitlab");
        half.auth_url = Some("https://gitlab.example.com/oauth/authorize".into());
        assert!(half.check(&[]).unwrap_err().2.contains("all three"));
        let twice = [entry("github"), entry("gitlab")];
        assert!(twice[0].check(&twice).unwrap_err().2.contains("used twice"));
        let env = entry("github").env(0, "coder-external-auth");
        assert_eq!(env[0]["name"], "CODER_EXTERNAL_AUTH_0_ID");
        assert_eq!(
            env[3]["valueFrom"]["secretKeyRef"]["key"],
            "git-client-secret"
        );
    }

    #[test]
    fn provisioner_daemons_are_bounded() {
        assert!(check_provisioner_daemons(0).is_err());
        assert!(check_provisioner_daemons(3).is_ok());
        assert!(check_provisioner_daemons(33).is_err());
    }
}
