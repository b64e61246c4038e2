//! Credentials: argon2id password hashes, random secrets stored only as
//! SHA-256 hashes, a short-lived cache of authenticated secrets, and the
//! per-IP counters that slow down signup and password guessing.

use std::collections::HashMap;
use std::net::IpAddr;
use std::time::{Duration, Instant};

use argon2::password_hash::{PasswordHasher, PasswordVerifier};
use argon2::Argon2;
use parking_lot::Mutex;
use sha2::{Digest, Sha256};

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

    /// Whether `ip` has used up its allowance in the current window.
    pub fn exhausted(&self, ip: IpAddr, now: Timestamp) -> bool {
        let window = now.0.div_euclid(60_000);
        let map = self.map.lock();
        matches!(map.get(&ip), Some((w, n)) if *w == window && *n >= self.per_minute)
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
        assert!(c.exhausted(ip, t));
        assert!(c.hit("127.0.0.2".parse().unwrap(), t));
        assert!(c.hit(ip, Timestamp(t.0 + 60_000)));
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
        };
        c.put("h".into(), cred.clone());
        assert_eq!(c.get("h"), Some(cred));
        c.forget("c1");
        assert_eq!(c.get("h"), None);
    }
}
