//! The S3 store against real S3 servers (ministack, moto) started on 127.0.0.1 by this test
//! binary: locking, compare-and-swap races, lease takeover, a server killed mid-save,
//! migration, backup and restore, bucket bootstrap, keys, and a store that ignores
//! conditional writes.
//!
//! The servers come from `scripts/test --tools-only` (a Python venv under `.tools/`, or under
//! `$KAPSTAN_TOOLS`), started by [`crate::support::Server`]. Without them these tests fail,
//! saying how to install them.

use std::collections::{BTreeMap, HashMap};
use std::io::Write;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use kapstan_state::{
    KeySource, LocalStore, OutputState, ResourceState, S3Config, S3Credentials, S3Requests,
    S3Store, Sealer, StateDelta, StateDocument, StateError, StateStore, backup, bootstrap_bucket,
    inspect_bucket, migrate, restore,
};
use serde_json::json;

use crate::support::{Server, tool, tool_in};

#[test]
#[should_panic(expected = "run `scripts/test --tools-only`")]
fn missing_servers_fail_with_the_way_to_install_them() {
    let empty = tempfile::tempdir().unwrap();
    tool_in(empty.path(), "ministack");
}

const KEY_A: [u8; 32] = [7; 32];
const KEY_B: [u8; 32] = [9; 32];

fn creds() -> S3Credentials {
    S3Credentials::new("test", "test", "test harness")
}

fn config_for(endpoint: &str, bucket: &str, prefix: &str) -> S3Config {
    let mut cfg = S3Config::new(bucket, "fr-par");
    cfg.endpoint = Some(endpoint.to_string());
    cfg.path_style = true;
    cfg.prefix = prefix.to_string();
    cfg.lease = Duration::from_secs(2);
    cfg.request_timeout = Duration::from_secs(10);
    cfg.max_retries = 1;
    cfg.retry_timeout = Duration::from_secs(3);
    cfg
}

fn open(cfg: &S3Config, key: Option<[u8; 32]>) -> S3Store {
    S3Store::with_credentials(cfg, &creds(), key.map(KeySource::Raw)).unwrap()
}

async fn make_bucket(server: &Server, bucket: &str) -> S3Config {
    let cfg = config_for(&server.endpoint(), bucket, "kapstan");
    bootstrap_bucket(&cfg, &creds(), 90).await.unwrap();
    cfg
}

fn resource(kind: &str, attrs: serde_json::Value) -> ResourceState {
    ResourceState {
        kind: kind.into(),
        id: Some(format!("{kind}-id")),
        config: json!({}),
        attributes: attrs,
        dependencies: vec![],
        status: Default::default(),
        sensitive: Default::default(),
    }
}

fn secret_resource(secret: &str) -> ResourceState {
    let mut r = resource("random_password", json!({"result": secret, "length": 24}));
    r.sensitive.insert("/attributes/result".into());
    r
}

/// Commits a delta on top of the stored document (or a new one).
async fn save(store: &dyn StateStore, stack: &str, f: impl FnOnce(&mut StateDelta)) -> u64 {
    let doc = match store.load(stack).await.unwrap() {
        Some(d) => d,
        None => StateDocument::new(stack),
    };
    let mut delta = StateDelta::on(&doc, "test");
    f(&mut delta);
    store.commit(stack, delta).await.unwrap()
}

/// Three versions: a resource, a secret and an output, then a removal.
async fn three_versions(store: &dyn StateStore, stack: &str) {
    save(store, stack, |d| {
        d.upserts.insert(
            "net".into(),
            resource("vpc", json!({"cidr": "10.0.0.0/16"})),
        );
    })
    .await;
    save(store, stack, |d| {
        d.upserts
            .insert("pw".into(), secret_resource("hunter2-very-secret"));
        d.upserts
            .insert("old".into(), resource("bucket", json!({})));
        d.outputs = Some(BTreeMap::from([(
            "password".to_string(),
            OutputState {
                value: json!("hunter2-very-secret"),
                sensitive: true,
            },
        )]));
    })
    .await;
    save(store, stack, |d| {
        d.removals.insert("old".into());
    })
    .await;
}

