//! Typed calls per API: `client.k8s(&region)`, `client.rdb(&region)`, `client.lb(&zone)`,
//! `client.vpc(&region)`, `client.vpcgw(&zone)`, `client.ipam(&region)`.
//!
//! Every `list_*` fetches all pages. Deletes return the API's answer; a 404 is an error with
//! [`Error::is_not_found`](super::Error::is_not_found) true, which drivers treat as done.
//!
//! An API handle is declared once with `scoped_api!` (struct, constructor, locality
//! accessor) together with its regular calls, one `endpoints!` entry each (a table of
//! method, name, path and types; one `resource` line for the usual create/get/list/update/
//! delete five); only calls with logic of their own are written out by hand.

/// Declares the handle of one API in one region or zone: the struct holding the client and
/// the locality, `new`, the public locality accessor and the private `at()` the calls go
/// through; an optional `{ … }` after it holds the handle's `endpoints!` table.
macro_rules! scoped_api {
    ($(#[$m:meta])* $name:ident($api:expr, $field:ident: $loc:ty) $({ $($calls:tt)* })?) => {
        $(#[$m])*
        #[derive(Debug, Clone)]
        pub struct $name<'c> {
            client: &'c $crate::scaleway::client::http::Client,
            $field: $loc,
        }

        impl<'c> $name<'c> {
            pub(crate) fn new(client: &'c $crate::scaleway::client::http::Client, $field: $loc) -> Self {
                Self { client, $field }
            }

            #[doc = concat!("The ", stringify!($field), " of these calls.")]
            pub fn $field(&self) -> &$loc {
                &self.$field
            }

            /// This API in this locality, for the calls.
            fn at(&self) -> $crate::scaleway::client::api::At<'c> {
                $crate::scaleway::client::api::At::new(self.client, $api, &self.$field)
            }

            $(endpoints! { $($calls)* })?
        }
    };
}

