#!/usr/bin/env bash
# End-to-end tests of `lightsout llm`, printed as TAP: `lightsout twin serve
# all` runs in the background on an ephemeral port with the LLM tape, and
# the client reaches it through the providers' own variables. Plain,
# --stream, --json, a prompt on stdin, a missing key (exit 2, naming the
# variable), a 401, a model the catalog cannot price ("cost unknown").
#
#   LIGHTSOUT    the binary (default: bin/lightsout next to this tree)
#   LO_TESTDATA  the fixtures (default: tests/data next to this script)
set -u

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
LIGHTSOUT=${LIGHTSOUT:-$root/bin/lightsout}
LO_TESTDATA=${LO_TESTDATA:-$root/tests/data}
tape=$LO_TESTDATA/tapes/llm.jsonl
key=sk-e2e-llm-0123456789

tmp=$(mktemp -d "${TMPDIR:-/tmp}/lo-llm.XXXXXX")
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
finish() { printf '1..%d\n%s' "$n" "$out"; }

if [ ! -x "$LIGHTSOUT" ]; then
    echo "1..0 # skip no binary at $LIGHTSOUT (run make)"
    exit 0
fi

"$LIGHTSOUT" twin serve all --port 0 --tape "$tape" --api-key "$key" \
    --log "$tmp/requests.log" >"$tmp/twin.out" 2>"$tmp/twin.err" &
pid=$!
url=""
for _ in $(seq 200); do
    url=$(sed -n 's/^export ANTHROPIC_BASE_URL=//p' "$tmp/twin.out")
    [ -n "$url" ] && break
    sleep 0.05
done
if [ -z "$url" ]; then
    echo "1..1"
    echo "not ok 1 - the twin started"
    sed 's/^/# /' "$tmp/twin.err"
    exit 0
fi

# Only the twin's variables: nothing from the caller's environment leaks in.
llm() { # llm [ARGS...] < stdin; sets rc, stdout, stderr
    env -u ANTHROPIC_API_KEY -u OPENAI_API_KEY -u GEMINI_API_KEY -u GOOGLE_API_KEY \
        -u OPENAI_CHAT_BASE_URL -u OPENAI_CHAT_API_KEY -u OPENAI_ORG_ID -u OPENAI_PROJECT_ID \
        ANTHROPIC_BASE_URL="$url" OPENAI_BASE_URL="$url/v1" GEMINI_BASE_URL="$url" \
        "${ENVS[@]}" "$LIGHTSOUT" llm "$@" >"$tmp/out" 2>"$tmp/err"
    rc=$?
    stdout=$(cat "$tmp/out")
    stderr=$(cat "$tmp/err")
}
ENVS=(ANTHROPIC_API_KEY="$key" OPENAI_API_KEY="$key" GEMINI_API_KEY="$key")

# ---- answers ----
llm --model claude-sonnet-4-5 "hello there" </dev/null
[ "$rc" -eq 0 ] && [ "$stdout" = "Hello! How can I help you today?" ] &&
    [[ "$stderr" =~ ^claude-sonnet-4-5\ \(anthropic\):\ [0-9]+\ input\ \+\ [0-9]+\ output\ tokens\;\ \$0\.[0-9]{6}$ ]]
ok $? "a prompt: the answer alone on stdout, tokens and cost on stderr" "exit $rc" "$stdout" "$stderr"

llm --provider openai --model gpt-5.2 --stream "Write a haiku" </dev/null
[ "$rc" -eq 0 ] &&
    [ "$stdout" = "Tokens drift like snow / a twin answers every call / the tests pass at dawn" ] &&
    [[ "$stderr" == "gpt-5.2 (openai): "*" output tokens; \$"* ]]
ok $? "--stream prints the streamed answer" "exit $rc" "$stdout" "$stderr"

