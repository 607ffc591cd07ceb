#!/bin/sh
# Engine benchmarks. Every figure is the median of RUNS runs.
#
#   (a) a chain of STAGES conditional stages (diamonds, each with a success
#       and a fail edge), run by bench/engine_bench.c against
#       lib/liblightsout.a with a checkpoint after every stage: microseconds
#       per stage over the whole run and over its first and last 100 stages
#       (equal figures: a stage costs the same however long the run has
#       been going), with the checkpoint fsync on and off (cfg.no_fsync).
#   (b) a chain of TOOL_STAGES tool stages running `true`: milliseconds per
#       stage, next to the cost of one fork/exec/wait of /bin/true and of
#       /bin/sh -c true (what a tool stage spawns), and the difference.
#   (c) start-up: `lightsout --version` and `lightsout validate
#       examples/linear.dot`, with hyperfine when it is installed, else a
#       loop of 100 runs timed with date +%s%N.
#
#   bench/engine.sh                       10000 and 1000 stages, 3 runs
#   STAGES=.. TOOL_STAGES=.. RUNS=.. bench/engine.sh
#   LOGS_DIR=/dev/shm bench/engine.sh     run directories on tmpfs (default
#                                         bench/out, on the disk)
#   LIGHTSOUT=path/to/lightsout           another build for (c)
#
# Exits non-zero only when a command fails.
set -eu

cd "$(dirname "$0")/.."

STAGES=${STAGES:-10000}
TOOL_STAGES=${TOOL_STAGES:-1000}
RUNS=${RUNS:-3}
OUT=bench/out
LOGS_DIR=${LOGS_DIR:-$OUT}
LO=${LIGHTSOUT:-bin/lightsout}
LIB=lib/liblightsout.a
DRIVER=$OUT/engine_bench

die() {
    echo "engine: $*" >&2
    exit 1
}

case $STAGES$TOOL_STAGES$RUNS in
*[!0-9]*) die "STAGES, TOOL_STAGES and RUNS must be positive integers" ;;
esac
[ "$RUNS" -ge 1 ] || die "RUNS must be at least 1"
[ -f "$LIB" ] || die "$LIB not found: run make"
[ -x "$LO" ] || die "$LO not found: run make"

mkdir -p "$OUT" "$LOGS_DIR"
# shellcheck disable=SC2046
${CC:-cc} -std=c11 -D_POSIX_C_SOURCE=200809L -D_DEFAULT_SOURCE -O2 -Iinclude \
    $(pkg-config --cflags jansson) -o "$DRIVER" bench/engine_bench.c "$LIB" \
    $(pkg-config --libs libcurl jansson libmicrohttpd sqlite3) -lpthread -lm ||
    die "cannot build $DRIVER"

