//! `scaleway_vpc_gateway_network`: attaches a public gateway to a private network for NAT
//! egress (IPAM default route pushed to the network, masquerade). Gateway networks carry no
//! tags: after a lost answer the attachment is found by its natural key (gateway, network).

use std::sync::Arc;

use kapstan_engine::state::ResourceState;
use kapstan_engine::{
    Created, Driver, DriverContext, DriverError, Field, FieldError, Imported, Input, Resource,
    Schema, async_trait,
};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::client::api::IpamIpFilter;
use super::client::wire::ipam::ResourceType;
use super::client::wire::vpcgw::{
    CreateGatewayNetworkRequest, GatewayNetwork as WireGn, UpdateGatewayNetworkRequest,
};
use super::client::{Client, Zone, hook_fn};
use super::lb_ip::recorded_zone;
use super::provider::{
    Pace, Poll, ScalewayProvider, adopt_one, api, attributes, check, conform, found, marker_id,
    post_or_adopt, split_locality, string, wait_for,
};
use super::vpc_public_gateway::wait_gateway;
use super::vpc_public_gateway_ip::GATEWAY_ZONES;

/// IPAM settings of the attachment.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct IpamConfig {
    /// Hand out the gateway as default route (NAT egress for nodes without public IPs).
    pub push_default_route: bool,
    /// The gateway's own IPAM address in the network; default: allocated by IPAM.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ipam_ip_id: Option<String>,
}

/// A gateway attached to a private network.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct GatewayNetwork {
    /// The gateway. Changing it replaces the attachment.
    pub gateway_id: Input<String>,
    /// The private network. Changing it replaces the attachment.
    pub private_network_id: Input<String>,
    /// Dynamic NAT for the network (updated in place; default true).
    #[serde(default = "yes")]
    pub enable_masquerade: bool,
    /// IPAM settings (updated in place).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ipam_config: Option<IpamConfig>,
    /// Zone of the gateway. Changing it replaces the attachment.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub zone: Option<String>,
}

fn yes() -> bool {
    true
}

attributes! {
    /// Attributes of a `scaleway_vpc_gateway_network`.
    GatewayNetworkAttributes {
        /// The gateway's address in the private network.
        private_ip: String = "private_ip",
        /// MAC address of the gateway in the network.
        mac_address: String = "mac_address",
    }
}

impl Resource for GatewayNetwork {
    const KIND: &'static str = "scaleway_vpc_gateway_network";
    type Attributes = GatewayNetworkAttributes;
}

/// The `scaleway_vpc_gateway_network` driver.
#[derive(Debug)]
pub struct GatewayNetworkDriver {
    p: Arc<ScalewayProvider>,
    schema: Schema,
}

impl GatewayNetworkDriver {
    /// The driver.
    pub fn new(p: Arc<ScalewayProvider>) -> Self {
        Self {
            p,
            schema: Schema::new(
                "scaleway_vpc_gateway_network",
                vec![
                    Field::required("gateway_id")
                        .force_new()
                        .describe("the public gateway"),
                    Field::required("private_network_id")
                        .force_new()
                        .describe("the private network"),
                    Field::optional("enable_masquerade")
                        .describe("dynamic NAT for the network (updated in place; default true)"),
                    Field::optional("ipam_config")
                        .describe("`{push_default_route, ipam_ip_id?}` (updated in place)"),
                    Field::optional_computed("zone")
                        .force_new()
                        .describe("zone of the gateway"),
                    Field::computed("mac_address")
                        .describe("MAC address of the gateway in the network"),
                    Field::computed("private_ip")
                        .describe("the gateway's address in the network (IPAM)"),
                ],
            ),
        }
    }

    /// A client whose 409s wait for the gateway to be running again.
    fn client_for(&self, zone: &Zone, gateway_id: &str) -> Result<Client, DriverError> {
        let client = self.p.client()?;
        let (c, z, g) = (
            client.without_transient_hook(),
            zone.clone(),
            gateway_id.to_string(),
        );
        let pacing = self.p.pacing(Pace::Fast);
        let scale = self.p.poll_scale();
        Ok(client.with_transient_hook(hook_fn(move |_| {
            let (c, z, g) = (c.clone(), z.clone(), g.clone());
            async move {
                tokio::time::sleep(std::time::Duration::from_secs_f64(0.5 * scale)).await;
                let ctx = DriverContext::detached("", "");
                wait_gateway(&ctx, pacing, &c, &z, &g)
                    .await
                    .map(|_| ())
                    .map_err(|e| super::client::Error::Wait {
                        resource: format!("gateway {g}"),
                        message: e.to_string(),
                    })
            }
        })))
    }

