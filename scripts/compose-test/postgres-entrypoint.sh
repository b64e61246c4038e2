#!/bin/bash
# The stand-in postgres image's entrypoint (stand-ins.Dockerfile): makes the
# cluster on first start as the official image does, then runs the command.
set -euo pipefail
if [ "${1:-}" = postgres ] && [ ! -s "$PGDATA/PG_VERSION" ]; then
    pw="$(mktemp)"
    printf '%s\n' "$POSTGRES_PASSWORD" >"$pw"
    initdb -U "${POSTGRES_USER:-postgres}" --pwfile="$pw" --auth-host=scram-sha-256 --auth-local=trust >/dev/null
    rm -f "$pw"
    echo "listen_addresses = '*'" >>"$PGDATA/postgresql.conf"
    echo "host all all all scram-sha-256" >>"$PGDATA/pg_hba.conf"
    pg_ctl -w -o "-c listen_addresses=''" start >/dev/null
    db="${POSTGRES_DB:-${POSTGRES_USER:-postgres}}"
    [ "$db" = postgres ] || psql -q -U "${POSTGRES_USER:-postgres}" -d postgres -c "CREATE DATABASE \"$db\""
    pg_ctl -w -m fast stop >/dev/null
fi
exec "$@"
