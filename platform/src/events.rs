//! What the platform operations tell their caller while they run: typed events (progress the
//! CLI renders as text or NDJSON) and the confirmations they ask for, through an
//! [`Observer`] the caller passes in.

use std::path::Path;

use kapstan_engine::{ApplyReport, EventSink, Failure, Plan};
use kapstan_providers::pricing::{CostEstimate, PricingError};

use crate::adopt::AdoptPlan;
use crate::audit::{Finding, Policy};
use crate::cost::PlanCost;
use crate::error::PlatformError;
use crate::hooks::HookReport;
use crate::scale::{Capacity, PoolSettings};
use crate::up::UpSummary;

/// Something an operation did or found, in the order it happened.
#[derive(Debug)]
#[non_exhaustive]
pub enum PlatformEvent<'a> {
    /// A phase's stack is about to be planned (`up`).
    PhaseStarted {
        /// The stack.
        stack: &'a str,
    },
    /// The Coder release the app phase runs, its provisioner daemons, and the upgrade a version
    /// change makes (`up`, `upgrade`).
    CoderRelease {
        /// The Coder version.
        version: &'a str,
        /// Built-in provisioner daemons per replica (`CODER_PROVISIONER_DAEMONS`).
        provisioner_daemons: u32,
        /// From → to, when the version changes.
        upgrade: Option<&'a kapstan_stacks::coder::upgrade::CoderUpgrade>,
    },
    /// The backup made before an upgrade, waited for.
    UpgradeBackedUp {
        /// What was recorded.
        record: &'a crate::upgrade::UpgradeRecord,
    },
    /// The environment is healthy after an upgrade.
    UpgradeHealthy {
        /// What was recorded.
        record: &'a crate::upgrade::UpgradeRecord,
    },
    /// A phase was not planned: the infra phase it reads is not applied (`up --dry-run`).
    PhaseNotPlanned {
        /// The stack.
        stack: &'a str,
    },
    /// A stack an operation works on next (`down`, `scale`).
    StackHeading {
        /// The stack.
        stack: &'a str,
    },
    /// A stack `down` found empty in state.
    NothingRecorded {
        /// The stack.
        stack: &'a str,
    },
    /// A plan, with its cost when it could be priced.
    PlanReady {
        /// The plan.
        plan: &'a Plan,
        /// Its monthly cost before and after.
        cost: Option<&'a PlanCost>,
    },
    /// The planned environment has no domain: Coder will answer plain HTTP on the load
    /// balancer's address, for trying things out (`up`).
    PlainHttpPlanned {
        /// The environment.
        env: &'a str,
    },
    /// A plan's cost could not be estimated (the plan is still shown).
    CostNotEstimated {
        /// The stack.
        stack: &'a str,
        /// Why.
        error: &'a PricingError,
    },
    /// An apply of one stack finished with every operation done.
    Applied {
        /// The stack.
        stack: &'a str,
        /// What it did.
        report: &'a ApplyReport,
    },
    /// One operation of an apply failed.
    OperationFailed {
        /// The failure.
        failure: &'a Failure,
    },
    /// A step before a destroy failed on one resource (`down`).
    StepFailed {
        /// The resource.
        address: &'a str,
        /// The step (`deleting its workspaces`, `checking its volumes`).
        step: &'a str,
        /// Why.
        error: String,
    },
    /// A hook ran.
    HookRan {
        /// Its outcome.
        report: &'a HookReport,
    },
    /// The infra phase's kubeconfig was written for the user.
    KubeconfigWritten {
        /// Where (mode 0600).
        path: &'a Path,
    },
    /// `up` finished: how to reach the platform.
    UpFinished {
        /// Access URL, admin, DNS records and cost.
        summary: &'a UpSummary,
    },
    /// The run log of the operation.
    RunLogWritten {
        /// Its path.
        path: &'a Path,
    },
    /// `down` backed up both phases before destroying.
    BackedUp {
        /// The environment.
        env: &'a str,
        /// The backup directory.
        dir: &'a Path,
    },
    /// `down` deleted the Coder workspaces of a template so the template can be deleted.
    WorkspacesDeleted {
        /// The template's address.
        address: &'a str,
        /// The workspaces.
        workspaces: &'a [String],
    },
    /// `down --delete-volumes` deleted the PersistentVolumeClaims of a cluster.
    VolumesDeleted {
        /// The cluster's address.
        address: &'a str,
        /// The claims.
        claims: &'a [String],
    },
    /// `down` finished: every resource removed (`stack: kind.address (id)`).
    Removed {
        /// The resources.
        resources: &'a [String],
    },
    /// `scale`: the pool as it is and as it would be.
    ScaleProposed {
        /// The environment.
        env: &'a str,
        /// Current settings.
        current: &'a PoolSettings,
        /// Proposed settings.
        proposed: &'a PoolSettings,
        /// What was adjusted to make the request valid.
        notes: &'a [String],
    },
    /// `scale`: the infra phase's monthly cost now and with the proposed pool.
    ScaleCost {
        /// The current cost.
        current: &'a CostEstimate,
        /// The proposed cost.
        proposed: &'a CostEstimate,
    },
    /// `scale`: the infra phase is not deployed.
    ScaleNotDeployed {
        /// The infra stack.
        stack: &'a str,
    },
    /// `scale --analyze-only`: the cluster's capacity (or why it could not be read).
    Capacity {
        /// The capacity, or why it is unavailable.
        capacity: Result<&'a Capacity, String>,
        /// The proposed settings it is compared with.
        proposed: &'a PoolSettings,
    },
    /// `scale --analyze-only` finished without changing anything.
    AnalysisOnly {
        /// The override file left untouched.
        path: &'a Path,
    },
    /// `scale`: the pool already has the asked settings.
    ScaleNothingToChange,
    /// `scale` wrote the environment's override file.
    OverridesWritten {
        /// The file.
        path: &'a Path,
        /// The environment (`up` creates the pool when it is not deployed).
        env: &'a str,
        /// Whether the infra phase is deployed (an apply follows).
        deployed: bool,
    },
    /// `scale`: the cluster already matches the written settings.
    ScaleAlreadyMatches,
    /// `scale` applied the new pool settings.
    Scaled {
        /// The environment.
        env: &'a str,
        /// The pool now.
        settings: &'a PoolSettings,
    },
    /// `audit`: the findings (after `--fix`, the findings left).
    AuditFindings {
        /// The policy checked.
        policy: &'a Policy,
        /// The findings.
        findings: &'a [Finding],
        /// How many checks ran.
        checks: usize,
        /// Whether this is the audit after the fix.
        after_fix: bool,
    },
    /// `audit --fix`: no finding is one kapstan corrects.
    AuditNothingToFix,
    /// `audit --fix`: the app phase is not deployed.
    AuditAppNotDeployed {
        /// The app stack.
        stack: &'a str,
        /// The environment.
        env: &'a str,
    },
    /// `audit --fix`: the corrections re-apply these addresses of the app stack.
    AuditFixing {
        /// The app stack.
        stack: &'a str,
        /// The addresses re-applied.
        targets: &'a [String],
    },
    /// `audit --fix`: the app phase matches its declaration already.
    AuditFixUnneeded,
    /// `audit --fix`: findings kapstan does not manage.
    AuditManual {
        /// The findings.
        findings: &'a [Finding],
    },
    /// `adopt`: the mapping of the Terraform state onto the stack.
    AdoptPlanned {
        /// The mapping.
        plan: &'a AdoptPlan,
        /// The stack adopted into.
        stack: &'a str,
    },
    /// `adopt` starts importing.
    Importing,
    /// `adopt` imported one resource.
    Imported {
        /// Its address.
        address: &'a str,
        /// Its Terraform address.
        terraform: &'a str,
    },
    /// `templates push --sandbox` applied the templates.
    TemplatesPushed {
        /// Operations done.
        operations: usize,
    },
}

