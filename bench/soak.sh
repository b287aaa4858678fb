#!/usr/bin/env bash
# Soak (issue 11, point 12): mixed load against `xbak serve` — cached and uncached listings,
# downloads with a Range, wrong signatures, replays, slow clients — first closed loop for MAX_SECS
# to find the maximum rate, then open loop at half that rate for SOAK_SECS, with the server's
# VmRSS/RssAnon sampled every minute. Appends a dated entry to bench/results.md.
#
#   bench/soak.sh
#
# Environment (all optional):
#   BENCH_DIR=target/bench   data dirs and logs (the seeded catalog is reused)
#   COPIES=100000 INSTANCES=100   shape of the seeded catalog
#   CONNS=32 SLOW=50         keep-alive connections of the mix / slow clients trickling a head
#   MAX_SECS=20 SOAK_SECS=900
#   HEADER_TIMEOUT=5         the server's --header-timeout-seconds (what closes the slow clients)
#   CLIENT_THREADS=1         loadgen runtime threads (client and server share the machine)
#   RATE=…                   skip the maximum run and soak at this many operations per second
#   NO_BUILD=1               use the binaries already in target/release
#   RESULTS=bench/results.md CARGO_TARGET_DIR CODE   as in bench/run-server.sh
#
# Everything listens on and targets 127.0.0.1 only.
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=bench/lib.sh
source bench/lib.sh
COPIES=${COPIES:-100000}
INSTANCES=${INSTANCES:-100}
CONNS=${CONNS:-32}
SLOW=${SLOW:-50}
MAX_SECS=${MAX_SECS:-20}
SOAK_SECS=${SOAK_SECS:-900}
HEADER_TIMEOUT=${HEADER_TIMEOUT:-5}
CLIENT_THREADS=${CLIENT_THREADS:-1}
DIR=$BENCH_DIR/soak-$COPIES-$INSTANCES
LOG=$BENCH_DIR/soak-logs
mkdir -p "$LOG"

SERVER=""
cleanup() {
    if [[ -n $SERVER ]]; then
        kill "$SERVER" 2>/dev/null || true
        wait "$SERVER" 2>/dev/null || true
    fi
}
trap cleanup EXIT


# start_server LABEL: a fresh server on the soak catalog (no remembered nonces); sets SERVER, PORT.
start_server() {
    cleanup
    forget_nonces "$DIR"
    PORT=$(free_port)
    SERVER_CMD=(env RUST_LOG=warn "$XBAK" --data-dir "$DIR" serve --listen "127.0.0.1:$PORT" --no-workers
        --no-metrics --header-timeout-seconds "$HEADER_TIMEOUT")
    "${SERVER_CMD[@]}" >"$LOG/xbak-$1.log" 2>&1 &
    SERVER=$!
    wait_port "$PORT"
}

mix() {
    "$LOADGEN" mix --addr "127.0.0.1:$PORT" --key-file "$DIR/bench-key.json" --instances "$INSTANCES" \
        --connections "$CONNS" --slow "$SLOW" --threads "$CLIENT_THREADS" "$@"
}

# ---------------------------------------------------------------------------------------------
release_build xbak xbak-loadgen
command -v sqlite3 >/dev/null || { echo "sqlite3 is needed (apt-get install sqlite3)" >&2; exit 1; }
say "seed $COPIES copies over $INSTANCES instances"
"$LOADGEN" seed --data-dir "$DIR" --copies "$COPIES" --instances "$INSTANCES"

# The seeded catalog has no objects behind its copies: put 64 KiB behind each link of rm-bench0's
# first page (the downloads' listing), so a download is a real 206 with bytes.
start_server objects
"$LOADGEN" fetch --addr "127.0.0.1:$PORT" --key-file "$DIR/bench-key.json" --instance rm-bench0 \
    --out "$LOG/listing-rm-bench0.json"
python3 - "$LOG/listing-rm-bench0.json" "$DIR/regions" <<'EOF'
import json, os, sys, urllib.parse
items = json.load(open(sys.argv[1]))["Items"]["Item"]
for it in items:
    path = urllib.parse.urlsplit(it["CrossBackupDownloadLink"]).path
    _, kind, region, key = path.split("/", 3)
    assert kind == "download", path
    dest = os.path.join(sys.argv[2], region, urllib.parse.unquote(key))
    os.makedirs(os.path.dirname(dest), exist_ok=True)
    if not os.path.exists(dest):
        with open(dest, "wb") as f:
            f.write(os.urandom(65536))
print(f"{len(items)} objects of 64 KiB under {sys.argv[2]}", file=sys.stderr)
EOF

LOAD_START=$(loadavg)
START_TIME=$(date -u +%Y-%m-%dT%H:%M:%SZ)
if [[ -z ${RATE:-} ]]; then
    start_server max
    say "maximum: closed loop, ${MAX_SECS}s (load $(loadavg))"
    MAX_OUT=$(mix --seconds "$MAX_SECS" --report-seconds "$MAX_SECS" | tee "$LOG/max.txt")
    echo "$MAX_OUT" >&2
    MAX_RATE=$(field ops_per_s "$(grep '^total' <<<"$MAX_OUT")")
    RATE=$((MAX_RATE / 2))
    MAX_NOTE="closed loop for ${MAX_SECS}s: **$MAX_RATE operations/s** ($(field requests_per_s "$(grep '^total' <<<"$MAX_OUT")") requests/s), $(grep '^total' <<<"$MAX_OUT" | grep -o '2xx=.*5xx=[0-9]*')"
else
    MAX_NOTE="not measured (RATE=$RATE given)"
fi

