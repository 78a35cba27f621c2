//! Phase 1, `coder-<env>-infra`: VPC, private network with NAT egress through a public
//! gateway, Kapsule cluster and pool, managed PostgreSQL reachable only from the private
//! network, and the load balancer with its flexible IP that Coder's Service will use.

use kapstan_engine::{Handle, Input, Stack};
use kapstan_providers::acme::AcmeCertificate;
use kapstan_providers::local::RandomPassword;
use kapstan_providers::scaleway::domain_record::DomainRecord;
use kapstan_providers::scaleway::domain_zone::DomainZone;
use kapstan_providers::scaleway::k8s_cluster::{AutoUpgrade, AutoscalerConfig, Cluster};
use kapstan_providers::scaleway::k8s_pool::Pool;
use kapstan_providers::scaleway::lb::{Lb, LbPrivateNetwork};
use kapstan_providers::scaleway::lb_ip::LbIp;
use kapstan_providers::scaleway::rdb_acl::{AclRuleSpec, RdbAcl};
use kapstan_providers::scaleway::rdb_database::RdbDatabase;
use kapstan_providers::scaleway::rdb_instance::{RdbInstance, RdbPrivateNetwork};
use kapstan_providers::scaleway::rdb_privilege::RdbPrivilege;
use kapstan_providers::scaleway::rdb_user::RdbUser;
use kapstan_providers::scaleway::vpc::Vpc;
use kapstan_providers::scaleway::vpc_gateway_network::{GatewayNetwork, IpamConfig};
use kapstan_providers::scaleway::vpc_private_network::{Ipv4Subnet, PrivateNetwork};
use kapstan_providers::scaleway::vpc_public_gateway::PublicGateway;
use kapstan_providers::scaleway::vpc_public_gateway_ip::PublicGatewayIp;

use super::profile::{Phase, Profile};

/// The database user Coder connects as.
pub const DB_USER: &str = "coder";

fn tags(p: &Profile) -> Vec<String> {
    vec![
        "managed-by=kapstan".into(),
        "project=coder".into(),
        format!("environment={}", p.env.name()),
        "component=infrastructure".into(),
    ]
}

/// The SSL compatibility level of the Coder load balancer. The app phase writes the same value
/// on the Coder Service, so the cloud controller never has a different one to apply.
pub const LB_SSL_COMPATIBILITY_LEVEL: &str = "ssl_compatibility_level_modern";

/// The name of the default pool: derived from its node type, the field that forces a
/// replacement, so the replacement can exist next to the pool it replaces (`default-gp1-s`).
pub fn pool_name(p: &Profile) -> String {
    format!(
        "default-{}",
        p.node_type.to_ascii_lowercase().replace('_', "-")
    )
}

/// The database name of an environment.
pub fn database_name(p: &Profile) -> String {
    format!("coder_{}_db", p.env.name())
}

/// Builds phase 1 of the environment.
pub fn infra_stack(p: &Profile) -> Stack {
    let mut s = Stack::new(&p.stack_name(Phase::Infra));
    let (network, gateway_network) = private_network(&mut s, p);
    let cluster = cluster(&mut s, p, &network, &gateway_network);
    let (database, password) = database(&mut s, p, &network);
    let (lb_ip, lb) = load_balancer(&mut s, p, &network);
    if p.serves_tls() {
        tls_resources(&mut s, p, &lb_ip);
    }
    let env = p.env.name();
    let (access_url, wildcard) = if p.domain.is_empty() {
        (
            Input::format("http://{}", [lb_ip.ip_address()]),
            Input::format("*.{}.nip.io", [lb_ip.ip_address()]),
        )
    } else {
        let host = format!("{}.{}", p.subdomain, p.domain);
        (
            Input::Value(format!("https://{host}")),
            Input::Value(format!("*.{host}")),
        )
    };
    s.output("environment", env);
    s.output("region", &p.region);
    s.output("zone", &p.zone);
    s.output("cluster_id", cluster.id());
    s.output("cluster_name", format!("coder-{env}-cluster"));
    s.output("kubeconfig", cluster.kubeconfig())
        .sensitive()
        .description("kubeconfig of the cluster");
    s.output("private_network_id", network.id());
    s.output("lb_id", lb.id());
    s.output("lb_ip", lb_ip.ip_address());
    s.output("access_url", access_url)
        .description("the URL users open");
    s.output("wildcard_access_url", wildcard)
        .description("bare host pattern for workspace apps");
    s.output("database_host", database.private_ip());
    s.output("database_port", database.private_port());
    s.output("database_name", database_name(p));
    s.output("database_user", DB_USER);
    s.output("database_password", password.result()).sensitive();
    s
}

