#!/usr/bin/env bash
# One cross-region copy of a 1 GiB backup set between two local folders: `xbak replicate --once`
# (streams source -> destination staging with SHA-256 on the fly, reads the staged bytes back and
# compares their SHA-256 with the one recorded at registration, publishes) against `rclone copy`
# of the same file between two local folders, and `cp` + `sha256sum` of the copy as a floor (and
# `cp` alone, unverified).
# Runs are interleaved, the page cache is dropped before each (when allowed). Appends a dated
# entry to bench/results.md.
#
#   bench/run-copy.sh
#
# Environment (all optional): BENCH_DIR=target/bench  RUNS=3  SIZE_MIB=1024  NO_BUILD=1  KEEP=1
# (KEEP keeps the xbak data dir and copies; the random source file is always kept for reuse)
# RESULTS=bench/results.md  CARGO_TARGET_DIR (where xbak is built/found)  CODE (names the code measured)
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
BENCH_DIR=${BENCH_DIR:-$ROOT/target/bench}
mkdir -p "$BENCH_DIR/copy"
DIR=$(cd "$BENCH_DIR/copy" && pwd)
RUNS=${RUNS:-3}
SIZE_MIB=${SIZE_MIB:-1024}
RESULTS=${RESULTS:-$ROOT/bench/results.md}
XBAK=${CARGO_TARGET_DIR:-$ROOT/target}/release/xbak
# The code measured: HEAD, and whether the tree differs from it beyond this results file (which
# a session's earlier runs leave changed).
CODE=${CODE:-$(git rev-parse --short HEAD 2>/dev/null)$(git diff --quiet HEAD -- . ':!bench/results.md' 2>/dev/null || echo ' + uncommitted changes')}
SRC=$DIR/backup-${SIZE_MIB}m.bin
BYTES=$((SIZE_MIB * 1024 * 1024))

say() { echo "== $*" >&2; }
loadavg() { cut -d' ' -f1-3 /proc/loadavg; }
now() { date +%s.%N; }
mbps() { python3 -c "print(f'{$BYTES/1e6/($2-$1):.0f}')"; }
secs() { python3 -c "print(f'{$2-$1:.2f}')"; }
DROP="page cache dropped before each run (sync; echo 3 > /proc/sys/vm/drop_caches)"
drop_caches() {
    sync
    if ! { echo 3 >/proc/sys/vm/drop_caches; } 2>/dev/null; then
        DROP="page cache NOT dropped (no permission): sources may be read from memory"
    fi
}

if [[ -z ${NO_BUILD:-} ]]; then
    say "cargo build --release -p xbak"
    cargo build --release -p xbak
fi
if ! command -v rclone >/dev/null; then
    say "apt-get install -y rclone"
    DEBIAN_FRONTEND=noninteractive apt-get install -y rclone >&2
fi

if [[ ! -f $SRC || $(stat -c %s "$SRC") != "$BYTES" ]]; then
    say "making $SRC ($SIZE_MIB MiB of random bytes)"
    head -c "$BYTES" /dev/urandom >"$SRC.tmp"
    mv "$SRC.tmp" "$SRC"
    rm -f "$SRC.sha256"
fi
[[ -f $SRC.sha256 ]] || sha256sum "$SRC" | cut -d' ' -f1 >"$SRC.sha256"
SHA=$(cat "$SRC.sha256")

# xbak: a fresh data dir with two local regions, an instance with a cross-region policy.
DATA=$DIR/xbak-data
rm -rf "$DATA"
x() { "$XBAK" --data-dir "$DATA" "$@"; }
say "xbak setup in $DATA"
x region add cn-hangzhou >&2
x region add cn-shanghai >&2
x account create copybench --json >/dev/null
x instance create rm-copybench --region cn-hangzhou --account copybench --engine MySQL --engine-version 5.7 \
    --category HighAvailability --storage-type local_ssd >&2
x policy set rm-copybench --cross-region cn-shanghai >&2

