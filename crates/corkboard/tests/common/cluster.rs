//! A real cluster for the cluster tests: `corkboard` node processes (the
//! binary under test) sharing a throwaway PostgreSQL database and a Redis
//! key prefix of their own, and nginx in front with the shipped
//! `deploy/nginx/corkboard.conf`. Every process is killed when the
//! [`Cluster`] is dropped. Included with
//! `#[path = "common/cluster.rs"] mod cluster;`.
//!
//! Needs PostgreSQL (`CORKBOARD_TEST_PG_URL`), Redis
//! (`CORKBOARD_TEST_REDIS_URL`, default redis://127.0.0.1:6379) and nginx
//! (`/usr/sbin/nginx`); `make test` provides all three
//! (scripts/ensure-services.sh). [`services_available`] fails the test when
//! one is missing and `CI` is set, and otherwise warns loudly.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use corkboard::store::postgres::testing::{self, TestDatabase};

use crate::common::{http_client, Client, TestServer};

/// The Redis the cluster tests use unless they start their own.
pub fn redis_url() -> String {
    corkboard::bus::testing::url()
}

/// The nginx binary, if installed.
pub fn nginx() -> Option<PathBuf> {
    ["/usr/sbin/nginx", "/usr/bin/nginx", "/usr/local/sbin/nginx"]
        .iter()
        .map(PathBuf::from)
        .find(|p| p.is_file())
}

/// Whether PostgreSQL, Redis (and nginx, when `need_nginx`) are here.
pub async fn services_available(test: &str, need_nginx: bool) -> bool {
    if !testing::available(test).await || !corkboard::bus::testing::available(test).await {
        return false;
    }
    if need_nginx && nginx().is_none() {
        let msg = "nginx is not installed; run scripts/ensure-services.sh (make test does)";
        assert!(std::env::var_os("CI").is_none(), "{test}: {msg}");
        eprintln!("WARNING: {test} did not run: {msg}");
        return false;
    }
    true
}

/// A free TCP port on 127.0.0.1 (released for the caller to bind).
pub fn free_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    l.local_addr().expect("addr").port()
}

