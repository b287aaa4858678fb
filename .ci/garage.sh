#!/usr/bin/env bash
# A real distributed S3-compatible store on loopback for the tests of S3 regions: Garage (the
# `garage` crate, 2.x, from crates.io), beside moto (.ci/s3-server.sh). One node by default;
# `--nodes 3` starts a 3-node cluster (replication factor 3) for the scale-out tests.
#
#   bash .ci/garage.sh install             # cargo install garage 2.x unless a 2.x binary is there
#   bash .ci/garage.sh start [--nodes N]   # install if needed, start (or reuse) it, print the export line
#   bash .ci/garage.sh env [--nodes N]     # print the export line of the running cluster (fails if none)
#   bash .ci/garage.sh stop [--nodes N]    # stop it and delete its data
#
# The export line of the 1-node cluster (what `scripts/test.sh` evals; tests fail without it):
#   XBAK_TEST_GARAGE_ENDPOINT         http://127.0.0.1:PORT, the S3 API (path-style requests)
#   XBAK_TEST_GARAGE_ENDPOINTS        every node's S3 API, comma-separated (one node here)
#   XBAK_TEST_GARAGE_REGION           the S3 region the cluster signs with (`garage`, not us-east-1)
#   XBAK_TEST_GARAGE_ACCESS_KEY       the access key id, allowed to create buckets
#   XBAK_TEST_GARAGE_SECRET_KEY_FILE  file holding its secret key (mode 0600; never printed)
# A cluster of N > 1 nodes exports the same names with GARAGE<N> (XBAK_TEST_GARAGE3_ENDPOINTS,
# …): `eval "$(bash .ci/garage.sh start --nodes 3)"`; both clusters can run side by side.
#
# Every node binds 127.0.0.1 only (S3 API, RPC, admin API), on free ports, with its metadata
# (SQLite) and data under target/garage-<N>/node<K>/. Tests create their own buckets with the
# key (Garage lets a key with the create-bucket flag do that through S3's CreateBucket).
# Secrets (RPC secret, admin token, the key's secret) live in 0600 files under that directory.
# Override the binary with GARAGE=/path/to/garage.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PY="${PYTHON:-python3}"
WANT_MAJOR=2
REGION=garage

log() { echo "garage: $*" >&2; }

# The garage 2.x binary to use, or nothing.
find_garage() {
  local candidate
  for candidate in "${GARAGE:-}" "$(command -v garage || true)" "$HOME/.cargo/bin/garage"; do
    [[ -n "$candidate" && -x "$candidate" ]] || continue
    if "$candidate" --version 2>/dev/null | grep -Eq "(^|[^0-9.])${WANT_MAJOR}\.[0-9]+\.[0-9]+"; then
      echo "$candidate"
      return
    fi
  done
}

install() {
  if [[ -n "$(find_garage)" ]]; then
    return
  fi
  log "installing garage ${WANT_MAJOR}.x with cargo install (takes a while)"
  cargo install --locked garage --version "^${WANT_MAJOR}" >&2
  [[ -n "$(find_garage)" ]] || { log "cargo install finished but no garage ${WANT_MAJOR}.x binary found"; exit 1; }
}

