//! Dated price tables: the built-in ones under `tables/` and user-supplied files.
//!
//! A table is data, not code, so a new price list is a new file and old
//! estimates stay reproducible by naming the table they were made with.

use std::collections::BTreeMap;
use std::fmt;
use std::path::Path;

use serde::{Deserialize, Serialize};

use super::error::PricingError;
use super::money::{HOURS_PER_MONTH, Money};

/// The built-in tables, oldest first; the last one is [`PriceTable::latest`].
const BUILT_IN: &[(&str, &str)] = &[
    ("2025-09", include_str!("tables/2025-09.toml")),
    ("2026-11", include_str!("tables/2026-11.toml")),
];

/// Names of the built-in price tables, oldest first.
pub fn built_in_tables() -> impl Iterator<Item = &'static str> {
    BUILT_IN.iter().map(|(name, _)| *name)
}

/// One price as written in a table, normalised to a monthly amount.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Price {
    /// Monthly amount: the table's monthly figure, or hourly × 730.
    pub monthly: Money,
    /// How the table stated the price.
    pub basis: PriceBasis,
    /// Free-text description from the table (vCPU/RAM, what is included…).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
}

/// Whether a table entry gave an hourly or a monthly price.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase", tag = "basis", content = "amount")]
pub enum PriceBasis {
    /// Hourly price; the monthly amount is this × 730.
    Hourly(Money),
    /// Monthly price used as is.
    Monthly,
}

/// The sections of a table that hold named prices.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Section {
    /// `k8s_cluster.types`: control-plane offers (`kapsule`, `kapsule-dedicated-4`…).
    ClusterType,
    /// `k8s_pool.node_types`: Instance types usable in Kapsule pools, per node.
    PoolNodeType,
    /// `rdb.node_types`: Managed Database node types, per node.
    RdbNodeType,
    /// `lb.types`: Load Balancer offers.
    LbType,
    /// `vpc_public_gateway.types`: Public Gateway offers.
    GatewayType,
    /// `block_storage.per_gb`: volume types, per GB.
    VolumePerGb,
}

impl Section {
    /// Dotted path of the section in the table file.
    pub fn path(self) -> &'static str {
        match self {
            Section::ClusterType => "k8s_cluster.types",
            Section::PoolNodeType => "k8s_pool.node_types",
            Section::RdbNodeType => "rdb.node_types",
            Section::LbType => "lb.types",
            Section::GatewayType => "vpc_public_gateway.types",
            Section::VolumePerGb => "block_storage.per_gb",
        }
    }

    /// Scaleway spells offer names inconsistently (the Kapsule API returns
    /// `gp1_xs` for `GP1-XS`), so lookups compare a canonical form.
    fn canonical(self, key: &str) -> String {
        let key = key.trim();
        match self {
            Section::PoolNodeType
            | Section::RdbNodeType
            | Section::LbType
            | Section::GatewayType => key.to_ascii_uppercase().replace('_', "-"),
            Section::ClusterType => key.to_ascii_lowercase().replace('_', "-"),
            Section::VolumePerGb => key.to_ascii_lowercase(),
        }
    }
}

impl fmt::Display for Section {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.path())
    }
}

/// A dated Scaleway price table.
#[derive(Debug, Clone)]
pub struct PriceTable {
    name: String,
    currency: String,
    effective: String,
    region: Option<String>,
    source: String,
    notes: Vec<String>,
    sections: BTreeMap<SectionKey, BTreeMap<String, (String, Price)>>,
    rdb_ha_node_factor: u64,
    rdb_ha_volume_factor: u64,
    lb_ip: Price,
    gateway_ip: Price,
    cockpit: Option<CockpitPrices>,
}

/// Cockpit's usage-billed prices for custom data (ingestion, and retention past the free
/// period). Scaleway data (Kapsule control plane, …) is free and not modelled.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CockpitPrices {
    /// Price of one million metric samples ingested.
    pub metrics_ingestion_per_million_samples: Money,
    /// Days of metrics retention included for free.
    pub metrics_free_retention_days: u64,
    /// Price of keeping ten million samples one more day past the free retention.
    pub metrics_retention_per_10_million_samples_per_day: Money,
    /// Price of one GB of logs ingested.
    pub logs_ingestion_per_gb: Money,
    /// Days of logs retention included for free.
    pub logs_free_retention_days: u64,
    /// Price of keeping one GB of logs one more day past the free retention.
    pub logs_retention_per_gb_per_day: Money,
    /// Price of one GB of traces ingested.
    pub traces_ingestion_per_gb: Money,
    /// Days of traces retention included for free.
    pub traces_free_retention_days: u64,
    /// Price of keeping one GB of traces one more day past the free retention.
    pub traces_retention_per_gb_per_day: Money,
    /// Where the figures come from and which are unverified.
    #[serde(default)]
    pub description: Option<String>,
}

