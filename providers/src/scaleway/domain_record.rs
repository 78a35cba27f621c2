//! `scaleway_domain_record`: one DNS record (name, type, data, TTL) in a Scaleway DNS zone.
//!
//! Records carry no tags, so a record is identified by its id and, after a lost response or a
//! crash, re-found by its exact fields (`id_fields`: name, type, data, TTL). A create first
//! makes sure no identical record exists (one that kapstan did not create is imported, never
//! silently adopted), so an identical record found afterwards is the one this create made.
//! Import ids are `zone/record-id`.

use std::sync::Arc;

use kapstan_engine::state::ResourceState;
use kapstan_engine::{
    Created, Driver, DriverContext, DriverError, Field, FieldError, Imported, Input, Resource,
    Schema, async_trait,
};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::client::Client;
use super::client::wire::domain::{
    DnsRecord, RecordChange, RecordSelector, UpdateDnsRecordsRequest,
};
use super::dns_name;
use super::provider::{ScalewayProvider, api, attributes, config_from, marker_id, string};

/// Record types this kind manages.
pub const RECORD_TYPES: &[&str] = &[
    "A", "AAAA", "CNAME", "TXT", "MX", "NS", "CAA", "SRV", "ALIAS",
];

/// Default TTL in seconds (Scaleway's console default).
pub const DEFAULT_TTL: u32 = 3600;
/// Shortest TTL accepted, in seconds.
pub const MIN_TTL: u64 = 60;
/// Longest TTL accepted, in seconds (30 days).
pub const MAX_TTL: u64 = 2_592_000;

/// A DNS record.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct DomainRecord {
    /// The zone's full name (a `scaleway_domain_zone`'s `name`). Changing it replaces the record.
    pub dns_zone: Input<String>,
    /// Name relative to the zone: `""` for the apex, `coder`, `*.coder`. Changing it replaces
    /// the record.
    #[serde(default)]
    pub name: Input<String>,
    /// Type (`A`, `AAAA`, `CNAME`, `TXT`, …). Changing it replaces the record.
    #[serde(rename = "type")]
    pub type_: Input<String>,
    /// Value (an IPv4 address for `A`, text for `TXT`, …), updated in place.
    pub data: Input<String>,
    /// Time to live in seconds (default 3600), updated in place.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ttl: Option<u32>,
}

attributes! {
    /// Attributes of a `scaleway_domain_record`.
    DomainRecordAttributes {
        /// The fully qualified name (`coder.example.com`).
        fqdn: String = "fqdn",
        /// The value.
        data: String = "data",
    }
}

impl Resource for DomainRecord {
    const KIND: &'static str = "scaleway_domain_record";
    type Attributes = DomainRecordAttributes;
}

/// The `scaleway_domain_record` driver.
#[derive(Debug)]
pub struct DomainRecordDriver {
    p: Arc<ScalewayProvider>,
    schema: Schema,
}

impl DomainRecordDriver {
    /// The driver.
    pub fn new(p: Arc<ScalewayProvider>) -> Self {
        Self {
            p,
            schema: Schema::new(
                "scaleway_domain_record",
                vec![
                    Field::required("dns_zone")
                        .force_new()
                        .describe("full name of the zone the record is in, e.g. example.com"),
                    Field::required("name")
                        .force_new()
                        .describe("name relative to the zone: \"\" for the apex, coder, *.coder"),
                    Field::required("type")
                        .force_new()
                        .describe("record type: A, AAAA, CNAME, TXT, MX, NS, CAA, SRV or ALIAS"),
                    Field::required("data").describe("value, updated in place"),
                    Field::optional_computed("ttl").describe(
                        "time to live in seconds, 60 to 2592000; default 3600 (updated in place)",
                    ),
                    Field::computed("fqdn").describe("fully qualified name"),
                ],
            ),
        }
    }
}

struct Wanted {
    zone: String,
    record: DnsRecord,
}

