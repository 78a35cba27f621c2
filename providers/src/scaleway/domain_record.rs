//! `scaleway_domain_record`: one DNS record (name, type, data, TTL) in a Scaleway DNS zone.
//!
//! Records carry no tags, so a record is identified by its id and, after a lost response or a
//! crash, re-found by its exact fields (`id_fields`: name, type, data, TTL). A create first
//! makes sure no identical record exists (one that kapstan did not create is imported, never
//! silently adopted), so an identical record found afterwards is the one this create made.
//! Import ids are `zone/record-id`.

use kapstan_engine::state::ResourceState;
use kapstan_engine::{DriverError, FieldError, Input, Schema, Update, async_trait};
use serde_json::{Value, json};

use super::client::wire::domain::{
    DnsRecord, RecordChange, RecordSelector, UpdateDnsRecordsRequest,
};
use super::client::{Client, Error as ApiErr};
use super::dns_name;
use super::kind::{Kind, Op, Place, bare_id, kind};
use super::provider::{ScalewayProvider, api, config_from, string, u32_of};

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

kind! {
    /// A DNS record.
    pub struct DomainRecord = "scaleway_domain_record"
        (DomainRecordKind, DomainRecordAttributes, DomainRecordDriver);
    wire LiveRecord as r, id format!("{}/{}", r.zone, r.record.id);
    /// full name of the zone the record is in, e.g. example.com
    dns_zone: Input<String>, required force_new => r.zone;
    /// name relative to the zone: "" for the apex, coder, *.coder
    #[serde(default)]
    name: Input<String>, required force_new => r.record.name;
    /// record type: A, AAAA, CNAME, TXT, MX, NS, CAA, SRV or ALIAS
    type_ as "type": Input<String>, required force_new => r.record.type_;
    /// value, updated in place
    data: Input<String>, required => r.record.data;
    /// time to live in seconds, 60 to 2592000; default 3600 (updated in place)
    ttl: Option<u32>, optional_computed => r.record.ttl;
    /// fully qualified name
    fqdn: String, computed => fqdn(&r.zone, &r.record.name);
}

/// A record with the zone it is in.
#[derive(Debug, Clone)]
pub struct LiveRecord {
    zone: String,
    record: DnsRecord,
}

/// The zone a record lives in: the place of a `scaleway_domain_record` (the Domains and DNS
/// API itself is global). Ids are `zone/record-id`; the zone part is read from the id when it
/// has one, so a zone name that looks like a locality prefix is no problem.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DnsZoneName(String);

impl Place for DnsZoneName {
    const KEY: Option<&'static str> = Some("dns_zone");
    fn of_config(_p: &ScalewayProvider, config: &Value) -> Result<Self, DriverError> {
        string(config, "dns_zone")
            .map(Self)
            .ok_or_else(|| DriverError::failed("scaleway_domain_record: dns_zone is not known"))
    }
    fn parse(s: &str) -> Result<Self, DriverError> {
        Ok(Self(s.to_string()))
    }
    /// No default zone: an import id names it (`zone/record-id`).
    fn default_of(_client: &Client) -> Self {
        Self(String::new())
    }
}

/// The zone and record id of `id` (`zone/record-id`, or the record id alone in the zone `at`).
fn split_id<'a>(at: &'a DnsZoneName, id: &'a str) -> Result<(&'a str, &'a str), ApiErr> {
    let (zone, rid) = id.rsplit_once('/').unwrap_or((at.0.as_str(), id));
    if zone.is_empty() || rid.is_empty() {
        return Err(ApiErr::InvalidRequest(format!(
            "id {id:?} is not zone/record-id, e.g. example.com/11111111-1111-4111-8111-111111111111"
        )));
    }
    Ok((zone, rid))
}

/// The record a config declares (the type upper-case, the TTL defaulted).
fn wanted(config: &Value) -> DnsRecord {
    let ttl = u32_of(config, "ttl").unwrap_or(DEFAULT_TTL);
    DnsRecord {
        id: String::new(),
        name: string(config, "name").unwrap_or_default(),
        type_: string(config, "type")
            .unwrap_or_default()
            .to_ascii_uppercase(),
        data: string(config, "data").unwrap_or_default(),
        ttl,
        priority: 0,
        comment: None,
    }
}

fn fqdn(zone: &str, name: &str) -> String {
    if name.is_empty() {
        zone.to_string()
    } else {
        format!("{name}.{zone}")
    }
}

