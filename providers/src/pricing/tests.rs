//! Environment-level tests: the original's three environments priced from resource configs.

use serde_json::{Value, json};

use super::*;

/// One column of the environment matrix (reference notes, section 2).
struct Env {
    name: &'static str,
    pool: (&'static str, u64, u64, u64),
    db: (&'static str, bool, &'static str, Option<u64>),
    lb: &'static str,
}

const DEV: Env = Env {
    name: "dev",
    pool: ("GP1-XS", 2, 1, 5),
    db: ("DB-DEV-S", false, "lssd", None),
    lb: "LB-S",
};
const STAGING: Env = Env {
    name: "staging",
    pool: ("GP1-S", 3, 2, 8),
    db: ("DB-GP-S", false, "lssd", None),
    lb: "LB-S",
};
// Prod's DB volume is block SSD; the original priced 250 GB of it.
const PROD: Env = Env {
    name: "prod",
    pool: ("GP1-M", 5, 3, 15),
    db: ("DB-GP-M", true, "bssd", Some(250)),
    lb: "LB-GP-M",
};

/// The infrastructure phase's resources for an environment, as configs.
fn resources(env: &Env) -> Vec<(&'static str, String, Value)> {
    let n = env.name;
    let (node_type, size, min, max) = env.pool;
    let (db_type, ha, volume_type, volume_size) = env.db;
    let mut db = json!({
        "name": format!("coder-{n}-db"),
        "node_type": db_type,
        "engine": "PostgreSQL-15",
        "is_ha_cluster": ha,
        "volume_type": volume_type,
    });
    if let Some(gb) = volume_size {
        db["volume_size_in_gb"] = json!(gb);
    }
    vec![
        (
            "scaleway_vpc",
            "vpc".into(),
            json!({"name": format!("coder-{n}-vpc")}),
        ),
        (
            "scaleway_vpc_private_network",
            "network".into(),
            json!({"name": format!("coder-{n}-network")}),
        ),
        (
            "scaleway_vpc_public_gateway_ip",
            "gateway-ip".into(),
            json!({}),
        ),
        (
            "scaleway_vpc_public_gateway",
            "gateway".into(),
            json!({"type": "VPC-GW-S", "name": format!("coder-{n}-gw")}),
        ),
        (
            "scaleway_vpc_gateway_network",
            "gateway-network".into(),
            json!({"enable_masquerade": true}),
        ),
        (
            "scaleway_k8s_cluster",
            "cluster".into(),
            json!({"name": format!("coder-{n}-cluster"), "version": "1.32", "cni": "cilium"}),
        ),
        (
            "scaleway_k8s_pool",
            "pool-default".into(),
            json!({
                "name": "default", "node_type": node_type, "size": size, "min_size": min,
                "max_size": max, "autoscaling": true, "autohealing": true,
                "container_runtime": "containerd", "root_volume_type": "l_ssd",
            }),
        ),
        ("scaleway_rdb_instance", "database".into(), db),
        (
            "scaleway_rdb_database",
            "database-coder".into(),
            json!({"name": format!("coder_{n}_db")}),
        ),
        (
            "scaleway_rdb_user",
            "database-user".into(),
            json!({"name": "coder", "is_admin": true}),
        ),
        ("scaleway_lb_ip", "lb-ip".into(), json!({})),
        (
            "scaleway_lb",
            "lb".into(),
            json!({"type": env.lb, "name": format!("coder-{n}-lb")}),
        ),
    ]
}

fn cost(env: &Env, table: &str) -> CostEstimate {
    let res = resources(env);
    PriceTable::named(table)
        .unwrap()
        .estimate(res.iter().map(|(k, a, c)| (*k, a.as_str(), c)))
        .unwrap()
}

/// The costs of dev, staging and prod under `table`.
fn costs(table: &str) -> [CostEstimate; 3] {
    [&DEV, &STAGING, &PROD].map(|env| cost(env, table))
}

fn item(c: &CostEstimate, component: Component) -> &LineItem {
    c.items.iter().find(|i| i.component == component).unwrap()
}

fn m(s: &str) -> Money {
    s.parse().unwrap()
}

#[test]
fn original_figures_under_2025_09() {
    let [dev, staging, prod] = costs("2025-09");
    assert_eq!(dev.monthly, m("53.70"));
    assert_eq!(staging.monthly, m("97.85"));
    assert_eq!(prod.monthly, m("374.50"));
    for c in [&dev, &staging, &prod] {
        assert!(c.is_complete(), "{c:?}");
        assert_eq!(c.table, "2025-09");
    }
}

#[test]
fn line_items_match_the_original_breakdown() {
    let prod = cost(&PROD, "2025-09");
    let nodes = item(&prod, Component::Nodes);
    assert_eq!(nodes.monthly, Some(m("228.00")));
    assert_eq!(nodes.quantity, Some(5));
    assert_eq!(nodes.description, "5 × GP1-M (autoscaling 3..15)");
    assert_eq!(
        nodes.range,
        Some(MonthlyRange {
            min: m("136.80"),
            max: m("684.00")
        })
    );
    let db = item(&prod, Component::DatabaseNodes);
    assert_eq!((db.quantity, db.monthly), (Some(2), Some(m("73.80"))));
    assert_eq!(db.description, "2 × DB-GP-M (HA)");
    let volume = item(&prod, Component::DatabaseVolume);
    assert_eq!(volume.monthly, Some(m("25.00")));
    assert_eq!(
        item(&prod, Component::LoadBalancer).monthly,
        Some(m("45.60"))
    );
    assert_eq!(
        item(&prod, Component::PublicGateway).monthly,
        Some(m("2.10"))
    );
    // Local SSD in dev and staging adds no volume line.
    let dev = cost(&DEV, "2025-09");
    assert!(
        dev.items
            .iter()
            .all(|i| i.component != Component::DatabaseVolume)
    );
    assert_eq!(
        item(&dev, Component::DatabaseNodes).monthly,
        Some(m("12.30"))
    );
    // Free kinds give no line item; priced ones give one each (+1 for prod's volume).
    assert_eq!(dev.items.len(), 7);
    assert_eq!(prod.items.len(), 8);
    assert_eq!(prod.monthly_for("database"), m("98.80"));
}

#[test]
fn autoscaling_ranges_and_periods() {
    let dev = cost(&DEV, "2025-09");
    // 1..5 × 15.20 around the fixed 23.30.
    assert_eq!(dev.monthly_min, m("38.50"));
    assert_eq!(dev.monthly_max, m("99.30"));
    assert_eq!(dev.total(Period::Yearly), m("644.40"));
    assert_eq!(dev.total(Period::Hourly).to_cents_string(), "0.07");
    assert_eq!(dev.total(Period::Daily).to_string(), "1.765479452");
    let totals = dev.totals();
    assert_eq!(totals.len(), 4);
    assert_eq!(
        totals[2],
        PeriodTotal {
            period: Period::Monthly,
            expected: m("53.70"),
            min: m("38.50"),
            max: m("99.30"),
        }
    );
}

#[test]
fn current_table_figures() {
    let [dev, staging, prod] = costs("2026-11");
    // dev: 2×0.091×730 + 0.0156×730 + 0.0124×730 + 2×0.004×730 + 0.0029×730
    assert_eq!(dev.monthly, m("161.257"));
    assert_eq!(dev.monthly.to_cents_string(), "161.26");
    // staging: 3×0.187×730 + 0.3803×730 + LB-S + IPs + gateway
    assert_eq!(staging.monthly, m("704.158"));
    // prod: 5×0.376×730 + 2×0.7595×730 + 250×0.000118×730 + 0.0633×730 + IPs + gateway
    assert_eq!(prod.monthly, m("2556.971"));
    assert_eq!(
        item(&prod, Component::DatabaseVolume).monthly,
        Some(m("21.535"))
    );
    assert_eq!(prod.monthly_delta(&cost(&PROD, "2025-09")), m("2182.471"));
    assert_eq!(PriceTable::latest().name(), "2026-11");
}

#[test]
fn unknown_values_make_unknown_line_items() {
    let table = PriceTable::named("2025-09").unwrap();
    let unknown = json!({"$unknown": true});
    let pool = json!({"node_type": "GP1-S", "size": unknown, "min_size": 2, "max_size": 8, "autoscaling": true});
    let db = json!({"node_type": "DB-GP-M", "is_ha_cluster": false, "volume_type": "bssd"});
    let lb = json!({"type": {"$unknown": true}});
    let c = table
        .estimate([
            ("scaleway_k8s_pool", "pool", &pool),
            ("scaleway_rdb_instance", "db", &db),
            ("scaleway_lb", "lb", &lb),
            ("scaleway_lb_ip", "ip", &unknown),
        ])
        .unwrap();
    let nodes = &c.items[0];
    assert_eq!(nodes.monthly, None);
    assert_eq!(
        nodes.unknown.as_deref(),
        Some("size is unknown until apply")
    );
    // The range does not depend on `size`, so it is still reported.
    assert_eq!(
        nodes.range,
        Some(MonthlyRange {
            min: m("45.60"),
            max: m("182.40")
        })
    );
    let volume = c
        .items
        .iter()
        .find(|i| i.component == Component::DatabaseVolume)
        .unwrap();
    assert_eq!(
        volume.unknown.as_deref(),
        Some("volume_size_in_gb is not set")
    );
    assert_eq!(
        c.items[3].unknown.as_deref(),
        Some("type is unknown until apply")
    );
    assert_eq!(c.unknown_items, 3);
    assert!(!c.is_complete());
    // Known items still count: 36.90 for the DB node, 0 for the LB IP.
    assert_eq!(c.monthly, m("36.90"));
}

#[test]
fn unknown_node_type_is_a_typed_error() {
    let table = PriceTable::named("2025-09").unwrap();
    let pool = json!({"node_type": "GP9-HUGE", "size": 1});
    let err = table
        .estimate([("scaleway_k8s_pool", "pool-default", &pool)])
        .unwrap_err();
    match &err {
        PricingError::UnknownType {
            address,
            field,
            value,
            table,
            ..
        } => {
            assert_eq!(
                (address.as_str(), field.as_str()),
                ("pool-default", "node_type")
            );
            assert_eq!((value.as_str(), table.as_str()), ("GP9-HUGE", "2025-09"));
        }
        other => panic!("unexpected {other:?}"),
    }
    assert_eq!(
        err.to_string(),
        "pool-default: node_type = \"GP9-HUGE\" is not in price table 2025-09 (scaleway_k8s_pool)"
    );
    let bad = json!({"node_type": "GP1-S", "size": "three"});
    let err = table
        .estimate([("scaleway_k8s_pool", "p", &bad)])
        .unwrap_err();
    assert!(
        matches!(err, PricingError::InvalidField { ref field, .. } if field == "size"),
        "{err}"
    );
}

#[test]
fn optional_attributes_take_provider_defaults() {
    let table = PriceTable::named("2026-11").unwrap();
    let fixed = json!({"node_type": "pro2_xs", "size": 2, "root_volume_type": "sbs_5k", "root_volume_size_in_gb": 20});
    let cluster = json!({"name": "c"});
    let c = table
        .estimate([
            ("scaleway_k8s_cluster", "cluster", &cluster),
            ("scaleway_k8s_pool", "pool", &fixed),
        ])
        .unwrap();
    assert_eq!(c.items[0].monthly, Some(Money::ZERO));
    assert_eq!(c.items[0].description, "Kubernetes control plane kapsule");
    assert_eq!(c.items[1].description, "2 × pro2_xs");
    assert_eq!(c.items[1].range, None);
    // 2 nodes × 20 GB × 0.000118 × 730
    assert_eq!(c.items[2].monthly, Some(m("3.4456")));
    assert_eq!(c.items[2].description, "2 × sbs_5k root volume of 20 GB");
    assert_eq!(c.monthly, m("160.6") + m("3.4456"));
}

#[test]
fn estimate_serializes_amounts_as_exact_strings() {
    let c = cost(&DEV, "2025-09");
    let v = serde_json::to_value(&c).unwrap();
    assert_eq!(v["monthly"], "53.70");
    assert_eq!(v["items"][3]["component"], "nodes");
    assert_eq!(v["items"][3]["range"]["max"], "76.00");
}

fn cockpit_items(table: &str, config: Value) -> Vec<LineItem> {
    price_resource(
        &PriceTable::named(table).unwrap(),
        "scaleway_cockpit_source",
        "metrics",
        &config,
    )
    .unwrap()
}

#[test]
fn cockpit_sources_price_ingestion_and_retention_past_the_free_period() {
    // 100 million samples a month at EUR 0.15 per million; 31 days of retention are free.
    let free = cockpit_items(
        "2026-11",
        json!({"type": "metrics", "expected_monthly_samples": 100_000_000u64}),
    );
    assert_eq!(free[0].component, Component::CockpitIngestion);
    assert_eq!(free[0].monthly, Some(m("15")));
    assert_eq!(free[1].monthly, Some(Money::ZERO));
    // 61 days: each sample is kept 30 billed days, EUR 0.0002 per 10 million per day.
    let long = cockpit_items(
        "2026-11",
        json!({"type": "metrics", "retention_days": 61, "expected_monthly_samples": 100_000_000u64}),
    );
    assert_eq!(long[1].monthly, Some(m("0.06")));
    // Logs: 5 GB at the (unverified) EUR 0.35 per GB, 23 billed days at EUR 0.002 per GB-day.
    let logs = cockpit_items(
        "2026-11",
        json!({"type": "logs", "retention_days": 30, "expected_monthly_gb": 5}),
    );
    assert_eq!(logs[0].monthly, Some(m("1.75")));
    assert_eq!(logs[1].monthly, Some(m("0.23")));
    // Without an expected volume the amount is unknown, and says what to declare.
    let unknown = cockpit_items("2026-11", json!({"type": "logs"}));
    assert!(
        unknown[0]
            .unknown
            .as_deref()
            .is_some_and(|r| r.contains("expected_monthly_gb")),
        "{unknown:?}"
    );
    // A table without Cockpit prices says so instead of guessing.
    let old = cockpit_items(
        "2025-09",
        json!({"type": "metrics", "expected_monthly_samples": 1}),
    );
    assert!(
        old[0]
            .unknown
            .as_deref()
            .is_some_and(|r| r.contains("no Cockpit prices"))
    );
}
