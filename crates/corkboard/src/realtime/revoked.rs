//! Credentials revoked recently on this node, so a connection that
//! authenticated just before a logout or token revocation, and registers
//! just after it, is refused instead of outliving it. The hub records a
//! revocation and refuses registrations under its registry lock, so either
//! the registration comes first (and the kick closes it) or the revocation
//! does (and the registration is refused): revocation wins every race.

use std::collections::{HashSet, VecDeque};

use crate::core::Timestamp;

/// How long a revocation is remembered: far longer than the gap between
/// authenticating a request and registering its connection.
const KEEP_MS: i64 = 10 * 60 * 1000;
/// At most this many are remembered (the oldest are forgotten first).
const MAX: usize = 100_000;

/// Recently revoked credential ids.
#[derive(Default)]
pub struct RevokedSet {
    order: VecDeque<(Timestamp, String)>,
    ids: HashSet<String>,
}

impl RevokedSet {
    /// Remembers that `credential_id` was revoked at `now`.
    pub fn insert(&mut self, credential_id: &str, now: Timestamp) {
        self.prune(now);
        if self.ids.insert(credential_id.to_owned()) {
            self.order.push_back((now, credential_id.to_owned()));
        }
        while self.order.len() > MAX {
            if let Some((_, id)) = self.order.pop_front() {
                self.ids.remove(&id);
            }
        }
    }

    /// Whether `credential_id` was revoked recently.
    pub fn contains(&self, credential_id: &str) -> bool {
        self.ids.contains(credential_id)
    }

    fn prune(&mut self, now: Timestamp) {
        while let Some((at, _)) = self.order.front() {
            if now.0 - at.0 <= KEEP_MS {
                break;
            }
            if let Some((_, id)) = self.order.pop_front() {
                self.ids.remove(&id);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn remembered_for_a_while_then_forgotten() {
        let mut r = RevokedSet::default();
        r.insert("a", Timestamp(0));
        assert!(r.contains("a"));
        r.insert("b", Timestamp(KEEP_MS));
        assert!(r.contains("a"), "still within the window");
        r.insert("c", Timestamp(KEEP_MS + 1));
        assert!(!r.contains("a"));
        assert!(r.contains("b") && r.contains("c"));
    }
}
