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
    registry.register(Arc::new(vpc::VpcDriver::new(provider.clone())));
    registry.register(Arc::new(vpc_private_network::PrivateNetworkDriver::new(
        provider.clone(),
    )));
    registry.register(Arc::new(k8s_cluster::ClusterDriver::new(provider.clone())));
    registry.register(Arc::new(k8s_pool::PoolDriver::new(provider.clone())));
    registry.register(Arc::new(rdb_instance::RdbInstanceDriver::new(
        provider.clone(),
    )));
    registry.register(Arc::new(rdb_database::RdbDatabaseDriver::new(
        provider.clone(),
    )));
    registry.register(Arc::new(rdb_user::RdbUserDriver::new(provider.clone())));
    registry.register(Arc::new(rdb_privilege::RdbPrivilegeDriver::new(
        provider.clone(),
    )));
    registry.register(Arc::new(rdb_acl::RdbAclDriver::new(provider.clone())));
    registry.register(Arc::new(lb_ip::LbIpDriver::new(provider.clone())));
    registry.register(Arc::new(lb::LbDriver::new(provider.clone())));
    registry.register(Arc::new(vpc_public_gateway_ip::PublicGatewayIpDriver::new(
        provider.clone(),
    )));
    registry.register(Arc::new(vpc_public_gateway::PublicGatewayDriver::new(
        provider.clone(),
    )));
    registry.register(Arc::new(vpc_gateway_network::GatewayNetworkDriver::new(
        provider.clone(),
    )));
    registry.register(Arc::new(domain_zone::DomainZoneDriver::new(
        provider.clone(),
    )));
    registry.register(Arc::new(domain_record::DomainRecordDriver::new(
        provider.clone(),
    )));
    registry.register(Arc::new(cockpit_source::CockpitSourceDriver::new(
        provider.clone(),
    )));
    registry.register(Arc::new(cockpit_token::CockpitTokenDriver::new(
        provider.clone(),
    )));
    registry.register(Arc::new(
        cockpit_alert_manager::CockpitAlertManagerDriver::new(provider.clone()),
    ));
    registry.register(Arc::new(secret_version::SecretVersionDriver::new(
        provider.clone(),
    )));
    registry.register(Arc::new(object_bucket::ObjectBucketDriver::new(provider)));
}
