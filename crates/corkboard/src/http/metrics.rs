//! Prometheus metrics: request counts and latency histograms per route, plus
//! whatever the rest of the server records through the `metrics` facade.

use std::sync::OnceLock;
use std::time::Instant;

use axum::extract::{MatchedPath, Request};
use axum::http::header;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};

static HANDLE: OnceLock<Option<PrometheusHandle>> = OnceLock::new();

/// Counters of rare events that the shipped alert rules and dashboard
/// (deploy/) watch: served as 0 from the start, since a series that
/// appears only with its first increment is invisible to `rate()` and
/// `increase()` until its second. Names only, on purpose:
/// tests/deploy_monitoring.rs checks that each name the files query is
/// also recorded somewhere, which a name written here would not show.
const WATCHED_COUNTERS: &[&str] = &[
    "corkboard_outbox_overflows_total",
    "corkboard_signals_dropped_total",
    "corkboard_cursors_coalesced_total",
    "corkboard_hub_lag_total",
    "corkboard_connections_refused_total",
    "corkboard_bus_publish_failures_total",
    "corkboard_bus_backfills_total",
];

/// Installs the process-wide recorder once (later calls reuse it).
pub fn recorder() -> Option<PrometheusHandle> {
    HANDLE
        .get_or_init(|| {
            let buckets = [
                0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0,
            ];
            let recorder = PrometheusBuilder::new()
                .set_buckets_for_metric(Matcher::Suffix("_seconds".into()), &buckets)
                .and_then(|b| {
                    b.set_buckets_for_metric(
                        Matcher::Full("corkboard_store_batch_size".into()),
                        &[1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0, 128.0, 256.0, 512.0],
                    )
                })
                .map(|b| b.build_recorder());
            match recorder {
                Ok(r) => {
                    let handle = r.handle();
                    if metrics::set_global_recorder(r).is_err() {
                        tracing::warn!("a metrics recorder was already installed");
                    }
                    for name in WATCHED_COUNTERS {
                        metrics::counter!(*name).increment(0);
                    }
                    Some(handle)
                }
                Err(e) => {
                    tracing::warn!(error = %e, "metrics disabled");
                    None
                }
            }
        })
        .clone()
}

/// The method as a metrics label: one of the standard methods, or `other`.
/// Any token is a valid HTTP method, so labelling by the raw name would let
/// anyone add series (and memory) with made-up, arbitrarily long methods.
fn method_label(m: &axum::http::Method) -> &'static str {
    use axum::http::Method;
    const KNOWN: [(Method, &str); 9] = [
        (Method::GET, "GET"),
        (Method::HEAD, "HEAD"),
        (Method::POST, "POST"),
        (Method::PUT, "PUT"),
        (Method::PATCH, "PATCH"),
        (Method::DELETE, "DELETE"),
        (Method::OPTIONS, "OPTIONS"),
        (Method::CONNECT, "CONNECT"),
        (Method::TRACE, "TRACE"),
    ];
    KNOWN
        .iter()
        .find(|(k, _)| k == m)
        .map_or("other", |(_, label)| label)
}

/// Middleware counting requests and timing them, labelled by method (a
/// closed list) and route template (the route table's, or `unmatched`), so
/// the number of series is bounded whatever clients send.
pub async fn track(req: Request, next: Next) -> Response {
    let started = Instant::now();
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map(|p| p.as_str().to_owned())
        .unwrap_or_else(|| "unmatched".to_owned());
    let method = method_label(req.method());
    let res = next.run(req).await;
    let status = res.status().as_u16().to_string();
    metrics::counter!("corkboard_http_requests_total",
        "method" => method, "route" => route.clone(), "status" => status)
    .increment(1);
    metrics::histogram!("corkboard_http_request_duration_seconds",
        "method" => method, "route" => route)
    .record(started.elapsed());
    res
}

/// `GET /metrics` with `--metrics-token`: 401 unless the request carries
/// `Authorization: Bearer <token>` (compared in constant time).
pub async fn render_protected(
    axum::extract::State(token): axum::extract::State<std::sync::Arc<str>>,
    headers: axum::http::HeaderMap,
) -> Response {
    let given = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .unwrap_or("");
    if !constant_time_eq(given.as_bytes(), token.as_bytes()) {
        return crate::core::ApiError::unauthorized("/metrics needs its Bearer token")
            .into_response();
    }
    render().await
}

/// Byte equality whose time does not depend on where the inputs differ.
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// The router that serves `/metrics`, protected by `token` when set.
pub fn router<S: Clone + Send + Sync + 'static>(token: Option<&str>) -> axum::Router<S> {
    use axum::routing::get;
    match token {
        Some(t) => axum::Router::new()
            .route("/metrics", get(render_protected))
            .with_state(std::sync::Arc::<str>::from(t)),
        None => axum::Router::new().route("/metrics", get(render)),
    }
}

/// `GET /metrics`: the Prometheus text format.
pub async fn render() -> Response {
    let body = match recorder() {
        Some(h) => {
            h.run_upkeep();
            h.render()
        }
        None => String::new(),
    };
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        body,
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn made_up_methods_share_one_label() {
        use axum::http::Method;
        assert_eq!(method_label(&Method::PATCH), "PATCH");
        let odd = Method::from_bytes("X".repeat(5000).as_bytes()).unwrap();
        assert_eq!(method_label(&odd), "other");
    }
}
