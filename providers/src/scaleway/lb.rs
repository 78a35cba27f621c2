//! `scaleway_lb`: a load balancer (zonal). Updates are a full PUT of name, description, tags
//! and SSL level; type changes migrate; private networks attach and detach in place; declared
//! flexible IPs attach in place.

use std::sync::Arc;

use kapstan_engine::state::ResourceState;
use kapstan_engine::{
    Created, Driver, DriverContext, DriverError, Field, FieldError, Imported, Input, Resource,
    Schema, async_trait,
};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::client::api::ListFilter;
use super::client::wire::lb::{
    AttachPrivateNetworkRequest, CreateLbRequest, Lb as WireLb, SslCompatibilityLevel,
    UpdateIpRequest, UpdateLbRequest,
};
use super::client::{Client, Zone};
use super::lb_ip::{LB_ZONES, recorded_zone};
use super::provider::{
    Pace, Poll, ScalewayProvider, adopt_one, api, attributes, check, config_from, conform, found,
    is_owned, marker_id, norm, owned_tags, post_or_adopt, split_locality, string, strings,
    user_tags, wait_for,
};

/// A private network attached to the load balancer.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct LbPrivateNetwork {
    /// The private network.
    pub private_network_id: Input<String>,
}

/// A load balancer.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Lb {
    /// Name (updated in place).
    pub name: Input<String>,
    /// Commercial type, e.g. `LB-S` (migrated in place).
    #[serde(rename = "type")]
    pub lb_type: String,
    /// Description (updated in place).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Tags (updated in place); kapstan adds its two ownership tags.
    #[serde(default)]
    pub tags: Vec<String>,
    /// Flexible IPs (`scaleway_lb_ip`), updated in place: a declared IP that is not attached
    /// is attached (`PATCH /ips/{id} {lb_id}`). The API cannot detach an IP from a load
    /// balancer, so an undeclared IP attached out of band fails the update with its id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ip_ids: Option<Vec<Input<String>>>,
    /// Allocate a flexible IPv4 when no IP is given. Changing it replaces the load balancer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub assign_flexible_ip: Option<bool>,
    /// `ssl_compatibility_level_intermediate` (default), `_modern` or `_old` (updated in place).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ssl_compatibility_level: Option<String>,
    /// Private networks (attached and detached in place).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub private_network: Option<Vec<LbPrivateNetwork>>,
    /// Zone. Changing it replaces the load balancer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub zone: Option<String>,
    /// Project. Changing it replaces the load balancer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub project_id: Option<String>,
}

attributes! {
    /// Attributes of a `scaleway_lb`.
    LbAttributes {
        /// The first IPv4 address.
        ip_address: String = "ip_address",
        /// The zone.
        zone: String = "zone",
    }
}

impl Resource for Lb {
    const KIND: &'static str = "scaleway_lb";
    type Attributes = LbAttributes;
}

/// Load balancer types.
pub const LB_TYPES: &[&str] = &["LB-S", "LB-GP-M", "LB-GP-L", "LB-GP-XL"];

/// The `scaleway_lb` driver.
#[derive(Debug)]
pub struct LbDriver {
    p: Arc<ScalewayProvider>,
    schema: Schema,
}

impl LbDriver {
    /// The driver.
    pub fn new(p: Arc<ScalewayProvider>) -> Self {
        Self {
            p,
            schema: Schema::new(
                "scaleway_lb",
                vec![
                    Field::required("name").describe("name (updated in place, full PUT)"),
                    Field::required("type")
                        .describe("commercial type, e.g. LB-S (migrated in place)"),
                    Field::optional("description")
                        .describe("description (updated in place, full PUT)"),
                    Field::optional("tags").describe(
                        "tags (updated in place); kapstan adds kapstan-stack and kapstan-addr",
                    ),
                    Field::optional_computed("ip_ids").describe(
                        "flexible IPs (scaleway_lb_ip ids); a declared IP not attached is attached in place",
                    ),
                    Field::optional("assign_flexible_ip")
                        .force_new()
                        .describe("allocate a flexible IPv4 when no IP is given"),
                    Field::optional_computed("ssl_compatibility_level").describe(
                        "ssl_compatibility_level_intermediate, _modern or _old (updated in place)",
                    ),
                    Field::optional("private_network")
                        .describe("`[{private_network_id}]`: attached private networks (in place)"),
                    Field::optional_computed("zone")
                        .force_new()
                        .describe("zone; default: the configured zone"),
                    Field::optional_computed("project_id")
                        .force_new()
                        .describe("project; default: the credentials' project"),
                    Field::computed("ip_address").describe("first IPv4 address"),
                    Field::computed("region").describe("region of the zone"),
                    Field::computed("organization_id").describe("organization of the project"),
                ],
            ),
        }
    }

