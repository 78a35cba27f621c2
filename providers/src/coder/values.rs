//! Values for the Coder Helm chart (official `https://helm.coder.com/v2`, chart `coder`) and
//! the PostgreSQL connection URL with a percent-encoded password.

use kapstan_engine::Input;
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

/// The official chart repository.
pub const CODER_CHART_REPOSITORY: &str = "https://helm.coder.com/v2";
/// The chart name.
pub const CODER_CHART: &str = "coder";

/// Userinfo characters left as they are (RFC 3986 unreserved).
const USERINFO: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// `postgres://user:password@host:port/db?sslmode=…` with user and password percent-encoded,
/// so a generated password with `@`, `/`, `#`, `:` or `%` stays a valid URL.
pub fn postgres_url(
    user: &str,
    password: &str,
    host: &str,
    port: u16,
    database: &str,
    sslmode: &str,
) -> String {
    format!(
        "postgres://{}:{}@{host}:{port}/{}?sslmode={sslmode}",
        utf8_percent_encode(user, USERINFO),
        utf8_percent_encode(password, USERINFO),
        utf8_percent_encode(database, USERINFO),
    )
}

/// A key of a Secret.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct SecretKeyRef {
    /// Secret name.
    pub name: Input<String>,
    /// Key in the Secret.
    pub key: String,
}

impl SecretKeyRef {
    /// The key `key` of the Secret `name`.
    pub fn new(name: impl Into<Input<String>>, key: &str) -> Self {
        Self {
            name: name.into(),
            key: key.into(),
        }
    }
}

/// GitHub OAuth login for Coder.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct GithubOAuth {
    /// OAuth app client id.
    pub client_id: String,
    /// Secret key holding the client secret.
    pub client_secret: SecretKeyRef,
    /// Let new users sign up with GitHub.
    pub allow_signups: bool,
    /// Who may log in.
    pub users: GithubUsers,
}

/// The GitHub users who may log in to Coder: everyone, or members of organizations or teams
/// (Coder refuses both at once, so one value cannot say both).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum GithubUsers {
    /// Every GitHub user (`CODER_OAUTH2_GITHUB_ALLOW_EVERYONE`).
    Everyone,
    /// Members of `orgs` or of `teams` (`org/team-slug`).
    MembersOf {
        /// Organizations whose members may log in.
        orgs: Vec<String>,
        /// Teams whose members may log in.
        teams: Vec<String>,
    },
}

impl Default for GithubUsers {
    /// Nobody is admitted until organizations or teams are named.
    fn default() -> Self {
        GithubUsers::MembersOf {
            orgs: vec![],
            teams: vec![],
        }
    }
}

impl GithubUsers {
    /// Members of `orgs` or `teams`; everyone when both are empty (no restriction named).
    pub fn restricted_to(orgs: Vec<String>, teams: Vec<String>) -> Self {
        if orgs.is_empty() && teams.is_empty() {
            GithubUsers::Everyone
        } else {
            GithubUsers::MembersOf { orgs, teams }
        }
    }
}

/// Prefix of the Scaleway cloud controller's Service annotations.
const SCW_LB: &str = "service.beta.kubernetes.io/scw-loadbalancer-";

/// Timeouts and health checks kapstan puts on the Coder Service (Go durations, as the cloud
/// controller parses them). Workspace agents, `coder ssh`, port forwards and DERP relays hold
/// one websocket open for hours and may be idle far longer than the controller's defaults
/// (client 10m, server 10s, tunnel 10m); build logs and `/watch` streams can be silent for
/// more than 10 s. The connect timeout stays short so a node that does not answer is skipped.
pub const CODER_SERVICE_LB_ANNOTATIONS: &[(&str, &str)] = &[
    ("timeout-tunnel", "1h"),
    ("timeout-client", "1h"),
    ("timeout-server", "1h"),
    ("timeout-connect", "10s"),
    // Coder answers `GET /healthz` with 200 once it serves requests; over TLS when the chart
    // terminates it on the Service's port 443.
    ("health-check-type", "80:http;443:https"),
    ("health-check-http-uri", "/healthz"),
    ("health-check-http-method", "GET"),
    ("health-check-http-code", "200"),
    ("health-check-delay", "10s"),
    ("health-check-timeout", "5s"),
    ("health-check-max-retries", "3"),
];

/// LB-wide settings of the load balancer the infra phase owns. The cloud controller ignores
/// them on an externally managed load balancer; kapstan still writes them on the Service so
/// that nothing reverts the infra phase's values should the Service ever be managed normally.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct LbServiceSettings {
    /// `ssl_compatibility_level_intermediate`, `_modern` or `_old`: the infra phase's value.
    pub ssl_compatibility_level: String,
    /// Commercial type, e.g. `LB-S`: the infra phase's value.
    pub lb_type: String,
}

