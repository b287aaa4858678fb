#!/usr/bin/env bash
# Signed DescribeCrossRegionBackups (30 items, JSON) against `xbak serve`, next to nginx serving the
# same response bytes as a static file, on this machine. Appends a dated entry to bench/results.md.
#
#   bench/run-server.sh
#
# Environment (all optional):
#   BENCH_DIR=target/bench   catalogs, nginx config, logs (seeded catalogs are reused)
#   CONNS=32                 keep-alive connections of the closed-loop load (xbak and nginx alike)
#   SECS=15 WARMUP=3         seconds measured / seconds of warm-up before each measurement
#   LIGHT_CONNS=4            connections of the extra "light load" run on the 1M catalog
#   CLIENT_THREADS=1         loadgen runtime threads (1: client and server share the 2 cores)
#   NO_NGINX=1               skip the nginx baseline
#   NO_BUILD=1               use the binaries already in target/release
#   RESULTS=bench/results.md where the entry is appended
#   CARGO_TARGET_DIR         where the binaries are built/found (default: target)
#   CODE                     how the entry names the code measured (default: git HEAD + dirty flag)
#
# Everything listens on and targets 127.0.0.1 only.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
BENCH_DIR=${BENCH_DIR:-$ROOT/target/bench}
CONNS=${CONNS:-32}
SECS=${SECS:-15}
WARMUP=${WARMUP:-3}
LIGHT_CONNS=${LIGHT_CONNS:-4}
CLIENT_THREADS=${CLIENT_THREADS:-1}
# shellcheck source=bench/lib.sh
. "$ROOT/bench/lib.sh"
mkdir -p "$BENCH_DIR"
BENCH_DIR=$(cd "$BENCH_DIR" && pwd)

# ---------------------------------------------------------------------------------------------
release_build xbak xbak-loadgen

# Catalogs: the 1M one, a 10k one with the same 100 instances (100 copies each, as the goal's
# "does not grow with the catalog" comparison), and a 10k one with one instance of 10k copies (the
# same per-instance history as the 1M catalog, so only the catalog's size differs).
declare -A CAT_COPIES=([1m]=1000000 [10k]=10000 [10k-1i]=10000)
declare -A CAT_INSTANCES=([1m]=100 [10k]=100 [10k-1i]=1)
for c in 1m 10k 10k-1i; do
    say "seed $c"
    "$LOADGEN" seed --data-dir "$BENCH_DIR/cat-$c" --copies "${CAT_COPIES[$c]}" --instances "${CAT_INSTANCES[$c]}"
done

# Results of each run, by label.
declare -A RPS P50 P99 MAXL CPU_US CLIENT_US HWM RSS0 ANON GROWTH LOAD BYTES NOTE

# run_xbak LABEL CATALOG CONNECTIONS [extra loadgen args…]
run_xbak() {
    local label=$1 cat=$2 conns=$3
    shift 3
    local dir=$BENCH_DIR/cat-$cat
    # Every run starts with no remembered nonces (each accepted request leaves one in memory and
    # in the catalog for 30 minutes; a later run would otherwise load the previous runs').
    if command -v sqlite3 >/dev/null; then forget_nonces "$dir"; fi
    local port
    port=$(free_port)
    RUST_LOG=warn "$XBAK" --data-dir "$dir" serve --listen "127.0.0.1:$port" --no-workers --no-metrics \
        >"$BENCH_DIR/xbak-$label.log" 2>&1 &
    local pid=$!
    STARTED+=("$pid")
    wait_port "$port"
    RSS0[$label]=$(status_kb "$pid" VmRSS)
    local common=(--addr "127.0.0.1:$port" --key-file "$dir/bench-key.json" --instances "${CAT_INSTANCES[$cat]}"
        --threads "$CLIENT_THREADS" --connections "$conns" "$@")
    say "xbak $label: warm-up ${WARMUP}s"
    "$LOADGEN" signed "${common[@]}" --seconds "$WARMUP" >/dev/null
    if [[ $label == 1m ]]; then
        "$LOADGEN" fetch --addr "127.0.0.1:$port" --key-file "$dir/bench-key.json" --instance rm-bench42 \
            --out "$BENCH_DIR/www/describe-30.json"
    fi
    LOAD[$label]=$(loadavg)
    say "xbak $label: ${SECS}s, $conns connections (load ${LOAD[$label]})"
    local c0 out anon0 mem=$BENCH_DIR/mem-$label
    rm -f "$mem" "$mem.stop"
    anon0=$(status_kb "$pid" RssAnon)
    sample_mem "$pid" "$mem" &
    local sampler=$!
    c0=$(cpu_ticks "$pid")
    out=$( { /usr/bin/time -f 'client_cpu_s=%U+%S' "$LOADGEN" signed "${common[@]}" --seconds "$SECS" --expect "$EXPECT"; } 2>&1 )
    echo "$out" >&2
    local c1 n
    c1=$(cpu_ticks "$pid")
    touch "$mem.stop"
    wait "$sampler" || true
    local max_anon max_file last_anon
    read -r max_anon max_file last_anon <"$mem"
    ANON[$label]="$max_anon / $max_file"
    n=$(field requests "$out")
    record_load "$label" "$out" "$n" "$c0" "$c1"
    HWM[$label]=$(status_kb "$pid" VmHWM)
    GROWTH[$label]=$(( (last_anon - anon0) * 1024 / (n > 0 ? n : 1) ))
    NOTE[$label]="errors=$(field errors "$out")"
    stop "$pid"
}

