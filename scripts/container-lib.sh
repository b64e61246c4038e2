# shellcheck shell=bash
# Shared by scripts/image-test.sh and scripts/compose-test.sh (sourced, not run):
# podman set up for this machine, the local Debian base image, and Corkboard's
# runtime image built from the canonical Dockerfile with that base and the
# locally built binary. docs/operations.md ("Container image") explains why.
#
# Settings (environment):
#   CONTAINER_TEST_MIRROR      Debian mirror for debootstrap (default: the
#                              deb.debian.org-style URI in /etc/apt/sources.list*)
#   CONTAINER_TEST_REBUILD=1   make the base image again even if it exists
#   CONTAINER_TEST_DIR         scratch files (default target/container-test)
#   CONTAINER_TEST_BINARY      the corkboard binary to put in the image (default
#                              target/release/corkboard, built by `make build`
#                              when missing or older than its sources)

CTR_DIR="${CONTAINER_TEST_DIR:-$PWD/target/container-test}"
CTR_BASE=localhost/corkboard-test/debian:bookworm
CTR_BINARY=localhost/corkboard-test/binary:latest
CTR_IMAGE=localhost/corkboard-test/corkboard:latest

ctr_say() { echo "${CTR_NAME:-container}: $*"; }
ctr_fail() {
    echo "${CTR_NAME:-container}: FAILED: $*" >&2
    exit 1
}