llm --provider gemini --json "Say hello" </dev/null
[ "$rc" -eq 0 ] && [ -z "$stderr" ] &&
    [[ "$stdout" == *'"text": "Hello! Nice to meet you."'* ]] &&
    [[ "$stdout" == *'"provider": "gemini"'* ]] && [[ "$stdout" == *'"finish": "stop"'* ]] &&
    [[ "$stdout" =~ \"input_tokens\":\ [1-9] ]] && [[ "$stdout" =~ \"cost_usd\":\ [0-9] ]] &&
    [ "${stdout:0:1}" = "{" ] && [ "${stdout: -1}" = "}" ]
ok $? "--json prints one object: text, provider, finish, usage, cost_usd" "exit $rc" "$stdout" "$stderr"

printf 'Say hello\nfrom a pipe\n' >"$tmp/prompt"
llm --model gpt-5.2 --provider openai_chat --json <"$tmp/prompt"
[ "$rc" -eq 2 ] && [[ "$stderr" == *"set OPENAI_CHAT_BASE_URL"* ]]
ok $? "openai_chat without its own variables: names OPENAI_CHAT_BASE_URL, exit 2" "exit $rc" \
    "$stderr"

ENVS+=(OPENAI_CHAT_BASE_URL="$url/v1" OPENAI_CHAT_API_KEY="$key")
llm --model gpt-5.2 --provider openai_chat --json <"$tmp/prompt"
[ "$rc" -eq 0 ] && [[ "$stdout" == *'"text": "Hello! Nice to meet you."'* ]] &&
    [[ "$stdout" == *'"provider": "openai_chat"'* ]]
ok $? "the prompt from stdin, to an OpenAI-compatible server" "exit $rc" "$stdout" "$stderr"

llm --system "Answer briefly." --max-tokens 50 --temperature 0.2 -p anthropic "hello" </dev/null
[ "$rc" -eq 0 ] && [ "$stdout" = "Hello! How can I help you today?" ] &&
    [[ "$stderr" == *"(anthropic): "* ]]
ok $? "--system, --max-tokens, --temperature and the provider's default model" "exit $rc" "$stdout" "$stderr"

# ---- configuration and provider errors ----
ENVS=(OPENAI_API_KEY="$key")
llm --model claude-sonnet-4-5 "hello" </dev/null
[ "$rc" -eq 2 ] && [ -z "$stdout" ] && [[ "$stderr" == *"set ANTHROPIC_API_KEY"* ]]
ok $? "a missing key is a configuration error naming the variable, exit 2" "exit $rc" "$stderr"

ENVS=()
llm "hello" </dev/null
[ "$rc" -eq 2 ] && [[ "$stderr" == *ANTHROPIC_API_KEY* ]] && [[ "$stderr" == *OPENAI_API_KEY* ]] &&
    [[ "$stderr" == *GEMINI_API_KEY* ]]
ok $? "no key at all names every variable, exit 2" "exit $rc" "$stderr"

ENVS=(ANTHROPIC_API_KEY=sk-wrong-key-0123456789)
llm --model claude-sonnet-4-5 "hello" </dev/null
[ "$rc" -eq 1 ] && [ -z "$stdout" ] && [[ "$stderr" == "lightsout llm: authentication: "*"401"* ]] &&
    [[ "$stderr" != *sk-wrong* ]]
ok $? "a 401 fails with exit 1, an authentication error, no key in it" "exit $rc" "$stderr"

ENVS=(OPENAI_API_KEY="$key")
llm -p openai -m gpt-does-not-exist "hello" </dev/null
[ "$rc" -eq 1 ] && [[ "$stderr" == "lightsout llm: not_found: "* ]]
ok $? "a model the provider does not know: not_found, exit 1" "exit $rc" "$stderr"

# ---- cost unknown: the twin knows the model, our catalog has no price ----
cat >"$tmp/models.json" <<'EOF'
{"updated": "2026-01-01", "models": [
 {"id": "claude-sonnet-4-5", "provider": "anthropic", "display_name": "priceless",
  "context_window": 200000, "max_output": 64000, "supports_tools": true,
  "supports_vision": true, "supports_reasoning": true,
  "prices": {"input": null, "output": null, "cache_read": null, "cache_write": null}}]}
EOF
ENVS=(ANTHROPIC_API_KEY="$key" LIGHTSOUT_MODELS="$tmp/models.json")
llm -m claude-sonnet-4-5 "hello" </dev/null
[ "$rc" -eq 0 ] && [ "$stdout" = "Hello! How can I help you today?" ] &&
    [[ "$stderr" == *"output tokens; cost unknown" ]]
ok $? "a model without prices: 'cost unknown', never a guess" "exit $rc" "$stdout" "$stderr"

llm -m claude-sonnet-4-5 --json "hello" </dev/null
[ "$rc" -eq 0 ] && [[ "$stdout" == *'"cost_usd": null'* ]]
ok $? "--json says cost_usd null for it" "exit $rc" "$stdout"

printf '{"models": []}' >"$tmp/empty.json"
ENVS=(ANTHROPIC_API_KEY="$key" LIGHTSOUT_MODELS="$tmp/empty.json")
llm -p anthropic -m claude-sonnet-4-5 "hello" </dev/null
[ "$rc" -eq 0 ] && [[ "$stderr" == *"cost unknown" ]]
ok $? "a model missing from the catalog: 'cost unknown'" "exit $rc" "$stderr"

# ---- usage errors ----
ENVS=(ANTHROPIC_API_KEY="$key")
llm </dev/null
[ "$rc" -eq 2 ] && [[ "$stderr" == *"no prompt"* ]]
ok $? "no prompt at all: exit 2" "exit $rc" "$stderr"

llm --max-tokens lots "hello" </dev/null
[ "$rc" -eq 2 ] && [[ "$stderr" == *"--max-tokens"* ]]
ok $? "a bad --max-tokens: exit 2" "exit $rc" "$stderr"

llm --provider mistral "hello" </dev/null
[ "$rc" -eq 2 ] && [[ "$stderr" == *"unknown provider 'mistral'"* ]]
ok $? "an unknown provider: exit 2" "exit $rc" "$stderr"

llm --frobnicate "hello" </dev/null
[ "$rc" -eq 2 ]
ok $? "an unknown option: exit 2" "exit $rc" "$stderr"

"$LIGHTSOUT" llm --help >"$tmp/out" 2>&1
rc=$?
[ "$rc" -eq 0 ] && grep -q -- '--stream' "$tmp/out" && grep -q 'ANTHROPIC_API_KEY' "$tmp/out"
ok $? "llm --help documents the flags and variables" "exit $rc" "$(cat "$tmp/out")"

! grep -q "$key" "$tmp/requests.log" "$tmp/twin.err"
ok $? "the twin's log holds no key" "$(cat "$tmp/requests.log")"

kill -INT "$pid"
wait "$pid"
pid=""
finish
