//! What the binary checks and says before it serves: a database schema
//! newer than it knows (or a migration changed under it) is refused with
//! the operator's message, on SQLite and PostgreSQL, at start and at
//! restore; `--version` names the version and commit; the shipped systemd
//! unit passes `systemd-analyze verify` and its security review.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use clap::CommandFactory;
use common::node::{self, Node};
use corkboard::config::Config;
use corkboard::store::postgres::testing::{self, TestDatabase};
use corkboard::store::schema;
use sqlx::Connection;

const LIMIT: Duration = Duration::from_secs(60);

/// The version this binary knows for the SQLite schema.
fn sqlite_known() -> i64 {
    schema::known_version(&corkboard::store::sqlite::MIGRATOR)
}

async fn sqlite_exec(db: &Path, sql: &str) {
    let mut c = sqlx::SqliteConnection::connect(&format!("sqlite://{}", db.display()))
        .await
        .expect("open the database");
    sqlx::query(sql).execute(&mut c).await.expect(sql);
    c.close().await.expect("close");
}

const FUTURE: i64 = 9999;

fn future_row(bytea: &str) -> String {
    format!(
        "INSERT INTO _sqlx_migrations (version, description, success, checksum, execution_time) \
         VALUES ({FUTURE}, 'from the future', TRUE, {bytea}, 0)"
    )
}

/// SQLite: a future migration row stops the start (and a restore of that
/// database) with the message; a changed checksum too.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_refuses_a_newer_or_changed_schema() {
    let (dir, out) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let d = dir.path().to_str().unwrap().to_owned();
    let mut a = Node::start(["--data", &d]).await;
    a.stop();
    let db = dir.path().join("corkboard.db");
    sqlite_exec(&db, &future_row("x'00'")).await;
    let expected = schema::newer_message(FUTURE, sqlite_known());
    assert!(expected.contains("upgrade corkboard or restore a backup"));
    let e = node::fails(["--data", &d, "--listen", "127.0.0.1:0"], LIMIT);
    assert!(e.contains(&expected), "{e}");
    assert!(
        !e.contains('\u{1b}'),
        "colour codes in a log to a pipe: {e:?}"
    );

    // A backup of it is made (backup copies), but no binary that is older may restore it.
    let file = out.path().join("future.db");
    let f = file.to_str().unwrap();
    let r = node::run(["backup", "--to", f, "--data", &d], LIMIT);
    assert!(r.status.success(), "{}", String::from_utf8_lossy(&r.stderr));
    let fresh = out.path().join("fresh");
    let e = node::fails(
        ["restore", "--from", f, "--data", fresh.to_str().unwrap()],
        LIMIT,
    );
    assert!(e.contains(&expected), "{e}");
    assert!(!fresh.join("corkboard.db").exists());

    sqlite_exec(
        &db,
        &format!("DELETE FROM _sqlx_migrations WHERE version = {FUTURE}"),
    )
    .await;
    sqlite_exec(
        &db,
        "UPDATE _sqlx_migrations SET checksum = x'00' WHERE version = 2",
    )
    .await;
    let e = node::fails(["--data", &d, "--listen", "127.0.0.1:0"], LIMIT);
    assert!(e.contains(&schema::changed_message(2)), "{e}");
}

/// PostgreSQL: the same refusals at a node's start.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_refuses_a_newer_or_changed_schema() {
    if !testing::available("postgres_refuses_a_newer_or_changed_schema").await {
        return;
    }
    let db = TestDatabase::create().await;
    let dir = tempfile::tempdir().unwrap();
    let unused = dir.path().join("unused");
    let args = [
        "--database-url",
        &db.url,
        "--data",
        unused.to_str().unwrap(),
        "--listen",
        "127.0.0.1:0",
    ];
    let mut a = Node::start(&args[..4]).await;
    a.stop();
    let mut c = sqlx::PgConnection::connect(&db.url).await.unwrap();
    sqlx::query(&future_row("'\\x00'::bytea"))
        .execute(&mut c)
        .await
        .unwrap();
    let known = schema::known_version(&corkboard::store::postgres::MIGRATOR);
    let e = node::fails(args, LIMIT);
    assert!(e.contains(&schema::newer_message(FUTURE, known)), "{e}");
    for sql in [
        format!("DELETE FROM _sqlx_migrations WHERE version = {FUTURE}"),
        "UPDATE _sqlx_migrations SET checksum = '\\x00'::bytea WHERE version = 3".to_owned(),
    ] {
        sqlx::query(&sql).execute(&mut c).await.unwrap();
    }
    c.close().await.unwrap();
    let e = node::fails(args, LIMIT);
    assert!(e.contains(&schema::changed_message(3)), "{e}");
}

