//! Startup and graceful shutdown.
//!
//! [`start`] opens the store, binds the listener and serves in a task;
//! [`Running::shutdown`] stops accepting, lets requests in flight finish
//! (up to the drain deadline), then flushes and closes the store, so every
//! acknowledged write is on disk before the process exits.
//!
//! The store is PostgreSQL when `--database-url` names one, else the SQLite
//! file in `--data`. With `--redis-url` the node joins a cluster: commits
//! are published on Redis and what other nodes publish reaches this node's
//! hubs (see [`crate::bus::redis`]).

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use std::time::Duration;
use tokio::sync::Semaphore;

use anyhow::Context;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::bus::redis::{RedisBus, RemoteHandler};
use crate::bus::LocalBus;
use crate::config::Config;
use crate::core::{Clock, SystemClock};
use crate::gateway::listener::{Connections, Listener, SocketOptions};
use crate::gateway::HttpState;
use crate::realtime::cluster::ClusterMessage;
use crate::realtime::Hub;
use crate::service::App;
use crate::store::postgres::{redact_url, PgStore};
use crate::store::sqlite::SqliteStore;
use crate::store::EventSink;
use crate::store::Store;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

/// A server that is serving; drop it only through [`Running::shutdown`].
pub struct Running {
    /// The bound address (useful with port 0).
    pub addr: SocketAddr,
    /// Shared state (tests reach the store and clock through it).
    pub state: Arc<HttpState>,
    tls_handle: Option<Connections>,
    stop: watch::Sender<bool>,
    serve: JoinHandle<()>,
    background: Vec<JoinHandle<()>>,
    drain: Duration,
}

/// Starts a server with the real clock.
///
/// # Errors
/// When the store cannot be opened or the address cannot be bound.
pub async fn start(config: &Config) -> anyhow::Result<Running> {
    start_with_clock(config, Arc::new(SystemClock)).await
}

