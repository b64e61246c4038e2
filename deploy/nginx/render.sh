#!/bin/sh
# Renders deploy/nginx/corkboard.conf for one deployment: its `listen`
# address and its upstream servers (the shipped file lists 127.0.0.1:18081-18083
# on 127.0.0.1:8080). Used by scripts/cluster and by the nginx service of
# deploy/compose/cluster.yml. POSIX sh and awk only (the nginx image has both).
#
#   render.sh CONF LISTEN SERVER...            print the rendered config
#   render.sh --run PREFIX CONF LISTEN SERVER...
#        write PREFIX/nginx.conf, then exec nginx in the foreground with
#        PREFIX as its prefix (logs/, tmp/ and the pid file go there)
#
# SERVER is host:port, e.g. node1:8080.
set -eu
run=""
if [ "${1:-}" = --run ]; then
    run="$2"
    shift 2
fi
[ $# -ge 3 ] || { echo "usage: render.sh [--run PREFIX] CONF LISTEN SERVER..." >&2; exit 2; }
conf="$1" listen="$2"
shift 2
upstreams=""
for server in "$@"; do
    upstreams="${upstreams}        server $server max_fails=1 fail_timeout=5s;\n"
done
render() {
    awk -v ups="$upstreams" -v listen="$listen" '
        /^ *server [^ ]+ max_fails/ { if (!done) { printf "%s", ups; done = 1 } next }
        /^ *listen / { sub(/listen [^;]+;/, "listen " listen ";") }
        { print }
    ' "$conf"
}
if [ -z "$run" ]; then
    render
    exit 0
fi
mkdir -p "$run/logs" "$run/tmp"
# Errors to the container's log, as the official image does.
ln -sf /dev/stderr "$run/logs/error.log"
render >"$run/nginx.conf"
exec nginx -p "$run" -c nginx.conf -g 'daemon off;'