# Installs Debian packages when missing (we run as root here). Each argument
# is PACKAGE (present when the command of that name is) or FILE=PACKAGE.
ctr_install() {
    local missing=()
    local arg
    for arg in "$@"; do
        if [ "${arg#*=}" != "$arg" ]; then
            [ -e "${arg%%=*}" ] || missing+=("${arg#*=}")
        else
            command -v "$arg" >/dev/null 2>&1 || missing+=("$arg")
        fi
    done
    [ ${#missing[@]} = 0 ] && return 0
    [ "$(id -u)" = 0 ] || ctr_fail "missing ${missing[*]}; install them: apt-get install ${missing[*]}"
    ctr_say "installing ${missing[*]} (Debian packages)"
    local apt=(apt-get -o DPkg::Lock::Timeout=120 install -y -q --no-install-recommends)
    DEBIAN_FRONTEND=noninteractive timeout 600 "${apt[@]}" "${missing[@]}" >/dev/null \
        || { timeout 300 apt-get update -q >/dev/null && DEBIAN_FRONTEND=noninteractive timeout 600 "${apt[@]}" "${missing[@]}" >/dev/null; } \
        || ctr_fail "apt-get install ${missing[*]} failed"
}

# podman on this machine: runc (crun fails on its hybrid cgroups) and no
# rlimits (setting them is not permitted here): a containers.conf of our own.
ctr_setup() {
    ctr_install podman runc debootstrap /usr/bin/strip=binutils "$@"
    mkdir -p "$CTR_DIR"
    cat >"$CTR_DIR/containers.conf" <<'EOF'
[containers]
default_ulimits = []

[engine]
runtime = "runc"
EOF
    export CONTAINERS_CONF="$CTR_DIR/containers.conf"
    timeout 30 podman info >/dev/null || ctr_fail "podman info failed"
}

ctr_mirror() {
    if [ -n "${CONTAINER_TEST_MIRROR:-}" ]; then
        echo "$CONTAINER_TEST_MIRROR"
        return
    fi
    # deb822 "URIs: http://…/debian" or one-line "deb http://…/debian bookworm main".
    { cat /etc/apt/sources.list.d/*.sources /etc/apt/sources.list.d/*.list /etc/apt/sources.list 2>/dev/null || true; } \
        | sed -nE 's#^(URIs:|deb)[[:space:]]+(https?://[^[:space:]]+/debian)/?([[:space:]].*)?$#\2#p' | sed -n 1p
}

# The base image: debootstrap (minbase) from the machine's Debian mirror, with
# documentation, man pages, locales and apt lists removed as in Debian's slim
# images, imported with `podman import`. Made once; reused while it exists.
ctr_base_image() {
    if [ "${CONTAINER_TEST_REBUILD:-0}" != 1 ] && podman image exists "$CTR_BASE"; then
        ctr_say "base image $CTR_BASE exists (CONTAINER_TEST_REBUILD=1 makes it again)"
        return 0
    fi
    local mirror suite rootfs
    mirror="$(ctr_mirror)"
    [ -n "$mirror" ] || ctr_fail "no Debian mirror found in /etc/apt/sources.list*; set CONTAINER_TEST_MIRROR"
    suite="$(. /etc/os-release && echo "${VERSION_CODENAME:-bookworm}")"
    rootfs="$CTR_DIR/rootfs"
    rm -rf "$rootfs"
    ctr_say "debootstrap --variant=minbase $suite from $mirror"
    timeout 900 debootstrap --variant=minbase "$suite" "$rootfs" "$mirror" >"$CTR_DIR/debootstrap.log" 2>&1 \
        || ctr_fail "debootstrap failed (see $CTR_DIR/debootstrap.log)"
    rm -rf "$rootfs"/var/cache/apt/*.bin "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/lib/apt/lists/* \
        "$rootfs"/usr/share/doc/* "$rootfs"/usr/share/man/* "$rootfs"/usr/share/info/* "$rootfs"/usr/share/locale/*
    tar -C "$rootfs" -c . | timeout 300 podman import -q - "$CTR_BASE" >/dev/null \
        || ctr_fail "podman import failed"
    rm -rf "$rootfs"
    ctr_say "base image $CTR_BASE made"
}

# target/release/corkboard (built with `make build` when missing or older than
# its sources, as scripts/cluster does), stripped of line tables as the
# Dockerfile's build stage does, in an image from scratch: BINARY_IMAGE.
ctr_binary_image() {
    local bin="${CONTAINER_TEST_BINARY:-target/release/corkboard}"
    if [ -n "${CONTAINER_TEST_BINARY:-}" ]; then
        [ -x "$bin" ] || ctr_fail "CONTAINER_TEST_BINARY=$bin is not an executable"
    elif [ ! -x "$bin" ] || [ -n "$(find crates/corkboard/src web/src -newer "$bin" -print -quit 2>/dev/null)" ]; then
        ctr_say "building the release binary (make build)"
        make build >"$CTR_DIR/build.log" 2>&1 || ctr_fail "make build failed (see $CTR_DIR/build.log)"
    fi
    local ctx="$CTR_DIR/binary"
    rm -rf "$ctx" && mkdir -p "$ctx"
    # As the Dockerfile's build stage does: without line tables.
    strip --strip-debug -o "$ctx/corkboard" "$bin" || ctr_fail "strip $bin failed"
    printf 'FROM scratch\nCOPY corkboard /corkboard\n' >"$ctx/Containerfile"
    timeout 300 podman build -q -f "$ctx/Containerfile" -t "$CTR_BINARY" "$ctx" >/dev/null \
        || ctr_fail "podman build of $CTR_BINARY failed"
    rm -rf "$ctx"
}

# The canonical Dockerfile's runtime stage with the two base images swapped
# (build arguments only). --format docker keeps HEALTHCHECK (OCI drops it).
ctr_runtime_image() {
    ctr_base_image
    ctr_binary_image
    ctr_say "podman build --target runtime-prebuilt (RUNTIME_IMAGE=$CTR_BASE, BINARY_IMAGE=$CTR_BINARY)"
    timeout 600 podman build -q --format docker --target runtime-prebuilt \
        --build-arg "RUNTIME_IMAGE=$CTR_BASE" --build-arg "BINARY_IMAGE=$CTR_BINARY" \
        -t "$CTR_IMAGE" . >"$CTR_DIR/image-build.log" 2>&1 \
        || ctr_fail "podman build of the Dockerfile failed (see $CTR_DIR/image-build.log)"
    ctr_say "runtime image $CTR_IMAGE: $(podman image inspect --format '{{.Size}}' "$CTR_IMAGE") bytes" \
        "(stripped binary $(podman image inspect --format '{{.Size}}' "$CTR_BINARY") bytes, base $(podman image inspect --format '{{.Size}}' "$CTR_BASE") bytes)"
}

# Waits until URL answers 200, at most SECONDS.
ctr_wait_http() {
    local url="$1" seconds="$2"
    for _ in $(seq 1 $((seconds * 5))); do
        curl -sf -m 2 "$url" >/dev/null 2>&1 && return 0
        sleep 0.2
    done
    return 1
}

# A free TCP port on 127.0.0.1, to publish a container's port on.
ctr_free_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# The Python client (websockets from the gRPC client's venv).
ctr_client_setup() {
    scripts/grpc-client-deps.sh >/dev/null || ctr_fail "scripts/grpc-client-deps.sh failed"
    CTR_PY=crates/corkboard/tests/grpc-client/.venv/bin/python
}

ctr_client() {
    timeout 120 "$CTR_PY" scripts/container-client.py "$@"
}

# Starts the writer client against BASE for SECONDS in the background (its
# pid in CTR_WRITER, its output in OUT, one line per acknowledged note in
# STATE after the board's), and waits until it has 100 acknowledged notes;
# after 30 s calls FAIL (the caller's failure function) with the reason.
ctr_start_writer() {
    local base="$1" state="$2" seconds="$3" out="$4" fail="$5" acked=0
    rm -f "$state"
    ctr_client write "$base" "$state" "$seconds" >"$out" 2>&1 &
    # shellcheck disable=SC2034 # read by the scripts that source this file
    CTR_WRITER=$!
    for _ in $(seq 1 150); do
        [ -f "$state" ] && acked=$(($(wc -l <"$state") - 1))
        [ "$acked" -ge 100 ] && return 0
        sleep 0.2
    done
    "$fail" "the writer acknowledged fewer than 100 notes in 30 s"
}
