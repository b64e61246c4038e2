#!/usr/bin/env bash
# Runs deploy/compose/cluster.yml with podman-compose on this machine and checks
# it through nginx's published port. No registry is reachable here, so the
# file's image variables name local images (nothing else of the file changes):
#   CORKBOARD_IMAGE        the runtime image of scripts/image-test.sh (canonical
#                          Dockerfile, local Debian base, local binary)
#   CORKBOARD_PG_IMAGE     } stand-ins made from the same Debian base with
#   CORKBOARD_REDIS_IMAGE  } Debian's postgresql-15, redis-server, nginx-light
#   CORKBOARD_NGINX_IMAGE  } (scripts/compose-test/stand-ins.Dockerfile)
# Checks:
#  1. nginx answers /readyz; every node's image HEALTHCHECK is healthy;
#  2. through nginx: sign up, create a board, a WebSocket subscription receives
#     the note.created event; across nodes: subscribed on node1, written on
#     node2 (Redis carries the event);
#  3. graceful stop: while 4 writers create notes through nginx,
#     `podman-compose stop` stops node1, node2, node3 in turn (SIGTERM); each
#     must exit 0; after `podman-compose start`, every acknowledged note is there;
#  4. deploy/compose/single-node.yml: up, the smoke check, /data on its volume.
# Installs podman, runc, debootstrap, podman-compose and the CNI dnsname plugin
# from Debian's packages when missing. Re-runnable: removes its containers,
# volumes and network on exit. Every wait is bounded.
set -euo pipefail
cd "$(dirname "$0")/.."
CTR_NAME=compose-test
# shellcheck source=scripts/container-lib.sh
. scripts/container-lib.sh

PROJECT=corkboard-compose-test
FILE=deploy/compose/cluster.yml
NETWORK="${PROJECT}_default"
start=$SECONDS

compose() { timeout 180 podman-compose -p "$PROJECT" -f "$FILE" "$@" >>"$CTR_DIR/compose.log" 2>&1; }
SINGLE=corkboard-compose-test-single
cleanup() {
    local ids project
    for project in "$PROJECT" "$SINGLE"; do
        ids="$(podman ps -aq --filter "label=io.podman.compose.project=$project" 2>/dev/null || true)"
        # shellcheck disable=SC2086
        [ -z "$ids" ] || timeout 60 podman rm -f -v -t 0 $ids >/dev/null 2>&1 || true
        ids="$(podman volume ls -q --filter "label=io.podman.compose.project=$project" 2>/dev/null || true)"
        # shellcheck disable=SC2086
        [ -z "$ids" ] || podman volume rm -f $ids >/dev/null 2>&1 || true
        podman network rm -f "${project}_default" >/dev/null 2>&1 || true
    done
}
trap cleanup EXIT
logs_and_fail() {
    local c
    for c in $(podman ps -a --format '{{.Names}}' --filter "label=io.podman.compose.project=$PROJECT"); do
        echo "--- $c" >&2
        podman logs --tail 15 "$c" >&2 2>&1 || true
    done
    ctr_fail "$@"
}

ctr_setup podman-compose /usr/lib/cni/dnsname=golang-github-containernetworking-plugin-dnsname
ctr_client_setup
ctr_runtime_image
build_stand_in() {
    timeout 600 podman build --target "$1" --build-arg "BASE_IMAGE=$CTR_BASE" \
        -t "localhost/corkboard-test/$1:latest" -f scripts/compose-test/stand-ins.Dockerfile \
        scripts/compose-test >"$CTR_DIR/stand-in-$1.log" 2>&1
}
for service in postgres redis nginx; do
    # Once more after a failure: apt-get inside the build has failed once
    # in about ten builds here (dpkg exit 1), and not again on the next try.
    build_stand_in "$service" || { ctr_say "building the $service stand-in failed; once more"; build_stand_in "$service"; } \
        || ctr_fail "building the $service stand-in failed (see $CTR_DIR/stand-in-$service.log)"
done
ctr_say "stand-in images built"
cleanup
: >"$CTR_DIR/compose.log"

PORT="$(ctr_free_port)"
BASE="http://127.0.0.1:$PORT"
export CORKBOARD_IMAGE="$CTR_IMAGE"
export CORKBOARD_PG_IMAGE=localhost/corkboard-test/postgres:latest
export CORKBOARD_REDIS_IMAGE=localhost/corkboard-test/redis:latest
export CORKBOARD_NGINX_IMAGE=localhost/corkboard-test/nginx:latest
export CORKBOARD_PORT="$PORT"
export CORKBOARD_PUBLIC_ORIGIN="$BASE"

