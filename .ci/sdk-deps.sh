#!/usr/bin/env bash
# Installs the official Alibaba Cloud SDKs used by tests/sdk/ (idempotent).
#   * Python venv at tests/sdk/.venv  (tests/sdk/python/requirements.txt, pinned by constraints.txt)
#   * Node modules in tests/sdk/node  (package.json + package-lock.json, `npm ci`)
# Re-running is cheap: each part is skipped while its stamp matches its pin files.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
SDK="$ROOT/tests/sdk"
VENV="$SDK/.venv"
PY="${PYTHON:-python3}"

# The SDK clients read HTTP(S)_PROXY; installation itself uses the registries as configured.
hash_of() { cat "$@" | sha256sum | cut -d' ' -f1; }

# ---- Python -------------------------------------------------------------------------------------
req="$SDK/python/requirements.txt"
con="$SDK/python/constraints.txt"
want="$(hash_of "$req" "$con")"
stamp="$VENV/.xbak-stamp"
if [[ -x "$VENV/bin/python" && -f "$stamp" && "$(cat "$stamp")" == "$want" ]]; then
  echo "sdk-deps: python venv up to date ($VENV)"
else
  echo "sdk-deps: creating python venv at $VENV"
  rm -rf "$VENV"
  "$PY" -m venv "$VENV"
  "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check -r "$req" -c "$con"
  "$VENV/bin/python" -c 'import aliyunsdkcore, aliyunsdkrds, alibabacloud_rds20140815, alibabacloud_tea_openapi, pytest'
  echo "$want" > "$stamp"
fi

# ---- Node ---------------------------------------------------------------------------------------
NODE_DIR="$SDK/node"
command -v node >/dev/null || { echo "sdk-deps: node is required" >&2; exit 1; }
command -v npm >/dev/null || { echo "sdk-deps: npm is required" >&2; exit 1; }
nwant="$(hash_of "$NODE_DIR/package.json" "$NODE_DIR"/package-lock.json 2>/dev/null || hash_of "$NODE_DIR/package.json")"
nstamp="$NODE_DIR/node_modules/.xbak-stamp"
if [[ -f "$nstamp" && "$(cat "$nstamp")" == "$nwant" ]]; then
  echo "sdk-deps: node_modules up to date ($NODE_DIR)"
else
  echo "sdk-deps: installing node modules in $NODE_DIR"
  # --ignore-scripts: the only install script (@alicloud/openapi-core postinstall) just picks a
  # TypeScript version for Node 10/12 and does nothing on current Node.
  if [[ -f "$NODE_DIR/package-lock.json" ]]; then
    (cd "$NODE_DIR" && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error)
  else
    (cd "$NODE_DIR" && npm install --ignore-scripts --no-audit --no-fund --loglevel=error)
  fi
  (cd "$NODE_DIR" && node -e 'require("@alicloud/rds20140815"); require("@alicloud/openapi-core"); require("@alicloud/pop-core")')
  echo "$nwant" > "$nstamp"
fi
echo "sdk-deps: ok"
