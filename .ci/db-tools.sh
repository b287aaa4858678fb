#!/usr/bin/env bash
# The MariaDB tools the backup agent and its end-to-end tests drive: the client and
# mariadb-dump and mariadb-binlog (mariadb-client), mariadbd and mariadb-install-db (mariadb-server), mariabackup
# and mbstream (mariadb-backup). Idempotent: installs only what is missing. The machine's MariaDB
# on 127.0.0.1:3306 is started if it is not running (the tests need it; they fail without).
set -euo pipefail

missing=()
command -v mariadb >/dev/null && command -v mariadb-dump >/dev/null \
  && command -v mariadb-binlog >/dev/null || missing+=(mariadb-client)
command -v mariabackup >/dev/null && command -v mbstream >/dev/null || missing+=(mariadb-backup)
{ [ -x /usr/sbin/mariadbd ] || command -v mariadbd >/dev/null; } \
  && command -v mariadb-install-db >/dev/null || missing+=(mariadb-server)

if [ ${#missing[@]} -gt 0 ]; then
  echo "db-tools: installing ${missing[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get install -y --no-install-recommends "${missing[@]}" >/dev/null \
    || { apt-get update >/dev/null && apt-get install -y --no-install-recommends "${missing[@]}" >/dev/null; }
fi

if ! mariadb --protocol=TCP -h 127.0.0.1 -P 3306 -u root -e 'SELECT 1' >/dev/null 2>&1; then
  echo "db-tools: starting mariadbd" >&2
  start-stop-daemon --start --oknodo --background --exec /usr/sbin/mariadbd || true
  for _ in $(seq 1 60); do
    mariadb --protocol=TCP -h 127.0.0.1 -P 3306 -u root -e 'SELECT 1' >/dev/null 2>&1 && break
    sleep 1
  done
fi
mariabackup --version 2>&1 | head -1 >&2