# podman-compose 1.0.3 ignores a network's ipam settings: make the network
# with the file's subnet first (it then uses it as it is).
subnet="$(sed -nE 's/^ *- subnet: *([0-9./]+).*/\1/p' "$FILE")"
[ -n "$subnet" ] || ctr_fail "no subnet found in $FILE"
podman network create --subnet "$subnet" \
    --label "io.podman.compose.project=$PROJECT" "$NETWORK" >/dev/null || ctr_fail "podman network create failed"

# podman-compose 1.0.3 does not wait for depends_on conditions: start
# PostgreSQL and Redis first and wait for PostgreSQL as the file's healthcheck does.
pg_ready() { timeout 10 podman exec "${PROJECT}_postgres_1" pg_isready -q -U corkboard -d corkboard; }
ctr_say "podman-compose up (PostgreSQL, Redis, then 3 nodes and nginx on $BASE)"
compose up -d postgres redis || logs_and_fail "podman-compose up postgres redis failed (see $CTR_DIR/compose.log)"
wait_pg() {
    for _ in $(seq 1 60); do
        pg_ready && return 0
        sleep 1
    done
    logs_and_fail "PostgreSQL not ready within 60 s"
}
wait_pg
compose up -d || logs_and_fail "podman-compose up failed (see $CTR_DIR/compose.log)"

wait_cluster() {
    local n
    ctr_wait_http "$BASE/readyz" 60 || logs_and_fail "$BASE/readyz (nginx) did not answer within 60 s"
    for n in 1 2 3; do
        for _ in $(seq 1 30); do
            timeout 30 podman healthcheck run "${PROJECT}_node${n}_1" >/dev/null 2>&1 && continue 2
            sleep 1
        done
        logs_and_fail "node$n: the image's HEALTHCHECK is not healthy within 30 s"
    done
}
wait_cluster
ctr_say "nginx ready, 3 nodes healthy"

ctr_client smoke "$BASE" || logs_and_fail "smoke through nginx (signup, board, WebSocket event)"
node_url() {
    local ip
    ip="$(podman inspect --format "{{(index .NetworkSettings.Networks \"$NETWORK\").IPAddress}}" "${PROJECT}_node$1_1")"
    echo "http://$ip:8080"
}
ctr_client smoke "$(node_url 1)" "$(node_url 2)" || logs_and_fail "smoke across nodes (subscribed on node1, written on node2)"

state="$CTR_DIR/compose-writes.jsonl"
ctr_start_writer "$BASE" "$state" 90 "$CTR_DIR/compose-writer.out" logs_and_fail
ctr_say "podman-compose stop node1 node2 node3 (SIGTERM, one after another) while writing"
compose stop -t 30 node1 node2 node3 || logs_and_fail "podman-compose stop failed"
wait "$CTR_WRITER" || { cat "$CTR_DIR/compose-writer.out" >&2; logs_and_fail "the writer failed"; }
ctr_say "writer: $(tail -n1 "$CTR_DIR/compose-writer.out")"
for n in 1 2 3; do
    c="${PROJECT}_node${n}_1"
    code="$(podman inspect --format '{{.State.ExitCode}}' "$c")"
    [ "$code" = 0 ] || logs_and_fail "node$n exited $code after SIGTERM, not 0"
    grep -q "SIGTERM received" <(podman logs "$c" 2>&1) || logs_and_fail "node$n did not log the SIGTERM"
done

ctr_say "podman-compose stop, then start"
compose stop -t 30 || logs_and_fail "podman-compose stop failed"
compose start postgres redis || logs_and_fail "podman-compose start postgres redis failed"
wait_pg
compose start node1 node2 node3 nginx || logs_and_fail "podman-compose start failed"
wait_cluster
ctr_client verify "$BASE" "$state" || logs_and_fail "acknowledged writes lost across the graceful stop"

# deploy/compose/single-node.yml: up, the smoke check, and its volume in use.
ctr_say "single-node.yml: podman-compose up, smoke"
compose stop -t 30 || logs_and_fail "podman-compose stop failed"
single() { timeout 180 podman-compose -p "$SINGLE" -f deploy/compose/single-node.yml "$@" >>"$CTR_DIR/compose.log" 2>&1; }
single up -d || logs_and_fail "podman-compose up (single-node.yml) failed (see $CTR_DIR/compose.log)"
ctr_wait_http "$BASE/healthz" 30 || ctr_fail "single-node.yml: $BASE/healthz did not answer within 30 s"
ctr_client smoke "$BASE" || ctr_fail "single-node.yml: smoke"
mounts="$(podman inspect --format '{{range .Mounts}}{{.Name}}:{{.Destination}} {{end}}' "${SINGLE}_corkboard_1")"
[[ "$mounts" == *"${SINGLE}_corkboard-data:/data"* ]] || ctr_fail "single-node.yml: /data is not the named volume ($mounts)"

ctr_say "passed in $((SECONDS - start)) s"
