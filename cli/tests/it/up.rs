//! `kapstan up` / `kapstan down` of the Coder platform in the offline sandbox, as a user runs
//! them: every environment deploys both phases, plans nothing afterwards, holds exactly the
//! declared cloud objects with the profile's sizes, shows no drift and no change after the cloud
//! controller has synced the load balancer and users have created workspaces, and tears down
//! (workspaces first) to nothing.

use std::process::Command;

use serde_json::{Value, json};

use crate::support::{Project, Served, flat, objects, text};

/// `kapstan ARGS` with only system directories on PATH: no helm anywhere.
fn without_helm(p: &Project, args: &[&str]) -> std::process::Command {
    let mut c = p.cmd(args);
    c.env("PATH", "/usr/local/sbin:/usr/sbin:/sbin:/bin");
    c
}

/// `kapstan sandbox serve` in the project: the persisted sandbox on its recorded port, as a
/// user keeps it running.
fn serve_project(p: &Project) -> Served {
    p.serve(&[], "recorded port")
}

/// Logs in as the first admin through the access URL `up` printed and creates workspaces
/// from the pushed react-typescript template, as users do.
fn create_workspaces(p: &Project, up_output: &str, env: &str, names: &[&str]) {
    let access = up_output
        .split_whitespace()
        .skip_while(|w| *w != "URL:")
        .nth(1)
        .expect("access URL printed")
        .to_string();
    let output = |name: &str| {
        let o = p.run(&["output", "--env", env, name]);
        String::from_utf8_lossy(&o.stdout).trim().to_string()
    };
    let login = json!({"email": output("admin_email"), "password": output("admin_password")});
    let (s, session) = coder_api(&access, None, "POST", "/users/login", Some(&login));
    assert_eq!(s, 201, "{session}");
    let token = session["session_token"].as_str().unwrap().to_string();
    let (_, tpl) = coder_api(
        &access,
        Some(&token),
        "GET",
        "/organizations/default/templates/react-typescript",
        None,
    );
    let tid = tpl["id"].as_str().expect("template pushed").to_string();
    for name in names {
        let (s, w) = coder_api(
            &access,
            Some(&token),
            "POST",
            "/users/me/workspaces",
            Some(&json!({"name": name, "template_id": tid})),
        );
        assert_eq!(s, 201, "{w}");
    }
}

/// Serves the project's persisted sandbox and returns its inspection document.
fn sandbox_resources(p: &Project) -> Value {
    let data_dir = p.dir.path().join(".kapstan/sandbox");
    let served = p.serve(
        &[
            "--addr",
            "127.0.0.1:0",
            "--data-dir",
            data_dir.to_str().unwrap(),
        ],
        "http://",
    );
    let body = Command::new("curl")
        .args(["-sf", &format!("{}/sandbox/v1/resources", served.url)])
        .output()
        .unwrap();
    serde_json::from_slice(&body.stdout).expect("inspection JSON")
}

fn cloud_objects(doc: &Value) -> usize {
    doc["resources"]
        .as_object()
        .map(|m| {
            m.iter()
                .filter(|(k, _)| {
                    ["vpc.", "vpcgw.", "k8s.cluster", "k8s.pool", "rdb.", "lb."]
                        .iter()
                        .any(|p| k.starts_with(p))
                })
                .map(|(_, v)| v.as_array().map_or(0, Vec::len))
                .sum()
        })
        .unwrap_or(0)
}

