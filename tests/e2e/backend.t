#!/usr/bin/env bash
# End-to-end tests of the codergen backends through `lightsout run`, printed
# as TAP: the cli backend with the stand-in agents of tests/data/agents
# (claude, codex, gemini, opencode: the real headless flags, recorded
# streams of the real formats) first on PATH -- usage, response.md,
# agent.jsonl, exit 0 and non-zero, a missing binary, streams cut short or
# killed, noise, cli_command and llm_model, the stylesheet, a twin's
# variables, Ctrl-C and timeouts -- and the preflight without a provider.
#
#   LIGHTSOUT    the binary (default: bin/lightsout next to this tree)
set -u

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
LIGHTSOUT=${LIGHTSOUT:-$root/bin/lightsout}
case $LIGHTSOUT in
/*) ;;
*) LIGHTSOUT=$(cd "$(dirname "$LIGHTSOUT")" && pwd)/$(basename "$LIGHTSOUT") ;;
esac
agents=$root/tests/data/agents
tapes=$root/tests/data/tapes

tmp=$(mktemp -d "${TMPDIR:-/tmp}/lo-backend.XXXXXX")
bgpid=""
cleanup() {
    [ -n "$bgpid" ] && kill "$bgpid" 2>/dev/null
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
if ! command -v node >/dev/null 2>&1; then
    echo "1..0 # skip node is needed to read the JSON files"
    exit 0
fi

# No provider keys from the caller's environment: every test says what it uses.
nokeys=(env -u ANTHROPIC_API_KEY -u OPENAI_API_KEY -u GEMINI_API_KEY -u GOOGLE_API_KEY
    -u ANTHROPIC_BASE_URL -u OPENAI_BASE_URL -u GEMINI_BASE_URL)

run() { # run [VAR=VALUE...] ARGS...: lightsout with the stand-ins first on PATH
    "${nokeys[@]}" PATH="$agents:$PATH" "$@" >"$tmp/out" 2>"$tmp/err" </dev/null
    rc=$?
    stdout=$(cat "$tmp/out")
    stderr=$(cat "$tmp/err")
}

# js FILE EXPR: evaluate a JavaScript expression over the parsed JSON file
# (as `j`; a .jsonl file is an array of its lines) and print the result.
js() {
    node -e 'try { const fs = require("fs"); const t = fs.readFileSync(process.argv[1], "utf8");
             const j = process.argv[1].endsWith(".jsonl")
                 ? t.split("\n").filter((l) => l).map((l) => JSON.parse(l)) : JSON.parse(t);
             const r = (0, eval)("(j) => (" + process.argv[2] + ")")(j);
             process.stdout.write(typeof r === "string" ? r : JSON.stringify(r));
             } catch (e) { process.stdout.write("js: " + e.message); }' "$1" "$2"
}

# pipeline FILE NODE_ATTRS [GRAPH_ATTRS]: start -> plan -> exit
pipeline() {
    cat >"$1" <<EOF
digraph P {
    graph [goal="make hello"${3:-}]
    start [shape=Mdiamond]
    exit  [shape=Msquare]
    plan  [prompt="Create hello.txt containing hello"${2:-}]
    start -> plan -> exit
}
EOF
}

# ---- each agent, to completion ----
declare -A in_tokens=([claude]=10 [codex]=315 [gemini]=7788 [opencode]=1966)
declare -A out_tokens=([claude]=112 [codex]=122 [gemini]=234 [opencode]=114)
declare -A tool=([claude]=Write [codex]=shell [gemini]=write_file [opencode]=write)
# claude and opencode report their cost; gemini names its model, priced from
# the catalog; codex says neither
declare -A has_cost=([claude]=true [codex]=false [gemini]=true [opencode]=true)
for a in claude codex gemini opencode; do
    mkdir -p "$tmp/w-$a"
    pipeline "$tmp/$a.dot" ", backend=cli, cli_agent=$a"
    run "$LIGHTSOUT" run "$tmp/$a.dot" --logs "$tmp/$a" -C "$tmp/w-$a"
    ok $rc "$a: the run succeeds" "exit $rc" "$stderr"
    [ "$(cat "$tmp/w-$a/hello.txt" 2>/dev/null)" = hello ]
    ok $? "$a: the agent ran in the stage's working directory and wrote its file"
    [ "$(cat "$tmp/$a/plan/response.md" 2>/dev/null)" = 'Created hello.txt containing "hello".' ]
    ok $? "$a: response.md is the agent's final answer" "$(cat "$tmp/$a/plan/response.md" 2>&1)"
    got=$(js "$tmp/$a/plan/status.json" '[j.outcome, j.context_updates["agent.plan.input_tokens"],
        j.context_updates["agent.plan.output_tokens"], j.context_updates["agent.plan.agent"],
        j.context_updates["agent.plan.cost_usd"] !== null, j.context_updates["agent.plan.tool_calls"] > 0,
        /tokens/.test(j.notes)].join(" ")' 2>&1)
    [ "$got" = "success ${in_tokens[$a]} ${out_tokens[$a]} $a ${has_cost[$a]} true true" ]
    ok $? "$a: status.json has the outcome, the parsed usage and the notes" "$got"
    got=$(js "$tmp/$a/plan/agent.jsonl" 'j.map((e) => e.type).filter((t, i, v) => v.indexOf(t) === i).join(" ")' 2>&1)
    [[ "$got" == "user_input session_start "* ]] && [[ "$got" == *tool_call_start* ]] &&
        [[ "$got" == *tool_call_end* ]] && [[ "$got" == *assistant_text_end* ]] && [[ "$got" == *"session_end" ]]
    ok $? "$a: agent.jsonl holds our events, session to session end" "$got"
    got=$(js "$tmp/$a/plan/agent.jsonl" 'j.filter((e) => e.type === "tool_call_start").map((e) => e.tool_name + ":" + (typeof e.ts) + ":" + (e.session_id.length > 0))[0]' 2>&1)
    [ "$got" = "${tool[$a]}:string:true" ]
    ok $? "$a: a tool call in agent.jsonl names its tool, with ts and session_id" "$got"
    got=$(js "$tmp/$a/events.jsonl" 'j.filter((e) => e.type === "agent_usage").map((e) => [e.node, e.backend, e.agent, e.input_tokens, e.output_tokens, "cost_usd" in e].join(" ")).join("|") + "/" +
        j.filter((e) => e.type === "codergen_started").map((e) => e.backend).join(",")' 2>&1)
    [ "$got" = "plan cli $a ${in_tokens[$a]} ${out_tokens[$a]} true/cli" ]
    ok $? "$a: one agent_usage event with tokens and cost; codergen_started names the cli backend" "$got"
    [ -s "$tmp/$a/plan/cli.stdout.jsonl" ] && [ -e "$tmp/$a/plan/cli.stderr.txt" ]
    ok $? "$a: the agent's own output is kept in the stage directory"
done

# ---- failures ----
pipeline "$tmp/c.dot" ", backend=cli, cli_agent=claude"
for a in claude codex gemini opencode; do
    pipeline "$tmp/e-$a.dot" ", backend=cli, cli_agent=$a"
    run LO_STANDIN_MODE=error "$LIGHTSOUT" run "$tmp/e-$a.dot" --logs "$tmp/e-$a" -C "$tmp"
    reason=$(js "$tmp/e-$a/plan/status.json" 'j.outcome + ": " + j.failure_reason' 2>&1)
    [ "$rc" -eq 1 ] && [[ "$reason" == "fail: the $a CLI exited with status 1: "* ]] &&
        [[ "$stderr" == *"run failed"* ]]
    ok $? "$a: a non-zero exit fails the stage with the agent's own message" "exit $rc" "$reason" "$stderr"
done
[[ "$(js "$tmp/e-claude/plan/status.json" 'j.failure_reason')" == *"Invalid API key"* ]] &&
    [[ "$(js "$tmp/e-gemini/plan/status.json" 'j.failure_reason')" == *"API key not valid"* ]]
ok $? "the failure reason is what the agent reported, not only its exit status"

run LO_STANDIN_MODE=cut "$LIGHTSOUT" run "$tmp/c.dot" --logs "$tmp/cut" -C "$tmp"
reason=$(js "$tmp/cut/plan/status.json" 'j.failure_reason' 2>&1)
[ "$rc" -eq 1 ] && [[ "$reason" == *"stream ended before its result event (after 3 JSON lines)"* ]]
ok $? "a stream cut short fails the stage with a clear message" "exit $rc" "$reason" "$stderr"

run LO_STANDIN_MODE=crash "$LIGHTSOUT" run "$tmp/c.dot" --logs "$tmp/crash" -C "$tmp"
reason=$(js "$tmp/crash/plan/status.json" 'j.failure_reason' 2>&1)
[ "$rc" -eq 1 ] && [[ "$reason" == *"killed by signal 9"* ]]
ok $? "an agent killed mid-stream fails the stage saying so" "exit $rc" "$reason"

run LO_STANDIN_MODE=noise "$LIGHTSOUT" run "$tmp/c.dot" --logs "$tmp/noise" -C "$tmp"
got=$(js "$tmp/noise/plan/agent.jsonl" 'j.filter((e) => e.type === "warning").length' 2>&1)
[ "$rc" -eq 0 ] && [ "$got" = 2 ]
ok $? "lines that are not JSON become warnings in agent.jsonl; the stage still succeeds" "exit $rc" "$got"

run env PATH=/nonexistent "$LIGHTSOUT" run "$tmp/c.dot" --logs "$tmp/missing" -C "$tmp"
[ "$rc" -eq 2 ] && [[ "$stderr" == *"preflight: node 'plan' runs the claude CLI as 'claude', which is not on PATH"* ]] &&
    [ ! -e "$tmp/missing" ]
ok $? "a missing agent binary fails the preflight, naming it; nothing runs" "exit $rc" "$stderr"

# ---- configuration: cli_command, llm_model, stylesheet, graph ----
pipeline "$tmp/cmd.dot" ", backend=cli, cli_agent=claude, cli_command=\"$agents/claude -p --output-format stream-json --verbose --model custom-1\""
run LO_STANDIN_ARGV="$tmp/argv-cmd" "$LIGHTSOUT" run "$tmp/cmd.dot" --logs "$tmp/cmd" -C "$tmp"
[ "$rc" -eq 0 ] && [ "$(sed -n 6p "$tmp/argv-cmd")" = custom-1 ] &&
    [[ "$(tail -n 1 "$tmp/argv-cmd")" == *"Create hello.txt containing hello" ]]
ok $? "cli_command replaces the command line; the prompt comes last, as one argument" "exit $rc" "$(cat "$tmp/argv-cmd" 2>&1)"

pipeline "$tmp/model.dot" ", backend=cli, cli_agent=opencode, llm_provider=anthropic, llm_model=claude-sonnet-4-5"
run LO_STANDIN_ARGV="$tmp/argv-model" "$LIGHTSOUT" run "$tmp/model.dot" --logs "$tmp/model" -C "$tmp"
[ "$rc" -eq 0 ] && grep -qx -- '--model' "$tmp/argv-model" && grep -qx 'anthropic/claude-sonnet-4-5' "$tmp/argv-model"
ok $? "llm_model reaches the agent's --model (opencode: provider/model)" "exit $rc" "$(cat "$tmp/argv-model" 2>&1)"

pipeline "$tmp/style.dot" "" ", model_stylesheet=\"* { backend: cli; cli_agent: gemini; llm_model: gemini-2.5-pro }\""
run LO_STANDIN_ARGV="$tmp/argv-style" "$LIGHTSOUT" run "$tmp/style.dot" --logs "$tmp/style" -C "$tmp"
got=$(js "$tmp/style/plan/status.json" 'j.context_updates["agent.plan.agent"]' 2>&1)
[ "$rc" -eq 0 ] && [ "$got" = gemini ] && grep -qx gemini-2.5-pro "$tmp/argv-style" &&
    [ "$(awk 'p { print; exit } $0 == "-p" { p = 1 }' "$tmp/argv-style")" = "Goal: make hello" ]
ok $? "the stylesheet picks the cli backend, the agent and its model" "exit $rc" "$got" "$stderr"

pipeline "$tmp/graph.dot" "" ", backend=cli, cli_agent=codex"
run "$LIGHTSOUT" run "$tmp/graph.dot" --logs "$tmp/graph" -C "$tmp"
got=$(js "$tmp/graph/plan/status.json" 'j.context_updates["agent.plan.agent"]' 2>&1)
[ "$rc" -eq 0 ] && [ "$got" = codex ]
ok $? "graph attributes give every node its backend and agent" "exit $rc" "$got" "$stderr"

pipeline "$tmp/prov.dot" ", backend=cli, llm_provider=openai"
run "$LIGHTSOUT" run "$tmp/prov.dot" --logs "$tmp/prov" -C "$tmp"
got=$(js "$tmp/prov/plan/status.json" 'j.context_updates["agent.plan.agent"]' 2>&1)
[ "$rc" -eq 0 ] && [ "$got" = codex ]
ok $? "without cli_agent, llm_provider picks the agent (openai: codex)" "exit $rc" "$got"

run "$LIGHTSOUT" validate "$tmp/cmd.dot" "$tmp/style.dot"
[ "$rc" -eq 0 ] && [[ "$stdout$stderr" != *unknown_attribute* ]]
ok $? "lint knows cli_agent and cli_command" "exit $rc" "$stdout" "$stderr"

pipeline "$tmp/badagent.dot" ", backend=cli, cli_agent=cursor"
run "$LIGHTSOUT" run "$tmp/badagent.dot" --logs "$tmp/badagent" -C "$tmp"
[ "$rc" -eq 2 ] && [[ "$stderr" == *"unknown cli_agent 'cursor'"* ]]
ok $? "an unknown cli_agent fails the preflight, listing the known ones" "exit $rc" "$stderr"

# ---- a twin's variables reach the agent; keys are not printed ----
run LO_STANDIN_ENV="$tmp/env-twin" "$LIGHTSOUT" run "$tmp/c.dot" --twin "$tapes/basic.jsonl" --logs "$tmp/twinenv" -C "$tmp"
[ "$rc" -eq 0 ] && grep -q '^ANTHROPIC_BASE_URL=http://127.0.0.1:[0-9]*$' "$tmp/env-twin" &&
    grep -q '^OPENAI_BASE_URL=http://127.0.0.1:[0-9]*/v1$' "$tmp/env-twin" &&
    grep -q '^ANTHROPIC_API_KEY=<' "$tmp/env-twin" && [[ "$stderr" == *"twin of every provider at http://127.0.0.1:"* ]]
