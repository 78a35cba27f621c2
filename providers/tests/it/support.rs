//! The shared test context of the provider tests: where the installed tools and the shared
//! fixtures are.
// The `tools` modules use these; the others do not.
#![allow(dead_code)]

use std::path::{Path, PathBuf};

/// Where `scripts/test --tools-only` installs the test tools (`$KAPSTAN_TOOLS`, default
/// `<workspace>/.tools`).
pub fn tools_root() -> PathBuf {
    std::env::var_os("KAPSTAN_TOOLS")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../.tools"))
}

/// A tool `scripts/test --tools-only` installs into `$KAPSTAN_TOOLS/bin` (default
/// `<workspace>/.tools/bin`); fails the test with the command that installs it.
/// A registry of every kind whose `helm_release` runs the installed test helm.
pub fn registry_with_tools_helm() -> kapstan_engine::Registry {
    kapstan_providers::registry_with_options(
        std::sync::Arc::new(kapstan_providers::scaleway::ScalewayProvider::default()),
        &kapstan_providers::RegistryOptions {
            helm: Some(tool("helm")),
        },
    )
}

pub fn tool(name: &str) -> PathBuf {
    let path = tools_root().join("bin").join(name);
    assert!(
        path.exists(),
        "{} is missing: run `scripts/test --tools-only` to install the test tools",
        path.display()
    );
    path
}

/// A fixture of `../shared/fixtures` next to the repository (never copied into it).
pub fn fixture(relative: &str) -> PathBuf {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../shared/fixtures")
        .join(relative);
    assert!(
        path.exists(),
        "the fixture {} is missing: expected ../shared/fixtures/{relative} next to the repository",
        path.display()
    );
    path
}

/// The official Coder chart as packaged for 2.21.1, read in place from the shared fixtures.
pub fn official_coder_chart() -> PathBuf {
    fixture("coder-chart/coder-2.21.1")
}