fn lifecycle(env: &str, node_type: &str, size: u64, db_type: &str, ha: bool, lb_type: &str) {
    let p = Project::new();
    let t = p.up_in_sandbox(env);
    assert!(t.contains("Access URL:   http://127.0.0.1:"), "{t}");
    let t_up = t.clone();
    assert!(
        t.contains(&format!(
            "Password:     kapstan output --env {env} admin_password"
        )),
        "{t}"
    );
    let kubeconfig = p.home.path().join(format!(".kube/config-coder-{env}"));
    assert!(kubeconfig.is_file(), "kubeconfig written");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&kubeconfig).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
    }
    let password = p.run(&["output", "--env", env, "admin_password"]);
    let password = String::from_utf8_lossy(&password.stdout).trim().to_string();
    assert_eq!(password.len(), 24);
    assert!(
        !t.contains(&password),
        "the password is never printed by up"
    );

    p.up_plans_nothing(env, "both phases converged");

    // The platform runs for a while: the cloud controller syncs the coder Service several
    // times and users create workspaces; neither shows as drift or as a planned change.
    {
        let served = serve_project(&p);
        served.wait_for_ccm_syncs(3);
        let o = p.run(&["drift", "--env", env, "--sandbox", "--detailed-exitcode"]);
        assert_eq!(
            o.status.code(),
            Some(0),
            "drift after CCM syncs: {}",
            text(&o)
        );
        // The plan of the platform as deployed (one template pushed) is empty.
        p.up_plans_nothing(env, "after CCM syncs");
        create_workspaces(&p, &t_up, env, &[&format!("{env}-alice")]);
    }

    let doc = sandbox_resources(&p);
    // VPC, private network, gateway IP, gateway, gateway network, cluster, pool, RDB instance,
    // database, user, privilege, ACL rule, LB IP, LB, LB private network attachment, and the
    // frontend and backend the cloud controller made for the coder Service.
    assert_eq!(cloud_objects(&doc), 17, "{doc:#}");
    let pools = objects(&doc, "k8s.pool");
    assert_eq!(pools.len(), 1);
    assert_eq!(pools[0]["node_type"], node_type);
    assert_eq!(pools[0]["size"], size);
    assert_eq!(pools[0]["autoscaling"], true);
    let dbs = objects(&doc, "rdb.instance");
    assert_eq!(dbs[0]["node_type"], db_type);
    assert_eq!(dbs[0]["is_ha_cluster"], ha);
    assert_eq!(objects(&doc, "lb.lb")[0]["type"], lb_type);

    let o = p.run(&["down", "--env", env, "--sandbox", "--auto-approve"]);
    let t = text(&o);
    assert!(o.status.success(), "{t}");
    assert!(t.contains("Backed up"), "{t}");
    assert!(
        t.contains(&format!("{env}-alice")),
        "the workspace went first: {t}"
    );
    assert!(t.contains("Removed"), "{t}");
    let doc = sandbox_resources(&p);
    assert_eq!(cloud_objects(&doc), 0, "nothing left: {doc:#}");
}

#[test]
fn dev_up_converges_and_down_leaves_nothing() {
    lifecycle("dev", "gp1_xs", 2, "db-dev-s", false, "lb-s");
}

#[test]
fn staging_up_converges_and_down_leaves_nothing() {
    lifecycle("staging", "gp1_s", 3, "db-gp-s", false, "lb-s");
}

#[test]
fn prod_up_converges_and_down_leaves_nothing() {
    lifecycle("prod", "gp1_m", 5, "db-gp-m", true, "lb-gp-m");
}

/// A Prometheus remote-write `WriteRequest` with one series of one sample, protobuf-encoded.
fn remote_write(labels: &[(&str, &str)], value: f64, timestamp_ms: i64) -> Vec<u8> {
    fn field(out: &mut Vec<u8>, tag: u8, bytes: &[u8]) {
        out.push(tag << 3 | 2);
        varint(out, bytes.len() as u64);
        out.extend_from_slice(bytes);
    }
    fn varint(out: &mut Vec<u8>, mut v: u64) {
        while v >= 0x80 {
            out.push((v as u8) | 0x80);
            v >>= 7;
        }
        out.push(v as u8);
    }
    let mut series = vec![];
    for (name, value) in labels {
        let mut label = vec![];
        field(&mut label, 1, name.as_bytes());
        field(&mut label, 2, value.as_bytes());
        field(&mut series, 1, &label);
    }
    let mut sample = vec![1 << 3 | 1];
    sample.extend_from_slice(&value.to_le_bytes());
    sample.push(2 << 3);
    varint(&mut sample, timestamp_ms as u64);
    field(&mut series, 2, &sample);
    let mut request = vec![];
    field(&mut request, 1, &series);
    request
}

