//! Seeds for the randomized tests: the one place that decides them.
//!
//! A randomized test asks [`seed`] for its seed and builds every random choice
//! from it (`StdRng::seed_from_u64(seed)`, child RNGs seeded from that one).
//! The seed comes from `CORKBOARD_SEED` when it is set, otherwise it is fresh
//! and random; either way the test prints it with the command that replays
//! it, and `cargo test` shows that line when the test fails.
//!
//! A seed that once failed stays as a regression: the randomized test keeps a
//! `REGRESSION_SEEDS: &[Regression]` list next to it, run by a named test
//! through [`regressions`], whatever `CORKBOARD_SEED` says. To add one, append
//! `Regression { name, seed, caught }` with `caught` saying what it found
//! (and the fixing commit).
//!
//! A seed replays the random choices (operations, texts, pauses, when to
//! disconnect), not the thread and socket timing around them.

#![allow(dead_code)]

use std::future::Future;

/// The environment variable that fixes the seed.
pub const ENV: &str = "CORKBOARD_SEED";

/// A seed that once made a randomized test fail.
#[derive(Debug, Clone, Copy)]
pub struct Regression {
    /// Short name, printed when it runs.
    pub name: &'static str,
    pub seed: u64,
    /// What the seed caught, and where it was fixed (commit).
    pub caught: &'static str,
}

/// The seed for `test` (the test function's name): `CORKBOARD_SEED` when set,
/// else a fresh random one. Prints the seed and how to replay it.
pub fn seed(test: &str) -> u64 {
    let seed = match std::env::var(ENV) {
        Ok(s) => s
            .trim()
            .parse()
            .unwrap_or_else(|_| panic!("{ENV}={s:?} is not a u64")),
        Err(_) => rand::random(),
    };
    eprintln!("seed = {seed} (replay: {})", replay(seed, test));
    seed
}

/// The command that reruns `test` with `seed`.
pub fn replay(seed: u64, test: &str) -> String {
    format!(
        "{ENV}={seed} cargo test -p corkboard --test {} {test} -- --exact",
        env!("CARGO_CRATE_NAME")
    )
}

/// Runs `run` once for each regression seed of `test`, in order, printing
/// which one is running (a failure's output ends with the one that failed).
pub async fn regressions<F, Fut>(test: &str, seeds: &[Regression], run: F)
where
    F: Fn(u64) -> Fut,
    Fut: Future<Output = ()>,
{
    if seeds.is_empty() {
        eprintln!("{test}: no regression seeds yet");
    }
    for r in seeds {
        eprintln!(
            "{test}: regression {:?}, seed = {} ({}); alone: {}",
            r.name,
            r.seed,
            r.caught,
            replay(r.seed, test)
        );
        run(r.seed).await;
    }
}