    async fn find(
        &self,
        ctx: &DriverContext,
        client: &Client,
        zone: &Zone,
        gw: &str,
        pn: &str,
    ) -> Result<Option<WireGn>, DriverError> {
        let found = client
            .vpcgw(zone)
            .list_gateway_networks(&[gw.to_string()], &[pn.to_string()])
            .await
            .map_err(api)?
            .into_iter()
            .filter(|n| n.gateway_id == gw && n.private_network_id == pn)
            .map(|n| (n.id.clone(), n))
            .collect();
        Ok(adopt_one(ctx, "scaleway_vpc_gateway_network", found)?.map(|(_, n)| n))
    }

    async fn attributes(
        &self,
        client: &Client,
        zone: &Zone,
        n: &WireGn,
        config: &Value,
    ) -> Result<Value, DriverError> {
        let ips = client
            .ipam(&zone.region())
            .list_ips(&IpamIpFilter {
                resource_id: Some(n.id.clone()),
                resource_type: Some(ResourceType::VpcGatewayNetwork),
                ..Default::default()
            })
            .await
            .map_err(api)?;
        let private_ip = ips
            .first()
            .map(|i| i.address.split('/').next().unwrap_or_default().to_string());
        let mut ipam = json!({"push_default_route": n.push_default_route});
        if n.ipam_ip_id.is_some() {
            ipam["ipam_ip_id"] = json!(n.ipam_ip_id);
        }
        let mut a = json!({
            "gateway_id": n.gateway_id,
            "private_network_id": n.private_network_id,
            "enable_masquerade": n.masquerade_enabled,
            "ipam_config": ipam,
            "zone": n.zone,
            "mac_address": n.mac_address,
            "private_ip": private_ip,
        });
        conform(&mut a, config);
        Ok(a)
    }

    async fn finish(
        &self,
        ctx: &DriverContext,
        client: &Client,
        zone: &Zone,
        id: &str,
        config: &Value,
    ) -> Result<Created, DriverError> {
        let (c, z) = (client, zone);
        let n = wait_for(
            ctx,
            self.p.pacing(Pace::Fast),
            "gateway network",
            move || async move {
                let n = c.vpcgw(z).get_gateway_network(id).await.map_err(api)?;
                if n.status.is_transient() {
                    Ok(Poll::Pending(n.status.to_string()))
                } else {
                    Ok(Poll::Done(n))
                }
            },
        )
        .await?;
        wait_gateway(ctx, self.p.pacing(Pace::Fast), client, zone, &n.gateway_id).await?;
        Ok(Created {
            id: id.to_string(),
            attributes: self.attributes(client, zone, &n, config).await?,
        })
    }
}

#[async_trait]
impl Driver for GatewayNetworkDriver {
    fn schema(&self) -> &Schema {
        &self.schema
    }

    fn validate(&self, config: &Value) -> Vec<FieldError> {
        let mut e = self.p.credential_errors();
        check::locality(config, &mut e);
        check::one_of(config, "zone", GATEWAY_ZONES, "Public Gateway zone", &mut e);
        if config
            .pointer("/ipam_config/push_default_route")
            .and_then(Value::as_bool)
            == Some(true)
            && config.get("enable_masquerade").and_then(Value::as_bool) == Some(false)
        {
            e.push(FieldError::new("enable_masquerade", "false", "conflicts with ipam_config.push_default_route = true (the default route needs NAT)", "set enable_masquerade to true"));
        }
        e
    }

    async fn read(
        &self,
        _ctx: &DriverContext,
        rec: &ResourceState,
    ) -> Result<Option<Value>, DriverError> {
        let client = self.p.client()?;
        let zone = recorded_zone(&self.p, rec)?;
        match client
            .vpcgw(&zone)
            .get_gateway_network(rec.id.as_deref().unwrap_or_default())
            .await
        {
            Ok(n) => Ok(Some(
                self.attributes(&client, &zone, &n, &rec.config).await?,
            )),
            Err(e) if e.is_not_found() => Ok(None),
            Err(e) => Err(api(e)),
        }
    }