mkdir -p "$BENCH_DIR/www"
LOAD_START=$(loadavg)
# The same window on every call, as a poller would: the server may answer from a listing cache.
run_xbak 1m 1m "$CONNS"
# EndTime differs on every call (--vary-window): every call reads the catalog.
run_xbak 1m-miss 1m "$CONNS" --vary-window
run_xbak 10k-miss 10k "$CONNS" --vary-window
run_xbak 10k-1i-miss 10k-1i "$CONNS" --vary-window
run_xbak 1m-light 1m "$LIGHT_CONNS"
# A window holding only each instance's 40 newest copies (still a full page of 30): the total is
# then a count over 40 index entries instead of 10k. The difference to "1m-miss" is that count.
run_xbak 1m-narrow-miss 1m "$CONNS" --vary-window --start 2021-02-19T00:00:00Z
NOTE[1m-narrow-miss]="${NOTE[1m-narrow-miss]}, StartTime 2021-02-19T00:00:00Z (40 copies/instance in window)"
# Same requests with a wrong signature: refused after parsing, the clock check, the (cached) key
# lookup and the HMAC, before the nonce store and the catalog. The difference to "1m" is the cost
# of the nonce, the listing and its rendering.
run_xbak 1m-badsig 1m "$CONNS" --bad-signature
NOTE[1m-badsig]="all 400 SignatureDoesNotMatch, by design"

# ---------------------------------------------------------------------------------------------
NGINX_VERSION=""
if [[ -z ${NO_NGINX:-} ]]; then
    NGINX=$(need_nginx)
    NGINX_VERSION=$("$NGINX" -v 2>&1)
    ngx=$BENCH_DIR/nginx
    # run_nginx LABEL WORKER_PROCESSES
    run_nginx() {
        local label=$1 workers=$2 port pid
        port=$(free_port)
        start_nginx "$ngx" "$label" "$workers" "$port" "$BENCH_DIR/www"
        pid=$NGINX_PID
        local common=(--addr "127.0.0.1:$port" --path /describe-30.json --threads "$CLIENT_THREADS" --connections "$CONNS")
        say "nginx $label: warm-up ${WARMUP}s"
        "$LOADGEN" static "${common[@]}" --seconds "$WARMUP" >/dev/null
        local workers_pids
        workers_pids=$(pgrep -P "$pid" | tr '\n' ' ')
        LOAD[$label]=$(loadavg)
        say "nginx $label: ${SECS}s, $CONNS connections, workers: $workers_pids(load ${LOAD[$label]})"
        local c0 out c1 n
        # shellcheck disable=SC2086
        c0=$(cpu_ticks "$pid" $workers_pids)
        out=$( { /usr/bin/time -f 'client_cpu_s=%U+%S' "$LOADGEN" static "${common[@]}" --seconds "$SECS" --expect "$EXPECT"; } 2>&1 )
        echo "$out" >&2
        # shellcheck disable=SC2086
        c1=$(cpu_ticks "$pid" $workers_pids)
        n=$(field requests "$out")
        record_load "$label" "$out" "$n" "$c0" "$c1"
        local hwm=0 w
        for w in $pid $workers_pids; do hwm=$((hwm + $(status_kb "$w" VmHWM))); done
        HWM[$label]=$hwm
        RSS0[$label]=""
        ANON[$label]="-"
        GROWTH[$label]="-"
        NOTE[$label]="errors=$(field errors "$out"), worker_processes $workers"
        stop "$pid"
    }
    run_nginx nginx-1 1
    run_nginx nginx-auto auto