/// Declares typed calls inside an `impl` of a `scoped_api!` handle, one entry per call:
///
/// ```text
/// /// `GET /clusters/{id}/pools`, all pages.
/// list list_pools("/clusters" / cluster_id / "pools", filter: &ListFilter) -> Vec<Pool> from ListPoolsResponse;
/// post create_vpc("/vpcs", CreateVpcRequest) -> Vpc;         // also patch, put: JSON body
/// get get_vpc("/vpcs" / id) -> Vpc;
/// delete delete_lb("/lbs" / id, release_ip: bool) -> ();      // optional query parameter
/// ```
///
/// A path is a literal, optionally `/ ident` (a `&str` argument, escaped as one segment) and
/// `/ "tail"`; a list's filter is any type with `to_query()`.
///
/// A resource with the usual five calls at `head` and `head/{id}` (create, get, list with a
/// [`ListFilter`], update, delete) is one `resource` entry; its doc comment is appended to
/// each call's generated `METHOD path` line:
///
/// ```text
/// resource "/vpcs" => Vpc { create_vpc(CreateVpcRequest), get_vpc, list_vpcs(ListVpcsResponse), patch update_vpc(UpdateVpcRequest), delete_vpc -> () };
/// resource "/lbs" => Lb { ..., put update_lb(UpdateLbRequest), delete_lb(release_ip: bool) -> () };
/// ```
macro_rules! endpoints {
    () => {};
    (@verb patch) => { "PATCH" };
    (@verb put) => { "PUT" };
    (
        $(#[$m:meta])* resource $head:literal => $item:ty {
            $create:ident($creq:ty), $get:ident, $list:ident($lresp:ty),
            $verb:ident $update:ident($ureq:ty),
            $delete:ident $(($param:ident: $param_ty:ty))? -> $dret:ty
        };
        $($rest:tt)*
    ) => {
        endpoints! {
            #[doc = concat!("`POST ", $head, "` (never retried blindly).")]
            $(#[$m])*
            post $create($head, $creq) -> $item;
            #[doc = concat!("`GET ", $head, "/{id}`.")]
            $(#[$m])*
            get $get($head / id) -> $item;
            #[doc = concat!("`GET ", $head, "`, all pages.")]
            $(#[$m])*
            list $list($head, filter: &$crate::scaleway::client::api::ListFilter) -> Vec<$item> from $lresp;
            #[doc = concat!("`", endpoints!(@verb $verb), " ", $head, "/{id}`.")]
            $(#[$m])*
            $verb $update($head / id, $ureq) -> $item;
            #[doc = concat!("`DELETE ", $head, "/{id}", $("?", stringify!($param), "=…",)? "`.")]
            $(#[$m])*
            delete $delete($head / id $(, $param: $param_ty)?) -> $dret;
        }
        endpoints!($($rest)*);
    };
    (@path $head:literal) => { ::std::string::String::from($head) };
    (@path $head:literal / $id:ident) => {
        format!(concat!($head, "/{}"), $crate::scaleway::client::query::path_segment($id))
    };
    (@path $head:literal / $id:ident / $tail:literal) => {
        format!(concat!($head, "/{}/", $tail), $crate::scaleway::client::query::path_segment($id))
    };
    (@query) => { $crate::scaleway::client::query::Query::new() };
    (@query $filter:ident) => { $filter.to_query() };
    (@method post) => { ::reqwest::Method::POST };
    (@method patch) => { ::reqwest::Method::PATCH };
    (@method put) => { ::reqwest::Method::PUT };
    (
        $(#[$m:meta])* get $name:ident($head:literal $(/ $id:ident $(/ $tail:literal)?)?) -> $ret:ty;
        $($rest:tt)*
    ) => {
        $(#[$m])*
        pub async fn $name(&self $(, $id: &str)?) -> $crate::scaleway::client::error::Result<$ret> {
            let at = self.at();
            at.send(at.request(::reqwest::Method::GET, &endpoints!(@path $head $(/ $id $(/ $tail)?)?))).await
        }
        endpoints!($($rest)*);
    };
    (
        $(#[$m:meta])* list $name:ident(
            $head:literal $(/ $id:ident $(/ $tail:literal)?)? $(, $filter:ident: $filter_ty:ty)?
        ) -> Vec<$item:ty> from $resp:ty;
        $($rest:tt)*
    ) => {
        $(#[$m])*
        pub async fn $name(&self $(, $id: &str)? $(, $filter: $filter_ty)?)
            -> $crate::scaleway::client::error::Result<Vec<$item>> {
            self.at()
                .list::<$resp>(&endpoints!(@path $head $(/ $id $(/ $tail)?)?), endpoints!(@query $($filter)?))
                .await
        }
        endpoints!($($rest)*);
    };
    (
        $(#[$m:meta])* delete $name:ident(
            $head:literal $(/ $id:ident $(/ $tail:literal)?)? $(, $param:ident: $param_ty:ty)?
        ) -> $ret:ty;
        $($rest:tt)*
    ) => {
        $(#[$m])*
        pub async fn $name(&self $(, $id: &str)? $(, $param: $param_ty)?)
            -> $crate::scaleway::client::error::Result<$ret> {
            let at = self.at();
            let query = $crate::scaleway::client::query::Query::new()
                $(.push(stringify!($param), $param))?;
            at.send(at.request(::reqwest::Method::DELETE, &endpoints!(@path $head $(/ $id $(/ $tail)?)?)).query(query))
                .await
        }
        endpoints!($($rest)*);
    };
    (
        $(#[$m:meta])* $verb:ident $name:ident(
            $head:literal $(/ $id:ident $(/ $tail:literal)?)?, $req:ty
        ) -> $ret:ty;
        $($rest:tt)*
    ) => {
        $(#[$m])*
        pub async fn $name(&self $(, $id: &str)?, req: &$req) -> $crate::scaleway::client::error::Result<$ret> {
            self.at()
                .send_json(endpoints!(@method $verb), &endpoints!(@path $head $(/ $id $(/ $tail)?)?), req)
                .await
        }
        endpoints!($($rest)*);
    };
}

pub mod cockpit;
pub mod domain;
pub mod ipam;
pub mod k8s;
pub mod lb;
pub mod rdb;
pub mod vpc;
pub mod vpcgw;

use serde::Serialize;
use serde::de::DeserializeOwned;

use super::error::Result;
use super::http::{Api, Client, Request};
use super::locality::{Locality, Region, Zone};
use super::pagination::Paginated;
use super::query::Query;

pub use cockpit::CockpitApi;
pub use domain::DomainApi;
pub use ipam::{IpamApi, IpamIpFilter};
pub use k8s::K8sApi;
pub use lb::LbApi;
pub use rdb::RdbApi;
pub use vpc::VpcApi;
pub use vpcgw::VpcGwApi;

/// Filters common to list endpoints. Name filters are substring matches on the server:
/// callers must re-check equality. Tag filters match resources carrying all given tags.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ListFilter {
    /// Only resources of this project.
    pub project_id: Option<String>,
    /// Name substring.
    pub name: Option<String>,
    /// Resources carrying every one of these tags.
    pub tags: Vec<String>,
    /// Endpoint-specific parameters (`private_network_id`, `pool_id`, `order_by`…).
    pub extra: Query,
}

impl ListFilter {
    /// A filter on tags only (how drivers find what they created).
    pub fn tags<I, S>(tags: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        Self {
            tags: tags.into_iter().map(Into::into).collect(),
            ..Self::default()
        }
    }

    /// A filter on a name substring.
    pub fn name(name: impl Into<String>) -> Self {
        Self {
            name: Some(name.into()),
            ..Self::default()
        }
    }

    /// Adds an endpoint-specific parameter.
    pub fn with(mut self, key: &str, value: impl std::fmt::Display) -> Self {
        self.extra = self.extra.push(key, value);
        self
    }

    pub(crate) fn to_query(&self) -> Query {
        let mut q = Query::new()
            .opt("project_id", self.project_id.as_deref())
            .opt("name", self.name.as_deref())
            .each("tags", &self.tags);
        for (k, v) in self.extra.pairs() {
            q = q.push(k, v);
        }
        q
    }
}

impl Client {
    /// Kapsule calls in `region`.
    pub fn k8s(&self, region: &Region) -> K8sApi<'_> {
        K8sApi::new(self, region.clone())
    }

    /// Managed Database calls in `region`.
    pub fn rdb(&self, region: &Region) -> RdbApi<'_> {
        RdbApi::new(self, region.clone())
    }

    /// Load Balancer calls in `zone`.
    pub fn lb(&self, zone: &Zone) -> LbApi<'_> {
        LbApi::new(self, zone.clone())
    }

    /// VPC calls in `region`.
    pub fn vpc(&self, region: &Region) -> VpcApi<'_> {
        VpcApi::new(self, region.clone())
    }

    /// Public Gateway calls in `zone`.
    pub fn vpcgw(&self, zone: &Zone) -> VpcGwApi<'_> {
        VpcGwApi::new(self, zone.clone())
    }

    /// Domains and DNS calls (global).
    pub fn domain(&self) -> DomainApi<'_> {
        DomainApi::new(self)
    }

    /// Cockpit calls in `region`.
    pub fn cockpit(&self, region: &Region) -> CockpitApi<'_> {
        CockpitApi::new(self, region.clone())
    }

    /// IPAM calls in `region`.
    pub fn ipam(&self, region: &Region) -> IpamApi<'_> {
        IpamApi::new(self, region.clone())
    }
}

/// One API in one locality: what every typed call of a `scoped_api!` handle builds its
/// request from.
#[derive(Debug, Clone)]
pub(crate) struct At<'c> {
    client: &'c Client,
    api: Api,
    locality: Locality,
}

