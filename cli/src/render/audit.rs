//! `kapstan audit`: the findings as an aligned table.

use std::fmt::Write as _;

use kapstan_platform::audit::{Finding, Policy, counts};

/// Findings as an aligned table with a summary line.
pub(crate) fn render_table(policy: &Policy, findings: &[Finding], checks: usize) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "Audit of {}: Pod Security {}, default-deny network policies {}, namespaces {}",
        policy.environment,
        policy.pod_security.unwrap_or("not required"),
        if policy.network_policies {
            "required"
        } else {
            "not required"
        },
        policy.namespaces.join(", ")
    );
    if findings.is_empty() {
        let _ = writeln!(out, "No findings ({checks} checks).");
        return out;
    }
    let rows: Vec<[String; 5]> = findings
        .iter()
        .map(|f| {
            [
                f.severity.as_str().to_uppercase(),
                f.check.to_string(),
                f.object.clone(),
                f.message.clone(),
                if f.kapstan_address.is_some() {
                    "kapstan audit --fix".to_string()
                } else {
                    format!("manual: {}", f.remedy)
                },
            ]
        })
        .collect();
    let headers = ["SEVERITY", "CHECK", "OBJECT", "FINDING", "FIX"];
    let mut widths = headers.map(str::len);
    for r in &rows {
        for (i, cell) in r.iter().enumerate().take(4) {
            widths[i] = widths[i].max(cell.chars().count());
        }
    }
    let line = |cells: [&str; 5]| {
        let mut l = String::new();
        for (i, c) in cells.iter().enumerate() {
            if i < 4 {
                let _ = write!(l, "{c:<w$}  ", w = widths[i]);
            } else {
                l.push_str(c);
            }
        }
        l.trim_end().to_string()
    };
    let _ = writeln!(out, "{}", line(headers));
    for r in &rows {
        let _ = writeln!(out, "{}", line([&r[0], &r[1], &r[2], &r[3], &r[4]]));
    }
    let (h, m, l) = counts(findings);
    let _ = writeln!(
        out,
        "{} finding(s): {h} high, {m} medium, {l} low ({checks} checks).",
        findings.len()
    );
    out
}
