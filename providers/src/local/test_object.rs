//! `kapstan_test_object`: a kind whose behaviour tests control — delay, failure, early
//! usability, and an optional on-disk "cloud" (one JSON file per object, tagged like real
//! resources) so drift, deletion outside kapstan, crashes and adoption can be exercised.

use std::path::{Path, PathBuf};
use std::time::Duration;

use kapstan_engine::state::ResourceState;
use kapstan_engine::{
    Created, Driver, DriverContext, DriverError, FieldError, Imported, Input, Schema, Update,
    async_trait,
};
use serde_json::{Value, json};

crate::declare::kind! {
    /// A test object.
    #[derive(Default)]
    pub struct TestObject = "kapstan_test_object";
    /// Name; changing it replaces the object.
    name: Option<Input<String>>, optional force_new => "name; changing it replaces the object", attribute;
    /// Payload; updated in place.
    value: Option<Input<Value>>, optional => "payload, updated in place", attribute;
    /// Each operation takes this long.
    delay_ms: Option<u64>, optional => "duration of each operation";
    /// Declares the object usable by dependents after this long, before the create ends.
    usable_after_ms: Option<u64>, optional => "usable by dependents after this long";
    /// Operation that fails: `create`, `update`, `delete` or `read`.
    fail_on: Option<String>, optional
        => "operation that fails: create, update, delete or read";
    /// Directory holding the objects (the "cloud"); without it objects live only in state.
    store: Option<String>, optional force_new => "directory holding the objects";
    computed "generation" => "incremented by every update";
    /// Attributes of a test object.
    attributes TestObjectAttributes;
}

crate::declare::schema_driver! {
    /// The `kapstan_test_object` driver.
    TestObjectDriver for TestObject
}

fn store_of(config: &Value) -> Option<PathBuf> {
    config
        .get("store")
        .and_then(Value::as_str)
        .map(PathBuf::from)
}

fn fails(config: &Value, op: &str) -> Result<(), DriverError> {
    if config.get("fail_on").and_then(Value::as_str) == Some(op) {
        return Err(DriverError::failed(format!(
            "{op} failed as requested by fail_on"
        )));
    }
    Ok(())
}

async fn delay(config: &Value, key: &str) {
    if let Some(ms) = config.get(key).and_then(Value::as_u64)
        && ms > 0
    {
        tokio::time::sleep(Duration::from_millis(ms)).await;
    }
}

fn new_id() -> String {
    let n: u64 = rand::random();
    format!("obj-{n:016x}")
}

fn object_path(store: &Path, id: &str) -> PathBuf {
    store.join(format!("{id}.json"))
}

fn write_object(store: &Path, id: &str, object: &Value) -> Result<(), DriverError> {
    let err = |e: std::io::Error| DriverError::failed(format!("writing test object {id}: {e}"));
    std::fs::create_dir_all(store).map_err(err)?;
    let tmp = store.join(format!(".{id}.tmp"));
    std::fs::write(&tmp, serde_json::to_vec_pretty(object).expect("json")).map_err(err)?;
    std::fs::rename(&tmp, object_path(store, id)).map_err(err)
}

fn read_object(store: &Path, id: &str) -> Result<Option<Value>, DriverError> {
    match std::fs::read(object_path(store, id)) {
        Ok(bytes) => serde_json::from_slice(&bytes)
            .map(Some)
            .map_err(|e| DriverError::failed(format!("test object {id} is not JSON: {e}"))),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(DriverError::failed(format!(
            "reading test object {id}: {e}"
        ))),
    }
}

/// Attributes as the "API" reports them: the config fields plus computed ones.
fn attributes_of(object: &Value) -> Value {
    let mut a = object.clone();
    if let Some(m) = a.as_object_mut() {
        m.remove("tags");
    }
    a
}

#[async_trait]
impl Driver for TestObjectDriver {
    fn schema(&self) -> &Schema {
        &self.schema
    }

    fn validate(&self, config: &Value, errors: &mut Vec<FieldError>) {
        if let Some(op) = config.get("fail_on").and_then(Value::as_str)
            && !["create", "update", "delete", "read"].contains(&op)
        {
            errors.push(FieldError::new(
                "fail_on",
                &format!("{op:?}"),
                "is not an operation",
                "use create, update, delete or read",
            ));
        }
        if let Some(name) = config.get("name").and_then(Value::as_str)
            && (name.is_empty() || name.len() > 63)
        {
            errors.push(FieldError::new(
                "name",
                &format!("{name:?}"),
                "must be 1 to 63 characters",
                "shorten the name",
            ));
        }
    }

    fn has_external_effects(&self) -> bool {
        // Only objects kept in a store exist outside state; others cannot be orphaned. The
        // engine asks per kind, so be conservative: intents are cheap with group commit.
        true
    }

