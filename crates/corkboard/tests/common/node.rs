//! The real `corkboard` binary as a child process: a server on a free
//! loopback port (killed when dropped), or a command run to its end with a
//! time limit.

#![allow(dead_code)]

use std::ffi::OsStr;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

/// A running server process.
pub struct Node {
    pub child: Child,
    pub base: String,
}

/// A free TCP port on 127.0.0.1 (released for the caller to bind).
pub fn free_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    l.local_addr().expect("addr").port()
}

/// The binary under test with `args`, quiet logs.
fn command<I, S>(args: I) -> Command
where
    I: IntoIterator<Item = S>,
    S: AsRef<OsStr>,
{
    let mut c = Command::new(env!("CARGO_BIN_EXE_corkboard"));
    c.args(args)
        .env("CORKBOARD_LOG", "warn")
        .env_remove("CORKBOARD_DATA")
        .env_remove("CORKBOARD_DATABASE_URL");
    c
}

impl Node {
    /// Starts `corkboard --listen 127.0.0.1:<free> ARGS` and waits until
    /// `/readyz` answers (panics after 30 s, or when it exits first).
    pub async fn start<I, S>(args: I) -> Node
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        let port = free_port();
        let mut child = command(args)
            .args(["--listen", &format!("127.0.0.1:{port}")])
            .args([
                "--signups-per-minute",
                "100000",
                "--rest-mutation-rate",
                "0",
            ])
            .args(["--rpc-rate", "100000"])
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("spawn corkboard");
        let base = format!("http://127.0.0.1:{port}");
        let http = super::http_client();
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Ok(r) = http.get(format!("{base}/readyz")).send().await {
                if r.status().is_success() {
                    return Node { child, base };
                }
            }
            if let Ok(Some(status)) = child.try_wait() {
                panic!("corkboard exited before it was ready: {status}");
            }
            assert!(Instant::now() < deadline, "{base} not ready within 30 s");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// SIGTERM, then waits for the exit (graceful shutdown; panics after 30 s).
    pub fn stop(&mut self) {
        let pid = self.child.id().to_string();
        let _ = Command::new("kill").args(["-TERM", &pid]).status();
        let deadline = Instant::now() + Duration::from_secs(30);
        while let Ok(None) = self.child.try_wait() {
            assert!(
                Instant::now() < deadline,
                "corkboard did not stop on SIGTERM"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Runs `corkboard ARGS` to its end (killed and a panic after `within`),
/// with its stdout and stderr.
pub fn run<I, S>(args: I, within: Duration) -> Output
where
    I: IntoIterator<Item = S>,
    S: AsRef<OsStr>,
{
    let mut child = command(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn corkboard");
    let deadline = Instant::now() + within;
    while let Ok(None) = child.try_wait() {
        if Instant::now() > deadline {
            let _ = child.kill();
            let out = child.wait_with_output().expect("output");
            panic!(
                "corkboard still running after {within:?}; stderr: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    child.wait_with_output().expect("output")
}

/// [`run`], expecting a failure: its stderr (panics on exit code 0).
pub fn fails<I, S>(args: I, within: Duration) -> String
where
    I: IntoIterator<Item = S>,
    S: AsRef<OsStr>,
{
    let out = run(args, within);
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(
        !out.status.success(),
        "expected a failure; stdout: {} stderr: {stderr}",
        String::from_utf8_lossy(&out.stdout)
    );
    stderr
}
