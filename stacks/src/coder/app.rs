//! Phase 2, `coder-<env>-app`: namespaces under the environment's Pod Security level,
//! quotas, network policies that admit the load balancer and DNS, the database Secret, the
//! Coder release on the infra phase's load balancer, the first admin, the templates and the
//! monitoring of `[monitoring]` (see [`super::monitoring`]).

use std::path::Path;

use kapstan_engine::{Input, Stack};
use kapstan_providers::coder::{
    CoderFirstUser, CoderTemplate, CoderValues, GithubOAuth, LbServiceSettings, SecretKeyRef,
};
use kapstan_providers::helm::HelmRelease;
use kapstan_providers::kubernetes::{
    KubernetesManifest, KubernetesNamespace, KubernetesSecret, PodSecurity,
};
use kapstan_providers::local::RandomPassword;
use serde_json::{Value, json};

use super::profile::{Phase, PodSecurityLevel, Profile};
use super::sign_in::SecretSource;

/// Namespaces the app phase creates.
pub const NAMESPACES: [&str; 2] = ["coder", "monitoring"];

/// The Coder server's container port in the chart.
pub const CODER_PORT: u16 = 8080;

/// Options of the app phase beyond the profile.
#[derive(Debug, Clone, Default)]
pub struct AppOptions {
    /// Install Coder (false: namespaces and policies only).
    pub coder: bool,
    /// Chart repository (default the official one).
    pub chart_repository: Option<String>,
    /// Access URL override (the sandbox's loopback endpoint of the load balancer).
    pub access_url: Option<String>,
    /// Templates to push, by name (empty: the profile's selection, or all).
    pub templates: Vec<String>,
    /// Where the shipped templates are.
    pub templates_root: Option<std::path::PathBuf>,
}

fn labels(p: &Profile) -> serde_json::Map<String, Value> {
    let mut m = serde_json::Map::new();
    m.insert("app.kubernetes.io/managed-by".into(), json!("kapstan"));
    m.insert("kapstan.dev/environment".into(), json!(p.env.name()));
    m
}

fn quota(p: &Profile, ns: &str) -> Value {
    let q = &p.quota;
    json!({
        "apiVersion": "v1", "kind": "ResourceQuota",
        "metadata": {"name": format!("{ns}-quota"), "namespace": ns, "labels": labels(p)},
        "spec": {"hard": {
            "requests.cpu": q.requests_cpu, "requests.memory": q.requests_memory,
            "limits.cpu": q.limits_cpu, "limits.memory": q.limits_memory,
            "pods": q.pods.to_string(), "services": q.services.to_string(),
            "persistentvolumeclaims": q.pvcs.to_string(),
        }}
    })
}

fn policy(p: &Profile, ns: &str, name: &str, spec: Value) -> Value {
    json!({
        "apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
        "metadata": {"name": name, "namespace": ns, "labels": labels(p)},
        "spec": spec,
    })
}

/// The network policies of one namespace: deny everything, then admit DNS (selected by the
/// namespace's well-known name label, which every namespace has) and, in `coder`, the load
/// balancer's traffic to the server and the workspaces' traffic.
pub fn network_policies(p: &Profile, ns: &str) -> Vec<(String, Value)> {
    let mut out = vec![
        (
            "deny-all".to_string(),
            policy(
                p,
                ns,
                "deny-all",
                json!({"podSelector": {}, "policyTypes": ["Ingress", "Egress"]}),
            ),
        ),
        (
            "allow-dns".to_string(),
            policy(
                p,
                ns,
                "allow-dns",
                json!({
                    "podSelector": {},
                    "policyTypes": ["Egress"],
                    "egress": [{
                        "to": [{
                            "namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "kube-system"}},
                            "podSelector": {"matchLabels": {"k8s-app": "kube-dns"}},
                        }],
                        "ports": [{"protocol": "UDP", "port": 53}, {"protocol": "TCP", "port": 53}],
                    }],
                }),
            ),
        ),
    ];
    if ns == "coder" {
        out.push((
            "allow-coder-server".into(),
            policy(p, ns, "allow-coder-server", json!({
                "podSelector": {"matchLabels": {"app.kubernetes.io/name": "coder"}},
                "policyTypes": ["Ingress", "Egress"],
                // The load balancer reaches the pods from outside the cluster (through the
                // nodes), so ingress is admitted from any address on the server port.
                "ingress": [{"from": [{"ipBlock": {"cidr": "0.0.0.0/0"}}], "ports": [{"protocol": "TCP", "port": CODER_PORT}]}],
                // The server talks to PostgreSQL on the private network, OAuth providers and
                // workspace agents.
                "egress": [{}],
            })),
        ));
        out.push((
            "allow-workspaces".into(),
            policy(p, ns, "allow-workspaces", json!({
                "podSelector": {"matchLabels": {"app.kubernetes.io/part-of": "coder-workspace"}},
                "policyTypes": ["Ingress", "Egress"],
                "ingress": [{"from": [{"podSelector": {"matchLabels": {"app.kubernetes.io/name": "coder"}}}]}],
                "egress": [{}],
            })),
        ));
    }
    out
}

