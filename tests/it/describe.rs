//! The planner's describe step with a fake driver that lists the objects it manages: details in
//! the plan, the plan JSON and saved plans; a config with unknown values is not described; a
//! failing describe becomes a note without failing the plan or leaking a secret.

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use kapstan::engine::state::ResourceState;
use kapstan::engine::{
    Action, ApplyOptions, Created, Driver, DriverContext, DriverError, Engine, Field, ObjectChange,
    PlanFile, PlanOptions, Schema, Stack, StackSpec, Update, async_trait,
};
use kapstan::state::{LocalStore, StateStore};
use serde_json::{Value, json};

/// A "release" that manages one ConfigMap named after it, whose data is the `value` field.
struct FakeRelease {
    schema: Schema,
    describes: Arc<AtomicUsize>,
}

impl FakeRelease {
    fn new(describes: Arc<AtomicUsize>) -> Self {
        Self {
            schema: Schema::new(
                "fake_release",
                vec![
                    Field::required("name"),
                    Field::optional("value"),
                    Field::optional("fail"),
                    Field::optional("secret").sensitive(),
                ],
            ),
            describes,
        }
    }
}

#[async_trait]
impl Driver for FakeRelease {
    fn schema(&self) -> &Schema {
        &self.schema
    }

    fn describes_objects(&self) -> bool {
        true
    }

    async fn describe(
        &self,
        _ctx: &DriverContext,
        recorded: Option<&ResourceState>,
        config: &Value,
    ) -> Result<Vec<ObjectChange>, DriverError> {
        self.describes.fetch_add(1, Ordering::SeqCst);
        if config["fail"] == json!(true) {
            return Err(DriverError::failed(format!(
                "the chart broke near {}",
                config["secret"].as_str().unwrap_or_default()
            )));
        }
        let name = format!("v1 ConfigMap default/{}", config["name"].as_str().unwrap());
        Ok(match recorded {
            None => vec![
                ObjectChange::create(name),
                ObjectChange::create("v1 ServiceAccount default/fake"),
            ],
            Some(r) if r.attributes["value"] != config["value"] => {
                vec![ObjectChange::update(name, vec!["data.value".into()])]
            }
            Some(_) => vec![],
        })
    }

    async fn read(
        &self,
        _ctx: &DriverContext,
        recorded: &ResourceState,
    ) -> Result<Option<Value>, DriverError> {
        Ok(Some(recorded.attributes.clone()))
    }

    async fn create(&self, _ctx: &DriverContext, config: &Value) -> Result<Created, DriverError> {
        Ok(Created {
            id: config["name"].as_str().unwrap_or_default().to_string(),
            attributes: config.clone(),
        })
    }

    async fn update(
        &self,
        _ctx: &DriverContext,
        update: &Update<'_>,
    ) -> Result<Value, DriverError> {
        let Update { config, .. } = *update;
        Ok(config.clone())
    }

    async fn delete(
        &self,
        _ctx: &DriverContext,
        _recorded: &ResourceState,
    ) -> Result<(), DriverError> {
        Ok(())
    }
}

fn engine(dir: &Path, describes: &Arc<AtomicUsize>) -> Engine {
    let store: Arc<dyn StateStore> = Arc::new(LocalStore::open(dir, None).unwrap());
    let mut registry = kapstan::providers::registry();
    registry.register(Arc::new(FakeRelease::new(describes.clone())));
    Engine::new(registry, store)
}

/// `rel` (described), `later` (its value references an object created by the same plan),
/// `broken` (its describe fails, quoting a secret) and `plain` (a kind without describe).
fn stack(value: i64, with_broken: bool) -> StackSpec {
    let mut s = Stack::new("described");
    s.add_raw(
        "rel",
        "fake_release",
        json!({"name": "rel", "value": value}),
    );
    s.add_raw(
        "plain",
        "kapstan_test_object",
        json!({"name": "plain", "value": 1}),
    );
    s.add_raw(
        "later",
        "fake_release",
        json!({"name": "later", "value": {"$ref": {"resource": "plain", "attr": "id"}}}),
    );
    if with_broken {
        s.add_raw(
            "broken",
            "fake_release",
            json!({"name": "broken", "fail": true, "secret": "hunter2-very-secret"}),
        );
    }
    s.build()
}