/// The annotations of the Coder Service for load balancer `id` (`<zone>/<lb-id>`).
pub fn service_annotations(id: &Input<String>, settings: Option<&LbServiceSettings>) -> Value {
    let mut a = serde_json::Map::new();
    a.insert(format!("{SCW_LB}id"), json!(id));
    a.insert(format!("{SCW_LB}externally-managed"), json!("true"));
    for (k, v) in CODER_SERVICE_LB_ANNOTATIONS {
        a.insert(format!("{SCW_LB}{k}"), json!(v));
    }
    if let Some(s) = settings {
        a.insert(
            format!("{SCW_LB}ssl-compatibility-level"),
            json!(s.ssl_compatibility_level),
        );
        // The controller compares the type in lower case.
        a.insert(
            format!("{SCW_LB}type"),
            json!(s.lb_type.to_ascii_lowercase()),
        );
    }
    Value::Object(a)
}

/// What kapstan sets in the Coder chart's values.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct CoderValues {
    /// `CODER_ACCESS_URL`: the external URL (e.g. `http://<lb ip>` or `https://coder.example.com`).
    pub access_url: Input<String>,
    /// `CODER_WILDCARD_ACCESS_URL`: a bare pattern such as `*.coder.example.com` (no scheme).
    pub wildcard_access_url: Option<String>,
    /// Secret key holding the PostgreSQL URL (`CODER_PG_CONNECTION_URL`).
    pub database_url: SecretKeyRef,
    /// Optional GitHub OAuth.
    pub github: Option<GithubOAuth>,
    /// Scaleway load balancer the Service uses, `<zone>/<id>` (the cloud controller rejects a
    /// bare id), owned by the infra phase: the Service marks it externally managed.
    pub load_balancer_id: Option<Input<String>>,
    /// The LB-wide settings the infra phase gives that load balancer, repeated on the Service so
    /// the cloud controller and the infra phase agree even where the controller reads them.
    pub load_balancer_settings: Option<LbServiceSettings>,
    /// Image tag (the chart's appVersion when absent).
    pub image_tag: Option<String>,
    /// Extra environment variables.
    pub extra_env: Vec<(String, String)>,
    /// Container resources (requests/limits).
    pub resources: Option<Value>,
}

impl CoderValues {
    /// Problems with the values, for users (checked before any API call).
    pub fn problems(&self) -> Vec<String> {
        let mut out = vec![];
        if let Some(w) = &self.wildcard_access_url
            && (w.contains("://") || !w.starts_with('*'))
        {
            out.push(format!(
                "wildcard_access_url {w:?} must be a bare pattern like *.coder.example.com (no scheme)"
            ));
        }
        if let Some(Input::Value(id)) = &self.load_balancer_id
            && id.split('/').filter(|p| !p.is_empty()).count() != 2
        {
            out.push(format!(
                "load_balancer_id {id:?} must be <zone>/<lb-id> (e.g. fr-par-1/{id}): the Scaleway cloud controller rejects a bare id"
            ));
        }
        out
    }

