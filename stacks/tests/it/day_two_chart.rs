//! The chart values the day-two settings render, checked against the official Coder chart
//! (`../shared/fixtures/coder-chart/coder-2.21.1`) rendered by the real `helm template`: every
//! OIDC, external auth and provisioner option reaches the Coder container's environment as
//! kapstan declared it, client secrets only as `secretKeyRef`s, never as values.

use kapstan_stacks::coder::{Environment, Phase};
use serde_json::{Value, json};

use crate::support::helm::{fixture_chart, template};
use crate::support::{Project, resource};

/// Replaces reference markers (`{"$ref": …}`, `{"$stack_output": …}`, …) by a placeholder,
/// as apply would by their values.
fn resolved(v: &Value) -> Value {
    match v {
        Value::Object(m) if m.len() == 1 && m.keys().all(|k| k.starts_with('$')) => {
            json!("resolved-at-apply")
        }
        Value::Object(m) => {
            Value::Object(m.iter().map(|(k, v)| (k.clone(), resolved(v))).collect())
        }
        Value::Array(a) => Value::Array(a.iter().map(resolved).collect()),
        other => other.clone(),
    }
}

/// Every day-two setting of `environments/dev.toml`: provisioners, OIDC with group sync, and
/// two external auth providers, their client secrets as Secret Manager references.
const DAY_TWO_SETTINGS: &str = r#"
[coder]
provisioner_daemons = 4

[oidc]
issuer_url = "https://login.example.com"
client_id = "coder"
client_secret = "secret-manager://coder-oidc"
allowed_email_domains = ["example.com"]
sign_in_text = "Example SSO"
icon_url = "/icon/key.svg"
password_login = false

[oidc.groups]
field = "groups"
mapping = { "eng" = "engineering" }
regex_filter = "^eng.*$"

[[external_auth]]
id = "github"
type = "github"
client_id = "Iv1.abc"
client_secret = "secret-manager://github-oauth"

[[external_auth]]
id = "bitbucket"
type = "bitbucket-server"
client_id = "bb"
client_secret = "secret-manager://bitbucket-oauth"
auth_url = "https://bitbucket.example.com/rest/oauth2/latest/authorize"
token_url = "https://bitbucket.example.com/rest/oauth2/latest/token"
validate_url = "https://bitbucket.example.com/rest/api/latest/inbox/pull-requests/count"
"#;

/// The Coder container's environment as the official chart renders `declared` values.
fn rendered_env(declared: &Value) -> Vec<Value> {
    let chart = fixture_chart("coder-chart/coder-2.21.1");
    let docs = template("coder", &chart, "coder", declared);
    let deployment = docs
        .iter()
        .find(|d| d["kind"] == "Deployment")
        .expect("a Deployment");
    let container = deployment["spec"]["template"]["spec"]["containers"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "coder")
        .expect("the coder container");
    container["env"].as_array().unwrap().clone()
}

/// Every day-two variable the stack declares renders as declared, client secrets only as
/// `secretKeyRef`s.
fn assert_declared_day_two_env_renders(declared: &Value, rendered: &[Value]) {
    let wanted = declared["coder"]["env"].as_array().unwrap();
    let day_two: Vec<&Value> = wanted
        .iter()
        .filter(|e| {
            let n = e["name"].as_str().unwrap();
            n.starts_with("CODER_OIDC_")
                || n.starts_with("CODER_EXTERNAL_AUTH_")
                || n == "CODER_PROVISIONER_DAEMONS"
                || n == "CODER_DISABLE_PASSWORD_AUTH"
        })
        .collect();
    assert!(day_two.len() >= 20, "{day_two:?}");
    for e in day_two {
        let got = rendered
            .iter()
            .find(|r| r["name"] == e["name"])
            .unwrap_or_else(|| panic!("{} is not in the rendered container env", e["name"]));
        assert_eq!(got, e, "{} renders as declared", e["name"]);
        let name = e["name"].as_str().unwrap();
        if name.ends_with("CLIENT_SECRET") {
            assert!(
                got.get("value").is_none(),
                "{name} must not be a plain value"
            );
            assert!(got["valueFrom"]["secretKeyRef"]["name"].is_string());
        }
    }
}