fn wanted(config: &Value) -> Result<Wanted, DriverError> {
    let zone = string(config, "dns_zone")
        .ok_or_else(|| DriverError::failed("scaleway_domain_record: dns_zone is not known"))?;
    let ttl = config
        .get("ttl")
        .and_then(Value::as_u64)
        .map_or(DEFAULT_TTL, |t| t as u32);
    Ok(Wanted {
        zone,
        record: DnsRecord {
            id: String::new(),
            name: string(config, "name").unwrap_or_default(),
            type_: string(config, "type")
                .unwrap_or_default()
                .to_ascii_uppercase(),
            data: string(config, "data").unwrap_or_default(),
            ttl,
            priority: 0,
            comment: None,
        },
    })
}

fn fqdn(zone: &str, name: &str) -> String {
    if name.is_empty() {
        zone.to_string()
    } else {
        format!("{name}.{zone}")
    }
}

fn attrs(zone: &str, r: &DnsRecord, config: &Value) -> Value {
    // The type keeps the declared spelling when it only differs in case.
    let type_ = match config.get("type").and_then(Value::as_str) {
        Some(t) if t.eq_ignore_ascii_case(&r.type_) => t.to_string(),
        _ => r.type_.clone(),
    };
    json!({
        "dns_zone": zone,
        "name": r.name,
        "type": type_,
        "data": r.data,
        "ttl": r.ttl,
        "fqdn": fqdn(zone, &r.name),
    })
}

/// The zone and record id of a recorded id `zone/record-id`.
fn split_id(id: &str) -> Option<(&str, &str)> {
    id.split_once('/')
        .filter(|(z, r)| !z.is_empty() && !r.is_empty())
}

async fn by_id(client: &Client, zone: &str, id: &str) -> Result<Option<DnsRecord>, DriverError> {
    match client
        .domain()
        .list_records(zone, None, None, Some(id))
        .await
    {
        Ok(list) => Ok(list.into_iter().find(|r| r.id == id)),
        Err(e) if e.is_not_found() => Ok(None),
        Err(e) => Err(api(e)),
    }
}

/// Records identical to `w` in name, type, data and TTL.
async fn identical(client: &Client, w: &Wanted) -> Result<Vec<DnsRecord>, DriverError> {
    let list = client
        .domain()
        .list_records(&w.zone, Some(&w.record.name), Some(&w.record.type_), None)
        .await
        .map_err(api)?;
    Ok(list
        .into_iter()
        .filter(|r| same_value(r, &w.record) && r.ttl == w.record.ttl)
        .collect())
}

/// Same record value; TXT data compares without the quotes the API may add.
fn same_value(a: &DnsRecord, b: &DnsRecord) -> bool {
    let unquote = |s: &str| s.trim_matches('"').to_string();
    a.name == b.name
        && a.type_.eq_ignore_ascii_case(&b.type_)
        && (a.data == b.data
            || (a.type_.eq_ignore_ascii_case("TXT") && unquote(&a.data) == unquote(&b.data)))
}

fn change(zone: &str, changes: Vec<RecordChange>) -> (String, UpdateDnsRecordsRequest) {
    (
        zone.to_string(),
        UpdateDnsRecordsRequest {
            changes,
            return_all_records: false,
            disallow_new_zone_creation: true,
        },
    )
}

#[async_trait]
impl Driver for DomainRecordDriver {
    fn schema(&self) -> &Schema {
        &self.schema
    }

