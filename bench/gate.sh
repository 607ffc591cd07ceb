#!/bin/sh
# Gate overhead: what a validation gate adds to running its command bare.
#
# bench/gate_bench.c (linked against lib/liblightsout.a) runs a pipeline
# whose gate runs `true` RUNS times (after one warm-up visit) and, before
# each gate, the same command bare (posix_spawn of /bin/sh -c true and
# waitpid), timing both back to back. The gate's time is its whole handler:
# the measured run (watcher thread, cgroup where one can be made), the
# report parse, gate.json and gate.md, context and events. Printed per mode
# (without the sandbox; with it, when bubblewrap works): medians and p90 of
# the bare run, the gate, and the difference per pair, in milliseconds, and
# whether the targets hold (added median <= 5 ms bare, <= 25 ms sandboxed).
#
#   bench/gate.sh                     100 runs, run directory on the disk
#   RUNS=300 bench/gate.sh
#   LOGS_DIR=/dev/shm bench/gate.sh   the run directory on tmpfs
#
# Exits non-zero only when a command fails.
set -eu

cd "$(dirname "$0")/.."

RUNS=${RUNS:-100}
OUT=bench/out
LOGS_DIR=${LOGS_DIR:-$OUT}
LIB=lib/liblightsout.a
DRIVER=$OUT/gate_bench

die() {
    echo "gate: $*" >&2
    exit 1
}

case $RUNS in
'' | *[!0-9]*) die "RUNS must be a positive integer" ;;
esac
[ -f "$LIB" ] || die "$LIB not found: run make"
mkdir -p "$OUT" "$LOGS_DIR"
# shellcheck disable=SC2046
${CC:-cc} -std=c11 -D_POSIX_C_SOURCE=200809L -D_DEFAULT_SOURCE -O2 -Iinclude \
    $(pkg-config --cflags jansson) -o "$DRIVER" bench/gate_bench.c "$LIB" \
    $(pkg-config --libs libcurl jansson libmicrohttpd sqlite3) -lpthread -lm ||
    die "cannot build $DRIVER"

modes=bare
if command -v bwrap >/dev/null 2>&1 && bwrap --ro-bind / / true 2>/dev/null; then
    modes="bare sandbox"
else
    echo "gate: bubblewrap does not work here: the sandboxed figure is skipped"
fi

echo "gate overhead, $RUNS runs of \`true\`, run directory in $LOGS_DIR ($(nproc) CPUs, load $(cut -d' ' -f1 /proc/loadavg))"
printf '%-8s %10s %10s %10s %10s %10s %10s  %s\n' mode bare_med bare_p90 gate_med gate_p90 \
    added_med added_p90 target
for mode in $modes; do
    logs=$LOGS_DIR/gate-bench-$$-$mode
    rm -rf "$logs"
    line=$("$DRIVER" "$RUNS" "$logs" "$mode") || die "$DRIVER failed"
    rm -rf "$logs"
    get() { printf '%s\n' "$line" | tr ' ' '\n' | sed -n "s/^$1=//p"; }
    limit=5
    [ "$mode" = sandbox ] && limit=25
    verdict=$(awk -v a="$(get add_med)" -v l="$limit" 'BEGIN { print (a <= l) ? "met (<= " l " ms)" : "MISSED (> " l " ms)" }')
    printf '%-8s %10s %10s %10s %10s %10s %10s  %s\n' "$mode" "$(get bare_med)" "$(get bare_p90)" \
        "$(get gate_med)" "$(get gate_p90)" "$(get add_med)" "$(get add_p90)" "$verdict"
done
