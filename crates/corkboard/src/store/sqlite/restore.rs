//! `corkboard restore`: puts a backup in place of `data/corkboard.db`, with
//! the server stopped (the data directory's lock is taken for the swap).
//! The backup is checked first (a SQLite file, `integrity_check`, a schema
//! this binary knows); it is copied beside the database and renamed over
//! it, so the name always holds a whole database. The database it replaces
//! is kept as `corkboard.db.<UTC time>.bak` unless asked otherwise.

use std::path::{Path, PathBuf};

use sqlx::sqlite::{SqliteConnectOptions, SqliteConnection};
use sqlx::{ConnectOptions, Connection};

use super::backup::{integrity_check, summarize, sync_parent, Summary};
use super::data_lock::DataDirLock;
use super::{DB_FILE, MIGRATOR};
use crate::store::schema;

/// What a restore did.
#[derive(Debug)]
pub struct Restored {
    /// What the restored database holds.
    pub summary: Summary,
    /// Where the replaced database was kept, if there was one and it was kept.
    pub kept: Option<PathBuf>,
}

/// Replaces `data/corkboard.db` with the backup `from`.
///
/// # Errors
/// When a server holds the data directory, when `from` is not a usable
/// backup for this binary, or a file operation fails (the database in
/// `data` is then the one that was there).
pub async fn restore(data: &Path, from: &Path, keep_old: bool) -> Result<Restored, String> {
    std::fs::create_dir_all(data).map_err(|e| format!("create {}: {e}", data.display()))?;
    let _lock = DataDirLock::acquire(data)?;
    let mut summary = verify(from).await?;
    let db = data.join(DB_FILE);
    let incoming = data.join(format!("{DB_FILE}.restoring"));
    summary.bytes = std::fs::copy(from, &incoming)
        .map_err(|e| format!("copy {} to {}: {e}", from.display(), incoming.display()))?;
    let synced = std::fs::File::open(&incoming).and_then(|f| f.sync_all());
    if let Err(e) = synced {
        let _ = std::fs::remove_file(&incoming);
        return Err(format!("sync {}: {e}", incoming.display()));
    }
    let kept = if db.exists() {
        fold_wal(&db).await;
        if keep_old {
            Some(keep(&db)?)
        } else {
            None
        }
    } else {
        None
    };
    std::fs::rename(&incoming, &db)
        .map_err(|e| format!("rename {} to {}: {e}", incoming.display(), db.display()))?;
    // What is left of the replaced database's WAL belongs to it, not to the backup.
    for suffix in ["-wal", "-shm"] {
        let _ = std::fs::remove_file(side_file(&db, suffix));
    }
    sync_parent(&db);
    Ok(Restored { summary, kept })
}

/// Checks that `from` is a sound corkboard database whose schema this binary knows.
///
/// # Errors
/// The operator's message for what is wrong with it.
pub async fn verify(from: &Path) -> Result<Summary, String> {
    let name = from.display();
    if !from.is_file() {
        return Err(format!("{name}: no such file"));
    }
    // A file name, not a URL: a path with `?` or `#` in it stays whole.
    let mut conn: SqliteConnection = SqliteConnectOptions::new()
        .filename(from)
        .read_only(true)
        .disable_statement_logging()
        .connect()
        .await
        .map_err(|e| format!("{name} is not a usable SQLite database: {e}"))?;
    let checked = async {
        integrity_check(&mut conn)
            .await
            .map_err(|e| format!("{name} is not a usable SQLite database: {e}"))?;
        let applied: Vec<(i64, Vec<u8>)> = sqlx::query_as(schema::APPLIED_SQL)
            .fetch_all(&mut conn)
            .await
            .map_err(|e| format!("{name} is not a corkboard database: {e}"))?;
        schema::check_applied(&applied, &MIGRATOR).map_err(|e| format!("{name}: {e}"))?;
        summarize(&mut conn)
            .await
            .map_err(|e| format!("{name}: {e}"))
    }
    .await;
    let _ = conn.close().await;
    checked
}

/// Checkpoints the database being replaced, so that it is whole in one
/// file before it is kept (a server killed with `-9` leaves commits in the WAL).
async fn fold_wal(db: &Path) {
    let opened = SqliteConnectOptions::new()
        .filename(db)
        .disable_statement_logging()
        .connect()
        .await;
    match opened {
        Ok(mut c) => {
            if let Err(e) = sqlx::query("PRAGMA wal_checkpoint(TRUNCATE)")
                .execute(&mut c)
                .await
            {
                tracing::warn!(error = %e, "could not checkpoint the database being replaced");
            }
            let _ = c.close().await;
        }
        Err(e) => tracing::warn!(error = %e, "could not open the database being replaced"),
    }
}

/// Keeps `db` (and any WAL it still has) as `db.<UTC time>.bak` (a name not taken yet).
fn keep(db: &Path) -> Result<PathBuf, String> {
    let now = time::OffsetDateTime::now_utc();
    let stamp = now
        .format(time::macros::format_description!(
            "[year][month][day]T[hour][minute][second]Z"
        ))
        .map_err(|e| e.to_string())?;
    // Two restores within a second: the second one's is `.<time>-1.bak`.
    let bak = (0..)
        .map(|n| match n {
            0 => side_file(db, &format!(".{stamp}.bak")),
            n => side_file(db, &format!(".{stamp}-{n}.bak")),
        })
        .find(|p| !p.exists())
        .unwrap_or_else(|| side_file(db, ".bak"));
    // A hard link: `db` stays in place until the backup is renamed over it.
    std::fs::hard_link(db, &bak)
        .map_err(|e| format!("keep {} as {}: {e}", db.display(), bak.display()))?;
    let wal = side_file(db, "-wal");
    if std::fs::metadata(&wal).is_ok_and(|m| m.len() > 0) {
        let _ = std::fs::copy(&wal, side_file(&bak, "-wal"));
    }
    Ok(bak)
}

/// `path` with `suffix` appended to its file name.
fn side_file(path: &Path, suffix: &str) -> PathBuf {
    let mut s = path.as_os_str().to_os_string();
    s.push(suffix);
    PathBuf::from(s)
}