/// A question an operation asks before it changes something (never asked with
/// `auto_approve`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Confirmation<'a> {
    /// `up`: apply the plan shown to this stack.
    ApplyPhase {
        /// The stack.
        stack: &'a str,
    },
    /// `down` of prod: type the environment's name.
    DestroyEnvironment {
        /// The environment.
        env: &'a str,
    },
    /// `scale`: write the override file and apply the plan.
    Scale {
        /// The override file.
        path: &'a Path,
        /// The infra stack.
        stack: &'a str,
    },
    /// `audit --fix`: apply the corrections.
    AuditFix {
        /// The app stack.
        stack: &'a str,
    },
    /// `adopt`: import the mapped resources.
    Adopt {
        /// How many.
        resources: usize,
        /// The stack.
        stack: &'a str,
    },
    /// `templates push --sandbox`: push the templates planned.
    PushTemplates,
}

/// Receives an operation's events and answers its questions.
pub trait Observer: Send + Sync {
    /// One event.
    fn event(&self, event: PlatformEvent<'_>);

    /// Answers a question: `Ok(true)` to go on, `Ok(false)` to cancel (the operation then
    /// changes nothing more and reports the cancellation), an error to stop.
    fn confirm(&self, question: Confirmation<'_>) -> Result<bool, PlatformError>;

    /// Where the engine's progress events of the operation go.
    fn engine_events(&self) -> EventSink {
        EventSink::none()
    }
}

/// An observer for unattended use: ignores events and refuses every question except the
/// prod name check of `down` (whose `auto_approve` was already given).
#[derive(Debug, Clone, Copy, Default)]
pub struct Unattended;

impl Observer for Unattended {
    fn event(&self, _event: PlatformEvent<'_>) {}

    fn confirm(&self, question: Confirmation<'_>) -> Result<bool, PlatformError> {
        match question {
            Confirmation::DestroyEnvironment { .. } => Ok(true),
            _ => Err(PlatformError::usage(
                "refusing to proceed without confirmation: nobody is there to answer",
                "set auto_approve in the operation's options",
            )),
        }
    }
}
