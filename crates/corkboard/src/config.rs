//! Command-line flags and `CORKBOARD_*` environment variables.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::{Parser, Subcommand, ValueEnum};

use crate::core::Limits;

/// Log output format.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    /// Human-readable lines.
    Text,
    /// One JSON object per line (for log shippers).
    Json,
}

/// What `--version` prints after the name: the crate version, the commit
/// it was built from (`-dirty` with uncommitted changes; `unknown` without
/// git or `CORKBOARD_COMMIT`) and when (see build.rs).
pub const VERSION: &str = concat!(
    env!("CARGO_PKG_VERSION"),
    " (commit ",
    env!("CORKBOARD_COMMIT"),
    ", built ",
    env!("CORKBOARD_BUILT"),
    ")"
);

/// Maintenance commands; with none, `corkboard` serves.
#[derive(Clone, Debug, PartialEq, Eq, Subcommand)]
pub enum Command {
    /// Copy the SQLite database in --data to FILE while the server runs
    /// (SQLite's online backup API: one consistent snapshot, writes go on).
    /// For PostgreSQL use pg_dump (docs/operations.md).
    Backup {
        /// The backup file to write (replaced if it exists).
        #[arg(long, value_name = "FILE")]
        to: PathBuf,
    },
    /// Replace the SQLite database in --data with a backup made by
    /// `corkboard backup`. The server must be stopped. The old database is
    /// kept beside it as corkboard.db.<time>.bak unless --discard-old.
    Restore {
        /// The backup file to restore.
        #[arg(long, value_name = "FILE")]
        from: PathBuf,
        /// Delete the database being replaced instead of keeping it as a `.bak` file.
        #[arg(long)]
        discard_old: bool,
    },
}

/// Corkboard: a real-time collaboration board server (sticky notes,
/// presence, notifications). Every flag can also be set by the
/// `CORKBOARD_*` environment variable shown beside it.
#[derive(Clone, Debug, Parser)]
#[command(name = "corkboard", version = VERSION, about, long_about = None)]
pub struct Config {
    /// A maintenance command instead of serving.
    #[command(subcommand)]
    pub command: Option<Command>,

    /// Address to listen on.
    #[arg(long, env = "CORKBOARD_LISTEN", default_value = "127.0.0.1:8080")]
    pub listen: SocketAddr,

    /// Data directory; the SQLite database (corkboard.db) is created there on
    /// first start. Unused when --database-url names a PostgreSQL database.
    #[arg(long, env = "CORKBOARD_DATA", default_value = "./data", global = true)]
    pub data: PathBuf,

