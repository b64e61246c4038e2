//! The settings of each door, from flags. They live here, below the doors,
//! because [`super::HttpState`] carries them to every handler.

use std::time::Duration;

/// WebSocket settings (from flags).
#[derive(Clone, Debug)]
pub struct WsSettings {
    /// Interval of server Pings; silence for twice this closes with 4000.
    pub heartbeat: Duration,
    /// Largest message and frame accepted (bytes).
    pub max_message: usize,
    /// RPCs (and subscribe/unsubscribe/ping) per second per connection; burst 2×.
    pub rpc_rate: u32,
    /// Signals per second per connection; burst 2×.
    pub signal_rate: u32,
    /// RPCs one connection may have in flight at once.
    pub max_inflight: usize,
    /// Longest a batch of frames may take to write: a peer that stops
    /// reading blocks the writer, and past this the connection is dropped
    /// (1013 `write_stalled`) by a watchdog outside the writer.
    pub write_timeout: Duration,
    /// Bytes of outgoing frames collected before a socket write. The writer
    /// feeds every frame it drained and then flushes, so a burst goes out in
    /// writes of about this size instead of one write per frame; 0 writes
    /// each frame on its own.
    pub write_buffer: usize,
    /// Most bytes taken from the socket per read call. Nothing is held
    /// between messages (vendor/tungstenite reads on the stack and allocates
    /// only for bytes that arrived); a bigger message is read in several calls.
    pub read_buffer: usize,
}

impl Default for WsSettings {
    fn default() -> Self {
        Self {
            heartbeat: Duration::from_secs(25),
            max_message: 64 << 10,
            rpc_rate: 100,
            signal_rate: 50,
            max_inflight: 64,
            write_timeout: Duration::from_secs(25),
            write_buffer: DEFAULT_WRITE_BUFFER,
            read_buffer: DEFAULT_READ_BUFFER,
        }
    }
}

/// Default of [`WsSettings::write_buffer`]: big enough that a burst of small
/// frames shares a write; the buffer is freed once written, so an idle
/// connection holds none.
pub const DEFAULT_WRITE_BUFFER: usize = 8 << 10;

/// Default of [`WsSettings::read_buffer`]: one read call takes several RPCs and
/// signals at once. No connection holds it while waiting (it is a stack
/// buffer then), so it need not be small.
pub const DEFAULT_READ_BUFFER: usize = 4 << 10;

/// SSE settings (from flags).
#[derive(Clone, Debug)]
pub struct SseSettings {
    /// Interval of `: keep-alive` comments.
    pub keepalive: Duration,
    /// The `retry:` hint, in ms, sent first and with `event: shutdown`.
    pub retry_ms: u64,
}

impl Default for SseSettings {
    fn default() -> Self {
        Self {
            keepalive: Duration::from_secs(15),
            retry_ms: 2000,
        }
    }
}

/// Connection settings: gRPC, HTTP/2 and the HTTP timeouts (from flags).
#[derive(Clone, Debug)]
pub struct GrpcSettings {
    /// A new connection's first request head must arrive within this.
    pub first_request_timeout: Duration,
    /// An HTTP/1.1 request head must arrive within this.
    pub header_read_timeout: Duration,
    /// A REST request body must arrive within this (then `bad_request`).
    pub body_timeout: Duration,
    /// Largest request message a gRPC client may send (bytes); bigger is
    /// `RESOURCE_EXHAUSTED` and writes nothing.
    pub max_message: usize,
    /// Interval of HTTP/2 PINGs on an idle connection (gRPC keepalive).
    pub keepalive: Duration,
    /// A PING unanswered this long closes the connection.
    pub keepalive_timeout: Duration,
    /// Bytes HTTP/2 buffers per stream for a peer that is not reading; past
    /// it the stream stops taking data, its outbox fills, and it ends.
    pub send_buffer: usize,
}

impl Default for GrpcSettings {
    fn default() -> Self {
        Self {
            max_message: 64 << 10,
            keepalive: Duration::from_secs(20),
            keepalive_timeout: Duration::from_secs(20),
            send_buffer: 64 << 10,
            first_request_timeout: Duration::from_secs(10),
            header_read_timeout: Duration::from_secs(10),
            body_timeout: Duration::from_secs(30),
        }
    }
}

/// Where `/metrics` is served and who may read it (from flags).
#[derive(Clone, Debug, Default)]
pub struct MetricsSettings {
    /// A separate listener for `/metrics`; then the main one does not serve it.
    pub listen: Option<std::net::SocketAddr>,
    /// The Bearer token `/metrics` requires, if any.
    pub token: Option<String>,
}