fn details(plan: &kapstan::engine::Plan, address: &str) -> Vec<ObjectChange> {
    plan.changes
        .iter()
        .find(|c| c.address == address)
        .unwrap_or_else(|| panic!("{address} is not in the plan"))
        .details
        .clone()
}

#[tokio::test(flavor = "multi_thread")]
async fn plans_list_the_objects_a_change_touches() {
    let dir = tempfile::tempdir().unwrap();
    let describes = Arc::new(AtomicUsize::new(0));
    let e = engine(dir.path(), &describes);

    let plan = e
        .plan(&stack(1, true), &PlanOptions::default())
        .await
        .unwrap();
    assert_eq!(
        details(&plan, "rel"),
        vec![
            ObjectChange::create("v1 ConfigMap default/rel"),
            ObjectChange::create("v1 ServiceAccount default/fake"),
        ]
    );
    // Unknown config: not described, a note says why.
    assert_eq!(
        details(&plan, "later"),
        vec![ObjectChange::note("known after apply")]
    );
    // A failing describe does not fail the plan and shows no secret.
    let broken = details(&plan, "broken");
    assert_eq!(broken.len(), 1);
    assert!(broken[0].is_note());
    assert_eq!(
        broken[0].name,
        "could not be described: the chart broke near (sensitive value)"
    );
    // A kind without describe has no details.
    assert!(details(&plan, "plain").is_empty());
    // Only the two fully known fake releases were described.
    assert_eq!(describes.load(Ordering::SeqCst), 2);

    // Plan JSON: under resource_changes[].kapstan_objects, absent when empty.
    let json = kapstan::engine::plan_json::to_terraform_json(&plan, None);
    let text = json.to_string();
    assert!(!text.contains("hunter2"), "{text}");
    let change = |name: &str| {
        json["resource_changes"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["name"] == name)
            .unwrap()
            .clone()
    };
    assert_eq!(
        change("rel")["kapstan_objects"],
        json!([
            {"action": "create", "name": "v1 ConfigMap default/rel"},
            {"action": "create", "name": "v1 ServiceAccount default/fake"},
        ])
    );
    assert_eq!(
        change("later")["kapstan_objects"],
        json!([{"action": "no-op", "name": "known after apply"}])
    );
    assert!(change("plain").get("kapstan_objects").is_none());

    // Saved plans carry the details, and apply after binding.
    let path = dir.path().join("plan.json");
    let spec = stack(1, false);
    let plan = e.plan(&spec, &PlanOptions::default()).await.unwrap();
    PlanFile::new(&plan, Value::Null).save(&path).unwrap();
    let file = PlanFile::load(&path).unwrap();
    assert_eq!(details(&file.plan, "rel"), details(&plan, "rel"));
    assert!(!details(&file.plan, "rel").is_empty());
    let bound = e.bind(&spec, &file, "plan.json").await.unwrap();
    let report = e.apply(&bound, &ApplyOptions::default()).await.unwrap();
    assert!(report.failed.is_empty(), "{:?}", report.failed);

    // No change: nothing described.
    describes.store(0, Ordering::SeqCst);
    let plan = e.plan(&spec, &PlanOptions::default()).await.unwrap();
    assert!(!plan.has_changes());
    assert_eq!(describes.load(Ordering::SeqCst), 0);

    // An update is described against the recorded state.
    let plan = e
        .plan(&stack(2, false), &PlanOptions::default())
        .await
        .unwrap();
    let rel = plan.changes.iter().find(|c| c.address == "rel").unwrap();
    assert_eq!(rel.action, Action::Update);
    assert_eq!(
        rel.details,
        vec![ObjectChange::update(
            "v1 ConfigMap default/rel",
            vec!["data.value".into()]
        )]
    );
    assert_eq!(describes.load(Ordering::SeqCst), 1);
    let json = kapstan::engine::plan_json::to_terraform_json(&plan, None);
    let rel = json["resource_changes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "rel")
        .unwrap();
    assert_eq!(
        rel["kapstan_objects"],
        json!([{"action": "update", "name": "v1 ConfigMap default/rel", "fields": ["data.value"]}])
    );
}
