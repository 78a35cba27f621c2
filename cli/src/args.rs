//! The command line: every command, flag and argument of `kapstan`.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

/// kapstan: infrastructure as code for Coder platforms on Scaleway.
#[derive(Debug, Parser)]
#[command(name = "kapstan", version, about, long_about = None, propagate_version = true)]
pub struct Cli {
    /// Run as if started in this directory.
    #[arg(short = 'C', long = "chdir", global = true, value_name = "DIR")]
    pub chdir: Option<PathBuf>,
    /// Where state lives: `local`, `local:DIR` or `s3://BUCKET/PREFIX?region=...` (overrides
    /// KAPSTAN_STATE and kapstan.toml).
    #[arg(long, global = true, value_name = "URL")]
    pub state: Option<String>,
    /// Disable state locking (only for stores that cannot lock; dangerous).
    #[arg(long, global = true, value_name = "BOOL", num_args = 0..=1, default_missing_value = "true")]
    pub lock: Option<bool>,
    /// Requests per second allowed per Scaleway API (token bucket; default 20).
    #[arg(long, global = true, value_name = "N")]
    pub api_rate: Option<f64>,
    /// The command.
    #[command(subcommand)]
    pub command: Command,
}

/// Which stack a command works on.
#[derive(Debug, Clone, Args)]
pub struct StackArgs {
    /// A built-in stack (see `kapstan stacks`).
    #[arg(
        long,
        env = "KAPSTAN_STACK",
        default_value = "demo",
        value_name = "NAME"
    )]
    pub stack: String,
    /// A stack declared in a JSON file (a serialized StackSpec) instead of a built-in one.
    #[arg(long, value_name = "FILE", conflicts_with = "stack")]
    pub stack_file: Option<PathBuf>,
    /// A variable of the built-in stack, `KEY=VALUE` (repeatable).
    #[arg(long = "var", value_name = "KEY=VALUE")]
    pub vars: Vec<String>,
}

impl StackArgs {
    /// The stack these arguments name, for the platform operations.
    pub fn source(&self) -> kapstan_platform::StackSource {
        kapstan_platform::StackSource {
            stack: self.stack.clone(),
            stack_file: self.stack_file.clone(),
            vars: self.vars.clone(),
        }
    }
}

impl From<kapstan_platform::StackSource> for StackArgs {
    fn from(s: kapstan_platform::StackSource) -> Self {
        Self {
            stack: s.stack,
            stack_file: s.stack_file,
            vars: s.vars,
        }
    }
}

/// Options shared by plan, apply and destroy.
#[derive(Debug, Clone, Args)]
pub struct PlanArgs {
    /// Plan only this address and what it needs (repeatable).
    #[arg(long = "target", value_name = "ADDRESS")]
    pub targets: Vec<String>,
    /// Replace this address even if unchanged (repeatable).
    #[arg(long = "replace", value_name = "ADDRESS")]
    pub replace: Vec<String>,
    /// Read live attributes before planning.
    #[arg(long, value_name = "BOOL", default_value_t = true, num_args = 0..=1, default_missing_value = "true", action = clap::ArgAction::Set)]
    pub refresh: bool,
    /// Operations in flight at once.
    #[arg(long, default_value_t = 10, value_name = "N")]
    pub parallelism: usize,
}

/// The environments `--env all` stands for.
pub const ENVIRONMENTS: [&str; 3] = ["dev", "staging", "prod"];

/// The two phases of an environment, each its own stack and state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Phase {
    /// `coder-<env>-infra`: network, cluster, pool, database, load balancer.
    Infra,
    /// `coder-<env>-app`: namespaces, policies, the Coder release, admin, templates.
    App,
}

impl From<Phase> for kapstan_stacks::coder::Phase {
    fn from(p: Phase) -> Self {
        match p {
            Phase::Infra => kapstan_stacks::coder::Phase::Infra,
            Phase::App => kapstan_stacks::coder::Phase::App,
        }
    }
}

impl Phase {
    /// The phase's name in stack names (`infra`, `app`).
    pub fn as_str(self) -> &'static str {
        match self {
            Phase::Infra => "infra",
            Phase::App => "app",
        }
    }
}

