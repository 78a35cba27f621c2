//! `scaleway_vpc_private_network`: a private network (regional, synchronous, tagged); its
//! deletion waits out 412 `resource_still_in_use` while detaches propagate.

use kapstan_engine::state::ResourceState;
use kapstan_engine::{DriverError, FieldError, Input};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::client::Region;
use super::client::wire::vpc::{
    CreatePrivateNetworkRequest, PrivateNetwork as WirePn, Subnet, UpdatePrivateNetworkRequest,
};
use super::kind::{Deletion, Op, attribute_as_is, bare_id, config_block, kind, kind_impl};
use super::provider::{Pace, check, flag, string};

config_block! {
    /// The IPv4 subnet of a private network.
    #[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
    pub struct Ipv4Subnet {
        /// CIDR, e.g. `172.16.64.0/22`; default: allocated by the API.
        pub subnet: Option<String>,
    }
}

kind! {
    /// A private network.
    pub struct PrivateNetwork = "scaleway_vpc_private_network"
        (PrivateNetworkKind, PrivateNetworkAttributes, PrivateNetworkDriver);
    wire WirePn as v, id v.id;
    /// name (updated in place)
    name: Input<String>, required => v.name;
    tags => v.tags;
    /// VPC; default: the project's default VPC of the region
    vpc_id: Option<Input<String>>, optional_computed force_new => v.vpc_id;
    /// `{subnet}`: IPv4 CIDR; default: a /22 allocated by the API
    ipv4_subnet: Option<Ipv4Subnet>, optional_computed force_new
        => v.subnets.iter().find(|s| !s.subnet.contains(':')).map(subnet);
    /// propagate the default route to the VPC (updated in place)
    enable_default_route_propagation: Option<bool>, optional
        => v.default_route_propagation_enabled;
    region => v.region;
    project_id => v.project_id;
    /// IPv6 subnets (`[{subnet}]`)
    ipv6_subnets: Value, computed
        => v.subnets.iter().filter(|s| s.subnet.contains(':')).map(subnet).collect::<Vec<_>>();
    organization_id => v.organization_id;
    /// creation time
    created_at: String, computed => v.created_at;
}

attribute_as_is!(Ipv4Subnet);

impl PrivateNetworkAttributes {
    /// The IPv4 subnet CIDR.
    pub fn ipv4_cidr(&self) -> kapstan_engine::Output<String> {
        self.0.output("ipv4_subnet.subnet")
    }
}

fn subnet(s: &Subnet) -> Value {
    json!({"subnet": s.subnet, "id": s.id})
}

kind_impl! {
    impl Kind for PrivateNetworkKind, calls vpc {
        get: get_private_network;
        list_tagged: list_private_networks;
        post: create_private_network;
        remove: delete_private_network;
    }
    update(op, config) => update_private_network(UpdatePrivateNetworkRequest {
        name: string(config, "name"),
        tags: Some(op.tags()),
        default_route_propagation_enabled: flag(config, "enable_default_route_propagation"),
    });

    // 412 `resource_still_in_use` while detaches propagate.
    const DELETION: Deletion = Deletion::RetryWhileInUse(Pace::Fast);
    type Place = Region;
    type Request = CreatePrivateNetworkRequest;

    fn validate(config: &Value, e: &mut Vec<FieldError>) {
        check::name(config, "name", e);
        let subnet: check::TextRule = (
            "ipv4_subnet.subnet",
            |s| {
                s.split_once('/').is_some_and(|(ip, len)| {
                    ip.parse::<std::net::Ipv4Addr>().is_ok()
                        && len.parse::<u8>().is_ok_and(|l| (8..=29).contains(&l))
                })
            },
            "is not an IPv4 CIDR from /8 to /29",
            "use e.g. 172.16.64.0/22",
        );
        check::texts(config, &[subnet], e);
    }

    async fn request(op: &Op<'_, Self>) -> Result<CreatePrivateNetworkRequest, DriverError> {
        let config = op.config;
        Ok(CreatePrivateNetworkRequest {
            subnets: config
                .pointer("/ipv4_subnet/subnet")
                .and_then(Value::as_str)
                .map(|s| vec![s.to_string()]),
            vpc_id: string(config, "vpc_id"),
            default_route_propagation_enabled: flag(config, "enable_default_route_propagation"),
            ..op.owned()?
        })
    }

    async fn before_delete(op: &Op<'_, Self>, rec: &ResourceState) -> Result<(), DriverError> {
        let id = bare_id(rec);
        let Op { ctx, c, at, .. } = *op;
        let foreign = super::ccm_objects::foreign_load_balancers_on(ctx, c, at, id).await?;
        if foreign.is_empty() {
            Ok(())
        } else {
            Err(super::ccm_objects::blocked_by(id, &foreign))
        }
    }
}
