//! Typed Kapsule calls.

use reqwest::Method;

use super::ListFilter;
use crate::scaleway::client::error::Result;
use crate::scaleway::client::http::Api;
use crate::scaleway::client::locality::Region;
use crate::scaleway::client::query::{Query, path_segment as seg};
use crate::scaleway::client::secret::SecretString;
use crate::scaleway::client::wire::common::File;
use crate::scaleway::client::wire::k8s::*;

scoped_api! {
    /// Kapsule (`k8s/v1`) calls in one region.
    K8sApi(Api::K8s, region: Region) {
        /// `GET /versions/{name}`.
        get get_version("/versions" / name) -> Version;

        /// Extra list filters: `private_network_id`, `status`, `type`. Delete answers 200 with
        /// the cluster `deleting`; pass `with_additional_resources` false for clusters on a
        /// private network kapstan manages.
        resource "/clusters" => Cluster { create_cluster(CreateClusterRequest), get_cluster,
            list_clusters(ListClustersResponse), patch update_cluster(UpdateClusterRequest),
            delete_cluster(with_additional_resources: bool) -> Cluster };
        /// `POST /clusters/{id}/upgrade`.
        post upgrade_cluster("/clusters" / id / "upgrade", UpgradeClusterRequest) -> Cluster;
        /// `GET /clusters/{id}/available-types`.
        list list_cluster_available_types("/clusters" / id / "available-types")
            -> Vec<ClusterType> from ListClusterTypesResponse;

        /// `POST /clusters/{id}/pools` (never retried blindly; pool names are unique per cluster,
        /// so an ambiguous create is resolved by listing pools by name).
        post create_pool("/clusters" / cluster_id / "pools", CreatePoolRequest) -> Pool;
        /// `GET /pools/{id}`.
        get get_pool("/pools" / id) -> Pool;
        /// `GET /clusters/{id}/pools`, all pages.
        list list_pools("/clusters" / cluster_id / "pools", filter: &ListFilter)
            -> Vec<Pool> from ListPoolsResponse;
        /// `PATCH /pools/{id}`.
        patch update_pool("/pools" / id, UpdatePoolRequest) -> Pool;
        /// `DELETE /pools/{id}` (200 with the pool `deleting`).
        delete delete_pool("/pools" / id) -> Pool;
        /// `PUT /pools/{id}/set-labels`.
        put set_pool_labels("/pools" / id / "set-labels", SetPoolLabelsRequest) -> Pool;
        /// `PUT /pools/{id}/set-taints`.
        put set_pool_taints("/pools" / id / "set-taints", SetPoolTaintsRequest) -> Pool;
        /// `PUT /pools/{id}/set-startup-taints`.
        put set_pool_startup_taints("/pools" / id / "set-startup-taints", SetPoolStartupTaintsRequest)
            -> Pool;

        /// `GET /nodes/{id}`.
        get get_node("/nodes" / id) -> Node;
    }
}

impl K8sApi<'_> {
    /// `GET /versions`, newest first.
    pub async fn list_versions(&self) -> Result<Vec<Version>> {
        let at = self.at();
        let r: ListVersionsResponse = at.send(at.request(Method::GET, "/versions")).await?;
        Ok(r.versions)
    }

    /// `POST /clusters/{id}/set-type`.
    pub async fn set_cluster_type(&self, id: &str, cluster_type: &str) -> Result<Cluster> {
        let req = SetClusterTypeRequest {
            cluster_type: cluster_type.to_owned(),
        };
        let path = format!("/clusters/{}/set-type", seg(id));
        self.at().send_json(Method::POST, &path, &req).await
    }

    /// `GET /clusters/{id}/available-versions`: the allowed upgrade targets.
    pub async fn list_cluster_available_versions(&self, id: &str) -> Result<Vec<Version>> {
        let at = self.at();
        let path = format!("/clusters/{}/available-versions", seg(id));
        let r: ListVersionsResponse = at.send(at.request(Method::GET, &path)).await?;
        Ok(r.versions)
    }

    /// `GET /clusters/{id}/kubeconfig`, decoded: the kubeconfig YAML (sensitive).
    pub async fn get_kubeconfig(&self, id: &str) -> Result<SecretString> {
        let at = self.at();
        let path = format!("/clusters/{}/kubeconfig", seg(id));
        let file: File = at.send(at.request(Method::GET, &path)).await?;
        file.decode()
            .map_err(|e| crate::scaleway::client::Error::Decode {
                method: "GET".into(),
                path,
                status: 200,
                detail: format!("kubeconfig content is not base64: {e}"),
            })
    }

    /// `POST /pools/{id}/upgrade` to the cluster's version.
    pub async fn upgrade_pool(&self, id: &str, version: &str) -> Result<Pool> {
        let body = serde_json::json!({ "version": version });
        let path = format!("/pools/{}/upgrade", seg(id));
        self.at().send_json(Method::POST, &path, &body).await
    }

    /// `GET /clusters/{id}/nodes`, all pages; `pool_id` narrows to one pool.
    pub async fn list_nodes(&self, cluster_id: &str, pool_id: Option<&str>) -> Result<Vec<Node>> {
        let path = format!("/clusters/{}/nodes", seg(cluster_id));
        self.at()
            .list::<ListNodesResponse>(&path, Query::new().opt("pool_id", pool_id))
            .await
    }
}