/// Selects an environment's stacks instead of `--stack`.
#[derive(Debug, Clone, Default, Args)]
pub struct EnvArgs {
    /// An environment: stacks `coder-ENV-infra` and `coder-ENV-app` (`all`: dev, staging, prod).
    #[arg(long, value_name = "ENV", conflicts_with_all = ["stack", "stack_file"], value_parser = kapstan_platform::environment::env_selection)]
    pub env: Option<String>,
    /// With --env: only this phase's stack.
    #[arg(long, value_enum, requires = "env")]
    pub phase: Option<Phase>,
    /// The environment runs in the offline sandbox persisted under .kapstan/sandbox/ (the
    /// one `kapstan sandbox serve` serves, or started for this command).
    #[arg(long)]
    pub sandbox: bool,
}

impl EnvArgs {
    /// The environments named by `--env` (`all` expands to [`ENVIRONMENTS`]).
    pub fn environments(&self) -> Vec<String> {
        match self.env.as_deref() {
            None => Vec::new(),
            Some("all") => ENVIRONMENTS.iter().map(|e| e.to_string()).collect(),
            Some(e) => vec![e.to_string()],
        }
    }

    /// The stacks to work on: `base` alone without `--env`, else `coder-<env>-<phase>` for
    /// every environment and phase selected (infra before app), with `base`'s variables.
    pub fn stacks(&self, base: &StackArgs) -> Vec<StackArgs> {
        if self.env.is_none() {
            return vec![base.clone()];
        }
        let phases = match self.phase {
            Some(p) => vec![p],
            None => vec![Phase::Infra, Phase::App],
        };
        let mut out = Vec::new();
        for env in self.environments() {
            for phase in &phases {
                out.push(StackArgs {
                    stack: format!("coder-{env}-{}", phase.as_str()),
                    stack_file: None,
                    vars: base.vars.clone(),
                });
            }
        }
        out
    }
}

/// Cost estimation and the budget gate of plan and apply.
#[derive(Debug, Clone, Default, Args)]
pub struct CostArgs {
    /// Price table: a built-in name (e.g. `2025-09`) or a TOML/JSON file (default: the newest).
    #[arg(long, value_name = "TABLE|FILE")]
    pub prices: Option<String>,
    /// Exit 3 when the planned monthly cost exceeds AMOUNT (overrides kapstan.toml budgets).
    #[arg(long, value_name = "AMOUNT")]
    pub max_monthly_cost: Option<String>,
}

/// A billing period for `kapstan cost`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum PeriodArg {
    /// Per hour (monthly / 730).
    Hourly,
    /// Per day (monthly × 24 / 730).
    Daily,
    /// Per month.
    Monthly,
    /// Per year (monthly × 12).
    Yearly,
}

/// How `kapstan cost` prints.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum CostFormat {
    /// Aligned columns.
    Table,
    /// One JSON document.
    Json,
    /// Comma-separated values with a header.
    Csv,
}

/// How a listing prints.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ListFormat {
    /// Aligned columns.
    Table,
    /// JSON.
    Json,
}

