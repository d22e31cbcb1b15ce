#!/usr/bin/env bash
# Capture benchmark (issue 4 §6), recorded in BENCHMARKS.md: lateral against tshark on the
# shared captures replicated to at least 500 MB. Needs the shared data, tshark (Debian's
# package: `apt-get install tshark`) and a release build: `cargo build --release -p lateral`.
#
#   bench/pcap.sh [WORKDIR] [COPIES]     (defaults /tmp/lateral-pcap-bench, 101: just over 500 MB)
#   SKIP_TSHARK=1 bench/pcap.sh /tmp/lateral-pcap-bench4 808   (lateral only: memory at 4 GB)
#
# Corpus: every shared classic-pcap capture written COPIES times into one file per capture;
# copy k maps each IPv4 address a.b.c.d to a.b.(c+k mod 256).d (IP header checksums
# recomputed) and moves time forward, so every copy's connections are new connections rather
# than retransmissions. Both tools read the same files one after the other:
#   lateral pcap FILE... --format json            (its whole analysis: reassembly, SMB1/2,
#                                                  NTLMSSP, Kerberos, DCE/RPC, NDR, summary)
#   tshark -r FILE -T fields -e ...               (the same SMB2, NTLMSSP and DCE/RPC fields;
#                                                  tshark reassembles TCP and DCE/RPC itself)
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
DATA=${LATERAL_SHARED_DATA:-$ROOT/../shared/data}
WORK=${1:-/tmp/lateral-pcap-bench}
COPIES=${2:-101}
BIN=${LATERAL_BIN:-$ROOT/target/release/lateral}
mkdir -p "$WORK/big"

if [ ! -f "$WORK/big/.done-$COPIES" ]; then
  rm -f "$WORK"/big/*.pcap
  find "$DATA/pcap" -name '*.pcap' | sort | while read -r f; do
    name=$(echo "${f#"$DATA/pcap/"}" | tr '/' '_')
    python3 - "$f" "$WORK/big/$name" "$COPIES" <<'PY'
import struct, sys
src, dst, copies = sys.argv[1], sys.argv[2], int(sys.argv[3])
data = open(src, 'rb').read()
header, body = data[:24], data[24:]
assert header[:4] == b'\xd4\xc3\xb2\xa1' and struct.unpack('<I', header[20:24])[0] == 1, 'little-endian Ethernet pcap only'
packets = []
off = 0
while off + 16 <= len(body):
    sec, usec, incl, orig = struct.unpack('<IIII', body[off:off + 16])
    packets.append((sec, usec, orig, body[off + 16:off + 16 + incl]))
    off += 16 + incl
span = (packets[-1][0] - packets[0][0] + 2) if packets else 1

def checksum(h):
    s = sum(struct.unpack('!%dH' % (len(h) // 2), h))
    while s >> 16:
        s = (s & 0xffff) + (s >> 16)
    return (~s) & 0xffff

with open(dst, 'wb') as out:
    out.write(header)
    for k in range(copies):
        for sec, usec, orig, frame in packets:
            f = bytearray(frame)
            eth = 14
            if len(f) >= 18 and f[12:14] == b'\x81\x00':
                eth = 18
            if len(f) >= eth + 20 and f[eth - 2:eth] == b'\x08\x00' and f[eth] >> 4 == 4:
                ihl = (f[eth] & 15) * 4
                for a in (eth + 12, eth + 16):
                    f[a + 2] = (f[a + 2] + k) % 256
                f[eth + 10:eth + 12] = b'\0\0'
                if len(f) >= eth + ihl:
                    f[eth + 10:eth + 12] = struct.pack('!H', checksum(bytes(f[eth:eth + ihl])))
            out.write(struct.pack('<IIII', sec + k * span, usec, len(f), orig))
            out.write(f)
PY
  done
  touch "$WORK/big/.done-$COPIES"
fi

FILES=("$WORK"/big/*.pcap)
BYTES=$(cat "${FILES[@]}" | wc -c)
PACKETS=$(for f in "${FILES[@]}"; do capinfos -c -M "$f" | awk -F': *' '/Number of packets/{print $2}'; done | awk '{s+=$1} END{print s}')
echo "machine: $(nproc) cores, $(free -g | awk '/Mem:/{print $2}') GiB, load $(cut -d' ' -f1-3 /proc/loadavg); $(date -u +%FT%TZ); $("$BIN" --version); $(tshark --version 2>/dev/null | head -1)"
echo "corpus: ${#FILES[@]} files, $BYTES B, $PACKETS packets ($COPIES copies of each shared capture)"

rate() { # label, wall seconds, peak KB
  awk -v l="$1" -v w="$2" -v k="$3" -v b="$BYTES" -v p="$PACKETS" 'BEGIN{
    printf "%-28s wall %8.2f s  %10.0f packets/s  %7.1f MB/s  peak RSS %6.0f MB\n", l, w, p/w, b/w/1e6, k/1024 }'
}

# lateral: all files in one run (its own reading order and threads).
"$BIN" pcap "${FILES[@]}" --format json > /dev/null 2>&1 # warm the page cache
/usr/bin/time -f "%e %M" -o "$WORK/t-lateral" "$BIN" pcap "${FILES[@]}" --format json > "$WORK/lateral.json" 2> "$WORK/lateral.err"
read -r LW LK < "$WORK/t-lateral"
rate "lateral pcap (all files)" "$LW" "$LK"

if [ -n "${SKIP_TSHARK:-}" ]; then exit 0; fi # memory-scaling runs: lateral only

# tshark: one run per file, times summed, peak RSS the largest.
FIELDS=(-e frame.number -e ip.src -e ip.dst -e smb2.cmd -e smb2.tree -e smb2.filename -e smb2.write_length
        -e smb.cmd -e smb.path -e smb.file -e ntlmssp.auth.username -e ntlmssp.auth.domain -e ntlmssp.auth.hostname
        -e ntlmssp.ntlmv2_response.ntproofstr -e dcerpc.cn_bind_to_uuid -e dcerpc.opnum -e dcerpc.pkt_type
        -e svcctl.servicename -e svcctl.binarypathname)
TW=0; TK=0
for f in "${FILES[@]}"; do
  /usr/bin/time -f "%e %M" -o "$WORK/t-tshark" tshark -n -r "$f" -T fields "${FIELDS[@]}" > "$WORK/tshark.out" 2> /dev/null
  read -r w k < "$WORK/t-tshark"
  TW=$(awk -v a="$TW" -v b="$w" 'BEGIN{print a+b}')
  TK=$(( k > TK ? k : TK ))
done
rate "tshark -T fields (per file)" "$TW" "$TK"
awk -v t="$TW" -v l="$LW" 'BEGIN{printf "lateral is %.1f times faster than tshark\n", t/l}'
