//! The gRPC side of the real-time workloads: `Subscribe` streams over HTTP/2
//! (h2c with prior knowledge, the same port as HTTP), several streams per
//! connection.
//!
//! Corkboard's HTTP/2 server (hyper) allows 200 concurrent streams per
//! connection (`SETTINGS_MAX_CONCURRENT_STREAMS`); a stream over that would
//! wait in the client for a free slot, so `--streams-per-connection` must stay
//! at or under 200.

use std::net::IpAddr;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use tonic::transport::{Channel, Endpoint};
use tonic::Streaming;

/// The client generated from `proto/corkboard/v1/corkboard.proto` (see build.rs).
#[allow(missing_docs, clippy::all, clippy::pedantic)]
pub mod pb {
    tonic::include_proto!("corkboard.v1");
}

use pb::board_update::Update;
use pb::corkboard_client::CorkboardClient;

/// Streams per HTTP/2 connection the server accepts at once (hyper's default).
pub const SERVER_MAX_STREAMS: usize = 200;

/// One HTTP/2 connection to `url` (http://host:port), from `source` when
/// given. Lazy: it connects on its first stream, so many streams opened at
/// once share one connection.
pub fn channel(url: &str, source: Option<IpAddr>) -> Result<Channel> {
    let ep = Endpoint::from_shared(url.to_owned())?
        .tcp_nodelay(true)
        .connect_timeout(Duration::from_secs(10))
        .local_address(source);
    Ok(ep.connect_lazy())
}

/// An open `Subscribe` stream, past its `subscribed`.
pub type Subscription = Streaming<pb::BoardUpdate>;

/// Subscribes to `board` on `ch` as the token's user and waits for
/// `subscribed` (after the snapshot).
pub async fn subscribe(ch: Channel, token: &str, board: &str) -> Result<Subscription> {
    let mut client = CorkboardClient::new(ch);
    let mut req = tonic::Request::new(pb::SubscribeRequest {
        board: board.to_owned(),
        since: None,
    });
    req.metadata_mut()
        .insert("authorization", format!("Bearer {token}").parse()?);
    let mut stream = client
        .subscribe(req)
        .await
        .context("Subscribe")?
        .into_inner();
    loop {
        match stream.message().await.context("Subscribe stream")? {
            Some(pb::BoardUpdate {
                update: Some(Update::Subscribed(_)),
            }) => return Ok(stream),
            Some(_) => {}
            None => bail!("Subscribe ended before `subscribed`"),
        }
    }
}

/// The send time (µs since the run's start) a fan-out update carries in its
/// note text (`t=<µs>`), if the message is such an event.
pub fn stamp(u: &pb::BoardUpdate) -> Option<u64> {
    let Some(Update::Event(e)) = &u.update else {
        return None;
    };
    let Some(pb::event::Payload::Delta(d)) = &e.payload else {
        return None;
    };
    crate::realtime::stamp(d.text.as_deref()?.as_bytes())
}

/// Channels for `streams` streams at `per_conn` streams a connection, round
/// robin over `urls` and (when given) the `sources` addresses.
pub fn channels(
    urls: &[String],
    streams: usize,
    per_conn: usize,
    sources: Option<crate::conn::Sources>,
) -> Result<Vec<Channel>> {
    let per_conn = per_conn.clamp(1, SERVER_MAX_STREAMS);
    (0..streams.div_ceil(per_conn))
        .map(|c| channel(&urls[c % urls.len()], sources.map(|s| s.addr(c))))
        .collect()
}

/// How long a stream has to reach `subscribed` before the run fails.
pub const SUBSCRIBE_TIMEOUT: Duration = Duration::from_secs(30);

/// [`subscribe`] with [`SUBSCRIBE_TIMEOUT`].
pub async fn subscribe_timed(ch: Channel, token: &str, board: &str) -> Result<Subscription> {
    let t = Instant::now();
    tokio::time::timeout(SUBSCRIBE_TIMEOUT, subscribe(ch, token, board))
        .await
        .with_context(|| format!("Subscribe: no `subscribed` after {:?}", t.elapsed()))?
}
