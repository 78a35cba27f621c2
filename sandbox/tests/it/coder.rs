//! The Coder emulator against the rules of the real server (`reference/coder-api-real.md`),
//! with raw HTTP: rate limits, provisioner daemons and the job queue, logs, 2.21 PATCH
//! semantics, names and passwords, files, templates with workspaces, organizations and faults.

use std::time::Duration;

use kapstan_sandbox::{CoderOptions, FaultSpec, Sandbox, SandboxOptions};
use serde_json::{Value, json};

use crate::support::{Api, strings};

struct Coder {
    _sandbox: Sandbox,
    http: reqwest::Client,
    url: String,
    token: String,
}

const PASSWORD: &str = "Sandbox-Owner-Pass-2024!";

fn tar_of(files: &[(&str, &str)]) -> Vec<u8> {
    let mut b = tar::Builder::new(Vec::new());
    for (name, body) in files {
        let mut h = tar::Header::new_ustar();
        h.set_size(body.len() as u64);
        h.set_mode(0o644);
        h.set_cksum();
        b.append_data(&mut h, name, body.as_bytes()).unwrap();
    }
    b.into_inner().unwrap()
}

/// A sandbox with a cluster, a load balancer and a Coder Deployment behind it; the Coder
/// endpoint's URL; no user yet.
async fn bare(speed: f64, coder: CoderOptions) -> (Sandbox, reqwest::Client, String) {
    let sandbox = Sandbox::start(SandboxOptions {
        speed,
        coder,
        ..Default::default()
    })
    .await
    .unwrap();
    let http = reqwest::Client::new();
    let api = Api::new(&sandbox);
    let cluster = sandbox.create_cluster("c").await.unwrap();
    let (code, lb) = api
        .post(
            "/lb/v1/zones/fr-par-1/lbs",
            json!({"name": "coder", "type": "LB-S"}),
        )
        .await;
    assert_eq!(code, 200, "{lb}");
    let (server, token) = (cluster.server, cluster.token);
    let kube = |path: &str, body: Value| {
        http.post(format!("{server}{path}"))
            .bearer_auth(&token)
            .json(&body)
            .send()
    };
    let labels = json!({"app.kubernetes.io/name": "coder"});
    let r = kube("/apis/apps/v1/namespaces/default/deployments", json!({
        "apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "coder"},
        "spec": {"replicas": 1, "selector": {"matchLabels": labels},
            "template": {"metadata": {"labels": labels}, "spec": {"containers": [
                {"name": "coder", "image": "ghcr.io/coder/coder:v2.21.1",
                 "env": [{"name": "CODER_ACCESS_URL", "value": "https://coder.example.com"}]}]}}}
    })).await.unwrap();
    assert!(r.status().is_success(), "{}", r.text().await.unwrap());
    let lb_id = lb["id"].as_str().unwrap();
    let r = kube(
        "/api/v1/namespaces/default/services",
        json!({
            "apiVersion": "v1", "kind": "Service",
            "metadata": {"name": "coder", "annotations": {
                "service.beta.kubernetes.io/scw-loadbalancer-id": format!("fr-par-1/{lb_id}")}},
            "spec": {"type": "LoadBalancer", "selector": labels,
                "ports": [{"name": "http", "port": 80, "targetPort": 8080}]}
        }),
    )
    .await
    .unwrap();
    assert!(r.status().is_success(), "{}", r.text().await.unwrap());
    let (_, ep) = api
        .get(&format!("/sandbox/v1/lb-endpoints/fr-par-1/{lb_id}"))
        .await;
    let url = ep["url"].as_str().unwrap().to_string();
    loop {
        let r = http.get(format!("{url}/healthz")).send().await;
        if r.is_ok_and(|r| r.status().is_success()) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    (sandbox, http, url)
}

async fn coder(speed: f64, options: CoderOptions) -> Coder {
    let (sandbox, http, url) = bare(speed, options).await;
    let r = http
        .post(format!("{url}/api/v2/users/first"))
        .json(&json!({"email": "admin@example.com", "username": "admin", "password": PASSWORD, "name": "Admin"}))
        .send().await.unwrap();
    assert_eq!(r.status(), 201, "{}", r.text().await.unwrap());
    let v: Value = http
        .post(format!("{url}/api/v2/users/login"))
        .json(&json!({"email": "admin@example.com", "password": PASSWORD}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    Coder {
        _sandbox: sandbox,
        http,
        url,
        token: v["session_token"].as_str().unwrap().to_string(),
    }
}

impl Coder {
    async fn call(
        &self,
        method: &str,
        path: &str,
        body: Option<Value>,
    ) -> (u16, Value, reqwest::header::HeaderMap) {
        let mut req = self
            .http
            .request(
                method.parse().unwrap(),
                format!("{}/api/v2{path}", self.url),
            )
            .header("coder-session-token", &self.token);
        if let Some(b) = body {
            req = req.json(&b);
        }
        let r = req.send().await.unwrap();
        let status = r.status().as_u16();
        let headers = r.headers().clone();
        let text = r.text().await.unwrap();
        (
            status,
            serde_json::from_str(&text).unwrap_or(Value::Null),
            headers,
        )
    }

    async fn upload(&self, tar: Vec<u8>, ctype: &str) -> (u16, Value, reqwest::header::HeaderMap) {
        let r = self
            .http
            .post(format!("{}/api/v2/files", self.url))
            .header("coder-session-token", &self.token)
            .header("content-type", ctype)
            .body(tar)
            .send()
            .await
            .unwrap();
        let status = r.status().as_u16();
        let headers = r.headers().clone();
        (status, r.json().await.unwrap_or(Value::Null), headers)
    }

    async fn org(&self) -> String {
        let (_, orgs, _) = self.call("GET", "/users/me/organizations", None).await;
        orgs.as_array()
            .unwrap()
            .iter()
            .find(|o| o["is_default"] == true)
            .unwrap()["id"]
            .as_str()
            .unwrap()
            .to_string()
    }

    /// Uploads `main_tf` and creates a version (optionally of `template`); returns it.
    async fn version(&self, main_tf: &str, template: Option<&str>) -> Value {
        let (s, f, _) = self
            .upload(tar_of(&[("main.tf", main_tf)]), "application/x-tar")
            .await;
        assert!(s == 201 || s == 200, "{s} {f}");
        let mut body =
            json!({"storage_method": "file", "provisioner": "terraform", "file_id": f["hash"]});
        if let Some(t) = template {
            body["template_id"] = json!(t);
        }
        let org = self.org().await;
        let (s, v, _) = self
            .call(
                "POST",
                &format!("/organizations/{org}/templateversions"),
                Some(body),
            )
            .await;
        assert_eq!(s, 201, "{v}");
        v
    }

    async fn wait_job(&self, vid: &str) -> Value {
        loop {
            let (_, v, _) = self
                .call("GET", &format!("/templateversions/{vid}"), None)
                .await;
            if !matches!(v["job"]["status"].as_str(), Some("pending" | "running")) {
                return v;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    async fn template(&self, name: &str, extra: Value) -> Value {
        let v = self
            .version("resource \"null_resource\" \"a\" {}\n", None)
            .await;
        self.wait_job(v["id"].as_str().unwrap()).await;
        let org = self.org().await;
        let mut body = json!({"name": name, "template_version_id": v["id"]});
        for (k, x) in extra.as_object().unwrap() {
            body[k] = x.clone();
        }
        let (s, t, _) = self
            .call(
                "POST",
                &format!("/organizations/{org}/templates"),
                Some(body),
            )
            .await;
        assert_eq!(s, 201, "{t}");
        t
    }
}

fn strict() -> CoderOptions {
    CoderOptions {
        rate_windows_follow_speed: false,
        ..Default::default()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rate_limits_answer_429_with_retry_after() {
    let c = coder(200.0, strict()).await;
    for i in 0..12 {
        let (s, _, h) = c
            .upload(
                tar_of(&[("main.tf", &format!("# {i}\n"))]),
                "application/x-tar",
            )
            .await;
        assert_eq!(s, 201);
        assert_eq!(h["x-ratelimit-remaining"], (11 - i).to_string().as_str());
    }
    let (s, body, h) = c
        .upload(tar_of(&[("main.tf", "# 13\n")]), "application/x-tar")
        .await;
    assert_eq!(s, 429, "the 13th upload in a minute is refused");
    assert!(body["message"].as_str().unwrap().contains("rate limited"));
    let wait: u64 = h["retry-after"].to_str().unwrap().parse().unwrap();
    assert_eq!(
        wait, 60,
        "Retry-After is the window length, as httprate sends it"
    );
    // Other paths are counted apart; logins have their own budget of 60.
    assert_eq!(c.call("GET", "/users/me", None).await.0, 200);
    let login = || {
        c.http
            .post(format!("{}/api/v2/users/login", c.url))
            .json(&json!({"email": "admin@example.com", "password": PASSWORD}))
            .send()
    };
    let mut statuses = vec![];
    for _ in 0..60 {
        statuses.push(login().await.unwrap().status().as_u16());
    }
    // The set-up logged in once already.
    assert_eq!(
        statuses.iter().filter(|s| **s == 429).count(),
        1,
        "{statuses:?}"
    );
    // 512 requests a minute on one path, per user.
    let c = coder(
        200.0,
        CoderOptions {
            api_rate_limit: 20,
            ..strict()
        },
    )
    .await;
    for _ in 0..20 {
        assert_eq!(c.call("GET", "/users/me", None).await.0, 200);
    }
    assert_eq!(c.call("GET", "/users/me", None).await.0, 429);
    assert_eq!(c.call("GET", "/users/me/organizations", None).await.0, 200);
    assert_eq!(CoderOptions::default().api_rate_limit, 512);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn jobs_queue_on_three_daemons_and_fail_with_logs() {
    let c = coder(20.0, CoderOptions::default()).await;
    let mut ids = vec![];
    for i in 0..5 {
        let v = c
            .version(&format!("resource \"null_resource\" \"a{i}\" {{}}\n"), None)
            .await;
        assert_eq!(v["matched_provisioners"]["count"], 3);
        ids.push(v["id"].as_str().unwrap().to_string());
    }
    tokio::time::sleep(Duration::from_millis(50)).await;
    let mut statuses = vec![];
    for id in &ids {
        let (_, v, _) = c
            .call("GET", &format!("/templateversions/{id}"), None)
            .await;
        statuses.push((
            v["job"]["status"].as_str().unwrap().to_string(),
            v["job"]["queue_position"].as_u64().unwrap(),
        ));
    }
    assert_eq!(
        statuses.iter().filter(|(s, _)| s == "running").count(),
        3,
        "{statuses:?}"
    );
    assert_eq!(statuses[3], ("pending".to_string(), 1));
    assert_eq!(statuses[4], ("pending".to_string(), 2));
    // A pending version cannot be promoted.
    let t = c.template("queued", json!({})).await;
    let tid = t["id"].as_str().unwrap();
    let pending = c
        .version("resource \"null_resource\" \"b\" {}\n", Some(tid))
        .await;
    let (s, _, _) = c
        .call(
            "PATCH",
            &format!("/templates/{tid}/versions"),
            Some(json!({"id": pending["id"]})),
        )
        .await;
    assert_eq!(s, 403, "promoting an unfinished version");
    // A failed build: a short job.error, the cause in the logs.
    let bad = c
        .version(
            "# kapstan-sandbox: fail=Unsupported argument \"imgae\"\n",
            None,
        )
        .await;
    let bad = c.wait_job(bad["id"].as_str().unwrap()).await;
    assert_eq!(bad["job"]["status"], "failed");
    assert_eq!(bad["job"]["error"], "terraform plan: exit status 1");
    let (s, logs, _) = c
        .call(
            "GET",
            &format!("/templateversions/{}/logs", bad["id"].as_str().unwrap()),
            None,
        )
        .await;
    assert_eq!(s, 200);
    let lines: Vec<&str> = strings(&logs, "output");
    assert!(
        lines
            .iter()
            .any(|l| l.contains("Unsupported argument \"imgae\"")),
        "{lines:?}"
    );
    assert!(
        logs.as_array()
            .unwrap()
            .iter()
            .all(|l| l["stage"].is_string() && l["log_level"].is_string())
    );
    // status=unknown on demand.
    let u = c.version("# kapstan-sandbox: status=unknown\n", None).await;
    assert_eq!(
        c.wait_job(u["id"].as_str().unwrap()).await["job"]["status"],
        "unknown"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_matching_daemons_jobs_stay_pending() {
    let c = coder(
        200.0,
        CoderOptions {
            provisioner_daemons: 0,
            ..Default::default()
        },
    )
    .await;
    let v = c
        .version("resource \"null_resource\" \"a\" {}\n", None)
        .await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let (_, v, _) = c
        .call(
            "GET",
            &format!("/templateversions/{}", v["id"].as_str().unwrap()),
            None,
        )
        .await;
    assert_eq!(v["job"]["status"], "pending");
    assert_eq!(v["matched_provisioners"]["count"], 0);
    // Tags no daemon has: also unmatched, with daemons present.
    let c = coder(200.0, CoderOptions::default()).await;
    let (_, f, _) = c
        .upload(tar_of(&[("main.tf", "#\n")]), "application/x-tar")
        .await;
    let org = c.org().await;
    let (_, v, _) = c.call("POST", &format!("/organizations/{org}/templateversions"),
        Some(json!({"storage_method": "file", "provisioner": "terraform", "file_id": f["hash"], "tags": {"region": "mars"}}))).await;
    assert_eq!(v["matched_provisioners"]["count"], 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn patch_resets_omitted_fields_like_coder_2_21() {
    let c = coder(200.0, CoderOptions::default()).await;
    let t = c
        .template(
            "docker",
            json!({"icon": "/icon/docker.png", "display_name": "Docker"}),
        )
        .await;
    assert_eq!(
        t["activity_bump_ms"], 3_600_000,
        "1 h by default at creation"
    );
    let tid = t["id"].as_str().unwrap();
    let (s, after, _) = c
        .call(
            "PATCH",
            &format!("/templates/{tid}"),
            Some(json!({"display_name": "Docker 2"})),
        )
        .await;
    assert_eq!(s, 200);
    assert_eq!(after["display_name"], "Docker 2");
    assert_eq!(after["icon"], "", "omitted icon reset");
    assert_eq!(after["activity_bump_ms"], 0, "omitted activity bump reset");
    assert_eq!(after["allow_user_cancel_workspace_jobs"], false);
    assert_eq!(after["name"], "docker", "the name stays when not sent");
    // The same body again changes nothing: 304.
    let (s, _, _) = c
        .call("PATCH", &format!("/templates/{tid}"), Some(after.clone()))
        .await;
    assert_eq!(s, 304);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn names_passwords_and_first_user_follow_coder() {
    let (_sb, http, url) = bare(200.0, CoderOptions::default()).await;
    let first = |username: &str, password: &str| {
        http.post(format!("{url}/api/v2/users/first"))
            .json(&json!({"email": "a@example.com", "username": username, "password": password}))
            .send()
    };
    for bad in ["new", "create", "a_b", "-a", "a--b", &"a".repeat(33)] {
        let r = first(bad, PASSWORD).await.unwrap();
        assert_eq!(r.status(), 400, "{bad}");
        let v: Value = r.json().await.unwrap();
        assert_eq!(v["validations"][0]["field"], "username", "{v}");
    }
    for weak in [
        "password",
        "Passw0rd",
        "aaaaaaaaaaaaaaaaaaaaaaaa",
        "abcdefghij",
    ] {
        let r = first("admin", weak).await.unwrap();
        assert_eq!(r.status(), 400, "{weak}");
        let v: Value = r.json().await.unwrap();
        assert_eq!(v["message"], "Password not strong enough!");
    }
    let r = first("admin", &format!("{PASSWORD}{}", "x".repeat(50)))
        .await
        .unwrap();
    assert_eq!(r.status(), 400, "over 64 characters");
    assert_eq!(first("admin", PASSWORD).await.unwrap().status(), 201);
    assert_eq!(first("admin2", PASSWORD).await.unwrap().status(), 409);
    let r = http
        .get(format!("{url}/api/v2/users/first"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);

    let c = coder(200.0, CoderOptions::default()).await;
    let v = c
        .version("resource \"null_resource\" \"a\" {}\n", None)
        .await;
    c.wait_job(v["id"].as_str().unwrap()).await;
    let org = c.org().await;
    let path = format!("/organizations/{org}/templates");
    let create = |body: Value| c.call("POST", &path, Some(body));
    for (field, body) in [
        ("name", json!({"name": "my_template"})),
        ("name", json!({"name": "new"})),
        (
            "display_name",
            json!({"name": "ok", "display_name": " padded"}),
        ),
        (
            "display_name",
            json!({"name": "ok", "display_name": "d".repeat(65)}),
        ),
        (
            "description",
            json!({"name": "ok", "description": "d".repeat(128)}),
        ),
    ] {
        let mut body = body;
        body["template_version_id"] = v["id"].clone();
        let (s, e, _) = create(body).await;
        assert_eq!(s, 400, "{e}");
        assert_eq!(e["validations"][0]["field"], field, "{e}");
    }
    let mut ok =
        json!({"name": "ok", "description": "d".repeat(127), "template_version_id": v["id"]});
    assert_eq!(create(ok.clone()).await.0, 201);
    let v2 = c
        .version("resource \"null_resource\" \"b\" {}\n", None)
        .await;
    c.wait_job(v2["id"].as_str().unwrap()).await;
    ok["template_version_id"] = v2["id"].clone();
    assert_eq!(create(ok).await.0, 409, "duplicate name");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn files_check_type_size_and_deduplicate() {
    let c = coder(200.0, CoderOptions::default()).await;
    let tar = tar_of(&[("main.tf", "#\n")]);
    assert_eq!(
        c.upload(tar.clone(), "application/octet-stream").await.0,
        400
    );
    assert_eq!(
        c.upload(tar.clone(), "application/x-tar; charset=utf-8")
            .await
            .0,
        400
    );
    let (s1, a, _) = c.upload(tar.clone(), "application/x-tar").await;
    let (s2, b, _) = c.upload(tar, "application/x-tar").await;
    assert_eq!((s1, s2), (201, 200));
    assert_eq!(a["hash"], b["hash"]);
    let (s, e, _) = c
        .upload(vec![0u8; (100 << 20) + 1], "application/zip")
        .await;
    assert_eq!(s, 400, "{e}");
    assert!(e["detail"].as_str().unwrap().contains("too large"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn templates_with_workspaces_cannot_be_deleted_until_delete_builds_ran() {
    let c = coder(20.0, CoderOptions::default()).await;
    let t = c.template("docker", json!({})).await;
    let other = c.template("other", json!({})).await;
    let tid = t["id"].as_str().unwrap();
    let org = c.org().await;
    let (s, w1, _) = c
        .call(
            "POST",
            &format!("/organizations/{org}/members/me/workspaces"),
            Some(json!({"name": "alice-dev", "template_id": tid})),
        )
        .await;
    assert_eq!(s, 201, "{w1}");
    let (s, w2, _) = c
        .call(
            "POST",
            "/users/admin/workspaces",
            Some(json!({"name": "bob-dev", "template_id": tid})),
        )
        .await;
    assert_eq!(s, 201, "{w2}");
    let (s, _, _) = c
        .call(
            "POST",
            "/users/me/workspaces",
            Some(json!({"name": "x", "template_id": other["id"]})),
        )
        .await;
    assert_eq!(s, 201);
    let (_, list, _) = c.call("GET", "/workspaces?q=template:docker", None).await;
    assert_eq!(list["count"], 2, "{list}");
    let (s, e, _) = c.call("DELETE", &format!("/templates/{tid}"), None).await;
    assert_eq!(s, 400);
    assert_eq!(
        e["message"],
        "All workspaces must be deleted before a template can be removed."
    );
    for w in [&w1, &w2] {
        let wid = w["id"].as_str().unwrap();
        loop {
            let (s, b, _) = c
                .call(
                    "POST",
                    &format!("/workspaces/{wid}/builds"),
                    Some(json!({"transition": "delete"})),
                )
                .await;
            if s == 201 {
                assert_eq!(b["transition"], "delete");
                break;
            }
            assert_eq!(s, 409, "a build is still active: {b}");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
    // Still there while the delete builds are queued or running.
    assert_eq!(
        c.call("DELETE", &format!("/templates/{tid}"), None).await.0,
        400
    );
    loop {
        let (_, list, _) = c.call("GET", "/workspaces?q=template:docker", None).await;
        if list["count"] == 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(
        c.call(
            "GET",
            &format!("/workspaces/{}", w1["id"].as_str().unwrap()),
            None
        )
        .await
        .0,
        410
    );
    assert_eq!(
        c.call("DELETE", &format!("/templates/{tid}"), None).await.0,
        200
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_default_organization_is_marked_not_first() {
    let c = coder(200.0, CoderOptions::default()).await;
    let (s, _, _) = c
        .call("POST", "/organizations", Some(json!({"name": "acme"})))
        .await;
    assert_eq!(s, 201);
    let (_, orgs, _) = c.call("GET", "/users/me/organizations", None).await;
    let orgs = orgs.as_array().unwrap();
    assert_eq!(orgs.len(), 2);
    assert_eq!(orgs[0]["name"], "acme");
    assert_eq!(orgs[0]["is_default"], false);
    assert_eq!(orgs[1]["is_default"], true);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn faults_inject_429_5xx_and_lost_responses() {
    let faults = |spec: &str| CoderOptions {
        faults: FaultSpec::parse(spec).unwrap(),
        ..Default::default()
    };
    let first = json!({"email": "a@example.com", "username": "admin", "password": PASSWORD});
    let (_a, http, url) = bare(200.0, faults("429=1")).await;
    let r = http
        .get(format!("{url}/api/v2/buildinfo"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 429);
    assert!(r.headers().contains_key("retry-after"));
    let v: Value = r.json().await.unwrap();
    assert!(v["message"].is_string());
    let (_b, http, url) = bare(200.0, faults("503=1")).await;
    let r = http
        .get(format!("{url}/api/v2/buildinfo"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 503);
    // A lost response: the first user is created, the client hears nothing back.
    let (_c, http, url) = bare(200.0, faults("lost=1")).await;
    let sent = async {
        http.post(format!("{url}/api/v2/users/first"))
            .json(&first)
            .send()
            .await?
            .text()
            .await
    };
    assert!(sent.await.is_err(), "the response must be lost");
    let r = http
        .get(format!("{url}/api/v2/users/first"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200, "the mutation was applied");
}