/// `corkboard --version`: version, the commit it was built from, and when.
#[test]
fn version_names_the_commit() {
    let out = node::run(["--version"], LIMIT);
    assert!(out.status.success());
    let line = String::from_utf8(out.stdout).unwrap();
    let line = line.trim();
    let prefix = format!("corkboard {} (commit ", env!("CARGO_PKG_VERSION"));
    let rest = line
        .strip_prefix(&prefix)
        .unwrap_or_else(|| panic!("{line}"));
    let (commit, built) = rest
        .split_once(", built ")
        .unwrap_or_else(|| panic!("{line}"));
    assert!(
        built.ends_with(" UTC)") && built.len() == "2026-01-31 12:00 UTC)".len(),
        "{line}"
    );
    let hash = commit.strip_suffix("-dirty").unwrap_or(commit);
    let head = Command::new("git")
        .args(["rev-parse", "--short=7", "HEAD"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned());
    match head {
        // HEAD, or an earlier commit of it when a commit landed after the
        // binary was built (build.rs reruns on the next build).
        Some(head) if hash != head => {
            let ancestor = Command::new("git")
                .args(["merge-base", "--is-ancestor", hash, "HEAD"])
                .current_dir(env!("CARGO_MANIFEST_DIR"))
                .status()
                .map(|s| s.success())
                .unwrap_or(false);
            assert!(ancestor, "{line}: not HEAD ({head}) nor an ancestor of it");
        }
        Some(_) => {}
        None => assert!(hash == "unknown" || hash.len() == 7, "{line}"),
    }
}

/// `systemd-analyze`, or a skip (a failure under `CI`).
fn systemd_analyze(test: &str) -> Option<PathBuf> {
    let found = Command::new("systemd-analyze")
        .arg("--version")
        .output()
        .is_ok();
    if found {
        return Some(PathBuf::from("systemd-analyze"));
    }
    let msg = "systemd-analyze is not installed; run scripts/ensure-services.sh (make test does)";
    assert!(std::env::var_os("CI").is_none(), "{test}: {msg}");
    eprintln!("\n!!! WARNING: {test} SKIPPED: {msg}\n");
    None
}

fn deploy(file: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../deploy/systemd")
        .join(file)
}

/// The shipped unit with `ExecStart` pointing at the binary under test, in `dir`.
fn unit_in(dir: &Path, text: &str) -> PathBuf {
    let text = text.replace("/usr/local/bin/corkboard", env!("CARGO_BIN_EXE_corkboard"));
    let path = dir.join("corkboard.service");
    std::fs::write(&path, text).unwrap();
    path
}

/// `systemd-analyze verify` prints its findings and still exits 0: a clean
/// unit is one with nothing on stderr.
fn verify(analyze: &Path, unit: &Path) -> String {
    let out = Command::new(analyze)
        .arg("verify")
        .arg(unit)
        .output()
        .unwrap();
    let mut said = String::from_utf8_lossy(&out.stderr).into_owned();
    if !out.status.success() {
        said.push_str(&format!(" (exit {})", out.status));
    }
    said
}

/// deploy/systemd: the unit verifies clean, scores at most 2.0 ("OK") on
/// `systemd-analyze security`, gives the drain time to finish, and its
/// environment file names only real variables.
#[test]
fn systemd_unit_verifies_and_is_hardened() {
    let Some(analyze) = systemd_analyze("systemd_unit_verifies_and_is_hardened") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let shipped = std::fs::read_to_string(deploy("corkboard.service")).unwrap();
    let unit = unit_in(dir.path(), &shipped);
    assert_eq!(verify(&analyze, &unit), "", "systemd-analyze verify");
    // The check sees mistakes.
    let broken = unit_in(
        dir.path(),
        &shipped.replace("ProtectSystem=strict", "ProtectSystem=sideways"),
    );
    let said = verify(&analyze, &broken);
    assert!(said.contains("sideways"), "a bad value passed: {said:?}");
    let unit = unit_in(dir.path(), &shipped);

    let out = Command::new(&analyze)
        .args(["security", "--offline=true", "--no-pager"])
        .arg(&unit)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    let score: f64 = text
        .lines()
        .find_map(|l| {
            l.split("Overall exposure level for corkboard.service: ")
                .nth(1)
        })
        .and_then(|s| s.split_whitespace().next())
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("no exposure level in: {text}"));
    println!("systemd-analyze security: exposure {score}");
    assert!(score <= 2.0, "exposure {score}: {text}");

    let setting = |key: &str| {
        shipped
            .lines()
            .find_map(|l| l.strip_prefix(&format!("{key}=")))
            .unwrap_or_else(|| panic!("{key} missing"))
            .to_owned()
    };
    let drain = Config::for_tests(PathBuf::from("unused")).drain_timeout;
    let stop: u64 = setting("TimeoutStopSec").parse().unwrap();
    assert!(
        stop > drain,
        "TimeoutStopSec={stop} must exceed --drain-timeout {drain}"
    );
    for (key, want) in [
        ("DynamicUser", "yes"),
        ("StateDirectory", "corkboard"),
        ("ProtectSystem", "strict"),
    ] {
        assert_eq!(setting(key), want);
    }
    assert_eq!(
        setting("Environment").trim(),
        "CORKBOARD_DATA=/var/lib/corkboard"
    );

    let known: Vec<String> = Config::command()
        .get_arguments()
        .filter_map(|a| a.get_env().map(|e| e.to_string_lossy().into_owned()))
        .collect();
    let env = std::fs::read_to_string(deploy("corkboard.env")).unwrap();
    let named: Vec<&str> = env
        .lines()
        .map(|l| l.trim_start_matches('#'))
        .filter_map(|l| l.split_once('=').map(|(k, _)| k))
        .filter(|k| k.starts_with("CORKBOARD_"))
        .collect();
    assert!(named.len() >= 5, "{named:?}");
    for k in named {
        assert!(
            known.iter().any(|e| e == k),
            "{k} in corkboard.env is not a flag's variable"
        );
    }
}

/// A graceful stop leaves the database in one file: the WAL is checkpointed
/// into it and removed (it used to stay, so a copy of `corkboard.db` alone
/// missed the last commits).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_graceful_stop_leaves_no_wal_behind() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().to_str().unwrap().to_owned();
    let mut a = Node::start(["--data", &d]).await;
    assert!(
        dir.path().join("corkboard.db-wal").exists(),
        "WAL mode while running"
    );
    a.stop();
    assert!(
        !dir.path().join("corkboard.db-wal").exists(),
        "the WAL is gone after SIGTERM"
    );
    assert!(dir.path().join("corkboard.db").exists());
}
