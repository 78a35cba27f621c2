//! The stack the Scaleway driver tests apply (every Scaleway kind), and a provider pointed at
//! a sandbox and an S3 endpoint. Shared by `examples/apply_stack.rs` and
//! `tests/scaleway_drivers.rs`.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::Duration;

use kapstan_engine::{Handle, Registry, Stack, StackSpec};
use kapstan_providers::local::RandomPassword;
use kapstan_providers::scaleway::client::rate_limit::RateLimit;
use kapstan_providers::scaleway::client::{ClientOptions, ConfigOverrides, RetryPolicy, SecretKey};
use kapstan_providers::scaleway::k8s_cluster::Cluster;
use kapstan_providers::scaleway::k8s_pool::Pool;
use kapstan_providers::scaleway::lb::{Lb, LbPrivateNetwork};
use kapstan_providers::scaleway::lb_ip::LbIp;
use kapstan_providers::scaleway::object_bucket::{
    Expiration, LifecycleRule, ObjectBucket, Versioning,
};
use kapstan_providers::scaleway::rdb_acl::{AclRuleSpec, RdbAcl};
use kapstan_providers::scaleway::rdb_database::RdbDatabase;
use kapstan_providers::scaleway::rdb_instance::{RdbInstance, RdbPrivateNetwork};
use kapstan_providers::scaleway::rdb_privilege::RdbPrivilege;
use kapstan_providers::scaleway::rdb_user::RdbUser;
use kapstan_providers::scaleway::vpc::Vpc;
use kapstan_providers::scaleway::vpc_gateway_network::{GatewayNetwork, IpamConfig};
use kapstan_providers::scaleway::vpc_private_network::PrivateNetwork;
use kapstan_providers::scaleway::vpc_public_gateway::PublicGateway;
use kapstan_providers::scaleway::vpc_public_gateway_ip::PublicGatewayIp;
use kapstan_providers::scaleway::{ScalewayProvider, register_with};

/// Name of the test stack.
pub const STACK: &str = "scw-drivers";
/// Secret key of a default sandbox.
pub const SECRET_KEY: &str = "11111111-1111-4111-8111-111111111111";
/// Project of a default sandbox.
pub const PROJECT_ID: &str = "22222222-2222-4222-8222-222222222222";

/// What the tests vary between applies.
#[derive(Debug, Clone)]
pub struct Knobs {
    /// Nodes of the pool.
    pub pool_size: u32,
    /// Node type of the pool.
    pub node_type: &'static str,
    /// Tags of the tagged resources.
    pub tags: Vec<String>,
    /// Hours between database backups.
    pub backup_frequency: u32,
}

impl Default for Knobs {
    fn default() -> Self {
        Self {
            pool_size: 1,
            node_type: "PRO2-XXS",
            tags: vec!["env=test".into()],
            backup_frequency: 24,
        }
    }
}

/// The stack: network, NAT gateway, Kapsule, PostgreSQL, load balancer, bucket.
pub fn stack(k: &Knobs) -> StackSpec {
    let mut s = Stack::new(STACK);
    let (pn, gw_net) = network(&mut s, &k.tags);
    kapsule(&mut s, k, &pn, &gw_net);
    database(&mut s, k, &pn);
    edge(&mut s, &k.tags, &pn);
    s.build()
}

/// VPC, private network and the NAT gateway attached to it.
fn network(s: &mut Stack, tags: &[String]) -> (Handle<PrivateNetwork>, Handle<GatewayNetwork>) {
    let tags = tags.to_vec();
    let vpc = s.add(
        "vpc",
        Vpc {
            name: "kapstan-test".into(),
            tags: tags.clone(),
            ..Default::default()
        },
    );
    let pn = s.add(
        "network",
        PrivateNetwork {
            name: "kapstan-test".into(),
            tags: tags.clone(),
            vpc_id: Some(vpc.id().into()),
            ..Default::default()
        },
    );
    let gw_ip = s.add(
        "gateway-ip",
        PublicGatewayIp {
            tags: tags.clone(),
            ..Default::default()
        },
    );
    let gw = s.add(
        "gateway",
        PublicGateway {
            name: "kapstan-test".into(),
            gateway_type: "VPC-GW-S".into(),
            ip_id: Some(gw_ip.id().into()),
            tags: tags.clone(),
            ..Default::default()
        },
    );
    let gw_net = s.add(
        "gateway-network",
        GatewayNetwork {
            gateway_id: gw.id().into(),
            private_network_id: pn.id().into(),
            enable_masquerade: true,
            ipam_config: Some(IpamConfig {
                push_default_route: true,
                ipam_ip_id: None,
            }),
            zone: None,
        },
    );
    (pn, gw_net)
}

/// A Kapsule cluster `name` on the private network `pn`, at the Kubernetes version and CNI
/// every test cluster uses.
pub fn cluster_on(pn: &Handle<PrivateNetwork>, name: &str) -> Cluster {
    Cluster {
        name: name.into(),
        version: "1.35.3".into(),
        cni: "cilium".into(),
        private_network_id: Some(pn.id().into()),
        ..Default::default()
    }
}

