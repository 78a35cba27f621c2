#!/usr/bin/env python3
"""Official Scaleway Python SDK (PyPI `scaleway`, unchanged) against the kapstan sandbox.

Configuration comes only from the environment: SCW_API_URL, SCW_SECRET_KEY,
SCW_DEFAULT_PROJECT_ID, SCW_DEFAULT_REGION and SCW_DEFAULT_ZONE. The SDK's client validation
also demands an access key, which the REST APIs never receive (it is the S3 key id), so the APIs
are built with the SDK's own `bypass_validation=True`.

The scenario: VPC and private networks, a Cilium Kapsule cluster on the private network (SDK
waiter until pool_required), a pool (waiter until ready), the kubeconfig, an RDB PostgreSQL
instance on the private network (waiter), a database, a user, privileges and ACL rules, an LB
flexible IP and an LB on it (waiter), paginated listings of everything, then deletion in
dependency order, each ending in a 404; then DNS (the sandbox is started with the zone
`example.test` active in the project): zone listing, a sub-zone, record changes (add, set by
id_fields, delete by id, clear), name/type filters and pagination, versions, diff and restore.
Exits non-zero with a message on the first failure.
"""

import base64
import sys
import time

from scaleway import Client
from scaleway.cockpit.v1 import CockpitV1RegionalAPI, ContactPointEmail
from scaleway.k8s.v1 import K8SV1API
from scaleway.lb.v1 import LbV1ZonedAPI
from scaleway.rdb.v1 import (
    ACLRuleRequest,
    EndpointSpec,
    EndpointSpecPrivateNetwork,
    EndpointSpecPrivateNetworkIpamConfig,
    RdbV1API,
)
from scaleway.domain.v2beta1 import (
    DomainV2Beta1API,
    Record,
    RecordChange,
    RecordChangeAdd,
    RecordChangeClear,
    RecordChangeDelete,
    RecordChangeSet,
    RecordIdentifier,
)
from scaleway.secret.v1beta1 import SecretV1Beta1API
from scaleway.vpc.v2 import VpcV2API
from scaleway_core.api import ScalewayException
from scaleway_core.utils import WaitForOptions

# The SDK refuses delays under one second; the sandbox runs fast enough for one poll or two.
FAST = WaitForOptions(timeout=120, min_delay=1, max_delay=2)
STEPS = 0


def step(message):
    global STEPS
    STEPS += 1
    print(f"[{STEPS:02d}] {message}", flush=True)


def check(condition, message):
    if not condition:
        print(f"FAILED: {message}", file=sys.stderr, flush=True)
        sys.exit(1)


def expect_404(fetch, what):
    """Polls `fetch` until it raises a 404, as a waiter would after a delete."""
    deadline = time.time() + 120
    while time.time() < deadline:
        try:
            fetch()
        except ScalewayException as e:
            check(e.status_code == 404, f"{what}: expected 404, got {e.status_code}: {e}")
            return
        time.sleep(0.05)
    check(False, f"{what}: still present after deletion")