start_server soak
say "soak: ${SOAK_SECS}s at $RATE operations/s (load $(loadavg))"
SOAK_CMD=(mix --rate "$RATE" --seconds "$SOAK_SECS" --report-seconds 60 --server-pid "$SERVER")
SOAK_OUT=$("${SOAK_CMD[@]}" 2>"$LOG/soak.err" | tee "$LOG/soak.txt")
LOAD_END=$(loadavg)
SERVER_ALIVE=$([[ -e /proc/$SERVER ]] && echo yes || echo NO)
cleanup
SERVER=""
SERVER_LOG_LINES=$(grep -c . "$LOG/xbak-soak.log" || true)
SERVER_LOG_ERRORS=$(grep -ci 'panic\|ERROR' "$LOG/xbak-soak.log" || true)

# ---------------------------------------------------------------------------------------------
python3 - "$LOG/soak.txt" >"$LOG/entry.md" <<EOF
import re, sys
lines = open(sys.argv[1]).read().splitlines()
kv = lambda l: dict(re.findall(r"(\w+)=(\S+)", l))
minutes = [kv(l) for l in lines if l.startswith("minute ")]
total = kv(next(l for l in lines if l.startswith("total ")))
counts = [kv(l) | {"verdict": l.split()[-1]} for l in lines if l.startswith("count ")]
p = print
p()
p(f"## $START_TIME — soak: {round($SOAK_SECS / 60)} minutes of mixed load at half the maximum (bench/soak.sh)")
p()
p("- Machine: $(nproc) CPUs, $(sed -n 's/^model name\s*: //p' /proc/cpuinfo | head -1), $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo) RAM;")
p("  shared with other helpers building and testing (noisy). Load average (1/5/15 min): at start $LOAD_START, at end $LOAD_END.")
p("- Code: $CODE; release build. Catalog: \`xbak-loadgen seed --copies $COPIES --instances $INSTANCES\` (SQLite), plus 64 KiB")
p("  objects behind rm-bench0's first page of links. Server (fresh, nonces table emptied):")
p("  \`${SERVER_CMD[*]//$ROOT\//}\`.")
p("- Load: \`xbak-loadgen mix\` (one client thread, $CONNS keep-alive connections, $SLOW slow clients), each connection")
p("  cycling 4 cached listings (same window), 2 uncached (EndTime varies), 1 wrong signature, 1 replay of its last")
p("  accepted listing, 2 downloads (a cached listing of rm-bench0, then its first link with \`Range: bytes=0-4095\`).")
p("  Slow clients send a request head one byte a second (4 KiB header) until the server closes them, then reconnect.")
p("- Maximum: $MAX_NOTE.")
p("- Soak: \`${SOAK_CMD[*]//$DIR/DIR} --addr … --key-file DIR/bench-key.json --instances $INSTANCES --connections $CONNS --slow $SLOW\`,")
p(f"  open loop (each operation due at a fixed time, latency from then): {total['ops']} operations, {total['requests']} requests in {total['seconds']} s")
p(f"  = {total['ops_per_s']} operations/s, {total['requests_per_s']} requests/s; p50 {total['p50_ms']} ms, p99 {total['p99_ms']} ms, max {total['max_ms']} ms;")
p(f"  operations started over 50 ms late: {total['late']}; I/O errors: {total['io_errors']}.")
p(f"- Slow clients closed by the server: {total['slow_closed']} (mean {total['slow_mean_close_s']} s after connecting; header timeout $HEADER_TIMEOUT s); never closed: {total['slow_unclosed']}.")
p("- Server: alive at the end: $SERVER_ALIVE; log lines at RUST_LOG=warn: $SERVER_LOG_LINES, of which ERROR/panic: $SERVER_LOG_ERRORS.")
p()
p("| minute | requests so far | 2xx | 4xx | 5xx | slow closed | VmRSS MiB | RssAnon MiB |")
p("|---|---|---|---|---|---|---|---|")
for m in minutes:
    p(f"| {int(m['t']) // 60} | {m['requests']} | {m['2xx']} | {m['4xx']} | {m['5xx']} | {m['slow_closed']} | {int(m['VmRSS_kB'])/1024:.1f} | {int(m['RssAnon_kB'])/1024:.1f} |")
p()
p("| kind | status | code | responses | |")
p("|---|---|---|---|---|")
for c in counts:
    p(f"| {c['kind']} | {c['status']} | {c['code']} | {c['n']} | {c['verdict']} |")
p()
fives = int(total["5xx"])
unexpected = sum(int(c["n"]) for c in counts if c["verdict"] != "expected")
rss = [int(m["VmRSS_kB"]) for m in minutes]
anon = [int(m["RssAnon_kB"]) for m in minutes]
last = anon[-6:]  # the last six samples: minutes 10–15 of a 15-minute soak
span = f"{len(minutes) - len(last)}–{len(minutes) - 1}"
mean = sum(last) / len(last)
spread = max(abs(a - mean) / mean for a in last) * 100
flat = spread <= 5
p(f"Goals: zero 5xx — **{'met' if fives == 0 else 'NOT met'}** ({fives} 5xx; {unexpected} responses other than their kind's expected status/code).")
p(f"RSS flat, meaning RssAnon at minutes {span} all within ±5 % of their mean — **{'met' if flat else 'NOT met'}**")
p(f"(mean {mean/1024:.1f} MiB, largest deviation {spread:.1f} %; VmRSS {rss[0]/1024:.1f} → {rss[-1]/1024:.1f} MiB, RssAnon {anon[0]/1024:.1f} → {anon[-1]/1024:.1f} MiB over the run).")
EOF
cat "$LOG/entry.md" | tee -a "$RESULTS"
