//! `kapstan state ...`: inspect, repair, move and back up state.

use std::path::Path;

use chrono::Utc;
use kapstan_state::{
    Sealer, StateDelta, StateError, StoreConfig, decode_document, encode_document,
};

use crate::args::StateCommand;
use crate::commands::inspect::redacted_resource;
use crate::error::CliError;
use kapstan_platform::Project;
use kapstan_platform::project::stack_name;

fn sealer(project: &Project) -> Result<Option<Sealer>, CliError> {
    Ok(project.sealer()?)
}

async fn with_lock<T>(
    project: &Project,
    stack: &str,
    operation: &str,
    f: impl AsyncFnOnce(&dyn kapstan_state::StateStore) -> Result<T, CliError>,
) -> Result<T, CliError> {
    let store = project.store()?;
    let lock = store.lock(stack, operation).await?;
    let result = f(&*store).await;
    store.unlock(stack, &lock).await?;
    result
}

/// Runs a state subcommand.
pub(crate) async fn run(project: &Project, command: &StateCommand) -> Result<i32, CliError> {
    match command {
        StateCommand::List { stack } => {
            let name = stack_name(&stack.source())?;
            if let Some(doc) = project.store()?.load(&name).await? {
                for (addr, r) in &doc.resources {
                    println!("{addr}\t{}\t{}", r.kind, r.id.as_deref().unwrap_or("-"));
                }
            }
            Ok(0)
        }
        StateCommand::Show { address, stack } => {
            let name = stack_name(&stack.source())?;
            let doc = project
                .store()?
                .load(&name)
                .await?
                .ok_or_else(|| StateError::NoState(name.clone()))?;
            let r = doc.resources.get(address).ok_or_else(|| {
                CliError::usage(
                    format!("`{address}` is not in the state of stack `{name}`"),
                    "list recorded addresses with `kapstan state list`",
                )
            })?;
            println!(
                "{}",
                serde_json::to_string_pretty(&redacted_resource(r)).expect("json")
            );
            Ok(0)
        }
        StateCommand::Rm { addresses, stack } => {
            let name = stack_name(&stack.source())?;
            with_lock(project, &name, "state rm", async |store| {
                let doc = store.load(&name).await?.ok_or_else(|| StateError::NoState(name.clone()))?;
                for a in addresses {
                    if !doc.resources.contains_key(a) {
                        return Err(CliError::usage(
                            format!("`{a}` is not in the state of stack `{name}`; nothing was removed"),
                            "list recorded addresses with `kapstan state list`",
                        ));
                    }
                }
                let mut delta = StateDelta::on(&doc, &format!("state rm {}", addresses.join(" ")));
                delta.removals.extend(addresses.iter().cloned());
                let serial = store.commit(&name, delta).await?;
                println!(
                    "Removed {} address(es) from state (serial {serial}); the objects themselves were not deleted.",
                    addresses.len()
                );
                Ok(0)
            })
            .await
        }
        StateCommand::Mv { from, to, stack } => {
            let name = stack_name(&stack.source())?;
            with_lock(project, &name, "state mv", async |store| {
                let doc = store
                    .load(&name)
                    .await?
                    .ok_or_else(|| StateError::NoState(name.clone()))?;
                let Some(res) = doc.resources.get(from).cloned() else {
                    return Err(CliError::usage(
                        format!("`{from}` is not in the state of stack `{name}`"),
                        "list recorded addresses with `kapstan state list`",
                    ));
                };
                if doc.resources.contains_key(to) {
                    return Err(CliError::usage(
                        format!("`{to}` is already in the state of stack `{name}`"),
                        "remove it first with `kapstan state rm`, or choose another address",
                    ));
                }
                let mut delta = StateDelta::on(&doc, &format!("state mv {from} {to}"));
                delta.removals.insert(from.clone());
                delta.upserts.insert(to.clone(), res);
                for (addr, r) in &doc.resources {
                    if addr != from && r.dependencies.contains(from) {
                        let mut r = r.clone();
                        for d in r.dependencies.iter_mut() {
                            if d == from {
                                *d = to.clone();
                            }
                        }
                        delta.upserts.insert(addr.clone(), r);
                    }
                }
                let serial = store.commit(&name, delta).await?;
                println!("Moved {from} to {to} (serial {serial}).");
                Ok(0)
            })
            .await
        }
        StateCommand::Pull { stack } => {
            let name = stack_name(&stack.source())?;
            let doc = project
                .store()?
                .load(&name)
                .await?
                .ok_or_else(|| StateError::NoState(name.clone()))?;
            let bytes = encode_document(&doc, sealer(project)?.as_ref())?;
            println!("{}", String::from_utf8_lossy(&bytes));
            Ok(0)
        }
        StateCommand::Push { file, stack, force } => {
            let name = stack_name(&stack.source())?;
            let bytes = std::fs::read(file).map_err(|source| CliError::Io {
                action: "reading",
                path: file.display().to_string(),
                source,
            })?;
            let sealer = sealer(project)?;
            let incoming =
                decode_document(&name, &file.display().to_string(), &bytes, sealer.as_ref())?;
            if incoming.stack != name {
                return Err(CliError::usage(
                    format!(
                        "{} holds stack `{}`, not `{name}`",
                        file.display(),
                        incoming.stack
                    ),
                    "pass the right --stack",
                ));
            }
            with_lock(project, &name, "state push", async |store| {
                let current = store.load(&name).await?;
                let delta = match &current {
                    Some(cur) => {
                        if cur.lineage != incoming.lineage && !force {
                            return Err(StateError::LineageMismatch {
                                stack: name.clone(),
                                expected: cur.lineage.to_string(),
                                found: incoming.lineage.to_string(),
                            }
                            .into());
                        }
                        if incoming.serial < cur.serial && !force {
                            return Err(CliError::usage(
                                format!("{} has serial {}, older than the stored {}", file.display(), incoming.serial, cur.serial),
                                "pass --force to push an older version on purpose (the current one stays in history)",
                            ));
                        }
                        let mut d = StateDelta::on(cur, "state push");
                        let mut doc = incoming.clone();
                        doc.lineage = cur.lineage;
                        d.replace = Some(Box::new(doc));
                        d
                    }
                    None => {
                        let mut d = StateDelta::on(&incoming, "state push");
                        d.base_serial = 0;
                        d.replace = Some(Box::new(incoming.clone()));
                        d
                    }
                };
                let serial = store.commit(&name, delta).await?;
                println!("Pushed {} to stack `{name}` (serial {serial}).", file.display());
                Ok(0)
            })
            .await
        }
        StateCommand::History { stack } => {
            let name = stack_name(&stack.source())?;
            for h in project.store()?.history(&name).await? {
                println!(
                    "{:>6}  {}  {:<24} {} written, {} removed",
                    h.serial,
                    h.time.format("%Y-%m-%d %H:%M:%S"),
                    h.reason,
                    h.changed,
                    h.removed
                );
            }
            Ok(0)
        }
        StateCommand::Rollback { serial, stack } => {
            let name = stack_name(&stack.source())?;
            with_lock(project, &name, "state rollback", async |store| {
                let current = store.load(&name).await?.ok_or_else(|| StateError::NoState(name.clone()))?;
                let old = store.version(&name, *serial).await?;
                let mut delta = StateDelta::on(&current, &format!("rollback to {serial}"));
                let mut doc = old;
                doc.lineage = current.lineage;
                delta.replace = Some(Box::new(doc));
                let new = store.commit(&name, delta).await?;
                println!(
                    "Stack `{name}` is back to the content of serial {serial}, saved as serial {new}; serial {} stays in history.",
                    current.serial
                );
                Ok(0)
            })
            .await
        }
        StateCommand::Unlock { stack, force } => {
            let name = stack_name(&stack.source())?;
            let store = project.store()?;
            let Some(lock) = store.current_lock(&name).await? else {
                println!("Stack `{name}` is not locked.");
                return Ok(0);
            };
            if !force && !lock.holder_is_gone() && !lock.lease_expired(Utc::now()) {
                return Err(StateError::Locked {
                    stack: name.clone(),
                    holder: Box::new(lock),
                }
                .into());
            }
            store.force_unlock(&name).await?;
            println!(
                "Removed the lock of stack `{name}` held by {} (pid {}, operation `{}`).",
                lock.holder, lock.pid, lock.operation
            );
            Ok(0)
        }
        StateCommand::Bootstrap {
            bucket,
            region,
            endpoint,
            path_style,
            noncurrent_days,
        } => {
            let mut cfg = kapstan_state::S3Config::new(bucket.clone(), region.clone());
            if let Some(e) = endpoint {
                cfg.endpoint = Some(e.clone());
            }
            cfg.path_style = *path_style;
            cfg.validate()?;
            let creds = kapstan_state::S3Credentials::resolve(&cfg, &|n| std::env::var(n).ok())?;
            let report = kapstan_state::bootstrap_bucket(&cfg, &creds, *noncurrent_days).await?;
            println!("{report}");
            println!(
                "\nTo keep state there, set in kapstan.toml:\n\n[state]\nbackend = \"s3\"\nbucket = \"{bucket}\"\nregion = \"{region}\""
            );
            Ok(0)
        }
        StateCommand::Migrate { to, dry_run } => {
            let target_cfg = StoreConfig::parse(to)?;
            let target_cfg = match target_cfg {
                StoreConfig::Local { dir } if dir.is_relative() => StoreConfig::Local {
                    dir: project.dir.join(dir),
                },
                other => other,
            };
            let target = kapstan_state::open_store(&target_cfg)?;
            let source = project.store()?;
            let report = kapstan_state::migrate(&*source, &*target, *dry_run).await?;
            println!("{report}");
            if !dry_run {
                let path = project.dir.join(kapstan_state::CONFIG_FILE);
                kapstan_state::write_state_config(&path, &target_cfg)?;
                println!(
                    "\n{} now points at {}; the source was left untouched.",
                    path.display(),
                    target_cfg
                );
            }
            Ok(0)
        }
        StateCommand::Backup { out } => {
            let dir = out.clone().unwrap_or_else(|| {
                project
                    .dir
                    .join("backups")
                    .join(Utc::now().format("state-%Y%m%dT%H%M%SZ").to_string())
            });
            let manifest =
                kapstan_state::backup(&*project.store()?, &dir, sealer(project)?.as_ref()).await?;
            println!(
                "Backed up {} stack(s) to {}:",
                manifest.stacks.len(),
                dir.display()
            );
            for e in &manifest.stacks {
                println!(
                    "  {}  serial {}  lineage {}  sha256 {}",
                    e.stack, e.serial, e.lineage, e.sha256
                );
            }
            Ok(0)
        }
        StateCommand::Restore { dir, force } => {
            let report = kapstan_state::restore(
                &*project.store()?,
                Path::new(dir),
                sealer(project)?.as_ref(),
                *force,
            )
            .await?;
            println!("{report}");
            Ok(0)
        }
    }
}
