//! A randomized model test of the [`Registry`]: random connects,
//! subscriptions (begin, go live, resubscribe), unsubscribes, disconnects,
//! credential kicks and other nodes' presence reports, with
//! [`Registry::check_invariants`] after every step and the registry compared
//! with a plain model: the set of (connection, board) subscriptions, which
//! of them count in presence, and who is present where.
//!
//! Replayable: each run prints `seed = N`; `CORKBOARD_SEED=N cargo test -p
//! corkboard --lib registry_model` runs that seed alone. Without it, a few
//! random seeds run, a few hundred steps each, within a time budget.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::{Duration, Instant};

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use super::frames::{Presence, Transport};
use super::outbox::Outbox;
use super::registry::{ConnId, Counted, Detached, Registry};
use crate::core::{Timestamp, User};

const USERS: usize = 4;
const CREDENTIALS: usize = 3;
const BOARDS: [&str; 3] = ["b0", "b1", "b2"];
const NODES: [&str; 2] = ["n1", "n2"];
const MAX_PER_USER: u32 = 3;
const SEEDS: usize = 8;
const STEPS: usize = 400;
const BUDGET: Duration = Duration::from_secs(20);

fn user(i: usize) -> User {
    User {
        id: format!("u{i}"),
        username: format!("user{i}"),
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum SubMode {
    Buffering,
    Live(u64),
}

struct ModelConn {
    user: usize,
    credential: usize,
    outbox: Arc<Outbox>,
}

#[derive(Debug, Clone, Copy)]
struct ModelSub {
    present: bool,
    mode: SubMode,
}

/// What the registry should hold.
#[derive(Default)]
struct Model {
    conns: BTreeMap<ConnId, ModelConn>,
    subs: BTreeMap<(ConnId, &'static str), ModelSub>,
    /// (board, node) → (user indexes, expires).
    remote: BTreeMap<(&'static str, &'static str), (BTreeSet<usize>, i64)>,
}

impl Model {
    fn local_count(&self, board: &str, u: usize) -> u32 {
        self.subs
            .iter()
            .filter(|((c, b), s)| *b == board && s.present && self.conns[c].user == u)
            .count() as u32
    }

    fn remote_has(&self, board: &str, u: usize) -> bool {
        self.remote
            .iter()
            .any(|((b, _), (users, _))| *b == board && users.contains(&u))
    }

    fn is_present(&self, board: &str, u: usize) -> bool {
        self.local_count(board, u) > 0 || self.remote_has(board, u)
    }

    fn present_users(&self, board: &str) -> BTreeSet<usize> {
        (0..USERS).filter(|u| self.is_present(board, *u)).collect()
    }

    fn conns_of_user(&self, u: usize) -> usize {
        self.conns.values().filter(|c| c.user == u).count()
    }
}

/// One run: the registry and the model side by side.
struct Run {
    seed: u64,
    rng: StdRng,
    reg: Registry,
    model: Model,
    step: usize,
}

impl Run {
    fn new(seed: u64) -> Self {
        Self {
            seed,
            rng: StdRng::seed_from_u64(seed),
            reg: Registry::new(MAX_PER_USER),
            model: Model::default(),
            step: 0,
        }
    }

    fn fail(&self, what: &str) -> ! {
        panic!(
            "seed = {} step {}: {what}\nreplay with CORKBOARD_SEED={}",
            self.seed, self.step, self.seed
        )
    }

    fn expect(&self, ok: bool, what: impl FnOnce() -> String) {
        if !ok {
            self.fail(&what());
        }
    }

    /// A connection id: usually an open one, sometimes one that is not.
    fn pick_conn(&mut self) -> ConnId {
        let open: Vec<ConnId> = self.model.conns.keys().copied().collect();
        if open.is_empty() || self.rng.random_bool(0.1) {
            self.rng.random_range(1..40)
        } else {
            open[self.rng.random_range(0..open.len())]
        }
    }

    /// A (connection, board): usually a subscription that exists.
    fn pick_sub(&mut self) -> (ConnId, &'static str) {
        let subs: Vec<_> = self.model.subs.keys().copied().collect();
        if subs.is_empty() || self.rng.random_bool(0.3) {
            let c = self.pick_conn();
            (c, BOARDS[self.rng.random_range(0..BOARDS.len())])
        } else {
            subs[self.rng.random_range(0..subs.len())]
        }
    }

    fn now(&self) -> Timestamp {
        Timestamp(self.step as i64)
    }

    fn connect(&mut self) {
        let u = self.rng.random_range(0..USERS);
        let credential = self.rng.random_range(0..CREDENTIALS);
        let transport = if self.rng.random_bool(0.5) {
            Transport::WebSocket
        } else {
            Transport::Sse
        };
        let outbox = Arc::new(Outbox::new(1 << 10));
        let got = self.reg.connect(
            &user(u),
            &format!("c{credential}"),
            transport,
            outbox.clone(),
        );
        let allowed = self.model.conns_of_user(u) < MAX_PER_USER as usize;
        self.expect(got.is_some() == allowed, || {
            format!("connect user {u}: got {got:?}, allowed {allowed}")
        });
        if let Some(id) = got {
            self.expect(!self.model.conns.contains_key(&id), || {
                format!("id {id} reused")
            });
            self.model.conns.insert(
                id,
                ModelConn {
                    user: u,
                    credential,
                    outbox,
                },
            );
        }
    }

    fn begin(&mut self) {
        let (c, board) = self.pick_sub();
        let added = self.reg.begin(c, board);
        let open = self.model.conns.contains_key(&c);
        let existed = self.model.subs.contains_key(&(c, board));
        self.expect(added == (open && !existed), || {
            format!("begin {c} {board}: added {added}, open {open}, existed {existed}")
        });
        if open {
            let sub = self.model.subs.entry((c, board)).or_insert(ModelSub {
                present: false,
                mode: SubMode::Buffering,
            });
            // A resubscribe buffers again but stays counted in presence.
            sub.mode = SubMode::Buffering;
        }
    }

    fn go_live(&mut self) {
        let (c, board) = self.pick_sub();
        let last = self.step as u64;
        let switched = self.reg.member_mut(c, board).map(|m| m.go_live(last));
        let exists = self.model.subs.contains_key(&(c, board));
        self.expect(switched.is_some() == exists, || {
            format!(
                "go live {c} {board}: member found {}, model {exists}",
                switched.is_some()
            )
        });
        self.expect(switched.is_none_or(|held| held.is_empty()), || {
            "events held though none were dispatched".into()
        });
        let was_present = exists && self.model.is_present(board, self.model.conns[&c].user);
        let counted = self.reg.count_present(c, board, self.now());
        let Some(sub) = self.model.subs.get_mut(&(c, board)) else {
            self.expect(counted == Counted::Gone, || {
                format!("count {c} {board}: {counted:?}")
            });
            return;
        };
        sub.mode = SubMode::Live(last);
        let want = if sub.present {
            Counted::Already
        } else {
            sub.present = true;
            let u = self.model.conns[&c].user;
            Counted::Now {
                joined: (!was_present).then(|| Presence {
                    user: user(u),
                    connections: 1,
                    since: self.now(),
                }),
            }
        };
        self.expect(counted == want, || {
            format!("count {c} {board}: got {counted:?}, want {want:?}")
        });
    }

    /// Checks what ending `c`'s subscription to `board` reported, once the
    /// model no longer has it.
    fn check_detached(&self, c: ConnId, u: usize, sub: ModelSub, d: &Detached) {
        let left = sub.present && !self.model.is_present(d.board.as_str(), u);
        self.expect(d.present == sub.present && d.left.is_some() == left, || {
            format!(
                "detach {c} {}: got {d:?}, want present {} left {left}",
                d.board, sub.present
            )
        });
        if let Some(p) = &d.left {
            self.expect(p.user.id == user(u).id && p.connections == 0, || {
                format!("left entry {p:?}")
            });
        }
    }

    fn unsubscribe(&mut self) {
        let (c, board) = self.pick_sub();
        let got = self.reg.unsubscribe(c, board);
        match self.model.subs.remove(&(c, board)) {
            None => self.expect(got.is_none(), || {
                format!("unsubscribe {c} {board}: {got:?}")
            }),
            Some(sub) => {
                let Some(d) = got else {
                    self.fail(&format!("unsubscribe {c} {board}: nothing ended"));
                };
                self.expect(d.board == board, || format!("ended {d:?}"));
                self.check_detached(c, self.model.conns[&c].user, sub, &d);
            }
        }
    }

    fn disconnect_conn(&mut self, c: ConnId) {
        let got = self.reg.disconnect(c);
        let Some(conn) = self.model.conns.remove(&c) else {
            self.expect(got.is_none(), || {
                format!("disconnect {c}: not open, yet ended")
            });
            return;
        };
        let Some(gone) = got else {
            self.fail(&format!("disconnect {c}: open, yet nothing ended"));
        };
        let subs: Vec<_> = self
            .model
            .subs
            .keys()
            .filter(|(x, _)| *x == c)
            .copied()
            .collect();
        let mut removed = BTreeMap::new();
        for key in subs {
            let sub = self.model.subs.remove(&key).expect("listed");
            removed.insert(key.1, sub);
        }
        let ended: BTreeSet<&str> = gone.detached.iter().map(|d| d.board.as_str()).collect();
        let want: BTreeSet<&str> = removed.keys().copied().collect();
        self.expect(ended == want, || {
            format!("disconnect {c}: ended {ended:?}, want {want:?}")
        });
        for d in &gone.detached {
            self.check_detached(c, conn.user, removed[d.board.as_str()], d);
        }
    }

    fn disconnect(&mut self) {
        let c = self.pick_conn();
        self.disconnect_conn(c);
    }

    /// Revokes a credential: its connections are asked to close, and the
    /// doors unregister them as they end.
    fn kick(&mut self) {
        let credential = self.rng.random_range(0..CREDENTIALS);
        let name = format!("c{credential}");
        let closing: Vec<*const Outbox> = self
            .reg
            .outboxes_of(&name)
            .map(|o| o as *const Outbox)
            .collect();
        let of: Vec<ConnId> = self
            .model
            .conns
            .iter()
            .filter(|(_, m)| m.credential == credential)
            .map(|(c, _)| *c)
            .collect();
        let want: Vec<*const Outbox> = of
            .iter()
            .map(|c| Arc::as_ptr(&self.model.conns[c].outbox))
            .collect();
        let (mut a, mut b) = (closing.clone(), want);
        a.sort();
        b.sort();
        self.expect(a == b, || format!("kick {name}: outboxes differ"));
        for outbox in self.reg.outboxes_of(&name) {
            outbox.close(super::CloseReason::CredentialRevoked);
        }
        for c in of {
            self.expect(self.model.conns[&c].outbox.is_closed(), || {
                format!("{c} not closed")
            });
            self.disconnect_conn(c);
        }
    }

    fn set_remote(&mut self) {
        let board = BOARDS[self.rng.random_range(0..BOARDS.len())];
        let node = NODES[self.rng.random_range(0..NODES.len())];
        let users: BTreeSet<usize> = (0..USERS).filter(|_| self.rng.random_bool(0.3)).collect();
        let expires = self.step as i64 + self.rng.random_range(0..30);
        let before = self.model.present_users(board);
        if users.is_empty() {
            self.model.remote.remove(&(board, node));
        } else {
            self.model
                .remote
                .insert((board, node), (users.clone(), expires));
        }
        let after = self.model.present_users(board);
        let list = users
            .iter()
            .map(|u| Presence {
                user: user(*u),
                connections: 1,
                since: Timestamp(0),
            })
            .collect();
        let changes = self
            .reg
            .set_remote_presence(board, node, list, Timestamp(expires));
        self.check_changes(board, &before, &after, &changes.joined, &changes.left);
    }

    fn expire(&mut self) {
        let now = self.step as i64;
        let mut before = BTreeMap::new();
        for board in BOARDS {
            before.insert(board, self.model.present_users(board));
        }
        self.model.remote.retain(|_, (_, expires)| *expires >= now);
        let changed = self.reg.expire_remote_presence(Timestamp(now));
        for board in BOARDS {
            let after = self.model.present_users(board);
            let (joined, left) = changed
                .iter()
                .find(|(b, _)| b == board)
                .map(|(_, c)| (c.joined.clone(), c.left.clone()))
                .unwrap_or_default();
            self.check_changes(board, &before[board], &after, &joined, &left);
        }
    }

    fn check_changes(
        &self,
        board: &str,
        before: &BTreeSet<usize>,
        after: &BTreeSet<usize>,
        joined: &[Presence],
        left: &[Presence],
    ) {
        let ids =
            |l: &[Presence]| -> BTreeSet<String> { l.iter().map(|p| p.user.id.clone()).collect() };
        let names = |s: BTreeSet<&usize>| -> BTreeSet<String> {
            s.into_iter().map(|u| user(*u).id).collect()
        };
        let want_joined = names(after.difference(before).collect());
        let want_left = names(before.difference(after).collect());
        self.expect(ids(joined) == want_joined && ids(left) == want_left, || {
            format!(
                "{board}: joined {joined:?} left {left:?}, want {want_joined:?} / {want_left:?}"
            )
        });
    }

    /// Everything the registry answers agrees with the model.
    fn compare(&self) {
        if let Err(e) = self.reg.check_invariants() {
            self.fail(&format!("invariant broken: {e}"));
        }
        self.expect(
            self.reg.connection_count() == self.model.conns.len(),
            || "connection count".into(),
        );
        for board in BOARDS {
            let mut members: Vec<ConnId> = self.reg.members(board).iter().map(|m| m.conn).collect();
            members.sort_unstable();
            let want: Vec<ConnId> = self
                .model
                .subs
                .keys()
                .filter(|(_, b)| *b == board)
                .map(|(c, _)| *c)
                .collect();
            self.expect(members == want, || {
                format!("{board}: members {members:?}, want {want:?}")
            });
            let position = self
                .model
                .subs
                .iter()
                .filter(|((_, b), _)| *b == board)
                .filter_map(|(_, s)| match s.mode {
                    SubMode::Live(last) => Some(last),
                    SubMode::Buffering => None,
                })
                .min();
            self.expect(self.reg.position(board) == position, || {
                format!("{board}: position")
            });
            let local = self.reg.presence().local_members(board);
            for u in 0..USERS {
                let n = self.model.local_count(board, u);
                let got = local
                    .iter()
                    .find(|p| p.user.id == user(u).id)
                    .map_or(0, |p| p.connections);
                self.expect(got == n, || {
                    format!("{board}: user {u} counted {got}, want {n}")
                });
                let present = self.model.is_present(board, u);
                self.expect(
                    self.reg.presence().is_present(board, &user(u).id) == present,
                    || format!("{board}: user {u} present should be {present}"),
                );
            }
            for c in self.model.conns.keys() {
                let subscribed = self.model.subs.contains_key(&(*c, board));
                self.expect(self.reg.is_subscribed(*c, board) == subscribed, || {
                    format!("{board}: is_subscribed({c})")
                });
            }
        }
    }

    fn run(&mut self, steps: usize) {
        for step in 0..steps {
            self.step = step;
            match self.rng.random_range(0..100) {
                0..=14 => self.connect(),
                15..=39 => self.begin(),
                40..=59 => self.go_live(),
                60..=69 => self.unsubscribe(),
                70..=79 => self.disconnect(),
                80..=84 => self.kick(),
                85..=94 => self.set_remote(),
                _ => self.expire(),
            }
            self.compare();
        }
    }
}

#[test]
fn registry_matches_its_model_under_random_steps() {
    let fixed = std::env::var("CORKBOARD_SEED")
        .ok()
        .and_then(|s| s.trim().parse::<u64>().ok());
    let seeds: Vec<u64> = match fixed {
        Some(seed) => vec![seed],
        None => (0..SEEDS).map(|_| rand::random()).collect(),
    };
    let deadline = Instant::now() + BUDGET;
    for seed in seeds {
        eprintln!("seed = {seed}");
        Run::new(seed).run(STEPS);
        if Instant::now() > deadline {
            break;
        }
    }
}
