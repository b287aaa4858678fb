#!/usr/bin/env bash
# Recovery point in the source region: under a steady write load on a MariaDB source (one-row
# transactions, RATE per second, for SECONDS), the time from each commit to the moment the
# catalog records its binlog bytes durable in the instance's region (the streamer of `xbak worker`
# with its defaults: tail stored at least every 5 s). Issue 10's target counts to the
# destination region (p99 <= 15 s); the cross-region log copy is not built yet, so this is the
# first half of that path.
#
#   bench/binlog-lag.sh                 RATE=200 SECONDS_=60 NO_BUILD=1 (release binary as is)
#
# Starts its own mariadbd (--log-bin, --max-binlog-size=1M so files also rotate) on a free port,
# writes with the `mariadb` client, one statement every 1/RATE s (each INSERT stores NOW(6), its
# commit time to within the statement), and polls `xbak backup runs` every 0.2 s for the durable
# GTID. Transaction k of the load is GTID sequence base+k (only the load writes), so each row's
# durable time is the first poll that shows a sequence at or past it. Appends a row to bench/results.md.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
source bench/lib.sh
RATE=${RATE:-200}
SECONDS_=${SECONDS_:-60}
if [ -z "${NO_BUILD:-}" ]; then
    say "cargo build --release -p xbak"
    cargo build --release -p xbak
fi

W=$(mktemp -d /tmp/xbak-binlog-lag.XXXXXX)
trap 'cleanup; rm -rf "$W"' EXIT
PORT=$(free_port)
mkdir -p "$W/tmp"
mariadb-install-db --no-defaults --datadir="$W/db" --tmpdir="$W/tmp" --user=root \
    --auth-root-authentication-method=normal --skip-test-db >"$W/install.log" 2>&1
mariadbd --no-defaults --datadir="$W/db" --tmpdir="$W/tmp" --port="$PORT" --socket="$W/sock" \
    --pid-file="$W/pid" --log-error="$W/error.log" --log-bin="$W/db/bin" --user=root \
    --bind-address=127.0.0.1 --skip-name-resolve --server-id=1 --binlog-format=ROW \
    --max-binlog-size=1M --innodb-buffer-pool-size=128M &
STARTED+=($!)
wait_port "$PORT"
sql() { mariadb --no-defaults -h127.0.0.1 -P"$PORT" -uroot -N -B "$@"; }
sql -e "CREATE DATABASE shop; CREATE TABLE shop.t (id BIGINT AUTO_INCREMENT PRIMARY KEY, at DATETIME(6) NOT NULL, v VARCHAR(200))"
BASE=$(sql -e "SELECT SUBSTRING_INDEX(@@gtid_binlog_pos, '-', -1)")

export XBAK_DATA_DIR=$W/data
x() { "$XBAK" "$@"; }
bench_instance rm-lag "mysql://root@127.0.0.1:$PORT" --log-backup
RUST_LOG=warn x worker >"$W/worker.log" 2>&1 &
STARTED+=($!)

# The durable GTID sequence, every 0.2 s, with the poll's time.
(
    while :; do
        t=$(date +%s.%N)
        g=$(x backup runs rm-lag 2>/dev/null | sed -n 's/^log backup: .*(GTID [0-9]*-[0-9]*-\([0-9]*\))$/\1/p')
        [ -n "$g" ] && echo "$t $g"
        sleep 0.2
    done
) >"$W/polls" &
STARTED+=($!)

say "writing $RATE one-row transactions/s for $SECONDS_ s on 127.0.0.1:$PORT"
N=$((RATE * SECONDS_))
T0=$(date +%s.%N)
# Each statement written at its time (t0 + i/RATE): the client runs it as it arrives.
python3 -c "
import sys, time
t0 = time.time()
for i in range($N):
    delay = t0 + i / $RATE - time.time()
    if delay > 0:
        time.sleep(delay)
    sys.stdout.write(\"INSERT INTO shop.t (at, v) VALUES (NOW(6), REPEAT('x', 100));\\n\")
    sys.stdout.flush()
" | sql
ACHIEVED=$(python3 -c "print(round($N / ($(date +%s.%N) - $T0)))")
END=$(sql -e "SELECT SUBSTRING_INDEX(@@gtid_binlog_pos, '-', -1)")
WROTE=$((END - BASE))
for _ in $(seq 1 300); do # until the last commit is durable (at most 60 s)
    last=$(tail -1 "$W/polls" | cut -d' ' -f2)
    [ -n "$last" ] && [ "$last" -ge "$END" ] && break
    sleep 0.2
done
sql -e "SELECT id, UNIX_TIMESTAMP(at) FROM shop.t ORDER BY id" >"$W/commits"
FILES=$(sql -e "SHOW BINARY LOGS" | wc -l)

STATS=$(python3 - "$W/commits" "$W/polls" "$BASE" <<'EOF'
import sys, bisect
commits = [l.split() for l in open(sys.argv[1])]
polls = [tuple(map(float, l.split())) for l in open(sys.argv[2])]
base = int(sys.argv[3])
# durable sequence only grows: first poll with seq >= base + id
seqs = [p[1] for p in polls]
best = []
m = -1
for t, s in polls:
    m = max(m, s)
    best.append((t, m))
maxes = [b[1] for b in best]
lags = []
for id_, at in commits:
    i = bisect.bisect_left(maxes, base + int(id_))
    if i == len(best):
        print("never durable: row", id_, file=sys.stderr); sys.exit(1)
    lags.append(best[i][0] - float(at))
lags.sort()
q = lambda p: lags[min(len(lags) - 1, int(p * len(lags)))]
print(f"{len(lags)} {q(0.5):.2f} {q(0.99):.2f} {lags[-1]:.2f}")
EOF
)
read -r ROWS P50 P99 MAX <<<"$STATS"
say "rows=$ROWS rate=$ACHIEVED/s p50=${P50}s p99=${P99}s max=${MAX}s binlog files=$FILES"
{
    echo
    echo "### Binlog recovery point in the source region — $(date -u +%Y-%m-%dT%H:%MZ)"
    echo
    echo "- Command: \`NO_BUILD=${NO_BUILD:-} RATE=$RATE SECONDS_=$SECONDS_ bench/binlog-lag.sh\`; code $CODE; release build."
    echo "- Machine: $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo); load before: $(loadavg)."
    echo "- Load: $WROTE one-row transactions ($ACHIEVED/s achieved, target $RATE/s; each written to the client at its time) on a scratch MariaDB $(sql -e 'SELECT VERSION()'), $FILES binlog files (1 MiB each)."
    echo "- Commit → durable in the instance's region (catalog position, polled every 0.2 s): p50 ${P50} s, p99 ${P99} s, max ${MAX} s over $ROWS commits."
} >>"$RESULTS"