    /// PostgreSQL database to use instead of the embedded SQLite file, e.g.
    /// postgres://corkboard:secret@db:5432/corkboard (cluster mode: every node
    /// given the same URL shares boards and event logs). Must start with
    /// postgres:// or postgresql://; migrations run at start.
    #[arg(
        long,
        env = "CORKBOARD_DATABASE_URL",
        hide_env_values = true,
        global = true
    )]
    pub database_url: Option<String>,

    /// Connections in this node's PostgreSQL pool (with --database-url).
    #[arg(long, env = "CORKBOARD_DATABASE_POOL_SIZE", default_value_t = crate::store::postgres::DEFAULT_POOL_SIZE)]
    pub database_pool_size: u32,

    /// Redis for cluster mode: redis://host:port[/db]. Events, signals,
    /// notifications and presence then reach every node; needs --database-url.
    #[arg(long, env = "CORKBOARD_REDIS_URL", hide_env_values = true)]
    pub redis_url: Option<String>,

    /// Namespace of this cluster's Redis keys and channel (several clusters can share one Redis).
    #[arg(long, env = "CORKBOARD_REDIS_PREFIX", default_value = "corkboard")]
    pub redis_prefix: String,

    /// This node's name in the cluster (logs, presence). Default: a random id.
    #[arg(long, env = "CORKBOARD_NODE_ID")]
    pub node_id: Option<String>,

    /// Seconds a node's presence outlives its last refresh in Redis: the
    /// users of a node that dies leave within about this long.
    #[arg(long, env = "CORKBOARD_PRESENCE_TTL", default_value_t = 10, value_parser = clap::value_parser!(u64).range(1..=3600))]
    pub presence_ttl: u64,

    /// Extra origin allowed to make state-changing browser requests, e.g.
    /// http://localhost:3000 (repeat the flag, or comma-separate in the
    /// variable). The server's own origin is always allowed.
    #[arg(long, env = "CORKBOARD_ALLOWED_ORIGIN", value_delimiter = ',')]
    pub allowed_origin: Vec<String>,

    /// Log format, on stderr (text is coloured only at a terminal, and not with NO_COLOR set).
    #[arg(long, env = "CORKBOARD_LOG_FORMAT", value_enum, default_value = "text")]
    pub log_format: LogFormat,

    /// Seconds to drain connections on SIGTERM/SIGINT before exiting anyway.
    #[arg(long, env = "CORKBOARD_DRAIN_TIMEOUT", default_value_t = 10)]
    pub drain_timeout: u64,

    /// PEM certificate chain: serve HTTPS and WSS (HTTP/2 via ALPN). Needs --tls-key.
    #[arg(long, env = "CORKBOARD_TLS_CERT", requires = "tls_key")]
    pub tls_cert: Option<PathBuf>,

    /// PEM private key for --tls-cert.
    #[arg(long, env = "CORKBOARD_TLS_KEY", requires = "tls_cert")]
    pub tls_key: Option<PathBuf>,

    /// Serve HTTPS with a freshly generated self-signed certificate (local use).
    #[arg(long, env = "CORKBOARD_TLS_SELF_SIGNED", conflicts_with = "tls_cert")]
    pub tls_self_signed: bool,

    /// Mark session cookies `Secure` (set this when a TLS proxy fronts the
    /// server; implied when the server itself serves TLS).
    #[arg(long, env = "CORKBOARD_SECURE_COOKIES")]
    pub secure_cookies: bool,

    /// Maximum HTTP request body, in bytes.
    #[arg(long, env = "CORKBOARD_MAX_BODY_BYTES", default_value_t = 1 << 20)]
    pub max_body_bytes: usize,

    /// Maximum characters of note text.
    #[arg(long, env = "CORKBOARD_MAX_NOTE_TEXT", default_value_t = 10_000)]
    pub max_note_text: usize,

    /// Maximum bytes of a note's stored text document (its collaborative edit
    /// history, compacted); an edit past it is refused with `too_large`.
    #[arg(long, env = "CORKBOARD_MAX_NOTE_STATE_BYTES", default_value_t = 512 << 10)]
    pub max_note_state_bytes: usize,

    /// Text documents kept decoded between edits, in bytes of their stored
    /// (encoded) size: an edit of a warm document skips decoding it (about
    /// 1 ms for a few thousand characters typed by many people). Decoded,
    /// a document takes some ten times its stored size. 0 keeps none.
    #[arg(long, env = "CORKBOARD_TEXT_CACHE_BYTES", default_value_t = 8 << 20)]
    pub text_cache_bytes: usize,

    /// Maximum notes on one board.
    #[arg(long, env = "CORKBOARD_MAX_NOTES_PER_BOARD", default_value_t = 5_000)]
    pub max_notes_per_board: usize,

    /// Seconds an invite link lives when its creator names no `expires_in`
    /// (default 7 days).
    #[arg(long, env = "CORKBOARD_INVITE_TTL", default_value_t = 7 * 24 * 3600, value_parser = clap::value_parser!(u64).range(1..=31_536_000))]
    pub invite_ttl: u64,

    /// Longest lifetime, in seconds, an invite's `expires_in` may ask for
    /// (default 30 days; at least --invite-ttl).
    #[arg(long, env = "CORKBOARD_INVITE_MAX_TTL", default_value_t = 30 * 24 * 3600, value_parser = clap::value_parser!(u64).range(1..=31_536_000))]
    pub invite_max_ttl: u64,

    /// Invites one user may create per rolling hour, over all their boards
    /// (then 429 `rate_limited` with `retry_after`).
    #[arg(long, env = "CORKBOARD_INVITES_PER_HOUR", default_value_t = 50, value_parser = clap::value_parser!(u64).range(1..))]
    pub invites_per_hour: u64,

    /// Invites one user may create naming the same other user per rolling
    /// day: each notifies that user (then 429 `rate_limited` with `retry_after`).
    #[arg(long, env = "CORKBOARD_NAMED_INVITES_PER_DAY", default_value_t = 3, value_parser = clap::value_parser!(u64).range(1..))]
    pub named_invites_per_day: u64,
    /// Notes drawn in a board's thumbnail on the boards list
    /// (`GET /api/boards/{b}/thumbnail.svg`): the first this many in the
    /// order the board draws them, so a huge board costs a bounded image.
    #[arg(long, env = "CORKBOARD_THUMBNAIL_NOTES", default_value_t = 500, value_parser = clap::value_parser!(u64).range(1..=100_000))]
    pub thumbnail_notes: u64,

    /// Boards one user may own; creating one more is 429 `rate_limited`
    /// (deleting one frees a place). 0: no limit.
    #[arg(long, env = "CORKBOARD_MAX_BOARDS_PER_USER", default_value_t = 1_000)]
    pub max_boards_per_user: u64,

    /// REST mutations (any non-GET call under /api/ except /api/auth/*) per
    /// second per user, burst 2×, across all of the user's credentials on
    /// this node; beyond: 429 `rate_limited` with Retry-After. 0: no limit.
    #[arg(long, env = "CORKBOARD_REST_MUTATION_RATE", default_value_t = 100)]
    pub rest_mutation_rate: u32,

    /// Signups allowed per client IP per minute.
    #[arg(long, env = "CORKBOARD_SIGNUPS_PER_MINUTE", default_value_t = 30)]
    pub signups_per_minute: u32,

    /// Failed logins allowed per client IP per minute (then 429 until the minute ends).
    #[arg(long, env = "CORKBOARD_FAILED_LOGINS_PER_MINUTE", default_value_t = 20)]
    pub failed_logins_per_minute: u32,

    /// Consecutive failed logins of one account from one client IP before
    /// that pair must wait 1 s, then 2 s, 4 s… between attempts (429 with
    /// `retry_after`); a correct password resets it, other IPs are unaffected.
    #[arg(long, env = "CORKBOARD_LOGIN_BACKOFF_AFTER", default_value_t = 5, value_parser = clap::value_parser!(u32).range(1..))]
    pub login_backoff_after: u32,

    /// Longest wait of the per-account, per-IP login backoff, in seconds.
    #[arg(long, env = "CORKBOARD_LOGIN_BACKOFF_MAX", default_value_t = 300, value_parser = clap::value_parser!(u64).range(1..=86_400))]
    pub login_backoff_max: u64,

    /// Failed logins on one account within a minute, from all IPs together,
    /// after which attempts on it are queued one second apart (slowed, never refused).
    #[arg(long, env = "CORKBOARD_ACCOUNT_SLOWDOWN_AFTER", default_value_t = 100)]
    pub account_slowdown_after: u32,

    /// Password hashes (argon2id, 19 MiB each) computed at once; more logins
    /// and signups wait their turn. Default: the number of cores.
    #[arg(long, env = "CORKBOARD_MAX_CONCURRENT_HASHES", default_value_t = default_hashes(), value_parser = clap::value_parser!(u64).range(1..=1024))]
    pub max_concurrent_hashes: u64,

    /// Seconds a session may go unused before it ends (default 14 days). A
    /// request authenticated with it counts as use (recorded at most once a
    /// minute); an open WebSocket or stream alone does not.
    #[arg(long, env = "CORKBOARD_SESSION_IDLE_TIMEOUT", default_value_t = 14 * 86_400, value_parser = clap::value_parser!(u64).range(1..=3_153_600_000))]
    pub session_idle_timeout: u64,

    /// Seconds after sign-in at which a session ends however much it is used
    /// (default 30 days); also the session cookie's Max-Age.
    #[arg(long, env = "CORKBOARD_SESSION_MAX_AGE", default_value_t = 30 * 86_400, value_parser = clap::value_parser!(u64).range(1..=3_153_600_000))]
    pub session_max_age: u64,

    /// A reverse proxy whose `X-Forwarded-For` (else `Forwarded: for=`) is
    /// believed: an address or CIDR block (repeat the flag, or comma-separate
    /// in the variable). The client is then the right-most address in the
    /// header that is not a trusted proxy; from any other peer the headers
    /// are ignored. Default: none (the TCP peer is the client).
    #[arg(long, env = "CORKBOARD_TRUSTED_PROXY", value_delimiter = ',', value_parser = crate::gateway::forwarded::parse_net)]
    pub trusted_proxy: Vec<ipnet::IpNet>,

    /// Events each board's resume window keeps at least (the events stay
    /// stored for history either way).
    #[arg(long, env = "CORKBOARD_LOG_MIN_EVENTS", default_value_t = 10_000)]
    pub log_min_events: u64,

    /// History checkpoints: a board's state is stored every this many events
    /// once a history read has replayed past them, so reading history at any
    /// position replays at most this many events. 0: none (every history read
    /// replays from the board's creation).
    #[arg(
        long,
        env = "CORKBOARD_HISTORY_CHECKPOINT_EVERY",
        default_value_t = 1000
    )]
    pub history_checkpoint_every: u64,

    /// Seconds within which every event stays in the resume window (default 24 h).
    #[arg(long, env = "CORKBOARD_LOG_MIN_AGE", default_value_t = 86_400)]
    pub log_min_age: u64,

    /// Seconds a deleted note is kept for `note.restore` (default 30 days);
    /// pruned with the event log.
    #[arg(long, env = "CORKBOARD_DELETED_NOTE_TTL", default_value_t = 30 * 86_400)]
    pub deleted_note_ttl: u64,

    /// Seconds between pruning passes (resume window, op ids, deleted notes).
    #[arg(long, env = "CORKBOARD_PRUNE_INTERVAL", default_value_t = 600)]
    pub prune_interval: u64,

    /// WebSocket heartbeat: a Ping every N ms; 2 × N of silence closes with 4000.
    #[arg(long, env = "CORKBOARD_HEARTBEAT_MS", default_value_t = 25_000)]
    pub heartbeat_ms: u64,

    /// Longest one WebSocket write may block, in ms: a client that stops
    /// reading is dropped after this (1013 `write_stalled`).
    #[arg(long, env = "CORKBOARD_WRITE_TIMEOUT_MS", default_value_t = 25_000)]
    pub write_timeout_ms: u64,

    /// Largest WebSocket message (and frame), in bytes; bigger closes with 1009.
    #[arg(long, env = "CORKBOARD_MAX_WS_MESSAGE", default_value_t = 64 << 10)]
    pub max_ws_message: usize,

    /// Bytes of outgoing WebSocket frames collected before one socket write:
    /// frames queued together go out in one write; 0 writes each frame alone.
    #[arg(long, env = "CORKBOARD_WS_WRITE_BUFFER", default_value_t = crate::ws::DEFAULT_WRITE_BUFFER)]
    pub ws_write_buffer: usize,

    /// Most bytes read from a WebSocket per read call; nothing is held
    /// between messages, and a bigger message is read in several calls.
    #[arg(long, env = "CORKBOARD_WS_READ_BUFFER", default_value_t = crate::ws::DEFAULT_READ_BUFFER)]
    pub ws_read_buffer: usize,

    /// RPCs per second per WebSocket connection (burst 2×); subscribe,
    /// unsubscribe and ping count too.
    #[arg(long, env = "CORKBOARD_RPC_RATE", default_value_t = 100)]
    pub rpc_rate: u32,

    /// Signals per second per WebSocket connection (burst 2×).
    #[arg(long, env = "CORKBOARD_SIGNAL_RATE", default_value_t = 50)]
    pub signal_rate: u32,

    /// Outbound queue per connection, in bytes; a reader this far behind is cut off (1013).
    #[arg(long, env = "CORKBOARD_OUTBOX_BYTES", default_value_t = 1 << 20)]
    pub outbox_bytes: usize,

    /// Open connections (WebSocket and SSE together) per user; beyond: 429.
    #[arg(
        long,
        env = "CORKBOARD_MAX_CONNECTIONS_PER_USER",
        default_value_t = 100
    )]
    pub max_connections_per_user: u32,

    /// Interval of `: keep-alive` comments on SSE streams, in ms. The web UI
    /// counts a stream silent for 2.5 intervals as dropped and reopens it (it
    /// assumes 15 s until two comments in a row show the interval), so above
    /// 37500 its streams are reopened every 37.5 s when idle.
    #[arg(long, env = "CORKBOARD_SSE_KEEPALIVE_MS", default_value_t = 15_000)]
    pub sse_keepalive_ms: u64,

    /// The `retry:` hint sent to SSE clients, in ms.
    #[arg(long, env = "CORKBOARD_SSE_RETRY_MS", default_value_t = 2_000)]
    pub sse_retry_ms: u64,

    /// A new connection must complete its first request head within this
    /// many ms (slow or silent clients are cut off before HTTP starts).
    #[arg(
        long,
        env = "CORKBOARD_FIRST_REQUEST_TIMEOUT_MS",
        default_value_t = 10_000
    )]
    pub first_request_timeout_ms: u64,

    /// An HTTP/1.1 request head (request line and headers) must arrive
    /// within this many ms, byte-trickled or not; else the connection closes.
    #[arg(
        long,
        env = "CORKBOARD_HEADER_READ_TIMEOUT_MS",
        default_value_t = 10_000
    )]
    pub header_read_timeout_ms: u64,

    /// A request body must arrive within this many ms (REST; WebSocket,
    /// SSE, long poll and gRPC streams are not bounded by it): then `bad_request` and the connection closes.
    #[arg(long, env = "CORKBOARD_BODY_TIMEOUT_MS", default_value_t = 30_000)]
    pub body_timeout_ms: u64,

    /// Set TCP_NODELAY on accepted connections (`--tcp-nodelay=true`): small
    /// writes leave at once instead of waiting for the previous segment's
    /// ACK (Nagle). Lower latency, more packets and CPU per delivery (see
    /// docs/benchmarks.md); HTTP/2 (gRPC) gains most, as it writes several
    /// small frames per event.
    #[arg(long, env = "CORKBOARD_TCP_NODELAY", default_value_t = false, action = clap::ArgAction::Set)]
    pub tcp_nodelay: bool,

    /// Open TCP connections the main listener holds at once (every HTTP,
    /// WebSocket, SSE and gRPC client); one more is closed as soon as it is
    /// accepted. Keep it under the process's open-file limit.
    #[arg(long, env = "CORKBOARD_MAX_CONNECTIONS", default_value_t = 16_000)]
    pub max_connections: usize,

    /// Largest gRPC request message, in bytes; bigger is RESOURCE_EXHAUSTED.
    #[arg(long, env = "CORKBOARD_GRPC_MAX_MESSAGE", default_value_t = 64 << 10)]
    pub grpc_max_message: usize,

    /// HTTP/2 keepalive (gRPC and HTTP/2 clients): a PING every N ms on a
    /// connection; one unanswered for --http2-keepalive-timeout-ms closes it.
    #[arg(long, env = "CORKBOARD_HTTP2_KEEPALIVE_MS", default_value_t = 20_000)]
    pub http2_keepalive_ms: u64,

    /// How long an HTTP/2 keepalive PING may go unanswered, in ms.
    #[arg(
        long,
        env = "CORKBOARD_HTTP2_KEEPALIVE_TIMEOUT_MS",
        default_value_t = 20_000
    )]
    pub http2_keepalive_timeout_ms: u64,

    /// Bytes HTTP/2 buffers per stream for a peer that is not reading (a
    /// gRPC stream that falls behind then fills its outbox and ends).
    #[arg(long, env = "CORKBOARD_HTTP2_SEND_BUFFER", default_value_t = 64 << 10)]
    pub http2_send_buffer: usize,

    /// Serve `/metrics` on this separate address only (e.g. 127.0.0.1:9090
    /// for a local Prometheus), not on --listen.
    #[arg(long, env = "CORKBOARD_METRICS_LISTEN")]
    pub metrics_listen: Option<SocketAddr>,

    /// Require `Authorization: Bearer <this>` on `/metrics` (on whichever
    /// listener serves it). Without it and without --metrics-listen,
    /// `/metrics` is open to anyone who reaches --listen.
    #[arg(long, env = "CORKBOARD_METRICS_TOKEN", hide_env_values = true)]
    pub metrics_token: Option<String>,

    /// Serve a WebSocket echo endpoint at /ws-echo (for `make conformance` only).
    #[arg(long, env = "CORKBOARD_WS_ECHO")]
    pub ws_echo: bool,

    /// Serve the web UI from this directory (a Next.js static export, such as
    /// `web/out`) instead of the copy built into the binary: a customised UI,
    /// or UI work tested without rebuilding the server.
    #[arg(long, env = "CORKBOARD_WEB_DIR")]
    pub web_dir: Option<PathBuf>,

    /// The trace exporter's flags (`--otlp-*`).
    #[command(flatten)]
    pub traces: crate::telemetry::TraceFlags,
}