fi
LOAD_END=$(loadavg)

# ---------------------------------------------------------------------------------------------
ratio() { python3 -c "print(f'{$1/$2:.2f}' if $2 else '-')"; }
{
    echo
    echo "## $(date -u +%Y-%m-%dT%H:%M:%SZ) — API: signed DescribeCrossRegionBackups vs nginx (bench/run-server.sh)"
    echo
    echo "- Machine: $(nproc) CPUs, $(sed -n 's/^model name\s*: //p' /proc/cpuinfo | head -1), $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo) RAM; shared with other builds/tests (noisy)."
    echo "- Load average (1/5/15 min): at start $LOAD_START, at end $LOAD_END; per run in the table."
    echo "- Code: $CODE; ${NGINX_VERSION:-nginx not run}."
    echo "- Load: \`xbak-loadgen signed --instances K --connections $CONNS --threads $CLIENT_THREADS --seconds $SECS\`"
    echo "  (closed loop, HTTP/1.1 keep-alive, a fresh v1 signature and nonce per call, window 2020-01-01..2030-01-01"
    echo "  — with \`--vary-window\` EndTime moves back 0..365 days by the call — PageSize 30, instances rm-bench0..K-1 in"
    echo "  turn; every instance's copies all lie in the window) after a ${WARMUP}s warm-up; server \`RUST_LOG=warn xbak --data-dir DIR serve"
    echo "  --listen 127.0.0.1:PORT --no-workers\`; nginx: \`xbak-loadgen static --path /describe-30.json\` with the same"
    echo "  connections, serving a body saved from the 1M run (${BYTES[1m]:-?} bytes). Catalogs seeded by \`xbak-loadgen seed\`."
    echo "- server CPU = utime+stime of the server process(es) during the run / requests; client CPU likewise for"
    echo "  the loadgen. Both are less sensitive to the shared machine than rps. VmHWM: after the run (nginx: master +"
    echo "  workers; xbak: RSS at start in parentheses). It includes file-backed pages (with SQLite's mmap on, once per"
    echo "  connection mapping them), so the anonymous memory is given too: peak RssAnon / peak RssFile sampled every"
    echo "  0.2 s during the run, and RssAnon growth per request over the run (e.g. the nonces kept for 30 minutes)."
    echo
    echo "| run | catalog | conns | rps | p50 ms | p99 ms | max ms | server CPU µs/req | client CPU µs/req | VmHWM KiB | RssAnon / RssFile peak KiB | anon B/req | load avg | notes |"
    echo "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"
    row() {
        echo "| $1 | $2 | $3 | ${RPS[$1]} | ${P50[$1]} | ${P99[$1]} | ${MAXL[$1]} | ${CPU_US[$1]} | ${CLIENT_US[$1]} | ${HWM[$1]}${RSS0[$1]:+ (${RSS0[$1]})} | ${ANON[$1]} | ${GROWTH[$1]} | ${LOAD[$1]} | ${NOTE[$1]} |"
    }
    row 1m "1M copies (100 × 10k), same window" "$CONNS"
    row 1m-miss "1M copies (100 × 10k), window varies" "$CONNS"
    row 10k-miss "10k copies (100 × 100), window varies" "$CONNS"
    row 10k-1i-miss "10k copies (1 × 10k), window varies" "$CONNS"
    row 1m-light "1M copies (100 × 10k), same window" "$LIGHT_CONNS"
    row 1m-narrow-miss "1M copies, narrow window, varies" "$CONNS"
    row 1m-badsig "1M copies, wrong signature" "$CONNS"
    if [[ -n ${RPS[nginx-1]:-} ]]; then
        row nginx-1 "static file" "$CONNS"
        row nginx-auto "static file" "$CONNS"
        echo
        echo "xbak (1M) / nginx: $(ratio "${RPS[1m]}" "${RPS[nginx-1]}") of worker_processes 1, $(ratio "${RPS[1m]}" "${RPS[nginx-auto]}") of worker_processes auto (goal ≥ 0.25)."
        echo "Server CPU per request, xbak (1M) / nginx (1 worker): $(ratio "${CPU_US[1m]}" "${CPU_US[nginx-1]}")×."
    fi
    echo "Every call reading the catalog (window varies), rps 1M / 10k (100 × 100): $(ratio "${RPS[1m-miss]}" "${RPS[10k-miss]}"); 1M / 10k (1 × 10k): $(ratio "${RPS[1m-miss]}" "${RPS[10k-1i-miss]}")."
} | tee -a "$RESULTS"
