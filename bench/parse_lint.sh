#!/bin/sh
# Parse+lint benchmark: `lightsout validate` on a generated pipeline of NODES
# nodes and EDGES edges against Graphviz's `nop` reading the same graph as
# plain DOT. Prints file size, median wall time, MB/s and median peak RSS of
# each, their ratios, and seconds per MB at 1/4, 1/2 and full size so one can
# see that parse+lint time grows linearly with the graph.
#
#   bench/parse_lint.sh                  100000 nodes, 200000 edges, 5 runs
#   NODES=.. EDGES=.. RUNS=.. bench/parse_lint.sh
#   LIGHTSOUT=path/to/lightsout bench/parse_lint.sh   another build
#
# MB is 10^6 bytes throughout. Wall time comes from a nanosecond clock around
# each run (GNU time's %e has only 10 ms resolution, too coarse for the small
# linearity graphs); peak RSS is GNU time's %M. Every figure is the median of
# RUNS runs after one unmeasured warm-up run, and ours and nop alternate so
# that noise on this shared machine hits both alike. Exits non-zero only when
# a command fails, never because a target is missed.
set -eu

cd "$(dirname "$0")/.."

NODES=${NODES:-100000}
EDGES=${EDGES:-200000}
RUNS=${RUNS:-5}
OUT=bench/out
LO=${LIGHTSOUT:-bin/lightsout}
TIME=/usr/bin/time
GEN=$OUT/gen_pipeline
BIG=$OUT/big.dot
PLAIN=$OUT/big-plain.dot

die() {
    echo "parse_lint: $*" >&2
    exit 1
}

case $NODES$EDGES$RUNS in
*[!0-9]*) die "NODES, EDGES and RUNS must be positive integers" ;;
esac
[ "$RUNS" -ge 1 ] || die "RUNS must be at least 1"
[ -x "$TIME" ] || die "$TIME not found: install the Debian package 'time' (apt-get install time)"

have_lo=1
[ -x "$LO" ] || have_lo=0
have_nop=1
command -v nop >/dev/null 2>&1 || have_nop=0

mkdir -p "$OUT"
${CC:-cc} -std=c11 -O2 -o "$GEN" bench/gen_pipeline.c || die "cannot build $GEN"

# gen NODES EDGES FILE [--plain]: write atomically so a failed run never
# leaves a truncated graph behind for the next one.
gen() {
    if ! "$GEN" "$1" "$2" ${4:+"$4"} >"$3.tmp"; then
        rm -f "$3.tmp"
        die "gen_pipeline $* failed"
    fi
    mv "$3.tmp" "$3"
}

size_mb() {
    wc -c <"$1" | awk '{ printf "%.3f", $1 / 1e6 }'
}

# run_once RESULTS CMD...: run CMD once with output discarded and append
# "wall_seconds peak_rss_kib" to RESULTS (or nothing when RESULTS is -).
# On failure, show what the command said and stop.
run_once() {
    res=$1
    shift
    t0=$(date +%s%N)
    if ! "$TIME" -f '%e %M' -o "$OUT/time.out" "$@" >/dev/null 2>&1; then
        echo "parse_lint: command failed: $*" >&2
        "$@" 2>&1 | tail -n 20 >&2 || true
        exit 1
    fi
    t1=$(date +%s%N)
    [ "$res" = - ] && return 0
    rss=$(awk 'END { print $NF }' "$OUT/time.out")
    echo "$(((t1 - t0) / 1000)) $rss" | awk '{ printf "%.6f %d\n", $1 / 1e6, $2 }' >>"$res"
}