/// The number of cores, the default of `--max-concurrent-hashes`.
fn default_hashes() -> u64 {
    std::thread::available_parallelism().map_or(1, |n| n.get() as u64)
}

impl Config {
    /// The signup, login and hashing limits these flags configure.
    pub fn auth_limits(&self) -> crate::auth::AuthLimits {
        crate::auth::AuthLimits {
            signups_per_minute: self.signups_per_minute,
            max_concurrent_hashes: self.max_concurrent_hashes as usize,
            failures_per_minute: self.failed_logins_per_minute,
            backoff_after: self.login_backoff_after,
            backoff_max_secs: self.login_backoff_max,
            account_slowdown_after: self.account_slowdown_after,
            sessions: crate::auth::SessionPolicy {
                idle_ms: (self.session_idle_timeout as i64).saturating_mul(1000),
                max_age_ms: (self.session_max_age as i64).saturating_mul(1000),
            },
        }
    }

    /// The contract limits these flags configure.
    pub fn limits(&self) -> Limits {
        Limits {
            note_text_chars: self.max_note_text,
            note_state_bytes: self.max_note_state_bytes,
            text_cache_bytes: self.text_cache_bytes,
            notes_per_board: self.max_notes_per_board,
            http_body_bytes: self.max_body_bytes,
            log_min_events: self.log_min_events,
            log_min_age_ms: (self.log_min_age as i64).saturating_mul(1000),
            deleted_note_ttl_ms: (self.deleted_note_ttl as i64).saturating_mul(1000),
            invite_ttl_secs: self.invite_ttl,
            invite_max_ttl_secs: self.invite_max_ttl.max(self.invite_ttl),
            invites_per_hour: self.invites_per_hour,
            named_invites_per_day: self.named_invites_per_day,
            boards_per_user: self.max_boards_per_user,
            history_checkpoint_every: self.history_checkpoint_every,
            thumbnail_notes: self.thumbnail_notes,
        }
    }

