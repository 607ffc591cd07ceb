#!/usr/bin/env bash
# End-to-end tests of validation gates through `lightsout run`, printed as
# TAP: preflight of gate commands and of sandbox=true, the sandbox (working
# and stage directories writable, the rest read-only, no network unless
# network=true), running bare when bubblewrap is missing and saying so in
# gate.json, gate.md and the events, a budget's verdict on the command
# line, and the cgroup of a gate whose lightsout was killed with -9 swept
# (its command killed) by the next gate.
#
#   LIGHTSOUT    the binary (default: bin/lightsout next to this tree; tap.sh)
set -u

. "$(dirname "$0")/tap.sh"

tmp=$(mktemp -d "${TMPDIR:-/tmp}/lo-gate.XXXXXX")
bgpid=""
marker=lo-gate-orphan-$$
cleanup() {
    [ -n "$bgpid" ] && kill -9 "$bgpid" 2>/dev/null
    kill_marked
    rm -rf "$tmp"
}
trap cleanup EXIT

# gate.dot NAME 'ATTRS': start -> g (a gate with ATTRS) -> done
gate_dot() {
    printf 'digraph t {\n  start [shape=Mdiamond]\n  done [shape=Msquare]\n  g [shape=octagon, %s]\n  start -> g -> done\n}\n' "$2" >"$tmp/$1.dot"
}

# js FILE EXPR: a JavaScript expression over the parsed JSON file (as j)
js() {
    node -e 'const fs = require("fs"); const j = JSON.parse(fs.readFileSync(process.argv[1], "utf8"));
             const r = (0, eval)("(j) => (" + process.argv[2] + ")")(j);
             process.stdout.write(typeof r === "string" ? r : JSON.stringify(r));' "$1" "$2"
}

if ! command -v node >/dev/null 2>&1; then
    echo "1..0 # skip node is needed to read gate.json"
    exit 0
fi
mkdir "$tmp/work"
cd "$tmp/work" || exit 1
sandbox=0
command -v bwrap >/dev/null 2>&1 && bwrap --ro-bind / / true 2>/dev/null && sandbox=1

# ---- preflight ----
gate_dot missing "command=\"no-such-program-$$ --check\""
run run "$tmp/missing.dot" --logs "$tmp/missing"
[ "$rc" -eq 2 ] && [[ "$stderr" == *"preflight: node 'g' runs 'no-such-program-$$', which is not on PATH"* ]] &&
    [ ! -e "$tmp/missing" ]
ok $? "a gate whose program is not on PATH fails preflight, exit 2, nothing runs" "exit $rc" "$stderr"

# ---- the sandbox ----
gate_dot sb 'command="touch made.txt && echo own > $LIGHTSOUT_STAGE_DIR/own.txt && ! touch /usr/lo-probe-$$ 2>/dev/null && test $(grep -c : /proc/net/dev) -eq 1", sandbox=true'
if [ $sandbox = 1 ]; then
    run run "$tmp/sb.dot" --logs "$tmp/sb"
    [ "$rc" -eq 0 ] && [ -f made.txt ] && [ -f "$tmp/sb/g/own.txt" ] && [ ! -e "/usr/lo-probe-$$" ]
    ok $? "sandbox=true: workdir and stage dir writable, the rest read-only, no network" "exit $rc" "$stderr" \
        "$(cat "$tmp/sb/g/output.txt" 2>/dev/null)"
    got=$(js "$tmp/sb/g/gate.json" 'j.sandbox.mode + " " + j.sandbox.used + " " + j.sandbox.network')
    [ "$got" = "true true false" ]
    ok $? "gate.json says the sandbox was used, without the network" "$got"
    grep -q '"type":"gate_started".*"sandbox":true' "$tmp/sb/events.jsonl"
    ok $? "gate_started says it runs sandboxed"
    if [ "$(grep -c : /proc/net/dev)" -gt 1 ]; then
        gate_dot net 'command="test $(grep -c : /proc/net/dev) -gt 1", network=true'
        run run "$tmp/net.dot" --logs "$tmp/net"
        [ "$rc" -eq 0 ]
        ok $? "network=true keeps the host's network inside the sandbox" "exit $rc" "$stderr"
    else
        skip "this machine has no network interface but loopback"
    fi
