//! Cost: the estimate of every plan (before → after), budgets in `kapstan.toml` and the gate
//! that enforces them, and `kapstan cost`, the breakdown of stacks from their declarations.

use std::collections::BTreeMap;
use std::path::Path;

use kapstan_engine::{Action, Plan, StackSpec, value};
use kapstan_providers::pricing::{
    CostEstimate, LineItem, Money, PriceTable, PricingError, estimate,
};
use serde::Serialize;
use serde_json::{Map, Value, json};

use kapstan_stacks::coder::Phase;

use crate::error::PlatformError;
use crate::project::{StackSource, load_stack, stack_name};

/// Alert threshold used when a budget does not give one, in percent.
pub const DEFAULT_ALERT_THRESHOLD: u32 = 80;

/// The table named by `--prices`, or the newest built-in one.
pub fn price_table(spec: Option<&str>) -> Result<PriceTable, PlatformError> {
    match spec {
        None => Ok(PriceTable::latest()),
        Some(spec) => PriceTable::resolve(spec).map_err(|e| {
            PlatformError::usage(
                format!("--prices {spec}: {e}"),
                "name a built-in table (e.g. 2025-09) or a price table file (see docs/costs.md)",
            )
        }),
    }
}

/// A pricing failure as a user-facing error.
pub fn pricing_error(stack: &str, e: &PricingError) -> PlatformError {
    PlatformError::usage(
        format!("cannot estimate the cost of stack `{stack}`: {e}"),
        "use a price table that lists this type (--prices TABLE|FILE, see docs/costs.md)",
    )
}

/// The monthly cost of a plan: what exists before it and what exists after it.
#[derive(Debug, Clone)]
pub struct PlanCost {
    /// Resources recorded before the plan (every change with a `before`).
    pub before: CostEstimate,
    /// Resources that exist once the plan is applied (everything not deleted).
    pub after: CostEstimate,
}

impl PlanCost {
    /// Expected monthly change (negative when cheaper).
    pub fn delta(&self) -> Money {
        self.after.monthly_delta(&self.before)
    }

    /// Whether any resource before or after has a price (a line item, even at €0.00).
    pub fn is_priced(&self) -> bool {
        !self.before.items.is_empty() || !self.after.items.is_empty()
    }
}

/// Prices a plan: `before` from the recorded configs, `after` from the planned configs of
/// every resource that exists once it is applied.
pub fn plan_cost(plan: &Plan, table: &PriceTable) -> Result<PlanCost, PricingError> {
    let before = estimate(
        table,
        plan.changes.iter().filter_map(|c| {
            c.before
                .as_ref()
                .map(|b| (c.kind.as_str(), c.address.as_str(), b))
        }),
    )?;
    let after = estimate(
        table,
        plan.changes.iter().filter_map(|c| {
            // A no-op on something not recorded (not targeted, or in a destroy plan) is
            // not created: it does not exist after the plan either.
            let exists_after = match c.action {
                Action::Delete => false,
                Action::NoOp => c.before.is_some(),
                _ => true,
            };
            let config = if exists_after {
                c.after.as_ref().or(c.before.as_ref())
            } else {
                None
            };
            config.map(|a| (c.kind.as_str(), c.address.as_str(), a))
        }),
    )?;
    Ok(PlanCost { before, after })
}

/// A declared config with every reference, stack output and sensitive value replaced by the
/// unknown marker: what can be priced before anything exists.
pub fn literal_config(template: &Value) -> Value {
    if value::target_of(template).is_some() {
        return value::unknown();
    }
    match template {
        Value::Object(m) if m.len() == 1 && m.contains_key(value::SENSITIVE) => value::unknown(),
        Value::Object(m) => Value::Object(
            m.iter()
                .map(|(k, v)| (k.clone(), literal_config(v)))
                .collect::<Map<_, _>>(),
        ),
        Value::Array(a) => Value::Array(a.iter().map(literal_config).collect()),
        other => other.clone(),
    }
}

/// Prices a stack from its declaration (references are unknown and noted per line item).
pub fn declared_cost(spec: &StackSpec, table: &PriceTable) -> Result<CostEstimate, PricingError> {
    let configs: Vec<(String, String, Value)> = spec
        .resources
        .iter()
        .map(|r| (r.kind.clone(), r.address.clone(), literal_config(&r.config)))
        .collect();
    estimate(
        table,
        configs.iter().map(|(k, a, c)| (k.as_str(), a.as_str(), c)),
    )
}