    /// The WebSocket settings these flags configure.
    pub fn ws(&self) -> crate::gateway::settings::WsSettings {
        crate::gateway::settings::WsSettings {
            heartbeat: std::time::Duration::from_millis(self.heartbeat_ms.max(10)),
            max_message: self.max_ws_message,
            write_timeout: std::time::Duration::from_millis(self.write_timeout_ms.max(10)),
            rpc_rate: self.rpc_rate,
            signal_rate: self.signal_rate,
            write_buffer: self.ws_write_buffer,
            read_buffer: self.ws_read_buffer.max(64),
            ..Default::default()
        }
    }

    /// The TLS configuration, if TLS is on.
    ///
    /// # Errors
    /// When the certificate or key cannot be loaded.
    pub fn tls(&self) -> anyhow::Result<Option<rustls::ServerConfig>> {
        match (&self.tls_cert, &self.tls_key, self.tls_self_signed) {
            (Some(c), Some(k), _) => crate::tls::from_pem_files(c, k).map(Some),
            (_, _, true) => crate::tls::self_signed().map(Some),
            _ => Ok(None),
        }
    }

    /// The gRPC and HTTP/2 settings these flags configure.
    pub fn grpc(&self) -> crate::gateway::settings::GrpcSettings {
        crate::gateway::settings::GrpcSettings {
            max_message: self.grpc_max_message.max(1024),
            keepalive: std::time::Duration::from_millis(self.http2_keepalive_ms.max(100)),
            keepalive_timeout: std::time::Duration::from_millis(
                self.http2_keepalive_timeout_ms.max(100),
            ),
            send_buffer: self.http2_send_buffer.max(1024),
            first_request_timeout: std::time::Duration::from_millis(
                self.first_request_timeout_ms.max(10),
            ),
            header_read_timeout: std::time::Duration::from_millis(
                self.header_read_timeout_ms.max(10),
            ),
            body_timeout: std::time::Duration::from_millis(self.body_timeout_ms.max(10)),
        }
    }