/// Name of Coder's `kubernetes.io/tls` Secret in a domain deployment.
pub const TLS_SECRET: &str = "coder-tls";
/// Pod annotation carrying the served certificate's fingerprint.
pub const TLS_ROLL_ANNOTATION: &str = "kapstan.dev/tls-certificate-sha256";

/// The Kubernetes Secret holding the OIDC client secret (`CODER_OIDC_CLIENT_SECRET`).
pub const OIDC_SECRET: &str = "coder-oidc";

/// The Kubernetes Secret holding the external auth client secrets.
pub const EXTERNAL_AUTH_SECRET: &str = "coder-external-auth";

/// The value of a configured secret: a `scaleway_secret_version` read at plan and apply time
/// (one per distinct reference, at `secret-<name>-<revision>`), or an environment variable.
fn secret_value(
    s: &mut Stack,
    read: &mut std::collections::BTreeMap<String, Input<String>>,
    source: &SecretSource,
) -> Input<String> {
    match source {
        SecretSource::SecretManager(reference) => {
            let slug: String = format!("{}-{}", reference.name, reference.revision)
                .chars()
                .map(|c| {
                    if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                        c
                    } else {
                        '-'
                    }
                })
                .collect();
            let address = format!("secret-{}", slug.trim_matches('-'));
            read.entry(address.clone())
                .or_insert_with(|| s.add(&address, reference.declaration()).data().into())
                .clone()
        }
        SecretSource::Env(var) => Input::Sensitive(std::env::var(var).unwrap_or_default()),
    }
}

