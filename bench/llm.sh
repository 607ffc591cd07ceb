#!/bin/sh
# LLM client benchmarks (bench/llm_bench.c, linked with lib/liblightsout.a)
# against the in-process twin, each figure the median of RUNS runs:
#
#   (a) client overhead per request, for each of PROVIDERS: N sequential
#       lo_llm_complete calls of a short text reply, then N lo_llm_stream
#       calls of a ~200-event text stream (the twin cuts text into ~16-byte
#       deltas; 650 words make ~200), each against a fresh twin. Per
#       request: wall time (client and twin) and CPU time of the calling
#       thread, which is the client's cost beyond the server (the twin runs
#       on its server's threads); for the stream also per event delivered.
#   (b) STREAMS concurrent lo_llm_stream calls of the ~200-event stream from
#       one process (one thread each, released together, one client):
#       wall time of the burst, streams/s, events/s, RSS before the burst
#       and the process's peak RSS (twin included).
#   (c) the same burst against a tape entry with a drip fault (DRIP_MS
#       between events), so that every stream is open at once: peak RSS
#       and KB per open stream ((peak - before) / streams open at once).
#   (b) and (c) run with the twin in the process and, when bin/lightsout is
#   built, again against `lightsout twin serve all` in its own process, so
#   the RSS figures are the client's alone.
#
#   bench/llm.sh
#   RUNS=.. N=.. STREAMS=.. DRIP_MS=.. PROVIDERS=".." BURST_PROVIDERS=".." bench/llm.sh
#
# Exits non-zero only when a command fails, never on a slow figure.
set -eu

cd "$(dirname "$0")/.."

RUNS=${RUNS:-5}
N=${N:-500}
STREAMS=${STREAMS:-256}
DRIP_MS=${DRIP_MS:-100}
PROVIDERS=${PROVIDERS:-"anthropic openai openai_chat gemini"}
BURST_PROVIDERS=${BURST_PROVIDERS:-$PROVIDERS}
OUT=bench/out
LIB=lib/liblightsout.a
DRIVER=$OUT/llm_bench
TAPE=$OUT/llm_tape.jsonl
MODELS=data/models.json

die() {
    echo "llm: $*" >&2
    exit 1
}

case $RUNS$N$STREAMS$DRIP_MS in
*[!0-9]*) die "RUNS, N, STREAMS and DRIP_MS must be positive integers" ;;
esac
for v in "$RUNS" "$N" "$STREAMS"; do
    [ "$v" -ge 1 ] || die "RUNS, N and STREAMS must be at least 1"
done
[ -f "$LIB" ] || die "$LIB not found: run make"

mkdir -p "$OUT"
# shellcheck disable=SC2046
${CC:-cc} -std=c11 -D_POSIX_C_SOURCE=200809L -D_DEFAULT_SOURCE -O2 -Wall -Wextra -Iinclude \
    $(pkg-config --cflags jansson) -o "$DRIVER" bench/llm_bench.c "$LIB" \
    $(pkg-config --libs libcurl jansson libmicrohttpd sqlite3) -lpthread -lm ||
    die "cannot build $DRIVER"

# Three entries told apart by the user's text. A 20-word drip reply is about
# 10 events: each stream stays open ~DRIP_MS x 10, long enough for every
# thread to have connected.
long=""
for i in $(seq 650); do long="$long w$i"; done
drip=""
for i in $(seq 20); do drip="$drip w$i"; done
{
    printf '{"match":{"user":"plain"},"reply":{"text":"Done: the change is in and the tests pass."}}\n'
    printf '{"match":{"user":"long"},"reply":{"text":"%s"}}\n' "$long"
    printf '{"match":{"user":"drip"},"reply":{"text":"%s"},"fault":{"drip_ms":%s}}\n' "$drip" "$DRIP_MS"
} >"$TAPE"

