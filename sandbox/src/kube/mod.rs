//! A Kubernetes API emulator for every Kapsule cluster, served at the kubeconfig's server URL
//! (`/k8s-api/{cluster_id}`): discovery, namespaced and cluster-scoped objects with create,
//! replace, merge patch, server-side apply (field managers, conflicts), `resourceVersion`
//! conflicts, label and field selectors, Table output for kubectl, namespace deletion
//! cascading, Deployments that become available after a delay, and LoadBalancer Services bound
//! to Scaleway load balancers the way Scaleway's cloud controller does it.
//!
//! Every load balancer a Service uses gets an endpoint on loopback (`127.0.0.1:PORT`, kept
//! across restarts when a data directory is used) that forwards to the Coder API emulator when
//! a Coder Deployment is available behind it, and a second one standing for its port 443
//! frontend, passed through to Coder's TLS listener when the chart turned it on
//! ([`crate::coder::tls`]). `GET /sandbox/v1/lb-endpoints/{zone}/{lb_id}` returns both
//! (`address`, `url`, `tls_address`; created on first use), so a stack can put the first in
//! `CODER_ACCESS_URL` before Coder is installed.
//!
//! Objects live in the sandbox store (kind `kube.object`), parented to their namespace or to
//! the cluster, so they persist with the rest of the sandbox and disappear with the cluster.

pub mod ccm;
pub mod csi;
pub mod fields;
pub mod nodes;
pub mod objects;
pub mod resources;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path as AxPath, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, get};
use chrono::{DateTime, Utc};
use serde_json::{Value, json};

use crate::api::k8s::CLUSTER;
use crate::api::lb::LB;
use crate::server::Shared;
use crate::store::{Parent, Store};
use objects::{KubeError, OBJECT, Op};
use resources::ResourceType;

/// Store kind of the loopback endpoints given to load balancers.
pub const ENDPOINT: &str = "kube.lb_endpoint";

/// State of the Kubernetes routes: the sandbox plus the running load-balancer endpoints.
#[derive(Debug)]
pub struct KubeState {
    app: Shared,
    /// Per load balancer: the endpoint of its port 80 frontend and of its port 443 one.
    endpoints: Mutex<HashMap<String, (SocketAddr, SocketAddr)>>,
}

impl KubeState {
    /// The loopback endpoints of load balancer `lb_id` (its port 80 and port 443 frontends),
    /// started on first use.
    pub fn ensure_endpoint(&self, lb_id: &str) -> std::io::Result<(SocketAddr, SocketAddr)> {
        let mut map = self.endpoints.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(addr) = map.get(lb_id) {
            return Ok(*addr);
        }
        let preferred = |field: &str| {
            self.app.read(|s, now| {
                s.get(ENDPOINT, lb_id, now)
                    .and_then(|r| r.body[field].as_u64())
                    .unwrap_or(0) as u16
            })
        };
        let listener = loopback_listener(preferred("port"))?;
        let tls_listener = loopback_listener(preferred("tls_port"))?;
        let addr = listener.local_addr()?;
        let tls_addr = tls_listener.local_addr()?;
        crate::coder::serve_endpoint(
            listener,
            tls_listener,
            Arc::downgrade(&self.app),
            lb_id.to_string(),
        );
        let id = lb_id.to_string();
        let _ = self.app.write(|s, now| {
            let parent = s.get(LB, &id, now).map(|_| Parent {
                kind: LB.into(),
                id: id.clone(),
            });
            if s.get(ENDPOINT, &id, now).is_none() {
                s.insert(
                    ENDPOINT,
                    &id,
                    parent,
                    json!({"lb_id": id, "port": addr.port(), "tls_port": tls_addr.port()}),
                    &[],
                );
            } else if let Some(r) = s.get_mut(ENDPOINT, &id, now) {
                r.body["port"] = json!(addr.port());
                r.body["tls_port"] = json!(tls_addr.port());
            }
            Ok(())
        });
        map.insert(lb_id.to_string(), (addr, tls_addr));
        Ok((addr, tls_addr))
    }
}

