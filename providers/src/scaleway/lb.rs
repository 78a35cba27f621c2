//! `scaleway_lb`: a load balancer (zonal). Updates are a full PUT of name, description, tags
//! and SSL level; type changes migrate; private networks attach and detach in place; declared
//! flexible IPs attach in place.

use kapstan_engine::state::ResourceState;
use kapstan_engine::{DriverError, FieldError, Input, Update};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::client::wire::lb::{
    AttachPrivateNetworkRequest, CreateLbRequest, Lb as WireLb,
    LbPrivateNetwork as WireLbPrivateNetwork, SslCompatibilityLevel, UpdateIpRequest,
    UpdateLbRequest,
};
use super::client::{Client, Error as ApiErr, Zone};
use super::kind::{Deletion, Op, Readiness, attribute_as_is, bare_id, fetch, kind, kind_impl};
use super::lb_ip::LB_ZONES;
use super::provider::{
    Pace, Poll, api, check, flag, norm, post_or_adopt, split_locality, string, strings, wait_for,
};

/// A private network attached to the load balancer.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct LbPrivateNetwork {
    /// The private network.
    pub private_network_id: Input<String>,
}

kind! {
    /// A load balancer.
    pub struct Lb = "scaleway_lb" (LbKind, LbAttributes, LbDriver);
    wire LiveLb as l, id l.lb.id;
    /// name (updated in place, full PUT)
    name: Input<String>, required => l.lb.name;
    /// commercial type, e.g. LB-S (migrated in place)
    lb_type as "type": String, required => l.lb.lb_type;
    /// description (updated in place, full PUT)
    description: Option<String>, optional => l.lb.description;
    tags => l.lb.tags;
    /// flexible IPs (scaleway_lb_ip ids), updated in place: a declared IP that is not attached
    /// is attached (`PATCH /ips/{id} {lb_id}`). The API cannot detach an IP from a load
    /// balancer, so an undeclared IP attached out of band fails the update with its id.
    ip_ids: Option<Vec<Input<String>>>, optional_computed
        => l.lb.ip.iter().map(|i| i.id.clone()).collect::<Vec<_>>();
    /// allocate a flexible IPv4 when no IP is given
    assign_flexible_ip: Option<bool>, optional force_new;
    /// ssl_compatibility_level_intermediate (default), _modern or _old (updated in place)
    ssl_compatibility_level: Option<String>, optional_computed
        => l.lb.ssl_compatibility_level.as_str();
    /// `[{private_network_id}]`: attached private networks (in place)
    private_network: Option<Vec<LbPrivateNetwork>>, optional
        => l.pns.iter().map(|p| json!({"private_network_id": p.private_network_id})).collect::<Vec<_>>();
    zone => l.lb.zone;
    project_id => l.lb.project_id;
    /// first IPv4 address
    ip_address: String, computed
        => l.lb.ip.iter().find(|i| !i.ip_address.contains(':')).map(|i| i.ip_address.clone());
    /// region of the zone
    region: String, computed => l.lb.zone.rsplit_once('-').map(|(r, _)| r).unwrap_or_default();
    organization_id => l.lb.organization_id;
}

attribute_as_is!(LbPrivateNetwork);

/// Load balancer types.
pub const LB_TYPES: &[&str] = &["LB-S", "LB-GP-M", "LB-GP-L", "LB-GP-XL"];

/// A load balancer with its private network attachments.
#[derive(Debug)]
pub struct LiveLb {
    lb: WireLb,
    pns: Vec<WireLbPrivateNetwork>,
}

impl LiveLb {
    /// The load balancer as the API lists it, its attachments not read yet.
    fn unread(lb: WireLb) -> Self {
        Self { lb, pns: vec![] }
    }
}

/// The load balancer as it is now; gone is an error (it was just there).
async fn fetched(c: &Client, zone: &Zone, id: &str) -> Result<LiveLb, DriverError> {
    fetch::<LbKind>(c, zone, id)
        .await?
        .ok_or_else(|| DriverError::failed(format!("load balancer {id} is gone")))
}

async fn wait_lb(op: &Op<'_, LbKind>, id: &str) -> Result<WireLb, DriverError> {
    Ok(op.wait_ready(Pace::Lb, id).await?.lb)
}

