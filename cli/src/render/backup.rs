//! `kapstan backup`: what a backup holds.

use kapstan_platform::backup::BackupResult;

/// The lines `kapstan backup` prints about backup `r` of `env`.
pub(crate) fn summary(env: &str, r: &BackupResult, retention_days: u32) {
    let m = &r.manifest;
    println!("Backed up {} to {}", env, r.dir.display());
    for s in &m.stacks {
        println!("  state     {} (serial {})", s.stack, s.serial);
    }
    println!(
        "  objects   {} Kubernetes object(s){}",
        m.kubernetes_objects.len(),
        if m.kubernetes_missing.is_empty() {
            String::new()
        } else {
            format!(", {} missing from the cluster", m.kubernetes_missing.len())
        }
    );
    if let Some(db) = &m.database_backup {
        println!("  database  RDB backup {} ({})", db.name, db.id);
    }
    println!(
        "  manifest  {} file(s) with sha256 checksums",
        m.files.len()
    );
    for w in &m.warnings {
        eprintln!("warning: {w}");
    }
    for p in &r.pruned {
        println!(
            "Pruned {} (older than {} days)",
            p.display(),
            retention_days
        );
    }
}
