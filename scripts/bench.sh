#!/usr/bin/env bash
# Runs Corkboard's benchmarks, and the same workloads against the peer relays
# in bench/peers (Node `ws`, Socket.IO, Nchan), on loopback, and writes
# docs/benchmarks.md with charts in docs/bench/. Every run is bounded in time
# and stops by itself; each server is started fresh per measured point. The
# load generator (corkboard-bench) is its own process, spreads its connections
# over several 127.0.0.x source addresses, and is pinned to another core than
# the server under test (taskset) for the peer comparisons. The relay workload
# is also driven by a second, independent client (bench/clients/node-relay, Node
# and `ws`), to check that both clients rank the servers the same way.
#
#   BENCH_SECONDS   measured seconds per point (default 10; relay steps use 6)
#   BENCH_QUICK=1   smaller sizes and shorter points, for a smoke run (≤ 3 min)
#   BENCH_PIN=0     do not pin server and load generator to separate cores
#   BENCH_RELAY_RESULTS=FILE  take workload (a)'s rows (all servers, both clients) from an
#                   earlier run's JSON lines instead of measuring them again (its 13 minutes)
set -euo pipefail
cd "$(dirname "$0")/.."
PORT="${BENCH_PORT:-18480}"
OUT="docs/benchmarks.md"
RESULTS="$(mktemp)"
DATA="$(mktemp -d)"
TOKEN="bench-$RANDOM$RANDOM"
if [ "${BENCH_QUICK:-0}" = 1 ]; then
  SECS="${BENCH_SECONDS:-3}"; STEP_SECS=2; IDLE_SIZES="1000"; SSE_IDLE=1000; GRPC_IDLE=2000; SUBS=200
  STORM=2000; RESUME=1000; RATES="50 400"; WRITERS="16"
else
  SECS="${BENCH_SECONDS:-10}"; STEP_SECS=6; IDLE_SIZES="1000 10000 19000"; SSE_IDLE=10000; GRPC_IDLE=10000
  SUBS=1000; STORM=10000; RESUME=5000; RATES="10 25 50 100 200 400 800 1600"; WRITERS="16 64"
fi
trap 'kill "${SERVER:-}" 2>/dev/null || true; rm -rf "$DATA" "$RESULTS"' EXIT

# Cores: the server under test on core 0, the load generator on core 1. As root, both
# also run at nice -10, ahead of other work on the machine (compilers), for every server alike.
NICE=()
if [ "$(id -u)" = 0 ]; then NICE=(nice -n -10); fi
PIN="${BENCH_PIN:-1}"
SERVER_PIN=("${NICE[@]}"); LOADGEN_PIN=("${NICE[@]}")
if [ "$PIN" = 1 ] && command -v taskset >/dev/null && [ "$(nproc)" -ge 2 ]; then
  SERVER_PIN=("${NICE[@]}" taskset -c 0); LOADGEN_PIN=("${NICE[@]}" taskset -c 1)
fi

cargo build --release --locked --bin corkboard --bin corkboard-bench
for dir in bench/peers/ws-relay bench/peers/socketio-relay bench/clients/node-relay; do
  # npm ci can fail on this registry mirror; install the locked versions without rewriting the lock.
  (cd "$dir" && { npm ci --no-audit --no-fund --silent ||
    npm install --no-audit --no-fund --no-save --silent; })
done
# Nchan: nginx's module from Debian's packages (installed when missing and root).
NCHAN_SO=/usr/lib/nginx/modules/ngx_nchan_module.so
if [ ! -e "$NCHAN_SO" ] && [ "$(id -u)" = 0 ]; then
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q libnginx-mod-nchan >/dev/null 2>&1 ||
    echo "bench: apt-get install libnginx-mod-nchan failed" >&2
fi
PEERS="node-ws socket.io nchan"
if [ ! -e "$NCHAN_SO" ] || ! command -v nginx >/dev/null; then
  echo "bench: Nchan is not installed (Debian: libnginx-mod-nchan); its rows are left out" >&2
  PEERS="node-ws socket.io"
fi
BENCH=./target/release/corkboard-bench
URL="http://127.0.0.1:$PORT"

