//! `GET /ws-echo` (only with `--ws-echo`): echoes every message back, on the
//! same WebSocket stack and limits as `/ws`. It exists so the Autobahn
//! conformance suite can exercise our framing without the application
//! protocol on top (`make conformance`).

use std::sync::Arc;

use axum::extract::ws::{CloseFrame, Message, WebSocketUpgrade};
use axum::extract::State;
use axum::response::Response;

use crate::http::HttpState;

/// Upgrades and echoes; no authentication (enable it only for testing).
pub async fn echo(State(s): State<Arc<HttpState>>, ws: WebSocketUpgrade) -> Response {
    super::configure(ws, &s.ws).on_upgrade(|mut socket| async move {
        while let Some(msg) = socket.recv().await {
            match msg {
                Ok(m @ (Message::Text(_) | Message::Binary(_))) => {
                    if socket.send(m).await.is_err() {
                        return;
                    }
                }
                Ok(Message::Close(_)) => return,
                Ok(_) => {}
                Err(e) => {
                    let reason = super::read_error_close(e);
                    let _ = socket
                        .send(Message::Close(Some(CloseFrame {
                            code: reason.ws_code(),
                            reason: reason.text().into(),
                        })))
                        .await;
                    return;
                }
            }
        }
    })
}
