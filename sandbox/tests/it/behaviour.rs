//! One test per behaviour of the reference's simulator checklist (§10): routing and
//! localities, authentication, state machines, transient-state and in-use errors, status
//! codes, error bodies, pagination and filters, PATCH/PUT semantics, encodings, server-side
//! defaults, kubeconfig, fault injection, persistence and the inspection endpoint.

use std::time::{Duration, Instant};

use kapstan_sandbox::{FaultSpec, Sandbox, SandboxError, SandboxOptions};

use crate::support::{Api, strings};
use serde_json::{Value, json};

const REGION: &str = "/k8s/v1/regions/fr-par";

/// Fixtures this module's tests build on.
trait Fixtures {
    async fn pn(&self, name: &str) -> Value;
    async fn cluster(&self, pn: &str) -> Value;
}

impl Fixtures for Api {
    async fn pn(&self, name: &str) -> Value {
        let (code, v) = self
            .post(
                "/vpc/v2/regions/fr-par/private-networks",
                json!({"name": name}),
            )
            .await;
        assert_eq!(code, 200, "{v}");
        v
    }

    async fn cluster(&self, pn: &str) -> Value {
        let (code, v) = self.post(&format!("{REGION}/clusters"), json!({"name": "c1", "type": "", "version": "1.34.6", "cni": "cilium", "private_network_id": pn, "description": "d", "tags": ["a", "b"]})).await;
        assert_eq!(code, 200, "{v}");
        v
    }
}

async fn sandbox(speed: f64) -> (Sandbox, Api) {
    let sb = Sandbox::start(SandboxOptions {
        speed,
        ..Default::default()
    })
    .await
    .expect("start");
    let api = Api::new(&sb);
    (sb, api)
}

#[tokio::test]
async fn auth_requires_the_secret_key() {
    let (sb, api) = sandbox(1000.0).await;
    let url = format!("{}/vpc/v2/regions/fr-par/vpcs", sb.url());
    let missing = api.http.get(&url).send().await.unwrap();
    assert_eq!(missing.status(), 401);
    let body: Value = missing.json().await.unwrap();
    assert_eq!(body["type"], "denied_authentication");
    assert!(
        body["method"].is_string() && body["reason"].is_string(),
        "{body}"
    );
    let wrong = api
        .http
        .get(&url)
        .header("X-Auth-Token", "33333333-3333-4333-8333-333333333333")
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status(), 401);
    assert_eq!(api.get("/vpc/v2/regions/fr-par/vpcs").await.0, 200);
    // The inspection endpoint is the sandbox's own and needs no token.
    assert_eq!(
        api.http
            .get(format!("{}/sandbox/v1/resources", sb.url()))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
}

#[tokio::test]
async fn unknown_localities_are_invalid_arguments() {
    let (_sb, api) = sandbox(1000.0).await;
    let (code, body) = api.get("/k8s/v1/regions/xx-nowhere/clusters").await;
    assert_eq!(code, 400);
    assert_eq!(body["type"], "invalid_arguments");
    assert_eq!(body["details"][0]["argument_name"], "region");
    let (code, body) = api.get("/lb/v1/zones/fr-par-9/lbs").await;
    assert_eq!(
        (code, body["details"][0]["argument_name"].clone()),
        (400, json!("zone"))
    );
}

#[tokio::test]
async fn error_bodies_match_the_wire() {
    let (_sb, api) = sandbox(1000.0).await;
    let id = "0d2bbb78-0687-4cca-93f4-694db9155362";
    let (code, body) = api.get(&format!("{REGION}/clusters/{id}")).await;
    assert_eq!(code, 404);
    assert_eq!(
        body,
        json!({"message": "resource is not found", "resource": "cluster", "resource_id": id, "type": "not_found"})
    );
    assert_eq!(
        api.get(&format!("/lb/v1/zones/fr-par-1/lbs/{id}")).await,
        (404, json!({"message": "lbs not Found"}))
    );
    assert_eq!(
        api.get(&format!("/lb/v1/zones/fr-par-1/ips/{id}")).await,
        (404, json!({"message": "ips not Found"}))
    );
    assert_eq!(
        api.get(&format!("/lb/v1/zones/fr-par-1/backends/{id}"))
            .await,
        (404, json!({"message": "backend not Found"}))
    );
    let (code, body) = api
        .post(
            &format!("{REGION}/clusters"),
            json!({"version": "1.34.6", "cni": "cilium"}),
        )
        .await;
    assert_eq!(code, 400);
    assert_eq!(body["type"], "invalid_arguments");
    assert_eq!(body["details"][0]["argument_name"], "name");
    assert_eq!(body["details"][0]["reason"], "required");
    let (code, body) = api
        .post("/vpc/v2/regions/fr-par/vpcs", json!({"name": 42}))
        .await;
    assert_eq!(
        (code, body["details"][0]["reason"].clone()),
        (400, json!("format"))
    );
}

