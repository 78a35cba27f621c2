//! Pieces shared by the Cockpit kinds and the stacks that declare them: data source types,
//! the documented retention bounds, e-mail addresses.

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
