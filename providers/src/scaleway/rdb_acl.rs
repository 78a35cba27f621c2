//! `scaleway_rdb_acl`: the full set of ACL rules of an instance (PUT replaces them all; delete
//! removes them).

use kapstan_engine::state::ResourceState;
use kapstan_engine::{DriverError, FieldError, Input, Update, async_trait};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::client::wire::rdb::{AclRule, AclRuleRequest};
use super::client::{Client, Error as ApiErr, Region};
use super::kind::{Kind, Op, attribute_as_is, fetch, kind};
use super::provider::{api, check, is_not_found, items, string};
use super::rdb_instance::REGION_RULE;
use super::rdb_item::{InstanceItem, item_client, wait_instance_of};

/// One allowed source.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct AclRuleSpec {
    /// CIDR, e.g. `10.0.0.0/8`.
    pub ip: String,
    /// Description (the API writes `IP allowed` when empty).
    #[serde(default)]
    pub description: String,
}

attribute_as_is!(AclRuleSpec);

kind! {
    /// The ACL of an instance.
    pub struct RdbAcl = "scaleway_rdb_acl" (RdbAclKind, RdbAclAttributes, RdbAclDriver);
    // One ACL per instance: its id is the instance's.
    wire LiveAcl as a, id format!("{}/{}", a.region, a.instance);
    /// the instance
    instance_id: Input<String>, required force_new => a.instance;
    /// `[{ip, description}]`: every allowed source (updated in place)
    acl_rules: Vec<AclRuleSpec>, required => rules_json(&a.item);
    /// region of the instance
    region: Option<String>, optional_computed force_new => a.region.as_str();
}

/// The live rules of an instance.
type LiveAcl = InstanceItem<Vec<AclRule>>;

const DEFAULT_DESCRIPTION: &str = "IP allowed";

fn rules_of(config: &Value) -> Vec<AclRuleRequest> {
    let mut rules: Vec<AclRuleRequest> = items(config, "acl_rules")
        .map(|r| AclRuleRequest {
            ip: string(r, "ip").unwrap_or_default(),
            description: string(r, "description").unwrap_or_default(),
        })
        .collect();
    rules.sort_by(|a, b| a.ip.cmp(&b.ip));
    rules
}

/// Live rules as the API lists them.
fn rules_json(live: &[AclRule]) -> Value {
    live.iter()
        .map(|r| json!({"ip": r.ip, "description": r.description}))
        .collect()
}

/// Live rules in the config's shape and order (an empty declared description matches the
/// API's default).
fn shape_rules(rules: &mut [Value], config: &Value) {
    let declared = rules_of(config);
    for r in rules.iter_mut() {
        let ip = r["ip"].as_str().unwrap_or_default();
        let defaulted = declared.iter().find(|d| d.ip == ip).is_some_and(|d| {
            d.description.is_empty() && r["description"].as_str() == Some(DEFAULT_DESCRIPTION)
        });
        if defaulted {
            r["description"] = json!("");
        }
    }
    let order: Vec<&str> = config
        .get("acl_rules")
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(|r| r.get("ip").and_then(Value::as_str))
                .collect()
        })
        .unwrap_or_default();
    rules.sort_by_key(|r| {
        let ip = r["ip"].as_str().unwrap_or_default().to_string();
        (
            order.iter().position(|o| *o == ip).unwrap_or(usize::MAX),
            ip,
        )
    });
}

/// Replaces the instance's rules with the declared ones, waiting for the instance before and
/// after, and reads them back.
async fn put(op: &Op<'_, RdbAclKind>) -> Result<LiveAcl, DriverError> {
    let Op { c, at, config, .. } = *op;
    let instance = string(config, "instance_id").unwrap_or_default();
    wait_instance_of(op).await?;
    c.rdb(at)
        .set_acl_rules(&instance, &rules_of(config))
        .await
        .map_err(api)?;
    wait_instance_of(op).await?;
    let live = c.rdb(at).list_acl_rules(&instance).await.map_err(api)?;
    Ok(InstanceItem::new(at, &instance, live))
}

#[async_trait]
impl Kind for RdbAclKind {
    type Place = Region;
    type Request = (String, Vec<AclRuleRequest>);

