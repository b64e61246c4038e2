//! Credentials: argon2id password hashes, random secrets stored only as
//! SHA-256 hashes, a short-lived cache of authenticated secrets, the
//! per-IP counter that slows down signup and the limiter that slows down
//! password guessing.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use argon2::password_hash::{PasswordHasher, PasswordVerifier};
use argon2::Argon2;
use parking_lot::Mutex;
use sha2::{Digest, Sha256};
use tokio::sync::Semaphore;

use crate::core::Timestamp;
use crate::store::Credential;

/// Hashes a password with argon2id (OWASP parameters: 19 MiB, t=2, p=1).
/// CPU-heavy: call it from `spawn_blocking`.
///
/// # Errors
/// Only if argon2 rejects its own parameters (never for valid input).
pub fn hash_password(password: &str) -> Result<String, String> {
    Argon2::default()
        .hash_password(password.as_bytes())
        .map(|h| h.to_string())
        .map_err(|e| e.to_string())
}

/// Checks a password against a stored PHC hash. CPU-heavy, like [`hash_password`].
pub fn verify_password(password: &str, hash: &str) -> bool {
    Argon2::default()
        .verify_password(password.as_bytes(), hash)
        .is_ok()
}

/// A hash to verify against when the user does not exist, so a login for an
/// unknown name costs the same time as one with a wrong password.
pub fn dummy_hash() -> &'static str {
    static DUMMY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    DUMMY.get_or_init(|| hash_password("not-a-real-password").unwrap_or_default())
}

/// A new random secret with a readable prefix (`cbs_` session, `cbt_` token,
/// `cbi_` invite): 32 random bytes, hex.
pub fn new_secret(prefix: &str) -> String {
    let mut buf = [0u8; 32];
    if getrandom::fill(&mut buf).is_err() {
        // The OS RNG failing is unrecoverable; uuid v4 draws from the same source.
        let a = uuid::Uuid::new_v4();
        let b = uuid::Uuid::new_v4();
        buf[..16].copy_from_slice(a.as_bytes());
        buf[16..].copy_from_slice(b.as_bytes());
    }
    format!("{prefix}{}", hex::encode(buf))
}

/// The stored form of a secret: SHA-256, hex. (Secrets are random and long,
/// so a fast hash is enough; passwords get argon2.)
pub fn hash_secret(secret: &str) -> String {
    hex::encode(Sha256::digest(secret.as_bytes()))
}

/// Authenticated secrets, kept briefly so a request does not hit the
/// database to authenticate. Revocations on this node take effect at once;
/// on other nodes (cluster mode) within [`CredentialCache::TTL`].
#[derive(Default)]
pub struct CredentialCache {
    map: Mutex<HashMap<String, (Credential, Instant)>>,
}

impl CredentialCache {
    /// How long an entry is trusted.
    pub const TTL: Duration = Duration::from_secs(10);
    const MAX: usize = 100_000;

    /// The cached credential for a secret hash, if still fresh.
    pub fn get(&self, hash: &str) -> Option<Credential> {
        let map = self.map.lock();
        map.get(hash)
            .filter(|(_, at)| at.elapsed() < Self::TTL)
            .map(|(c, _)| c.clone())
    }

    /// Remembers a credential found in the store.
    pub fn put(&self, hash: String, c: Credential) {
        let mut map = self.map.lock();
        if map.len() >= Self::MAX {
            map.retain(|_, (_, at)| at.elapsed() < Self::TTL);
            if map.len() >= Self::MAX {
                map.clear();
            }
        }
        map.insert(hash, (c, Instant::now()));
    }

    /// Forgets a revoked credential.
    pub fn forget(&self, credential_id: &str) {
        self.map.lock().retain(|_, (c, _)| c.id != credential_id);
    }
}

/// Counts events per client IP in fixed one-minute windows.
pub struct IpCounter {
    per_minute: u32,
    map: Mutex<HashMap<IpAddr, (i64, u32)>>,
}

impl IpCounter {
    /// A counter allowing `per_minute` events per IP per minute.
    pub fn new(per_minute: u32) -> Self {
        Self {
            per_minute,
            map: Mutex::new(HashMap::new()),
        }
    }

