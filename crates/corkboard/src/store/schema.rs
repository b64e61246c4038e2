//! Schema versions: migrations are forward-only, run at start, and a
//! database this binary cannot run on is refused with a message that tells
//! the operator what to do (sqlx's own errors name a migration, not a fix).

use sqlx::migrate::{MigrateError, Migrator};

/// Highest migration version `migrator` knows (0 with none).
pub fn known_version(migrator: &Migrator) -> i64 {
    migrator.iter().map(|m| m.version).max().unwrap_or(0)
}

/// The message for a database migrated past what this binary knows.
pub fn newer_message(db_version: i64, known: i64) -> String {
    format!(
        "database schema version {db_version} is newer than this binary (knows up to {known}); \
         upgrade corkboard or restore a backup"
    )
}

/// The message for a migration whose recorded checksum is not this binary's.
pub fn changed_message(version: i64) -> String {
    format!(
        "database schema migration {version} was applied from a different definition than this \
         binary's (checksum differs): this database was migrated by another build of corkboard; \
         run that build, or restore a backup"
    )
}

/// Turns a migration failure into the operator's message. `db_version` is
/// the highest version recorded in the database, when it could be read.
pub fn explain(e: &MigrateError, db_version: Option<i64>, migrator: &Migrator) -> String {
    let known = known_version(migrator);
    match e {
        MigrateError::VersionMissing(v) => newer_message(db_version.unwrap_or(*v).max(*v), known),
        MigrateError::VersionMismatch(v) => changed_message(*v),
        other => format!("migrating the database schema: {other}"),
    }
}

/// Checks the `(version, checksum)` rows of a database's `_sqlx_migrations`
/// against `migrator`, as a start would: every applied version must be
/// known, with the same checksum. Older is fine (migrated at the next start).
///
/// # Errors
/// The operator's message for the first problem.
pub fn check_applied(applied: &[(i64, Vec<u8>)], migrator: &Migrator) -> Result<(), String> {
    let known = known_version(migrator);
    if let Some(newest) = applied
        .iter()
        .map(|(v, _)| *v)
        .filter(|v| !migrator.iter().any(|m| m.version == *v))
        .max()
    {
        let db = applied.iter().map(|(v, _)| *v).max().unwrap_or(newest);
        return Err(newer_message(db, known));
    }
    for (version, checksum) in applied {
        if let Some(m) = migrator.iter().find(|m| m.version == *version) {
            if m.checksum.as_ref() != checksum.as_slice() {
                return Err(changed_message(*version));
            }
        }
    }
    Ok(())
}

/// The query for the highest applied migration.
pub const LATEST_SQL: &str = "SELECT MAX(version) FROM _sqlx_migrations";

/// The query for every applied migration, for [`check_applied`].
pub const APPLIED_SQL: &str = "SELECT version, checksum FROM _sqlx_migrations ORDER BY version";

#[cfg(test)]
mod tests {
    use super::*;

    static MIGRATOR: Migrator = sqlx::migrate!("./migrations/sqlite");

    fn applied() -> Vec<(i64, Vec<u8>)> {
        MIGRATOR
            .iter()
            .map(|m| (m.version, m.checksum.to_vec()))
            .collect()
    }

    #[test]
    fn same_and_older_schemas_pass() {
        assert!(known_version(&MIGRATOR) >= 7);
        check_applied(&applied(), &MIGRATOR).unwrap();
        check_applied(&applied()[..2], &MIGRATOR).unwrap();
        check_applied(&[], &MIGRATOR).unwrap();
    }

    #[test]
    fn a_newer_schema_names_both_versions() {
        let known = known_version(&MIGRATOR);
        let mut rows = applied();
        rows.push((known + 5, vec![1, 2, 3]));
        let e = check_applied(&rows, &MIGRATOR).unwrap_err();
        assert_eq!(e, newer_message(known + 5, known));
        assert!(e.contains("upgrade corkboard or restore a backup"), "{e}");
        let e = explain(
            &MigrateError::VersionMissing(known + 1),
            Some(known + 5),
            &MIGRATOR,
        );
        assert_eq!(e, newer_message(known + 5, known));
    }

    #[test]
    fn a_changed_checksum_is_named() {
        let mut rows = applied();
        rows[1].1 = vec![0; 48];
        let e = check_applied(&rows, &MIGRATOR).unwrap_err();
        assert_eq!(e, changed_message(rows[1].0));
    }
}
