#!/usr/bin/env bash
# The real CLI coding agents against the twins (`make test-agents`; not part
# of `make test`): claude (Claude Code, Anthropic), codex (OpenAI Responses)
# and gemini (Gemini CLI), each run once non-interactively with its base URL
# pointed at `lightsout twin serve all` and a tape whose every answer is
# TWIN-AGENT-OK. Each must print that text and exit 0, and the twin's log
# must show it called the provider. An agent that is not installed is
# skipped, saying so. AGENT_TIMEOUT (default 180 s) bounds each run.
set -u
cd "$(dirname "$0")/../.."
LIGHTSOUT=${LIGHTSOUT:-bin/lightsout}
T=${AGENT_TIMEOUT:-180}
work=$(mktemp -d)
pid=""
trap '[ -n "$pid" ] && kill "$pid" 2>/dev/null; rm -rf "$work"' EXIT
echo "1..3"
printf '%s\n' '{"comment":"every call, whatever it asks","reply":{"text":"TWIN-AGENT-OK"}}' \
    >"$work/tape.jsonl"
"$LIGHTSOUT" twin serve all --port 0 --tape "$work/tape.jsonl" --log "$work/log" \
    >"$work/out" 2>"$work/err" &
pid=$!
url=""
for _ in $(seq 200); do
    url=$(sed -n 's/^export ANTHROPIC_BASE_URL=//p' "$work/out")
    [ -n "$url" ] && break
    sleep 0.05
done
if [ -z "$url" ]; then
    echo "Bail out! the twin did not start: $(cat "$work/err")"
    exit 1
fi

# agent N NAME LOGWORD CMD...: run CMD in a scratch directory under a
# scratch HOME (so no user config or login is used), check its output
agent() {
    local n=$1 name=$2 word=$3
    shift 3
    if ! command -v "$name" >/dev/null 2>&1; then
        echo "ok $n # skip $name is not installed"
        return
    fi
    local dir="$work/$name" before
    mkdir -p "$dir/home" "$dir/repo"
    before=$(grep -c "^$word " "$work/log" 2>/dev/null || true)
    (cd "$dir/repo" && HOME="$dir/home" timeout "$T" "$@") >"$dir/stdout" 2>"$dir/stderr" </dev/null
    local rc=$? after
    after=$(grep -c "^$word " "$work/log" 2>/dev/null || true)
    if [ "$rc" -eq 0 ] && grep -q TWIN-AGENT-OK "$dir/stdout" && [ "${after:-0}" -gt "${before:-0}" ]; then
        echo "ok $n - $name answers from the $word twin ($((after - before)) requests)"
    else
        echo "not ok $n - $name answers from the $word twin (exit $rc)"
        tail -n 15 "$dir/stdout" "$dir/stderr" | sed 's/^/# /'
        grep "^$word " "$work/log" | tail -n 5 | sed 's/^/# log: /'
    fi
}

agent 1 claude anthropic env ANTHROPIC_BASE_URL="$url" ANTHROPIC_API_KEY=twin-key \
    DISABLE_TELEMETRY=1 DISABLE_AUTOUPDATER=1 \
    claude -p "Reply with a short greeting." --model claude-sonnet-4-5
agent 2 codex openai env OPENAI_BASE_URL="$url/v1" OPENAI_API_KEY=twin-key \
    codex exec --skip-git-repo-check -m gpt-5.4 "Reply with a short greeting."
agent 3 gemini gemini env GOOGLE_GEMINI_BASE_URL="$url" GEMINI_API_KEY=twin-key \
    gemini -m gemini-2.5-flash -p "Reply with a short greeting."

kill -TERM "$pid"
wait "$pid"
pid=""
