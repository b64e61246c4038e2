//! A small Server-Sent Events reader over reqwest (`Response::chunk`), for
//! the SSE tests: it splits the stream into blocks the way an EventSource
//! does (a blank line ends a block) and keeps every field, comments included.

#![allow(dead_code)]

use std::time::Duration;

use serde_json::Value;

use super::{Auth, Client, Resp};

/// One block of the stream (the lines up to a blank line).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Block {
    /// The `event:` field, if any.
    pub event: Option<String>,
    /// The `id:` field, if any.
    pub id: Option<String>,
    /// The `data:` lines joined with `\n` (empty when none).
    pub data: String,
    /// The `retry:` field, if any.
    pub retry: Option<u64>,
    /// Comment lines (`: keep-alive` → `"keep-alive"`).
    pub comments: Vec<String>,
    /// The block as it came, without the blank line ending it.
    pub raw: String,
}

impl Block {
    /// Whether the block has only comment lines (a keep-alive).
    pub fn is_comment(&self) -> bool {
        self.event.is_none() && self.id.is_none() && self.data.is_empty() && self.retry.is_none()
    }

    /// The data parsed as JSON (panics when it is not).
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.data)
            .unwrap_or_else(|e| panic!("data is not JSON ({e}): {:?}", self.raw))
    }

    /// The `id:` as a number (panics when missing or not decimal).
    pub fn id_u64(&self) -> u64 {
        self.id
            .as_deref()
            .unwrap_or_else(|| panic!("block without id: {:?}", self.raw))
            .parse()
            .unwrap_or_else(|_| panic!("id is not decimal: {:?}", self.raw))
    }

    /// The event name (`""` when the block has none).
    pub fn kind(&self) -> &str {
        self.event.as_deref().unwrap_or("")
    }
}

/// What the next read produced.
#[derive(Debug, PartialEq)]
pub enum Next {
    /// A complete block.
    Block(Block),
    /// The server ended the stream (or the connection broke).
    Ended,
    /// Nothing within the time given.
    Timeout,
}

/// An open SSE response being read.
pub struct Sse {
    pub status: u16,
    pub headers: reqwest::header::HeaderMap,
    res: reqwest::Response,
    buf: Vec<u8>,
    ended: bool,
}

/// Opens `path` as `client` (its cookie or bearer) with extra headers. A
/// non-200 answer comes back as a [`Resp`] (status and JSON body).
pub async fn try_open(client: &Client, path: &str, headers: &[(&str, &str)]) -> Result<Sse, Resp> {
    let mut req = client
        .http
        .get(format!("{}{}", client.base, path))
        .header("accept", "text/event-stream");
    match &client.auth {
        Auth::None => {}
        Auth::Cookie(c) => req = req.header("cookie", super::cookie_header(&client.base, c)),
        Auth::Bearer(t) => req = req.header("authorization", format!("Bearer {t}")),
    }
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    let res = tokio::time::timeout(Duration::from_secs(10), req.send())
        .await
        .expect("response headers within 10 s")
        .expect("request");
    let status = res.status().as_u16();
    let headers = res.headers().clone();
    if status != 200 {
        let text = res.text().await.unwrap_or_default();
        let body = serde_json::from_str(&text).unwrap_or(Value::Null);
        return Err(Resp {
            status,
            body,
            text,
            headers,
            cookie: None,
            set_cookie: None,
        });
    }
    Ok(Sse {
        status,
        headers,
        res,
        buf: Vec::new(),
        ended: false,
    })
}

/// Opens `path` as `client`; panics unless the answer is 200.
pub async fn open(client: &Client, path: &str, headers: &[(&str, &str)]) -> Sse {
    match try_open(client, path, headers).await {
        Ok(s) => s,
        Err(r) => panic!("stream {path}: {} {}", r.status, r.text),
    }
}

