//! The HTTP listener: accepts TCP connections (the `--max-connections` cap,
//! `TCP_NODELAY`), runs the TLS handshake when serving TLS, and serves each
//! connection with hyper's HTTP/1.1 or HTTP/2 connection, chosen once: by
//! ALPN under TLS, by the HTTP/2 connection preface on plain TCP (h2c with
//! prior knowledge, which gRPC clients use). gRPC, REST, SSE and WebSocket
//! upgrades share the one port.
//!
//! Why not hyper-util's `auto` connection, which axum-server serves with: its
//! future holds the HTTP/2 state inline whatever the protocol, 1,512 bytes
//! against 616 for hyper's HTTP/1.1 connection, kept by every idle keep-alive
//! connection and every SSE stream for its whole life (docs/profiling.md).
//! Here an HTTP/1.1 connection's task holds only what HTTP/1.1 needs; the
//! HTTP/2 and TLS paths are boxed.
//!
//! Every connection's first request must arrive within
//! `--first-request-timeout` (TLS handshake and protocol detection
//! included). When the server stops, the listener closes, every connection
//! is asked to finish gracefully (hyper answers what is in flight, then
//! closes), and [`serve`]'s task ends once all of them have.

use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use axum::extract::connect_info::IntoMakeServiceWithConnectInfo;
use axum::Router;
use axum_server::accept::Accept;
use axum_server::tls_rustls::RustlsAcceptor;
use hyper::server::conn::{http1, http2};
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{watch, Semaphore};
use tokio::time::Instant;
use tokio_util::task::TaskTracker;
use tower::Service;

use crate::gateway::capped::Capped;
use crate::gateway::settings::GrpcSettings;

/// What happens to each accepted TCP connection: the connection cap
/// (`--max-connections`) and socket options.
#[derive(Clone, Debug)]
pub struct SocketOptions {
    /// `TCP_NODELAY`: send small writes at once instead of waiting for the
    /// previous segment's ACK (Nagle).
    pub nodelay: bool,
    /// One permit per open connection; none left closes the new one at once,
    /// so descriptors and per-connection memory stay bounded.
    pub slots: Arc<Semaphore>,
}

impl<S> Accept<TcpStream, S> for SocketOptions {
    type Stream = Capped;
    type Service = S;
    type Future = std::future::Ready<io::Result<(Capped, S)>>;

    fn accept(&self, stream: TcpStream, service: S) -> Self::Future {
        let Ok(permit) = self.slots.clone().try_acquire_owned() else {
            metrics::counter!("corkboard_connections_refused_total").increment(1);
            tracing::debug!("--max-connections reached; closing a new connection");
            return std::future::ready(Err(io::Error::other("too many connections")));
        };
        let set = if self.nodelay {
            stream.set_nodelay(true)
        } else {
            Ok(())
        };
        std::future::ready(set.map(|()| (Capped::new(stream, permit), service)))
    }
}

/// The service each connection calls: the router with the peer's address.
type MakeService = IntoMakeServiceWithConnectInfo<Router, SocketAddr>;
/// One connection's router, with the peer's address as `ConnectInfo`.
type ConnService = <MakeService as Service<SocketAddr>>::Response;
/// What hyper calls: the router, marking the connection's first request.
type HyperService = TowerToHyperService<FirstRequest<ConnService>>;

/// How connections are served: protocol settings and the TLS acceptor.
pub struct Listener {
    http1: http1::Builder,
    http2: http2::Builder<TokioExecutor>,
    first_request_timeout: Duration,
    socket: SocketOptions,
    tls: Option<RustlsAcceptor<SocketOptions>>,
}

/// Open connections, for [`crate::server::Running::tls_connections`].
#[derive(Clone)]
pub struct Connections(TaskTracker);

impl Connections {
    /// Connections being served (an upgraded WebSocket has left hyper, and this count).
    pub fn open(&self) -> usize {
        self.0.len()
    }
}

impl Listener {
    /// HTTP/1.1 and HTTP/2 with the server's timeouts and limits; TLS when
    /// `tls` is given (its ALPN list chooses the protocol).
    pub fn new(
        grpc: &GrpcSettings,
        socket: SocketOptions,
        tls: Option<axum_server::tls_rustls::RustlsConfig>,
    ) -> Self {
        let mut h1 = http1::Builder::new();
        // Slowloris: a request head trickled byte by byte still has to end in time.
        h1.timer(TokioTimer::new())
            .header_read_timeout(grpc.header_read_timeout);
        let mut h2 = http2::Builder::new(TokioExecutor::new());
        h2.timer(TokioTimer::new())
            // WebSocket over HTTP/2 (RFC 8441) needs the extended CONNECT protocol.
            .enable_connect_protocol()
            // gRPC keepalive: PINGs find dead peers of idle streams.
            .keep_alive_interval(Some(grpc.keepalive))
            .keep_alive_timeout(grpc.keepalive_timeout)
            // What a peer that stops reading can make one stream hold.
            .max_send_buf_size(grpc.send_buffer);
        let tls = tls.map(|config| RustlsAcceptor::new(config).acceptor(socket.clone()));
        Self {
            http1: h1,
            http2: h2,
            first_request_timeout: grpc.first_request_timeout,
            socket,
            tls,
        }
    }

