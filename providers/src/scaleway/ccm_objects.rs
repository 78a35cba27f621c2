//! Load balancers made by Kapsule's cloud controller (CCM) outside any stack, which outlive a
//! cluster deleted without `with_additional_resources` and keep its private network in use.
//!
//! The CCM names every load balancer it creates `<cluster id>_<service uid>` (its name prefix
//! on Kapsule is the cluster id) and tags it `managed-by-scaleway-cloud-controller-manager`.
//! After kapstan deleted a cluster, the ones named after that cluster belong to nobody else:
//! they are removed (with the IPs the CCM booked for them). Any other load balancer that a
//! stack does not own and that is attached to a private network kapstan is deleting is not
//! kapstan's to remove: the deletion stops with an error that names each of them.

use kapstan_engine::{DriverContext, DriverError};

use super::client::api::ListFilter;
use super::client::wire::lb::Lb;
use super::client::{Client, Region, Zone};
use super::lb_ip::LB_ZONES;
use super::provider::{Pace, Poll, ScalewayProvider, api, is_owned, wait_for};

/// The tag the cloud controller puts on every load balancer it creates.
pub const CCM_TAG: &str = "managed-by-scaleway-cloud-controller-manager";

fn zones_of(region: &Region) -> Vec<Zone> {
    LB_ZONES
        .iter()
        .filter(|z| {
            z.rsplit_once('-')
                .is_some_and(|(r, _)| r == region.as_str())
        })
        .filter_map(|z| Zone::parse(z).ok())
        .collect()
}

fn describe(zone: &Zone, lb: &Lb) -> String {
    format!("{}/{} ({:?})", zone.as_str(), lb.id, lb.name)
}

/// Deletes the load balancers the cloud controller created for `cluster_id` (named
/// `<cluster_id>_…`) and waits until they are gone; returns what it removed (`zone/id (name)`).
/// Call it once the cluster is gone, so no controller recreates them.
pub async fn remove_cluster_load_balancers(
    p: &ScalewayProvider,
    ctx: &DriverContext,
    client: &Client,
    region: &Region,
    cluster_id: &str,
) -> Result<Vec<String>, DriverError> {
    let prefix = format!("{cluster_id}_");
    let mut removed = vec![];
    for zone in zones_of(region) {
        let lbapi = client.lb(&zone);
        let found = lbapi
            .list_lbs(&ListFilter::name(prefix.clone()))
            .await
            .map_err(api)?;
        for lb in found.into_iter().filter(|l| l.name.starts_with(&prefix)) {
            // IPs the CCM booked carry no tags; a user's reserved IP (tagged) is kept.
            let release_ip = lb.ip.iter().all(|i| i.tags.is_empty());
            ctx.progress(format!(
                "removing load balancer {} left by the cluster's cloud controller",
                describe(&zone, &lb)
            ));
            // Not in any state: say so where the user sees it (the default log level).
            tracing::warn!(
                "removing load balancer {}, which the cloud controller of deleted cluster {cluster_id} left behind",
                describe(&zone, &lb)
            );
            let (z, l, id) = (&zone, &lbapi, lb.id.as_str());
            wait_for(
                ctx,
                p.pacing(Pace::Lb),
                "cloud controller load balancer deletion",
                move || async move {
                    match l.get_lb(id).await {
                        Err(e) if e.is_not_found() => return Ok(Poll::Done(())),
                        Err(e) => return Err(api(e)),
                        Ok(now) if now.status.is_transient() => {
                            return Ok(Poll::Pending(format!("{} {}", z.as_str(), now.status)));
                        }
                        Ok(_) => {}
                    }
                    match l.delete_lb(id, release_ip).await {
                        Ok(()) => Ok(Poll::Pending("to_delete".into())),
                        Err(e) if e.is_not_found() => Ok(Poll::Done(())),
                        Err(e) if e.status() == Some(409) => Ok(Poll::Pending("busy".into())),
                        Err(e) => Err(api(e)),
                    }
                },
            )
            .await?;
            removed.push(describe(&zone, &lb));
        }
    }
    Ok(removed)
}

/// Load balancers no stack of this state owns that are attached to private network `pn`.
pub async fn foreign_load_balancers_on(
    ctx: &DriverContext,
    client: &Client,
    region: &Region,
    pn: &str,
) -> Result<Vec<String>, DriverError> {
    let mut out = vec![];
    for zone in zones_of(region) {
        let lbapi = client.lb(&zone);
        for lb in lbapi.list_lbs(&ListFilter::default()).await.map_err(api)? {
            if is_owned(ctx, &lb.tags) {
                continue;
            }
            let attached = match lbapi.list_lb_private_networks(&lb.id).await {
                Ok(a) => a,
                Err(e) if e.is_not_found() => continue,
                Err(e) => return Err(api(e)),
            };
            if attached.iter().any(|a| a.private_network_id == pn) {
                let by = if lb.tags.iter().any(|t| t == CCM_TAG) {
                    ", created by a Kubernetes cloud controller"
                } else {
                    ""
                };
                out.push(format!("{}{by}", describe(&zone, &lb)));
            }
        }
    }
    Ok(out)
}

/// The error for a private network that foreign load balancers keep in use.
pub fn blocked_by(pn: &str, lbs: &[String]) -> DriverError {
    DriverError::failed(format!(
        "private network {pn} cannot be deleted: load balancer(s) not managed by kapstan are attached to it: {}. \
         kapstan only removes the ones named after a cluster it deleted. Delete them (or detach the network) \
         yourself, e.g. `scw lb lb delete <id> zone=<zone>`, then run the command again",
        lbs.join(", ")
    ))
}
