//! Instance `instance/v1` (zoned), read-only and limited to what Kapsule exposes: the server
//! behind each pool node (`provider_id` `scaleway://instance/{zone}/{server_id}`), which
//! Terraform reads after a pool is ready (observed in the recorded traffic).

use axum::Router;
use axum::extract::{Path, State};
use axum::routing::get;
use serde_json::json;

use super::{ipam, k8s};
use crate::server::Shared;
use crate::wire::{ApiError, ApiResult, ZONES, check_zone, ok};

pub(super) fn routes() -> Router<Shared> {
    Router::new().route("/instance/v1/zones/{zone}/servers/{id}", get(get_server))
}

async fn get_server(
    State(st): State<Shared>,
    Path((zone, id)): Path<(String, String)>,
) -> ApiResult {
    check_zone(&zone, ZONES)?;
    let provider_id = format!("scaleway://instance/{zone}/{id}");
    ok(st.read(|s, now| {
        let node = s
            .list(k8s::NODE, now)
            .into_iter()
            .find(|n| n.str("provider_id") == provider_id)
            .ok_or_else(|| ApiError::not_found("instance_server", &id))?;
        let pool = s.get(k8s::POOL, node.str("pool_id"), now);
        let cluster = s.get(k8s::CLUSTER, node.str("cluster_id"), now);
        let project = cluster.map(|c| c.str("project_id").to_string()).unwrap_or_default();
        let pn = cluster.map(|c| c.str("private_network_id").to_string()).unwrap_or_default();
        let name = node.str("name");
        let created = node.str("created_at");
        let ipam_ids: Vec<String> = s
            .children(ipam::IP, k8s::NODE, &node.id, now)
            .iter()
            .map(|ip| ip.id.clone())
            .collect();
        let nic_id = s
            .children(ipam::IP, k8s::NODE, &node.id, now)
            .first()
            .and_then(|ip| ip.body["resource"]["id"].as_str().map(str::to_string))
            .unwrap_or_default();
        let public_ip = node.body["public_ip_v4"].as_str().map(|address| {
            json!({"id": node.id, "address": address, "dynamic": false, "gateway": "62.210.0.1", "netmask": "32", "family": "inet", "provisioning_mode": "dhcp", "tags": [format!("kapsule={}", node.str("cluster_id"))], "state": "attached", "ipam_id": node.id})
        });
        let tags = vec![
            format!("kapsule={}", node.str("cluster_id")),
            format!("pool={}", node.str("pool_id")),
            format!("pool-name={}", pool.map(|p| p.str("name")).unwrap_or("")),
            "managed=true".to_string(),
            format!("node={}", node.id),
        ];
        let state = if node.status(now) == "ready" { "running" } else { "starting" };
        let image = json!({"id": "26ed5fcc-53e8-415b-807d-f4a284d55d87", "name": "k8s_base_node_instance", "organization": project, "project": project,
                "root_volume": {"volume_type": "sbs_snapshot", "id": "eb7e3383-7b15-4189-b284-a2bba45cb2b5", "size": 0, "name": ""},
                "extra_volumes": {}, "public": true, "arch": "x86_64", "creation_date": created, "modification_date": created,
                "default_bootscript": null, "from_server": "", "state": "available", "tags": [], "zone": zone});
        let nics = json!([{"id": nic_id, "private_network_id": pn, "server_id": id, "mac_address": "02:00:00:14:ae:dd", "state": "available",
                "creation_date": created, "modification_date": created, "zone": zone, "tags": [], "ipam_ip_ids": ipam_ids}]);
        Ok::<_, ApiError>(json!({"server": {
            "id": id, "name": name, "arch": "x86_64",
            "commercial_type": pool.map(|p| p.str("node_type").to_ascii_uppercase().replace('_', "-")).unwrap_or_default(),
            "boot_type": "local", "organization": project, "project": project, "hostname": name,
            "image": image,
            // Block (sbs) volumes are described by the Block Storage API; the Instance API
            // leaves their name, size, owner and dates null.
            "volumes": {"0": {"boot": true, "volume_type": "sbs_volume", "id": node.id, "state": "available", "zone": zone,
                "name": null, "export_uri": null, "organization": null, "project": null, "server": null, "size": null,
                "creation_date": null, "modification_date": null}},
            "tags": tags, "state": state, "protected": false, "state_detail": "booting kernel",
            "public_ip": public_ip, "public_ips": public_ip.clone().into_iter().collect::<Vec<_>>(),
            "mac_address": "de:00:00:ea:c8:7d", "routed_ip_enabled": true, "ipv6": null, "extra_networks": [],
            "dynamic_ip_required": false, "enable_ipv6": false, "private_ip": null,
            "creation_date": created, "modification_date": created, "bootscript": null,
            "security_group": {"id": pool.map(|p| p.str("security_group_id")).unwrap_or(""), "name": "Kapsule default security group"},
            "location": {"zone_id": zone, "platform_id": "14", "cluster_id": "59", "hypervisor_id": "401", "node_id": "26"},
            "maintenances": [], "allowed_actions": ["poweroff", "terminate", "reboot", "stop_in_place", "backup"],
            "placement_group": null,
            "private_nics": nics,
            "zone": zone, "filesystems": [], "end_of_service": false,
            "admin_password_encryption_ssh_key_id": null, "admin_password_encrypted_value": null, "dns": format!("{id}.pub.instances.scw.cloud"),
        }}))
    })?)
}