/// The environment and phase of a `coder-<env>-<phase>` stack.
pub fn env_of(stack: &str) -> Option<(&str, Phase)> {
    let rest = stack.strip_prefix("coder-")?;
    if let Some(env) = rest.strip_suffix("-infra") {
        return (!env.is_empty()).then_some((env, Phase::Infra));
    }
    let env = rest.strip_suffix("-app")?;
    (!env.is_empty()).then_some((env, Phase::App))
}

/// A monthly budget from `kapstan.toml`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Budget {
    /// The monthly amount.
    pub amount: Money,
    /// Warn from this percentage of the amount.
    pub alert_threshold: u32,
}

/// Every `[budget.<name>]` of `kapstan.toml`, by name (an environment or a stack).
pub fn read_budgets(project_dir: &Path) -> Result<BTreeMap<String, Budget>, PlatformError> {
    let path = project_dir.join(kapstan_state::CONFIG_FILE);
    let text = match std::fs::read_to_string(&path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(BTreeMap::new()),
        Err(source) => {
            return Err(PlatformError::Io {
                action: "reading",
                path: path.display().to_string(),
                source,
            });
        }
    };
    let bad = |what: String| {
        PlatformError::usage(
            format!("{}: {what}", path.display()),
            "write budgets as `[budget.NAME]` with `amount = \"60.00\"` and optionally `alert_threshold = 80`",
        )
    };
    let doc: toml::Table =
        toml::from_str(&text).map_err(|e| bad(format!("not valid TOML: {e}")))?;
    let Some(section) = doc.get("budget") else {
        return Ok(BTreeMap::new());
    };
    let section = section
        .as_table()
        .ok_or_else(|| bad("`budget` is not a table".into()))?;
    let mut out = BTreeMap::new();
    for (name, entry) in section {
        let entry = entry
            .as_table()
            .ok_or_else(|| bad(format!("[budget.{name}] is not a table")))?;
        if let Some(key) = entry
            .keys()
            .find(|k| *k != "amount" && *k != "alert_threshold")
        {
            return Err(bad(format!("[budget.{name}]: unknown key `{key}`")));
        }
        let amount = match entry.get("amount") {
            Some(toml::Value::String(s)) => s.parse::<Money>().ok(),
            Some(toml::Value::Integer(i)) => i.to_string().parse::<Money>().ok(),
            Some(toml::Value::Float(f)) => f.to_string().parse::<Money>().ok(),
            _ => None,
        }
        .filter(|m| *m >= Money::ZERO)
        .ok_or_else(|| {
            bad(format!(
                "[budget.{name}]: `amount` must be a non-negative amount"
            ))
        })?;
        let alert_threshold = match entry.get("alert_threshold") {
            None => DEFAULT_ALERT_THRESHOLD,
            Some(toml::Value::Integer(i)) if (1..=100).contains(i) => *i as u32,
            Some(_) => {
                return Err(bad(format!(
                    "[budget.{name}]: `alert_threshold` must be a whole percentage from 1 to 100"
                )));
            }
        };
        out.insert(
            name.clone(),
            Budget {
                amount,
                alert_threshold,
            },
        );
    }
    Ok(out)
}

/// Stores `[budget.<name>]` in `kapstan.toml`, keeping every other table, key and comment.
pub fn write_budget(project_dir: &Path, name: &str, budget: Budget) -> Result<(), PlatformError> {
    use toml_edit::{DocumentMut, Item, Table, value};
    let path = project_dir.join(kapstan_state::CONFIG_FILE);
    let text = match std::fs::read_to_string(&path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
        Err(source) => {
            return Err(PlatformError::Io {
                action: "reading",
                path: path.display().to_string(),
                source,
            });
        }
    };
    let mut doc: DocumentMut = text.parse().map_err(|e| {
        PlatformError::usage(
            format!("{} is not valid TOML: {e}", path.display()),
            "fix the file before setting a budget",
        )
    })?;
    if !doc.contains_table("budget") {
        let mut t = Table::new();
        t.set_implicit(true);
        doc.insert("budget", Item::Table(t));
    }
    let budgets = doc["budget"].as_table_mut().ok_or_else(|| {
        PlatformError::usage(
            format!("{}: `budget` is not a table", path.display()),
            "write budgets as `[budget.NAME]` sections",
        )
    })?;
    if !budgets.contains_table(name) {
        budgets.insert(name, Item::Table(Table::new()));
    }
    let entry = budgets[name].as_table_mut().ok_or_else(|| {
        PlatformError::usage(
            format!("{}: `budget.{name}` is not a table", path.display()),
            "write it as a `[budget.NAME]` section",
        )
    })?;
    entry["amount"] = value(budget.amount.to_cents_string());
    entry["alert_threshold"] = value(i64::from(budget.alert_threshold));
    let tmp = path.with_extension("toml.tmp");
    std::fs::write(&tmp, doc.to_string()).map_err(|source| PlatformError::Io {
        action: "writing",
        path: tmp.display().to_string(),
        source,
    })?;
    std::fs::rename(&tmp, &path).map_err(|source| PlatformError::Io {
        action: "replacing",
        path: path.display().to_string(),
        source,
    })
}

