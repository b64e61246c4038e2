//! The WebSocket opening handshake: RFC 6455 over HTTP/1.1 (`GET` with
//! `Upgrade: websocket`, answered 101) and RFC 8441 over HTTP/2 (extended
//! `CONNECT` with `:protocol websocket`, answered 200).
//!
//! It is done here rather than by axum's `WebSocketUpgrade` so that each
//! connection runs in one task of ours: axum's `on_upgrade` spawns a task of
//! its own that keeps its state (the socket it moved out, the callback)
//! beside the connection's future for the connection's whole life, about
//! 640 bytes per idle connection. The checks and their order are axum's.

use axum::http::{header, request::Parts, HeaderMap, HeaderName, HeaderValue, Method, StatusCode};
use axum::http::{Response, Version};
use hyper::upgrade::OnUpgrade;
use hyper_util::rt::TokioIo;
use tokio_tungstenite::tungstenite::protocol::{Role, WebSocketConfig};
use tokio_tungstenite::WebSocketStream;

/// An upgraded WebSocket connection, as both doors (`/ws`, `/ws-echo`) use it.
pub type Socket = WebSocketStream<TokioIo<hyper::upgrade::Upgraded>>;

/// Why a request is not a WebSocket handshake (the text of a 400).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NotWebSocket {
    MethodNotGet,
    MethodNotConnect,
    NoConnectionUpgrade,
    NoUpgradeWebsocket,
    NoProtocolWebsocket,
    NoKey,
    BadVersion,
    NotUpgradable,
}

impl std::fmt::Display for NotWebSocket {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::MethodNotGet => "Request method must be `GET`",
            Self::MethodNotConnect => "Request method must be `CONNECT`",
            Self::NoConnectionUpgrade => "Connection header did not include 'upgrade'",
            Self::NoUpgradeWebsocket => "`Upgrade` header did not include 'websocket'",
            Self::NoProtocolWebsocket => "`:protocol` pseudo-header did not include 'websocket'",
            Self::NoKey => "`Sec-WebSocket-Key` header missing",
            Self::BadVersion => "`Sec-WebSocket-Version` header did not include '13'",
            Self::NotUpgradable => {
                "WebSocket request couldn't be upgraded since no upgrade state was present"
            }
        })
    }
}

/// A checked handshake request: what the response and the upgrade need.
pub struct Handshake {
    on_upgrade: OnUpgrade,
    /// `Sec-WebSocket-Key` (HTTP/1.1 only).
    key: Option<HeaderValue>,
    /// The subprotocol chosen among the client's offers.
    protocol: Option<HeaderValue>,
}

impl Handshake {
    /// Checks the request as RFC 6455 / RFC 8441 require and takes its
    /// upgrade. `supported` is the subprotocol chosen when the client offers it.
    pub fn check(parts: &mut Parts, supported: Option<&'static str>) -> Result<Self, NotWebSocket> {
        let key = if parts.version <= Version::HTTP_11 {
            if parts.method != Method::GET {
                return Err(NotWebSocket::MethodNotGet);
            }
            if !header_contains(&parts.headers, header::CONNECTION, "upgrade") {
                return Err(NotWebSocket::NoConnectionUpgrade);
            }
            if !header_eq(&parts.headers, header::UPGRADE, "websocket") {
                return Err(NotWebSocket::NoUpgradeWebsocket);
            }
            let key = parts.headers.get(header::SEC_WEBSOCKET_KEY);
            Some(key.ok_or(NotWebSocket::NoKey)?.clone())
        } else {
            if parts.method != Method::CONNECT {
                return Err(NotWebSocket::MethodNotConnect);
            }
            let protocol = parts.extensions.get::<hyper::ext::Protocol>();
            if protocol.is_none_or(|p| p.as_str() != "websocket") {
                return Err(NotWebSocket::NoProtocolWebsocket);
            }
            None
        };
        if !header_eq(&parts.headers, header::SEC_WEBSOCKET_VERSION, "13") {
            return Err(NotWebSocket::BadVersion);
        }
        let on_upgrade = parts
            .extensions
            .remove::<OnUpgrade>()
            .ok_or(NotWebSocket::NotUpgradable)?;
        let protocol = supported.filter(|want| offers(&parts.headers, want));
        Ok(Self {
            on_upgrade,
            key,
            protocol: protocol.map(HeaderValue::from_static),
        })
    }

    /// The answer that completes the handshake (101 with `Sec-WebSocket-Accept`
    /// over HTTP/1.1, an empty 200 over HTTP/2), and the upgrade it leads to.
    pub fn accept<B: Default>(self) -> (Response<B>, Upgrade) {
        (self.response(), Upgrade(self.on_upgrade))
    }

    fn response<B: Default>(&self) -> Response<B> {
        let mut response = Response::new(B::default());
        if self.key.is_some() {
            *response.status_mut() = StatusCode::SWITCHING_PROTOCOLS;
        }
        let headers = response.headers_mut();
        if let Some(key) = &self.key {
            headers.insert(header::CONNECTION, HeaderValue::from_static("upgrade"));
            headers.insert(header::UPGRADE, HeaderValue::from_static("websocket"));
            let accept =
                tokio_tungstenite::tungstenite::handshake::derive_accept_key(key.as_bytes());
            if let Ok(accept) = HeaderValue::from_str(&accept) {
                headers.insert(header::SEC_WEBSOCKET_ACCEPT, accept);
            }
        }
        if let Some(protocol) = &self.protocol {
            headers.insert(header::SEC_WEBSOCKET_PROTOCOL, protocol.clone());
        }
        response
    }
}