/// The commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Show what apply would change.
    Plan {
        /// Which stack.
        #[command(flatten)]
        stack: StackArgs,
        /// Or an environment's stacks.
        #[command(flatten)]
        env: EnvArgs,
        /// Cost estimate and budget.
        #[command(flatten)]
        cost: CostArgs,
        /// Plan options.
        #[command(flatten)]
        plan: PlanArgs,
        /// Plan the destruction of everything recorded.
        #[arg(long)]
        destroy: bool,
        /// Only compare recorded state with what is live.
        #[arg(long)]
        refresh_only: bool,
        /// Save the plan to FILE for `kapstan apply FILE`.
        #[arg(long, value_name = "FILE")]
        out: Option<PathBuf>,
        /// Exit 0 when nothing changes, 2 when something does, 1 on error.
        #[arg(long)]
        detailed_exitcode: bool,
        /// Print the plan as Terraform-compatible JSON.
        #[arg(long)]
        json: bool,
    },
    /// Make the stack real: plan, confirm, apply (or apply a saved plan).
    Apply {
        /// A plan saved with `kapstan plan --out`.
        plan_file: Option<PathBuf>,
        /// Which stack.
        #[command(flatten)]
        stack: StackArgs,
        /// Or one phase of an environment (`--env ENV --phase infra|app`).
        #[command(flatten)]
        env: EnvArgs,
        /// Cost estimate and budget.
        #[command(flatten)]
        cost: CostArgs,
        /// Plan options.
        #[command(flatten)]
        plan: PlanArgs,
        /// Do not ask for confirmation.
        #[arg(long)]
        auto_approve: bool,
        /// Only record live attributes in state.
        #[arg(long)]
        refresh_only: bool,
        /// Stream events as NDJSON on stdout.
        #[arg(long)]
        json: bool,
    },
    /// Delete everything the stack recorded.
    Destroy {
        /// Which stack.
        #[command(flatten)]
        stack: StackArgs,
        /// Or one phase of an environment (`--env ENV --phase infra|app`).
        #[command(flatten)]
        env: EnvArgs,
        /// Plan options.
        #[command(flatten)]
        plan: PlanArgs,
        /// Do not ask for confirmation.
        #[arg(long)]
        auto_approve: bool,
        /// Stream events as NDJSON on stdout.
        #[arg(long)]
        json: bool,
    },
    /// Report every live difference from state (exit 2 with --detailed-exitcode on drift).
    Drift {
        /// Which stack.
        #[command(flatten)]
        stack: StackArgs,
        /// Or an environment's stacks.
        #[command(flatten)]
        env: EnvArgs,
        /// Exit 2 when something drifted.
        #[arg(long)]
        detailed_exitcode: bool,
        /// JSON output.
        #[arg(long)]
        json: bool,
        /// Concurrent reads.
        #[arg(long, default_value_t = 10)]
        parallelism: usize,
    },
    /// Show a saved plan, or the state of a stack.
    Show {
        /// A saved plan file.
        plan_file: Option<PathBuf>,
        /// Which stack.
        #[command(flatten)]
        stack: StackArgs,
        /// Or an environment's stacks.
        #[command(flatten)]
        env: EnvArgs,
        /// JSON output.
        #[arg(long)]
        json: bool,
    },
    /// Print the stack's outputs (a named sensitive output is printed in clear).
    Output {
        /// The output to print.
        name: Option<String>,
        /// Which stack.
        #[command(flatten)]
        stack: StackArgs,
        /// An environment's stacks instead (the app phase is searched first).
        #[command(flatten)]
        envsel: EnvArgs,
        /// JSON output.
        #[arg(long)]
        json: bool,
        /// Print the bare value (for scripts).
        #[arg(long)]
        raw: bool,
    },
    /// Check the stack without calling any API.
    Validate {
        /// Which stack.
        #[command(flatten)]
        stack: StackArgs,
        /// JSON output.
        #[arg(long)]
        json: bool,
    },
    /// Print the dependency graph in DOT.
    Graph {
        /// Which stack.
        #[command(flatten)]
        stack: StackArgs,
    },
    /// Adopt an existing object as ADDRESS.
    Import {
        /// The declared address.
        address: String,
        /// The provider's id.
        id: String,
        /// Which stack.
        #[command(flatten)]
        stack: StackArgs,
    },
    /// Deploy an environment's Coder platform: phase infra, then phase app.
    Up {
        /// dev, staging or prod.
        #[arg(long, value_name = "ENV", value_parser = kapstan_platform::environment::env_name)]
        env: String,
        /// Only this phase.
        #[arg(long, value_enum)]
        phase: Option<Phase>,
        /// Skip the Coder release, admin and templates.
        #[arg(long)]
        no_coder: bool,
        /// Turn monitoring (Cockpit and the Alloy collector) on for an environment whose
        /// `[monitoring]` leaves it off (dev); it then stays on until `enabled = false`.
        #[arg(long)]
        enable_monitoring: bool,
        /// Plan only.
        #[arg(long)]
        dry_run: bool,
        /// A template to push (repeatable; default: the environment's selection, or all).
        #[arg(long = "template", value_name = "NAME")]
        templates: Vec<String>,
        /// Domain of the access URL (needs --subdomain).
        #[arg(long)]
        domain: Option<String>,
        /// Subdomain under --domain.
        #[arg(long)]
        subdomain: Option<String>,
        /// With --domain: `acme` (default) creates the DNS records and a certificate by ACME in
        /// the domain's Scaleway zone, served by Coder; `external` prints the records to create
        /// and leaves TLS to you.
        #[arg(long, value_name = "MODE", value_parser = ["acme", "external"])]
        tls: Option<String>,
        /// Do not ask for confirmation.
        #[arg(long)]
        auto_approve: bool,
        /// Run against the offline sandbox persisted under .kapstan/sandbox/.
        #[arg(long)]
        sandbox: bool,
        /// Operations in flight at once.
        #[arg(long, default_value_t = 10)]
        parallelism: usize,
    },
    /// Tear an environment down: back up, destroy phase app, then phase infra.
    Down {
        /// dev, staging or prod.
        #[arg(long, value_name = "ENV", value_parser = kapstan_platform::environment::env_name)]
        env: String,
        /// Only this phase.
        #[arg(long, value_enum)]
        phase: Option<Phase>,
        /// Required: destroying is not undone (`--confirm` is the old spelling).
        #[arg(long, alias = "confirm")]
        auto_approve: bool,
        /// The offline sandbox.
        #[arg(long)]
        sandbox: bool,
        /// Delete the cluster's PersistentVolumeClaims (and so the block volumes and data the
        /// CSI driver made for them) instead of stopping before the cluster is deleted.
        #[arg(long)]
        delete_volumes: bool,
        /// Operations in flight at once.
        #[arg(long, default_value_t = 10)]
        parallelism: usize,
    },
    /// Check prerequisites (helm, credentials, state) and say how to get what is missing.
    Doctor,
    /// Back up an environment: both phases' state, outputs, Kubernetes objects, optionally the database.
    Backup {
        /// dev, staging or prod.
        #[arg(long, value_name = "ENV", value_parser = kapstan_platform::environment::parse_env)]
        env: kapstan_stacks::coder::Environment,
        /// Also make a PostgreSQL backup through the RDB backups API.
        #[arg(long)]
        include_db: bool,
        /// Remove this environment's backups older than N days.
        #[arg(long, value_name = "N", default_value_t = kapstan_platform::backup::DEFAULT_RETENTION_DAYS)]
        retention_days: u32,
        /// Where backups go (default backups/ENV).
        #[arg(long, value_name = "DIR")]
        out: Option<PathBuf>,
        /// The environment runs in the offline sandbox.
        #[arg(long)]
        sandbox: bool,
    },
    /// Restore an environment's state from a backup made by `kapstan backup`.
    Restore {
        /// dev, staging or prod.
        #[arg(long, value_name = "ENV", value_parser = kapstan_platform::environment::parse_env)]
        env: kapstan_stacks::coder::Environment,
        /// The backup directory (backups/ENV/TIMESTAMP).
        #[arg(long = "from", value_name = "DIR")]
        from: PathBuf,
        /// Replace state of another lineage.
        #[arg(long)]
        force: bool,
        /// Also restore the backup's PostgreSQL backup into the database instance (RDB API),
        /// waiting until it is done: with the state of the previous Coder version, a rollback.
        #[arg(long)]
        database: bool,
        /// The offline sandbox (for --database).
        #[arg(long)]
        sandbox: bool,
    },
    /// Upgrade an environment's Coder: a database backup through the RDB API first (waited
    /// for, its id printed), then the release with the image pinned, then a health check.
    Upgrade {
        /// dev, staging or prod.
        #[arg(long, value_name = "ENV", value_parser = kapstan_platform::environment::env_name)]
        env: String,
        /// The Coder release to run, e.g. 2.22.0 (older than the running one is refused).
        #[arg(long, value_name = "VERSION")]
        coder: String,
        /// Plan only.
        #[arg(long)]
        dry_run: bool,
        /// Do not ask for confirmation.
        #[arg(long)]
        auto_approve: bool,
        /// Run against the offline sandbox persisted under .kapstan/sandbox/.
        #[arg(long)]
        sandbox: bool,
        /// Operations in flight at once.
        #[arg(long, default_value_t = 10)]
        parallelism: usize,
    },
    /// Check a deployed environment live: cluster, nodes, database, load balancer, Coder.
    Health {
        /// dev, staging or prod.
        #[arg(long, value_name = "ENV", value_parser = kapstan_platform::environment::parse_env)]
        env: kapstan_stacks::coder::Environment,
        /// Only the cluster and Coder.
        #[arg(long)]
        quick: bool,
        /// Output format.
        #[arg(long, value_enum, default_value = "table")]
        format: ListFormat,
        /// JSON output (the same as `--format json`).
        #[arg(long)]
        json: bool,
        /// The environment runs in the offline sandbox.
        #[arg(long)]
        sandbox: bool,
    },
    /// Adopt the infrastructure of the original Terraform project from its terraform.tfstate.
    Adopt {
        /// dev, staging or prod.
        #[arg(long, value_name = "ENV", value_parser = kapstan_platform::environment::parse_env)]
        env: kapstan_stacks::coder::Environment,
        /// The phase to adopt (only infra).
        #[arg(long, value_enum)]
        phase: Phase,
        /// The Terraform state file (format version 4).
        #[arg(long, value_name = "FILE")]
        terraform_state: PathBuf,
        /// Import without asking for confirmation (`--yes` is the old spelling).
        #[arg(long, alias = "yes")]
        auto_approve: bool,
    },
    /// Resize an environment's node pool: edit environments/ENV.toml, show the plan and the
    /// monthly cost change, apply phase infra on confirmation.
    #[command(group(clap::ArgGroup::new("scaling").required(true).multiple(true).args(["nodes", "min", "max", "auto"])))]
    Scale {
        /// dev, staging or prod.
        #[arg(long, value_name = "ENV", value_parser = kapstan_platform::environment::env_name)]
        env: String,
        /// A fixed pool of N nodes (turns autoscaling off; widens min/max when needed).
        #[arg(long, value_name = "N", conflicts_with_all = ["min", "max", "auto"])]
        nodes: Option<u32>,
        /// Autoscaling minimum (turns autoscaling on).
        #[arg(long, value_name = "N", conflicts_with = "auto")]
        min: Option<u32>,
        /// Autoscaling maximum (turns autoscaling on).
        #[arg(long, value_name = "N", conflicts_with = "auto")]
        max: Option<u32>,
        /// Turn autoscaling on within the environment's min/max.
        #[arg(long)]
        auto: bool,
        /// With --auto: the cluster autoscaler removes nodes used below PCT % (1-100).
        #[arg(long, value_name = "PCT", requires = "auto", value_parser = clap::value_parser!(u8).range(1..=100))]
        scale_down_threshold: Option<u8>,
        /// Print the current and proposed cost and the cluster's capacity; change nothing.
        #[arg(long)]
        analyze_only: bool,
        /// Do not ask for confirmation.
        #[arg(long)]
        auto_approve: bool,
        /// Price table: a built-in name (e.g. `2025-09`) or a TOML/JSON file (default: the newest).
        #[arg(long, value_name = "TABLE|FILE")]
        prices: Option<String>,
        /// The offline sandbox.
        #[arg(long)]
        sandbox: bool,
    },
    /// Check the live cluster against the environment's security policy (exit 2 on high
    /// findings); --fix re-applies what kapstan manages.
    Audit {
        /// dev, staging or prod.
        #[arg(long, value_name = "ENV", value_parser = kapstan_platform::environment::env_name)]
        env: String,
        /// Output format.
        #[arg(long, value_enum, default_value = "table")]
        format: ListFormat,
        /// JSON output (the same as `--format json`).
        #[arg(long)]
        json: bool,
        /// Plan the corrections through the app stack and apply them on confirmation.
        #[arg(long)]
        fix: bool,
        /// With --fix: do not ask for confirmation.
        #[arg(long, requires = "fix")]
        auto_approve: bool,
        /// The offline sandbox.
        #[arg(long)]
        sandbox: bool,
    },
    /// List the built-in stacks.
    Stacks,
    /// Estimate what stacks cost from their declarations; set budgets.
    Cost {
        /// Which stack.
        #[command(flatten)]
        stack: StackArgs,
        /// Or an environment's stacks.
        #[command(flatten)]
        env: EnvArgs,
        /// Price table: a built-in name (e.g. `2025-09`) or a TOML/JSON file (default: the newest).
        #[arg(long, value_name = "TABLE|FILE")]
        prices: Option<String>,
        /// The period amounts are given for.
        #[arg(long, value_enum, default_value = "monthly")]
        period: PeriodArg,
        /// Output format.
        #[arg(long, value_enum, default_value = "table")]
        format: CostFormat,
        /// JSON output (the same as `--format json`).
        #[arg(long)]
        json: bool,
        /// Store a monthly budget for the environment (or stack) in kapstan.toml.
        #[arg(long, value_name = "AMOUNT")]
        set_budget: Option<String>,
        /// With --set-budget: warn when the planned cost reaches PCT % of the budget (default 80).
        #[arg(long, value_name = "PCT", requires = "set_budget")]
        alert_threshold: Option<u32>,
    },
    /// Coder workspace templates: list, lint, push.
    Templates {
        /// The subcommand.
        #[command(subcommand)]
        command: TemplatesCommand,
    },
    /// Inspect and repair state.
    State {
        /// The subcommand.
        #[command(subcommand)]
        command: StateCommand,
    },
    /// Run the local Scaleway emulator.
    Sandbox {
        /// The subcommand.
        #[command(subcommand)]
        command: SandboxCommand,
    },
}

