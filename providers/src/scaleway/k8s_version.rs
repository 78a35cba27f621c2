//! Kubernetes versions of Kapsule clusters: which ones the live `/versions` list still
//! supports (neither deprecated nor past end of life), what `latest` and `x.y` resolve to,
//! and whether a running version already satisfies a declared one (auto-upgrades move it).

use chrono::{DateTime, Utc};

use super::client::wire::k8s::Version;

/// The declared version that means "the newest supported minor when the cluster is created";
/// afterwards Scaleway's auto-upgrade keeps it current.
pub const LATEST: &str = "latest";

/// `x.y` or `x.y.z` as numbers.
pub(crate) fn parse(v: &str) -> Option<Vec<u32>> {
    let parts: Option<Vec<u32>> = v.split('.').map(|p| p.parse().ok()).collect();
    parts.filter(|p| (2..=3).contains(&p.len()))
}

fn minor_of(v: &str) -> Option<(u32, u32)> {
    parse(v).map(|p| (p[0], p[1]))
}

/// Whether `v` can still be chosen at `now`: not deprecated, not past end of life.
fn supported(v: &Version, now: DateTime<Utc>) -> bool {
    v.deprecated_at.is_none_or(|d| d > now) && v.end_of_life_at.is_none_or(|d| d > now)
}

/// The supported minors, newest first, as `x.y`.
pub(crate) fn supported_minors(versions: &[Version], now: DateTime<Utc>) -> Vec<String> {
    let mut minors: Vec<(u32, u32)> = versions
        .iter()
        .filter(|v| supported(v, now))
        .filter_map(|v| minor_of(&v.name))
        .collect();
    minors.sort_unstable_by(|a, b| b.cmp(a));
    minors.dedup();
    minors
        .into_iter()
        .map(|(a, b)| format!("{a}.{b}"))
        .collect()
}

/// Why `declared` cannot be used for a new cluster (or a version change) at `now`, if so.
pub(crate) fn refusal(declared: &str, versions: &[Version], now: DateTime<Utc>) -> Option<String> {
    let supported_list = || {
        let s = supported_minors(versions, now);
        if s.is_empty() {
            "none".to_string()
        } else {
            s.join(", ")
        }
    };
    if declared == LATEST {
        return supported_minors(versions, now)
            .is_empty()
            .then(|| "matches no supported version: every listed version is deprecated".into());
    }
    let minor = minor_of(declared)?;
    let listed: Vec<&Version> = versions
        .iter()
        .filter(|v| minor_of(&v.name) == Some(minor))
        .collect();
    let Some(newest) = listed.first() else {
        return Some(format!(
            "is not offered by Kapsule (supported minors: {})",
            supported_list()
        ));
    };
    let day = |d: Option<DateTime<Utc>>| d.map(|d| d.format("%Y-%m-%d").to_string());
    if let Some(eol) = newest.end_of_life_at.filter(|d| *d <= now) {
        return Some(format!(
            "reached end of life on {} (supported minors: {})",
            day(Some(eol)).unwrap_or_default(),
            supported_list()
        ));
    }
    if let Some(dep) = newest.deprecated_at.filter(|d| *d <= now) {
        return Some(format!(
            "is deprecated since {} and reaches end of life on {} (supported minors: {})",
            day(Some(dep)).unwrap_or_default(),
            day(newest.end_of_life_at).unwrap_or_else(|| "an unknown date".into()),
            supported_list()
        ));
    }
    if parse(declared).is_some_and(|p| p.len() == 3) && !versions.iter().any(|v| v.name == declared)
    {
        return Some(format!(
            "is not offered by Kapsule; the patch offered for {}.{} is {}",
            minor.0, minor.1, newest.name
        ));
    }
    None
}

/// The full `x.y.z` to create a cluster with: the newest patch of the newest supported minor
/// for `latest`, the newest patch of `x.y`, or `x.y.z` itself. `/versions` is newest first.
pub(crate) fn resolve(declared: &str, versions: &[Version], now: DateTime<Utc>) -> Option<String> {
    if declared == LATEST {
        return versions
            .iter()
            .filter(|v| supported(v, now))
            .max_by_key(|v| parse(&v.name))
            .map(|v| v.name.clone());
    }
    match parse(declared)?.len() {
        2 => versions
            .iter()
            .filter(|v| minor_of(&v.name) == minor_of(declared))
            .max_by_key(|v| parse(&v.name))
            .map(|v| v.name.clone()),
        _ => Some(declared.to_string()),
    }
}

/// Whether the running version already satisfies the declared one: the same or a newer
/// version (an auto-upgrade by Scaleway), so that nothing is to be done — never a downgrade.
pub(crate) fn satisfies(running: &str, declared: &str) -> bool {
    if declared == LATEST {
        return true;
    }
    match (parse(running), parse(declared)) {
        (Some(r), Some(d)) => r[..d.len().min(r.len())] >= d[..],
        _ => false,
    }
}

/// Whether `declared` (`latest`, `x.y` or `x.y.z`) is satisfied by the version `running`
/// (`x.y.z`): the same or a newer version. False when either is not a version.
pub fn satisfied_by(declared: &str, running: &str) -> bool {
    parse(running).is_some_and(|r| r.len() == 3)
        && (declared == LATEST || parse(declared).is_some())
        && satisfies(running, declared)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn running_versions_satisfy_older_declarations_only() {
        assert!(satisfies("1.33.10", "1.32"));
        assert!(satisfies("1.32.13", "1.32"));
        assert!(satisfies("1.32.13", "1.32.10"));
        assert!(!satisfies("1.32.13", "1.33"));
        assert!(!satisfies("1.32.10", "1.32.13"));
        assert!(satisfies("1.40.1", LATEST));
    }
}