/// Each option of the file under Coder's own name (codersdk/deployment.go), as the official
/// chart renders it: the value a user wrote, not only whatever the stack declared.
fn assert_each_option_under_coders_name(rendered: &[Value]) {
    let value_of = |name: &str| -> &str {
        rendered
            .iter()
            .find(|r| r["name"] == name)
            .and_then(|r| r["value"].as_str())
            .unwrap_or_else(|| {
                panic!("{name} has no plain value in the rendered env: {rendered:?}")
            })
    };
    for (name, value) in [
        ("CODER_PROVISIONER_DAEMONS", "4"),
        ("CODER_OIDC_ISSUER_URL", "https://login.example.com"),
        ("CODER_OIDC_CLIENT_ID", "coder"),
        ("CODER_OIDC_EMAIL_DOMAIN", "example.com"),
        ("CODER_OIDC_SIGN_IN_TEXT", "Example SSO"),
        ("CODER_OIDC_ICON_URL", "/icon/key.svg"),
        ("CODER_DISABLE_PASSWORD_AUTH", "true"),
        ("CODER_OIDC_GROUP_FIELD", "groups"),
        ("CODER_OIDC_GROUP_REGEX_FILTER", "^eng.*$"),
        ("CODER_EXTERNAL_AUTH_0_ID", "github"),
        ("CODER_EXTERNAL_AUTH_0_TYPE", "github"),
        ("CODER_EXTERNAL_AUTH_0_CLIENT_ID", "Iv1.abc"),
        ("CODER_EXTERNAL_AUTH_1_ID", "bitbucket"),
        ("CODER_EXTERNAL_AUTH_1_TYPE", "bitbucket-server"),
        ("CODER_EXTERNAL_AUTH_1_CLIENT_ID", "bb"),
        (
            "CODER_EXTERNAL_AUTH_1_AUTH_URL",
            "https://bitbucket.example.com/rest/oauth2/latest/authorize",
        ),
        (
            "CODER_EXTERNAL_AUTH_1_TOKEN_URL",
            "https://bitbucket.example.com/rest/oauth2/latest/token",
        ),
        (
            "CODER_EXTERNAL_AUTH_1_VALIDATE_URL",
            "https://bitbucket.example.com/rest/api/latest/inbox/pull-requests/count",
        ),
    ] {
        assert_eq!(value_of(name), value, "{name}");
    }
    let mapping: Value = serde_json::from_str(value_of("CODER_OIDC_GROUP_MAPPING")).unwrap();
    assert_eq!(mapping, json!({"eng": "engineering"}));
    for secret in [
        "CODER_OIDC_CLIENT_SECRET",
        "CODER_EXTERNAL_AUTH_0_CLIENT_SECRET",
        "CODER_EXTERNAL_AUTH_1_CLIENT_SECRET",
    ] {
        let e = rendered
            .iter()
            .find(|r| r["name"] == secret)
            .unwrap_or_else(|| panic!("{secret} is not rendered"));
        assert!(
            e["valueFrom"]["secretKeyRef"]["key"].is_string(),
            "{secret} comes from a Kubernetes Secret: {e}"
        );
    }
}

/// Each name once: Coder reads the environment, a duplicate would shadow a value.
fn assert_each_name_once(rendered: &[Value]) {
    let mut names: Vec<&str> = rendered
        .iter()
        .map(|e| e["name"].as_str().unwrap())
        .collect();
    let before = names.len();
    names.sort();
    names.dedup();
    assert_eq!(names.len(), before, "duplicate env names: {rendered:?}");
}

#[test]
fn the_official_chart_passes_every_day_two_option_to_the_coder_container() {
    let project = Project::with_settings(Environment::Dev, DAY_TWO_SETTINGS);
    let spec = project.build(Environment::Dev, Phase::App, &[("templates", "go-fiber")]);
    let declared = resolved(&resource(&spec, "coder")["values"]);
    let rendered = rendered_env(&declared);
    assert_declared_day_two_env_renders(&declared, &rendered);
    assert_each_option_under_coders_name(&rendered);
    assert_each_name_once(&rendered);
}
