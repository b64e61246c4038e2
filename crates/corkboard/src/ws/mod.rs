//! The WebSocket door, `GET /ws`: a thin adapter that decodes client
//! messages, calls the shared service and hub, and writes the hub's frames.
//!
//! Each connection is one task: a reader and a writer, joined by the
//! connection's [`Outbox`], polled side by side in the same future (no task
//! of its own for the writer, so an idle connection costs one task).
//! Authentication, the Origin check and the per-user connection limit all
//! answer before the upgrade.
//!
//! The writer can wait forever on a peer that stopped reading, so nothing
//! that must happen on time waits inside it: the reader keeps the watchdog
//! (heartbeat deadline, write stall) and learns of an outbox closed
//! elsewhere (an overflow), then ends the connection, dropping a writer that
//! cannot deliver its close frame.

mod decode;
pub mod echo;
pub mod handshake;

pub use decode::decode_client_frame;

use std::sync::Arc;
use std::time::Duration;
use tracing::Instrument as _;

use axum::extract::{Request, State};
use axum::response::{IntoResponse, Response};
use futures_util::future::FusedFuture;
use futures_util::{FutureExt as _, SinkExt, StreamExt};
use serde_json::Value;
use std::future::Future;
use std::pin::Pin;
use tokio::sync::Semaphore;
use tokio::task::JoinSet;
use tokio::time::Instant;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::protocol::{CloseFrame, WebSocketConfig};
use tokio_tungstenite::tungstenite::{Message, Utf8Bytes};

use crate::core::{ApiError, ClientMessage, ErrorCode, ServerMessage};
use crate::gateway::limits::{self, BadMessages, Heartbeat, TokenBucket};
use crate::gateway::HttpState;
use crate::realtime::outbox::{self, Drained, Interrupt};
use crate::realtime::subscribe::{subscribe, Subscriber};
use crate::realtime::ConnId;
use crate::realtime::{CloseReason, Hub, Outbox, Transport};
use crate::service::Principal;

pub use crate::gateway::settings::{WsSettings, DEFAULT_READ_BUFFER, DEFAULT_WRITE_BUFFER};

/// The subprotocol the server selects when a client offers it.
pub const SUBPROTOCOL: &str = "corkboard.v1";

/// The shared WebSocket configuration: at most `settings.read_buffer` bytes
/// per read call, a write buffer of `settings.write_buffer` (frames fed
/// before one flush share a write), and `settings.max_message` as the
/// largest message and frame.
pub fn config(settings: &WsSettings) -> WebSocketConfig {
    // No cap on the write buffer (tungstenite's default): an outgoing frame
    // may be bigger than `max_message` (a snapshot). The buffer still stays
    // within one write size plus one frame, because each feed first waits
    // until the socket has taken what was buffered; a reader that stops
    // reading fills the outbox instead, which closes with 1013.
    WebSocketConfig::default()
        .read_buffer_size(settings.read_buffer)
        .write_buffer_size(settings.write_buffer)
        .max_message_size(Some(settings.max_message))
        .max_frame_size(Some(settings.max_message))
}

/// Unregisters a connection from the hub when dropped (also when the upgrade fails).
struct Registration {
    hub: Arc<Hub>,
    id: ConnId,
}

impl Drop for Registration {
    fn drop(&mut self) {
        self.hub.unregister(self.id);
    }
}

/// `GET /ws` (and HTTP/2's extended `CONNECT`): 401 without credentials
/// and 429 over the per-user connection limit, both before the upgrade (the
/// Origin check ran earlier); 400 when the request is not a WebSocket handshake.
pub async fn upgrade(State(s): State<Arc<HttpState>>, p: Principal, req: Request) -> Response {
    let (mut parts, _body) = req.into_parts();
    let handshake = match handshake::Handshake::check(&mut parts, Some(SUBPROTOCOL)) {
        Ok(h) => h,
        Err(e) => {
            return ApiError::bad_request(format!("expected a WebSocket upgrade: {e}"))
                .into_response()
        }
    };
    let hub = s.app.hub.clone();
    let outbox = Arc::new(Outbox::new(hub.outbox_bytes()));
    let id = match hub.register(
        &p.user,
        &p.credential_id,
        Transport::WebSocket,
        outbox.clone(),
    ) {
        Ok(id) => id,
        Err(e) => return e.into_response(),
    };
    let reg = Registration { hub, id };
    let (response, upgrade) = handshake.accept();
    let tracker = s.tracker.clone();
    let conn = Box::new(Connection::new(s, p, id, outbox, reg));
    // One task per connection, ours: it waits for the upgrade, then runs the
    // connection. It captures two pointers (what an async block captures
    // stays for its whole life). A client gone before the upgrade drops
    // `conn`, whose registration leaves the hub.
    tokio::spawn(tracker.track_future(async move {
        let halves = upgrade
            .socket(config(&conn.s.ws))
            .await
            .map(StreamExt::split);
        if let Some((sink, stream)) = halves {
            conn.run(sink, stream).await;
        }
    }));
    response
}

