//! Pieces shared by the Cockpit kinds: the region a recorded resource lives in, import ids and
//! the documented bounds.

use kapstan_engine::DriverError;
use kapstan_engine::state::ResourceState;
use serde_json::Value;

use super::client::{Client, Region};
use super::provider::{ScalewayProvider, split_locality};

/// Data source types.
pub const SOURCE_TYPES: &[&str] = &["metrics", "logs", "traces"];

/// Retention bounds of a custom data source in days, every type (Cockpit concepts page,
/// "Retention", validated 2025-06-04).
pub const RETENTION_DAYS: std::ops::RangeInclusive<u64> = 1..=1825;

/// Default retention in days when none is given: 31 for metrics, 7 for logs and traces
/// (API reference, `retention_days`); also the free retention (Cockpit FAQ).
pub fn default_retention(kind: &str) -> u64 {
    if kind == "metrics" { 31 } else { 7 }
}

/// The region recorded in the attributes, else the configured one.
pub fn region_of_recorded(
    p: &ScalewayProvider,
    rec: &ResourceState,
) -> Result<Region, DriverError> {
    match rec.attributes.get("region").and_then(Value::as_str) {
        Some(r) => Region::parse(r).map_err(|e| DriverError::failed(e.to_string())),
        None => p.region_of(&rec.config),
    }
}

/// `region/id` or `id` of an import: the region (default: the client's) and the rest.
pub fn import_region<'a>(client: &Client, id: &'a str) -> Result<(Region, &'a str), DriverError> {
    let (loc, rest) = split_locality(id);
    let region = match loc {
        Some(l) => Region::parse(l).map_err(|e| DriverError::failed(e.to_string()))?,
        None => client.region().clone(),
    };
    Ok((region, rest))
}

/// Whether `s` looks like an e-mail address a mail server would accept: one `@`, a non-empty
/// local part, a dotted domain, no spaces or control characters.
pub fn is_email(s: &str) -> bool {
    let Some((local, domain)) = s.split_once('@') else {
        return false;
    };
    !local.is_empty()
        && !domain.contains('@')
        && domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && !domain.contains("..")
        && s.len() <= 254
        && s.chars().all(|c| c.is_ascii_graphic())
}

/// The API id of a recorded resource: an import records the id as given (`region/uuid`).
pub fn recorded_id(rec: &ResourceState) -> &str {
    split_locality(rec.id.as_deref().unwrap_or_default()).1
}