    /// Counts one event for `ip`; returns false if it was over the allowance.
    pub fn hit(&self, ip: IpAddr, now: Timestamp) -> bool {
        let window = now.0.div_euclid(60_000);
        let mut map = self.map.lock();
        if map.len() > 100_000 {
            map.retain(|_, (w, _)| *w == window);
        }
        let e = map.entry(ip).or_insert((window, 0));
        if e.0 != window {
            *e = (window, 0);
        }
        if e.1 >= self.per_minute {
            return false;
        }
        e.1 += 1;
        true
    }

    /// Seconds until the current window ends (for `Retry-After`).
    pub fn retry_after(now: Timestamp) -> u64 {
        (60 - (now.0.div_euclid(1000).rem_euclid(60))) as u64
    }
}

/// Slots for argon2 work: each hash holds 19 MiB and a core, so a burst of
/// logins queues for a slot instead of running (and allocating) all at once.
pub struct HashSlots(Arc<Semaphore>);

impl HashSlots {
    /// `n` hashes at once (at least one).
    pub fn new(n: usize) -> Self {
        Self(Arc::new(Semaphore::new(n.max(1))))
    }

    /// Runs `f` on the blocking pool once a slot is free. The slot travels
    /// with the work, so a caller that goes away does not free it before
    /// the hash is done. `None` if `f` panicked.
    pub async fn run<T: Send + 'static>(
        &self,
        f: impl FnOnce() -> T + Send + 'static,
    ) -> Option<T> {
        let slot = self.0.clone().acquire_owned().await.ok()?;
        tokio::task::spawn_blocking(move || {
            let out = f();
            drop(slot);
            out
        })
        .await
        .ok()
    }
}

/// How signups, logins and password hashing are bounded (the
/// `--signups-per-minute`, `--failed-logins-per-minute`, `--login-backoff-*`,
/// `--account-slowdown-after` and `--max-concurrent-hashes` flags).
#[derive(Clone, Debug)]
pub struct AuthLimits {
    /// Signups per client address per minute.
    pub signups_per_minute: u32,
    /// Password hashes computed at once (each takes 19 MiB and a core).
    pub max_concurrent_hashes: usize,
    /// Failed logins per client address per minute, any account (then 429
    /// until the minute ends).
    pub failures_per_minute: u32,
    /// Consecutive failures of one (account, address) pair before that pair
    /// must wait between attempts.
    pub backoff_after: u32,
    /// Longest wait of a pair, in seconds (the wait doubles up to it).
    pub backoff_max_secs: u64,
    /// Failures on one account within a minute, from all addresses, after
    /// which attempts on it are queued one second apart (never refused).
    pub account_slowdown_after: u32,
    /// How long sessions last.
    pub sessions: SessionPolicy,
}

/// When a session ends on its own (the `--session-idle-timeout` and
/// `--session-max-age` flags): after `idle_ms` without authenticating a
/// request, or `max_age_ms` after it was opened, whichever comes first.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SessionPolicy {
    /// Longest time between two uses, ms.
    pub idle_ms: i64,
    /// Longest life whatever the use, ms (also the cookie's Max-Age).
    pub max_age_ms: i64,
}

impl Default for SessionPolicy {
    /// 14 days idle, 30 days in all.
    fn default() -> Self {
        Self {
            idle_ms: 14 * 24 * 3_600_000,
            max_age_ms: 30 * 24 * 3_600_000,
        }
    }
}

impl SessionPolicy {
    /// When a session created at `created` and last used at `last_used` ends.
    pub fn expires_at(&self, created: Timestamp, last_used: Timestamp) -> Timestamp {
        Timestamp(
            created
                .0
                .saturating_add(self.max_age_ms)
                .min(last_used.0.saturating_add(self.idle_ms)),
        )
    }

    /// Whether that session has ended by `now`.
    pub fn expired(&self, created: Timestamp, last_used: Timestamp, now: Timestamp) -> bool {
        now >= self.expires_at(created, last_used)
    }

    /// `(created_by, used_by)`: sessions created at or before the first, or
    /// last used at or before the second, have ended by `now`.
    pub fn cutoffs(&self, now: Timestamp) -> (Timestamp, Timestamp) {
        (
            Timestamp(now.0.saturating_sub(self.max_age_ms)),
            Timestamp(now.0.saturating_sub(self.idle_ms)),
        )
    }