/// A listener on `127.0.0.1:preferred`, or on a free port when that one is taken (or 0).
fn loopback_listener(preferred: u16) -> std::io::Result<tokio::net::TcpListener> {
    let std_listener = std::net::TcpListener::bind(("127.0.0.1", preferred))
        .or_else(|_| std::net::TcpListener::bind(("127.0.0.1", 0)))?;
    std_listener.set_nonblocking(true)?;
    tokio::net::TcpListener::from_std(std_listener)
}

/// The Kubernetes API routes and the load-balancer endpoint route. Endpoints recorded in a
/// persisted store are restarted.
pub fn routes(app: Shared) -> Router {
    let state = Arc::new(KubeState {
        app,
        endpoints: Mutex::new(HashMap::new()),
    });
    let recorded: Vec<String> = state.app.read(|s, now| {
        s.list(ENDPOINT, now)
            .into_iter()
            .map(|r| r.id.clone())
            .collect()
    });
    for id in recorded {
        if let Err(e) = state.ensure_endpoint(&id) {
            tracing::warn!(lb = %id, error = %e, "cannot restart load balancer endpoint");
        }
    }
    ccm::spawn_sync_loop(Arc::downgrade(&state.app));
    Router::new()
        .route("/k8s-api/{cluster}", any(handle))
        .route("/k8s-api/{cluster}/{*rest}", any(handle))
        .route("/sandbox/v1/lb-endpoints/{zone}/{lb_id}", get(lb_endpoint))
        .route("/sandbox/v1/resolve/{name}", get(resolve_name))
        .with_state(state)
}

async fn lb_endpoint(
    State(ks): State<Arc<KubeState>>,
    AxPath((zone, lb_id)): AxPath<(String, String)>,
) -> Response {
    let exists = ks.app.read(|s, now| {
        s.get(LB, &lb_id, now)
            .is_some_and(|r| r.str("zone") == zone)
    });
    if !exists {
        return kjson(
            StatusCode::NOT_FOUND,
            &json!({"message": format!("load balancer {zone}/{lb_id} not found")}),
        );
    }
    match ks.ensure_endpoint(&lb_id) {
        Ok((addr, tls_addr)) => kjson(
            StatusCode::OK,
            &json!({"lb_id": lb_id, "zone": zone, "address": addr.to_string(), "url": format!("http://{addr}"),
                "tls_address": tls_addr.to_string()}),
        ),
        Err(e) => kjson(
            StatusCode::INTERNAL_SERVER_ERROR,
            &json!({"message": format!("cannot open an endpoint: {e}")}),
        ),
    }
}

/// Where a name of an emulated zone leads on this machine: its A record (the load balancer's
/// public address, as the DNS responder answers it) and the loopback endpoints of that load
/// balancer's port 80 and port 443 frontends, for `curl --resolve`.
async fn resolve_name(State(ks): State<Arc<KubeState>>, AxPath(name): AxPath<String>) -> Response {
    let ips = match crate::dns::lookup_a(&ks.app, &name) {
        Ok(ips) => ips,
        Err(why) => return kjson(StatusCode::NOT_FOUND, &json!({"message": why})),
    };
    let lb = ks.app.read(|s, now| {
        ips.iter().find_map(|ip| {
            s.list(crate::api::lb::IP, now)
                .into_iter()
                .find(|r| r.body["ip_address"] == ip.as_str())
                .and_then(|r| {
                    r.body["lb_id"]
                        .as_str()
                        .map(|id| (ip.clone(), id.to_string()))
                })
        })
    });
    let Some((ip, lb_id)) = lb else {
        return kjson(
            StatusCode::NOT_FOUND,
            &json!({"message": format!("{name} resolves to {} but no emulated load balancer has that address", ips.join(", "))}),
        );
    };
    match ks.ensure_endpoint(&lb_id) {
        Ok((http, https)) => kjson(
            StatusCode::OK,
            &json!({"name": name, "ip": ip, "lb_id": lb_id, "http": http.to_string(), "https": https.to_string()}),
        ),
        Err(e) => kjson(
            StatusCode::INTERNAL_SERVER_ERROR,
            &json!({"message": format!("cannot open an endpoint: {e}")}),
        ),
    }
}

fn kjson(status: StatusCode, body: &Value) -> Response {
    let mut resp = (status, body.to_string()).into_response();
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    resp
}