/// How the handling of one message ended.
enum Handled {
    /// Read the next message.
    Next,
    /// The connection must close (the outbox says why).
    Close,
    /// The writer ended (close frame sent, or the socket failed).
    WriterEnded,
}

/// Everything one connection's reader needs.
struct Connection {
    s: Arc<HttpState>,
    p: Principal,
    id: ConnId,
    outbox: Arc<Outbox>,
    /// When the peer last sent anything (a frame, a pong).
    last_heard: Instant,
    rpc_bucket: TokenBucket,
    signal_bucket: TokenBucket,
    bad: BadMessages,
    /// Serializes subscribe/unsubscribe and `board.get` of this connection,
    /// so it builds at most one snapshot at a time whatever it asks for.
    subs_lock: Arc<tokio::sync::Mutex<()>>,
    slots: Arc<Semaphore>,
    /// Unregisters from the hub when the connection ends.
    _reg: Registration,
}

/// The writing half of a connection's socket.
type WsSink = futures_util::stream::SplitSink<handshake::Socket, Message>;
/// The reading half of a connection's socket.
type WsStream = futures_util::stream::SplitStream<handshake::Socket>;

/// `{"type":"error","id":…,"board"?:…,"error":{…}}`.
fn error_frame(id: Option<&Value>, board: Option<&str>, e: &ApiError) -> Utf8Bytes {
    frame(&ServerMessage::error(id, board, e))
}

/// A server message as a text frame.
fn frame(m: &ServerMessage) -> Utf8Bytes {
    Utf8Bytes::from(m.to_json())
}

/// Maps a read error to the close cause the contract names. The error's
/// own text goes to the log (the close frame carries only the cause).
fn read_error_close(e: tokio_tungstenite::tungstenite::Error) -> CloseReason {
    use tokio_tungstenite::tungstenite::error::Error as WsError;
    match e {
        WsError::Utf8(_) => CloseReason::InvalidUtf8,
        WsError::Capacity(_) => CloseReason::MessageTooBig,
        WsError::Protocol(p) => {
            tracing::debug!(error = %p, "WebSocket protocol error");
            CloseReason::ProtocolError
        }
        other => {
            tracing::debug!(error = %other, "WebSocket read failed");
            CloseReason::ReadFailed
        }
    }
}

/// A close frame with the contract's code and reason for `reason`.
fn close_frame(reason: CloseReason) -> Message {
    Message::Close(Some(CloseFrame {
        code: CloseCode::from(reason.ws_code()),
        reason: reason.reason().into(),
    }))
}

impl Connection {
    fn new(
        s: Arc<HttpState>,
        p: Principal,
        id: ConnId,
        outbox: Arc<Outbox>,
        reg: Registration,
    ) -> Self {
        let now = Instant::now();
        let rpc = s.ws.rpc_rate;
        let sig = s.ws.signal_rate;
        let slots = Arc::new(Semaphore::new(s.ws.max_inflight));
        Self {
            s,
            p,
            id,
            outbox,
            last_heard: now,
            rpc_bucket: TokenBucket::new(rpc, rpc * 2, now),
            signal_bucket: TokenBucket::new(sig, sig * 2, now),
            bad: BadMessages::new(50, Duration::from_secs(10)),
            subs_lock: Arc::new(tokio::sync::Mutex::new(())),
            slots,
            _reg: reg,
        }
    }

