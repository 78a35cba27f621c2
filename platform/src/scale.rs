//! `kapstan scale`: resizes an environment's node pool through its override file
//! (`environments/<env>.toml`), with the infra plan, the monthly cost change and, with
//! `--analyze-only`, the cluster's capacity read from the Kubernetes API.
//!
//! Sizing rules:
//! - `--nodes N` pins the pool at N nodes: autoscaling is turned off, because the autoscaler
//!   owns the size of an autoscaled pool (Kapsule moves it, and the infra stack ignores the
//!   declared size while autoscaling is on). With autoscaling off, the stack plans `size`
//!   like any other field, so the change is an in-place pool update. `min_size`/`max_size`
//!   are widened to include N when needed (Kapsule requires min <= size <= max).
//! - `--min`/`--max` set the autoscaling bounds and turn autoscaling on; the size is moved
//!   into the new bounds when it falls outside them.
//! - `--auto` turns autoscaling on with the profile's bounds; `--scale-down-threshold PCT`
//!   sets the cluster autoscaler's `scale_down_utilization_threshold` (PCT / 100).
//!
//! The plan targets `pool-default` (and `cluster` for the threshold), so unrelated pending
//! changes of the infra phase are not applied by a scale.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use kapstan_engine::{ApplyOptions, PlanOptions, StackSpec};
use kapstan_providers::kubernetes::KubeClient;
use kapstan_providers::kubernetes::inspect::{self, NodeSummary, PodSummary};
use kapstan_providers::pricing::PriceTable;
use kapstan_stacks::coder::{Environment, Phase, Profile};
use kapstan_state::StateDocument;

use crate::cost::{self, PlanCost};
use crate::error::PlatformError;
use crate::events::{Confirmation, Observer, PlatformEvent};
use crate::project::Project;
use crate::session::Platform;

/// Options of `kapstan scale`.
#[derive(Debug, Clone, Default)]
pub struct ScaleOptions {
    /// Environment name.
    pub env: String,
    /// A fixed pool of this many nodes.
    pub nodes: Option<u32>,
    /// Autoscaling minimum.
    pub min: Option<u32>,
    /// Autoscaling maximum.
    pub max: Option<u32>,
    /// Turn autoscaling on.
    pub auto: bool,
    /// Scale-down utilization threshold in percent (with `auto`).
    pub scale_down_threshold: Option<u8>,
    /// Print costs and capacity only.
    pub analyze_only: bool,
    /// Do not ask.
    pub auto_approve: bool,
    /// Price table name or file.
    pub prices: Option<String>,
    /// Run against the offline sandbox.
    pub sandbox: bool,
}

/// The pool settings of a profile that `scale` changes.
#[derive(Debug, Clone, PartialEq)]
pub struct PoolSettings {
    /// Node type (not changed by `scale`, shown and used for capacity).
    pub node_type: String,
    /// Declared size.
    pub size: u32,
    /// Autoscaling minimum.
    pub min: u32,
    /// Autoscaling maximum.
    pub max: u32,
    /// Autoscaling on.
    pub autoscaling: bool,
    /// Cluster autoscaler scale-down utilization threshold (0..1).
    pub threshold: Option<f64>,
}

impl PoolSettings {
    /// The settings of `profile`.
    pub fn of(profile: &Profile) -> Self {
        Self {
            node_type: profile.node_type.clone(),
            size: profile.pool_size,
            min: profile.pool_min,
            max: profile.pool_max,
            autoscaling: profile.pool_autoscaling,
            threshold: profile.scale_down_utilization_threshold,
        }
    }

    /// `profile` with these settings.
    pub fn applied_to(&self, profile: &Profile) -> Profile {
        let mut p = profile.clone();
        p.pool_size = self.size;
        p.pool_min = self.min;
        p.pool_max = self.max;
        p.pool_autoscaling = self.autoscaling;
        p.scale_down_utilization_threshold = self.threshold;
        p
    }

    /// One line: `3 × GP1-XS, fixed size` or `2 × GP1-XS, autoscaling 1..5`.
    pub fn describe(&self) -> String {
        let mut s = format!("{} × {}", self.size, self.node_type);
        if self.autoscaling {
            let _ = write!(s, ", autoscaling {}..{}", self.min, self.max);
            if let Some(t) = self.threshold {
                let _ = write!(s, ", scale-down below {}% use", percent(t));
            }
        } else {
            s.push_str(", fixed size");
        }
        s
    }
}