    /// How stale a session's recorded last use may get before a request
    /// records it again: a minute, or a quarter of the idle timeout if that
    /// is shorter (so the write is rare and the idle expiry still precise).
    pub fn touch_after_ms(&self) -> i64 {
        (self.idle_ms / 4).clamp(1, 60_000)
    }

    /// How often expired sessions are swept (and their connections closed):
    /// a minute, or a quarter of the shorter limit, at least 100 ms.
    pub fn sweep_every(&self) -> Duration {
        let ms = (self.idle_ms.min(self.max_age_ms) / 4).clamp(100, 60_000);
        Duration::from_millis(ms as u64)
    }
}

/// A (lowercased) username.
type Account = String;

/// One (account, address) pair's record.
struct Backoff {
    /// Consecutive failures (attempts in flight count as failures).
    failures: u32,
    /// No attempt before this time, ms.
    until: i64,
    /// The last attempt, ms: a pair quiet for the longest wait starts afresh.
    last: i64,
}

/// One account's failures in the current minute, and its queue.
struct AccountLoad {
    window: i64,
    failures: u32,
    /// The earliest start of the next queued attempt, ms.
    next_slot: i64,
}

#[derive(Default)]
struct LoginState {
    per_ip: HashMap<IpAddr, (i64, u32)>,
    per_pair: HashMap<(Account, IpAddr), Backoff>,
    per_account: HashMap<Account, AccountLoad>,
}

/// Throttles password guessing per client address, per (account, address)
/// pair and per account. An attempt is counted as a failure when it starts
/// ([`LoginLimiter::begin`]) and refunded if the password was right
/// ([`LoginLimiter::succeeded`]): concurrent guesses see each other, so 40
/// at once cannot all be checked against a limit of 20.
pub struct LoginLimiter {
    policy: AuthLimits,
    state: Mutex<LoginState>,
}

/// An attempt that [`LoginLimiter::begin`] let through.
pub struct LoginAttempt {
    account: Account,
    ip: IpAddr,
    /// How long to wait before checking the password (the account's queue).
    pub delay: Duration,
}

/// Entries kept before expired ones are swept.
const MAX_ENTRIES: usize = 100_000;

impl LoginLimiter {
    /// A limiter with `policy`.
    pub fn new(policy: AuthLimits) -> Self {
        Self {
            policy,
            state: Mutex::new(LoginState::default()),
        }
    }

    /// Reserves an attempt by `ip` on `account`, counting it as a failure.
    ///
    /// # Errors
    /// The seconds to wait, when the address has used up its minute or the
    /// pair is backing off.
    pub fn begin(&self, account: &str, ip: IpAddr, now: Timestamp) -> Result<LoginAttempt, u64> {
        let now = now.0;
        let window = now.div_euclid(60_000);
        let mut st = self.state.lock();
        if st.per_ip.len() + st.per_pair.len() + st.per_account.len() > MAX_ENTRIES {
            st.sweep(window, now, (self.policy.backoff_max_secs * 1000) as i64);
        }
        let per_ip = st.per_ip.get(&ip).filter(|(w, _)| *w == window);
        if per_ip.is_some_and(|(_, n)| *n >= self.policy.failures_per_minute) {
            return Err(IpCounter::retry_after(Timestamp(now)));
        }
        let key = (account.to_owned(), ip);
        if let Some(b) = st.per_pair.get(&key).filter(|b| now < b.until) {
            return Err(((b.until - now) as u64).div_ceil(1000));
        }
        let n = st.per_ip.entry(ip).or_insert((window, 0));
        if n.0 != window {
            *n = (window, 0);
        }
        n.1 += 1;
        let max_ms = (self.policy.backoff_max_secs * 1000) as i64;
        let b = st.per_pair.entry(key).or_insert(Backoff {
            failures: 0,
            until: 0,
            last: now,
        });
        if now - b.last > max_ms {
            b.failures = 0;
        }
        b.last = now;
        b.failures += 1;
        if b.failures >= self.policy.backoff_after {
            let doublings = (b.failures - self.policy.backoff_after).min(30);
            b.until = now + (1000i64 << doublings).min(max_ms);
        }
        let load = st
            .per_account
            .entry(account.to_owned())
            .or_insert(AccountLoad {
                window,
                failures: 0,
                next_slot: 0,
            });
        if load.window != window {
            load.window = window;
            load.failures = 0;
        }
        let mut delay = Duration::ZERO;
        if load.failures >= self.policy.account_slowdown_after {
            let slot = load.next_slot.max(now);
            load.next_slot = slot + 1000;
            delay = Duration::from_millis((slot - now) as u64);
        }
        load.failures += 1;
        Ok(LoginAttempt {
            account: account.to_owned(),
            ip,
            delay,
        })
    }

