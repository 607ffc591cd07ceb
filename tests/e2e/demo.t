#!/usr/bin/env bash
# End-to-end test of `make demo` (scripts/demo), printed as TAP: the demo
# pipeline runs offline through the real engine, the native agent on the
# twin, real tools and a real gate; the first attempt passes the tests but
# trips max_wall, the gate's report reaches the second prompt, the second
# attempt passes; the run's artifacts say so.
#
#   LIGHTSOUT    the binary (default: bin/lightsout next to this tree; tap.sh)
set -u

. "$(dirname "$0")/tap.sh"

tmp=$(mktemp -d "${TMPDIR:-/tmp}/lo-demo.XXXXXX")
trap 'rm -rf "$tmp"' EXIT

ANTHROPIC_API_KEY=sk-must-not-be-used DEMO_DIR=$tmp LIGHTSOUT=$LIGHTSOUT \
    "$root/scripts/demo" >"$tmp/out" 2>&1
rc=$?
log=$(cat "$tmp/out")
logs=$tmp/run
ok $(( rc != 0 )) "make demo exits 0" "exit $rc" "$log"

[[ "$log" == *"FAIL   gate: Gate \`gate\` FAILED: wall time reached max_wall 3.00 s"* ]] &&
    [[ "$log" == *"done   gate: success"* ]] && [[ "$log" == *"completed: success"* ]]
ok $? "the terminal shows the rejection with its reason, then the pass" "$log"

[[ "$log" =~ cost:\ \$[0-9]+\.[0-9]{4}\ at\ list\ prices\ \(2\ agent\ sessions ]] &&
    [[ "$log" == *"run directory: $logs"* ]]
ok $? "the terminal shows the cost at list prices and where the run's files are" "$log"

ev=$logs/events.jsonl
first=$(grep '"type":"gate_finished"' "$ev" | head -1)
second=$(grep '"type":"gate_finished"' "$ev" | sed -n 2p)
[[ "$first" == *'"status":"fail"'* && "$first" == *'"tripped":"max_wall"'* &&
    "$first" == *'"passed":8'* && "$first" == *'"failed":0'* ]]
ok $? "first gate: 8 tests passed, stopped at max_wall" "$first"
[[ "$second" == *'"status":"pass"'* && "$second" == *'"tripped":null'* ]]
ok $? "second gate: passed within every budget" "$second"

[ "$(grep -c '"type":"agent_usage"' "$ev")" -eq 2 ] &&
    grep -q '"type":"pipeline_completed"' "$ev"
ok $? "two agent sessions, then the run completed" "$(grep -c agent_usage "$ev")"

grep -q 'wall time reached max_wall 3.00 s' "$logs/implement/prompt.md"
ok $? "the second implement prompt carries the gate's report (\$last_failure)"

agent=$logs/implement/agent.jsonl
[ -s "$agent" ] && grep -q 'write_file' "$agent" && grep -q 'make -s check' "$agent"
ok $? "agent.jsonl records the session's tool calls" "$(head -c 600 "$agent" 2>&1)"

grep -q 'sieve' "$logs/implement/response.md"
ok $? "response.md holds the second session's answer" "$(cat "$logs/implement/response.md" 2>&1)"

grep -q 'composite' "$tmp/primes/primes.c" && ! grep -q 'is_prime' "$tmp/primes/primes.c" &&
    (cd "$tmp/primes" && make -s check >/dev/null 2>&1)
ok $? "the accepted primes.c is the sieve, and it passes make check" "$(head -20 "$tmp/primes/primes.c")"

[ -f "$logs/gate/gate.json" ] && grep -q '"status": *"pass"' "$logs/gate/gate.json" &&
    grep -q '^Gate .gate. passed' "$logs/gate/gate.md"
ok $? "gate.json and gate.md of the last visit say it passed" "$(cat "$logs/gate/gate.md" 2>&1)"

"$LIGHTSOUT" status "$logs" -n 0 >"$tmp/status" 2>&1
st=$(cat "$tmp/status")
[[ "$st" == *"state:    completed"* ]] &&
    [ "$(grep -cE '^    gate +fail$' "$tmp/status")" -eq 1 ] &&
    [ "$(grep -cE '^    gate +success$' "$tmp/status")" -eq 1 ] &&
    [[ "$st" == *"at list prices (2 agent sessions"* ]]
ok $? "status lists each visit with its own outcome, and the agents' cost" "$st"

! grep -rq 'sk-must-not-be-used' "$logs" "$tmp/out"
ok $? "an API key in the environment reaches nothing"

# the same pipeline with the agent's commands in the sandbox; kept by resume
if bwrap --ro-bind / / --unshare-net true 2>/dev/null; then
    cp -r "$root/examples/demo/workspace" "$tmp/sbwork"
    (unset MAKEFLAGS MFLAGS MAKELEVEL; "$LIGHTSOUT" run "$root/examples/demo/pipeline.dot" \
        -C "$tmp/sbwork" --logs "$tmp/sbrun" --twin "$root/examples/demo/tape.jsonl" \
        --agent-sandbox >"$tmp/sbout" 2>&1)
    rc=$?
    [ "$rc" -eq 0 ] && grep -q '"agent_sandbox": true' "$tmp/sbrun/manifest.json" &&
        grep -q composite "$tmp/sbwork/primes.c"
    ok $? "run --agent-sandbox: the demo passes with the agent's commands in bubblewrap" \
        "exit $rc" "$(tail -5 "$tmp/sbout")"
else
    skip "run --agent-sandbox: bubblewrap cannot run here"
fi
mkdir -p "$tmp/nobwrap" && ln -sf "$(command -v make)" "$tmp/nobwrap/make"
PATH=$tmp/nobwrap "$LIGHTSOUT" run "$root/examples/demo/pipeline.dot" -C "$tmp/sbwork" \
    --logs "$tmp/sbrun2" --twin "$root/examples/demo/tape.jsonl" --agent-sandbox \
    >"$tmp/sbout2" 2>&1
rc=$?
[ "$rc" -eq 2 ] && grep -q 'Debian package bubblewrap' "$tmp/sbout2" && [ ! -e "$tmp/sbrun2" ]
ok $? "run --agent-sandbox without bubblewrap: exit 2 before anything runs" "exit $rc" \
    "$(cat "$tmp/sbout2")"

finish