def cockpit_steps(client):
    cockpit = CockpitV1RegionalAPI(client, bypass_validation=True)

    step("Cockpit: a metrics and a logs data source, with the documented defaults and bounds")
    metrics = cockpit.create_data_source(name="conformance-metrics", type_="metrics")
    check(metrics.retention_days == 31, f"metrics default retention, got {metrics.retention_days}")
    check(metrics.origin == "custom", f"origin of a created source, got {metrics.origin}")
    check(metrics.url, "a data source carries its push url")
    logs = cockpit.create_data_source(name="conformance-logs", type_="logs")
    check(logs.retention_days == 7, f"logs default retention, got {logs.retention_days}")
    try:
        cockpit.create_data_source(name="too-long", type_="logs", retention_days=1826)
        check(False, "a retention over 1825 days must be refused")
    except ScalewayException as e:
        check(e.status_code == 400, f"retention out of range: expected 400, got {e.status_code}")
    updated = cockpit.update_data_source(data_source_id=metrics.id, retention_days=90, name="conformance-m")
    check(updated.retention_days == 90 and updated.name == "conformance-m", f"update, got {updated}")
    listed = cockpit.list_data_sources_all(types=["logs"])
    check([d.id for d in listed] == [logs.id], f"types filter, got {[d.id for d in listed]}")

    step("Cockpit: a write token shows its secret key once")
    token = cockpit.create_token(name="conformance-push", token_scopes=["write_only_metrics", "write_only_logs"])
    check(token.secret_key, "the creation response carries the secret key")
    again = cockpit.get_token(token_id=token.id)
    check(not again.secret_key, "a read never returns the secret key")
    check(sorted(again.scopes) == ["write_only_logs", "write_only_metrics"], f"scopes, got {again.scopes}")
    check(any(t.id == token.id for t in cockpit.list_tokens_all(token_scopes=["write_only_logs"])), "token scope filter")

    step("Cockpit: alert manager, managed alerts and an e-mail contact point")
    check(not cockpit.get_alert_manager().alert_manager_enabled, "the alert manager starts disabled")
    try:
        cockpit.create_contact_point(email=ContactPointEmail(to="ops@example.com"))
        check(False, "a contact point needs an enabled alert manager")
    except ScalewayException as e:
        check(e.status_code == 412, f"contact point while disabled: expected 412, got {e.status_code}")
    manager = cockpit.enable_alert_manager()
    check(manager.alert_manager_enabled and manager.alert_manager_url, f"enabled manager, got {manager}")
    check(cockpit.enable_managed_alerts().managed_alerts_enabled, "managed alerts on")
    cockpit.create_contact_point(email=ContactPointEmail(to="ops@example.com"), send_resolved_notifications=True)
    points = cockpit.list_contact_points_all()
    check([p.email.to for p in points] == ["ops@example.com"], f"contact points, got {points}")
    cockpit.delete_contact_point(email=ContactPointEmail(to="ops@example.com"))
    check(not cockpit.list_contact_points_all(), "the contact point is gone")
    cockpit.create_contact_point(email=ContactPointEmail(to="ops@example.com"))
    off = cockpit.disable_alert_manager()
    check(not off.alert_manager_enabled and not off.managed_alerts_enabled, f"disabled, got {off}")
    check(not cockpit.list_contact_points_all(), "disabling deletes the contact points")

    step("Cockpit: delete the token and the data sources and see 404s")
    cockpit.delete_token(token_id=token.id)
    expect_404(lambda: cockpit.get_token(token_id=token.id), "Cockpit token")
    for source in (metrics, logs):
        cockpit.delete_data_source(data_source_id=source.id)
        expect_404(lambda: cockpit.get_data_source(data_source_id=source.id), "Cockpit data source")


def expect_status(call, status, what):
    try:
        call()
    except ScalewayException as e:
        check(e.status_code == status, f"{what}: expected {status}, got {e.status_code}: {e}")
        return
    check(False, f"{what}: expected {status}, the call succeeded")


