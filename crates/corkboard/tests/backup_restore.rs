//! Backups of a live server, restored into a fresh one: `corkboard backup`
//! (SQLite's online backup API) and `pg_dump`/`pg_restore` (PostgreSQL),
//! each run as a separate process while writers keep writing over REST and
//! WebSocket. Every write acknowledged before the backup began is in the
//! restored server, and each board's log there is 1..=N with no gap, event
//! for event the original's. Also: what `restore` refuses (a running
//! server, a second server on the same data, garbage and corrupt files).

#[path = "common/chaos.rs"]
mod chaos;
mod common;

use std::path::Path;
use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chaos::Door;
use common::node::{self, Node};
use common::ws::Ws;
use common::{Client, TestServer};
use corkboard::store::postgres::testing::{self, TestDatabase};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::json;

/// Longest a `corkboard backup`/`restore` or `pg_dump`/`pg_restore` may take here.
const TOOL_LIMIT: Duration = Duration::from_secs(120);

/// Writers per board: half over REST, half over WebSocket RPCs.
const WRITERS_PER_BOARD: usize = 4;

/// Acknowledged writes wanted before the backup starts, and after it ends.
const BEFORE: usize = 600;
const AFTER: usize = 100;

/// One acknowledged write: board index, its seq, when the answer came.
#[derive(Clone, Copy, Debug)]
struct Ack {
    board: usize,
    seq: u64,
    at: Instant,
}

/// Writers running random mutations on every board until stopped.
struct Load {
    acks: Arc<Mutex<Vec<Ack>>>,
    stop: Arc<AtomicBool>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

impl Load {
    /// Writer `w` of each board talks through `clients[w % len]` (one per node).
    async fn start(clients: &[Client], boards: &[String], seed: u64) -> Load {
        let acks = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let mut rng = StdRng::seed_from_u64(seed);
        let mut tasks = Vec::new();
        for (bi, board) in boards.iter().enumerate() {
            let known = Arc::new(Mutex::new(Vec::new()));
            for w in 0..WRITERS_PER_BOARD {
                let client = &clients[w % clients.len()];
                let mut door = if (w / clients.len()).is_multiple_of(2) {
                    Door::Rest(client.clone())
                } else {
                    Door::Rpc(Box::new(Ws::connect(client).await))
                };
                let mut wrng = StdRng::seed_from_u64(rng.random());
                let (acks, stop, known, board) =
                    (acks.clone(), stop.clone(), known.clone(), board.clone());
                tasks.push(tokio::spawn(async move {
                    // Bounded: a writer stops after 20 000 writes whatever happens.
                    for _ in 0..20_000 {
                        if stop.load(Ordering::Relaxed) {
                            break;
                        }
                        let m = chaos::mutation(&mut wrng, &known);
                        if let Ok((seq, created)) = chaos::apply(&mut door, &board, &m).await {
                            let at = Instant::now();
                            acks.lock().unwrap().push(Ack { board: bi, seq, at });
                            if let Some(id) = created {
                                known.lock().unwrap().push(id);
                            }
                        }
                    }
                }));
            }
        }
        Load { acks, stop, tasks }
    }

    fn count(&self, since: Option<Instant>) -> usize {
        let acks = self.acks.lock().unwrap();
        acks.iter()
            .filter(|a| since.is_none_or(|s| a.at > s))
            .count()
    }

