#!/usr/bin/env bash
# Official-SDK compatibility tests for xbak's DescribeCrossRegionBackups.
#
#   tests/sdk/run.sh XBAK_BIN          e.g. tests/sdk/run.sh target/debug/xbak
#
# 1. installs/validates the SDKs (.ci/sdk-deps.sh, idempotent),
# 2. seeds a fresh temporary data dir through the xbak CLI (tests/sdk/seed.py) and runs
#    `xbak replicate --once`,
# 3. starts `xbak serve` on 127.0.0.1:<free port>,
# 4. runs the Python scenarios (pytest, tests/sdk/python) then the Node ones (node --test, tests/sdk/node),
# 5. stops the server and prints `N passed, N failed` over all scenarios; exits non-zero on any failure.
#
# Env: XBAK_SDK_KEEP=1 keeps the temporary dir (data, server log, reports) for inspection.
#      XBAK_SDK_PYTEST_ARGS / XBAK_SDK_NODE_FILES narrow the run (e.g. "-k core", "pop-core.test.js").
set -uo pipefail

if [[ $# -ne 1 ]]; then
  echo "usage: $0 XBAK_BIN" >&2
  exit 2
fi
XBAK="$(cd "$(dirname "$1")" && pwd)/$(basename "$1")"
[[ -x "$XBAK" ]] || { echo "run.sh: $1 is not an executable" >&2; exit 2; }

SDK_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$SDK_DIR/../.." && pwd)"
PY="$SDK_DIR/.venv/bin/python"

# The SDK clients (aliyun-python-sdk-core especially) send everything through HTTP(S)_PROXY when set.
unset http_proxy HTTP_PROXY https_proxy HTTPS_PROXY all_proxy ALL_PROXY
export NO_PROXY=127.0.0.1,localhost no_proxy=127.0.0.1,localhost

bash "$ROOT/.ci/sdk-deps.sh" || { echo "run.sh: SDK installation failed"; echo "0 passed, 1 failed"; exit 1; }

WORK="$(mktemp -d "${TMPDIR:-/tmp}/xbak-sdk.XXXXXX")"
SERVER_PID=""
cleanup() {
  if [[ -n "$SERVER_PID" ]] && kill -0 "$SERVER_PID" 2>/dev/null; then
    kill "$SERVER_PID" 2>/dev/null
    for _ in $(seq 1 50); do kill -0 "$SERVER_PID" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$SERVER_PID" 2>/dev/null
    wait "$SERVER_PID" 2>/dev/null
  fi
  if [[ "${XBAK_SDK_KEEP:-0}" == "1" ]]; then
    echo "run.sh: kept $WORK"
  else
    rm -rf "$WORK"
  fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

fail_early() {
  echo "run.sh: $1"
  echo "0 passed, 1 failed"
  exit 1
}

# ---- seed --------------------------------------------------------------------------------------
DATA="$WORK/data"
mkdir -p "$DATA"
echo "run.sh: seeding $DATA"
"$PY" "$SDK_DIR/seed.py" "$XBAK" "$DATA" "$WORK" || fail_early "seeding through the CLI failed"

# ---- serve -------------------------------------------------------------------------------------
PORT="$("$PY" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()')"
"$XBAK" --data-dir "$DATA" serve --listen "127.0.0.1:$PORT" --public-url "http://127.0.0.1:$PORT" --no-metrics \
  >"$WORK/server.log" 2>&1 &
SERVER_PID=$!
ready=0
for _ in $(seq 1 150); do
  kill -0 "$SERVER_PID" 2>/dev/null || break
  if curl -s -o /dev/null --max-time 2 "http://127.0.0.1:$PORT/"; then ready=1; break; fi
  sleep 0.2
done
if [[ $ready -ne 1 ]]; then
  echo "---- server.log"; tail -n 50 "$WORK/server.log"
  fail_early "xbak serve did not come up on 127.0.0.1:$PORT"
fi
echo "run.sh: xbak serving on 127.0.0.1:$PORT (pid $SERVER_PID)"

export XBAK_ENDPOINT="127.0.0.1:$PORT"
export XBAK_BIN="$XBAK"   # tests/sdk/python/test_xbak_cli.py runs xbak's own client
export XBAK_SEED_MANIFEST="$WORK/seed.json"
export XBAK_DATA_DIR="$DATA"   # tests/sdk/python/test_throttling.py starts a second serve on it
eval "$("$PY" - "$WORK/seed.json" <<'EOF'
import json, shlex, sys
m = json.load(open(sys.argv[1]))
for k in ("A", "B"):
    print("export XBAK_AK_%s=%s XBAK_SK_%s=%s" % (k, shlex.quote(m["accounts"][k]["ak"]), k, shlex.quote(m["accounts"][k]["sk"])))
EOF
)"

# ---- Python scenarios --------------------------------------------------------------------------
PASSED=0
FAILED=0
echo "run.sh: ==== Python scenarios (pytest)"
# shellcheck disable=SC2086
(cd "$SDK_DIR/python" && "$PY" -m pytest -p no:cacheprovider -q -rfE --junitxml="$WORK/pytest.xml" \
  ${XBAK_SDK_PYTEST_ARGS:-})
py_rc=$?
read -r p f < <("$PY" - "$WORK/pytest.xml" <<'EOF'
import sys, xml.etree.ElementTree as ET
try:
    root = ET.parse(sys.argv[1]).getroot()
except Exception:
    print(0, 1); raise SystemExit
suites = [root] if root.tag == "testsuite" else list(root.iter("testsuite"))
t = sum(int(s.get("tests", 0)) for s in suites)
bad = sum(int(s.get("failures", 0)) + int(s.get("errors", 0)) for s in suites)
sk = sum(int(s.get("skipped", 0)) for s in suites)
print(t - bad - sk, bad)
EOF
)
if [[ $py_rc -ne 0 && $f -eq 0 ]]; then f=1; fi   # crashed runner / no tests collected
echo "run.sh: python: $p passed, $f failed (pytest rc=$py_rc)"
PASSED=$((PASSED + p)); FAILED=$((FAILED + f))

# ---- Node scenarios ----------------------------------------------------------------------------
echo "run.sh: ==== Node scenarios (node --test)"
# shellcheck disable=SC2086
(cd "$SDK_DIR/node" && node --test --test-reporter=spec --test-reporter-destination=stdout \
  --test-reporter=tap --test-reporter-destination="$WORK/node.tap" ${XBAK_SDK_NODE_FILES:-*.test.js})
node_rc=$?
p=$(sed -n 's/^# pass \([0-9]*\)$/\1/p' "$WORK/node.tap" 2>/dev/null | tail -n1)
f=$(sed -n 's/^# fail \([0-9]*\)$/\1/p' "$WORK/node.tap" 2>/dev/null | tail -n1)
p=${p:-0}; f=${f:-0}
if [[ $node_rc -ne 0 && $f -eq 0 ]]; then f=1; fi
echo "run.sh: node: $p passed, $f failed (node rc=$node_rc)"
PASSED=$((PASSED + p)); FAILED=$((FAILED + f))

if [[ $FAILED -ne 0 ]]; then
  echo "---- server.log (tail)"; tail -n 30 "$WORK/server.log"
fi
echo "$PASSED passed, $FAILED failed"
[[ $FAILED -eq 0 ]]
