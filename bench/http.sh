#!/bin/sh
# HTTP server load test: requests/s and p99 latency of lo_http_server
# (libmicrohttpd, bench/http_bench_server.c against lib/liblightsout.a, one
# route returning a fixed 400-byte JSON body) next to a minimal Node.js http
# server returning the same bytes (bench/http_bench_server.js), both under
# `wrk -t2 -c64 -d10s --latency` in the same run, and their ratio.
#
#   bench/http.sh
#   DURATION=30s CONNS=128 WRK_THREADS=2 SERVER_THREADS=2 bench/http.sh
#
# Needs wrk (Debian package wrk; installed with apt-get when missing) and
# node for the baseline (skipped with a message without it). The target is
# at least 30,000 requests/s with 2 server threads; a miss is reported, not
# a failure. Exits non-zero only when a command fails.
set -eu

cd "$(dirname "$0")/.."

DURATION=${DURATION:-10s}
CONNS=${CONNS:-64}
WRK_THREADS=${WRK_THREADS:-2}
SERVER_THREADS=${SERVER_THREADS:-2}
TARGET=30000
OUT=bench/out
LIB=lib/liblightsout.a
SERVER=$OUT/http_bench_server

die() {
    echo "http: $*" >&2
    exit 1
}

[ -f "$LIB" ] || die "$LIB not found: run make"
mkdir -p "$OUT"

if ! command -v wrk >/dev/null 2>&1; then
    echo "http: wrk not found; installing the Debian package wrk"
    SUDO=""
    if [ "$(id -u)" -ne 0 ]; then
        command -v sudo >/dev/null 2>&1 || die "not root and no sudo: apt-get install wrk"
        SUDO=sudo
    fi
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends wrk >/dev/null ||
        die "cannot install wrk"
fi

# shellcheck disable=SC2046
${CC:-cc} -std=c11 -D_POSIX_C_SOURCE=200809L -D_DEFAULT_SOURCE -O2 -Iinclude \
    $(pkg-config --cflags jansson) -o "$SERVER" bench/http_bench_server.c "$LIB" \
    $(pkg-config --libs libcurl jansson libmicrohttpd sqlite3) -lpthread -lm ||
    die "cannot build $SERVER"

pid=""
cleanup() {
    if [ -n "$pid" ]; then
        kill "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
    fi
    rm -f "$OUT/http-port.$$"
}
trap cleanup EXIT INT TERM

# start CMD...: runs a server that prints its port; sets pid and port
start() {
    : >"$OUT/http-port.$$"
    "$@" >"$OUT/http-port.$$" &
    pid=$!
    i=0
    while ! grep -q '^[0-9][0-9]*$' "$OUT/http-port.$$" 2>/dev/null; do
        i=$((i + 1))
        [ $i -le 100 ] || die "$* did not print its port"
        kill -0 "$pid" 2>/dev/null || die "$* exited"
        sleep 0.05
    done
    port=$(head -n 1 "$OUT/http-port.$$")
}

stop() {
    kill "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
    pid=""
}

# p99 in milliseconds from wrk's "99%  1.23ms" (also us and s)
p99_ms() {
    awk '$1 == "99%" {
        v = $2; u = v; sub(/[0-9.]+/, "", u); sub(/[a-z]+$/, "", v)
        if (u == "us") v /= 1000; else if (u == "s") v *= 1000; else if (u == "m") v *= 60000
        printf "%.2f\n", v; exit }'
}

# run NAME: wrk against the running server; sets rps and p99
run() {
    wrk -t"$WRK_THREADS" -c"$CONNS" -d"$DURATION" --latency "http://127.0.0.1:$port/" \
        >"$OUT/http-wrk-$1.txt" 2>&1 || die "wrk failed against $1"
    rps=$(awk '/^Requests\/sec:/ { printf "%.0f\n", $2 }' "$OUT/http-wrk-$1.txt")
    p99=$(p99_ms <"$OUT/http-wrk-$1.txt")
    errs=$(grep -E 'Non-2xx|Socket errors' "$OUT/http-wrk-$1.txt" || true)
    [ -n "$rps" ] || die "no figures from wrk for $1 (see $OUT/http-wrk-$1.txt)"
}

echo "wrk -t$WRK_THREADS -c$CONNS -d$DURATION --latency, GET / -> 400-byte JSON; $(nproc) CPUs shared by wrk and the server"
echo

start "$SERVER" "$SERVER_THREADS"
run lightsout
stop
ours_rps=$rps
ours_p99=$p99
printf '%-36s %8s req/s   p99 %8s ms\n' "lightsout (libmicrohttpd, threads=$SERVER_THREADS)" "$ours_rps" "$ours_p99"
[ -z "$errs" ] || echo "  $errs"

if command -v node >/dev/null 2>&1; then
    start node bench/http_bench_server.js
    run node
    stop
    printf '%-36s %8s req/s   p99 %8s ms\n' "node $(node --version) http" "$rps" "$p99"
    [ -z "$errs" ] || echo "  $errs"
    awk -v a="$ours_rps" -v b="$rps" -v c="$ours_p99" -v d="$p99" 'BEGIN {
        printf "ratio lightsout/node: %.2fx requests/s, %.2fx p99 latency\n", a / b, (d > 0 ? c / d : 0) }'
else
    echo "node not found: baseline skipped"
fi

if [ "$ours_rps" -ge "$TARGET" ]; then
    echo "target >= $TARGET req/s: met"
else
    echo "target >= $TARGET req/s: MISSED"
fi