ok $? "with --twin the cli agents get the twin's base URLs and a key; the run says so" "exit $rc" "$(cat "$tmp/env-twin" 2>&1)" "$stderr"

# ---- Ctrl-C stops the agent; a timeout fails the stage ----
LO_STANDIN_MODE=hang "${nokeys[@]}" PATH="$agents:$PATH" "$LIGHTSOUT" run "$tmp/c.dot" --logs "$tmp/sigint" -C "$tmp" \
    >"$tmp/out" 2>"$tmp/err" </dev/null &
bgpid=$!
for _ in $(seq 100); do
    grep -q session_start "$tmp/sigint/plan/agent.jsonl" 2>/dev/null && break
    sleep 0.1
done
kill -INT "$bgpid"
wait "$bgpid"
rc=$?
bgpid=""
sleep 0.2
left=$(pgrep -f "$agents/claude" || true)
[ "$rc" -eq 130 ] && [ -z "$left" ] && [[ "$(cat "$tmp/err")" == *"lightsout resume"* ]]
ok $? "Ctrl-C during a cli stage stops the agent (none left running) and exits 130" "exit $rc" "left: $left" "$(cat "$tmp/err")"

pipeline "$tmp/slow.dot" ", backend=cli, cli_agent=claude, timeout=\"1s\""
t0=$(date +%s)
run LO_STANDIN_MODE=hang "$LIGHTSOUT" run "$tmp/slow.dot" --logs "$tmp/timeout" -C "$tmp"
t1=$(date +%s)
reason=$(js "$tmp/timeout/plan/status.json" 'j.failure_reason' 2>&1)
[ "$rc" -eq 1 ] && [[ "$reason" == *"timeout"* ]] && [ $((t1 - t0)) -lt 60 ]
ok $? "a node timeout stops the agent and fails the stage" "exit $rc" "$reason"