#[tokio::test]
async fn kapsule_state_machine_and_delete_codes() {
    let (_sb, api) = sandbox(500.0).await;
    let pn = api.pn("k8s").await;
    let c = api.cluster(pn["id"].as_str().unwrap()).await;
    let path = format!("{REGION}/clusters/{}", c["id"].as_str().unwrap());
    assert_eq!(c["status"], "creating");
    assert_eq!(c["type"], "kapsule");
    api.wait(&path, "pool_required").await;
    let (code, pool) = api
        .post(
            &format!("{path}/pools"),
            json!({"name": "p", "node_type": "PRO2-XXS", "size": 1, "zone": "fr-par-1"}),
        )
        .await;
    assert_eq!(code, 200, "{pool}");
    assert_eq!(pool["status"], "scaling");
    let pool_path = format!("{REGION}/pools/{}", pool["id"].as_str().unwrap());
    api.wait(&pool_path, "ready").await;
    api.wait(&path, "ready").await;
    let (_, nodes) = api.get(&format!("{path}/nodes?status=unknown")).await;
    assert_eq!(nodes["total_count"], 1);
    let (code, deleting) = api.delete(&pool_path).await;
    assert_eq!((code, deleting["status"].clone()), (200, json!("deleting")));
    api.wait(&pool_path, "404").await;
    let (code, deleting) = api
        .delete(&format!("{path}?with_additional_resources=false"))
        .await;
    assert_eq!((code, deleting["status"].clone()), (200, json!("deleting")));
    api.wait(&path, "404").await;
}

#[tokio::test]
async fn mutating_transient_resources_is_a_409_transient_state() {
    let (_sb, api) = sandbox(1.0).await;
    let pn = api.pn("t").await;
    let c = api.cluster(pn["id"].as_str().unwrap()).await;
    let (code, body) = api
        .patch(
            &format!("{REGION}/clusters/{}", c["id"].as_str().unwrap()),
            json!({"name": "x"}),
        )
        .await;
    assert_eq!(code, 409);
    assert_eq!(body["type"], "transient_state");
    assert_eq!(body["current_state"], "creating");
    assert_eq!(body["resource"], "cluster");
    let (code, inst) = api.post("/rdb/v1/regions/fr-par/instances", json!({"name": "db", "engine": "PostgreSQL-16", "node_type": "DB-DEV-S", "user_name": "", "password": ""})).await;
    assert_eq!(code, 200, "{inst}");
    let db_path = format!(
        "/rdb/v1/regions/fr-par/instances/{}/databases",
        inst["id"].as_str().unwrap()
    );
    let (code, body) = api.post(&db_path, json!({"name": "app"})).await;
    assert_eq!(
        (code, body["current_state"].clone()),
        (409, json!("provisioning"))
    );
    // Even reads of databases are refused while the instance is busy.
    assert_eq!(api.get(&db_path).await.0, 409);
}

#[tokio::test]
async fn private_network_in_use_cannot_be_deleted() {
    let (_sb, api) = sandbox(1000.0).await;
    let pn = api.pn("used").await;
    let pn_id = pn["id"].as_str().unwrap();
    let c = api.cluster(pn_id).await;
    let (code, body) = api
        .delete(&format!("/vpc/v2/regions/fr-par/private-networks/{pn_id}"))
        .await;
    assert_eq!(code, 412);
    assert_eq!(body["type"], "precondition_failed");
    assert_eq!(body["precondition"], "resource_still_in_use");
    let path = format!("{REGION}/clusters/{}", c["id"].as_str().unwrap());
    api.wait(&path, "pool_required").await;
    api.delete(&path).await;
    api.wait(&path, "404").await;
    assert_eq!(
        api.delete(&format!("/vpc/v2/regions/fr-par/private-networks/{pn_id}"))
            .await
            .0,
        204
    );
    assert_eq!(
        api.get(&format!("/vpc/v2/regions/fr-par/private-networks/{pn_id}"))
            .await
            .1["resource"],
        "private_network"
    );
}