    fn validate(config: &Value, e: &mut Vec<FieldError>) {
        check::choices(config, &[REGION_RULE], e);
        let rules = config.get("acl_rules").and_then(Value::as_array);
        for r in rules.into_iter().flatten() {
            if let Some(ip) = r.get("ip").and_then(Value::as_str) {
                let (addr, len) = ip.split_once('/').unwrap_or((ip, "32"));
                let ok = addr.parse::<std::net::IpAddr>().is_ok()
                    && len.parse::<u8>().is_ok_and(|l| l <= 128);
                if !ok {
                    e.push(FieldError::new(
                        "acl_rules.ip",
                        &format!("{ip:?}"),
                        "is not a CIDR",
                        "use e.g. 10.0.0.0/8 or 1.2.3.4/32",
                    ));
                }
            }
        }
    }

    /// Only the rules take the config's shape.
    fn shape(attributes: &mut Value, config: &Value) {
        if let Some(rules) = attributes
            .get_mut("acl_rules")
            .and_then(Value::as_array_mut)
        {
            shape_rules(rules, config);
        }
    }

    fn client(d: &RdbAclDriver, config: &Value) -> Result<Client, DriverError> {
        item_client(d, config)
    }

    async fn get(c: &Client, at: &Region, id: &str) -> Result<Option<LiveAcl>, ApiErr> {
        let live = c.rdb(at).list_acl_rules(id).await?;
        Ok(Some(InstanceItem::new(at, id, live)))
    }

    /// The declared instance's rules (every instance has an ACL).
    async fn lookup(op: &Op<'_, Self>) -> Result<Option<LiveAcl>, DriverError> {
        let config = op.config;
        let instance = string(config, "instance_id").unwrap_or_default();
        fetch::<Self>(op.c, op.at, &instance).await
    }

    async fn request(op: &Op<'_, Self>) -> Result<(String, Vec<AclRuleRequest>), DriverError> {
        let config = op.config;
        wait_instance_of(op).await?;
        let instance = string(config, "instance_id").unwrap_or_default();
        Ok((instance, rules_of(config)))
    }

    /// A PUT of the full set.
    async fn post(
        c: &Client,
        at: &Region,
        (instance, rules): &(String, Vec<AclRuleRequest>),
    ) -> Result<LiveAcl, ApiErr> {
        let set = c.rdb(at).set_acl_rules(instance, rules).await?;
        Ok(InstanceItem::new(at, instance, set))
    }

    /// A PUT of the full set is safe to repeat: a recovered ACL is set again.
    async fn adopted(op: &Op<'_, Self>, _a: LiveAcl) -> Result<LiveAcl, DriverError> {
        put(op).await
    }

    /// Waits for the instance to apply the rules, then reads them back.
    async fn settle(op: &Op<'_, Self>, _a: LiveAcl) -> Result<LiveAcl, DriverError> {
        let config = op.config;
        wait_instance_of(op).await?;
        let instance = string(config, "instance_id").unwrap_or_default();
        let live =
            op.c.rdb(op.at)
                .list_acl_rules(&instance)
                .await
                .map_err(api)?;
        Ok(InstanceItem::new(op.at, &instance, live))
    }

    async fn update(op: &Op<'_, Self>, _update: &Update<'_>) -> Result<LiveAcl, DriverError> {
        put(op).await
    }

    /// Removes the recorded rules, waiting for the instance before and after; an instance
    /// already gone is fine.
    async fn delete(op: &Op<'_, Self>, rec: &ResourceState) -> Result<(), DriverError> {
        let ips: Vec<String> = rules_of(&rec.config).into_iter().map(|r| r.ip).collect();
        if ips.is_empty() {
            return Ok(());
        }
        match wait_instance_of(op).await {
            Err(e) if is_not_found(&e) => return Ok(()),
            other => other?,
        }
        let instance = string(&rec.config, "instance_id").unwrap_or_default();
        match Self::remove(op.c, op.at, &instance, rec).await {
            Err(e) if e.is_not_found() => return Ok(()),
            other => other.map_err(api)?,
        }
        wait_instance_of(op).await
    }

    /// Deletes the recorded rules.
    async fn remove(c: &Client, at: &Region, id: &str, rec: &ResourceState) -> Result<(), ApiErr> {
        let ips: Vec<String> = rules_of(&rec.config).into_iter().map(|r| r.ip).collect();
        c.rdb(at).delete_acl_rules(id, &ips).await.map(|_| ())
    }
}
