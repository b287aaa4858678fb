# Shared by the bench/*.sh scripts (sourced from the repository root): where things are, and small
# helpers. Environment: BENCH_DIR (default target/bench), CARGO_TARGET_DIR, RESULTS, CODE.
ROOT=$PWD
BENCH_DIR=${BENCH_DIR:-$ROOT/target/bench}
TARGET=${CARGO_TARGET_DIR:-$ROOT/target}
XBAK=$TARGET/release/xbak
LOADGEN=$TARGET/release/xbak-loadgen
CODE=${CODE:-$(git rev-parse --short HEAD 2>/dev/null)$(git diff --quiet HEAD -- 2>/dev/null || echo ' + uncommitted changes')}
RESULTS=${RESULTS:-$ROOT/bench/results.md}
mkdir -p "$BENCH_DIR"
BENCH_DIR=$(cd "$BENCH_DIR" && pwd)

say() { echo "== $*" >&2; }
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
# field NAME TEXT: the value of NAME=value in TEXT (its last line that has one).
field() { sed -n "s/.*\b$1=\([^ ]*\).*/\1/p" <<<"$2" | tail -1; }