#[tokio::test]
async fn pagination_and_filters() {
    let (_sb, api) = sandbox(1000.0).await;
    for i in 0..25 {
        let tags = if i % 5 == 0 {
            json!(["five"])
        } else {
            json!([])
        };
        api.post(
            "/vpc/v2/regions/fr-par/vpcs",
            json!({"name": format!("net-{i:02}"), "tags": tags}),
        )
        .await;
    }
    let (_, p1) = api.get("/vpc/v2/regions/fr-par/vpcs").await;
    assert_eq!(
        (
            p1["total_count"].clone(),
            p1["vpcs"].as_array().unwrap().len()
        ),
        (json!(25), 20)
    );
    let (_, p2) = api.get("/vpc/v2/regions/fr-par/vpcs?page=2").await;
    assert_eq!(p2["vpcs"].as_array().unwrap().len(), 5);
    let (_, small) = api
        .get("/vpc/v2/regions/fr-par/vpcs?page=3&page_size=10")
        .await;
    assert_eq!(small["vpcs"][0]["name"], "net-20");
    let (_, desc) = api
        .get("/vpc/v2/regions/fr-par/vpcs?order_by=name_desc&page_size=1")
        .await;
    assert_eq!(desc["vpcs"][0]["name"], "net-24");
    assert_eq!(
        api.get("/vpc/v2/regions/fr-par/vpcs?page_size=101").await.0,
        400
    );
    let (_, tagged) = api.get("/vpc/v2/regions/fr-par/vpcs?tags=five").await;
    assert_eq!(tagged["total_count"], 5);
    let (_, named) = api.get("/vpc/v2/regions/fr-par/vpcs?name=net-1").await;
    assert_eq!(named["total_count"], 10, "name is a substring filter");
    let pn = api.pn("f").await;
    api.cluster(pn["id"].as_str().unwrap()).await;
    let (_, all) = api
        .get(&format!(
            "{REGION}/clusters?status=unknown&order_by=created_at_asc"
        ))
        .await;
    assert_eq!(all["total_count"], 1, "unknown enum values mean no filter");
    let (_, none) = api.get(&format!("{REGION}/clusters?status=ready")).await;
    assert_eq!(none["total_count"], 0);
}

#[tokio::test]
async fn patch_null_is_unchanged_and_put_replaces() {
    let (_sb, api) = sandbox(1000.0).await;
    let pn = api.pn("p").await;
    let c = api.cluster(pn["id"].as_str().unwrap()).await;
    let path = format!("{REGION}/clusters/{}", c["id"].as_str().unwrap());
    api.wait(&path, "pool_required").await;
    let (code, v) = api.patch(&path, json!({
        "description": null, "tags": ["new"],
        "autoscaler_config": {"estimator": "unknown_estimator", "scale_down_delay_after_add": null, "scale_down_utilization_threshold": 0.7},
        "auto_upgrade": {"enable": null, "maintenance_window": null},
    })).await;
    assert_eq!(code, 200, "{v}");
    assert_eq!(v["status"], "updating");
    assert_eq!(v["description"], "d");
    assert_eq!(v["tags"], json!(["new"]));
    assert_eq!(v["autoscaler_config"]["estimator"], "binpacking");
    assert_eq!(v["autoscaler_config"]["scale_down_delay_after_add"], "10m");
    assert_eq!(
        v["autoscaler_config"]["scale_down_utilization_threshold"],
        0.7
    );
    assert_eq!(v["auto_upgrade"]["enabled"], false);

    let (_, lb) = api
        .post(
            "/lb/v1/zones/fr-par-1/lbs",
            json!({"name": "lb", "type": "LB-S", "description": "x", "tags": ["t"]}),
        )
        .await;
    let lb_path = format!("/lb/v1/zones/fr-par-1/lbs/{}", lb["id"].as_str().unwrap());
    api.wait(&lb_path, "ready").await;
    let (code, body) = api.put(&lb_path, json!({"name": "renamed"})).await;
    assert_eq!(
        (code, body["details"][0]["argument_name"].clone()),
        (400, json!("description")),
        "PUT needs every field"
    );
    let (code, v) = api.put(&lb_path, json!({"name": "renamed", "description": "", "tags": [], "ssl_compatibility_level": "ssl_compatibility_level_modern"})).await;
    assert_eq!(code, 200);
    assert_eq!(
        (
            v["name"].clone(),
            v["description"].clone(),
            v["tags"].clone()
        ),
        (json!("renamed"), json!(""), json!([]))
    );
}