    async fn find(
        &self,
        ctx: &DriverContext,
        client: &Client,
        zone: &Zone,
    ) -> Result<Option<WireLb>, DriverError> {
        let found = client
            .lb(zone)
            .list_lbs(&ListFilter::tags(ctx.ownership_tags()))
            .await
            .map_err(api)?
            .into_iter()
            .filter(|l| is_owned(ctx, &l.tags))
            .map(|l| (l.id.clone(), l))
            .collect();
        Ok(adopt_one(ctx, "scaleway_lb", found)?.map(|(_, l)| l))
    }

    async fn wait_ready(
        &self,
        ctx: &DriverContext,
        client: &Client,
        zone: &Zone,
        id: &str,
    ) -> Result<WireLb, DriverError> {
        wait_for(
            ctx,
            self.p.pacing(Pace::Lb),
            "load balancer",
            move || async move {
                let lb = client.lb(zone).get_lb(id).await.map_err(api)?;
                if lb.status.is_transient() {
                    return Ok(Poll::Pending(lb.status.to_string()));
                }
                if let Some(i) = lb
                    .instances
                    .iter()
                    .find(|i| matches!(i.status.as_str(), "pending" | "migrating"))
                {
                    return Ok(Poll::Pending(format!("instance {}", i.status)));
                }
                match lb.status.as_str() {
                    "error" | "locked" => Err(DriverError::failed(format!(
                        "load balancer {id} is `{}`",
                        lb.status
                    ))),
                    _ => Ok(Poll::Done(lb)),
                }
            },
        )
        .await
    }

    async fn attributes(
        &self,
        client: &Client,
        lb: &WireLb,
        config: &Value,
    ) -> Result<Value, DriverError> {
        let zone = Zone::parse(&lb.zone).map_err(|e| DriverError::failed(e.to_string()))?;
        let pns = client
            .lb(&zone)
            .list_lb_private_networks(&lb.id)
            .await
            .map_err(api)?;
        Ok(attrs(lb, &pns, config))
    }

