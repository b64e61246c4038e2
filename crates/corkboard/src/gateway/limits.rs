//! Per-connection guards every session door shares (WebSocket, gRPC Connect),
//! with time passed in, so tests move the clock
//! instead of sleeping: token buckets for RPCs and signals, a counter of bad
//! messages, and the heartbeat rule.

use std::time::Duration;

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

    /// Whether the sender keeps going over the limit: as many refusals in a
    /// row as the burst allows. Then the connection is closed (1008).
    pub fn abusive(&self) -> bool {
        self.refused as f64 >= self.burst
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
