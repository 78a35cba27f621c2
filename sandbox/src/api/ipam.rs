//! IPAM `ipam/v1` (regional): the IP reads Kapsule, LB and RDB need, plus booking and release
//! (reference §5.2).

use axum::Router;
use axum::extract::{Path, State};
use axum::routing::get;
use chrono::{DateTime, Utc};
use serde_json::{Value, json};

use super::{render, touch, vpc};
use crate::server::Shared;
use crate::store::{Parent, Store};
use crate::wire::{
    ApiError, ApiResult, JsonBody, Query, REGIONS, check_region, has_tags, list_response, new_id,
    no_content, ok, patch_field, tags, ts,
};

/// Store kind of IPAM IPs.
pub const IP: &str = "ipam.ip";

pub(super) fn routes() -> Router<Shared> {
    let base = "/ipam/v1/regions/{region}";
    Router::new()
        .route(&format!("{base}/ips"), get(list_ips).post(book_ip))
        .route(
            &format!("{base}/ips/{{id}}"),
            get(get_ip).patch(update_ip).delete(release_ip),
        )
}

/// Books addresses of a private network for a resource; returns the new IP ids (v4 first).
#[allow(clippy::too_many_arguments)]
pub fn book_in_pn(
    s: &mut Store,
    region: &str,
    project: &str,
    pn: &str,
    resource: Value,
    parent: Option<Parent>,
    v4_only: bool,
    now: DateTime<Utc>,
) -> Vec<String> {
    let Some(addrs) = vpc::allocate_in_pn(s, pn, now) else {
        return vec![];
    };
    let mut ids = vec![];
    for (address, subnet_id, is_v6) in addrs {
        if v4_only && is_v6 {
            continue;
        }
        let id = new_id();
        let body = json!({
            "address": address, "created_at": ts(now), "id": id, "is_ipv6": is_v6,
            "project_id": project, "region": region, "resource": resource.clone(),
            "reverses": [], "source": {"subnet_id": subnet_id}, "tags": [],
            "updated_at": ts(now), "zone": null,
        });
        let rec = s.insert(IP, &id, parent.clone(), body, &[]);
        rec.extra = json!({"private_network_id": pn});
        ids.push(id);
    }
    ids
}

fn find<'a>(
    s: &'a Store,
    region: &str,
    id: &str,
    now: DateTime<Utc>,
) -> Result<&'a crate::store::Record, ApiError> {
    s.get(IP, id, now)
        .filter(|r| r.str("region") == region)
        .ok_or_else(|| ApiError::not_found("ip", id))
}

async fn list_ips(State(st): State<Shared>, Path(region): Path<String>, q: Query) -> ApiResult {
    check_region(&region, REGIONS)?;
    let wanted_tags = q.all("tags");
    let ip_ids = q.all("ip_ids");
    let resource_ids = q.all("resource_ids");
    let resource_types: Vec<String> = q
        .all("resource_types")
        .into_iter()
        .filter(|t| !t.starts_with("unknown"))
        .collect();
    let attached = q.bool("attached")?;
    let is_ipv6 = q.bool("is_ipv6")?;
    let items = st.read(|s, now| {
        s.list(IP, now)
            .into_iter()
            .filter(|r| r.str("region") == region)
            .filter(|r| {
                q.get("private_network_id")
                    .is_none_or(|p| r.extra["private_network_id"] == p)
            })
            .map(|r| render(r, now))
            .filter(|v| has_tags(v, &wanted_tags))
            .filter(|v| ip_ids.is_empty() || ip_ids.iter().any(|i| v["id"] == i.as_str()))
            .filter(|v| q.get("project_id").is_none_or(|p| v["project_id"] == p))
            .filter(|v| {
                q.get("subnet_id")
                    .is_none_or(|p| v["source"]["subnet_id"] == p)
            })
            .filter(|v| {
                q.get("resource_id")
                    .is_none_or(|p| v["resource"]["id"] == p)
            })
            .filter(|v| {
                resource_ids.is_empty()
                    || resource_ids
                        .iter()
                        .any(|i| v["resource"]["id"] == i.as_str())
            })
            .filter(|v| {
                q.enum_filter("resource_type")
                    .is_none_or(|p| v["resource"]["type"] == p)
            })
            .filter(|v| {
                resource_types.is_empty()
                    || resource_types
                        .iter()
                        .any(|t| v["resource"]["type"] == t.as_str())
            })
            .filter(|v| {
                q.get("resource_name")
                    .is_none_or(|p| v["resource"]["name"] == p)
            })
            .filter(|v| attached.is_none_or(|a| v["resource"].is_object() == a))
            .filter(|v| is_ipv6.is_none_or(|a| v["is_ipv6"] == a))
            .collect::<Vec<_>>()
    });
    list_response("ips", items, &q, "created_at_desc")
}

