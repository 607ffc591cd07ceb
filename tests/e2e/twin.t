#!/usr/bin/env bash
# End-to-end tests of `lightsout twin serve`, printed as TAP: start the
# Anthropic twin on an ephemeral port with the shipped tape, talk to it with
# curl, stop it with SIGINT; bad tapes and providers exit 2.
#
#   LIGHTSOUT    the binary (default: bin/lightsout next to this tree)
#   LO_TESTDATA  the fixtures (default: tests/data next to this script)
set -u

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
LIGHTSOUT=${LIGHTSOUT:-$root/bin/lightsout}
LO_TESTDATA=${LO_TESTDATA:-$root/tests/data}
tape=$LO_TESTDATA/tapes/basic.jsonl

tmp=$(mktemp -d "${TMPDIR:-/tmp}/lo-twin.XXXXXX")
pid=""
cleanup() {
    [ -n "$pid" ] && kill -9 "$pid" 2>/dev/null
    rm -rf "$tmp"
}
trap cleanup EXIT

n=0
out=""
ok() { # ok STATUS DESCRIPTION [DIAGNOSTIC...]
    local status=$1 desc=$2
    shift 2
    n=$((n + 1))
    if [ "$status" -eq 0 ]; then
        out+="ok $n - $desc"$'\n'
    else
        out+="not ok $n - $desc"$'\n'
        local d
        for d in "$@"; do
            out+=$(printf '%s\n' "$d" | sed 's/^/# /')$'\n'
        done
    fi
}
skip() { n=$((n + 1)); out+="ok $n # skip $1"$'\n'; }
finish() { printf '1..%d\n%s' "$n" "$out"; }

if [ ! -x "$LIGHTSOUT" ]; then
    echo "1..0 # skip no binary at $LIGHTSOUT (run make)"
    exit 0
fi
if ! command -v curl >/dev/null 2>&1; then
    echo "1..0 # skip curl is not installed"
    exit 0
fi

# ---- serve ----
"$LIGHTSOUT" twin serve anthropic --port 0 --tape "$tape" --api-key sk-e2e-key \
    --log "$tmp/requests.log" >"$tmp/out" 2>"$tmp/err" &
pid=$!
url=""
for _ in $(seq 100); do
    url=$(sed -n 's/^export ANTHROPIC_BASE_URL=//p' "$tmp/out")
    [ -n "$url" ] && break
    sleep 0.05