    /// Waits (at most 60 s) until `n` writes were acknowledged after `since`.
    async fn wait_for(&self, n: usize, since: Option<Instant>) {
        let deadline = Instant::now() + Duration::from_secs(60);
        while self.count(since) < n {
            assert!(
                Instant::now() < deadline,
                "writers stalled at {}",
                self.count(since)
            );
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    async fn finish(self) -> Vec<Ack> {
        self.stop.store(true, Ordering::Relaxed);
        for t in self.tasks {
            t.await.expect("writer");
        }
        Arc::try_unwrap(self.acks).unwrap().into_inner().unwrap()
    }
}

/// What the comparison found, for the figures printed.
struct Compared {
    restored_events: usize,
    original_events: usize,
}

/// The restored server against the original (both running): each board's
/// log is 1..=N, each event the original's at that seq, and N covers every
/// write acknowledged before `began`.
async fn compare(
    original: &Client,
    restored: &Client,
    boards: &[String],
    acks: &[Ack],
    began: Instant,
) -> Compared {
    let mut c = Compared {
        restored_events: 0,
        original_events: 0,
    };
    for (bi, b) in boards.iter().enumerate() {
        let (orig, orig_head) = original.all_events(b).await;
        let (got, head) = restored.all_events(b).await;
        let seqs: Vec<u64> = got.iter().map(|e| e["seq"].as_u64().unwrap()).collect();
        let n = seqs.len() as u64;
        assert_eq!(
            seqs,
            (1..=n).collect::<Vec<_>>(),
            "board {b}: the log has a hole"
        );
        assert_eq!(head, n, "board {b}: its seq is not its last event");
        assert!(n <= orig_head, "board {b}: more events than the original");
        assert_eq!(got[..], orig[..got.len()], "board {b}: events differ");
        let needed = acks
            .iter()
            .filter(|a| a.board == bi && a.at < began)
            .map(|a| a.seq)
            .max()
            .unwrap_or(0);
        assert!(
            n >= needed,
            "board {b}: write seq {needed} was acknowledged before the backup began, restored log ends at {n}"
        );
        c.restored_events += got.len();
        c.original_events += orig.len();
    }
    c
}

/// A user with two boards on the server at `base`.
async fn owner_and_boards(base: &str) -> (Client, Vec<String>) {
    let ann = TestServer::anon_at(base).signup("ann").await;
    let boards = vec![ann.board("one").await, ann.board("two").await];
    (ann, boards)
}

/// `client` talking to another server (same session: it is in the restored data).
fn at(client: &Client, base: &str) -> Client {
    Client {
        base: base.to_owned(),
        ..client.clone()
    }
}

fn path_arg(p: &Path) -> &str {
    p.to_str().expect("utf-8 temp path")
}

/// SQLite: `corkboard backup` mid-stream, `corkboard restore` into a fresh
/// data directory, a server there has every write acknowledged before the
/// backup began and a gapless log per board.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_backup_mid_stream_restores_every_acknowledged_write() {
    let seed = common::seed::seed("sqlite_backup_mid_stream_restores_every_acknowledged_write");
    let (live, fresh, out) = (tempdir(), tempdir(), tempdir());
    let a = Node::start(["--data", path_arg(live.path())]).await;
    let (ann, boards) = owner_and_boards(&a.base).await;
    let load = Load::start(std::slice::from_ref(&ann), &boards, seed).await;
    load.wait_for(BEFORE, None).await;

    let file = out.path().join("corkboard-backup.db");
    let began = Instant::now();
    let args = [
        "backup",
        "--to",
        path_arg(&file),
        "--data",
        path_arg(live.path()),
    ]
    .map(str::to_owned);
    let backup = tokio::task::spawn_blocking(move || node::run(args, TOOL_LIMIT))
        .await
        .unwrap();
    let ended = Instant::now();
    let stdout = String::from_utf8_lossy(&backup.stdout);
    assert!(
        backup.status.success(),
        "backup failed: {}",
        String::from_utf8_lossy(&backup.stderr)
    );
    assert!(
        stdout.contains("backed up") && stdout.contains("events"),
        "{stdout}"
    );
    let during = load.count(Some(began)) - load.count(Some(ended));
    load.wait_for(AFTER, Some(ended)).await;
    let acks = load.finish().await;
    // Writers were answered while the backup ran: it did not stop them.
    assert!(
        during > 0,
        "no write was acknowledged during the backup ({:?})",
        ended - began
    );
    assert!(
        !out.path().join("corkboard-backup.db-wal").exists(),
        "the backup is one file"
    );

    let r = node::run(
        [
            "restore",
            "--from",
            path_arg(&file),
            "--data",
            path_arg(fresh.path()),
        ],
        TOOL_LIMIT,
    );
    assert!(r.status.success(), "{}", String::from_utf8_lossy(&r.stderr));
    let b = Node::start(["--data", path_arg(fresh.path())]).await;
    let c = compare(&ann, &at(&ann, &b.base), &boards, &acks, began).await;
    println!(
        "{} writes acknowledged ({} while `corkboard backup` ran for {:?}); backup: {}; \
         restored {} of the original's {} events",
        acks.len(),
        during,
        ended - began,
        stdout.trim(),
        c.restored_events,
        c.original_events
    );
}

/// What `restore` refuses, and that a refusal leaves the data as it was; a
/// good restore keeps the replaced database unless `--discard-old`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn restore_refuses_a_running_server_and_bad_files() {
    let (data, out) = (tempdir(), tempdir());
    let d = path_arg(data.path()).to_owned();
    let mut a = Node::start(["--data", &d]).await;
    let (ann, boards) = owner_and_boards(&a.base).await;
    let note = json!({"x": 1, "y": 2, "text": "before the backup"});
    ann.note(&boards[0], note).await;
    let file = out.path().join("good.db");
    let good = path_arg(&file).to_owned();
    let r = node::run(["backup", "--to", &good, "--data", &d], TOOL_LIMIT);
    assert!(r.status.success(), "{}", String::from_utf8_lossy(&r.stderr));
    ann.note(&boards[0], json!({"x": 3, "y": 4, "text": "after"}))
        .await;

