#!/usr/bin/env bash
# One profiled benchmark point: starts the release server as scripts/bench.sh
# does, runs one corkboard-bench workload against it, and prints the bench's
# JSON line plus server syscall / context-switch counts (perf stat on the
# server pid) and the load generator's own CPU time. Bounded: the workload
# stops by itself after --duration seconds. Needs `perf` and a release build:
# cargo build --release --locked --bin corkboard --bin corkboard-bench
#
#   docs/profiling/run.sh fanout --transport ws --subscribers 1000 --rate 200 --duration 10
#   docs/profiling/run.sh signals --subscribers 1000 --senders 10 --rate 400 --duration 10
#
#   SERVER_CPUS / BENCH_CPUS  taskset CPU lists (e.g. 0 and 1); empty = unpinned
#   PERF_RECORD=file          also `perf record --call-graph dwarf` the server into
#                             file (render: perf script -i file | inferno-collapse-perf
#                             | inferno-flamegraph > out.svg; `cargo install inferno`)
#   SERVER_BIN                server binary (default ./target/release/corkboard)
#   SERVER_FLAGS              extra server flags
#   NICE=-10                  run server and bench at this niceness (so other
#                             builds on the machine do not preempt them)
set -euo pipefail
cd "$(dirname "$0")/../.."
PORT="${BENCH_PORT:-18490}"
URL="http://127.0.0.1:$PORT"
DATA="$(mktemp -d)"
pin() {
  if [ -n "${NICE:-}" ]; then echo "nice -n $NICE"; fi
  if [ -n "$1" ]; then echo "taskset -c $1"; fi
}
trap 'kill "${SERVER:-}" 2>/dev/null || true; rm -rf "$DATA"' EXIT
# shellcheck disable=SC2046,SC2086
CORKBOARD_LOG=warn $(pin "${SERVER_CPUS:-}") "${SERVER_BIN:-./target/release/corkboard}" --listen "127.0.0.1:$PORT" \
  --data "$DATA" --max-notes-per-board 10000000 --max-connections-per-user 1000000 \
  --signups-per-minute 1000000 --rpc-rate 1000000 --signal-rate 1000000 ${SERVER_FLAGS:-} &
SERVER=$!
for _ in $(seq 100); do curl -sf "$URL/readyz" >/dev/null && break; sleep 0.1; done
workload="$1"; shift
# Server syscalls and context switches over the whole run (connects included;
# they are a small share next to the deliveries).
perf stat -x, -p "$SERVER" -o "$DATA/stat" \
  -e raw_syscalls:sys_enter,syscalls:sys_enter_write,syscalls:sys_enter_writev,syscalls:sys_enter_sendto,syscalls:sys_enter_recvfrom,syscalls:sys_enter_epoll_wait,syscalls:sys_enter_futex,context-switches &
STAT=$!
if [ -n "${PERF_RECORD:-}" ]; then
  perf record -F 199 --call-graph dwarf,16384 -p "$SERVER" -o "$PERF_RECORD" 2>/dev/null &
  RECORD=$!
fi
# shellcheck disable=SC2046
/usr/bin/time -f 'bench cpu_s %U+%S wall_s %e' $(pin "${BENCH_CPUS:-}") \
  ./target/release/corkboard-bench "$workload" --url "$URL" --server-pid "$SERVER" "$@"
kill -INT "$STAT" ${RECORD:-} 2>/dev/null || true
wait "$STAT" ${RECORD:-} 2>/dev/null || true
grep -v '^#' "$DATA/stat" 2>/dev/null | awk -F, 'NF > 2 {print "server", $3, $1}' || true
