#!/usr/bin/env bash
# Cluster-mode numbers for docs/benchmarks.md (called by scripts/bench.sh, or
# alone: scripts/bench-cluster.sh RESULTS_FILE). Every line appended to
# RESULTS_FILE is corkboard-bench's JSON with a "cluster" field naming the point:
#
#   pg-writes-*       durable note creates over REST on PostgreSQL (one node)
#   pgbench           PostgreSQL's own ceiling on this machine for a transaction
#                     of the same shape (lock a board row, bump its seq, append an event)
#   fanout-same-node  3 nodes up; writer and 1,000 subscribers on node 2
#   fanout-cross-node 3 nodes up; writer on node 1, the subscribers on node 2
#   scale-1-node / scale-3-nodes  fan-out at a high update rate, subscribers on
#                     one node, then spread over three
#
# Needs PostgreSQL and Redis (scripts/ensure-services.sh starts them). Bounded:
# each point runs BENCH_SECONDS (default 10). Loopback only.
set -euo pipefail
cd "$(dirname "$0")/.."
RESULTS="${1:?usage: scripts/bench-cluster.sh RESULTS_FILE}"
if [ "${BENCH_QUICK:-0}" = 1 ]; then
  SECS="${BENCH_SECONDS:-3}"; SUBS=200; SCALE_RATE=400
else
  SECS="${BENCH_SECONDS:-10}"; SUBS=1000; SCALE_RATE=400
fi
ADMIN="${CORKBOARD_TEST_PG_URL:-postgres://postgres@127.0.0.1:5432/postgres}"
REDIS="${CORKBOARD_TEST_REDIS_URL:-redis://127.0.0.1:6379}"
DB=cb_bench_cluster
DB_URL="${ADMIN%/*}/$DB"
BASE_PORT="${BENCH_CLUSTER_PORT:-19081}"
BENCH=./target/release/corkboard-bench
DATA="$(mktemp -d)"
PIDS=()
NICE=()
if [ "$(id -u)" = 0 ]; then NICE=(nice -n -10); fi

scripts/ensure-services.sh >/dev/null
stop_nodes() {
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
  PIDS=()
}
trap 'stop_nodes; rm -rf "$DATA"' EXIT

fresh_db() {
  psql -q "$ADMIN" -c "DROP DATABASE IF EXISTS $DB WITH (FORCE)" -c "CREATE DATABASE $DB" 2>&1 \
    | grep -v NOTICE || true
}
node_url() { echo "http://127.0.0.1:$((BASE_PORT + $1 - 1))"; }
# start_nodes N [with-redis]: N nodes on a fresh database (and a fresh Redis prefix).
start_nodes() {
  local n="$1" redis=()
  fresh_db
  if [ "${2:-}" = with-redis ]; then redis=(--redis-url "$REDIS" --redis-prefix "cb-bench-$RANDOM$RANDOM"); fi
  for i in $(seq 1 "$n"); do
    CORKBOARD_LOG=warn "${NICE[@]}" ./target/release/corkboard --listen "127.0.0.1:$((BASE_PORT + i - 1))" \
      --data "$DATA/node$i" --database-url "$DB_URL" "${redis[@]}" --node-id "bench$i" \
      --max-notes-per-board 10000000 --max-connections-per-user 1000000 \
      --signups-per-minute 1000000 --rpc-rate 1000000 --signal-rate 1000000 \
      --rest-mutation-rate 0 --max-boards-per-user 0 &
    PIDS+=($!)
  done
  for i in $(seq 1 "$n"); do
    for _ in $(seq 150); do curl -sf -o /dev/null --max-time 1 "$(node_url "$i")/readyz" && break; sleep 0.1; done
  done
}
# tag NAME: adds "cluster": NAME to the JSON line on stdin and appends it to RESULTS.
tag() {
  python3 -c 'import json,sys
for l in sys.stdin:
    l = l.strip()
    if l.startswith("{"):
        r = json.loads(l); r["cluster"] = sys.argv[1]; print(json.dumps(r))' "$1" | tee -a "$RESULTS"
}

# Durable ops on PostgreSQL, one node (no Redis: the bus does not change the write path).
for boards in 0 1; do
  start_nodes 1
  "${NICE[@]}" $BENCH writes --url "$(node_url 1)" --writers 64 --boards "$boards" \
    --duration "$SECS" --warmup 2 --server-pid "${PIDS[0]}" | tag "pg-writes-64-writers-boards-$boards"
  stop_nodes
done

# PostgreSQL's ceiling here for a transaction of the same shape, 64 clients.
fresh_db
psql -q "$DB_URL" -c "CREATE TABLE b(id int primary key, seq bigint)" \
  -c "CREATE TABLE e(id bigserial primary key, board int, body text)" \
  -c "INSERT INTO b SELECT g, 0 FROM generate_series(1, 64) g"
cat >"$DATA/tx.sql" <<'SQL'
\set k random(1, 64)
BEGIN;
SELECT seq FROM b WHERE id = :k FOR UPDATE;
UPDATE b SET seq = seq + 1 WHERE id = :k;
INSERT INTO e(board, body) VALUES (:k, repeat('x', 300));
COMMIT;
SQL
tps="$("${NICE[@]}" pgbench -n -c 64 -j 2 -T "$SECS" -f "$DATA/tx.sql" "$DB_URL" 2>/dev/null \
  | awk '/^tps/ {print $3; exit}')"
echo "{\"workload\": \"pgbench: lock a row, bump seq, append an event\", \"clients\": 64, \"tps\": ${tps:-0}}" \
  | tag pgbench

# Cross-node delivery: all subscribers on node 2; the writer on node 2 (same node),
# then on node 1 (each event crosses Redis). The subscribers' node does the same
# delivery work in both; only the path from the commit differs.
start_nodes 3 with-redis
"${NICE[@]}" $BENCH fanout --url "$(node_url 1)" --writer-url "$(node_url 2)" \
  --subscriber-url "$(node_url 2)" --transport ws --subscribers "$SUBS" --rate 200 \
  --duration "$SECS" | tag fanout-same-node
"${NICE[@]}" $BENCH fanout --url "$(node_url 1)" --writer-url "$(node_url 1)" \
  --subscriber-url "$(node_url 2)" --transport ws --subscribers "$SUBS" --rate 200 \
  --duration "$SECS" | tag fanout-cross-node
stop_nodes

# Deliveries per second, one node against three (subscribers spread), at a high update rate.
start_nodes 1 with-redis
"${NICE[@]}" $BENCH fanout --url "$(node_url 1)" --transport ws --subscribers "$SUBS" \
  --rate "$SCALE_RATE" --duration "$SECS" --server-pid "${PIDS[0]}" | tag scale-1-node
stop_nodes
start_nodes 3 with-redis
"${NICE[@]}" $BENCH fanout --url "$(node_url 1)" \
  --subscriber-url "$(node_url 1),$(node_url 2),$(node_url 3)" --transport ws \
  --subscribers "$SUBS" --rate "$SCALE_RATE" --duration "$SECS" | tag scale-3-nodes
stop_nodes
psql -q "$ADMIN" -c "DROP DATABASE IF EXISTS $DB WITH (FORCE)" 2>&1 | grep -v NOTICE || true
