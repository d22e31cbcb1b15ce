#!/usr/bin/env bash
# Store and cluster benchmarks (issue 6 §4), recorded in BENCHMARKS.md and used by
# docs/scaling.md. Needs a release build: `cargo build --release -p lateral`.
#
#   bench/store.sh [EVENTS] [WORKDIR]     (defaults 10000000, /tmp/lateral-store-bench)
#
# Steps: simulate EVENTS events (NXLog JSON lines, the three stories plus fleet noise over
# 30 days), ingest them into a store, measure bytes per event, compact, run a selective
# search over a 72-hour window 20 times (p50/p95), run the full hunt, then start a local
# scheduler and two executors and run the same search and hunt through them.
# Disk: about 1.1 kB per event of JSON plus about 110 B per event of store.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
N=${1:-10000000}
WORK=${2:-/tmp/lateral-store-bench}
BIN=${LATERAL_BIN:-$ROOT/target/release/lateral}
SRC=$WORK/c$N
STORE=$WORK/s$N
mkdir -p "$WORK"
echo "machine: $(nproc) cores, $(free -g | awk '/Mem:/{print $2}') GiB, load $(cut -d' ' -f1-3 /proc/loadavg); $(date -u +%FT%TZ); $("$BIN" --version)"

# shellcheck source=bench/lib.sh
. "$ROOT/bench/lib.sh"

if [ ! -d "$SRC" ]; then
  timed "simulate --events $N" "$BIN" simulate --events "$N" --out "$SRC"
fi
SRC_BYTES=$(du -sb "$SRC" | cut -f1)
echo "source JSON: $SRC_BYTES B, $(( SRC_BYTES / N )) B/event"

rm -rf "$STORE"
timed "ingest" "$BIN" ingest "$SRC" --store "$STORE"
echo "ingest rate: $(awk -v n="$N" -v w="$WALL" 'BEGIN{printf "%.0f events/s on %d cores = %.0f events/s per core", n/w, '"$(nproc)"', n/w/'"$(nproc)"'}')"
STORE_BYTES=$(du -sb "$STORE" | cut -f1)
echo "store after ingest: $STORE_BYTES B, $(awk -v b="$STORE_BYTES" -v n="$N" 'BEGIN{printf "%.1f", b/n}') B/event"
timed "store compact" "$BIN" store compact --store "$STORE"
STORE_BYTES=$(du -sb "$STORE" | cut -f1)
echo "store after compaction: $STORE_BYTES B, $(awk -v b="$STORE_BYTES" -v n="$N" 'BEGIN{printf "%.1f", b/n}') B/event, $(find "$STORE/data" -name '*.parquet' | wc -l) files"

Q='principal.ip = "10.0.0.130"'
search_runs() { # label, extra args...
  local label=$1; shift
  : > "$WORK/times"
  "$BIN" search --store "$STORE" --hours-back 72 --query "$Q" --format json "$@" > /dev/null # warm-up
  for _ in $(seq 1 20); do
    /usr/bin/time -f "%e" -o "$WORK/t1" "$BIN" search --store "$STORE" --hours-back 72 --query "$Q" --format json "$@" > "$WORK/last.out"
    cat "$WORK/t1" >> "$WORK/times"
  done
  percentiles "$label" "$WORK/times"
  echo "  matched: $(python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(d.get("total_events"))' "$WORK/last.out")"
}
search_runs "search 72 h, principal.ip (embedded)"
# Over every day: the address query prunes by bloom filter and statistics; a short host name
# (compared on the first label of the lower-cased name) cannot prune, so it gives the scan rate.
timed "search all time, principal.ip (embedded)" "$BIN" search --store "$STORE" --all-time --query "$Q" --format json
for i in 1 2 3; do timed "search all time, principal.hostname (embedded) #$i" "$BIN" search --store "$STORE" --all-time --query 'principal.hostname = "ws00001"' --format json; done
echo "  scan rate (last run): $(awk -v n="$N" -v w="$WALL" 'BEGIN{printf "%.0f events/s on %d cores = %.0f events/s per core", n/w, '"$(nproc)"', n/w/'"$(nproc)"'}')"
timed "hunt (default 72 h, embedded)" "$BIN" hunt --store "$STORE" --out "$WORK/hunt-embedded"

# A local cluster: one scheduler, two executors (two tasks each), all on this machine.
P=$((40000 + RANDOM % 10000))
"$BIN" cluster scheduler --bind "127.0.0.1:$P" > "$WORK/scheduler.log" 2>&1 &
PIDS=($!)
trap 'kill "${PIDS[@]}" 2>/dev/null || true' EXIT
sleep 1
for i in 0 1; do
  "$BIN" cluster executor --scheduler "127.0.0.1:$P" --flight-port $((P + 1 + 2 * i)) --grpc-port $((P + 2 + 2 * i)) \
    --concurrent-tasks 2 --work-dir "$WORK/executor$i" > "$WORK/executor$i.log" 2>&1 &
  PIDS+=($!)
done
sleep 3
search_runs "search 72 h, principal.ip (2-executor cluster)" --engine "df://127.0.0.1:$P"
timed "hunt (default 72 h, 2-executor cluster)" "$BIN" hunt --store "$STORE" --engine "df://127.0.0.1:$P" --out "$WORK/hunt-cluster"
