# Shared by the bench scripts (sourced): timing one command and percentiles of repeated runs.
# Needs $WORK (where the command's stdout is kept); $LABEL_WIDTH sets the label column (44).

timed() { # label, command... ; prints wall seconds and peak RSS, keeps stdout in $WORK/last.out
  local label=$1; shift
  local out
  out=$( { /usr/bin/time -f "TIME %e %M" "$@" > "$WORK/last.out"; } 2>&1 | grep '^TIME' | tail -1)
  WALL=$(echo "$out" | cut -d' ' -f2)
  printf "%-${LABEL_WIDTH:-44}s wall %8ss  peak RSS %6s MB\n" "$label" "$WALL" "$(( $(echo "$out" | cut -d' ' -f3) / 1024 ))"
}

percentiles() { # label, file of seconds (one per line)
  sort -n "$2" | awk -v l="$1" -v w="${LABEL_WIDTH:-44}" '{a[NR]=$1} END {
    p50=a[int((NR-1)*0.5+0.5)+1]; p95=a[int((NR-1)*0.95+0.5)+1];
    printf "%-" w "s n=%d  p50 %.3f s  p95 %.3f s  max %.3f s\n", l, NR, p50, p95, a[NR] }'
}