#[test]
fn staging_monitoring_creates_cockpit_and_the_collector_costs_show_and_down_removes_it() {
    let p = Project::new();
    std::fs::create_dir_all(p.dir.path().join("environments")).unwrap();
    std::fs::write(
        p.dir.path().join("environments/staging.toml"),
        "[monitoring]\nalert_contacts = [\"ops@example.com\"]\nlogs_retention_days = 14\n",
    )
    .unwrap();
    let t = up_staging_plans_and_prices_monitoring(&p);
    let c = cost_lists_the_cockpit_lines(&p);

    let doc = sandbox_resources(&p);
    let metrics_url = cockpit_holds_the_sources_tokens_and_alerting(&doc);
    let token_secret = the_collector_runs_from_the_official_chart(&doc);
    {
        let _served = serve_project(&p);
        let token = health_sees_the_collector_then_pushed_metrics(&p, &metrics_url, &token_secret);
        assert!(!t.contains(&token), "nor by up: {t}");
        assert!(!c.contains(&token), "nor by cost: {c}");
    }

    let o = p.run(&["down", "--env", "staging", "--sandbox", "--auto-approve"]);
    assert!(o.status.success(), "{}", text(&o));
    let doc = sandbox_resources(&p);
    assert!(objects(&doc, "cockpit.data_source").is_empty(), "{doc:#}");
    assert!(objects(&doc, "cockpit.token").is_empty(), "{doc:#}");
    let alerting = objects(&doc, "cockpit.alert_manager");
    assert!(
        alerting.iter().all(|a| a["alert_manager_enabled"] == false),
        "{doc:#}"
    );
}

/// `up --env staging` with monitoring plans the Cockpit objects and the collector, and prices
/// the ingestion; the output of `up`.
fn up_staging_plans_and_prices_monitoring(p: &Project) -> String {
    let t = p.up_in_sandbox("staging");
    for declared in [
        "resource \"scaleway_cockpit_source\" \"cockpit-metrics\"",
        "resource \"scaleway_cockpit_source\" \"cockpit-logs\"",
        "resource \"scaleway_cockpit_token\" \"cockpit-push-token\"",
        "resource \"scaleway_cockpit_alert_manager\" \"cockpit-alerting\"",
        "resource \"helm_release\" \"alloy\"",
    ] {
        assert!(t.contains(declared), "{declared} planned: {t}");
    }
    // The app phase's plan prices the Cockpit ingestion and the 7 billed days of logs:
    // 43.2 M samples × €0.15/M = €6.48, 2 GB × €0.35 = €0.70, 2 GB × 7 days × €0.002 = €0.028.
    let app_plan = t
        .split("=== Stack coder-staging-app ===")
        .nth(1)
        .expect("app phase");
    assert!(
        app_plan.contains("Cost: €0.00/month → €7.21/month"),
        "{app_plan}"
    );
    t
}

/// `cost --env staging` lists the Cockpit ingestion and retention; its output.
fn cost_lists_the_cockpit_lines(p: &Project) -> String {
    let cost = p.run(&["cost", "--env", "staging", "--sandbox"]);
    let c = text(&cost);
    assert!(cost.status.success(), "{c}");
    assert!(
        c.contains("Cockpit metrics ingestion, 43200000 samples/month"),
        "{c}"
    );
    assert!(c.contains("Cockpit logs retention 14 days (7 free)"), "{c}");
    c
}