/// Polls `{base}/readyz` until it answers 200.
pub async fn wait_ready(base: &str, within: Duration) {
    let http = http_client();
    let deadline = Instant::now() + within;
    loop {
        if let Ok(r) = http.get(format!("{base}/readyz")).send().await {
            if r.status().is_success() {
                return;
            }
        }
        assert!(
            Instant::now() < deadline,
            "{base} not ready within {within:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// A private redis-server on its own port (for the Redis restart test).
pub struct PrivateRedis {
    pub port: u16,
    child: Option<Child>,
}

impl PrivateRedis {
    /// Starts one and waits until it answers.
    pub async fn start() -> Self {
        let mut r = PrivateRedis {
            port: free_port(),
            child: None,
        };
        r.restart().await;
        r
    }

    /// Its URL.
    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    /// Kills it (SIGKILL): everything in it is gone, like a crash.
    pub fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// Starts it again on the same port.
    pub async fn restart(&mut self) {
        self.kill();
        let child = Command::new("redis-server")
            .args(["--bind", "127.0.0.1", "--port", &self.port.to_string()])
            .args(["--save", "", "--appendonly", "no"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("redis-server (apt-get install redis-server)");
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(10);
        while !corkboard::bus::testing::answers(&self.url()).await {
            assert!(
                Instant::now() < deadline,
                "private redis-server did not start"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

impl Drop for PrivateRedis {
    fn drop(&mut self) {
        self.kill();
    }
}

/// Nodes, their database and Redis namespace, and optionally nginx.
pub struct Cluster {
    pub db: TestDatabase,
    pub redis_url: String,
    pub prefix: String,
    pub ports: Vec<u16>,
    nodes: Vec<Option<Child>>,
    nginx: Option<Child>,
    /// The load balancer's base URL (when started with nginx).
    pub lb: Option<String>,
    pub dir: tempfile::TempDir,
    pub presence_ttl: u64,
}

impl Cluster {
    /// Starts `n` nodes on `redis_url` (and nginx in front when `with_nginx`),
    /// and waits until all are ready.
    pub async fn start(n: usize, redis_url: &str, with_nginx: bool) -> Self {
        let db = TestDatabase::create().await;
        let mut c = Cluster {
            db,
            redis_url: redis_url.to_owned(),
            prefix: format!("cb-cluster-{}", uuid::Uuid::new_v4().simple()),
            ports: (0..n).map(|_| free_port()).collect(),
            nodes: (0..n).map(|_| None).collect(),
            nginx: None,
            lb: None,
            dir: tempfile::tempdir().expect("tempdir"),
            presence_ttl: 3,
        };
        for i in 0..n {
            c.spawn(i);
        }
        for i in 0..n {
            wait_ready(&c.node(i), Duration::from_secs(30)).await;
        }
        if with_nginx {
            c.start_nginx().await;
        }
        c
    }

    /// Node `i`'s base URL.
    pub fn node(&self, i: usize) -> String {
        format!("http://127.0.0.1:{}", self.ports[i])
    }

    /// The same identity, talking to `base`.
    pub fn at(&self, c: &Client, base: &str) -> Client {
        Client {
            base: base.to_owned(),
            ..c.clone()
        }
    }

    /// Signs `name` up through node 0.
    pub async fn user(&self, name: &str) -> Client {
        TestServer::anon_at(&self.node(0)).signup(name).await
    }

    fn spawn(&mut self, i: usize) {
        let log =
            std::fs::File::create(self.dir.path().join(format!("node{i}.log"))).expect("log file");
        let child = Command::new(env!("CARGO_BIN_EXE_corkboard"))
            .args(["--listen", &format!("127.0.0.1:{}", self.ports[i])])
            .arg("--data")
            .arg(self.dir.path().join(format!("node{i}")))
            .args(["--database-url", &self.db.url])
            .args(["--database-pool-size", "4"])
            .args(["--redis-url", &self.redis_url])
            .args(["--redis-prefix", &self.prefix])
            .args(["--node-id", &format!("node{i}")])
            .args(["--presence-ttl", &self.presence_ttl.to_string()])
            .args(["--signups-per-minute", "100000"])
            .args(["--max-connections-per-user", "1000"])
            .args(["--rpc-rate", "100000"])
            .env("CORKBOARD_LOG", "warn")
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("spawn corkboard");
        self.nodes[i] = Some(child);
    }

    /// `kill -9` node `i`.
    pub fn kill(&mut self, i: usize) {
        if let Some(mut c) = self.nodes[i].take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// Starts node `i` again (same port, same node id) and waits until ready.
    pub async fn restart(&mut self, i: usize) {
        self.kill(i);
        self.spawn(i);
        wait_ready(&self.node(i), Duration::from_secs(30)).await;
    }

    /// Stops node `i` as an orchestrator would (SIGTERM, then waits up to
    /// `within` for it to drain and exit). Returns its exit status, or
    /// `None` when it was not running or did not exit in time (then it is
    /// killed, so the caller's assertion fails rather than hangs).
    pub async fn stop_gracefully(
        &mut self,
        i: usize,
        within: Duration,
    ) -> Option<std::process::ExitStatus> {
        let mut child = self.nodes[i].take()?;
        let sent = Command::new("kill")
            .args(["-TERM", &child.id().to_string()])
            .status()
            .map(|s| s.success())
            .unwrap_or(false);
        assert!(sent, "kill -TERM node{i}");
        let deadline = Instant::now() + within;
        loop {
            if let Ok(Some(status)) = child.try_wait() {
                return Some(status);
            }
            if Instant::now() >= deadline {
                let _ = child.kill();
                let _ = child.wait();
                return None;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Starts node `i` after [`Cluster::stop_gracefully`] and waits until ready.
    pub async fn start_again(&mut self, i: usize) {
        assert!(self.nodes[i].is_none(), "node{i} still running");
        self.spawn(i);
        wait_ready(&self.node(i), Duration::from_secs(30)).await;
    }

    /// Whether node `i` is running.
    pub fn is_up(&self, i: usize) -> bool {
        self.nodes[i].is_some()
    }

    /// The shipped nginx config with this cluster's ports.
    pub fn nginx_config(&self, listen: u16) -> String {
        let shipped =
            Path::new(env!("CARGO_MANIFEST_DIR")).join("../../deploy/nginx/corkboard.conf");
        let text = std::fs::read_to_string(&shipped).expect("deploy/nginx/corkboard.conf");
        let mut out = String::new();
        let mut upstreams_written = false;
        for line in text.lines() {
            let t = line.trim_start();
            if t.starts_with("server 127.0.0.1:") && t.contains("max_fails") {
                if !upstreams_written {
                    for p in &self.ports {
                        out.push_str(&format!(
                            "        server 127.0.0.1:{p} max_fails=1 fail_timeout=5s;\n"
                        ));
                    }
                    upstreams_written = true;
                }
                continue;
            }
            if t.starts_with("listen ") {
                out.push_str(&format!("        listen 127.0.0.1:{listen};\n"));
                continue;
            }
            out.push_str(line);
            out.push('\n');
        }
        assert!(
            upstreams_written,
            "no upstream servers in the shipped config"
        );
        out
    }

    async fn start_nginx(&mut self) {
        let bin = nginx().expect("nginx installed");
        let prefix = self.dir.path().join("nginx");
        for d in ["logs", "tmp"] {
            std::fs::create_dir_all(prefix.join(d)).expect("nginx dirs");
        }
        let listen = free_port();
        std::fs::write(prefix.join("nginx.conf"), self.nginx_config(listen)).expect("nginx.conf");
        let child = Command::new(bin)
            .arg("-p")
            .arg(&prefix)
            .arg("-e")
            .arg(prefix.join("logs/error.log"))
            // One process (no master/worker pair), so killing it leaves no
            // orphaned worker holding the port.
            .args(["-c", "nginx.conf", "-g", "daemon off; master_process off;"])
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("spawn nginx");
        self.nginx = Some(child);
        let lb = format!("http://127.0.0.1:{listen}");
        wait_ready(&lb, Duration::from_secs(10)).await;
        self.lb = Some(lb);
    }

    /// The end of every node's log and of nginx's error log (for failure
    /// messages of tests through the load balancer).
    pub fn diagnostics(&self) -> String {
        let tail = |text: String| {
            let lines: Vec<&str> = text.lines().collect();
            lines[lines.len().saturating_sub(20)..].join("\n")
        };
        let mut out = String::new();
        for i in 0..self.nodes.len() {
            let up = if self.is_up(i) { "up" } else { "down" };
            out.push_str(&format!("--- node{i} ({up}) log:\n{}\n", tail(self.log(i))));
        }
        let nginx = self.dir.path().join("nginx/logs/error.log");
        let nginx = std::fs::read_to_string(nginx).unwrap_or_default();
        out.push_str(&format!("--- nginx error.log:\n{}\n", tail(nginx)));
        out
    }

    /// A node's log so far (for failure messages).
    pub fn log(&self, i: usize) -> String {
        std::fs::read_to_string(self.dir.path().join(format!("node{i}.log"))).unwrap_or_default()
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        for i in 0..self.nodes.len() {
            self.kill(i);
        }
        if let Some(mut c) = self.nginx.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}
