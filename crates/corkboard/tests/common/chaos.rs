//! Random mutations for the delivery and cluster tests, drawn from an RNG the
//! test seeds with `common::seed::seed` (so `CORKBOARD_SEED=<seed>` replays a
//! run). Included by the test files that need it with
//! `#[path = "common/chaos.rs"] mod chaos;`.

#![allow(dead_code)]

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use rand::rngs::StdRng;
use rand::seq::IndexedRandom;
use rand::Rng;
use serde_json::{json, Map, Value};

use crate::common::ws::Ws;
use crate::common::Client;

const COLORS: [&str; 6] = ["yellow", "pink", "blue", "green", "purple", "gray"];
const CHARS: [char; 16] = [
    'a', 'b', 'q', 'z', ' ', ' ', 'é', 'ß', '日', '本', '🙂', '\n', '"', '\\', '<', 'Ω',
];

/// Random note text of at most `max` characters (some non-ASCII, quotes, newlines).
pub fn text(rng: &mut StdRng, max: usize) -> String {
    let n = rng.random_range(0..=max);
    (0..n).map(|_| *CHARS.choose(rng).unwrap()).collect()
}

fn coord(rng: &mut StdRng) -> Value {
    if rng.random_bool(0.3) {
        json!(rng.random_range(-2000..2000))
    } else {
        json!(rng.random_range(-2000.0..2000.0))
    }
}

fn size(rng: &mut StdRng) -> Value {
    json!(rng.random_range(1.0..900.0))
}

fn op(rng: &mut StdRng) -> Option<Value> {
    rng.random_bool(0.3).then(|| {
        let b: [u8; 16] = rng.random();
        json!(uuid::Builder::from_random_bytes(b).into_uuid().to_string())
    })
}

/// One random mutation.
#[derive(Debug, Clone)]
pub enum Mutation {
    Create(Value),
    Update(String, Value),
    Delete(String),
    Rename(String),
}

/// Picks a mutation; notes to update or delete come from `known` (deletes
/// take the id out of it so other writers rarely touch a deleted note).
pub fn mutation(rng: &mut StdRng, known: &Mutex<Vec<String>>) -> Mutation {
    let pick = rng.random_range(0..100);
    let target = {
        let mut k = known.lock().unwrap();
        if k.is_empty() || pick < 30 {
            None
        } else if pick < 42 {
            let i = rng.random_range(0..k.len());
            Some((k.swap_remove(i), true))
        } else {
            Some((k.choose(rng).unwrap().clone(), false))
        }
    };
    match target {
        None if pick >= 97 => Mutation::Rename(format!("Chaos {}", text(rng, 20).trim())),
        None => {
            let mut b = Map::new();
            b.insert("x".into(), coord(rng));
            b.insert("y".into(), coord(rng));
            if rng.random_bool(0.8) {
                b.insert("text".into(), json!(text(rng, 200)));
            }
            if rng.random_bool(0.4) {
                b.insert("w".into(), size(rng));
                b.insert("h".into(), size(rng));
            }
            if rng.random_bool(0.5) {
                b.insert("color".into(), json!(*COLORS.choose(rng).unwrap()));
            }
            if let Some(op) = op(rng) {
                b.insert("op".into(), op);
            }
            Mutation::Create(Value::Object(b))
        }
        Some((id, true)) => Mutation::Delete(id),
        Some((id, false)) => {
            let mut b = Map::new();
            if pick < 70 {
                // A move.
                b.insert("x".into(), coord(rng));
                b.insert("y".into(), coord(rng));
            } else {
                while b.is_empty() {
                    for f in ["text", "x", "y", "w", "h", "color"] {
                        if rng.random_bool(0.3) {
                            let v = match f {
                                "text" => json!(text(rng, 200)),
                                "x" | "y" => coord(rng),
                                "w" | "h" => size(rng),
                                _ => json!(*COLORS.choose(rng).unwrap()),
                            };
                            b.insert(f.into(), v);
                        }
                    }
                }
            }
            if let Some(op) = op(rng) {
                b.insert("op".into(), op);
            }
            Mutation::Update(id, Value::Object(b))
        }
    }
}

