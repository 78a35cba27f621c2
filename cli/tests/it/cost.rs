//! Costs as a user sees them: `kapstan cost` breakdowns (table, CSV, JSON), the cost line of
//! `kapstan plan`, `kapstan.cost` in plan JSON, budgets in kapstan.toml and the exit-3 gate,
//! and `kapstan templates list|lint`. Snapshots with insta; no API is called (refresh off,
//! nothing recorded, the Scaleway endpoint points at a closed port).

use crate::support::{Project, code, stderr, stdout};

/// A project with the cost test stack in `stack.json`.
fn project() -> Project {
    let p = Project::new();
    p.write("stack.json", STACK);
    p
}

/// A stack of priced kinds: a Kapsule cluster, an autoscaling pool, an HA database with a
/// block volume and a load balancer.
const STACK: &str = r#"{
  "name": "priced",
  "resources": [
    {"address": "cluster", "kind": "scaleway_k8s_cluster",
     "config": {"name": "priced", "type": "kapsule", "version": "1.31", "cni": "cilium"}},
    {"address": "pool-default", "kind": "scaleway_k8s_pool",
     "config": {"cluster_id": {"$ref": {"resource": "cluster", "attr": "id"}}, "name": "default",
                "node_type": "GP1-S", "size": 3, "min_size": 2, "max_size": 5, "autoscaling": true}},
    {"address": "database", "kind": "scaleway_rdb_instance",
     "config": {"name": "priced-db", "node_type": "DB-GP-M", "engine": "PostgreSQL-16",
                "is_ha_cluster": true, "volume_type": "bssd", "volume_size_in_gb": 250}},
    {"address": "lb", "kind": "scaleway_lb", "config": {"name": "priced-lb", "type": "LB-S"}}
  ],
  "outputs": []
}"#;

#[test]
fn cost_breakdown_as_table_csv_and_json() {
    let p = project();
    let o = p.run_offline(&["cost", "--stack-file", "stack.json", "--prices", "2025-09"]);
    snap!("cost_table_2025_09", &p, &o);
    assert_eq!(code(&o), 0);
    assert!(
        stdout(&o).contains("€176.10"),
        "68.40 + 73.80 + 25.00 + 8.90"
    );

    let o = p.run_offline(&["cost", "--stack-file", "stack.json", "--format", "csv"]);
    snap!("cost_csv_latest", &p, &o);
    assert_eq!(code(&o), 0);

    let o = p.run_offline(&[
        "cost",
        "--stack-file",
        "stack.json",
        "--prices",
        "2025-09",
        "--period",
        "yearly",
        "--format",
        "json",
    ]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["table"], "2025-09");
    assert_eq!(v["period"], "yearly");
    assert_eq!(v["total"], "2113.20", "176.10 × 12");
    let items = v["stacks"][0]["items"].as_array().unwrap();
    let pool = items
        .iter()
        .find(|i| i["address"] == "pool-default")
        .unwrap();
    assert_eq!(pool["cost"], "820.80");
    assert_eq!(pool["range"]["max"], "1368.00");

    let o = p.run_offline(&["cost", "--stack-file", "stack.json", "--period", "hourly"]);
    snap!("cost_table_hourly", &p, &o);

    // Stacks of local kinds cost nothing.
    let o = p.run_offline(&["cost"]);
    snap!("cost_demo", &p, &o);
    assert_eq!(code(&o), 0);

    // An unknown table is refused with the available names.
    let o = p.run_offline(&["cost", "--stack-file", "stack.json", "--prices", "1999-01"]);
    assert_eq!(code(&o), 1);
    assert!(stderr(&o).contains("2025-09"), "{}", stderr(&o));
}

