//! Safe Coder upgrades in the sandbox, as a user runs them: `kapstan upgrade --coder` plans
//! from → to with the release notes, makes and waits for a database backup through the RDB API
//! before the release changes (its id printed and recorded), then checks health; going back to
//! the older version is refused before anything runs, naming the backup; `kapstan restore
//! --database` restores that backup with the state of the previous version.

use crate::support::{Project, text};

/// A project whose dev environment pins Coder `version` and pushes one template.
fn project(version: &str) -> Project {
    let p = Project::new();
    set_version(&p, version);
    p
}

fn set_version(p: &Project, version: &str) {
    p.write(
        "environments/dev.toml",
        &format!("[coder]\nversion = \"{version}\"\n\n[templates]\ninclude = [\"go-fiber\"]\n"),
    );
}

#[test]
fn upgrade_backs_up_first_a_downgrade_is_refused_and_restore_rolls_back() {
    let p = project("2.20.3");
    let o = p.run(&["up", "--env", "dev", "--sandbox", "--auto-approve"]);
    let up = text(&o);
    assert!(o.status.success(), "{up}");
    assert!(
        up.contains("Coder 2.20.3: 3 built-in provisioner daemon(s) per replica"),
        "the plan shows the provisioners: {up}"
    );
    assert!(
        !up.contains("Coder upgrade:"),
        "a first install is no upgrade: {up}"
    );

    let o = p.run_line("upgrade --env dev --coder 2.21.1 --sandbox --auto-approve");
    let upgrade = text(&o);
    assert!(o.status.success(), "{upgrade}");
    assert!(
        upgrade.contains(
            "Coder upgrade: 2.20.3 → 2.21.1 (release notes: https://github.com/coder/coder/releases/tag/v2.21.1)"
        ),
        "{upgrade}"
    );
    let backup_line = upgrade
        .lines()
        .find(|l| l.starts_with("Backup before the upgrade: "))
        .unwrap_or_else(|| panic!("the backup is printed: {upgrade}"));
    let apply_at = upgrade.find("Apply complete!").expect("applied");
    assert!(
        upgrade.find("Backup before the upgrade").unwrap() < apply_at,
        "the backup comes before the release: {upgrade}"
    );
    assert!(
        upgrade.contains("Coder 2.21.1 is healthy (upgraded from 2.20.3)."),
        "{upgrade}"
    );
    assert!(
        upgrade.contains("Set [coder] version = \"2.21.1\""),
        "{upgrade}"
    );
    let records: serde_json::Value = serde_json::from_slice(
        &std::fs::read(p.dir.path().join(".kapstan/upgrades/dev.json")).unwrap(),
    )
    .unwrap();
    let record = &records[0];
    assert_eq!(
        (record["from"].as_str(), record["to"].as_str()),
        (Some("2.20.3"), Some("2.21.1"))
    );
    let backup_dir = record["backup_dir"].as_str().unwrap().to_string();
    let db_backup = record["database_backup_id"].as_str().unwrap().to_string();
    assert!(
        backup_line.contains(&backup_dir) && backup_line.contains(&db_backup),
        "{backup_line}"
    );
    let manifest: serde_json::Value = serde_json::from_slice(
        &std::fs::read(p.dir.path().join(&backup_dir).join("manifest.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(manifest["database_backup"]["id"], db_backup.as_str());
    assert_eq!(manifest["database_backup"]["status"], "ready");

    // The file still says 2.20.3: `up` would downgrade, so it refuses before anything runs.
    let o = p.run(&["up", "--env", "dev", "--sandbox", "--auto-approve"]);
    // miette wraps the report: compare words.
    let refused = text(&o)
        .split_whitespace()
        .filter(|w| *w != "│")
        .collect::<Vec<_>>()
        .join(" ");
    assert_eq!(o.status.code(), Some(1), "{refused}");
    assert!(
        refused.contains("Coder 2.21.1 → 2.20.3 is a downgrade"),
        "{refused}"
    );
    assert!(
        refused.contains(&format!("--from {backup_dir} --database")),
        "names the backup to restore: {refused}"
    );
    assert!(
        !refused.contains("=== Stack"),
        "nothing was planned: {refused}"
    );

    // The documented rollback: the backup's state and its database backup.
    let o = p.run(&[
        "restore",
        "--env",
        "dev",
        "--from",
        &backup_dir,
        "--database",
        "--sandbox",
    ]);
    let restored = text(&o);
    assert!(o.status.success(), "{restored}");
    assert!(
        restored.contains(&format!("database backup {db_backup} restored")),
        "{restored}"
    );
    // The state is the previous version's again: 2.20.3 is no downgrade any more.
    let o = p.run(&["up", "--env", "dev", "--sandbox", "--dry-run"]);
    let after = text(&o);
    assert!(o.status.success(), "{after}");
    assert!(!after.contains("downgrade"), "{after}");
}