fn kerr(e: KubeError) -> Response {
    kjson(
        StatusCode::from_u16(e.code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
        &e.body(),
    )
}

/// What a resource path names.
struct Target {
    rt: &'static ResourceType,
    ns: Option<String>,
    name: Option<String>,
    sub: Option<String>,
}

fn parse_target(segs: &[&str]) -> Result<Target, KubeError> {
    let (group, version, rest) = match segs {
        ["api", v, rest @ ..] => ("", *v, rest),
        ["apis", g, v, rest @ ..] => (*g, *v, rest),
        _ => {
            return Err(KubeError::new(
                404,
                "NotFound",
                "the server could not find the requested resource",
            ));
        }
    };
    let lookup = |plural: &str| {
        resources::find(group, version, plural).ok_or_else(|| {
            KubeError::new(
                404,
                "NotFound",
                "the server could not find the requested resource",
            )
        })
    };
    let is_namespaced_path = rest.len() >= 3
        && rest[0] == "namespaces"
        && resources::find(group, version, rest[2]).is_some_and(|r| r.namespaced);
    if is_namespaced_path {
        let rt = lookup(rest[2])?;
        return Ok(Target {
            rt,
            ns: Some(rest[1].to_string()),
            name: rest.get(3).map(|s| s.to_string()),
            sub: rest.get(4).map(|s| s.to_string()),
        });
    }
    match rest {
        [plural, more @ ..] if more.len() <= 2 => Ok(Target {
            rt: lookup(plural)?,
            ns: None,
            name: more.first().map(|s| s.to_string()),
            sub: more.get(1).map(|s| s.to_string()),
        }),
        _ => Err(KubeError::new(
            404,
            "NotFound",
            "the server could not find the requested resource",
        )),
    }
}

fn query_map(uri: &Uri) -> HashMap<String, String> {
    url::form_urlencoded::parse(uri.query().unwrap_or("").as_bytes())
        .into_owned()
        .collect()
}

async fn handle(
    State(ks): State<Arc<KubeState>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let path = uri.path().trim_start_matches("/k8s-api/").to_string();
    let mut segs: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    if segs.is_empty() {
        return kerr(KubeError::new(404, "NotFound", "no cluster"));
    }
    let cluster = segs.remove(0).to_string();
    // client-go (kubectl, helm) only sends credentials over TLS and the sandbox serves plain
    // HTTP on loopback: a request without credentials is admitted as the cluster admin, a
    // request with a bearer token must carry the cluster's token.
    let token = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .map(|v| v.strip_prefix("Bearer ").unwrap_or("").to_string());
    let auth = ks.app.read(|s, now| match s.get(CLUSTER, &cluster, now) {
        None => Err(KubeError::new(
            404,
            "NotFound",
            format!("cluster {cluster} not found"),
        )),
        Some(rec) => {
            let want = rec.extra["admin_token"].as_str().unwrap_or_default();
            if token
                .as_ref()
                .is_some_and(|t| want.is_empty() || *t != want)
            {
                Err(KubeError::new(401, "Unauthorized", "Unauthorized"))
            } else {
                Ok(objects::seeded(s, &cluster, now))
            }
        }
    });
    // The control plane is managed apart from the pools: once it has answered (the cluster's
    // API is seeded) it keeps answering when the pools go, as on a cluster being torn down.
    if !ks.app.durations.kube_api_warmup.is_zero() && !matches!(auth, Ok(true)) {
        let app = ks.app.clone();
        let warming = ks.app.read(|s, now| {
            crate::api::k8s::kube_api_available_at(&app, s, &cluster, now).is_none_or(|t| now < t)
        });
        if warming {
            return kerr(KubeError::new(
                503,
                "ServiceUnavailable",
                "the API server is not ready yet",
            ));
        }
    }
    match auth {
        Err(e) => return kerr(e),
        Ok(false) => {
            let app = ks.app.clone();
            let _ = ks.app.write(|s, now| {
                objects::seed(s, &app, &cluster, now);
                Ok(())
            });
        }
        Ok(true) => {}
    }
    if let Some(answer) = discovery(&segs, &cluster) {
        return answer;
    }
    let target = match parse_target(&segs) {
        Ok(t) => t,
        Err(e) => return kerr(e),
    };
    let q = query_map(&uri);
    let resp = objects_request(&ks, &cluster, &target, &method, &q, &headers, &body);
    match resp {
        Ok((status, value)) => kjson(status, &value),
        Err(e) => kerr(e),
    }
}

/// The discovery documents (`/version`, `/api`, `/apis`, group versions, OpenAPI v3) for a
/// path, or `None` when the path names objects.
fn discovery(segs: &[&str], cluster: &str) -> Option<Response> {
    let not_found = || {
        kerr(KubeError::new(
            404,
            "NotFound",
            "the server could not find the requested resource",
        ))
    };
    let found =
        |doc: Option<Value>| Some(doc.map_or_else(not_found, |d| kjson(StatusCode::OK, &d)));
    match segs {
        ["version"] => found(Some(resources::version())),
        ["api"] => found(Some(resources::core_versions())),
        ["apis"] => found(Some(resources::group_list())),
        ["api", v] => found(resources::resource_list("", v)),
        ["apis", g] => found(resources::group(g)),
        ["openapi", "v3"] => found(Some(resources::openapi_index(&format!(
            "/k8s-api/{cluster}"
        )))),
        ["openapi", "v3", "api", v] => found(resources::openapi_group_version("", v)),
        ["openapi", "v3", "apis", g, v] => found(resources::openapi_group_version(g, v)),
        ["apis", g, v] => found(resources::resource_list(g, v)),
        _ => None,
    }
}

fn wants_table(headers: &HeaderMap) -> bool {
    headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|a| a.contains("as=Table"))
}

