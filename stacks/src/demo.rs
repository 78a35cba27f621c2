//! The demo stack: the shape of a Coder platform (network, cluster, pool, database and its
//! password, application) built from local kinds, so a new user sees plan and apply work with
//! no account and no network.

use kapstan_engine::{Input, Stack};
use kapstan_providers::local::{RandomPassword, TestObject};
use serde_json::json;

use crate::catalog::{StackError, StackVars, number};

/// Builds the demo stack.
pub fn demo_stack(vars: &StackVars) -> Result<Stack, StackError> {
    let prefix = vars.get("prefix").cloned().unwrap_or_else(|| "demo".into());
    let nodes = number("demo", vars, "nodes", 2)?;
    let mut s = Stack::new("demo");
    let network = s.add(
        "network",
        TestObject {
            name: Some(format!("{prefix}-network").into()),
            value: Some(json!({"cidr": "172.16.0.0/22"}).into()),
            ..Default::default()
        },
    );
    let cluster = s.add(
        "cluster",
        TestObject {
            name: Some(format!("{prefix}-cluster").into()),
            value: Some(Input::Value(json!({"version": "1.31", "cni": "cilium"}))),
            usable_after_ms: Some(0),
            ..Default::default()
        },
    );
    cluster.depends_on(&network);
    let pool = s.add(
        "pool",
        TestObject {
            name: Some(format!("{prefix}-pool").into()),
            value: Some(json!({"node_type": "GP1-XS", "size": nodes}).into()),
            ..Default::default()
        },
    );
    pool.depends_on(&cluster);
    let password = s.add(
        "db_password",
        RandomPassword {
            length: 24.into(),
            special: false,
            ..Default::default()
        },
    );
    let database = s.add(
        "database",
        TestObject {
            name: Some(format!("{prefix}-db").into()),
            value: Some(Input::Ref(password.result().cast())),
            ..Default::default()
        },
    );
    database.depends_on(&network);
    let app = s.add(
        "app",
        TestObject {
            name: Some(format!("{prefix}-app").into()),
            value: Some(json!({"replicas": 1}).into()),
            ..Default::default()
        },
    );
    app.depends_on(&pool).depends_on(&database);
    s.output("cluster_id", cluster.id())
        .description("id of the cluster");
    s.output("app_name", app.name())
        .description("name of the application");
    s.output("db_password", password.result())
        .sensitive()
        .description("database password");
    Ok(s)
}
