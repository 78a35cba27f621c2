//! Typed Kapsule calls.

use super::ListFilter;
use crate::scaleway::client::error::Result;
use crate::scaleway::client::http::{Api, Client};
use crate::scaleway::client::locality::Region;
use crate::scaleway::client::query::{Query, path_segment as seg};
use crate::scaleway::client::secret::SecretString;
use crate::scaleway::client::wire::common::File;
use crate::scaleway::client::wire::k8s::*;

/// Kapsule (`k8s/v1`) calls in one region.
#[derive(Debug, Clone)]
pub struct K8sApi<'c> {
    client: &'c Client,
    region: Region,
}

impl<'c> K8sApi<'c> {
    pub(crate) fn new(client: &'c Client, region: Region) -> Self {
        Self { client, region }
    }

    /// The region of these calls.
    pub fn region(&self) -> &Region {
        &self.region
    }

    /// `GET /versions`, newest first.
    pub async fn list_versions(&self) -> Result<Vec<Version>> {
        let r: ListVersionsResponse = self.client.get(Api::K8s, &self.region, "/versions").await?;
        Ok(r.versions)
    }

    /// `GET /versions/{name}`.
    pub async fn get_version(&self, name: &str) -> Result<Version> {
        self.client
            .get(Api::K8s, &self.region, &format!("/versions/{}", seg(name)))
            .await
    }

    /// `POST /clusters` (never retried blindly).
    pub async fn create_cluster(&self, req: &CreateClusterRequest) -> Result<Cluster> {
        self.client
            .post(Api::K8s, &self.region, "/clusters", req)
            .await
    }

    /// `GET /clusters/{id}`.
    pub async fn get_cluster(&self, id: &str) -> Result<Cluster> {
        self.client
            .get(Api::K8s, &self.region, &format!("/clusters/{}", seg(id)))
            .await
    }

    /// `GET /clusters`, all pages. Extra filters: `private_network_id`, `status`, `type`.
    pub async fn list_clusters(&self, filter: &ListFilter) -> Result<Vec<Cluster>> {
        self.client
            .list_all::<ListClustersResponse>(
                Api::K8s,
                &self.region,
                "/clusters",
                filter.to_query(),
            )
            .await
    }

    /// `PATCH /clusters/{id}`.
    pub async fn update_cluster(&self, id: &str, req: &UpdateClusterRequest) -> Result<Cluster> {
        self.client
            .patch(
                Api::K8s,
                &self.region,
                &format!("/clusters/{}", seg(id)),
                req,
            )
            .await
    }

    /// `DELETE /clusters/{id}?with_additional_resources=…` (200 with the cluster `deleting`).
    /// Pass `false` for clusters on a private network kapstan manages.
    pub async fn delete_cluster(
        &self,
        id: &str,
        with_additional_resources: bool,
    ) -> Result<Cluster> {
        self.client
            .delete(
                Api::K8s,
                &self.region,
                &format!("/clusters/{}", seg(id)),
                Query::new().push("with_additional_resources", with_additional_resources),
            )
            .await
    }

    /// `POST /clusters/{id}/upgrade`.
    pub async fn upgrade_cluster(&self, id: &str, req: &UpgradeClusterRequest) -> Result<Cluster> {
        self.client
            .post(
                Api::K8s,
                &self.region,
                &format!("/clusters/{}/upgrade", seg(id)),
                req,
            )
            .await
    }

    /// `POST /clusters/{id}/set-type`.
    pub async fn set_cluster_type(&self, id: &str, cluster_type: &str) -> Result<Cluster> {
        let req = SetClusterTypeRequest {
            cluster_type: cluster_type.to_owned(),
        };
        self.client
            .post(
                Api::K8s,
                &self.region,
                &format!("/clusters/{}/set-type", seg(id)),
                &req,
            )
            .await
    }

    /// `GET /clusters/{id}/available-versions`: the allowed upgrade targets.
    pub async fn list_cluster_available_versions(&self, id: &str) -> Result<Vec<Version>> {
        let r: ListVersionsResponse = self
            .client
            .get(
                Api::K8s,
                &self.region,
                &format!("/clusters/{}/available-versions", seg(id)),
            )
            .await?;
        Ok(r.versions)
    }

    /// `GET /clusters/{id}/available-types`.
    pub async fn list_cluster_available_types(&self, id: &str) -> Result<Vec<ClusterType>> {
        self.client
            .list_all::<ListClusterTypesResponse>(
                Api::K8s,
                &self.region,
                &format!("/clusters/{}/available-types", seg(id)),
                Query::new(),
            )
            .await
    }

