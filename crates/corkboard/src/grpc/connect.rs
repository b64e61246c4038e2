//! `Connect`: the WebSocket session over gRPC. Many boards, calls, signals
//! and presence on one bidirectional stream, with the WebSocket door's
//! rules: the same per-connection rate limits, a bound on calls in flight,
//! the same outbox and slow-consumer rule.
//!
//! A reader task takes client messages and runs calls (each answered by
//! exactly one `CallResult`); replies and the session's final status come
//! to the response stream through a bounded channel, hub frames through the
//! outbox. On shutdown the reader stops taking messages, lets the calls in
//! flight answer, and the stream ends with UNAVAILABLE.

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{mpsc, Semaphore};
use tokio::task::JoinSet;
use tokio::time::Instant;
use tokio_util::sync::{CancellationToken, DropGuard};
use tonic::{Status, Streaming};

use super::calls;
use super::convert::{self, Decoded};
use super::feed::{Batch, FrameDecoder, HubConn};
use super::pb;
use super::status;
use super::subscribe::Updates;
use crate::core::{ApiError, ErrorCode, ServerMessage};
use crate::gateway::limits::{BadMessages, TokenBucket};
use crate::gateway::HttpState;
use crate::realtime::subscribe::{subscribe, Subscriber};
use crate::realtime::{frames, CloseReason, ConnId, Outbox, Transport};
use crate::service::Principal;
use crate::telemetry;
use tracing::Instrument as _;

use pb::server::server_message::Msg;
use pb::server::ServerMessage as Out;

/// What the reader sends the response stream.
type Reply = Result<Out, Status>;

fn msg(m: Msg) -> Out {
    Out { msg: Some(m) }
}

fn error_msg(e: &ApiError, board: Option<&str>) -> Out {
    msg(Msg::Error(status::error_message(e, board)))
}

/// Starts a session for `p`.
///
/// # Errors
/// `rate_limited` over the per-user connection limit.
pub fn start(
    s: &Arc<HttpState>,
    decoder: &Arc<FrameDecoder>,
    p: Principal,
    incoming: Streaming<pb::ClientMessage>,
) -> Result<Updates<Out>, ApiError> {
    let conn = HubConn::register(s, &p, Transport::Grpc)?;
    let inflight = s.ws.max_inflight.max(1);
    let (tx, rx) = mpsc::channel::<Reply>(inflight);
    let ended = CancellationToken::new();
    let welcome = msg(Msg::Welcome(pb::Welcome {
        session: conn.id.to_string(),
        user: Some(convert::user(p.user.clone())),
        server: concat!("corkboard/", env!("CARGO_PKG_VERSION")).into(),
    }));
    let reader = SessionReader {
        s: s.clone(),
        p,
        conn: conn.id,
        outbox: conn.outbox.clone(),
        tx,
        slots: Arc::new(Semaphore::new(inflight)),
        rpc_bucket: TokenBucket::new(s.ws.rpc_rate, s.ws.rpc_rate * 2, Instant::now()),
        signal_bucket: TokenBucket::new(s.ws.signal_rate, s.ws.signal_rate * 2, Instant::now()),
        bad: BadMessages::new(50, Duration::from_secs(10)),
        subs_lock: Arc::new(tokio::sync::Mutex::new(())),
    };
    s.tracker
        .spawn(reader.run(incoming, s.shutdown.clone(), ended.clone()));
    let out = SessionOut {
        conn,
        decoder: decoder.clone(),
        rx,
        queue: VecDeque::from([welcome]),
        end: None,
        _ended: ended.drop_guard(),
    };
    Ok(Box::pin(futures_util::stream::unfold(
        out,
        SessionOut::next,
    )))
}

/// The response side of a session.
struct SessionOut {
    conn: HubConn,
    decoder: Arc<FrameDecoder>,
    rx: mpsc::Receiver<Reply>,
    queue: VecDeque<Out>,
    /// Set once the stream must end (`None` inside: OK).
    end: Option<Option<Status>>,
    /// Stops the reader when the response stream goes away.
    _ended: DropGuard,
}

