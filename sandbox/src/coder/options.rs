//! Options of the Coder emulator: provisioner daemons, build time, the API rate limit, whether
//! rate-limit windows follow the speed factor, and faults injected into Coder responses.

use std::time::Duration;

use crate::options::FaultSpec;

/// How the Coder emulator behaves; defaults are those of a Coder 2.21 server started with no
/// flags (`--provisioner-daemons 3`, `--api-rate-limit 512`).
#[derive(Debug, Clone, PartialEq)]
pub struct CoderOptions {
    /// Built-in provisioner daemons (`CODER_PROVISIONER_DAEMONS`); jobs beyond them queue in
    /// `pending`, and with 0 every job stays `pending` with no matched provisioner.
    pub provisioner_daemons: usize,
    /// How long one provisioner job (template import or workspace build) runs, at speed 1.
    pub build_time: Duration,
    /// Requests per minute on any one `/api/v2` path per user (`--api-rate-limit`; 0 disables).
    pub api_rate_limit: u32,
    /// Divide the one-minute rate-limit windows by the speed factor (off in tests that check
    /// the limits themselves).
    pub rate_windows_follow_speed: bool,
    /// Faults injected into Coder API responses (429, 5xx, lost responses on mutations).
    pub faults: FaultSpec,
    /// Coder versions (`2.21.1` or `v2.21.1`) whose server exits at start, as one whose
    /// database migration fails does: pods running their image crash-loop and never become
    /// ready, to rehearse a failed upgrade.
    pub crashing_versions: Vec<String>,
}

impl Default for CoderOptions {
    fn default() -> Self {
        Self {
            provisioner_daemons: 3,
            build_time: Duration::from_secs(6),
            api_rate_limit: 512,
            rate_windows_follow_speed: true,
            faults: FaultSpec::default(),
            crashing_versions: Vec::new(),
        }
    }
}
