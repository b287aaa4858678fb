#!/usr/bin/env bash
# A real S3-compatible server on loopback for the tests of S3 regions: moto (`moto[server]` from
# PyPI, pinned by .ci/s3-server.constraints.txt) in a venv under target/s3-server/.
#
#   bash .ci/s3-server.sh start   # install if needed, start (or reuse) it, print the export line
#   bash .ci/s3-server.sh env     # print the export line of the running server (fails if none)
#   bash .ci/s3-server.sh stop    # stop it and delete its spooled objects
#
# Tests read the endpoint from XBAK_TEST_S3_ENDPOINT (http://127.0.0.1:PORT) and fail when it
# is unset: `eval "$(bash .ci/s3-server.sh start)"` before `cargo test`. Idempotent: start
# reuses a live server, stop is quiet when none runs. Only 127.0.0.1 is ever bound.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
DIR="$ROOT/target/s3-server"
VENV="$DIR/venv"
PIDFILE="$DIR/pid"
PORTFILE="$DIR/port"
PY="${PYTHON:-python3}"
CONSTRAINTS="$ROOT/.ci/s3-server.constraints.txt"
WANT="moto[server]==5.2.5"

log() { echo "s3-server: $*" >&2; }

alive() {
  [[ -f "$PIDFILE" && -f "$PORTFILE" ]] || return 1
  kill -0 "$(cat "$PIDFILE")" 2>/dev/null || return 1
  curl -s -o /dev/null --max-time 2 "http://127.0.0.1:$(cat "$PORTFILE")/" 2>/dev/null
}

install() {
  local stamp="$VENV/.xbak-stamp" want
  want="$(echo "$WANT" | cat - "$CONSTRAINTS" | sha256sum | cut -d' ' -f1)"
  if [[ -x "$VENV/bin/moto_server" && -f "$stamp" && "$(cat "$stamp")" == "$want" ]]; then
    return
  fi
  log "installing $WANT into $VENV"
  rm -rf "$VENV"
  mkdir -p "$DIR"
  "$PY" -m venv "$VENV"
  "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check "$WANT" -c "$CONSTRAINTS"
  echo "$want" > "$stamp"
}

free_port() {
  "$PY" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

start() {
  if alive; then
    log "reusing the server on port $(cat "$PORTFILE")"
  else
    install
    mkdir -p "$DIR/tmp"
    local port; port="$(free_port)"
    # Objects above ~5 MB are spooled to files: keep them under target/, removed by stop.
    TMPDIR="$DIR/tmp" nohup "$VENV/bin/moto_server" -H 127.0.0.1 -p "$port" \
      >"$DIR/server.log" 2>&1 </dev/null &
    echo $! > "$PIDFILE"
    echo "$port" > "$PORTFILE"
    for _ in $(seq 1 100); do
      alive && break
      kill -0 "$(cat "$PIDFILE")" 2>/dev/null || { cat "$DIR/server.log" >&2; log "failed to start"; exit 1; }
      sleep 0.1
    done
    alive || { cat "$DIR/server.log" >&2; log "not answering on port $port"; exit 1; }
    log "moto listening on 127.0.0.1:$port (pid $(cat "$PIDFILE"), log $DIR/server.log)"
  fi
  print_env
}

print_env() {
  alive || { log "not running"; exit 1; }
  echo "export XBAK_TEST_S3_ENDPOINT=http://127.0.0.1:$(cat "$PORTFILE")"
}

stop() {
  if [[ -f "$PIDFILE" ]]; then
    local pid; pid="$(cat "$PIDFILE")"
    if kill -0 "$pid" 2>/dev/null; then
      kill "$pid" 2>/dev/null || true
      for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
      kill -9 "$pid" 2>/dev/null || true
      log "stopped (pid $pid)"
    fi
  fi
  rm -f "$PIDFILE" "$PORTFILE"
  rm -rf "$DIR/tmp"
}

case "${1:-}" in
  start) start ;;
  env) print_env ;;
  stop) stop ;;
  *) echo "usage: $0 start|env|stop" >&2; exit 2 ;;
esac