fn percent(t: f64) -> String {
    let p = t * 100.0;
    if (p - p.round()).abs() < 1e-9 {
        format!("{}", p.round() as i64)
    } else {
        format!("{p:.1}")
    }
}

/// The settings `options` ask for, from `current`, with notes on what was adjusted.
pub fn propose(
    current: &PoolSettings,
    options: &ScaleOptions,
) -> Result<(PoolSettings, Vec<String>), PlatformError> {
    let mut next = current.clone();
    let mut notes = vec![];
    if let Some(n) = options.nodes {
        if n == 0 {
            return Err(PlatformError::usage(
                "--nodes 0 would leave Coder nowhere to run",
                format!(
                    "give at least 1 node; to remove the environment run `kapstan down --env {} --confirm`",
                    options.env
                ),
            ));
        }
        next.size = n;
        next.autoscaling = false;
        if current.autoscaling {
            notes.push(format!(
                "autoscaling is turned off so the pool stays at {n} nodes (`kapstan scale --env {} --auto` turns it back on)",
                options.env
            ));
        }
        if n < next.min {
            notes.push(format!(
                "min_size lowered from {} to {n} to include the size",
                next.min
            ));
            next.min = n;
        }
        if n > next.max {
            notes.push(format!(
                "max_size raised from {} to {n} to include the size",
                next.max
            ));
            next.max = n;
        }
    } else if options.min.is_some() || options.max.is_some() {
        let min = options.min.unwrap_or(current.min);
        let max = options.max.unwrap_or(current.max);
        if max == 0 || min > max {
            return Err(PlatformError::usage(
                format!("autoscaling bounds {min}..{max} are not valid"),
                "give --min N --max M with 1 <= M and N <= M",
            ));
        }
        next.min = min;
        next.max = max;
        if !current.autoscaling {
            notes.push("autoscaling is turned on".into());
        }
        next.autoscaling = true;
        let size = next.size.clamp(min, max);
        if size != next.size {
            notes.push(format!(
                "size moved from {} to {size} to fall within {min}..{max}",
                next.size
            ));
            next.size = size;
        }
    } else if options.auto {
        if next.max == 0 || next.min > next.max {
            return Err(PlatformError::usage(
                format!(
                    "the profile's bounds {}..{} are not valid",
                    next.min, next.max
                ),
                "give explicit bounds with --min N --max M",
            ));
        }
        next.autoscaling = true;
        let size = next.size.clamp(next.min, next.max);
        if size != next.size {
            notes.push(format!(
                "size moved from {} to {size} to fall within {}..{}",
                next.size, next.min, next.max
            ));
            next.size = size;
        }
        if let Some(pct) = options.scale_down_threshold {
            next.threshold = Some(f64::from(pct) / 100.0);
        }
    } else {
        return Err(PlatformError::usage(
            "nothing to scale",
            "give --nodes N, --min N --max M, or --auto",
        ));
    }
    Ok((next, notes))
}

/// The override file of `env` in `project_dir`.
pub fn overrides_path(project_dir: &Path, env: Environment) -> PathBuf {
    project_dir
        .join("environments")
        .join(format!("{}.toml", env.name()))
}

