//! `scaleway_rdb_acl`: the full set of ACL rules of an instance (PUT replaces them all; delete
//! removes them).

use std::sync::Arc;

use kapstan_engine::state::ResourceState;
use kapstan_engine::{
    Created, Driver, DriverContext, DriverError, Field, FieldError, Imported, Input, Resource,
    Schema, async_trait,
};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::client::Region;
use super::client::wire::rdb::{AclRule, AclRuleRequest};
use super::provider::{
    Pace, ScalewayProvider, api, attributes, check, config_from, found, is_not_found, string,
};
use super::rdb_instance::{REGIONS, rdb_client, wait_instance};

/// One allowed source.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct AclRuleSpec {
    /// CIDR, e.g. `10.0.0.0/8`.
    pub ip: String,
    /// Description (the API writes `IP allowed` when empty).
    #[serde(default)]
    pub description: String,
}

/// The ACL of an instance.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct RdbAcl {
    /// The instance. Changing it replaces the ACL.
    pub instance_id: Input<String>,
    /// The rules (updated in place).
    pub acl_rules: Vec<AclRuleSpec>,
    /// Region of the instance. Changing it replaces the ACL.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
}

attributes! {
    /// Attributes of a `scaleway_rdb_acl`.
    RdbAclAttributes {
        /// The instance.
        instance_id: String = "instance_id",
    }
}

impl Resource for RdbAcl {
    const KIND: &'static str = "scaleway_rdb_acl";
    type Attributes = RdbAclAttributes;
}

/// The `scaleway_rdb_acl` driver.
#[derive(Debug)]
pub struct RdbAclDriver {
    p: Arc<ScalewayProvider>,
    schema: Schema,
}

const DEFAULT_DESCRIPTION: &str = "IP allowed";

fn rules_of(config: &Value) -> Vec<AclRuleRequest> {
    let mut rules: Vec<AclRuleRequest> = config
        .get("acl_rules")
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .map(|r| AclRuleRequest {
                    ip: string(r, "ip").unwrap_or_default(),
                    description: string(r, "description").unwrap_or_default(),
                })
                .collect()
        })
        .unwrap_or_default();
    rules.sort_by(|a, b| a.ip.cmp(&b.ip));
    rules
}

/// Live rules in the config's shape and order (an empty declared description matches the
/// API's default).
fn shaped(live: &[AclRule], instance: &str, region: &Region, config: &Value) -> Value {
    let declared = rules_of(config);
    let mut rules: Vec<Value> = live
        .iter()
        .map(|r| {
            let desc = match declared.iter().find(|d| d.ip == r.ip) {
                Some(d) if d.description.is_empty() && r.description == DEFAULT_DESCRIPTION => {
                    String::new()
                }
                _ => r.description.clone(),
            };
            json!({"ip": r.ip, "description": desc})
        })
        .collect();
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
    json!({"instance_id": instance, "acl_rules": rules, "region": region.as_str()})
}

impl RdbAclDriver {
    /// The driver.
    pub fn new(p: Arc<ScalewayProvider>) -> Self {
        Self {
            p,
            schema: Schema::new(
                "scaleway_rdb_acl",
                vec![
                    Field::required("instance_id")
                        .force_new()
                        .describe("the instance"),
                    Field::required("acl_rules")
                        .describe("`[{ip, description}]`: every allowed source (updated in place)"),
                    Field::optional_computed("region")
                        .force_new()
                        .describe("region of the instance"),
                ],
            ),
        }
    }

    async fn put(
        &self,
        ctx: &DriverContext,
        config: &Value,
    ) -> Result<(String, Value), DriverError> {
        let region = self.p.region_of(config)?;
        let instance = string(config, "instance_id").unwrap_or_default();
        let client = rdb_client(&self.p, &region, &instance)?;
        let pacing = self.p.pacing(Pace::Long);
        wait_instance(ctx, pacing, &client, &region, &instance).await?;
        client
            .rdb(&region)
            .set_acl_rules(&instance, &rules_of(config))
            .await
            .map_err(api)?;
        wait_instance(ctx, pacing, &client, &region, &instance).await?;
        let live = client
            .rdb(&region)
            .list_acl_rules(&instance)
            .await
            .map_err(api)?;
        Ok((
            format!("{region}/{instance}"),
            shaped(&live, &instance, &region, config),
        ))
    }
}