    /// Attaches the declared private networks not attached yet and detaches the others.
    async fn sync_networks(
        &self,
        ctx: &DriverContext,
        client: &Client,
        zone: &Zone,
        id: &str,
        config: &Value,
    ) -> Result<(), DriverError> {
        let Some(wanted) = config.get("private_network").and_then(Value::as_array) else {
            return Ok(());
        };
        let wanted: Vec<String> = wanted
            .iter()
            .filter_map(|p| string(p, "private_network_id"))
            .collect();
        let lbapi = client.lb(zone);
        let attached = lbapi.list_lb_private_networks(id).await.map_err(api)?;
        for a in &attached {
            if !wanted.contains(&a.private_network_id) {
                match lbapi
                    .detach_private_network(id, &a.private_network_id)
                    .await
                {
                    Ok(()) => {}
                    Err(e) if e.is_not_found() => {}
                    Err(e) => return Err(api(e)),
                }
                self.wait_ready(ctx, client, zone, id).await?;
            }
        }
        for pn in &wanted {
            if attached.iter().any(|a| &a.private_network_id == pn) {
                continue;
            }
            let req = AttachPrivateNetworkRequest {
                private_network_id: pn.clone(),
                ipam_ids: vec![],
            };
            let (l, r) = (&lbapi, &req);
            post_or_adopt(
                move || async move { l.attach_private_network(id, r).await.map(|_| ()) },
                // Lost answer: attached if the list shows it, otherwise attach again.
                move || async move {
                    let now = l.list_lb_private_networks(id).await.map_err(api)?;
                    Ok(now
                        .iter()
                        .any(|a| a.private_network_id == r.private_network_id)
                        .then_some(()))
                },
            )
            .await?;
        }
        let (c, z, wanted) = (client, zone, &wanted);
        wait_for(
            ctx,
            self.p.pacing(Pace::Fast),
            "private network attachments",
            move || async move {
                let now = c.lb(z).list_lb_private_networks(id).await.map_err(api)?;
                if let Some(missing) = wanted
                    .iter()
                    .find(|pn| !now.iter().any(|a| &a.private_network_id == *pn))
                {
                    return Err(DriverError::failed(format!(
                        "private network {missing} did not attach; run apply again"
                    )));
                }
                if let Some(a) = now.iter().find(|a| a.status.as_str() == "error") {
                    return Err(DriverError::failed(format!(
                        "attaching private network {} failed",
                        a.private_network_id
                    )));
                }
                match now.iter().find(|a| a.status.as_str() != "ready") {
                    Some(a) => Ok(Poll::Pending(format!("attachment {}", a.status))),
                    None => Ok(Poll::Done(())),
                }
            },
        )
        .await?;
        self.wait_ready(ctx, client, zone, id).await.map(|_| ())
    }

    /// Attaches the declared flexible IPs the load balancer lacks. The lb/v1 API has no call
    /// that detaches a flexible IP from a load balancer (Scaleway: "you cannot detach its
    /// flexible IP after creation"), so undeclared attached IPs are an error naming them,
    /// raised before any call.
    async fn sync_ips(
        &self,
        ctx: &DriverContext,
        client: &Client,
        zone: &Zone,
        current: &WireLb,
        config: &Value,
    ) -> Result<(), DriverError> {
        let wanted = strings(config, "ip_ids");
        if wanted.is_empty() {
            return Ok(());
        }
        let bare = |i: &str| split_locality(i).1.to_string();
        let wanted: Vec<String> = wanted.iter().map(|i| bare(i)).collect();
        let extra: Vec<String> = current
            .ip
            .iter()
            .filter(|i| !wanted.contains(&i.id))
            .map(|i| format!("{} ({})", i.id, i.ip_address))
            .collect();
        if !extra.is_empty() {
            return Err(DriverError::failed(format!(
                "load balancer {} holds flexible IP(s) not in ip_ids: {}. The Load Balancer API cannot detach a flexible IP \
                 from a load balancer, so kapstan does not replace the load balancer (and its address) for it: add the \
                 IP to ip_ids to keep it, or replace the load balancer explicitly with `kapstan plan --replace <address>`",
                current.id,
                extra.join(", ")
            )));
        }
        let lbapi = client.lb(zone);
        for ip in wanted
            .iter()
            .filter(|w| !current.ip.iter().any(|i| &&i.id == w))
        {
            let req = UpdateIpRequest {
                reverse: None,
                lb_id: Some(current.id.clone()),
                tags: None,
            };
            lbapi.update_ip(ip, &req).await.map_err(api)?;
        }
        self.wait_ready(ctx, client, zone, &current.id)
            .await
            .map(|_| ())
    }

    async fn finish(
        &self,
        ctx: &DriverContext,
        client: &Client,
        zone: &Zone,
        id: &str,
        config: &Value,
    ) -> Result<Created, DriverError> {
        self.wait_ready(ctx, client, zone, id).await?;
        self.sync_networks(ctx, client, zone, id, config).await?;
        let lb = client.lb(zone).get_lb(id).await.map_err(api)?;
        Ok(Created {
            id: id.to_string(),
            attributes: self.attributes(client, &lb, config).await?,
        })
    }
}

