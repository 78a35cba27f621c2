//! Embedding kapstan in your own tool: declare a stack in Rust, plan it, apply it, read its
//! outputs, plan again (nothing to do), and destroy it — all on local kinds, no cloud.
//!
//! `cargo run --example embed -- [STATE_DIR]` (default: a temporary directory).

use std::sync::Arc;

use kapstan::prelude::*;
use serde_json::json;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let dir = match std::env::args().nth(1) {
        Some(d) => std::path::PathBuf::from(d),
        None => std::env::temp_dir().join(format!("kapstan-embed-{}", std::process::id())),
    };

    // 1. Declare.
    let mut s = Stack::new("embedded");
    let network = s.add(
        "network",
        TestObject {
            name: Some("embedded-network".into()),
            value: Some(json!({"cidr": "10.0.0.0/24"}).into()),
            ..Default::default()
        },
    );
    let password = s.add(
        "db_password",
        RandomPassword {
            length: 20.into(),
            ..Default::default()
        },
    );
    let database = s.add(
        "database",
        TestObject {
            name: Some("embedded-db".into()),
            value: Some(Input::Ref(password.result().cast())),
            ..Default::default()
        },
    );
    database.depends_on(&network);
    s.output("network_id", network.id());
    s.output("db_password", password.result()).sensitive();
    let spec = s.build();

    // 2. An engine over the local kinds and a local state store.
    let store: Arc<dyn StateStore> = Arc::new(LocalStore::open(&dir, None)?);
    let engine = Engine::new(registry(), store);

    // 3. Plan and apply.
    let plan = engine.plan(&spec, &PlanOptions::default()).await?;
    let (add, change, replace, destroy) = plan.counts();
    println!("plan: {add} to add, {change} to change, {replace} to replace, {destroy} to destroy");
    let report = engine.apply(&plan, &ApplyOptions::default()).await?;
    println!(
        "applied {} operation(s), state serial {}",
        report.succeeded.len(),
        report.serial
    );
    println!("network_id = {}", report.outputs["network_id"].value);
    println!(
        "db_password is sensitive: {}",
        report.outputs["db_password"].sensitive
    );

    // 4. A second plan has nothing to do.
    let again = engine.plan(&spec, &PlanOptions::default()).await?;
    println!("second plan has changes: {}", again.has_changes());

    // 5. Destroy.
    let destroy = engine
        .plan(
            &spec,
            &PlanOptions {
                mode: PlanMode::Destroy,
                ..Default::default()
            },
        )
        .await?;
    let report = engine.apply(&destroy, &ApplyOptions::default()).await?;
    println!("destroyed {} resource(s)", report.succeeded.len());
    Ok(())
}