/// Writes the settings that differ from `before` (and those named on the command line) into
/// the override file with toml_edit, keeping every other line and comment; creates the file
/// when missing.
pub fn write_overrides(
    path: &Path,
    before: &PoolSettings,
    after: &PoolSettings,
    options: &ScaleOptions,
) -> Result<(), PlatformError> {
    let io = |action: &'static str, source| PlatformError::Io {
        action,
        path: path.display().to_string(),
        source,
    };
    let (text, header) = match std::fs::read_to_string(path) {
        Ok(t) => (t, String::new()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => (
            String::new(),
            format!(
                "# Overrides of the built-in {} profile (written by `kapstan scale`).\n\n",
                path.file_stem()
                    .and_then(|s| s.to_str())
                    .unwrap_or("environment")
            ),
        ),
        Err(e) => return Err(io("reading", e)),
    };
    let mut doc: toml_edit::DocumentMut = text.parse().map_err(|e: toml_edit::TomlError| {
        PlatformError::usage(
            format!("{} is not valid TOML: {e}", path.display()),
            "fix the file, then run kapstan scale again",
        )
    })?;
    let table = |doc: &mut toml_edit::DocumentMut, name: &str| {
        if !doc.contains_key(name) {
            doc[name] = toml_edit::table();
        }
    };
    let int = |v: u32| toml_edit::value(i64::from(v));
    let pool_keys = [
        (
            "size",
            !after.autoscaling && (before.size != after.size || options.nodes.is_some()),
            int(after.size),
        ),
        (
            "min_size",
            before.min != after.min || options.min.is_some(),
            int(after.min),
        ),
        (
            "max_size",
            before.max != after.max || options.max.is_some(),
            int(after.max),
        ),
        (
            "autoscaling",
            before.autoscaling != after.autoscaling,
            toml_edit::value(after.autoscaling),
        ),
    ];
    for (key, write, value) in pool_keys {
        if write {
            table(&mut doc, "pool");
            doc["pool"][key] = value;
        }
    }
    // The autoscaler owns the size of an autoscaled pool: a `size` left in the file would
    // be refused as having no effect.
    if after.autoscaling
        && let Some(pool) = doc.get_mut("pool").and_then(|t| t.as_table_like_mut())
    {
        pool.remove("size");
    }
    if before.threshold != after.threshold
        && let Some(t) = after.threshold
    {
        table(&mut doc, "cluster");
        doc["cluster"]["scale_down_utilization_threshold"] = toml_edit::value(t);
    }
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(|e| io("creating", e))?;
    }
    let tmp = path.with_extension("toml.tmp");
    std::fs::write(&tmp, format!("{header}{doc}")).map_err(|e| io("writing", e))?;
    std::fs::rename(&tmp, path).map_err(|e| io("writing", e))?;
    Ok(())
}

/// Allocatable and requested resources of a cluster, from its Nodes and Pods.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Capacity {
    /// Nodes listed.
    pub nodes: usize,
    /// Nodes whose `Ready` condition is true.
    pub ready_nodes: usize,
    /// Allocatable CPU of the ready nodes, in cores.
    pub allocatable_cpu: f64,
    /// Allocatable memory of the ready nodes, in bytes.
    pub allocatable_memory: f64,
    /// CPU requested by pods that are not finished, in cores.
    pub requested_cpu: f64,
    /// Memory requested by pods that are not finished, in bytes.
    pub requested_memory: f64,
    /// Pods running.
    pub running_pods: usize,
    /// Pods pending (not scheduled or not started).
    pub pending_pods: usize,
}

/// Sums capacity from listed Nodes and Pods.
pub fn capacity(nodes: &[NodeSummary], pods: &[PodSummary]) -> Capacity {
    let mut c = Capacity {
        nodes: nodes.len(),
        ..Default::default()
    };
    for n in nodes.iter().filter(|n| n.ready) {
        c.ready_nodes += 1;
        c.allocatable_cpu += n.allocatable.cpu;
        c.allocatable_memory += n.allocatable.memory;
    }
    for p in pods.iter().filter(|p| !p.finished()) {
        // A pod without a phase yet is pending.
        match p.phase.as_deref().unwrap_or("Pending") {
            "Running" => c.running_pods += 1,
            "Pending" => c.pending_pods += 1,
            _ => {}
        }
        for container in p.containers.iter().filter(|c| !c.init) {
            c.requested_cpu += container.requested.cpu;
            c.requested_memory += container.requested.memory;
        }
    }
    c
}

async fn read_capacity(kubeconfig: &str) -> Result<Capacity, String> {
    let client = KubeClient::from_kubeconfig(kubeconfig).map_err(|e| e.to_string())?;
    let nodes = inspect::nodes(&client)
        .await
        .map_err(|e| format!("listing nodes: {e}"))?;
    let pods = inspect::pods(&client, None)
        .await
        .map_err(|e| format!("listing pods: {e}"))?;
    Ok(capacity(&nodes, &pods))
}

/// What `scale` did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScaleOutcome {
    /// Nothing was changed (analysis only, or nothing to change).
    Unchanged,
    /// The override file was written (and, when deployed, the pool updated).
    Scaled,
    /// The confirmation was refused: nothing was changed.
    Cancelled,
}

/// One `scale` of an environment: what its steps share.
struct Scaling<'a> {
    options: &'a ScaleOptions,
    observer: &'a dyn Observer,
    env: Environment,
    current: PoolSettings,
    proposed: PoolSettings,
    path: PathBuf,
    infra_name: String,
}

