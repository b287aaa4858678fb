#!/usr/bin/env bash
# Alternated A/B of two `xbak` binaries on one seeded data dir: for each round, a fresh
# `xbak serve` of A, then of B, each with the nonce claims emptied, WARMUP seconds of load, then
# SECS seconds measured. Prints one line per run (rps, p99, server CPU per request) and the medians.
# Nothing is appended to bench/results.md: the entry says what the pairs compared.
#
#   bench/ab.sh BIN_A BIN_B DATA_DIR [loadgen args…]
#   bench/ab.sh /tmp/xbak-main target/release/xbak target/bench/scale-sqlite-1m --instances 10000 --vary-window
#
# Environment: ROUNDS=4 SECS=10 WARMUP=3 CONNS=32 (loadgen: target/release/xbak-loadgen);
# CATALOG=postgres://…/xbak_bench_1m serves that PostgreSQL catalog instead of DATA_DIR's SQLite
# one (DATA_DIR still holds the key), its claims emptied first and the CPU of the backends serving
# it counted as the server's.
# Everything listens on and targets 127.0.0.1 only.
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=bench/lib.sh
. bench/lib.sh
ROUNDS=${ROUNDS:-4}
SECS=${SECS:-10}
WARMUP=${WARMUP:-3}
CONNS=${CONNS:-32}
A=$1 B=$2 DIR=$3
shift 3

# run BIN [loadgen args…]: one measured run; sets RPS_NOW, P99_NOW, CPU_NOW (server µs/request).
# Not run in a subshell: the server it starts must stay in STARTED for the exit trap.
run() {
    local bin=$1 port pid t0 t1 out requests
    shift
    local catalog=() pids
    if [[ -n ${CATALOG:-} ]]; then
        catalog=(--catalog "$CATALOG")
        fresh_pg_catalog "$DIR" "$CATALOG"
    else
        forget_nonces "$DIR"
        warm_catalog "$DIR"
    fi
    port=$(free_port)
    RUST_LOG=warn "$bin" --data-dir "$DIR" "${catalog[@]}" serve --listen "127.0.0.1:$port" --no-workers --no-metrics \
        >"$BENCH_DIR/ab-serve.log" 2>&1 &
    pid=$!
    STARTED+=("$pid")
    wait_port "$port"
    local args=(--addr "127.0.0.1:$port" --key-file "$DIR/bench-key.json" --connections "$CONNS" --threads 1 "$@")
    "$LOADGEN" signed "${args[@]}" --seconds "$WARMUP" >/dev/null
    pids=$pid
    # The pool's connections exist after the warm-up; the backends serving them count as server CPU.
    if [[ -n ${CATALOG:-} ]]; then pids+=" $(pg_backends "$CATALOG")"; fi
    # shellcheck disable=SC2086
    t0=$(cpu_ticks $pids)
    out=$("$LOADGEN" signed "${args[@]}" --seconds "$SECS") || { echo "loadgen failed: $out" >&2; exit 1; }
    # shellcheck disable=SC2086
    t1=$(cpu_ticks $pids)
    stop "$pid"
    requests=$(field requests "$out")
    [[ $(field errors "$out") == 0 ]] || { echo "errors in a run: $out" >&2; exit 1; }
    RPS_NOW=$(field rps "$out") P99_NOW=$(field p99_ms "$out")
    CPU_NOW=$(((t1 - t0) * 1000000 / HZ / requests))
}

median() { sort -n | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

declare -A RPS CPU
for round in $(seq 1 "$ROUNDS"); do
    for side in A B; do
        bin=$A
        [[ $side == B ]] && bin=$B
        run "$bin" "$@"
        echo "round $round $side: rps=$RPS_NOW p99_ms=$P99_NOW server_cpu_us_per_req=$CPU_NOW"
        RPS[$side]+="$RPS_NOW "
        CPU[$side]+="$CPU_NOW "
    done
done
for side in A B; do
    echo "$side median: rps=$(tr ' ' '\n' <<<"${RPS[$side]}" | grep . | median) server_cpu_us_per_req=$(tr ' ' '\n' <<<"${CPU[$side]}" | grep . | median)"
done