/// Starts a server with the given clock (tests inject a manual one).
///
/// # Errors
/// When the store cannot be opened or the address cannot be bound.
pub async fn start_with_clock(config: &Config, clock: Arc<dyn Clock>) -> anyhow::Result<Running> {
    let _ = crate::http::metrics::recorder();
    let limits = config.limits();
    let bus = LocalBus::new();
    let cluster = match config.redis()? {
        Some(settings) => {
            tracing::info!(node = %settings.node, prefix = %settings.prefix, "cluster mode: Redis bus");
            Some(RedisBus::new(settings, bus.clone()).context("configuring the Redis bus")?)
        }
        None => None,
    };
    // Commits go to the Redis bus in cluster mode (it feeds the local bus in
    // seq order), straight to the local bus otherwise.
    let sink: Arc<dyn EventSink> = match &cluster {
        Some(c) => c.clone(),
        None => Arc::new(bus.clone()),
    };
    let store: Arc<dyn Store> = match config.postgres_url()? {
        Some(url) => Arc::new(
            PgStore::open(
                url,
                config.database_pool_size,
                sink.clone(),
                limits.clone(),
                clock.clone(),
            )
            .await
            .with_context(|| format!("opening the PostgreSQL store at {}", redact_url(url)))?,
        ),
        None => Arc::new(
            SqliteStore::open(&config.data, sink.clone(), limits.clone(), clock.clone())
                .await
                .with_context(|| format!("opening the store in {}", config.data.display()))?,
        ),
    };
    let hub = Arc::new(Hub::new(
        clock.clone(),
        config.max_connections_per_user,
        config.outbox_bytes,
    ));
    let pump = tokio::spawn(crate::realtime::hub::pump(hub.clone(), bus.subscribe()));
    let mut app = App::new(
        store.clone(),
        bus,
        clock.clone(),
        limits,
        hub.clone(),
        config.auth_limits(),
    );
    if let Some(c) = &cluster {
        app = app.with_cluster(c.clone());
    }
    let tls = config.tls()?;
    let state = Arc::new(HttpState {
        app: Arc::new(app),
        allowed_origins: config.allowed_origin.clone(),
        tls: config.secure_cookies || tls.is_some(),
        draining: AtomicBool::new(false),
        ws: config.ws(),
        tracker: TaskTracker::new(),
        shutdown: CancellationToken::new(),
        ws_echo: config.ws_echo,
        sse: config.sse(),
        grpc: config.grpc(),
        metrics: crate::gateway::settings::MetricsSettings {
            listen: config.metrics_listen,
            token: config.metrics_token.clone().filter(|t| !t.is_empty()),
        },
        trusted_proxies: crate::gateway::forwarded::TrustedProxies(config.trusted_proxy.clone()),
        rest_mutations: crate::gateway::limits::UserBuckets::new(config.rest_mutation_rate),
        web_dir: config.web_dir.clone(),
    });
    let notifier = tokio::spawn(crate::service::notifier::run(
        state.app.clone(),
        state.app.bus.subscribe(),
    ));
    let mut background = Vec::new();
    if let Some(c) = &cluster {
        background.extend(c.start(
            store.clone(),
            hub,
            clock.clone(),
            Arc::new(Relay(state.clone())),
            // Stopped by abort at the end of shutdown, after the drain, so
            // what commits while draining is still published.
            CancellationToken::new(),
        ));
    }
    let router = crate::routes::router(state.clone());
    let make = router.into_make_service_with_connect_info::<SocketAddr>();
    let (stop, stopped) = watch::channel(false);
    if let Some(addr) = config.metrics_listen {
        let listener = bind(addr).with_context(|| format!("binding --metrics-listen {addr}"))?;
        let app = crate::http::metrics::router::<()>(state.metrics.token.as_deref());
        tracing::info!(%addr, "serving /metrics on its own listener");
        // Stopped (aborted) with the other background tasks at the end of shutdown.
        background.push(tokio::spawn(async move {
            if let Err(e) = axum::serve(listener, app).await {
                tracing::error!(error = %e, "metrics listener failed");
            }
        }));
    }
    let grpc = state.grpc.clone();
    let is_tls = tls.is_some();
    let listener = bind(config.listen).with_context(|| format!("binding {}", config.listen))?;
    let addr = listener.local_addr()?;
    let socket_options = SocketOptions {
        nodelay: config.tcp_nodelay,
        slots: Arc::new(Semaphore::new(config.max_connections.max(1))),
    };
    let tls = tls.map(|tls| axum_server::tls_rustls::RustlsConfig::from_config(Arc::new(tls)));
    let (serve, connections) =
        Listener::new(&grpc, socket_options, tls).serve(listener, make, stopped);
    let tls_handle = is_tls.then_some(connections);
    let prune = {
        let store = store.clone();
        let clock = clock.clone();
        let every = Duration::from_secs(config.prune_interval.max(1));
        every_until_stopped(every, stop.subscribe(), move || {
            let (store, clock) = (store.clone(), clock.clone());
            async move {
                match store.prune(clock.now()).await {
                    Ok(0) => {}
                    Ok(n) => tracing::info!(events = n, "moved the resume window"),
                    Err(e) => tracing::warn!(error = %e, "pruning failed"),
                }
            }
        })
    };
    // Ends expired sessions and closes their connections, on every node (the
    // store hands each expired session to one node; its kick reaches all).
    let sweep = {
        let app = state.app.clone();
        let every = app.sessions.sweep_every();
        every_until_stopped(every, stop.subscribe(), move || {
            let app = app.clone();
            async move {
                match app.expire_sessions().await {
                    Ok(0) => {}
                    Ok(n) => tracing::info!(sessions = n, "expired sessions ended"),
                    Err(e) => tracing::warn!(error = %e.message, "session sweep failed"),
                }
            }
        })
    };
    Ok(Running {
        addr,
        tls_handle,
        state,
        stop,
        serve,
        background: {
            background.extend([prune, sweep, pump, notifier]);
            background
        },
        drain: Duration::from_secs(config.drain_timeout),
    })
}

