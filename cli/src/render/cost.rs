//! Rendering of costs: the cost line of a plan and the `kapstan cost` breakdown as a table,
//! CSV or JSON.

use std::fmt::Write;

use kapstan_providers::pricing::{CostEstimate, Money, Period, PriceTable};
use serde_json::{Value, json};

use kapstan_platform::cost::{BudgetCheck, BudgetStatus, EnvCost, PlanCost, StackCost};
use miette::Diagnostic;

/// The currency's symbol (`€`), or its code followed by a space.
fn symbol(currency: &str) -> String {
    match currency {
        "EUR" => "€".into(),
        "USD" => "$".into(),
        "GBP" => "£".into(),
        other => format!("{other} "),
    }
}

/// An amount rounded to the cent with its currency, e.g. `€53.70`, `-€8.90`.
pub fn money(m: Money, currency: &str) -> String {
    let text = m.to_cents_string();
    match text.strip_prefix('-') {
        Some(abs) => format!("-{}{abs}", symbol(currency)),
        None => format!("{}{text}", symbol(currency)),
    }
}

/// A signed change, e.g. `+€44.15`, `-€8.90`, `±€0.00`.
pub fn delta(m: Money, currency: &str) -> String {
    if m.round_cents() == 0 {
        format!("±{}", money(Money::ZERO, currency))
    } else if m > Money::ZERO {
        format!("+{}", money(m, currency))
    } else {
        money(m, currency)
    }
}

/// An amount for a period: four decimals per hour (cents hide hourly prices), else cents.
fn amount(m: Money, period: Period) -> String {
    if period != Period::Hourly {
        return m.to_cents_string();
    }
    let unit: i128 = 100_000; // nanos per 1/10000
    let n = m.nanos();
    let q = n / unit;
    let r = n % unit;
    let q = if 2 * r.abs() >= unit {
        q + n.signum()
    } else {
        q
    };
    let sign = if q < 0 { "-" } else { "" };
    format!("{sign}{}.{:04}", q.abs() / 10_000, q.abs() % 10_000)
}

fn money_for(m: Money, period: Period, currency: &str) -> String {
    format!("{}{}", symbol(currency), amount(m, period))
}

/// The lines shown under a plan's `Plan:` line, or `None` when nothing in the plan has a
/// price (stacks of local kinds): a plan stays quiet about costs it does not have.
pub fn cost_lines(cost: &PlanCost) -> Option<String> {
    if !cost.is_priced() {
        return None;
    }
    let cur = cost.after.currency.as_str();
    let mut out = String::new();
    if cost.before.monthly == cost.after.monthly {
        let _ = write!(
            out,
            "Cost: {}/month (no change), prices {}",
            money(cost.after.monthly, cur),
            cost.after.table
        );
    } else {
        let _ = write!(
            out,
            "Cost: {}/month → {}/month ({}), prices {}",
            money(cost.before.monthly, cur),
            money(cost.after.monthly, cur),
            delta(cost.delta(), cur),
            cost.after.table
        );
    }
    out.push('\n');
    if cost.after.monthly_min != cost.after.monthly_max {
        let _ = writeln!(
            out,
            "      with autoscaling: {} to {}/month",
            money(cost.after.monthly_min, cur),
            money(cost.after.monthly_max, cur)
        );
    }
    for i in cost.after.items.iter().filter(|i| i.monthly.is_none()) {
        let _ = writeln!(
            out,
            "      not included: {}.{} {} ({})",
            i.kind,
            i.address,
            i.description,
            i.unknown.as_deref().unwrap_or("unknown")
        );
    }
    Some(out)
}

/// Inserts `lines` after the `Plan: …` line of a rendered plan (at the end when it has none).
pub fn insert_after_plan_line(rendered: &str, lines: &str) -> String {
    let mut out = String::with_capacity(rendered.len() + lines.len());
    let mut inserted = false;
    for line in rendered.split_inclusive('\n') {
        out.push_str(line);
        if !inserted && line.starts_with("Plan: ") {
            out.push_str(lines);
            inserted = true;
        }
    }
    if !inserted {
        out.push_str(lines);
    }
    out
}

