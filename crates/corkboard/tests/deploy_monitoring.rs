//! The shipped Grafana dashboard (deploy/grafana/corkboard.json) and
//! Prometheus files (deploy/prometheus/) parse, and every `corkboard_*`
//! metric they query is served by a running server's `/metrics` after some
//! activity: renaming a metric breaks this test, not the dashboard.

mod common;

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use common::ws::Ws;
use common::*;
use serde_json::{json, Value};
use yaml_rust2::{Yaml, YamlLoader};

fn deploy(rel: &str) -> String {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../deploy")
        .join(rel);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The `corkboard_*` metric names a PromQL expression names.
fn metric_names(expr: &str, into: &mut BTreeSet<String>) {
    let mut rest = expr;
    while let Some(i) = rest.find("corkboard_") {
        let name: String = rest[i..]
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
            .collect();
        rest = &rest[i + name.len()..];
        into.insert(name);
    }
}

/// Every PromQL expression of the dashboard: panel targets and variable queries.
fn dashboard_exprs(d: &Value) -> Vec<String> {
    let mut out = Vec::new();
    for p in d["panels"].as_array().expect("panels") {
        assert!(p["title"].is_string(), "a panel without a title");
        assert_eq!(
            p["datasource"]["uid"], "${datasource}",
            "panel {} must use the datasource variable",
            p["title"]
        );
        for t in p["targets"].as_array().expect("targets") {
            out.push(t["expr"].as_str().expect("expr").to_owned());
        }
    }
    for v in d["templating"]["list"].as_array().expect("variables") {
        if let Some(q) = v["query"]["query"].as_str() {
            out.push(q.to_owned());
        }
    }
    out
}

/// Every rule expression of a Prometheus rule file, with its alert name.
fn alert_exprs(doc: &Yaml) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for g in doc["groups"].as_vec().expect("groups") {
        for r in g["rules"].as_vec().expect("rules") {
            let name = r["alert"].as_str().expect("alert name").to_owned();
            let expr = r["expr"].as_str().expect("expr").to_owned();
            assert!(
                r["annotations"]["summary"].as_str().is_some(),
                "{name} has no summary"
            );
            out.push((name, expr));
        }
    }
    out
}

/// The metric names present in a `/metrics` text (sample lines).
fn served(text: &str) -> BTreeSet<String> {
    text.lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
        .filter_map(|l| l.split(['{', ' ']).next())
        .map(str::to_owned)
        .collect()
}

/// Every `metrics::…!("name"` call in `src/`, but the list of counters
/// served as 0 from the start (http/metrics.rs), which must not be what
/// keeps a renamed metric on `/metrics`.
fn recorded_in_source() -> BTreeSet<String> {
    fn walk(dir: &std::path::Path, out: &mut BTreeSet<String>) {
        for e in std::fs::read_dir(dir).expect("src") {
            let p = e.expect("entry").path();
            if p.is_dir() {
                walk(&p, out);
            } else if p.extension().is_some_and(|x| x == "rs") {
                let text = std::fs::read_to_string(&p).expect("read");
                for kind in ["counter!(", "gauge!(", "histogram!("] {
                    for part in text.split(kind).skip(1) {
                        if let Some(name) = part.trim_start().strip_prefix('"') {
                            out.insert(name.split('"').next().unwrap_or_default().to_owned());
                        }
                    }
                }
            }
        }
    }
    let mut out = BTreeSet::new();
    walk(
        &PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("src"),
        &mut out,
    );
    out
}

#[test]
fn the_files_parse_and_name_what_they_watch() {
    let d: Value = serde_json::from_str(&deploy("grafana/corkboard.json")).expect("dashboard JSON");
    let vars: Vec<&str> = d["templating"]["list"]
        .as_array()
        .expect("variables")
        .iter()
        .filter_map(|v| v["name"].as_str())
        .collect();
    assert!(
        vars.contains(&"datasource"),
        "datasource variable: {vars:?}"
    );
    let exprs = dashboard_exprs(&d);
    let mut names = BTreeSet::new();
    for e in &exprs {
        metric_names(e, &mut names);
    }
    // What the dashboard is for: one panel each at least.
    for must in [
        "corkboard_connections",
        "corkboard_deliveries_total",
        "corkboard_store_commit_seconds_bucket",
        "corkboard_signals_dropped_total",
        "corkboard_outbox_overflows_total",
        "corkboard_hub_lag_total",
    ] {
        assert!(names.contains(must), "the dashboard does not show {must}");
    }
    let rules = YamlLoader::load_from_str(&deploy("prometheus/alerts.yml")).expect("alerts YAML");
    assert!(alert_exprs(&rules[0]).len() >= 5);
    for (_, e) in alert_exprs(&rules[0]) {
        metric_names(&e, &mut names);
    }
    let recorded = recorded_in_source();
    for n in &names {
        let base = ["_bucket", "_sum", "_count"]
            .iter()
            .find_map(|s| n.strip_suffix(s))
            .unwrap_or(n);
        assert!(
            recorded.contains(base),
            "{n}: no metrics::…!(\"{base}\" call in src/"
        );
    }
    let prom =
        YamlLoader::load_from_str(&deploy("prometheus/prometheus.yml")).expect("prometheus YAML");
    assert_eq!(prom[0]["rule_files"][0].as_str(), Some("alerts.yml"));
    assert_eq!(
        prom[0]["scrape_configs"][0]["job_name"].as_str(),
        Some("corkboard"),
        "the alert rules' `up{{job=\"corkboard\"}}` names this job"
    );
}

/// Every metric of the dashboard and the alert rules is on `/metrics` once
/// the server has served REST, a WebSocket subscription and RPC, and a close.
#[tokio::test]
async fn every_metric_they_query_is_served() {
    let d: Value = serde_json::from_str(&deploy("grafana/corkboard.json")).expect("dashboard JSON");
    let rules = YamlLoader::load_from_str(&deploy("prometheus/alerts.yml")).expect("alerts YAML");
    let mut wanted = BTreeSet::new();
    for e in dashboard_exprs(&d) {
        metric_names(&e, &mut wanted);
    }
    for (_, e) in alert_exprs(&rules[0]) {
        metric_names(&e, &mut wanted);
    }

    let s = TestServer::start().await;
    let ann = s.user("ann").await;
    let board = ann.board("watched").await;
    ann.note(&board, json!({"x": 1, "y": 1})).await;
    let mut ws = Ws::connect(&ann).await;
    ws.subscribe(&board, None).await;
    let r = ws
        .rpc("note.create", json!({"board": board, "x": 2, "y": 2}))
        .await;
    assert_eq!(r["type"], "result", "{r}");
    ws.recv_until(|v| v["type"] == "event").await;
    let mut other = Ws::connect(&ann).await;
    other.subscribe(&board, None).await;
    ws.send(json!({"type": "signal", "board": board, "name": "typing", "data": {"note": "n1", "on": true}}))
        .await;
    other.recv_until(|v| v["type"] == "signal").await;
    other.close().await;
    ws.close().await;

    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let r = s.anon().get("/metrics").await;
        assert_eq!(r.status, 200);
        let have = served(&r.text);
        let missing: Vec<&String> = wanted.iter().filter(|n| !have.contains(*n)).collect();
        if missing.is_empty() {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "not on /metrics: {missing:?}\n(served: {have:?})"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
