//! SQLite's online backup API (`sqlite3_backup_init/step/finish`), which
//! sqlx does not wrap: the only `unsafe` of the backup. It copies every page
//! of one connection's `main` database into another's in a single step, that
//! is inside one read transaction of the source: under WAL that is one
//! consistent snapshot, and the server's writer goes on committing meanwhile.

use std::ffi::CStr;
use std::time::{Duration, Instant};

use libsqlite3_sys as ffi;
use sqlx::sqlite::SqliteConnection;

/// How long a copy retries while the source is busy (e.g. a checkpoint
/// holds a lock it needs) before giving up.
pub const BUSY_RETRY: Duration = Duration::from_secs(30);

/// Copies `src`'s main database over `dest`'s, in one step.
///
/// # Errors
/// SQLite's message when the copy cannot start or fails, or stays busy for
/// [`BUSY_RETRY`].
pub async fn copy_database(
    src: &mut SqliteConnection,
    dest: &mut SqliteConnection,
) -> Result<(), String> {
    let mut src = src
        .lock_handle()
        .await
        .map_err(|e| format!("source connection: {e}"))?;
    let mut dest = dest
        .lock_handle()
        .await
        .map_err(|e| format!("backup connection: {e}"))?;
    let src = src.as_raw_handle().as_ptr();
    let dest = dest.as_raw_handle().as_ptr();
    let main = c"main";
    // SAFETY: `src` and `dest` are open connections whose handles stay locked
    // (the guards above live to the end of this function), so no other
    // thread uses them meanwhile; `main` is a NUL-terminated string that
    // outlives the call.
    let backup = unsafe { ffi::sqlite3_backup_init(dest, main.as_ptr(), src, main.as_ptr()) };
    if backup.is_null() {
        // SAFETY: `dest` is open; on failure init leaves its error there.
        return Err(unsafe { message(dest) });
    }
    let started = Instant::now();
    let rc = loop {
        // SAFETY: `backup` came from a successful init and is finished once, below.
        let rc = unsafe { ffi::sqlite3_backup_step(backup, -1) };
        let busy = rc == ffi::SQLITE_BUSY || rc == ffi::SQLITE_LOCKED;
        if !busy || started.elapsed() > BUSY_RETRY {
            break rc;
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    // SAFETY: as above; `backup` is not used after this.
    let finished = unsafe { ffi::sqlite3_backup_finish(backup) };
    if rc != ffi::SQLITE_DONE {
        // SAFETY: `ffi::sqlite3_errstr` returns a static string for any code.
        let what = unsafe { CStr::from_ptr(ffi::sqlite3_errstr(rc)) };
        return Err(format!("backup step: {}", what.to_string_lossy()));
    }
    if finished != ffi::SQLITE_OK {
        // SAFETY: `dest` is open; finish leaves its error there.
        return Err(unsafe { message(dest) });
    }
    Ok(())
}

/// The last error message of connection `db`.
///
/// # Safety
/// `db` must be an open connection not used by another thread meanwhile.
unsafe fn message(db: *mut ffi::sqlite3) -> String {
    // SAFETY: the caller's contract; the returned string is owned by SQLite
    // and copied before the connection is used again.
    unsafe { CStr::from_ptr(ffi::sqlite3_errmsg(db)) }
        .to_string_lossy()
        .into_owned()
}
