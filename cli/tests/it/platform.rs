//! The platform commands as a user runs them against an in-process sandbox: hooks around
//! `kapstan backup` (order, variables, no secrets; a failing pre-hook stops before any API
//! call), backup with the database and its sha256 manifest, restore round trip, `kapstan
//! health` passing on a deployed dev environment and failing, naming the cause, once the Coder
//! Deployment is deleted behind kapstan's back, `kapstan adopt` of a hand-written Terraform
//! state followed by a plan without changes, and bad input.
//!
//! Needs helm and kubectl in `$KAPSTAN_TOOLS/bin` (default `<workspace>/.tools/bin`):
//! `scripts/test --tools-only` installs them.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use kapstan_sandbox::{FaultSpec, Sandbox, SandboxOptions};
use serde_json::{Value, json};

use crate::support::{self, code, flat, report as text, tools_bin, transcript};

struct Env {
    sandbox: Sandbox,
    dir: tempfile::TempDir,
}

async fn start() -> Env {
    start_with(SandboxOptions {
        speed: 200.0,
        ..Default::default()
    })
    .await
}

async fn start_with(options: SandboxOptions) -> Env {
    // Fails early, naming the install command, when helm or kubectl is missing.
    tools_bin();
    let sandbox = Sandbox::start(options).await.unwrap();
    Env {
        sandbox,
        dir: tempfile::tempdir().unwrap(),
    }
}

impl Env {
    fn path(&self) -> &Path {
        self.dir.path()
    }

    fn cmd_in(&self, dir: &Path, args: &[&str]) -> Command {
        let mut c = support::kapstan(dir, args);
        c.env("SCW_API_URL", self.sandbox.url())
            .env("SCW_SECRET_KEY", self.sandbox.secret_key())
            .env("SCW_DEFAULT_PROJECT_ID", self.sandbox.project_id())
            .env("COLUMNS", "120");
        c
    }

    /// Runs kapstan in `dir` off the async runtime (the sandbox serves on its workers).
    async fn run_in(&self, dir: &Path, args: &[&str]) -> Output {
        let mut c = self.cmd_in(dir, args);
        tokio::task::spawn_blocking(move || c.output().unwrap())
            .await
            .unwrap()
    }

    async fn run(&self, args: &[&str]) -> Output {
        self.run_in(self.path(), args).await
    }

    async fn ok_in(&self, dir: &Path, args: &[&str]) -> String {
        let o = self.run_in(dir, args).await;
        assert_eq!(code(&o), 0, "kapstan {args:?}:\n{}", text(&o));
        String::from_utf8_lossy(&o.stdout).into_owned()
    }

    async fn ok(&self, args: &[&str]) -> String {
        self.ok_in(self.path(), args).await
    }

    async fn resources(&self) -> Value {
        reqwest::get(format!("{}/sandbox/v1/resources", self.sandbox.url()))
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    }

    /// Applies the dev infra phase, then the app phase on the LB's loopback endpoint with one
    /// template; returns the access URL.
    async fn deploy(&self) -> String {
        self.ok(&["apply", "--stack", "coder-dev-infra", "--auto-approve"])
            .await;
        let lb_id = self
            .ok(&["output", "--stack", "coder-dev-infra", "lb_id", "--raw"])
            .await;
        let ep: Value = reqwest::get(format!(
            "{}/sandbox/v1/lb-endpoints/fr-par-1/{}",
            self.sandbox.url(),
            lb_id.trim()
        ))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
        let url = ep["url"].as_str().unwrap().to_string();
        let charts = format!("chart_repository={}/charts", self.sandbox.url());
        let access = format!("access_url={url}");
        self.ok(&[
            "apply",
            "--stack",
            "coder-dev-app",
            "--var",
            &charts,
            "--var",
            &access,
            "--var",
            "templates=react-typescript",
            "--auto-approve",
        ])
        .await;
        url
    }
}

fn write_hook(dir: &Path, name: &str, body: &str) {
    use std::os::unix::fs::PermissionsExt;
    let hooks = dir.join("hooks");
    std::fs::create_dir_all(&hooks).unwrap();
    let p = hooks.join(name);
    std::fs::write(&p, body).unwrap();
    std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).unwrap();
}

fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(bytes))
}

fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut out = vec![];
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            out.extend(files_under(&p));
        } else {
            out.push(p);
        }
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn health_hooks_backup_restore_on_a_deployed_dev_environment() {
    let env = start().await;
    let url = env.deploy().await;
    let db_password = env
        .ok(&[
            "output",
            "--stack",
            "coder-dev-infra",
            "database_password",
            "--raw",
        ])
        .await;
    let db_password = db_password.trim();
    let admin_password = env
        .ok(&[
            "output",
            "--stack",
            "coder-dev-app",
            "admin_password",
            "--raw",
        ])
        .await;
    let admin_password = admin_password.trim();
    assert!(db_password.len() >= 24 && admin_password.len() >= 24);

    let d = Deployed {
        url,
        db_password: db_password.to_string(),
        admin_password: admin_password.to_string(),
    };
    health_passes_in_both_formats(&env).await;
    hooks_run_around_a_backup_with_the_database(&env, &d).await;
    let (root, dir, manifest) = the_backup_lists_every_file_and_holds_no_secret(&env, &d).await;
    restore_round_trips_and_refuses_bad_backups(&env, &d, &dir).await;
    retention_prunes_and_hooks_gate_the_backup(&env, &d, &root, &manifest).await;
    health_names_a_deleted_deployment(&env).await;
    env.sandbox.shutdown().await;
}

/// A deployed dev environment: its access URL and the two passwords no output may show.
struct Deployed {
    url: String,
    db_password: String,
    admin_password: String,
}

