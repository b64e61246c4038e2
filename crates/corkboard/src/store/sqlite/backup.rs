//! `corkboard backup`: a consistent copy of the live SQLite database, made
//! while the server runs (see [`super::backup_api`]), written to a temporary
//! file, checked (`PRAGMA integrity_check`), made self-contained (rollback
//! journal, no `-wal`), synced and renamed into place.

use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use sqlx::sqlite::{SqliteConnectOptions, SqliteConnection, SqliteJournalMode, SqliteSynchronous};
use sqlx::{ConnectOptions, Connection};

use super::{backup_api, DB_FILE};
use crate::store::schema;

/// What a backup (or a restored file) holds, printed for the operator.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Summary {
    /// Size of the file in bytes.
    pub bytes: u64,
    /// Highest applied schema migration.
    pub schema_version: i64,
    /// Accounts.
    pub users: i64,
    /// Boards (live ones).
    pub boards: i64,
    /// Stored events, all boards together.
    pub events: i64,
    /// Sum over boards of their last seq (events committed, pruned or not).
    pub seq_total: i64,
}

impl fmt::Display for Summary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} bytes, schema version {}, users: {}, boards: {}, events stored: {}, \
             events committed: {} (sum of the boards' last seq)",
            self.bytes, self.schema_version, self.users, self.boards, self.events, self.seq_total
        )
    }
}

/// Counts what the database behind `conn` holds (`bytes` is left 0).
///
/// # Errors
/// When it is not a corkboard database.
pub async fn summarize(conn: &mut SqliteConnection) -> Result<Summary, String> {
    let mut count = async |sql: &str| -> Result<i64, String> {
        sqlx::query_scalar::<_, Option<i64>>(sql)
            .fetch_one(&mut *conn)
            .await
            .map(Option::unwrap_or_default)
            .map_err(|e| format!("not a corkboard database ({sql}: {e})"))
    };
    Ok(Summary {
        bytes: 0,
        schema_version: count(schema::LATEST_SQL).await?,
        users: count("SELECT COUNT(*) FROM users").await?,
        boards: count("SELECT COUNT(*) FROM boards").await?,
        events: count("SELECT COUNT(*) FROM events").await?,
        seq_total: count("SELECT SUM(seq) FROM boards").await?,
    })
}

/// `PRAGMA integrity_check` on `conn`.
///
/// # Errors
/// SQLite's findings, when it is not `ok`.
pub async fn integrity_check(conn: &mut SqliteConnection) -> Result<(), String> {
    let rows: Vec<String> = sqlx::query_scalar("PRAGMA integrity_check")
        .fetch_all(&mut *conn)
        .await
        .map_err(|e| format!("integrity check: {e}"))?;
    if rows.len() == 1 && rows[0] == "ok" {
        Ok(())
    } else {
        Err(format!("integrity check failed: {}", rows.join("; ")))
    }
}

/// Copies `data/corkboard.db` to `to`, atomically (a reader of `to` sees the
/// old file or the whole new one), and says what it holds.
///
/// # Errors
/// When there is no database in `data`, `to` is that database, or any step
/// fails; `to` is then untouched.
pub async fn backup(data: &Path, to: &Path) -> Result<Summary, String> {
    let source = data.join(DB_FILE);
    if !source.is_file() {
        return Err(format!("no database at {}", source.display()));
    }
    let same = |a: &Path, b: &Path| match (a.canonicalize(), b.canonicalize()) {
        (Ok(a), Ok(b)) => a == b,
        _ => false,
    };
    if same(&source, to) {
        return Err(format!("{} is the database itself", to.display()));
    }
    let tmp = temporary_beside(to)?;
    let result = write_copy(&source, &tmp).await;
    let summary = match result {
        Ok(s) => s,
        Err(e) => {
            let _ = std::fs::remove_file(&tmp);
            return Err(e);
        }
    };
    if let Err(e) = std::fs::rename(&tmp, to) {
        let _ = std::fs::remove_file(&tmp);
        return Err(format!("rename {} to {}: {e}", tmp.display(), to.display()));
    }
    sync_parent(to);
    Ok(summary)
}

/// `FILE.tmp-<pid>` in the same directory as `to` (so the rename is atomic).
fn temporary_beside(to: &Path) -> Result<PathBuf, String> {
    let name = to
        .file_name()
        .ok_or_else(|| format!("{} is not a file name", to.display()))?;
    let mut tmp = name.to_os_string();
    tmp.push(format!(".tmp-{}", std::process::id()));
    Ok(to.with_file_name(tmp))
}

/// Backs `source` up into the new file `tmp`, checks it and syncs it.
async fn write_copy(source: &Path, tmp: &Path) -> Result<Summary, String> {
    let _ = std::fs::remove_file(tmp);
    // Read-write (never created), so that this works whether or not a
    // server has the WAL open; nothing is written through it.
    let mut src = SqliteConnectOptions::new()
        .filename(source)
        .busy_timeout(Duration::from_secs(10))
        .disable_statement_logging()
        .connect()
        .await
        .map_err(|e| format!("open {}: {e}", source.display()))?;
    let mut dest = SqliteConnectOptions::new()
        .filename(tmp)
        .create_if_missing(true)
        .journal_mode(SqliteJournalMode::Delete)
        .synchronous(SqliteSynchronous::Full)
        .disable_statement_logging()
        .connect()
        .await
        .map_err(|e| format!("create {}: {e}", tmp.display()))?;
    backup_api::copy_database(&mut src, &mut dest).await?;
    let _ = src.close().await;
    // The copied header says WAL, like the source: make the copy one file.
    sqlx::query("PRAGMA journal_mode = DELETE")
        .execute(&mut dest)
        .await
        .map_err(|e| format!("journal mode of the copy: {e}"))?;
    integrity_check(&mut dest).await?;
    let mut summary = summarize(&mut dest).await?;
    dest.close()
        .await
        .map_err(|e| format!("close {}: {e}", tmp.display()))?;
    let file = std::fs::File::open(tmp).map_err(|e| format!("open {}: {e}", tmp.display()))?;
    file.sync_all()
        .map_err(|e| format!("sync {}: {e}", tmp.display()))?;
    summary.bytes = file.metadata().map(|m| m.len()).unwrap_or_default();
    Ok(summary)
}

/// Syncs the directory holding `path`, so a rename in it is durable (best effort).
pub fn sync_parent(path: &Path) {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    if let Ok(d) = std::fs::File::open(dir) {
        let _ = d.sync_all();
    }
}
