//! `kapstan health`: the checks as a table.

use kapstan_platform::health::HealthReport;

/// The report as a table.
pub(crate) fn table(report: &HealthReport) -> String {
    let mut out = format!(
        "Health of {}{}\n\n",
        report.environment,
        if report.quick { " (quick)" } else { "" }
    );
    let w1 = report
        .checks
        .iter()
        .map(|c| c.component.len())
        .max()
        .unwrap_or(0);
    let w2 = report
        .checks
        .iter()
        .map(|c| c.check.len())
        .max()
        .unwrap_or(0);
    for c in &report.checks {
        out.push_str(&format!(
            "  {:<4}  {:<w1$}  {:<w2$}  {}\n",
            if c.ok { "ok" } else { "FAIL" },
            c.component,
            c.check,
            c.detail
        ));
    }
    let failed = report.failures().count();
    out.push_str(&format!(
        "\n{} check(s), {} failed: {}\n",
        report.checks.len(),
        failed,
        if failed == 0 { "healthy" } else { "unhealthy" }
    ));
    out
}
