#!/usr/bin/env bash
# Signed DescribeCrossRegionBackups on catalogs of 1 thousand, 1 million and 10 million copies, on
# SQLite and PostgreSQL, cached and uncached, next to nginx serving the same response bytes, in one
# run. Appends a dated entry to bench/results.md.
#
#   bench/run-scale.sh
#
# Catalog shapes (seeded once by `xbak-loadgen seed`, through the backend's batch path, and reused):
#   1k   1,000 copies over 10 instances (100 each)
#   1m   1,000,000 copies over 10,000 instances (100 each)
#   10m  10,000,000 copies over 10,000 instances (1,000 each)
# Runs per backend and shape, every instance of the shape in turn:
#   hit   the same window on every call (a poller: the listing and page caches may answer)
#   miss  `--vary-window`: EndTime differs on every call, so every call reads the catalog
#
# Environment (all optional):
#   BACKENDS="sqlite postgres"  SHAPES="1k 1m 10m"  RUNS="miss hit"
#   CONNS=32 SECS=15 WARMUP=3 CLIENT_THREADS=1   as in bench/run-server.sh
#   BENCH_DIR=target/bench       data dirs (scale-BACKEND-SHAPE), nginx files, logs
#   PG_SERVER=postgres://postgres@127.0.0.1:5432   databases xbak_bench_SHAPE are created there
#   NO_NGINX=1  NO_BUILD=1  RESULTS=bench/results.md  CARGO_TARGET_DIR  CODE
#
# Server CPU per request = utime+stime of xbak (and, on PostgreSQL, of the backends serving its
# database) during the run / requests. Everything listens on and targets 127.0.0.1 only.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
BENCH_DIR=${BENCH_DIR:-$ROOT/target/bench}
BACKENDS=${BACKENDS:-sqlite postgres}
SHAPES=${SHAPES:-1k 1m 10m}
RUNS=${RUNS:-miss hit}
CONNS=${CONNS:-32}
SECS=${SECS:-15}
WARMUP=${WARMUP:-3}
CLIENT_THREADS=${CLIENT_THREADS:-1}
# shellcheck source=bench/lib.sh
. "$ROOT/bench/lib.sh"
mkdir -p "$BENCH_DIR/www"
BENCH_DIR=$(cd "$BENCH_DIR" && pwd)

declare -A COPIES=([1k]=1000 [1m]=1000000 [10m]=10000000)

release_build xbak xbak-loadgen

pg_sql() { psql "$PG_SERVER/$1" -X -q -At -v ON_ERROR_STOP=1 -c "$2"; }
# The --catalog argument of a backend and shape (none for SQLite: DIR/catalog.db).
catalog_args() {
    if [[ $1 == postgres ]]; then echo "--catalog $PG_SERVER/$(pg_db "$2")"; fi
}

declare -A SEED_TIME
for b in $BACKENDS; do
    for s in $SHAPES; do
        dir=$BENCH_DIR/scale-$b-$s
        if [[ $b == postgres ]] && ! pg_sql postgres "SELECT 1 FROM pg_database WHERE datname = '$(pg_db "$s")'" | grep -q 1; then
            pg_sql postgres "CREATE DATABASE $(pg_db "$s")"
        fi
        say "seed $b $s"
        # shellcheck disable=SC2046
        out=$("$LOADGEN" seed --data-dir "$dir" --copies "${COPIES[$s]}" --instances "${INSTANCES[$s]}" $(catalog_args "$b" "$s"))
        echo "$out" >&2
        SEED_TIME[$b-$s]=$(sed -n 's/.* in \([0-9.]*[a-z]*\); key in.*/\1/p' <<<"$out")
        # Statistics and the visibility map (index-only scans) now, not whenever autovacuum comes by.
        if [[ $b == postgres ]]; then pg_sql "$(pg_db "$s")" "VACUUM (ANALYZE)"; fi
    done
done

declare -A RPS P50 P99 MAXL CPU_US CLIENT_US HWM ANON MEMLOG LOAD BYTES NOTE

# measure LABEL MODE "PIDS" [loadgen args…]: one closed-loop run, server CPU summed over PIDS.
measure() {
    local label=$1 mode=$2 pids=$3
    shift 3
    "$LOADGEN" "$mode" "$@" --threads "$CLIENT_THREADS" --connections "$CONNS" --seconds "$WARMUP" >/dev/null
    LOAD[$label]=$(loadavg)
    say "$label: ${SECS}s, $CONNS connections (load ${LOAD[$label]})"
    local c0 c1 out n
    # shellcheck disable=SC2086
    c0=$(cpu_ticks $pids)
    out=$( { /usr/bin/time -f 'client_cpu_s=%U+%S' "$LOADGEN" "$mode" "$@" --threads "$CLIENT_THREADS" \
        --connections "$CONNS" --seconds "$SECS" --expect "$EXPECT"; } 2>&1 )
    echo "$out" >&2
    # shellcheck disable=SC2086
    c1=$(cpu_ticks $pids)
    n=$(field requests "$out")
    record_load "$label" "$out" "$n" "$c0" "$c1"
    NOTE[$label]="errors=$(field errors "$out")"
}

