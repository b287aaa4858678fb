# Shell helpers shared by the bench/*.sh scripts (sourced, not run, from the repository root):
# where things are, starting/stopping servers, ports, CPU ticks and memory of a process, parsing
# loadgen output. The sourcing script sets `set -euo pipefail` (and may set ROOT, BENCH_DIR) first.

ROOT=${ROOT:-$PWD}
BENCH_DIR=${BENCH_DIR:-$ROOT/target/bench}
mkdir -p "$BENCH_DIR"
BENCH_DIR=$(cd "$BENCH_DIR" && pwd)

TARGET=${CARGO_TARGET_DIR:-$ROOT/target}
LOADGEN=$TARGET/release/xbak-loadgen
# The code measured: HEAD, and whether the tree differs from it beyond this results file (which
# a session's earlier runs leave changed); with XBAK=path (and NO_BUILD=1), another binary, which
# HEAD says nothing of: name its code with CODE=….
if [[ -n ${XBAK:-} ]]; then
    CODE=${CODE:-binary $XBAK}
else
    XBAK=$TARGET/release/xbak
    CODE=${CODE:-$(git rev-parse --short HEAD 2>/dev/null)$(git diff --quiet HEAD -- . ':!bench/results.md' 2>/dev/null || echo ' + uncommitted changes')}
fi
RESULTS=${RESULTS:-$ROOT/bench/results.md}
EXPECT='"PageRecordCount":30'
HZ=$(getconf CLK_TCK)

STARTED=()   # pids of the servers this script started (stopped on exit)
cleanup() {
    for p in "${STARTED[@]}"; do kill "$p" 2>/dev/null || true; done
    for p in "${STARTED[@]}"; do wait "$p" 2>/dev/null || true; done
}
trap cleanup EXIT

say() { echo "== $*" >&2; }
# release_build PACKAGE…: `cargo build --release -p` each, unless NO_BUILD is set (then the
# binaries already in the target directory are measured).
release_build() {
    [[ -n ${NO_BUILD:-} ]] && return 0
    local args=() p
    for p in "$@"; do args+=(-p "$p"); done
    say "cargo build --release ${args[*]}"
    cargo build --release "${args[@]}"
}
# forget_nonces DIR: removes the nonce claims of the SQLite catalog in DIR, so that a run does not
# start with the previous runs' claims. Claims live in DIR/catalog-nonces.db; catalogs of a binary
# from before that file (an A/B against an older build) keep them in catalog.db.
forget_nonces() {
    rm -f "$1/catalog-nonces.db" "$1/catalog-nonces.db-wal" "$1/catalog-nonces.db-shm"
    if sqlite3 "$1/catalog.db" "SELECT 1 FROM sqlite_master WHERE name = 'nonces'" 2>/dev/null | grep -q 1; then
        sqlite3 "$1/catalog.db" "DELETE FROM nonces;"
    fi
}
# warm_catalog DIR [POSTGRES_URL]: reads the catalog's files (SQLite: DIR/catalog*; PostgreSQL: the
# database's tables and indexes, by pg_prewarm's `read` mode) into the page cache. Machines of this
# kind page out file pages left unread for about a minute (a DAMON `pageout` scheme run by
# kdamond: /sys/kernel/mm/damon/admin/kdamonds/0, age >= 12 intervals of 5 s), so a run following
# others would start on a catalog partly on disk; a catalog in service is not (bench/results.md,
# 2026-12-05T21:55Z).
warm_catalog() {
    if [[ -n ${2:-} ]]; then
        psql "$2" -X -q -At -v ON_ERROR_STOP=1 -c "CREATE EXTENSION IF NOT EXISTS pg_prewarm" \
            -c "SELECT sum(pg_prewarm(c.oid::regclass, 'read')) FROM pg_class c
                WHERE c.relkind IN ('r', 'i') AND c.relnamespace = 'public'::regnamespace" >/dev/null ||
            say "pg_prewarm unavailable: $2 may be read from disk in the first seconds"
    else
        cat "$1"/catalog* >/dev/null
    fi
}
# The catalogs bench/run-scale.sh seeds (bench/sustained.sh reuses them): instances per shape,
# the PostgreSQL server and the database of a shape.
declare -A INSTANCES=([1k]=10 [1m]=10000 [10m]=10000)
PG_SERVER=${PG_SERVER:-postgres://postgres@127.0.0.1:5432}
pg_db() { echo "xbak_bench_$1"; }
# fresh_pg_catalog DIR URL: the PostgreSQL catalog at URL without nonce claims left by earlier
# runs, and in PostgreSQL's buffers. Truncated, not deleted: millions of deleted claims left in the
# table and its index until a vacuum slowed the next runs' claims (bench/results.md,
# 2026-12-07T18:09:37Z).
fresh_pg_catalog() {
    psql "$2" -X -q -At -v ON_ERROR_STOP=1 -c "TRUNCATE nonce_claims"
    warm_catalog "$1" "$2"
}
# fresh_catalog BACKEND SHAPE DIR: no nonce claims left by earlier runs, and the catalog in the
# page cache.
fresh_catalog() {
    if [[ $1 == postgres ]]; then
        fresh_pg_catalog "$3" "$PG_SERVER/$(pg_db "$2")"
    else
        forget_nonces "$3"
        warm_catalog "$3"
    fi
}
# pg_backends URL: the pids of the PostgreSQL backends connected to URL's database (but this
# query's own), whose CPU counts as the server's.
pg_backends() {
    psql "$1" -X -q -At -c "SELECT pid FROM pg_stat_activity
        WHERE datname = current_database() AND pid <> pg_backend_pid()" | tr '\n' ' '
}
loadavg() { cut -d' ' -f1-3 /proc/loadavg; }
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_port() {
    for _ in $(seq 1 300); do
        (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0
        sleep 0.1
    done
    echo "nothing listens on 127.0.0.1:$1" >&2
    return 1
}
# utime+stime (clock ticks) of the given pids.
cpu_ticks() {
    local t=0 f
    for p in "$@"; do
        read -r -a f <"/proc/$p/stat"
        t=$((t + f[13] + f[14]))
    done
    echo "$t"
}
status_kb() { awk -v k="$2:" '$1 == k { print $2 }' "/proc/$1/status"; }
# Samples RssAnon/RssFile of $1 every 0.2 s until $2.stop exists; writes "max_anon max_file last_anon" to $2.
sample_mem() {
    local pid=$1 out=$2 k v _ a=0 f=0 ma=0 mf=0
    while [[ ! -e $out.stop && -e /proc/$pid/status ]]; do
        while read -r k v _; do
            case $k in RssAnon:) a=$v ;; RssFile:) f=$v ;; esac
        done <"/proc/$pid/status"
        ((a > ma)) && ma=$a
        ((f > mf)) && mf=$f
        echo "$ma $mf $a" >"$out"
        sleep 0.2
    done
}
# field NAME TEXT: the value of NAME=value in TEXT (its last line that has one).
field() { sed -n "s/.*\b$1=\([^ ]*\).*/\1/p" <<<"$2" | tail -1; }
stop() {
    kill "$1" 2>/dev/null || true
    wait "$1" 2>/dev/null || true
    local keep=()
    for p in "${STARTED[@]}"; do [[ $p == "$1" ]] || keep+=("$p"); done
    STARTED=("${keep[@]}")
}


