//! The plan and apply steps the provider test binaries share: plan in a mode, the actionable
//! changes by address, and an apply that must succeed.

use kapstan_engine::{Action, ApplyOptions, Engine, Plan, PlanMode, PlanOptions, StackSpec};

/// Plans `spec` in `mode`.
pub async fn plan(engine: &Engine, spec: &StackSpec, mode: PlanMode) -> Plan {
    engine
        .plan(
            spec,
            &PlanOptions {
                mode,
                ..Default::default()
            },
        )
        .await
        .expect("plan")
}

/// The actionable changes of a plan, by address.
pub fn changes(plan: &Plan) -> Vec<(String, Action)> {
    plan.actionable()
        .map(|c| (c.address.clone(), c.action))
        .collect()
}

/// Plans and applies `spec` in `mode`, failing the test unless every resource succeeded.
pub async fn apply_ok(engine: &Engine, spec: &StackSpec, mode: PlanMode) -> Plan {
    let p = plan(engine, spec, mode).await;
    let report = engine
        .apply(&p, &ApplyOptions::default())
        .await
        .expect("apply");
    assert!(
        report.is_success(),
        "apply failed: {:?} skipped {:?}",
        report.failed,
        report.skipped
    );
    p
}
