#!/usr/bin/env bash
# Fuzz smoke run: builds the cargo-fuzz workspace in fuzz/ and runs every target for a bounded
# time from its committed seed corpus (fuzz/corpus/<target>/, never written to: new inputs go
# to a scratch directory). A crash, a failed property or a leak fails the run; libFuzzer saves
# the input under fuzz/artifacts/<target>/ to replay with `cargo fuzz run <target> <file>`.
#
#   FUZZ_SECONDS  seconds per target (default 20)
#
# Built without a sanitizer, cargo-fuzz passes rustc only stable flags (sancov passes, --cfg
# fuzzing), so the default stable toolchain is enough: no nightly, no RUSTC_BOOTSTRAP (setting
# it would also make cargo rebuild every dependency). The fuzz workspace has its own target/.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds="${FUZZ_SECONDS:-20}"

if ! command -v cargo-fuzz >/dev/null; then
  cargo install --locked cargo-fuzz@0.13.2
fi

targets=$(cargo fuzz list)
start=$SECONDS
# No sanitizer: the code under test is safe Rust, where ASan finds nothing and halves the
# speed; overflow checks and debug assertions stay on (cargo-fuzz's default).
cargo fuzz build --sanitizer none
echo "fuzz build: $((SECONDS - start)) s"

scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
for target in $targets; do
  mkdir -p "$scratch/$target"
  echo "== fuzz $target (${seconds} s)"
  log="$scratch/$target.log"
  if ! cargo fuzz run --sanitizer none "$target" "$scratch/$target" "fuzz/corpus/$target" -- \
    -max_total_time="$seconds" -max_len=4096 -print_final_stats=1 >"$log" 2>&1; then
    tail -n 60 "$log"
    echo "fuzz target $target failed"
    exit 1
  fi
  grep -E '^(stat::number_of_executed_units|stat::new_units_added)|DONE' "$log" || true
done