/// `kapstan templates ...`
#[derive(Debug, Subcommand)]
pub enum TemplatesCommand {
    /// List the workspace templates.
    List {
        /// Templates root (`<category>/<name>/` directories; default: the shipped templates).
        #[arg(long, value_name = "DIR")]
        dir: Option<PathBuf>,
        /// Output format.
        #[arg(long, value_enum, default_value = "table")]
        format: ListFormat,
    },
    /// Check templates (all, or the NAMEs given); exit 1 on errors.
    Lint {
        /// Template names (`go-fiber` or `backend/go-fiber`).
        names: Vec<String>,
        /// Templates root (default: the shipped templates).
        #[arg(long, value_name = "DIR")]
        dir: Option<PathBuf>,
    },
    /// Push templates to an environment's Coder: apply the `coder_template` resources of
    /// stack `coder-ENV-app` (all it declares, or the NAMEs given), with what they need.
    Push {
        /// The environment.
        #[arg(long, value_name = "ENV", value_parser = kapstan_platform::environment::env_name)]
        env: String,
        /// Template names (default: every template the environment's app stack declares).
        names: Vec<String>,
        /// A variable of the app stack, `KEY=VALUE` (e.g. `templates=go-fiber,rust-actix`).
        #[arg(long = "var", value_name = "KEY=VALUE")]
        vars: Vec<String>,
        /// Do not ask for confirmation.
        #[arg(long)]
        auto_approve: bool,
        /// Stream events as NDJSON on stdout.
        #[arg(long)]
        json: bool,
        /// Operations in flight at once.
        #[arg(long, default_value_t = 10, value_name = "N")]
        parallelism: usize,
        /// The environment runs in the offline sandbox.
        #[arg(long)]
        sandbox: bool,
    },
}

