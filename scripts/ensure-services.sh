#!/usr/bin/env bash
# Makes sure the services the tests use are running on this machine:
# PostgreSQL at CORKBOARD_TEST_PG_URL (default postgres://postgres@127.0.0.1:5432/postgres).
# Starts the local Debian cluster when it is not accepting connections;
# exits non-zero, saying why, when it cannot.
set -euo pipefail

PG_URL="${CORKBOARD_TEST_PG_URL:-postgres://postgres@127.0.0.1:5432/postgres}"

fail() {
    echo "ensure-services: $*" >&2
    exit 1
}

redacted() {
    sed -E 's#(://[^:/@]*):[^@/]*@#\1:***@#' <<<"$PG_URL"
}

pg_ready() {
    pg_isready -q -t 2 -d "$PG_URL" >/dev/null 2>&1
}

command -v pg_isready >/dev/null 2>&1 \
    || fail "pg_isready not found; install PostgreSQL (apt-get install postgresql) or point CORKBOARD_TEST_PG_URL at a running server"

if pg_ready; then
    echo "ensure-services: PostgreSQL is accepting connections at $(redacted)"
    exit 0
fi

echo "ensure-services: PostgreSQL is not accepting connections at $(redacted); starting it"
command -v pg_ctlcluster >/dev/null 2>&1 \
    || fail "PostgreSQL is down and pg_ctlcluster is missing; start PostgreSQL yourself"
[ -d /etc/postgresql ] && [ -n "$(ls -A /etc/postgresql 2>/dev/null)" ] \
    || fail "PostgreSQL is down and no cluster is configured in /etc/postgresql"
started=0
for version in $(ls /etc/postgresql); do
    if [ -d "/etc/postgresql/$version/main" ]; then
        if pg_ctlcluster --skip-systemctl-redirect "$version" main start; then
            started=1
        else
            echo "ensure-services: pg_ctlcluster $version main start failed" >&2
        fi
    fi
done
[ "$started" = 1 ] || fail "could not start a PostgreSQL cluster (see the messages above)"

for _ in $(seq 1 30); do
    if pg_ready; then
        echo "ensure-services: PostgreSQL started and accepting connections"
        exit 0
    fi
    sleep 1
done
fail "PostgreSQL was started but does not accept connections at $(redacted) after 30 s"