# run_xbak BACKEND SHAPE RUN
run_xbak() {
    local b=$1 s=$2 r=$3 label="$1-$2-$3" dir=$BENCH_DIR/scale-$1-$2 port pid pg_pids=""
    fresh_catalog "$b" "$s" "$dir"
    port=$(free_port)
    # shellcheck disable=SC2046
    RUST_LOG=warn "$XBAK" --data-dir "$dir" $(catalog_args "$b" "$s") serve --listen "127.0.0.1:$port" --no-workers --no-metrics \
        >"$BENCH_DIR/xbak-$label.log" 2>&1 &
    pid=$!
    STARTED+=("$pid")
    wait_port "$port"
    local args=(--addr "127.0.0.1:$port" --key-file "$dir/bench-key.json" --instances "${INSTANCES[$s]}")
    [[ $r == miss ]] && args+=(--vary-window)
    if [[ ! -s $BENCH_DIR/www/describe-30.json ]]; then
        "$LOADGEN" fetch --addr "127.0.0.1:$port" --key-file "$dir/bench-key.json" --instance rm-bench4 \
            --out "$BENCH_DIR/www/describe-30.json"
    fi
    if [[ $b == postgres ]]; then
        # The pool's connections exist after one call; the backends serving them count as server CPU.
        "$LOADGEN" signed "${args[@]}" --threads 1 --connections "$CONNS" --seconds 1 >/dev/null
        pg_pids=$(pg_backends "$PG_SERVER/$(pg_db "$s")")
    fi
    local mem=$BENCH_DIR/mem-$label
    rm -f "$mem" "$mem.stop"
    sample_mem "$pid" "$mem" &
    local sampler=$!
    measure "$label" signed "$pid $pg_pids" "${args[@]}"
    touch "$mem.stop"
    wait "$sampler" || true
    local max_anon max_file _
    read -r max_anon max_file _ <"$mem"
    ANON[$label]="$max_anon / $max_file"
    HWM[$label]=$(status_kb "$pid" VmHWM)
    [[ -n $pg_pids ]] && NOTE[$label]="${NOTE[$label]}, CPU incl. $(wc -w <<<"$pg_pids") PostgreSQL backends"
    stop "$pid"
}

run_nginx() {
    local label=$1 port
    port=$(free_port)
    start_nginx "$BENCH_DIR/nginx" "$label" 1 "$port" "$BENCH_DIR/www"
    local workers
    workers=$(pgrep -P "$NGINX_PID" | tr '\n' ' ')
    measure "$label" static "$NGINX_PID $workers" --addr "127.0.0.1:$port" --path /describe-30.json
    HWM[$label]=-
    ANON[$label]=-
    NOTE[$label]="${NOTE[$label]}, worker_processes 1"
    stop "$NGINX_PID"
}

LOAD_START=$(loadavg)
ROWS=()
NGINX_RUNS=()
NGINX_VERSION="nginx not run"
for b in $BACKENDS; do
    for s in $SHAPES; do
        for r in $RUNS; do
            run_xbak "$b" "$s" "$r"
            ROWS+=("$b-$s-$r")
        done
    done
    if [[ -z ${NO_NGINX:-} ]]; then
        NGINX_VERSION=$("$(need_nginx)" -v 2>&1)
        run_nginx "nginx-after-$b"
        NGINX_RUNS+=("nginx-after-$b")
    fi
done
LOAD_END=$(loadavg)

# ---------------------------------------------------------------------------------------------
NGINX_VALUES=()
for l in "${NGINX_RUNS[@]}"; do NGINX_VALUES+=("${RPS[$l]}"); done
NGINX_RPS=$(python3 -c "import sys; v=[float(x) for x in sys.argv[1:]]; print(round(sum(v)/len(v)) if v else 0)" "${NGINX_VALUES[@]}")
ratio() { python3 -c "print(f'{$1/$2:.3f}' if $2 else '-')"; }
{
    echo
    echo "## $(date -u +%Y-%m-%dT%H:%M:%SZ) — catalog scale, both backends, vs nginx (bench/run-scale.sh)"
    echo
    echo "- Machine: $(nproc) CPUs, $(sed -n 's/^model name\s*: //p' /proc/cpuinfo | head -1), $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo) RAM; shared with other builds/tests (noisy)."
    echo "- Load average (1/5/15 min): at start $LOAD_START, at end $LOAD_END; per run in the table."
    echo "- Code: $CODE; $NGINX_VERSION; PostgreSQL $(pg_sql postgres 'SHOW server_version' 2>/dev/null || echo '?')."
    echo "- Command: \`BACKENDS=\"$BACKENDS\" SHAPES=\"$SHAPES\" RUNS=\"$RUNS\" CONNS=$CONNS SECS=$SECS bench/run-scale.sh\`"
    echo "  (\`xbak-loadgen signed --instances K --connections $CONNS --threads $CLIENT_THREADS --seconds $SECS\` after ${WARMUP}s warm-up;"
    echo "  \`miss\` adds \`--vary-window\`). nginx: \`xbak-loadgen static\`, same connections, worker_processes 1, the same"
    echo "  ${BYTES[${ROWS[0]}]:-?}-byte body saved from xbak. Seeding (\`xbak-loadgen seed\`, batch path): $(for k in "${!SEED_TIME[@]}"; do printf '%s %s; ' "$k" "${SEED_TIME[$k]:-reused}"; done)"
    echo
    echo "| run | rps | / nginx | p50 ms | p99 ms | max ms | server CPU µs/req | client CPU µs/req | VmHWM KiB | RssAnon / RssFile peak KiB | load avg | notes |"
    echo "|---|---|---|---|---|---|---|---|---|---|---|---|"
    for l in "${ROWS[@]}" "${NGINX_RUNS[@]}"; do
        echo "| $l | ${RPS[$l]} | $(ratio "${RPS[$l]}" "$NGINX_RPS") | ${P50[$l]} | ${P99[$l]} | ${MAXL[$l]} | ${CPU_US[$l]} | ${CLIENT_US[$l]} | ${HWM[$l]} | ${ANON[$l]} | ${LOAD[$l]} | ${NOTE[$l]} |"
    done
    echo
    echo "Ratios against the mean of the nginx runs ($NGINX_RPS rps)."
} | tee -a "$RESULTS"