    /// Reads until the peer, the writer or shutdown ends the connection.
    /// `self` is boxed so the future (alive as long as the connection) holds a pointer.
    async fn run(mut self: Box<Self>, sink: WsSink, mut stream: WsStream) {
        metrics::counter!("corkboard_ws_connections_total").increment(1);
        self.outbox.push(self.welcome());
        // Polled beside the reader in every `select!` below, never on its own.
        let writer = write_loop(sink, self.outbox.clone()).fuse();
        tokio::pin!(writer);
        let mut inflight = Inflight::default();
        if self.s.shutdown.is_cancelled() {
            // Registered after the hub told every connection of the shutdown.
            self.outbox.request_shutdown();
        }
        let mut shutting_down = false;
        let mut read_failed = false;
        let state = self.s.clone();
        let ws = &state.ws;
        let outbox = self.outbox.clone();
        // One timer per connection: the watchdog also keeps the ping's time.
        let now = Instant::now();
        let mut next_ping = now + ws.heartbeat;
        let next_look =
            tokio::time::sleep_until(next_watch(&outbox, self.last_heard, now, next_ping, ws));
        tokio::pin!(next_look);
        loop {
            tokio::select! {
                msg = stream.next() => match msg {
                    None => break,
                    Some(Err(e)) => {
                        self.outbox.close(read_error_close(e));
                        read_failed = true;
                        break;
                    }
                    Some(Ok(m)) => {
                        self.last_heard = Instant::now();
                        match m {
                            // Boxed: the handler's state lives only while a message is
                            // handled, so an idle connection's future stays small.
                            Message::Text(t) => {
                                let handled =
                                    Box::pin(self.handle_text(
                                        t,
                                        &mut inflight,
                                        &mut next_ping,
                                        writer.as_mut(),
                                    ))
                                    .await;
                                match handled {
                                    Handled::Next => {}
                                    Handled::Close | Handled::WriterEnded => break,
                                }
                            }
                            Message::Binary(_) => {
                                self.outbox.close(CloseReason::BinaryFrame);
                            }
                            Message::Ping(_) | Message::Pong(_) | Message::Frame(_) => {}
                            Message::Close(_) => {
                                self.outbox.close(CloseReason::ClientClosed);
                                break;
                            }
                        }
                    }
                },
                // The writer ended (close frame sent, or the socket failed):
                // `close` still reads the peer's reply, so that unread bytes
                // (a client still sending) do not reset the connection under
                // the close frame.
                () = &mut writer => break,
                // Closed elsewhere (an overflow, a revocation): the writer may
                // be blocked on the peer, so the reader ends the connection.
                // Shutdown comes the same way (the hub tells every outbox).
                why = self.outbox.interrupted() => {
                    shutting_down = why == Interrupt::Shutdown;
                    break;
                }
                _ = &mut next_look => {
                    let now = Instant::now();
                    if let Some(reason) = watch(&outbox, self.last_heard, now, ws) {
                        outbox.close(reason);
                        break;
                    }
                    next_ping = ping_if_due(&outbox, next_ping, now, ws.heartbeat);
                    let next = next_watch(&outbox, self.last_heard, now, next_ping, ws);
                    next_look.as_mut().reset(next);
                }
                () = inflight.join_next(), if !inflight.is_empty() => {}
            }
        }
        let shutting_down = shutting_down || self.s.shutdown.is_cancelled();
        // Boxed: its timers only exist while closing, not in every idle connection.
        Box::pin(self.close(shutting_down, inflight, writer, stream, read_failed)).await;
    }

    /// The first frame: `welcome`, with the session id and the heartbeat.
    /// Not built inside `run`, whose future would keep room for it.
    fn welcome(&self) -> Utf8Bytes {
        frame(&ServerMessage::Welcome {
            session: self.id.to_string(),
            user: self.p.user.clone(),
            heartbeat_ms: self.s.ws.heartbeat.as_millis() as u64,
            server: concat!("corkboard/", env!("CARGO_PKG_VERSION")).into(),
        })
    }