/// How a cost compares with a budget.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum BudgetStatus {
    /// Below the alert threshold.
    Ok,
    /// At or above the alert threshold, within the budget.
    Alert,
    /// Above the budget.
    Exceeded,
}

/// One budget checked against a planned monthly cost.
#[derive(Debug, Clone, Serialize)]
pub struct BudgetCheck {
    /// What the budget covers: an environment, a stack, or `planned stacks` for the flag.
    pub scope: String,
    /// Where it comes from: `--max-monthly-cost` or `kapstan.toml [budget.NAME]`.
    pub source: String,
    /// The monthly budget.
    pub amount: Money,
    /// Alert threshold in percent.
    pub alert_threshold: u32,
    /// The expected monthly cost it was compared with.
    pub cost: Money,
    /// Line items left out of `cost` because an input is unknown until apply.
    pub unknown_items: usize,
    /// The verdict.
    pub status: BudgetStatus,
}

impl BudgetCheck {
    fn new(scope: String, source: String, budget: Budget, cost: Money, unknown: usize) -> Self {
        let status = if cost > budget.amount {
            BudgetStatus::Exceeded
        } else if cost.nanos() * 100 >= budget.amount.nanos() * i128::from(budget.alert_threshold) {
            BudgetStatus::Alert
        } else {
            BudgetStatus::Ok
        };
        Self {
            scope,
            source,
            amount: budget.amount,
            alert_threshold: budget.alert_threshold,
            cost,
            unknown_items: unknown,
            status,
        }
    }

    /// The cost as a whole percentage of the budget (`None` for a zero budget).
    pub fn percent(&self) -> Option<i128> {
        (!self.amount.is_zero()).then(|| self.cost.nanos() * 100 / self.amount.nanos())
    }

    /// The check as JSON (amounts as exact decimal strings).
    pub fn to_json(&self) -> Value {
        serde_json::to_value(self).unwrap_or(Value::Null)
    }
}

/// What a stack of this invocation costs once planned (or `Err` when it could not be priced).
pub struct Planned<'a> {
    /// The stack.
    pub stack: &'a str,
    /// Its variables (used to build sibling phases).
    pub vars: &'a [String],
    /// Its monthly cost after the plan.
    pub cost: Result<&'a CostEstimate, &'a PricingError>,
}

