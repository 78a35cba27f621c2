//! The Scaleway price catalog: dated price tables and monthly cost of resources.
//!
//! Price tables are data (`tables/*.toml`, or a user file in the same schema)
//! and are named by the month they describe: `2025-09` reproduces the original
//! project's published figures, the newest one is [`PriceTable::latest`].
//!
//! Convention: a table entry gives either a monthly price, used as is, or an
//! hourly price, and then monthly = hourly × 730. Other periods derive from the
//! monthly amount (hourly = monthly / 730, daily = monthly × 24 / 730, yearly =
//! monthly × 12). All arithmetic is exact decimal ([`Money`]); only display
//! rounds, to the cent, half away from zero.
//!
//! ```
//! use kapstan_providers::pricing::{PriceTable, estimate};
//! use serde_json::json;
//!
//! let table = PriceTable::named("2025-09").unwrap();
//! let pool = json!({"node_type": "GP1-XS", "size": 2, "min_size": 1, "max_size": 5, "autoscaling": true});
//! let cost = estimate(&table, [("scaleway_k8s_pool", "pool-default", &pool)]).unwrap();
//! assert_eq!(cost.monthly.to_cents_string(), "30.40");
//! assert_eq!(cost.monthly_max.to_cents_string(), "76.00");
//! ```

mod error;
mod estimate;
mod money;
mod table;

pub use error::PricingError;
pub use estimate::{
    Component, CostEstimate, LineItem, MonthlyRange, PeriodTotal, estimate, price_resource,
};
pub use money::{HOURS_PER_MONTH, Money, ParseMoneyError, ParsePeriodError, Period};
pub use table::{Price, PriceBasis, PriceTable, Section, built_in_tables};

#[cfg(test)]
mod tests;