impl SessionOut {
    async fn next(mut self) -> Option<(Reply, Self)> {
        loop {
            if let Some(m) = self.queue.pop_front() {
                return Some((Ok(m), self));
            }
            if let Some(end) = self.end.take() {
                self.end = Some(None);
                return end.map(|s| (Err(s), self));
            }
            tokio::select! {
                biased;
                r = self.rx.recv() => match r {
                    Some(Ok(m)) => self.queue.push_back(m),
                    Some(Err(s)) => self.end = Some(Some(s)),
                    // The reader is gone without a final word: the client
                    // finished sending; the session stays until it cancels.
                    None => self.finish_without_reader().await,
                },
                batch = self.conn.next(&self.decoder, None) => self.take(batch),
            }
        }
    }

    /// After the reader ended: only hub frames remain.
    async fn finish_without_reader(&mut self) {
        let batch = self.conn.next(&self.decoder, None).await;
        self.take(batch);
    }

    /// Queues a batch of hub frames, and the end it brings, if any.
    fn take(&mut self, batch: Batch) {
        for d in &batch.frames {
            push_decoded(d, &mut self.queue);
        }
        if let Some(end) = batch.end {
            self.end = Some(end.status());
        }
    }
}

fn push_decoded(d: &Decoded, q: &mut VecDeque<Out>) {
    match d {
        Decoded::Updates { encoded, .. } => {
            q.extend(encoded.iter().map(|u| msg(Msg::Update(u.clone()))));
        }
        Decoded::Signal(s) => q.push_back(msg(Msg::Signal(s.clone()))),
        Decoded::Error(e) => q.push_back(msg(Msg::Error(e.clone()))),
        Decoded::Notification(_) | Decoded::Nothing => {}
    }
}

/// The request side of a session.
struct SessionReader {
    s: Arc<HttpState>,
    p: Principal,
    conn: ConnId,
    outbox: Arc<Outbox>,
    tx: mpsc::Sender<Reply>,
    slots: Arc<Semaphore>,
    rpc_bucket: TokenBucket,
    signal_bucket: TokenBucket,
    bad: BadMessages,
    subs_lock: Arc<tokio::sync::Mutex<()>>,
}

impl SessionReader {
    async fn run(
        mut self,
        mut incoming: Streaming<pb::ClientMessage>,
        shutdown: CancellationToken,
        ended: CancellationToken,
    ) {
        let mut inflight: JoinSet<()> = JoinSet::new();
        let final_status = loop {
            tokio::select! {
                m = incoming.message() => match m {
                    Ok(Some(m)) => {
                        if let Err(s) = self.on_message(m, &mut inflight).await {
                            break Some(s);
                        }
                    }
                    // The client finished sending: answer what is in flight.
                    Ok(None) => break None,
                    Err(e) => break Some(status::from_decode(&e)),
                },
                _ = shutdown.cancelled() => break Some(status::closed(CloseReason::Shutdown)),
                _ = ended.cancelled() => {
                    inflight.abort_all();
                    return;
                }
                Some(_) = inflight.join_next(), if !inflight.is_empty() => {}
            }
        };
        // Calls in flight answer before the final status (or, when the
        // client only half-closed, before the reader leaves).
        tokio::select! {
            _ = async { while inflight.join_next().await.is_some() {} } => {}
            _ = ended.cancelled() => {
                inflight.abort_all();
                return;
            }
        }
        if let Some(s) = final_status {
            let _ = self.tx.send(Err(s)).await;
        }
    }

