//! Shared helpers for the integration tests: a real server on a real socket
//! (`127.0.0.1:0`) and a small HTTP client that keeps a session.

#![allow(dead_code)]

pub mod seed;
pub mod sse;
pub mod ws;

use std::sync::Arc;

use corkboard::config::Config;
use corkboard::core::{Clock, SystemClock};
use corkboard::server::{self, Running};
use reqwest::Method;
use serde_json::{json, Value};

/// A running server with its own temporary data directory.
pub struct TestServer {
    pub running: Option<Running>,
    pub base: String,
    pub dir: tempfile::TempDir,
}

impl TestServer {
    /// Starts a server with generous auth rate limits (tests sign up many users).
    pub async fn start() -> Self {
        Self::start_with(|_| {}).await
    }

    /// Starts a server after `tweak` adjusts the config.
    pub async fn start_with(tweak: impl FnOnce(&mut Config)) -> Self {
        Self::start_with_clock(tweak, Arc::new(SystemClock)).await
    }

    /// Starts a server with a given clock.
    pub async fn start_with_clock(tweak: impl FnOnce(&mut Config), clock: Arc<dyn Clock>) -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut config = Config::for_tests(dir.path().to_path_buf());
        config.signups_per_minute = 100_000;
        config.failed_logins_per_minute = 100_000;
        // Tests load boards through REST as fast as they can; tests/rest_quotas.rs sets a rate.
        config.rest_mutation_rate = 0;
        tweak(&mut config);
        let running = server::start_with_clock(&config, clock)
            .await
            .expect("server starts");
        let base = format!("http://{}", running.addr);
        Self {
            running: Some(running),
            base,
            dir,
        }
    }

    /// A fresh session of the existing user `name` (password
    /// `password123`), as its own client.
    pub async fn login(&self, name: &str) -> Client {
        let anon = self.anon();
        let r = anon
            .post(
                "/api/auth/login",
                serde_json::json!({"username": name, "password": "password123"}),
            )
            .await;
        assert_eq!(r.status, 200, "{:?}", r.body);
        Client {
            auth: Auth::Cookie(r.cookie.expect("cookie")),
            user: r.body["user"].clone(),
            ..anon
        }
    }

    /// A client with no credentials.
    pub fn anon(&self) -> Client {
        Self::anon_at(&self.base)
    }

    /// A client with no credentials for the server at `base`.
    pub fn anon_at(base: &str) -> Client {
        Client {
            base: base.to_owned(),
            http: http_client(),
            auth: Auth::None,
            user: Value::Null,
        }
    }

    /// Signs up `name` (password `password123`) and returns a client holding the session cookie.
    pub async fn user(&self, name: &str) -> Client {
        self.anon().signup(name).await
    }
}

impl Client {
    /// Signs up `name` (password `password123`) through this client's
    /// server; returns a client holding the session cookie.
    pub async fn signup(&self, name: &str) -> Client {
        let mut c = Client {
            auth: Auth::None,
            user: Value::Null,
            ..self.clone()
        };
        let r = c
            .call(
                Method::POST,
                "/api/auth/signup",
                Some(json!({"username": name, "password": "password123"})),
            )
            .await;
        assert_eq!(r.status, 201, "signup {name}: {:?}", r.body);
        let cookie = r.cookie.expect("session cookie");
        c.auth = Auth::Cookie(cookie);
        c.user = r.body["user"].clone();
        c
    }
}

impl TestServer {
    /// Shuts the server down gracefully.
    pub async fn stop(&mut self) {
        if let Some(r) = self.running.take() {
            r.shutdown().await;
        }
    }
}

/// The `corkboard` binary under test as a process to spawn: listening on
/// `127.0.0.1:{port}`, its data in `data`, warnings to the test's stderr.
pub fn binary(port: u16, data: &std::path::Path) -> std::process::Command {
    let mut c = std::process::Command::new(env!("CARGO_BIN_EXE_corkboard"));
    c.args(["--listen", &format!("127.0.0.1:{port}")])
        .arg("--data")
        .arg(data)
        .env("CORKBOARD_LOG", "warn")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::inherit());
    c
}

/// The session cookie as a `Cookie` header value: under TLS the server
/// names it `__Host-corkboard_session`.
pub fn cookie_header(base: &str, secret: &str) -> String {
    if base.starts_with("https://") {
        format!("__Host-corkboard_session={secret}")
    } else {
        format!("corkboard_session={secret}")
    }
}

/// A reqwest client. reqwest is built with `rustls-no-provider` (for the TLS
/// tests), so the process-wide rustls provider must be installed first.
pub fn http_client() -> reqwest::Client {
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::new()
}

/// How a client authenticates.
#[derive(Clone, Debug)]
pub enum Auth {
    None,
    Cookie(String),
    Bearer(String),
}

/// A response: status, JSON body (Null when empty), headers.
#[derive(Debug)]
pub struct Resp {
    pub status: u16,
    pub body: Value,
    pub text: String,
    pub headers: reqwest::header::HeaderMap,
    /// `corkboard_session` value from Set-Cookie, if any.
    pub cookie: Option<String>,
    /// The full Set-Cookie header, if any.
    pub set_cookie: Option<String>,
}

/// An HTTP client bound to a server and an identity.
#[derive(Clone)]
pub struct Client {
    pub base: String,
    pub http: reqwest::Client,
    pub auth: Auth,
    /// The signed-up user `{id, username}` (Null for anonymous).
    pub user: Value,
}

