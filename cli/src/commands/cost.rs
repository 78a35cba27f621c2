//! `kapstan cost`: the breakdown of stacks from their declarations, with their budgets, and
//! `--set-budget`.

use std::path::Path;

use kapstan_platform::cost::{self, COST_OVER_BUDGET_HELP};
use kapstan_providers::pricing::Period;

use crate::args::{CostFormat, EnvArgs, PeriodArg, StackArgs};
use crate::error::CliError;
use crate::render::cost as render;

/// What `kapstan cost` prints, and how.
pub(crate) struct CostCommand<'a> {
    /// The stack (without `--env`).
    pub stack: &'a StackArgs,
    /// The environments.
    pub env: &'a EnvArgs,
    /// `--prices`.
    pub prices: Option<&'a str>,
    /// `--period`.
    pub period: PeriodArg,
    /// `--format` (or `--json`).
    pub format: CostFormat,
    /// `--set-budget`.
    pub set_budget: Option<&'a str>,
    /// `--alert-threshold`.
    pub alert_threshold: Option<u32>,
}

/// `kapstan cost`.
pub(crate) fn run(project_dir: &Path, command: &CostCommand<'_>) -> Result<i32, CliError> {
    let table = cost::price_table(command.prices)?;
    let period = match command.period {
        PeriodArg::Hourly => Period::Hourly,
        PeriodArg::Daily => Period::Daily,
        PeriodArg::Monthly => Period::Monthly,
        PeriodArg::Yearly => Period::Yearly,
    };
    if let Some(amount) = command.set_budget {
        let (name, budget) = cost::set_budget(
            project_dir,
            &command.env.environments(),
            &command.stack.source(),
            amount,
            command.alert_threshold,
        )?;
        eprintln!(
            "Budget for {name} set to {}/month (alert at {}%) in {}.",
            render::money(budget.amount, table.currency()),
            budget.alert_threshold,
            kapstan_state::CONFIG_FILE
        );
    }
    let sources: Vec<_> = command
        .env
        .stacks(command.stack)
        .iter()
        .map(StackArgs::source)
        .collect();
    let report = cost::cost_report(project_dir, &sources, &table)?;
    let shown = render::Report {
        table: &table,
        period,
        stacks: &report.stacks,
        envs: &report.envs,
        stack_budgets: &report.stack_budgets,
    };
    match command.format {
        CostFormat::Table => print!("{}", render::table(&shown)),
        CostFormat::Csv => print!("{}", render::csv(&shown)),
        CostFormat::Json => println!(
            "{}",
            serde_json::to_string_pretty(&render::json(&shown)).expect("json")
        ),
    }
    // Only the verdicts: the breakdown already shows the amounts.
    if render::report_budgets(&report.checks(), table.currency(), COST_OVER_BUDGET_HELP) {
        return Ok(crate::EXIT_OVER_BUDGET);
    }
    Ok(0)
}
