//! Monthly cost of a set of resources under a price table, with line items and totals.
//!
//! Resources are given as `(kind, address, config)` with Terraform Scaleway
//! provider kinds and attribute names, so the same function prices a stack's
//! declared configs, a plan's before/after values or recorded state.

use serde::Serialize;
use serde_json::Value;

use super::error::PricingError;
use super::money::{Money, Period};
use super::table::{Price, PriceTable, Section};

/// What part of a resource a line item prices.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Component {
    /// Kubernetes control plane (`scaleway_k8s_cluster`).
    ControlPlane,
    /// Pool nodes (`scaleway_k8s_pool`).
    Nodes,
    /// Block root volumes of pool nodes.
    RootVolumes,
    /// Managed Database nodes, HA counted per the table.
    DatabaseNodes,
    /// Managed Database block volume.
    DatabaseVolume,
    /// Load Balancer (`scaleway_lb`).
    LoadBalancer,
    /// Flexible IP (`scaleway_lb_ip`, `scaleway_vpc_public_gateway_ip`).
    FlexibleIp,
    /// Public Gateway (`scaleway_vpc_public_gateway`).
    PublicGateway,
    /// Cockpit ingestion of a custom data source (`scaleway_cockpit_source`).
    CockpitIngestion,
    /// Cockpit retention past the free period (`scaleway_cockpit_source`).
    CockpitRetention,
}

impl Component {
    /// Human category used in breakdowns.
    pub fn category(self) -> &'static str {
        match self {
            Component::ControlPlane | Component::Nodes | Component::RootVolumes => "Compute",
            Component::DatabaseNodes | Component::DatabaseVolume => "Database",
            Component::LoadBalancer => "Load Balancer",
            Component::FlexibleIp | Component::PublicGateway => "Networking",
            Component::CockpitIngestion | Component::CockpitRetention => "Observability",
        }
    }
}

/// Monthly bounds of an autoscaling line item.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct MonthlyRange {
    /// Cost at the pool's `min_size`.
    pub min: Money,
    /// Cost at the pool's `max_size`.
    pub max: Money,
}

/// One priced part of one resource.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LineItem {
    /// Resource address, e.g. `pool-default`.
    pub address: String,
    /// Resource kind, e.g. `scaleway_k8s_pool`.
    pub kind: String,
    /// Which part of the resource is priced.
    pub component: Component,
    /// What is being priced, e.g. `3 × GP1-S (autoscaling 2..8)`.
    pub description: String,
    /// Count of units (nodes, GB) when known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub quantity: Option<u64>,
    /// Monthly price of one unit, when known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub unit_monthly: Option<Money>,
    /// Expected monthly amount (for autoscaling pools: at `size`); `None` when
    /// an input is unknown, see `unknown`.
    pub monthly: Option<Money>,
    /// For autoscaling pools: the amount at `min_size` and at `max_size`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub range: Option<MonthlyRange>,
    /// Why the amount is unknown (which attribute is missing or unknown until apply).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub unknown: Option<String>,
}

impl LineItem {
    /// The expected amount for `period`, when known.
    pub fn amount(&self, period: Period) -> Option<Money> {
        self.monthly.map(|m| m.per_period(period))
    }
}

/// Totals of an estimate for one period.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct PeriodTotal {
    /// The period.
    pub period: Period,
    /// Expected total (autoscaling pools at `size`).
    pub expected: Money,
    /// Total with every autoscaling pool at `min_size`.
    pub min: Money,
    /// Total with every autoscaling pool at `max_size`.
    pub max: Money,
}

/// The cost of a set of resources under one price table.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CostEstimate {
    /// Name of the price table used.
    pub table: String,
    /// Currency of every amount.
    pub currency: String,
    /// Line items in input order (a resource may give several, e.g. DB nodes and volume).
    pub items: Vec<LineItem>,
    /// Expected monthly total of the known line items.
    pub monthly: Money,
    /// Monthly total with autoscaling pools at their minimum.
    pub monthly_min: Money,
    /// Monthly total with autoscaling pools at their maximum.
    pub monthly_max: Money,
    /// Number of line items whose amount is unknown (not included in the totals).
    pub unknown_items: usize,
}

