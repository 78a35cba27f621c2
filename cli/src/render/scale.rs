//! `kapstan scale`: the capacity report and the cost of the pool now and as proposed.

use std::fmt::Write as _;

use kapstan_platform::scale::{Capacity, PoolSettings};
use kapstan_providers::pricing::CostEstimate;

use super::cost as render_cost;

fn cores(v: f64) -> String {
    let s = format!("{v:.2}");
    s.trim_end_matches('0').trim_end_matches('.').to_string()
}

fn bytes(v: f64) -> String {
    let gi = v / 1024f64.powi(3);
    if gi >= 1.0 {
        format!("{}Gi", cores(gi))
    } else {
        format!("{}Mi", cores(v / 1024f64.powi(2)))
    }
}

fn share(part: f64, whole: f64) -> String {
    if whole <= 0.0 {
        "n/a".into()
    } else {
        format!("{:.0}%", part * 100.0 / whole)
    }
}

/// The capacity report: current use, and what the proposed pool would offer.
pub(crate) fn render_capacity(c: &Capacity, proposed: &PoolSettings) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "Capacity (Kubernetes API, {} of {} node(s) ready):",
        c.ready_nodes, c.nodes
    );
    let _ = writeln!(
        out,
        "  CPU:     {} of {} cores allocatable requested ({})",
        cores(c.requested_cpu),
        cores(c.allocatable_cpu),
        share(c.requested_cpu, c.allocatable_cpu)
    );
    let _ = writeln!(
        out,
        "  memory:  {} of {} allocatable requested ({})",
        bytes(c.requested_memory),
        bytes(c.allocatable_memory),
        share(c.requested_memory, c.allocatable_memory)
    );
    let _ = writeln!(
        out,
        "  pods:    {} running, {} pending",
        c.running_pods, c.pending_pods
    );
    if c.ready_nodes > 0 {
        let per_cpu = c.allocatable_cpu / c.ready_nodes as f64;
        let per_mem = c.allocatable_memory / c.ready_nodes as f64;
        let floor = if proposed.autoscaling {
            proposed.min
        } else {
            proposed.size
        };
        let label = if proposed.autoscaling {
            format!("at its minimum of {floor} node(s)")
        } else {
            format!("with {floor} node(s)")
        };
        let (cpu, mem) = (per_cpu * f64::from(floor), per_mem * f64::from(floor));
        let _ = writeln!(
            out,
            "  proposed pool {label}: {} cores, {} allocatable (requests would use {} CPU, {} memory)",
            cores(cpu),
            bytes(mem),
            share(c.requested_cpu, cpu),
            share(c.requested_memory, mem)
        );
        if c.requested_cpu > cpu || c.requested_memory > mem {
            let _ = writeln!(
                out,
                "  warning: the proposed pool {label} cannot hold the pods' requests; pods would stay pending{}",
                if proposed.autoscaling {
                    " until the autoscaler adds nodes"
                } else {
                    ""
                }
            );
        }
    }
    out
}

pub(crate) fn cost_summary(current: &CostEstimate, proposed: &CostEstimate) -> String {
    let cur = proposed.currency.as_str();
    let mut out = String::new();
    let range = |e: &CostEstimate| {
        if e.monthly_min != e.monthly_max {
            format!(
                " (autoscaling range {} to {})",
                render_cost::money(e.monthly_min, cur),
                render_cost::money(e.monthly_max, cur)
            )
        } else {
            String::new()
        }
    };
    let _ = writeln!(
        out,
        "Monthly cost of the infra phase (prices {}):",
        proposed.table
    );
    let _ = writeln!(
        out,
        "  current:   {}{}",
        render_cost::money(current.monthly, cur),
        range(current)
    );
    let _ = writeln!(
        out,
        "  proposed:  {}{}",
        render_cost::money(proposed.monthly, cur),
        range(proposed)
    );
    let _ = writeln!(
        out,
        "  change:    {}/month",
        render_cost::delta(proposed.monthly_delta(current), cur)
    );
    out
}
