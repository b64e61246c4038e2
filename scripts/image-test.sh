#!/usr/bin/env bash
# Builds Corkboard's container image from the canonical Dockerfile on this
# machine (no registry: the runtime stage's base is a Debian made with
# debootstrap, the binary is target/release/corkboard; see
# scripts/container-lib.sh) and checks it through the container's port:
#  1. /healthz answers, the image's HEALTHCHECK reports healthy, the server
#     runs as the unprivileged user (uid 10001);
#  2. sign up, create a board, a WebSocket subscription receives the
#     note.created event of a note created over REST;
#  3. graceful stop: while 4 writers create notes, `podman stop` (SIGTERM)
#     stops the container; it must exit 0, and a new container on the same
#     /data volume must have every acknowledged note.
# Installs podman, runc and debootstrap from Debian's packages when missing.
# Re-runnable: removes its container and volume on exit. Every wait is bounded.
set -euo pipefail
cd "$(dirname "$0")/.."
CTR_NAME=image-test
# shellcheck source=scripts/container-lib.sh
. scripts/container-lib.sh

NAME=corkboard-image-test
VOLUME=corkboard-image-test-data
start=$SECONDS

cleanup() {
    timeout 60 podman rm -f -v -t 0 "$NAME" >/dev/null 2>&1 || true
    podman volume rm -f "$VOLUME" >/dev/null 2>&1 || true
}
trap cleanup EXIT

# shellcheck disable=SC2119 # no extra packages
ctr_setup
ctr_client_setup
ctr_runtime_image
cleanup

PORT="$(ctr_free_port)"
BASE="http://127.0.0.1:$PORT"
# The image as it is (listening on 0.0.0.0:8080), published on a free loopback port.
run_container() {
    # podman's stderr to a file: without systemd it complains that it cannot
    # schedule the health check timer (the test runs the check itself).
    timeout 60 podman run -d --name "$NAME" -p "127.0.0.1:$PORT:8080" \
        -v "$VOLUME:/data" "$CTR_IMAGE" >/dev/null 2>>"$CTR_DIR/podman.log" || ctr_fail "podman run failed (see $CTR_DIR/podman.log)"
    ctr_wait_http "$BASE/healthz" 30 || {
        podman logs "$NAME" 2>&1 | tail -20 >&2
        ctr_fail "$BASE/healthz did not answer within 30 s"
    }
}

ctr_say "starting the container on $BASE"
run_container
timeout 30 podman healthcheck run "$NAME" >/dev/null || ctr_fail "the image's HEALTHCHECK reports unhealthy"
uid="$(timeout 30 podman exec "$NAME" id -u)"
[ "$uid" = 10001 ] || ctr_fail "the server runs as uid $uid, not 10001"
ctr_say "healthz ok, HEALTHCHECK healthy, uid $uid"

ctr_client smoke "$BASE" || ctr_fail "smoke (signup, board, WebSocket event)"

state="$CTR_DIR/image-writes.jsonl"
ctr_start_writer "$BASE" "$state" 60 "$CTR_DIR/image-writer.out" ctr_fail
ctr_say "podman stop (SIGTERM) while writing"
timeout 60 podman stop -t 30 "$NAME" >/dev/null 2>>"$CTR_DIR/podman.log" || ctr_fail "podman stop failed (see $CTR_DIR/podman.log)"
wait "$CTR_WRITER" || { cat "$CTR_DIR/image-writer.out" >&2; ctr_fail "the writer failed"; }
ctr_say "writer: $(tail -n1 "$CTR_DIR/image-writer.out")"
code="$(podman inspect --format '{{.State.ExitCode}}' "$NAME")"
[ "$code" = 0 ] || { podman logs "$NAME" 2>&1 | tail -20 >&2; ctr_fail "the server exited $code after SIGTERM, not 0"; }
grep -q "SIGTERM received" <(podman logs "$NAME" 2>&1) || ctr_fail "the server did not log the SIGTERM"

ctr_say "a new container on the same volume"
podman rm "$NAME" >/dev/null 2>>"$CTR_DIR/podman.log"
run_container
ctr_client verify "$BASE" "$state" || ctr_fail "acknowledged writes lost across the graceful stop"

ctr_say "passed in $((SECONDS - start)) s"