fn objects_request(
    ks: &Arc<KubeState>,
    cluster: &str,
    t: &Target,
    method: &Method,
    q: &HashMap<String, String>,
    headers: &HeaderMap,
    body: &Bytes,
) -> Result<(StatusCode, Value), KubeError> {
    let rt = t.rt;
    if rt.namespaced && t.name.is_some() && t.ns.is_none() {
        return Err(KubeError::new(
            404,
            "NotFound",
            "the server could not find the requested resource",
        ));
    }
    if rt.kind == "Pod" && t.sub.as_deref() == Some("eviction") && method == Method::POST {
        let (ns, name) = (
            t.ns.clone().unwrap_or_default(),
            t.name.clone().unwrap_or_default(),
        );
        return ks
            .app
            .write(|s, now| Ok(nodes::evict(s, now, cluster, &ns, &name)))
            .unwrap_or_else(|_| Err(KubeError::new(500, "InternalError", "cannot persist")));
    }
    if t.sub.as_deref().is_some_and(|s| s != "status") {
        return Err(KubeError::new(
            404,
            "NotFound",
            "the server could not find the requested resource",
        ));
    }
    if rt.kind == "Node" && method == Method::PATCH && t.sub.is_none() {
        let patch: Value = serde_json::from_slice(body)
            .or_else(|_| serde_norway::from_slice(body))
            .map_err(|_| KubeError::bad_request("the patch is not JSON or YAML"))?;
        let name = t.name.clone().unwrap_or_default();
        return ks
            .app
            .write(|s, now| Ok(nodes::cordon(s, now, cluster, &name, &patch)))
            .unwrap_or_else(|_| Err(KubeError::new(500, "InternalError", "cannot persist")));
    }
    if rt.kind == "Node" && method != Method::GET {
        return Err(KubeError::new(
            405,
            "MethodNotAllowed",
            "nodes are read-only in the sandbox: they follow the Kapsule pools",
        ));
    }
    let call = ObjectCall {
        ks,
        cluster,
        t,
        ns: t.ns.clone().unwrap_or_default(),
        q,
        headers,
        body,
        manager: q.get("fieldManager").cloned(),
        dry_run: q.contains_key("dryRun"),
    };
    match (method.as_str(), &t.name) {
        ("GET", None) => call.list(),
        ("GET", Some(name)) => call.read(name),
        ("POST", None) => call.create(),
        ("PUT", Some(name)) => call.replace(name),
        ("PATCH", Some(name)) => call.patch(name),
        ("DELETE", Some(name)) => call.delete(name),
        _ => Err(KubeError::new(
            405,
            "MethodNotAllowed",
            format!("{method} is not supported on this path"),
        )),
    }
}