/// `scale`: resizes the default pool of an environment (see the module documentation).
pub async fn scale(
    project: &Project,
    options: &ScaleOptions,
    observer: &dyn Observer,
) -> Result<ScaleOutcome, PlatformError> {
    let env = Environment::parse(&options.env)?;
    let profile = Profile::load(env, &project.dir)?;
    let current = PoolSettings::of(&profile);
    let (proposed, notes) = propose(&current, options)?;
    let proposed_profile = proposed.applied_to(&profile);
    proposed_profile.check().map_err(|problem| {
        PlatformError::usage(
            format!("the proposed pool is not valid: {problem}"),
            "adjust --nodes, --min or --max",
        )
    })?;
    let table: PriceTable = cost::price_table(options.prices.as_deref())?;
    let platform = Platform::open(project, env.name(), options.sandbox, observer).await?;
    observer.event(PlatformEvent::ScaleProposed {
        env: env.name(),
        current: &current,
        proposed: &proposed,
        notes: &notes,
    });
    let scaling = Scaling {
        options,
        observer,
        env,
        current,
        proposed,
        path: overrides_path(&project.dir, env),
        infra_name: profile.stack_name(Phase::Infra),
    };
    let current_spec = kapstan_stacks::coder::infra_stack(&profile).build();
    let proposed_spec = kapstan_stacks::coder::infra_stack(&proposed_profile).build();
    let state = platform.engine.state(&scaling.infra_name).await?;
    let result = if !state.resources.contains_key("pool-default") {
        scaling.undeployed(&current_spec, &proposed_spec, &table)
    } else {
        scaling
            .deployed(&platform, &state, &proposed_spec, &table)
            .await
    };
    if let Some(s) = platform.sandbox {
        s.stop().await;
    }
    result
}