/// The VPC and its private network, with NAT egress through a public gateway (the gateway
/// network, which the pool waits for).
fn private_network(s: &mut Stack, p: &Profile) -> (Handle<PrivateNetwork>, Handle<GatewayNetwork>) {
    let env = p.env.name();
    let vpc = s.add(
        "vpc",
        Vpc {
            name: format!("coder-{env}-vpc").into(),
            tags: tags(p),
            region: Some(p.region.clone()),
            ..Default::default()
        },
    );
    let network = s.add(
        "network",
        PrivateNetwork {
            name: format!("coder-{env}-network").into(),
            tags: tags(p),
            vpc_id: Some(vpc.id().into()),
            // An explicit subnet, so the database ACL below admits exactly this network.
            ipv4_subnet: Some(Ipv4Subnet {
                subnet: Some(p.subnet.clone()),
            }),
            region: Some(p.region.clone()),
            ..Default::default()
        },
    );
    // Losing the network, the cluster or the database loses data or every workspace: a plan
    // that would replace or delete them fails, naming the protection, unless it is lifted.
    if p.prevent_destroy {
        network.prevent_destroy();
    }
    let gateway_ip = s.add(
        "gateway-ip",
        PublicGatewayIp {
            tags: tags(p),
            zone: Some(p.zone.clone()),
            ..Default::default()
        },
    );
    let gateway = s.add(
        "gateway",
        PublicGateway {
            name: format!("coder-{env}-gateway").into(),
            gateway_type: "VPC-GW-S".into(),
            ip_id: Some(gateway_ip.id().into()),
            tags: tags(p),
            zone: Some(p.zone.clone()),
            ..Default::default()
        },
    );
    let gateway_network = s.add(
        "gateway-network",
        GatewayNetwork {
            gateway_id: gateway.id().into(),
            private_network_id: network.id().into(),
            enable_masquerade: true,
            ipam_config: Some(IpamConfig {
                push_default_route: true,
                ipam_ip_id: None,
            }),
            zone: Some(p.zone.clone()),
        },
    );
    (network, gateway_network)
}

/// The Kapsule cluster on the private network and its default pool.
fn cluster(
    s: &mut Stack,
    p: &Profile,
    network: &Handle<PrivateNetwork>,
    gateway_network: &Handle<GatewayNetwork>,
) -> Handle<Cluster> {
    let env = p.env.name();
    let cluster = s.add(
        "cluster",
        Cluster {
            name: format!("coder-{env}-cluster").into(),
            description: Some(format!("Coder {env} platform, managed by kapstan")),
            tags: tags(p),
            version: p.kubernetes_version.clone().into(),
            cni: "cilium".into(),
            private_network_id: Some(network.id().into()),
            auto_upgrade: Some(AutoUpgrade {
                enable: true,
                maintenance_window_start_hour: 2,
                maintenance_window_day: "sunday".into(),
            }),
            // The private network belongs to this stack: Kapsule must never delete it.
            delete_additional_resources: Some(false),
            autoscaler_config: p
                .scale_down_utilization_threshold
                .map(|t| AutoscalerConfig {
                    scale_down_utilization_threshold: Some(t),
                    ..Default::default()
                }),
            region: Some(p.region.clone()),
            ..Default::default()
        },
    );
    if p.prevent_destroy {
        cluster.prevent_destroy();
    }
    let pool = s.add(
        "pool-default",
        Pool {
            cluster_id: cluster.id().into(),
            name: pool_name(p).into(),
            node_type: p.node_type.clone().into(),
            size: p.pool_size.into(),
            min_size: Some(p.pool_min.into()),
            max_size: Some(p.pool_max.into()),
            autoscaling: p.pool_autoscaling,
            autohealing: true,
            tags: tags(p),
            container_runtime: Some("containerd".into()),
            root_volume_type: Some("l_ssd".into()),
            // Nodes reach the internet through the gateway's NAT, not public IPs.
            public_ip_disabled: Some(true),
            zone: Some(p.zone.clone()),
            ..Default::default()
        },
    );
    pool.depends_on(gateway_network);
    // A node type change replaces the pool: the new one (its name says what forced it) is
    // created and ready before the old one is deleted, so Coder and the workspaces always have
    // nodes.
    pool.create_before_destroy();
    // Autoscaling moves the live size: keep it from planning updates back to the declared one.
    // A fixed-size pool (`kapstan scale --nodes N`) plans its size like any other field.
    if p.pool_autoscaling {
        pool.ignore_changes(&["size"]);
    }
    cluster
}