async fn health_passes_in_both_formats(env: &Env) {
    // Health passes, in both formats.
    let o = env.run(&["health", "--env", "dev"]).await;
    assert_eq!(code(&o), 0, "{}", text(&o));
    let out = String::from_utf8_lossy(&o.stdout);
    for check in [
        "Kapsule cluster",
        "node pool",
        "nodes ready",
        "kube-system pods",
        "storage classes",
        "PostgreSQL instance",
        "load balancer",
        "Deployment coder/coder",
        "/healthz",
        "/api/v2/buildinfo",
        "templates",
    ] {
        assert!(out.contains(check), "health table lacks `{check}`:\n{out}");
    }
    assert!(out.contains("react-typescript"), "{out}");
    assert!(!out.contains("FAIL"), "{out}");
    let o = env
        .run(&["health", "--env", "dev", "--format", "json"])
        .await;
    assert_eq!(code(&o), 0, "{}", text(&o));
    let report: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(report["healthy"], json!(true));
    assert!(report["checks"].as_array().unwrap().len() >= 11);
    let o = env.run(&["health", "--env", "dev", "--quick"]).await;
    assert_eq!(code(&o), 0, "{}", text(&o));
    let quick = String::from_utf8_lossy(&o.stdout);
    assert!(quick.contains("Kapsule cluster") && quick.contains("/healthz"));
    assert!(!quick.contains("PostgreSQL instance"), "{quick}");
}

async fn hooks_run_around_a_backup_with_the_database(env: &Env, d: &Deployed) -> String {
    let url = &d.url;
    let p = env.path();
    let db_password = d.db_password.as_str();
    let admin_password = d.admin_password.as_str();
    // Hooks around backup: in order, with the documented variables, never a secret.
    let hook = r#"#!/bin/sh
echo "$KAPSTAN_HOOK env=$KAPSTAN_ENV phase=$KAPSTAN_PHASE dir=$KAPSTAN_PROJECT_DIR url=$KAPSTAN_OUTPUT_ACCESS_URL cluster=$KAPSTAN_OUTPUT_CLUSTER_NAME" >> hooks.log
env | grep '^KAPSTAN_' | sort > "env-$KAPSTAN_HOOK.txt"
"#;
    write_hook(p, "pre-backup", hook);
    write_hook(p, "post-backup", hook);

    // Backup with the database.
    let out = env
        .ok(&[
            "backup",
            "--env",
            "dev",
            "--include-db",
            "--retention-days",
            "7",
        ])
        .await;
    assert!(out.contains("Backed up dev to"), "{out}");
    let log = std::fs::read_to_string(p.join("hooks.log")).unwrap();
    let lines: Vec<&str> = log.lines().collect();
    assert_eq!(lines.len(), 2, "{log}");
    assert!(lines[0].starts_with("pre-backup env=dev phase= "), "{log}");
    assert!(lines[1].starts_with("post-backup env=dev phase= "), "{log}");
    assert!(lines[1].contains(&format!("url={url}")), "{log}");
    assert!(lines[1].contains("cluster=coder-dev-cluster"), "{log}");
    assert!(lines[0].contains(&format!("dir={}", p.display())), "{log}");
    for f in ["env-pre-backup.txt", "env-post-backup.txt"] {
        let vars = std::fs::read_to_string(p.join(f)).unwrap();
        assert!(
            !vars.contains(db_password) && !vars.contains(admin_password),
            "{f} leaked a secret"
        );
        assert!(!vars.contains("KAPSTAN_OUTPUT_KUBECONFIG"), "{vars}");
        assert!(!vars.contains("KAPSTAN_OUTPUT_DATABASE_PASSWORD"), "{vars}");
        assert!(!vars.contains("KAPSTAN_OUTPUT_ADMIN_PASSWORD"), "{vars}");
        assert!(vars.contains("KAPSTAN_OUTPUT_DATABASE_HOST="), "{vars}");
    }
    hook.to_string()
}

async fn the_backup_lists_every_file_and_holds_no_secret(
    env: &Env,
    d: &Deployed,
) -> (PathBuf, PathBuf, Value) {
    let p = env.path();
    let db_password = d.db_password.as_str();
    let admin_password = d.admin_password.as_str();
    // The backup: manifest with a checksum of every file, state, outputs, objects, database.
    let root = p.join("backups/dev");
    let dirs: Vec<PathBuf> = std::fs::read_dir(&root)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(dirs.len(), 1, "{dirs:?}");
    let dir = &dirs[0];
    let manifest: Value =
        serde_json::from_slice(&std::fs::read(dir.join("manifest.json")).unwrap()).unwrap();
    assert_eq!(manifest["kind"], "kapstan-environment-backup");
    assert_eq!(manifest["environment"], "dev");
    let listed: Vec<String> = manifest["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            let path = f["path"].as_str().unwrap();
            let bytes = std::fs::read(dir.join(path)).unwrap();
            assert_eq!(f["sha256"].as_str().unwrap(), sha256_hex(&bytes), "{path}");
            path.to_string()
        })
        .collect();
    let mut on_disk: Vec<String> = files_under(dir)
        .iter()
        .map(|f| f.strip_prefix(dir).unwrap().display().to_string())
        .filter(|f| f != "manifest.json")
        .collect();
    on_disk.sort();
    let mut sorted = listed.clone();
    sorted.sort();
    assert_eq!(sorted, on_disk, "every file is in the manifest");
    for f in [
        "state/coder-dev-infra.json",
        "state/coder-dev-app.json",
        "state/manifest.json",
        "outputs.json",
        "database.json",
        "kubernetes/_cluster/namespace-coder.yaml",
        "kubernetes/coder/secret-coder-db-url.yaml",
        "kubernetes/coder/deployment-coder.yaml",
        "kubernetes/coder/resourcequota-coder-quota.yaml",
    ] {
        assert!(listed.iter().any(|l| l == f), "{f} missing from {listed:?}");
    }
    assert!(
        listed
            .iter()
            .any(|l| l.starts_with("kubernetes/coder/secret-sh.helm.release.v1.coder")),
        "helm release record missing: {listed:?}"
    );
    let secret: Value = serde_norway::from_str(
        &std::fs::read_to_string(dir.join("kubernetes/coder/secret-coder-db-url.yaml")).unwrap(),
    )
    .unwrap();
    assert_eq!(secret["data"]["url"], "(sensitive value)");
    assert_eq!(manifest["database_backup"]["status"], "ready");
    assert_eq!(manifest["database_backup"]["database_name"], "coder_dev_db");
    let backups = env.resources().await;
    assert_eq!(
        backups["resources"]["rdb.backup"].as_array().map(Vec::len),
        Some(1)
    );
    // No secret in clear anywhere in the backup or in the run logs.
    let mut everything = files_under(dir);
    everything.extend(files_under(&p.join("logs")));
    for f in &everything {
        let t = String::from_utf8_lossy(&std::fs::read(f).unwrap()).into_owned();
        assert!(
            !t.contains(db_password) && !t.contains(admin_password),
            "{} holds a secret",
            f.display()
        );
    }
    let logs = files_under(&p.join("logs/backup"));
    assert_eq!(logs.len(), 1);
    assert!(
        logs[0]
            .file_name()
            .unwrap()
            .to_str()
            .unwrap()
            .ends_with("-dev.log")
    );
    (root, dir.clone(), manifest)
}

