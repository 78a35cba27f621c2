//! The sandbox's own inspection API: `GET /sandbox/v1/resources` lists every live object by
//! kind, for tests and curious users. It needs no token (the sandbox only listens on loopback).

use axum::Router;
use axum::extract::State;
use axum::routing::get;
use serde_json::{Map, Value, json};

use super::render;
use crate::server::Shared;
use crate::wire::{ApiResult, ok};

pub(super) fn routes() -> Router<Shared> {
    Router::new().route("/sandbox/v1/resources", get(resources))
}

async fn resources(State(st): State<Shared>) -> ApiResult {
    let by_kind = st.read(|s, now| {
        let mut out = Map::new();
        for (kind, records) in s.all(now) {
            let items: Vec<Value> = records
                .into_iter()
                .map(|r| {
                    json!({
                        "id": r.id,
                        "status": r.status(now),
                        "parent": r.parent.as_ref().map(|p| json!({"kind": p.kind, "id": p.id})),
                        "object": render(r, now),
                    })
                })
                .collect();
            out.insert(kind.to_string(), Value::Array(items));
        }
        out
    });
    ok(json!({ "resources": by_kind }))
}
