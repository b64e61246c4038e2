# Corkboard: `make run` starts the server, `make test` runs every test and lint.
SHELL := /bin/bash
CARGO ?= cargo

.PHONY: run build static test test-deps services lint fmt bench bench-web conformance clean web web-test spec-check e2e cluster fuzz-smoke image-test compose-test

## Build everything needed and start the server on the embedded default (SQLite in ./data).
run: build
	./target/release/corkboard $(ARGS)

build: web
	$(CARGO) build --release --locked --bin corkboard

## One static binary (musl libc): target/x86_64-unknown-linux-musl/release/corkboard. Needs
## musl-gcc (Debian: musl-tools); see "A static binary" in docs/operations.md.
static: web
	rustup target add x86_64-unknown-linux-musl
	$(CARGO) build --release --locked --target x86_64-unknown-linux-musl --bin corkboard

## Every test the project has, lints included (PostgreSQL and Redis are started first if
## they are down, nginx installed if missing: the cluster tests use all three), then the
## container image and compose tests (podman; about 4 min on a machine with no image yet).
test: lint test-deps spec-check web-test services
	$(CARGO) test --workspace --locked
	scripts/e2e.sh
	$(MAKE) fuzz-smoke
	$(MAKE) image-test
	$(MAKE) compose-test

## Every fuzz target of fuzz/ (cargo-fuzz, nightly) for 15 s each (FUZZ_SECONDS), seeded from
## the committed corpora; fails on a crash. Installs cargo-fuzz when missing. See docs/fuzzing.md.
fuzz-smoke:
	scripts/fuzz-smoke.sh

## Services the tests use on this machine: PostgreSQL and Redis (started if down), nginx
## (installed from Debian's packages if missing).
services:
	scripts/ensure-services.sh

## A 3-node cluster on this machine (PostgreSQL + Redis + nginx on 127.0.0.1:8080); see
## scripts/cluster --help and docs/operations.md. Ctrl-C stops it.
cluster:
	scripts/cluster

## The container image of the Dockerfile, built and run here with podman: its runtime stage on a
## Debian base made with debootstrap and the local release binary (no registry is reachable).
## Checks /healthz, HEALTHCHECK, signup, a board, a WebSocket event, and that a graceful stop
## loses no acknowledged write. Installs podman, runc, debootstrap when missing. ~15 s warm.
image-test:
	scripts/image-test.sh

## deploy/compose/cluster.yml (3 nodes, PostgreSQL, Redis, nginx) run with podman-compose, with
## local stand-in images; the same checks through nginx, across nodes, and a rolling stop.
## Installs podman-compose when missing. See docs/operations.md ("Compose"). ~70 s warm.
compose-test:
	scripts/compose-test.sh

## Independent clients the tests drive: the npm EventSource of tests/sse_eventsource.rs, and
## Python grpcio (a venv plus stubs from proto/) for tests/grpc_python.rs and examples/grpc_client.py.
test-deps:
	npm ci --prefix crates/corkboard/tests/sse-client --no-audit --no-fund
	scripts/grpc-client-deps.sh

lint:
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --workspace --all-targets --locked -- -D warnings

fmt:
	$(CARGO) fmt --all

## Benchmarks against Corkboard and the peer relays in bench/peers (Node ws, Socket.IO,
## installed from npm): bounded in time (~10 min; BENCH_QUICK=1 ≤ 3 min), loopback only.
## Writes docs/benchmarks.md and its charts docs/bench/*.svg.
bench:
	scripts/bench.sh

## Web UI numbers (first-load JS, remote change → note shown and drag frame times with
## 500 notes) in chromium against the real binary; prints a JSON line. See scripts/bench-web.sh.
bench-web:
	scripts/bench-web.sh

## WebSocket conformance (Autobahn|Testsuite against --ws-echo); writes docs/conformance.md.
conformance:
	scripts/conformance.sh

## The web UI (Next.js static export into web/out, which the binary serves).
web: web/node_modules/.package-lock.json
	cd web && npm run build

## The web UI's checks: types, lint (clean), Vitest.
web-test: web/node_modules/.package-lock.json
	cd web && npm run typecheck && npm run lint && npm test

# npm writes node_modules/.package-lock.json on install: reinstall when package-lock.json is newer.
# The registry mirror here lacks the non-Linux optional binaries (@next/swc-darwin-*, …), so the
# lock file has no entries for them and `npm ci` calls it out of sync; `npm install --no-save`
# then installs exactly the locked versions without rewriting the lock file.
web/node_modules/.package-lock.json: web/package-lock.json web/package.json
	cd web && (npm ci --no-audit --no-fund || npm install --no-audit --no-fund --no-save)
	@touch $@

clean:
	$(CARGO) clean

## End-to-end browser tests of the web UI (playwright-core + Debian's chromium) against the
## real binary on a free loopback port; refreshes docs/screenshots/*.png. See scripts/e2e.sh.
e2e:
	scripts/e2e.sh

## Validates docs/asyncapi.yaml (AsyncAPI 3.0) and docs/openapi.yaml (OpenAPI 3.1);
## installs the pinned validators first when node_modules is missing or older than the lockfile.
spec-check:
	@if [ ! -d tools/spec-check/node_modules ] || [ tools/spec-check/package-lock.json -nt tools/spec-check/node_modules ]; then \
		echo "npm ci --prefix tools/spec-check --no-audit --no-fund"; \
		npm ci --prefix tools/spec-check --no-audit --no-fund && touch tools/spec-check/node_modules; \
	fi
	node tools/spec-check/check.mjs