# wait_ready [path]: until GET path answers 2xx, or (no path) the port accepts connections.
wait_ready() {
  for _ in $(seq 150); do
    if [ -n "${1:-}" ]; then
      curl -sf -o /dev/null --max-time 1 "$URL/$1" && return 0
    else
      (exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null && return 0
    fi
    sleep 0.1
  done
  echo "server did not start" >&2
  exit 1
}
# start_server corkboard|node-ws|socket.io|nchan [unpinned] [extra corkboard args…]
# Sets SERVER (the process to stop) and STATS_PID (the process whose CPU and RSS count:
# for nginx its one worker, not the idle master).
start_server() {
  local which="$1" pin=("${SERVER_PIN[@]}"); shift
  if [ "${1:-}" = unpinned ]; then pin=("${NICE[@]}"); shift; fi
  rm -rf "${DATA:?}"/*
  case "$which" in
    corkboard)
      CORKBOARD_LOG=warn "${pin[@]}" ./target/release/corkboard --listen "127.0.0.1:$PORT" \
        --data "$DATA" --max-notes-per-board 10000000 --max-connections-per-user 1000000 \
        --signups-per-minute 1000000 --rpc-rate 1000000 --signal-rate 1000000 \
        --rest-mutation-rate 0 --max-boards-per-user 0 --max-connections 19900 "$@" &
      SERVER=$!; wait_ready readyz ;;
    node-ws)
      PORT=$PORT BENCH_TOKEN=$TOKEN "${pin[@]}" node bench/peers/ws-relay/server.js >/dev/null &
      SERVER=$!; wait_ready ;;
    socket.io)
      PORT=$PORT BENCH_TOKEN=$TOKEN "${pin[@]}" node bench/peers/socketio-relay/server.js >/dev/null &
      SERVER=$!; wait_ready ;;
    nchan)
      mkdir -p "$DATA/nchan"
      sed -e "s|@PORT@|$PORT|; s|@TOKEN@|$TOKEN|; s|@PREFIX@|$DATA/nchan|g" \
        bench/peers/nchan/nginx.conf.in >"$DATA/nchan/nginx.conf"
      "${pin[@]}" nginx -p "$DATA/nchan" -c "$DATA/nchan/nginx.conf" &
      SERVER=$!; wait_ready ;;
  esac
  STATS_PID="$SERVER"
  if [ "$which" = nchan ]; then
    for _ in $(seq 50); do
      STATS_PID="$(pgrep -P "$SERVER" | head -1)" && [ -n "$STATS_PID" ] && break
      sleep 0.1
    done
  fi
}
stop_server() { kill "$SERVER"; wait "$SERVER" 2>/dev/null || true; }
target_of() { case "$1" in node-ws) echo ws ;; socket.io) echo socketio ;; nchan) echo nchan ;; *) echo corkboard ;; esac; }
# run <server> <corkboard-bench args…>: one point on a fresh server, result appended to RESULTS.
run() {
  local which="$1"; shift
  start_server "$which"
  # Bounded: a server that stalls (Nchan at 19,000 once) costs one point, not the run.
  timeout 600 "${LOADGEN_PIN[@]}" $BENCH "$@" --url "$URL" --server-pid "$STATS_PID" |
    tee -a "$RESULTS" || echo "bench: $which $1 failed or ran past 600 s; its row is missing" >&2
  stop_server
}
# relay_steps <server> <client command…>: the relay workload at rising offered rates, each on a
# fresh server, until p99 passes 250 ms or under 90 % of deliveries arrive.
relay_steps() {
  local server="$1"; shift
  for rate in $RATES; do
    start_server "$server"
    line="$("${LOADGEN_PIN[@]}" "$@" --target "$(target_of "$server")" --token "$TOKEN" \
      --subscribers "$SUBS" --senders 10 --rate "$rate" --duration "$STEP_SECS" --url "$URL" \
      --server-pid "$STATS_PID" | tail -1)"
    stop_server
    echo "$line" | tee -a "$RESULTS"
    python3 -c 'import json,sys; r=json.loads(sys.argv[1]);
sys.exit(0 if r["p99_ms"] <= 250 and r["deliveries"] >= 0.9*r["expected_deliveries"] else 1)' "$line" || break
  done
}

# (d) Durable note updates over WebSocket RPC on SQLite, and the older REST creates.
# Not pinned: the SQLite writer thread and the connection tasks use both cores.
for boards in 1 0; do
  for inflight in 2 4; do
    start_server corkboard unpinned
    "${NICE[@]}" $BENCH rpc --url "$URL" --connections 64 --inflight "$inflight" --boards "$boards" \
      --duration "$SECS" --warmup 2 --server-pid "$SERVER" | tee -a "$RESULTS"
    stop_server
  done
  for writers in $WRITERS; do
    start_server corkboard unpinned
    "${NICE[@]}" $BENCH writes --url "$URL" --writers "$writers" --boards "$boards" \
      --duration "$SECS" --warmup 2 --server-pid "$SERVER" | tee -a "$RESULTS"
    stop_server
  done
done

# (a) Relay fan-out: SUBS members of one room, 10 senders of 64-byte payloads, rising
# offered load per server until p99 passes 250 ms or under 90 % of deliveries arrive
# (the report takes the highest delivered rate with p99 ≤ 50 ms); then the same steps
# from the second client, bench/clients/node-relay (Node and `ws`).
if [ -n "${BENCH_RELAY_RESULTS:-}" ]; then
  grep '"workload":"relay fan-out' "$BENCH_RELAY_RESULTS" | tee -a "$RESULTS"
else
  for server in corkboard $PEERS; do
    relay_steps "$server" $BENCH relay
  done
  for server in corkboard $PEERS; do
    relay_steps "$server" node bench/clients/node-relay/client.mjs
  done
fi

# (b) Idle subscribed connections: server RSS per connection.
for server in corkboard $PEERS; do
  for n in $IDLE_SIZES; do
    # Nchan's nginx worker stalled at 19,000 here (the client waited without end, 2026-12-02):
    # it is measured up to 10,000 until that is understood.
    if [ "$server" = nchan ] && [ "$n" -gt 10000 ]; then continue; fi
    run "$server" idle --target "$(target_of "$server")" --token "$TOKEN" --connections "$n" \
      --rate 5000
  done
done
# The same right after a fast storm of many users on one board: connections opened at
# 10,000/s as 112 users (about 90 connections each at 10,000), so presence joins and
# members lists are sent while the storm lasts (the peers have no users: a fast storm).
for server in corkboard $PEERS; do
  run "$server" idle --target "$(target_of "$server")" --token "$TOKEN" --connections "$STORM" \
    --rate 10000 --users 112
done
run corkboard idle --transport sse --connections "$SSE_IDLE" --rate 5000
run corkboard idle --transport sse --connections "$SSE_IDLE" --rate 10000 --users 112
# gRPC: idle `Subscribe` streams, 100 per HTTP/2 connection (half the server's
# 200 concurrent streams) and one per connection (a device each).
for spc in 100 1; do
  run corkboard idle --transport grpc --connections "$GRPC_IDLE" --streams-per-connection "$spc" \
    --rate 5000
done

# (c) Connection storm: clients connect, authenticate and join at once.
for server in corkboard $PEERS; do
  run "$server" storm --target "$(target_of "$server")" --token "$TOKEN" --clients "$STORM" \
    --rate 10000 --inflight 1000
done

# (e) Fan-out of durable updates: SUBS subscribers, one writer at 200 updates/s; gRPC
# `Subscribe` streams 100 per HTTP/2 connection and one per connection.
for transport in ws sse; do
  run corkboard fanout --transport "$transport" --subscribers "$SUBS" --rate 200 --duration "$SECS"
done
for spc in 100 1; do
  run corkboard fanout --transport grpc --streams-per-connection "$spc" --subscribers "$SUBS" \
    --rate 200 --duration "$SECS"
done

# (f) Resume storm: clients reconnect with `since` 100 events behind.
run corkboard storm --clients "$RESUME" --behind 100 --rate 10000 --inflight 1000

# Collaborative text (issue 14): 50 clients typing into one note, 5 keystrokes/s each, first
# as `note.edit` (Yjs updates), then as `note.update` replacements (the peer figure), on one
# fresh server; server CPU per op. Pinned like the real-time workloads.
run corkboard text-edit --clients 50 --rate 5 --chars 500 --seconds "$SECS"

# Cluster mode: PostgreSQL store and Redis bus, one and three nodes.
scripts/bench-cluster.sh "$RESULTS"

mkdir -p docs/bench && cp "$RESULTS" docs/bench/results.jsonl
python3 scripts/bench_report.py "$RESULTS" "$OUT"
echo "wrote $OUT and docs/bench/*.svg"
