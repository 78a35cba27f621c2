//! The shared test context: a scratch project whose `environments/<env>.toml` a test writes,
//! the Coder stacks built from it, and lookups in built stacks.

#[cfg(feature = "tools")]
pub mod helm;

use std::path::Path;

use kapstan_engine::StackSpec;
use kapstan_stacks::StackVars;
use kapstan_stacks::coder::{self, Environment, Phase};
use serde_json::Value;

/// A scratch project directory, removed when dropped.
pub struct Project(tempfile::TempDir);

impl Project {
    /// A project with no settings file: the built-in profiles.
    pub fn new() -> Self {
        Self(tempfile::tempdir().unwrap())
    }

    /// A project whose `environments/<env>.toml` is `settings`.
    pub fn with_settings(env: Environment, settings: &str) -> Self {
        let project = Self::new();
        project.write_settings(env, settings);
        project
    }

    /// Writes `environments/<env>.toml`.
    pub fn write_settings(&self, env: Environment, settings: &str) {
        let dir = self.path().join("environments");
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join(format!("{}.toml", env.name())), settings).unwrap();
    }

    /// The project directory.
    pub fn path(&self) -> &Path {
        self.0.path()
    }

    /// Stack variables `pairs` with `project_dir` set to this project.
    pub fn vars(&self, pairs: &[(&str, &str)]) -> StackVars {
        let mut vars: StackVars = pairs
            .iter()
            .map(|(k, v)| ((*k).to_string(), (*v).to_string()))
            .collect();
        vars.insert("project_dir".into(), self.path().display().to_string());
        vars
    }

    /// `coder-<env>-<phase>` built from this project with the variables `pairs`.
    pub fn build(&self, env: Environment, phase: Phase, pairs: &[(&str, &str)]) -> StackSpec {
        coder::build(env, phase, &self.vars(pairs))
            .unwrap_or_else(|e| panic!("coder-{}-{} builds: {e}", env.name(), phase.name()))
    }

    /// The error loading `env`'s profile from this project.
    pub fn load_error(&self, env: Environment) -> String {
        coder::Profile::load(env, self.path())
            .expect_err("the settings are refused")
            .to_string()
    }
}

/// The config of the resource at `address`, naming the declared addresses when there is none.
pub fn resource<'a>(spec: &'a StackSpec, address: &str) -> &'a Value {
    &spec
        .resources
        .iter()
        .find(|r| r.address == address)
        .unwrap_or_else(|| {
            let all: Vec<&String> = spec.resources.iter().map(|r| &r.address).collect();
            panic!("no {address} in {}: {all:?}", spec.name)
        })
        .config
}
