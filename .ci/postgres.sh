#!/usr/bin/env bash
# The PostgreSQL server the PostgreSQL catalog tests need: the machine's own (Debian's
# postgresql package, trust auth on 127.0.0.1:5432), started if it is down, with a scratch
# database for this run. Tests create one database per test beside it and drop them.
#
#   bash .ci/postgres.sh start   # start the server if needed, create the run's database, print the export line
#   bash .ci/postgres.sh env     # print the export line of this run's database (fails if none)
#   bash .ci/postgres.sh stop    # drop this run's database (the server keeps running)
#
# Tests read XBAK_TEST_POSTGRES_URL and fail (never skip) when no server answers:
# `eval "$(bash .ci/postgres.sh start)"` before `cargo test`. Override the server with
# XBAK_POSTGRES_SERVER (default postgres://postgres@127.0.0.1:5432).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
DIR="$ROOT/target/postgres"
DBFILE="$DIR/database"
SERVER="${XBAK_POSTGRES_SERVER:-postgres://postgres@127.0.0.1:5432}"

log() { echo "postgres: $*" >&2; }

psql_admin() { psql "$SERVER/postgres" -X -q -v ON_ERROR_STOP=1 "$@"; }

alive() { pg_isready -q -d "$SERVER/postgres" -t 2 2>/dev/null; }

start_server() {
  alive && return
  local version
  version="$(ls /etc/postgresql 2>/dev/null | sort -V | tail -n1)"
  [[ -n "$version" ]] || { log "no PostgreSQL cluster in /etc/postgresql and none answering at $SERVER"; exit 1; }
  log "starting cluster $version/main"
  pg_ctlcluster --skip-systemctl-redirect "$version" main start
  for _ in $(seq 1 100); do alive && return; sleep 0.1; done
  log "not answering at $SERVER"
  exit 1
}

start() {
  start_server
  mkdir -p "$DIR"
  if [[ -f "$DBFILE" ]] && psql_admin -Atc "SELECT 1 FROM pg_database WHERE datname = '$(cat "$DBFILE")'" | grep -q 1; then
    log "reusing database $(cat "$DBFILE")"
  else
    local name="xbak_run_$(date +%s)_$$"
    psql_admin -c "CREATE DATABASE $name"
    echo "$name" > "$DBFILE"
    log "created database $name on $SERVER"
  fi
  print_env
}

print_env() {
  [[ -f "$DBFILE" ]] || { log "no database for this run: run start first"; exit 1; }
  echo "export XBAK_TEST_POSTGRES_URL=$SERVER/$(cat "$DBFILE")"
}

stop() {
  if [[ -f "$DBFILE" ]]; then
    local name; name="$(cat "$DBFILE")"
    if alive; then
      psql_admin -c "DROP DATABASE IF EXISTS $name WITH (FORCE)"
      log "dropped database $name"
    fi
    rm -f "$DBFILE"
  fi
}

case "${1:-}" in
  start) start ;;
  env) print_env ;;
  stop) stop ;;
  *) echo "usage: $0 start|env|stop" >&2; exit 2 ;;
esac
