//! `scaleway_secret_version` against the sandbox's Secret Manager: a revision read by name at
//! apply, its data sealed in state and never in plans, events or errors; a rotation (new
//! latest revision) updates what uses it on the next plan; a missing secret, a missing
//! revision or a disabled one fails the plan before any mutating call, naming the reference.

use crate::steps::{Harness, harness};

use base64::Engine as _;
use kapstan_engine::{
    Action, ApplyOptions, DeclaredResource, EngineError, Plan, PlanOptions, StackSpec,
};
use kapstan_sandbox::{Sandbox, SandboxOptions};
use serde_json::{Value, json};

const STACK: &str = "secrets";

fn spec(revision: Option<&str>, name: &str) -> StackSpec {
    let mut config = json!({"secret_name": name});
    if let Some(r) = revision {
        config["revision"] = json!(r);
    }
    StackSpec {
        name: STACK.into(),
        resources: vec![
            DeclaredResource {
                address: "oidc-secret".into(),
                kind: "scaleway_secret_version".into(),
                config,
                depends_on: vec![],
                lifecycle: Default::default(),
            },
            DeclaredResource {
                address: "consumer".into(),
                kind: "kapstan_test_object".into(),
                config: json!({"name": "consumer", "value": {"$ref": {"resource": "oidc-secret", "attr": "data"}}}),
                depends_on: vec![],
                lifecycle: Default::default(),
            },
        ],
        outputs: vec![],
        problems: vec![],
    }
}

async fn sm(sb: &Sandbox, method: reqwest::Method, path: &str, body: Value) -> Value {
    let resp = reqwest::Client::new()
        .request(
            method,
            format!("{}/secret-manager/v1beta1/regions/fr-par{path}", sb.url()),
        )
        .header("x-auth-token", sb.secret_key())
        .json(&body)
        .send()
        .await
        .unwrap();
    assert!(resp.status().is_success(), "{path}: {}", resp.status());
    resp.json().await.unwrap_or(Value::Null)
}

async fn create_secret(sb: &Sandbox, name: &str, values: &[&str]) -> String {
    let secret = sm(
        sb,
        reqwest::Method::POST,
        "/secrets",
        json!({"name": name, "protected": false}),
    )
    .await;
    let id = secret["id"].as_str().unwrap().to_string();
    for v in values {
        add_revision(sb, &id, v).await;
    }
    id
}

async fn add_revision(sb: &Sandbox, id: &str, value: &str) {
    let data = base64::engine::general_purpose::STANDARD.encode(value);
    sm(
        sb,
        reqwest::Method::POST,
        &format!("/secrets/{id}/versions"),
        json!({"data": data}),
    )
    .await;
}

async fn plan(h: &Harness, spec: &StackSpec) -> Result<Plan, EngineError> {
    h.engine.plan(spec, &PlanOptions::default()).await
}

fn actions(p: &Plan) -> Vec<(String, Action)> {
    p.actionable()
        .map(|c| (c.address.clone(), c.action))
        .collect()
}

