//! Guards every door shares, with time passed in, so tests move the clock
//! instead of sleeping: token buckets for RPCs and signals (per WebSocket or
//! gRPC Connect connection) and for REST mutations (per user), a counter of
//! bad messages, and the heartbeat rule.

use std::collections::HashMap;
use std::time::Duration;

use parking_lot::Mutex;
use tokio::time::Instant;

/// A token bucket: `rate` per second, holding at most `burst`.
#[derive(Debug, Clone)]
pub struct TokenBucket {
    rate: f64,
    burst: f64,
    tokens: f64,
    last: Instant,
    /// Consecutive refusals since the last accepted message.
    refused: u32,
}

impl TokenBucket {
    /// A full bucket.
    pub fn new(rate: u32, burst: u32, now: Instant) -> Self {
        Self {
            rate: rate as f64,
            burst: burst.max(1) as f64,
            tokens: burst.max(1) as f64,
            last: now,
            refused: 0,
        }
    }

    /// Takes a token if there is one.
    pub fn take(&mut self, now: Instant) -> bool {
        let dt = now.saturating_duration_since(self.last).as_secs_f64();
        self.last = now;
        self.tokens = (self.tokens + dt * self.rate).min(self.burst);
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            self.refused = 0;
            true
        } else {
            self.refused += 1;
            false
        }
    }

    /// Seconds until the next token, rounded up (at least 1): the
    /// `Retry-After` of a refusal.
    pub fn retry_after(&self) -> u64 {
        let missing = (1.0 - self.tokens).max(0.0);
        ((missing / self.rate.max(f64::MIN_POSITIVE)).ceil() as u64).max(1)
    }

    /// Whether the bucket is full again at `now`: it then holds nothing a
    /// fresh bucket would not, and may be forgotten.
    fn full_at(&self, now: Instant) -> bool {
        let dt = now.saturating_duration_since(self.last).as_secs_f64();
        self.tokens + dt * self.rate >= self.burst
    }

    /// Whether the sender keeps going over the limit: as many refusals in a
    /// row as the burst allows. Then the connection is closed (1008).
    pub fn abusive(&self) -> bool {
        self.refused as f64 >= self.burst
    }
}

/// Buckets a [`UserBuckets`] holds before it forgets the full ones.
const MAX_IDLE_BUCKETS: usize = 10_000;

/// A token bucket per user (`--rest-mutation-rate`): REST calls are
/// separate requests, so the bucket cannot live on a connection. Memory is
/// bounded by the users active within one refill time: a bucket that has
/// filled up again is the same as a new one, so once the map holds
/// [`MAX_IDLE_BUCKETS`] the full ones are dropped.
pub struct UserBuckets {
    /// Tokens per second; 0 turns the limit off.
    rate: u32,
    buckets: Mutex<HashMap<String, TokenBucket>>,
}

impl UserBuckets {
    /// `rate` calls per second per user, burst 2× (0: unlimited).
    pub fn new(rate: u32) -> Self {
        Self {
            rate,
            buckets: Mutex::new(HashMap::new()),
        }
    }

    /// Takes a token from `user`'s bucket.
    ///
    /// # Errors
    /// The seconds until the next token, when the bucket is empty.
    pub fn take(&self, user: &str, now: Instant) -> Result<(), u64> {
        if self.rate == 0 {
            return Ok(());
        }
        let mut map = self.buckets.lock();
        if map.len() >= MAX_IDLE_BUCKETS && !map.contains_key(user) {
            map.retain(|_, b| !b.full_at(now));
        }
        let b = map
            .entry(user.to_owned())
            .or_insert_with(|| TokenBucket::new(self.rate, self.rate.saturating_mul(2), now));
        if b.take(now) {
            Ok(())
        } else {
            Err(b.retry_after())
        }
    }

    /// The configured calls per second (0: unlimited).
    pub fn rate(&self) -> u32 {
        self.rate
    }

    /// Buckets held (for tests of the memory bound).
    pub fn len(&self) -> usize {
        self.buckets.lock().len()
    }