def secret_steps(client):
    sm = SecretV1Beta1API(client, bypass_validation=True)
    step("Secret Manager: a secret, three revisions, access by number, latest and path")
    secret = sm.create_secret(name="oidc-client-secret", protected=True, tags=["kapstan"])
    check(secret.version_count == 0 and secret.path == "/" and secret.type_ == "opaque",
          f"new secret defaults: {secret}")
    expect_status(lambda: sm.create_secret(name="oidc-client-secret", protected=False), 409,
                  "a second secret with the same name and path")
    first = sm.create_secret_version(secret_id=secret.id, data=base64.b64encode(b"first").decode())
    check(first.revision == 1 and first.latest and first.status == "enabled", f"revision 1: {first}")
    sm.create_secret_version(secret_id=secret.id, data=base64.b64encode(b"second").decode(),
                             disable_previous=True)
    check(sm.get_secret_version(secret_id=secret.id, revision="1").status == "disabled",
          "disable_previous disables revision 1")
    expect_status(lambda: sm.access_secret_version(secret_id=secret.id, revision="1"), 412,
                  "accessing a disabled revision")
    sm.enable_secret_version(secret_id=secret.id, revision="1")
    got = sm.access_secret_version(secret_id=secret.id, revision="1")
    check(base64.b64decode(got.data) == b"first" and got.revision == 1, "revision 1 data")
    third = sm.create_secret_version(secret_id=secret.id, data=base64.b64encode(b"third").decode(),
                                     data_crc32=0x24322064)
    check(third.revision == 3, f"third revision: {third}")
    expect_status(lambda: sm.create_secret_version(secret_id=secret.id, data="bm9wZQ==", data_crc32=1), 400,
                  "a wrong data_crc32")
    latest = sm.access_secret_version(secret_id=secret.id, revision="latest")
    check(base64.b64decode(latest.data) == b"third" and latest.revision == 3, "latest is revision 3")
    sm.disable_secret_version(secret_id=secret.id, revision="3")
    enabled = sm.access_secret_version(secret_id=secret.id, revision="latest_enabled")
    check(enabled.revision == 2, f"latest_enabled skips the disabled revision 3: {enabled.revision}")
    by_path = sm.access_secret_version_by_path(secret_path="/", secret_name="oidc-client-secret",
                                               revision="2")
    check(base64.b64decode(by_path.data) == b"second", "access by path")
    expect_status(lambda: sm.access_secret_version(secret_id=secret.id, revision="9"), 404,
                  "a revision that does not exist")
    versions = sm.list_secret_versions_all(secret_id=secret.id)
    check([v.revision for v in versions] == [1, 2, 3], f"versions in order: {versions}")
    check([v.revision for v in versions if v.latest] == [3], "only revision 3 is latest")
    listed = sm.list_secrets_all(scheduled_for_deletion=False, name="oidc-client-secret")
    check(len(listed) == 1 and listed[0].version_count == 3, f"listing by name: {listed}")
    step("Secret Manager: protection, deletion scheduling and restore")
    expect_status(lambda: sm.delete_secret(secret_id=secret.id), 412, "deleting a protected secret")
    sm.unprotect_secret(secret_id=secret.id)
    sm.delete_secret_version(secret_id=secret.id, revision="2")
    check(sm.get_secret_version(secret_id=secret.id, revision="2").status == "scheduled_for_deletion",
          "a deleted version is scheduled for deletion")
    sm.restore_secret_version(secret_id=secret.id, revision="2")
    sm.delete_secret(secret_id=secret.id)
    check(not sm.list_secrets_all(scheduled_for_deletion=False, name="oidc-client-secret"),
          "a deleted secret leaves the default listing")
    check(len(sm.list_secrets_all(scheduled_for_deletion=True, name="oidc-client-secret")) == 1,
          "it is listed as scheduled for deletion")
    sm.restore_secret(secret_id=secret.id)
    check(len(sm.list_secrets_all(scheduled_for_deletion=False, name="oidc-client-secret")) == 1,
          "restored")
    sm.delete_secret(secret_id=secret.id)


