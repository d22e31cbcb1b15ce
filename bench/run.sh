#!/usr/bin/env bash
# Benchmarks recorded in BENCHMARKS.md. Needs the shared data (../shared/data) and a release
# build: `cargo build --release -p lateral -p lateral-bench`.
#
#   bench/run.sh [WORKDIR]      (default /tmp/lateral-bench)
#
# Corpora (built once in WORKDIR):
#   evtx20/  the shared EVTX folder copied 20 times (many small files, like triage collections)
#   json/    the Security-Datasets host exports unpacked (dense JSON lines)
#   big/     one ~1 GiB EVTX made by repeating the chunks of a shared sample (peak-RSS check)
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
DATA=${LATERAL_SHARED_DATA:-$ROOT/../shared/data}
WORK=${1:-/tmp/lateral-bench}
BIN=$ROOT/target/release/lateral
BASE=$ROOT/target/release/evtx-baseline
mkdir -p "$WORK"

if [ ! -d "$WORK/evtx20" ]; then
  for i in $(seq -w 1 20); do mkdir -p "$WORK/evtx20/copy$i"; cp -r "$DATA/evtx/EVTX-ATTACK-SAMPLES/." "$WORK/evtx20/copy$i/"; done
fi
if [ ! -d "$WORK/json" ]; then
  mkdir -p "$WORK/json"
  for z in "$DATA"/json/Security-Datasets/host/*.zip; do unzip -q -o "$z" -d "$WORK/json"; done
fi
if [ ! -f "$WORK/big/big.evtx" ]; then
  mkdir -p "$WORK/big"
  python3 - "$DATA/evtx/EVTX-ATTACK-SAMPLES/Lateral Movement/LM_5145_Remote_FileCopy.evtx" "$WORK/big/big.evtx" 16000 <<'PY'
import struct, sys, zlib
src, dst, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
data = open(src, 'rb').read()
header, body = bytearray(data[:4096]), data[4096:]
chunks = [body[i:i + 65536] for i in range(0, len(body) - 65535, 65536) if body[i:i + 8] == b'ElfChnk\0']
# header: chunk count (u16 at 42), last chunk number (u64 at 16), checksum (crc32 of first 120 bytes at 124)
struct.pack_into('<H', header, 42, min(n, 65535))
struct.pack_into('<Q', header, 16, n - 1)
struct.pack_into('<I', header, 124, zlib.crc32(bytes(header[:120])) & 0xffffffff)
with open(dst, 'wb') as f:
    f.write(header)
    for i in range(n):
        f.write(chunks[i % len(chunks)])
PY
fi

measure() { # label, command...
  local label=$1; shift
  local out
  out=$( { /usr/bin/time -f "TIME %e %M" "$@" > /dev/null; } 2>&1 | grep '^TIME' | tail -1)
  printf '%-34s wall %6ss  peak RSS %6s MB\n' "$label" "$(echo "$out" | cut -d' ' -f2)" "$(( $(echo "$out" | cut -d' ' -f3) / 1024 ))"
}

size() { du -sm "$1" | cut -f1; }
Q='metadata.event_type = "PROCESS_LAUNCH" AND principal.process.file.full_path = "C:\Windows\System32\services.exe"'
echo "machine: $(nproc) cores, $(free -g | awk '/Mem:/{print $2}') GiB; $(date -u +%F)"
for corpus in evtx20 json big; do
  dir="$WORK/$corpus"
  events=$("$BIN" sql "$dir" 'SELECT count(*) AS n FROM events' --format csv 2>/dev/null | tail -1)
  echo "== $corpus: $(size "$dir") MB, $events events"
  if [ "$corpus" != json ]; then measure "evtx-baseline (records_json)" "$BASE" "$dir"; fi
  measure "lateral search (services.exe)" "$BIN" search "$dir" --all-time --query "$Q" --format json
  measure "lateral stats" "$BIN" stats "$dir" --format json
  measure "lateral sql count(*)" "$BIN" sql "$dir" 'SELECT count(*) FROM events'
  measure "lateral search (full scan)" "$BIN" search "$dir" --all-time --query 'lateral.event_id > 0' --limit 5 --format json
  measure "lateral hunt" "$BIN" hunt "$dir" --all-time --out "$WORK/reports-$corpus"
done

# MCP server (issue 5 §6): ~1 million events (psexec-chain copies, hosts renamed per copy) held
# by `lateral mcp`, selective search_security_events and lookup_entity over stdio JSON-RPC,
# memory per million events; then the same without the original records (--no-raw).
echo "== MCP"
"$ROOT/target/release/mcp-bench" --work "$WORK/mcp" --events 1000000 --calls 50
"$ROOT/target/release/mcp-bench" --work "$WORK/mcp" --events 1000000 --calls 50 --no-raw
