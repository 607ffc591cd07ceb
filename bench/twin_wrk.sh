#!/bin/sh
# Twin under wrk: requests/s and p99 of `lightsout twin serve anthropic`
# answering POST /v1/messages from a tape, with a non-streaming entry and a
# 200-event streaming entry (message_start, content_block_start, ~195
# text deltas, ..., message_stop), against a minimal Node.js http server
# replaying the very bytes the twin sent (bench/twin_replay.js), in the
# same run. wrk keeps its connections alive, as SDK clients do.
#
#   bench/twin_wrk.sh
#   DURATION=10s CONNS=64 RUNS=3 bench/twin_wrk.sh
#
# Needs wrk (Debian wrk) and node (Debian nodejs; the baseline is skipped
# without it). Exits non-zero only when a command fails.
set -eu
cd "$(dirname "$0")/.."
DURATION=${DURATION:-5s}
CONNS=${CONNS:-32}
WRK_THREADS=${WRK_THREADS:-1}
RUNS=${RUNS:-3}
OUT=bench/out
mkdir -p "$OUT"
die() { echo "twin_wrk: $*" >&2; exit 1; }
[ -x bin/lightsout ] || die "bin/lightsout not found: run make"
command -v wrk >/dev/null 2>&1 || die "wrk not found (apt-get install wrk)"

# one entry each; the streamed reply has 196 words: 196 text deltas
words=""
for i in $(seq 650); do words="$words w$i"; done
printf '{"match":{"path":"/v1/messages"},"reply":{"text":"%s"}}\n' "$words" >"$OUT/twin_wrk_tape.jsonl"
for s in false true; do
    printf '{"model":"claude-sonnet-4-5","max_tokens":1024,"stream":%s,"messages":[{"role":"user","content":"Say the words."}]}' \
        "$s" >"$OUT/twin_wrk_$s.json"
    cat >"$OUT/twin_wrk_$s.lua" <<LUA
wrk.method = "POST"
wrk.headers["content-type"] = "application/json"
wrk.headers["x-api-key"] = "sk-bench"
wrk.headers["anthropic-version"] = "2023-06-01"
local f = io.open("$OUT/twin_wrk_$s.json", "rb")
wrk.body = f:read("*a")
f:close()
LUA
done

bin/lightsout twin serve anthropic --port 0 --tape "$OUT/twin_wrk_tape.jsonl" --log /dev/null \
    >"$OUT/twin_wrk.out" 2>&1 &
tpid=$!
npid=""
trap 'kill $tpid $npid 2>/dev/null' EXIT
port=""
for _ in $(seq 100); do
    port=$(sed -n 's|.*http://127\.0\.0\.1:\([0-9]*\).*|\1|p' "$OUT/twin_wrk.out" | head -1)
    [ -n "$port" ] && break
    sleep 0.05
done
[ -n "$port" ] || die "the twin did not start (see $OUT/twin_wrk.out)"
url=http://127.0.0.1:$port/v1/messages
events=$(curl -s -H 'x-api-key: sk-bench' -H 'anthropic-version: 2023-06-01' \
    -H 'content-type: application/json' --data-binary @"$OUT/twin_wrk_true.json" "$url" |
    tee "$OUT/twin_wrk_body_true" | grep -c '^event:')
curl -s -H 'x-api-key: sk-bench' -H 'anthropic-version: 2023-06-01' \
    -H 'content-type: application/json' --data-binary @"$OUT/twin_wrk_false.json" "$url" \
    >"$OUT/twin_wrk_body_false"

# bench NAME URL SCRIPT: median requests/s and p99 over RUNS
bench() {
    rs="" ps=""
    for _ in $(seq "$RUNS"); do
        wrk -t"$WRK_THREADS" -c"$CONNS" -d"$DURATION" --latency -s "$3" "$2" >"$OUT/twin_wrk_$1.txt" 2>&1 ||
            die "wrk failed against $1"
        rs="$rs $(awk '/^Requests\/sec/ { print $2 }' "$OUT/twin_wrk_$1.txt")"
        ps="$ps $(awk '$1 == "99%" { v = $2; if (v ~ /us$/) { sub(/us/, "", v); v /= 1000 } else if (v ~ /ms$/) sub(/ms/, "", v); else if (v ~ /s$/) { sub(/s/, "", v); v *= 1000 } print v }' "$OUT/twin_wrk_$1.txt")"
    done
    med() { printf '%s\n' $1 | sort -g | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'; }
    echo "$(med "$rs") $(med "$ps")"
}

echo "wrk -t$WRK_THREADS -c$CONNS -d$DURATION --latency, medians of $RUNS; $(nproc) CPUs shared by wrk and the server; stream = $events SSE events"
printf '%-8s %-8s %12s %10s\n' reply server 'req/s' 'p99 ms'
for s in false true; do
    name=plain
    [ "$s" = true ] && name=stream
    set -- $(bench "twin-$name" "$url" "$OUT/twin_wrk_$s.lua")
    trps=$1
    printf '%-8s %-8s %12s %10s\n' "$name" twin "$1" "$2"
    if command -v node >/dev/null 2>&1; then
        type=application/json
        [ "$s" = true ] && type=text/event-stream
        node bench/twin_replay.js "$OUT/twin_wrk_body_$s" "$type" >"$OUT/twin_wrk_node.out" &
        npid=$!
        nport=""
        for _ in $(seq 100); do
            nport=$(head -1 "$OUT/twin_wrk_node.out")
            [ -n "$nport" ] && break
            sleep 0.05
        done
        set -- $(bench "node-$name" "http://127.0.0.1:$nport/v1/messages" "$OUT/twin_wrk_$s.lua")
        kill $npid; wait $npid 2>/dev/null || true; npid=""
        printf '%-8s %-8s %12s %10s   twin/node %s\n' "$name" node "$1" "$2" \
            "$(awk -v a="$trps" -v b="$1" 'BEGIN { printf "%.2fx", a / b }')"
    else
        echo "twin_wrk: node not found: the baseline is skipped"
    fi
done