#[test]
fn a_plan_shows_its_cost_and_plan_json_carries_it() {
    let p = project();
    let o = p.run_offline(&[
        "plan",
        "--stack-file",
        "stack.json",
        "--refresh=false",
        "--prices",
        "2025-09",
    ]);
    snap!("plan_with_cost", &p, &o);
    assert_eq!(code(&o), 0);

    let o = p.run_offline(&[
        "plan",
        "--stack-file",
        "stack.json",
        "--refresh=false",
        "--prices",
        "2025-09",
        "--json",
    ]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let cost = &v["kapstan"]["cost"];
    insta::assert_json_snapshot!("plan_json_cost", cost);
    assert_eq!(cost["before"], "0.00");
    assert_eq!(cost["after"], "176.10");
    assert_eq!(cost["delta"], "176.10");
    assert_eq!(cost["currency"], "EUR");
    assert_eq!(cost["table"], "2025-09");

    // Local kinds: no cost line, no cost key.
    let o = p.run_offline(&["plan", "--json"]);
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert!(v["kapstan"].get("cost").is_none());
    let o = p.run_offline(&["plan"]);
    assert!(!stdout(&o).contains("Cost:"));
}

#[test]
fn the_budget_gate_exits_3_and_does_not_save_the_plan() {
    let p = project();
    let plan = |extra: &[&str]| {
        let mut args = vec![
            "plan",
            "--stack-file",
            "stack.json",
            "--refresh=false",
            "--prices",
            "2025-09",
            "--out",
            "priced.plan",
        ];
        args.extend_from_slice(extra);
        p.run_offline(&args)
    };
    let o = plan(&["--max-monthly-cost", "100"]);
    snap!("plan_over_max_monthly_cost", &p, &o);
    assert_eq!(code(&o), 3);
    assert!(
        !p.path().join("priced.plan").exists(),
        "no plan saved over budget"
    );

    // A budget stored in kapstan.toml, next to what is already there.
    std::fs::write(
        p.path().join("kapstan.toml"),
        "# project settings\n[state]\nbackend = \"local\"\n",
    )
    .unwrap();
    let o = p.run_offline(&[
        "cost",
        "--stack-file",
        "stack.json",
        "--prices",
        "2025-09",
        "--set-budget",
        "150",
        "--alert-threshold",
        "50",
    ]);
    snap!("cost_set_budget_over", &p, &o);
    assert_eq!(code(&o), 3);
    let toml = std::fs::read_to_string(p.path().join("kapstan.toml")).unwrap();
    assert_eq!(
        toml,
        "# project settings\n[state]\nbackend = \"local\"\n\n[budget.priced]\namount = \"150.00\"\nalert_threshold = 50\n"
    );
    let o = plan(&[]);
    assert_eq!(code(&o), 3, "{}", stderr(&o));
    assert!(stderr(&o).contains("kapstan.toml [budget.priced]"));
    assert!(!p.path().join("priced.plan").exists());

    // Within the budget but over the alert threshold: a warning, the plan is saved.
    let o = p.run_offline(&[
        "cost",
        "--stack-file",
        "stack.json",
        "--set-budget",
        "200",
        "--alert-threshold",
        "50",
        "--prices",
        "2025-09",
    ]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let o = plan(&["--detailed-exitcode"]);
    snap!("plan_budget_alert", &p, &o);
    assert_eq!(code(&o), 2);
    assert!(p.path().join("priced.plan").exists());

    // The flag wins over kapstan.toml.
    let o = plan(&["--max-monthly-cost", "1000"]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert!(stderr(&o).is_empty(), "{}", stderr(&o));

    // A bad amount is a usage error.
    let o = plan(&["--max-monthly-cost", "lots"]);
    assert_eq!(code(&o), 1);
    assert!(stderr(&o).contains("--max-monthly-cost \"lots\" is not an amount"));
}

#[test]
fn templates_list_and_lint() {
    let p = project();
    let o = p.run_offline(&["templates", "list"]);
    snap!("templates_list", &p, &o);
    assert_eq!(code(&o), 0);

    let o = p.run_offline(&["templates", "lint"]);
    assert_eq!(code(&o), 0, "{}", stdout(&o));
    assert_eq!(
        stdout(&o),
        "21 template(s) checked: 0 error(s), 0 warning(s).\n"
    );

    // A template broken on purpose: privilege escalation allowed.
    let shipped = kapstan_stacks::templates::shipped_root().join("backend/go-fiber/main.tf");
    let text = std::fs::read_to_string(shipped).unwrap();
    let needle = "allow_privilege_escalation = false";
    let line = text
        .lines()
        .position(|l| l.contains(needle))
        .expect("the template sets allow_privilege_escalation")
        + 1;
    let broken = p.path().join("templates/backend/broken");
    std::fs::create_dir_all(&broken).unwrap();
    std::fs::write(
        broken.join("main.tf"),
        text.replacen(needle, "allow_privilege_escalation = true", 1),
    )
    .unwrap();
    let o = p.run_offline(&["templates", "lint", "--dir", "templates", "broken"]);
    snap!("templates_lint_broken", &p, &o);
    assert_eq!(code(&o), 1);
    assert!(
        stdout(&o).contains(&format!(
            "templates/backend/broken/main.tf:{line}: error[pod-security]"
        )),
        "{}",
        stdout(&o)
    );

    let o = p.run_offline(&["templates", "lint", "no-such-template"]);
    assert_eq!(code(&o), 1);

    // Push goes through the app stack's coder_template resources: a template the stack does
    // not declare is refused before anything is planned.
    let o = p.run_offline(&["templates", "push", "--env", "dev", "no-such-template"]);
    assert_eq!(code(&o), 1);
    assert!(
        stderr(&o).contains("stack `coder-dev-app` does not declare template `no-such-template`"),
        "{}",
        stderr(&o)
    );
}
