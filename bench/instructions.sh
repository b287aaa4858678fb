#!/usr/bin/env bash
# Instructions per signed listing call of one or more `xbak` binaries, counted by valgrind's
# callgrind: for machines without hardware counters (`perf stat` prints none), where CPU time per
# request moves several percent between runs of one binary. The count of one binary repeats to
# ~0.1 % (bench/results.md, 2026-12-06T03:40Z). Under valgrind, SHA-1 and SHA-256 run in software
# (no SHA-NI), so signatures weigh more in the counts than on the machine: compare binaries by
# it, not the parts of one request.
#
#   bench/instructions.sh DATA_DIR BIN [BIN…] [-- loadgen args…]
#   bench/instructions.sh target/bench/scale-sqlite-1m /tmp/xbak-main target/release/xbak -- --instances 10000 --vary-window
#
# Per binary: `xbak serve` under callgrind on DATA_DIR (nonce claims emptied first), WARMUP
# seconds of load, counters zeroed, SECS seconds of load, counters dumped; prints instructions per
# request. Environment: WARMUP=5 SECS=20 CONNS=4 (loadgen: target/release/xbak-loadgen); KEEP=1
# keeps the callgrind files in BENCH_DIR (for `callgrind_annotate`), FRESH=1 starts each binary on a
# new nonces file instead of an emptied one. Nothing is appended to bench/results.md. Everything
# listens on and targets 127.0.0.1 only.
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=bench/lib.sh
. bench/lib.sh
WARMUP=${WARMUP:-5}
SECS=${SECS:-20}
CONNS=${CONNS:-4}
DIR=$1
shift
BINS=()
while [[ $# -gt 0 && $1 != -- ]]; do
    BINS+=("$1")
    shift
done
[[ ${1:-} == -- ]] && shift
command -v valgrind >/dev/null || { echo "valgrind is needed (apt-get install valgrind)" >&2; exit 1; }

for bin in "${BINS[@]}"; do
    forget_nonces "$DIR"
    if [[ -n ${FRESH:-} ]]; then rm -f "$DIR"/catalog-nonces.db*; fi
    port=$(free_port)
    out=$BENCH_DIR/callgrind.$port
    RUST_LOG=warn valgrind --tool=callgrind --callgrind-out-file="$out" \
        "$bin" --data-dir "$DIR" serve --listen "127.0.0.1:$port" --no-workers --no-metrics \
        >"$BENCH_DIR/instructions-serve.log" 2>&1 &
    pid=$!
    STARTED+=("$pid")
    wait_port "$port"
    args=(--addr "127.0.0.1:$port" --key-file "$DIR/bench-key.json" --connections "$CONNS" --threads 1 "$@")
    "$LOADGEN" signed "${args[@]}" --seconds "$WARMUP" >/dev/null
    callgrind_control --zero "$pid" >/dev/null 2>&1
    load=$("$LOADGEN" signed "${args[@]}" --seconds "$SECS")
    callgrind_control --dump "$pid" >/dev/null 2>&1
    stop "$pid"
    requests=$(field requests "$load")
    [[ $(field errors "$load") == 0 ]] || { echo "errors under load: $load" >&2; exit 1; }
    # The dump after zeroing is the `.1` part; its `totals:` line counts every thread.
    instructions=$(sed -n 's/^totals: \([0-9]*\).*/\1/p' "$out.1")
    [[ -n ${KEEP:-} ]] || rm -f "$out" "$out".*
    echo "$bin: requests=$requests instructions=$instructions per_request=$((instructions / requests))"
done
