#!/usr/bin/env bash
# The real headless CLI agents against the twins (`make test-agents`, not
# part of `make test`): Claude Code, Codex, Gemini CLI and opencode, as
# pinned in tests/agents/package.json and installed by `make test-agents`
# into build/agents. Each one, in a scratch HOME and repository, completes
# a tool-call round trip against `lightsout twin serve all` on the tape
# tests/agents/round_trip.jsonl: the twin asks for the agent's own shell
# tool to run `echo TWIN-TOOL-OK | tee proof.txt`, and once the output
# comes back as a tool result answers TWIN-AGENT-DONE. Then the same agents
# run as the `cli` codergen backend of a one-stage pipeline
# (`lightsout run --backend cli --twin`), which must parse each agent's
# JSON stream into the stage's outcome, response.md and token usage.
# An agent that is not installed is a skip saying so; one that runs and
# fails is a failure. AGENT_TIMEOUT (default 120 s) bounds each run.
set -u
cd "$(dirname "$0")/../.."
root=$PWD
LIGHTSOUT=${LIGHTSOUT:-$root/bin/lightsout}
T=${AGENT_TIMEOUT:-120}
PATH=$root/build/agents/node_modules/.bin:$PATH
work=$(mktemp -d)
pid=""
trap '[ -n "$pid" ] && kill "$pid" 2>/dev/null; rm -rf "$work"' EXIT
echo "1..8"
tape=$root/tests/agents/round_trip.jsonl
task="Run the shell command that writes the proof file, then say you are done."
"$LIGHTSOUT" twin serve all --port 0 --tape "$tape" --log "$work/log" >"$work/out" 2>"$work/err" &
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

# Each agent's settings for a scratch HOME: no login, telemetry, update
# checks or trust prompts; permission to run the tool without asking.
setup_home() { # NAME HOME BASEURL
    case $1 in
    gemini)
        mkdir -p "$2/.gemini"
        printf '%s\n' '{"security":{"auth":{"selectedType":"gemini-api-key"},"folderTrust":{"enabled":false}},"privacy":{"usageStatisticsEnabled":false}}' \
            >"$2/.gemini/settings.json" ;;
    codex)
        mkdir -p "$2/.codex"
        printf '%s\n' 'model_provider = "twin"' '[model_providers.twin]' 'name = "twin"' \
            "base_url = \"$3/v1\"" 'env_key = "OPENAI_API_KEY"' 'wire_api = "responses"' \
            >"$2/.codex/config.toml" ;;
    opencode)
        mkdir -p "$2/.config/opencode"
        printf '{"$schema":"https://opencode.ai/config.json","autoupdate":false,"share":"disabled","provider":{"anthropic":{"options":{"baseURL":"%s/v1","apiKey":"twin-key"}}}}\n' \
            "$3" >"$2/.config/opencode/opencode.json" ;;
    esac
}
agent_env() { # HOME BASEURL
    echo HOME="$1" CODEX_HOME="$1/.codex" IS_SANDBOX=1 ANTHROPIC_BASE_URL="$2" \
        ANTHROPIC_API_KEY=twin-key OPENAI_BASE_URL="$2/v1" OPENAI_API_KEY=twin-key \
        GOOGLE_GEMINI_BASE_URL="$2" GEMINI_API_KEY=twin-key DISABLE_TELEMETRY=1 \
        DISABLE_AUTOUPDATER=1 CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC=1 \
        OPENCODE_DISABLE_AUTOUPDATE=1 OPENCODE_DISABLE_MODELS_FETCH=1
}
command_of() { # NAME: the agent's non-interactive command, tool approval off
    case $1 in
    claude) echo "claude -p --output-format stream-json --verbose --dangerously-skip-permissions --model claude-sonnet-4-5" ;;
    codex) echo "codex exec --json --skip-git-repo-check --dangerously-bypass-approvals-and-sandbox -m gpt-5.4" ;;
    gemini) echo "gemini -o stream-json --yolo -m gemini-2.5-flash -p" ;;
    opencode) echo "opencode run --format json --model anthropic/claude-sonnet-4-5" ;;
    esac
}
log_count() { grep -c " 200 call=" "$work/log" 2>/dev/null || true; }

