#!/usr/bin/env bash
# A/B comparison of two corkboard binaries on the same machine in one run:
# relay fan-out of signals (1,000 subscribers, 10 senders) and durable note
# updates over WebSocket RPC (64 connections, 4 in flight, SQLite), each point
# on a fresh server, the two binaries alternating round by round so that
# machine noise hits both alike. Prints one JSON line per point, then the
# median of each figure per binary and the ratio new/base.
#
#   scripts/bench-ab.sh BASE_BIN NEW_BIN [ROUNDS]     (ROUNDS default 3)
#
# Loopback only, every point bounded in time (about 40 s per round).
# corkboard-bench comes from target/release (built when missing).
set -euo pipefail
cd "$(dirname "$0")/.."
BASE="${1:?usage: scripts/bench-ab.sh BASE_BIN NEW_BIN [ROUNDS]}"
NEW="${2:?usage: scripts/bench-ab.sh BASE_BIN NEW_BIN [ROUNDS]}"
ROUNDS="${3:-3}"
PORT="${BENCH_PORT:-18490}"
URL="http://127.0.0.1:$PORT"
TOKEN="ab-$RANDOM$RANDOM"
DATA="$(mktemp -d)"
OUT="$(mktemp)"
trap 'kill "${SERVER:-}" 2>/dev/null || true; rm -rf "$DATA" "$OUT"' EXIT
[ -x target/release/corkboard-bench ] || cargo build --release --locked --bin corkboard-bench
BENCH=./target/release/corkboard-bench
PIN_S=(); PIN_L=()
if command -v taskset >/dev/null && [ "$(nproc)" -ge 2 ]; then PIN_S=(taskset -c 0); PIN_L=(taskset -c 1); fi

start() { # start BIN [pinned]
  rm -rf "${DATA:?}"/*
  local pin=(); [ "${2:-}" = pinned ] && pin=("${PIN_S[@]}")
  CORKBOARD_LOG=warn "${pin[@]}" "$1" --listen "127.0.0.1:$PORT" --data "$DATA" \
    --max-notes-per-board 10000000 --max-connections-per-user 1000000 \
    --signups-per-minute 1000000 --rpc-rate 1000000 --signal-rate 1000000 &
  SERVER=$!
  for _ in $(seq 150); do curl -sf -o /dev/null --max-time 1 "$URL/readyz" && return 0; sleep 0.1; done
  echo "server did not start" >&2; exit 1
}
stop() { kill "$SERVER"; wait "$SERVER" 2>/dev/null || true; }

for round in $(seq "$ROUNDS"); do
  for which in base new; do
    bin="$BASE"; [ "$which" = new ] && bin="$NEW"
    start "$bin" pinned
    line="$("${PIN_L[@]}" $BENCH relay --target corkboard --token "$TOKEN" --subscribers 1000 \
      --senders 10 --rate 800 --duration 6 --url "$URL" --server-pid "$SERVER" | tail -1)"
    stop
    echo "{\"bin\":\"$which\",\"round\":$round,\"point\":\"relay\",\"r\":$line}" | tee -a "$OUT"
    start "$bin"
    line="$($BENCH rpc --url "$URL" --connections 64 --inflight 4 --boards 1 --duration 10 \
      --warmup 2 --server-pid "$SERVER" | tail -1)"
    stop
    echo "{\"bin\":\"$which\",\"round\":$round,\"point\":\"rpc\",\"r\":$line}" | tee -a "$OUT"
  done
done

python3 - "$OUT" <<'PY'
import json, statistics, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
def med(bin_, point, key):
    v = [r["r"][key] for r in rows if r["bin"] == bin_ and r["point"] == point and key in r["r"]]
    return statistics.median(v) if v else None
for point, keys in [("relay", ["deliveries_per_sec", "p99_ms", "server_cpu_us_per_delivery"]),
                    ("rpc", ["ops_per_sec", "p99_ms", "server_cpu_us_per_op"])]:
    for k in keys:
        b, n = med("base", point, k), med("new", point, k)
        if b is None or n is None:
            continue
        ratio = n / b if b else float("nan")
        print(f"{point:5} {k:28} base {b:>12.1f}  new {n:>12.1f}  new/base {ratio:.2f}")
PY