def main():
    client = Client.from_env()
    check(client.api_url and "127.0.0.1" in client.api_url, f"SCW_API_URL must point at the sandbox, got {client.api_url!r}")
    vpc = VpcV2API(client, bypass_validation=True)
    k8s = K8SV1API(client, bypass_validation=True)
    rdb = RdbV1API(client, bypass_validation=True)
    lb = LbV1ZonedAPI(client, bypass_validation=True)

    step("create a VPC and two private networks")
    net = vpc.create_vpc(name="conformance", enable_routing=True, enable_transitivity=False, tags=["kapstan", "conformance"])
    pn = vpc.create_private_network(name="conformance-pn", vpc_id=net.id, default_route_propagation_enabled=False, tags=["kapstan"])
    spare = vpc.create_private_network(name="conformance-spare", vpc_id=net.id, default_route_propagation_enabled=False)
    check(len(pn.subnets) == 2, f"expected an IPv4 and an IPv6 subnet, got {pn.subnets}")
    check(str(pn.subnets[0].subnet).endswith("/22"), f"expected an automatic /22, got {pn.subnets[0].subnet}")

    step("create a Cilium cluster on the private network and wait for pool_required")
    versions = k8s.list_versions().versions
    check(versions, "no Kubernetes version offered")
    cluster = k8s.create_cluster(
        type_="", name="conformance", description="SDK conformance", version=versions[0].name,
        cni="cilium", private_network_id=pn.id, tags=["kapstan"],
    )
    check(cluster.status == "creating", f"new cluster status {cluster.status}")
    check(cluster.type_ == "kapsule", f"server-side default type, got {cluster.type_!r}")
    cluster = k8s.wait_for_cluster(cluster_id=cluster.id, options=FAST)
    check(cluster.status == "pool_required", f"cluster settled in {cluster.status}")

    step("create a pool and wait for ready")
    pool = k8s.create_pool(
        cluster_id=cluster.id, name="default", node_type="PRO2-XXS", autoscaling=False, size=2,
        autohealing=True, public_ip_disabled=False, container_runtime="containerd",
    )
    check(pool.status == "scaling", f"new pool status {pool.status}")
    check(pool.root_volume_size == 20_000_000_000, f"default root volume size {pool.root_volume_size}")
    check(pool.node_type == "pro2_xxs", f"node type normalized, got {pool.node_type}")
    pool = k8s.wait_for_pool(pool_id=pool.id, options=FAST)
    check(pool.status == "ready", f"pool settled in {pool.status}")
    cluster = k8s.wait_for_cluster(cluster_id=cluster.id, options=FAST)
    check(cluster.status == "ready", f"cluster with a ready pool is {cluster.status}")

    step("fetch the kubeconfig")
    # The SDK exposes the download only as `_get_cluster_kube_config` (a ScwFile).
    kubeconfig = k8s._get_cluster_kube_config(cluster_id=cluster.id)
    check(kubeconfig.name == "kubeconfig", f"file name {kubeconfig.name}")
    text = base64.b64decode(kubeconfig.content).decode()
    check("current-context: admin@conformance" in text, f"kubeconfig context: {text[:300]}")
    check(f"/k8s-api/{cluster.id}" in text, f"kubeconfig server should point at the sandbox: {text[:300]}")

    step("create an RDB PostgreSQL instance on the private network and wait")
    engines = rdb.list_database_engines().engines
    check(any(e.name == "PostgreSQL" for e in engines), "PostgreSQL engine offered")
    instance = rdb.create_instance(
        engine="PostgreSQL-16", user_name="admin_user", password="Sup3r-Secret!", node_type="DB-DEV-S",
        is_ha_cluster=False, disable_backup=False, volume_size=0, backup_same_region=False,
        name="conformance-db", volume_type="lssd", tags=["kapstan"],
        init_endpoints=[EndpointSpec(private_network=EndpointSpecPrivateNetwork(
            private_network_id=pn.id, ipam_config=EndpointSpecPrivateNetworkIpamConfig()))],
    )
    check(instance.status == "provisioning", f"new instance status {instance.status}")
    instance = rdb.wait_for_instance(instance_id=instance.id, options=FAST)
    check(instance.status == "ready", f"instance settled in {instance.status}")
    check(len(instance.endpoints) == 1 and instance.endpoints[0].private_network is not None,
          f"only a private endpoint expected, got {instance.endpoints}")

    step("database, user, privileges and ACL rules")
    rdb.create_database(instance_id=instance.id, name="coder")
    rdb.create_user(instance_id=instance.id, name="coder", password="An0ther-Secret!", is_admin=False)
    priv = rdb.set_privilege(instance_id=instance.id, database_name="coder", user_name="coder", permission="all")
    check(priv.permission == "all", f"privilege {priv}")
    rules = rdb.set_instance_acl_rules(instance_id=instance.id, rules=[
        ACLRuleRequest(ip="10.0.0.0/8", description=""),
        ACLRuleRequest(ip="192.168.1.1", description="office"),
    ]).rules
    check(len(rules) == 2, f"ACL rules {rules}")
    check(any(r.description == "IP allowed" for r in rules), "empty ACL description becomes 'IP allowed'")
    instance = rdb.wait_for_instance(instance_id=instance.id, options=FAST)
    check(instance.status == "ready", f"instance after ACL change is {instance.status}")

    step("a manual database backup, waited for, then restored")
    backup = rdb.create_database_backup(instance_id=instance.id, database_name="coder", name="before-upgrade")
    check(backup.status == "creating", f"new backup status {backup.status}")
    expect_status(lambda: rdb.restore_database_backup(database_backup_id=backup.id, instance_id=instance.id),
                  409, "restoring a backup still being created")
    backup = rdb.wait_for_database_backup(database_backup_id=backup.id, options=FAST)
    check(backup.status == "ready" and backup.size, f"backup settled in {backup.status}, size {backup.size}")
    restoring = rdb.restore_database_backup(database_backup_id=backup.id, instance_id=instance.id)
    check(restoring.status == "restoring", f"restore answers the backup restoring, got {restoring.status}")
    backup = rdb.wait_for_database_backup(database_backup_id=backup.id, options=FAST)
    check(backup.status == "ready", f"backup after restore is {backup.status}")
    instance = rdb.wait_for_instance(instance_id=instance.id, options=FAST)

    step("LB flexible IP and an LB on it")
    ip = lb.create_ip(is_ipv6=False, tags=["kapstan"])
    check(ip.reverse.endswith(".lb.fr-par.scw.cloud"), f"default reverse {ip.reverse}")
    balancer = lb.create_lb(description="conformance", type_="LB-S", name="conformance-lb", ip_id=ip.id, tags=["kapstan"])
    check(balancer.status == "to_create", f"new LB status {balancer.status}")
    balancer = lb.wait_for_lb(lb_id=balancer.id, options=FAST)
    check(balancer.status == "ready", f"LB settled in {balancer.status}")
    check(balancer.type_ == "lb-s", f"LB type is returned lower-cased, got {balancer.type_}")
    check([i.id for i in balancer.ip] == [ip.id], f"LB carries its flexible IP, got {balancer.ip}")

    step("list everything with pagination")
    page = vpc.list_private_networks(vpc_id=net.id, page=1, page_size=1)
    check(page.total_count == 2 and len(page.private_networks) == 1, f"page 1 of private networks: {page}")
    page2 = vpc.list_private_networks(vpc_id=net.id, page=2, page_size=1)
    check(len(page2.private_networks) == 1 and page2.private_networks[0].id != page.private_networks[0].id, "page 2 differs")
    check(len(vpc.list_private_networks_all(vpc_id=net.id)) == 2, "all private networks")
    check([c.id for c in k8s.list_clusters_all(name="conform")] == [cluster.id], "clusters by name substring")
    check([p.id for p in k8s.list_pools_all(cluster_id=cluster.id)] == [pool.id], "pools")
    check(len(k8s.list_nodes_all(cluster_id=cluster.id, pool_id=pool.id)) == 2, "nodes of the pool")
    check(any(i.id == instance.id for i in rdb.list_instances_all(tags=["kapstan"])), "instances by tag")
    check([d.name for d in rdb.list_databases_all(instance_id=instance.id)] == ["coder"], "databases")
    check(sorted(u.name for u in rdb.list_users_all(instance_id=instance.id)) == ["admin_user", "coder"], "users")
    check(len(rdb.list_privileges_all(instance_id=instance.id, user_name="coder")) == 1, "privileges")
    check(len(rdb.list_instance_acl_rules_all(instance_id=instance.id)) == 2, "ACL rules")
    check([b.id for b in lb.list_lbs_all(name="conformance")] == [balancer.id], "LBs")
    check(any(i.id == ip.id for i in lb.list_i_ps_all()), "LB IPs")

    step("delete everything in order and see 404s")
    lb.delete_lb(lb_id=balancer.id, release_ip=False)
    expect_404(lambda: lb.get_lb(lb_id=balancer.id), "LB")
    lb.release_ip(ip_id=ip.id)
    expect_404(lambda: lb.get_ip(ip_id=ip.id), "LB IP")
    rdb.delete_database(instance_id=instance.id, name="coder")
    rdb.delete_user(instance_id=instance.id, name="coder")
    rdb.delete_instance(instance_id=instance.id)
    expect_404(lambda: rdb.get_instance(instance_id=instance.id), "RDB instance")
    try:
        vpc.delete_private_network(private_network_id=pn.id)
        check(False, "deleting a private network still used by a cluster must fail")
    except ScalewayException as e:
        check(e.status_code == 412, f"deleting a used private network: expected 412, got {e.status_code}")
    k8s.delete_pool(pool_id=pool.id)
    expect_404(lambda: k8s.get_pool(pool_id=pool.id), "pool")
    k8s.delete_cluster(cluster_id=cluster.id, with_additional_resources=False)
    expect_404(lambda: k8s.get_cluster(cluster_id=cluster.id), "cluster")
    vpc.delete_private_network(private_network_id=pn.id)
    vpc.delete_private_network(private_network_id=spare.id)
    expect_404(lambda: vpc.get_private_network(private_network_id=pn.id), "private network")
    vpc.delete_vpc(vpc_id=net.id)
    expect_404(lambda: vpc.get_vpc(vpc_id=net.id), "VPC")

    dns(client)
    cockpit_steps(client)
    secret_steps(client)
    print(f"OK: {STEPS} steps passed", flush=True)