impl Client {
    /// Every event of board `b` through `GET /api/boards/{b}/events?after=…`, page by page.
    pub async fn all_seqs(&self, b: &str) -> (Vec<u64>, u64) {
        let mut seqs = Vec::new();
        let mut after = 0;
        loop {
            let r = self
                .get(&format!("/api/boards/{b}/events?after={after}"))
                .await;
            assert_eq!(r.status, 200, "{}", r.text);
            let page: Vec<u64> = r.body["events"]
                .as_array()
                .unwrap()
                .iter()
                .map(|e| e["seq"].as_u64().unwrap())
                .collect();
            let head = r.body["seq"].as_u64().unwrap();
            match page.last() {
                Some(&last) => {
                    seqs.extend(page);
                    after = last;
                }
                None => return (seqs, head),
            }
        }
    }

    /// The user's id.
    pub fn id(&self) -> String {
        self.user["id"].as_str().unwrap_or_default().to_owned()
    }

    /// The same identity authenticating with a Bearer token instead.
    pub fn with_bearer(&self, token: &str) -> Client {
        Client {
            auth: Auth::Bearer(token.to_owned()),
            ..self.clone()
        }
    }

    /// Sends a request with an optional JSON body.
    pub async fn call(&self, method: Method, path: &str, body: Option<Value>) -> Resp {
        let mut req = self.http.request(method, format!("{}{}", self.base, path));
        if let Some(b) = body {
            req = req
                .header("content-type", "application/json")
                .body(b.to_string());
        }
        self.send(req).await
    }

    /// Sends a request with a raw body and extra headers.
    pub async fn raw(
        &self,
        method: Method,
        path: &str,
        body: impl Into<reqwest::Body>,
        headers: &[(&str, &str)],
    ) -> Resp {
        let mut req = self
            .http
            .request(method, format!("{}{}", self.base, path))
            .body(body);
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        self.send(req).await
    }

    async fn send(&self, req: reqwest::RequestBuilder) -> Resp {
        self.try_send(req).await.expect("request")
    }

    /// Like [`Client::call`], but a network failure (a node that is down)
    /// is an `Err` instead of a panic.
    pub async fn try_call(
        &self,
        method: Method,
        path: &str,
        body: Option<Value>,
    ) -> Result<Resp, String> {
        let mut req = self.http.request(method, format!("{}{}", self.base, path));
        if let Some(b) = body {
            req = req
                .header("content-type", "application/json")
                .body(b.to_string());
        }
        self.try_send(req).await.map_err(|e| e.to_string())
    }

    /// A raw JSON body; a network failure (a reset) is an `Err`.
    pub async fn try_call_raw(
        &self,
        method: Method,
        path: &str,
        body: String,
    ) -> Result<Resp, String> {
        let req = self
            .http
            .request(method, format!("{}{}", self.base, path))
            .header("content-type", "application/json")
            .body(body);
        self.try_send(req).await.map_err(|e| e.to_string())
    }

    async fn try_send(&self, mut req: reqwest::RequestBuilder) -> Result<Resp, reqwest::Error> {
        match &self.auth {
            Auth::None => {}
            Auth::Cookie(c) => req = req.header("cookie", cookie_header(&self.base, c)),
            Auth::Bearer(t) => req = req.header("authorization", format!("Bearer {t}")),
        }
        let res = req.send().await?;
        let status = res.status().as_u16();
        let headers = res.headers().clone();
        let set_cookie = headers
            .get("set-cookie")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let cookie = set_cookie.as_deref().and_then(|s| {
            s.split(';')
                .next()
                .and_then(|kv| {
                    kv.strip_prefix("corkboard_session=")
                        .or_else(|| kv.strip_prefix("__Host-corkboard_session="))
                })
                .filter(|v| !v.is_empty())
                .map(str::to_owned)
        });
        let text = res.text().await.unwrap_or_default();
        let body = serde_json::from_str(&text).unwrap_or(Value::Null);
        Ok(Resp {
            status,
            body,
            text,
            headers,
            cookie,
            set_cookie,
        })
    }

    pub async fn get(&self, path: &str) -> Resp {
        self.call(Method::GET, path, None).await
    }
    pub async fn post(&self, path: &str, body: Value) -> Resp {
        self.call(Method::POST, path, Some(body)).await
    }
    pub async fn patch(&self, path: &str, body: Value) -> Resp {
        self.call(Method::PATCH, path, Some(body)).await
    }
    pub async fn delete(&self, path: &str) -> Resp {
        self.call(Method::DELETE, path, None).await
    }

    /// Creates a board and returns its id.
    pub async fn board(&self, title: &str) -> String {
        let r = self.post("/api/boards", json!({"title": title})).await;
        assert_eq!(r.status, 201, "{:?}", r.body);
        r.body["id"].as_str().expect("board id").to_owned()
    }

    /// Creates a note and returns its JSON.
    pub async fn note(&self, board: &str, body: Value) -> Value {
        let r = self.post(&format!("/api/boards/{board}/notes"), body).await;
        assert_eq!(r.status, 201, "{:?}", r.body);
        r.body["note"].clone()
    }

    /// Invites with `role` and has `other` accept; returns the accept response.
    pub async fn add_member(&self, board: &str, other: &Client, role: &str) -> Resp {
        let r = self
            .post(
                &format!("/api/boards/{board}/invites"),
                json!({"role": role}),
            )
            .await;
        assert_eq!(r.status, 201, "{:?}", r.body);
        let token = r.body["token"].as_str().expect("token").to_owned();
        other
            .call(Method::POST, &format!("/api/invites/{token}/accept"), None)
            .await
    }
}

/// Asserts the contract's error shape with `code` and the matching status.
pub fn assert_error(r: &Resp, status: u16, code: &str) {
    assert_eq!(r.status, status, "status; body {}", r.text);
    assert_eq!(r.body["error"]["code"], code, "code; body {}", r.text);
    assert!(
        r.body["error"]["message"].is_string(),
        "message; body {}",
        r.text
    );
}
