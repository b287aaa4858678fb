#!/usr/bin/env bash
# The data-set backup window of a physical backup: from `xbak backup run --method P` starting
# to the set being durable in its region and its cross-region copy queued (the CLI prints
# "published after X s"; the row counts and checksums are read after that), against plain
# `mariabackup --backup --stream=xbstream > file` on the same data, alternated, RUNS each.
#   SCALE=5 bash bench/make-backup-data.sh     # once: ~1.2 GiB in xbak_bench on 127.0.0.1:3306
#   bench/physical-window.sh [XBAK_BINARY]     # default target/release/xbak
# Prints a Markdown table and the ratio of the medians (target: <= 1.3).
set -euo pipefail
# shellcheck source=bench/lib.sh
source bench/lib.sh
XBAK=$(realpath "${1:-$XBAK}")
RUNS=${RUNS:-5}
W=$(mktemp -d /tmp/xbak-window.XXXXXX)
trap 'cleanup; rm -rf "$W"' EXIT
export XBAK_DATA_DIR=$W/data
now() { date +%s.%N; }

bench_instance rm-bench mysql://root@127.0.0.1:3306
say "data: $(mariadb -uroot -h127.0.0.1 -N -e "SELECT ROUND(SUM(data_length+index_length)/1048576) FROM information_schema.tables WHERE table_schema='xbak_bench'") MiB of InnoDB data+indexes in xbak_bench, load $(loadavg)"

plain=() durable=() published=() whole=()
for i in $(seq 1 "$RUNS"); do
    sync; rm -rf "$W/mbt" "$W/plain.xb"
    t0=$(now)
    mariabackup --backup --stream=xbstream --user=root --host=127.0.0.1 --target-dir="$W/mbt" \
        >"$W/plain.xb" 2>"$W/plain.err" || { cat "$W/plain.err" >&2; exit 1; }
    plain+=("$(printf '%.2f' "$(echo "$(now) - $t0" | bc)")")
    sync "$W/plain.xb" # fsync(2) of the file: what durability costs the plain tool (not in the ratio)
    durable+=("$(printf '%.2f' "$(echo "$(now) - $t0" | bc)")")
    size=$(stat -c %s "$W/plain.xb")
    rm -f "$W/plain.xb"
    sync
    t0=$(now)
    out=$("$XBAK" backup run rm-bench --method P 2>"$W/xbak.err") || { cat "$W/xbak.err" >&2; exit 1; }
    whole+=("$(printf '%.2f' "$(echo "$(now) - $t0" | bc)")")
    p=$(sed -n 's/^published after \([0-9.]*\) s.*/\1/p' <<<"$out")
    [[ -n $p ]] || { echo "no 'published after' line in: $out" >&2; exit 1; }
    published+=("$p")
    grep -q "copy .* queued" <<<"$out" || { echo "no copy queued: $out" >&2; exit 1; }
    say "run $i: plain ${plain[-1]} s ($size bytes), xbak published ${published[-1]} s, whole ${whole[-1]} s"
    # Keep the disk from filling: the set and its manifest go, the catalog keeps the row.
    rm -rf "$W/data/regions/cn-hangzhou/backups"
done
median() { printf '%s\n' "$@" | sort -n | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }
mp=$(median "${plain[@]}"); mx=$(median "${published[@]}"); mw=$(median "${whole[@]}")
echo "| what | runs (s) | median (s) |"
echo "|---|---|---|"
echo "| plain \`mariabackup --backup --stream=xbstream > file\` | ${plain[*]} | $mp |"
echo "| the same, then \`sync file\` (durable; not the baseline) | ${durable[*]} | $(median "${durable[@]}") |"
echo "| \`xbak backup run --method P\`: set durable, copy queued | ${published[*]} | $mx |"
echo "| \`xbak backup run --method P\`: whole run (checksums stored) | ${whole[*]} | $mw |"
echo
echo "ratio (published / plain, medians): $(echo "scale=2; $mx / $mp" | bc) (code $CODE, load $(loadavg))"
