#!/bin/sh
# Twin throughput: requests/s and p50/p99 latency of `lightsout twin serve
# anthropic` answering POST /v1/messages from a tape, non-streamed and
# streamed (a ~60-word reply, i.e. message_start, content_block_* and
# text deltas, message_stop), under bench/twin_load.c (CONNS threads, one
# request per connection, for SECONDS each). Each case runs RUNS times;
# the medians are printed, with the streamed/plain ratio.
#
#   bench/twin.sh
#   CONNS=16 SECONDS_EACH=10 RUNS=5 bench/twin.sh
set -eu
cd "$(dirname "$0")/.."
CONNS=${CONNS:-8}
SECS=${SECONDS_EACH:-5}
RUNS=${RUNS:-3}
OUT=bench/out
mkdir -p "$OUT"
[ -x bin/lightsout ] || { echo "twin: bin/lightsout not found: run make" >&2; exit 1; }
cc -std=c11 -O2 -Wall -Wextra -o "$OUT/twin_load" bench/twin_load.c -lpthread
words=""
for i in $(seq 60); do words="$words word$i"; done
printf '{"reply":{"text":"%s"}}\n' "$words" >"$OUT/twin_tape.jsonl"
printf '%s' '{"model":"claude-sonnet-4-5","max_tokens":1024,"messages":[{"role":"user","content":"Say sixty words."}]}' >"$OUT/plain.json"
printf '%s' '{"model":"claude-sonnet-4-5","max_tokens":1024,"stream":true,"messages":[{"role":"user","content":"Say sixty words."}]}' >"$OUT/stream.json"
bin/lightsout twin serve anthropic --port 0 --tape "$OUT/twin_tape.jsonl" --log /dev/null \
    >"$OUT/twin.out" 2>"$OUT/twin.err" &
pid=$!
trap 'kill $pid 2>/dev/null' EXIT
port=""
for _ in $(seq 200); do
    port=$(sed -n 's|^export ANTHROPIC_BASE_URL=http://127.0.0.1:||p' "$OUT/twin.out")
    [ -n "$port" ] && break
    sleep 0.05
done
[ -n "$port" ] || { echo "twin: the twin did not start" >&2; exit 1; }
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
field() { sed -n "s/.*$1=\([0-9.]*\).*/\1/p"; }
for case in plain stream; do
    : >"$OUT/$case.runs"
    for _ in $(seq "$RUNS"); do
        "$OUT/twin_load" "$port" /v1/messages "$OUT/$case.json" "$CONNS" "$SECS" >>"$OUT/$case.runs"
    done
    rps=$(field rps <"$OUT/$case.runs" | median)
    p50=$(field p50_ms <"$OUT/$case.runs" | median)
    p99=$(field p99_ms <"$OUT/$case.runs" | median)
    errs=$(field errors <"$OUT/$case.runs" | awk '{s+=$1} END {print s}')
    echo "twin $case: $rps requests/s, p50 $p50 ms, p99 $p99 ms (median of $RUNS runs, $CONNS connections, ${SECS}s each; $errs errors)"
    eval "rps_$case=$rps"
done
echo "twin streamed/plain throughput ratio: $(awk "BEGIN {printf \"%.2f\", $rps_stream / $rps_plain}")"