#[tokio::test]
async fn server_side_defaults_and_encodings() {
    let (_sb, api) = sandbox(1000.0).await;
    let pn = api.pn("defaults").await;
    let subnets: Vec<&str> = strings(&pn["subnets"], "subnet");
    assert!(
        subnets[0].starts_with("172.") && subnets[0].ends_with("/22"),
        "{subnets:?}"
    );
    assert!(
        subnets[1].starts_with("fd") && subnets[1].ends_with("/64"),
        "{subnets:?}"
    );
    let (_, vpc) = api
        .get(&format!(
            "/vpc/v2/regions/fr-par/vpcs/{}",
            pn["vpc_id"].as_str().unwrap()
        ))
        .await;
    assert_eq!(
        (
            vpc["is_default"].clone(),
            vpc["private_network_count"].clone()
        ),
        (json!(true), json!(1))
    );

    let c = api.cluster(pn["id"].as_str().unwrap()).await;
    assert_eq!(
        (
            c["pod_cidr"].clone(),
            c["service_cidr"].clone(),
            c["service_dns_ip"].clone()
        ),
        (
            json!("100.64.0.0/15"),
            json!("10.32.0.0/20"),
            json!("10.32.0.10")
        )
    );
    assert_eq!(
        c["autoscaler_config"]["scale_down_utilization_threshold"],
        0.5
    );
    let path = format!("{REGION}/clusters/{}", c["id"].as_str().unwrap());
    api.wait(&path, "pool_required").await;
    let (_, pool) = api.post(&format!("{path}/pools"), json!({"name": "p", "node_type": "pro2_xxs", "size": 1, "root_volume_type": "default_volume_type"})).await;
    assert_eq!(
        (
            pool["root_volume_type"].clone(),
            pool["root_volume_size"].clone()
        ),
        (json!("sbs_5k"), json!(20_000_000_000u64))
    );
    assert_eq!(
        pool["upgrade_policy"],
        json!({"max_unavailable": 1, "max_surge": 0})
    );

    let (_, lb) = api
        .post(
            "/lb/v1/zones/fr-par-1/lbs",
            json!({"name": "lb", "type": "LB-S"}),
        )
        .await;
    assert_eq!(lb["type"], "lb-s");
    let reverse = lb["ip"][0]["reverse"].as_str().unwrap();
    assert_eq!(
        reverse,
        format!(
            "{}.lb.fr-par.scw.cloud",
            lb["ip"][0]["ip_address"]
                .as_str()
                .unwrap()
                .replace('.', "-")
        )
    );
    let lb_path = format!("/lb/v1/zones/fr-par-1/lbs/{}", lb["id"].as_str().unwrap());
    api.wait(&lb_path, "ready").await;
    let (code, backend) = api.post(&format!("{lb_path}/backends"), json!({"name": "b", "forward_protocol": "tcp", "forward_port": 80, "timeout_queue": "0.500000000s", "health_check": {"transient_check_delay": "0.5s"}})).await;
    assert_eq!(code, 200, "{backend}");
    assert_eq!(
        backend["timeout_server"], 300_000,
        "durations are milliseconds"
    );
    assert_eq!(backend["health_check"]["check_delay"], 60_000);
    assert_eq!(backend["timeout_queue"], "0.500s");
    assert_eq!(backend["health_check"]["transient_check_delay"], "0.500s");

    let (_, inst) = api.post("/rdb/v1/regions/fr-par/instances", json!({"name": "db", "engine": "PostgreSQL-16", "node_type": "DB-DEV-S", "user_name": "admin", "password": "Sup3r-Secret!", "init_endpoints": null})).await;
    assert_eq!(inst["volume"]["size"], 5_000_000_000u64, "sizes are bytes");
    assert_eq!(inst["backup_schedule"]["frequency"], 24);
    assert_eq!(inst["logs_policy"]["max_age_retention"], 30);
    let inst_path = format!(
        "/rdb/v1/regions/fr-par/instances/{}",
        inst["id"].as_str().unwrap()
    );
    let ready = api.wait(&inst_path, "ready").await;
    assert!(
        ready["endpoints"][0]["load_balancer"].is_object(),
        "a public endpoint by default: {ready}"
    );
    let (_, rules) = api
        .put(
            &format!("{inst_path}/acls"),
            json!({"rules": [{"ip": "1.2.3.4", "description": ""}]}),
        )
        .await;
    assert_eq!(rules["rules"][0]["description"], "IP allowed");
    assert_eq!(rules["rules"][0]["ip"], "1.2.3.4/32");
    assert_eq!(api.get(&inst_path).await.1["status"], "configuring");
}