# median of the numbers on stdin
median() {
    sort -g | awk '{ v[NR] = $1 } END {
        if (NR == 0) { print "?"; exit }
        if (NR % 2) print v[(NR + 1) / 2]; else printf "%.3f\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

# field NAME: the value of NAME=... in the lines on stdin, one a line
field() {
    tr ' ' '\n' | sed -n "s/^$1=//p"
}

# one run of the driver in a fresh run directory, appended to FILE
drive() { # drive FILE ARGS...
    file=$1
    shift
    logs=$LOGS_DIR/engine-bench-run.$$
    rm -rf "$logs"
    "$DRIVER" "$1" "$2" "$logs" "$3" >>"$file" || die "engine_bench $* failed"
    rm -rf "$logs"
}

fs=$(df -T "$LOGS_DIR" 2>/dev/null | awk 'NR == 2 { print $2 }')
echo "run directories in $LOGS_DIR (${fs:-unknown filesystem}); medians of $RUNS runs"
echo

# ---- (a) conditional stages with checkpoints ----
echo "(a) $STAGES conditional stages, checkpoint after each"
printf '    %-16s %12s %14s %14s %12s\n' "checkpoints" "us/stage" "first 100 us" "last 100 us" "last/first"
for mode in fsync nofsync; do
    res=$OUT/engine-chain-$mode.runs
    : >"$res"
    i=0
    while [ "$i" -lt "$RUNS" ]; do
        drive "$res" chain "$STAGES" "$mode"
        i=$((i + 1))
    done
    per=$(field us_per_stage <"$res" | median)
    first=$(field 'first[0-9]*_us' <"$res" | median)
    last=$(field 'last[0-9]*_us' <"$res" | median)
    ratio=$(awk -v a="$first" -v b="$last" 'BEGIN { if (a > 0) printf "%.1f", b / a; else print "?" }')
    label=$([ "$mode" = fsync ] && echo "fsync" || echo "no fsync")
    printf '    %-16s %12s %14s %14s %11sx\n' "$label" "$per" "$first" "$last" "$ratio"
done
echo "    (files are written atomically in both modes; \"no fsync\" skips the fsyncs of"
echo "    checkpoint.json, journal.jsonl and status.json: the engine's own cost)"
echo

# ---- (b) tool stages ----
probe=$OUT/engine-probe.$$
cat >"$probe.dot" <<'EOF'
digraph Probe { start [shape=Mdiamond]; exit [shape=Msquare]
  t [shape=parallelogram, tool_command="true"]; start -> t -> exit }
EOF
rm -rf "$probe"
"$LO" run "$probe.dot" --logs "$probe" >/dev/null 2>&1 || true
if grep -q '"handler":"tool"' "$probe/events.jsonl" 2>/dev/null; then
    echo "(b) $TOOL_STAGES tool stages running \`true\`"
    res=$OUT/engine-tools.runs
    : >"$res"
    spawn=$OUT/engine-spawn.runs
    : >"$spawn"
    i=0
    while [ "$i" -lt "$RUNS" ]; do
        drive "$res" tools "$TOOL_STAGES" fsync
        "$DRIVER" spawn "$TOOL_STAGES" >>"$spawn" || die "engine_bench spawn failed"
        i=$((i + 1))
    done
    per=$(field ms_per_stage <"$res" | median)
    t=$(field true_ms <"$spawn" | median)
    sh=$(field sh_c_true_ms <"$spawn" | median)
    beyond=$(awk -v a="$per" -v b="$sh" 'BEGIN { printf "%.3f", a - b }')
    printf '    %-40s %8s ms\n' "per tool stage (whole run / stages)" "$per"
    printf '    %-40s %8s ms\n' "fork/exec/wait of /bin/true" "$t"
    printf '    %-40s %8s ms\n' "fork/exec/wait of /bin/sh -c true" "$sh"
    printf '    %-40s %8s ms\n' "per stage beyond the sh -c spawn" "$beyond"
else
    echo "(b) skipped: the tool handler is not registered in this build"
fi
rm -rf "$probe" "$probe.dot"
echo

# ---- (c) start-up ----
echo "(c) start-up"
if command -v hyperfine >/dev/null 2>&1; then
    hyperfine --warmup 5 --runs 100 -N "$LO --version" "$LO validate examples/linear.dot"
else
    loop() { # loop CMD...: ms per run over 100 runs
        t0=$(date +%s%N)
        j=0
        while [ "$j" -lt 100 ]; do
            "$@" >/dev/null 2>&1 || die "$* failed"
            j=$((j + 1))
        done
        t1=$(date +%s%N)
        awk -v d=$((t1 - t0)) 'BEGIN { printf "%.3f\n", d / 100 / 1e6 }'
    }
    for cmd in "--version" "validate examples/linear.dot"; do
        res=$OUT/engine-startup.runs
        : >"$res"
        # shellcheck disable=SC2086
        loop "$LO" $cmd >/dev/null # warm-up
        i=0
        while [ "$i" -lt "$RUNS" ]; do
            # shellcheck disable=SC2086
            loop "$LO" $cmd >>"$res"
            i=$((i + 1))
        done
        printf '    %-40s %8s ms  (100 runs a loop; hyperfine not installed)\n' \
            "lightsout $cmd" "$(median <"$res")"
    done
fi
