//! `GET /ws-echo` (only with `--ws-echo`): echoes every message back, on the
//! same WebSocket stack and limits as `/ws`. It exists so the Autobahn
//! conformance suite can exercise our framing without the application
//! protocol on top (`make conformance`).

use std::sync::Arc;
use std::time::Duration;

use axum::extract::{Request, State};
use axum::response::{IntoResponse, Response};
use futures_util::{SinkExt, StreamExt};
use tokio_tungstenite::tungstenite::Message;

use super::handshake::{Handshake, Socket};
use crate::core::ApiError;
use crate::gateway::HttpState;

/// Reads (and discards) until the peer's close or the end of the stream, so
/// the closing handshake completes. If the stream has already failed (a
/// frame over the limit leaves unread bytes in the socket), lingers instead:
/// closing a socket with unread data sends a reset, which can destroy our
/// close frame before the peer reads it.
pub async fn finish_close(socket: &mut Socket, after_error: bool) {
    let linger = Duration::from_secs(1);
    let started = tokio::time::Instant::now();
    let _ = tokio::time::timeout(Duration::from_secs(2), async {
        loop {
            match socket.next().await {
                Some(Ok(Message::Close(_))) => return,
                Some(Ok(_)) => {}
                None | Some(Err(_)) => {
                    if after_error {
                        tokio::time::sleep_until(started + linger).await;
                    }
                    return;
                }
            }
        }
    })
    .await;
}

/// Upgrades and echoes; no authentication (enable it only for testing).
pub async fn echo(State(s): State<Arc<HttpState>>, req: Request) -> Response {
    let (mut parts, _body) = req.into_parts();
    let handshake = match Handshake::check(&mut parts, None) {
        Ok(h) => h,
        Err(e) => {
            return ApiError::bad_request(format!("expected a WebSocket upgrade: {e}"))
                .into_response()
        }
    };
    let (response, upgrade) = handshake.accept();
    let config = super::config(&s.ws);
    tokio::spawn(async move {
        if let Some(socket) = upgrade.socket(config).await {
            echo_messages(socket).await;
        }
    });
    response
}

async fn echo_messages(mut socket: Socket) {
    while let Some(msg) = socket.next().await {
        match msg {
            Ok(m @ (Message::Text(_) | Message::Binary(_))) => {
                if socket.send(m).await.is_err() {
                    return;
                }
            }
            Ok(Message::Close(_)) => {
                // tungstenite queued the close reply; receiving flushes it.
                finish_close(&mut socket, false).await;
                return;
            }
            Ok(_) => {}
            Err(e) => {
                let reason = super::read_error_close(e);
                let _ = socket.send(super::close_frame(reason)).await;
                finish_close(&mut socket, true).await;
                return;
            }
        }
    }
}