/// The sandbox holds the two data sources with their retention, the collector's write token
/// and the health check's read token, and alerting to the contact; the metrics source's URL.
fn cockpit_holds_the_sources_tokens_and_alerting(doc: &Value) -> String {
    let sources = objects(doc, "cockpit.data_source");
    let mut kinds: Vec<(String, u64)> = sources
        .iter()
        .map(|s| {
            (
                s["type"].as_str().unwrap().to_string(),
                s["retention_days"].as_u64().unwrap(),
            )
        })
        .collect();
    kinds.sort();
    assert_eq!(
        kinds,
        [("logs".to_string(), 14), ("metrics".to_string(), 31)],
        "{doc:#}"
    );
    // The collector's token writes, the health check's token reads.
    let mut tokens: Vec<String> = objects(doc, "cockpit.token")
        .iter()
        .map(|t| format!("{} {}", t["name"].as_str().unwrap(), t["scopes"]))
        .collect();
    tokens.sort();
    assert_eq!(
        tokens,
        [
            "coder-staging-alloy [\"write_only_metrics\",\"write_only_logs\"]",
            "coder-staging-health [\"read_only_metrics\"]"
        ],
        "{doc:#}"
    );
    let alerting = objects(doc, "cockpit.alert_manager");
    assert_eq!(alerting[0]["alert_manager_enabled"], true, "{doc:#}");
    assert_eq!(alerting[0]["managed_alerts_enabled"], true, "{doc:#}");
    assert!(
        alerting[0]["contact_points"]
            .to_string()
            .contains("ops@example.com"),
        "{doc:#}"
    );
    sources
        .iter()
        .find(|s| s["type"] == "metrics")
        .and_then(|s| s["url"].as_str())
        .unwrap()
        .to_string()
}

/// The collector runs from the official chart with the generated configuration, its token
/// Secret and network policies, and Coder exports metrics; the token Secret's data (base64).
fn the_collector_runs_from_the_official_chart(doc: &Value) -> String {
    let kube = objects(doc, "kube.object");
    let find = |kind: &str, ns: &str, name: &str| {
        kube.iter()
            .find(|o| {
                o["kind"] == kind
                    && o["metadata"]["namespace"] == ns
                    && o["metadata"]["name"] == name
            })
            .unwrap_or_else(|| panic!("{kind} {ns}/{name} in the cluster"))
    };
    let deployment = find("Deployment", "monitoring", "alloy");
    assert_eq!(
        deployment["metadata"]["labels"]["helm.sh/chart"],
        "alloy-1.11.1"
    );
    let config = find("ConfigMap", "monitoring", "alloy");
    let content = config["data"]["config.alloy"].as_str().unwrap();
    assert!(
        content.contains("prometheus.remote_write \"cockpit\""),
        "{content}"
    );
    find("Secret", "monitoring", "alloy-cockpit-token");
    find("NetworkPolicy", "monitoring", "allow-alloy");
    find("NetworkPolicy", "coder", "allow-coder-metrics-scrape");
    let coder = find("Deployment", "coder", "coder").to_string();
    assert!(coder.contains("CODER_PROMETHEUS_ENABLE"), "{coder}");
    find("Secret", "monitoring", "alloy-cockpit-token")["data"]["token"]
        .as_str()
        .expect("token in the Secret")
        .to_string()
}

