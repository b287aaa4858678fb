#!/usr/bin/env bash
# `xbak backups download` against `curl -o` on the same signed link, on loopback.
#
#   bench/run-client-download.sh XBAK_BIN [SIZE_MIB=512] [RUNS=3]
#
# Seeds a temporary data dir (two local regions, one eligible instance, one random set of
# SIZE_MIB), copies it, serves it on 127.0.0.1, then downloads the copy RUNS times with each of:
#   curl          curl -s -o FILE LINK                      (no checksum, no fsync)
#   curl+sha256   curl -s -o FILE LINK && sha256sum FILE    (what a careful script does)
#   xbak          xbak backups download ID -o FILE --quiet  (describe, stream, SHA-256 on the fly,
#                                                            fsync, size check, rename)
# and prints MiB/s per run (SIZE_MIB / wall time). The served object is in the page cache after
# the first read, so the numbers measure HTTP + client, not the disk it is read from.
set -euo pipefail
[[ $# -ge 1 ]] || { echo "usage: $0 XBAK_BIN [SIZE_MIB] [RUNS]" >&2; exit 2; }
XBAK="$(realpath "$1")"
MIB="${2:-512}"
RUNS="${3:-3}"
W="$(mktemp -d "${TMPDIR:-/tmp}/xbak-dl-bench.XXXXXX")"
PID=""
cleanup() { [[ -n "$PID" ]] && kill "$PID" 2>/dev/null; wait 2>/dev/null; rm -rf "$W"; }
trap cleanup EXIT
D="$W/data"
x() { "$XBAK" --data-dir "$D" "$@"; }
json() { python3 -c "import json,sys; v=json.load(sys.stdin); print($1)"; }

x region add cn-hangzhou >/dev/null
x region add cn-shanghai >/dev/null
creds="$(x account create bench --json)"
AK="$(json 'v["AccessKeyId"]' <<<"$creds")"
SK="$(json 'v["AccessKeySecret"]' <<<"$creds")"
x instance create rm-bench --region cn-hangzhou --account bench --engine MySQL --engine-version 5.7 \
  --category HighAvailability --storage-type local_ssd >/dev/null
x policy set rm-bench --cross-region cn-shanghai >/dev/null
head -c "$((MIB << 20))" /dev/urandom >"$W/set.xb"
WANT="$(sha256sum "$W/set.xb" | cut -d' ' -f1)"
T=2026-11-27T00:00:00Z
x backup register rm-bench --file "$W/set.xb" --method P --type F --start $T --end $T --consistent $T >/dev/null
x replicate --once >/dev/null
rm "$W/set.xb"

PORT="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
"$XBAK" --data-dir "$D" serve --listen "127.0.0.1:$PORT" --no-workers --no-metrics >/dev/null 2>"$W/serve.log" &
PID=$!
for _ in $(seq 1 100); do curl -s -o /dev/null "http://127.0.0.1:$PORT/" && break; sleep 0.1; done

export ALIBABA_CLOUD_ACCESS_KEY_ID="$AK" ALIBABA_CLOUD_ACCESS_KEY_SECRET="$SK"
export ALIBABA_CLOUD_REGION_ID=cn-hangzhou XBAK_ENDPOINT="http://127.0.0.1:$PORT"
item="$("$XBAK" backups list rm-bench --start 2026-11-26T00:00Z --end 2026-11-28T00:00Z --output json)"
ID="$(json 'v[0]["CrossBackupId"]' <<<"$item")"
LINK="$("$XBAK" rds DescribeCrossRegionBackups --DBInstanceId rm-bench --CrossBackupId "$ID" |
  json 'v["Items"]["Item"][0]["CrossBackupDownloadLink"]')"

rate() { python3 -c "print('%.0f' % ($MIB / ($2 - $1)))"; }
now() { date +%s.%N; }
echo "size ${MIB} MiB, $RUNS runs, $(nproc) cores, $(uname -sr)"
echo "machine: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)"
for r in $(seq 1 "$RUNS"); do
  rm -f "$W/curl.out"; t0=$(now); curl -s -o "$W/curl.out" "$LINK"; t1=$(now)
  echo "run $r curl         $(rate "$t0" "$t1") MiB/s"
  rm -f "$W/curl.out"; t0=$(now); curl -s -o "$W/curl.out" "$LINK"; got="$(sha256sum "$W/curl.out" | cut -d' ' -f1)"; t1=$(now)
  [[ "$got" == "$WANT" ]] || { echo "curl bytes differ"; exit 1; }
  echo "run $r curl+sha256  $(rate "$t0" "$t1") MiB/s"
  rm -f "$W/curl.out" "$W/xbak.out"; t0=$(now)
  "$XBAK" backups download rm-bench "$ID" -o "$W/xbak.out" --quiet --sha256 "$WANT"; t1=$(now)
  echo "run $r xbak         $(rate "$t0" "$t1") MiB/s"
done