/// One request on an object path, with what the handler has parsed of it.
struct ObjectCall<'a> {
    ks: &'a Arc<KubeState>,
    cluster: &'a str,
    t: &'a Target,
    /// The namespace of the path (empty for cluster-scoped kinds).
    ns: String,
    q: &'a HashMap<String, String>,
    headers: &'a HeaderMap,
    body: &'a Bytes,
    manager: Option<String>,
    dry_run: bool,
}

type Answer = Result<(StatusCode, Value), KubeError>;

impl ObjectCall<'_> {
    /// `GET` on a collection: a List (or a Table for kubectl), by label and field selectors.
    fn list(&self) -> Answer {
        let (cluster, t, rt, q, headers, app) = (
            self.cluster,
            self.t,
            self.t.rt,
            self.q,
            self.headers,
            &self.ks.app,
        );
        if q.get("watch").is_some_and(|w| w == "true" || w == "1") {
            return Ok((StatusCode::OK, Value::Null));
        }
        let labels = match q.get("labelSelector") {
            Some(sel) => Some(fields::Selector::parse(sel).map_err(KubeError::bad_request)?),
            None => None,
        };
        let field_sel = q.get("fieldSelector").cloned().unwrap_or_default();
        let (items, rv) = app.read(|s, now| {
            let mut items: Vec<Value> = objects::list(s, now, cluster, rt, t.ns.as_deref())
                .into_iter()
                .filter(|r| {
                    labels
                        .as_ref()
                        .is_none_or(|l| l.matches(r.body["metadata"].get("labels")))
                })
                .filter(|r| field_matches(&field_sel, &r.body))
                .map(|r| objects::render(s, r, now))
                .collect();
            items.extend(
                nodes::computed(s, now, cluster, rt, t.ns.as_deref())
                    .into_iter()
                    .filter(|o| {
                        labels
                            .as_ref()
                            .is_none_or(|l| l.matches(o["metadata"].get("labels")))
                    })
                    .filter(|o| field_matches(&field_sel, o)),
            );
            (items, objects::current_rv(s, cluster, now))
        });
        if wants_table(headers) {
            return Ok((StatusCode::OK, table(rt, &items, &rv)));
        }
        Ok((
            StatusCode::OK,
            json!({
                "kind": format!("{}List", rt.kind), "apiVersion": rt.api_version(),
                "metadata": {"resourceVersion": rv}, "items": items,
            }),
        ))
    }

    /// `GET` of one object.
    fn read(&self, name: &str) -> Answer {
        let (cluster, t, rt, ns, headers, app) = (
            self.cluster,
            self.t,
            self.t.rt,
            &self.ns,
            self.headers,
            &self.ks.app,
        );
        let obj = app.read(|s, now| {
            s.get(OBJECT, &objects::key(cluster, rt, ns, name), now)
                .map(|r| objects::render(s, r, now))
                .or_else(|| {
                    nodes::computed(s, now, cluster, rt, t.ns.as_deref())
                        .into_iter()
                        .find(|o| o["metadata"]["name"] == name)
                })
        });
        let obj = obj.ok_or_else(|| KubeError::not_found(rt, name))?;
        if wants_table(headers) {
            let rv = obj["metadata"]["resourceVersion"]
                .as_str()
                .unwrap_or("")
                .to_string();
            return Ok((StatusCode::OK, table(rt, &[obj], &rv)));
        }
        Ok((StatusCode::OK, obj))
    }

    /// `POST` on a collection: create (`generateName` supported).
    fn create(&self) -> Answer {
        let (ks, cluster, rt, ns, headers, body, app) = (
            self.ks,
            self.cluster,
            self.t.rt,
            &self.ns,
            self.headers,
            self.body,
            &self.ks.app,
        );
        let (manager, dry_run) = (self.manager.clone(), self.dry_run);
        let mut obj = parse_json(body)?;
        if obj["metadata"]["name"].as_str().is_none_or(str::is_empty)
            && let Some(prefix) = obj["metadata"]["generateName"].as_str()
        {
            let suffix: String = uuid::Uuid::new_v4().simple().to_string()[..5].to_string();
            obj["metadata"]["name"] = json!(format!("{prefix}{suffix}"));
        }
        let name = obj["metadata"]["name"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        let manager = manager.unwrap_or_else(|| default_manager(headers));
        if dry_run {
            return Ok((StatusCode::CREATED, obj));
        }
        let out = write_op(ks, |s, now| {
            if s.get(OBJECT, &objects::key(cluster, rt, ns, &name), now)
                .is_some()
            {
                let mut e = KubeError::new(
                    409,
                    "AlreadyExists",
                    format!("{} \"{name}\" already exists", objects::qualified(rt)),
                );
                e.details = json!({"name": name, "group": rt.group, "kind": rt.plural});
                return Err(e);
            }
            objects::write(
                s,
                app,
                now,
                cluster,
                rt,
                ns,
                obj,
                None,
                &manager,
                Op::Update,
            )
        })?;
        Ok((StatusCode::CREATED, out))
    }

    /// `PUT`: replace, with `resourceVersion` preconditions.
    fn replace(&self, name: &str) -> Answer {
        let (ks, cluster, t, rt, ns, headers, body, app) = (
            self.ks,
            self.cluster,
            self.t,
            self.t.rt,
            &self.ns,
            self.headers,
            self.body,
            &self.ks.app,
        );
        let manager = self.manager.clone();
        let obj = parse_json(body)?;
        let manager = manager.unwrap_or_else(|| default_manager(headers));
        let name = name.to_string();
        let out = write_op(ks, |s, now| {
            let k = objects::key(cluster, rt, ns, &name);
            let Some(rec) = s.get(OBJECT, &k, now) else {
                return Err(KubeError::not_found(rt, &name));
            };
            if let Some(rv) = obj["metadata"]["resourceVersion"].as_str()
                && rec.body["metadata"]["resourceVersion"].as_str() != Some(rv)
            {
                return Err(objects::conflict_rv(rt, &name));
            }
            let mut obj = obj;
            if t.sub.is_some() {
                // Status writes are accepted and ignored: status is computed.
                obj = rec.body.clone();
            }
            objects::write(
                s,
                app,
                now,
                cluster,
                rt,
                ns,
                obj,
                None,
                &manager,
                Op::Update,
            )
        })?;
        Ok((StatusCode::OK, out))
    }

    /// `PATCH`: server-side apply or a merge patch, by content type.
    fn patch(&self, name: &str) -> Answer {
        let headers = self.headers;
        let ctype = headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_string();
        let name = name.to_string();
        if ctype.starts_with("application/apply-patch") {
            return self.apply(&name);
        }
        self.merge(&name, &ctype)
    }

    /// Server-side apply (`application/apply-patch+yaml`): `fieldManager` required, `force`
    /// takes fields over; 201 when the object is new.
    fn apply(&self, name: &str) -> Answer {
        let (ks, cluster, rt, ns, q, body, app) = (
            self.ks,
            self.cluster,
            self.t.rt,
            &self.ns,
            self.q,
            self.body,
            &self.ks.app,
        );
        let manager = self.manager.clone();
        let name = name.to_string();
        let Some(manager) = manager else {
            return Err(KubeError::bad_request(
                "PATCH requests with apply content type require fieldManager",
            ));
        };
        let text = std::str::from_utf8(body)
            .map_err(|_| KubeError::bad_request("the apply patch is not UTF-8"))?;
        let patch: Value = serde_norway::from_str(text)
            .map_err(|e| KubeError::bad_request(format!("error decoding YAML: {e}")))?;
        let force = q.get("force").is_some_and(|f| f == "true");
        let existed = app.read(|s, now| {
            s.get(OBJECT, &objects::key(cluster, rt, ns, &name), now)
                .is_some()
        });
        let out = write_op(ks, |s, now| {
            objects::apply(s, app, now, cluster, rt, ns, &name, patch, &manager, force)
        })?;
        let code = if existed {
            StatusCode::OK
        } else {
            StatusCode::CREATED
        };
        Ok((code, out))
    }

    /// A JSON merge patch (a strategic merge patch is applied the same way).
    fn merge(&self, name: &str, ctype: &str) -> Answer {
        let (ks, cluster, rt, ns, headers, body, app) = (
            self.ks,
            self.cluster,
            self.t.rt,
            &self.ns,
            self.headers,
            self.body,
            &self.ks.app,
        );
        let manager = self.manager.clone();
        let name = name.to_string();
        if !(ctype.starts_with("application/merge-patch+json")
            || ctype.starts_with("application/strategic-merge-patch+json"))
        {
            return Err(KubeError::new(
                415,
                "UnsupportedMediaType",
                format!(
                    "the body of the request was in an unknown format - accepted media types include: application/merge-patch+json, application/strategic-merge-patch+json, application/apply-patch+yaml (got {ctype})"
                ),
            ));
        }
        let patch = parse_json(body)?;
        let manager = manager.unwrap_or_else(|| default_manager(headers));
        let out = write_op(ks, |s, now| {
            let k = objects::key(cluster, rt, ns, &name);
            let Some(rec) = s.get(OBJECT, &k, now) else {
                return Err(KubeError::not_found(rt, &name));
            };
            if let Some(rv) = patch["metadata"]["resourceVersion"].as_str()
                && rec.body["metadata"]["resourceVersion"].as_str() != Some(rv)
            {
                return Err(objects::conflict_rv(rt, &name));
            }
            let mut obj = rec.body.clone();
            fields::merge_patch(&mut obj, &patch);
            objects::write(
                s,
                app,
                now,
                cluster,
                rt,
                ns,
                obj,
                None,
                &manager,
                Op::Update,
            )
        })?;
        Ok((StatusCode::OK, out))
    }

    /// `DELETE` of one object.
    fn delete(&self, name: &str) -> Answer {
        let (cluster, rt, ns, app) = (self.cluster, self.t.rt, &self.ns, &self.ks.app);
        let name = name.to_string();
        let out = app
            .write(|s, now| Ok(objects::delete(s, now, cluster, rt, ns, &name)))
            .map_err(|_| KubeError::new(500, "InternalError", "cannot persist state"))??;
        Ok((StatusCode::OK, out))
    }
}

