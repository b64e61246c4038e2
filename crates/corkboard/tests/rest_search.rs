//! `GET /api/search` (extension): notes and board titles by word prefix,
//! only on the caller's boards, following writes at once; input limits and
//! hostile queries.

mod common;

use common::*;
use serde_json::{json, Value};

fn q(s: &str) -> String {
    let enc: String = s
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect();
    format!("/api/search?q={enc}")
}

async fn search(c: &Client, query: &str) -> Vec<Value> {
    let r = c.get(&q(query)).await;
    assert_eq!(r.status, 200, "{query:?}: {}", r.text);
    r.body["results"].as_array().expect("results").clone()
}

#[tokio::test]
async fn finds_notes_and_titles_on_the_callers_boards_only() {
    let mut s = TestServer::start().await;
    let ann = s.user("ann").await;
    let bob = s.user("bob").await;
    let b = ann.board("Roadmap").await;
    let note = ann
        .note(
            &b,
            json!({"x": 0, "y": 0, "text": "Cross the zebra crossing", "color": "pink"}),
        )
        .await;
    let id = note["id"].as_str().unwrap().to_owned();
    // Found a moment after it was created, with a highlighted snippet.
    let found = search(&ann, "zebr").await;
    assert_eq!(found.len(), 1, "{found:?}");
    let r = &found[0];
    assert_eq!(r["board"]["id"], json!(b));
    assert_eq!(r["board"]["title"], "Roadmap");
    assert_eq!(r["board"]["role"], "owner");
    assert_eq!(r["note"], json!({"id": id, "color": "pink"}));
    assert_eq!(r["snippet"], "Cross the zebra crossing");
    assert_eq!(r["highlights"], json!([[10, 15]]));
    // A title.
    let found = search(&ann, "road").await;
    assert_eq!(found.len(), 1, "{found:?}");
    assert!(found[0].get("note").is_none(), "{found:?}");
    assert_eq!(found[0]["snippet"], "Roadmap");
    // Not on a board the user is not a member of; found once they join.
    assert!(search(&bob, "zebra").await.is_empty());
    ann.add_member(&b, &bob, "viewer").await;
    let found = search(&bob, "zebra").await;
    assert_eq!(found.len(), 1);
    assert_eq!(found[0]["board"]["role"], "viewer");
    // Not found after delete.
    let r = ann
        .call(
            reqwest::Method::DELETE,
            &format!("/api/boards/{b}/notes/{id}"),
            None,
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert!(search(&ann, "zebra").await.is_empty());
    s.stop().await;
}

#[tokio::test]
async fn limits_and_hostile_queries() {
    let mut s = TestServer::start().await;
    let ann = s.user("ann").await;
    let b = ann.board("Lab").await;
    for i in 0..60 {
        ann.note(&b, json!({"x": i, "y": 0, "text": format!("apple {i}")}))
            .await;
    }
    ann.note(&b, json!({"x": 0, "y": 0, "text": "Crème brûlée \"quoted\" NEAR(x) -minus *star 日本語テキスト"}))
        .await;
    assert_eq!(search(&ann, "apple").await.len(), 20, "default limit");
    let r = ann.get(&format!("{}&limit=50", q("apple"))).await;
    assert_eq!(r.body["results"].as_array().unwrap().len(), 50);
    for bad in ["&limit=51", "&limit=0", "&limit=x", "&limit=-1"] {
        let r = ann.get(&format!("{}{bad}", q("apple"))).await;
        assert_error(&r, 400, "bad_request");
    }
    for bad in [String::new(), "   ".into(), "x".repeat(201)] {
        assert_error(&ann.get(&q(&bad)).await, 400, "bad_request");
    }
    assert_error(&ann.get("/api/search").await, 400, "bad_request");
    assert_eq!(ann.get(&q(&"é".repeat(200))).await.status, 200);
    // Hostile input is only ever words: no error, and the right note.
    for hostile in [
        "\"",
        "*",
        "\"quoted\"",
        "NEAR(x",
        "-minus",
        "minus -",
        "star*",
        "OR",
        "AND NOT",
        "^",
        "(",
        ")",
        ":",
        "col:val",
        "'",
        "\\",
        "{}",
        "日本",
        "brulee",
        "CRÈME",
    ] {
        let r = ann.get(&q(hostile)).await;
        assert_eq!(r.status, 200, "{hostile:?}: {}", r.text);
        let found = r.body["results"].as_array().unwrap();
        assert!(found.len() <= 1, "{hostile:?}: {found:?}");
    }
    for words in ["quoted", "near", "minus star", "brulee", "日本"] {
        assert_eq!(search(&ann, words).await.len(), 1, "{words:?}");
    }
    // Needs a session.
    assert_error(&s.anon().get(&q("apple")).await, 401, "unauthorized");
    s.stop().await;
}
