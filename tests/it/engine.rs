//! End-to-end behaviour of the engine as a library user sees it: plans, applies, failures,
//! interrupts, crash recovery, drift, secrets and every bad input — on local kinds.

use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use kapstan::engine::{
    Action, ApplyOptions, Cancel, Engine, EngineError, Event, EventSink, PlanFile, PlanMode,
    PlanOptions, Stack, StackSpec,
};
use kapstan::providers::local::{RandomPassword, TestObject};
use kapstan::state::{LocalStore, StateError, StateStore};
use serde_json::{Value, json};

fn engine(dir: &Path) -> Engine {
    let store: Arc<dyn StateStore> = Arc::new(LocalStore::open(dir, None).unwrap());
    Engine::new(kapstan::providers::registry(), store)
}

fn obj(name: &str) -> TestObject {
    TestObject {
        name: Some(name.into()),
        value: Some(json!(1).into()),
        ..Default::default()
    }
}

fn raw(name: &str, resources: &[(&str, Value, &[&str])]) -> StackSpec {
    let mut s = Stack::new(name);
    for (addr, config, deps) in resources {
        s.add_raw(addr, "kapstan_test_object", config.clone());
        s.configure_raw(
            addr,
            deps.iter().map(|d| d.to_string()).collect(),
            Default::default(),
        );
    }
    s.build()
}

async fn apply_all(e: &Engine, spec: &StackSpec) -> kapstan::engine::ApplyReport {
    let plan = e.plan(spec, &PlanOptions::default()).await.unwrap();
    e.apply(&plan, &ApplyOptions::default()).await.unwrap()
}

fn store_files(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .map(|r| {
            r.flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .filter(|n| n.ends_with(".json"))
                .collect()
        })
        .unwrap_or_default();
    v.sort();
    v
}