    async fn create(&self, ctx: &DriverContext, config: &Value) -> Result<Created, DriverError> {
        let zone = self.p.zone_of(config)?;
        let gw = string(config, "gateway_id").unwrap_or_default();
        let pn = string(config, "private_network_id").unwrap_or_default();
        let client = self.client_for(&zone, &gw)?;
        wait_gateway(ctx, self.p.pacing(Pace::Fast), &client, &zone, &gw).await?;
        let req = CreateGatewayNetworkRequest {
            gateway_id: gw.clone(),
            private_network_id: pn.clone(),
            enable_masquerade: config
                .get("enable_masquerade")
                .and_then(Value::as_bool)
                .unwrap_or(true),
            push_default_route: config
                .pointer("/ipam_config/push_default_route")
                .and_then(Value::as_bool)
                .unwrap_or(false),
            ipam_ip_id: config
                .pointer("/ipam_config/ipam_ip_id")
                .and_then(Value::as_str)
                .map(String::from),
        };
        let (c, z, q, g, p) = (&client, &zone, &req, &gw, &pn);
        let n = post_or_adopt(
            move || async move { c.vpcgw(z).create_gateway_network(q).await },
            move || async move { self.find(ctx, c, z, g, p).await },
        )
        .await?;
        ctx.checkpoint(json!({"id": n.id})).await?;
        self.finish(ctx, &client, &zone, &n.id, config).await
    }

    async fn recover(
        &self,
        ctx: &DriverContext,
        config: &Value,
        marker: &Value,
    ) -> Result<Option<Created>, DriverError> {
        let zone = self.p.zone_of(config)?;
        let gw = string(config, "gateway_id").unwrap_or_default();
        let pn = string(config, "private_network_id").unwrap_or_default();
        let client = self.client_for(&zone, &gw)?;
        let id = match marker_id(marker) {
            Some(id) => found(client.vpcgw(&zone).get_gateway_network(id).await)?.map(|n| n.id),
            None => self
                .find(ctx, &client, &zone, &gw, &pn)
                .await?
                .map(|n| n.id),
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
        _changed: &[String],
    ) -> Result<Value, DriverError> {
        let zone = recorded_zone(&self.p, rec)?;
        let gw = string(&rec.config, "gateway_id").unwrap_or_default();
        let client = self.client_for(&zone, &gw)?;
        let id = rec.id.clone().unwrap_or_default();
        let req = UpdateGatewayNetworkRequest {
            enable_masquerade: config.get("enable_masquerade").and_then(Value::as_bool),
            push_default_route: config
                .pointer("/ipam_config/push_default_route")
                .and_then(Value::as_bool),
            ipam_ip_id: config
                .pointer("/ipam_config/ipam_ip_id")
                .and_then(Value::as_str)
                .map(String::from),
        };
        client
            .vpcgw(&zone)
            .update_gateway_network(&id, &req)
            .await
            .map_err(api)?;
        Ok(self
            .finish(ctx, &client, &zone, &id, config)
            .await?
            .attributes)
    }

    async fn delete(&self, ctx: &DriverContext, rec: &ResourceState) -> Result<(), DriverError> {
        let zone = recorded_zone(&self.p, rec)?;
        let gw = string(&rec.config, "gateway_id").unwrap_or_default();
        let client = self.client_for(&zone, &gw)?;
        let id = rec.id.clone().unwrap_or_default();
        match client.vpcgw(&zone).delete_gateway_network(&id).await {
            Ok(_) => {}
            Err(e) if e.is_not_found() => return Ok(()),
            Err(e) => return Err(api(e)),
        }
        let (c, z, i) = (&client, &zone, &id);
        wait_for(
            ctx,
            self.p.pacing(Pace::Fast),
            "gateway network deletion",
            move || async move {
                match c.vpcgw(z).get_gateway_network(i).await {
                    Ok(n) => Ok(Poll::Pending(n.status.to_string())),
                    Err(e) if e.is_not_found() => Ok(Poll::Done(())),
                    Err(e) => Err(api(e)),
                }
            },
        )
        .await?;
        match wait_gateway(ctx, self.p.pacing(Pace::Fast), &client, &zone, &gw).await {
            Ok(_) => Ok(()),
            Err(DriverError::Failed { message })
                if message.contains("404") || message.contains("not found") =>
            {
                Ok(())
            }
            Err(e) => Err(e),
        }
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
        match client.vpcgw(&zone).get_gateway_network(id).await {
            Ok(n) => {
                let attributes = self.attributes(&client, &zone, &n, &Value::Null).await?;
                let config = super::provider::config_from(&self.schema, &attributes);
                Ok(Some(Imported { config, attributes }))
            }
            Err(e) if e.is_not_found() => Ok(None),
            Err(e) => Err(api(e)),
        }
    }
}