# median FILE COLUMN
median() {
    awk -v c="$2" '{ print $c }' "$1" | sort -n | awk '
        { v[NR] = $1 }
        END { if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

# ---------------------------------------------------------------- inputs
gen "$NODES" "$EDGES" "$BIG"
gen "$NODES" "$EDGES" "$PLAIN" --plain
big_mb=$(size_mb "$BIG")
plain_mb=$(size_mb "$PLAIN")

rm -f "$OUT/ours.runs" "$OUT/nop.runs"

if [ "$have_lo" = 0 ]; then
    echo "$LO not built: run make (measuring nop only)" >&2
fi
if [ "$have_nop" = 0 ]; then
    echo "nop not found: install the Debian package 'graphviz' (measuring ours only)" >&2
fi

# ---------------------------------------------------------------- main run
# One warm-up of each, then alternate so both see the same machine.
# bench_pair RESULTS_OURS RESULTS_NOP
bench_pair() {
    if [ "$have_lo" = 1 ]; then
        run_once "$1" "$LO" validate "$BIG"
    fi
    if [ "$have_nop" = 1 ]; then
        run_once "$2" nop "$PLAIN"
    fi
}
bench_pair - -
i=0
while [ "$i" -lt "$RUNS" ]; do
    bench_pair "$OUT/ours.runs" "$OUT/nop.runs"
    i=$((i + 1))
done

nop_version=$(dot -V 2>&1 | sed -n 's/.*version \([0-9.]*\).*/\1/p')

echo
echo "parse+lint: $NODES nodes, $EDGES edges; median of $RUNS runs"
printf '%-22s %9s %9s %9s %12s\n' "" "file MB" "wall s" "MB/s" "peak RSS MB"
row() { # label file_mb runs_file
    w=$(median "$3" 1)
    m=$(median "$3" 2)
    awk -v l="$1" -v s="$2" -v w="$w" -v m="$m" 'BEGIN {
        printf "%-22s %9.2f %9.3f %9.1f %12.1f\n", l, s, w, (w > 0 ? s / w : 0), m * 1024 / 1e6 }'
}
if [ "$have_lo" = 1 ]; then
    row "lightsout validate" "$big_mb" "$OUT/ours.runs"
fi
if [ "$have_nop" = 1 ]; then
    row "nop (graphviz ${nop_version:-?})" "$plain_mb" "$OUT/nop.runs"
fi

if [ "$have_lo" = 1 ] && [ "$have_nop" = 1 ]; then
    awk -v ow="$(median "$OUT/ours.runs" 1)" -v om="$(median "$OUT/ours.runs" 2)" \
        -v nw="$(median "$OUT/nop.runs" 1)" -v nm="$(median "$OUT/nop.runs" 2)" \
        -v s="$big_mb" 'BEGIN {
        printf "ratios: nop time / ours = %.2f; our RSS / nop RSS = %.2f\n", nw / ow, om / nm
        printf "targets: >= 50 MB/s: %s (%.1f); peak RSS <= nop: %s\n",
            (s / ow >= 50 ? "met" : "MISSED"), s / ow, (om <= nm ? "met" : "MISSED")
    }'
fi

[ "$have_lo" = 1 ] || exit 0

# ---------------------------------------------------------------- linearity
# Quarter and half size are measured here; full size reuses the runs above.
echo
echo "linearity: lightsout validate, median of $RUNS runs"
printf '%9s %9s %9s %9s %9s\n' nodes edges "file MB" "wall s" "s/MB"
rm -f "$OUT/lin.spm"
lin_row() { # nodes edges file_mb runs_file
    awk -v n="$1" -v e="$2" -v s="$3" -v w="$(median "$4" 1)" 'BEGIN {
        printf "%9d %9d %9.2f %9.3f %9.4f\n", n, e, s, w, w / s
        print w / s >>"'"$OUT/lin.spm"'" }'
}
for div in 4 2; do
    n=$((NODES / div))
    e=$((EDGES / div))
    [ "$n" -ge 3 ] || n=3
    [ "$e" -ge $((n - 1)) ] || e=$((n - 1))
    f=$OUT/lin-$n-$e.dot
    gen "$n" "$e" "$f"
    rm -f "$OUT/lin.runs"
    run_once - "$LO" validate "$f"
    i=0
    while [ "$i" -lt "$RUNS" ]; do
        run_once "$OUT/lin.runs" "$LO" validate "$f"
        i=$((i + 1))
    done
    lin_row "$n" "$e" "$(size_mb "$f")" "$OUT/lin.runs"
done
lin_row "$NODES" "$EDGES" "$big_mb" "$OUT/ours.runs"
# Linear means flat s/MB: full size over quarter size stays near 1.
awk 'NR == 1 { q = $1 } { f = $1 } END {
    printf "s/MB full size / quarter size = %.2f (1.00 is perfectly linear)\n", f / q }' "$OUT/lin.spm"
