#!/usr/bin/env bash
# The test command (README.md): every Rust test, then the official Alibaba SDKs against a real
# `xbak serve`. Installs what the SDK scenarios need (Python venv, npm packages) on first run.
# Needs the MariaDB/PostgreSQL services only from later issues on; this suite uses none.
set -euo pipefail
cd "$(dirname "$0")/.."

bash .ci/sdk-deps.sh
cargo build --locked -p xbak
cargo test --locked --workspace --all-targets 2>&1 | tee target/cargo-test.log
bash tests/sdk/run.sh "$PWD/target/debug/xbak"