/// The Kapsule cluster on the private network and its pool, which egresses through the gateway.
fn kapsule(s: &mut Stack, k: &Knobs, pn: &Handle<PrivateNetwork>, gw_net: &Handle<GatewayNetwork>) {
    let tags = k.tags.clone();
    let cluster = s.add(
        "cluster",
        Cluster {
            tags: tags.clone(),
            delete_additional_resources: Some(true),
            ..cluster_on(pn, "kapstan-test")
        },
    );
    let pool = s.add(
        "pool",
        Pool {
            cluster_id: cluster.id().into(),
            name: "default".into(),
            node_type: k.node_type.to_string().into(),
            size: k.pool_size.into(),
            min_size: Some(1.into()),
            max_size: Some(3.into()),
            autohealing: true,
            public_ip_disabled: Some(true),
            tags: tags.clone(),
            ..Default::default()
        },
    );
    pool.depends_on(gw_net);
}

/// The PostgreSQL instance with Coder's database, user, privilege and ACL.
fn database(s: &mut Stack, k: &Knobs, pn: &Handle<PrivateNetwork>) {
    let tags = k.tags.clone();
    let password = s.add(
        "db-password",
        RandomPassword {
            length: 64.into(),
            min_numeric: 2,
            ..Default::default()
        },
    );
    let db = s.add(
        "database",
        RdbInstance {
            name: "kapstan-test".into(),
            node_type: "DB-DEV-S".into(),
            engine: "PostgreSQL-16".into(),
            backup_schedule_frequency: Some(k.backup_frequency),
            backup_schedule_retention: Some(7),
            disable_backup: Some(false),
            private_network: Some(RdbPrivateNetwork {
                pn_id: pn.id().into(),
                ip_net: None,
                enable_ipam: Some(true),
            }),
            tags: tags.clone(),
            ..Default::default()
        },
    );
    let coder_db = s.add(
        "coder-db",
        RdbDatabase {
            instance_id: db.id().into(),
            name: "coder".into(),
            region: None,
        },
    );
    let user = s.add(
        "coder-user",
        RdbUser {
            instance_id: db.id().into(),
            name: "coder".into(),
            password: password.result().into(),
            is_admin: false,
            region: None,
        },
    );
    s.add(
        "coder-privilege",
        RdbPrivilege {
            instance_id: db.id().into(),
            user_name: user.name().into(),
            database_name: coder_db.name().into(),
            permission: "all".into(),
            region: None,
        },
    );
    s.add(
        "database-acl",
        RdbAcl {
            instance_id: db.id().into(),
            acl_rules: vec![AclRuleSpec {
                ip: "172.16.0.0/12".into(),
                description: "private network".into(),
            }],
            region: None,
        },
    );
}

/// The load balancer with its flexible IP, and the backup bucket.
fn edge(s: &mut Stack, tags: &[String], pn: &Handle<PrivateNetwork>) {
    let tags = tags.to_vec();
    let lb_ip = s.add(
        "lb-ip",
        LbIp {
            tags: tags.clone(),
            ..Default::default()
        },
    );
    s.add(
        "lb",
        Lb {
            name: "kapstan-test".into(),
            lb_type: "LB-S".into(),
            ip_ids: Some(vec![lb_ip.id().into()]),
            private_network: Some(vec![LbPrivateNetwork {
                private_network_id: pn.id().into(),
            }]),
            tags: tags.clone(),
            ..Default::default()
        },
    );
    s.add(
        "bucket",
        ObjectBucket {
            name: "kapstan-test-backups".into(),
            tags: tags
                .iter()
                .filter_map(|t| t.split_once('='))
                .map(|(a, b)| (a.to_string(), b.to_string()))
                .collect::<BTreeMap<_, _>>(),
            versioning: Some(Versioning { enabled: true }),
            lifecycle_rule: Some(vec![LifecycleRule {
                id: "expire".into(),
                prefix: "tmp/".into(),
                enabled: true,
                expiration: Some(Expiration { days: 7 }),
                ..Default::default()
            }]),
            force_destroy: Some(true),
            region: None,
        },
    );
}

/// A provider talking to a sandbox at `api_url` and an S3 endpoint at `s3_url`, isolated from
/// the process environment and config files, with eager polling.
pub fn provider(api_url: &str, s3_url: &str) -> Arc<ScalewayProvider> {
    let overrides = ConfigOverrides {
        access_key: Some("SCWAAAAAAAAAAAAAAAAA".into()),
        secret_key: Some(SecretKey::new(SECRET_KEY)),
        project_id: Some(PROJECT_ID.into()),
        region: Some("fr-par".into()),
        zone: Some("fr-par-1".into()),
        api_url: Some(api_url.into()),
        ..Default::default()
    };
    let defaults = ClientOptions::default();
    let options = ClientOptions {
        rate_limit: RateLimit::per_second(1000.0),
        retry: RetryPolicy {
            min_delay: Duration::from_millis(10),
            max_delay: Duration::from_millis(200),
            max_retries: 10,
            max_transient_waits: 50,
            ..defaults.retry.clone()
        },
        ..defaults
    };
    let env: HashMap<String, String> = HashMap::new();
    Arc::new(
        ScalewayProvider::with_env(overrides, options, Arc::new(env))
            .with_poll_scale(0.002)
            .with_s3_endpoint(s3_url),
    )
}

/// Every kind, with the Scaleway ones sharing `provider`.
pub fn registry(provider: Arc<ScalewayProvider>) -> Registry {
    let mut r = kapstan_providers::registry();
    register_with(&mut r, provider);
    r
}