    /// The SSE settings these flags configure.
    pub fn sse(&self) -> crate::gateway::settings::SseSettings {
        crate::gateway::settings::SseSettings {
            keepalive: std::time::Duration::from_millis(self.sse_keepalive_ms.max(10)),
            retry_ms: self.sse_retry_ms,
        }
    }

    /// The PostgreSQL URL to use, if any.
    ///
    /// # Errors
    /// When `--database-url` is set to something that is not a PostgreSQL URL.
    pub fn postgres_url(&self) -> anyhow::Result<Option<&str>> {
        match self.database_url.as_deref().map(str::trim) {
            None | Some("") => Ok(None),
            Some(u) if crate::store::postgres::is_postgres_url(u) => Ok(Some(u)),
            Some(_) => anyhow::bail!(
                "--database-url must start with postgres:// or postgresql:// \
                 (leave it unset to use the SQLite database in --data)"
            ),
        }
    }

    /// The cluster bus settings, when `--redis-url` is set.
    ///
    /// # Errors
    /// When the URL is not a Redis URL, or PostgreSQL is not configured.
    pub fn redis(&self) -> anyhow::Result<Option<crate::bus::redis::RedisSettings>> {
        let url = match self.redis_url.as_deref().map(str::trim) {
            None | Some("") => return Ok(None),
            Some(u) => u,
        };
        if !(url.starts_with("redis://") || url.starts_with("rediss://")) {
            anyhow::bail!("--redis-url must start with redis:// or rediss://");
        }
        if self.postgres_url()?.is_none() {
            anyhow::bail!(
                "--redis-url (cluster mode) needs --database-url: every node must share one PostgreSQL store"
            );
        }
        let node = match self.node_id.as_deref().map(str::trim) {
            Some(n) if !n.is_empty() => n.to_owned(),
            _ => format!("node-{}", &uuid::Uuid::new_v4().simple().to_string()[..8]),
        };
        Ok(Some(crate::bus::redis::RedisSettings {
            url: url.to_owned(),
            prefix: self.redis_prefix.clone(),
            node,
            presence_ttl: std::time::Duration::from_secs(self.presence_ttl),
        }))
    }

