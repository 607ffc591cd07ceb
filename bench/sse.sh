#!/bin/sh
# SSE parser throughput. bench/sse_bench.c, linked against
# lib/liblightsout.a, builds a ~MB megabyte event stream in memory and
# parses it with lo_sse in 64 KiB chunks and with a naive getline() +
# strncmp() parser over the same bytes, in the same run; figures are the
# median of RUNS runs after one warm-up.
#
#   small  Anthropic-style content_block_delta events with ~40-byte text
#          deltas (many short events, like a real model stream)
#   large  the same events with 4 KB deltas (long data lines)
#
#   bench/sse.sh                 50 MB, 5 runs
#   MB=.. RUNS=.. bench/sse.sh
#
# Target: lo_sse at least as fast as the naive parser (ratio >= 1) on both.
# Exits non-zero only when a command fails.
set -eu

cd "$(dirname "$0")/.."

MB=${MB:-50}
RUNS=${RUNS:-5}
OUT=bench/out
LIB=lib/liblightsout.a
DRIVER=$OUT/sse_bench

die() {
    echo "sse: $*" >&2
    exit 1
}

case $MB$RUNS in
*[!0-9]*) die "MB and RUNS must be positive integers" ;;
esac
{ [ "$MB" -ge 1 ] && [ "$RUNS" -ge 1 ]; } || die "MB and RUNS must be at least 1"
[ -f "$LIB" ] || die "$LIB not found: run make lib/liblightsout.a"

mkdir -p "$OUT"
# shellcheck disable=SC2046
${CC:-cc} -std=c11 -D_POSIX_C_SOURCE=200809L -D_DEFAULT_SOURCE -O2 -Iinclude \
    -o "$DRIVER" bench/sse_bench.c "$LIB" \
    $(pkg-config --libs libcurl jansson libmicrohttpd sqlite3) -lpthread -lm ||
    die "cannot build $DRIVER"

# field NAME: the value of NAME=... in the line on stdin
field() {
    tr ' ' '\n' | sed -n "s/^$1=//p"
}

echo "lo_sse vs a naive getline()+strncmp() parser, 64 KiB chunks, median of $RUNS runs"
printf '    %-8s %9s %9s %12s %12s %8s %10s %s\n' "workload" "MB" "events" \
    "lo_sse MB/s" "naive MB/s" "ratio" "ns/event" "target"
for w in small large; do
    line=$("$DRIVER" "$w" "$MB" "$RUNS") || die "sse_bench $w failed"
    bytes=$(echo "$line" | field bytes)
    ratio=$(echo "$line" | field ratio)
    ok=$(awk -v r="$ratio" 'BEGIN { print (r >= 1 ? "met" : "MISSED") }')
    printf '    %-8s %9s %9s %12s %12s %7sx %10s %s\n' "$w" \
        "$(awk -v b="$bytes" 'BEGIN { printf "%.1f", b / 1e6 }')" \
        "$(echo "$line" | field events)" "$(echo "$line" | field lo_mb_s)" \
        "$(echo "$line" | field naive_mb_s)" "$ratio" \
        "$(echo "$line" | field lo_ns_per_event)" "$ok"
done
