#!/usr/bin/env bash
# Recovery point: under a steady write load on a MariaDB source (one-row transactions, RATE per
# second, for SECONDS), the time from each commit to the moment the catalog records its binlog
# bytes durable in the instance's region (the streamer of `xbak worker` with its defaults: tail
# stored at least every 5 s) and in the destination region (the open file's segments and the
# closed files copied by the same worker, every flush interval). Issue 10's target: p99 <= 15 s to
# the destination.
#
#   bench/binlog-lag.sh                 RATE=200 SECONDS_=60 NO_BUILD=1 (release binary as is)
#
# Starts its own mariadbd (--log-bin, --max-binlog-size=1M so files also rotate) on a free port,
# writes with the `mariadb` client, one statement every 1/RATE s (each INSERT stores NOW(6), its
# commit time to within the statement), and reads the catalog every 0.2 s: the stream's durable
# position and GTID, and the destination's newest log file and its size. Transaction k of the
# load is GTID sequence base+k (only the load writes), so each row's durable time in the
# instance's region is the first poll that shows a sequence at or past it; in the destination,
# the first poll whose newest file reaches a position the stream was seen at with such a GTID
# (segments end where the stream recorded its position; a closed copy reaches the next file's
# start). Appends a row to bench/results.md.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
source bench/lib.sh
RATE=${RATE:-200}
SECONDS_=${SECONDS_:-60}
release_build xbak

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

# The durable position in both regions, every 0.2 s, with the poll's time:
# `t source_file source_offset source_seq dest_file dest_state dest_size`.
python3 - "$XBAK_DATA_DIR/catalog.db" >"$W/polls" <<'EOF' &
import sqlite3, sys, time
db = sqlite3.connect(f"file:{sys.argv[1]}?mode=ro", uri=True)
while True:
    try:
        src = db.execute("SELECT file, file_offset, gtid_state FROM binlog_streams").fetchone()
        dst = db.execute("SELECT file_name, state, size FROM log_files WHERE region_id = 'cn-shanghai'"
                         " ORDER BY sequence DESC LIMIT 1").fetchone()
    except sqlite3.OperationalError:
        src = dst = None
    if src and src[0] and src[2]:
        seq = src[2].split(",")[0].split("-")[-1]
        d = dst or ("-", "-", 0)
        print(time.time(), src[0], src[1], seq, d[0], d[1], d[2], flush=True)
    time.sleep(0.2)
EOF
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
for _ in $(seq 1 300); do # until the last commit is durable in the source (at most 60 s)
    last=$(tail -1 "$W/polls" | cut -d' ' -f4)
    [ -n "$last" ] && [ "$last" -ge "$END" ] && break
    sleep 0.2
done
sleep 15 # and the destination's last copy round
sql -e "SELECT id, UNIX_TIMESTAMP(at) FROM shop.t ORDER BY id" >"$W/commits"
FILES=$(sql -e "SHOW BINARY LOGS" | wc -l)

STATS=$(python3 - "$W/commits" "$W/polls" "$BASE" <<'EOF'
import sys, bisect
commits = [l.split() for l in open(sys.argv[1])]
polls = [l.split() for l in open(sys.argv[2])]
base = int(sys.argv[3])
seq_of_file = lambda name: int(name.rsplit(".", 1)[1])
# Every position the stream was seen at, with its GTID sequence.
seen = sorted({((seq_of_file(p[1]), int(p[2])), int(p[3])) for p in polls})
positions = [s[0] for s in seen]
def durable_in_dest(p):
    if p[4] == "-":
        return -1
    f = seq_of_file(p[4])
    reach = (f + 1, 4) if p[5] == "closed" else (f, int(p[6]))
    i = bisect.bisect_right(positions, reach)
    return seen[i - 1][1] if i else -1
def lags(durable):
    # the durable sequence only grows: each commit's time is the first poll at or past it
    best, m = [], -1
    for p in polls:
        m = max(m, durable(p))
        best.append((float(p[0]), m))
    maxes = [b[1] for b in best]
    out = []
    for id_, at in commits:
        i = bisect.bisect_left(maxes, base + int(id_))
        if i == len(best):
            return None
        out.append(best[i][0] - float(at))
    out.sort()
    q = lambda x: out[min(len(out) - 1, int(x * len(out)))]
    return f"{q(0.5):.2f} {q(0.99):.2f} {out[-1]:.2f}"
src = lags(lambda p: int(p[3]))
dst = lags(durable_in_dest)
if src is None:
    print("a commit never became durable in the instance's region", file=sys.stderr); sys.exit(1)
print(len(commits), src, dst or "never never never")
EOF
)
read -r ROWS P50 P99 MAX D50 D99 DMAX <<<"$STATS"
say "rows=$ROWS rate=$ACHIEVED/s source p50=${P50}s p99=${P99}s max=${MAX}s; destination p50=${D50}s p99=${D99}s max=${DMAX}s; binlog files=$FILES"
{
    echo
    echo "### Binlog recovery point in the source and destination regions — $(date -u +%Y-%m-%dT%H:%MZ)"
    echo
    echo "- Command: \`NO_BUILD=${NO_BUILD:-} RATE=$RATE SECONDS_=$SECONDS_ bench/binlog-lag.sh\`; code $CODE; release build."
    echo "- Machine: $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo); load before: $(loadavg)."
    echo "- Load: $WROTE one-row transactions ($ACHIEVED/s achieved, target $RATE/s; each written to the client at its time) on a scratch MariaDB $(sql -e 'SELECT VERSION()'), $FILES binlog files (1 MiB each)."
    echo "- Commit → durable in the instance's region (catalog position, polled every 0.2 s): p50 ${P50} s, p99 ${P99} s, max ${MAX} s over $ROWS commits."
    echo "- Commit → durable in the destination region (its newest log file's copied size against the positions the stream recorded): p50 ${D50} s, p99 ${D99} s, max ${DMAX} s (target p99 <= 15 s)."
} >>"$RESULTS"