/// `kapstan state ...`
#[derive(Debug, Subcommand)]
pub enum StateCommand {
    /// List recorded addresses.
    List {
        /// Which stack.
        #[command(flatten)]
        stack: StackArgs,
    },
    /// Show one recorded resource (sensitive values redacted).
    Show {
        /// The address.
        address: String,
        /// Which stack.
        #[command(flatten)]
        stack: StackArgs,
    },
    /// Forget resources without deleting them.
    Rm {
        /// Addresses.
        #[arg(required = true)]
        addresses: Vec<String>,
        /// Which stack.
        #[command(flatten)]
        stack: StackArgs,
    },
    /// Rename a recorded address.
    Mv {
        /// From.
        from: String,
        /// To.
        to: String,
        /// Which stack.
        #[command(flatten)]
        stack: StackArgs,
    },
    /// Print the state document as stored (secrets sealed).
    Pull {
        /// Which stack.
        #[command(flatten)]
        stack: StackArgs,
    },
    /// Replace the state with a document (same lineage unless --force).
    Push {
        /// The document (as printed by `state pull`).
        file: PathBuf,
        /// Which stack.
        #[command(flatten)]
        stack: StackArgs,
        /// Accept another lineage or an older serial.
        #[arg(long)]
        force: bool,
    },
    /// List saved versions.
    History {
        /// Which stack.
        #[command(flatten)]
        stack: StackArgs,
    },
    /// Make an earlier version current again (kept as a new version).
    Rollback {
        /// The serial to go back to.
        serial: u64,
        /// Which stack.
        #[command(flatten)]
        stack: StackArgs,
    },
    /// Remove a stack's lock.
    Unlock {
        /// Which stack.
        #[command(flatten)]
        stack: StackArgs,
        /// Remove it even if its holder may be alive.
        #[arg(long)]
        force: bool,
    },
    /// Create and configure a bucket for remote state.
    Bootstrap {
        /// Bucket name.
        #[arg(long)]
        bucket: String,
        /// Region.
        #[arg(long, default_value = "fr-par")]
        region: String,
        /// S3 endpoint (default Scaleway's for the region).
        #[arg(long)]
        endpoint: Option<String>,
        /// Path-style addressing.
        #[arg(long)]
        path_style: bool,
        /// Days before noncurrent versions expire.
        #[arg(long, default_value_t = 90)]
        noncurrent_days: u32,
    },
    /// Copy every stack with its history to another store, then switch kapstan.toml.
    Migrate {
        /// The target store URL.
        #[arg(long)]
        to: String,
        /// Only say what would be copied.
        #[arg(long)]
        dry_run: bool,
    },
    /// Write every stack (sealed) with a manifest.
    Backup {
        /// Output directory.
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// Restore stacks from a backup directory.
    Restore {
        /// The backup directory.
        dir: PathBuf,
        /// Accept another lineage.
        #[arg(long)]
        force: bool,
    },
}

/// `kapstan sandbox ...`
#[derive(Debug, Subcommand)]
pub enum SandboxCommand {
    /// Serve the emulated Scaleway APIs until Ctrl-C. In a project that used `--sandbox`
    /// (it has .kapstan/sandbox/), serves that sandbox on its recorded port by default, so
    /// the kubeconfigs and access URLs `up --sandbox` printed keep answering.
    Serve {
        /// Listen address, loopback only (default: the project sandbox's recorded port, else
        /// 127.0.0.1:8787).
        #[arg(long)]
        addr: Option<String>,
        /// Speed factor for state machines (durations are divided by it; default: the
        /// project sandbox's, else 1).
        #[arg(long)]
        speed: Option<f64>,
        /// Persist the sandbox here (default: the project's .kapstan/sandbox/ when it exists).
        #[arg(long)]
        data_dir: Option<PathBuf>,
        /// The secret key clients must send.
        #[arg(long, env = "KAPSTAN_SANDBOX_SECRET_KEY")]
        secret_key: Option<String>,
        /// Fault injection, e.g. `429=0.1,503=0.05,latency=50ms,lost=0.02`.
        #[arg(long)]
        faults: Option<String>,
    },
    /// Print the loopback addresses a host of the project sandbox's DNS zones leads to (its
    /// load balancer's port 443 and port 80 frontends), with a curl command that reaches it.
    Resolve {
        /// A host of an emulated zone, e.g. coder.example.test.
        name: String,
    },
}