free_port() {
  "$PY" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

# Per-cluster paths; set by `cluster N`.
cluster() {
  NODES="$1"
  DIR="$ROOT/target/garage-$NODES"
  if [[ "$NODES" == 1 ]]; then PREFIX=XBAK_TEST_GARAGE; else PREFIX="XBAK_TEST_GARAGE$NODES"; fi
}

node_dir() { echo "$DIR/node$1"; }
gcli() { "$BIN" -c "$(node_dir "$1")/garage.toml" "${@:2}"; }

alive() {
  [[ -f "$DIR/ready" ]] || return 1
  local k
  for k in $(seq 1 "$NODES"); do
    local nd; nd="$(node_dir "$k")"
    kill -0 "$(cat "$nd/pid" 2>/dev/null || echo 0)" 2>/dev/null || return 1
    curl -s -o /dev/null --max-time 2 "http://127.0.0.1:$(cat "$nd/admin_port")/health" || return 1
  done
}

write_config() {
  local k="$1" nd; nd="$(node_dir "$k")"
  mkdir -p "$nd/meta" "$nd/data"
  local rpc s3 admin
  rpc="$(free_port)"; s3="$(free_port)"; admin="$(free_port)"
  echo "$rpc" > "$nd/rpc_port"; echo "$s3" > "$nd/s3_port"; echo "$admin" > "$nd/admin_port"
  cat > "$nd/garage.toml" <<EOF
metadata_dir = "$nd/meta"
data_dir = "$nd/data"
db_engine = "sqlite"
replication_factor = $NODES
rpc_bind_addr = "127.0.0.1:$rpc"
rpc_public_addr = "127.0.0.1:$rpc"
rpc_secret_file = "$DIR/rpc_secret"

[s3_api]
s3_region = "$REGION"
api_bind_addr = "127.0.0.1:$s3"
root_domain = ".s3.garage.localhost"

[admin]
api_bind_addr = "127.0.0.1:$admin"
admin_token_file = "$DIR/admin_token"
EOF
}

# Waits until `what` (a command) succeeds, for up to 30 s; fails with the nodes' logs.
wait_for() {
  local what="$1"
  for _ in $(seq 1 300); do
    if eval "$what" >/dev/null 2>&1; then return; fi
    sleep 0.1
  done
  local k; for k in $(seq 1 "$NODES"); do tail -n 30 "$(node_dir "$k")/server.log" >&2 || true; done
  log "timed out waiting for: $what"
  exit 1
}

start() {
  cluster "$1"
  if alive; then
    log "reusing the $NODES-node cluster in $DIR"
    print_env
    return
  fi
  stop_cluster quiet
  install
  BIN="$(find_garage)"
  umask 077
  mkdir -p "$DIR"
  openssl rand -hex 32 > "$DIR/rpc_secret"
  openssl rand -hex 32 > "$DIR/admin_token"
  local k
  for k in $(seq 1 "$NODES"); do
    write_config "$k"
    local nd; nd="$(node_dir "$k")"
    RUST_LOG="${GARAGE_LOG:-garage=warn}" nohup "$BIN" -c "$nd/garage.toml" server \
      >"$nd/server.log" 2>&1 </dev/null &
    echo $! > "$nd/pid"
  done
  for k in $(seq 1 "$NODES"); do
    wait_for "curl -s -o /dev/null --max-time 2 http://127.0.0.1:$(cat "$(node_dir "$k")/admin_port")/metrics"
  done
  # Connect the nodes, then give each a role: one zone per node, 1 GB each.
  local ids=()
  for k in $(seq 1 "$NODES"); do
    ids+=("$(gcli "$k" node id -q 2>/dev/null | cut -d@ -f1)")
  done
  for k in $(seq 2 "$NODES"); do
    wait_for "gcli 1 node connect ${ids[$((k - 1))]}@127.0.0.1:$(cat "$(node_dir "$k")/rpc_port")"
  done
  for k in $(seq 1 "$NODES"); do
    gcli 1 layout assign -z "dc$k" -c 1G "${ids[$((k - 1))]}" >/dev/null
  done
  gcli 1 layout apply --version 1 >/dev/null
  # The key, allowed to create buckets. Its secret goes from Garage's answer to a 0600 file,
  # never to a command line (other users can read those) nor to the output.
  gcli 1 key create xbak-test > "$DIR/key-info"
  awk '/^Key ID:/ {print $NF}' "$DIR/key-info" > "$DIR/access_key"
  awk '/^Secret key:/ {print $NF}' "$DIR/key-info" > "$DIR/secret_key"
  rm -f "$DIR/key-info"
  [[ -s "$DIR/access_key" && -s "$DIR/secret_key" ]] || { log "cannot read the new key"; exit 1; }
  gcli 1 key allow --create-bucket "$(cat "$DIR/access_key")" >/dev/null
  for k in $(seq 1 "$NODES"); do
    wait_for "curl -sf -o /dev/null --max-time 2 http://127.0.0.1:$(cat "$(node_dir "$k")/admin_port")/health"
  done
  touch "$DIR/ready"
  log "$NODES-node cluster up: S3 on $(endpoints) (log: $DIR/node*/server.log)"
  print_env
}

endpoints() {
  local k out=()
  for k in $(seq 1 "$NODES"); do out+=("http://127.0.0.1:$(cat "$(node_dir "$k")/s3_port")"); done
  (IFS=,; echo "${out[*]}")
}

print_env() {
  alive || { log "no $NODES-node cluster running (start it first)"; exit 1; }
  echo "export ${PREFIX}_ENDPOINT=http://127.0.0.1:$(cat "$(node_dir 1)/s3_port")" \
    "${PREFIX}_ENDPOINTS=$(endpoints)" \
    "${PREFIX}_REGION=$REGION" \
    "${PREFIX}_ACCESS_KEY=$(cat "$DIR/access_key")" \
    "${PREFIX}_SECRET_KEY_FILE=$DIR/secret_key"
}

stop_cluster() {
  [[ -d "$DIR" ]] || return 0
  local k pid
  for k in $(seq 1 "$NODES"); do
    local nd; nd="$(node_dir "$k")"
    [[ -f "$nd/pid" ]] || continue
    pid="$(cat "$nd/pid")"
    if kill -0 "$pid" 2>/dev/null; then
      kill "$pid" 2>/dev/null || true
      for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
      kill -9 "$pid" 2>/dev/null || true
      [[ "${1:-}" == quiet ]] || log "stopped node $k (pid $pid)"
    fi
  done
  rm -rf "$DIR"
}

nodes_arg() {
  local n=1
  while [[ $# -gt 0 ]]; do
    case "$1" in
      --nodes) n="${2:?--nodes needs a number}"; shift 2 ;;
      --nodes=*) n="${1#--nodes=}"; shift ;;
      *) echo "unknown option $1" >&2; exit 2 ;;
    esac
  done
  [[ "$n" =~ ^[1-9][0-9]?$ ]] || { echo "--nodes $n: not a node count" >&2; exit 2; }
  echo "$n"
}

cmd="${1:-}"
[[ $# -gt 0 ]] && shift
case "$cmd" in
  install) install; log "using $(find_garage) ($("$(find_garage)" --version 2>/dev/null | head -n1))" ;;
  start) start "$(nodes_arg "$@")" ;;
  env) cluster "$(nodes_arg "$@")"; print_env ;;
  stop) cluster "$(nodes_arg "$@")"; stop_cluster ;;
  *) echo "usage: $0 install | start|env|stop [--nodes N]" >&2; exit 2 ;;
esac
