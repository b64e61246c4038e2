# Corkboard: `make run` starts the server, `make test` runs every test and lint.
SHELL := /bin/bash
CARGO ?= cargo

.PHONY: run build test test-deps lint fmt bench conformance clean spec-check

## Build everything needed and start the server on the embedded default (SQLite in ./data).
run: build
	./target/release/corkboard $(ARGS)

build:
	$(CARGO) build --release --locked --bin corkboard

## Every test the project has, lints included.
test: lint test-deps spec-check
	$(CARGO) test --workspace --locked

## npm packages the tests drive (the independent EventSource client of tests/sse_eventsource.rs).
test-deps:
	npm ci --prefix crates/corkboard/tests/sse-client --no-audit --no-fund

lint:
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --workspace --all-targets --locked -- -D warnings

fmt:
	$(CARGO) fmt --all

## Benchmarks (bounded in time, loopback only); writes docs/benchmarks.md.
bench:
	scripts/bench.sh

## WebSocket conformance (Autobahn|Testsuite against --ws-echo); writes docs/conformance.md.
conformance:
	scripts/conformance.sh

clean:
	$(CARGO) clean

## Validates docs/asyncapi.yaml (AsyncAPI 3.0) and docs/openapi.yaml (OpenAPI 3.1);
## installs the pinned validators first when node_modules is missing or older than the lockfile.
spec-check:
	@if [ ! -d tools/spec-check/node_modules ] || [ tools/spec-check/package-lock.json -nt tools/spec-check/node_modules ]; then \
		echo "npm ci --prefix tools/spec-check --no-audit --no-fund"; \
		npm ci --prefix tools/spec-check --no-audit --no-fund && touch tools/spec-check/node_modules; \
	fi
	node tools/spec-check/check.mjs