/// Builds phase 2 of the environment.
pub fn app_stack(p: &Profile, options: &AppOptions) -> Stack {
    let env = p.env.name();
    let mut s = Stack::new(&p.stack_name(Phase::App));
    let infra = s.stack_ref(&p.stack_name(Phase::Infra));
    let kubeconfig: Input<String> = infra.output("kubeconfig");
    let mut namespaces = vec![];
    for ns in NAMESPACES {
        let mut ns_labels = std::collections::BTreeMap::new();
        ns_labels.insert(
            "app.kubernetes.io/managed-by".to_string(),
            "kapstan".to_string(),
        );
        let handle = s.add(
            &format!("namespace-{ns}"),
            KubernetesNamespace {
                kubeconfig: kubeconfig.clone(),
                name: ns.into(),
                labels: ns_labels,
                pod_security: match p.pod_security {
                    PodSecurityLevel::None => None,
                    PodSecurityLevel::Baseline => Some(PodSecurity::all("baseline")),
                    PodSecurityLevel::Restricted => Some(PodSecurity::all("restricted")),
                },
                ..Default::default()
            },
        );
        let q = s.add(
            &format!("quota-{ns}"),
            KubernetesManifest {
                kubeconfig: kubeconfig.clone(),
                manifest: quota(p, ns),
                ..Default::default()
            },
        );
        q.depends_on(&handle);
        if p.network_policies {
            let mut policies = network_policies(p, ns);
            // Monitoring comes with Coder (see below), and so do its policies.
            if options.coder {
                policies.extend(super::monitoring::network_policies(p, ns));
            }
            for (name, manifest) in policies {
                let np = s.add(
                    &format!("netpol-{ns}-{name}"),
                    KubernetesManifest {
                        kubeconfig: kubeconfig.clone(),
                        manifest,
                        ..Default::default()
                    },
                );
                np.depends_on(&handle);
            }
        }
        namespaces.push(handle);
    }
    let coder_ns = &namespaces[0];

    let access_url: Input<String> = match &options.access_url {
        Some(u) => u.clone().into(),
        None => infra.output("access_url"),
    };
    s.output("access_url", access_url.clone());
    s.output(
        "wildcard_access_url",
        infra.output::<String>("wildcard_access_url"),
    );
    s.output("namespace", "coder");
    if !options.coder {
        return s;
    }
    // Monitoring watches Coder: without Coder there is nothing to collect.
    super::monitoring::add_monitoring(
        &mut s,
        p,
        &kubeconfig,
        &namespaces[1],
        options.chart_repository.as_deref(),
    );

    let db_url = Input::format(
        "postgres://{}:{}@{}:{}/{}?sslmode=require",
        [
            infra.output::<String>("database_user"),
            infra
                .output::<String>("database_password")
                .percent_encoded(),
            infra.output::<String>("database_host"),
            infra.output::<String>("database_port"),
            infra.output::<String>("database_name"),
        ],
    );
    let mut data = std::collections::BTreeMap::new();
    data.insert("url".to_string(), db_url);
    let secret = s.add(
        "database-url",
        KubernetesSecret {
            kubeconfig: kubeconfig.clone(),
            namespace: coder_ns.name().into(),
            name: "coder-db-url".into(),
            data,
            ..Default::default()
        },
    );
    let github = p.github.as_ref().map(|g| {
        let mut gh = std::collections::BTreeMap::new();
        gh.insert(
            "client-secret".to_string(),
            Input::Sensitive(std::env::var(&g.client_secret_env).unwrap_or_default()),
        );
        (g, gh)
    });
    let github_secret = github.as_ref().map(|(_, data)| {
        s.add(
            "github-oauth",
            KubernetesSecret {
                kubeconfig: kubeconfig.clone(),
                namespace: coder_ns.name().into(),
                name: "coder-github-oauth".into(),
                data: data.clone(),
                ..Default::default()
            },
        )
    });
    // Coder terminates TLS itself with the infra phase's certificate (chart
    // `coder.tls.secretNames`); the Service gains 443 → 8443 beside 80.
    let tls_secret = p.serves_tls().then(|| {
        let mut data = std::collections::BTreeMap::new();
        data.insert(
            "tls.crt".to_string(),
            infra.output::<String>("tls_certificate"),
        );
        data.insert(
            "tls.key".to_string(),
            infra.output::<String>("tls_private_key"),
        );
        s.add(
            "tls-secret",
            KubernetesSecret {
                kubeconfig: kubeconfig.clone(),
                namespace: coder_ns.name().into(),
                name: TLS_SECRET.into(),
                kind: Some("kubernetes.io/tls".into()),
                data,
                ..Default::default()
            },
        )
    });
    let mut read = std::collections::BTreeMap::new();
    let mut auth_env: Vec<Value> = vec![];
    let mut auth_secrets = vec![];
    if let Some(o) = &p.oidc {
        let mut data = std::collections::BTreeMap::new();
        data.insert(
            "client-secret".to_string(),
            secret_value(&mut s, &mut read, &o.secret()),
        );
        auth_secrets.push(s.add(
            "oidc-client-secret",
            KubernetesSecret {
                kubeconfig: kubeconfig.clone(),
                namespace: coder_ns.name().into(),
                name: OIDC_SECRET.into(),
                data,
                ..Default::default()
            },
        ));
        auth_env.extend(o.env(OIDC_SECRET, "client-secret"));
    }
    if !p.external_auth.is_empty() {
        let mut data = std::collections::BTreeMap::new();
        for (n, e) in p.external_auth.iter().enumerate() {
            data.insert(e.secret_key(), secret_value(&mut s, &mut read, &e.secret()));
            auth_env.extend(e.env(n, EXTERNAL_AUTH_SECRET));
        }
        auth_secrets.push(s.add(
            "external-auth-secrets",
            KubernetesSecret {
                kubeconfig: kubeconfig.clone(),
                namespace: coder_ns.name().into(),
                name: EXTERNAL_AUTH_SECRET.into(),
                data,
                ..Default::default()
            },
        ));
    }
    let (rc, rm, lc, lm) = &p.coder_resources;
    let values = CoderValues {
        access_url: access_url.clone(),
        wildcard_access_url: None,
        database_url: SecretKeyRef {
            name: secret.name().into(),
            key: "url".into(),
        },
        github: github
            .as_ref()
            .zip(github_secret.as_ref())
            .map(|((g, _), sec)| GithubOAuth {
                client_id: g.client_id.clone(),
                client_secret: SecretKeyRef {
                    name: sec.name().into(),
                    key: "client-secret".into(),
                },
                allow_signups: g.allow_signups,
                allow_everyone: g.allowed_orgs.is_empty() && g.allowed_teams.is_empty(),
                allowed_orgs: g.allowed_orgs.clone(),
                allowed_teams: g.allowed_teams.clone(),
            }),
        load_balancer_id: Some(Input::format(
            "{}/{}",
            [
                infra.output::<String>("zone"),
                infra.output::<String>("lb_id"),
            ],
        )),
        load_balancer_settings: Some(LbServiceSettings {
            ssl_compatibility_level: super::infra::LB_SSL_COMPATIBILITY_LEVEL.into(),
            lb_type: p.lb_type.clone(),
        }),
        // Pinned, so the image that runs is the one the plan named (an upgrade from → to).
        image_tag: Some(super::upgrade::image_tag(&p.coder_version)),
        extra_env: [
            ("CODER_TELEMETRY_ENABLE".to_string(), "false".to_string()),
            (
                "CODER_SECURE_AUTH_COOKIE".into(),
                (!p.domain.is_empty()).to_string(),
            ),
            (
                "CODER_PROVISIONER_DAEMONS".into(),
                p.provisioner_daemons.to_string(),
            ),
        ]
        .into_iter()
        .chain(super::monitoring::coder_env(&p.monitoring))
        .collect(),
        resources: Some(json!({
            "requests": {"cpu": rc, "memory": rm},
            "limits": {"cpu": lc, "memory": lm},
        })),
    };
    let mut values_json = values.to_values();
    // The wildcard pattern is a bare host pattern computed by the infra phase.
    if let Some(env_list) = values_json["coder"]["env"].as_array_mut() {
        env_list.push(json!({
            "name": "CODER_WILDCARD_ACCESS_URL",
            "value": infra.output::<String>("wildcard_access_url"),
        }));
        env_list.extend(auth_env);
    }
    values_json["coder"]["replicaCount"] = json!(p.coder_replicas);
    if tls_secret.is_some() {
        values_json["coder"]["tls"]["secretNames"] = json!([TLS_SECRET]);
        // Coder reads its certificate at start-up: a renewed certificate changes this
        // annotation, so the Deployment rolls its pod.
        values_json["coder"]["podAnnotations"][TLS_ROLL_ANNOTATION] =
            json!(infra.output::<String>("tls_certificate_sha256"));
        if let Some(env_list) = values_json["coder"]["env"].as_array_mut() {
            // Plain HTTP on port 80 answers with a redirect to the https:// access URL.
            env_list.push(json!({"name": "CODER_REDIRECT_TO_ACCESS_URL", "value": "true"}));
        }
    }
    let release = s.add(
        "coder",
        HelmRelease {
            kubeconfig: kubeconfig.clone(),
            name: "coder".into(),
            namespace: coder_ns.name().into(),
            repository: Some(
                options
                    .chart_repository
                    .clone()
                    .unwrap_or_else(|| "https://helm.coder.com/v2".into()),
            ),
            chart: "coder".into(),
            version: Some(p.coder_version.clone()),
            values: values_json,
            create_namespace: false,
            timeout_seconds: Some(600),
            wait: Some(true),
        },
    );
    release.depends_on(&secret);
    if let Some(t) = &tls_secret {
        release.depends_on(t);
    }
    if let Some(sec) = &github_secret {
        release.depends_on(sec);
    }
    for sec in &auth_secrets {
        release.depends_on(sec);
    }

    let admin_password: Input<String> = match &p.admin_password {
        Some(source) => secret_value(&mut s, &mut read, source),
        None => s
            .add(
                "admin-password",
                RandomPassword {
                    length: 24.into(),
                    special: false,
                    min_numeric: 2,
                    ..Default::default()
                },
            )
            .result()
            .into(),
    };
    let email = if p.domain.is_empty() {
        format!("admin@coder-{env}.local")
    } else {
        format!("admin@{}", p.domain)
    };
    let admin = s.add(
        "admin",
        CoderFirstUser {
            url: access_url.clone(),
            email: email.clone(),
            username: "admin".into(),
            password: admin_password.clone(),
            name: Some("Coder administrator".into()),
            timeout_seconds: Some(600),
        },
    );
    admin.depends_on(&release);

    let root = options
        .templates_root
        .clone()
        .unwrap_or_else(crate::templates::shipped_root);
    let wanted: Vec<String> = if !options.templates.is_empty() {
        options.templates.clone()
    } else {
        p.templates.clone()
    };
    for t in crate::templates::discover(&root) {
        if !wanted.is_empty() && !wanted.iter().any(|w| w == &t.name) {
            continue;
        }
        let template = s.add(
            &format!("template-{}", t.name),
            CoderTemplate {
                display_name: Some(t.name.replace('-', " ")),
                description: Some(format!("{} workspace ({})", t.name, t.category)),
                timeout_seconds: Some(600),
                ..CoderTemplate::from_dir(
                    &t.name,
                    Path::new(&t.path),
                    access_url.clone(),
                    email.clone(),
                    admin_password.clone(),
                )
            },
        );
        template.depends_on(&admin);
    }

    s.output("admin_username", "admin");
    s.output("admin_email", email);
    s.output("admin_password", admin_password)
        .sensitive()
        .description("read it with `kapstan output --env ENV admin_password`");
    s
}