/// The connection after an accepted handshake, once the response has gone
/// out. Small (one pointer): the connection's task keeps it until then.
pub struct Upgrade(OnUpgrade);

impl Upgrade {
    /// The upgraded connection as a WebSocket; None when the client went away first.
    pub async fn socket(self, config: WebSocketConfig) -> Option<Socket> {
        let upgraded = self.0.await.ok()?;
        let io = TokioIo::new(upgraded);
        Some(WebSocketStream::from_raw_socket(io, Role::Server, Some(config)).await)
    }
}

/// Whether `Sec-WebSocket-Protocol` (comma-separated, possibly repeated) offers `want`.
fn offers(headers: &HeaderMap, want: &str) -> bool {
    headers
        .get_all(header::SEC_WEBSOCKET_PROTOCOL)
        .iter()
        .flat_map(|v| v.as_bytes().split(|&b| b == b','))
        .any(|p| p.trim_ascii() == want.as_bytes())
}

fn header_eq(headers: &HeaderMap, key: HeaderName, value: &'static str) -> bool {
    headers
        .get(&key)
        .is_some_and(|h| h.as_bytes().eq_ignore_ascii_case(value.as_bytes()))
}

fn header_contains(headers: &HeaderMap, key: HeaderName, value: &'static str) -> bool {
    headers
        .get(&key)
        .and_then(|h| h.to_str().ok())
        .is_some_and(|h| h.to_ascii_lowercase().contains(value))
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::Request;

    fn parts(req: Request<()>) -> Parts {
        req.into_parts().0
    }

    fn h1() -> axum::http::request::Builder {
        Request::get("/ws")
            .header("connection", "keep-alive, Upgrade")
            .header("upgrade", "WebSocket")
            .header("sec-websocket-version", "13")
            .header("sec-websocket-key", "dGhlIHNhbXBsZSBub25jZQ==")
    }

    #[test]
    fn a_request_without_upgrade_state_is_refused_after_the_header_checks() {
        // RFC 6455's example key passes every check; a plain request has no upgrade.
        let mut p = parts(h1().body(()).unwrap());
        assert_eq!(
            Handshake::check(&mut p, None).err(),
            Some(NotWebSocket::NotUpgradable)
        );
    }

    #[test]
    fn each_missing_piece_is_named() {
        let cases = [
            (
                Request::post("/ws").body(()).unwrap(),
                NotWebSocket::MethodNotGet,
            ),
            (
                Request::get("/ws").body(()).unwrap(),
                NotWebSocket::NoConnectionUpgrade,
            ),
            (
                Request::get("/ws")
                    .header("connection", "upgrade")
                    .body(())
                    .unwrap(),
                NotWebSocket::NoUpgradeWebsocket,
            ),
            (
                Request::get("/ws")
                    .header("connection", "upgrade")
                    .header("upgrade", "websocket")
                    .body(())
                    .unwrap(),
                NotWebSocket::NoKey,
            ),
            (
                Request::connect("/ws")
                    .version(Version::HTTP_2)
                    .body(())
                    .unwrap(),
                NotWebSocket::NoProtocolWebsocket,
            ),
            (
                Request::get("/ws")
                    .version(Version::HTTP_2)
                    .body(())
                    .unwrap(),
                NotWebSocket::MethodNotConnect,
            ),
        ];
        for (req, want) in cases {
            assert_eq!(Handshake::check(&mut parts(req), None).err(), Some(want));
        }
        let mut p = parts(
            Request::get("/ws")
                .header("connection", "upgrade")
                .header("upgrade", "websocket")
                .header("sec-websocket-key", "x")
                .header("sec-websocket-version", "8")
                .body(())
                .unwrap(),
        );
        assert_eq!(
            Handshake::check(&mut p, None).err(),
            Some(NotWebSocket::BadVersion)
        );
    }

    #[test]
    fn the_accept_key_and_subprotocol_follow_rfc_6455() {
        let hs = Handshake {
            on_upgrade: {
                let mut req = Request::new(());
                hyper::upgrade::on(&mut req)
            },
            key: Some(HeaderValue::from_static("dGhlIHNhbXBsZSBub25jZQ==")),
            protocol: Some(HeaderValue::from_static("corkboard.v1")),
        };
        let r: Response<()> = hs.response();
        assert_eq!(r.status(), StatusCode::SWITCHING_PROTOCOLS);
        // RFC 6455, section 1.3.
        assert_eq!(
            r.headers()[header::SEC_WEBSOCKET_ACCEPT],
            "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="
        );
        assert_eq!(r.headers()[header::SEC_WEBSOCKET_PROTOCOL], "corkboard.v1");
        let mut h = HeaderMap::new();
        h.append(
            header::SEC_WEBSOCKET_PROTOCOL,
            HeaderValue::from_static("a, corkboard.v1"),
        );
        assert!(offers(&h, "corkboard.v1"));
        assert!(!offers(&h, "corkboard"));
    }
}