    /// The password was right: the attempt is not a failure after all, and
    /// the pair starts afresh. (The account's count stays: others may still
    /// be guessing.)
    pub fn succeeded(&self, a: LoginAttempt) {
        let mut st = self.state.lock();
        if let Some(n) = st.per_ip.get_mut(&a.ip) {
            n.1 = n.1.saturating_sub(1);
        }
        st.per_pair.remove(&(a.account, a.ip));
    }
}

impl LoginState {
    /// Drops what no longer limits anything; everything if that is not enough.
    fn sweep(&mut self, window: i64, now: i64, max_ms: i64) {
        self.per_ip.retain(|_, (w, _)| *w == window);
        // A pair quiet for the longest wait starts afresh anyway.
        self.per_pair.retain(|_, b| now - b.last <= max_ms);
        self.per_account
            .retain(|_, l| l.window == window || l.next_slot > now);
        if self.per_ip.len() + self.per_pair.len() + self.per_account.len() > MAX_ENTRIES {
            *self = LoginState::default();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_verify_only_themselves() {
        let h = hash_password("correct horse").unwrap();
        assert!(h.starts_with("$argon2id$"));
        assert!(verify_password("correct horse", &h));
        assert!(!verify_password("wrong horse", &h));
        assert!(!verify_password("x", "not a hash"));
    }

    #[test]
    fn secrets_are_random_and_hashed() {
        let a = new_secret("cbt_");
        let b = new_secret("cbt_");
        assert_ne!(a, b);
        assert_eq!(a.len(), 4 + 64);
        assert_eq!(hash_secret(&a).len(), 64);
        assert_ne!(hash_secret(&a), a);
    }

    #[test]
    fn ip_counter_resets_each_minute() {
        let c = IpCounter::new(2);
        let ip: IpAddr = "127.0.0.1".parse().unwrap();
        let t = Timestamp(60_000 * 10);
        assert!(c.hit(ip, t) && c.hit(ip, t));
        assert!(!c.hit(ip, t));
        assert!(c.hit("127.0.0.2".parse().unwrap(), t));
        assert!(c.hit(ip, Timestamp(t.0 + 60_000)));
    }

    fn limiter(per_minute: u32, backoff_after: u32, slowdown_after: u32) -> LoginLimiter {
        LoginLimiter::new(AuthLimits {
            signups_per_minute: 10,
            max_concurrent_hashes: 1,
            failures_per_minute: per_minute,
            backoff_after,
            backoff_max_secs: 8,
            account_slowdown_after: slowdown_after,
            sessions: SessionPolicy::default(),
        })
    }

    /// Attempts count when they begin; a success gives the address its slot back.
    #[test]
    fn login_attempts_count_up_front() {
        let l = limiter(2, 100, 100);
        let ip: IpAddr = "198.51.100.1".parse().unwrap();
        let t = Timestamp(60_000 * 10 + 30_000);
        let a = l.begin("ann", ip, t).unwrap();
        let _b = l.begin("bob", ip, t).unwrap();
        assert_eq!(l.begin("cy", ip, t).err(), Some(30));
        l.succeeded(a);
        assert!(l.begin("cy", ip, t).is_ok());
        assert!(l.begin("cy", ip, Timestamp(t.0 + 30_000)).is_ok());
    }

    /// A pair's wait doubles up to the cap; other addresses and a quiet spell are not affected.
    #[test]
    fn login_backoff_doubles_to_the_cap() {
        let l = limiter(1000, 2, 100);
        let ip: IpAddr = "198.51.100.1".parse().unwrap();
        let mut t = 1_000_000;
        assert!(l.begin("ann", ip, Timestamp(t)).is_ok());
        for wait in [1, 2, 4, 8, 8] {
            assert!(l.begin("ann", ip, Timestamp(t)).is_ok());
            assert_eq!(l.begin("ann", ip, Timestamp(t)).err(), Some(wait));
            assert!(l.begin("ann", "::1".parse().unwrap(), Timestamp(t)).is_ok());
            t += wait as i64 * 1000;
        }
        // Quiet for longer than the cap: a fresh start.
        t += 9_000;
        assert!(l.begin("ann", ip, Timestamp(t)).is_ok());
        assert!(l.begin("ann", ip, Timestamp(t)).is_ok());
    }

    /// Past the account's budget, attempts from anywhere queue one second apart; none is refused.
    #[test]
    fn busy_accounts_are_slowed_not_locked() {
        let l = limiter(1000, 1000, 2);
        let t = Timestamp(60_000 * 10);
        let delays: Vec<u64> = (0..5u8)
            .map(|i| {
                let ip = IpAddr::from([198, 51, 100, i]);
                l.begin("ann", ip, t).unwrap().delay.as_millis() as u64
            })
            .collect();
        assert_eq!(delays, [0, 0, 0, 1000, 2000]);
        let other = l.begin("bob", IpAddr::from([198, 51, 100, 9]), t).unwrap();
        assert!(other.delay.is_zero());
    }

    /// 8 hashes asked for at once with 2 slots: never more than 2 run together.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn hash_slots_bound_the_work_in_flight() {
        use std::sync::atomic::{AtomicUsize, Ordering};
        let slots = Arc::new(HashSlots::new(2));
        let running = Arc::new(AtomicUsize::new(0));
        let most = Arc::new(AtomicUsize::new(0));
        let jobs: Vec<_> = (0..8)
            .map(|i| {
                let (slots, running, most) = (slots.clone(), running.clone(), most.clone());
                tokio::spawn(async move {
                    slots
                        .run(move || {
                            let now = running.fetch_add(1, Ordering::SeqCst) + 1;
                            most.fetch_max(now, Ordering::SeqCst);
                            std::thread::sleep(Duration::from_millis(20));
                            running.fetch_sub(1, Ordering::SeqCst);
                            i
                        })
                        .await
                })
            })
            .collect();
        for (i, j) in jobs.into_iter().enumerate() {
            assert_eq!(j.await.unwrap(), Some(i));
        }
        let most = most.load(Ordering::SeqCst);
        assert!((1..=2).contains(&most), "{most} hashes ran at once");
    }

    /// A session ends at the earlier of its idle and absolute limits; the
    /// sweep's cutoffs agree with [`SessionPolicy::expired`].
    #[test]
    fn sessions_end_at_the_earlier_limit() {
        let p = SessionPolicy {
            idle_ms: 100,
            max_age_ms: 1000,
        };
        assert_eq!(p.expires_at(Timestamp(0), Timestamp(50)), Timestamp(150));
        assert_eq!(p.expires_at(Timestamp(0), Timestamp(950)), Timestamp(1000));
        assert!(!p.expired(Timestamp(0), Timestamp(50), Timestamp(149)));
        assert!(p.expired(Timestamp(0), Timestamp(50), Timestamp(150)));
        // At 150 the sweep ends what was last used at or before 50.
        assert_eq!(p.cutoffs(Timestamp(150)), (Timestamp(-850), Timestamp(50)));
        assert_eq!(p.touch_after_ms(), 25);
        assert_eq!(p.sweep_every(), Duration::from_millis(100));
        let d = SessionPolicy::default();
        assert_eq!(d.touch_after_ms(), 60_000);
        assert_eq!(d.sweep_every(), Duration::from_secs(60));
    }

    #[test]
    fn cache_forgets_revoked_credentials() {
        let c = CredentialCache::default();
        let cred = Credential {
            id: "c1".into(),
            kind: crate::store::CredentialKind::Token,
            user: crate::core::User {
                id: "u".into(),
                username: "ann".into(),
            },
            created_at: Timestamp(1),
            last_used_at: Timestamp(1),
        };
        c.put("h".into(), cred.clone());
        assert_eq!(c.get("h"), Some(cred));
        c.forget("c1");
        assert_eq!(c.get("h"), None);
    }
}
