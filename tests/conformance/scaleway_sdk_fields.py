#!/usr/bin/env python3
"""Field coverage of the kapstan sandbox against the official Scaleway Python SDK (PyPI `scaleway`).

Every response the SDK receives goes through a generated `unmarshal_<Type>` function in the
API's `marshalling.py`, which reads each field of `<Type>` with `data.get("<json key>")`. This
script wraps every such function of the APIs the sandbox serves, records for each type the keys
the SDK reads and the keys the sandbox sent, drives a scenario that touches every served
resource (and, through nesting, every type inside them), and fails listing each
`api.Type.field` the sandbox left out.

A field of a one-of group is only sent when it is the chosen member, so the members of a
group count as present when one of them is. The groups are those the Scaleway API marks
"Precisely one of" (the generated Go SDK documents them; the Python types do not).

The script also fails when a resource type it must see was never returned, so it cannot pass
by fetching nothing. Configuration comes from the environment as for the conformance script.
"""

import importlib
import inspect
import re
import sys
from collections import defaultdict

from scaleway import Client
from scaleway.domain.v2beta1 import (
    DomainV2Beta1API,
    Record,
    RecordChange,
    RecordChangeAdd,
    RecordChangeDelete,
    RecordChangeSet,
    RecordIdentifier,
)
from scaleway.cockpit.v1 import CockpitV1RegionalAPI, ContactPointEmail
from scaleway.instance.v1 import InstanceV1API
from scaleway.ipam.v1 import IpamV1API, Source
from scaleway.k8s.v1 import K8SV1API
from scaleway.lb.v1 import HealthCheck, HealthCheckTcpConfig, LbV1ZonedAPI, PrivateNetworkIpamConfig
from scaleway.rdb.v1 import (
    ACLRuleRequest,
    InstanceSetting,
    EndpointSpec,
    EndpointSpecPrivateNetwork,
    EndpointSpecPrivateNetworkIpamConfig,
    RdbV1API,
)
from scaleway.secret.v1beta1 import SecretV1Beta1API
from scaleway.vpc.v2 import VpcV2API
from scaleway.vpcgw.v2 import VpcgwV2API
from scaleway_core.utils import WaitForOptions

FAST = WaitForOptions(timeout=120, min_delay=1, max_delay=2)

APIS = {
    "k8s": "scaleway.k8s.v1.marshalling",
    "rdb": "scaleway.rdb.v1.marshalling",
    "lb": "scaleway.lb.v1.marshalling",
    "vpc": "scaleway.vpc.v2.marshalling",
    "vpcgw": "scaleway.vpcgw.v2.marshalling",
    "ipam": "scaleway.ipam.v1.marshalling",
    "instance": "scaleway.instance.v1.marshalling",
    "domain": "scaleway.domain.v2beta1.marshalling",
    "cockpit": "scaleway.cockpit.v1.marshalling",
    "secret": "scaleway.secret.v1beta1.marshalling",
}

# "Precisely one of" groups of response types (Go SDK comments), as JSON keys.
ONE_OF = {
    ("k8s", "ACLRule"): [{"ip", "scaleway_ranges"}],
    ("rdb", "Endpoint"): [{"ip", "hostname"}, {"private_network", "load_balancer", "direct_access"}],
    ("lb", "HealthCheck"): [{"tcp_config", "mysql_config", "pgsql_config", "ldap_config",
                             "redis_config", "http_config", "https_config"}],
    ("lb", "PrivateNetwork"): [{"static_config", "dhcp_config", "ipam_config"}],
    ("lb", "RouteMatch"): [{"sni", "host_header", "path_begin"}],
    ("lb", "Subscriber"): [{"email_config", "webhook_config"}],
    ("ipam", "Source"): [{"zonal", "private_network_id", "subnet_id", "vpc_id", "regional"}],
    ("domain", "RecordChange"): [{"add", "set", "delete", "clear"}],
    ("domain", "RecordChangeSet"): [{"id", "id_fields"}],
    ("domain", "RecordChangeDelete"): [{"id", "id_fields"}],
}