done
[[ "$url" =~ ^http://127\.0\.0\.1:[0-9]+$ ]]
ok $? "twin serve prints export ANTHROPIC_BASE_URL=http://127.0.0.1:PORT" "$(cat "$tmp/out" "$tmp/err")"
grep -qx 'export ANTHROPIC_API_KEY=sk-e2e-key' "$tmp/out"
ok $? "twin serve prints the export ANTHROPIC_API_KEY line" "$(cat "$tmp/out")"

msg() { # msg KEY BODY -> status on the last line
    curl -s -w '\n%{http_code}' "$url/v1/messages" -H "x-api-key: $1" \
        -H 'anthropic-version: 2023-06-01' -H 'content-type: application/json' -d "$2"
}
hello='{"model":"claude-sonnet-4-5","max_tokens":100,"messages":[{"role":"user","content":"hello"}]}'
res=$(msg sk-e2e-key "$hello")
[ "$(tail -n1 <<<"$res")" = 200 ] && [[ "$res" == *'"text":"Hello! How can I help you today?"'* ]] &&
    [[ "$res" == *'"id":"msg_'* ]] && [[ "$res" == *'"stop_reason":"end_turn"'* ]]
ok $? "a Messages request gets the tape's text in a Message body" "$res"

res=$(msg sk-wrong "$hello")
[ "$(tail -n1 <<<"$res")" = 401 ] && [[ "$res" == *'"type":"authentication_error"'* ]] &&
    [[ "$res" != *sk-wrong* ]]
ok $? "a wrong key gets 401 authentication_error (the key is not echoed)" "$res"

res=$(msg sk-e2e-key '{"model":"claude-sonnet-4-5","max_tokens":100,"stream":true,"messages":[{"role":"user","content":"hello"}]}')
[[ "$res" == "event: message_start"* ]] && [[ "$res" == *"event: ping"* ]] &&
    [[ "$res" == *$'event: message_stop\ndata: {"type":"message_stop"}'* ]]
ok $? "\"stream\": true gets the SSE event sequence" "$res"

res=$(msg sk-e2e-key '{"model":"claude-sonnet-4-5","max_tokens":100,"messages":[{"role":"user","content":"nothing like it"}]}')
[ "$(tail -n1 <<<"$res")" = 400 ] && [[ "$res" == *"basic.jsonl:1"* ]]
ok $? "an unmatched request gets 400 naming the closest tape line" "$res"

kill -INT "$pid"
rc=0
for _ in $(seq 100); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.05
done
wait "$pid"
rc=$?
pid=""
[ "$rc" -eq 0 ]
ok $? "SIGINT stops the twin with exit 0" "exit $rc" "$(cat "$tmp/err")"
[ "$(grep -c '^anthropic POST /v1/messages' "$tmp/requests.log")" -eq 4 ] &&
    ! grep -q 'sk-' "$tmp/requests.log"
ok $? "--log has one line per request and no key" "$(cat "$tmp/requests.log")"

# ---- refusals ----
run() {
    "$LIGHTSOUT" "$@" >"$tmp/out" 2>"$tmp/err"
    rc=$?
    stderr=$(cat "$tmp/err")
}
run twin serve anthropic --tape "$tmp/no-such-tape.jsonl"
[ "$rc" -eq 2 ] && [[ "$stderr" == *"no-such-tape.jsonl"* ]]
ok $? "a missing tape exits 2 and names the file" "exit $rc" "$stderr"

printf '{"reply":{"text":"fine"}}\n{"reply":{"text":"x"},"fualt":{}}\n' >"$tmp/bad.jsonl"
run twin serve anthropic --tape "$tmp/bad.jsonl"
[ "$rc" -eq 2 ] && [[ "$stderr" == *"bad.jsonl:2: "*"fualt"* ]]
ok $? "a bad tape line exits 2 with FILE:LINE" "exit $rc" "$stderr"

run twin serve mistral
[ "$rc" -eq 2 ] && [[ "$stderr" == *"unknown provider"* ]]
ok $? "twin serve mistral exits 2: unknown provider" "exit $rc" "$stderr"

run twin serve cohere
[ "$rc" -eq 2 ] && [[ "$stderr" == *"unknown provider"* ]]
ok $? "an unknown provider exits 2" "exit $rc" "$stderr"

run twin
[ "$rc" -eq 2 ]
ok $? "twin without serve exits 2" "exit $rc" "$stderr"

run twin serve anthropic --port 70000
[ "$rc" -eq 2 ] && [[ "$stderr" == *"--port"* ]]
ok $? "--port 70000 exits 2" "exit $rc" "$stderr"

# ---- the OpenAI twin ----
"$LIGHTSOUT" twin serve openai --port 0 --tape "$tape" --api-key sk-e2e-key \
    --log "$tmp/openai.log" >"$tmp/oout" 2>"$tmp/oerr" &
pid=$!
ourl=""
for _ in $(seq 100); do
    ourl=$(sed -n 's/^export OPENAI_BASE_URL=//p' "$tmp/oout")
    [ -n "$ourl" ] && break
    sleep 0.05
done
[[ "$ourl" =~ ^http://127\.0\.0\.1:[0-9]+/v1$ ]] &&
    grep -qx 'export OPENAI_API_KEY=sk-e2e-key' "$tmp/oout" && ! grep -q ANTHROPIC "$tmp/oout"
ok $? "twin serve openai prints OPENAI_BASE_URL=http://127.0.0.1:PORT/v1 and OPENAI_API_KEY" \
    "$(cat "$tmp/oout" "$tmp/oerr")"

oai() { # oai KEY PATH BODY -> status on the last line
    curl -s -w '\n%{http_code}' "$ourl$2" -H "Authorization: Bearer $1" \
        -H 'content-type: application/json' -d "$3"
}
res=$(oai sk-e2e-key /responses '{"model":"gpt-6.2-sol","input":"hello"}')
[ "$(tail -n1 <<<"$res")" = 200 ] && [[ "$res" == *'"object":"response"'* ]] &&
    [[ "$res" == *'"id":"resp_'* ]] && [[ "$res" == *'"text":"Hello! How can I help you today?"'* ]]
ok $? "a Responses request gets the tape's text in a response object" "$res"

res=$(oai sk-e2e-key /chat/completions '{"model":"gpt-6.2-sol","stream":true,"messages":[{"role":"user","content":"hello"}]}')
[[ "$res" == 'data: {"id":"chatcmpl-'* ]] && [[ "$res" == *'"finish_reason":"stop"'* ]] &&
    [[ "$(grep -v '^$' <<<"$res" | tail -n2 | head -n1)" == 'data: [DONE]' ]]
ok $? "a streamed Chat Completions request ends with data: [DONE]" "$res"

res=$(oai sk-wrong /responses '{"model":"gpt-6.2-sol","input":"hello"}')
[ "$(tail -n1 <<<"$res")" = 401 ] && [[ "$res" == *'"code":"invalid_api_key"'* ]] &&
    [[ "$res" != *sk-wrong* ]]
ok $? "a wrong key gets OpenAI's 401 invalid_api_key (the key is not echoed)" "$res"

kill -INT "$pid"
wait "$pid"
rc=$?
pid=""
[ "$rc" -eq 0 ] && [ "$(grep -c '^openai POST /v1/' "$tmp/openai.log")" -eq 3 ] &&
    ! grep -q 'sk-' "$tmp/openai.log"
ok $? "the OpenAI twin stops on SIGINT and logs one line per request, no key" \
    "exit $rc" "$(cat "$tmp/openai.log")"

"$LIGHTSOUT" twin serve all --port 0 --tape "$tape" >"$tmp/aout" 2>"$tmp/aerr" &
pid=$!
for _ in $(seq 100); do
    grep -q '^export OPENAI_API_KEY=' "$tmp/aout" && break
    sleep 0.05
done
grep -q '^export ANTHROPIC_BASE_URL=' "$tmp/aout" && grep -q '^export OPENAI_BASE_URL=.*/v1$' "$tmp/aout"
ok $? "twin serve all prints both providers' exports" "$(cat "$tmp/aout" "$tmp/aerr")"
kill -TERM "$pid"
wait "$pid"
pid=""

# ---- --max-body, --fault ----
start_twin() { # start_twin OUTFILE ARGS...: sets pid and url (the Anthropic base URL)
    local o=$1
    shift
    "$LIGHTSOUT" twin serve "$@" >"$o" 2>"$o.err" &
    pid=$!
    url=""
    for _ in $(seq 100); do
        url=$(sed -n 's/^export ANTHROPIC_BASE_URL=//p' "$o")
        [ -n "$url" ] && break
        sleep 0.05
    done
}
stop_twin() {
    kill -INT "$pid"
    wait "$pid"
    rc=$?
    pid=""
}
start_twin "$tmp/fout" anthropic --port 0 --tape "$tape" --max-body 1KB \
    --fault '{"status":529,"every":2}'
big=$(printf '{"model":"claude-sonnet-4-5","max_tokens":10,"messages":[{"role":"user","content":"%02000d"}]}' 0)
res=$(msg k "$big")
[ "$(tail -n1 <<<"$res")" = 413 ] && [[ "$res" == *'"type":"error","error":{"type":"request_too_large"'* ]]
ok $? "--max-body 1KB: a 2 KB body gets 413 request_too_large in Anthropic's error shape" "$res"
r1=$(msg k "$hello")
r2=$(msg k "$hello")
[ "$(tail -n1 <<<"$r1")" = 200 ] && [ "$(tail -n1 <<<"$r2")" = 529 ] &&
    [[ "$r2" == *'"type":"overloaded_error"'* ]]
ok $? "--fault '{\"status\":529,\"every\":2}': call 1 answers, call 2 is overloaded" "$r1" "$r2"
stop_twin
[ "$rc" -eq 0 ]
ok $? "the twin with --fault stops with exit 0" "exit $rc"

# the other providers' 413s, each in its own error shape
start_twin "$tmp/aout" all --port 0 --tape "$tape" --max-body 1KB
res=$(curl -s -w '\n%{http_code}' "$url/v1/responses" -H 'Authorization: Bearer k' \
    -H 'content-type: application/json' -d "$big")
[ "$(tail -n1 <<<"$res")" = 413 ] && [[ "$res" == *'"error":{"message":'*'"type":"invalid_request_error"'* ]]
ok $? "an over-limit Responses body gets 413 in OpenAI's error shape" "$res"
res=$(curl -s -w '\n%{http_code}' "$url/v1beta/models/gemini-2.5-flash:generateContent" \
    -H 'x-goog-api-key: k' -H 'content-type: application/json' -d "$big")
[ "$(tail -n1 <<<"$res")" = 413 ] && [[ "$res" == *'"error":{"code":413,'*'"status":"INVALID_ARGUMENT"'* ]]
ok $? "an over-limit Gemini body gets 413 in Google's error shape" "$res"
stop_twin

run twin serve anthropic --fault '{"status":200}'
[ "$rc" -eq 2 ] && [[ "$stderr" == *"--fault"*"fault.status"* ]]
ok $? "a bad --fault exits 2 naming the field" "exit $rc" "$stderr"
run twin serve anthropic --max-body lots
[ "$rc" -eq 2 ] && [[ "$stderr" == *"--max-body"* ]]
ok $? "a bad --max-body exits 2" "exit $rc" "$stderr"

# ---- record mode: a twin playing the upstream, a recorder, a replay ----
start_twin "$tmp/uout" anthropic --port 0 --tape "$tape"
up=$url
uppid=$pid
start_twin "$tmp/rout" anthropic --port 0 --record --upstream "$up" --out "$tmp/rec.jsonl"
grep -q '^export ANTHROPIC_BASE_URL=' "$tmp/rout" && ! grep -q API_KEY "$tmp/rout" &&
    grep -q "recording to $tmp/rec.jsonl" "$tmp/rout.err"
ok $? "--record prints the base URL, no key to export, and where it records" \
    "$(cat "$tmp/rout" "$tmp/rout.err")"
res=$(msg sk-live-SECRET-e2e "$hello")
[ "$(tail -n1 <<<"$res")" = 200 ] && [[ "$res" == *'"text":"Hello! How can I help you today?"'* ]]
ok $? "a request through the recorder gets the upstream's answer" "$res"
res=$(msg sk-live-SECRET-e2e '{"model":"claude-sonnet-4-5","max_tokens":100,"stream":true,"messages":[{"role":"user","content":"drip"}]}')
[[ "$res" == "event: message_start"* ]] && [[ "$res" == *"event: message_stop"* ]]
ok $? "a stream passes through the recorder" "$res"
stop_twin
rec_rc=$rc
pid=$uppid
stop_twin
[ "$rec_rc" -eq 0 ] && [ "$(wc -l <"$tmp/rec.jsonl")" -eq 2 ] &&
    ! grep -qi 'SECRET\|x-api-key\|authorization' "$tmp/rec.jsonl" &&
    grep -q '"reply":{"text":"drip drip' "$tmp/rec.jsonl"
ok $? "the recorded tape has both exchanges and no key or auth header" \
    "exit $rec_rc" "$(cat "$tmp/rec.jsonl")"
start_twin "$tmp/pout" anthropic --port 0 --tape "$tmp/rec.jsonl"
res=$(msg k "$hello")
[ "$(tail -n1 <<<"$res")" = 200 ] && [[ "$res" == *'"text":"Hello! How can I help you today?"'* ]]
ok $? "the recorded tape replays" "$res" "$(cat "$tmp/pout.err")"
stop_twin

run twin serve anthropic --record --out "$tmp/x.jsonl"
[ "$rc" -eq 2 ] && [[ "$stderr" == *"--upstream"* ]]
ok $? "--record without --upstream exits 2" "exit $rc" "$stderr"
run twin serve anthropic --upstream http://127.0.0.1:1
[ "$rc" -eq 2 ] && [[ "$stderr" == *"--record"* ]]
ok $? "--upstream without --record exits 2" "exit $rc" "$stderr"
run twin serve anthropic --record --upstream ftp://x --out "$tmp/x.jsonl"
[ "$rc" -eq 2 ] && [[ "$stderr" == *"--upstream"* ]]
ok $? "--record with an ftp:// upstream exits 2" "exit $rc" "$stderr"

finish
