//! An accepted TCP connection that holds one of the listener's connection
//! slots (`--max-connections`) for as long as it is open.

use std::pin::Pin;
use std::task::{Context, Poll};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio::sync::OwnedSemaphorePermit;

/// A TCP stream with its connection slot: the slot is freed when the
/// connection is dropped, whichever door (HTTP, WebSocket, SSE, gRPC) ends it.
#[derive(Debug)]
pub struct Capped {
    stream: TcpStream,
    _slot: OwnedSemaphorePermit,
}

impl Capped {
    /// Wraps an accepted stream with the slot it took.
    pub fn new(stream: TcpStream, slot: OwnedSemaphorePermit) -> Self {
        metrics::gauge!("corkboard_tcp_connections").increment(1.0);
        Self {
            stream,
            _slot: slot,
        }
    }
}

impl Drop for Capped {
    fn drop(&mut self) {
        metrics::gauge!("corkboard_tcp_connections").decrement(1.0);
    }
}

impl AsyncRead for Capped {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.stream).poll_read(cx, buf)
    }
}

impl AsyncWrite for Capped {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.stream).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[std::io::IoSlice<'_>],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.stream).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.stream.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.stream).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.stream).poll_shutdown(cx)
    }
}