/// Runs a store mutation returning an object key, then renders the object and opens the
/// loopback endpoint of a load balancer it uses.
fn write_op(
    ks: &Arc<KubeState>,
    f: impl FnOnce(&mut Store, DateTime<Utc>) -> Result<String, KubeError>,
) -> Result<Value, KubeError> {
    let result = ks
        .app
        .write(|s, now| {
            Ok(f(s, now).map(|k| {
                let rec = s.get(OBJECT, &k, now).expect("written");
                (
                    objects::render(s, rec, now),
                    rec.extra["lb"]["id"].as_str().map(str::to_string),
                )
            }))
        })
        .map_err(|_| KubeError::new(500, "InternalError", "cannot persist state"))?;
    let (obj, lb) = result?;
    if let Some(lb) = lb
        && let Err(e) = ks.ensure_endpoint(&lb)
    {
        tracing::warn!(lb = %lb, error = %e, "cannot open load balancer endpoint");
    }
    Ok(obj)
}

fn default_manager(headers: &HeaderMap) -> String {
    headers
        .get(header::USER_AGENT)
        .and_then(|v| v.to_str().ok())
        .and_then(|ua| ua.split('/').next())
        .filter(|s| !s.is_empty())
        .unwrap_or("unknown")
        .to_string()
}

