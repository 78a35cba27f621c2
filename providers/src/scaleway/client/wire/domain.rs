//! Domains and DNS `domain/v2beta1` (global): DNS zones and their records.
//!
//! Record names are relative to the zone (`""` is the apex); record types are upper-case
//! (`A`, `TXT`); a record change is exactly one of `add`, `set`, `delete`, `clear`, and `set` /
//! `delete` select records by `id` or by `id_fields` (name, type and optionally data and TTL).

use serde::{Deserialize, Serialize};

use crate::scaleway::client::open_enum::open_enum;
use crate::scaleway::client::pagination::list_response;

open_enum! {
    /// Status of a DNS zone.
    DnsZoneStatus {
        Active,
        Pending,
        Error,
        Locked,
    }
}

wire_struct! {
    #[response]
    /// A DNS zone: the domain `D` (empty subdomain) or a sub-zone `S.D`.
    pub struct DnsZone {
        /// The registered domain.
        pub domain: String,
        /// The sub-zone label(s), empty for the domain's own zone.
        pub subdomain: String,
        /// Name servers serving the zone.
        pub ns: Vec<String>,
        /// Scaleway's default name servers for it.
        pub ns_default: Vec<String>,
        /// Status; only an `active` zone is served.
        pub status: DnsZoneStatus,
        /// Why the zone is not active, when the API says.
        pub message: Option<String>,
        @project_id, @updated_at,
    }
}

impl DnsZone {
    /// The full zone name, `S.D` or `D`.
    pub fn name(&self) -> String {
        if self.subdomain.is_empty() {
            self.domain.clone()
        } else {
            format!("{}.{}", self.subdomain, self.domain)
        }
    }
}

list_response! {
    /// `GET /dns-zones`.
    ListDnsZonesResponse {
        /// Zones of this page.
        dns_zones: Vec<DnsZone>
    }
}

wire_struct! {
    /// `POST /dns-zones`.
    #[derive(Debug, Clone, Default, PartialEq, Serialize)]
    pub struct CreateDnsZoneRequest {
        /// The parent domain.
        pub domain: String,
        /// The sub-zone label(s).
        pub subdomain: String,
        @project_id,
    }
}

wire_struct! {
    #[response]
    /// A DNS record.
    pub struct DnsRecord {
        /// ID (empty in requests).
        #[serde(skip_serializing_if = "String::is_empty")]
        pub id: String,
        @name,
        /// Type, upper-case.
        #[serde(rename = "type")]
        pub type_: String,
        /// Value.
        pub data: String,
        /// Time to live in seconds.
        pub ttl: u32,
        /// Priority (MX, SRV).
        pub priority: u32,
        /// Free comment.
        pub comment: Option<String>,
    }
}

list_response! {
    /// `GET /dns-zones/{zone}/records`.
    ListDnsRecordsResponse {
        /// Records of this page.
        records: Vec<DnsRecord>
    }
}

wire_struct! {
    /// Selects records by their fields instead of their id.
    #[derive(Debug, Clone, Default, PartialEq, Serialize)]
    pub struct RecordIdentifier {
        @name,
        /// Type.
        #[serde(rename = "type")]
        pub type_: String,
        /// Value (absent: any).
        #[serde(skip_serializing_if = "Option::is_none")]
        pub data: Option<String>,
        /// TTL (absent: any).
        #[serde(skip_serializing_if = "Option::is_none")]
        pub ttl: Option<u32>,
    }
}

/// Which records a `set` or `delete` change acts on.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub enum RecordSelector {
    /// By record id.
    #[serde(rename = "id")]
    Id(String),
    /// By exact fields.
    #[serde(rename = "id_fields")]
    Fields(RecordIdentifier),
}

/// One change of `PATCH /dns-zones/{zone}/records`.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RecordChange {
    /// Adds records.
    Add {
        /// The records.
        records: Vec<DnsRecord>,
    },
    /// Replaces the selected records with `records`.
    Set {
        /// The selection.
        #[serde(flatten)]
        selector: RecordSelector,
        /// The replacement records.
        records: Vec<DnsRecord>,
    },
    /// Deletes the selected records.
    Delete {
        /// The selection.
        #[serde(flatten)]
        selector: RecordSelector,
    },
    /// Deletes every record of the zone.
    Clear {},
}

/// `PATCH /dns-zones/{zone}/records`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct UpdateDnsRecordsRequest {
    /// The changes, applied in order as one zone version.
    pub changes: Vec<RecordChange>,
    /// Return every record of the zone instead of the changed ones.
    pub return_all_records: bool,
    /// Refuse to create the zone implicitly when it does not exist.
    pub disallow_new_zone_creation: bool,
}

/// Answer of `PATCH /dns-zones/{zone}/records`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct UpdateDnsRecordsResponse {
    /// The changed (or all) records.
    pub records: Vec<DnsRecord>,
}