/// Health (with the project's sandbox served): the collector runs; nothing scrapes in the
/// sandbox, so no Coder metrics yet; what the collector would push with the token it holds
/// arrives and health sees it, without printing the token. Returns the token.
fn health_sees_the_collector_then_pushed_metrics(
    p: &Project,
    metrics_url: &str,
    token_secret: &str,
) -> String {
    let health_line = |out: &str, check: &str| {
        out.lines()
            .find(|l| l.contains(check))
            .unwrap_or_else(|| panic!("health lacks {check}: {out}"))
            .trim()
            .to_string()
    };
    let h = text(&p.run(&["health", "--env", "staging", "--sandbox"]));
    let collector = health_line(&h, "collector (Deployment monitoring/alloy)");
    assert!(collector.starts_with("ok"), "{h}");
    let arrived = health_line(&h, "Coder metrics in Cockpit");
    assert!(
        arrived.starts_with("FAIL") && arrived.contains("no samples of job `coder`"),
        "{h}"
    );

    use base64::Engine as _;
    let token = base64::engine::general_purpose::STANDARD
        .decode(token_secret)
        .unwrap();
    let token = String::from_utf8(token).unwrap();
    assert_eq!(push_coder_sample(p, metrics_url, &token), "204");
    let h = text(&p.run(&["health", "--env", "staging", "--sandbox"]));
    let arrived = health_line(&h, "Coder metrics in Cockpit");
    assert!(
        arrived.starts_with("ok") && arrived.contains("1 series of job `coder`"),
        "{h}"
    );
    assert!(!h.contains(&token), "the token is never printed: {h}");
    token
}

/// Pushes one sample of job `coder` to `metrics_url` with `token`, as the collector does
/// (snappy remote-write through curl); the HTTP status curl saw.
fn push_coder_sample(p: &Project, metrics_url: &str, token: &str) -> String {
    let now_ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64;
    let body = snap::raw::Encoder::new()
        .compress_vec(&remote_write(
            &[
                ("__name__", "coderd_api_active_users_duration_hour"),
                ("job", "coder"),
            ],
            1.0,
            now_ms,
        ))
        .unwrap();
    let file = p.dir.path().join("push.bin");
    std::fs::write(&file, body).unwrap();
    let push = Command::new("curl")
        .args(["-s", "-o", "/dev/null", "-w", "%{http_code}", "-X", "POST"])
        .args(["-H", "Content-Encoding: snappy"])
        .args(["-H", "Content-Type: application/x-protobuf"])
        .args(["-H", &format!("X-Token: {token}")])
        .arg("--data-binary")
        .arg(format!("@{}", file.display()))
        .arg(format!("{metrics_url}/api/v1/push"))
        .output()
        .unwrap();
    String::from_utf8_lossy(&push.stdout).into_owned()
}

#[test]
fn bad_monitoring_settings_fail_before_any_call_and_enable_monitoring_switches_dev_on_once() {
    let p = Project::new();
    std::fs::create_dir_all(p.dir.path().join("environments")).unwrap();
    bad_monitoring_settings_fail_before_any_call(&p);
    enable_monitoring_switches_dev_on_once(&p);
}

/// Each bad `[monitoring]` setting, and a sandbox without the Alloy chart, fail `up` with the
/// field and the fix before anything is created.
fn bad_monitoring_settings_fail_before_any_call(p: &Project) {
    for (settings, expected) in [
        (
            "[monitoring]\ncollect = [\"coder_metric\"]\n",
            "line 2: [monitoring] collect: \"coder_metric\" is not a collector target (did you mean `coder_metrics`?)",
        ),
        (
            "[monitoring]\nmetrics_retention_days = 2000\n",
            "line 2: [monitoring] metrics_retention_days = 2000 is out of range: Cockpit keeps data 1 to 1825 days",
        ),
        (
            "[monitoring]\nalert_contacts = [\"ops at example.com\"]\n",
            "line 2: [monitoring] alert_contacts[0] = \"ops at example.com\" is not an e-mail address",
        ),
    ] {
        std::fs::write(p.dir.path().join("environments/staging.toml"), settings).unwrap();
        let o = p.run(&["up", "--env", "staging", "--sandbox", "--auto-approve"]);
        let t = text(&o);
        assert!(!o.status.success(), "{t}");
        // The renderer wraps long messages in a box.
        let flat = flat(&o);
        assert!(flat.contains(expected), "{expected}: {t}");
        assert!(
            !p.dir.path().join(".kapstan/sandbox").exists()
                || cloud_objects(&sandbox_resources(p)) == 0,
            "nothing was created: {t}"
        );
    }
    std::fs::remove_file(p.dir.path().join("environments/staging.toml")).unwrap();
    // A sandbox that cannot serve the Alloy chart is refused before infra is touched.
    let o = p
        .cmd(&["up", "--env", "staging", "--sandbox", "--auto-approve"])
        .env_remove("KAPSTAN_SANDBOX_CHART_DIRS")
        .output()
        .unwrap();
    let t = text(&o);
    assert!(!o.status.success(), "{t}");
    let flat = flat(&o);
    assert!(
        flat.contains("has no `alloy` chart 1.11.1") && flat.contains("KAPSTAN_SANDBOX_CHART_DIRS"),
        "{t}"
    );
    assert_eq!(
        cloud_objects(&sandbox_resources(p)),
        0,
        "nothing created: {t}"
    );
}