n=0
for name in claude codex gemini opencode; do
    n=$((n + 1))
    if ! command -v "$name" >/dev/null 2>&1; then
        echo "ok $n # skip $name is not installed (make test-agents installs it)"
        continue
    fi
    dir=$work/$name
    mkdir -p "$dir/home" "$dir/repo"
    setup_home "$name" "$dir/home" "$url"
    before=$(log_count)
    # shellcheck disable=SC2046 # the words of agent_env and command_of
    (cd "$dir/repo" && env $(agent_env "$dir/home" "$url") timeout "$T" $(command_of "$name") "$task") \
        >"$dir/stdout" 2>"$dir/stderr" </dev/null
    rc=$?
    calls=$(($(log_count) - before))
    if [ "$rc" -eq 0 ] && grep -q TWIN-AGENT-DONE "$dir/stdout" &&
        [ "$(cat "$dir/repo/proof.txt" 2>/dev/null)" = TWIN-TOOL-OK ] && [ "$calls" -ge 2 ]; then
        echo "ok $n - $name $($name --version 2>/dev/null | grep -o '[0-9][0-9.]*' | head -1): a tool call round trip against the twin ($calls requests)"
    else
        echo "not ok $n - $name: a tool call round trip against the twin (exit $rc, $calls requests)"
        tail -n 8 "$dir/stdout" "$dir/stderr" | cut -c1-300 | sed 's/^/# /'
        tail -n 4 "$work/log" | sed 's/^/# log: /'
    fi
done

# ---- the same agents as the cli codergen backend ----
kill -TERM "$pid"
wait "$pid"
pid=""
for name in claude codex gemini opencode; do
    n=$((n + 1))
    if ! command -v "$name" >/dev/null 2>&1; then
        echo "ok $n # skip $name is not installed"
        continue
    fi
    dir=$work/run-$name
    mkdir -p "$dir/home" "$dir/repo"
    # the in-process twin's URL is known only inside the run: each agent's
    # own settings point at its base-URL variables, which the backend sets
    cat >"$dir/p.dot" <<DOT
digraph agent_$name {
    graph [goal="write the proof file"]
    start [shape=Mdiamond]
    work [prompt="$task", backend=cli, cli_agent=$name,
          cli_command="$(command_of "$name")"]
    done [shape=Msquare]
    start -> work -> done
}
DOT
    # codex and opencode read their provider from a file: give them the
    # run's twin through a wrapper that writes it from the variables the
    # backend sets
    mkdir -p "$dir/bin"
    cat >"$dir/bin/$name" <<WRAP
#!/bin/sh
base=\${ANTHROPIC_BASE_URL:-}
HOME="$dir/home"; export HOME; CODEX_HOME="$dir/home/.codex"; export CODEX_HOME
. "$dir/setup.sh"
exec "$(command -v "$name")" "\$@"
WRAP
    {
        declare -f setup_home
        echo 'setup_home '"$name"' "$HOME" "$base"'
    } >"$dir/setup.sh"
    chmod +x "$dir/bin/$name"
    (cd "$dir/repo" && env PATH="$dir/bin:$PATH" IS_SANDBOX=1 DISABLE_TELEMETRY=1 \
        DISABLE_AUTOUPDATER=1 CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC=1 \
        OPENCODE_DISABLE_AUTOUPDATE=1 OPENCODE_DISABLE_MODELS_FETCH=1 \
        timeout "$T" "$LIGHTSOUT" run "$dir/p.dot" --backend cli --twin "$tape" \
        --logs "$dir/run" -C "$dir/repo") >"$dir/out" 2>&1 </dev/null
    rc=$?
    st=$dir/run/work/status.json
    outcome=$(sed -n 's/.*"outcome": *"\([a-z_]*\)".*/\1/p' "$st" 2>/dev/null | head -1)
    if [ "$rc" -eq 0 ] && [ "$outcome" = success ] && grep -q TWIN-AGENT-DONE "$dir/run/work/response.md" 2>/dev/null &&
        [ "$(cat "$dir/repo/proof.txt" 2>/dev/null)" = TWIN-TOOL-OK ] &&
        grep -q '"agent.work.output_tokens": *[1-9]' "$st"; then
        echo "ok $n - $name as the cli backend: stage success, response.md, usage in status.json"
    else
        echo "not ok $n - $name as the cli backend (exit $rc, outcome '${outcome}')"
        tail -n 6 "$dir/out" | cut -c1-300 | sed 's/^/# /'
        [ -f "$st" ] && cut -c1-600 "$st" | sed 's/^/# status: /'
    fi
done