    // While the server runs: restore and a second server are refused.
    let e = node::fails(["restore", "--from", &good, "--data", &d], TOOL_LIMIT);
    assert!(
        e.contains("is in use by process") && e.contains("stop it first"),
        "{e}"
    );
    let e = node::fails(["--data", &d, "--listen", "127.0.0.1:0"], TOOL_LIMIT);
    assert!(
        e.contains("another corkboard server is running on it"),
        "{e}"
    );
    a.stop();

    // Bad files, with the server stopped.
    let garbage = out.path().join("garbage.db");
    std::fs::write(&garbage, vec![0x5a; 64 << 10]).unwrap();
    let corrupt = out.path().join("corrupt.db");
    let mut bytes = std::fs::read(&file).unwrap();
    assert!(bytes.len() > 16 << 10, "backup of {} bytes", bytes.len());
    let (page, end) = (4096, bytes.len() - 4096);
    for b in &mut bytes[2 * page..end] {
        *b ^= 0xa5;
    }
    std::fs::write(&corrupt, &bytes).unwrap();
    let missing = out.path().join("missing.db");
    for (f, why) in [
        (&garbage, "is not a usable SQLite database"),
        (&corrupt, "is not a usable SQLite database"),
        (&missing, "no such file"),
    ] {
        let e = node::fails(["restore", "--from", path_arg(f), "--data", &d], TOOL_LIMIT);
        assert!(
            e.contains("refused") && e.contains(why),
            "{}: {e}",
            f.display()
        );
    }
    let e = node::fails(
        [
            "backup",
            "--to",
            &good,
            "--data",
            path_arg(&out.path().join("none")),
        ],
        TOOL_LIMIT,
    );
    assert!(e.contains("no database at"), "{e}");

    // The refusals changed nothing: both notes are there.
    let mut a = Node::start(["--data", &d]).await;
    let seq_of = async |base: &str| {
        at(&ann, base)
            .get(&format!("/api/boards/{}", boards[0]))
            .await
            .body["seq"]
            .clone()
    };
    assert_eq!(seq_of(&a.base).await, json!(2));
    a.stop();