/// Dev's monitoring is off by default; `--enable-monitoring` turns it on once and it stays on
/// without the flag; `[monitoring] enabled = false` refuses the flag and removes it.
fn enable_monitoring_switches_dev_on_once(p: &Project) {
    let o = p.run_line("up --env dev --sandbox --auto-approve --no-coder --phase infra");
    assert!(o.status.success(), "{}", text(&o));
    let plan = |extra: &[&str]| {
        let mut args = vec![
            "up",
            "--env",
            "dev",
            "--sandbox",
            "--template",
            "react-typescript",
            "--phase",
            "app",
        ];
        args.extend_from_slice(extra);
        let o = p.run(&args);
        let t = text(&o);
        assert!(o.status.success(), "{t}");
        t
    };
    let off = plan(&["--dry-run"]);
    assert!(!off.contains("helm_release\" \"alloy\""), "{off}");
    let on = plan(&["--auto-approve", "--enable-monitoring"]);
    assert!(on.contains("resource \"helm_release\" \"alloy\""), "{on}");
    assert!(on.contains("scaleway_cockpit_source"), "{on}");
    let again = plan(&["--dry-run"]);
    assert!(
        again.contains("No changes."),
        "the collector stays without the flag: {again}"
    );
    let o = p.run(&["plan", "--env", "dev", "--phase", "app", "--sandbox"]);
    let whole = text(&o);
    assert!(
        !whole.contains("will be destroyed"),
        "plan agrees with up: {whole}"
    );
    std::fs::write(
        p.dir.path().join("environments/dev.toml"),
        "[monitoring]\nenabled = false\n",
    )
    .unwrap();
    let o = p.run_line("up --env dev --sandbox --dry-run --enable-monitoring");
    let t = text(&o);
    assert!(!o.status.success(), "{t}");
    assert!(
        flat(&o).contains("sets [monitoring] enabled = false"),
        "{t}"
    );
    // (`up --template` targets the templates, so the whole plan shows what the file removes.)
    let o = p.run(&["plan", "--env", "dev", "--phase", "app", "--sandbox"]);
    let off = text(&o);
    assert!(
        off.contains("helm_release.alloy will be destroyed")
            && off.contains("scaleway_cockpit_source.cockpit-metrics will be destroyed"),
        "`enabled = false` removes it: {off}"
    );
}

#[test]
fn a_failed_app_phase_keeps_infra_and_the_next_up_finishes_only_the_app() {
    let p = Project::new();
    let o = without_helm(
        &p,
        &[
            "up",
            "--env",
            "dev",
            "--sandbox",
            "--auto-approve",
            "--template",
            "go-fiber",
        ],
    )
    .output()
    .unwrap();
    let t = text(&o);
    assert!(
        !o.status.success(),
        "helm is missing, the app phase must fail: {t}"
    );
    assert!(t.contains("helm"), "{t}");
    assert!(
        p.home.path().join(".kube/config-coder-dev").is_file(),
        "infra reachable"
    );
    let o = p.run_line("up --env dev --sandbox --auto-approve --template go-fiber");
    let t = text(&o);
    assert!(o.status.success(), "{t}");
    let infra = t.split("== coder-dev-app").next().unwrap();
    assert!(
        infra.contains("No changes. Stack `coder-dev-infra`"),
        "infra not redone: {t}"
    );
    assert!(
        t.contains("Apply complete!") || t.contains("Creation complete"),
        "{t}"
    );
}