#[tokio::test]
async fn kubeconfig_points_at_the_sandbox() {
    use base64::Engine;
    let (sb, api) = sandbox(1000.0).await;
    let pn = api.pn("kc").await;
    let c = api.cluster(pn["id"].as_str().unwrap()).await;
    let id = c["id"].as_str().unwrap();
    api.wait(&format!("{REGION}/clusters/{id}"), "pool_required")
        .await;
    let (code, file) = api.get(&format!("{REGION}/clusters/{id}/kubeconfig")).await;
    assert_eq!(code, 200);
    assert_eq!(
        (file["name"].clone(), file["content_type"].clone()),
        (json!("kubeconfig"), json!("application/octet-stream"))
    );
    let yaml = String::from_utf8(
        base64::engine::general_purpose::STANDARD
            .decode(file["content"].as_str().unwrap())
            .unwrap(),
    )
    .unwrap();
    assert!(
        yaml.contains(&format!("server: {}/k8s-api/{id}", sb.url())),
        "{yaml}"
    );
    assert!(
        yaml.contains("current-context: admin@c1") && yaml.contains("token: "),
        "{yaml}"
    );
}

#[tokio::test]
async fn fault_injection() {
    let parse = |s: &str| FaultSpec::parse(s);
    let spec = parse("429=0.1,503=0.05,409=0.05,latency=50ms,lost=0.02").unwrap();
    assert_eq!(
        (spec.rate_limited, spec.server_errors.clone(), spec.latency),
        (0.1, vec![(503, 0.05)], Duration::from_millis(50))
    );
    let err = parse("429=0.1,teapot=1").unwrap_err().to_string();
    assert!(err.contains("teapot=1"), "{err}");
    assert!(parse("503=2").unwrap_err().to_string().contains("503=2"));
    assert!(
        parse("latency=fast")
            .unwrap_err()
            .to_string()
            .contains("latency=fast")
    );

    let start = |faults: &str| {
        let faults = FaultSpec::parse(faults).unwrap();
        async move {
            Sandbox::start(SandboxOptions {
                speed: 1000.0,
                faults,
                ..Default::default()
            })
            .await
            .unwrap()
        }
    };
    let sb = start("429=1").await;
    let api = Api::new(&sb);
    let resp = api
        .http
        .get(format!("{}/vpc/v2/regions/fr-par/vpcs", sb.url()))
        .header("X-Auth-Token", sb.secret_key())
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 429);
    assert_eq!(resp.headers()["x-envoy-ratelimited"], "true");
    assert!(
        resp.text().await.unwrap().is_empty(),
        "429 bodies are empty"
    );

    let sb = start("503=1").await;
    assert_eq!(
        Api::new(&sb).get("/vpc/v2/regions/fr-par/vpcs").await.0,
        503
    );

    let sb = start("409=1").await;
    let api = Api::new(&sb);
    assert_eq!(
        api.get("/vpc/v2/regions/fr-par/vpcs").await.0,
        200,
        "409s only hit mutations"
    );
    assert_eq!(
        api.post("/vpc/v2/regions/fr-par/vpcs", json!({"name": "x"}))
            .await
            .0,
        409
    );

    let sb = start("latency=120ms").await;
    let t = Instant::now();
    Api::new(&sb).get("/vpc/v2/regions/fr-par/vpcs").await;
    assert!(t.elapsed() >= Duration::from_millis(120));

    // A lost response: the mutation happens, the connection closes before any reply.
    let sb = start("lost=1").await;
    let api = Api::new(&sb);
    let sent = api
        .http
        .post(format!("{}/vpc/v2/regions/fr-par/vpcs", sb.url()))
        .header("X-Auth-Token", sb.secret_key())
        .json(&json!({"name": "ghost"}))
        .send()
        .await;
    assert!(sent.is_err(), "the reply must be lost, got {sent:?}");
    let (_, listed) = api.get("/vpc/v2/regions/fr-par/vpcs?name=ghost").await;
    assert_eq!(listed["total_count"], 1, "the mutation happened");
}