async fn restore_round_trips_and_refuses_bad_backups(env: &Env, d: &Deployed, dir: &Path) {
    let url = &d.url;
    // Restore round trip: change state, restore, the backed-up version is current again.
    let before = env.ok(&["state", "list", "--stack", "coder-dev-app"]).await;
    env.ok(&[
        "state",
        "rm",
        "template-react-typescript",
        "--stack",
        "coder-dev-app",
    ])
    .await;
    let after_rm = env.ok(&["state", "list", "--stack", "coder-dev-app"]).await;
    assert!(!after_rm.contains("template-react-typescript"));
    let from = dir.display().to_string();
    let out = env.ok(&["restore", "--env", "dev", "--from", &from]).await;
    assert!(out.contains("coder-dev-app: restored"), "{out}");
    assert!(out.contains("coder-dev-infra: already identical"), "{out}");
    assert_eq!(
        env.ok(&["state", "list", "--stack", "coder-dev-app"]).await,
        before
    );
    let history = env
        .ok(&["state", "history", "--stack", "coder-dev-app"])
        .await;
    assert!(history.contains("restore of backup"), "{history}");
    let o = env
        .run(&[
            "plan",
            "--stack",
            "coder-dev-app",
            "--detailed-exitcode",
            "--var",
            &format!("chart_repository={}/charts", env.sandbox.url()),
            "--var",
            &format!("access_url={url}"),
            "--var",
            "templates=react-typescript",
        ])
        .await;
    assert_eq!(
        code(&o),
        0,
        "restored state matches the cloud:\n{}",
        text(&o)
    );
    // A restore into the wrong environment and an altered backup are refused.
    let o = env
        .run(&["restore", "--env", "staging", "--from", &from])
        .await;
    assert_eq!(code(&o), 1);
    assert!(
        flat(&o).contains("is a backup of dev, not of staging"),
        "{}",
        text(&o)
    );
    std::fs::write(dir.join("outputs.json"), "{}").unwrap();
    let o = env.run(&["restore", "--env", "dev", "--from", &from]).await;
    assert_eq!(code(&o), 1);
    assert!(flat(&o).contains("altered or damaged"), "{}", text(&o));
}

async fn retention_prunes_and_hooks_gate_the_backup(
    env: &Env,
    _d: &Deployed,
    root: &Path,
    manifest: &Value,
) {
    let p = env.path();
    // Retention: a backup older than the retention is pruned by the next backup.
    let old = root.join("20000101T000000Z");
    std::fs::create_dir_all(&old).unwrap();
    let mut m = manifest.clone();
    m["created"] = json!("2000-01-01T00:00:00Z");
    std::fs::write(old.join("manifest.json"), m.to_string()).unwrap();
    let out = env
        .ok(&["backup", "--env", "dev", "--retention-days", "30"])
        .await;
    assert!(out.contains("Pruned"), "{out}");
    assert!(!old.exists());

    // A failing pre-hook stops the backup before anything is read or called.
    write_hook(
        p,
        "pre-backup",
        "#!/bin/sh\necho checking >&2\necho 'maintenance window closed' >&2\nexit 4\n",
    );
    let count = std::fs::read_dir(root).unwrap().count();
    let o = env.run(&["backup", "--env", "dev", "--include-db"]).await;
    assert_eq!(code(&o), 1, "{}", text(&o));
    let t = flat(&o);
    assert!(t.contains("hook pre-backup failed with exit code 4"), "{t}");
    assert!(t.contains("maintenance window closed"), "{t}");
    assert_eq!(
        std::fs::read_dir(root).unwrap().count(),
        count,
        "no backup was written"
    );
    let backups = env.resources().await;
    assert_eq!(
        backups["resources"]["rdb.backup"].as_array().map(Vec::len),
        Some(1),
        "no database backup was requested"
    );
    // A failing post-hook is reported, not fatal.
    write_hook(p, "pre-backup", "#!/bin/sh\nexit 0\n");
    write_hook(
        p,
        "post-backup",
        "#!/bin/sh\necho 'slack unreachable' >&2\nexit 2\n",
    );
    let o = env.run(&["backup", "--env", "dev"]).await;
    assert_eq!(code(&o), 0, "{}", text(&o));
    assert!(
        flat(&o).contains("warning: hook post-backup failed with exit code 2"),
        "{}",
        text(&o)
    );
}

async fn health_names_a_deleted_deployment(env: &Env) {
    // Delete the Coder Deployment behind kapstan's back: health fails and names the cause.
    let kubeconfig = env
        .ok(&[
            "output",
            "--stack",
            "coder-dev-infra",
            "kubeconfig",
            "--raw",
        ])
        .await;
    let server = kubeconfig
        .lines()
        .find_map(|l| l.trim().strip_prefix("server:"))
        .unwrap()
        .trim()
        .trim_matches('"')
        .to_string();
    let r = reqwest::Client::new()
        .delete(format!(
            "{server}/apis/apps/v1/namespaces/coder/deployments/coder"
        ))
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success(), "{}", r.status());
    let o = env.run(&["health", "--env", "dev"]).await;
    assert_eq!(code(&o), 1, "{}", text(&o));
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(
        out.contains("FAIL  coder") && out.contains("Deployment coder/coder does not exist"),
        "{out}"
    );
    assert!(out.contains("unhealthy"), "{out}");
    let o = env
        .run(&["health", "--env", "dev", "--format", "json"])
        .await;
    assert_eq!(code(&o), 1);
    let report: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(report["healthy"], json!(false));
    let failed: Vec<&Value> = report["checks"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["status"] == "fail")
        .collect();
    assert!(
        failed
            .iter()
            .any(|c| c["check"] == "Deployment coder/coder"),
        "{failed:?}"
    );
}