fn parse_block(raw: &str) -> Block {
    let mut b = Block {
        raw: raw.to_owned(),
        ..Default::default()
    };
    let mut data: Vec<&str> = Vec::new();
    for line in raw.split('\n') {
        if let Some(c) = line.strip_prefix(':') {
            b.comments.push(c.trim().to_owned());
            continue;
        }
        let (field, value) = match line.split_once(':') {
            Some((f, v)) => (f, v.strip_prefix(' ').unwrap_or(v)),
            None => (line, ""),
        };
        match field {
            "event" => b.event = Some(value.to_owned()),
            "id" => b.id = Some(value.to_owned()),
            "data" => data.push(value),
            "retry" => b.retry = Some(value.parse().expect("retry is a number")),
            other => panic!("unknown SSE field {other:?} in {raw:?}"),
        }
    }
    b.data = data.join("\n");
    b
}

impl Sse {
    /// The next block within `d` (keep-alive comments included).
    pub async fn next_within(&mut self, d: Duration) -> Next {
        let deadline = tokio::time::Instant::now() + d;
        loop {
            if let Some(end) = self.buf.windows(2).position(|w| w == b"\n\n") {
                let raw = String::from_utf8(self.buf[..end].to_vec()).expect("UTF-8 block");
                self.buf.drain(..end + 2);
                return Next::Block(parse_block(&raw));
            }
            if self.ended {
                return Next::Ended;
            }
            match tokio::time::timeout_at(deadline, self.res.chunk()).await {
                Err(_) => return Next::Timeout,
                Ok(Ok(Some(bytes))) => {
                    assert!(!bytes.contains(&b'\r'), "the server writes bare \\n lines");
                    self.buf.extend_from_slice(&bytes);
                }
                Ok(Ok(None)) | Ok(Err(_)) => {
                    self.ended = true;
                    assert!(
                        self.buf.iter().all(u8::is_ascii_whitespace),
                        "stream ended inside a block: {:?}",
                        String::from_utf8_lossy(&self.buf)
                    );
                }
            }
        }
    }

    /// The next block (5 s), keep-alive comments included.
    pub async fn next_block(&mut self) -> Block {
        match self.next_within(Duration::from_secs(5)).await {
            Next::Block(b) => b,
            other => panic!("expected a block within 5 s, got {other:?}"),
        }
    }

    /// The next block that is not a comment (5 s).
    pub async fn next_event(&mut self) -> Block {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
        loop {
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            match self.next_within(left).await {
                Next::Block(b) if b.is_comment() => continue,
                Next::Block(b) => return b,
                other => panic!("expected an event within 5 s, got {other:?}"),
            }
        }
    }

    /// The next non-comment block within `d`, or how the stream ended / Timeout.
    pub async fn next_event_within(&mut self, d: Duration) -> Next {
        let deadline = tokio::time::Instant::now() + d;
        loop {
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            match self.next_within(left).await {
                Next::Block(b) if b.is_comment() => continue,
                other => return other,
            }
        }
    }

    /// Non-comment blocks until one satisfies `pred` (returned last); 5 s in all.
    pub async fn events_until(&mut self, pred: impl Fn(&Block) -> bool) -> Vec<Block> {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
        let mut out = Vec::new();
        loop {
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            match self.next_event_within(left).await {
                Next::Block(b) => {
                    let done = pred(&b);
                    out.push(b);
                    if done {
                        return out;
                    }
                }
                other => panic!("{other:?} before the awaited event; got {out:?}"),
            }
        }
    }

    /// Every non-comment block until the stream ends (panics after `d`).
    pub async fn until_end(&mut self, d: Duration) -> Vec<Block> {
        let deadline = tokio::time::Instant::now() + d;
        let mut out = Vec::new();
        loop {
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            match self.next_event_within(left).await {
                Next::Block(b) => out.push(b),
                Next::Ended => return out,
                Next::Timeout => panic!("stream did not end within {d:?}; got {out:?}"),
            }
        }
    }

    /// Asserts that no event (comments aside) arrives within `d`.
    pub async fn assert_quiet(&mut self, d: Duration) {
        match self.next_event_within(d).await {
            Next::Timeout => {}
            other => panic!("expected nothing for {d:?}, got {other:?}"),
        }
    }
}