#[test]
fn bad_platform_input_is_refused_before_any_call() {
    let p = Project::new();
    let o = p.run(&["down", "--env", "dev", "--sandbox"]);
    assert!(!o.status.success());
    assert!(text(&o).contains("without --auto-approve"), "{}", text(&o));
    assert!(
        text(&o).contains("kapstan down --env dev --sandbox --auto-approve"),
        "the suggestion keeps --sandbox: {}",
        text(&o)
    );
    let o = p.run(&["up", "--env", "dev", "--sandbox", "--domain", "example.com"]);
    assert!(!o.status.success());
    assert!(text(&o).contains("without --subdomain"), "{}", text(&o));
    let o = p.run(&["up", "--env", "qa", "--sandbox"]);
    assert!(!o.status.success());
    assert!(text(&o).contains("is not an environment"), "{}", text(&o));
    let o = p.run(&["up", "--env", "dev", "--auto-approve"]);
    assert!(!o.status.success());
    let t = text(&o);
    assert!(
        t.contains("SCW_SECRET_KEY"),
        "names the variables to set: {t}"
    );
    assert!(
        !p.dir
            .path()
            .join(".kapstan/state/coder-dev-infra.redb")
            .exists()
            || p.run(&["state", "list", "--stack", "coder-dev-infra"])
                .stdout
                .is_empty()
    );
    std::fs::create_dir_all(p.dir.path().join("environments")).unwrap();
    std::fs::write(
        p.dir.path().join("environments/dev.toml"),
        "region = \"fr-par\"\n\n[pool]\nnode_typ = \"GP1-S\"\n",
    )
    .unwrap();
    let o = p.run(&["up", "--env", "dev", "--sandbox", "--dry-run"]);
    let t = text(&o);
    assert!(!o.status.success());
    assert!(
        t.contains("environments/dev.toml") && t.contains("line 4") && t.contains("node_typ"),
        "{t}"
    );
}

#[test]
fn hooks_run_in_order_with_public_outputs_and_a_failing_pre_up_stops_everything() {
    let p = Project::new();
    let hooks = p.dir.path().join("hooks");
    std::fs::create_dir_all(&hooks).unwrap();
    let record = p.dir.path().join("hooks.log");
    let write_hook = |name: &str, exit: i32| {
        let path = hooks.join(name);
        std::fs::write(
            &path,
            format!(
                "#!/bin/sh\necho \"$KAPSTAN_HOOK env=$KAPSTAN_ENV phase=$KAPSTAN_PHASE url=$KAPSTAN_OUTPUT_ACCESS_URL $(env | grep -c PASSWORD)\" >> {}\nexit {exit}\n",
                record.display()
            ),
        )
        .unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
        }
    };
    write_hook("pre-up", 3);
    let o = p.run_line("up --env dev --sandbox --auto-approve --no-coder");
    let t = text(&o);
    assert!(!o.status.success(), "{t}");
    assert!(t.contains("pre-up"), "names the hook: {t}");
    assert!(
        !p.dir.path().join(".kapstan/sandbox").exists(),
        "no API was touched"
    );

    for name in [
        "pre-up",
        "pre-up-infra",
        "post-up-infra",
        "pre-up-app",
        "post-up-app",
        "post-up",
    ] {
        write_hook(name, 0);
    }
    std::fs::remove_file(&record).unwrap();
    let o = p.run_line("up --env dev --sandbox --auto-approve --no-coder");
    assert!(o.status.success(), "{}", text(&o));
    let log = std::fs::read_to_string(&record).unwrap();
    let order: Vec<&str> = log
        .lines()
        .map(|l| l.split_whitespace().next().unwrap())
        .collect();
    assert_eq!(
        order,
        [
            "pre-up",
            "pre-up-infra",
            "post-up-infra",
            "pre-up-app",
            "post-up-app",
            "post-up"
        ]
    );
    assert!(log.lines().all(|l| l.contains("env=dev")), "{log}");
    assert!(
        log.contains("phase=infra") && log.contains("phase=app"),
        "{log}"
    );
    let last = log.lines().last().unwrap();
    assert!(
        last.contains("url=http://"),
        "public outputs are passed: {log}"
    );
    assert!(
        log.lines().all(|l| l.ends_with(" 0")),
        "no password variable reaches a hook: {log}"
    );
    let logs = p.dir.path().join("logs/up");
    assert_eq!(
        std::fs::read_dir(&logs).unwrap().count(),
        2,
        "a log per run"
    );
}