impl<'c> At<'c> {
    pub(crate) fn new(client: &'c Client, api: Api, locality: impl Into<Locality>) -> Self {
        Self {
            client,
            api,
            locality: locality.into(),
        }
    }

    /// A request to `path` of this API and locality, without query or body.
    pub(crate) fn request(&self, method: reqwest::Method, path: &str) -> Request {
        Request::new(method, self.api, self.locality.clone(), path)
    }

    /// Sends `req` and decodes the answer (see [`Client::send`]).
    pub(crate) async fn send<T: DeserializeOwned>(&self, req: Request) -> Result<T> {
        self.client.send(req).await
    }

    /// Sends `method` to `path` with the JSON `body` and decodes the answer.
    pub(crate) async fn send_json<T: DeserializeOwned>(
        &self,
        method: reqwest::Method,
        path: &str,
        body: &(impl Serialize + ?Sized),
    ) -> Result<T> {
        self.send(self.request(method, path).json(body)?).await
    }

    /// Every page of the list at `path` (see [`Client::list_all`]).
    pub(crate) async fn list<R: Paginated>(
        &self,
        path: &str,
        query: Query,
    ) -> Result<Vec<R::Item>> {
        self.client
            .list_all::<R>(self.api, self.locality.clone(), path, query)
            .await
    }
}