    /// The chart values (a JSON document; references stay references until apply).
    pub fn to_values(&self) -> Value {
        let mut env = vec![
            json!({"name": "CODER_PG_CONNECTION_URL", "valueFrom": {"secretKeyRef": {"name": self.database_url.name, "key": self.database_url.key}}}),
            json!({"name": "CODER_ACCESS_URL", "value": self.access_url}),
        ];
        if let Some(w) = &self.wildcard_access_url {
            env.push(json!({"name": "CODER_WILDCARD_ACCESS_URL", "value": w}));
        }
        if let Some(g) = &self.github {
            env.push(json!({"name": "CODER_OAUTH2_GITHUB_CLIENT_ID", "value": g.client_id}));
            env.push(json!({"name": "CODER_OAUTH2_GITHUB_CLIENT_SECRET", "valueFrom": {"secretKeyRef": {"name": g.client_secret.name, "key": g.client_secret.key}}}));
            env.push(json!({"name": "CODER_OAUTH2_GITHUB_ALLOW_SIGNUPS", "value": g.allow_signups.to_string()}));
            let (everyone, orgs, teams) = match &g.users {
                GithubUsers::Everyone => (true, &[][..], &[][..]),
                GithubUsers::MembersOf { orgs, teams } => (false, &orgs[..], &teams[..]),
            };
            env.push(json!({"name": "CODER_OAUTH2_GITHUB_ALLOW_EVERYONE", "value": everyone.to_string()}));
            if !orgs.is_empty() {
                env.push(
                    json!({"name": "CODER_OAUTH2_GITHUB_ALLOWED_ORGS", "value": orgs.join(",")}),
                );
            }
            if !teams.is_empty() {
                env.push(
                    json!({"name": "CODER_OAUTH2_GITHUB_ALLOWED_TEAMS", "value": teams.join(",")}),
                );
            }
            env.push(
                json!({"name": "CODER_OAUTH2_GITHUB_DEFAULT_PROVIDER_ENABLE", "value": "false"}),
            );
        }
        for (k, v) in &self.extra_env {
            env.push(json!({"name": k, "value": v}));
        }
        let mut service = json!({"enable": true, "type": "LoadBalancer", "sessionAffinity": "None", "externalTrafficPolicy": "Cluster"});
        if let Some(lb) = &self.load_balancer_id {
            service["annotations"] = service_annotations(lb, self.load_balancer_settings.as_ref());
        }
        let mut coder = json!({
            "env": env,
            "service": service,
            "securityContext": {
                "runAsNonRoot": true, "runAsUser": 1000, "runAsGroup": 1000,
                "allowPrivilegeEscalation": false, "seccompProfile": {"type": "RuntimeDefault"},
                "capabilities": {"drop": ["ALL"]},
            },
        });
        if let Some(tag) = &self.image_tag {
            coder["image"] = json!({"tag": tag});
        }
        if let Some(r) = &self.resources {
            coder["resources"] = r.clone();
        }
        json!({ "coder": coder })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_are_percent_encoded() {
        let url = postgres_url(
            "coder",
            "p@ss/w#rd:%",
            "10.0.0.5",
            5432,
            "coder_dev_db",
            "require",
        );
        assert_eq!(
            url,
            "postgres://coder:p%40ss%2Fw%23rd%3A%25@10.0.0.5:5432/coder_dev_db?sslmode=require"
        );
    }

    #[test]
    fn values_carry_the_env_and_the_lb_annotation() {
        let v = CoderValues {
            access_url: "http://51.15.1.2".into(),
            wildcard_access_url: Some("*.coder.example.com".into()),
            database_url: SecretKeyRef::new("coder-db-url", "url"),
            load_balancer_id: Some(Input::Value("fr-par-1/abc".into())),
            load_balancer_settings: Some(LbServiceSettings {
                ssl_compatibility_level: "ssl_compatibility_level_modern".into(),
                lb_type: "LB-S".into(),
            }),
            ..Default::default()
        };
        assert!(v.problems().is_empty());
        let values = v.to_values();
        assert_eq!(
            values["coder"]["env"][0]["valueFrom"]["secretKeyRef"]["name"],
            "coder-db-url"
        );
        assert_eq!(
            values["coder"]["service"]["annotations"]["service.beta.kubernetes.io/scw-loadbalancer-id"],
            "fr-par-1/abc"
        );
        let a = &values["coder"]["service"]["annotations"];
        let get = |k: &str| a[format!("service.beta.kubernetes.io/scw-loadbalancer-{k}")].clone();
        assert_eq!(get("externally-managed"), "true");
        assert_eq!(
            get("ssl-compatibility-level"),
            "ssl_compatibility_level_modern"
        );
        assert_eq!(get("type"), "lb-s");
        assert_eq!(get("timeout-tunnel"), "1h");
        assert_eq!(get("timeout-client"), "1h");
        assert_eq!(get("health-check-type"), "80:http;443:https");
        assert_eq!(get("health-check-http-uri"), "/healthz");
        let bad = CoderValues {
            wildcard_access_url: Some("https://*.x.com".into()),
            ..Default::default()
        };
        assert_eq!(bad.problems().len(), 1);
    }

    #[test]
    fn github_users_are_everyone_or_the_members_named() {
        let env = |users: GithubUsers| {
            let v = CoderValues {
                github: Some(GithubOAuth {
                    users,
                    ..Default::default()
                }),
                ..Default::default()
            };
            let values = v.to_values();
            let env = values["coder"]["env"].as_array().cloned().unwrap();
            env.iter()
                .filter_map(|e| {
                    Some((
                        e["name"].as_str()?.to_string(),
                        e["value"].as_str()?.to_string(),
                    ))
                })
                .filter(|(k, _)| k.starts_with("CODER_OAUTH2_GITHUB_ALLOW"))
                .collect::<Vec<_>>()
        };
        let pair = |k: &str, v: &str| (k.to_string(), v.to_string());
        assert_eq!(
            env(GithubUsers::restricted_to(vec![], vec![])),
            vec![
                pair("CODER_OAUTH2_GITHUB_ALLOW_SIGNUPS", "false"),
                pair("CODER_OAUTH2_GITHUB_ALLOW_EVERYONE", "true"),
            ]
        );
        assert_eq!(
            env(GithubUsers::restricted_to(
                vec!["acme".into()],
                vec!["acme/ops".into()]
            )),
            vec![
                pair("CODER_OAUTH2_GITHUB_ALLOW_SIGNUPS", "false"),
                pair("CODER_OAUTH2_GITHUB_ALLOW_EVERYONE", "false"),
                pair("CODER_OAUTH2_GITHUB_ALLOWED_ORGS", "acme"),
                pair("CODER_OAUTH2_GITHUB_ALLOWED_TEAMS", "acme/ops"),
            ]
        );
    }

    #[test]
    fn a_bare_load_balancer_id_is_refused() {
        let v = CoderValues {
            load_balancer_id: Some(Input::Value("abc".into())),
            ..Default::default()
        };
        let p = v.problems();
        assert_eq!(p.len(), 1, "{p:?}");
        assert!(p[0].contains("<zone>/<lb-id>"), "{p:?}");
    }
}
