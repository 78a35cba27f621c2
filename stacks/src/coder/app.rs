//! Phase 2, `coder-<env>-app`: namespaces under the environment's Pod Security level,
//! quotas, network policies that admit the load balancer and DNS, the database Secret, the
//! Coder release on the infra phase's load balancer, the first admin, the templates and the
//! monitoring of `[monitoring]` (see [`super::monitoring`]).

use std::collections::BTreeMap;
use std::path::Path;

use kapstan_engine::{Handle, Input, Stack, StackRef};
use kapstan_providers::coder::{
    CoderFirstUser, CoderTemplate, CoderValues, GithubOAuth, GithubUsers, LbServiceSettings,
    SecretKeyRef,
};
use kapstan_providers::helm::HelmRelease;
use kapstan_providers::kubernetes::{
    KubernetesManifest, KubernetesNamespace, KubernetesSecret, PodSecurity,
};
use kapstan_providers::local::RandomPassword;
use serde_json::{Value, json};

use super::profile::{GithubSettings, Phase, PodSecurityLevel, Profile};
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
    /// Access URL override: in the sandbox without TLS, the load balancer's plain-HTTP
    /// loopback endpoint (a domain served over TLS keeps the infra phase's `https://` URL).
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

/// The parts of phase 2 share the infra phase's outputs, the cluster's kubeconfig and the
/// Secret Manager reads declared so far (one read per distinct reference).
struct AppPhase<'a> {
    s: Stack,
    p: &'a Profile,
    infra: StackRef,
    kubeconfig: Input<String>,
    secret_reads: BTreeMap<String, Input<String>>,
}

/// The Secrets the Coder release reads, and the environment entries that point at them.
struct CoderSecrets<'a> {
    database: Handle<KubernetesSecret>,
    github: Option<(&'a GithubSettings, Handle<KubernetesSecret>)>,
    tls: Option<Handle<KubernetesSecret>>,
    sign_in: Vec<Handle<KubernetesSecret>>,
    sign_in_env: Vec<Value>,
}

/// The first admin as declared, with its e-mail and password.
struct Admin {
    handle: Handle<CoderFirstUser>,
    email: String,
    password: Input<String>,
}

/// Builds phase 2 of the environment.
pub fn app_stack(p: &Profile, options: &AppOptions) -> Stack {
    let s = Stack::new(&p.stack_name(Phase::App));
    let infra = s.stack_ref(&p.stack_name(Phase::Infra));
    let mut phase = AppPhase {
        kubeconfig: infra.output("kubeconfig"),
        s,
        p,
        infra,
        secret_reads: BTreeMap::new(),
    };
    let namespaces = phase.namespaces(options.coder);
    let access_url: Input<String> = match &options.access_url {
        Some(u) => u.clone().into(),
        None => phase.infra.output("access_url"),
    };
    phase.s.output("access_url", access_url.clone());
    phase.s.output(
        "wildcard_access_url",
        phase.infra.output::<String>("wildcard_access_url"),
    );
    phase.s.output("namespace", "coder");
    if !options.coder {
        return phase.s;
    }
    // Monitoring watches Coder: without Coder there is nothing to collect.
    super::monitoring::add_monitoring(
        &mut phase.s,
        p,
        &phase.kubeconfig,
        &namespaces[1],
        options.chart_repository.as_deref(),
    );
    let coder_ns = &namespaces[0];
    let secrets = phase.coder_secrets(coder_ns);
    let release = phase.coder_release(options, coder_ns, &secrets, &access_url);
    let admin = phase.first_admin(&release, &access_url);
    phase.templates(options, &admin, &access_url);
    let s = &mut phase.s;
    s.output("admin_username", "admin");
    s.output("admin_email", admin.email);
    s.output("admin_password", admin.password)
        .sensitive()
        .description("read it with `kapstan output --env ENV admin_password`");
    phase.s
}