/// Records identical to `w` in name, type, data and TTL.
async fn identical(c: &Client, zone: &str, w: &DnsRecord) -> Result<Vec<DnsRecord>, ApiErr> {
    let list = c
        .domain()
        .list_records(zone, Some(&w.name), Some(&w.type_), None)
        .await?;
    Ok(list
        .into_iter()
        .filter(|r| same_value(r, w) && r.ttl == w.ttl)
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

/// Sends one batch of record changes to `zone`.
async fn change(c: &Client, zone: &str, change: RecordChange) -> Result<Vec<DnsRecord>, ApiErr> {
    let req = UpdateDnsRecordsRequest {
        changes: vec![change],
        return_all_records: false,
        disallow_new_zone_creation: true,
    };
    c.domain().update_records(zone, &req).await
}

#[async_trait]
impl Kind for DomainRecordKind {
    type Place = DnsZoneName;
    type Request = DnsRecord;

    fn validate(config: &Value, e: &mut Vec<FieldError>) {
        let zone = config.get("dns_zone").and_then(Value::as_str);
        if let Some(z) = zone {
            dns_name::check_domain("dns_zone", z, e);
        }
        if let Some(n) = config.get("name").and_then(Value::as_str) {
            dns_name::check_relative("name", n, zone, e);
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
    }

    /// Records carry no tags: after a lost answer, or a refusal that may be a retry of an add
    /// that landed, the record is the one identical to the declaration.
    fn exists_already(_e: &ApiErr) -> bool {
        true
    }

    /// The type keeps the declared spelling when it only differs in case.
    fn shape(attributes: &mut Value, config: &Value) {
        if let Some(t) = config.get("type").and_then(Value::as_str)
            && attributes["type"]
                .as_str()
                .is_some_and(|live| t.eq_ignore_ascii_case(live))
        {
            attributes["type"] = json!(t);
        }
    }

    fn imported_config(schema: &Schema, attributes: &Value) -> Value {
        let mut config = config_from(schema, attributes);
        config["ttl"] = attributes["ttl"].clone();
        config
    }

    async fn get(c: &Client, at: &DnsZoneName, id: &str) -> Result<Option<LiveRecord>, ApiErr> {
        let (zone, rid) = split_id(at, id)?;
        let list = c.domain().list_records(zone, None, None, Some(rid)).await?;
        Ok(list
            .into_iter()
            .find(|r| r.id == rid)
            .map(|record| LiveRecord {
                zone: zone.to_string(),
                record,
            }))
    }

    /// Exactly the declared record, or nothing; several identical ones are an error.
    async fn lookup(op: &Op<'_, Self>) -> Result<Option<LiveRecord>, DriverError> {
        let config = op.config;
        let (zone, w) = (&op.at.0, wanted(config));
        let mut found = identical(op.c, zone, &w).await.map_err(api)?;
        match found.len() {
            0 => Ok(None),
            1 => Ok(Some(LiveRecord {
                zone: zone.clone(),
                record: found.remove(0),
            })),
            n => Err(DriverError::failed(format!(
                "{n} identical {} records {:?} → {} exist in {zone}; delete the extra ones, then apply again",
                w.type_, w.name, w.data
            ))),
        }
    }

    /// Refuses to add a record identical to one that exists (kapstan did not create it: import
    /// it), then checkpoints the record's fields, which is what a recovery looks for.
    async fn request(op: &Op<'_, Self>) -> Result<DnsRecord, DriverError> {
        let config = op.config;
        let (zone, w) = (&op.at.0, wanted(config));
        if let Some(existing) = identical(op.c, zone, &w).await.map_err(api)?.first() {
            return Err(DriverError::failed(format!(
                "an identical {} record {:?} → {} already exists in {zone} (id {}); import it with `kapstan import {} {zone}/{}`",
                w.type_, w.name, w.data, existing.id, op.ctx.address, existing.id
            )));
        }
        op.ctx
            .checkpoint(json!({"zone": zone, "id_fields": {
                "name": w.name, "type": w.type_, "data": w.data, "ttl": w.ttl}}))
            .await?;
        Ok(w)
    }

    /// Adds the record; an answer without it is an error, after which the core looks for it.
    async fn post(c: &Client, at: &DnsZoneName, w: &DnsRecord) -> Result<LiveRecord, ApiErr> {
        let path = format!("/dns-zones/{}/records", at.0);
        let added = change(
            c,
            &at.0,
            RecordChange::Add {
                records: vec![w.clone()],
            },
        )
        .await?;
        match added.into_iter().find(|r| same_value(r, w)) {
            Some(record) => Ok(LiveRecord {
                zone: at.0.clone(),
                record,
            }),
            None => Err(ApiErr::Decode {
                method: "PATCH".into(),
                path,
                status: 200,
                detail: format!(
                    "the DNS API accepted the {} record {:?} in {} but does not list it",
                    w.type_, w.name, at.0
                ),
            }),
        }
    }

    async fn update(op: &Op<'_, Self>, update: &Update<'_>) -> Result<LiveRecord, DriverError> {
        let id = bare_id(update.recorded);
        let Op { c, at, config, .. } = *op;
        let (zone, rid) = split_id(at, id).map_err(api)?;
        let set = RecordChange::Set {
            selector: RecordSelector::Id(rid.to_string()),
            records: vec![wanted(config)],
        };
        change(c, zone, set).await.map_err(api)?;
        Self::get(c, at, id).await.map_err(api)?.ok_or_else(|| {
            DriverError::failed(format!(
                "the DNS record {rid} in {zone} is gone after its update; apply again to recreate it"
            ))
        })
    }

    async fn remove(
        c: &Client,
        at: &DnsZoneName,
        id: &str,
        _rec: &ResourceState,
    ) -> Result<(), ApiErr> {
        let (zone, rid) = split_id(at, id)?;
        let selector = RecordSelector::Id(rid.to_string());
        change(c, zone, RecordChange::Delete { selector })
            .await
            .map(drop)
    }
}
