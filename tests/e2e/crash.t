#!/usr/bin/env bash
# Crash safety, printed as TAP: a pipeline is killed with SIGKILL at 20
# points spread over its run (inside tool stages, between stages, during
# checkpoint writes), then `lightsout resume` must finish it with the same
# completed stages, stage outcomes, retries, context and final state as an
# uninterrupted run, every time. After each kill the files resume depends on
# (manifest.json, checkpoint.json) must be whole JSON: they are written
# atomically.
#
# The pipeline mixes tool stages (idempotent commands, so running one again
# after a kill gives the same result), codergen stages on the simulation
# backend and a conditional. Without the tool handler it uses codergen
# stages only, and the kill points then fall between stages and in
# checkpoint writes.
#
#   LIGHTSOUT    the binary (default: bin/lightsout next to this tree)
#   KILLS        number of kill points (default 20)
set -u

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
LIGHTSOUT=${LIGHTSOUT:-$root/bin/lightsout}
case $LIGHTSOUT in
/*) ;;
*) LIGHTSOUT=$(cd "$(dirname "$LIGHTSOUT")" && pwd)/$(basename "$LIGHTSOUT") ;;
esac
KILLS=${KILLS:-20}

tmp=$(mktemp -d "${TMPDIR:-/tmp}/lo-crash.XXXXXX")
bgpid=""
cleanup() {
    [ -n "$bgpid" ] && kill -9 "$bgpid" 2>/dev/null
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
note() { out+="# $*"$'\n'; }
finish() { printf '1..%d\n%s' "$n" "$out"; }

if [ ! -x "$LIGHTSOUT" ]; then
    echo "1..0 # skip no binary at $LIGHTSOUT (run make)"
    exit 0
fi
if ! command -v node >/dev/null 2>&1; then
    echo "1..0 # skip node is not installed (it compares the checkpoints)"
    exit 0
fi
now_ms() { echo $(($(date +%s%N) / 1000000)); }

cd "$tmp" || exit 1

# The part of a checkpoint a resumed run must reproduce, as canonical JSON
# (sorted keys; completed_nodes keeps its order). Timestamps, pids and the
# run id are not part of it. Prints "invalid: ..." for a file that is not
# whole JSON.
cat >"$tmp/essence.js" <<'EOF'
const fs = require("fs");
function canon(v) {
    if (Array.isArray(v)) return v.map(canon);
    if (v && typeof v === "object") {
        const o = {};
        for (const k of Object.keys(v).sort()) o[k] = canon(v[k]);
        return o;
    }
    return v;
}
let j;
try { j = JSON.parse(fs.readFileSync(process.argv[2], "utf8")); }
catch (e) { console.log("invalid: " + e.message); process.exit(0); }
if (process.argv[3] === "--check") { console.log("ok"); process.exit(0); }
const keep = ["state", "current_node", "next_node", "completed_nodes", "node_outcomes",
              "node_retries", "restarts", "context"];
const e = {};
for (const k of keep) e[k] = j[k] === undefined ? null : j[k];
console.log(JSON.stringify(canon(e)));
EOF
essence() { node "$tmp/essence.js" "$@"; }

# ---- the pipeline: tool stages when the tool handler is there ----
cat >"$tmp/probe.dot" <<'EOF'
digraph Probe {
    start [shape=Mdiamond]
    exit  [shape=Msquare]
    t [shape=parallelogram, tool_command="echo probed"]
    start -> t -> exit
}
EOF
"$LIGHTSOUT" run "$tmp/probe.dot" --backend sim --logs "$tmp/probe" >/dev/null 2>&1
if grep -q '"handler":"tool"' "$tmp/probe/events.jsonl" 2>/dev/null; then
    tools=1
    cat >"$tmp/crash.dot" <<'EOF'
digraph Crash {
    graph [goal="survive kill -9"]
    start [shape=Mdiamond]
    exit  [shape=Msquare]
    plan      [prompt="Plan: $goal"]
    build     [shape=parallelogram, tool_command="sleep 0.02; echo built"]
    implement [prompt="Implement the plan"]
    test      [shape=parallelogram, tool_command="sleep 0.02; echo tests-pass"]
    check     [shape=diamond]
    fix       [prompt="Fix the failures"]
    package   [shape=parallelogram, tool_command="sleep 0.02; echo packaged"]
    review    [prompt="Review the release"]
    start -> plan -> build -> implement -> test -> check
    check -> package [condition="context.tool.output=tests-pass"]
    check -> fix     [condition="context.tool.output!=tests-pass"]
    fix -> test
    package -> review -> exit
}
EOF
else
    tools=0
    note "the tool handler is not registered: codergen stages only; kill points fall" \
        "between stages and in checkpoint writes"
    cat >"$tmp/crash.dot" <<'EOF'
digraph Crash {
    graph [goal="survive kill -9"]
    start [shape=Mdiamond]
    exit  [shape=Msquare]
    plan      [prompt="Plan: $goal"]
    build     [prompt="Build it"]
    implement [prompt="Implement the plan"]
    test      [prompt="Test it"]
    check     [shape=diamond]
    fix       [prompt="Fix the failures"]
    package   [prompt="Package it"]
    review    [prompt="Review the release"]
    start -> plan -> build -> implement -> test -> check
    check -> package [condition="outcome=success"]
    check -> fix     [condition="outcome!=success"]
    fix -> test
    package -> review -> exit
}
EOF
fi

# ---- the reference: an uninterrupted run ----
# Its duration is the shortest of three runs (the first one warms the page
# cache), so the kill points spread over the whole of a typical run.
duration=""
for r in 1 2 3; do
    t0=$(now_ms)
    "$LIGHTSOUT" run "$tmp/crash.dot" --backend sim --logs "$tmp/ref$r" >/dev/null 2>"$tmp/ref.err" </dev/null
    rc=$?
    d=$(($(now_ms) - t0))
    [ "$rc" -eq 0 ] || break
    [ -z "$duration" ] || [ "$d" -lt "$duration" ] && duration=$d
done
ok $rc "the uninterrupted reference run succeeds (${duration:-?} ms)" "$(cat "$tmp/ref.err")"
want=$(essence "$tmp/ref1/checkpoint.json")
[[ "$want" == *'"state":"completed"'* ]] && [ "$(essence "$tmp/ref2/checkpoint.json")" = "$want" ]
ok $? "the reference checkpoint says completed, and a second run ends the same" "$want"
[ "${duration:-0}" -lt 20 ] && duration=20

# ---- KILLS kill points from 2 ms to 90% of the reference duration ----
restarted=0
killed_running=0
status_bad=""
for i in $(seq 1 "$KILLS"); do
    delay=$((2 + (duration * 9 / 10 - 2) * (i - 1) / (KILLS > 1 ? KILLS - 1 : 1)))
    dir="$tmp/run$i"
    t0=$(now_ms)
    "$LIGHTSOUT" run "$tmp/crash.dot" --backend sim --logs "$dir" >/dev/null 2>"$tmp/run$i.err" </dev/null &
    bgpid=$!
    sleep "$(printf '0.%03d' "$delay")"
    kill -9 "$bgpid" 2>/dev/null
    wait "$bgpid" 2>/dev/null
    killrc=$?
    at=$(($(now_ms) - t0))
    bgpid=""
    # where the kill landed: the last whole event
    last=$(tail -n 2 "$dir/events.jsonl" 2>/dev/null | grep -o '"type":"[a-z_]*"' | tail -n 1 |
        sed 's/"type":"\(.*\)"/\1/')
    problems=""
    if [ ! -e "$dir/manifest.json" ]; then
        # killed before the run existed: nothing to resume, so start over
        restarted=$((restarted + 1))
        how="killed before manifest.json existed; started over"
        "$LIGHTSOUT" run "$tmp/crash.dot" --backend sim --logs "$dir" >/dev/null 2>"$tmp/resume$i.err" </dev/null
        rrc=$?
    else
        for f in manifest.json checkpoint.json; do
            [ -e "$dir/$f" ] || continue
            v=$(essence "$dir/$f" --check)
            [ "$v" = ok ] || problems+=" $f after the kill: $v;"
        done
        # a killed run's status says its process is gone
        if [ "$killrc" -eq 137 ] && grep -q '"state": "running"' "$dir/checkpoint.json" 2>/dev/null; then
            killed_running=$((killed_running + 1))
            "$LIGHTSOUT" status --json "$dir" >"$tmp/status$i.json" 2>&1
            st=$(node -e 'try { const j = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
                              console.log(j.state + (j.process_gone ? " gone" : "")) }
                          catch (e) { console.log("invalid") }' "$tmp/status$i.json")
            [ "$st" = "stopped gone" ] || status_bad+=" kill $i: status says '$st';"
        fi
        if [ "$killrc" -eq 137 ]; then
            how="killed at ${at} ms after ${last:-no event}"
        else
            how="finished before the kill at ${at} ms (exit $killrc)"
        fi
        "$LIGHTSOUT" resume "$dir" >/dev/null 2>"$tmp/resume$i.err" </dev/null
        rrc=$?
    fi
    got=$(essence "$dir/checkpoint.json" 2>&1)
    [ "$rrc" -eq 0 ] && [ -z "$problems" ] && [ "$got" = "$want" ]
    ok $? "kill $i ($how): resume ends as the uninterrupted run" \
        "resume exit $rrc: $(cat "$tmp/resume$i.err")" "$problems" "want $want" "got  $got"
done
note "$restarted of $KILLS kills came before the run directory existed"
[ -z "$status_bad" ]
ok $? "status says 'stopped' (process gone) after each of the $killed_running kills mid-run" \
    "$status_bad"
[ "$tools" = 1 ] || note "tool handler not registered yet: codergen stages only"

finish