    /// Handles one text message while the writer goes on writing (a reply
    /// waits for room in the outbox, which only the writer makes), and ends
    /// early if the connection must close: handling may wait (for an RPC
    /// slot, for room in the outbox) on a peer that no longer reads.
    async fn handle_text<W>(
        &mut self,
        text: Utf8Bytes,
        inflight: &mut Inflight,
        next_ping: &mut Instant,
        mut writer: Pin<&mut W>,
    ) -> Handled
    where
        W: Future<Output = ()> + FusedFuture,
    {
        let state = self.s.clone();
        let outbox = self.outbox.clone();
        let heard = self.last_heard;
        tokio::select! {
            biased;
            () = self.on_text(text, inflight) => Handled::Next,
            () = &mut writer => Handled::WriterEnded,
            reason = watchdog(&outbox, heard, next_ping, &state.ws) => {
                outbox.close(reason);
                Handled::Close
            }
            () = outbox.closed() => Handled::Close,
        }
    }

    /// The end of a connection: answers the RPCs in flight on shutdown, lets
    /// the writer send the close frame, and drains the peer's reply briefly.
    /// A writer that cannot deliver the close frame within the write timeout
    /// (the peer does not read) is dropped, and the socket with it.
    async fn close<W>(
        &self,
        shutting_down: bool,
        mut inflight: Inflight,
        mut writer: Pin<&mut W>,
        mut stream: WsStream,
        read_failed: bool,
    ) where
        W: Future<Output = ()> + FusedFuture,
    {
        // The connection is over: presence leaves now, not after the close frame.
        self.s.app.hub.unregister(self.id);
        if shutting_down {
            // Answer the RPCs in flight (the writer sends their replies), then close with 1001.
            let answer_for = self.s.ws.write_timeout.min(Duration::from_secs(5));
            let _ = tokio::time::timeout(answer_for, async {
                tokio::select! {
                    () = inflight.join_all() => {}
                    () = &mut writer => {}
                }
            })
            .await;
            inflight.abort_all();
            self.outbox.close(CloseReason::Shutdown);
        } else {
            inflight.abort_all();
            self.outbox.close(CloseReason::ClientClosed);
        }
        // A writer that ended already (the close frame went out, or the
        // socket failed) needs no more time.
        if !writer.is_terminated() {
            let stalled = self.outbox.stalled_for(Instant::now()).unwrap_or_default();
            let hopeless = match self.outbox.close_reason() {
                Some(CloseReason::WriteStalled) => true,
                // Silent for 2 × heartbeat with a write blocked for one: gone.
                Some(CloseReason::HeartbeatTimeout) => stalled >= self.s.ws.heartbeat,
                _ => false,
            };
            if hopeless {
                // No close frame gets through a peer that does not read: drop the socket.
                if let Some(r) = self.outbox.close_reason() {
                    let code = r.ws_code().to_string();
                    metrics::counter!("corkboard_ws_closes_total", "code" => code).increment(1);
                }
                return;
            }
            // Let the writer send the close frame (within what is left of the
            // write timeout for a write already under way).
            let grace = self.s.ws.write_timeout.saturating_sub(stalled);
            if tokio::time::timeout(grace, &mut writer).await.is_err() {
                return;
            }
        }
        // Then drain the peer's reply briefly.
        let started = Instant::now();
        let _ = tokio::time::timeout(Duration::from_secs(2), async {
            while let Some(Ok(m)) = stream.next().await {
                if matches!(m, Message::Close(_)) {
                    return;
                }
            }
            if read_failed {
                // Unread bytes make the kernel reset the connection on close,
                // which can destroy our close frame: linger so the peer reads it.
                tokio::time::sleep_until(started + Duration::from_secs(1)).await;
            }
        })
        .await;
    }

    async fn reply(&self, frame: Utf8Bytes) {
        self.outbox.push_wait(frame).await;
    }

    async fn bad_message(&mut self, id: Option<&Value>, e: ApiError) {
        self.reply(error_frame(id, None, &e)).await;
        if self.bad.record(Instant::now()) {
            self.outbox.close(CloseReason::TooManyInvalidMessages);
        }
    }

