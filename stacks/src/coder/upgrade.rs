//! Coder version changes of an environment: an upgrade (from → to, with its release notes) or
//! a downgrade, which kapstan refuses because Coder's database migrations only go forward
//! (coder/coder `coderd/database/migrations`: a newer server migrates the schema at start-up
//! and an older one refuses a schema it does not know).

use std::cmp::Ordering;

/// A planned change of the Coder version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CoderUpgrade {
    /// The version running now (recorded in the app phase's state).
    pub from: String,
    /// The version declared.
    pub to: String,
}

/// A downgrade that was asked for.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "Coder {from} → {to} is a downgrade: Coder's database migrations only go forward, so an older server cannot run on the upgraded database"
)]
pub struct Downgrade {
    /// The version running now.
    pub from: String,
    /// The older version declared.
    pub to: String,
}

impl CoderUpgrade {
    /// Compares the recorded and the declared version: `Ok(None)` when nothing changes (or
    /// nothing runs yet), `Ok(Some(upgrade))`, or the refused downgrade.
    pub fn between(recorded: Option<&str>, declared: &str) -> Result<Option<Self>, Downgrade> {
        let Some(from) = recorded else {
            return Ok(None);
        };
        match compare(from, declared) {
            Ordering::Equal => Ok(None),
            Ordering::Less => Ok(Some(Self {
                from: from.to_string(),
                to: declared.to_string(),
            })),
            Ordering::Greater => Err(Downgrade {
                from: from.to_string(),
                to: declared.to_string(),
            }),
        }
    }

    /// The release notes of the target version.
    pub fn release_notes(&self) -> String {
        release_notes(&self.to)
    }
}

/// The GitHub release page of a Coder version (tags are `v<version>`).
pub fn release_notes(version: &str) -> String {
    format!("https://github.com/coder/coder/releases/tag/v{version}")
}

/// The image tag the chart runs for a version (the chart's default is `v<appVersion>`).
pub fn image_tag(version: &str) -> String {
    format!("v{version}")
}

fn compare(a: &str, b: &str) -> Ordering {
    let parts = |v: &str| -> Vec<u64> {
        v.trim_start_matches('v')
            .split('.')
            .map(|p| p.parse().unwrap_or(0))
            .collect()
    };
    parts(a).cmp(&parts(b))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_compare_numerically() {
        assert_eq!(CoderUpgrade::between(None, "2.21.1"), Ok(None));
        assert_eq!(CoderUpgrade::between(Some("2.21.1"), "2.21.1"), Ok(None));
        let up = CoderUpgrade::between(Some("2.9.0"), "2.21.1")
            .unwrap()
            .unwrap();
        assert_eq!((up.from.as_str(), up.to.as_str()), ("2.9.0", "2.21.1"));
        assert_eq!(
            up.release_notes(),
            "https://github.com/coder/coder/releases/tag/v2.21.1"
        );
        let down = CoderUpgrade::between(Some("2.21.1"), "2.20.0").unwrap_err();
        assert!(down.to_string().contains("downgrade"), "{down}");
    }
}