fn parse_json(body: &Bytes) -> Result<Value, KubeError> {
    serde_json::from_slice(body)
        .map_err(|e| KubeError::bad_request(format!("error decoding JSON: {e}")))
}

fn field_matches(sel: &str, obj: &Value) -> bool {
    sel.split(',').filter(|p| !p.is_empty()).all(|part| {
        let (k, v, neg) = if let Some((k, v)) = part.split_once("!=") {
            (k, v, true)
        } else if let Some((k, v)) = part.split_once("==") {
            (k, v, false)
        } else if let Some((k, v)) = part.split_once('=') {
            (k, v, false)
        } else {
            return true;
        };
        let path: Vec<&str> = k.split('.').collect();
        let actual = path
            .iter()
            .try_fold(obj, |cur, p| cur.get(*p))
            .and_then(Value::as_str);
        (actual == Some(v)) != neg
    })
}

fn age(created: &str) -> String {
    let Ok(t) = DateTime::parse_from_rfc3339(created) else {
        return "<unknown>".into();
    };
    let secs = (Utc::now() - t.with_timezone(&Utc)).num_seconds().max(0);
    match secs {
        s if s < 120 => format!("{s}s"),
        s if s < 7200 => format!("{}m", s / 60),
        s if s < 172_800 => format!("{}h", s / 3600),
        s => format!("{}d", s / 86400),
    }
}

