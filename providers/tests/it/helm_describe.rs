//! Object-level plans of `helm_release` in the sandbox: after an apply, changing a chart value
//! lists exactly the objects it changes (and the changed parts), added and removed objects
//! show as created and deleted, Secret contents never appear, values known only after apply
//! and a chart that fails to render leave a note without failing the plan. The chart comes
//! from the sandbox's chart repository, rendered by the real helm (`$KAPSTAN_TOOLS/bin`,
//! default `<workspace>/.tools/bin`).

use kapstan_engine::{
    Action, ApplyOptions, Input, ObjectChange, Plan, PlanOptions, Stack, StackSpec,
};
use kapstan_providers::helm::HelmRelease;
use kapstan_sandbox::{Sandbox, SandboxOptions};
use serde_json::{Value, json};

use crate::steps;

/// A sandbox with one Kapsule cluster; returns it and the cluster's kubeconfig.
async fn cluster() -> (Sandbox, String) {
    let sandbox = Sandbox::start(SandboxOptions {
        speed: 200.0,
        ..Default::default()
    })
    .await
    .unwrap();
    let kubeconfig = sandbox.create_cluster("describe").await.unwrap().kubeconfig;
    (sandbox, kubeconfig)
}

const CONFIG_MAP: &str =
    "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {name}\ndata:\n  greeting: hello\n";
const SECRET: &str = "apiVersion: v1\nkind: Secret\nmetadata:\n  name: coder-extra\nstringData:\n  password: {{ .Values.extraPassword }}\n";

/// The release with `values` merged over a baseline: one replica, a ClusterIP Service, no
/// readiness wait. `password` declares a `random_password` the values may reference.
fn stack(sandbox: &Sandbox, kubeconfig: &str, values: Value, password: bool) -> StackSpec {
    let mut s = Stack::new("describe");
    if password {
        s.add_raw("pw", "random_password", json!({"length": 16}));
    }
    let mut all = json!({"coder": {"replicaCount": 1, "service": {"type": "ClusterIP"}},
        "extraTemplates": [CONFIG_MAP.replace("{name}", "coder-old")]});
    merge(&mut all, values);
    s.add(
        "coder",
        HelmRelease {
            kubeconfig: Input::sensitive(kubeconfig.to_string()),
            name: "coder".into(),
            namespace: "coder".into(),
            repository: Some(format!("{}/charts", sandbox.url())),
            chart: "coder".into(),
            version: Some("2.21.1".into()),
            values: all,
            create_namespace: true,
            wait: Some(false),
            ..Default::default()
        },
    );
    s.build()
}

fn merge(base: &mut Value, over: Value) {
    match (base, over) {
        (Value::Object(b), Value::Object(o)) => {
            for (k, v) in o {
                merge(b.entry(k).or_insert(Value::Null), v);
            }
        }
        (b, o) => *b = o,
    }
}

fn coder(plan: &Plan) -> (Action, Vec<ObjectChange>) {
    let c = plan.changes.iter().find(|c| c.address == "coder").unwrap();
    (c.action, c.details.clone())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn helm_plans_list_the_objects_a_change_touches() {
    let (sandbox, kubeconfig) = cluster().await;
    let state = tempfile::tempdir().unwrap();
    let engine = steps::engine_with(crate::support::registry_with_tools_helm(), state.path());
    let plan_of = |values: Value, password: bool| {
        let spec = stack(&sandbox, &kubeconfig, values, password);
        let engine = &engine;
        async move { engine.plan(&spec, &PlanOptions::default()).await.unwrap() }
    };

    // A new release: every rendered object is created.
    let plan = plan_of(json!({}), false).await;
    let (action, details) = coder(&plan);
    assert_eq!(action, Action::Create);
    let names: Vec<&str> = details.iter().map(|d| d.name.as_str()).collect();
    assert!(
        details.iter().all(|d| d.action == Action::Create),
        "{details:?}"
    );
    for expected in [
        "apps/v1 Deployment coder/coder",
        "v1 Service coder/coder",
        "v1 ServiceAccount coder/coder",
        "v1 ConfigMap coder/coder-old",
    ] {
        assert!(names.contains(&expected), "{expected} not in {names:?}");
    }
    let report = engine.apply(&plan, &ApplyOptions::default()).await.unwrap();
    assert!(report.failed.is_empty(), "{:?}", report.failed);
    let plan = plan_of(json!({}), false).await;
    assert!(!plan.has_changes(), "{:?}", coder(&plan));

    // One value: exactly the Deployment, and the part that changes.
    let plan = plan_of(json!({"coder": {"replicaCount": 2}}), false).await;
    assert_eq!(
        coder(&plan),
        (
            Action::Update,
            vec![ObjectChange::update(
                "apps/v1 Deployment coder/coder",
                vec!["spec.replicas".into()]
            )]
        )
    );

    // Objects added and removed; a Secret is named, its contents never shown.
    let plan = plan_of(
        json!({"extraTemplates": [CONFIG_MAP.replace("{name}", "coder-new"), SECRET],
            "extraPassword": {"$sensitive": "s3cr3t-extra-pw"}}),
        false,
    )
    .await;
    assert_eq!(
        coder(&plan),
        (
            Action::Update,
            vec![
                ObjectChange::create("v1 ConfigMap coder/coder-new"),
                ObjectChange::delete("v1 ConfigMap coder/coder-old"),
                ObjectChange::create("v1 Secret coder/coder-extra"),
            ]
        )
    );
    let json = kapstan_engine::plan_json::to_terraform_json(&plan, None).to_string();
    assert!(json.contains("kapstan_objects"), "{json}");
    assert!(!json.contains("s3cr3t") && !serde_json::to_string(&plan).unwrap().contains("s3cr3t"));

    // A value known only after apply: not rendered, noted.
    let plan = plan_of(
        json!({"extraPassword": {"$ref": {"resource": "pw", "attr": "result"}}}),
        true,
    )
    .await;
    assert_eq!(
        coder(&plan),
        (
            Action::Update,
            vec![ObjectChange::note("known after apply")]
        )
    );

    // A chart that fails to render: the plan still succeeds and says why.
    let plan = plan_of(json!({"coder": {"ingress": {"enable": true}}}), false).await;
    let (action, details) = coder(&plan);
    assert_eq!(action, Action::Update);
    assert_eq!(details.len(), 1, "{details:?}");
    assert!(
        details[0].is_note()
            && details[0]
                .name
                .starts_with("could not be described: helm template failed")
            && details[0].name.contains("coder.ingress.host is required"),
        "{details:?}"
    );
    assert!(!details[0].name.contains("token"), "{details:?}");
    sandbox.shutdown().await;
}