/// A Terraform state (format 4) as the original project would have written it for these
/// resources of the dev infra stack.
fn tfstate(ids: &Value, db_password: &str, attrs: &Value) -> Value {
    let id = |a: &str| ids[a].as_str().unwrap().to_string();
    let res = |module: &str, t: &str, name: &str, key: Option<&str>, a: Value| {
        let mut inst = json!({"schema_version": 0, "attributes": a, "sensitive_attributes": [], "dependencies": []});
        if let Some(k) = key {
            inst["index_key"] = json!(k);
        }
        let mut r = json!({"mode": "managed", "type": t, "name": name, "provider": "provider[\"registry.terraform.io/scaleway/scaleway\"]", "instances": [inst]});
        if !module.is_empty() {
            r["module"] = json!(module);
        }
        r
    };
    let regional = |a: &str| format!("fr-par/{}", id(a));
    let zonal = |a: &str| format!("fr-par-1/{}", id(a));
    let instance = regional("database");
    json!({
        "version": 4,
        "terraform_version": "1.13.3",
        "serial": 42,
        "lineage": "5f1c1c1e-7c4e-4f0b-9d3a-2c8e2b1a9f00",
        "outputs": {"cluster_id": {"value": regional("cluster"), "type": "string"}},
        "resources": [
            res("module.networking", "scaleway_vpc", "main", None, json!({"id": regional("vpc"), "name": "coder-dev-vpc", "region": "fr-par"})),
            res("module.networking", "scaleway_vpc_private_network", "private_network", None, json!({"id": regional("network"), "name": "coder-dev-network", "vpc_id": regional("vpc")})),
            res("module.networking", "scaleway_vpc_public_gateway_ip", "main", None, json!({"id": zonal("gateway-ip"), "zone": "fr-par-1"})),
            res("module.networking", "scaleway_vpc_public_gateway", "main", None, json!({"id": zonal("gateway"), "type": "VPC-GW-S", "ip_id": zonal("gateway-ip")})),
            res("module.networking", "scaleway_vpc_gateway_network", "main", None, json!({"id": zonal("gateway-network"), "gateway_id": zonal("gateway"), "private_network_id": regional("network")})),
            res("module.networking", "scaleway_instance_security_group", "kubernetes", None, json!({"id": "fr-par-1/0b6f1d3c-3a3e-4e39-8b0b-1f2d2c7d5e11", "name": "coder-dev-vpc-kubernetes-sg"})),
            res("module.networking", "scaleway_lb_ip", "main", None, json!({"id": zonal("lb-ip"), "ip_address": attrs["lb_ip"]})),
            res("module.networking", "scaleway_lb", "main", None, json!({"id": zonal("lb"), "name": "coder-dev-lb", "type": "LB-S"})),
            res("module.networking", "scaleway_lb_backend", "http", None, json!({"id": "fr-par-1/6c1f6d2e-4b1a-4c7e-9e0f-2a3b4c5d6e7f", "lb_id": zonal("lb")})),
            res("module.networking", "scaleway_lb_frontend", "https", None, json!({"id": "fr-par-1/7d2a7e3f-5c2b-4d8f-8f1a-3b4c5d6e7f80", "lb_id": zonal("lb")})),
            res("module.scaleway_cluster", "scaleway_k8s_cluster", "cluster", None, json!({"id": regional("cluster"), "name": "coder-dev-cluster", "version": "1.32", "cni": "cilium"})),
            res("module.scaleway_cluster", "scaleway_k8s_pool", "pools", Some("default"), json!({"id": regional("pool-default"), "name": "default", "node_type": "GP1-XS", "cluster_id": regional("cluster")})),
            res("module.scaleway_cluster", "time_sleep", "wait_for_cluster", None, json!({"id": "2025-09-01T00:00:00Z", "create_duration": "60s"})),
            json!({"module": "module.scaleway_cluster", "mode": "data", "type": "scaleway_k8s_cluster", "name": "cluster", "provider": "provider[\"registry.terraform.io/scaleway/scaleway\"]", "instances": [{"schema_version": 0, "attributes": {"id": regional("cluster")}}]}),
            res("module.postgresql", "random_password", "db_password", None, json!({"id": "none", "length": 32, "special": true, "result": db_password, "bcrypt_hash": "x"})),
            res("module.postgresql", "scaleway_rdb_instance", "postgresql", None, json!({"id": instance, "name": "coder-dev-db", "node_type": "DB-DEV-S", "engine": "PostgreSQL-15"})),
            res("module.postgresql", "scaleway_rdb_database", "coder_database", None, json!({"id": format!("{instance}/coder_dev_db"), "instance_id": instance, "name": "coder_dev_db", "region": "fr-par"})),
            res("module.postgresql", "scaleway_rdb_user", "coder_user", None, json!({"id": format!("{instance}/coder"), "instance_id": instance, "name": "coder", "password": db_password, "is_admin": false, "region": "fr-par"})),
            res("module.postgresql", "scaleway_rdb_privilege", "coder_privilege", None, json!({"id": format!("{instance}/coder_dev_db/coder"), "instance_id": instance, "database_name": "coder_dev_db", "user_name": "coder", "permission": "all", "region": "fr-par"})),
            res("module.postgresql", "scaleway_rdb_acl", "postgresql_acl", None, json!({"id": instance, "instance_id": instance, "acl_rules": [{"ip": "172.16.0.0/22", "description": "VPC only"}]})),
        ]
    })
}

