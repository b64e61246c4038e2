//! Throwaway PostgreSQL databases for tests (the store contract suite and
//! the integration tests): each one is created on the server named by
//! `CORKBOARD_TEST_PG_URL` (default [`DEFAULT_ADMIN_URL`]) and dropped,
//! with its connections, when the handle is dropped.

use std::io::Write;
use std::time::Duration;

use sqlx::{Connection, PgConnection};

/// The server tests use when `CORKBOARD_TEST_PG_URL` is unset.
pub const DEFAULT_ADMIN_URL: &str = "postgres://postgres@127.0.0.1:5432/postgres";

/// The URL of the database tests create their databases from.
pub fn admin_url() -> String {
    std::env::var("CORKBOARD_TEST_PG_URL")
        .ok()
        .filter(|u| !u.trim().is_empty())
        .unwrap_or_else(|| DEFAULT_ADMIN_URL.to_owned())
}

/// `url` with its database name replaced by `db`.
pub fn with_database(url: &str, db: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((b, q)) => (b, Some(q)),
        None => (url, None),
    };
    let start = base.find("://").map_or(0, |i| i + 3);
    let prefix = match base[start..].find('/') {
        Some(i) => &base[..start + i],
        None => base,
    };
    match query {
        Some(q) => format!("{prefix}/{db}?{q}"),
        None => format!("{prefix}/{db}"),
    }
}

async fn connect(url: &str) -> Result<PgConnection, String> {
    match tokio::time::timeout(Duration::from_secs(5), PgConnection::connect(url)).await {
        Ok(Ok(c)) => Ok(c),
        Ok(Err(e)) => Err(e.to_string()),
        Err(_) => Err("timed out after 5 s".into()),
    }
}

/// Checks that the test server answers. When it does not: with `CI` set,
/// panics (a test must never skip silently there); otherwise prints a loud
/// warning and returns `false`, and the caller returns early.
pub async fn available(test: &str) -> bool {
    let url = admin_url();
    match connect(&url).await {
        Ok(c) => {
            let _ = c.close().await;
            true
        }
        Err(e) => {
            let msg = format!(
                "PostgreSQL is not reachable at {} ({e}); start it with scripts/ensure-services.sh \
                 or set CORKBOARD_TEST_PG_URL",
                super::redact_url(&url)
            );
            if std::env::var_os("CI").is_some() {
                panic!("{test}: {msg} (CI is set, so this test fails instead of skipping)");
            }
            // Straight to the stderr handle: the test harness captures eprintln!,
            // and this must be seen even when the test passes.
            let bar = "!".repeat(78);
            let _ = writeln!(
                std::io::stderr(),
                "\n{bar}\n!! WARNING: {test} SKIPPED: {msg}\n{bar}\n"
            );
            false
        }
    }
}

/// A freshly created, empty database; dropped (connections and all) with the handle.
pub struct TestDatabase {
    /// Connection URL of the new database.
    pub url: String,
    name: String,
    admin: String,
}

impl TestDatabase {
    /// Creates `cb_test_<random>` on the test server.
    ///
    /// # Panics
    /// When the server cannot be reached or refuses (call [`available`] first).
    pub async fn create() -> Self {
        let admin = admin_url();
        let name = format!("cb_test_{}", uuid::Uuid::new_v4().simple());
        let mut c = connect(&admin)
            .await
            .unwrap_or_else(|e| panic!("connecting to {}: {e}", super::redact_url(&admin)));
        sqlx::query(&format!("CREATE DATABASE {name}"))
            .execute(&mut c)
            .await
            .unwrap_or_else(|e| panic!("CREATE DATABASE {name}: {e}"));
        let _ = c.close().await;
        Self {
            url: with_database(&admin, &name),
            name,
            admin,
        }
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        // Drop may run inside a runtime (or while panicking): use a thread of its own.
        let (admin, name) = (self.admin.clone(), self.name.clone());
        let done = std::thread::spawn(move || {
            let Ok(rt) = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            else {
                return;
            };
            rt.block_on(async move {
                if let Ok(mut c) = connect(&admin).await {
                    if let Err(e) =
                        sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                            .execute(&mut c)
                            .await
                    {
                        eprintln!("warning: could not drop test database {name}: {e}");
                    }
                    let _ = c.close().await;
                }
            });
        });
        let _ = done.join();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn database_names_are_replaced() {
        assert_eq!(
            with_database("postgres://postgres@127.0.0.1:5432/postgres", "x"),
            "postgres://postgres@127.0.0.1:5432/x"
        );
        assert_eq!(
            with_database("postgresql://u:p@h/db?sslmode=disable", "x"),
            "postgresql://u:p@h/x?sslmode=disable"
        );
        assert_eq!(
            with_database("postgres://h:5432", "x"),
            "postgres://h:5432/x"
        );
    }

    #[test]
    fn passwords_are_redacted() {
        use super::super::redact_url;
        assert_eq!(
            redact_url("postgres://u:secret@h:5432/db"),
            "postgres://u:***@h:5432/db"
        );
        assert_eq!(redact_url("postgres://u@h/db"), "postgres://u@h/db");
        assert_eq!(redact_url("postgres://h/db"), "postgres://h/db");
    }
}
