#!/usr/bin/env bash
# Sustained load (issue 9: "RSS under 150 MB after 15 minutes at the highest sustained rate,
# sampled each minute"): one `xbak serve` on a catalog seeded by bench/run-scale.sh, driven closed
# loop (as fast as it answers) for MINUTES one-minute runs back to back without a restart, one row
# per minute: requests/s, p50/p99, server CPU per request, VmRSS/RssAnon/VmHWM, what the server's
# view of the replay claims holds in memory (its metrics' xbak_replay_claims_memory_bytes), how often its
# filters answered "maybe" and lookups confirmed them (xbak_replay_claim_checks_total), and the replay
# claims the catalog holds (they are kept 15 minutes plus a margin, so they only grow in a run this
# long). Appends a dated entry to bench/results.md.
#
#   BACKEND=sqlite SHAPE=1m bench/sustained.sh
#
# Environment (all optional):
#   BACKEND=sqlite|postgres  SHAPE=1m (the catalog of `bench/run-scale.sh`'s SHAPES; run that first)
#   RUN=miss|hit             miss: random instance and moving window per call; hit: the same page
#   MINUTES=15 CONNS=32 CLIENT_THREADS=1
#   RESTART_AT=M             stop the server before minute M and start a new one on the same data
#                            (its claims kept): what a rolling restart under load costs the server
#                            that comes up while the others' claims are live
#   SERVER_LOG=warn          the server's RUST_LOG (its log: BENCH_DIR/xbak-sustained.log)
#   PG_SERVER=postgres://postgres@127.0.0.1:5432   NO_BUILD=1  RESULTS  CARGO_TARGET_DIR  CODE
#
# Server CPU per request = utime+stime of xbak (and, on PostgreSQL, of the backends serving it)
# over the minute / requests of the minute. Everything listens on and targets 127.0.0.1 only.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
BACKEND=${BACKEND:-sqlite}
SHAPE=${SHAPE:-1m}
RUN=${RUN:-miss}
MINUTES=${MINUTES:-15}
SECS=${SECS:-60}   # seconds per row (60: one row a minute)
CONNS=${CONNS:-32}
CLIENT_THREADS=${CLIENT_THREADS:-1}
SERVER_LOG=${SERVER_LOG:-warn}   # the server's RUST_LOG
# shellcheck source=bench/lib.sh
. "$ROOT/bench/lib.sh"

DIR=$BENCH_DIR/scale-$BACKEND-$SHAPE
PG_URL=$PG_SERVER/$(pg_db "$SHAPE")
[[ -f $DIR/bench-key.json ]] || {
    echo "no seeded catalog in $DIR: run BACKENDS=$BACKEND SHAPES=$SHAPE bench/run-scale.sh first" >&2
    exit 1
}
release_build xbak xbak-loadgen

catalog_args=()
[[ $BACKEND == postgres ]] && catalog_args=(--catalog "$PG_URL")
fresh_catalog "$BACKEND" "$SHAPE" "$DIR"

# The claims the catalog holds, and the bytes they take.
claims() {
    if [[ $BACKEND == postgres ]]; then
        psql "$PG_URL" -X -q -At -F ' ' -c "SELECT count(*), pg_total_relation_size('nonce_claims') FROM nonce_claims"
    else
        local bytes
        # The files' sizes, not their bytes read through: reading GBs each minute warmed the page
        # cache for the server and showed in its profile.
        bytes=$(stat -c %s "$DIR"/catalog-nonces.db* 2>/dev/null | awk '{ s += $1 } END { print s + 0 }')
        # The log and the runs (a claim can be in both for the moment between a run's last write
        # and the log's deletion); a file of the old layout, its one table.
        local count='(SELECT count(*) FROM claim_log) + (SELECT count(*) FROM claim_sorted)'
        sqlite3 "$DIR/catalog-nonces.db" "SELECT 1 FROM sqlite_master WHERE name = 'claim_log'" | grep -q 1 ||
            count='(SELECT count(*) FROM nonces)'
        echo "$(sqlite3 "$DIR/catalog-nonces.db" "SELECT $count") $bytes"
    fi
}

RESTART_AT=${RESTART_AT:-0}
port=$(free_port)
metrics_port=$(free_port)
while [[ $metrics_port == "$port" ]]; do metrics_port=$(free_port); done
args=(signed --addr "127.0.0.1:$port" --key-file "$DIR/bench-key.json" --instances "${INSTANCES[$SHAPE]}"
    --threads "$CLIENT_THREADS" --connections "$CONNS" --expect "$EXPECT")
[[ $RUN == miss ]] && args+=(--vary-window)
# Starts the server on $port (its log appended to) and runs 2 s of load on it, after which the
# pool's connections (and on PostgreSQL their backends) exist; sets $pid and $pids.
start_server() {
    RUST_LOG=$SERVER_LOG "$XBAK" --data-dir "$DIR" "${catalog_args[@]}" serve --listen "127.0.0.1:$port" \
        --no-workers --metrics-listen "127.0.0.1:$metrics_port" >>"$BENCH_DIR/xbak-sustained.log" 2>&1 &
    pid=$!
    STARTED+=("$pid")
    wait_port "$port"
    "$LOADGEN" "${args[@]}" --seconds 2 >/dev/null
    pids=$pid
    if [[ $BACKEND == postgres ]]; then
        pids="$pid $(pg_backends "$PG_URL")"
    fi
}
: >"$BENCH_DIR/xbak-sustained.log"
start_server

