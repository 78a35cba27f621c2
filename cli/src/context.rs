//! What every command needs: the project directory, the configured state store, the stack and
//! an engine.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use kapstan_engine::{Engine, EventSink, StackSpec};
use kapstan_state::{StateStore, StoreConfig};

use crate::args::StackArgs;
use crate::error::CliError;

/// The project a command runs in.
pub struct Project {
    /// Project root (current directory or `-C DIR`).
    pub dir: PathBuf,
    /// Resolved store configuration.
    pub store_config: StoreConfig,
    /// The store, opened lazily.
    store: std::sync::OnceLock<Arc<dyn StateStore>>,
}

impl Project {
    /// Resolves the project and its state configuration.
    pub fn resolve(
        chdir: Option<&Path>,
        state: Option<&str>,
        lock: Option<bool>,
    ) -> Result<Self, CliError> {
        let dir = match chdir {
            Some(d) => d.to_path_buf(),
            None => std::env::current_dir().map_err(|source| CliError::Io {
                action: "reading",
                path: ".".into(),
                source,
            })?,
        };
        let mut store_config = StoreConfig::resolve(&dir, state, &|n| std::env::var(n).ok())?;
        if let (Some(lock), StoreConfig::S3(cfg)) = (lock, &mut store_config) {
            cfg.lock = lock;
        }
        Ok(Self {
            dir,
            store_config,
            store: std::sync::OnceLock::new(),
        })
    }

    /// The state store.
    pub fn store(&self) -> Result<Arc<dyn StateStore>, CliError> {
        if let Some(s) = self.store.get() {
            return Ok(s.clone());
        }
        let store = kapstan_state::open_store(&self.store_config)?;
        Ok(self.store.get_or_init(|| store).clone())
    }

    /// An engine over every known kind.
    pub fn engine(&self, events: EventSink) -> Result<Engine, CliError> {
        let provider = kapstan_providers::scaleway::ScalewayProvider::from_env(
            crate::commands::platform::scaleway_overrides(),
            crate::commands::platform::client_options(),
        );
        let registry = kapstan_providers::registry_with(std::sync::Arc::new(provider));
        Ok(Engine::new(registry, self.store()?).with_events(events))
    }
}

/// Builds the stack named by the arguments.
pub fn load_stack(args: &StackArgs) -> Result<StackSpec, CliError> {
    if let Some(file) = &args.stack_file {
        let bytes = std::fs::read(file).map_err(|source| CliError::Io {
            action: "reading",
            path: file.display().to_string(),
            source,
        })?;
        return serde_json::from_slice(&bytes).map_err(|e| {
            CliError::usage(
                format!("{} is not a stack declaration: {e}", file.display()),
                "a stack file is JSON with `name`, `resources` (address, kind, config, depends_on, lifecycle) and `outputs`",
            )
        });
    }
    let mut vars = BTreeMap::new();
    for v in &args.vars {
        let Some((k, val)) = v.split_once('=') else {
            return Err(CliError::usage(
                format!("--var {v:?} has no `=`"),
                "write variables as --var KEY=VALUE",
            ));
        };
        vars.insert(k.trim().to_string(), val.to_string());
    }
    Ok(kapstan_stacks::find(&args.stack, &vars)?)
}

/// The stack name the arguments designate (without building it when a file is given).
pub fn stack_name(args: &StackArgs) -> Result<String, CliError> {
    if args.stack_file.is_some() {
        return Ok(load_stack(args)?.name);
    }
    match args.vars.iter().find_map(|v| v.strip_prefix("name=")) {
        Some(n) if args.stack == "synthetic" => Ok(n.to_string()),
        _ => Ok(args.stack.clone()),
    }
}