# ---- no provider configured: the preflight, and simulation on purpose ----
run "$LIGHTSOUT" run "$root/examples/linear.dot" --logs "$tmp/nokey" -C "$tmp"
[ "$rc" -eq 2 ] && [[ "$stderr" == *"ANTHROPIC_API_KEY, OPENAI_API_KEY or GEMINI_API_KEY"* ]] &&
    [[ "$stderr" == *"--backend sim"* ]] && [[ "$stderr" == *"plan"* ]] && [ ! -e "$tmp/nokey" ]
ok $? "without a provider a codergen pipeline fails its preflight naming the variables" "exit $rc" "$stderr"
run "$LIGHTSOUT" run "$root/examples/linear.dot" --backend sim --logs "$tmp/simulated" -C "$tmp"
got=$(cat "$tmp/simulated/plan/response.md" 2>&1)
[ "$rc" -eq 0 ] && [ "$got" = "[Simulated] Response for stage: plan" ] &&
    [[ "$stderr" == *"backend sim"* ]]
ok $? "--backend sim simulates on purpose, and the run says so" "exit $rc" "$got" "$stderr"

pipeline "$tmp/twinnode.dot" ", backend=twin"
run "$LIGHTSOUT" run "$tmp/twinnode.dot" --logs "$tmp/twinnode" -C "$tmp"
[ "$rc" -eq 2 ] && [[ "$stderr" == *"node 'plan' uses backend twin, but the run has no twin: give --twin TAPE"* ]]
ok $? "backend=twin without --twin fails the preflight" "exit $rc" "$stderr"

