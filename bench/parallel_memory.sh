#!/bin/sh
# Peak RSS of `lightsout run` on a pipeline that fans out to 64 branches at
# once (max_parallel=64), each branch a codergen stage (sim backend) and a
# tool stage, joined by a fan-in. Median of RUNS runs.
#
#   bench/parallel_memory.sh            64 branches, 5 runs
#   BRANCHES=.. RUNS=.. bench/parallel_memory.sh
set -eu
cd "$(dirname "$0")/.."
BRANCHES=${BRANCHES:-64}
RUNS=${RUNS:-5}
LO=${LIGHTSOUT:-bin/lightsout}
OUT=bench/out
[ -x "$LO" ] || { echo "parallel_memory: $LO not built: run make" >&2; exit 1; }
[ -x /usr/bin/time ] || { echo "parallel_memory: /usr/bin/time missing (apt-get install time)" >&2; exit 1; }
mkdir -p "$OUT"
dot=$OUT/parallel-$BRANCHES.dot
{
    echo "digraph P {"
    echo "  start [shape=Mdiamond]"
    echo "  exit [shape=Msquare]"
    echo "  fan [shape=component, max_parallel=$BRANCHES]"
    echo "  join [shape=tripleoctagon]"
    echo "  start -> fan"
    i=1
    while [ "$i" -le "$BRANCHES" ]; do
        echo "  b$i [prompt=\"Branch $i of the work\"]"
        echo "  t$i [shape=parallelogram, tool_command=\"sleep 0.2\"]"
        echo "  fan -> b$i -> t$i -> join"
        i=$((i + 1))
    done
    echo "  join -> exit"
    echo "}"
} >"$dot"
"$LO" validate -q "$dot" 2>/dev/null || { echo "parallel_memory: generated pipeline does not validate" >&2; exit 1; }
rss=""
walls=""
r=0
while [ "$r" -lt "$RUNS" ]; do
    logs=$(mktemp -d)
    /usr/bin/time -f '%M %e' -o "$OUT/pm.time" "$LO" run "$dot" --logs "$logs/run" >/dev/null 2>&1
    rss="$rss $(cut -d' ' -f1 "$OUT/pm.time")"
    walls="$walls $(cut -d' ' -f2 "$OUT/pm.time")"
    rm -rf "$logs"
    r=$((r + 1))
done
median() { printf '%s\n' $1 | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
m=$(median "$rss")
w=$(median "$walls")
echo "parallel memory: $BRANCHES branches at once, median of $RUNS runs"
echo "  peak RSS: $m KB ($(awk "BEGIN {printf \"%.1f\", $m/1024}") MB); wall: $w s (each branch sleeps 0.2 s)"
echo "  target: under 16 MB"
