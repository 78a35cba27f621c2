//! Pieces the CLI test binaries that drive a served sandbox share: the running
//! `kapstan sandbox serve` and the cloud controller's sync counter it exposes.

use std::process::{Child, Command};
use std::time::{Duration, Instant};

use serde_json::Value;

/// A running `kapstan sandbox serve` at `url`, stopped on drop.
pub struct Served {
    pub child: Child,
    pub url: String,
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Served {
    /// How many times the sandbox's cloud controller has synced the busiest cluster's Services.
    pub fn ccm_syncs(&self) -> u64 {
        let out = Command::new("curl")
            .args(["-sf", &format!("{}/sandbox/v1/resources", self.url)])
            .output()
            .unwrap();
        let doc: Value = serde_json::from_slice(&out.stdout).unwrap_or(Value::Null);
        doc["resources"]["kube.ccm"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|c| c["object"]["syncs"].as_u64())
            .max()
            .unwrap_or(0)
    }

    /// Waits until the cloud controller has synced the Services `n` more times.
    pub fn wait_for_ccm_syncs(&self, n: u64) {
        let start = self.ccm_syncs();
        let deadline = Instant::now() + Duration::from_secs(120);
        while self.ccm_syncs() < start + n {
            assert!(
                Instant::now() < deadline,
                "the cloud controller did not sync {n} times"
            );
            std::thread::sleep(Duration::from_millis(200));
        }
    }
}
