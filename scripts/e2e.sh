#!/usr/bin/env bash
# End-to-end browser tests of the web UI (web/e2e/) against the real binary.
#
# - installs Debian's chromium when /usr/bin/chromium is missing (playwright-core
#   drives it; Playwright's own browser downloads do not work here);
# - runs `make build` when the UI export or the binary is older than its sources;
# - starts target/release/corkboard on a free loopback port with a temporary data
#   directory (the tests stop and restart it on the same port and directory, and
#   keep its pid in $E2E_PIDFILE), runs the tests with `node --test`, stops it;
# - the tests write docs/screenshots/*.png.
#
#   E2E_SKIP_BUILD=1   use the binary as it is
#   E2E_KEEP=1         keep the temporary directory (server log, data) for inspection
#   E2E_FILES="e2e/text.e2e.mjs"   run only these test files (default: every web/e2e/*.e2e.mjs)
#   E2E_BIN=/path/to/corkboard     a binary built elsewhere: only the UI export is rebuilt
#                                  when stale, and the server serves it with --web-dir web/out
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT="$PWD"
EXTERNAL_BIN="${E2E_BIN:-}"
BIN="${EXTERNAL_BIN:-$ROOT/target/release/corkboard}"
CHROMIUM=/usr/bin/chromium

# --- chromium ---------------------------------------------------------------
if [ ! -x "$CHROMIUM" ]; then
  echo "e2e: $CHROMIUM is missing; installing Debian's chromium" >&2
  SUDO=""
  if [ "$(id -u)" != 0 ]; then SUDO="sudo"; fi
  if ! $SUDO apt-get install -y chromium; then
    $SUDO apt-get update && $SUDO apt-get install -y chromium || {
      echo "e2e: FAILED to install chromium with apt-get; install it (apt-get install -y chromium) and retry" >&2
      exit 1
    }
  fi
  [ -x "$CHROMIUM" ] || { echo "e2e: FAILED: apt-get ran but $CHROMIUM is still missing" >&2; exit 1; }
fi

# --- build when stale -------------------------------------------------------
stale() {
  [ -x "$BIN" ] || return 0
  [ -f web/out/index.html ] || return 0
  [ -d web/node_modules ] || return 0
  # UI sources newer than the export, or the export / Rust sources newer than the binary.
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
  if [ "${E2E_SKIP_BUILD:-0}" != 1 ] && ui_stale; then
    echo "e2e: the UI export is stale: make web" >&2
    make web
  fi
  # The server (and every restart of it by the tests) serves this checkout's UI.
  export CORKBOARD_WEB_DIR="$ROOT/web/out"
elif [ "${E2E_SKIP_BUILD:-0}" != 1 ] && stale; then
  echo "e2e: the UI or the binary is stale: make build" >&2
  make build
fi
# playwright-core (a pinned devDependency of web/) must be installed.
if [ ! -d web/node_modules/playwright-core ] || [ web/package-lock.json -nt web/node_modules/.package-lock.json ]; then
  make web/node_modules/.package-lock.json
fi

# --- server -----------------------------------------------------------------
TMP="$(mktemp -d /tmp/corkboard-e2e.XXXXXX)"
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
    echo "e2e: last lines of the server log ($LOG):" >&2
    tail -n 30 "$LOG" >&2 || true
  fi
  if [ "${E2E_KEEP:-0}" = 1 ]; then echo "e2e: kept $TMP" >&2; else rm -rf "$TMP"; fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# The same command line is used by the tests to restart the server.
SERVER_ARGS=(--listen "127.0.0.1:$PORT" --data "$DATA" --drain-timeout 1)
CORKBOARD_LOG="${CORKBOARD_LOG:-warn}" "$BIN" "${SERVER_ARGS[@]}" >>"$LOG" 2>&1 &
echo $! >"$PIDFILE"
for i in $(seq 100); do
  curl -sf "$URL/healthz" >/dev/null 2>&1 && break
  [ "$i" = 100 ] && { echo "e2e: the server did not answer $URL/healthz" >&2; exit 1; }
  sleep 0.1
done
echo "e2e: corkboard on $URL (data $DATA)" >&2

# --- tests ------------------------------------------------------------------
export E2E_BASE_URL="$URL" E2E_BIN="$BIN" E2E_PORT="$PORT" E2E_DATA="$DATA" \
  E2E_PIDFILE="$PIDFILE" E2E_SERVER_LOG="$LOG" E2E_CHROMIUM="$CHROMIUM" \
  E2E_SCREENSHOTS="$ROOT/docs/screenshots" E2E_TMP="$TMP"
cd web
# shellcheck disable=SC2086 # a list of files, split on spaces on purpose
node --test --test-concurrency=1 ${E2E_FILES:-e2e/board.e2e.mjs e2e/text.e2e.mjs e2e/fallback.e2e.mjs e2e/history.e2e.mjs e2e/offline.e2e.mjs e2e/ux.e2e.mjs e2e/people.e2e.mjs e2e/a11y.e2e.mjs e2e/members.e2e.mjs e2e/edit.e2e.mjs e2e/boards.e2e.mjs}
