#!/usr/bin/env bash
# A short run of every fuzz target in fuzz/ (cargo-fuzz, libFuzzer), seeded
# from the committed corpora in fuzz/corpus/: fails on any crash, panic,
# broken invariant or hang. `make test` runs it (target `fuzz-smoke`).
#
# - needs the nightly toolchain (`cargo +nightly`): without it this fails when
#   CI is set, and says SKIPPED loudly otherwise;
# - installs cargo-fuzz (pinned, --locked) when it is missing or another version;
# - new inputs found go to a temporary directory, never into fuzz/corpus/
#   (the long runs and `cargo fuzz cmin` curate those: docs/fuzzing.md);
# - a crashing input is kept in fuzz/artifacts/TARGET/ (reproduce it with
#   `cargo +nightly fuzz run TARGET fuzz/artifacts/TARGET/crash-…`).
#
#   FUZZ_SECONDS=15    time per target
#   FUZZ_TARGETS="a b" only these targets
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT="$PWD"
CARGO_FUZZ_VERSION=0.13.2
SECONDS_PER_TARGET="${FUZZ_SECONDS:-15}"

if ! cargo +nightly --version >/dev/null 2>&1; then
  if [ -n "${CI:-}" ]; then
    echo "fuzz-smoke: FAILED: the nightly toolchain is missing (rustup toolchain install nightly)" >&2
    exit 1
  fi
  echo "################################################################" >&2
  echo "## fuzz-smoke: SKIPPED: no nightly toolchain (cargo +nightly).  ##" >&2
  echo "## rustup toolchain install nightly, then make fuzz-smoke.     ##" >&2
  echo "################################################################" >&2
  exit 0
fi

if [ "$(cargo fuzz --version 2>/dev/null | awk '{print $2}')" != "$CARGO_FUZZ_VERSION" ]; then
  echo "fuzz-smoke: installing cargo-fuzz $CARGO_FUZZ_VERSION" >&2
  cargo install cargo-fuzz --version "$CARGO_FUZZ_VERSION" --locked
fi

cd "$ROOT/fuzz"
targets="${FUZZ_TARGETS:-$(cargo +nightly fuzz list)}"
cargo +nightly fuzz build
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
total=0
for t in $targets; do
  mkdir -p "$work/$t" "corpus/$t"
  log="$work/$t.log"
  # text_update: yrs reserves room for a block count read from the update before
  # reading the blocks (`try_reserve`), so a 40-byte update can ask for tens of GB.
  # A reservation that fails is a refused update (malloc returns null, try_reserve
  # reports it); one that succeeds is untouched virtual memory. ASan and libFuzzer's
  # malloc limit would call either a crash: let malloc fail and keep the RSS limit.
  # See docs/fuzzing.md, "Found".
  opts=() asan=""
  if [ "$t" = text_update ]; then opts=(-malloc_limit_mb=65536) asan=allocator_may_return_null=1; fi
  if ! ASAN_OPTIONS="$asan" cargo +nightly fuzz run "$t" "$work/$t" "corpus/$t" -- \
      -max_total_time="$SECONDS_PER_TARGET" -timeout=10 -print_final_stats=1 "${opts[@]}" >"$log" 2>&1; then
    tail -n 60 "$log" >&2
    echo "fuzz-smoke: FAILED: $t crashed or broke an invariant; the input is in fuzz/artifacts/$t/" >&2
    exit 1
  fi
  runs="$(sed -n 's/^Done \([0-9]*\) runs.*/\1/p' "$log" | tail -n 1)"
  echo "fuzz-smoke: $t: ${runs:-?} runs in ${SECONDS_PER_TARGET}s, no crash"
  total=$((total + ${runs:-0}))
done
echo "fuzz-smoke: $(wc -w <<<"$targets") targets, $total runs, no crash"