impl<'a> AppPhase<'a> {
    /// The platform's namespaces under the environment's Pod Security level, each with its
    /// quota and, where the profile asks, its network policies (the collector's too when
    /// Coder, and so monitoring, is installed).
    fn namespaces(&mut self, with_coder: bool) -> Vec<Handle<KubernetesNamespace>> {
        let p = self.p;
        let mut namespaces = vec![];
        for ns in NAMESPACES {
            let handle = self.s.add(
                &format!("namespace-{ns}"),
                KubernetesNamespace {
                    kubeconfig: self.kubeconfig.clone(),
                    name: ns.into(),
                    labels: BTreeMap::from([(
                        "app.kubernetes.io/managed-by".to_string(),
                        "kapstan".to_string(),
                    )]),
                    pod_security: match p.pod_security {
                        PodSecurityLevel::None => None,
                        PodSecurityLevel::Baseline => Some(PodSecurity::all("baseline")),
                        PodSecurityLevel::Restricted => Some(PodSecurity::all("restricted")),
                    },
                    ..Default::default()
                },
            );
            self.manifest(&format!("quota-{ns}"), quota(p, ns))
                .depends_on(&handle);
            if p.network_policies {
                let mut policies = network_policies(p, ns);
                if with_coder {
                    policies.extend(super::monitoring::network_policies(p, ns));
                }
                for (name, manifest) in policies {
                    self.manifest(&format!("netpol-{ns}-{name}"), manifest)
                        .depends_on(&handle);
                }
            }
            namespaces.push(handle);
        }
        namespaces
    }

    fn manifest(&mut self, address: &str, manifest: Value) -> Handle<KubernetesManifest> {
        self.s.add(
            address,
            KubernetesManifest {
                kubeconfig: self.kubeconfig.clone(),
                manifest,
                ..Default::default()
            },
        )
    }

    /// A Secret named `name` in Coder's namespace.
    fn secret(
        &mut self,
        address: &str,
        coder_ns: &Handle<KubernetesNamespace>,
        name: &str,
        kind: Option<&str>,
        data: BTreeMap<String, Input<String>>,
    ) -> Handle<KubernetesSecret> {
        self.s.add(
            address,
            KubernetesSecret {
                kubeconfig: self.kubeconfig.clone(),
                namespace: coder_ns.name().into(),
                name: name.into(),
                kind: kind.map(String::from),
                data,
                ..Default::default()
            },
        )
    }

