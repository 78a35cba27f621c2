//! The Cockpit push endpoints: Prometheus remote write and Loki pushes accepted with a token of
//! the data source's project holding the write scope, refused otherwise, and what arrived
//! readable from the query endpoint.

use kapstan_sandbox::{Sandbox, SandboxOptions};
use prost::Message;
use serde_json::{Value, json};

#[derive(Clone, PartialEq, Message)]
struct WriteRequest {
    #[prost(message, repeated, tag = "1")]
    timeseries: Vec<TimeSeries>,
}

#[derive(Clone, PartialEq, Message)]
struct TimeSeries {
    #[prost(message, repeated, tag = "1")]
    labels: Vec<Label>,
    #[prost(message, repeated, tag = "2")]
    samples: Vec<Sample>,
}

#[derive(Clone, PartialEq, Message)]
struct Label {
    #[prost(string, tag = "1")]
    name: String,
    #[prost(string, tag = "2")]
    value: String,
}

#[derive(Clone, PartialEq, Message)]
struct Sample {
    #[prost(double, tag = "1")]
    value: f64,
    #[prost(int64, tag = "2")]
    timestamp: i64,
}

#[derive(Clone, PartialEq, Message)]
struct PushRequest {
    #[prost(message, repeated, tag = "1")]
    streams: Vec<Stream>,
}

#[derive(Clone, PartialEq, Message)]
struct Stream {
    #[prost(string, tag = "1")]
    labels: String,
    #[prost(message, repeated, tag = "2")]
    entries: Vec<Entry>,
}

#[derive(Clone, PartialEq, Message)]
struct Entry {
    #[prost(message, optional, tag = "1")]
    timestamp: Option<Timestamp>,
    #[prost(string, tag = "2")]
    line: String,
}

#[derive(Clone, PartialEq, Message)]
struct Timestamp {
    #[prost(int64, tag = "1")]
    seconds: i64,
    #[prost(int32, tag = "2")]
    nanos: i32,
}

struct Cockpit {
    sb: Sandbox,
    http: reqwest::Client,
}

impl Cockpit {
    async fn start() -> Self {
        let sb = Sandbox::start(SandboxOptions::default())
            .await
            .expect("start");
        Self {
            sb,
            http: reqwest::Client::new(),
        }
    }

    async fn post(&self, path: &str, body: Value) -> Value {
        let resp = self
            .http
            .post(format!(
                "{}/cockpit/v1/regions/fr-par/{path}",
                self.sb.url()
            ))
            .header("x-auth-token", self.sb.secret_key())
            .json(&body)
            .send()
            .await
            .expect("send");
        assert!(resp.status().is_success(), "{path}: {}", resp.status());
        resp.json().await.expect("json")
    }

    async fn source(&self, kind: &str) -> Value {
        self.post(
            "data-sources",
            json!({"name": format!("push-{kind}"), "type": kind}),
        )
        .await
    }

    async fn token(&self, scopes: &[&str]) -> String {
        let t = self
            .post("tokens", json!({"name": "push", "token_scopes": scopes}))
            .await;
        t["secret_key"].as_str().expect("secret").to_string()
    }

    async fn received(&self, id: &str) -> Value {
        self.http
            .get(format!(
                "{}/sandbox/v1/cockpit/{id}/received",
                self.sb.url()
            ))
            .send()
            .await
            .expect("send")
            .json()
            .await
            .expect("json")
    }
}

fn remote_write_body() -> Vec<u8> {
    let request = WriteRequest {
        timeseries: vec![TimeSeries {
            labels: vec![
                Label {
                    name: "__name__".into(),
                    value: "coderd_api_requests_processed_total".into(),
                },
                Label {
                    name: "job".into(),
                    value: "coder".into(),
                },
            ],
            samples: vec![Sample {
                value: 42.0,
                timestamp: 1_764_600_000_000,
            }],
        }],
    };
    snap::raw::Encoder::new()
        .compress_vec(&request.encode_to_vec())
        .expect("snappy")
}

