//! Serde types of the Scaleway APIs kapstan drives, one module per API.
//!
//! Response types tolerate unknown fields (ignored) and missing ones (`#[serde(default)]`);
//! every enum is open ([`Unknown(String)`](k8s::ClusterStatus::Unknown) keeps new values).
//! Request types omit `None` fields, which PATCH endpoints read as "leave unchanged".
//!
//! The fields most resources share (`id`, `name`, `project_id`, `tags`, `created_at`,
//! `description`, `private_network_id`…) are declared once, in `wire_struct!`: a struct
//! written with it names them `@id`, `@tags` (or `@tags?` for the optional,
//! omitted-when-`None` field of an update request) among its own fields, in the API's order,
//! and gets ordinary public fields of the same names.

/// Declares a wire struct whose fields may include shared ones by name (`@id`, `@name?`):
/// each shared field has one type and one doc across every API, from the table at the end.
///
/// A first marker may declare which way the struct travels, so that the rule of the module
/// doc is written once instead of as derives and serde attributes on every struct:
/// - `#[response]`: a type the API answers with, decoded leniently (`#[serde(default)]`:
///   a field the API omits reads as its default instead of failing the whole answer);
/// - `#[request]`: a type kapstan sends, with every `Option` field of the struct's own
///   omitted when `None`;
/// - `#[skip_serializing_none]` (as serde_with's): that omission alone, for a struct that
///   spells out its derives (one that is both sent and received).
macro_rules! wire_struct {
    (#[response] $(#[$m:meta])* pub struct $name:ident { $($body:tt)* }) => {
        wire_struct! {
            $(#[$m])*
            #[derive(Debug, Clone, Default, PartialEq, ::serde::Serialize, ::serde::Deserialize)]
            #[serde(default)]
            pub struct $name { $($body)* }
        }
    };
    (#[request] $(#[$m:meta])* pub struct $name:ident { $($body:tt)* }) => {
        wire_struct! {
            #[skip_serializing_none]
            $(#[$m])*
            #[derive(Debug, Clone, Default, PartialEq, ::serde::Serialize)]
            pub struct $name { $($body)* }
        }
    };
    (#[skip_serializing_none] $(#[$m:meta])* pub struct $name:ident { $($body:tt)* }) => {
        wire_struct!(@munch skip_none [$(#[$m])* pub struct $name] [] $($body)*);
    };
    ($(#[$m:meta])* pub struct $name:ident { $($body:tt)* }) => {
        wire_struct!(@munch all [$(#[$m])* pub struct $name] [] $($body)*);
    };
    // Every field read: the struct.
    (@munch $mode:ident [$($head:tt)*] [$($acc:tt)*]) => { $($head)* { $($acc)* } };
    // A shared optional field (update requests): `@name?`.
    (@munch $mode:ident $head:tt $acc:tt @$f:ident? $(, $($rest:tt)*)?) => {
        wire_struct!(@optional $f $mode $head $acc $($($rest)*)?);
    };
    // A shared field: `@id`.
    (@munch $mode:ident $head:tt $acc:tt @$f:ident $(, $($rest:tt)*)?) => {
        wire_struct!(@shared $f $mode $head $acc $($($rest)*)?);
    };
    // An `Option` field of the struct's own, omitted when `None`.
    (
        @munch skip_none $head:tt [$($acc:tt)*]
        $(#[$fm:meta])* pub $f:ident: Option<$t:ty> $(, $($rest:tt)*)?
    ) => {
        wire_struct!(@munch skip_none $head [
            $($acc)* $(#[$fm])* #[serde(skip_serializing_if = "Option::is_none")] pub $f: Option<$t>,
        ] $($($rest)*)?);
    };
    // A field of the struct's own.
    (@munch $mode:ident $head:tt [$($acc:tt)*] $(#[$fm:meta])* pub $f:ident: $t:ty $(, $($rest:tt)*)?) => {
        wire_struct!(@munch $mode $head [$($acc)* $(#[$fm])* pub $f: $t,] $($($rest)*)?);
    };
    // A shared field, written out: on with the rest.
    (@push [$($field:tt)*] $mode:ident $head:tt [$($acc:tt)*] $($rest:tt)*) => {
        wire_struct!(@munch $mode $head [$($acc)* $($field)*,] $($rest)*);
    };
    // The shared fields.
    (@shared id $($x:tt)*) => { wire_struct!(@push [#[doc = "ID."] pub id: String] $($x)*); };
    (@shared name $($x:tt)*) => { wire_struct!(@push [#[doc = "Name."] pub name: String] $($x)*); };
    (@shared organization_id $($x:tt)*) => {
        wire_struct!(@push [#[doc = "Organization."] pub organization_id: String] $($x)*);
    };
    (@shared project_id $($x:tt)*) => {
        wire_struct!(@push [#[doc = "Project."] pub project_id: String] $($x)*);
    };
    (@shared description $($x:tt)*) => {
        wire_struct!(@push [#[doc = "Description."] pub description: String] $($x)*);
    };
    (@shared private_network_id $($x:tt)*) => {
        wire_struct!(@push [#[doc = "Private network."] pub private_network_id: String] $($x)*);
    };
    (@shared tags $($x:tt)*) => { wire_struct!(@push [#[doc = "Tags."] pub tags: Vec<String>] $($x)*); };
    (@shared region $($x:tt)*) => { wire_struct!(@push [#[doc = "Region."] pub region: String] $($x)*); };
    (@shared zone $($x:tt)*) => { wire_struct!(@push [#[doc = "Zone."] pub zone: String] $($x)*); };
    (@shared created_at $($x:tt)*) => {
        wire_struct!(@push [#[doc = "Creation time."] pub created_at: Option<$crate::scaleway::client::wire::Timestamp>] $($x)*);
    };
    (@shared updated_at $($x:tt)*) => {
        wire_struct!(@push [#[doc = "Last update time."] pub updated_at: Option<$crate::scaleway::client::wire::Timestamp>] $($x)*);
    };
    (@optional name $($x:tt)*) => {
        wire_struct!(@push [
            #[doc = "Name."] #[serde(skip_serializing_if = "Option::is_none")] pub name: Option<String>
        ] $($x)*);
    };
    (@optional tags $($x:tt)*) => {
        wire_struct!(@push [
            #[doc = "Tags."] #[serde(skip_serializing_if = "Option::is_none")] pub tags: Option<Vec<String>>
        ] $($x)*);
    };
}

pub mod cockpit;
pub mod common;
pub mod domain;
pub mod ipam;
pub mod k8s;
pub mod lb;
pub mod rdb;
pub mod rdb_backup;
pub mod vpc;
pub mod vpcgw;

/// Timestamp of the API (RFC 3339, micro- or nanoseconds, `Z`).
pub type Timestamp = chrono::DateTime<chrono::Utc>;
