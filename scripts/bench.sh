#!/usr/bin/env bash
# Runs Corkboard's benchmarks on loopback and writes docs/benchmarks.md.
# Every run is bounded in time and stops by itself. The load generator
# (corkboard-bench) is its own process; the server is started fresh per workload.
#
#   BENCH_SECONDS   measured seconds per point (default 10)
#   BENCH_QUICK=1   smaller sizes, for a smoke run
set -euo pipefail
cd "$(dirname "$0")/.."
SECS="${BENCH_SECONDS:-10}"
PORT="${BENCH_PORT:-18480}"
OUT="docs/benchmarks.md"
RESULTS="$(mktemp)"
DATA="$(mktemp -d)"
if [ "${BENCH_QUICK:-0}" = 1 ]; then IDLE=1000; SUBS=200; else IDLE=10000; SUBS=1000; fi
trap 'kill "${SERVER:-}" 2>/dev/null || true; rm -rf "$DATA" "$RESULTS"' EXIT

cargo build --release --locked --bin corkboard --bin corkboard-bench
BENCH=./target/release/corkboard-bench
URL="http://127.0.0.1:$PORT"

start_server() {
  rm -rf "${DATA:?}"/*
  CORKBOARD_LOG=warn ./target/release/corkboard --listen "127.0.0.1:$PORT" --data "$DATA" \
    --max-notes-per-board 10000000 --max-connections-per-user 1000000 \
    --signups-per-minute 1000000 --rpc-rate 1000000 --signal-rate 1000000 "$@" &
  SERVER=$!
  for _ in $(seq 100); do
    curl -sf "$URL/readyz" >/dev/null && return 0
    sleep 0.1
  done
  echo "server did not start" >&2
  exit 1
}
stop_server() { kill "$SERVER"; wait "$SERVER" 2>/dev/null || true; }

# (1) Durable note creates over REST on SQLite: one shared board, and one board per writer.
for boards in 1 0; do
  for writers in 1 16 64; do
    start_server
    $BENCH writes --url "$URL" --writers "$writers" --boards "$boards" \
      --duration "$SECS" --warmup 2 --server-pid "$SERVER" | tee -a "$RESULTS"
    stop_server
  done
done

# (2) Idle subscribed connections: server RSS per connection.
for transport in ws sse; do
  start_server
  $BENCH idle --url "$URL" --transport "$transport" --connections "$IDLE" \
    --server-pid "$SERVER" | tee -a "$RESULTS"
  stop_server
done

# (3) Fan-out of durable updates: SUBS subscribers, one writer at 200 updates/s.
for transport in ws sse; do
  start_server
  $BENCH fanout --url "$URL" --transport "$transport" --subscribers "$SUBS" --rate 200 \
    --duration "$SECS" --server-pid "$SERVER" | tee -a "$RESULTS"
  stop_server
done

# (4) Signals: SUBS subscribers, 10 senders, increasing offered load.
for rate in 50 200 400 800 1600; do
  start_server
  $BENCH signals --url "$URL" --subscribers "$SUBS" --senders 10 --rate "$rate" \
    --duration "$SECS" --server-pid "$SERVER" | tee -a "$RESULTS"
  stop_server
done

python3 scripts/bench_report.py "$RESULTS" "$OUT"
echo "wrote $OUT"
