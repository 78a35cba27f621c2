//! `kapstan adopt`: what was adopted and what to do next.

use kapstan_platform::adopt::AdoptReport;

/// The lines `kapstan adopt` prints after importing into environment `env`.
pub(crate) fn summary(report: &AdoptReport, env: &str) {
    if !report.skipped.is_empty() {
        println!(
            "Already in state, left as recorded: {}",
            report.skipped.join(", ")
        );
    }
    println!(
        "\nAdopted {} resource(s) into `{}` without changing anything in the cloud; {} Terraform resource(s) left unmanaged.",
        report.imported, report.stack, report.unmanaged
    );
    if report.outputs_pending {
        println!(
            "The adopted resources differ from the declaration: the stack's outputs are recorded by the next `kapstan up --env {} --phase infra`.",
            env
        );
    }
    println!(
        "Run `kapstan plan --env {} --phase infra` to see what differs from the declaration; remove the adopted resources from Terraform's state (`terraform state rm`) so both tools never manage the same objects.",
        env
    );
}