    /// Handles one message; an `Err` ends the session with that status.
    async fn on_message(
        &mut self,
        m: pb::ClientMessage,
        inflight: &mut JoinSet<()>,
    ) -> Result<(), Status> {
        use pb::client_message::Msg as In;
        let now = Instant::now();
        let Some(m) = m.msg else {
            let e = ApiError::new(
                ErrorCode::InvalidMessage,
                "a message must set one of its fields",
            );
            return self.bad_message(e, None).await;
        };
        let bucket = match &m {
            In::Signal(_) => &mut self.signal_bucket,
            _ => &mut self.rpc_bucket,
        };
        if !bucket.take(now) {
            metrics::counter!("corkboard_grpc_rate_limited_total").increment(1);
            if bucket.abusive() {
                return Err(status::closed(CloseReason::RateLimited));
            }
            let e = ApiError::new(ErrorCode::RateLimited, "too many messages");
            match m {
                In::Call(c) => {
                    let r = pb::CallResult {
                        id: c.id,
                        result: Some(pb::call_result::Result::Error(status::error_message(
                            &e, None,
                        ))),
                    };
                    self.send(msg(Msg::Result(r))).await;
                }
                // Signals over the limit are dropped (they are ephemeral).
                In::Signal(s) => {
                    let _ = self.tx.try_send(Ok(error_msg(&e, Some(&s.board))));
                }
                In::Subscribe(r) => self.send(error_msg(&e, Some(&r.board))).await,
                In::Unsubscribe(b) => self.send(error_msg(&e, Some(&b))).await,
            }
            return Ok(());
        }
        match m {
            In::Subscribe(r) => self.spawn_subscribe(r, inflight),
            In::Unsubscribe(board) => {
                let _g = self.subs_lock.lock().await;
                self.s.app.hub.unsubscribe(self.conn, &board);
                self.outbox
                    .push_wait(frames::unsubscribed(&board, None))
                    .await;
            }
            In::Call(c) => self.spawn_call(c, inflight).await,
            In::Signal(sig) => return self.on_signal(sig).await,
        }
        Ok(())
    }

    async fn send(&self, m: Out) {
        let _ = self.tx.send(Ok(m)).await;
    }

    async fn bad_message(&mut self, e: ApiError, board: Option<&str>) -> Result<(), Status> {
        self.send(error_msg(&e, board)).await;
        if self.bad.record(Instant::now()) {
            return Err(status::closed(CloseReason::TooManyInvalidMessages));
        }
        Ok(())
    }

    fn spawn_subscribe(&self, r: pb::SubscribeRequest, inflight: &mut JoinSet<()>) {
        let s = self.s.clone();
        let p = self.p.clone();
        let conn = self.conn;
        let outbox = self.outbox.clone();
        let lock = self.subs_lock.clone();
        inflight.spawn(async move {
            let _g = lock.lock().await;
            let board = r.board;
            let sub = Subscriber {
                conn,
                outbox: &outbox,
                transport: Transport::Grpc,
            };
            let result = match convert::required("board", board.clone()) {
                Ok(b) => subscribe(&s.app.hub, &s.app.log_for(&p), &sub, &b, r.since).await,
                Err(e) => Err(e),
            };
            if let Err(e) = result {
                let frame = ServerMessage::error(None, Some(&board), &e).to_json();
                outbox.push_wait(frame.into()).await;
            }
        });
    }

    async fn spawn_call(&self, c: pb::Call, inflight: &mut JoinSet<()>) {
        let Ok(permit) = self.slots.clone().acquire_owned().await else {
            return;
        };
        let s = self.s.clone();
        let p = self.p.clone();
        let tx = self.tx.clone();
        inflight.spawn(
            async move {
                let r = calls::call(&s.app, &p, c).await;
                let _ = tx.send(Ok(msg(Msg::Result(r)))).await;
                drop(permit);
            }
            .instrument(telemetry::request_span("grpc", "Connect.Call")),
        );
    }

    /// A signal: checked as on WebSocket, then fanned out by the hub. A
    /// malformed one counts as a bad message.
    async fn on_signal(&mut self, sig: pb::Signal) -> Result<(), Status> {
        let board = sig.board;
        let checked = convert::signal_data(&sig.data_json).and_then(|data| {
            let is_cursor = crate::core::check_signal(&sig.name, &data)?;
            Ok((data, is_cursor))
        });
        let (data, is_cursor) = match checked {
            Ok(x) => x,
            Err(e) => return self.bad_message(e, Some(&board)).await,
        };
        let hub = &self.s.app.hub;
        if !hub.is_subscribed(self.conn, &board) {
            let e = ApiError::not_found("subscribe to the board before sending signals");
            self.send(error_msg(&e, Some(&board))).await;
            return Ok(());
        }
        let frame = ServerMessage::Signal {
            board: board.clone(),
            from: self.p.user.clone(),
            name: sig.name,
            data,
        }
        .to_json();
        hub.signal(self.conn, &board, is_cursor, frame.into());
        Ok(())
    }
}
