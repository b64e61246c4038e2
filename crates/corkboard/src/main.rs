//! The `corkboard` binary: parse flags, start logging, serve until SIGTERM or
//! SIGINT, then shut down gracefully and exit 0.

use std::process::ExitCode;

/// mimalloc returns freed memory to the OS and keeps per-connection
/// allocations compact, which matters with tens of thousands of idle sockets.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

use clap::Parser;
use corkboard::config::{Config, LogFormat};
use corkboard::telemetry;
use tracing_subscriber::layer::SubscriberExt as _;
use tracing_subscriber::util::SubscriberInitExt as _;
use tracing_subscriber::{EnvFilter, Layer as _};

/// Logs to stderr, and traces to the OTLP collector when --otlp-endpoint is
/// set: the exporter to flush at exit, if any.
fn init_logging(config: &Config) -> anyhow::Result<Option<telemetry::Exporter>> {
    let filter = EnvFilter::try_from_env("CORKBOARD_LOG")
        .unwrap_or_else(|_| EnvFilter::new("info,tower_http=warn,sqlx=warn"));
    // Colours only for a person at a terminal (not journald, a file or a pipe), and not with NO_COLOR.
    use std::io::IsTerminal as _;
    let colour = std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none();
    let logs = tracing_subscriber::fmt::layer()
        .with_writer(std::io::stderr)
        .with_ansi(colour);
    let logs = match config.log_format {
        LogFormat::Text => logs.boxed(),
        LogFormat::Json => logs.json().boxed(),
    }
    .with_filter(telemetry::quiet_in_logs(filter));
    let (traces, exporter) = match telemetry::otlp_layer(&config.traces, config.node_id.as_deref())?
    {
        Some((layer, exporter)) => (Some(layer), Some(exporter)),
        None => (None, None),
    };
    tracing_subscriber::registry()
        .with(logs)
        .with(traces)
        .try_init()?;
    Ok(exporter)
}

async fn wait_for_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => tracing::info!("SIGINT received; shutting down"),
        _ = term => tracing::info!("SIGTERM received; shutting down"),
    }
}

#[tokio::main]
async fn main() -> ExitCode {
    let config = Config::parse();
    let traces = match init_logging(&config) {
        Ok(t) => t,
        Err(e) => {
            eprintln!("corkboard: {e:#}");
            return ExitCode::FAILURE;
        }
    };
    if let Some(command) = &config.command {
        let result = corkboard::maintenance::run(command, &config).await;
        if let Some(t) = traces {
            t.shutdown().await;
        }
        return match result {
            Ok(done) => {
                println!("{done}");
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("corkboard: {e:#}");
                ExitCode::FAILURE
            }
        };
    }
    let running = match corkboard::server::start(&config).await {
        Ok(r) => r,
        Err(e) => {
            tracing::error!(error = format!("{e:#}"), "could not start");
            return ExitCode::FAILURE;
        }
    };
    let scheme = if config.tls_cert.is_some() || config.tls_self_signed {
        "https"
    } else {
        "http"
    };
    let data = match config.postgres_url() {
        Ok(Some(url)) => format!(
            "PostgreSQL at {}",
            corkboard::store::postgres::redact_url(url)
        ),
        _ => format!("data in {}", config.data.display()),
    };
    tracing::info!(
        "corkboard {} listening on {scheme}://{} ({data})",
        corkboard::config::VERSION,
        running.addr,
    );
    wait_for_signal().await;
    running.shutdown().await;
    if let Some(t) = traces {
        t.shutdown().await;
    }
    ExitCode::SUCCESS
}