    async fn on_text(&mut self, text: Utf8Bytes, inflight: &mut Inflight) {
        let env = match decode::envelope(text.as_str()) {
            Ok(env) => env,
            Err(e) => return self.bad_message(None, e).await,
        };
        drop(text);
        let ty = env.ty.as_str();
        let now = Instant::now();
        let limited = |bucket: &mut TokenBucket| -> Option<bool> {
            if bucket.take(now) {
                None
            } else {
                Some(bucket.abusive())
            }
        };
        let over = match ty {
            "signal" => limited(&mut self.signal_bucket),
            "ping" | "subscribe" | "unsubscribe" | "rpc" => limited(&mut self.rpc_bucket),
            _ => None,
        };
        if let Some(abusive) = over {
            metrics::counter!("corkboard_ws_rate_limited_total").increment(1);
            if abusive {
                self.outbox.close(CloseReason::RateLimited);
            } else if ty != "signal" {
                let e = ApiError::new(ErrorCode::RateLimited, format!("too many {ty} messages"));
                self.reply(error_frame(env.id.as_ref(), None, &e)).await;
            } else {
                let e = ApiError::new(ErrorCode::RateLimited, "too many signals");
                self.outbox.push_droppable(error_frame(None, None, &e));
            }
            return;
        }
        let msg = match env.message() {
            Ok(m) => m,
            Err(rejected) => {
                let (id, e) = *rejected;
                return self.bad_message(id.as_ref(), e).await;
            }
        };
        match msg {
            ClientMessage::Ping { t } => self.reply(frame(&ServerMessage::Pong { t })).await,
            ClientMessage::Subscribe { board, since, id } => {
                self.spawn_subscribe(board, since, id, inflight)
            }
            ClientMessage::Unsubscribe { board } => {
                let _g = self.subs_lock.lock().await;
                self.s.app.hub.unsubscribe(self.id, &board);
                self.reply(crate::realtime::frames::unsubscribed(&board, None))
                    .await;
            }
            ClientMessage::Rpc { id, method, params } => {
                self.spawn_rpc(id, method, params, inflight).await
            }
            ClientMessage::Signal { board, name, data } => self.on_signal(board, name, data).await,
        }
    }

    fn spawn_subscribe(
        &self,
        board: String,
        since: Option<u64>,
        req: Option<Value>,
        inflight: &mut Inflight,
    ) {
        let s = self.s.clone();
        let p = self.p.clone();
        let conn = self.id;
        let outbox = self.outbox.clone();
        let lock = self.subs_lock.clone();
        inflight.spawn(async move {
            let _g = lock.lock().await;
            let sub = Subscriber {
                conn,
                outbox: &outbox,
                transport: Transport::WebSocket,
            };
            let r = subscribe(&s.app.hub, &s.app.log_for(&p), &sub, &board, since).await;
            if let Err(e) = r {
                outbox
                    .push_wait(error_frame(req.as_ref(), Some(&board), &e))
                    .await;
            }
        });
    }

    async fn spawn_rpc(&self, id: Value, method: String, params: Value, inflight: &mut Inflight) {
        let Ok(permit) = self.slots.clone().acquire_owned().await else {
            return;
        };
        let s = self.s.clone();
        let p = self.p.clone();
        let outbox = self.outbox.clone();
        // A snapshot can be megabytes: build one at a time per connection.
        let snapshot_lock = (method
            == <crate::commands::board_get::BoardGet as crate::commands::Command>::METHOD)
            .then(|| self.subs_lock.clone());
        let span = crate::telemetry::request_span("ws", &method);
        inflight.spawn(
            async move {
                let _g = match &snapshot_lock {
                    Some(lock) => Some(lock.lock().await),
                    None => None,
                };
                let started = std::time::Instant::now();
                let reply = match crate::commands::call_json(&s.app, &p, &method, params).await {
                    Ok(result) => frame(&ServerMessage::Result { id, result }),
                    Err(e) => error_frame(Some(&id), None, &e),
                };
                metrics::histogram!("corkboard_rpc_seconds").record(started.elapsed());
                outbox.push_wait(reply).await;
                drop(permit);
            }
            .instrument(span),
        );
    }

    async fn on_signal(&mut self, board: String, name: String, data: Value) {
        let is_cursor = match crate::core::check_signal(&name, &data) {
            Ok(c) => c,
            Err(e) => return self.reply(error_frame(None, Some(&board), &e)).await,
        };
        let hub = &self.s.app.hub;
        if !hub.is_subscribed(self.id, &board) {
            let e = ApiError::not_found("subscribe to the board before sending signals");
            return self.reply(error_frame(None, Some(&board), &e)).await;
        }
        let signal = frame(&ServerMessage::Signal {
            board: board.clone(),
            from: self.p.user.clone(),
            name,
            data,
        });
        hub.signal(self.id, &board, is_cursor, signal);
    }
}

