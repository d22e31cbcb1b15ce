#!/usr/bin/env bash
# A store read from an S3-compatible bucket (issue 6 §2), against the same store read from its
# folder. Needs a release build and a store (bench/store.sh writes one), and moto's S3 server
# (`pip install 'moto[server]'`), which serves the bucket on loopback from memory. moto is a
# Python emulator: its per-request cost is far above a real S3 or MinIO, so these figures
# bound the overhead from above; they are not a figure for a production bucket.
#
#   bench/s3.sh [STORE] [WORKDIR]   (defaults /tmp/lateral-store-bench/s10000000, /tmp/lateral-s3-bench)
#
# Steps: push the store into a bucket (and once more: nothing to upload), run the selective
# 72-hour search 20 times over the folder and over the bucket (p50/p95), the hunt over the
# bucket, then the same search and hunt through a local 2-executor cluster over the bucket.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
STORE=${1:-/tmp/lateral-store-bench/s10000000}
WORK=${2:-/tmp/lateral-s3-bench}
BIN=${LATERAL_BIN:-$ROOT/target/release/lateral}
MOTO=${LATERAL_MOTO_SERVER:-moto_server}
mkdir -p "$WORK"
echo "machine: $(nproc) cores, $(free -g | awk '/Mem:/{print $2}') GiB, load $(cut -d' ' -f1-3 /proc/loadavg); $(date -u +%FT%TZ); $("$BIN" --version)"
echo "store: $STORE, $(du -sb "$STORE" | cut -f1) B, $(find "$STORE/data" -name '*.parquet' | wc -l) files"

P=$((30000 + RANDOM % 10000))
"$MOTO" -H 127.0.0.1 -p "$P" > "$WORK/moto.log" 2>&1 &
PIDS=($!)
trap 'kill "${PIDS[@]}" 2>/dev/null || true' EXIT
for _ in $(seq 1 100); do
  curl -s -o /dev/null "http://127.0.0.1:$P/" && break
  sleep 0.2
done
curl -s -o /dev/null -X PUT "http://127.0.0.1:$P/lateral-bench"
export AWS_ENDPOINT_URL="http://127.0.0.1:$P" AWS_ACCESS_KEY_ID=bench AWS_SECRET_ACCESS_KEY=bench AWS_REGION=us-east-1
URL=s3://lateral-bench/store

LABEL_WIDTH=52
# shellcheck source=bench/lib.sh
. "$ROOT/bench/lib.sh"

timed "store push (first)" "$BIN" store push --store "$STORE" "$URL"
cat "$WORK/last.out"
timed "store push (again)" "$BIN" store push --store "$STORE" "$URL"
cat "$WORK/last.out"

Q='principal.ip = "10.0.0.130"'
search_runs() { # label, store, extra args...
  local label=$1 where=$2; shift 2
  : > "$WORK/times"
  "$BIN" search --store "$where" --hours-back 72 --query "$Q" --format json "$@" > /dev/null # warm-up
  for _ in $(seq 1 20); do
    /usr/bin/time -f "%e" -o "$WORK/t1" "$BIN" search --store "$where" --hours-back 72 --query "$Q" --format json "$@" > "$WORK/last.out"
    cat "$WORK/t1" >> "$WORK/times"
  done
  percentiles "$label" "$WORK/times"
  echo "  matched: $(python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(d.get("total_events"))' "$WORK/last.out")"
}
search_runs "search 72 h, principal.ip (folder, embedded)" "$STORE"
search_runs "search 72 h, principal.ip (bucket, embedded)" "$URL"
timed "hunt (default 72 h, bucket, embedded)" "$BIN" hunt --store "$URL" --out "$WORK/hunt-embedded"
grep -E "finding|chain" "$WORK/last.out" | head -5 || true

C=$((P + 100))
"$BIN" cluster scheduler --bind "127.0.0.1:$C" > "$WORK/scheduler.log" 2>&1 &
PIDS+=($!)
sleep 1
for i in 0 1; do
  "$BIN" cluster executor --scheduler "127.0.0.1:$C" --flight-port $((C + 1 + 2 * i)) --grpc-port $((C + 2 + 2 * i)) \
    --concurrent-tasks 2 --work-dir "$WORK/executor$i" > "$WORK/executor$i.log" 2>&1 &
  PIDS+=($!)
done
sleep 3
search_runs "search 72 h, principal.ip (bucket, 2-executor cluster)" "$URL" --engine "df://127.0.0.1:$C"
timed "hunt (default 72 h, bucket, 2-executor cluster)" "$BIN" hunt --store "$URL" --engine "df://127.0.0.1:$C" --out "$WORK/hunt-cluster"
grep -E "finding|chain" "$WORK/last.out" | head -5 || true
