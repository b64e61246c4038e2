//! A gRPC stream's side of the hub: the stream registers like a WebSocket
//! connection (same registry, presence, per-user limit, outbox and
//! slow-consumer rule) and reads its outbox here, each frame decoded into
//! protobuf once per node however many streams share it.

use std::sync::Arc;

use parking_lot::Mutex;
use tokio_tungstenite::tungstenite::Utf8Bytes;
use tokio_util::sync::CancellationToken;
use tokio_util::task::task_tracker::TaskTrackerToken;

use super::convert::{self, Decoded};
use crate::core::ApiError;
use crate::gateway::HttpState;
use crate::realtime::outbox::Drained;
use crate::realtime::{CloseReason, ConnId, Hub, Outbox, Transport};
use crate::service::Principal;

/// Shared frames (events, presence, signals) at most this long are cached
/// decoded; longer ones (snapshots) belong to one stream and are not.
const CACHED_FRAME_BYTES: usize = 8 << 10;
/// Slots of the decode cache.
const SLOTS: usize = 256;

/// Decodes hub frames for gRPC, once per shared frame: the hub hands every
/// subscriber the same reference-counted frame, so its address names it.
/// A slot keeps its frame alive, so an address cannot be reused while cached.
pub struct FrameDecoder {
    slots: Vec<Mutex<Option<Cached>>>,
}

/// A frame and what it decoded to.
type Cached = (Utf8Bytes, Arc<Decoded>);

impl Default for FrameDecoder {
    fn default() -> Self {
        Self {
            slots: (0..SLOTS).map(|_| Mutex::new(None)).collect(),
        }
    }
}

impl FrameDecoder {
    /// The frame decoded (from the cache when another stream decoded it).
    pub fn decode(&self, f: &Utf8Bytes) -> Arc<Decoded> {
        let s = f.as_str();
        // Snapshots and notifications belong to one stream: not cached.
        if s.len() > CACHED_FRAME_BYTES || s.starts_with("event: ") {
            return Arc::new(convert::frame(s));
        }
        let addr = s.as_ptr() as usize;
        let slot = &self.slots[(addr >> 4).wrapping_mul(0x9E37_79B9) % SLOTS];
        {
            let g = slot.lock();
            if let Some((cached, d)) = &*g {
                if cached.as_str().as_ptr() as usize == addr && cached.len() == s.len() {
                    return d.clone();
                }
            }
        }
        let d = Arc::new(convert::frame(s));
        *slot.lock() = Some((f.clone(), d.clone()));
        d
    }
}

/// How a stream's batch ended, if it did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum End {
    /// The outbox closed for this reason.
    Closed(CloseReason),
    /// The server is shutting down.
    Shutdown,
}

impl End {
    /// The status the stream ends with: `None` for OK (the client closed).
    pub fn status(self) -> Option<tonic::Status> {
        match self {
            End::Closed(CloseReason::ClientClosed) => None,
            End::Closed(r) => Some(super::status::closed(r)),
            End::Shutdown => Some(super::status::closed(CloseReason::Shutdown)),
        }
    }
}

/// What one wait on the outbox gave.
pub struct Batch {
    /// Decoded frames, in order.
    pub frames: Vec<Arc<Decoded>>,
    /// Set when the stream must end after these frames.
    pub end: Option<End>,
}

/// A gRPC stream registered with the hub; unregisters when dropped.
pub struct HubConn {
    pub hub: Arc<Hub>,
    pub id: ConnId,
    pub outbox: Arc<Outbox>,
    buf: Vec<Utf8Bytes>,
    /// Holds shutdown until the stream is gone.
    _tracked: TaskTrackerToken,
}

impl Drop for HubConn {
    fn drop(&mut self) {
        self.hub.unregister(self.id);
    }
}

impl HubConn {
    /// Registers a stream for `p` (`Grpc` for a Connect session,
    /// `GrpcSubscribe` for the streams that take no signals).
    ///
    /// # Errors
    /// `rate_limited` over the per-user connection limit.
    pub fn register(s: &HttpState, p: &Principal, transport: Transport) -> Result<Self, ApiError> {
        let hub = s.app.hub.clone();
        let outbox = Arc::new(Outbox::new(hub.outbox_bytes()));
        let id = hub.register(&p.user, &p.credential_id, transport, outbox.clone())?;
        metrics::counter!("corkboard_grpc_streams_total").increment(1);
        Ok(Self {
            hub,
            id,
            outbox,
            buf: Vec::new(),
            _tracked: s.tracker.token(),
        })
    }

    /// Waits for frames (or the end), decoding them with `decoder`.
    /// `shutdown` is `None` for a stream that ends on shutdown by other means.
    pub async fn next(
        &mut self,
        decoder: &FrameDecoder,
        shutdown: Option<&CancellationToken>,
    ) -> Batch {
        let drained = match shutdown {
            Some(stop) => tokio::select! {
                biased;
                d = self.outbox.drain(&mut self.buf) => d,
                _ = stop.cancelled() => {
                    return Batch { frames: Vec::new(), end: Some(End::Shutdown) };
                }
            },
            None => self.outbox.drain(&mut self.buf).await,
        };
        let frames = self.buf.drain(..).map(|f| decoder.decode(&f)).collect();
        let end = match drained {
            // Pings are a WebSocket's; no one asks this outbox for one.
            Drained::Frames | Drained::Ping => None,
            Drained::Close(r) => Some(End::Closed(r)),
        };
        Batch { frames, end }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::{ServerMessage, UnsubscribeReason};

    #[test]
    fn a_shared_frame_is_decoded_once() {
        let d = FrameDecoder::default();
        let f: Utf8Bytes = ServerMessage::Unsubscribed {
            board: "b".into(),
            reason: Some(UnsubscribeReason::Revoked),
        }
        .to_json()
        .into();
        let a = d.decode(&f);
        let b = d.decode(&f.clone());
        assert!(Arc::ptr_eq(&a, &b), "the same frame hits the cache");
        // An equal frame at another address is decoded on its own.
        let g: Utf8Bytes = f.as_str().to_owned().into();
        let c = d.decode(&g);
        assert_eq!(*a, *c);
    }
}