else
    skip "bubblewrap does not work here"
    skip "bubblewrap does not work here"
    skip "bubblewrap does not work here"
    skip "bubblewrap does not work here"
fi

# ---- without bubblewrap ----
mkdir -p "$tmp/nobwrap"
gate_dot auto 'command="true"'
PATH=$tmp/nobwrap "$LIGHTSOUT" run "$tmp/auto.dot" --logs "$tmp/auto" >"$tmp/out" 2>"$tmp/err" </dev/null
rc=$?
[ "$rc" -eq 0 ] && [ "$(js "$tmp/auto/g/gate.json" 'j.sandbox.used')" = false ] &&
    [[ "$(js "$tmp/auto/g/gate.json" 'j.sandbox.note')" == *"apt-get install bubblewrap"*"without it"* ]]
ok $? "sandbox=auto without bwrap runs bare; gate.json says so, naming the package" \
    "exit $rc" "$(cat "$tmp/err")" "$(js "$tmp/auto/g/gate.json" 'j.sandbox' 2>&1)"
grep -q '"type":"gate_started".*"sandbox":false,"sandbox_note":"the sandbox needs bwrap' "$tmp/auto/events.jsonl" &&
    grep -q '^Not sandboxed: ' "$tmp/auto/g/gate.md"
ok $? "so do the gate_started event and gate.md" "$(grep gate_started "$tmp/auto/events.jsonl")"
gate_dot must 'command="true", sandbox=true'
PATH=$tmp/nobwrap "$LIGHTSOUT" run "$tmp/must.dot" --logs "$tmp/must" >"$tmp/out" 2>"$tmp/err" </dev/null
rc=$?
[ "$rc" -eq 2 ] && grep -q "preflight: gate 'g' requires the sandbox (sandbox=true):.*apt-get install bubblewrap" "$tmp/err" &&
    [ ! -e "$tmp/must" ]
ok $? "sandbox=true without bwrap fails preflight naming the package, exit 2" "exit $rc" "$(cat "$tmp/err")"

# ---- a budget's verdict on the command line ----
gate_dot wall 'command="sleep 5", max_wall="300ms"'
run run "$tmp/wall.dot" --logs "$tmp/wall"
[ "$rc" -eq 1 ] && [[ "$stderr" == *"Gate \`g\` FAILED: wall time reached max_wall 0.30 s ("*"measured); the command was stopped"* ]]
ok $? "a gate over max_wall fails the run with the budget, the measurement and the limit" "exit $rc" "$stderr"
by=$(js "$tmp/wall/g/gate.json" 'j.measurement.by')
[ "$by" = cgroup2 ] || [ "$by" = proc ]
ok $? "gate.json says how the command was measured ($by)" "$by"

# ---- kill -9 during a gate: the next gate sweeps the orphaned group ----
if [ "$by" = cgroup2 ]; then
    gate_dot orphan "command=\"sleep 60 # $marker\", sandbox=false"
    "$LIGHTSOUT" run "$tmp/orphan.dot" --logs "$tmp/orphan" >/dev/null 2>&1 </dev/null &
    bgpid=$!
    for _ in $(seq 200); do
        [ "$(live_marked)" -gt 0 ] && break
        sleep 0.05
    done
    { kill -9 "$bgpid"; wait "$bgpid"; } 2>/dev/null
    dead=$bgpid
    bgpid=""
    [ "$(live_marked)" -gt 0 ]
    ok $? "kill -9 of lightsout leaves its gate's command running" "$(live_marked)"
    run run "$tmp/auto.dot" --logs "$tmp/after"
    left=$(find /sys/fs/cgroup -maxdepth 3 -name "lightsout-gate-$dead-*" 2>/dev/null | wc -l)
    [ "$rc" -eq 0 ] && [ "$(live_marked)" -eq 0 ] && [ "$left" -eq 0 ]
    ok $? "the next gate kills it and removes the dead run's cgroup" "exit $rc" "alive $(live_marked), groups left $left"
else
    skip "no cgroup v2 group can be made here"
    skip "no cgroup v2 group can be made here"
fi

finish