    // A good restore rolls back to the backup and keeps what it replaced.
    let r = node::run(["restore", "--from", &good, "--data", &d], TOOL_LIMIT);
    let stdout = String::from_utf8_lossy(&r.stdout).into_owned();
    assert!(r.status.success(), "{}", String::from_utf8_lossy(&r.stderr));
    assert!(stdout.contains("kept as"), "{stdout}");
    let baks = |dir: &Path| {
        std::fs::read_dir(dir)
            .unwrap()
            .filter(|e| {
                e.as_ref()
                    .unwrap()
                    .file_name()
                    .to_string_lossy()
                    .ends_with(".bak")
            })
            .count()
    };
    assert_eq!(baks(data.path()), 1);
    let mut a = Node::start(["--data", &d]).await;
    assert_eq!(seq_of(&a.base).await, json!(1));
    a.stop();
    let r = node::run(
        ["restore", "--from", &good, "--data", &d, "--discard-old"],
        TOOL_LIMIT,
    );
    assert!(r.status.success(), "{}", String::from_utf8_lossy(&r.stderr));
    assert_eq!(baks(data.path()), 1, "--discard-old keeps nothing");
    for side in ["corkboard.db-wal", "corkboard.db.restoring"] {
        assert!(!data.path().join(side).exists(), "{side} left behind");
    }
}

/// PostgreSQL: `pg_dump` of a live two-node cluster's database (PostgreSQL
/// and Redis; writers on both nodes) mid-stream, `pg_restore` into a fresh
/// database, a node there has every write acknowledged before the dump
/// began and a gapless log per board.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_dump_mid_stream_restores_every_acknowledged_write() {
    let test = "postgres_dump_mid_stream_restores_every_acknowledged_write";
    if !testing::available(test).await || !corkboard::bus::testing::available(test).await {
        return;
    }
    for tool in ["pg_dump", "pg_restore"] {
        let found = Command::new(tool).arg("--version").output().is_ok();
        assert!(
            found,
            "{tool} is not installed (apt-get install postgresql-client)"
        );
    }
    let seed = common::seed::seed(test);
    let (live_db, fresh_db, out) = (
        TestDatabase::create().await,
        TestDatabase::create().await,
        tempdir(),
    );
    let unused = out.path().join("unused");
    let redis = corkboard::bus::testing::url();
    let prefix = format!("cb-backup-{}", uuid::Uuid::new_v4().simple());
    let mut nodes = Vec::new();
    for i in 0..2 {
        let id = format!("node{i}");
        let args = ["--database-url", &live_db.url, "--data", path_arg(&unused)];
        let cluster = [
            "--redis-url",
            &redis,
            "--redis-prefix",
            &prefix,
            "--node-id",
            &id,
        ];
        nodes.push(Node::start(args.iter().chain(&cluster)).await);
    }
    let e = node::fails(
        ["backup", "--to", "x.db", "--database-url", &live_db.url],
        TOOL_LIMIT,
    );
    assert!(e.contains("pg_dump"), "{e}");
    let (ann, boards) = owner_and_boards(&nodes[0].base).await;
    let load = Load::start(&[ann.clone(), at(&ann, &nodes[1].base)], &boards, seed).await;
    load.wait_for(BEFORE, None).await;

    let file = out.path().join("corkboard.dump");
    let began = Instant::now();
    let (url, f) = (live_db.url.clone(), file.clone());
    let dump = tokio::task::spawn_blocking(move || {
        Command::new("pg_dump")
            .args(["--format=custom", "--no-owner", "--dbname", &url, "--file"])
            .arg(f)
            .output()
            .expect("pg_dump")
    })
    .await
    .unwrap();
    let ended = Instant::now();
    assert!(
        dump.status.success(),
        "{}",
        String::from_utf8_lossy(&dump.stderr)
    );
    let during = load.count(Some(began)) - load.count(Some(ended));
    load.wait_for(AFTER, Some(ended)).await;
    let acks = load.finish().await;

    let restore = Command::new("pg_restore")
        .args(["--no-owner", "--exit-on-error", "--dbname", &fresh_db.url])
        .arg(&file)
        .output()
        .expect("pg_restore");
    assert!(
        restore.status.success(),
        "{}",
        String::from_utf8_lossy(&restore.stderr)
    );
    let b = Node::start(["--database-url", &fresh_db.url, "--data", path_arg(&unused)]).await;
    let c = compare(&ann, &at(&ann, &b.base), &boards, &acks, began).await;
    println!(
        "{} writes acknowledged ({} while pg_dump ran for {:?}); restored {} of the original's {} events",
        acks.len(),
        during,
        ended - began,
        c.restored_events,
        c.original_events
    );
}

fn tempdir() -> tempfile::TempDir {
    tempfile::tempdir().expect("tempdir")
}