START=$(date -u +%FT%TZ)
LOAD_START=$(loadavg)
rows=()
# per_k COUNT CHECKED: COUNT per 1,000 nonces checked, one decimal.
per_k() { awk -v d="$1" -v n="$2" 'BEGIN { printf "%.1f", (n > 0 ? d * 1000 / n : 0) }'; }
# The check counters at the previous minute's end: checked, maybe, lookup.
checks_before=(0 0 0)
for m in $(seq 1 "$MINUTES"); do
    if ((m == RESTART_AT)); then
        stop "$pid"
        start_server
        say "restarted the server before minute $m"
    fi
    # shellcheck disable=SC2086
    c0=$(cpu_ticks $pids)
    out=$("$LOADGEN" "${args[@]}" --seconds "$SECS" 2>&1)
    # shellcheck disable=SC2086
    c1=$(cpu_ticks $pids)
    n=$(field requests "$out")
    read -r held bytes <<<"$(claims)"
    scrape=$(curl -sf "http://127.0.0.1:$metrics_port/metrics")
    # MiB by part: exact / epochs / open epoch / stored filters / upkeep's run.
    guard=$(awk -F'[" ]' '
        /^xbak_replay_claims_memory_bytes/ { v[$2] = sprintf("%.1f", $NF / 1048576) }
        END { print v["exact"] " / " v["epochs"] " / " v["open_epoch"] " / " v["stored_filters"] " / " v["upkeep_run"] }' <<<"$scrape")
    # The minute's filter "maybe"s and confirming lookups per 1,000 nonces checked.
    read -r checked maybes lookups <<<"$(awk -F'[" ]' '
        /^xbak_replay_claim_checks_total/ { v[$2] = $NF }
        END { print v["checked"] + 0, v["maybe"] + 0, v["lookup"] + 0 }' <<<"$scrape")"
    ((checked >= checks_before[0])) || checks_before=(0 0 0) # a restarted server counts anew
    n_checked=$((checked - checks_before[0]))
    confirm="$(per_k $((maybes - checks_before[1])) $n_checked) / $(per_k $((lookups - checks_before[2])) $n_checked)"
    checks_before=("$checked" "$maybes" "$lookups")
    row="| $m | $(field rps "$out") | $(field p50_ms "$out") | $(field p99_ms "$out") | $(field max_ms "$out")"
    row+=" | $(((c1 - c0) * 1000000 / HZ / (n > 0 ? n : 1)))"
    row+=" | $(($(status_kb "$pid" VmRSS) / 1024)) | $(($(status_kb "$pid" RssAnon) / 1024)) | $(($(status_kb "$pid" VmHWM) / 1024))"
    row+=" | $guard | $confirm | $held | $((bytes / 1048576)) | $(field errors "$out") |"
    say "$row"
    rows+=("$row")
done
LOAD_END=$(loadavg)
log_lines=$(wc -l <"$BENCH_DIR/xbak-sustained.log")
stop "$pid"

{
    echo
    echo "## $START — sustained load, $MINUTES minutes, $BACKEND $SHAPE $RUN (bench/sustained.sh)"
    echo
    echo "- Machine: $(nproc) CPUs, $(sed -n 's/^model name\s*: //p' /proc/cpuinfo | head -1), $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo) RAM."
    echo "  Load average (1/5/15 min): at start $LOAD_START, at end $LOAD_END."
    echo "- Code: $CODE. Catalog: \`$DIR\`$([[ $BACKEND == postgres ]] && echo " on \`$PG_URL\`"), claims emptied first."
    echo "- Command: \`BACKEND=$BACKEND SHAPE=$SHAPE RUN=$RUN MINUTES=$MINUTES CONNS=$CONNS$( ((RESTART_AT > 0)) && echo " RESTART_AT=$RESTART_AT") bench/sustained.sh\`: one server"
    echo "  (\`xbak serve --no-workers\`, metrics scraped once a minute), \`xbak-loadgen ${args[*]:0:1} --instances ${INSTANCES[$SHAPE]}$([[ $RUN == miss ]] && echo ' --vary-window') --threads $CLIENT_THREADS --connections $CONNS --seconds $SECS\`"
    echo "  $MINUTES times back to back. Server log lines at RUST_LOG=$SERVER_LOG: $log_lines."
    ((RESTART_AT > 0)) && echo "- \`RESTART_AT=$RESTART_AT\`: the server was stopped before minute $RESTART_AT and a new one started on the same data (VmHWM from then on is the new one's)."
    echo
    echo "| minute | rps | p50 ms | p99 ms | max ms | server CPU µs/req | VmRSS MiB | RssAnon MiB | VmHWM MiB | claims view MiB: exact / epochs / open / stored / upkeep | maybes / lookups per 1k checks | claims held | claims storage MiB | errors |"
    echo "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"
    printf '%s\n' "${rows[@]}"
} >>"$RESULTS"
say "appended to $RESULTS"