async fn book_ip(
    State(st): State<Shared>,
    Path(region): Path<String>,
    body: JsonBody,
) -> ApiResult {
    check_region(&region, REGIONS)?;
    let project = body
        .opt::<String>("project_id")?
        .unwrap_or_else(|| st.project_id.clone());
    let source = body
        .obj("source")?
        .ok_or_else(|| ApiError::invalid("source", "required", "source is required"))?;
    let is_v6 = body.opt::<bool>("is_ipv6")?.unwrap_or(false);
    let address = body.opt::<String>("address")?;
    let tags = tags(&body)?;
    let pn = source.opt::<String>("private_network_id")?;
    let subnet = source.opt::<String>("subnet_id")?;
    ok(st.write(|s, now| {
        let pn_rec = match (&pn, &subnet) {
            (Some(pn), _) => s
                .get(vpc::PN, pn, now)
                .ok_or_else(|| ApiError::not_found("private_network", pn))?,
            (None, Some(sn)) => s
                .list(vpc::PN, now)
                .into_iter()
                .find(|p| {
                    p.body["subnets"]
                        .as_array()
                        .is_some_and(|a| a.iter().any(|x| x["id"] == sn.as_str()))
                })
                .ok_or_else(|| ApiError::not_found("subnet", sn))?,
            (None, None) => {
                return Err(ApiError::invalid(
                    "source",
                    "constraint",
                    "source must name a private_network_id or a subnet_id",
                ));
            }
        };
        let pn_id = pn_rec.id.clone();
        let ids = book_in_pn(s, &region, &project, &pn_id, Value::Null, None, false, now);
        // Keep the one of the requested family; release the other.
        let mut chosen = None;
        for id in ids {
            let v6 = s
                .get(IP, &id, now)
                .is_some_and(|r| r.body["is_ipv6"] == true);
            if v6 == is_v6 && chosen.is_none() {
                chosen = Some(id);
            } else {
                s.remove(IP, &id);
            }
        }
        let id = chosen.ok_or_else(|| {
            ApiError::invalid(
                "is_ipv6",
                "constraint",
                "the private network has no subnet of this family",
            )
        })?;
        let rec = s.get_mut(IP, &id, now).expect("booked");
        if let Some(addr) = &address {
            let len = rec
                .str("address")
                .split_once('/')
                .map(|(_, l)| l.to_string())
                .unwrap_or_default();
            let addr = if addr.contains('/') {
                addr.clone()
            } else {
                format!("{addr}/{len}")
            };
            rec.obj().insert("address".into(), json!(addr));
        }
        rec.obj().insert("tags".into(), json!(tags));
        Ok(render(rec, now))
    })?)
}

async fn get_ip(State(st): State<Shared>, Path((region, id)): Path<(String, String)>) -> ApiResult {
    check_region(&region, REGIONS)?;
    ok(st.read(|s, now| find(s, &region, &id, now).map(|r| render(r, now)))?)
}

async fn update_ip(
    State(st): State<Shared>,
    Path((region, id)): Path<(String, String)>,
    body: JsonBody,
) -> ApiResult {
    check_region(&region, REGIONS)?;
    body.opt::<Vec<String>>("tags")?;
    ok(st.write(|s, now| {
        find(s, &region, &id, now)?;
        let rec = s.get_mut(IP, &id, now).expect("found");
        patch_field(rec.obj(), &body.0, "tags");
        patch_field(rec.obj(), &body.0, "reverses");
        touch(rec, now);
        Ok(render(rec, now))
    })?)
}

async fn release_ip(
    State(st): State<Shared>,
    Path((region, id)): Path<(String, String)>,
) -> ApiResult {
    check_region(&region, REGIONS)?;
    st.write(|s, now| {
        let rec = find(s, &region, &id, now)?;
        if rec.parent.is_some() {
            return Err(ApiError::still_in_use("IP is attached to a resource"));
        }
        s.remove(IP, &id);
        Ok(())
    })?;
    no_content()
}