    /// `GET /clusters/{id}/kubeconfig`, decoded: the kubeconfig YAML (sensitive).
    pub async fn get_kubeconfig(&self, id: &str) -> Result<SecretString> {
        let path = format!("/clusters/{}/kubeconfig", seg(id));
        let file: File = self.client.get(Api::K8s, &self.region, &path).await?;
        file.decode()
            .map_err(|e| crate::scaleway::client::Error::Decode {
                method: "GET".into(),
                path,
                status: 200,
                detail: format!("kubeconfig content is not base64: {e}"),
            })
    }

    /// `POST /clusters/{id}/pools` (never retried blindly; pool names are unique per cluster,
    /// so an ambiguous create is resolved by listing pools by name).
    pub async fn create_pool(&self, cluster_id: &str, req: &CreatePoolRequest) -> Result<Pool> {
        self.client
            .post(
                Api::K8s,
                &self.region,
                &format!("/clusters/{}/pools", seg(cluster_id)),
                req,
            )
            .await
    }

    /// `GET /pools/{id}`.
    pub async fn get_pool(&self, id: &str) -> Result<Pool> {
        self.client
            .get(Api::K8s, &self.region, &format!("/pools/{}", seg(id)))
            .await
    }

    /// `GET /clusters/{id}/pools`, all pages.
    pub async fn list_pools(&self, cluster_id: &str, filter: &ListFilter) -> Result<Vec<Pool>> {
        self.client
            .list_all::<ListPoolsResponse>(
                Api::K8s,
                &self.region,
                &format!("/clusters/{}/pools", seg(cluster_id)),
                filter.to_query(),
            )
            .await
    }

    /// `PATCH /pools/{id}`.
    pub async fn update_pool(&self, id: &str, req: &UpdatePoolRequest) -> Result<Pool> {
        self.client
            .patch(Api::K8s, &self.region, &format!("/pools/{}", seg(id)), req)
            .await
    }

    /// `DELETE /pools/{id}` (200 with the pool `deleting`).
    pub async fn delete_pool(&self, id: &str) -> Result<Pool> {
        self.client
            .delete(
                Api::K8s,
                &self.region,
                &format!("/pools/{}", seg(id)),
                Query::new(),
            )
            .await
    }

    /// `POST /pools/{id}/upgrade` to the cluster's version.
    pub async fn upgrade_pool(&self, id: &str, version: &str) -> Result<Pool> {
        let body = serde_json::json!({ "version": version });
        self.client
            .post(
                Api::K8s,
                &self.region,
                &format!("/pools/{}/upgrade", seg(id)),
                &body,
            )
            .await
    }

    /// `PUT /pools/{id}/set-labels`.
    pub async fn set_pool_labels(&self, id: &str, req: &SetPoolLabelsRequest) -> Result<Pool> {
        self.client
            .put(
                Api::K8s,
                &self.region,
                &format!("/pools/{}/set-labels", seg(id)),
                req,
            )
            .await
    }

    /// `PUT /pools/{id}/set-taints`.
    pub async fn set_pool_taints(&self, id: &str, req: &SetPoolTaintsRequest) -> Result<Pool> {
        self.client
            .put(
                Api::K8s,
                &self.region,
                &format!("/pools/{}/set-taints", seg(id)),
                req,
            )
            .await
    }

    /// `PUT /pools/{id}/set-startup-taints`.
    pub async fn set_pool_startup_taints(
        &self,
        id: &str,
        req: &SetPoolStartupTaintsRequest,
    ) -> Result<Pool> {
        self.client
            .put(
                Api::K8s,
                &self.region,
                &format!("/pools/{}/set-startup-taints", seg(id)),
                req,
            )
            .await
    }

    /// `GET /clusters/{id}/nodes`, all pages; `pool_id` narrows to one pool.
    pub async fn list_nodes(&self, cluster_id: &str, pool_id: Option<&str>) -> Result<Vec<Node>> {
        self.client
            .list_all::<ListNodesResponse>(
                Api::K8s,
                &self.region,
                &format!("/clusters/{}/nodes", seg(cluster_id)),
                Query::new().opt("pool_id", pool_id),
            )
            .await
    }

    /// `GET /nodes/{id}`.
    pub async fn get_node(&self, id: &str) -> Result<Node> {
        self.client
            .get(Api::K8s, &self.region, &format!("/nodes/{}", seg(id)))
            .await
    }
}