// `Section` is not Ord on purpose (its order means nothing to users); this
// private key gives the map a stable order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
struct SectionKey(u8);

impl From<Section> for SectionKey {
    fn from(s: Section) -> SectionKey {
        SectionKey(s as u8)
    }
}

impl PriceTable {
    /// Loads a built-in table by name, e.g. `"2025-09"`.
    pub fn named(name: &str) -> Result<PriceTable, PricingError> {
        let (_, text) = BUILT_IN.iter().find(|(n, _)| *n == name).ok_or_else(|| {
            PricingError::UnknownTable {
                name: name.to_string(),
                available: built_in_tables().collect::<Vec<_>>().join(", "),
            }
        })?;
        PriceTable::from_toml_str(text, &format!("built-in `{name}`"))
    }

    /// The newest built-in table.
    pub fn latest() -> PriceTable {
        let (name, _) = BUILT_IN.last().expect("at least one built-in table");
        // The built-in tables are checked by the unit tests, so this cannot fail
        // in a released binary.
        PriceTable::named(name).expect("built-in price tables are valid")
    }

    /// Loads a user-supplied table: JSON when the file ends in `.json`, TOML otherwise.
    pub fn from_file(path: impl AsRef<Path>) -> Result<PriceTable, PricingError> {
        let path = path.as_ref();
        let text = std::fs::read_to_string(path).map_err(|source| PricingError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        let origin = path.display().to_string();
        if path
            .extension()
            .is_some_and(|e| e.eq_ignore_ascii_case("json"))
        {
            let file: TableFile =
                serde_json::from_str(&text).map_err(|e| PricingError::Malformed {
                    origin: origin.clone(),
                    message: e.to_string(),
                })?;
            PriceTable::from_file_data(file)
        } else {
            PriceTable::from_toml_str(&text, &origin)
        }
    }

    /// Resolves a `--prices` argument: a built-in table name, else a file path.
    pub fn resolve(spec: &str) -> Result<PriceTable, PricingError> {
        if built_in_tables().any(|n| n == spec) {
            PriceTable::named(spec)
        } else if Path::new(spec).exists() {
            PriceTable::from_file(spec)
        } else {
            Err(PricingError::UnknownTable {
                name: spec.to_string(),
                available: built_in_tables().collect::<Vec<_>>().join(", "),
            })
        }
    }

    /// Parses a table from TOML text; `origin` names it in error messages.
    pub fn from_toml_str(text: &str, origin: &str) -> Result<PriceTable, PricingError> {
        let file: TableFile = toml::from_str(text).map_err(|e| PricingError::Malformed {
            origin: origin.to_string(),
            message: e.to_string(),
        })?;
        PriceTable::from_file_data(file)
    }

    fn from_file_data(file: TableFile) -> Result<PriceTable, PricingError> {
        let table = file.name.clone();
        let price = |entry: &str, e: Entry| e.into_price(&table, entry);
        let mut sections = BTreeMap::new();
        let raw = [
            (Section::ClusterType, file.k8s_cluster.types),
            (Section::PoolNodeType, file.k8s_pool.node_types),
            (Section::RdbNodeType, file.rdb.node_types),
            (Section::LbType, file.lb.types),
            (Section::GatewayType, file.vpc_public_gateway.types),
            (Section::VolumePerGb, file.block_storage.per_gb),
        ];
        for (section, entries) in raw {
            let mut map = BTreeMap::new();
            for (key, entry) in entries {
                let path = format!("{section}.{key}");
                let canonical = section.canonical(&key);
                let p = price(&path, entry)?;
                if map.insert(canonical, (key, p)).is_some() {
                    return Err(PricingError::InvalidEntry {
                        table: table.clone(),
                        entry: path,
                        message: "duplicates another entry once case and `_`/`-` are ignored"
                            .into(),
                    });
                }
            }
            sections.insert(SectionKey::from(section), map);
        }
        if file.rdb.ha_node_factor == 0 {
            return Err(PricingError::InvalidEntry {
                table,
                entry: "rdb.ha_node_factor".into(),
                message: "must be at least 1".into(),
            });
        }
        Ok(PriceTable {
            lb_ip: price("lb_ip", file.lb_ip)?,
            gateway_ip: price("vpc_public_gateway_ip", file.vpc_public_gateway_ip)?,
            cockpit: file.cockpit,
            name: file.name,
            currency: file.currency,
            effective: file.effective,
            region: file.region,
            source: file.source,
            notes: file.notes,
            sections,
            rdb_ha_node_factor: file.rdb.ha_node_factor,
            rdb_ha_volume_factor: file.rdb.ha_volume_factor,
        })
    }

    /// Table name, e.g. `2025-09`.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// ISO currency code of every amount in the table (EUR for Scaleway).
    pub fn currency(&self) -> &str {
        &self.currency
    }

    /// Date (or month) from which the prices apply.
    pub fn effective(&self) -> &str {
        &self.effective
    }

    /// Region the prices were taken for, when the table says.
    pub fn region(&self) -> Option<&str> {
        self.region.as_deref()
    }

    /// Where the figures come from.
    pub fn source(&self) -> &str {
        &self.source
    }

    /// Assumptions and caveats recorded with the table.
    pub fn notes(&self) -> &[String] {
        &self.notes
    }

    /// The price of `key` in `section`, ignoring case and `_`/`-` differences.
    pub fn price(&self, section: Section, key: &str) -> Option<&Price> {
        self.sections
            .get(&SectionKey::from(section))
            .and_then(|m| m.get(&section.canonical(key)))
            .map(|(_, p)| p)
    }

    /// Every entry of a section as written in the table, sorted by name.
    pub fn entries(&self, section: Section) -> impl Iterator<Item = (&str, &Price)> {
        self.sections
            .get(&SectionKey::from(section))
            .into_iter()
            .flat_map(|m| m.values().map(|(k, p)| (k.as_str(), p)))
    }

    /// How many nodes an HA Managed Database is billed as (2 on Scaleway: the
    /// standby node is billed like the primary).
    pub fn rdb_ha_node_factor(&self) -> u64 {
        self.rdb_ha_node_factor
    }

    /// How many times an HA Managed Database's block volume is billed.
    pub fn rdb_ha_volume_factor(&self) -> u64 {
        self.rdb_ha_volume_factor
    }

    /// Price of a Load Balancer flexible IP (`scaleway_lb_ip`).
    pub fn lb_ip(&self) -> &Price {
        &self.lb_ip
    }

    /// Cockpit's ingestion and retention prices, when the table has them.
    pub fn cockpit(&self) -> Option<&CockpitPrices> {
        self.cockpit.as_ref()
    }

    /// Price of a Public Gateway flexible IP (`scaleway_vpc_public_gateway_ip`).
    pub fn gateway_ip(&self) -> &Price {
        &self.gateway_ip
    }
}

/// The on-disk schema of a table (TOML or JSON).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct TableFile {
    name: String,
    #[serde(default = "default_currency")]
    currency: String,
    effective: String,
    #[serde(default)]
    region: Option<String>,
    source: String,
    #[serde(default)]
    notes: Vec<String>,
    #[serde(default)]
    k8s_cluster: TypesSection,
    #[serde(default)]
    k8s_pool: NodeTypesSection,
    #[serde(default)]
    rdb: RdbSection,
    #[serde(default)]
    lb: TypesSection,
    lb_ip: Entry,
    #[serde(default)]
    vpc_public_gateway: TypesSection,
    vpc_public_gateway_ip: Entry,
    #[serde(default)]
    block_storage: BlockStorageSection,
    #[serde(default)]
    cockpit: Option<CockpitPrices>,
}