/// Everything `kapstan cost` prints.
pub struct Report<'a> {
    /// The price table.
    pub table: &'a PriceTable,
    /// The period amounts are shown for.
    pub period: Period,
    /// Each stack's estimate.
    pub stacks: &'a [StackCost],
    /// Environment totals (when stacks were chosen by `--env`).
    pub envs: &'a [EnvCost],
    /// Budgets of single stacks.
    pub stack_budgets: &'a [BudgetCheck],
}

impl Report<'_> {
    fn currency(&self) -> &str {
        self.table.currency()
    }

    fn grand_total(&self) -> Money {
        self.stacks.iter().map(|s| s.estimate.monthly).sum()
    }
}

fn budget_note(b: &BudgetCheck, cur: &str) -> String {
    let pct = b
        .percent()
        .map(|p| format!("{p}%"))
        .unwrap_or_else(|| "—".into());
    let verdict = match b.status {
        BudgetStatus::Ok => "within budget".to_string(),
        BudgetStatus::Alert => format!("over the {}% alert threshold", b.alert_threshold),
        BudgetStatus::Exceeded => "OVER BUDGET".to_string(),
    };
    format!(
        "budget {}/month, {pct} used: {verdict}",
        money(b.amount, cur)
    )
}

/// The breakdown as aligned columns, one section per stack.
pub fn table(r: &Report<'_>) -> String {
    let cur = r.currency();
    let mut out = String::new();
    let p = r.period;
    for (n, s) in r.stacks.iter().enumerate() {
        if n > 0 {
            out.push('\n');
        }
        let _ = writeln!(
            out,
            "Stack {} (prices {}, {}, {p})\n",
            s.stack,
            r.table.name(),
            r.table.currency()
        );
        let e = &s.estimate;
        if e.items.is_empty() {
            let _ = writeln!(
                out,
                "  No priced resources: {}.",
                money_for(Money::ZERO, p, cur)
            );
            continue;
        }
        let rows: Vec<[String; 5]> = e
            .items
            .iter()
            .map(|i| {
                [
                    i.component.category().to_string(),
                    i.address.clone(),
                    i.description.clone(),
                    i.quantity.map(|q| q.to_string()).unwrap_or_default(),
                    i.amount(p)
                        .map(|m| money_for(m, p, cur))
                        .unwrap_or_else(|| "unknown".into()),
                ]
            })
            .collect();
        let header = ["CATEGORY", "RESOURCE", "ITEM", "QTY", "COST"];
        let mut w = header.map(|h| h.chars().count());
        for row in &rows {
            for (k, cell) in row.iter().enumerate() {
                w[k] = w[k].max(cell.chars().count());
            }
        }
        let total = money_for(e.total(p), p, cur);
        w[4] = w[4].max(total.chars().count());
        let line = |cells: [&str; 5]| {
            format!(
                "  {:<a$}  {:<b$}  {:<c$}  {:>d$}  {:>e$}",
                cells[0],
                cells[1],
                cells[2],
                cells[3],
                cells[4],
                a = w[0],
                b = w[1],
                c = w[2],
                d = w[3],
                e = w[4]
            )
            .trim_end()
            .to_string()
        };
        let _ = writeln!(out, "{}", line(header));
        for row in &rows {
            let _ = writeln!(
                out,
                "{}",
                line([&row[0], &row[1], &row[2], &row[3], &row[4]])
            );
        }
        let label = format!("TOTAL ({p})");
        let full: usize = w.iter().sum::<usize>() + 2 * 4;
        let pad = full.saturating_sub(label.chars().count()).max(2);
        let _ = writeln!(out, "  {label}{total:>pad$}");
        if e.monthly_min != e.monthly_max {
            let _ = writeln!(
                out,
                "  with autoscaling: {} to {}",
                money_for(e.monthly_min.per_period(p), p, cur),
                money_for(e.monthly_max.per_period(p), p, cur)
            );
        }
        for i in e.items.iter().filter(|i| i.monthly.is_none()) {
            let _ = writeln!(
                out,
                "  not included: {} {} ({})",
                i.address,
                i.description,
                i.unknown.as_deref().unwrap_or("unknown")
            );
        }
        if let Some(b) = r
            .stack_budgets
            .iter()
            .find(|b| b.scope == format!("stack `{}`", s.stack))
        {
            let _ = writeln!(out, "  {}", budget_note(b, cur));
        }
    }
    if !r.envs.is_empty() {
        out.push('\n');
    }
    for e in r.envs {
        let note = e
            .budget
            .as_ref()
            .map(|b| format!(" ({})", budget_note(b, cur)))
            .unwrap_or_default();
        let _ = writeln!(
            out,
            "Environment {}: {} {p}{note}",
            e.env,
            money_for(e.monthly.per_period(p), p, cur)
        );
    }
    if r.envs.len() > 1 {
        let _ = writeln!(
            out,
            "All environments: {} {p}",
            money_for(r.grand_total().per_period(p), p, cur)
        );
    }
    out
}

fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

/// The breakdown as CSV: `Stack,Period,Category,Resource,Kind,Item,Quantity,Cost,Currency`,
/// a `TOTAL` row per stack and per environment.
pub fn csv(r: &Report<'_>) -> String {
    let p = r.period;
    let cur = r.currency();
    let mut out = String::from("Stack,Period,Category,Resource,Kind,Item,Quantity,Cost,Currency\n");
    let row = |out: &mut String, cells: [&str; 9]| {
        let line: Vec<String> = cells.iter().map(|c| csv_field(c)).collect();
        out.push_str(&line.join(","));
        out.push('\n');
    };
    for s in r.stacks {
        for i in &s.estimate.items {
            let quantity = i.quantity.map(|q| q.to_string()).unwrap_or_default();
            let cost = i.amount(p).map(|m| amount(m, p)).unwrap_or_default();
            row(
                &mut out,
                [
                    &s.stack,
                    p.as_str(),
                    i.component.category(),
                    &i.address,
                    &i.kind,
                    &i.description,
                    &quantity,
                    &cost,
                    cur,
                ],
            );
        }
        let total = amount(s.estimate.total(p), p);
        row(
            &mut out,
            [&s.stack, p.as_str(), "TOTAL", "", "", "", "", &total, cur],
        );
    }
    for e in r.envs {
        let total = amount(e.monthly.per_period(p), p);
        row(
            &mut out,
            [&e.env, p.as_str(), "TOTAL", "", "", "", "", &total, cur],
        );
    }
    out
}

fn estimate_json(e: &CostEstimate, p: Period) -> Value {
    let items: Vec<Value> = e
        .items
        .iter()
        .map(|i| {
            let mut v = json!({
                "category": i.component.category(),
                "component": i.component,
                "address": i.address,
                "kind": i.kind,
                "description": i.description,
                "quantity": i.quantity,
                "unit_cost": i.unit_monthly.map(|u| u.per_period(p)),
                "cost": i.amount(p),
            });
            if let Some(range) = i.range {
                v["range"] =
                    json!({"min": range.min.per_period(p), "max": range.max.per_period(p)});
            }
            if let Some(u) = &i.unknown {
                v["unknown"] = json!(u);
            }
            v
        })
        .collect();
    json!({
        "total": e.total(p),
        "min": e.monthly_min.per_period(p),
        "max": e.monthly_max.per_period(p),
        "unknown_items": e.unknown_items,
        "items": items,
    })
}

/// The breakdown as one JSON document; amounts are exact decimal strings for the period.
pub fn json(r: &Report<'_>) -> Value {
    let p = r.period;
    let stacks: Vec<Value> = r
        .stacks
        .iter()
        .map(|s| {
            let mut v = json!({"stack": s.stack});
            if let Some((env, phase)) = &s.env {
                v["environment"] = json!(env);
                v["phase"] = json!(phase.name());
            }
            if let (Value::Object(m), Value::Object(e)) = (&mut v, estimate_json(&s.estimate, p)) {
                m.extend(e);
            }
            if let Some(b) = r
                .stack_budgets
                .iter()
                .find(|b| b.scope == format!("stack `{}`", s.stack))
            {
                v["budget"] = b.to_json();
            }
            v
        })
        .collect();
    let envs: Vec<Value> = r
        .envs
        .iter()
        .map(|e| {
            let mut v = json!({
                "environment": e.env,
                "total": e.monthly.per_period(p),
                "unknown_items": e.unknown_items,
            });
            if let Some(b) = &e.budget {
                v["budget"] = b.to_json();
            }
            v
        })
        .collect();
    json!({
        "table": r.table.name(),
        "currency": r.currency(),
        "period": p,
        "total": r.grand_total().per_period(p),
        "stacks": stacks,
        "environments": envs,
    })
}