fn attrs(lb: &WireLb, pns: &[super::client::wire::lb::LbPrivateNetwork], config: &Value) -> Value {
    let v4 = lb.ip.iter().find(|i| !i.ip_address.contains(':'));
    let mut a = json!({
        "name": lb.name,
        "type": lb.lb_type,
        "description": lb.description,
        "tags": user_tags(&lb.tags),
        "ip_ids": lb.ip.iter().map(|i| i.id.clone()).collect::<Vec<_>>(),
        "ssl_compatibility_level": lb.ssl_compatibility_level.as_str(),
        "private_network": pns.iter().map(|p| json!({"private_network_id": p.private_network_id})).collect::<Vec<_>>(),
        "zone": lb.zone,
        "project_id": lb.project_id,
        "ip_address": v4.map(|i| i.ip_address.clone()),
        "region": lb.zone.rsplit_once('-').map(|(r, _)| r).unwrap_or_default(),
        "organization_id": lb.organization_id,
    });
    conform(&mut a, config);
    a
}

#[async_trait]
impl Driver for LbDriver {
    fn schema(&self) -> &Schema {
        &self.schema
    }

    fn validate(&self, config: &Value) -> Vec<FieldError> {
        let mut e = self.p.credential_errors();
        check::locality(config, &mut e);
        check::one_of(config, "zone", LB_ZONES, "Load Balancer zone", &mut e);
        check::name(config, "name", &mut e);
        check::tags(config, &mut e);
        check::one_of(config, "type", LB_TYPES, "load balancer type", &mut e);
        check::one_of(
            config,
            "ssl_compatibility_level",
            SslCompatibilityLevel::KNOWN,
            "SSL compatibility level",
            &mut e,
        );
        e
    }

    async fn read(
        &self,
        _ctx: &DriverContext,
        rec: &ResourceState,
    ) -> Result<Option<Value>, DriverError> {
        let client = self.p.client()?;
        let zone = recorded_zone(&self.p, rec)?;
        match found(
            client
                .lb(&zone)
                .get_lb(rec.id.as_deref().unwrap_or_default())
                .await,
        )? {
            Some(lb) => Ok(Some(self.attributes(&client, &lb, &rec.config).await?)),
            None => Ok(None),
        }
    }

    async fn create(&self, ctx: &DriverContext, config: &Value) -> Result<Created, DriverError> {
        let client = self.p.client_with_backoff()?;
        let zone = self.p.zone_of(config)?;
        let ip_ids = strings(config, "ip_ids");
        let req = CreateLbRequest {
            project_id: self.p.project_of(config)?,
            name: string(config, "name").unwrap_or_default(),
            description: string(config, "description").unwrap_or_default(),
            lb_type: string(config, "type").unwrap_or_default(),
            tags: owned_tags(ctx, &strings(config, "tags")),
            ssl_compatibility_level: string(config, "ssl_compatibility_level")
                .map(|s| s.as_str().into()),
            assign_flexible_ip: if ip_ids.is_empty() {
                config.get("assign_flexible_ip").and_then(Value::as_bool)
            } else {
                Some(false)
            },
            ip_ids,
            assign_flexible_ipv6: None,
        };
        let (c, z, q) = (&client, &zone, &req);
        let lb = post_or_adopt(
            move || async move { c.lb(z).create_lb(q).await },
            move || async move { self.find(ctx, c, z).await },
        )
        .await?;
        ctx.checkpoint(json!({"id": lb.id})).await?;
        self.finish(ctx, &client, &zone, &lb.id, config).await
    }

    async fn recover(
        &self,
        ctx: &DriverContext,
        config: &Value,
        marker: &Value,
    ) -> Result<Option<Created>, DriverError> {
        let client = self.p.client_with_backoff()?;
        let zone = self.p.zone_of(config)?;
        let id = match marker_id(marker) {
            Some(id) => found(client.lb(&zone).get_lb(id).await)?.map(|l| l.id),
            None => self.find(ctx, &client, &zone).await?.map(|l| l.id),
        };
        match id {
            Some(id) => self
                .finish(ctx, &client, &zone, &id, config)
                .await
                .map(Some),
            None => Ok(None),
        }
    }

