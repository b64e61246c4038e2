//! The maintenance commands (`corkboard backup`, `corkboard restore`): what
//! they print, and their refusal for PostgreSQL, whose own tools do this.

use crate::config::{Command, Config};
use crate::store::sqlite::{backup, restore, DB_FILE};

/// What the operator is told to use with PostgreSQL.
const POSTGRES_TOOLS: &str = "with --database-url the data is in PostgreSQL: back it up with \
     pg_dump (or WAL archiving for point-in-time recovery) and restore it with pg_restore; \
     see \"Backups and restore\" in docs/operations.md";

/// Runs `command` with the data flags of `config`; returns the line to print.
///
/// # Errors
/// The operator's message when it fails or does not apply.
pub async fn run(command: &Command, config: &Config) -> anyhow::Result<String> {
    if config.postgres_url()?.is_some() {
        anyhow::bail!("{POSTGRES_TOOLS}");
    }
    let db = config.data.join(DB_FILE);
    match command {
        Command::Backup { to } => {
            let s = backup::backup(&config.data, to)
                .await
                .map_err(|e| anyhow::anyhow!("backup of {} failed: {e}", db.display()))?;
            Ok(format!(
                "backed up {} to {}: {s}",
                db.display(),
                to.display()
            ))
        }
        Command::Restore { from, discard_old } => {
            let r = restore::restore(&config.data, from, !discard_old)
                .await
                .map_err(|e| anyhow::anyhow!("restore into {} refused: {e}", db.display()))?;
            let kept = match &r.kept {
                Some(p) => format!("; the replaced database is kept as {}", p.display()),
                None => String::new(),
            };
            Ok(format!(
                "restored {} into {}: {}{kept}",
                from.display(),
                db.display(),
                r.summary
            ))
        }
    }
}