    /// Whether no bucket is held.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Counts malformed messages in a sliding window; too many closes with 1008.
#[derive(Debug, Clone)]
pub struct BadMessages {
    window: Duration,
    max: usize,
    times: std::collections::VecDeque<Instant>,
}

impl BadMessages {
    /// At most `max` bad messages per `window`.
    pub fn new(max: usize, window: Duration) -> Self {
        Self {
            window,
            max,
            times: Default::default(),
        }
    }

    /// Records one; returns true when the limit is passed.
    pub fn record(&mut self, now: Instant) -> bool {
        while self
            .times
            .front()
            .is_some_and(|t| now.saturating_duration_since(*t) > self.window)
        {
            self.times.pop_front();
        }
        self.times.push_back(now);
        self.times.len() > self.max
    }
}

/// What the heartbeat timer does at a tick.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Heartbeat {
    /// Send a Ping.
    Ping,
    /// Nothing heard for 2 × interval: close with 4000.
    TimedOut,
}

/// The heartbeat rule: silent for more than 2 × `interval` → timed out.
pub fn heartbeat(last_heard: Instant, now: Instant, interval: Duration) -> Heartbeat {
    if now.saturating_duration_since(last_heard) > interval * 2 {
        Heartbeat::TimedOut
    } else {
        Heartbeat::Ping
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn bucket_allows_burst_then_rate() {
        let t0 = Instant::now();
        let mut b = TokenBucket::new(100, 200, t0);
        assert!((0..200).all(|_| b.take(t0)));
        assert!(!b.take(t0));
        tokio::time::advance(Duration::from_millis(100)).await;
        let t1 = Instant::now();
        let ok = (0..20).filter(|_| b.take(t1)).count();
        assert_eq!(ok, 10, "100/s refills 10 in 100 ms");
        assert!(!b.abusive());
        for _ in 0..200 {
            b.take(t1);
        }
        assert!(b.abusive());
    }

    #[tokio::test(start_paused = true)]
    async fn user_buckets_are_per_user_and_say_when_to_retry() {
        let t0 = Instant::now();
        let u = UserBuckets::new(1);
        assert!(u.take("a", t0).is_ok() && u.take("a", t0).is_ok());
        assert_eq!(u.take("a", t0), Err(1));
        assert!(
            u.take("b", t0).is_ok(),
            "another user has a bucket of their own"
        );
        tokio::time::advance(Duration::from_secs(1)).await;
        assert!(u.take("a", Instant::now()).is_ok());
        assert!(UserBuckets::new(0).take("a", t0).is_ok(), "0 is no limit");
    }

    #[tokio::test(start_paused = true)]
    async fn user_buckets_forget_full_buckets() {
        let u = UserBuckets::new(10);
        let t0 = Instant::now();
        for i in 0..MAX_IDLE_BUCKETS {
            u.take(&format!("u{i}"), t0).unwrap();
        }
        assert_eq!(u.len(), MAX_IDLE_BUCKETS);
        // Still refilling: nothing may be dropped yet.
        u.take("late", t0).unwrap();
        assert_eq!(u.len(), MAX_IDLE_BUCKETS + 1);
        tokio::time::advance(Duration::from_secs(1)).await;
        u.take("later", Instant::now()).unwrap();
        assert_eq!(u.len(), 1, "full buckets go once the map is at its bound");
    }

    #[tokio::test(start_paused = true)]
    async fn bad_messages_expire() {
        let mut c = BadMessages::new(2, Duration::from_secs(10));
        let t0 = Instant::now();
        assert!(!c.record(t0) && !c.record(t0));
        assert!(c.record(t0));
        tokio::time::advance(Duration::from_secs(11)).await;
        assert!(!c.record(Instant::now()));
    }

    #[tokio::test(start_paused = true)]
    async fn heartbeat_times_out_after_twice_the_interval() {
        let t0 = Instant::now();
        let hb = Duration::from_secs(25);
        tokio::time::advance(Duration::from_secs(50)).await;
        assert_eq!(heartbeat(t0, Instant::now(), hb), Heartbeat::Ping);
        tokio::time::advance(Duration::from_millis(1)).await;
        assert_eq!(heartbeat(t0, Instant::now(), hb), Heartbeat::TimedOut);
    }
}