export RCLONE_CONFIG=$DIR/rclone.conf
: >"$RCLONE_CONFIG"
declare -a ROWS
for i in $(seq 1 "$RUNS"); do
    # --- xbak replicate --once ------------------------------------------------------------
    say "run $i: xbak backup register (not timed)"
    x backup register rm-copybench --file "$SRC" --method P --type F \
        --start "2026-01-0${i}T00:00:00Z" --end "2026-01-0${i}T00:10:00Z" --consistent "2026-01-0${i}T00:10:00Z" >&2
    drop_caches
    load=$(loadavg)
    say "run $i: xbak replicate --once (load $load)"
    t0=$(now)
    out=$( { /usr/bin/time -f 'cpu_s=%U+%S' "$XBAK" --data-dir "$DATA" replicate --once; } 2>&1 )
    t1=$(now)
    echo "$out" >&2
    grep -q '^1 copies completed' <<<"$out" || { echo "xbak replicate did not complete one copy" >&2; exit 1; }
    cpu=$(python3 -c "print(f'{$(sed -n 's/.*cpu_s=\([0-9.+]*\).*/\1/p' <<<"$out"):.2f}')")
    own=$(sed -n 's/.*verified (\([0-9.]*\) MB\/s).*/\1/p' <<<"$out")
    ROWS+=("| $i | xbak replicate --once | $(secs "$t0" "$t1") | $(mbps "$t0" "$t1") | $cpu | $load | copy+read-back SHA-256 vs recorded, atomic publish; xbak's own figure ${own} MB/s (excludes process start/catalog) |")

    # --- rclone copy ------------------------------------------------------------------------
    dst=$DIR/rclone-dst
    rm -rf "$dst"
    mkdir -p "$dst"
    drop_caches
    load=$(loadavg)
    say "run $i: rclone copy (load $load)"
    verbose=()
    if [[ $i == 1 ]]; then
        verbose=(-vv --log-file "$DIR/rclone-vv.log")
        rm -f "$DIR/rclone-vv.log"
    fi
    t0=$(now)
    out=$( { /usr/bin/time -f 'cpu_s=%U+%S' rclone copy "${verbose[@]}" "$SRC" "$dst/"; } 2>&1 )
    t1=$(now)
    [[ $(stat -c %s "$dst/$(basename "$SRC")") == "$BYTES" ]] || { echo "rclone copy is incomplete" >&2; exit 1; }
    cpu=$(python3 -c "print(f'{$(sed -n 's/.*cpu_s=\([0-9.+]*\).*/\1/p' <<<"$out"):.2f}')")
    ROWS+=("| $i | rclone copy | $(secs "$t0" "$t1") | $(mbps "$t0" "$t1") | $cpu | $load | default flags (see below for what it checks) |")

    # --- cp + sha256sum ---------------------------------------------------------------------
    dst=$DIR/cp-dst.bin
    rm -f "$dst"
    drop_caches
    load=$(loadavg)
    say "run $i: cp + sha256sum (load $load)"
    t0=$(now)
    out=$( { /usr/bin/time -f 'cpu_s=%U+%S' bash -c "cp '$SRC' '$dst' && sha256sum '$dst'"; } 2>&1 )
    t1=$(now)
    grep -q "^$SHA " <<<"$out" || { echo "cp + sha256sum: checksum mismatch" >&2; exit 1; }
    cpu=$(python3 -c "print(f'{$(sed -n 's/.*cpu_s=\([0-9.+]*\).*/\1/p' <<<"$out"):.2f}')")
    ROWS+=("| $i | cp + sha256sum | $(secs "$t0" "$t1") | $(mbps "$t0" "$t1") | $cpu | $load | read-back of the copy (from page cache) vs the known hash |")
    rm -f "$dst"

    # --- cp alone (no verification: the lower bound of any copy) ----------------------------
    drop_caches
    load=$(loadavg)
    say "run $i: cp (load $load)"
    t0=$(now)
    out=$( { /usr/bin/time -f 'cpu_s=%U+%S' cp "$SRC" "$dst"; } 2>&1 )
    t1=$(now)
    cpu=$(python3 -c "print(f'{$(sed -n 's/.*cpu_s=\([0-9.+]*\).*/\1/p' <<<"$out"):.2f}')")
    ROWS+=("| $i | cp (no verification) | $(secs "$t0" "$t1") | $(mbps "$t0" "$t1") | $cpu | $load | none |")
    rm -f "$dst"
done

RCLONE_CHECKS=$(grep -iE 'hash|md5|sha1|size|modtime|Copied' "$DIR/rclone-vv.log" 2>/dev/null | sed -E 's/^[0-9/]+ [0-9:]+ //' | sort -u | head -8 || true)
{
    echo
    echo "## $(date -u +%Y-%m-%dT%H:%M:%SZ) — copy of a ${SIZE_MIB} MiB backup set between two local folders (bench/run-copy.sh)"
    echo
    echo "- Machine: $(nproc) CPUs, $(sed -n 's/^model name\s*: //p' /proc/cpuinfo | head -1) ($(grep -qw sha_ni /proc/cpuinfo && echo 'SHA-NI' || echo 'no SHA-NI')), $(df -h --output=source,fstype "$DIR" | tail -1 | tr -s ' ') for all folders; shared with other builds/tests (noisy)."
    echo "- Code: $CODE; $(rclone version | head -1)."
    echo "- $DROP; runs interleaved. Seconds are wall time of the whole command (process start included); MB = 10^6 bytes; CPU = user+sys seconds."
    echo "- xbak: \`xbak --data-dir D replicate --once\` after \`xbak backup register rm-copybench --file SRC …\` (not timed) on an instance"
    echo "  with \`policy set --cross-region cn-shanghai\`; regions are \`file://\` folders under D. rclone: \`rclone copy SRC DST/\` (empty config)."
    echo "  cp: \`cp SRC DST && sha256sum DST\` compared with the source's known SHA-256."
    echo
    echo "| run | tool | seconds | MB/s | CPU s | load avg | verification |"
    echo "|---|---|---|---|---|---|---|"
    printf '%s\n' "${ROWS[@]}"
    echo
    echo "rclone -vv (run 1), lines about checks:"
    echo
    echo '```'
    echo "$RCLONE_CHECKS"
    echo '```'
} | tee -a "$RESULTS"

[[ -n ${KEEP:-} ]] || rm -rf "$DATA" "$DIR/rclone-dst"
