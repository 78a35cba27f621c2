//! Day-two settings of `environments/<env>.toml` as the app phase declares them: OIDC and
//! external auth become Coder's own options with their secrets in Kubernetes Secrets filled
//! from Secret Manager reads, the provisioner daemons and the admin password reference; bad
//! values are refused at load with the line, the field and the fix, never echoing a secret.

use kapstan_engine::StackSpec;
use kapstan_stacks::coder::{Environment, Phase, Profile};
use serde_json::{Value, json};

use crate::support::{Project, resource};

const FULL: &str = r#"
[coder]
provisioner_daemons = 6
admin_password = "secret-manager://coder-admin#1"

[oidc]
issuer_url = "https://login.example.com/realms/eng"
client_id = "coder"
client_secret = "secret-manager://coder-oidc#2"
allowed_email_domains = ["example.com", "example.org"]
sign_in_text = "Sign in with Example SSO"
password_login = false

[oidc.groups]
field = "groups"
mapping = { "eng-admins" = "admins" }
auto_create = true

[oidc.roles]
field = "roles"
mapping = { "platform-team" = ["template-admin"] }

[[external_auth]]
id = "github"
type = "github"
client_id = "Iv1.abc"
client_secret = "secret-manager://github-oauth"

[[external_auth]]
id = "gitlab-internal"
type = "gitlab"
client_id = "gl-client"
client_secret = "secret-manager://gitlab/oauth#3"
auth_url = "https://gitlab.example.com/oauth/authorize"
token_url = "https://gitlab.example.com/oauth/token"
validate_url = "https://gitlab.example.com/oauth/token/info"
regex = '^https://gitlab\.example\.com/.*$'
"#;

fn app(project: &Project) -> StackSpec {
    project.build(Environment::Dev, Phase::App, &[("templates", "go-fiber")])
}

fn env_of(spec: &StackSpec) -> Vec<Value> {
    resource(spec, "coder")["values"]["coder"]["env"]
        .as_array()
        .unwrap()
        .clone()
}

fn env_value(env: &[Value], name: &str) -> Value {
    env.iter()
        .find(|e| e["name"] == name)
        .unwrap_or_else(|| panic!("no {name} in {env:?}"))
        .clone()
}

fn data_ref(address: &str) -> Value {
    json!({"$ref": {"resource": address, "attr": "data", "sensitive": true}})
}

#[test]
fn the_app_phase_renders_sign_on_external_auth_provisioners_and_secret_reads() {
    let project = Project::with_settings(Environment::Dev, FULL);
    let spec = app(&project);
    let kinds: Vec<(&str, &str)> = spec
        .resources
        .iter()
        .filter(|r| r.kind == "scaleway_secret_version")
        .map(|r| (r.address.as_str(), r.kind.as_str()))
        .collect();
    assert_eq!(
        kinds.iter().map(|(a, _)| *a).collect::<Vec<_>>(),
        vec![
            "secret-coder-oidc-2",
            "secret-github-oauth-latest_enabled",
            "secret-gitlab-oauth-3",
            "secret-coder-admin-1"
        ]
    );
    assert_eq!(
        resource(&spec, "secret-gitlab-oauth-3"),
        &json!({"secret_name": "oauth", "path": "/gitlab", "revision": "3"})
    );

    let oidc = resource(&spec, "oidc-client-secret");
    assert_eq!(oidc["name"], "coder-oidc");
    let sealed = serde_json::to_string(&oidc["data"]["client-secret"]).unwrap();
    assert!(sealed.contains("secret-coder-oidc-2"), "{sealed}");
    let external = resource(&spec, "external-auth-secrets");
    assert!(
        serde_json::to_string(&external["data"]["gitlab-internal-client-secret"])
            .unwrap()
            .contains("secret-gitlab-oauth-3")
    );

    let env = env_of(&spec);
    for (name, value) in [
        (
            "CODER_OIDC_ISSUER_URL",
            "https://login.example.com/realms/eng",
        ),
        ("CODER_OIDC_CLIENT_ID", "coder"),
        ("CODER_OIDC_EMAIL_DOMAIN", "example.com,example.org"),
        ("CODER_OIDC_SIGN_IN_TEXT", "Sign in with Example SSO"),
        ("CODER_DISABLE_PASSWORD_AUTH", "true"),
        ("CODER_OIDC_GROUP_FIELD", "groups"),
        ("CODER_OIDC_GROUP_AUTO_CREATE", "true"),
        ("CODER_OIDC_USER_ROLE_FIELD", "roles"),
        ("CODER_PROVISIONER_DAEMONS", "6"),
        ("CODER_EXTERNAL_AUTH_0_ID", "github"),
        ("CODER_EXTERNAL_AUTH_0_TYPE", "github"),
        ("CODER_EXTERNAL_AUTH_1_ID", "gitlab-internal"),
        ("CODER_EXTERNAL_AUTH_1_TYPE", "gitlab"),
        (
            "CODER_EXTERNAL_AUTH_1_TOKEN_URL",
            "https://gitlab.example.com/oauth/token",
        ),
    ] {
        assert_eq!(env_value(&env, name)["value"], value, "{name}");
    }
    for (name, secret, key) in [
        ("CODER_OIDC_CLIENT_SECRET", "coder-oidc", "client-secret"),
        (
            "CODER_EXTERNAL_AUTH_0_CLIENT_SECRET",
            "coder-external-auth",
            "github-client-secret",
        ),
        (
            "CODER_EXTERNAL_AUTH_1_CLIENT_SECRET",
            "coder-external-auth",
            "gitlab-internal-client-secret",
        ),
    ] {
        let e = env_value(&env, name);
        assert!(e.get("value").is_none(), "{name} is never a plain value");
        assert_eq!(
            e["valueFrom"]["secretKeyRef"],
            json!({"name": secret, "key": key})
        );
    }

    // The image is pinned to the release's tag (the chart's default is v<appVersion>).
    assert_eq!(
        resource(&spec, "coder")["values"]["coder"]["image"]["tag"],
        "v2.21.1"
    );
    assert_eq!(resource(&spec, "coder")["version"], "2.21.1");

    // The user's admin password replaces the generated one.
    assert!(spec.resources.iter().all(|r| r.address != "admin-password"));
    assert_eq!(
        resource(&spec, "admin")["password"],
        data_ref("secret-coder-admin-1")
    );
    let deps = &spec
        .resources
        .iter()
        .find(|r| r.address == "coder")
        .unwrap()
        .depends_on;
    assert!(deps.iter().any(|d| d == "oidc-client-secret"), "{deps:?}");
    assert!(
        deps.iter().any(|d| d == "external-auth-secrets"),
        "{deps:?}"
    );
}

