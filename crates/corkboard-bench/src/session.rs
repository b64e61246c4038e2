//! A signed-up bench user with an API token, and helpers to make boards and notes.

use anyhow::{bail, Context, Result};
use serde_json::{json, Value};

/// A user the bench acts as.
#[derive(Clone)]
pub struct Session {
    pub url: String,
    pub token: String,
    http: reqwest::Client,
}

impl Session {
    /// The same user and token against another node of the cluster.
    pub fn at(&self, url: &str) -> Session {
        Session {
            url: url.trim_end_matches('/').to_owned(),
            token: self.token.clone(),
            http: self.http.clone(),
        }
    }

    /// Signs up a fresh user and creates an API token.
    pub async fn new(url: &str) -> Result<Self> {
        let http = reqwest::Client::new();
        let name = format!("bench_{}", &uuid::Uuid::new_v4().simple().to_string()[..12]);
        let r = http
            .post(format!("{url}/api/auth/signup"))
            .body(json!({"username": name, "password": "bench-password"}).to_string())
            .send()
            .await
            .context("signup")?;
        if r.status().as_u16() != 201 {
            bail!(
                "signup: {} {}",
                r.status(),
                r.text().await.unwrap_or_default()
            );
        }
        let cookie = r
            .headers()
            .get("set-cookie")
            .and_then(|v| v.to_str().ok())
            .and_then(|s| s.split(';').next())
            .context("no session cookie")?
            .to_owned();
        let t: Value = http
            .post(format!("{url}/api/tokens"))
            .header("cookie", cookie)
            .body(r#"{"name":"bench"}"#)
            .send()
            .await?
            .json()
            .await?;
        let token = t["token"].as_str().context("no token")?.to_owned();
        Ok(Self {
            url: url.to_owned(),
            token,
            http,
        })
    }

    /// Creates a board with the given client.
    pub async fn board_with(&self, client: &reqwest::Client) -> Result<String> {
        let b: Value = client
            .post(format!("{}/api/boards", self.url))
            .bearer_auth(&self.token)
            .body(r#"{"title":"bench"}"#)
            .send()
            .await?
            .json()
            .await?;
        Ok(b["id"].as_str().context("no board id")?.to_owned())
    }

    /// A reusable invite link to `board` for editors (the caller owns it).
    pub async fn invite(&self, board: &str) -> Result<String> {
        let r: Value = self
            .http
            .post(format!("{}/api/boards/{board}/invites", self.url))
            .bearer_auth(&self.token)
            .body(r#"{"role":"editor"}"#)
            .send()
            .await?
            .json()
            .await?;
        Ok(r["token"].as_str().context("no invite token")?.to_owned())
    }

    /// Joins a board through an invite link.
    pub async fn accept(&self, invite: &str) -> Result<()> {
        let r = self
            .http
            .post(format!("{}/api/invites/{invite}/accept", self.url))
            .bearer_auth(&self.token)
            .send()
            .await?;
        if !r.status().is_success() {
            bail!("accept invite: {}", r.status());
        }
        Ok(())
    }

    /// Creates a board.
    pub async fn board(&self) -> Result<String> {
        self.board_with(&self.http).await
    }

    /// Creates a note on `board` and returns its id.
    pub async fn note(&self, board: &str) -> Result<String> {
        let n: Value = self
            .http
            .post(format!("{}/api/boards/{board}/notes", self.url))
            .bearer_auth(&self.token)
            .body(r#"{"x":1,"y":1,"text":"t=0"}"#)
            .send()
            .await?
            .json()
            .await?;
        Ok(n["note"]["id"].as_str().context("no note id")?.to_owned())
    }
}
