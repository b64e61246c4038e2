//! The Redis that tests use (the bus contract suite and the cluster tests):
//! `CORKBOARD_TEST_REDIS_URL`, default [`DEFAULT_URL`]. Like
//! [`crate::store::postgres::testing`], a missing server fails the test when
//! `CI` is set and is otherwise a loud warning.

use std::time::Duration;

/// The Redis tests use when `CORKBOARD_TEST_REDIS_URL` is unset.
pub const DEFAULT_URL: &str = "redis://127.0.0.1:6379";

/// The Redis URL for tests.
pub fn url() -> String {
    std::env::var("CORKBOARD_TEST_REDIS_URL")
        .ok()
        .filter(|u| !u.trim().is_empty())
        .unwrap_or_else(|| DEFAULT_URL.to_owned())
}

/// Whether a Redis answers PING at `url` within a second or two.
pub async fn answers(url: &str) -> bool {
    async {
        let c = redis::Client::open(url).ok()?;
        let mut conn =
            tokio::time::timeout(Duration::from_secs(2), c.get_multiplexed_async_connection())
                .await
                .ok()?
                .ok()?;
        tokio::time::timeout(
            Duration::from_secs(1),
            redis::cmd("PING").query_async::<String>(&mut conn),
        )
        .await
        .ok()?
        .ok()
    }
    .await
    .is_some()
}

/// Whether the test Redis answers. When it does not: with `CI` set, panics
/// (a test must never skip silently there); otherwise prints a loud warning
/// and returns `false`, and the caller returns early.
pub async fn available(test: &str) -> bool {
    let url = url();
    if answers(&url).await {
        return true;
    }
    let msg = format!(
        "Redis is not reachable at {url}; start it with scripts/ensure-services.sh or set CORKBOARD_TEST_REDIS_URL"
    );
    assert!(std::env::var_os("CI").is_none(), "{test}: {msg}");
    eprintln!("WARNING: {test} did not run: {msg}");
    false
}