#[async_trait]
impl Driver for RdbAclDriver {
    fn schema(&self) -> &Schema {
        &self.schema
    }

    fn validate(&self, config: &Value) -> Vec<FieldError> {
        let mut e = self.p.credential_errors();
        check::locality(config, &mut e);
        check::one_of(config, "region", REGIONS, "Managed Database region", &mut e);
        if let Some(rules) = config.get("acl_rules").and_then(Value::as_array) {
            for r in rules {
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
        e
    }

    async fn read(
        &self,
        _ctx: &DriverContext,
        rec: &ResourceState,
    ) -> Result<Option<Value>, DriverError> {
        let region = self.p.region_of(&rec.config)?;
        let instance = string(&rec.config, "instance_id").unwrap_or_default();
        let client = rdb_client(&self.p, &region, &instance)?;
        Ok(found(client.rdb(&region).list_acl_rules(&instance).await)?
            .map(|live| shaped(&live, &instance, &region, &rec.config)))
    }

    async fn create(&self, ctx: &DriverContext, config: &Value) -> Result<Created, DriverError> {
        let (id, attributes) = self.put(ctx, config).await?;
        Ok(Created { id, attributes })
    }

    async fn recover(
        &self,
        ctx: &DriverContext,
        config: &Value,
        _marker: &Value,
    ) -> Result<Option<Created>, DriverError> {
        // A PUT of the full set: safe to repeat.
        self.create(ctx, config).await.map(Some)
    }

    async fn update(
        &self,
        ctx: &DriverContext,
        _rec: &ResourceState,
        config: &Value,
        _changed: &[String],
    ) -> Result<Value, DriverError> {
        Ok(self.put(ctx, config).await?.1)
    }

    async fn delete(&self, ctx: &DriverContext, rec: &ResourceState) -> Result<(), DriverError> {
        let region = self.p.region_of(&rec.config)?;
        let instance = string(&rec.config, "instance_id").unwrap_or_default();
        let client = rdb_client(&self.p, &region, &instance)?;
        let ips: Vec<String> = rules_of(&rec.config).into_iter().map(|r| r.ip).collect();
        if ips.is_empty() {
            return Ok(());
        }
        let pacing = self.p.pacing(Pace::Long);
        match wait_instance(ctx, pacing, &client, &region, &instance).await {
            Ok(_) => {}
            Err(e) if is_not_found(&e) => return Ok(()),
            Err(e) => return Err(e),
        }
        match client.rdb(&region).delete_acl_rules(&instance, &ips).await {
            Ok(_) => {}
            Err(e) if e.is_not_found() => return Ok(()),
            Err(e) => return Err(api(e)),
        }
        wait_instance(ctx, pacing, &client, &region, &instance)
            .await
            .map(|_| ())
    }

    async fn import(
        &self,
        _ctx: &DriverContext,
        id: &str,
    ) -> Result<Option<Imported>, DriverError> {
        let (region, instance) = match id.split_once('/') {
            Some((r, i)) => (
                Region::parse(r).map_err(|e| DriverError::failed(e.to_string()))?,
                i.to_string(),
            ),
            None => (self.p.client()?.region().clone(), id.to_string()),
        };
        let client = rdb_client(&self.p, &region, &instance)?;
        match client.rdb(&region).list_acl_rules(&instance).await {
            Ok(live) => {
                let attributes = shaped(&live, &instance, &region, &Value::Null);
                Ok(Some(Imported {
                    config: config_from(&self.schema, &attributes),
                    attributes,
                }))
            }
            Err(e) if e.is_not_found() => Ok(None),
            Err(e) => Err(api(e)),
        }
    }
}