    /// The value of a configured secret: a `scaleway_secret_version` read at plan and apply
    /// time (one per distinct reference, at `secret-<name>-<revision>`), or an environment
    /// variable.
    fn secret_value(&mut self, source: &SecretSource) -> Input<String> {
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
                let s = &mut self.s;
                self.secret_reads
                    .entry(address.clone())
                    .or_insert_with(|| s.add(&address, reference.declaration()).data().into())
                    .clone()
            }
            SecretSource::Env(var) => Input::Sensitive(std::env::var(var).unwrap_or_default()),
        }
    }

    /// The database URL, the GitHub OAuth secret, the served certificate (Coder terminates
    /// TLS itself with the infra phase's certificate, chart `coder.tls.secretNames`) and the
    /// sign-in secrets of OIDC and external auth.
    fn coder_secrets(&mut self, coder_ns: &Handle<KubernetesNamespace>) -> CoderSecrets<'a> {
        let p = self.p;
        let infra = self.infra.clone();
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
        let database = self.secret(
            "database-url",
            coder_ns,
            "coder-db-url",
            None,
            BTreeMap::from([("url".to_string(), db_url)]),
        );
        let github = p.github.as_ref().map(|g| {
            let data = BTreeMap::from([(
                "client-secret".to_string(),
                Input::Sensitive(std::env::var(&g.client_secret_env).unwrap_or_default()),
            )]);
            (
                g,
                self.secret("github-oauth", coder_ns, "coder-github-oauth", None, data),
            )
        });
        let tls = p.serves_tls().then(|| {
            let data = BTreeMap::from([
                (
                    "tls.crt".to_string(),
                    infra.output::<String>("tls_certificate"),
                ),
                (
                    "tls.key".to_string(),
                    infra.output::<String>("tls_private_key"),
                ),
            ]);
            let tls_kind = Some("kubernetes.io/tls");
            self.secret("tls-secret", coder_ns, TLS_SECRET, tls_kind, data)
        });
        let mut sign_in = vec![];
        let mut sign_in_env: Vec<Value> = vec![];
        if let Some(o) = &p.oidc {
            let value = self.secret_value(&o.secret());
            let data = BTreeMap::from([("client-secret".to_string(), value)]);
            sign_in.push(self.secret("oidc-client-secret", coder_ns, OIDC_SECRET, None, data));
            sign_in_env.extend(o.env(OIDC_SECRET, "client-secret"));
        }
        if !p.external_auth.is_empty() {
            let mut data = BTreeMap::new();
            for (n, e) in p.external_auth.iter().enumerate() {
                data.insert(e.secret_key(), self.secret_value(&e.secret()));
                sign_in_env.extend(e.env(n, EXTERNAL_AUTH_SECRET));
            }
            let name = EXTERNAL_AUTH_SECRET;
            sign_in.push(self.secret("external-auth-secrets", coder_ns, name, None, data));
        }
        CoderSecrets {
            database,
            github,
            tls,
            sign_in,
            sign_in_env,
        }
    }

    /// The chart's values: the typed options, then what they do not cover (the wildcard
    /// URL, sign-in, replicas and the served certificate).
    fn coder_values(&self, secrets: &CoderSecrets, access_url: &Input<String>) -> Value {
        let (p, infra) = (self.p, &self.infra);
        let (rc, rm, lc, lm) = &p.coder_resources;
        let values = CoderValues {
            access_url: access_url.clone(),
            wildcard_access_url: None,
            database_url: SecretKeyRef {
                name: secrets.database.name().into(),
                key: "url".into(),
            },
            github: secrets.github.as_ref().map(|(g, sec)| GithubOAuth {
                client_id: g.client_id.clone(),
                client_secret: SecretKeyRef {
                    name: sec.name().into(),
                    key: "client-secret".into(),
                },
                allow_signups: g.allow_signups,
                users: GithubUsers::restricted_to(g.allowed_orgs.clone(), g.allowed_teams.clone()),
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
            env_list.extend(secrets.sign_in_env.iter().cloned());
        }
        values_json["coder"]["replicaCount"] = json!(p.coder_replicas);
        if secrets.tls.is_some() {
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
        values_json
    }

    /// The Coder chart release, after every Secret it reads.
    fn coder_release(
        &mut self,
        options: &AppOptions,
        coder_ns: &Handle<KubernetesNamespace>,
        secrets: &CoderSecrets,
        access_url: &Input<String>,
    ) -> Handle<HelmRelease> {
        let values = self.coder_values(secrets, access_url);
        let release = self.s.add(
            "coder",
            HelmRelease {
                kubeconfig: self.kubeconfig.clone(),
                name: "coder".into(),
                namespace: coder_ns.name().into(),
                repository: Some(
                    options
                        .chart_repository
                        .clone()
                        .unwrap_or_else(|| "https://helm.coder.com/v2".into()),
                ),
                chart: "coder".into(),
                version: Some(self.p.coder_version.clone()),
                values,
                create_namespace: false,
                timeout_seconds: Some(600),
                wait: Some(true),
            },
        );
        release.depends_on(&secrets.database);
        if let Some(t) = &secrets.tls {
            release.depends_on(t);
        }
        if let Some((_, sec)) = &secrets.github {
            release.depends_on(sec);
        }
        for sec in &secrets.sign_in {
            release.depends_on(sec);
        }
        release
    }

    /// The first admin, with the configured password or a generated one.
    fn first_admin(&mut self, release: &Handle<HelmRelease>, access_url: &Input<String>) -> Admin {
        let p = self.p;
        let password: Input<String> = match &p.admin_password {
            Some(source) => self.secret_value(source),
            None => self
                .s
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
            format!("admin@coder-{}.local", p.env.name())
        } else {
            format!("admin@{}", p.domain)
        };
        let handle = self.s.add(
            "admin",
            CoderFirstUser {
                url: access_url.clone(),
                email: email.clone(),
                username: "admin".into(),
                password: password.clone(),
                name: Some("Coder administrator".into()),
                timeout_seconds: Some(600),
            },
        );
        handle.depends_on(release);
        Admin {
            handle,
            email,
            password,
        }
    }

    /// The templates asked for (options, else the profile's selection, else all shipped),
    /// pushed as the first admin.
    fn templates(&mut self, options: &AppOptions, admin: &Admin, access_url: &Input<String>) {
        let root = options
            .templates_root
            .clone()
            .unwrap_or_else(crate::templates::shipped_root);
        let wanted: &[String] = if !options.templates.is_empty() {
            &options.templates
        } else {
            &self.p.templates
        };
        for t in crate::templates::discover(&root) {
            if !wanted.is_empty() && !wanted.iter().any(|w| w == &t.name) {
                continue;
            }
            let template = self.s.add(
                &format!("template-{}", t.name),
                CoderTemplate {
                    display_name: Some(t.name.replace('-', " ")),
                    description: Some(format!("{} workspace ({})", t.name, t.category)),
                    timeout_seconds: Some(600),
                    ..CoderTemplate::from_dir(
                        &t.name,
                        Path::new(&t.path),
                        access_url.clone(),
                        admin.email.clone(),
                        admin.password.clone(),
                    )
                },
            );
            template.depends_on(&admin.handle);
        }
    }
}