    /// Defaults with the given data directory and an ephemeral port (tests, tools).
    pub fn for_tests(data: PathBuf) -> Self {
        let mut c = Config::parse_from(["corkboard"]);
        c.listen = "127.0.0.1:0".parse().expect("literal address");
        c.data = data;
        c
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn flags_are_consistent() {
        Config::command().debug_assert();
    }

    #[test]
    fn origins_split_on_commas() {
        let c = Config::parse_from([
            "corkboard",
            "--allowed-origin",
            "http://a:1,http://b:2",
            "--allowed-origin",
            "http://c:3",
        ]);
        assert_eq!(
            c.allowed_origin,
            vec!["http://a:1", "http://b:2", "http://c:3"]
        );
        assert_eq!(c.listen.to_string(), "127.0.0.1:8080");
    }

    #[test]
    fn database_url_selects_postgres() {
        let c = Config::parse_from(["corkboard"]);
        assert_eq!(c.postgres_url().unwrap(), None);
        assert_eq!(c.database_pool_size, 16);
        for url in ["postgres://u@h/db", "postgresql://h:5432/db"] {
            let c = Config::parse_from(["corkboard", "--database-url", url]);
            assert_eq!(c.postgres_url().unwrap(), Some(url));
        }
        let c = Config::parse_from(["corkboard", "--database-url", "mysql://h/db"]);
        assert!(c.postgres_url().is_err());
    }

    #[test]
    fn redis_url_needs_postgres() {
        let c = Config::parse_from(["corkboard"]);
        assert!(c.redis().unwrap().is_none());
        let c = Config::parse_from(["corkboard", "--redis-url", "redis://h:6379"]);
        assert!(c.redis().is_err(), "cluster mode without PostgreSQL");
        let c = Config::parse_from([
            "corkboard",
            "--redis-url",
            "http://h",
            "--database-url",
            "postgres://h/db",
        ]);
        assert!(c.redis().is_err());
        let c = Config::parse_from([
            "corkboard",
            "--redis-url",
            "redis://h:6379",
            "--database-url",
            "postgres://h/db",
            "--node-id",
            "n1",
        ]);
        let r = c.redis().unwrap().unwrap();
        assert_eq!((r.node.as_str(), r.prefix.as_str()), ("n1", "corkboard"));
        assert_eq!(r.presence_ttl, std::time::Duration::from_secs(10));
    }

    #[test]
    fn maintenance_commands_take_the_data_flags() {
        let c = Config::parse_from(["corkboard", "backup", "--to", "b.db", "--data", "d"]);
        assert_eq!(c.command, Some(Command::Backup { to: "b.db".into() }));
        assert_eq!(c.data, PathBuf::from("d"));
        let c = Config::parse_from(["corkboard", "--data", "d", "restore", "--from", "b.db"]);
        assert_eq!(
            c.command,
            Some(Command::Restore {
                from: "b.db".into(),
                discard_old: false
            })
        );
        assert_eq!(c.data, PathBuf::from("d"));
        assert_eq!(Config::parse_from(["corkboard"]).command, None);
        assert!(
            Config::try_parse_from(["corkboard", "backup"]).is_err(),
            "--to is required"
        );
    }
}