/// A `meta.k8s.io/v1` Table, for `kubectl get`.
fn table(rt: &ResourceType, items: &[Value], rv: &str) -> Value {
    let mut cols = vec![("Name", "string", "name")];
    let extra_cols: &[(&str, &str, &str)] = match rt.kind {
        "Namespace" => &[("Status", "string", "")],
        "Secret" => &[("Type", "string", ""), ("Data", "string", "")],
        "Deployment" => &[
            ("Ready", "string", ""),
            ("Up-to-date", "string", ""),
            ("Available", "string", ""),
        ],
        "Service" => &[
            ("Type", "string", ""),
            ("Cluster-IP", "string", ""),
            ("External-IP", "string", ""),
            ("Port(s)", "string", ""),
        ],
        "StorageClass" => &[("Provisioner", "string", "")],
        _ => &[],
    };
    cols.extend_from_slice(extra_cols);
    cols.push(("Age", "string", ""));
    let rows: Vec<Value> = items
        .iter()
        .map(|o| {
            let mut cells = vec![o["metadata"]["name"].clone()];
            match rt.kind {
                "Namespace" => cells.push(o["status"]["phase"].clone()),
                "Secret" => {
                    cells.push(o["type"].clone());
                    cells.push(json!(o["data"].as_object().map(|m| m.len()).unwrap_or(0)));
                }
                "Deployment" => {
                    let want = o["spec"]["replicas"].as_i64().unwrap_or(1);
                    let ready = o["status"]["readyReplicas"].as_i64().unwrap_or(0);
                    cells.push(json!(format!("{ready}/{want}")));
                    cells.push(o["status"]["updatedReplicas"].clone());
                    cells.push(json!(o["status"]["availableReplicas"].as_i64().unwrap_or(0)));
                }
                "Service" => {
                    cells.push(o["spec"]["type"].clone());
                    cells.push(o["spec"]["clusterIP"].clone());
                    let ext = o["status"]["loadBalancer"]["ingress"][0]["ip"]
                        .as_str()
                        .map(str::to_string)
                        .unwrap_or_else(|| {
                            if o["spec"]["type"] == "LoadBalancer" { "<pending>".into() } else { "<none>".into() }
                        });
                    cells.push(json!(ext));
                    let ports: Vec<String> = o["spec"]["ports"]
                        .as_array()
                        .into_iter()
                        .flatten()
                        .map(|p| match p["nodePort"].as_u64() {
                            Some(np) => format!("{}:{np}/{}", p["port"], p["protocol"].as_str().unwrap_or("TCP")),
                            None => format!("{}/{}", p["port"], p["protocol"].as_str().unwrap_or("TCP")),
                        })
                        .collect();
                    cells.push(json!(ports.join(",")));
                }
                "StorageClass" => {
                    let default = o["metadata"]["annotations"]["storageclass.kubernetes.io/is-default-class"] == "true";
                    let name = o["metadata"]["name"].as_str().unwrap_or_default();
                    cells[0] = json!(if default { format!("{name} (default)") } else { name.to_string() });
                    cells.push(o["provisioner"].clone());
                }
                _ => {}
            }
            cells.push(json!(age(o["metadata"]["creationTimestamp"].as_str().unwrap_or(""))));
            json!({"cells": cells, "object": {
                "kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1", "metadata": o["metadata"],
            }})
        })
        .collect();
    json!({
        "kind": "Table", "apiVersion": "meta.k8s.io/v1", "metadata": {"resourceVersion": rv},
        "columnDefinitions": cols.iter().map(|(n, t, f)| json!({
            "name": n, "type": t, "format": f, "description": n, "priority": 0,
        })).collect::<Vec<_>>(),
        "rows": rows,
    })
}