    fn validate(&self, config: &Value) -> Vec<FieldError> {
        let mut e = self.p.credential_errors();
        let zone = config.get("dns_zone").and_then(Value::as_str);
        if let Some(z) = zone {
            dns_name::check_domain("dns_zone", z, &mut e);
        }
        if let Some(n) = config.get("name").and_then(Value::as_str) {
            dns_name::check_relative("name", n, zone, &mut e);
        }
        let type_ = config
            .get("type")
            .and_then(Value::as_str)
            .map(str::to_ascii_uppercase);
        if let Some(t) = &type_
            && !RECORD_TYPES.contains(&t.as_str())
        {
            e.push(FieldError::new(
                "type",
                &format!("{t:?}"),
                "is not a record type kapstan manages",
                &format!("use one of {}", RECORD_TYPES.join(", ")),
            ));
        }
        if let Some(d) = config.get("data").and_then(Value::as_str) {
            let problem = match type_.as_deref() {
                _ if d.is_empty() => Some(("is empty", "give the record's value".to_string())),
                Some("A") if d.parse::<std::net::Ipv4Addr>().is_err() => Some((
                    "is not an IPv4 address",
                    "use an address such as 192.0.2.10".to_string(),
                )),
                Some("AAAA") if d.parse::<std::net::Ipv6Addr>().is_err() => Some((
                    "is not an IPv6 address",
                    "use an address such as 2001:db8::10".to_string(),
                )),
                Some("CNAME" | "NS" | "ALIAS") if !dns_name::is_hostname(d) => Some((
                    "is not a host name",
                    "use a name such as target.example.com.".to_string(),
                )),
                Some("TXT") if d.len() > 2048 => Some((
                    "is longer than 2048 characters",
                    "shorten the text".to_string(),
                )),
                _ => None,
            };
            if let Some((problem, fix)) = problem {
                e.push(FieldError::new("data", &format!("{d:?}"), problem, &fix));
            }
        }
        if let Some(ttl) = config.get("ttl") {
            match ttl.as_u64() {
                Some(t) if (MIN_TTL..=MAX_TTL).contains(&t) => {}
                _ if ttl.is_object() => {}
                _ => e.push(FieldError::new(
                    "ttl",
                    &ttl.to_string(),
                    &format!("is not a TTL between {MIN_TTL} and {MAX_TTL} seconds"),
                    "use a number of seconds such as 300 or 3600",
                )),
            }
        }
        e
    }

    async fn read(
        &self,
        _ctx: &DriverContext,
        rec: &ResourceState,
    ) -> Result<Option<Value>, DriverError> {
        let client = self.p.client()?;
        let id = rec.id.clone().unwrap_or_default();
        let Some((zone, rid)) = split_id(&id) else {
            return Err(DriverError::failed(format!(
                "recorded id {id:?} is not zone/record-id"
            )));
        };
        Ok(by_id(&client, zone, rid)
            .await?
            .map(|r| attrs(zone, &r, &rec.config)))
    }

    async fn create(&self, ctx: &DriverContext, config: &Value) -> Result<Created, DriverError> {
        let client = self.p.client_with_backoff()?;
        let w = wanted(config)?;
        if let Some(existing) = identical(&client, &w).await?.first() {
            return Err(DriverError::failed(format!(
                "an identical {} record {:?} → {} already exists in {} (id {}); import it with `kapstan import {} {}/{}`",
                w.record.type_,
                w.record.name,
                w.record.data,
                w.zone,
                existing.id,
                ctx.address,
                w.zone,
                existing.id
            )));
        }
        ctx.checkpoint(json!({"zone": w.zone, "id_fields": {
            "name": w.record.name, "type": w.record.type_, "data": w.record.data, "ttl": w.record.ttl}}))
            .await?;
        let (zone, req) = change(
            &w.zone,
            vec![RecordChange::Add {
                records: vec![w.record.clone()],
            }],
        );
        let made = match client.domain().update_records(&zone, &req).await {
            Ok(records) => records.into_iter().find(|r| same_value(r, &w.record)),
            // A lost answer (or a retry refused as a duplicate): look for exactly this record.
            Err(e) => match identical(&client, &w).await?.pop() {
                Some(r) => Some(r),
                None => return Err(api(e)),
            },
        };
        let r = match made {
            Some(r) => r,
            None => identical(&client, &w).await?.pop().ok_or_else(|| {
                DriverError::failed(format!(
                    "the DNS API accepted the {} record {:?} in {} but does not list it",
                    w.record.type_, w.record.name, w.zone
                ))
            })?,
        };
        ctx.checkpoint(json!({"id": format!("{}/{}", w.zone, r.id)}))
            .await?;
        Ok(Created {
            id: format!("{}/{}", w.zone, r.id),
            attributes: attrs(&w.zone, &r, config),
        })
    }