/// Runs `pass` every `every` until the server stops (pruning, the session sweep).
fn every_until_stopped<F, Fut>(
    every: Duration,
    mut stopped: watch::Receiver<bool>,
    pass: F,
) -> tokio::task::JoinHandle<()>
where
    F: Fn() -> Fut + Send + 'static,
    Fut: std::future::Future<Output = ()> + Send + 'static,
{
    tokio::spawn(async move {
        loop {
            tokio::select! {
                _ = tokio::time::sleep(every) => {}
                _ = stopped.wait_for(|s| *s) => return,
            }
            pass().await;
        }
    })
}

/// Pending connections the kernel queues before `accept` (capped by
/// `net.core.somaxconn`). tokio's default of 1,024 overflowed when thousands
/// of clients reconnect at once (the connection-storm benchmark).
const LISTEN_BACKLOG: u32 = 8192;

/// Binds the listening socket with [`LISTEN_BACKLOG`].
fn bind(addr: SocketAddr) -> std::io::Result<tokio::net::TcpListener> {
    let socket = match addr {
        SocketAddr::V4(_) => tokio::net::TcpSocket::new_v4()?,
        SocketAddr::V6(_) => tokio::net::TcpSocket::new_v6()?,
    };
    socket.set_reuseaddr(true)?;
    socket.bind(addr)?;
    socket.listen(LISTEN_BACKLOG)
}

impl Running {
    /// Open TCP connections when serving TLS (None for plain HTTP).
    pub fn tls_connections(&self) -> Option<usize> {
        self.tls_handle.as_ref().map(Connections::open)
    }

    /// Stops accepting, answers what is in flight (HTTP requests and
    /// WebSocket RPCs), closes every WebSocket with 1001, all within the
    /// drain deadline, then flushes and closes the store.
    pub async fn shutdown(self) {
        let deadline = tokio::time::Instant::now() + self.drain;
        self.state.draining.store(true, Ordering::Relaxed);
        let _ = self.stop.send(true);
        self.state.shutdown.cancel();
        // After the cancel: a WebSocket registered from now on sees the token cancelled.
        self.state.app.hub.request_shutdown();
        self.state.tracker.close();
        let abort = self.serve.abort_handle();
        if tokio::time::timeout_at(deadline, self.serve).await.is_err() {
            tracing::warn!(deadline = ?self.drain, "drain deadline passed; closing the remaining connections");
            abort.abort();
        }
        if tokio::time::timeout_at(deadline, self.state.tracker.wait())
            .await
            .is_err()
        {
            tracing::warn!("connections still open at the drain deadline");
            self.state
                .app
                .hub
                .close_all(crate::realtime::CloseReason::Shutdown);
        }
        for t in self.background {
            t.abort();
        }
        self.state.app.store.close().await;
        tracing::info!("shut down cleanly");
    }
}

/// Applies what other nodes send to this node's hubs and caches.
struct Relay(Arc<HttpState>);

impl RemoteHandler for Relay {
    fn handle(&self, _node: &str, msg: ClusterMessage) {
        let app = &self.0.app;
        match msg {
            ClusterMessage::Signal {
                board,
                from,
                cursor,
                frame,
            } => app.hub.remote_signal(from, &board, cursor, frame),
            ClusterMessage::Notification { user, notification } => {
                app.notify.publish_local(&user, &notification);
            }
            ClusterMessage::Unread { user, count } => app.notify.unread_local(&user, count),
            ClusterMessage::Boards {
                user,
                reason,
                board,
            } => app.notify.boards_local(&user, &reason, &board),
            ClusterMessage::Kick { credential } => {
                app.forget_credential(&credential);
                app.hub.kick_local(&credential);
            }
            // The bus applies presence itself (it knows the TTL).
            ClusterMessage::Presence { .. } => {}
        }
    }
}