kind_impl! {
    impl Kind for LbKind, calls lb {
        list_tagged: list_lbs => LiveLb::unread;
        post: create_lb => LiveLb::unread;
        remove: delete_lb(false);
    }
    status(l) => l.lb.status;

    const WHAT: &'static str = "load balancer";
    const DELETION: Deletion = Deletion::WaitGone(Pace::Lb);
    type Place = Zone;
    type Request = CreateLbRequest;

    fn readiness(l: &LiveLb) -> Readiness {
        let transient = l.lb.status.is_transient();
        if !transient
            && let Some(i) = l.lb.instances.iter().find(|i| {
                matches!(i.status.as_str(), "pending" | "migrating")
            })
        {
            return Readiness::Pending(format!("instance {}", i.status));
        }
        Readiness::of(l.lb.status.as_str(), transient, &["error", "locked"])
    }

    fn validate(config: &Value, e: &mut Vec<FieldError>) {
        check::one_of(config, "zone", LB_ZONES, "Load Balancer zone", e);
        check::name(config, "name", e);
        let choices: [check::ChoiceRule; 2] = [
            ("type", LB_TYPES, "load balancer type"),
            (
                "ssl_compatibility_level",
                SslCompatibilityLevel::KNOWN,
                "SSL compatibility level",
            ),
        ];
        check::choices(config, &choices, e);
    }

    async fn get(c: &Client, at: &Zone, id: &str) -> Result<Option<LiveLb>, ApiErr> {
        let lb = c.lb(at).get_lb(id).await?;
        let pns = c.lb(at).list_lb_private_networks(&lb.id).await?;
        Ok(Some(LiveLb { lb, pns }))
    }

    async fn request(op: &Op<'_, Self>) -> Result<CreateLbRequest, DriverError> {
        let config = op.config;
        let ip_ids = strings(config, "ip_ids");
        Ok(CreateLbRequest {
            description: string(config, "description").unwrap_or_default(),
            lb_type: string(config, "type").unwrap_or_default(),
            ssl_compatibility_level: string(config, "ssl_compatibility_level")
                .map(|s| s.as_str().into()),
            assign_flexible_ip: if ip_ids.is_empty() {
                flag(config, "assign_flexible_ip")
            } else {
                Some(false)
            },
            ip_ids,
            assign_flexible_ipv6: None,
            ..op.owned()?
        })
    }

    async fn settle(op: &Op<'_, Self>, l: LiveLb) -> Result<LiveLb, DriverError> {
        let Op { c, at, config, .. } = *op;
        wait_lb(op, &l.lb.id).await?;
        sync_networks(op, &l.lb.id, config).await?;
        fetched(c, at, &l.lb.id).await
    }

    async fn update(op: &Op<'_, Self>, update: &Update<'_>) -> Result<LiveLb, DriverError> {
        let id = bare_id(update.recorded);
        let Op { c, at, config, .. } = *op;
        let touched = |f: &str| update.touches(f);
        let current = wait_lb(op, id).await?;
        if ["name", "description", "tags", "ssl_compatibility_level"]
            .iter()
            .any(|f| touched(f))
        {
            // A full PUT: every field is sent, declared or current.
            let req = UpdateLbRequest {
                name: string(config, "name").unwrap_or(current.name.clone()),
                description: string(config, "description").unwrap_or(current.description.clone()),
                tags: op.tags(),
                ssl_compatibility_level: string(config, "ssl_compatibility_level")
                    .map(|s| s.as_str().into())
                    .unwrap_or(current.ssl_compatibility_level.clone()),
            };
            c.lb(at).update_lb(id, &req).await.map_err(api)?;
            wait_lb(op, id).await?;
        }
        if touched("type")
            && let Some(t) = string(config, "type")
            && norm(&t) != norm(&current.lb_type)
        {
            c.lb(at).migrate_lb(id, &t).await.map_err(api)?;
            wait_lb(op, id).await?;
        }
        if touched("private_network") {
            sync_networks(op, id, config).await?;
        }
        if touched("ip_ids") {
            sync_ips(op, &current, config).await?;
        }
        fetched(c, at, id).await
    }

    /// Private networks are detached first, each waited out.
    async fn before_delete(op: &Op<'_, Self>, rec: &ResourceState) -> Result<(), DriverError> {
        let id = bare_id(rec);
        if fetch::<Self>(op.c, op.at, id).await?.is_none() {
            return Ok(());
        }
        let current = op.wait_ready(Pace::Lb, id).await?;
        for a in &current.pns {
            detach(op, id, &a.private_network_id).await?;
        }
        Ok(())
    }
}

/// Detaches a private network (already detached is done) and waits for the load balancer.
async fn detach(op: &Op<'_, LbKind>, id: &str, pn: &str) -> Result<(), DriverError> {
    match op.c.lb(op.at).detach_private_network(id, pn).await {
        Ok(()) => {}
        Err(e) if e.is_not_found() => {}
        Err(e) => return Err(api(e)),
    }
    wait_lb(op, id).await.map(|_| ())
}

/// Attaches the declared private networks not attached yet and detaches the others.
async fn sync_networks(op: &Op<'_, LbKind>, id: &str, config: &Value) -> Result<(), DriverError> {
    let Op { d, ctx, c, at, .. } = *op;
    let Some(wanted) = config.get("private_network").and_then(Value::as_array) else {
        return Ok(());
    };
    let wanted: Vec<String> = wanted
        .iter()
        .filter_map(|p| string(p, "private_network_id"))
        .collect();
    let lbapi = c.lb(at);
    let attached = lbapi.list_lb_private_networks(id).await.map_err(api)?;
    for a in &attached {
        if !wanted.contains(&a.private_network_id) {
            detach(op, id, &a.private_network_id).await?;
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
    let wanted = &wanted;
    wait_for(
        ctx,
        d.p.pacing(Pace::Fast),
        "private network attachments",
        move || async move {
            let now = c.lb(at).list_lb_private_networks(id).await.map_err(api)?;
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
    wait_lb(op, id).await.map(|_| ())
}

/// Attaches the declared flexible IPs the load balancer lacks. The lb/v1 API has no call
/// that detaches a flexible IP from a load balancer (Scaleway: "you cannot detach its
/// flexible IP after creation"), so undeclared attached IPs are an error naming them,
/// raised before any call.
async fn sync_ips(
    op: &Op<'_, LbKind>,
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
    let lbapi = op.c.lb(op.at);
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
    wait_lb(op, &current.id).await.map(|_| ())
}