// ---------------------------------------------------------------------------------------------
// Locking
// ---------------------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_lockers_exactly_one_proceeds_and_the_other_fails_fast_naming_the_holder() {
    let server = Server::ministack();
    let cfg = make_bucket(&server, "locks").await;
    let a = open(&cfg, Some(KEY_A));
    let b = open(&cfg, Some(KEY_A));

    let (ra, rb) = tokio::join!(a.lock("app", "apply"), b.lock("app", "apply"));
    let (winner, loser, held, err) = match (ra, rb) {
        (Ok(l), Err(e)) => (&a, &b, l, e),
        (Err(e), Ok(l)) => (&b, &a, l, e),
        other => panic!("exactly one locker must proceed: {other:?}"),
    };
    let StateError::Locked { holder, .. } = &err else {
        panic!("expected Locked, got {err}")
    };
    assert_eq!(holder.id, held.id);
    let text = err.to_string();
    assert!(
        text.contains(&held.holder) && text.contains("apply"),
        "{text}"
    );

    let started = Instant::now();
    let again = loser.lock("app", "destroy").await.unwrap_err();
    assert!(matches!(again, StateError::Locked { .. }), "{again}");
    assert!(started.elapsed() < Duration::from_secs(2), "must fail fast");

    assert_eq!(
        loser.current_lock("app").await.unwrap().map(|l| l.id),
        Some(held.id)
    );
    winner.unlock("app", &held).await.unwrap();
    assert_eq!(loser.current_lock("app").await.unwrap(), None);
    let second = loser.lock("app", "apply").await.unwrap();
    let forced = winner.force_unlock("app").await.unwrap().unwrap();
    assert_eq!(forced.id, second.id);
    assert_eq!(winner.current_lock("app").await.unwrap(), None);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_lease_is_renewed_while_held_and_taken_over_only_after_it_runs_out() {
    let server = Server::ministack();
    let cfg = make_bucket(&server, "leases").await;
    let b = open(&cfg, None);

    let a = open(&cfg, None);
    let held = a.lock("app", "apply").await.unwrap();
    assert!(held.expires.is_some());
    // Longer than the 2 s lease: the heartbeat keeps it.
    tokio::time::sleep(Duration::from_millis(3000)).await;
    let err = b.lock("app", "apply").await.unwrap_err();
    assert!(matches!(err, StateError::Locked { .. }), "{err}");
    let renewed = b.current_lock("app").await.unwrap().unwrap();
    assert!(
        renewed.expires.unwrap() > held.expires.unwrap(),
        "lease not renewed"
    );

    // The holder dies without unlocking: its lease runs out, then B takes over.
    drop(a);
    let crashed_at = Instant::now();
    let mut refused = 0;
    let taken = loop {
        match b.lock("app", "apply").await {
            Ok(l) => break l,
            Err(StateError::Locked { holder, .. }) => {
                assert_eq!(holder.id, held.id);
                refused += 1;
            }
            Err(e) => panic!("{e}"),
        }
        assert!(
            crashed_at.elapsed() < Duration::from_secs(10),
            "never taken over"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    assert!(refused > 0, "a live lease must not be taken over");
    assert_eq!(b.current_lock("app").await.unwrap().unwrap().id, taken.id);

    // A holder whose lock is removed underneath it notices, and saves nothing more.
    let c = open(&cfg, None);
    let c_lock = c.lock("other", "apply").await.unwrap();
    save(&c, "other", |d| {
        d.upserts.insert("x".into(), resource("vpc", json!({})));
    })
    .await;
    let removed = b.force_unlock("other").await.unwrap().unwrap();
    assert_eq!(removed.id, c_lock.id);
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let doc = c.load("other").await.unwrap().unwrap();
    let err = c
        .commit("other", StateDelta::on(&doc, "late"))
        .await
        .unwrap_err();
    assert!(matches!(err, StateError::LockLost { .. }), "{err}");
    assert_eq!(c.load("other").await.unwrap().unwrap().serial, 1);
}

// ---------------------------------------------------------------------------------------------
// Compare-and-swap
// ---------------------------------------------------------------------------------------------

async fn cas_race(server: &Server, rounds: u64) {
    let cfg = make_bucket(server, "race").await;
    let writers: Vec<Arc<S3Store>> = (0..16).map(|_| Arc::new(open(&cfg, Some(KEY_A)))).collect();
    save(writers[0].as_ref(), "app", |d| {
        d.upserts
            .insert("base".into(), secret_resource("base-secret"));
    })
    .await;
    for round in 1..=rounds {
        let barrier = Arc::new(tokio::sync::Barrier::new(writers.len()));
        let mut tasks = vec![];
        for (i, w) in writers.iter().enumerate() {
            let w = w.clone();
            let barrier = barrier.clone();
            tasks.push(tokio::spawn(async move {
                let doc = w.load("app").await.unwrap().unwrap();
                let mut delta = StateDelta::on(&doc, &format!("writer {i}"));
                delta.upserts.insert(
                    format!("round{round}"),
                    resource("vpc", json!({"writer": i})),
                );
                barrier.wait().await;
                (i, w.commit("app", delta).await)
            }));
        }
        let mut winners = vec![];
        let mut conflicts = 0;
        for t in tasks {
            match t.await.unwrap() {
                (i, Ok(serial)) => {
                    assert_eq!(serial, round + 1);
                    winners.push(i);
                }
                (
                    _,
                    Err(StateError::Conflict {
                        expected, found, ..
                    }),
                ) => {
                    assert_eq!((expected, found), (round, round + 1));
                    conflicts += 1;
                }
                (_, Err(e)) => panic!("round {round}: unexpected error {e}"),
            }
        }
        assert_eq!(winners.len(), 1, "round {round}: winners {winners:?}");
        assert_eq!(conflicts, 15);
        let doc = writers[3].load("app").await.unwrap().unwrap();
        assert_eq!(doc.serial, round + 1);
        assert_eq!(
            doc.resources[&format!("round{round}")].attributes["writer"],
            json!(winners[0])
        );
        assert_eq!(
            doc.resources["base"].attributes["result"],
            json!("base-secret")
        );
    }
    let history = writers[0].history("app").await.unwrap();
    let serials: Vec<u64> = history.iter().map(|h| h.serial).collect();
    assert_eq!(serials, (1..=rounds + 1).collect::<Vec<_>>());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sixteen_writers_race_exactly_one_wins_each_round_on_ministack() {
    let server = Server::ministack();
    cas_race(&server, 5).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sixteen_writers_race_exactly_one_wins_each_round_on_moto() {
    let server = Server::moto();
    cas_race(&server, 5).await;
}

// ---------------------------------------------------------------------------------------------
// A server killed in the middle of a save
// ---------------------------------------------------------------------------------------------

/// A TCP proxy that, once armed, forwards the headers and part of the body of the first
/// `PUT .../state.json` it sees, then holds the connection and signals; later connections
/// are forwarded as they are.
struct CuttingProxy {
    port: u16,
    armed: Arc<AtomicBool>,
    cut: Arc<tokio::sync::Notify>,
}

impl CuttingProxy {
    async fn start(upstream: u16) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let armed = Arc::new(AtomicBool::new(false));
        let cut = Arc::new(tokio::sync::Notify::new());
        let (a, c) = (armed.clone(), cut.clone());
        tokio::spawn(async move {
            loop {
                let Ok((client, _)) = listener.accept().await else {
                    return;
                };
                let (armed, cut) = (a.clone(), c.clone());
                tokio::spawn(async move {
                    use tokio::io::{AsyncReadExt, AsyncWriteExt};
                    let Ok(server) = tokio::net::TcpStream::connect(("127.0.0.1", upstream)).await
                    else {
                        return; // upstream down: drop the client
                    };
                    let (mut cr, mut cw) = client.into_split();
                    let (mut sr, mut sw) = server.into_split();
                    let down = tokio::spawn(async move {
                        let _ = tokio::io::copy(&mut sr, &mut cw).await;
                    });
                    let mut buf = vec![0u8; 64 * 1024];
                    loop {
                        let n = match cr.read(&mut buf).await {
                            Ok(0) | Err(_) => break,
                            Ok(n) => n,
                        };
                        let chunk = &buf[..n];
                        let text = String::from_utf8_lossy(chunk);
                        if armed.load(Ordering::SeqCst)
                            && text.starts_with("PUT ")
                            && text
                                .lines()
                                .next()
                                .is_some_and(|l| l.contains("state.json"))
                            && let Some(head_end) = text.find("\r\n\r\n")
                        {
                            armed.store(false, Ordering::SeqCst);
                            // Headers and a few bytes of the body, then nothing more.
                            let upto = (head_end + 4 + 100).min(n);
                            let _ = sw.write_all(&chunk[..upto]).await;
                            let _ = sw.flush().await;
                            cut.notify_one();
                            // Hold until the server dies, then drop the client.
                            let _ = down.await;
                            return;
                        }
                        if sw.write_all(chunk).await.is_err() {
                            break;
                        }
                    }
                    down.abort();
                });
            }
        });
        Self { port, armed, cut }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_server_killed_mid_save_leaves_the_previous_version_and_the_next_run_recovers() {
    let data = tempfile::tempdir().unwrap();
    let mut server = Server::ministack_persistent(data.path());
    // ministack reloads persisted buckets without their region, as us-east-1 buckets.
    let region = |mut c: S3Config| {
        c.region = "us-east-1".into();
        c
    };
    let direct = region(config_for(&server.endpoint(), "crash", "kapstan"));
    bootstrap_bucket(&direct, &creds(), 90).await.unwrap();
    let v1 = open(&direct, Some(KEY_A));
    save(&v1, "app", |d| {
        d.upserts
            .insert("pw".into(), secret_resource("first-secret"));
    })
    .await;

    let proxy = CuttingProxy::start(server.port).await;
    let via_proxy = region(config_for(
        &format!("http://127.0.0.1:{}", proxy.port),
        "crash",
        "kapstan",
    ));
    let store = open(&via_proxy, Some(KEY_A));
    let doc = store.load("app").await.unwrap().unwrap();
    assert_eq!(doc.serial, 1);
    // A large save, so that it is cut well inside its body.
    let mut delta = StateDelta::on(&doc, "big apply");
    for i in 0..400 {
        delta.upserts.insert(
            format!("r{i}"),
            resource("blob", json!({"payload": "x".repeat(2000)})),
        );
    }
    proxy.armed.store(true, Ordering::SeqCst);
    let save = tokio::spawn(async move { store.commit("app", delta).await });
    proxy.cut.notified().await;
    server.kill();
    let err = save.await.unwrap().unwrap_err();
    let text = err.to_string();
    eprintln!("error seen by the interrupted save: {text}");
    assert!(matches!(err, StateError::Remote { .. }), "{text}");
    assert!(
        text.contains("previous version") && text.contains("run the command again"),
        "{text}"
    );

    // Restart on the same data: the previous version is intact, and the next run saves.
    let server2 = Server::ministack_persistent(data.path());
    let cfg2 = region(config_for(&server2.endpoint(), "crash", "kapstan"));
    let store2 = open(&cfg2, Some(KEY_A));
    let doc = store2.load("app").await.unwrap().unwrap();
    assert_eq!(doc.serial, 1);
    assert_eq!(doc.resources.len(), 1);
    assert_eq!(
        doc.resources["pw"].attributes["result"],
        json!("first-secret")
    );
    let serial = save_again(&store2).await;
    assert_eq!(serial, 2);
    let serials: Vec<u64> = store2
        .history("app")
        .await
        .unwrap()
        .iter()
        .map(|h| h.serial)
        .collect();
    assert_eq!(serials, vec![1, 2]);
}

async fn save_again(store: &S3Store) -> u64 {
    save(store, "app", |d| {
        d.upserts.insert("after".into(), resource("vpc", json!({})));
    })
    .await
}

// ---------------------------------------------------------------------------------------------
// Keys
// ---------------------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_wrong_key_is_a_clear_error_and_secrets_are_never_saved_without_a_key() {
    let server = Server::ministack();
    let cfg = make_bucket(&server, "keys").await;
    let a = open(&cfg, Some(KEY_A));
    save(&a, "app", |d| {
        d.upserts
            .insert("pw".into(), secret_resource("do-not-leak"));
    })
    .await;
    let raw = String::from_utf8(a.load_raw("app").await.unwrap().unwrap()).unwrap();
    assert!(
        !raw.contains("do-not-leak"),
        "secret stored in clear: {raw}"
    );

    let b = open(&cfg, Some(KEY_B));
    let err = b.load("app").await.unwrap_err();
    assert!(matches!(err, StateError::WrongKey { .. }), "{err}");
    assert!(err.to_string().contains("KAPSTAN_STATE_KEY"), "{err}");

    let none = open(&cfg, None);
    let err = none.load("app").await.unwrap_err();
    assert!(matches!(err, StateError::KeyRequired { .. }), "{err}");
    let mut delta = StateDelta::on(&StateDocument::new("fresh"), "apply");
    delta
        .upserts
        .insert("pw".into(), secret_resource("also-secret"));
    let err = none.commit("fresh", delta).await.unwrap_err();
    assert!(matches!(err, StateError::KeyRequired { .. }), "{err}");
    assert!(none.load("fresh").await.unwrap().is_none());
    // A document without secrets needs no key.
    save(&none, "plain", |d| {
        d.upserts.insert("net".into(), resource("vpc", json!({})));
    })
    .await;
    assert_eq!(none.list_stacks().await.unwrap(), vec!["app", "plain"]);
}

// ---------------------------------------------------------------------------------------------
// Migration, backup and restore
// ---------------------------------------------------------------------------------------------

async fn assert_same_history(a: &dyn StateStore, b: &dyn StateStore, stack: &str) {
    let ha: Vec<u64> = a
        .history(stack)
        .await
        .unwrap()
        .iter()
        .map(|h| h.serial)
        .collect();
    let hb: Vec<u64> = b
        .history(stack)
        .await
        .unwrap()
        .iter()
        .map(|h| h.serial)
        .collect();
    assert_eq!(ha, hb, "history serials of {stack}");
    for serial in ha {
        let va = a.version(stack, serial).await.unwrap();
        let vb = b.version(stack, serial).await.unwrap();
        assert_eq!(va.lineage, vb.lineage);
        assert_eq!(va.serial, vb.serial);
        assert_eq!(va.resources, vb.resources, "{stack} serial {serial}");
        assert_eq!(va.outputs, vb.outputs, "{stack} serial {serial}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn migration_copies_every_stack_with_history_both_ways() {
    let server = Server::ministack();
    let cfg = make_bucket(&server, "migrate").await;
    let dir = tempfile::tempdir().unwrap();
    let local = LocalStore::open(dir.path().join(".kapstan"), Some(KeySource::Raw(KEY_A))).unwrap();
    three_versions(&local, "app").await;
    save(&local, "db", |d| {
        d.upserts
            .insert("pg".into(), resource("rdb", json!({"size": 1})));
    })
    .await;
    let s3 = open(&cfg, Some(KEY_A));

    let dry = migrate(&local, &s3, true).await.unwrap();
    assert!(dry.dry_run);
    assert_eq!(dry.stacks.len(), 2);
    assert_eq!(dry.stacks[0].versions_copied, 3);
    assert!(s3.list_stacks().await.unwrap().is_empty(), "dry run wrote");

    let report = migrate(&local, &s3, false).await.unwrap();
    assert_eq!(report.stacks[0].versions_copied, 3);
    assert_eq!(report.stacks[1].versions_copied, 1);
    assert_eq!(s3.list_stacks().await.unwrap(), vec!["app", "db"]);
    let (l, r) = (
        local.load("app").await.unwrap().unwrap(),
        s3.load("app").await.unwrap().unwrap(),
    );
    assert_eq!((l.lineage, l.serial), (r.lineage, r.serial));
    assert_same_history(&local, &s3, "app").await;
    assert!(report.to_string().contains("left untouched"));
    // The source is untouched and a second run has nothing to do.
    assert_eq!(local.load("app").await.unwrap().unwrap().serial, 3);
    let again = migrate(&local, &s3, false).await.unwrap();
    assert!(again.stacks.iter().all(|s| s.already_present), "{again}");

    // And back, into a fresh local store.
    let back_dir = tempfile::tempdir().unwrap();
    let back = LocalStore::open(
        back_dir.path().join(".kapstan"),
        Some(KeySource::Raw(KEY_A)),
    )
    .unwrap();
    migrate(&s3, &back, false).await.unwrap();
    assert_same_history(&s3, &back, "app").await;
    assert_same_history(&s3, &back, "db").await;
    assert_eq!(
        back.load("app").await.unwrap().unwrap().outputs["password"].value,
        json!("hunter2-very-secret")
    );

    // A target holding another state of the same name stops everything before any write.
    let other = open(
        &config_for(&server.endpoint(), "migrate", "other"),
        Some(KEY_A),
    );
    save(&other, "db", |d| {
        d.upserts.insert("x".into(), resource("vpc", json!({})));
    })
    .await;
    let err = migrate(&local, &other, false).await.unwrap_err();
    assert!(matches!(err, StateError::LineageMismatch { .. }), "{err}");
    assert_eq!(other.list_stacks().await.unwrap(), vec!["db"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn backup_and_restore_round_trip() {
    let server = Server::ministack();
    let cfg = make_bucket(&server, "backup").await;
    let store = open(&cfg, Some(KEY_A));
    three_versions(&store, "app").await;
    save(&store, "db", |d| {
        d.upserts.insert("pg".into(), resource("rdb", json!({})));
    })
    .await;
    let sealer = Sealer::new(&KeySource::Raw(KEY_A)).unwrap();

    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("backup-1");
    let manifest = backup(&store, &out, Some(&sealer)).await.unwrap();
    assert_eq!(manifest.stacks.len(), 2);
    assert_eq!(manifest.stacks[0].serial, 3);
    let file = std::fs::read_to_string(out.join("app.json")).unwrap();
    assert!(
        !file.contains("hunter2-very-secret"),
        "backup holds a clear secret"
    );
    assert!(
        backup(&store, &out, Some(&sealer)).await.is_err(),
        "must not overwrite a backup"
    );

    // Into an empty store.
    let fresh = open(
        &config_for(&server.endpoint(), "backup", "restored"),
        Some(KEY_A),
    );
    let report = restore(&fresh, &out, Some(&sealer), false).await.unwrap();
    assert_eq!(report.stacks.len(), 2);
    let (a, b) = (
        store.load("app").await.unwrap().unwrap(),
        fresh.load("app").await.unwrap().unwrap(),
    );
    assert_eq!(
        (a.lineage, &a.resources, &a.outputs),
        (b.lineage, &b.resources, &b.outputs)
    );

    // Into the original after it moved on: a new version, the replaced one stays in history.
    save(&store, "app", |d| {
        d.upserts.insert("later".into(), resource("vpc", json!({})));
    })
    .await;
    let report = restore(&store, &out, Some(&sealer), false).await.unwrap();
    let app = report.stacks.iter().find(|s| s.stack == "app").unwrap();
    assert_eq!((app.replaced_serial, app.new_serial), (Some(4), 5));
    assert!(
        report
            .stacks
            .iter()
            .find(|s| s.stack == "db")
            .unwrap()
            .unchanged
    );
    let now = store.load("app").await.unwrap().unwrap();
    assert!(!now.resources.contains_key("later"));
    assert!(
        store
            .version("app", 4)
            .await
            .unwrap()
            .resources
            .contains_key("later")
    );

    // Another lineage is refused unless forced.
    let foreign = open(
        &config_for(&server.endpoint(), "backup", "foreign"),
        Some(KEY_A),
    );
    save(&foreign, "app", |d| {
        d.upserts.insert("mine".into(), resource("vpc", json!({})));
    })
    .await;
    let err = restore(&foreign, &out, Some(&sealer), false)
        .await
        .unwrap_err();
    assert!(matches!(err, StateError::LineageMismatch { .. }), "{err}");
    assert!(
        foreign.load("db").await.unwrap().is_none(),
        "nothing written before the refusal"
    );
    let report = restore(&foreign, &out, Some(&sealer), true).await.unwrap();
    assert!(
        report
            .stacks
            .iter()
            .find(|s| s.stack == "app")
            .unwrap()
            .lineage_overridden
    );
    assert!(
        foreign
            .version("app", 1)
            .await
            .unwrap()
            .resources
            .contains_key("mine")
    );

    // A damaged backup is refused, and a wrong key is named.
    let wrong = Sealer::new(&KeySource::Raw(KEY_B)).unwrap();
    let err = restore(&fresh, &out, Some(&wrong), false)
        .await
        .unwrap_err();
    assert!(matches!(err, StateError::WrongKey { .. }), "{err}");
    std::fs::write(out.join("db.json"), b"{}").unwrap();
    let err = restore(&fresh, &out, Some(&sealer), false)
        .await
        .unwrap_err();
    assert!(err.to_string().contains("sha256"), "{err}");
}

// ---------------------------------------------------------------------------------------------
// Bootstrap
// ---------------------------------------------------------------------------------------------

/// Reads versioning and lifecycle back with boto3, independently of kapstan's own client.
fn boto3_read_back(server: &Server, bucket: &str) -> serde_json::Value {
    let script = r#"
import json, sys, boto3
from botocore.config import Config
s3 = boto3.client("s3", endpoint_url=sys.argv[1], region_name="fr-par",
                  aws_access_key_id="test", aws_secret_access_key="test",
                  config=Config(s3={"addressing_style": "path"}, retries={"max_attempts": 1}))
v = s3.get_bucket_versioning(Bucket=sys.argv[2])
l = s3.get_bucket_lifecycle_configuration(Bucket=sys.argv[2])
print(json.dumps({"versioning": v.get("Status"), "rules": l.get("Rules", [])}, default=str))
"#;
    let out = Command::new(tool("python"))
        .args(["-c", script, &server.endpoint(), bucket])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "boto3: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn bootstrap_creates_versions_and_sets_lifecycle_once() {
    let server = Server::ministack();
    let cfg = config_for(&server.endpoint(), "team-state", "");
    assert!(!inspect_bucket(&cfg, &creds()).await.unwrap().exists);

    let first = bootstrap_bucket(&cfg, &creds(), 30).await.unwrap();
    assert!(
        first.created && first.versioning_enabled && first.lifecycle_set,
        "{first}"
    );
    let second = bootstrap_bucket(&cfg, &creds(), 30).await.unwrap();
    assert!(!second.changed(), "second run changed something: {second}");
    assert!(second.to_string().contains("nothing to do"), "{second}");

    let status = inspect_bucket(&cfg, &creds()).await.unwrap();
    assert_eq!(status.versioning.as_deref(), Some("Enabled"));
    assert_eq!(status.noncurrent_days, Some(30));
    let seen = boto3_read_back(&server, "team-state");
    assert_eq!(seen["versioning"], json!("Enabled"));
    let rules = seen["rules"].as_array().unwrap();
    assert_eq!(rules.len(), 1, "{seen}");
    assert_eq!(
        rules[0]["NoncurrentVersionExpiration"]["NoncurrentDays"],
        json!(30)
    );
    assert!(
        rules[0].get("Expiration").is_none(),
        "current versions must never expire: {seen}"
    );
    assert_eq!(
        rules[0]["AbortIncompleteMultipartUpload"]["DaysAfterInitiation"],
        json!(kapstan_state::ABORT_MULTIPART_DAYS)
    );

    // A change of retention rewrites only kapstan's rule.
    let third = bootstrap_bucket(&cfg, &creds(), 90).await.unwrap();
    assert!(!third.created && !third.versioning_enabled && third.lifecycle_set);
    assert_eq!(
        inspect_bucket(&cfg, &creds())
            .await
            .unwrap()
            .noncurrent_days,
        Some(90)
    );
}

// ---------------------------------------------------------------------------------------------
// A store that ignores conditional writes
// ---------------------------------------------------------------------------------------------

/// A tiny S3 double that stores objects but ignores If-None-Match and If-Match.
async fn careless_s3() -> (u16, tokio::task::JoinHandle<()>) {
    use axum::body::Bytes;
    use axum::extract::State;
    use axum::http::{Method, StatusCode, Uri, header};
    use axum::response::{IntoResponse, Response};

    type Objects = Arc<Mutex<HashMap<String, (Bytes, String)>>>;
    static COUNTER: AtomicU64 = AtomicU64::new(1);

    async fn handle(
        State(objects): State<Objects>,
        method: Method,
        uri: Uri,
        body: Bytes,
    ) -> Response {
        let key = uri.path().to_string();
        let mut objects = objects.lock().unwrap();
        match method {
            Method::PUT => {
                let etag = format!("\"{:032x}\"", COUNTER.fetch_add(1, Ordering::SeqCst));
                objects.insert(key, (body, etag.clone()));
                (StatusCode::OK, [(header::ETAG, etag)]).into_response()
            }
            Method::GET | Method::HEAD => match objects.get(&key) {
                Some((body, etag)) => (
                    StatusCode::OK,
                    [
                        (header::ETAG, etag.clone()),
                        (
                            header::LAST_MODIFIED,
                            "Wed, 25 Nov 2026 10:00:00 GMT".to_string(),
                        ),
                    ],
                    body.clone(),
                )
                    .into_response(),
                None => (
                    StatusCode::NOT_FOUND,
                    "<Error><Code>NoSuchKey</Code><Message>not found</Message></Error>",
                )
                    .into_response(),
            },
            Method::DELETE => {
                objects.remove(&key);
                StatusCode::NO_CONTENT.into_response()
            }
            _ => StatusCode::NOT_IMPLEMENTED.into_response(),
        }
    }

    let objects: Objects = Arc::default();
    let app = axum::Router::new().fallback(handle).with_state(objects);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let task = tokio::spawn(async move {
        axum::serve(listener, app).await.unwrap();
    });
    (port, task)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_store_that_ignores_conditional_writes_is_refused_by_the_self_test() {
    let (port, server) = careless_s3().await;
    let endpoint = format!("http://127.0.0.1:{port}");
    let cfg = config_for(&endpoint, "careless", "kapstan");
    let store = open(&cfg, None);
    assert!(matches!(
        store.self_test().await.unwrap(),
        kapstan_state::SelfTest::NotEnforced(_)
    ));
    let err = store.lock("app", "apply").await.unwrap_err();
    assert!(matches!(err, StateError::UnsafeStore { .. }), "{err}");
    let text = err.to_string();
    assert!(
        text.contains("does not enforce conditional writes") && text.contains("lock = false"),
        "{text}"
    );
    let err = store
        .commit("app", StateDelta::on(&StateDocument::new("app"), "apply"))
        .await
        .unwrap_err();
    assert!(matches!(err, StateError::UnsafeStore { .. }), "{err}");

    // `lock = false` is the explicit escape.
    let mut unlocked = cfg.clone();
    unlocked.lock = false;
    let store = open(&unlocked, None);
    let lock = store.lock("app", "apply").await.unwrap();
    save(&store, "app", |d| {
        d.upserts.insert("net".into(), resource("vpc", json!({})));
    })
    .await;
    assert_eq!(store.load("app").await.unwrap().unwrap().serial, 1);
    store.unlock("app", &lock).await.unwrap();

    // A real server passes the same self-test.
    let real = Server::ministack();
    let good = open(&make_bucket(&real, "careful").await, None);
    assert_eq!(
        good.self_test().await.unwrap(),
        kapstan_state::SelfTest::Enforced
    );
    server.abort();
}

// ---------------------------------------------------------------------------------------------
// Configuration to store
// ---------------------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_kapstan_state_url_opens_a_working_store() {
    use base64::Engine as _;
    let server = Server::ministack();
    make_bucket(&server, "from-url").await;
    let project = tempfile::tempdir().unwrap();
    std::fs::write(
        project.path().join("kapstan.toml"),
        "[state]\nbackend = \"local\"\n",
    )
    .unwrap();
    let vars: HashMap<String, String> = HashMap::from([
        (
            "KAPSTAN_STATE".to_string(),
            format!(
                "s3://from-url/team/kapstan?region=fr-par&endpoint={}&path_style=true",
                server.endpoint()
            ),
        ),
        ("AWS_ACCESS_KEY_ID".to_string(), "test".to_string()),
        ("AWS_SECRET_ACCESS_KEY".to_string(), "test".to_string()),
        (
            "KAPSTAN_STATE_KEY".to_string(),
            base64::engine::general_purpose::STANDARD.encode(KEY_A),
        ),
    ]);
    let env = |k: &str| vars.get(k).cloned();
    let cfg = kapstan_state::StoreConfig::resolve(project.path(), None, &env).unwrap();
    let store = kapstan_state::open_store_with_env(&cfg, &env).unwrap();
    assert_eq!(store.location(), "s3://from-url/team/kapstan");
    save(store.as_ref(), "app", |d| {
        d.upserts.insert("pw".into(), secret_resource("via-url"));
    })
    .await;
    let direct = open(
        &config_for(&server.endpoint(), "from-url", "team/kapstan"),
        Some(KEY_A),
    );
    assert_eq!(
        direct.load("app").await.unwrap().unwrap().resources["pw"].attributes["result"],
        json!("via-url")
    );
    // `--state local` wins over the variable.
    let local = kapstan_state::StoreConfig::resolve(project.path(), Some("local"), &env).unwrap();
    assert_eq!(
        local,
        kapstan_state::StoreConfig::Local {
            dir: project.path().join(".kapstan")
        }
    );
}

// ---------------------------------------------------------------------------------------------
// The request signer, checked by botocore
// ---------------------------------------------------------------------------------------------

/// The signature botocore computes for the request kapstan signed (same method, URL, headers
/// and time): an independent SigV4 implementation, since ministack and moto do not check
/// signatures.
fn botocore_signature(
    method: &str,
    url: &str,
    headers: &BTreeMap<String, String>,
    body: &[u8],
) -> String {
    let script = r#"
import json, sys
from botocore.auth import S3SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
headers = json.loads(sys.argv[3])
body = sys.stdin.buffer.read()
request = AWSRequest(method=sys.argv[1], url=sys.argv[2], data=body, headers=headers)
request.context["timestamp"] = headers["x-amz-date"]
auth = S3SigV4Auth(Credentials("SCWEXAMPLEKEY", "a/secret+key"), "s3", "fr-par")
print(auth.signature(auth.string_to_sign(request, auth.canonical_request(request)), request))
"#;
    let mut child = Command::new(tool("python"))
        .args(["-c", script, method, url, &json!(headers).to_string()])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(body).unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "botocore: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap().trim().to_string()
}

#[test]
fn bucket_requests_carry_the_signature_botocore_computes() {
    let requests = S3Requests::new(
        reqwest::Client::new(),
        "SCWEXAMPLEKEY",
        "a/secret+key",
        "fr-par",
    );
    let lifecycle = b"<LifecycleConfiguration><Rule><ID>x</ID></Rule></LifecycleConfiguration>";
    let cases: [(&str, &str, Option<&[u8]>); 4] = [
        ("HEAD", "https://team-state.s3.fr-par.scw.cloud/", None),
        ("GET", "http://127.0.0.1:9000/team-state?versioning", None),
        (
            "PUT",
            "http://127.0.0.1:9000/team-state?lifecycle",
            Some(lifecycle),
        ),
        (
            "DELETE",
            "http://127.0.0.1:9000/team-state/dir/a%20b%2Bc?versionId=v%2B1",
            None,
        ),
    ];
    for (method, url, body) in cases {
        let parsed = url::Url::parse(url).unwrap();
        let signed = requests
            .sign(
                reqwest::Method::from_bytes(method.as_bytes()).unwrap(),
                &parsed,
                body.map(<[u8]>::to_vec),
            )
            .unwrap();
        let mut headers = BTreeMap::new();
        let mut authorization = String::new();
        for (name, value) in signed.headers() {
            let value = value.to_str().unwrap().to_string();
            if name == "authorization" {
                authorization = value;
            } else {
                headers.insert(name.to_string(), value);
            }
        }
        let expected = botocore_signature(method, url, &headers, body.unwrap_or_default());
        assert!(
            authorization.ends_with(&format!("Signature={expected}")),
            "{method} {url}: kapstan signed `{authorization}`, botocore computes {expected}"
        );
    }
}
