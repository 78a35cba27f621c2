//! Safe Coder upgrades in the sandbox, as a user runs them: `kapstan upgrade --coder` plans
//! from → to with the release notes, makes and waits for a database backup through the RDB API
//! before the release changes (its id printed and recorded), then checks health; going back to
//! the older version is refused before anything runs, naming the backup; `kapstan restore
//! --database` restores that backup with the state of the previous version. An upgrade whose
//! new Coder never becomes ready stops with the backup and the rollback, which works.

use crate::support::{Project, flat, text};

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
    restore_database(&p, &backup_dir, &db_backup);
    // The state is the previous version's again: 2.20.3 is no downgrade any more.
    let o = p.run(&["up", "--env", "dev", "--sandbox", "--dry-run"]);
    let after = text(&o);
    assert!(o.status.success(), "{after}");
    assert!(!after.contains("downgrade"), "{after}");
}

/// `kapstan upgrade --env dev --coder VERSION --sandbox --auto-approve`, with the sandbox's Coder
/// crashing at start for the versions `crashing` names (`KAPSTAN_SANDBOX_CODER_CRASH`).
fn upgrade(p: &Project, version: &str, crashing: &str) -> std::process::Output {
    p.cmd(&[
        "upgrade",
        "--env",
        "dev",
        "--coder",
        version,
        "--sandbox",
        "--auto-approve",
    ])
    .env("KAPSTAN_SANDBOX_CODER_CRASH", crashing)
    .output()
    .unwrap()
}

/// The upgrade's record in `.kapstan/upgrades/dev.json`: (backup directory, database backup).
fn recorded_backup(p: &Project) -> (String, String) {
    let records: serde_json::Value = serde_json::from_slice(
        &std::fs::read(p.dir.path().join(".kapstan/upgrades/dev.json")).unwrap(),
    )
    .unwrap();
    let record = records.as_array().and_then(|r| r.last()).unwrap();
    (
        record["backup_dir"].as_str().unwrap().to_string(),
        record["database_backup_id"].as_str().unwrap().to_string(),
    )
}