impl Scaling<'_> {
    /// The infra phase is not deployed: the cost from the declarations, and the override
    /// file for the next `up`.
    fn undeployed(
        &self,
        current_spec: &StackSpec,
        proposed_spec: &StackSpec,
        table: &PriceTable,
    ) -> Result<ScaleOutcome, PlatformError> {
        let before = cost::declared_cost(current_spec, table)
            .map_err(|e| cost::pricing_error(&self.infra_name, &e))?;
        let after = cost::declared_cost(proposed_spec, table)
            .map_err(|e| cost::pricing_error(&self.infra_name, &e))?;
        self.observer.event(PlatformEvent::ScaleCost {
            current: &before,
            proposed: &after,
        });
        self.observer.event(PlatformEvent::ScaleNotDeployed {
            stack: &self.infra_name,
        });
        if self.options.analyze_only || self.current == self.proposed {
            return Ok(ScaleOutcome::Unchanged);
        }
        write_overrides(&self.path, &self.current, &self.proposed, self.options)?;
        self.observer.event(PlatformEvent::OverridesWritten {
            path: &self.path,
            env: self.env.name(),
            deployed: false,
        });
        Ok(ScaleOutcome::Scaled)
    }

    /// The infra phase is deployed: the targeted plan with its cost, the capacity with
    /// `--analyze-only`, else the override file and the apply.
    async fn deployed(
        &self,
        platform: &Platform,
        state: &StateDocument,
        proposed_spec: &StackSpec,
        table: &PriceTable,
    ) -> Result<ScaleOutcome, PlatformError> {
        let mut targets = vec!["pool-default".to_string()];
        if self.current.threshold != self.proposed.threshold {
            targets.push("cluster".into());
        }
        let plan = platform
            .engine
            .plan(
                proposed_spec,
                &PlanOptions {
                    targets,
                    ..Default::default()
                },
            )
            .await?;
        let plan_cost: PlanCost =
            cost::plan_cost(&plan, table).map_err(|e| cost::pricing_error(&self.infra_name, &e))?;
        self.observer.event(PlatformEvent::StackHeading {
            stack: &self.infra_name,
        });
        self.observer.event(PlatformEvent::PlanReady {
            plan: &plan,
            cost: Some(&plan_cost),
        });
        self.observer.event(PlatformEvent::ScaleCost {
            current: &plan_cost.before,
            proposed: &plan_cost.after,
        });
        if self.options.analyze_only {
            self.analyze(state).await;
            return Ok(ScaleOutcome::Unchanged);
        }
        if !plan.has_changes() && self.current == self.proposed {
            self.observer.event(PlatformEvent::ScaleNothingToChange);
            return Ok(ScaleOutcome::Unchanged);
        }
        if !self.options.auto_approve
            && !self.observer.confirm(Confirmation::Scale {
                path: &self.path,
                stack: &self.infra_name,
            })?
        {
            return Ok(ScaleOutcome::Cancelled);
        }
        write_overrides(&self.path, &self.current, &self.proposed, self.options)?;
        self.observer.event(PlatformEvent::OverridesWritten {
            path: &self.path,
            env: self.env.name(),
            deployed: true,
        });
        if !plan.has_changes() {
            self.observer.event(PlatformEvent::ScaleAlreadyMatches);
            return Ok(ScaleOutcome::Scaled);
        }
        let report = platform
            .engine
            .apply(&plan, &ApplyOptions::default())
            .await?;
        if !report.is_success() {
            for f in &report.failed {
                self.observer
                    .event(PlatformEvent::OperationFailed { failure: f });
            }
            return Err(PlatformError::ApplyFailed {
                failed: report.failed.len(),
                skipped: report.skipped.len(),
            });
        }
        self.observer.event(PlatformEvent::Scaled {
            env: self.env.name(),
            settings: &self.proposed,
        });
        Ok(ScaleOutcome::Scaled)
    }

    /// `--analyze-only`: the cluster's capacity against the proposed pool.
    async fn analyze(&self, state: &StateDocument) {
        let kubeconfig = state
            .outputs
            .get("kubeconfig")
            .and_then(|o| o.value.as_str())
            .filter(|k| !k.is_empty());
        let capacity = match kubeconfig {
            None => Err(format!("{} has no kubeconfig output", self.infra_name)),
            Some(k) => read_capacity(k).await,
        };
        self.observer.event(PlatformEvent::Capacity {
            capacity: capacity.as_ref().map_err(Clone::clone),
            proposed: &self.proposed,
        });
        self.observer
            .event(PlatformEvent::AnalysisOnly { path: &self.path });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dev() -> PoolSettings {
        PoolSettings::of(&Profile::builtin(Environment::Dev))
    }

    #[test]
    fn nodes_pins_and_widens() {
        let o = ScaleOptions {
            env: "dev".into(),
            nodes: Some(7),
            ..Default::default()
        };
        let (p, notes) = propose(&dev(), &o).unwrap();
        assert_eq!((p.size, p.min, p.max, p.autoscaling), (7, 1, 7, false));
        assert_eq!(notes.len(), 2, "{notes:?}");
    }

    #[test]
    fn bounds_clamp_the_size() {
        let o = ScaleOptions {
            env: "dev".into(),
            min: Some(3),
            max: Some(6),
            ..Default::default()
        };
        let (p, _) = propose(&dev(), &o).unwrap();
        assert_eq!((p.size, p.min, p.max, p.autoscaling), (3, 3, 6, true));
        let bad = ScaleOptions {
            min: Some(4),
            max: Some(2),
            ..o
        };
        assert!(propose(&dev(), &bad).is_err());
    }

    #[test]
    fn auto_sets_the_threshold() {
        let o = ScaleOptions {
            env: "dev".into(),
            auto: true,
            scale_down_threshold: Some(65),
            ..Default::default()
        };
        let (p, _) = propose(&dev(), &o).unwrap();
        assert_eq!(p.threshold, Some(0.65));
        assert!(p.describe().contains("65%"));
    }

    #[test]
    fn overrides_keep_the_rest() {
        let dir = std::env::temp_dir().join(format!("kapstan-scale-{}", std::process::id()));
        let path = dir.join("environments").join("dev.toml");
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(
            &path,
            "# mine\n[pool]\nnode_type = \"GP1-S\" # keep\n\n[coder]\nversion = \"2.21.1\"\n",
        )
        .unwrap();
        let o = ScaleOptions {
            env: "dev".into(),
            nodes: Some(3),
            ..Default::default()
        };
        let (p, _) = propose(&dev(), &o).unwrap();
        write_overrides(&path, &dev(), &p, &o).unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(text.contains("# mine") && text.contains("# keep"), "{text}");
        assert!(
            text.contains("size = 3") && text.contains("autoscaling = false"),
            "{text}"
        );
        assert!(text.contains("version = \"2.21.1\""), "{text}");
        let _ = std::fs::remove_dir_all(&dir);
    }
}
