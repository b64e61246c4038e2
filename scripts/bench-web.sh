#!/usr/bin/env bash
# Web UI numbers (issue 5): first-load JS of the board page, remote change → note
# shown with 500 notes, and frame times while dragging a note among 500
# (web/e2e/perf.mjs); and (issue 14) keystroke → remote render latency of
# collaborative text with two browsers (web/e2e/text-perf.mjs); playwright-core +
# Debian's chromium against the real binary.
#
# Like scripts/e2e.sh: installs chromium when missing, runs `make build` when the
# UI export or the binary is older than its sources, starts target/release/corkboard
# on a free loopback port with a temporary data directory, runs the script, stops
# the server. Prints one JSON line of results per script on stdout (progress goes to stderr).
#
#   BENCH_WEB_SKIP_BUILD=1   use the binary as it is
#   BENCH_WEB_BIN=/path/to/corkboard   a binary built elsewhere: only the UI export is
#                            rebuilt when stale, served with --web-dir web/out (as E2E_BIN)
#   BENCH_WEB_KEEP=1         keep the temporary directory (server log, data)
#   BENCH_WEB_SCRIPTS="e2e/text-perf.mjs"   run only these (default: both)
#   PERF_NOTES, PERF_UPDATES, PERF_DRAG_MS, PERF_BUDGET_S   see web/e2e/perf.mjs
#   PERF_KEYS, PERF_KEY_DELAY_MS                            see web/e2e/text-perf.mjs
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT="$PWD"
EXTERNAL_BIN="${BENCH_WEB_BIN:-}"
BIN="${EXTERNAL_BIN:-$ROOT/target/release/corkboard}"
CHROMIUM=/usr/bin/chromium

# --- chromium ---------------------------------------------------------------
if [ ! -x "$CHROMIUM" ]; then
  echo "bench-web: $CHROMIUM is missing; installing Debian's chromium" >&2
  SUDO=""
  if [ "$(id -u)" != 0 ]; then SUDO="sudo"; fi
  if ! $SUDO apt-get install -y chromium; then
    $SUDO apt-get update && $SUDO apt-get install -y chromium || {
      echo "bench-web: FAILED to install chromium with apt-get" >&2
      exit 1
    }
  fi
  [ -x "$CHROMIUM" ] || { echo "bench-web: FAILED: $CHROMIUM is still missing" >&2; exit 1; }
fi

# --- build when stale (the same test as scripts/e2e.sh) ---------------------
stale() {
  [ -x "$BIN" ] || return 0
  [ -f web/out/index.html ] || return 0
  [ -d web/node_modules ] || return 0
  [ -n "$(find web/src web/public web/package.json web/package-lock.json web/next.config.ts \
            -newer web/out/index.html -print -quit 2>/dev/null)" ] && return 0
  [ -n "$(find web/out crates/corkboard/src crates/corkboard/migrations crates/corkboard/Cargo.toml \
            Cargo.toml Cargo.lock -newer "$BIN" -print -quit 2>/dev/null)" ] && return 0
  return 1
}
ui_stale() {
  [ -f web/out/index.html ] || return 0
  [ -n "$(find web/src web/public web/package.json web/package-lock.json web/next.config.ts \
            -newer web/out/index.html -print -quit 2>/dev/null)" ]
}
if [ -n "$EXTERNAL_BIN" ]; then
  if [ "${BENCH_WEB_SKIP_BUILD:-0}" != 1 ] && ui_stale; then
    echo "bench-web: the UI export is stale: make web" >&2
    make web >&2
  fi
  export CORKBOARD_WEB_DIR="$ROOT/web/out"
elif [ "${BENCH_WEB_SKIP_BUILD:-0}" != 1 ] && stale; then
  echo "bench-web: the UI or the binary is stale: make build" >&2
  make build >&2
fi
if [ ! -d web/node_modules/playwright-core ] || [ web/package-lock.json -nt web/node_modules/.package-lock.json ]; then
  make web/node_modules/.package-lock.json >&2
fi

# --- server -----------------------------------------------------------------
TMP="$(mktemp -d /tmp/corkboard-bench-web.XXXXXX)"
DATA="$TMP/data"
PIDFILE="$TMP/server.pid"
LOG="$TMP/server.log"
mkdir -p "$DATA"
PORT="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()')"
URL="http://127.0.0.1:$PORT"

cleanup() {
  local rc=$?
  if [ -f "$PIDFILE" ]; then
    local pid
    pid="$(cat "$PIDFILE")"
    if kill -0 "$pid" 2>/dev/null; then
      kill "$pid" 2>/dev/null || true
      for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
      kill -9 "$pid" 2>/dev/null || true
    fi
  fi
  if [ "$rc" != 0 ] && [ -f "$LOG" ]; then
    echo "bench-web: last lines of the server log ($LOG):" >&2
    tail -n 30 "$LOG" >&2 || true
  fi
  if [ "${BENCH_WEB_KEEP:-0}" = 1 ]; then echo "bench-web: kept $TMP" >&2; else rm -rf "$TMP"; fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# Default limits, as a user gets them (the UI's own traffic stays well under them).
CORKBOARD_LOG="${CORKBOARD_LOG:-warn}" "$BIN" --listen "127.0.0.1:$PORT" --data "$DATA" --drain-timeout 1 --rest-mutation-rate 0 >>"$LOG" 2>&1 &
echo $! >"$PIDFILE"
for i in $(seq 100); do
  curl -sf "$URL/healthz" >/dev/null 2>&1 && break
  [ "$i" = 100 ] && { echo "bench-web: the server did not answer $URL/healthz" >&2; exit 1; }
  sleep 0.1
done
echo "bench-web: corkboard on $URL (data $DATA)" >&2

# --- measure ----------------------------------------------------------------
export E2E_BASE_URL="$URL" E2E_BIN="$BIN" E2E_PORT="$PORT" E2E_DATA="$DATA" \
  E2E_PIDFILE="$PIDFILE" E2E_SERVER_LOG="$LOG" E2E_CHROMIUM="$CHROMIUM" E2E_TMP="$TMP"
cd web
# shellcheck disable=SC2086 # a list of scripts, split on spaces on purpose
for script in ${BENCH_WEB_SCRIPTS:-e2e/perf.mjs e2e/text-perf.mjs}; do
  timeout 300 node "$script"
done
