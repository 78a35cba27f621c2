//! The Scaleway API client and one driver per Scaleway resource kind.

pub mod ccm_objects;
pub mod client;
pub mod cluster_volumes;
pub mod cockpit;
pub mod cockpit_alert_manager;
pub mod cockpit_query;
pub mod cockpit_source;
pub mod cockpit_token;
pub mod dns_name;
pub mod domain_record;
pub mod domain_zone;
pub mod k8s_cluster;
pub mod k8s_pool;
pub mod k8s_version;
pub mod kind;
pub mod lb;
pub mod lb_ip;
pub mod object_bucket;
pub mod provider;
pub mod rdb_acl;
pub mod rdb_database;
pub mod rdb_instance;
pub mod rdb_item;
pub mod rdb_privilege;
pub mod rdb_user;
pub mod reference;
pub mod secret_version;
pub mod vpc;
pub mod vpc_gateway_network;
pub mod vpc_private_network;
pub mod vpc_public_gateway;
pub mod vpc_public_gateway_ip;

pub use client::{
    Api, ApiError, Client, ClientOptions, ConfigOverrides, Error, ErrorKind, Region,
    ScalewayConfig, Zone,
};
pub use provider::ScalewayProvider;

use std::sync::Arc;

use kapstan_engine::Registry;

/// Registers every Scaleway kind with a provider reading the process environment.
pub fn register(registry: &mut Registry) {
    register_with(registry, Arc::new(ScalewayProvider::default()));
}

/// Registers every Scaleway kind sharing `provider` (CLI flags, tests, embedders).
pub fn register_with(registry: &mut Registry, provider: Arc<ScalewayProvider>) {
    // Every driver is made the same way, from the shared provider.
    macro_rules! register {
        ($($driver:ty),* $(,)?) => {
            $(registry.register(Arc::new(<$driver>::new(provider.clone())));)*
        };
    }
    register!(
        vpc::VpcDriver,
        vpc_private_network::PrivateNetworkDriver,
        k8s_cluster::ClusterDriver,
        k8s_pool::PoolDriver,
        rdb_instance::RdbInstanceDriver,
        rdb_database::RdbDatabaseDriver,
        rdb_user::RdbUserDriver,
        rdb_privilege::RdbPrivilegeDriver,
        rdb_acl::RdbAclDriver,
        lb_ip::LbIpDriver,
        lb::LbDriver,
        vpc_public_gateway_ip::PublicGatewayIpDriver,
        vpc_public_gateway::PublicGatewayDriver,
        vpc_gateway_network::GatewayNetworkDriver,
        domain_zone::DomainZoneDriver,
        domain_record::DomainRecordDriver,
        cockpit_source::CockpitSourceDriver,
        cockpit_token::CockpitTokenDriver,
        cockpit_alert_manager::CockpitAlertManagerDriver,
        secret_version::SecretVersionDriver,
        object_bucket::ObjectBucketDriver,
    );
}