/// Checks every budget that applies to the planned stacks: `--max-monthly-cost` against their
/// total, `[budget.<stack>]` against each stack, `[budget.<env>]` against the environment
/// (planned phases at their planned cost, the other phase at its declared cost).
pub fn check_budgets(
    project_dir: &Path,
    max_monthly_cost: Option<&str>,
    planned: &[Planned<'_>],
    table: &PriceTable,
) -> Result<Vec<BudgetCheck>, PlatformError> {
    let budgets = read_budgets(project_dir)?;
    let cost_of = |p: &Planned<'_>| -> Result<(Money, usize), PlatformError> {
        match p.cost {
            Ok(e) => Ok((e.monthly, e.unknown_items)),
            Err(e) => Err(pricing_error(p.stack, e)),
        }
    };
    let mut checks = Vec::new();
    if let Some(max) = max_monthly_cost {
        let amount = parse_amount("--max-monthly-cost", max)?;
        let mut total = Money::ZERO;
        let mut unknown = 0;
        for p in planned {
            let (c, u) = cost_of(p)?;
            total += c;
            unknown += u;
        }
        let scope = match planned {
            [one] => format!("stack `{}`", one.stack),
            _ => format!("the {} planned stacks", planned.len()),
        };
        let budget = Budget {
            amount,
            alert_threshold: DEFAULT_ALERT_THRESHOLD,
        };
        checks.push(BudgetCheck::new(
            scope,
            "--max-monthly-cost".into(),
            budget,
            total,
            unknown,
        ));
        return Ok(checks);
    }
    for p in planned {
        if let Some(b) = budgets.get(p.stack) {
            let (c, u) = cost_of(p)?;
            checks.push(BudgetCheck::new(
                format!("stack `{}`", p.stack),
                format!("kapstan.toml [budget.{}]", p.stack),
                *b,
                c,
                u,
            ));
        }
    }
    let mut envs: Vec<&str> = planned
        .iter()
        .filter_map(|p| env_of(p.stack))
        .map(|(e, _)| e)
        .collect();
    envs.dedup();
    for env in envs {
        let Some(b) = budgets.get(env) else {
            continue;
        };
        let mut total = Money::ZERO;
        let mut unknown = 0;
        for phase in [Phase::Infra, Phase::App] {
            let name = format!("coder-{env}-{}", phase.name());
            if let Some(p) = planned.iter().find(|p| p.stack == name) {
                let (c, u) = cost_of(p)?;
                total += c;
                unknown += u;
                continue;
            }
            // The phase not planned now counts at its declared cost, when it can be built.
            let vars = planned
                .iter()
                .find(|p| env_of(p.stack).is_some_and(|(e, _)| e == env))
                .map(|p| p.vars)
                .unwrap_or(&[]);
            let args = StackSource {
                stack: name.clone(),
                stack_file: None,
                vars: vars.to_vec(),
            };
            if let Ok(spec) = load_stack(&args) {
                let e = declared_cost(&spec, table).map_err(|e| pricing_error(&name, &e))?;
                total += e.monthly;
                unknown += e.unknown_items;
            }
        }
        checks.push(BudgetCheck::new(
            format!("environment `{env}`"),
            format!("kapstan.toml [budget.{env}]"),
            *b,
            total,
            unknown,
        ));
    }
    Ok(checks)
}

fn parse_amount(flag: &str, text: &str) -> Result<Money, PlatformError> {
    let cleaned = text.trim().trim_start_matches('€').trim();
    match cleaned.parse::<Money>() {
        Ok(m) if m >= Money::ZERO => Ok(m),
        _ => Err(PlatformError::usage(
            format!("{flag} {text:?} is not an amount"),
            "give a non-negative decimal amount in the price table's currency, e.g. 150 or 97.85",
        )),
    }
}

/// What to tell a user whose plan exceeds a budget.
pub const PLAN_OVER_BUDGET_HELP: &str = "reduce what the plan adds, or change the budget (`kapstan cost --env ENV --set-budget AMOUNT`, or --max-monthly-cost); a plan over budget is neither saved nor applied";

/// What to tell a user whose declared stacks exceed a budget.
pub const COST_OVER_BUDGET_HELP: &str =
    "reduce what the stacks declare, or change the budget with --set-budget AMOUNT";

/// The `kapstan.cost` object of plan JSON.
pub fn plan_cost_json(cost: &PlanCost, budgets: &[BudgetCheck]) -> Value {
    let mut items: Vec<Value> = Vec::new();
    let key = |i: &LineItem| (i.address.clone(), i.component);
    let mut seen = std::collections::HashSet::new();
    for i in cost.after.items.iter().chain(cost.before.items.iter()) {
        if !seen.insert(key(i)) {
            continue;
        }
        let before: Vec<&LineItem> = cost
            .before
            .items
            .iter()
            .filter(|b| key(b) == key(i))
            .collect();
        let after: Vec<&LineItem> = cost
            .after
            .items
            .iter()
            .filter(|a| key(a) == key(i))
            .collect();
        let sum = |v: &[&LineItem]| -> Option<Money> {
            v.iter().map(|x| x.monthly).sum::<Option<Money>>()
        };
        let b = if before.is_empty() {
            Some(Money::ZERO)
        } else {
            sum(&before)
        };
        let a = if after.is_empty() {
            Some(Money::ZERO)
        } else {
            sum(&after)
        };
        let unknown: Vec<&str> = after
            .iter()
            .chain(before.iter())
            .filter_map(|x| x.unknown.as_deref())
            .collect();
        let mut item = json!({
            "address": i.address,
            "kind": i.kind,
            "component": i.component,
            "category": i.component.category(),
            "description": after.first().unwrap_or(&i).description,
            "before": b,
            "after": a,
            "delta": match (a, b) { (Some(a), Some(b)) => json!(a - b), _ => Value::Null },
        });
        if let Some(r) = after.first().and_then(|x| x.range) {
            item["after_range"] = json!({"min": r.min, "max": r.max});
        }
        if !unknown.is_empty() {
            item["unknown"] = json!(unknown.join("; "));
        }
        items.push(item);
    }
    let mut out = json!({
        "currency": cost.after.currency,
        "table": cost.after.table,
        "period": "monthly",
        "before": cost.before.monthly,
        "after": cost.after.monthly,
        "delta": cost.delta(),
        "after_min": cost.after.monthly_min,
        "after_max": cost.after.monthly_max,
        "unknown_items": cost.after.unknown_items,
        "items": items,
    });
    if !budgets.is_empty() {
        out["budgets"] = Value::Array(budgets.iter().map(BudgetCheck::to_json).collect());
    }
    out
}