# One-of groups a response may leave out entirely: a plain record (no GeoIP, HTTP service,
# weighted or view answers) carries none of them in recorded real traffic (Terraform
# provider cassettes `domain-record-basic`, 2025).
OPTIONAL_ONE_OF = {
    ("domain", "Record"): [{"geo_ip_config", "http_service_config", "weighted_config", "view_config"}],
}

# The resources the sandbox serves: each must have been returned at least once.
REQUIRED = {
    "k8s": ["Cluster", "Pool", "Node", "Version", "ListVersionsResponse", "ListClustersResponse",
            "ListPoolsResponse", "ListNodesResponse", "ListClusterTypesResponse", "ClusterType",
            "ListClusterAvailableVersionsResponse", "ListClusterAvailableTypesResponse"],
    "rdb": ["Instance", "Database", "User", "Privilege", "ACLRule", "DatabaseBackup", "Endpoint",
            "ListInstancesResponse", "ListDatabasesResponse", "ListUsersResponse",
            "ListPrivilegesResponse", "ListInstanceACLRulesResponse", "ListDatabaseBackupsResponse",
            "ListDatabaseEnginesResponse", "DatabaseEngine", "ListNodeTypesResponse", "NodeType",
            "SetInstanceACLRulesResponse", "AddInstanceACLRulesResponse", "AddInstanceSettingsResponse"],
    "lb": ["Lb", "Ip", "Frontend", "Backend", "HealthCheck", "PrivateNetwork", "ListLbsResponse",
           "ListIpsResponse", "ListFrontendsResponse", "ListBackendsResponse",
           "ListLbPrivateNetworksResponse", "ListLbTypesResponse", "LbType"],
    "vpc": ["VPC", "PrivateNetwork", "Subnet", "ListVPCsResponse", "ListPrivateNetworksResponse",
            "ListSubnetsResponse"],
    "vpcgw": ["Gateway", "IP", "GatewayNetwork", "ListGatewaysResponse", "ListIPsResponse",
              "ListGatewayNetworksResponse", "ListGatewayTypesResponse", "GatewayType"],
    "ipam": ["IP", "Resource", "Source", "ListIPsResponse"],
    "instance": ["Server", "GetServerResponse"],
    "domain": ["DNSZone", "ListDNSZonesResponse", "Record", "ListDNSZoneRecordsResponse",
               "UpdateDNSZoneRecordsResponse", "DNSZoneVersion", "ListDNSZoneVersionsResponse",
               "ListDNSZoneVersionRecordsResponse", "GetDNSZoneVersionDiffResponse", "RecordChange",
               "RecordChangeDelete", "RecordChangeAdd", "ListDNSZoneNameserversResponse", "Nameserver"],
    "cockpit": ["DataSource", "ListDataSourcesResponse", "Token", "ListTokensResponse",
                "AlertManager", "ContactPoint", "ContactPointEmail", "ListContactPointsResponse"],
    "secret": ["Secret", "ListSecretsResponse", "SecretVersion", "ListSecretVersionsResponse",
               "AccessSecretVersionResponse"],
}

KEY = re.compile(r'data\.get\("([^"]+)"')
seen = defaultdict(int)
missing = defaultdict(set)
examples = {}


def instrument():
    """Wraps the unmarshal functions where they are looked up: nested types in the
    marshalling module, top-level responses in the API module that imported them."""
    for api, module_name in APIS.items():
        module = importlib.import_module(module_name)
        caller = importlib.import_module(module_name.rsplit(".", 1)[0] + ".api")
        for name, fn in list(vars(module).items()):
            if not (name.startswith("unmarshal_") and callable(fn)):
                continue
            type_name = name[len("unmarshal_"):]
            keys = set(KEY.findall(inspect.getsource(fn)))
            wrapped = wrap(api, type_name, keys, fn)
            setattr(module, name, wrapped)
            if getattr(caller, name, None) is fn:
                setattr(caller, name, wrapped)