fn default_currency() -> String {
    "EUR".into()
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct TypesSection {
    #[serde(default)]
    types: BTreeMap<String, Entry>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct NodeTypesSection {
    #[serde(default)]
    node_types: BTreeMap<String, Entry>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RdbSection {
    #[serde(default = "two")]
    ha_node_factor: u64,
    #[serde(default = "one")]
    ha_volume_factor: u64,
    #[serde(default)]
    node_types: BTreeMap<String, Entry>,
}

impl Default for RdbSection {
    fn default() -> Self {
        RdbSection {
            ha_node_factor: 2,
            ha_volume_factor: 1,
            node_types: BTreeMap::new(),
        }
    }
}

fn two() -> u64 {
    2
}

fn one() -> u64 {
    1
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct BlockStorageSection {
    #[serde(default)]
    per_gb: BTreeMap<String, Entry>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Entry {
    #[serde(default)]
    hourly: Option<Money>,
    #[serde(default)]
    monthly: Option<Money>,
    #[serde(default)]
    description: Option<String>,
}

impl Entry {
    fn into_price(self, table: &str, entry: &str) -> Result<Price, PricingError> {
        let invalid = |message: &str| PricingError::InvalidEntry {
            table: table.to_string(),
            entry: entry.to_string(),
            message: message.to_string(),
        };
        let (monthly, basis) = match (self.hourly, self.monthly) {
            (Some(h), None) => (h.times(HOURS_PER_MONTH as u64), PriceBasis::Hourly(h)),
            (None, Some(m)) => (m, PriceBasis::Monthly),
            (None, None) => return Err(invalid("gives neither `hourly` nor `monthly`")),
            // Two prices for one entry would make the result depend on which we
            // pick; the author must choose.
            (Some(_), Some(_)) => return Err(invalid("gives both `hourly` and `monthly`")),
        };
        if monthly < Money::ZERO {
            return Err(invalid("price is negative"));
        }
        Ok(Price {
            monthly,
            basis,
            description: self.description,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_built_in_table_loads() {
        for name in built_in_tables() {
            let t = PriceTable::named(name).unwrap();
            assert_eq!(t.name(), name);
            assert_eq!(t.currency(), "EUR");
            assert!(!t.source().is_empty());
        }
        assert_eq!(PriceTable::latest().name(), "2026-11");
    }

    #[test]
    fn unknown_table_lists_the_available_ones() {
        let err = PriceTable::named("1999-01").unwrap_err().to_string();
        assert!(err.contains("2025-09") && err.contains("2026-11"), "{err}");
    }

    #[test]
    fn lookups_ignore_case_and_separators() {
        let t = PriceTable::named("2025-09").unwrap();
        let gp1 = t.price(Section::PoolNodeType, "GP1-XS").unwrap();
        assert_eq!(gp1.monthly, Money::from_cents(1520));
        assert_eq!(t.price(Section::PoolNodeType, "gp1_xs"), Some(gp1));
        assert!(t.price(Section::PoolNodeType, "GP9-XXL").is_none());
    }

    #[test]
    fn hourly_entries_are_multiplied_by_730() {
        let t = PriceTable::named("2026-11").unwrap();
        let gp1 = t.price(Section::PoolNodeType, "GP1-XS").unwrap();
        assert_eq!(gp1.basis, PriceBasis::Hourly("0.091".parse().unwrap()));
        assert_eq!(gp1.monthly, "66.43".parse().unwrap());
    }

    #[test]
    fn rejects_ambiguous_or_empty_entries() {
        let base = r#"
            name = "t"
            effective = "2026-01"
            source = "test"
            lb_ip = { monthly = "0" }
            vpc_public_gateway_ip = { monthly = "0" }
        "#;
        let both = format!("{base}\n[lb.types]\nLB-S = {{ hourly = \"0.01\", monthly = \"7\" }}\n");
        let err = PriceTable::from_toml_str(&both, "test")
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("lb.types.LB-S") && err.contains("both"),
            "{err}"
        );
        let none = format!("{base}\n[lb.types]\nLB-S = {{ description = \"x\" }}\n");
        assert!(PriceTable::from_toml_str(&none, "test").is_err());
        let typo = format!("{base}\n[lb]\ntypez = {{}}\n");
        let err = PriceTable::from_toml_str(&typo, "test")
            .unwrap_err()
            .to_string();
        assert!(err.contains("typez"), "{err}");
    }

    #[test]
    fn loads_user_files_in_toml_and_json() {
        let dir = std::env::temp_dir().join(format!("kapstan-prices-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let toml_path = dir.join("mine.toml");
        std::fs::write(
            &toml_path,
            "name = \"mine\"\neffective = \"2026-12\"\nsource = \"negotiated\"\n\
             lb_ip = { hourly = \"0.001\" }\nvpc_public_gateway_ip = { monthly = \"1\" }\n\
             [k8s_pool.node_types]\nGP1-XS = { monthly = \"50\" }\n",
        )
        .unwrap();
        let t = PriceTable::from_file(&toml_path).unwrap();
        assert_eq!(t.lb_ip().monthly, "0.73".parse().unwrap());
        let json_path = dir.join("mine.json");
        std::fs::write(
            &json_path,
            r#"{"name":"j","effective":"2026-12","source":"s","lb_ip":{"monthly":0},
                "vpc_public_gateway_ip":{"monthly":"0"},
                "rdb":{"node_types":{"DB-DEV-S":{"hourly":0.0156}}}}"#,
        )
        .unwrap();
        let t = PriceTable::from_file(&json_path).unwrap();
        assert_eq!(
            t.price(Section::RdbNodeType, "db-dev-s").unwrap().monthly,
            "11.388".parse().unwrap()
        );
        assert!(matches!(
            PriceTable::from_file(dir.join("missing.toml")),
            Err(PricingError::Read { .. })
        ));
        assert_eq!(
            PriceTable::resolve(toml_path.to_str().unwrap())
                .unwrap()
                .name(),
            "mine"
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