/// The cost of one stack as `kapstan cost` reports it.
pub struct StackCost {
    /// The stack.
    pub stack: String,
    /// Its environment and phase, for `coder-<env>-<phase>` stacks.
    pub env: Option<(String, Phase)>,
    /// The estimate from its declaration.
    pub estimate: CostEstimate,
}

/// An environment's total, with its budget.
pub struct EnvCost {
    /// The environment.
    pub env: String,
    /// Monthly total of its stacks.
    pub monthly: Money,
    /// Line items left out because unknown.
    pub unknown_items: usize,
    /// Its budget, checked.
    pub budget: Option<BudgetCheck>,
}

/// Sets a budget in `kapstan.toml`: of the one environment of `environments`, else of
/// `stack`; `amount` as the user wrote it (`150`, `€97.85`), `alert_threshold` in percent
/// (default 80). Returns the budget's name and the budget.
pub fn set_budget(
    project_dir: &Path,
    environments: &[String],
    stack: &StackSource,
    amount: &str,
    alert_threshold: Option<u32>,
) -> Result<(String, Budget), PlatformError> {
    let amount = parse_amount("--set-budget", amount)?;
    let alert_threshold = alert_threshold.unwrap_or(DEFAULT_ALERT_THRESHOLD);
    if !(1..=100).contains(&alert_threshold) {
        return Err(PlatformError::usage(
            format!("--alert-threshold {alert_threshold} is out of range"),
            "give a whole percentage from 1 to 100",
        ));
    }
    let name = budget_name(environments, stack)?;
    let budget = Budget {
        amount,
        alert_threshold,
    };
    write_budget(project_dir, &name, budget)?;
    Ok((name, budget))
}

/// The cost of stacks from their declarations, by stack and by environment, with the
/// budgets of `kapstan.toml` checked.
pub struct CostReport {
    /// Each stack.
    pub stacks: Vec<StackCost>,
    /// Each environment of a `coder-<env>-<phase>` stack.
    pub envs: Vec<EnvCost>,
    /// The budgets of single stacks, checked.
    pub stack_budgets: Vec<BudgetCheck>,
}

impl CostReport {
    /// Every budget checked (environments first).
    pub fn checks(&self) -> Vec<BudgetCheck> {
        self.envs
            .iter()
            .filter_map(|e| e.budget.clone())
            .chain(self.stack_budgets.iter().cloned())
            .collect()
    }
}

/// Prices `sources` from their declarations with `table` and checks their budgets.
pub fn cost_report(
    project_dir: &Path,
    sources: &[StackSource],
    table: &PriceTable,
) -> Result<CostReport, PlatformError> {
    let mut stacks = Vec::new();
    for source in sources {
        let spec = load_stack(source)?;
        let estimate = declared_cost(&spec, table).map_err(|e| pricing_error(&spec.name, &e))?;
        let env = env_of(&spec.name).map(|(e, p)| (e.to_string(), p));
        stacks.push(StackCost {
            stack: spec.name,
            env,
            estimate,
        });
    }
    let budgets = read_budgets(project_dir)?;
    let mut envs: Vec<EnvCost> = Vec::new();
    for s in &stacks {
        let Some((e, _)) = &s.env else { continue };
        match envs.iter_mut().find(|x| &x.env == e) {
            Some(x) => {
                x.monthly += s.estimate.monthly;
                x.unknown_items += s.estimate.unknown_items;
            }
            None => envs.push(EnvCost {
                env: e.clone(),
                monthly: s.estimate.monthly,
                unknown_items: s.estimate.unknown_items,
                budget: None,
            }),
        }
    }
    for e in &mut envs {
        if let Some(b) = budgets.get(&e.env) {
            e.budget = Some(BudgetCheck::new(
                format!("environment `{}`", e.env),
                format!("kapstan.toml [budget.{}]", e.env),
                *b,
                e.monthly,
                e.unknown_items,
            ));
        }
    }
    let mut stack_budgets = Vec::new();
    for s in &stacks {
        if let Some(b) = budgets.get(&s.stack) {
            stack_budgets.push(BudgetCheck::new(
                format!("stack `{}`", s.stack),
                format!("kapstan.toml [budget.{}]", s.stack),
                *b,
                s.estimate.monthly,
                s.estimate.unknown_items,
            ));
        }
    }
    Ok(CostReport {
        stacks,
        envs,
        stack_budgets,
    })
}