async fn remote_write(c: &Cockpit, url: &str, token: Option<&str>, body: Vec<u8>) -> u16 {
    let mut req = c
        .http
        .post(format!("{url}/api/v1/push"))
        .header("content-type", "application/x-protobuf")
        .header("content-encoding", "snappy")
        .header("x-prometheus-remote-write-version", "0.1.0")
        .body(body);
    if let Some(t) = token {
        req = req.header("x-token", t);
    }
    req.send().await.expect("send").status().as_u16()
}

#[tokio::test]
async fn remote_write_needs_a_metrics_write_token_and_is_recorded() {
    let c = Cockpit::start().await;
    let source = c.source("metrics").await;
    let url = source["url"].as_str().unwrap().to_string();
    let id = source["id"].as_str().unwrap();
    assert!(url.starts_with(c.sb.url()), "push url on loopback: {url}");

    assert_eq!(remote_write(&c, &url, None, remote_write_body()).await, 401);
    assert_eq!(
        remote_write(&c, &url, Some("not-a-token"), remote_write_body()).await,
        401
    );
    let logs_only = c.token(&["write_only_logs"]).await;
    assert_eq!(
        remote_write(&c, &url, Some(&logs_only), remote_write_body()).await,
        403
    );
    let writer = c.token(&["write_only_metrics"]).await;
    assert_eq!(
        remote_write(&c, &url, Some(&writer), b"not snappy".to_vec()).await,
        400
    );
    let plain = c
        .http
        .post(format!("{url}/api/v1/push"))
        .header("x-token", &writer)
        .header("content-type", "application/json")
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(
        plain.status().as_u16(),
        415,
        "remote write must be snappy protobuf"
    );
    assert!(
        c.received(id).await["series"]
            .as_array()
            .unwrap()
            .is_empty()
    );

    assert_eq!(
        remote_write(&c, &url, Some(&writer), remote_write_body()).await,
        204
    );
    let got = c.received(id).await;
    let series = got["series"].as_array().unwrap();
    assert_eq!(series.len(), 1, "{got}");
    assert_eq!(
        series[0]["labels"]["__name__"],
        "coderd_api_requests_processed_total"
    );
    assert_eq!(series[0]["samples"][0][1], 42.0);
}

#[tokio::test]
async fn loki_push_json_and_wrong_source_type() {
    let c = Cockpit::start().await;
    let logs = c.source("logs").await;
    let metrics = c.source("metrics").await;
    let url = logs["url"].as_str().unwrap();
    let writer = c.token(&["write_only_logs"]).await;
    let push = json!({"streams": [{"stream": {"namespace": "coder"}, "values": [["1764600000000000000", "coderd started"]]}]});

    let send = |url: String, token: String| {
        let http = c.http.clone();
        let push = push.clone();
        async move {
            http.post(format!("{url}/loki/api/v1/push"))
                .header("x-token", token)
                .json(&push)
                .send()
                .await
                .unwrap()
                .status()
                .as_u16()
        }
    };
    assert_eq!(send(url.to_string(), "wrong".into()).await, 401);
    // A logs push to a metrics source's host finds no logs source.
    assert_eq!(
        send(metrics["url"].as_str().unwrap().to_string(), writer.clone()).await,
        404
    );
    assert_eq!(send(url.to_string(), writer.clone()).await, 204);
    let got = c.received(logs["id"].as_str().unwrap()).await;
    assert_eq!(got["lines"][0]["line"], "coderd started", "{got}");
    assert_eq!(got["lines"][0]["labels"], "{namespace=\"coder\"}");

    // Deleting the source deletes its data and its endpoint.
    let del = c
        .http
        .delete(format!(
            "{}/cockpit/v1/regions/fr-par/data-sources/{}",
            c.sb.url(),
            logs["id"].as_str().unwrap()
        ))
        .header("x-auth-token", c.sb.secret_key())
        .send()
        .await
        .unwrap();
    assert_eq!(del.status().as_u16(), 204);
    assert_eq!(send(url.to_string(), writer).await, 404);
}