    /// Accepts on `listener` until `stop` turns true, then waits for every
    /// connection to finish. Returns the task and the open-connection count.
    pub fn serve(
        self,
        listener: TcpListener,
        make: MakeService,
        stop: watch::Receiver<bool>,
    ) -> (tokio::task::JoinHandle<()>, Connections) {
        let tracker = TaskTracker::new();
        let connections = Connections(tracker.clone());
        let task = tokio::spawn(accept_loop(Arc::new(self), listener, make, stop, tracker));
        (task, connections)
    }
}

/// Accepts connections and spawns one task per connection until `stop`.
async fn accept_loop(
    listener_settings: Arc<Listener>,
    listener: TcpListener,
    mut make: MakeService,
    mut stop: watch::Receiver<bool>,
    tracker: TaskTracker,
) {
    loop {
        let (tcp, peer) = tokio::select! {
            biased;
            _ = stopping(&mut stop) => break,
            accepted = listener.accept() => match accepted {
                Ok(a) => a,
                Err(e) => {
                    // Out of descriptors (EMFILE) and the like: wait a little
                    // rather than spin on an error that persists.
                    tracing::debug!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(10)).await;
                    continue;
                }
            },
        };
        let Ok(()) =
            std::future::poll_fn(|cx| Service::<SocketAddr>::poll_ready(&mut make, cx)).await;
        let Ok(service) = make.call(peer).await;
        let settings = listener_settings.clone();
        let stop = stop.clone();
        if settings.tls.is_some() {
            tracker.spawn(Box::pin(serve_tls(settings, tcp, service, stop)));
        } else {
            tracker.spawn(serve_plain(settings, tcp, service, stop));
        }
    }
    // Refuse new connections at once rather than leave them queued.
    drop(listener);
    tracker.close();
    tracker.wait().await;
}

/// A plain TCP connection: HTTP/1.1, or HTTP/2 when it opens with the preface.
async fn serve_plain(
    settings: Arc<Listener>,
    tcp: TcpStream,
    service: ConnService,
    mut stop: watch::Receiver<bool>,
) {
    let deadline = Instant::now() + settings.first_request_timeout;
    let Ok((io, ())) = settings.socket.accept(tcp, ()).await else {
        return;
    };
    let sniffed = tokio::select! {
        biased;
        _ = stopping(&mut stop) => return,
        r = tokio::time::timeout_at(deadline, Sniffed::read(io)) => r,
    };
    let Ok(Ok(io)) = sniffed else {
        return;
    };
    let h2 = io.is_h2;
    serve_io(&settings, io, h2, service, deadline, stop).await;
}

/// A TLS connection: the handshake, then the protocol ALPN chose.
async fn serve_tls(
    settings: Arc<Listener>,
    tcp: TcpStream,
    service: ConnService,
    mut stop: watch::Receiver<bool>,
) {
    let deadline = Instant::now() + settings.first_request_timeout;
    let Some(acceptor) = &settings.tls else {
        return;
    };
    let accepted = tokio::select! {
        biased;
        _ = stopping(&mut stop) => return,
        r = tokio::time::timeout_at(deadline, acceptor.accept(tcp, ())) => r,
    };
    let Ok(Ok((io, _))) = accepted else {
        return;
    };
    let h2 = io.get_ref().1.alpn_protocol() == Some(&b"h2"[..]);
    serve_io(&settings, io, h2, service, deadline, stop).await;
}

/// Serves one connection with HTTP/1.1 (with upgrades: WebSocket) or
/// HTTP/2 (gRPC, and WebSocket over extended CONNECT). The HTTP/2 connection
/// is boxed, so that an HTTP/1.1 connection's task holds none of its state.
async fn serve_io<I>(
    settings: &Listener,
    io: I,
    h2: bool,
    service: ConnService,
    deadline: Instant,
    stop: watch::Receiver<bool>,
) where
    I: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let (service, first) = FirstRequest::wrap(service);
    let io = TokioIo::new(io);
    if h2 {
        let mut conn = Box::pin(settings.http2.serve_connection(io, service));
        drive(
            conn.as_mut(),
            |c| c.graceful_shutdown(),
            &first,
            deadline,
            stop,
        )
        .await;
    } else {
        let conn = std::pin::pin!(settings.http1.serve_connection(io, service).with_upgrades());
        drive(conn, |c| c.graceful_shutdown(), &first, deadline, stop).await;
    }
}

