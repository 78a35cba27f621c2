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
    /// The command.
    #[command(subcommand)]
    pub command: Command,
}

/// Which stack a command works on.
#[derive(Debug, Clone, Args)]
pub struct StackArgs {
    /// A built-in stack (see `kapstan stacks`).
    #[arg(long, env = "KAPSTAN_STACK", default_value = "demo", value_name = "NAME")]
    pub stack: String,
    /// A stack declared in a JSON file (a serialized StackSpec) instead of a built-in one.
    #[arg(long, value_name = "FILE", conflicts_with = "stack")]
    pub stack_file: Option<PathBuf>,
    /// A variable of the built-in stack, `KEY=VALUE` (repeatable).
    #[arg(long = "var", value_name = "KEY=VALUE")]
    pub vars: Vec<String>,
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

/// The commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Show what apply would change.
    Plan {
        /// Which stack.
        #[command(flatten)]
        stack: StackArgs,
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
    /// List the built-in stacks.
    Stacks,
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
    /// Serve the emulated Scaleway APIs until Ctrl-C.
    Serve {
        /// Listen address (loopback only).
        #[arg(long, default_value = "127.0.0.1:8787")]
        addr: String,
        /// Speed factor for state machines (durations are divided by it).
        #[arg(long, default_value_t = 1.0)]
        speed: f64,
        /// Persist the sandbox here.
        #[arg(long)]
        data_dir: Option<PathBuf>,
        /// The secret key clients must send.
        #[arg(long, env = "KAPSTAN_SANDBOX_SECRET_KEY")]
        secret_key: Option<String>,
        /// Fault injection, e.g. `429=0.1,503=0.05,latency=50ms,lost=0.02`.
        #[arg(long)]
        faults: Option<String>,
    },
}