/// A rendered plan with its cost lines after the `Plan:` line (none when nothing is priced).
pub(crate) fn with_cost(rendered: String, estimate: Option<&PlanCost>) -> String {
    match estimate.and_then(cost_lines) {
        Some(lines) => insert_after_plan_line(&rendered, &lines),
        None => rendered,
    }
}

/// A planned monthly cost exceeds a budget.
#[derive(Debug, thiserror::Error, Diagnostic)]
#[error("the planned monthly cost of {scope} is {cost}, over its budget of {amount} ({source_})")]
#[diagnostic(code(kapstan::over_budget))]
pub struct OverBudget {
    scope: String,
    cost: String,
    amount: String,
    source_: String,
    #[help]
    help: String,
}

/// Prints budget warnings and errors on stderr (`help` under each error); returns whether a
/// budget is exceeded.
pub fn report_budgets(checks: &[BudgetCheck], currency: &str, help: &str) -> bool {
    let mut exceeded = false;
    for c in checks {
        let unknown = if c.unknown_items > 0 {
            format!(
                "; {} line item(s) unknown until apply are not included",
                c.unknown_items
            )
        } else {
            String::new()
        };
        match c.status {
            BudgetStatus::Ok => {}
            BudgetStatus::Alert => eprintln!(
                "warning: the planned monthly cost of {} is {}, {}% of its budget of {} (alert at {}%, {}){unknown}",
                c.scope,
                money(c.cost, currency),
                c.percent().unwrap_or(100),
                money(c.amount, currency),
                c.alert_threshold,
                c.source
            ),
            BudgetStatus::Exceeded => {
                exceeded = true;
                let report = miette::Report::new(OverBudget {
                    scope: c.scope.clone(),
                    cost: format!("{}{unknown}", money(c.cost, currency)),
                    amount: money(c.amount, currency),
                    source_: c.source.clone(),
                    help: help.to_string(),
                });
                eprintln!("{report:?}");
            }
        }
    }
    exceeded
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn amounts_and_deltas() {
        assert_eq!(money(Money::from_cents(5370), "EUR"), "€53.70");
        assert_eq!(money(Money::from_cents(-890), "EUR"), "-€8.90");
        assert_eq!(money(Money::from_cents(100), "CHF"), "CHF 1.00");
        assert_eq!(delta(Money::from_cents(4415), "EUR"), "+€44.15");
        assert_eq!(delta(Money::from_cents(-890), "EUR"), "-€8.90");
        assert_eq!(delta(Money::ZERO, "EUR"), "±€0.00");
        let m: Money = "53.70".parse().unwrap();
        assert_eq!(
            amount(m.per_period(Period::Hourly), Period::Hourly),
            "0.0736"
        );
        assert_eq!(
            amount(m.per_period(Period::Yearly), Period::Yearly),
            "644.40"
        );
    }

    #[test]
    fn cost_line_goes_after_the_plan_line() {
        let r = "a\nPlan: 1 to add, 0 to change, 0 to destroy.\n\nChanges to Outputs:\n";
        assert_eq!(
            insert_after_plan_line(r, "Cost: x\n"),
            "a\nPlan: 1 to add, 0 to change, 0 to destroy.\nCost: x\n\nChanges to Outputs:\n"
        );
        assert_eq!(
            insert_after_plan_line("No changes.\n", "Cost: x\n"),
            "No changes.\nCost: x\n"
        );
    }

    #[test]
    fn csv_quotes_fields() {
        assert_eq!(csv_field("a,b"), "\"a,b\"");
        assert_eq!(csv_field("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(csv_field("plain"), "plain");
    }
}