/// Managed PostgreSQL on the private network: the instance, Coder's database, user and
/// privilege, and an ACL admitting the private network only.
fn database(
    s: &mut Stack,
    p: &Profile,
    network: &Handle<PrivateNetwork>,
) -> (Handle<RdbInstance>, Handle<RandomPassword>) {
    let env = p.env.name();
    let password = s.add(
        "db-password",
        RandomPassword {
            length: 32.into(),
            special: true,
            min_numeric: 2,
            ..Default::default()
        },
    );
    let (volume_type, volume_size) = (Some(p.db_volume_type.clone()), p.db_volume_size_gb);
    let database = s.add(
        "database",
        RdbInstance {
            name: format!("coder-{env}-db").into(),
            node_type: p.db_node_type.clone().into(),
            engine: "PostgreSQL-15".into(),
            is_ha_cluster: p.db_ha,
            disable_backup: Some(false),
            backup_schedule_frequency: Some(p.backup_frequency_hours),
            backup_schedule_retention: Some(p.backup_retention_days),
            backup_same_region: Some(p.backup_same_region),
            settings: (!p.db_settings.is_empty()).then(|| p.db_settings.clone()),
            volume_type,
            volume_size_in_gb: volume_size,
            private_network: Some(RdbPrivateNetwork {
                pn_id: network.id().into(),
                ip_net: None,
                enable_ipam: Some(true),
            }),
            tags: tags(p),
            region: Some(p.region.clone()),
            ..Default::default()
        },
    );
    if p.prevent_destroy {
        database.prevent_destroy();
    }
    let db = s.add(
        "database-coder",
        RdbDatabase {
            instance_id: database.id().into(),
            name: database_name(p).into(),
            region: Some(p.region.clone()),
        },
    );
    let user = s.add(
        "database-user",
        RdbUser {
            instance_id: database.id().into(),
            name: DB_USER.into(),
            password: password.result().into(),
            // Coder owns its database through the privilege below; it needs no admin rights.
            is_admin: false,
            region: Some(p.region.clone()),
        },
    );
    let privilege = s.add(
        "database-privilege",
        RdbPrivilege {
            instance_id: database.id().into(),
            user_name: user.name().into(),
            database_name: db.name().into(),
            permission: "all".into(),
            region: Some(p.region.clone()),
        },
    );
    privilege.depends_on(&user).depends_on(&db);
    s.add(
        "database-acl",
        RdbAcl {
            instance_id: database.id().into(),
            acl_rules: vec![AclRuleSpec {
                ip: p.subnet.clone(),
                description: format!("coder-{env} private network only"),
            }],
            region: Some(p.region.clone()),
        },
    );
    (database, password)
}

/// The load balancer on the private network and the flexible IP Coder's Service uses.
fn load_balancer(
    s: &mut Stack,
    p: &Profile,
    network: &Handle<PrivateNetwork>,
) -> (Handle<LbIp>, Handle<Lb>) {
    let env = p.env.name();
    let lb_ip = s.add(
        "lb-ip",
        LbIp {
            tags: tags(p),
            zone: Some(p.zone.clone()),
            ..Default::default()
        },
    );
    let lb = s.add(
        "lb",
        Lb {
            name: format!("coder-{env}-lb").into(),
            lb_type: p.lb_type.clone(),
            description: Some(format!("Coder {env} access, used by the coder Service")),
            tags: tags(p),
            ip_ids: Some(vec![lb_ip.id().into()]),
            ssl_compatibility_level: Some(LB_SSL_COMPATIBILITY_LEVEL.into()),
            private_network: Some(vec![LbPrivateNetwork {
                private_network_id: network.id().into(),
            }]),
            zone: Some(p.zone.clone()),
            ..Default::default()
        },
    );
    (lb_ip, lb)
}

/// A domain deployment with TLS by ACME: the domain's Scaleway zone (looked up, never created
/// or deleted), `A S` and `A *.S` to the load balancer's address, and one certificate for
/// `S.D` and `*.S.D` whose key and chain the app phase puts in Coder's TLS Secret.
fn tls_resources(
    s: &mut Stack,
    p: &Profile,
    lb_ip: &kapstan_providers::scaleway::lb_ip::LbIpAttributes,
) {
    let zone = s.add(
        "dns-zone",
        DomainZone {
            domain: p.domain.clone().into(),
            ..Default::default()
        },
    );
    for (address, name) in [
        ("dns-host", p.subdomain.clone()),
        ("dns-wildcard", format!("*.{}", p.subdomain)),
    ] {
        s.add(
            address,
            DomainRecord {
                dns_zone: zone.name().into(),
                name: name.into(),
                type_: "A".into(),
                data: lb_ip.ip_address().into(),
                ttl: Some(300),
            },
        );
    }
    let host = format!("{}.{}", p.subdomain, p.domain);
    let cert = s.add(
        "tls-certificate",
        AcmeCertificate {
            dns_zone: zone.name().into(),
            names: vec![host.clone().into(), format!("*.{host}").into()],
            directory: p.tls.directory.clone(),
            ca_bundle: p.tls.ca_bundle_pem.clone(),
            renew_before: p.tls.renew_before,
            dns_servers: p.tls.dns_servers.clone(),
            ..Default::default()
        },
    );
    s.output("tls_certificate", cert.certificate_pem())
        .sensitive()
        .description("Coder's certificate chain, PEM");
    s.output("tls_private_key", cert.private_key_pem())
        .sensitive()
        .description("Coder's TLS private key, PEM");
    s.output("tls_certificate_sha256", cert.sha256())
        .description("fingerprint of the certificate Coder serves");
    s.output("tls_not_after", cert.not_after())
        .description("when the certificate expires");
    s.output("tls_names", format!("{host}, *.{host}"));
}