async fn sandbox() -> Sandbox {
    Sandbox::start(SandboxOptions {
        speed: 2000.0,
        ..Default::default()
    })
    .await
    .expect("sandbox starts")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_revision_is_read_sealed_and_followed_on_rotation() {
    let sb = sandbox().await;
    let h = harness(sb.url());
    let id = create_secret(
        &sb,
        "coder-oidc",
        &["first-Secret-value", "second-Secret-value"],
    )
    .await;

    // Pinned to revision 1.
    let pinned = spec(Some("1"), "coder-oidc");
    let p = plan(&h, &pinned).await.expect("plan");
    let report = h.engine.apply(&p, &ApplyOptions::default()).await.unwrap();
    assert!(report.is_success(), "{:?}", report.failed);
    let doc = h.engine.state(STACK).await.unwrap();
    assert_eq!(
        doc.resources["consumer"].attributes["value"], "first-Secret-value",
        "the consumer got revision 1's data"
    );
    assert_eq!(
        doc.resources["oidc-secret"].attributes["revision_number"],
        1
    );
    assert_eq!(
        doc.resources["oidc-secret"].attributes["secret_id"],
        id.as_str()
    );

    // Never in clear: plan JSON, events, state files.
    let plan_json = serde_json::to_string(&p).unwrap();
    let events = h.events.lock().unwrap().join("\n");
    for secret in ["first-Secret-value", "second-Secret-value"] {
        assert!(!plan_json.contains(secret), "{secret} in the plan");
        assert!(!events.contains(secret), "{secret} in an event");
        assert!(!h.state_contains(secret), "{secret} in clear in state");
    }
    assert!(
        actions(&plan(&h, &pinned).await.unwrap()).is_empty(),
        "pinned: nothing to do"
    );

    // Following the latest enabled revision: 2 now, then a rotation to 3.
    let following = spec(Some("latest_enabled"), "coder-oidc");
    let p = plan(&h, &following).await.unwrap();
    h.engine.apply(&p, &ApplyOptions::default()).await.unwrap();
    let doc = h.engine.state(STACK).await.unwrap();
    assert_eq!(
        doc.resources["consumer"].attributes["value"],
        "second-Secret-value"
    );
    assert!(actions(&plan(&h, &following).await.unwrap()).is_empty());
    add_revision(&sb, &id, "third-Secret-value").await;
    let rotated = plan(&h, &following).await.unwrap();
    assert_eq!(
        actions(&rotated),
        vec![("consumer".to_string(), Action::Update)],
        "a rotation updates what uses the secret"
    );
    assert!(
        !serde_json::to_string(&rotated)
            .unwrap()
            .contains("third-Secret-value")
    );
    h.engine
        .apply(&rotated, &ApplyOptions::default())
        .await
        .unwrap();
    let doc = h.engine.state(STACK).await.unwrap();
    assert_eq!(
        doc.resources["consumer"].attributes["value"],
        "third-Secret-value"
    );
    sb.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn missing_secrets_and_revisions_fail_the_plan_naming_them() {
    let sb = sandbox().await;
    let h = harness(sb.url());
    let id = create_secret(&sb, "coder-oidc", &["only-Secret-value"]).await;

    let cases = [
        (
            spec(None, "no-such-secret"),
            "secret-manager://no-such-secret#latest_enabled",
            "has no secret \"no-such-secret\"",
        ),
        (
            spec(Some("7"), "coder-oidc"),
            "secret-manager://coder-oidc#7",
            "has no revision 7",
        ),
    ];
    for (declared, reference, problem) in cases {
        let err = plan(&h, &declared).await.expect_err("refused");
        let text = format!("{err}");
        let detail = format!("{err:?}");
        assert!(
            text.contains(reference) || detail.contains(reference),
            "{text}\n{detail}"
        );
        assert!(
            text.contains(problem) || detail.contains(problem),
            "{text}\n{detail}"
        );
    }

    // A disabled revision cannot be read: named, with the fix.
    sm(
        &sb,
        reqwest::Method::POST,
        &format!("/secrets/{id}/versions/1/disable"),
        json!({}),
    )
    .await;
    let err = plan(&h, &spec(Some("1"), "coder-oidc"))
        .await
        .expect_err("disabled revision refused");
    let detail = format!("{err} {err:?}");
    assert!(
        detail.contains("cannot be read (disabled or deleted)"),
        "{detail}"
    );

    // A malformed revision is refused by validation, before any request.
    let err = plan(&h, &spec(Some("first"), "coder-oidc"))
        .await
        .expect_err("bad revision refused");
    let detail = format!("{err} {err:?}");
    assert!(detail.contains("is not a revision"), "{detail}");

    // Nothing was written: no state for the stack.
    let doc = h.engine.state(STACK).await.unwrap();
    assert!(doc.resources.is_empty(), "{:?}", doc.resources.keys());
    sb.shutdown().await;
}