    async fn update(
        &self,
        ctx: &DriverContext,
        rec: &ResourceState,
        config: &Value,
        changed: &[String],
    ) -> Result<Value, DriverError> {
        let client = self.p.client_with_backoff()?;
        let zone = recorded_zone(&self.p, rec)?;
        let id = rec.id.clone().unwrap_or_default();
        let touched = |f: &str| {
            changed
                .iter()
                .any(|c| c == &format!("/{f}") || c.starts_with(&format!("/{f}/")))
        };
        let current = self.wait_ready(ctx, &client, &zone, &id).await?;
        if ["name", "description", "tags", "ssl_compatibility_level"]
            .iter()
            .any(|f| touched(f))
        {
            // A full PUT: every field is sent, declared or current.
            let req = UpdateLbRequest {
                name: string(config, "name").unwrap_or(current.name.clone()),
                description: string(config, "description").unwrap_or(current.description.clone()),
                tags: owned_tags(ctx, &strings(config, "tags")),
                ssl_compatibility_level: string(config, "ssl_compatibility_level")
                    .map(|s| s.as_str().into())
                    .unwrap_or(current.ssl_compatibility_level.clone()),
            };
            client.lb(&zone).update_lb(&id, &req).await.map_err(api)?;
            self.wait_ready(ctx, &client, &zone, &id).await?;
        }
        if touched("type")
            && let Some(t) = string(config, "type")
            && norm(&t) != norm(&current.lb_type)
        {
            client.lb(&zone).migrate_lb(&id, &t).await.map_err(api)?;
            self.wait_ready(ctx, &client, &zone, &id).await?;
        }
        if touched("private_network") {
            self.sync_networks(ctx, &client, &zone, &id, config).await?;
        }
        if touched("ip_ids") {
            self.sync_ips(ctx, &client, &zone, &current, config).await?;
        }
        let lb = client.lb(&zone).get_lb(&id).await.map_err(api)?;
        self.attributes(&client, &lb, config).await
    }

    async fn delete(&self, ctx: &DriverContext, rec: &ResourceState) -> Result<(), DriverError> {
        let client = self.p.client_with_backoff()?;
        let zone = recorded_zone(&self.p, rec)?;
        let id = rec.id.clone().unwrap_or_default();
        match self.wait_ready(ctx, &client, &zone, &id).await {
            Ok(_) => {}
            Err(DriverError::Failed { message })
                if message.contains("404") || message.contains("not Found") =>
            {
                return Ok(());
            }
            Err(e) => return Err(e),
        }
        let lbapi = client.lb(&zone);
        for a in lbapi.list_lb_private_networks(&id).await.map_err(api)? {
            match lbapi
                .detach_private_network(&id, &a.private_network_id)
                .await
            {
                Ok(()) => {}
                Err(e) if e.is_not_found() => {}
                Err(e) => return Err(api(e)),
            }
            self.wait_ready(ctx, &client, &zone, &id).await?;
        }
        match lbapi.delete_lb(&id, false).await {
            Ok(()) => {}
            Err(e) if e.is_not_found() => return Ok(()),
            Err(e) => return Err(api(e)),
        }
        let (c, z, i) = (&client, &zone, &id);
        wait_for(
            ctx,
            self.p.pacing(Pace::Lb),
            "load balancer deletion",
            move || async move {
                match c.lb(z).get_lb(i).await {
                    Ok(l) => Ok(Poll::Pending(l.status.to_string())),
                    Err(e) if e.is_not_found() => Ok(Poll::Done(())),
                    Err(e) => Err(api(e)),
                }
            },
        )
        .await
    }

    async fn import(
        &self,
        _ctx: &DriverContext,
        id: &str,
    ) -> Result<Option<Imported>, DriverError> {
        let client = self.p.client()?;
        let (loc, id) = split_locality(id);
        let zone = match loc {
            Some(l) => Zone::parse(l).map_err(|e| DriverError::failed(e.to_string()))?,
            None => client.zone().clone(),
        };
        match client.lb(&zone).get_lb(id).await {
            Ok(lb) => {
                let attributes = self.attributes(&client, &lb, &Value::Null).await?;
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