# median of column $1 of the lines on stdin
median() {
    awk -v c="$1" '{ print $c }' | sort -g | awk '{ v[NR] = $1 } END {
        if (NR == 0) { print "?"; exit }
        if (NR % 2) print v[(NR + 1) / 2]; else printf "%.2f\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

echo "load average: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "(a) client overhead per request, N=$N sequential calls, medians of $RUNS runs"
printf '    %-12s %14s %13s %15s %14s %7s %13s\n' provider "plain wall us" "plain cpu us" \
    "stream wall us" "stream cpu us" events "cpu us/event"
for p in $PROVIDERS; do
    res=$OUT/llm-overhead-$p.runs
    : >"$res"
    "$DRIVER" overhead "$p" 20 "$TAPE" "$MODELS" >/dev/null || die "warm-up $p failed"
    i=0
    while [ "$i" -lt "$RUNS" ]; do
        "$DRIVER" overhead "$p" "$N" "$TAPE" "$MODELS" >>"$res" || die "overhead $p failed"
        i=$((i + 1))
    done
    printf '    %-12s %14s %13s %15s %14s %7s %13s\n' "$p" "$(median 1 <"$res")" \
        "$(median 2 <"$res")" "$(median 3 <"$res")" "$(median 4 <"$res")" \
        "$(median 5 <"$res")" "$(median 6 <"$res")"
done
echo

# One burst per process: ru_maxrss is the process's peak.
burst_rows() { # user twin-label twin-url ("" = in the process)
    for p in $BURST_PROVIDERS; do
        res=$OUT/llm-burst-$1-$2-$p.runs
        : >"$res"
        i=0
        while [ "$i" -lt "$RUNS" ]; do
            LLM_BENCH_TWIN_URL=$3 "$DRIVER" burst "$p" "$STREAMS" "$1" "$TAPE" "$MODELS" >>"$res" ||
                die "burst $1 $p ($2 twin) failed"
            i=$((i + 1))
        done
        kb=$(median 7 <"$res")
        [ "$1" = drip ] || kb=-
        printf '    %-12s %-8s %7s %10s %10s %10s %9s %9s %8s\n' "$p" "$2" "$(median 1 <"$res")" \
            "$(median 2 <"$res")" "$(median 3 <"$res")" "$(median 4 <"$res")" \
            "$(median 5 <"$res")" "$(median 6 <"$res")" "$kb"
    done
}

# The in-process twin's memory counts in the process's RSS; a twin in its
# own process (bin/lightsout, when built) leaves the client's alone.
twin_url=""
tpid=""
if [ -x bin/lightsout ]; then
    bin/lightsout twin serve all --port 0 --tape "$TAPE" --api-key sk-bench --log /dev/null \
        >"$OUT/llm-twin.out" 2>&1 &
    tpid=$!
    trap 'kill $tpid 2>/dev/null' EXIT
    for _ in $(seq 100); do
        twin_url=$(sed -n 's|.*listening on \(http://[0-9.:]*\).*|\1|p' "$OUT/llm-twin.out" | head -1)
        [ -n "$twin_url" ] && break
        sleep 0.05
    done
    [ -n "$twin_url" ] || die "the twin did not start (see $OUT/llm-twin.out)"
fi

for user in long drip; do
    if [ "$user" = long ]; then
        echo "(b) $STREAMS concurrent ~200-event streams, one process, medians of $RUNS runs"
    else
        echo "(c) $STREAMS concurrent streams, drip $DRIP_MS ms between events, medians of $RUNS runs"
    fi
    printf '    %-12s %-8s %7s %10s %10s %10s %9s %9s %8s\n' provider twin "wall s" streams/s \
        events/s "before MB" "peak MB" "max open" KB/open
    burst_rows "$user" in-proc ""
    [ -z "$twin_url" ] || burst_rows "$user" apart "$twin_url"
    echo
done
[ -n "$twin_url" ] || echo "(bin/lightsout not built: no runs against a twin in its own process)"
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg)"