    async fn recover(
        &self,
        _ctx: &DriverContext,
        config: &Value,
        marker: &Value,
    ) -> Result<Option<Created>, DriverError> {
        let client = self.p.client()?;
        if let Some(id) = marker_id(marker)
            && let Some((zone, rid)) = split_id(id)
        {
            return Ok(by_id(&client, zone, rid).await?.map(|r| Created {
                id: id.to_string(),
                attributes: attrs(zone, &r, config),
            }));
        }
        // The add may or may not have landed: exactly the declared record, or nothing.
        let w = wanted(config)?;
        let mut found = identical(&client, &w).await?;
        match found.len() {
            0 => Ok(None),
            1 => {
                let r = found.remove(0);
                Ok(Some(Created {
                    id: format!("{}/{}", w.zone, r.id),
                    attributes: attrs(&w.zone, &r, config),
                }))
            }
            n => Err(DriverError::failed(format!(
                "{n} identical {} records {:?} → {} exist in {}; delete the extra ones, then apply again",
                w.record.type_, w.record.name, w.record.data, w.zone
            ))),
        }
    }

    async fn update(
        &self,
        _ctx: &DriverContext,
        rec: &ResourceState,
        config: &Value,
        _changed: &[String],
    ) -> Result<Value, DriverError> {
        let client = self.p.client_with_backoff()?;
        let id = rec.id.clone().unwrap_or_default();
        let (zone, rid) = split_id(&id).ok_or_else(|| {
            DriverError::failed(format!("recorded id {id:?} is not zone/record-id"))
        })?;
        let w = wanted(config)?;
        let (z, req) = change(
            zone,
            vec![RecordChange::Set {
                selector: RecordSelector::Id(rid.to_string()),
                records: vec![w.record.clone()],
            }],
        );
        client
            .domain()
            .update_records(&z, &req)
            .await
            .map_err(api)?;
        let r = by_id(&client, zone, rid).await?.ok_or_else(|| {
            DriverError::failed(format!(
                "the DNS record {rid} in {zone} is gone after its update; apply again to recreate it"
            ))
        })?;
        Ok(attrs(zone, &r, config))
    }

    async fn delete(&self, _ctx: &DriverContext, rec: &ResourceState) -> Result<(), DriverError> {
        let client = self.p.client_with_backoff()?;
        let id = rec.id.clone().unwrap_or_default();
        let Some((zone, rid)) = split_id(&id) else {
            return Ok(());
        };
        let (z, req) = change(
            zone,
            vec![RecordChange::Delete {
                selector: RecordSelector::Id(rid.to_string()),
            }],
        );
        match client.domain().update_records(&z, &req).await {
            Ok(_) => Ok(()),
            Err(e) if e.is_not_found() => Ok(()),
            Err(e) => Err(api(e)),
        }
    }

    async fn import(
        &self,
        _ctx: &DriverContext,
        id: &str,
    ) -> Result<Option<Imported>, DriverError> {
        let Some((zone, rid)) = split_id(id) else {
            return Err(DriverError::failed(format!(
                "import id {id:?} is not zone/record-id, e.g. example.com/11111111-1111-4111-8111-111111111111"
            )));
        };
        let client = self.p.client()?;
        Ok(by_id(&client, zone, rid).await?.map(|r| {
            let attributes = attrs(zone, &r, &Value::Null);
            let mut config = config_from(&self.schema, &attributes);
            config["ttl"] = json!(r.ttl);
            Imported { config, attributes }
        }))
    }
}