/// The budget name `--set-budget` sets: the one environment named, else the stack.
fn budget_name(environments: &[String], stack: &StackSource) -> Result<String, PlatformError> {
    match environments {
        [] => stack_name(stack),
        [one] => Ok(one.clone()),
        _ => Err(PlatformError::usage(
            "--set-budget sets one budget; --env all names three environments",
            "set each environment's budget: kapstan cost --env dev --set-budget AMOUNT",
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn env_of_parses_phase_stacks() {
        assert_eq!(env_of("coder-dev-infra"), Some(("dev", Phase::Infra)));
        assert_eq!(env_of("coder-eu-west-app"), Some(("eu-west", Phase::App)));
        assert_eq!(env_of("coder--app"), None);
        assert_eq!(env_of("demo"), None);
    }

    #[test]
    fn literal_config_hides_references_and_secrets() {
        let c = json!({
            "node_type": "GP1-XS",
            "cluster_id": {"$ref": {"resource": "cluster", "attr": "id"}},
            "password": {"$sensitive": "hunter2"},
            "tags": ["a"],
        });
        let l = literal_config(&c);
        assert_eq!(l["node_type"], "GP1-XS");
        assert!(value::is_unknown(&l["cluster_id"]));
        assert!(value::is_unknown(&l["password"]));
        assert_eq!(l["tags"], json!(["a"]));
    }

    #[test]
    fn budget_status_thresholds() {
        let b = Budget {
            amount: Money::from_cents(10000),
            alert_threshold: 80,
        };
        let st = |c| BudgetCheck::new("s".into(), "t".into(), b, Money::from_cents(c), 0).status;
        assert_eq!(st(7999), BudgetStatus::Ok);
        assert_eq!(st(8000), BudgetStatus::Alert);
        assert_eq!(st(10000), BudgetStatus::Alert);
        assert_eq!(st(10001), BudgetStatus::Exceeded);
    }

    #[test]
    fn budgets_round_trip_through_kapstan_toml() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(kapstan_state::CONFIG_FILE);
        std::fs::write(&path, "# my project\n[state]\nbackend = \"local\" # keep\n").unwrap();
        let b = Budget {
            amount: "97.85".parse().unwrap(),
            alert_threshold: 75,
        };
        write_budget(dir.path(), "staging", b).unwrap();
        write_budget(
            dir.path(),
            "coder-dev-infra",
            Budget {
                amount: Money::from_cents(6000),
                alert_threshold: 80,
            },
        )
        .unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(
            text.starts_with("# my project\n[state]\nbackend = \"local\" # keep\n"),
            "{text}"
        );
        assert!(
            text.contains("[budget.staging]\namount = \"97.85\"\nalert_threshold = 75\n"),
            "{text}"
        );
        let read = read_budgets(dir.path()).unwrap();
        assert_eq!(read["staging"], b);
        assert_eq!(read["coder-dev-infra"].amount, Money::from_cents(6000));
        std::fs::write(
            &path,
            "[budget.dev]\namount = 60\n[budget.prod]\namount = 374.5\nalert_threshold = 90\n",
        )
        .unwrap();
        let read = read_budgets(dir.path()).unwrap();
        assert_eq!(read["dev"].amount, Money::from_cents(6000));
        assert_eq!(read["dev"].alert_threshold, 80);
        assert_eq!(read["prod"].amount, Money::from_cents(37450));
        std::fs::write(&path, "[budget.dev]\namount = \"lots\"\n").unwrap();
        assert!(read_budgets(dir.path()).is_err());
    }
}