pipeline "$tmp/prov2.dot" ", backend=api, llm_provider=gemini"
run ANTHROPIC_API_KEY=sk-test-not-used "$LIGHTSOUT" run "$tmp/prov2.dot" --logs "$tmp/prov2" -C "$tmp"
[ "$rc" -eq 2 ] && [[ "$stderr" == *"node 'plan' uses provider gemini, which is not configured: set GEMINI_API_KEY"* ]] &&
    [[ "$stderr" != *sk-test-not-used* ]]
ok $? "an api node whose provider has no key fails the preflight naming its variable" "exit $rc" "$stderr"

# resume uses the run's own backend: a run started with --backend cli and
# resumed without flags still runs its stages on the cli backend
cp "$tmp/c.dot" "$tmp/r.dot"
run LO_STANDIN_MODE=error "$LIGHTSOUT" run "$tmp/r.dot" --backend cli --logs "$tmp/resume" -C "$tmp"
got1=$(js "$tmp/resume/manifest.json" 'j.backend_choice.backend' 2>&1)
rm -f "$tmp/resume/checkpoint.json" "$tmp/resume/journal.jsonl"
run "$LIGHTSOUT" resume "$tmp/resume"
got=$(js "$tmp/resume/plan/status.json" 'j.outcome + " " + j.context_updates["agent.plan.backend"]' 2>&1)
[ "$got1" = cli ] && [ "$rc" -eq 0 ] && [ "$got" = "success cli" ]
ok $? "resume without flags uses the backend choice recorded in manifest.json" "exit $rc" "$got1" "$got" "$stderr"