#[tokio::test(flavor = "multi_thread")]
async fn create_noop_update_replace_delete() {
    let dir = tempfile::tempdir().unwrap();
    let e = engine(dir.path());
    let build = |value: i64, name: &str, with_extra: bool| {
        let mut s = Stack::new("life");
        let a = s.add(
            "a",
            TestObject {
                value: Some(json!(value).into()),
                ..obj(name)
            },
        );
        let b = s.add(
            "b",
            TestObject {
                value: Some(a.id().cast().into()),
                ..obj("b")
            },
        );
        b.depends_on(&a);
        if with_extra {
            s.add("c", obj("c"));
        }
        s.build()
    };
    let spec = build(1, "a", true);
    let plan = e.plan(&spec, &PlanOptions::default()).await.unwrap();
    assert_eq!(plan.counts(), (3, 0, 0, 0));
    let b = plan.changes.iter().find(|c| c.address == "b").unwrap();
    assert!(kapstan::engine::value::is_unknown(
        &b.after.as_ref().unwrap()["value"]
    ));
    let report = e.apply(&plan, &ApplyOptions::default()).await.unwrap();
    assert!(report.is_success(), "{report:?}");

    let plan = e.plan(&spec, &PlanOptions::default()).await.unwrap();
    assert!(
        !plan.has_changes(),
        "second plan must be empty: {:?}",
        plan.changes
    );

    // In-place update of a payload.
    let plan = e
        .plan(&build(2, "a", true), &PlanOptions::default())
        .await
        .unwrap();
    let a = plan.changes.iter().find(|c| c.address == "a").unwrap();
    assert_eq!(a.action, Action::Update);
    assert_eq!(a.fields[0].path, "/value");
    assert_eq!(plan.counts(), (0, 1, 0, 0));
    e.apply(&plan, &ApplyOptions::default()).await.unwrap();

    // A force-new field replaces, names the field, and its dependent sees an unknown id.
    let plan = e
        .plan(&build(2, "a2", false), &PlanOptions::default())
        .await
        .unwrap();
    let a = plan.changes.iter().find(|c| c.address == "a").unwrap();
    assert_eq!(a.action, Action::Replace);
    assert_eq!(a.reason.as_deref(), Some("`name` forces replacement"));
    let b = plan.changes.iter().find(|c| c.address == "b").unwrap();
    assert_eq!(b.action, Action::Update);
    let c = plan.changes.iter().find(|c| c.address == "c").unwrap();
    assert_eq!(c.action, Action::Delete);
    let report = e.apply(&plan, &ApplyOptions::default()).await.unwrap();
    assert!(report.is_success(), "{report:?}");
    let doc = e.state("life").await.unwrap();
    assert_eq!(
        doc.resources["b"].config["value"],
        json!(doc.resources["a"].id.clone().unwrap())
    );
    assert!(!doc.resources.contains_key("c"));
    assert_eq!(doc.resources["b"].dependencies, vec!["a".to_string()]);

    let destroy = e
        .plan(
            &spec,
            &PlanOptions {
                mode: PlanMode::Destroy,
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(destroy.counts(), (0, 0, 0, 2));
    e.apply(&destroy, &ApplyOptions::default()).await.unwrap();
    assert!(e.state("life").await.unwrap().resources.is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn a_failure_skips_dependents_and_lets_independent_work_finish() {
    let dir = tempfile::tempdir().unwrap();
    let e = engine(dir.path());
    let spec = raw(
        "fail",
        &[
            ("bad", json!({"name": "bad", "fail_on": "create"}), &[]),
            ("child", json!({"name": "child"}), &["bad"]),
            ("grandchild", json!({"name": "gc"}), &["child"]),
            ("other", json!({"name": "other", "delay_ms": 50}), &[]),
        ],
    );
    let plan = e.plan(&spec, &PlanOptions::default()).await.unwrap();
    let report = e.apply(&plan, &ApplyOptions::default()).await.unwrap();
    assert_eq!(report.failed.len(), 1);
    assert_eq!(report.failed[0].address, "bad");
    assert!(report.failed[0].error.contains("create failed"));
    let skipped: Vec<&str> = report.skipped.iter().map(|s| s.0.as_str()).collect();
    assert_eq!(skipped.len(), 2);
    assert!(skipped.contains(&"child") && skipped.contains(&"grandchild"));
    assert!(report.skipped[0].1.contains("bad"), "{:?}", report.skipped);
    let doc = e.state("fail").await.unwrap();
    assert!(
        doc.resources.contains_key("other"),
        "independent work finished"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn parallelism_bounds_concurrency_and_early_usability_starts_dependents() {
    let dir = tempfile::tempdir().unwrap();
    let running = Arc::new(Mutex::new((0usize, 0usize)));
    let order = Arc::new(Mutex::new(Vec::<String>::new()));
    let (r, o) = (running.clone(), order.clone());
    let sink = EventSink::new(move |ev| match ev {
        Event::OperationStarted { address, .. } => {
            let mut g = r.lock().unwrap();
            g.0 += 1;
            g.1 = g.1.max(g.0);
            o.lock().unwrap().push(format!("start {address}"));
        }
        Event::OperationFinished { address, .. } => {
            r.lock().unwrap().0 -= 1;
            o.lock().unwrap().push(format!("end {address}"));
        }
        _ => {}
    });
    let e = engine(dir.path()).with_events(sink);
    let mut resources: Vec<(String, Value, Vec<&str>)> = (0..8)
        .map(|i| {
            (
                format!("w{i}"),
                json!({"name": format!("w{i}"), "delay_ms": 40}),
                vec![],
            )
        })
        .collect();
    resources.push((
        "cluster".into(),
        json!({"name": "cluster", "usable_after_ms": 10, "delay_ms": 300}),
        vec![],
    ));
    resources.push(("pool".into(), json!({"name": "pool"}), vec!["cluster"]));
    let borrowed: Vec<(&str, Value, &[&str])> = resources
        .iter()
        .map(|(a, c, d)| (a.as_str(), c.clone(), d.as_slice()))
        .collect();
    let spec = raw("par", &borrowed);
    let plan = e.plan(&spec, &PlanOptions::default()).await.unwrap();
    let report = e
        .apply(&plan, &ApplyOptions { parallelism: 3 })
        .await
        .unwrap();
    assert!(report.is_success());
    assert!(running.lock().unwrap().1 <= 3, "at most 3 in flight");
    let order = order.lock().unwrap();
    let pool_start = order.iter().position(|x| x == "start pool").unwrap();
    let cluster_end = order.iter().position(|x| x == "end cluster").unwrap();
    assert!(
        pool_start < cluster_end,
        "pool started once the cluster was usable: {order:?}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn interrupted_creates_are_resumed_not_repeated() {
    let dir = tempfile::tempdir().unwrap();
    let objects = tempfile::tempdir().unwrap();
    let store = objects.path().to_str().unwrap().to_string();
    let cancel = Cancel::new();
    let e = engine(dir.path()).with_cancel(cancel.clone());
    let spec = raw(
        "crash",
        &[
            (
                "slow",
                json!({"name": "slow", "delay_ms": 5000, "store": store}),
                &[],
            ),
            ("after", json!({"name": "after", "store": store}), &["slow"]),
        ],
    );
    let plan = e.plan(&spec, &PlanOptions::default()).await.unwrap();
    let e2 = e.clone();
    let task = tokio::spawn(async move { e2.apply(&plan, &ApplyOptions::default()).await });
    // Wait until the object exists (the "POST" returned), then interrupt twice: abandon.
    for _ in 0..200 {
        if !store_files(objects.path()).is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    cancel.trigger();
    tokio::time::sleep(Duration::from_millis(20)).await;
    cancel.trigger();
    let report = task.await.unwrap().unwrap();
    assert!(report.interrupted);
    assert!(report.failed[0].error.contains("abandoned"));
    let doc = e.state("crash").await.unwrap();
    let slow = &doc.resources["slow"];
    assert!(
        matches!(slow.status, kapstan::state::ResourceStatus::Pending(_)),
        "{slow:?}"
    );
    assert_eq!(store_files(objects.path()).len(), 1);

    // The next apply resumes: adopts the object created before, creates the dependent.
    let e = engine(dir.path());
    let plan = e.plan(&spec, &PlanOptions::default()).await.unwrap();
    let slow_change = plan.changes.iter().find(|c| c.address == "slow").unwrap();
    assert!(slow_change.resume);
    let report = e.apply(&plan, &ApplyOptions::default()).await.unwrap();
    assert!(report.is_success(), "{report:?}");
    assert_eq!(
        store_files(objects.path()).len(),
        2,
        "no duplicate of `slow`"
    );
    assert!(
        !e.plan(&spec, &PlanOptions::default())
            .await
            .unwrap()
            .has_changes()
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn first_interrupt_finishes_in_flight_work_and_starts_nothing_new() {
    let dir = tempfile::tempdir().unwrap();
    let cancel = Cancel::new();
    let e = engine(dir.path()).with_cancel(cancel.clone());
    let spec = raw(
        "int",
        &[
            ("first", json!({"name": "first", "delay_ms": 200}), &[]),
            ("second", json!({"name": "second"}), &["first"]),
        ],
    );
    let plan = e.plan(&spec, &PlanOptions::default()).await.unwrap();
    let e2 = e.clone();
    let task = tokio::spawn(async move { e2.apply(&plan, &ApplyOptions::default()).await });
    tokio::time::sleep(Duration::from_millis(50)).await;
    cancel.trigger();
    let report = task.await.unwrap().unwrap();
    assert!(report.interrupted);
    assert!(report.failed.is_empty());
    assert_eq!(report.succeeded.len(), 1);
    assert_eq!(report.skipped[0].0, "second");
    let doc = e.state("int").await.unwrap();
    assert!(doc.resources.contains_key("first") && !doc.resources.contains_key("second"));
}

#[tokio::test(flavor = "multi_thread")]
async fn drift_is_reported_apart_and_planned_back() {
    let dir = tempfile::tempdir().unwrap();
    let objects = tempfile::tempdir().unwrap();
    let store = objects.path().to_str().unwrap().to_string();
    let e = engine(dir.path());
    let spec = raw(
        "drift",
        &[
            (
                "kept",
                json!({"name": "kept", "value": 1, "store": store}),
                &[],
            ),
            ("gone", json!({"name": "gone", "store": store}), &[]),
        ],
    );
    apply_all(&e, &spec).await;
    let doc = e.state("drift").await.unwrap();
    let kept = objects.path().join(format!(
        "{}.json",
        doc.resources["kept"].id.as_ref().unwrap()
    ));
    let mut o: Value = serde_json::from_slice(&std::fs::read(&kept).unwrap()).unwrap();
    o["value"] = json!(7);
    std::fs::write(&kept, serde_json::to_vec(&o).unwrap()).unwrap();
    std::fs::remove_file(objects.path().join(format!(
        "{}.json",
        doc.resources["gone"].id.as_ref().unwrap()
    )))
    .unwrap();

    let plan = e
        .plan(
            &spec,
            &PlanOptions {
                mode: PlanMode::RefreshOnly,
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(plan.drift.len(), 2);
    assert!(plan.drift.iter().any(|d| d.address == "gone" && d.deleted));
    let k = plan.drift.iter().find(|d| d.address == "kept").unwrap();
    assert_eq!(k.fields[0].path, "/value");
    assert!(
        plan.actionable().next().is_none(),
        "refresh-only changes nothing"
    );

    let plan = e.plan(&spec, &PlanOptions::default()).await.unwrap();
    let kept = plan.changes.iter().find(|c| c.address == "kept").unwrap();
    assert_eq!(kept.action, Action::Update);
    let gone = plan.changes.iter().find(|c| c.address == "gone").unwrap();
    assert_eq!(gone.action, Action::Create);
    assert_eq!(gone.reason.as_deref(), Some("deleted outside kapstan"));
    apply_all(&e, &spec).await;
    assert!(
        !e.plan(&spec, &PlanOptions::default())
            .await
            .unwrap()
            .has_changes()
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn secrets_never_leave_in_clear() {
    let dir = tempfile::tempdir().unwrap();
    let seen = Arc::new(Mutex::new(String::new()));
    let s2 = seen.clone();
    let e = engine(dir.path()).with_events(EventSink::new(move |ev| {
        s2.lock()
            .unwrap()
            .push_str(&serde_json::to_string(ev).unwrap());
    }));
    let mut s = Stack::new("secret");
    let pw = s.add(
        "pw",
        RandomPassword {
            length: 32.into(),
            ..Default::default()
        },
    );
    s.add(
        "db",
        TestObject {
            value: Some(pw.result().cast().into()),
            ..obj("db")
        },
    );
    s.output("password", pw.result());
    let spec = s.build();
    let report = apply_all(&e, &spec).await;
    let secret = report.outputs["password"]
        .value
        .as_str()
        .unwrap()
        .to_string();
    assert!(
        report.outputs["password"].sensitive,
        "derived from a sensitive attribute"
    );
    // Change something else so the plan shows the resource holding the secret.
    let mut s = Stack::new("secret");
    let pw = s.add(
        "pw",
        RandomPassword {
            length: 32.into(),
            ..Default::default()
        },
    );
    s.add(
        "db",
        TestObject {
            value: Some(pw.result().cast().into()),
            ..obj("db2")
        },
    );
    s.output("password", pw.result());
    let plan = e.plan(&s.build(), &PlanOptions::default()).await.unwrap();
    let json = kapstan::engine::plan_json::to_terraform_json(&plan, None).to_string();
    assert!(!json.contains(&secret));
    assert!(json.contains("(sensitive value)"));
    let file = dir.path().join("p.plan");
    PlanFile::new(&plan, Value::Null).save(&file).unwrap();
    assert!(!std::fs::read_to_string(&file).unwrap().contains(&secret));
    assert!(!seen.lock().unwrap().contains(&secret));
    let db = std::fs::read(dir.path().join("state/secret.redb")).unwrap();
    assert!(
        !db.windows(secret.len()).any(|w| w == secret.as_bytes()),
        "sealed in state"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn stack_ref_reads_another_stacks_outputs() {
    let dir = tempfile::tempdir().unwrap();
    let e = engine(dir.path());
    let mut infra = Stack::new("infra");
    let net = infra.add("net", obj("net"));
    infra.output("network_id", net.id());
    apply_all(&e, &infra.build()).await;
    let net_id = e.state("infra").await.unwrap().resources["net"]
        .id
        .clone()
        .unwrap();

    let mut app = Stack::new("app");
    let infra_ref = app.stack_ref("infra");
    app.add(
        "svc",
        TestObject {
            value: Some(infra_ref.output("network_id")),
            ..obj("svc")
        },
    );
    let report = apply_all(&e, &app.build()).await;
    assert!(report.is_success());
    assert_eq!(
        e.state("app").await.unwrap().resources["svc"].config["value"],
        json!(net_id)
    );

    let mut bad = Stack::new("app2");
    bad.add(
        "svc",
        TestObject {
            value: Some(app.stack_ref("infra").output("nope")),
            ..obj("svc")
        },
    );
    let err = e
        .plan(&bad.build(), &PlanOptions::default())
        .await
        .unwrap_err();
    assert!(
        err.to_string().contains("output `nope` of stack `infra`"),
        "{err}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn lifecycle_ignore_changes_create_before_destroy_and_targets() {
    let dir = tempfile::tempdir().unwrap();
    let e = engine(dir.path());
    let build = |value: i64, name: &str| {
        let mut s = Stack::new("lc");
        let a = s.add(
            "a",
            TestObject {
                value: Some(json!(value).into()),
                ..obj("a")
            },
        );
        a.ignore_changes(&["value"]);
        let b = s.add("b", obj(name));
        b.create_before_destroy();
        s.add("c", obj("c"));
        s.build()
    };
    apply_all(&e, &build(1, "b")).await;
    let plan = e
        .plan(&build(5, "b"), &PlanOptions::default())
        .await
        .unwrap();
    assert!(!plan.has_changes(), "ignored field");

    let plan = e
        .plan(&build(1, "b2"), &PlanOptions::default())
        .await
        .unwrap();
    let b = plan.changes.iter().find(|c| c.address == "b").unwrap();
    assert_eq!((b.action, b.create_before_destroy), (Action::Replace, true));
    let report = e.apply(&plan, &ApplyOptions::default()).await.unwrap();
    assert!(report.is_success(), "{report:?}");
    let doc = e.state("lc").await.unwrap();
    assert!(!doc.resources.keys().any(|k| k.contains("deposed")));

    // --target: only `c` and what it needs.
    let mut s = Stack::new("lc");
    s.add("a", obj("a"));
    s.add("b", obj("b3"));
    s.add("c", obj("c2"));
    let plan = e
        .plan(
            &s.build(),
            &PlanOptions {
                targets: vec!["c".into()],
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let acting: Vec<&str> = plan.actionable().map(|c| c.address.as_str()).collect();
    assert_eq!(acting, vec!["c"]);
}

// ---- bad input: each reported before any driver call, nothing written ----

async fn assert_rejected_untouched(e: &Engine, spec: &StackSpec, needle: &str) {
    let before = e.state(&spec.name).await.unwrap();
    let err = e.plan(spec, &PlanOptions::default()).await.unwrap_err();
    assert!(
        err.to_string().contains(needle),
        "`{err}` should mention `{needle}`"
    );
    let after = e.state(&spec.name).await.unwrap();
    assert_eq!(before.serial, after.serial);
}

#[tokio::test(flavor = "multi_thread")]
async fn bad_stacks_are_rejected_before_any_call() {
    let dir = tempfile::tempdir().unwrap();
    let objects = tempfile::tempdir().unwrap();
    let store = objects.path().to_str().unwrap();
    let e = engine(dir.path());
    let cyc = raw(
        "bad",
        &[
            ("a", json!({"name": "a", "store": store}), &["c"]),
            ("b", json!({"name": "b", "store": store}), &["a"]),
            ("c", json!({"name": "c", "store": store}), &["b"]),
        ],
    );
    assert_rejected_untouched(&e, &cyc, "dependency cycle: a -> c -> b -> a").await;

    let mut dup = Stack::new("bad");
    dup.add("x", obj("x"));
    dup.add("x", obj("y"));
    assert_rejected_untouched(&e, &dup.build(), "duplicate address `x`").await;

    let mut undeclared = Stack::new("bad");
    undeclared.add_raw(
        "x",
        "kapstan_test_object",
        json!({"value": {"$ref": {"resource": "ghost", "attr": "id"}}}),
    );
    assert_rejected_untouched(&e, &undeclared.build(), "no resource `ghost` is declared").await;

    let mut unknown_attr = Stack::new("bad");
    unknown_attr.add("y", obj("y"));
    unknown_attr.add_raw(
        "x",
        "kapstan_test_object",
        json!({"value": {"$ref": {"resource": "y", "attr": "colour"}}}),
    );
    assert_rejected_untouched(&e, &unknown_attr.build(), "has no attribute `colour`").await;

    let mut invalid = Stack::new("bad");
    invalid.add(
        "pw",
        RandomPassword {
            length: 3.into(),
            ..Default::default()
        },
    );
    invalid.add_raw("o", "kapstan_test_object", json!({"fail_on": "explode"}));
    invalid.add_raw("u", "kapstan_test_object", json!({"colour": "red"}));
    let err = e
        .plan(&invalid.build(), &PlanOptions::default())
        .await
        .unwrap_err();
    let text = err.to_string();
    assert!(
        text.contains("field `length` = 3 is out of range; use a length from 8 to 256"),
        "{text}"
    );
    assert!(text.contains("field `fail_on` = \"explode\""), "{text}");
    assert!(text.contains("field `colour`"), "{text}");
    assert!(matches!(err, EngineError::Invalid { ref problems, .. } if problems.len() == 3));
    assert!(
        store_files(objects.path()).is_empty(),
        "no driver was called"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn prevent_destroy_refuses_delete_and_replace() {
    let dir = tempfile::tempdir().unwrap();
    let e = engine(dir.path());
    let build = |name: &str| {
        let mut s = Stack::new("keep");
        s.add("db", obj(name)).prevent_destroy();
        s.build()
    };
    apply_all(&e, &build("db")).await;
    let err = e
        .plan(&build("db2"), &PlanOptions::default())
        .await
        .unwrap_err();
    assert!(matches!(err, EngineError::PreventDestroy { ref action, .. } if action == "replace"));
    let err = e
        .plan(
            &build("db"),
            &PlanOptions {
                mode: PlanMode::Destroy,
                ..Default::default()
            },
        )
        .await
        .unwrap_err();
    assert!(
        err.to_string().contains("db has prevent_destroy set"),
        "{err}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn corrupted_and_newer_state_is_refused_and_left_alone() {
    let dir = tempfile::tempdir().unwrap();
    let e = engine(dir.path());
    let mut s = Stack::new("st");
    s.add("a", obj("a"));
    let spec = s.build();
    apply_all(&e, &spec).await;
    let store = e.store().clone();
    let doc = store.load("st").await.unwrap().unwrap();
    // A newer format, written through the store's own replace path.
    let mut newer = doc.clone();
    newer.format_version = 99;
    let mut delta = kapstan::state::StateDelta::on(&doc, "test");
    delta.replace = Some(Box::new(newer));
    store.commit("st", delta).await.unwrap();
    drop(store);
    drop(e);
    // The local store keeps the header's version; forge one at the byte level instead.
    let path = dir.path().join("state/st.redb");
    let bytes = std::fs::read(&path).unwrap();
    let needle = br#""format_version":1"#;
    let pos = bytes
        .windows(needle.len())
        .position(|w| w == needle)
        .expect("header in db");
    let mut forged = bytes.clone();
    forged[pos + needle.len() - 1] = b'9';
    std::fs::write(&path, &forged).unwrap();
    let e = engine(dir.path());
    let err = e.plan(&spec, &PlanOptions::default()).await.unwrap_err();
    assert!(
        matches!(
            err,
            EngineError::State(StateError::NewerFormat { found: 9, .. })
        ),
        "{err}"
    );
    let still = std::fs::read(&path).unwrap();
    assert!(
        still
            .windows(needle.len())
            .any(|w| w == br#""format_version":9"#),
        "the document was left as it was"
    );

    // Garbage in place of the header.
    drop(e);
    // redb keeps older copies of pages: damage every copy of the header.
    let mut garbage = std::fs::read(&path).unwrap();
    let nine = br#""format_version":9"#;
    let hits: Vec<usize> = garbage
        .windows(nine.len())
        .enumerate()
        .filter(|(_, w)| *w == nine)
        .map(|(i, _)| i)
        .collect();
    for i in hits {
        garbage[i] = b'!';
    }
    std::fs::write(&path, &garbage).unwrap();
    let e = engine(dir.path());
    let err = e.plan(&spec, &PlanOptions::default()).await.unwrap_err();
    assert!(
        matches!(err, EngineError::State(StateError::Corrupt { .. })),
        "{err}"
    );
    let still = std::fs::read(&path).unwrap();
    assert!(
        still
            .windows(needle.len())
            .any(|w| w == br#"!format_version":9"#),
        "the document was left as it was"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_held_lock_names_its_holder() {
    let dir = tempfile::tempdir().unwrap();
    let e = engine(dir.path());
    let mut s = Stack::new("locked");
    s.add("a", obj("a"));
    let lock = e.store().lock("locked", "apply").await.unwrap();
    let other = engine(dir.path());
    let err = other
        .plan(&s.build(), &PlanOptions::default())
        .await
        .unwrap_err();
    let text = err.to_string();
    assert!(
        text.contains("is locked by") && text.contains(&format!("pid {}", lock.pid)),
        "{text}"
    );
    assert!(text.contains("operation `apply`"), "{text}");
    e.store().unlock("locked", &lock).await.unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn stale_or_tampered_plan_files_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let e = engine(dir.path());
    let build = |n: &str| {
        let mut s = Stack::new("pf");
        s.add("a", obj(n));
        s.build()
    };
    let spec = build("a");
    let plan = e.plan(&spec, &PlanOptions::default()).await.unwrap();
    let path = dir.path().join("a.plan");
    PlanFile::new(&plan, Value::Null).save(&path).unwrap();

    // Tampered: change an action in the file.
    let text = std::fs::read_to_string(&path).unwrap();
    let tampered = dir.path().join("t.plan");
    std::fs::write(&tampered, text.replacen("\"create\"", "\"delete\"", 1)).unwrap();
    let err = PlanFile::load(&tampered).unwrap_err();
    assert!(err.to_string().contains("altered"), "{err}");

    // Code changed since the plan.
    let file = PlanFile::load(&path).unwrap();
    let err = e.bind(&build("other"), &file, "a.plan").await.unwrap_err();
    assert!(err.to_string().contains("declaration changed"), "{err}");

    // State changed since the plan.
    apply_all(&e, &spec).await;
    let err = e.bind(&spec, &file, "a.plan").await.unwrap_err();
    assert!(
        err.to_string().contains("state changed since the plan"),
        "{err}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn saved_plans_apply_exactly_and_history_rolls_back() {
    let dir = tempfile::tempdir().unwrap();
    let e = engine(dir.path());
    let mut s = Stack::new("saved");
    s.add("a", obj("a"));
    let spec = s.build();
    let plan = e.plan(&spec, &PlanOptions::default()).await.unwrap();
    let path = dir.path().join("a.plan");
    PlanFile::new(&plan, Value::Null).save(&path).unwrap();
    let bound = e
        .bind(&spec, &PlanFile::load(&path).unwrap(), "a.plan")
        .await
        .unwrap();
    let report = e.apply(&bound, &ApplyOptions::default()).await.unwrap();
    assert!(report.is_success());
    let history = e.store().history("saved").await.unwrap();
    assert!(!history.is_empty());
    let first = e.store().version("saved", history[0].serial).await.unwrap();
    assert!(first.resources.contains_key("a"));
}

#[tokio::test(flavor = "multi_thread")]
async fn an_update_that_failed_is_made_again_even_when_the_config_went_back() {
    let dir = tempfile::tempdir().unwrap();
    let e = engine(dir.path());
    let first = raw("redo", &[("o", json!({"name": "o", "value": 1}), &[])]);
    assert!(apply_all(&e, &first).await.is_success());
    let failing = raw(
        "redo",
        &[(
            "o",
            json!({"name": "o", "value": 2, "fail_on": "update"}),
            &[],
        )],
    );
    let report = apply_all(&e, &failing).await;
    assert_eq!(report.failed.len(), 1, "{report:?}");
    // Going back to the recorded config: the live object is what the failed update left, so
    // it is updated again rather than called unchanged.
    let plan = e.plan(&first, &PlanOptions::default()).await.unwrap();
    let change = plan.changes.iter().find(|c| c.address == "o").unwrap();
    assert_eq!(change.action, Action::Update, "{change:?}");
    assert_eq!(
        change.reason.as_deref(),
        Some("resuming an interrupted update")
    );
    assert!(apply_all(&e, &first).await.is_success());
    assert!(
        !e.plan(&first, &PlanOptions::default())
            .await
            .unwrap()
            .has_changes()
    );
}