def wrap(api, type_name, keys, fn):
    def recording(data, *args, **kwargs):
        if isinstance(data, dict):
            seen[(api, type_name)] += 1
            absent = keys - set(data)
            for group in ONE_OF.get((api, type_name), []):
                if group & set(data):
                    absent -= group
            for group in OPTIONAL_ONE_OF.get((api, type_name), []):
                if len(group & set(data)) <= 1:
                    absent -= group
            if absent:
                missing[(api, type_name)] |= absent
                examples.setdefault((api, type_name), sorted(data))
        return fn(data, *args, **kwargs)

    return recording


def scenario(client):
    vpc = VpcV2API(client, bypass_validation=True)
    k8s = K8SV1API(client, bypass_validation=True)
    rdb = RdbV1API(client, bypass_validation=True)
    lb = LbV1ZonedAPI(client, bypass_validation=True)
    gw = VpcgwV2API(client, bypass_validation=True)
    ipam = IpamV1API(client, bypass_validation=True)
    instance_api = InstanceV1API(client, bypass_validation=True)

    net = vpc.create_vpc(name="fields", enable_routing=True, enable_transitivity=False, tags=["kapstan"])
    pn = vpc.create_private_network(name="fields-pn", vpc_id=net.id, default_route_propagation_enabled=False)
    vpc.get_vpc(vpc_id=net.id)
    vpc.get_private_network(private_network_id=pn.id)
    vpc.list_vp_cs()
    vpc.list_private_networks(vpc_id=net.id)
    vpc.list_subnets()

    versions = k8s.list_versions().versions
    k8s.get_version(version_name=versions[0].name)
    k8s.list_cluster_types()
    cluster = k8s.create_cluster(type_="", name="fields", description="", version=versions[0].name,
                                 cni="cilium", private_network_id=pn.id, tags=["kapstan"])
    k8s.wait_for_cluster(cluster_id=cluster.id, options=FAST)
    pool = k8s.create_pool(cluster_id=cluster.id, name="default", node_type="PRO2-XXS", autoscaling=False,
                           size=1, autohealing=True, public_ip_disabled=False, container_runtime="containerd")
    k8s.wait_for_pool(pool_id=pool.id, options=FAST)
    k8s.wait_for_cluster(cluster_id=cluster.id, options=FAST)
    k8s.list_clusters()
    k8s.list_cluster_available_versions(cluster_id=cluster.id)
    k8s.list_cluster_available_types(cluster_id=cluster.id)
    k8s.list_pools(cluster_id=cluster.id)
    nodes = k8s.list_nodes(cluster_id=cluster.id).nodes
    node = k8s.get_node(node_id=nodes[0].id)
    server_id = node.provider_id.rsplit("/", 1)[-1]
    instance_api.get_server(server_id=server_id, zone="fr-par-1")

    rdb.list_database_engines()
    rdb.list_node_types(include_disabled_types=False)
    db = rdb.create_instance(
        engine="PostgreSQL-16", user_name="admin_user", password="Sup3r-Secret!", node_type="DB-DEV-S",
        is_ha_cluster=False, disable_backup=False, volume_size=0, backup_same_region=False,
        name="fields-db", volume_type="lssd", tags=["kapstan"],
        init_endpoints=[EndpointSpec(private_network=EndpointSpecPrivateNetwork(
            private_network_id=pn.id, ipam_config=EndpointSpecPrivateNetworkIpamConfig()))],
    )
    rdb.wait_for_instance(instance_id=db.id, options=FAST)
    rdb.create_database(instance_id=db.id, name="coder")
    rdb.create_user(instance_id=db.id, name="coder", password="An0ther-Secret!", is_admin=False)
    rdb.set_privilege(instance_id=db.id, database_name="coder", user_name="coder", permission="all")
    rdb.wait_for_instance(instance_id=db.id, options=FAST)
    rdb.set_instance_acl_rules(instance_id=db.id, rules=[ACLRuleRequest(ip="10.0.0.0/8", description="pods")])
    rdb.wait_for_instance(instance_id=db.id, options=FAST)
    rdb.add_instance_acl_rules(instance_id=db.id, rules=[ACLRuleRequest(ip="192.168.0.0/16", description="office")])
    rdb.wait_for_instance(instance_id=db.id, options=FAST)
    rdb.add_instance_settings(instance_id=db.id, settings=[InstanceSetting(name="work_mem", value="8")])
    rdb.wait_for_instance(instance_id=db.id, options=FAST)
    rdb.list_instances()
    rdb.get_endpoint(endpoint_id=rdb.get_instance(instance_id=db.id).endpoints[0].id)
    rdb.list_databases(instance_id=db.id)
    rdb.list_users(instance_id=db.id)
    rdb.list_privileges(instance_id=db.id)
    rdb.list_instance_acl_rules(instance_id=db.id)
    backup = rdb.create_database_backup(instance_id=db.id, database_name="coder", name="fields-backup")
    rdb.wait_for_database_backup(database_backup_id=backup.id, options=FAST)
    rdb.list_database_backups(instance_id=db.id)

    lb.list_lb_types()
    ip = lb.create_ip(is_ipv6=False, tags=["kapstan"])
    balancer = lb.create_lb(description="fields", type_="LB-S", name="fields-lb", ip_id=ip.id, tags=["kapstan"])
    lb.wait_for_lb(lb_id=balancer.id, options=FAST)
    backend = lb.create_backend(
        lb_id=balancer.id, name="fields", forward_protocol="tcp", forward_port=443,
        forward_port_algorithm="roundrobin", sticky_sessions="none", sticky_sessions_cookie_name="",
        health_check=HealthCheck(port=443, check_max_retries=3, check_send_proxy=False,
                                 tcp_config=HealthCheckTcpConfig()),
        server_ip=["10.0.0.10"],
    )
    frontend = lb.create_frontend(lb_id=balancer.id, name="fields", inbound_port=443, backend_id=backend.id,
                                  enable_http3=False, enable_access_logs=False)
    lb.get_backend(backend_id=backend.id)
    lb.set_backend_servers(backend_id=backend.id, server_ip=["10.0.0.11"])
    lb.update_health_check(backend_id=backend.id, port=443, check_max_retries=3, check_send_proxy=False,
                           tcp_config=HealthCheckTcpConfig())
    lb.get_frontend(frontend_id=frontend.id)
    lb.attach_private_network(lb_id=balancer.id, private_network_id=pn.id, ipam_config=PrivateNetworkIpamConfig())
    lb.list_lb_private_networks(lb_id=balancer.id)
    lb.get_ip(ip_id=ip.id)
    lb.get_lb(lb_id=balancer.id)
    lb.list_lbs()
    lb.list_i_ps()
    lb.list_frontends(lb_id=balancer.id)
    lb.list_backends(lb_id=balancer.id)

    gw.list_gateway_types(zone="fr-par-1")
    gw_ip = gw.create_ip(zone="fr-par-1")
    gateway = gw.create_gateway(type_="VPC-GW-S", enable_smtp=False, enable_bastion=False, zone="fr-par-1",
                                name="fields-gw", ip_id=gw_ip.id)
    gw.wait_for_gateway(gateway_id=gateway.id, zone="fr-par-1", options=FAST)
    gwn = gw.create_gateway_network(gateway_id=gateway.id, private_network_id=pn.id, enable_masquerade=True,
                                    push_default_route=False, zone="fr-par-1")
    gw.wait_for_gateway_network(gateway_network_id=gwn.id, zone="fr-par-1", options=FAST)
    gw.get_ip(ip_id=gw_ip.id, zone="fr-par-1")
    gw.list_gateways(zone="fr-par-1")
    gw.list_i_ps(zone="fr-par-1")
    gw.list_gateway_networks(zone="fr-par-1")

    dns = DomainV2Beta1API(client, bypass_validation=True)
    dns.list_dns_zones(domain="example.test")
    dns.create_dns_zone(domain="example.test", subdomain="fields", project_id=client.default_project_id)
    dns.list_dns_zone_nameservers(dns_zone="fields.example.test")
    dns.update_dns_zone_records(
        dns_zone="example.test", disallow_new_zone_creation=True, return_all_records=True,
        changes=[RecordChange(add=RecordChangeAdd(records=[
            Record(data="192.0.2.1", name="coder", priority=0, ttl=300, type_="A", id="")]))])
    dns.update_dns_zone_records(
        dns_zone="example.test", disallow_new_zone_creation=True,
        changes=[RecordChange(set_=RecordChangeSet(
            id_fields=RecordIdentifier(name="coder", type_="A"),
            records=[Record(data="192.0.2.2", name="coder", priority=0, ttl=300, type_="A", id="")]))])
    dns.list_dns_zone_records(dns_zone="example.test", name="coder")
    versions = dns.list_dns_zone_versions(dns_zone="example.test").versions
    dns.list_dns_zone_version_records(dns_zone_version_id=versions[-1].id)
    dns.get_dns_zone_version_diff(dns_zone_version_id=versions[1].id)
    dns.update_dns_zone_records(
        dns_zone="example.test", disallow_new_zone_creation=True,
        changes=[RecordChange(delete=RecordChangeDelete(id_fields=RecordIdentifier(name="coder", type_="A")))])

    ipam.book_ip(source=Source(private_network_id=pn.id), is_ipv6=False, tags=["kapstan"])
    ips = ipam.list_i_ps(private_network_id=pn.id).ips
    if ips:
        ipam.get_ip(ip_id=ips[0].id)