# ---- the api backend against a twin: lightsout run --twin ----
tape=$tapes/backend/two_stage.jsonl
cat >"$tmp/api.dot" <<'EOF'
digraph Api {
    graph [goal="hello"]
    start [shape=Mdiamond]
    exit  [shape=Msquare]
    plan  [prompt="Write the plan"]
    build [prompt="Build it"]
    start -> plan -> build -> exit
}
EOF
mkdir -p "$tmp/wapi"
run "$LIGHTSOUT" run "$tmp/api.dot" --twin "$tape" --logs "$tmp/api" -C "$tmp/wapi"
ok $rc "run --twin: a two-stage pipeline on the api backend succeeds offline" "exit $rc" "$stderr"
[ "$(cat "$tmp/wapi/PLAN.md" 2>/dev/null)" = "1. build hello" ] &&
    [ "$(cat "$tmp/wapi/hello.c" 2>/dev/null)" = "int main(void) { return 0; }" ] &&
    [ "$(tr -d ' ' <"$tmp/wapi/size.txt" 2>/dev/null)" = 29 ]
ok $? "run --twin: the stages wrote files through write_file and ran shell, in the workdir"
[ "$(cat "$tmp/api/plan/response.md" 2>&1)" = "The plan is in PLAN.md." ] &&
    [ "$(cat "$tmp/api/build/response.md" 2>&1)" = "hello.c is written." ]