#[test]
fn provisioner_daemons_default_per_profile() {
    let project = Project::new();
    let daemons = |env| {
        Profile::load(env, project.path())
            .unwrap()
            .provisioner_daemons
    };
    assert_eq!(daemons(Environment::Dev), 3);
    assert_eq!(daemons(Environment::Staging), 3);
    assert_eq!(daemons(Environment::Prod), 5);
}

#[test]
fn bad_day_two_settings_are_refused_at_load_with_line_field_and_fix() {
    let cases = [
        (
            "[oidc]\nissuer_url = \"https://id.example.com\"\nclient_id = \"c\"\nclient_secret = \"s3cr3t-Plain-Value\"\n",
            "line 4: [oidc] client_secret must be a reference",
        ),
        (
            "[oidc]\nissuer_url = \"http://id.example.com\"\nclient_id = \"c\"\nclient_secret = \"secret-manager://x\"\n",
            "line 2: [oidc] issuer_url = \"http://id.example.com\" must use https",
        ),
        (
            "[oidc]\nissuer_url = \"https://id.example.com\"\nclient_id = \"c\"\nclient_secret = \"secret-manager://x#latest-ish\"\n",
            "revision \"latest-ish\"",
        ),
        (
            "[oidc]\nissuer_url = \"https://id.example.com\"\nclient_id = \"c\"\nclient_secret = \"secret-manager://x\"\nbutton = \"x\"\n",
            "unknown field `button`",
        ),
        (
            "[oidc]\nissuer_url = \"https://id.example.com\"\nclient_id = \"c\"\nclient_secret = \"env:KAPSTAN_DAY_TWO_TEST_UNSET\"\n",
            "the environment variable KAPSTAN_DAY_TWO_TEST_UNSET is not set",
        ),
        (
            "[[external_auth]]\nid = \"bb\"\ntype = \"bitbucket\"\nclient_id = \"c\"\nclient_secret = \"secret-manager://bb\"\n",
            "line 3: [[external_auth]] type = \"bitbucket\" is not a Git provider",
        ),
        (
            "[coder]\nprovisioner_daemons = 0\n",
            "line 2: [coder] provisioner_daemons = 0 leaves no built-in provisioner",
        ),
        (
            "[coder]\nadmin_password = \"Correct-Horse-Battery-9\"\n",
            "line 2: [coder] admin_password must be a reference",
        ),
    ];
    for (text, expected) in cases {
        let message = Project::with_settings(Environment::Dev, text).load_error(Environment::Dev);
        assert!(message.contains(expected), "{text}\n→ {message}");
        for secret in ["s3cr3t-Plain-Value", "Correct-Horse-Battery-9"] {
            assert!(!message.contains(secret), "secret echoed: {message}");
        }
    }
}

#[test]
fn the_shipped_go_template_uses_the_github_external_auth_and_passes_the_lint() {
    let dir = kapstan_stacks::templates::shipped_root().join("backend/go-fiber");
    let findings = kapstan_stacks::templates::lint(&dir);
    assert!(
        findings.is_empty(),
        "{}",
        findings
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join("\n")
    );
    let main: hcl::Body = hcl::from_str(&std::fs::read_to_string(dir.join("main.tf")).unwrap())
        .expect("main.tf parses");
    let auth = main
        .blocks()
        .find(|b| {
            b.identifier() == "data"
                && b.labels().first().map(|l| l.as_str()) == Some("coder_external_auth")
        })
        .expect("a data \"coder_external_auth\" block");
    let id = auth
        .body()
        .attributes()
        .find(|a| a.key() == "id")
        .expect("an id");
    assert_eq!(id.expr().to_string(), "\"github\"");
}
