#!/usr/bin/env bash
# Backup and restore times of xbak against the plain tools on the same data, 3 runs each.
#   bench/backup-restore.sh [XBAK_BINARY]      (default target/release/xbak)
# Needs the MariaDB on 127.0.0.1:3306 holding the data to back up (e.g. the `xbak_bench`
# database made by bench/make-backup-data.sh) and the tools of .ci/db-tools.sh. Writes into a
# temp dir; prints a Markdown table. Plain baselines:
#   logical backup : mariadb-dump (same flags as xbak) | gzip -6 > file
#   physical backup: mariabackup --backup --stream=xbstream > file
#   logical restore: gunzip -c file | mariadb   (into a running scratch server)
#   physical restore: mbstream -x -C dir < file && mariabackup --prepare --target-dir=dir
set -euo pipefail
# shellcheck source=bench/lib.sh
source bench/lib.sh
XBAK=${1:-target/release/xbak}
XBAK=$(realpath "$XBAK")
RUNS=${RUNS:-3}
W=$(mktemp -d /tmp/xbak-bench.XXXXXX)
trap '[ -f "$W/scratch.pid" ] && kill "$(cat "$W/scratch.pid")" 2>/dev/null; rm -rf "$W"' EXIT
export XBAK_DATA_DIR=$W/data
now() { date +%s.%N; }
since() { echo "$(now) - $1" | bc; }
x() { "$XBAK" "$@"; }

bench_instance rm-bench mysql://root@127.0.0.1:3306

DUMP_FLAGS="--single-transaction --quick --routines --events --triggers --hex-blob --max-allowed-packet=1G --all-databases"
declare -A T
row() { printf '| %s | %s | %s |\n' "${1//|/\\|}" "$2" "$3"; }
measure() { # name, command...
  local name=$1; shift
  local all=()
  for i in $(seq 1 "$RUNS"); do
    sync; local t0; t0=$(now)
    "$@" >/dev/null 2>"$W/last.err" || { cat "$W/last.err" >&2; exit 1; }
    all+=("$(printf '%.2f' "$(since "$t0")")")
  done
  T[$name]="${all[*]}"
}

echo "data: $(mariadb -uroot -h127.0.0.1 -N -e "SELECT ROUND(SUM(data_length+index_length)/1048576) FROM information_schema.tables WHERE table_schema NOT IN ('mysql','sys','information_schema','performance_schema')") MiB of InnoDB data+indexes" >&2

# --- backups ---
measure "plain mariadb-dump | gzip" bash -c "mariadb-dump -uroot -h127.0.0.1 $DUMP_FLAGS | gzip -6 > $W/plain.sql.gz"
measure "xbak backup run --method L" x backup run rm-bench --method L
measure "plain mariabackup --stream > file" bash -c "rm -rf $W/mbt; mariabackup --backup --stream=xbstream --user=root --host=127.0.0.1 --target-dir=$W/mbt > $W/plain.xb"
measure "xbak backup run --method P" x backup run rm-bench --method P
ls -l "$W/plain.sql.gz" "$W/plain.xb" >&2
x backup runs rm-bench >&2
x replicate --once >&2

# --- restores ---
mariadb-install-db --no-defaults --datadir="$W/scratch" --user=root --auth-root-authentication-method=normal --skip-test-db >/dev/null 2>&1
PORT=$(python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])')
/usr/sbin/mariadbd --no-defaults --datadir="$W/scratch" --port="$PORT" --bind-address=127.0.0.1 \
  --socket="$W/scratch.sock" --pid-file="$W/scratch.pid" --user=root --skip-log-bin \
  --innodb-buffer-pool-size=256M --max-allowed-packet=1G --log-error="$W/scratch.err" &
for _ in $(seq 1 60); do mariadb -uroot -h127.0.0.1 -P"$PORT" -e 'SELECT 1' >/dev/null 2>&1 && break; sleep 0.5; done
L_COPY=$(x backup runs rm-bench | awk '$3=="L/F" && $4=="completed" {print $5}' | tail -1)
P_COPY=$(x backup runs rm-bench | awk '$3=="P/F" && $4=="completed" {print $5}' | tail -1)
# copy ids equal set ids here: one copy per set, queued in order
measure "plain gunzip | mariadb" bash -c "gunzip -c $W/plain.sql.gz | mariadb -uroot -h127.0.0.1 -P$PORT --binary-mode --max-allowed-packet=1G"
measure "xbak restore --target (+verify)" x restore "$L_COPY" --region cn-shanghai --target "mysql://root@127.0.0.1:$PORT"
x restore "$L_COPY" --region cn-shanghai --target "mysql://root@127.0.0.1:$PORT" | tail -1 >&2
measure "plain mbstream -x + --prepare" bash -c "rm -rf $W/pr && mkdir $W/pr && mbstream -x -C $W/pr < $W/plain.xb && mariabackup --prepare --target-dir=$W/pr"
measure "xbak restore --datadir (+verify)" bash -c "rm -rf $W/xr && $XBAK restore $P_COPY --region cn-shanghai --datadir $W/xr"
rm -rf "$W/xr"; x restore "$P_COPY" --region cn-shanghai --datadir "$W/xr" | grep -E '^restored|^verified' >&2

echo "| what | runs (s) | best (s) |"
echo "|---|---|---|"
for k in "plain mariadb-dump | gzip" "xbak backup run --method L" "plain mariabackup --stream > file" "xbak backup run --method P" \
         "plain gunzip | mariadb" "xbak restore --target (+verify)" "plain mbstream -x + --prepare" "xbak restore --datadir (+verify)"; do
  best=$(tr ' ' '\n' <<<"${T[$k]}" | sort -n | head -1)
  row "$k" "${T[$k]}" "$best"
done