impl CostEstimate {
    /// Expected total for `period`.
    pub fn total(&self, period: Period) -> Money {
        self.monthly.per_period(period)
    }

    /// Expected, minimum and maximum totals for `period`.
    pub fn period_total(&self, period: Period) -> PeriodTotal {
        PeriodTotal {
            period,
            expected: self.monthly.per_period(period),
            min: self.monthly_min.per_period(period),
            max: self.monthly_max.per_period(period),
        }
    }

    /// Totals for hourly, daily, monthly and yearly periods.
    pub fn totals(&self) -> Vec<PeriodTotal> {
        Period::ALL
            .into_iter()
            .map(|p| self.period_total(p))
            .collect()
    }

    /// True when every line item has a known amount.
    pub fn is_complete(&self) -> bool {
        self.unknown_items == 0
    }

    /// Expected monthly change from `before` to `self` (negative when cheaper).
    pub fn monthly_delta(&self, before: &CostEstimate) -> Money {
        self.monthly - before.monthly
    }

    /// Expected monthly total of the items of one resource.
    pub fn monthly_for(&self, address: &str) -> Money {
        self.items
            .iter()
            .filter(|i| i.address == address)
            .filter_map(|i| i.monthly)
            .sum()
    }
}

impl PriceTable {
    /// Prices `resources` under this table; see [`estimate`].
    pub fn estimate<'a, I>(&self, resources: I) -> Result<CostEstimate, PricingError>
    where
        I: IntoIterator<Item = (&'a str, &'a str, &'a Value)>,
    {
        estimate(self, resources)
    }
}

/// Prices resources given as `(kind, address, config)`.
///
/// Kinds and attributes follow the Terraform Scaleway provider:
/// `scaleway_k8s_cluster {type}`, `scaleway_k8s_pool {node_type, size, min_size,
/// max_size, autoscaling, root_volume_type, root_volume_size_in_gb}`,
/// `scaleway_rdb_instance {node_type, is_ha_cluster, volume_type,
/// volume_size_in_gb}`, `scaleway_lb {type}`, `scaleway_lb_ip`,
/// `scaleway_vpc_public_gateway {type}`, `scaleway_vpc_public_gateway_ip`.
/// Other kinds cost nothing and give no line item.
///
/// A required attribute that is missing or unknown (`{"$unknown": true}`) makes
/// that line item unknown instead of guessed; an optional one takes the
/// provider's default. A type the table does not price is an error.
pub fn estimate<'a, I>(table: &PriceTable, resources: I) -> Result<CostEstimate, PricingError>
where
    I: IntoIterator<Item = (&'a str, &'a str, &'a Value)>,
{
    let mut items = Vec::new();
    for (kind, address, config) in resources {
        items.extend(price_resource(table, kind, address, config)?);
    }
    let mut monthly = Money::ZERO;
    let mut monthly_min = Money::ZERO;
    let mut monthly_max = Money::ZERO;
    let mut unknown_items = 0;
    for item in &items {
        match (item.monthly, item.range) {
            (Some(m), Some(r)) => {
                monthly += m;
                monthly_min += r.min;
                monthly_max += r.max;
            }
            (Some(m), None) => {
                monthly += m;
                monthly_min += m;
                monthly_max += m;
            }
            (None, _) => unknown_items += 1,
        }
    }
    Ok(CostEstimate {
        table: table.name().to_string(),
        currency: table.currency().to_string(),
        items,
        monthly,
        monthly_min,
        monthly_max,
        unknown_items,
    })
}

/// The line items of one resource (empty for kinds that cost nothing).
pub fn price_resource(
    table: &PriceTable,
    kind: &str,
    address: &str,
    config: &Value,
) -> Result<Vec<LineItem>, PricingError> {
    let r = Res {
        table,
        kind,
        address,
        config,
    };
    match kind {
        "scaleway_k8s_cluster" => r.cluster().map(|i| vec![i]),
        "scaleway_k8s_pool" => settled(r.pool()),
        "scaleway_rdb_instance" => r.rdb(),
        "scaleway_cockpit_source" => settled(r.cockpit_source()),
        "scaleway_lb" => r.by_type(Section::LbType, Component::LoadBalancer, "Load Balancer"),
        "scaleway_lb_ip" => Ok(vec![r.flexible_ip(table.lb_ip(), "Load Balancer")]),
        "scaleway_vpc_public_gateway" => r.by_type(
            Section::GatewayType,
            Component::PublicGateway,
            "Public Gateway",
        ),
        "scaleway_vpc_public_gateway_ip" => {
            Ok(vec![r.flexible_ip(table.gateway_ip(), "Public Gateway")])
        }
        _ => Ok(Vec::new()),
    }
}

/// An attribute read from a config.
enum Field<'v> {
    /// Absent or null: the provider default applies (or, if required, unknown).
    Missing,
    /// Known only after apply.
    Unknown,
    /// A concrete value.
    Known(&'v Value),
}

fn is_unknown_marker(v: &Value) -> bool {
    v.as_object().is_some_and(|o| o.contains_key("$unknown"))
}

struct Res<'a> {
    table: &'a PriceTable,
    kind: &'a str,
    address: &'a str,
    config: &'a Value,
}

/// A value that may not be known yet; `Err` carries the reason.
type Maybe<T> = Result<T, String>;

/// Why pricing a resource stopped before its last line item.
enum Stop {
    /// A value the price needs is not known: the one line item saying why stands for them all.
    Unknown(Box<LineItem>),
    /// The config or the price table is wrong.
    Failed(PricingError),
}

impl From<PricingError> for Stop {
    fn from(e: PricingError) -> Self {
        Stop::Failed(e)
    }
}

/// The line items of a resource priced up to a [`Stop`]: the unknown item, or the error.
fn settled(items: Result<Vec<LineItem>, Stop>) -> Result<Vec<LineItem>, PricingError> {
    match items {
        Ok(items) => Ok(items),
        Err(Stop::Unknown(item)) => Ok(vec![*item]),
        Err(Stop::Failed(e)) => Err(e),
    }
}

impl Res<'_> {
    fn field(&self, name: &str) -> Field<'_> {
        if is_unknown_marker(self.config) {
            return Field::Unknown;
        }
        match self.config.get(name) {
            None | Some(Value::Null) => Field::Missing,
            Some(v) if is_unknown_marker(v) => Field::Unknown,
            Some(v) => Field::Known(v),
        }
    }

    fn invalid(&self, field: &str, expected: &'static str, got: &Value) -> PricingError {
        PricingError::InvalidField {
            address: self.address.to_string(),
            field: field.to_string(),
            expected,
            got: got.to_string(),
        }
    }

    /// A string attribute; `default` is the provider's default when the attribute is optional.
    fn string(&self, name: &str, default: Option<&str>) -> Result<Maybe<String>, PricingError> {
        match self.field(name) {
            Field::Known(Value::String(s)) => Ok(Ok(s.clone())),
            Field::Known(v) => Err(self.invalid(name, "a string", v)),
            Field::Unknown => Ok(Err(format!("{name} is unknown until apply"))),
            Field::Missing => Ok(default
                .map(str::to_string)
                .ok_or(format!("{name} is not set"))),
        }
    }

    fn count(&self, name: &str, default: Option<u64>) -> Result<Maybe<u64>, PricingError> {
        match self.field(name) {
            Field::Known(v) => {
                let n = match v {
                    Value::Number(n) => n.as_u64(),
                    Value::String(s) => s.trim().parse().ok(),
                    _ => None,
                };
                n.map(Ok)
                    .ok_or_else(|| self.invalid(name, "a non-negative integer", v))
            }
            Field::Unknown => Ok(Err(format!("{name} is unknown until apply"))),
            Field::Missing => Ok(default.ok_or(format!("{name} is not set"))),
        }
    }

    fn flag(&self, name: &str, default: bool) -> Result<Maybe<bool>, PricingError> {
        match self.field(name) {
            Field::Known(Value::Bool(b)) => Ok(Ok(*b)),
            Field::Known(Value::String(s)) if s == "true" || s == "false" => Ok(Ok(s == "true")),
            Field::Known(v) => Err(self.invalid(name, "a boolean", v)),
            Field::Unknown => Ok(Err(format!("{name} is unknown until apply"))),
            Field::Missing => Ok(Ok(default)),
        }
    }

    fn lookup(&self, section: Section, field: &str, value: &str) -> Result<&Price, PricingError> {
        self.table
            .price(section, value)
            .ok_or_else(|| PricingError::UnknownType {
                address: self.address.to_string(),
                kind: self.kind.to_string(),
                field: field.to_string(),
                value: value.to_string(),
                table: self.table.name().to_string(),
            })
    }

    fn item(&self, component: Component, description: String) -> LineItem {
        LineItem {
            address: self.address.to_string(),
            kind: self.kind.to_string(),
            component,
            description,
            quantity: None,
            unit_monthly: None,
            monthly: None,
            range: None,
            unknown: None,
        }
    }

    fn unknown(&self, component: Component, description: String, reason: String) -> LineItem {
        LineItem {
            unknown: Some(reason),
            ..self.item(component, description)
        }
    }

    /// A stop on the unknown line item of `component`, `what`, for `reason`.
    fn stop(&self, component: Component, what: &str, reason: String) -> Stop {
        Stop::Unknown(Box::new(self.unknown(component, what.to_string(), reason)))
    }

    /// The value of `maybe`, or a stop on the unknown line item of `component`, `what`.
    fn known<T>(&self, maybe: Maybe<T>, component: Component, what: &str) -> Result<T, Stop> {
        maybe.map_err(|reason| self.stop(component, what, reason))
    }

    fn fixed(&self, price: &Price, component: Component, what: &str) -> LineItem {
        LineItem {
            quantity: Some(1),
            unit_monthly: Some(price.monthly),
            monthly: Some(price.monthly),
            ..self.item(component, what.to_string())
        }
    }

    /// A Cockpit data source: ingestion of the expected volume, and retention past the free
    /// period. Each sample (GB) is billed once when ingested and, per day it is kept beyond
    /// the free retention, at the retention price; a steady month ingests the expected volume.
    fn cockpit_source(&self) -> Result<Vec<LineItem>, Stop> {
        let kind = self.known(
            self.string("type", None)?,
            Component::CockpitIngestion,
            "Cockpit data source",
        )?;
        let what = format!("Cockpit {kind}");
        let Some(prices) = self.table.cockpit() else {
            return Err(self.stop(
                Component::CockpitIngestion,
                &what,
                format!("price table {} has no Cockpit prices", self.table.name()),
            ));
        };
        let (ingest, free, keep, volume_field) = match kind.as_str() {
            "metrics" => (
                prices.metrics_ingestion_per_million_samples,
                prices.metrics_free_retention_days,
                prices.metrics_retention_per_10_million_samples_per_day,
                "expected_monthly_samples",
            ),
            "logs" => (
                prices.logs_ingestion_per_gb,
                prices.logs_free_retention_days,
                prices.logs_retention_per_gb_per_day,
                "expected_monthly_gb",
            ),
            _ => (
                prices.traces_ingestion_per_gb,
                prices.traces_free_retention_days,
                prices.traces_retention_per_gb_per_day,
                "expected_monthly_gb",
            ),
        };
        let default_retention = if kind == "metrics" { 31 } else { 7 };
        let retention = self.known(
            self.count("retention_days", Some(default_retention))?,
            Component::CockpitRetention,
            &what,
        )?;
        // Volume in the unit the prices use: samples, or thousandths of a GB.
        let (volume, per_unit_ingest, per_unit_keep, shown) = if kind == "metrics" {
            match self.count(volume_field, None)? {
                Ok(n) => (n, 1_000_000u64, 10_000_000u64, format!("{n} samples")),
                Err(_) => {
                    return Err(self.stop(
                        Component::CockpitIngestion,
                        &what,
                        format!("{volume_field} is not set: declare the expected samples per month to price ingestion"),
                    ));
                }
            }
        } else {
            match self.field(volume_field) {
                Field::Known(v) if v.as_f64().is_some_and(|g| g >= 0.0) => {
                    let gb = v.as_f64().unwrap_or_default();
                    (
                        (gb * 1000.0).round() as u64,
                        1000u64,
                        1000u64,
                        format!("{gb} GB"),
                    )
                }
                Field::Known(v) => {
                    return Err(self
                        .invalid(volume_field, "a non-negative number", v)
                        .into());
                }
                _ => {
                    return Err(self.stop(
                        Component::CockpitIngestion,
                        &what,
                        format!("{volume_field} is not set: declare the expected GB per month to price ingestion"),
                    ));
                }
            }
        };
        let ingestion = ingest.times_ratio(volume, per_unit_ingest);
        let extra_days = retention.saturating_sub(free);
        let retained = keep.times_ratio(volume * extra_days, per_unit_keep);
        Ok(vec![
            LineItem {
                monthly: Some(ingestion),
                ..self.item(
                    Component::CockpitIngestion,
                    format!("{what} ingestion, {shown}/month"),
                )
            },
            LineItem {
                monthly: Some(retained),
                ..self.item(
                    Component::CockpitRetention,
                    format!("{what} retention {retention} days ({free} free)"),
                )
            },
        ])
    }

    /// A resource priced by one type attribute (LB, gateway, cluster).
    fn typed(
        &self,
        section: Section,
        field: &str,
        default: Option<&str>,
        component: Component,
        what: &str,
    ) -> Result<LineItem, PricingError> {
        match self.string(field, default)? {
            Ok(t) => {
                let price = self.lookup(section, field, &t)?;
                Ok(self.fixed(price, component, &format!("{what} {t}")))
            }
            Err(reason) => Ok(self.unknown(component, what.to_string(), reason)),
        }
    }

    /// The one line item of a resource priced by the offer its `type` names (no default).
    fn by_type(
        &self,
        section: Section,
        component: Component,
        what: &str,
    ) -> Result<Vec<LineItem>, PricingError> {
        self.typed(section, "type", None, component, what)
            .map(|i| vec![i])
    }

    /// The flexible IP of `what` (a load balancer, a gateway), at its fixed price.
    fn flexible_ip(&self, price: &Price, what: &str) -> LineItem {
        self.fixed(price, Component::FlexibleIp, &format!("{what} flexible IP"))
    }

    fn cluster(&self) -> Result<LineItem, PricingError> {
        // The provider defaults `type` to the free mutualised Kapsule control plane.
        self.typed(
            Section::ClusterType,
            "type",
            Some("kapsule"),
            Component::ControlPlane,
            "Kubernetes control plane",
        )
    }

    fn pool(&self) -> Result<Vec<LineItem>, Stop> {
        let node_type = self.known(
            self.string("node_type", None)?,
            Component::Nodes,
            "pool nodes",
        )?;
        let unit = self
            .lookup(Section::PoolNodeType, "node_type", &node_type)?
            .monthly;
        let size = self.count("size", None)?;
        let autoscaling = self.flag("autoscaling", false)?;
        let bounds = match autoscaling {
            Ok(true) => {
                let min = self.count("min_size", Some(1))?;
                let max = match &size {
                    Ok(s) => self.count("max_size", Some(*s))?,
                    Err(_) => self.count("max_size", None)?,
                };
                Some(min.and_then(|a| max.map(|b| (a, b))))
            }
            Ok(false) => None,
            Err(_) => None,
        };
        let mut items = vec![self.scaled(
            Component::Nodes,
            &node_type,
            "",
            unit,
            &size,
            bounds.as_ref(),
            autoscaling.as_ref().err(),
        )];
        // Only a block root volume costs extra; the default and l_ssd are in the node price.
        if let Ok(vt) = self.string("root_volume_type", Some("l_ssd"))? {
            let per_gb = self
                .lookup(Section::VolumePerGb, "root_volume_type", &vt)?
                .monthly;
            if !per_gb.is_zero() {
                let what = format!("{vt} root volume");
                match self.count("root_volume_size_in_gb", None)? {
                    Ok(gb) => items.push(self.scaled(
                        Component::RootVolumes,
                        &what,
                        &format!(" of {gb} GB"),
                        per_gb.times(gb),
                        &size,
                        bounds.as_ref(),
                        autoscaling.as_ref().err(),
                    )),
                    Err(reason) => items.push(self.unknown(Component::RootVolumes, what, reason)),
                }
            }
        }
        Ok(items)
    }

    /// A per-node amount multiplied by the pool size, with the autoscaling range.
    #[allow(clippy::too_many_arguments)]
    fn scaled(
        &self,
        component: Component,
        what: &str,
        suffix: &str,
        unit: Money,
        size: &Maybe<u64>,
        bounds: Option<&Maybe<(u64, u64)>>,
        autoscaling_unknown: Option<&String>,
    ) -> LineItem {
        let scaling = match bounds {
            Some(Ok((min, max))) => format!(" (autoscaling {min}..{max})"),
            Some(Err(reason)) => format!(" (autoscaling, range unknown: {reason})"),
            None => match autoscaling_unknown {
                Some(reason) => format!(" ({reason})"),
                None => String::new(),
            },
        };
        let range = match bounds {
            Some(Ok((min, max))) => Some(MonthlyRange {
                min: unit.times(*min),
                max: unit.times(*max),
            }),
            _ => None,
        };
        match size {
            Ok(n) => LineItem {
                quantity: Some(*n),
                unit_monthly: Some(unit),
                monthly: Some(unit.times(*n)),
                range,
                ..self.item(component, format!("{n} × {what}{suffix}{scaling}"))
            },
            Err(reason) => LineItem {
                unit_monthly: Some(unit),
                range,
                ..self.unknown(
                    component,
                    format!("{what}{suffix}{scaling}"),
                    reason.clone(),
                )
            },
        }
    }

    fn rdb(&self) -> Result<Vec<LineItem>, PricingError> {
        let mut items = Vec::new();
        let ha = self.flag("is_ha_cluster", false)?;
        let factor = |ha: bool, f: u64| if ha { f } else { 1 };
        match self.string("node_type", None)? {
            Ok(t) => {
                let unit = self.lookup(Section::RdbNodeType, "node_type", &t)?.monthly;
                items.push(match &ha {
                    Ok(h) => {
                        let nodes = factor(*h, self.table.rdb_ha_node_factor());
                        let label = if *h { " (HA)" } else { "" };
                        LineItem {
                            quantity: Some(nodes),
                            unit_monthly: Some(unit),
                            monthly: Some(unit.times(nodes)),
                            ..self.item(Component::DatabaseNodes, format!("{nodes} × {t}{label}"))
                        }
                    }
                    Err(reason) => LineItem {
                        unit_monthly: Some(unit),
                        ..self.unknown(Component::DatabaseNodes, t.clone(), reason.clone())
                    },
                });
            }
            Err(reason) => {
                items.push(self.unknown(Component::DatabaseNodes, "database nodes".into(), reason))
            }
        }
        // The provider defaults volume_type to lssd, which the node price includes.
        match self.string("volume_type", Some("lssd"))? {
            Ok(vt) => {
                let per_gb = self
                    .lookup(Section::VolumePerGb, "volume_type", &vt)?
                    .monthly;
                if !per_gb.is_zero() {
                    let what = format!("{vt} volume");
                    let copies = ha.map(|h| factor(h, self.table.rdb_ha_volume_factor()));
                    let gb = self.count("volume_size_in_gb", None)?;
                    items.push(match (gb, copies) {
                        (Ok(gb), Ok(copies)) => {
                            let copy_label = if copies > 1 {
                                format!(" × {copies}")
                            } else {
                                String::new()
                            };
                            LineItem {
                                quantity: Some(gb * copies),
                                unit_monthly: Some(per_gb),
                                monthly: Some(per_gb.times(gb * copies)),
                                ..self.item(
                                    Component::DatabaseVolume,
                                    format!("{what} of {gb} GB{copy_label}"),
                                )
                            }
                        }
                        (Err(reason), _) | (_, Err(reason)) => LineItem {
                            unit_monthly: Some(per_gb),
                            ..self.unknown(Component::DatabaseVolume, what, reason)
                        },
                    });
                }
            }
            Err(reason) => items.push(self.unknown(
                Component::DatabaseVolume,
                "database volume".into(),
                reason,
            )),
        }
        Ok(items)
    }
}