def rec(name, type_, data, ttl=300):
    return Record(data=data, name=name, priority=0, ttl=ttl, type_=type_, id="")


def dns(client):
    domain = DomainV2Beta1API(client, bypass_validation=True)
    project = client.default_project_id

    step("list DNS zones by domain and by zone name")
    zones = domain.list_dns_zones_all(domain="example.test", project_id=project)
    check([(z.domain, z.subdomain, str(z.status)) for z in zones] == [("example.test", "", "active")], f"zones: {zones}")
    check(domain.list_dns_zones(domain="", dns_zone="example.test").total_count == 1, "zone by dns_zone")
    check(domain.list_dns_zones(domain="nothing.test").total_count == 0, "no zone for another domain")

    step("create a sub-zone; a second time is a conflict")
    sub = domain.create_dns_zone(domain="example.test", subdomain="conformance", project_id=project)
    check(sub.subdomain == "conformance" and str(sub.status) == "active", f"sub-zone: {sub}")
    check(sorted(sub.ns) == ["ns0.dom.scw.cloud", "ns1.dom.scw.cloud"], f"name servers: {sub.ns}")
    try:
        domain.create_dns_zone(domain="example.test", subdomain="conformance", project_id=project)
        check(False, "creating an existing zone must fail")
    except ScalewayException as e:
        check(e.status_code == 409, f"existing zone: expected 409, got {e.status_code}")

    step("add records, set one by id_fields, delete one by id")
    added = domain.update_dns_zone_records(
        dns_zone="example.test", disallow_new_zone_creation=True, return_all_records=False,
        changes=[RecordChange(add=RecordChangeAdd(records=[
            rec("coder", "A", "192.0.2.1"), rec("*.coder", "A", "192.0.2.1"),
            rec("_acme-challenge.coder", "TXT", '"challenge"', 60),
        ] + [rec(f"host{i}", "A", f"192.0.2.{10 + i}") for i in range(25)]))],
    ).records
    check(len(added) == 28, f"added records: {len(added)}")
    check({str(r.type_).upper() for r in added} == {"A", "TXT"}, f"types: {[r.type_ for r in added]}")
    updated = domain.update_dns_zone_records(
        dns_zone="example.test", disallow_new_zone_creation=True, return_all_records=True,
        changes=[RecordChange(set_=RecordChangeSet(
            id_fields=RecordIdentifier(name="coder", type_="A"), records=[rec("coder", "A", "192.0.2.2")]))],
    ).records
    check([r.data for r in updated if r.name == "coder"] == ["192.0.2.2"], "set by id_fields")
    check(len(updated) == 30, f"return_all_records: {len(updated)} (28 records and 2 NS)")
    txt = [r for r in updated if str(r.type_).upper() == "TXT"][0]
    domain.update_dns_zone_records(dns_zone="example.test", disallow_new_zone_creation=True,
                                   changes=[RecordChange(delete=RecordChangeDelete(id=txt.id))])

    step("list records by name and type, and page through them")
    coder = domain.list_dns_zone_records(dns_zone="example.test", name="coder", type_="A")
    check(coder.total_count == 1 and coder.records[0].data == "192.0.2.2", f"coder: {coder}")
    page = domain.list_dns_zone_records(dns_zone="example.test", name="", page=2, page_size=10)
    check(page.total_count == 29 and len(page.records) == 10, f"page 2: {page.total_count}, {len(page.records)}")
    check(len(domain.list_dns_zone_records_all(dns_zone="example.test", name="")) == 29, "all records")
    check(domain.list_dns_zone_records(dns_zone="example.test", name="_acme-challenge.coder").total_count == 0,
          "deleted TXT record")

    step("zone versions, diff and restore")
    versions = domain.list_dns_zone_versions_all(dns_zone="example.test")
    check(len(versions) == 4, f"versions: {len(versions)}")
    oldest = versions[-1]
    check(len(domain.list_dns_zone_version_records_all(dns_zone_version_id=oldest.id)) == 2, "first version: NS only")
    diff = domain.get_dns_zone_version_diff(dns_zone_version_id=oldest.id)
    check(len([c for c in diff.changes if c.delete is not None]) == 27, f"diff: {len(diff.changes)} changes")
    domain.restore_dns_zone_version(dns_zone_version_id=oldest.id)
    check(len(domain.list_dns_zone_records_all(dns_zone="example.test", name="")) == 2, "restored")

    step("clear the sub-zone, delete it and see 404s")
    domain.update_dns_zone_records(dns_zone="conformance.example.test", disallow_new_zone_creation=True,
                                   changes=[RecordChange(clear=RecordChangeClear())])
    check(domain.list_dns_zone_records(dns_zone="conformance.example.test", name="").total_count == 0, "cleared")
    domain.delete_dns_zone(dns_zone="conformance.example.test", project_id=project)
    expect_404(lambda: domain.list_dns_zone_records(dns_zone="conformance.example.test", name=""), "sub-zone")
    try:
        domain.update_dns_zone_records(dns_zone="missing.test", disallow_new_zone_creation=True,
                                       changes=[RecordChange(add=RecordChangeAdd(records=[rec("a", "A", "192.0.2.9")]))])
        check(False, "changing records of a missing zone must fail")
    except ScalewayException as e:
        check(e.status_code == 404, f"missing zone: expected 404, got {e.status_code}")


if __name__ == "__main__":
    main()