ok $? "run --twin: response.md holds each stage's final answer"
got=$(js "$tmp/api/plan/agent.jsonl" 'j.map((e) => e.type).filter((t) => t !== "assistant_text_delta").join(" ")')
[ "$got" = "session_start user_input assistant_text_start assistant_text_end tool_call_start tool_call_end assistant_text_start assistant_text_end processing_end session_end" ]
ok $? "run --twin: agent.jsonl holds every session event, start to end" "$got"
got=$(js "$tmp/api/plan/agent.jsonl" 'j.find((e) => e.type === "tool_call_start").tool_name + " " + j.find((e) => e.type === "session_start").working_directory')
[ "$got" = "write_file $(cd "$tmp/wapi" && pwd -P)" ]
ok $? "run --twin: the session ran in the stage's working directory" "$got"
got=$(js "$tmp/api/build/status.json" '[j.outcome, j.context_updates["agent.build.provider"], j.context_updates["agent.build.output_tokens"] > 0, j.context_updates["agent.build.tool_calls"], typeof j.context_updates["agent.build.cost_usd"]].join(" ")')
[ "$got" = "success anthropic true 2 number" ]
ok $? "run --twin: status.json has provider, tokens, tool calls and cost" "$got"
got=$(js "$tmp/api/events.jsonl" 'j.filter((e) => e.type === "agent_usage").map((e) => e.node + ":" + e.backend + ":" + (e.output_tokens > 0) + ":" + (typeof e.cost_usd)).join(" ") + " " + j.filter((e) => e.type === "codergen_started").map((e) => e.backend).join(",")')
[ "$got" = "plan:api:true:number build:api:true:number api,api" ]
ok $? "run --twin: an agent_usage event per stage; codergen_started names the api backend" "$got"
got=$(js "$tmp/api/manifest.json" 'j.backend + " " + j.backend_choice.twin.length')
[ "$got" = "api 1" ]
ok $? "run --twin: the manifest records the backend and the tape" "$got"

# fidelity full: the second stage continues the first stage's session
cat >"$tmp/full.dot" <<'EOF'
digraph Full {
    graph [goal="hello"]
    start  [shape=Mdiamond]
    exit   [shape=Msquare]
    plan   [prompt="Write the plan", fidelity="full", thread_id="main"]
    review [prompt="Review the plan", fidelity="full", thread_id="main"]
    start -> plan -> review -> exit
}
EOF
run "$LIGHTSOUT" run "$tmp/full.dot" --twin "$tape" --logs "$tmp/full" -C "$tmp/wapi"
s1=$(js "$tmp/full/plan/agent.jsonl" 'j[0].session_id')
s2=$(js "$tmp/full/review/agent.jsonl" 'j[0].session_id')
[ "$rc" -eq 0 ] && [ "$(cat "$tmp/full/review/response.md" 2>&1)" = "Reviewed in the same session." ] &&
    [ "$s1" = "$s2" ] && [ "$(js "$tmp/full/review/status.json" 'j.context_updates["agent.review.turns"]')" = 1 ]
ok $? "fidelity full reuses the thread's session: the model sees the earlier stage; usage is the stage's own" \
    "exit $rc" "$s1 / $s2" "$stderr"

# an unrecoverable provider error fails the stage with its message
cat >"$tmp/fail.dot" <<'EOF'
digraph Fail {
    start [shape=Mdiamond]
    exit  [shape=Msquare]
    work  [prompt="Fail hard"]
    start -> work -> exit
}
EOF
run "$LIGHTSOUT" run "$tmp/fail.dot" --twin "$tape" --logs "$tmp/fail" -C "$tmp/wapi"
reason=$(js "$tmp/fail/work/status.json" 'j.failure_reason')
[ "$rc" -eq 1 ] && [[ "$reason" == "the agent failed: "*authentication* ]] && [[ "$reason" != *lightsout-twin* ]]
ok $? "an unrecoverable session error fails the stage with its message (no key in it)" "exit $rc" "$reason"

