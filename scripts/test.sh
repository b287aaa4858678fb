#!/usr/bin/env bash
# The test command (README.md): every Rust test, then the official Alibaba SDKs against a real
# `xbak serve`. Installs what the SDK scenarios need (Python venv, npm packages) on first run.
# The backup tests need the MariaDB the machine runs on 127.0.0.1:3306 (root, no password).
set -euo pipefail
cd "$(dirname "$0")/.."

bash .ci/sdk-deps.sh
# mariadb-dump, mariabackup, mariadbd for the backup agent's end-to-end tests (installed if missing).
bash .ci/db-tools.sh
# The S3-compatible server the S3-region tests need (moto on loopback), stopped on exit.
eval "$(bash .ci/s3-server.sh start)"
trap 'bash .ci/s3-server.sh stop' EXIT
# Garage, a real distributed S3-compatible store on loopback, for the same tests: a 1-node
# cluster, and a 3-node one for the cluster tests. Installed with cargo on first run (the
# binary is reused after), stopped on exit.
stop_s3() { bash .ci/garage.sh stop --nodes 3; bash .ci/garage.sh stop; bash .ci/s3-server.sh stop; }
trap stop_s3 EXIT
bash .ci/garage.sh install
eval "$(bash .ci/garage.sh start)"
eval "$(bash .ci/garage.sh start --nodes 3)"
# The PostgreSQL server the PostgreSQL catalog tests need (the machine's own, started if down),
# with a scratch database for this run, dropped on exit beside the S3 servers' stop.
eval "$(bash .ci/postgres.sh start)"
trap 'bash .ci/postgres.sh stop; stop_s3' EXIT
cargo build --locked -p xbak
cargo test --locked --workspace --all-targets 2>&1 | tee target/cargo-test.log
bash tests/sdk/run.sh "$PWD/target/debug/xbak"