#[test]
fn an_upgrade_whose_coder_never_becomes_ready_stops_with_the_backup_and_the_rollback_works() {
    let p = project("2.20.3");
    let o = p.run(&["up", "--env", "dev", "--sandbox", "--auto-approve"]);
    assert!(o.status.success(), "{}", text(&o));

    // Coder 2.21.1 exits at start in this sandbox, as a Coder whose database migration fails
    // does: its pods crash-loop until the Deployment's progress deadline.
    let o = upgrade(&p, "2.21.1", "2.21.1");
    let failed = flat(&o);
    assert_eq!(o.status.code(), Some(1), "{failed}");
    // miette breaks long words at `-` and `/`: compare without spaces.
    let squeezed = failed.replace(' ', "");
    let has = |needle: &str| squeezed.contains(&needle.replace(' ', ""));
    let (backup_dir, db_backup) = recorded_backup(&p);
    assert!(
        failed.contains("Backup before the upgrade: "),
        "the backup was made first: {failed}"
    );
    assert!(
        failed.contains("Coder 2.21.1 is not healthy after the upgrade from 2.20.3"),
        "{failed}"
    );
    assert!(
        has(
            "coder (update) failed: release coder: apps/v1/Deployment coder/coder exceeded its progress deadline"
        ) && has("CrashLoopBackOff"),
        "the cause is named: {failed}"
    );
    assert!(
        has(&format!(
            "The backup made before the upgrade is {backup_dir} (database backup {db_backup})"
        )),
        "names the backup: {failed}"
    );
    assert!(
        has(&format!(
            "kapstan restore --env dev --from {backup_dir} --database"
        )) && has("[coder] version = \"2.20.3\""),
        "names the rollback: {failed}"
    );
    assert!(
        !failed.contains("is healthy (upgraded from"),
        "no success is claimed: {failed}"
    );
    let manifest: serde_json::Value = serde_json::from_slice(
        &std::fs::read(p.dir.path().join(&backup_dir).join("manifest.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(manifest["database_backup"]["id"], db_backup.as_str());
    assert_eq!(manifest["database_backup"]["status"], "ready");

    // The documented rollback: the backup's state and database, then the previous version.
    restore_database(&p, &backup_dir, &db_backup);
    let o = p
        .cmd(&["up", "--env", "dev", "--sandbox", "--auto-approve"])
        .env("KAPSTAN_SANDBOX_CODER_CRASH", "2.21.1")
        .output()
        .unwrap();
    let rolled_back = text(&o);
    assert!(o.status.success(), "{rolled_back}");
    assert!(!rolled_back.contains("downgrade"), "{rolled_back}");
    let o = p.run(&["health", "--env", "dev", "--sandbox", "--quick"]);
    let health = flat(&o);
    assert!(o.status.success(), "{health}");
    assert!(
        health.contains("2.20.3"),
        "Coder 2.20.3 serves again: {health}"
    );
}

#[test]
fn a_failed_database_restore_leaves_the_state_as_it_was_and_names_the_backup() {
    let p = project("2.20.3");
    let o = p.run(&["up", "--env", "dev", "--sandbox", "--auto-approve"]);
    assert!(o.status.success(), "{}", text(&o));
    let o = upgrade(&p, "2.21.1", "");
    assert!(o.status.success(), "{}", text(&o));
    let (backup_dir, db_backup) = recorded_backup(&p);

    // The RDB backup is deleted outside kapstan (its retention ran out, someone removed it in
    // the console): the database cannot be restored from it any more.
    let served = p.serve_recorded("20");
    let url = served.url.clone();
    let id = db_backup.clone();
    tokio::runtime::Runtime::new()
        .unwrap()
        .block_on(async move {
            let r = reqwest::Client::new()
                .delete(format!("{url}/rdb/v1/regions/fr-par/backups/{id}"))
                .header("X-Auth-Token", kapstan_sandbox::DEFAULT_SECRET_KEY)
                .send()
                .await
                .unwrap();
            assert!(r.status().is_success(), "{}", r.status());
            // Gone once `deleting` is over.
            for _ in 0..100 {
                let r = reqwest::Client::new()
                    .get(format!("{url}/rdb/v1/regions/fr-par/backups/{id}"))
                    .header("X-Auth-Token", kapstan_sandbox::DEFAULT_SECRET_KEY)
                    .send()
                    .await
                    .unwrap();
                if r.status() == reqwest::StatusCode::NOT_FOUND {
                    return;
                }
                tokio::time::sleep(std::time::Duration::from_millis(100)).await;
            }
            panic!("backup {id} was not deleted");
        });
    drop(served);

    let o = p.run(&[
        "restore",
        "--env",
        "dev",
        "--from",
        &backup_dir,
        "--database",
        "--sandbox",
    ]);
    let failed = flat(&o);
    assert_eq!(o.status.code(), Some(1), "{failed}");
    let squeezed = failed.replace(' ', "");
    assert!(
        squeezed.contains(&format!("databaserestoreofbackup{db_backup}")),
        "names the backup: {failed}"
    );
    assert!(
        failed.contains("the state was not changed"),
        "says what was left: {failed}"
    );
    assert!(
        !failed.contains("restored"),
        "nothing claims to be restored: {failed}"
    );
    // The state still records 2.21.1: going back to 2.20.3 is still a downgrade.
    let o = p.run(&["up", "--env", "dev", "--sandbox", "--dry-run"]);
    let after = flat(&o);
    assert_eq!(o.status.code(), Some(1), "{after}");
    assert!(
        after.contains("Coder 2.21.1 → 2.20.3 is a downgrade"),
        "the state was left as it was: {after}"
    );
}

/// The documented rollback's first step: `restore --database` of `backup_dir` succeeds and
/// says the database backup `db_backup` was restored.
fn restore_database(p: &Project, backup_dir: &str, db_backup: &str) {
    let o = p.run(&[
        "restore",
        "--env",
        "dev",
        "--from",
        backup_dir,
        "--database",
        "--sandbox",
    ]);
    let restored = text(&o);
    assert!(o.status.success(), "{restored}");
    assert!(
        restored.contains(&format!("database backup {db_backup} restored")),
        "{restored}"
    );
}
