#!/usr/bin/env bash
# Runs Corkboard's benchmarks on loopback and writes docs/benchmarks.md.
# Every run is bounded in time (BENCH_SECONDS per point) and stops by itself.
set -euo pipefail
cd "$(dirname "$0")/.."
SECONDS_PER_POINT="${BENCH_SECONDS:-10}"
PORT="${BENCH_PORT:-18480}"
OUT="docs/benchmarks.md"
RESULTS="$(mktemp)"
DATA="$(mktemp -d)"
trap 'kill "${SERVER:-}" 2>/dev/null || true; rm -rf "$DATA" "$RESULTS"' EXIT

cargo build --release --locked --bin corkboard --bin corkboard-bench

start_server() {
  rm -rf "$DATA"/*
  CORKBOARD_LOG=warn ./target/release/corkboard --listen "127.0.0.1:$PORT" --data "$DATA" \
    --max-notes-per-board 10000000 "$@" &
  SERVER=$!
  for _ in $(seq 100); do
    curl -sf "http://127.0.0.1:$PORT/readyz" >/dev/null && return 0
    sleep 0.1
  done
  echo "server did not start" >&2
  exit 1
}

# (1) Durable note creates over REST on SQLite: one shared board, and one board per writer.
for boards in 1 0; do
  for writers in 1 16 64; do
    start_server
    ./target/release/corkboard-bench writes --url "http://127.0.0.1:$PORT" \
      --writers "$writers" --boards "$boards" --duration "$SECONDS_PER_POINT" --warmup 2 \
      --server-pid "$SERVER" | tee -a "$RESULTS"
    kill "$SERVER"; wait "$SERVER" 2>/dev/null || true
  done
done

python3 scripts/bench_report.py "$RESULTS" "$OUT"
echo "wrote $OUT"