/// Why the connection must close now, if it must: the peer has been silent
/// since `heard` for 2 × the heartbeat, or a write has not finished within
/// the write timeout (the peer stopped reading).
fn watch(outbox: &Outbox, heard: Instant, now: Instant, ws: &WsSettings) -> Option<CloseReason> {
    if let Heartbeat::TimedOut = limits::heartbeat(heard, now, ws.heartbeat) {
        return Some(CloseReason::HeartbeatTimeout);
    }
    match outbox.stalled_for(now) {
        Some(d) if d >= ws.write_timeout => Some(CloseReason::WriteStalled),
        _ => None,
    }
}

/// When the watchdog looks next: just after the heartbeat deadline, when
/// the next ping is due, and often enough to see a stalled write within
/// 1.5 × the write timeout.
fn next_watch(
    outbox: &Outbox,
    heard: Instant,
    now: Instant,
    ping: Instant,
    ws: &WsSettings,
) -> Instant {
    let silent = heard + ws.heartbeat * 2 + Duration::from_millis(1);
    let stall = match outbox.stalled_for(now) {
        Some(d) => now + ws.write_timeout.saturating_sub(d),
        None => now + ws.write_timeout / 2,
    };
    silent
        .min(stall)
        .min(ping)
        .max(now + Duration::from_millis(1))
}

/// Asks the writer for a Ping once one is due (every heartbeat; a late
/// look delays the next, as a timer that skips missed ticks would), and
/// returns when the next is due.
fn ping_if_due(outbox: &Outbox, next_ping: Instant, now: Instant, heartbeat: Duration) -> Instant {
    if now < next_ping {
        return next_ping;
    }
    outbox.request_ping();
    now + heartbeat
}

/// Resolves once the connection must close (see [`watch`]), asking for
/// pings meanwhile. Raced against the handling of a message, which may wait
/// (for an RPC slot, for room in the outbox) on a peer that no longer reads.
async fn watchdog(
    outbox: &Outbox,
    heard: Instant,
    next_ping: &mut Instant,
    ws: &WsSettings,
) -> CloseReason {
    loop {
        let now = Instant::now();
        if let Some(reason) = watch(outbox, heard, now, ws) {
            return reason;
        }
        *next_ping = ping_if_due(outbox, *next_ping, now, ws.heartbeat);
        tokio::time::sleep_until(next_watch(outbox, heard, now, *next_ping, ws)).await;
    }
}

/// The connection's messages being handled (RPCs, subscribes), each its
/// own task: a `JoinSet` made when the first is spawned and dropped once
/// all are done, so an idle connection holds none.
#[derive(Default)]
struct Inflight(Option<JoinSet<()>>);

impl Inflight {
    fn spawn<F>(&mut self, task: F)
    where
        F: Future<Output = ()> + Send + 'static,
    {
        self.0.get_or_insert_with(JoinSet::new).spawn(task);
    }

    fn is_empty(&self) -> bool {
        self.0.as_ref().is_none_or(JoinSet::is_empty)
    }

    /// Waits for one to finish (forever while none runs).
    async fn join_next(&mut self) {
        let Some(set) = self.0.as_mut().filter(|set| !set.is_empty()) else {
            return std::future::pending().await;
        };
        set.join_next().await;
        if set.is_empty() {
            self.0 = None;
        }
    }

    /// Waits for all to finish.
    async fn join_all(&mut self) {
        if let Some(set) = self.0.as_mut() {
            while set.join_next().await.is_some() {}
        }
        self.0 = None;
    }

    fn abort_all(&mut self) {
        if let Some(set) = self.0.as_mut() {
            set.abort_all();
        }
    }
}