/// `kapstan adopt` of dev's infra phase from the Terraform state written in the project.
const ADOPT: [&str; 7] = [
    "adopt",
    "--env",
    "dev",
    "--phase",
    "infra",
    "--terraform-state",
    "terraform.tfstate",
];

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn adopt_a_terraform_state_then_plan_has_no_changes() {
    let env = start().await;
    let db_password = write_the_terraform_state_of_an_original_project(&env).await;
    let before = env.resources().await;
    adopt_without_yes_only_shows_the_mapping(&env, &db_password).await;

    let o = env.run(&[&ADOPT[..], &["--yes"]].concat()).await;
    assert_eq!(code(&o), 0, "{}", text(&o));
    let t = transcript(env.path(), &o);
    assert!(!t.contains(&db_password));
    for unmanaged in [
        "scaleway_instance_security_group.kubernetes",
        "scaleway_lb_backend.http",
        "scaleway_lb_frontend.https",
        "time_sleep.wait_for_cluster",
        "data.scaleway_k8s_cluster.cluster",
    ] {
        assert!(t.contains(unmanaged), "{unmanaged} not listed:\n{t}");
    }
    assert!(t.contains("Adopted 15 resource(s)"), "{t}");
    insta::assert_snapshot!("adopt_mapping", t);

    // Nothing in the cloud changed, and the plan has nothing to do.
    assert_eq!(env.resources().await["resources"], before["resources"]);
    let o = env
        .run(&["plan", "--stack", "coder-dev-infra", "--detailed-exitcode"])
        .await;
    assert_eq!(code(&o), 0, "plan after adoption:\n{}", text(&o));
    let o = env
        .run(&["state", "list", "--stack", "coder-dev-infra"])
        .await;
    assert_eq!(String::from_utf8_lossy(&o.stdout).lines().count(), 15);
    // Adopting again leaves the recorded resources alone.
    let out = env.ok(&[&ADOPT[..], &["--yes"]].concat()).await;
    assert!(out.contains("Adopted 0 resource(s)"), "{out}");
    env.sandbox.shutdown().await;
}

/// The original project's resources, created in the sandbox from a throwaway state, and a
/// Terraform state describing them written as `terraform.tfstate` in the project; the
/// database password it holds.
async fn write_the_terraform_state_of_an_original_project(env: &Env) -> String {
    let original = tempfile::tempdir().unwrap();
    env.ok_in(
        original.path(),
        &["apply", "--stack", "coder-dev-infra", "--auto-approve"],
    )
    .await;
    let shown: Value = serde_json::from_str(
        &env.ok_in(
            original.path(),
            &["show", "--json", "--stack", "coder-dev-infra"],
        )
        .await,
    )
    .unwrap();
    let mut ids = serde_json::Map::new();
    for (addr, r) in shown["resources"].as_object().unwrap() {
        let id = r["id"].as_str().unwrap();
        // Regional sub-resources are recorded as `region/instance/...`: keep the uuid part.
        let uuid = id.split('/').find(|s| s.len() == 36).unwrap_or(id);
        ids.insert(addr.clone(), json!(uuid));
    }
    let output = |name: &'static str| {
        let dir = original.path().to_path_buf();
        async move {
            env.ok_in(
                &dir,
                &["output", "--stack", "coder-dev-infra", name, "--raw"],
            )
            .await
            .trim()
            .to_string()
        }
    };
    let db_password = output("database_password").await;
    let lb_ip = output("lb_ip").await;
    let state = tfstate(&Value::Object(ids), &db_password, &json!({"lb_ip": lb_ip}));
    std::fs::write(
        env.path().join("terraform.tfstate"),
        serde_json::to_vec_pretty(&state).unwrap(),
    )
    .unwrap();
    db_password
}