#[tokio::test]
async fn state_persists_across_restarts() {
    let dir = tempfile::tempdir().unwrap();
    let opts = || SandboxOptions {
        speed: 100.0,
        data_dir: Some(dir.path().to_path_buf()),
        ..Default::default()
    };
    let sb = Sandbox::start(opts()).await.unwrap();
    let api = Api::new(&sb);
    let (_, vpc) = api
        .post("/vpc/v2/regions/fr-par/vpcs", json!({"name": "kept"}))
        .await;
    let (_, lb) = api
        .post(
            "/lb/v1/zones/fr-par-1/lbs",
            json!({"name": "lb", "type": "LB-S"}),
        )
        .await;
    assert_eq!(lb["status"], "to_create");
    let (_, inst) = api.post("/rdb/v1/regions/fr-par/instances", json!({"name": "db", "engine": "PostgreSQL-16", "node_type": "db-dev-s", "user_name": "admin", "password": "Sup3r-Secret!"})).await;
    assert_eq!(inst["status"], "provisioning");
    sb.shutdown().await;

    let text = std::fs::read_to_string(dir.path().join(kapstan_sandbox::STATE_FILE)).unwrap();
    assert!(
        !text.contains("Sup3r-Secret!"),
        "passwords are never stored"
    );

    let sb = Sandbox::start(opts()).await.unwrap();
    let api = Api::new(&sb);
    let (code, again) = api
        .get(&format!(
            "/vpc/v2/regions/fr-par/vpcs/{}",
            vpc["id"].as_str().unwrap()
        ))
        .await;
    assert_eq!((code, again["name"].clone()), (200, json!("kept")));
    // Transitions keep running from their timestamps across the restart.
    api.wait(
        &format!("/lb/v1/zones/fr-par-1/lbs/{}", lb["id"].as_str().unwrap()),
        "ready",
    )
    .await;
}

#[tokio::test]
async fn inspection_lists_live_objects_by_kind() {
    let (_sb, api) = sandbox(1000.0).await;
    let pn = api.pn("seen").await;
    api.post("/lb/v1/zones/fr-par-1/ips", json!({"is_ipv6": false}))
        .await;
    let (code, resp) = api.get("/sandbox/v1/resources").await;
    assert_eq!(code, 200, "{resp}");
    let kinds = resp["resources"].as_object().unwrap();
    assert!(
        kinds.contains_key("vpc.vpc") && kinds.contains_key("lb.ip"),
        "{resp}"
    );
    assert_eq!(kinds["vpc.private_network"][0]["id"], pn["id"]);
}

#[tokio::test]
async fn listens_on_loopback_only() {
    let err = Sandbox::start(SandboxOptions {
        addr: Some("0.0.0.0:0".parse().unwrap()),
        ..Default::default()
    })
    .await
    .unwrap_err();
    assert!(matches!(err, SandboxError::NotLoopback { .. }), "{err}");
    let err = Sandbox::start(SandboxOptions {
        speed: 0.0,
        ..Default::default()
    })
    .await
    .unwrap_err();
    assert!(err.to_string().contains("speed"), "{err}");
}