/// Polls a connection to its end: closed when no request came by
/// `deadline`, and asked to finish gracefully when the server stops.
async fn drive<C, E>(
    mut conn: Pin<&mut C>,
    graceful: fn(Pin<&mut C>),
    first: &AtomicBool,
    deadline: Instant,
    mut stop: watch::Receiver<bool>,
) where
    C: Future<Output = Result<(), E>>,
    E: std::fmt::Display,
{
    let first_request_by = tokio::time::sleep_until(deadline);
    tokio::pin!(first_request_by);
    let mut waiting_for_first = true;
    loop {
        tokio::select! {
            biased;
            _ = stopping(&mut stop) => break,
            _ = &mut first_request_by, if waiting_for_first => {
                if !first.load(Ordering::Relaxed) {
                    tracing::debug!("no request within --first-request-timeout; closing");
                    return;
                }
                waiting_for_first = false;
            }
            done = conn.as_mut() => {
                if let Err(e) = done {
                    tracing::debug!(error = %e, "connection ended with an error");
                }
                return;
            }
        }
    }
    graceful(conn.as_mut());
    if let Err(e) = conn.await {
        tracing::debug!(error = %e, "connection ended with an error while draining");
    }
}

/// Resolves once the server stops (holding no lock of the channel after).
async fn stopping(stop: &mut watch::Receiver<bool>) {
    let _ = stop.wait_for(|s| *s).await;
}

/// The router of one connection, recording that a request came (for
/// `--first-request-timeout`).
#[derive(Clone)]
struct FirstRequest<S> {
    inner: S,
    seen: Arc<AtomicBool>,
}

impl FirstRequest<ConnService> {
    /// The hyper service of a connection, and the flag its first request sets.
    fn wrap(inner: ConnService) -> (HyperService, Arc<AtomicBool>) {
        let seen = Arc::new(AtomicBool::new(false));
        let service = TowerToHyperService::new(FirstRequest {
            inner,
            seen: seen.clone(),
        });
        (service, seen)
    }
}

impl<S, R> Service<R> for FirstRequest<S>
where
    S: Service<R>,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = S::Future;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: R) -> Self::Future {
        self.seen.store(true, Ordering::Relaxed);
        self.inner.call(req)
    }
}

/// The HTTP/2 connection preface (RFC 9113, section 3.4).
const H2_PREFACE: &[u8; 24] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";

/// A plain connection whose first bytes were read to tell HTTP/2's preface
/// from HTTP/1.1; reading it gives those bytes again first.
struct Sniffed<I> {
    io: I,
    prefix: [u8; 24],
    /// Bytes of `prefix` read from the peer.
    len: u8,
    /// Bytes of `prefix` handed back so far.
    pos: u8,
    is_h2: bool,
}

impl<I: AsyncRead + Unpin> Sniffed<I> {
    /// Reads until the bytes differ from the preface or all of it came.
    async fn read(mut io: I) -> io::Result<Self> {
        let mut prefix = [0u8; 24];
        let mut len = 0;
        while len < prefix.len() {
            let n = io.read(&mut prefix[len..]).await?;
            if n == 0 {
                break;
            }
            len += n;
            if prefix[..len] != H2_PREFACE[..len] {
                break;
            }
        }
        Ok(Self {
            io,
            prefix,
            len: len as u8,
            pos: 0,
            is_h2: prefix == *H2_PREFACE,
        })
    }
}

impl<I: AsyncRead + Unpin> AsyncRead for Sniffed<I> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        if self.pos < self.len {
            let (pos, len) = (usize::from(self.pos), usize::from(self.len));
            let n = (len - pos).min(buf.remaining());
            buf.put_slice(&self.prefix[pos..pos + n]);
            self.pos += n as u8;
            return Poll::Ready(Ok(()));
        }
        Pin::new(&mut self.io).poll_read(cx, buf)
    }
}

impl<I: AsyncWrite + Unpin> AsyncWrite for Sniffed<I> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.io).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.io).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.io.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.io).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.io).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::AsyncWriteExt;

    async fn sniff(sent: &[&[u8]]) -> (bool, Vec<u8>) {
        let (mut client, server) = tokio::io::duplex(1024);
        for part in sent {
            client.write_all(part).await.unwrap();
        }
        drop(client);
        let mut s = Sniffed::read(server).await.unwrap();
        let mut all = Vec::new();
        s.read_to_end(&mut all).await.unwrap();
        (s.is_h2, all)
    }

    #[tokio::test]
    async fn the_preface_is_http2_and_its_bytes_are_read_again() {
        let (h2, bytes) = sniff(&[b"PRI * HTTP/2.0\r\n", b"\r\nSM\r\n\r\n", b"frames"]).await;
        assert!(h2);
        assert_eq!(bytes, b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\nframes");
    }

    #[tokio::test]
    async fn anything_else_is_http1_and_nothing_is_lost() {
        let (h2, bytes) = sniff(&[b"GET / HTTP/1.1\r\nHost: x\r\n\r\n"]).await;
        assert!(!h2);
        assert_eq!(bytes, b"GET / HTTP/1.1\r\nHost: x\r\n\r\n");
        // A prefix of the preface that stops short is not HTTP/2.
        let (h2, bytes) = sniff(&[b"PRI * HT"]).await;
        assert!(!h2);
        assert_eq!(bytes, b"PRI * HT");
        let (h2, bytes) = sniff(&[b""]).await;
        assert!(!h2);
        assert!(bytes.is_empty());
    }
}