    async fn read(
        &self,
        _ctx: &DriverContext,
        recorded: &ResourceState,
    ) -> Result<Option<Value>, DriverError> {
        fails(&recorded.config, "read")?;
        let Some(store) = store_of(&recorded.config) else {
            return Ok(Some(recorded.attributes.clone()));
        };
        let id = recorded.id.as_deref().unwrap_or_default();
        Ok(read_object(&store, id)?.map(|o| attributes_of(&o)))
    }

    async fn create(&self, ctx: &DriverContext, config: &Value) -> Result<Created, DriverError> {
        fails(config, "create")?;
        let id = new_id();
        let mut object = config.clone();
        object["generation"] = json!(1);
        if let Some(store) = store_of(config) {
            object["tags"] = json!(ctx.ownership_tags());
            write_object(&store, &id, &object)?;
            // Like a real API: the object exists once the POST returns; record that first.
            ctx.checkpoint(json!({"id": id})).await?;
        }
        if let Some(ms) = config.get("usable_after_ms").and_then(Value::as_u64) {
            tokio::time::sleep(Duration::from_millis(ms)).await;
            ctx.usable(&id, attributes_of(&object));
        }
        delay(config, "delay_ms").await;
        Ok(Created {
            id,
            attributes: attributes_of(&object),
        })
    }

    async fn update(
        &self,
        _ctx: &DriverContext,
        update: &Update<'_>,
    ) -> Result<Value, DriverError> {
        fails(update.config, "update")?;
        let id = update.recorded.id.clone().unwrap_or_default();
        let generation = update.recorded.attributes["generation"]
            .as_u64()
            .unwrap_or(1)
            + 1;
        let mut object = update.config.clone();
        object["generation"] = json!(generation);
        if let Some(store) = store_of(update.config) {
            let Some(existing) = read_object(&store, &id)? else {
                return Err(DriverError::failed(format!("test object {id} is gone")));
            };
            object["tags"] = existing["tags"].clone();
            write_object(&store, &id, &object)?;
        }
        delay(update.config, "delay_ms").await;
        Ok(attributes_of(&object))
    }

    async fn delete(
        &self,
        _ctx: &DriverContext,
        recorded: &ResourceState,
    ) -> Result<(), DriverError> {
        fails(&recorded.config, "delete")?;
        delay(&recorded.config, "delay_ms").await;
        if let (Some(store), Some(id)) = (store_of(&recorded.config), &recorded.id) {
            match std::fs::remove_file(object_path(&store, id)) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => {
                    return Err(DriverError::failed(format!(
                        "deleting test object {id}: {e}"
                    )));
                }
            }
        }
        Ok(())
    }

    async fn recover(
        &self,
        ctx: &DriverContext,
        config: &Value,
        marker: &Value,
    ) -> Result<Option<Created>, DriverError> {
        let Some(store) = store_of(config) else {
            return Ok(None);
        };
        if let Some(id) = marker.get("id").and_then(Value::as_str) {
            return Ok(read_object(&store, id)?.map(|o| Created {
                id: id.to_string(),
                attributes: attributes_of(&o),
            }));
        }
        let tags = json!(ctx.ownership_tags());
        let mut found = vec![];
        if let Ok(entries) = std::fs::read_dir(&store) {
            for entry in entries.flatten() {
                let name = entry.file_name().to_string_lossy().into_owned();
                let Some(id) = name.strip_suffix(".json") else {
                    continue;
                };
                if let Some(o) = read_object(&store, id)?
                    && o["tags"] == tags
                {
                    found.push((id.to_string(), o));
                }
            }
        }
        match found.len() {
            0 => Ok(None),
            1 => {
                let (id, o) = found.remove(0);
                Ok(Some(Created {
                    id,
                    attributes: attributes_of(&o),
                }))
            }
            n => Err(DriverError::Ambiguous {
                kind: "kapstan_test_object".into(),
                tag: format!("kapstan-addr={}", ctx.address),
                count: n,
                ids: found
                    .iter()
                    .map(|f| f.0.as_str())
                    .collect::<Vec<_>>()
                    .join(", "),
            }),
        }
    }

    async fn import(
        &self,
        _ctx: &DriverContext,
        id: &str,
    ) -> Result<Option<Imported>, DriverError> {
        // Imports read from the store named by KAPSTAN_TEST_STORE: an id alone does not say
        // where an object lives.
        let Some(store) = std::env::var_os("KAPSTAN_TEST_STORE").map(PathBuf::from) else {
            return Err(DriverError::failed(
                "set KAPSTAN_TEST_STORE to the directory of the objects to import",
            ));
        };
        Ok(read_object(&store, id)?.map(|o| {
            let attributes = attributes_of(&o);
            let mut config = attributes.clone();
            if let Some(m) = config.as_object_mut() {
                m.remove("generation");
            }
            Imported { config, attributes }
        }))
    }
}