# Path of nginx, installed from the distribution if missing.
need_nginx() {
    if ! command -v nginx >/dev/null; then
        say "apt-get install -y nginx"
        DEBIAN_FRONTEND=noninteractive apt-get install -y nginx >&2
    fi
    command -v nginx
}

# start_nginx DIR LABEL WORKER_PROCESSES PORT ROOT: nginx serving ROOT's files on 127.0.0.1:PORT
# (config, pid and logs in DIR); sets NGINX_PID (also in STARTED) and waits for the port.
start_nginx() {
    local ngx=$1 label=$2 workers=$3 port=$4 www=$5
    mkdir -p "$ngx/tmp"
    cat >"$ngx/nginx-$label.conf" <<NGX
# bench/: nginx serving one xbak response as a static file (127.0.0.1 only).
user $(id -un) $(id -gn);
worker_processes $workers;
daemon off;
master_process on;
pid $ngx/nginx-$label.pid;
error_log $ngx/error-$label.log warn;
events { worker_connections 1024; }
http {
    access_log off;
    sendfile on;
    tcp_nopush on;
    keepalive_timeout 65;
    keepalive_requests 100000000;
    client_body_temp_path $ngx/tmp/body;
    proxy_temp_path $ngx/tmp/proxy;
    fastcgi_temp_path $ngx/tmp/fastcgi;
    uwsgi_temp_path $ngx/tmp/uwsgi;
    scgi_temp_path $ngx/tmp/scgi;
    types { application/json json; }
    server {
        listen 127.0.0.1:$port;
        root $www;
    }
}
NGX
    "$(command -v nginx)" -c "$ngx/nginx-$label.conf" -p "$ngx" 2>>"$ngx/error-$label.log" &
    NGINX_PID=$!
    STARTED+=("$NGINX_PID")
    wait_port "$port"
}
# record_load LABEL OUT N C0 C1: the load generator's figures in OUT (N requests), and the
# server's CPU ticks C0..C1 per request, into the result tables under LABEL.
record_load() {
    local label=$1 out=$2 n=$3 c0=$4 c1=$5
    RPS[$label]=$(field rps "$out")
    P50[$label]=$(field p50_ms "$out")
    P99[$label]=$(field p99_ms "$out")
    MAXL[$label]=$(field max_ms "$out")
    BYTES[$label]=$(field bytes_per_response "$out")
    CPU_US[$label]=$(( (c1 - c0) * 1000000 / HZ / (n > 0 ? n : 1) ))
    CLIENT_US[$label]=$(python3 -c "print(round(($(field client_cpu_s "$out"))*1e6/max($n,1)))")
}
# bench_instance ID DSN [POLICY FLAGS...]: regions cn-hangzhou and cn-shanghai, an account and the
# MariaDB 10.11 instance ID (backed up from DSN) in $XBAK's catalog, copied to cn-shanghai.
bench_instance() {
    local id=$1 dsn=$2
    shift 2
    "$XBAK" region add cn-hangzhou >/dev/null
    "$XBAK" region add cn-shanghai >/dev/null
    "$XBAK" account create bench >/dev/null
    "$XBAK" instance create "$id" --region cn-hangzhou --account bench --engine MariaDB \
        --engine-version 10.11 --category HighAvailability --storage-type local_ssd \
        --instance-number 1 --dsn "$dsn" >/dev/null
    "$XBAK" policy set "$id" --cross-region cn-shanghai "$@" >/dev/null
}