#[test]
fn templates_push_to_the_sandbox_coder_and_health_sees_them() {
    let p = Project::new();
    p.up_in_sandbox("dev");
    // `--template` pushes the named template and leaves the recorded ones alone.
    let o = p.run_line("up --env dev --sandbox --dry-run --template go-fiber");
    let t = text(&o);
    assert!(o.status.success(), "{t}");
    assert!(
        t.contains("coder_template.template-go-fiber will be created"),
        "{t}"
    );
    assert!(
        !t.contains("will be destroyed"),
        "nothing planned away: {t}"
    );
    let o = p.run_line("templates push --env dev go-fiber --sandbox --auto-approve");
    let t = text(&o);
    assert!(o.status.success(), "{t}");
    assert!(t.contains("template-go-fiber: Creation complete"), "{t}");
    assert!(
        !t.contains("template-react-typescript: Destr"),
        "other templates untouched: {t}"
    );
    let o = p.run(&["health", "--env", "dev", "--sandbox"]);
    let t = text(&o);
    assert!(o.status.success(), "{t}");
    assert!(
        t.contains("go-fiber, react-typescript"),
        "both templates in Coder: {t}"
    );
}

/// `curl` of the Coder API at `url`, with a session token when given: `(status, body)`.
fn coder_api(
    url: &str,
    token: Option<&str>,
    method: &str,
    path: &str,
    body: Option<&Value>,
) -> (u16, Value) {
    let mut args = vec![
        "-s".to_string(),
        "-o".into(),
        "/dev/stdout".into(),
        "-w".into(),
        "\n%{http_code}".into(),
        "-X".into(),
        method.into(),
        format!("{url}/api/v2{path}"),
    ];
    if let Some(t) = token {
        args.extend(["-H".into(), format!("Coder-Session-Token: {t}")]);
    }
    if let Some(b) = body {
        args.extend([
            "-H".into(),
            "content-type: application/json".into(),
            "-d".into(),
            b.to_string(),
        ]);
    }
    let out = Command::new("curl").args(&args).output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    let (body, code) = text.rsplit_once('\n').unwrap_or(("", "0"));
    (
        code.trim().parse().unwrap_or(0),
        serde_json::from_str(body).unwrap_or(Value::Null),
    )
}

#[test]
fn down_deletes_the_workspaces_users_created() {
    let p = Project::new();
    let t = p.up_in_sandbox("dev");

    // Users create workspaces while the platform runs (the persisted sandbox, served).
    {
        let _served = serve_project(&p);
        create_workspaces(&p, &t, "dev", &["alice-web", "bob-web"]);
    }

    let o = p.run(&["down", "--env", "dev", "--sandbox", "--confirm"]);
    let t = text(&o);
    assert!(o.status.success(), "{t}");
    assert!(t.contains("Backed up"), "{t}");
    assert!(
        t.contains("deleted the workspaces of template-react-typescript: "),
        "{t}"
    );
    assert!(t.contains("alice-web") && t.contains("bob-web"), "{t}");
    let doc = sandbox_resources(&p);
    assert_eq!(cloud_objects(&doc), 0, "nothing left: {doc:#}");
}