def cockpit_scenario(client):
    cockpit = CockpitV1RegionalAPI(client, bypass_validation=True)
    source = cockpit.create_data_source(name="fields-metrics", type_="metrics", retention_days=31)
    cockpit.get_data_source(data_source_id=source.id)
    cockpit.update_data_source(data_source_id=source.id, retention_days=40)
    cockpit.list_data_sources()
    token = cockpit.create_token(name="fields-token", token_scopes=["write_only_metrics"])
    cockpit.get_token(token_id=token.id)
    cockpit.list_tokens()
    cockpit.get_alert_manager()
    cockpit.enable_alert_manager()
    cockpit.enable_managed_alerts()
    cockpit.create_contact_point(email=ContactPointEmail(to="fields@example.com"), send_resolved_notifications=True)
    cockpit.list_contact_points()
    cockpit.delete_contact_point(email=ContactPointEmail(to="fields@example.com"))
    cockpit.disable_alert_manager()
    cockpit.delete_token(token_id=token.id)
    cockpit.delete_data_source(data_source_id=source.id)


def secret_scenario(client):
    sm = SecretV1Beta1API(client, bypass_validation=True)
    secret = sm.create_secret(name="fields-secret", protected=False, tags=["fields"])
    sm.get_secret(secret_id=secret.id)
    sm.update_secret(secret_id=secret.id, description="fields")
    sm.list_secrets(scheduled_for_deletion=False)
    sm.create_secret_version(secret_id=secret.id, data="ZmllbGRz")
    sm.get_secret_version(secret_id=secret.id, revision="1")
    sm.list_secret_versions(secret_id=secret.id)
    sm.access_secret_version(secret_id=secret.id, revision="latest")
    sm.delete_secret(secret_id=secret.id)


def main():
    instrument()
    client = Client.from_env()
    if not (client.api_url and "127.0.0.1" in client.api_url):
        print(f"FAILED: SCW_API_URL must point at the sandbox, got {client.api_url!r}", file=sys.stderr)
        sys.exit(1)
    scenario(client)
    cockpit_scenario(client)
    secret_scenario(client)
    failures = []
    for api, types in REQUIRED.items():
        for type_name in types:
            if not seen[(api, type_name)]:
                failures.append(f"{api}.{type_name}: never returned by the scenario")
    for (api, type_name), fields in sorted(missing.items()):
        for field in sorted(fields):
            failures.append(f"{api}.{type_name}.{field}: missing from the sandbox's response")
    covered = sorted(f"{a}.{t}" for (a, t) in seen)
    print(f"types checked: {len(covered)}: {', '.join(covered)}", flush=True)
    if failures:
        print("FAILED: the sandbox leaves out fields the SDK reads:", file=sys.stderr)
        for f in failures:
            print(f"  {f}", file=sys.stderr)
        sys.exit(1)
    print(f"OK: {len(covered)} response types carry every SDK field", flush=True)


if __name__ == "__main__":
    main()