/// Without `--yes` and without a terminal the mapping is shown (no secret in it) and nothing
/// is imported.
async fn adopt_without_yes_only_shows_the_mapping(env: &Env, db_password: &str) {
    let o = env.run(&ADOPT).await;
    assert_eq!(code(&o), 1, "{}", text(&o));
    let t = text(&o);
    assert!(t.contains("module.networking.scaleway_vpc.main"), "{t}");
    assert!(
        t.contains("module.scaleway_cluster.scaleway_k8s_pool.pools[\"default\"]"),
        "{t}"
    );
    assert!(t.contains("pass --yes"), "{t}");
    assert!(!t.contains(db_password), "the mapping never shows a secret");
    let o = env
        .run(&["state", "list", "--stack", "coder-dev-infra"])
        .await;
    assert!(
        String::from_utf8_lossy(&o.stdout).trim().is_empty() || code(&o) != 0,
        "{}",
        text(&o)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_input() {
    let env = start().await;
    unknown_environments_are_refused(&env).await;
    nothing_deployed_is_named(&env).await;
    foreign_terraform_states_are_refused(&env).await;
    unknown_override_fields_are_named(&env).await;
    env.sandbox.shutdown().await;
}

async fn unknown_environments_are_refused(env: &Env) {
    let p = env.path();
    // Unknown environments, for every platform command.
    for args in [
        vec!["health", "--env", "qa"],
        vec!["backup", "--env", "production"],
        vec!["restore", "--env", "all", "--from", "x"],
        vec![
            "adopt",
            "--env",
            "test",
            "--phase",
            "infra",
            "--terraform-state",
            "t",
        ],
    ] {
        let o = env.run(&args).await;
        // A usage error exits 1, like every error (2 means changes).
        assert_eq!(code(&o), 1, "{args:?}: {}", text(&o));
        assert!(
            flat(&o).contains("is not an environment; use dev, staging or prod"),
            "{args:?}: {}",
            text(&o)
        );
    }
    insta::assert_snapshot!(
        "unknown_environment",
        transcript(p, &env.run(&["health", "--env", "qa"]).await)
    );
}

async fn nothing_deployed_is_named(env: &Env) {
    let p = env.path();
    // Nothing deployed.
    let o = env.run(&["health", "--env", "dev"]).await;
    assert_eq!(code(&o), 1);
    insta::assert_snapshot!("health_not_deployed", transcript(p, &o));
    let o = env.run(&["backup", "--env", "dev"]).await;
    assert_eq!(code(&o), 1);
    assert!(flat(&o).contains("has no state to back up"), "{}", text(&o));
    let o = env
        .run(&["restore", "--env", "dev", "--from", "backups/dev/none"])
        .await;
    assert_eq!(code(&o), 1);
    assert!(
        text(&o).contains("backups/dev/none/manifest.json"),
        "{}",
        text(&o)
    );
}

async fn foreign_terraform_states_are_refused(env: &Env) {
    let p = env.path();
    // A Terraform state of another format, and an app-phase adoption.
    std::fs::write(p.join("old.tfstate"), r#"{"version": 3, "modules": []}"#).unwrap();
    let o = env
        .run(&[
            "adopt",
            "--env",
            "dev",
            "--phase",
            "infra",
            "--terraform-state",
            "old.tfstate",
            "--yes",
        ])
        .await;
    assert_eq!(code(&o), 1);
    insta::assert_snapshot!("adopt_old_format", transcript(p, &o));
    let o = env
        .run(&[
            "adopt",
            "--env",
            "dev",
            "--phase",
            "app",
            "--terraform-state",
            "old.tfstate",
            "--yes",
        ])
        .await;
    assert_eq!(code(&o), 1);
    assert!(
        flat(&o).contains("only the infra phase can be adopted"),
        "{}",
        text(&o)
    );
}

async fn unknown_override_fields_are_named(env: &Env) {
    let p = env.path();
    // An override file with an unknown field: the error names the file, the line and the field.
    std::fs::create_dir_all(p.join("environments")).unwrap();
    std::fs::write(
        p.join("environments/dev.toml"),
        "region = \"fr-par\"\n\n[pool]\nnode_type = \"GP1-S\"\nnodes = 3\n",
    )
    .unwrap();
    std::fs::write(
        p.join("empty.tfstate"),
        r#"{"version": 4, "serial": 1, "lineage": "x", "outputs": {}, "resources": []}"#,
    )
    .unwrap();
    for args in [
        vec![
            "adopt",
            "--env",
            "dev",
            "--phase",
            "infra",
            "--terraform-state",
            "empty.tfstate",
            "--yes",
        ],
        vec!["plan", "--stack", "coder-dev-infra"],
    ] {
        let o = env.run(&args).await;
        assert_eq!(code(&o), 1, "{args:?}: {}", text(&o));
        let t = text(&o);
        assert!(t.contains("environments/dev.toml"), "{args:?}: {t}");
        assert!(t.contains("line 5"), "{args:?}: {t}");
        assert!(t.contains("nodes"), "{args:?}: {t}");
    }
    insta::assert_snapshot!(
        "invalid_override_file",
        transcript(
            p,
            &env.run(&[
                "adopt",
                "--env",
                "dev",
                "--phase",
                "infra",
                "--terraform-state",
                "empty.tfstate",
                "--yes"
            ])
            .await
        )
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn stateful_resources_refuse_replacement_and_down_lifts_the_protection() {
    let env = start().await;
    env.ok(&["apply", "--stack", "coder-dev-infra", "--auto-approve"])
        .await;
    for addr in ["network", "cluster", "database"] {
        let o = env
            .run(&["plan", "--stack", "coder-dev-infra", "--replace", addr])
            .await;
        let t = text(&o);
        assert_eq!(code(&o), 1, "{t}");
        assert!(t.contains(&format!("{addr} has prevent_destroy")), "{t}");
    }
    // A plain destroy is refused the same way; nothing is deleted.
    let o = env
        .run(&["destroy", "--stack", "coder-dev-infra", "--auto-approve"])
        .await;
    assert_eq!(code(&o), 1, "{}", text(&o));
    assert!(text(&o).contains("has prevent_destroy"), "{}", text(&o));
    let clusters = env.resources().await["resources"]["k8s.cluster"]
        .as_array()
        .map_or(0, Vec::len);
    assert_eq!(clusters, 1);
    // Lifted explicitly, the replacement plans.
    let o = env
        .run(&[
            "plan",
            "--stack",
            "coder-dev-infra",
            "--replace",
            "network",
            "--var",
            "prevent_destroy=false",
        ])
        .await;
    assert_eq!(code(&o), 0, "{}", text(&o));
    // Lifted for the environment in its file, the replacement plans without the variable.
    std::fs::create_dir_all(env.path().join("environments")).unwrap();
    std::fs::write(
        env.path().join("environments/dev.toml"),
        "prevent_destroy = false\n",
    )
    .unwrap();
    let o = env
        .run(&["plan", "--stack", "coder-dev-infra", "--replace", "network"])
        .await;
    assert_eq!(code(&o), 0, "{}", text(&o));
    std::fs::remove_file(env.path().join("environments/dev.toml")).unwrap();
    // `down` is the teardown: it lifts the protection itself.
    env.ok(&["down", "--env", "dev", "--confirm"]).await;
    let doc = env.resources().await;
    for kind in ["k8s.cluster", "rdb.instance", "vpc.private_network"] {
        assert_eq!(
            doc["resources"][kind].as_array().map_or(0, Vec::len),
            0,
            "{kind} left: {doc:#}"
        );
    }
    env.sandbox.shutdown().await;
}

/// The database of the dev infra phase, as the API returns it.
async fn dev_database(env: &Env) -> Value {
    let doc = env.resources().await;
    let id = doc["resources"]["rdb.instance"][0]["object"]["id"]
        .as_str()
        .expect("one database")
        .to_string();
    reqwest::Client::new()
        .get(format!(
            "{}/rdb/v1/regions/fr-par/instances/{id}",
            env.sandbox.url()
        ))
        .header("X-Auth-Token", env.sandbox.secret_key())
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

fn public_endpoints(db: &Value) -> usize {
    db["endpoints"].as_array().map_or(0, |e| {
        e.iter().filter(|e| e["load_balancer"].is_object()).count()
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_public_database_endpoint_added_outside_kapstan_is_planned_away() {
    let env = start().await;
    env.ok(&["apply", "--stack", "coder-dev-infra", "--auto-approve"])
        .await;
    let db = dev_database(&env).await;
    assert_eq!(public_endpoints(&db), 0);
    // Someone enables a public endpoint in the console.
    let id = db["id"].as_str().unwrap();
    let r = reqwest::Client::new()
        .post(format!(
            "{}/rdb/v1/regions/fr-par/instances/{id}/endpoints",
            env.sandbox.url()
        ))
        .header("X-Auth-Token", env.sandbox.secret_key())
        .json(&json!({"endpoint_spec": {"load_balancer": {}}}))
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success(), "{:?}", r.text().await);
    for _ in 0..200 {
        if dev_database(&env).await["status"] == "ready" {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert_eq!(public_endpoints(&dev_database(&env).await), 1);

    let o = env
        .run(&["plan", "--stack", "coder-dev-infra", "--detailed-exitcode"])
        .await;
    let t = text(&o);
    assert_eq!(code(&o), 2, "the endpoint is a change, not only drift: {t}");
    let (drift, changes) = t.split_once("will perform").expect("a change is planned");
    assert!(
        drift.contains("load_balancer = null -> {}"),
        "shown as drift: {t}"
    );
    assert!(
        changes.contains("- load_balancer = {} -> null"),
        "planned away: {t}"
    );
    env.ok(&["apply", "--stack", "coder-dev-infra", "--auto-approve"])
        .await;
    assert_eq!(public_endpoints(&dev_database(&env).await), 0);
    let o = env
        .run(&["plan", "--stack", "coder-dev-infra", "--detailed-exitcode"])
        .await;
    assert_eq!(code(&o), 0, "{}", text(&o));
    env.sandbox.shutdown().await;
}

async fn sandbox_post(env: &Env, path: &str, body: Value) -> Value {
    let r = reqwest::Client::new()
        .post(format!("{}{path}", env.sandbox.url()))
        .json(&body)
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success(), "{path}: {:?}", r.status());
    r.json().await.unwrap()
}

/// The dev cluster, from the API, once it and its pools finished every upgrade.
/// The sandbox offers Kubernetes `version` (or changes its dates).
async fn offer_version(env: &Env, version: &str, deprecated_at: &str, end_of_life_at: &str) {
    sandbox_post(
        env,
        "/sandbox/v1/k8s/fr-par/versions",
        json!({"name": version, "deprecated_at": deprecated_at, "end_of_life_at": end_of_life_at}),
    )
    .await;
}

/// The cluster's maintenance window runs (`maintenance` is its sandbox path) and leaves it on
/// `version`.
async fn maintenance_moves_to(env: &Env, maintenance: &str, version: &str) {
    sandbox_post(env, maintenance, json!({})).await;
    assert_eq!(settled_cluster(env).await["version"], version);
}

/// The infra plan has nothing to do (exit 0) and notes the running version moving from
/// `from` to `to`, without any pool drift.
async fn plan_notes_only_the_running_version(env: &Env, from: &str, to: &str) {
    let o = env
        .run(&["plan", "--stack", "coder-dev-infra", "--detailed-exitcode"])
        .await;
    let t = text(&o);
    assert_eq!(code(&o), 0, "nothing planned, no downgrade: {t}");
    assert!(
        t.contains(&format!("running_version = \"{from}\" -> \"{to}\"")),
        "{t}"
    );
    assert!(!t.contains("scaleway_k8s_pool"), "no pool drift: {t}");
}

async fn settled_cluster(env: &Env) -> Value {
    let doc = env.resources().await;
    let id = doc["resources"]["k8s.cluster"][0]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let get = |path: String| async move {
        reqwest::Client::new()
            .get(format!(
                "{}/k8s/v1/regions/fr-par/{path}",
                env.sandbox.url()
            ))
            .header("X-Auth-Token", env.sandbox.secret_key())
            .send()
            .await
            .unwrap()
            .json::<Value>()
            .await
            .unwrap()
    };
    for _ in 0..400 {
        let cluster = get(format!("clusters/{id}")).await;
        let pools = get(format!("clusters/{id}/pools")).await;
        let pools_ready = pools["pools"]
            .as_array()
            .is_some_and(|p| p.iter().all(|p| p["status"] == "ready"));
        if cluster["status"] == "ready" && pools_ready {
            return cluster;
        }
        tokio::time::sleep(std::time::Duration::from_millis(25)).await;
    }
    panic!("the cluster did not settle");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn kubernetes_versions_follow_the_live_list_and_auto_upgrades_are_kept() {
    let env = start().await;
    let envs = env.path().join("environments");
    std::fs::create_dir_all(&envs).unwrap();
    // A pinned minor past its end of life is refused before anything is created.
    std::fs::write(envs.join("dev.toml"), "[cluster]\nversion = \"1.32\"\n").unwrap();
    let o = env
        .run(&["apply", "--stack", "coder-dev-infra", "--auto-approve"])
        .await;
    let t = text(&o);
    assert_eq!(code(&o), 1, "{t}");
    assert!(
        t.contains("reached end of life on 2026-03-20") && t.contains("supported minors: 1.35"),
        "names the end of life and the supported minors: {t}"
    );
    assert!(
        env.resources().await["resources"]
            .as_object()
            .is_none_or(|m| m.values().all(|v| v.as_array().is_none_or(Vec::is_empty))),
        "nothing was created"
    );

    // By default the newest supported minor of the live list.
    std::fs::remove_file(envs.join("dev.toml")).unwrap();
    env.ok(&["apply", "--stack", "coder-dev-infra", "--auto-approve"])
        .await;
    let cluster = settled_cluster(&env).await;
    assert_eq!(cluster["version"], "1.35.3");
    let id = cluster["id"].as_str().unwrap().to_string();
    let maintenance = format!("/sandbox/v1/k8s/fr-par/clusters/{id}/maintenance");

    // A patch release, applied in the maintenance window: no change, no pool drift.
    offer_version(&env, "1.35.5", "2027-01-19", "2027-03-19").await;
    maintenance_moves_to(&env, &maintenance, "1.35.5").await;
    plan_notes_only_the_running_version(&env, "1.35.3", "1.35.5").await;

    // The minor pinned, then deprecated: Scaleway moves the cluster to the next minor. The
    // plan says so and does not go back; the next apply succeeds.
    std::fs::write(envs.join("dev.toml"), "[cluster]\nversion = \"1.35\"\n").unwrap();
    env.ok(&["apply", "--stack", "coder-dev-infra", "--auto-approve"])
        .await;
    offer_version(&env, "1.36.1", "2027-09-01", "2027-11-01").await;
    offer_version(&env, "1.35.5", "2026-01-01", "2027-03-19").await;
    maintenance_moves_to(&env, &maintenance, "1.36.1").await;
    // No downgrade is planned.
    plan_notes_only_the_running_version(&env, "1.35.5", "1.36.1").await;
    env.ok(&["apply", "--stack", "coder-dev-infra", "--auto-approve"])
        .await;
    assert_eq!(settled_cluster(&env).await["version"], "1.36.1");
    env.sandbox.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn phase_app_waits_for_a_kubernetes_api_that_answers_late() {
    // The API answers 503 for 600 s (3 s at speed 200) after the pool is ready.
    let durations = kapstan_sandbox::Durations {
        kube_api_warmup: std::time::Duration::from_secs(600),
        ..Default::default()
    };
    let env = start_with(SandboxOptions {
        speed: 200.0,
        durations,
        ..Default::default()
    })
    .await;
    // Both phases apply in one go: the infra phase ends when the API answers.
    let url = env.deploy().await;
    assert!(url.starts_with("http://127.0.0.1:"), "{url}");
    env.sandbox.shutdown().await;
}

/// The names of the Ready nodes running a Running, ready Coder pod, from the cluster's API.
async fn nodes_running_coder(env: &Env, cluster: &str) -> Vec<String> {
    let get = |path: String| async move {
        reqwest::get(format!("{}/k8s-api/{cluster}{path}", env.sandbox.url()))
            .await
            .unwrap()
            .json::<Value>()
            .await
            .unwrap()
    };
    let nodes = get("/api/v1/nodes".into()).await;
    let ready: Vec<&str> = nodes["items"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|n| {
            n["status"]["conditions"].as_array().is_some_and(|c| {
                c.iter()
                    .any(|c| c["type"] == "Ready" && c["status"] == "True")
            })
        })
        .filter_map(|n| n["metadata"]["name"].as_str())
        .collect();
    let pods =
        get("/api/v1/namespaces/coder/pods?labelSelector=app.kubernetes.io%2Fname%3Dcoder".into())
            .await;
    let mut out: Vec<String> = pods["items"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|p| p["status"]["phase"] == "Running")
        .filter_map(|p| p["spec"]["nodeName"].as_str())
        .filter(|n| ready.contains(n))
        .map(String::from)
        .collect();
    out.dedup();
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_node_type_change_replaces_the_pool_without_an_outage() {
    let env = start().await;
    env.deploy().await;
    let doc = env.resources().await;
    let cluster = doc["resources"]["k8s.cluster"][0]["id"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(!nodes_running_coder(&env, &cluster).await.is_empty());
    let envs = env.path().join("environments");
    std::fs::create_dir_all(&envs).unwrap();
    std::fs::write(envs.join("dev.toml"), "[pool]\nnode_type = \"GP1-S\"\n").unwrap();
    let o = env.run(&["plan", "--stack", "coder-dev-infra"]).await;
    let t = text(&o);
    assert!(
        t.contains("+/- resource \"scaleway_k8s_pool\" \"pool-default\""),
        "created before destroyed: {t}"
    );
    assert!(t.contains("forces replacement)"), "{t}");

    let mut apply = env.cmd_in(
        env.path(),
        &["apply", "--stack", "coder-dev-infra", "--auto-approve"],
    );
    let run = tokio::task::spawn_blocking(move || apply.output().unwrap());
    let mut observations = 0;
    let mut cordoned = false;
    while !run.is_finished() {
        let all: Value = reqwest::get(format!(
            "{}/k8s-api/{cluster}/api/v1/nodes",
            env.sandbox.url()
        ))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
        cordoned |= all["items"].as_array().into_iter().flatten().any(|n| {
            n["spec"]["unschedulable"] == true
                && n["metadata"]["labels"]["node.kubernetes.io/instance-type"] == "GP1-XS"
        });
        let nodes = nodes_running_coder(&env, &cluster).await;
        if nodes.is_empty() {
            let pods: Value = reqwest::get(format!(
                "{}/k8s-api/{cluster}/api/v1/namespaces/coder/pods",
                env.sandbox.url()
            ))
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
            panic!(
                "Coder had no ready node after {observations} observations: nodes {:#} pods {:#} pools {:#}",
                all["items"],
                pods["items"],
                env.resources().await["resources"]["k8s.pool"]
            );
        }
        observations += 1;
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    let o = run.await.unwrap();
    assert_eq!(code(&o), 0, "{}", text(&o));
    assert!(
        observations > 10,
        "observed during the change: {observations}"
    );
    assert!(
        cordoned,
        "the old nodes were cordoned before their pool went"
    );
    let pools = env.resources().await["resources"]["k8s.pool"].clone();
    let pools: Vec<&Value> = pools
        .as_array()
        .unwrap()
        .iter()
        .map(|p| &p["object"])
        .collect();
    assert_eq!(pools.len(), 1, "the old pool is gone: {pools:?}");
    assert_eq!(pools[0]["name"], "default-gp1-s");
    assert_eq!(pools[0]["node_type"], "gp1_s");
    assert!(!nodes_running_coder(&env, &cluster).await.is_empty());
    env.sandbox.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_wait_on_the_rate_limit_is_shown_and_the_apply_rides_it_out() {
    let env = start_with(SandboxOptions {
        speed: 200.0,
        faults: FaultSpec::parse("429=0.1,429-window=500ms").unwrap(),
        ..Default::default()
    })
    .await;
    let o = env
        .run(&["apply", "--stack", "coder-dev-infra", "--auto-approve"])
        .await;
    let t = text(&o);
    assert_eq!(code(&o), 0, "{t}");
    // Shown without any log setting, as a message to the user (no timestamps, no ANSI).
    let line = t
        .lines()
        .find(|l| l.starts_with("info: waiting on the Scaleway API's rate limit"))
        .unwrap_or_else(|| panic!("the wait is shown: {t}"));
    assert!(!line.contains('\x1b') && line.contains("path="), "{line}");
    assert!(
        !t.contains(env.sandbox.secret_key()),
        "no credential in the output"
    );
    env.sandbox.shutdown().await;
}
