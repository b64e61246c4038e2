#!/usr/bin/env bash
# Makes sure the services the tests and the local cluster use are here:
# - PostgreSQL at CORKBOARD_TEST_PG_URL (default postgres://postgres@127.0.0.1:5432/postgres):
#   starts the local Debian cluster when it is not accepting connections;
# - Redis at CORKBOARD_TEST_REDIS_URL (default redis://127.0.0.1:6379): starts
#   redis-server when nothing answers there;
# - nginx (the cluster's load balancer): installs Debian's package when missing;
# - systemd-analyze (tests/startup_checks.rs checks deploy/systemd with it) and
#   pg_dump/pg_restore (tests/backup_restore.rs): installs Debian's packages when missing.
# Exits non-zero, saying why, when it cannot.
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

ensure_redis() {
    local url="${CORKBOARD_TEST_REDIS_URL:-redis://127.0.0.1:6379}"
    command -v redis-cli >/dev/null 2>&1 \
        || fail "redis-cli not found; install Redis (apt-get install redis-server) or point CORKBOARD_TEST_REDIS_URL at a running server"
    if [ "$(redis-cli -u "$url" ping 2>/dev/null)" = PONG ]; then
        echo "ensure-services: Redis answers at $url"
        return 0
    fi
    local hostport="${url#redis://}"
    hostport="${hostport%%/*}"
    local host="${hostport%%:*}" port="${hostport##*:}"
    [ "$port" = "$hostport" ] && port=6379
    case "$host" in
        127.*|localhost) ;;
        *) fail "Redis does not answer at $url and it is not local; start it yourself" ;;
    esac
    command -v redis-server >/dev/null 2>&1 \
        || fail "Redis does not answer at $url and redis-server is not installed (apt-get install redis-server)"
    echo "ensure-services: Redis does not answer at $url; starting redis-server"
    redis-server --bind "$host" --port "$port" --daemonize yes --save '' --appendonly no \
        || fail "redis-server did not start"
    for _ in $(seq 1 30); do
        if [ "$(redis-cli -u "$url" ping 2>/dev/null)" = PONG ]; then
            echo "ensure-services: Redis started"
            return 0
        fi
        sleep 0.2
    done
    fail "redis-server was started but does not answer at $url"
}

ensure_nginx() {
    if command -v nginx >/dev/null 2>&1 || [ -x /usr/sbin/nginx ]; then
        echo "ensure-services: nginx is installed"
        return 0
    fi
    echo "ensure-services: installing nginx (Debian package nginx-light)"
    [ "$(id -u)" = 0 ] || fail "nginx is missing and installing it needs root: apt-get install nginx-light"
    # Install without starting the system service (we run our own instances).
    local policy=/usr/sbin/policy-rc.d created=0
    if [ ! -e "$policy" ]; then
        printf '#!/bin/sh\nexit 101\n' >"$policy" && chmod +x "$policy" && created=1
    fi
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends nginx-light >/dev/null \
        || { apt-get update -q >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends nginx-light >/dev/null; } \
        || { [ "$created" = 1 ] && rm -f "$policy"; fail "apt-get install nginx-light failed"; }
    [ "$created" = 1 ] && rm -f "$policy"
    [ -x /usr/sbin/nginx ] || fail "nginx-light installed but /usr/sbin/nginx is missing"
    echo "ensure-services: nginx installed"
}

# Installs Debian package $2 when command $1 is missing.
ensure_tool() {
    local tool="$1" package="$2"
    if command -v "$tool" >/dev/null 2>&1; then
        echo "ensure-services: $tool is installed"
        return 0
    fi
    echo "ensure-services: installing $tool (Debian package $package)"
    [ "$(id -u)" = 0 ] || fail "$tool is missing and installing it needs root: apt-get install $package"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "$package" >/dev/null \
        || { apt-get update -q >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "$package" >/dev/null; } \
        || fail "apt-get install $package failed"
    command -v "$tool" >/dev/null 2>&1 || fail "$package installed but $tool is missing"
}

ensure_redis
ensure_nginx
ensure_tool systemd-analyze systemd
ensure_tool pg_dump postgresql-client
ensure_tool pg_restore postgresql-client

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