/// How a writer reaches the server.
pub enum Door {
    Rest(Client),
    Rpc(Box<Ws>),
}

/// Applies `m` to `board`; returns the committed seq and the created note's
/// id, or the error code (only `not_found` is expected: a note another writer deleted).
pub async fn apply(
    door: &mut Door,
    board: &str,
    m: &Mutation,
) -> Result<(u64, Option<String>), String> {
    let (ok, body) = match door {
        Door::Rest(c) => {
            let r = match m {
                Mutation::Create(b) => {
                    c.post(&format!("/api/boards/{board}/notes"), b.clone())
                        .await
                }
                Mutation::Update(id, b) => {
                    c.patch(&format!("/api/boards/{board}/notes/{id}"), b.clone())
                        .await
                }
                Mutation::Delete(id) => c.delete(&format!("/api/boards/{board}/notes/{id}")).await,
                Mutation::Rename(t) => {
                    c.patch(&format!("/api/boards/{board}"), json!({"title": t}))
                        .await
                }
            };
            let ok = matches!(r.status, 200 | 201);
            let mut body = r.body;
            if let (true, Mutation::Rename(_)) = (ok, m) {
                body = json!({ "board": body });
            }
            (ok, body)
        }
        Door::Rpc(ws) => {
            let (method, params) = match m {
                Mutation::Create(b) => {
                    let mut p = b.clone();
                    p["board"] = json!(board);
                    ("note.create", p)
                }
                Mutation::Update(id, b) => {
                    let mut p = b.clone();
                    p["board"] = json!(board);
                    p["id"] = json!(id);
                    ("note.update", p)
                }
                Mutation::Delete(id) => ("note.delete", json!({"board": board, "id": id})),
                Mutation::Rename(t) => ("board.rename", json!({"board": board, "title": t})),
            };
            let r = ws.rpc(method, params).await;
            if r["type"] == "result" {
                (true, r["result"].clone())
            } else {
                (false, r)
            }
        }
    };
    if !ok {
        let code = body["error"]["code"].as_str().unwrap_or("?").to_owned();
        assert_eq!(code, "not_found", "{m:?} failed: {body}");
        return Err(code);
    }
    let seq = match m {
        Mutation::Rename(_) => body["board"]["seq"].as_u64(),
        _ => body["seq"].as_u64(),
    }
    .unwrap_or_else(|| panic!("no seq in {body}"));
    let created = match m {
        Mutation::Create(_) => Some(body["note"]["id"].as_str().expect("note id").to_owned()),
        _ => None,
    };
    Ok((seq, created))
}

/// Shared by a set of writers: the notes they know of and the highest seq committed.
#[derive(Default)]
pub struct Writers {
    pub known: Mutex<Vec<String>>,
    pub committed: AtomicU64,
    /// Every seq a writer was told it committed.
    pub seqs: Mutex<Vec<u64>>,
}

impl Writers {
    /// Runs `n` random mutations through `door`, pausing up to `pause_ms` between them.
    pub async fn run(
        self: Arc<Self>,
        mut door: Door,
        board: String,
        mut rng: StdRng,
        n: usize,
        pause_ms: u64,
    ) -> Door {
        for _ in 0..n {
            let m = mutation(&mut rng, &self.known);
            if let Ok((seq, created)) = apply(&mut door, &board, &m).await {
                self.committed.fetch_max(seq, Ordering::SeqCst);
                self.seqs.lock().unwrap().push(seq);
                if let Some(id) = created {
                    self.known.lock().unwrap().push(id);
                }
            }
            if pause_ms > 0 {
                let p = rng.random_range(0..=pause_ms);
                tokio::time::sleep(std::time::Duration::from_millis(p)).await;
            }
        }
        door
    }
}
