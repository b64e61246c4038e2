# syntax=docker/dockerfile:1
# Corkboard's container image: the web UI (Next.js static export) and the
# release binary are built in the official Node and Rust images, then copied
# into a small Debian runtime that runs as an unprivileged user.
#
#   docker build -t corkboard:0.1.0 .
#   docker run -p 8080:8080 -v corkboard-data:/data corkboard:0.1.0
#
# docs/operations.md ("Container image") explains each choice and the sizes.
# Every base image is a build argument so the same file builds where no
# registry is reachable: scripts/image-test.sh builds --target runtime-prebuilt
# with a Debian base made with debootstrap and the local binary instead.

ARG NODE_IMAGE=node:20.20.2-bookworm-slim
ARG RUST_IMAGE=rust:1.95.0-slim-bookworm
ARG RUNTIME_IMAGE=debian:bookworm-20250520-slim
# An image holding a binary built elsewhere at /corkboard, for the
# runtime-prebuilt target only (the default target builds its own).
ARG BINARY_IMAGE=scratch

# --- The web UI: web/out, embedded into the binary at compile time.
FROM ${NODE_IMAGE} AS web
WORKDIR /src/web
COPY web/package.json web/package-lock.json ./
# The lock file has no entries for other platforms' optional binaries
# (@next/swc-darwin-*, ...); when `npm ci` calls it out of sync, `npm install
# --no-save` installs the same locked versions (see the Makefile).
RUN npm ci --no-audit --no-fund || npm install --no-audit --no-fund --no-save
COPY web/ ./
RUN npm run build

# --- The release binary. Its line tables (debug = 1 in the release profile,
# for profiling) are stripped: 152 MB -> 26 MB; backtraces keep function names.
FROM ${RUST_IMAGE} AS build
# `corkboard --version` names this commit (the build context has no .git):
# docker build --build-arg CORKBOARD_COMMIT="$(git rev-parse --short=7 HEAD)" .
ARG CORKBOARD_COMMIT=unknown
WORKDIR /src
COPY Cargo.toml Cargo.lock ./
COPY crates/ crates/
COPY vendor/ vendor/
COPY proto/ proto/
COPY --from=web /src/web/out web/out
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/src/target \
    cargo build --release --locked --bin corkboard \
    && strip --strip-debug -o /corkboard target/release/corkboard

# --- The runtime: glibc and a shell (for the health check), nothing else.
FROM ${RUNTIME_IMAGE} AS runtime-base
RUN groupadd --system --gid 10001 corkboard \
    && useradd --system --uid 10001 --gid corkboard --no-create-home \
       --home-dir /data --shell /usr/sbin/nologin corkboard \
    && mkdir /data && chown corkboard:corkboard /data
# The same as --listen 0.0.0.0:8080 --data /data; a flag given to `docker run`
# overrides either. The health check reads the port from CORKBOARD_LISTEN.
ENV CORKBOARD_LISTEN=0.0.0.0:8080 \
    CORKBOARD_DATA=/data
VOLUME /data
EXPOSE 8080
USER corkboard:corkboard
# SIGTERM: stop accepting, drain for up to --drain-timeout (10 s), flush,
# exit 0. Give `docker stop` more than that (-t 30; compose: stop_grace_period).
STOPSIGNAL SIGTERM
# GET /healthz over bash's /dev/tcp: no curl in the image.
HEALTHCHECK --interval=10s --timeout=3s --start-period=10s --retries=3 \
    CMD ["/bin/bash", "-c", "exec 3<>/dev/tcp/127.0.0.1/${CORKBOARD_LISTEN##*:} && printf 'GET /healthz HTTP/1.1\\r\\nHost: localhost\\r\\nConnection: close\\r\\n\\r\\n' >&3 && read -r -t 2 _ status _ <&3 && [ \"$status\" = 200 ]"]
ENTRYPOINT ["/usr/local/bin/corkboard"]

# --- The runtime with a binary built elsewhere: BINARY_IMAGE holds it at
# /corkboard (scripts/image-test.sh: target/release/corkboard). Build with
# --target runtime-prebuilt; the web and build stages are then skipped.
FROM ${BINARY_IMAGE} AS prebuilt
FROM runtime-base AS runtime-prebuilt
COPY --from=prebuilt /corkboard /usr/local/bin/corkboard

# --- The image: the runtime with the binary of the build stage (the default target).
FROM runtime-base AS runtime
COPY --from=build /corkboard /usr/local/bin/corkboard