# the node's timeout stops the session and fails the stage, saying so
cat >"$tmp/tmo.dot" <<'EOF'
digraph Tmo {
    start [shape=Mdiamond]
    exit  [shape=Msquare]
    slow  [prompt="Take your time", timeout="1s"]
    start -> slow -> exit
}
EOF
run "$LIGHTSOUT" run "$tmp/tmo.dot" --twin "$tape" --logs "$tmp/tmo" -C "$tmp/wapi"
reason=$(js "$tmp/tmo/slow/status.json" 'j.outcome + ": " + j.failure_reason')
last=$(js "$tmp/tmo/slow/agent.jsonl" 'j[j.length - 1].type')
[ "$rc" -eq 1 ] && [[ "$reason" == "fail: "*"stage's timeout"* ]] && [ "$last" = session_end ]
ok $? "the node's timeout aborts the agent's session and fails the stage" "exit $rc" "$reason" "$last"

# kill -9 during an agent stage, then resume: the stage runs again, the run completes
cat >"$tmp/slow.dot" <<'EOF'
digraph Slow {
    graph [goal="hello"]
    start [shape=Mdiamond]
    exit  [shape=Msquare]
    plan  [prompt="Write the plan"]
    slow  [prompt="Take your time"]
    start -> plan -> slow -> exit
}
EOF
# wait_stage DIR NODE: until NODE's session has its prompt (the model call
# follows at once); generous, for a loaded machine
wait_stage() {
    for _ in $(seq 300); do
        grep -q '"type":"user_input"' "$1/$2/agent.jsonl" 2>/dev/null && return 0
        sleep 0.1
    done
    return 1
}
"${nokeys[@]}" "$LIGHTSOUT" run "$tmp/slow.dot" --twin "$tape" --logs "$tmp/kill" -C "$tmp/wapi" \
    >/dev/null 2>"$tmp/kill.err" </dev/null &
bgpid=$!
wait_stage "$tmp/kill" slow
sleep 0.5
kill -9 "$bgpid"
wait "$bgpid" 2>/dev/null
bgpid=""
before=$(grep -c session_start "$tmp/kill/slow/agent.jsonl" 2>/dev/null)
run "$LIGHTSOUT" resume "$tmp/kill"
after=$(grep -c session_start "$tmp/kill/slow/agent.jsonl" 2>/dev/null)
state=$(js "$tmp/kill/checkpoint.json" 'j.state + " " + j.completed_nodes.join(",")')
[ "$before" = 1 ] && [ "$rc" -eq 0 ] && [ "$after" = 2 ] && [ "$state" = "completed start,plan,slow,exit" ] &&
    [ "$(cat "$tmp/kill/slow/response.md" 2>&1)" = "Done slowly." ]
ok $? "kill -9 during an agent stage, then resume (no flags): the stage runs again, the run completes" \
    "sessions before $before after $after" "exit $rc" "$state" "$stderr"

# Ctrl-C during a model call stops the session at once
"${nokeys[@]}" "$LIGHTSOUT" run "$tmp/slow.dot" --twin "$tape" --logs "$tmp/int" -C "$tmp/wapi" \
    >/dev/null 2>"$tmp/int.err" </dev/null &
bgpid=$!
wait_stage "$tmp/int" slow
sleep 0.5
t0=$(date +%s%N)
kill -INT "$bgpid"
wait "$bgpid"
rc=$?
t1=$(date +%s%N)
bgpid=""
ms=$(((t1 - t0) / 1000000))
[ "$rc" -eq 130 ] && [ "$ms" -lt 3000 ] && grep -q '"stage_interrupted"' "$tmp/int/events.jsonl"
ok $? "Ctrl-C during a model call aborts the session and exits 130 (in $ms ms; the call had 4 s to go)" \
    "exit $rc" "$(cat "$tmp/int.err")"

finish