/// The writer: sends queued frames (several per flush when more than one is
/// queued), a Ping when the watchdog asks for one ([`Outbox::request_ping`]),
/// and the close frame at the end.
///
/// Every drained frame is fed before one flush; with a write buffer
/// ([`WsSettings::write_buffer`]) tungstenite then puts them in one write.
async fn write_loop<S>(mut sink: S, outbox: Arc<Outbox>)
where
    S: futures_util::Sink<Message> + Unpin,
{
    let mut buf = Vec::new();
    loop {
        let drained = outbox.drain(&mut buf).await;
        for frame in buf.drain(..) {
            if sink.feed(Message::Text(frame)).await.is_err() {
                return;
            }
        }
        outbox::free_batch(&mut buf);
        match drained {
            Drained::Frames => {
                if sink.flush().await.is_err() {
                    return;
                }
            }
            Drained::Ping => {
                if sink.send(Message::Ping(bytes::Bytes::new())).await.is_err() {
                    return;
                }
            }
            Drained::Close(reason) => {
                // After the peer's close this only flushes tungstenite's reply.
                let code = reason.ws_code();
                metrics::counter!("corkboard_ws_closes_total", "code" => code.to_string())
                    .increment(1);
                if sink.feed(close_frame(reason)).await.is_ok() {
                    let _ = sink.flush().await;
                }
                return;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use parking_lot::Mutex;
    use std::pin::Pin;
    use std::task::{Context, Poll};

    /// What the writer did to its sink, in order.
    #[derive(Debug, PartialEq)]
    enum Op {
        Text(String),
        Close(u16),
        Flush,
    }

    /// A sink that records every item and flush.
    #[derive(Clone, Default)]
    struct Recorder(Arc<Mutex<Vec<Op>>>);

    impl futures_util::Sink<Message> for Recorder {
        type Error = std::convert::Infallible;
        fn poll_ready(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
            Poll::Ready(Ok(()))
        }
        fn start_send(self: Pin<&mut Self>, m: Message) -> Result<(), Self::Error> {
            let op = match m {
                Message::Text(t) => Op::Text(t.as_str().to_owned()),
                Message::Close(c) => Op::Close(c.map_or(0, |c| u16::from(c.code))),
                _ => return Ok(()),
            };
            self.0.lock().push(op);
            Ok(())
        }
        fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
            self.0.lock().push(Op::Flush);
            Poll::Ready(Ok(()))
        }
        fn poll_close(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
            Poll::Ready(Ok(()))
        }
    }

    fn writer(outbox: &Arc<Outbox>) -> (Recorder, tokio::task::JoinHandle<()>) {
        let rec = Recorder::default();
        let task = tokio::spawn(write_loop(rec.clone(), outbox.clone()));
        (rec, task)
    }

    #[tokio::test]
    async fn queued_frames_go_out_in_order_with_one_flush() {
        let outbox = Arc::new(Outbox::new(1 << 20));
        for i in 0..100 {
            assert!(outbox.push(Utf8Bytes::from(format!("f{i}"))));
        }
        outbox.close(CloseReason::Shutdown);
        let (rec, task) = writer(&outbox);
        task.await.unwrap();
        let ops = std::mem::take(&mut *rec.0.lock());
        let mut want: Vec<Op> = (0..100).map(|i| Op::Text(format!("f{i}"))).collect();
        want.push(Op::Close(1001));
        want.push(Op::Flush);
        assert_eq!(
            ops, want,
            "every frame, in order, fed before a single flush"
        );
    }

    #[tokio::test]
    async fn each_burst_is_flushed_once_and_overflow_still_closes_with_1013() {
        let outbox = Arc::new(Outbox::new(64));
        let (rec, task) = writer(&outbox);
        outbox.push("a".into());
        outbox.push("b".into());
        // Wait until the writer has sent the first burst.
        while !rec.0.lock().contains(&Op::Flush) {
            tokio::task::yield_now().await;
        }
        assert_eq!(
            *rec.0.lock(),
            vec![Op::Text("a".into()), Op::Text("b".into()), Op::Flush]
        );
        // A reader that falls behind: more than the outbox holds at once.
        let big = "x".repeat(40);
        let mut accepted = 0;
        while outbox.push(big.clone().into()) {
            accepted += 1;
        }
        task.await.unwrap();
        let ops = std::mem::take(&mut *rec.0.lock());
        assert_eq!(ops.last(), Some(&Op::Flush));
        assert_eq!(
            ops[ops.len() - 2],
            Op::Close(1013),
            "after {accepted} frames"
        );
    }
}