#[tokio::test]
async fn loki_protobuf_push_and_tokens_of_another_project() {
    let c = Cockpit::start().await;
    let logs = c.source("logs").await;
    let url = format!("{}/loki/api/v1/push", logs["url"].as_str().unwrap());
    let request = PushRequest {
        streams: vec![Stream {
            labels: "{namespace=\"coder-workspaces\"}".into(),
            entries: vec![Entry {
                timestamp: Some(Timestamp {
                    seconds: 1_764_600_000,
                    nanos: 5,
                }),
                line: "workspace agent connected".into(),
            }],
        }],
    };
    let body = snap::raw::Encoder::new()
        .compress_vec(&request.encode_to_vec())
        .unwrap();
    let push = |token: String, body: Vec<u8>| {
        let http = c.http.clone();
        let url = url.clone();
        async move {
            http.post(url)
                .header("content-type", "application/x-protobuf")
                .header("x-token", token)
                .body(body)
                .send()
                .await
                .unwrap()
                .status()
                .as_u16()
        }
    };
    // A write token of another project may not write here.
    let other = c
        .post(
            "tokens",
            json!({"name": "other", "project_id": "33333333-3333-4333-8333-333333333333",
                   "token_scopes": ["write_only_logs"]}),
        )
        .await;
    let other = other["secret_key"].as_str().unwrap().to_string();
    assert_eq!(push(other, body.clone()).await, 403);
    let writer = c.token(&["write_only_logs"]).await;
    assert_eq!(push(writer.clone(), b"garbage".to_vec()).await, 400);
    assert_eq!(push(writer, body).await, 204);
    let got = c.received(logs["id"].as_str().unwrap()).await;
    assert_eq!(
        got["lines"][0]["line"], "workspace agent connected",
        "{got}"
    );
    assert_eq!(got["lines"][0]["timestamp_ns"], "1764600000000000005");
}

#[tokio::test]
async fn instant_queries_answer_like_prometheus_over_what_arrived_with_a_read_token() {
    let c = Cockpit::start().await;
    let source = c.source("metrics").await;
    let url = source["url"].as_str().unwrap().to_string();
    let writer = c.token(&["write_only_metrics"]).await;
    assert_eq!(
        remote_write(&c, &url, Some(&writer), remote_write_body()).await,
        204
    );
    let query = |token: Option<String>, params: Vec<(&'static str, String)>| {
        let mut req = c
            .http
            .get(format!("{url}/prometheus/api/v1/query"))
            .query(&params);
        if let Some(t) = token {
            req = req.header("x-token", t);
        }
        async move {
            let r = req.send().await.expect("send");
            let status = r.status().as_u16();
            (status, r.text().await.unwrap())
        }
    };
    // The sample was taken at 1_764_600_000 s: within 5 minutes it answers, later it is stale.
    let at = |secs: i64| ("time", secs.to_string());
    let selector = ("query", "{job=\"coder\"}".to_string());
    assert_eq!(query(None, vec![selector.clone()]).await.0, 401);
    assert_eq!(
        query(Some(writer.clone()), vec![selector.clone()]).await.0,
        403,
        "a write token cannot read"
    );
    let reader = c.token(&["read_only_metrics"]).await;
    let (status, body) = query(
        Some(reader.clone()),
        vec![selector.clone(), at(1_764_600_060)],
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let v: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(v["status"], "success");
    assert_eq!(v["data"]["resultType"], "vector");
    let result = v["data"]["result"].as_array().unwrap();
    assert_eq!(result.len(), 1, "{v}");
    assert_eq!(
        result[0]["metric"]["__name__"],
        "coderd_api_requests_processed_total"
    );
    assert_eq!(result[0]["value"], json!([1_764_600_000.0, "42"]));

    let (_, stale) = query(
        Some(reader.clone()),
        vec![selector.clone(), at(1_764_600_000 + 301)],
    )
    .await;
    let stale: Value = serde_json::from_str(&stale).unwrap();
    assert_eq!(
        stale["data"]["result"],
        json!([]),
        "older than the lookback"
    );
    let (_, other) = query(
        Some(reader.clone()),
        vec![
            ("query", "up{job=\"coder\"}".to_string()),
            at(1_764_600_060),
        ],
    )
    .await;
    let other: Value = serde_json::from_str(&other).unwrap();
    assert_eq!(other["data"]["result"], json!([]), "another metric name");

    let (status, body) = query(Some(reader), vec![("query", "rate(up[5m])".to_string())]).await;
    assert_eq!(status, 400, "{body}");
    let v: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(v["status"], "error");
    assert_eq!(v["errorType"], "bad_data");
}
