#!/bin/sh
# Coding agent session benchmarks (bench/agent_bench.c, linked with
# lib/liblightsout.a), each figure the median of RUNS runs per provider:
#
#   (a) harness overhead: a TURNS-turn session (one trivial tool call a turn)
#       against the in-process twin, and a bare client loop sending the same
#       conversation, each against a fresh twin. Per turn: the wall-clock
#       difference and the difference in CPU time of the calling thread (the
#       loop plus the client; the twin runs on its server's threads), the
#       steadier figure on a loaded machine.
#   (b) prompt caching: a CACHE_TURNS-turn session; the share of prompt
#       tokens (input + cache read + cache write) the twin served from its
#       prompt cache, over turns 5 to the end. Target for Anthropic: >= 70%.
#
#   bench/agent.sh
#   TURNS=.. CACHE_TURNS=.. RUNS=.. PROVIDERS="anthropic openai gemini" bench/agent.sh
#
# Exits non-zero only when a command fails, never on a missed target.
set -eu

cd "$(dirname "$0")/.."

TURNS=${TURNS:-200}
CACHE_TURNS=${CACHE_TURNS:-40}
RUNS=${RUNS:-5}
PROVIDERS=${PROVIDERS:-"anthropic openai gemini"}
OUT=bench/out
LIB=lib/liblightsout.a
DRIVER=$OUT/agent_bench
TAPE=bench/agent_forever.jsonl
MODELS=data/models.json

die() {
    echo "agent: $*" >&2
    exit 1
}

case $TURNS$CACHE_TURNS$RUNS in
*[!0-9]*) die "TURNS, CACHE_TURNS and RUNS must be positive integers" ;;
esac
[ "$RUNS" -ge 1 ] || die "RUNS must be at least 1"
[ "$CACHE_TURNS" -ge 5 ] || die "CACHE_TURNS must be at least 5"
[ -f "$LIB" ] || die "$LIB not found: run make"

mkdir -p "$OUT"
# shellcheck disable=SC2046
${CC:-cc} -std=c11 -D_POSIX_C_SOURCE=200809L -D_DEFAULT_SOURCE -O2 -Iinclude \
    $(pkg-config --cflags jansson) -o "$DRIVER" bench/agent_bench.c "$LIB" \
    $(pkg-config --libs libcurl jansson libmicrohttpd sqlite3) -lpthread -lm ||
    die "cannot build $DRIVER"

# median of column $1 of the lines on stdin
median() {
    awk -v c="$1" '{ print $c }' | sort -g | awk '{ v[NR] = $1 } END {
        if (NR == 0) { print "?"; exit }
        if (NR % 2) print v[(NR + 1) / 2]; else printf "%.1f\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

echo "(a) harness overhead per turn, $TURNS turns, medians of $RUNS runs"
printf '    %-10s %12s %12s %14s %14s %14s %14s\n' provider "session ms" "bare ms" \
    "wall us/turn" "session cpu ms" "bare cpu ms" "cpu us/turn"
for p in $PROVIDERS; do
    res=$OUT/agent-overhead-$p.runs
    : >"$res"
    "$DRIVER" overhead "$p" 20 "$TAPE" "$MODELS" >/dev/null || die "warm-up failed"
    i=0
    while [ "$i" -lt "$RUNS" ]; do
        "$DRIVER" overhead "$p" "$TURNS" "$TAPE" "$MODELS" >>"$res" || die "overhead $p failed"
        i=$((i + 1))
    done
    printf '    %-10s %12s %12s %14s %14s %14s %14s\n' "$p" "$(median 1 <"$res")" \
        "$(median 2 <"$res")" "$(median 3 <"$res")" "$(median 4 <"$res")" \
        "$(median 5 <"$res")" "$(median 6 <"$res")"
done
echo

echo "(b) prompt cache, $CACHE_TURNS turns, turns 5-$CACHE_TURNS (the cache is deterministic: one run)"
printf '    %-10s %16s %16s %10s\n' provider "prompt tokens" "cache reads" "share"
for p in $PROVIDERS; do
    set -- $("$DRIVER" cache "$p" "$CACHE_TURNS" "$TAPE" "$MODELS") || die "cache $p failed"
    pct=$(awk -v r="$3" 'BEGIN { printf "%.1f%%", r * 100 }')
    verdict=""
    if [ "$p" = anthropic ]; then
        verdict=$(awk -v r="$3" 'BEGIN { print (r >= 0.70 ? "(target >= 70%: met)" : "(target >= 70%: MISSED)") }')
    fi
    printf '    %-10s %16s %16s %10s %s\n' "$p" "$1" "$2" "$pct" "$verdict"
done
