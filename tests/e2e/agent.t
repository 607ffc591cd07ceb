#!/usr/bin/env bash
# End-to-end tests of `lightsout agent`, printed as TAP, offline against the
# in-process twin (--twin tests/data/tapes/agent/agent.jsonl): a task run to
# completion (tool lines, answer, usage and cost; files written in --cwd), a
# path outside --cwd refused, secrets kept from commands, --max-turns, a
# provider error, configuration errors (exit 2 naming the variable), the
# interactive loop (inputs one after another, a line typed while the agent
# works sent as steering), and Ctrl-C.
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
tape=$root/tests/data/tapes/agent/agent.jsonl

tmp=$(mktemp -d "${TMPDIR:-/tmp}/lo-agent.XXXXXX")
bgpid=""
cleanup() {
    [ -n "$bgpid" ] && kill "$bgpid" 2>/dev/null
    exec 7>&- 2>/dev/null
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

# No provider keys from the caller's environment: every test says what it uses.
nokeys=(env -u ANTHROPIC_API_KEY -u OPENAI_API_KEY -u GEMINI_API_KEY -u GOOGLE_API_KEY
    -u ANTHROPIC_BASE_URL -u OPENAI_BASE_URL -u GEMINI_BASE_URL)

run() { # run [VAR=VALUE...] ARGS...
    "${nokeys[@]}" "$@" >"$tmp/out" 2>"$tmp/err" </dev/null
    rc=$?
    stdout=$(cat "$tmp/out")
    stderr=$(cat "$tmp/err")
}

# ---- a task, to completion ----
mkdir -p "$tmp/w"
run "$LIGHTSOUT" agent --twin "$tape" --cwd "$tmp/w" "Make notes"
ok $rc "a task runs to completion (exit 0)" "exit $rc" "$stderr"
[ "$(cat "$tmp/w/notes/todo.txt" 2>/dev/null)" = "ship it" ] &&
    [ "$(tr -d ' ' <"$tmp/w/count.txt" 2>/dev/null)" = 1 ]
ok $? "write_file and shell ran in --cwd" "$(ls -R "$tmp/w")"
l1=$(sed -n 1p "$tmp/out")
l2=$(sed -n 2p "$tmp/out")
[[ "$l1" == '> write_file {"content":"ship it\n","file_path":"notes/todo.txt"}  [ok, '*' ms]' ]] &&
    [[ "$l2" == '> shell {"command":"wc -l < notes/todo.txt > count.txt && echo COUNTED"}  [ok, '*' ms]' ]]
ok $? "each tool call is one line: name, arguments, result" "$stdout"
[ "$(sed -n 3p "$tmp/out")" = "Notes written and counted." ] && [ "$(wc -l <"$tmp/out")" -eq 4 ]
ok $? "then the answer (and not the text of earlier turns)" "$stdout"
last=$(sed -n 4p "$tmp/out")
[[ "$last" =~ ^usage:\ [1-9][0-9]*\ prompt\ tokens.*\ [1-9][0-9]*\ output\ tokens\;\ 3\ turns,\ 2\ tool\ calls\;\ cost\ \$[0-9]+\.[0-9]{4}\ \(anthropic\  ]]
ok $? "then usage: tokens, turns, tool calls and cost" "$last"

# the working directory is the current one without --cwd
mkdir -p "$tmp/here"
(cd "$tmp/here" && run "$LIGHTSOUT" agent --twin "$tape" "Make notes")
[ -f "$tmp/here/notes/todo.txt" ]
ok $? "without --cwd the agent works in the current directory"

# ---- confinement, secrets ----
run "$LIGHTSOUT" agent --twin "$tape" --cwd "$tmp/w" --provider gemini "Escape"
[ "$rc" -eq 0 ] && [ ! -e "$tmp/outside.txt" ] &&
    [[ "$(sed -n 1p "$tmp/out")" == '> write_file '*'[error: '*'outside the working directory'* ]] &&
    [ "$(sed -n 2p "$tmp/out")" = "I could not write there." ] &&
    [[ "$(sed -n 3p "$tmp/out")" == *"(gemini "* ]]
ok $? "a path outside --cwd is refused; the model reads the refusal (gemini profile)" "exit $rc" \
    "$stdout" "$stderr"
run FOO_API_KEY=hunter2 "$LIGHTSOUT" agent --twin "$tape" --cwd "$tmp/w" "Show env"
[ "$rc" -eq 0 ] && [ "$(cat "$tmp/w/env.txt" 2>&1)" = "KEY=[] HOME=[set]" ] &&
    ! grep -q hunter2 "$tmp/out" "$tmp/err"
ok $? "commands run without *_API_KEY variables, with the rest" "$(cat "$tmp/w/env.txt" 2>&1)"

# ---- limits and errors ----
run "$LIGHTSOUT" agent --twin "$tape" --cwd "$tmp/w" --max-turns 3 "Loop"
[ "$rc" -eq 1 ] && [ "$(grep -c '^> shell' "$tmp/out")" -eq 3 ] && [[ "$stderr" == *"turn limit"* ]]
ok $? "--max-turns 3 stops after three turns, exit 1, saying so" "exit $rc" "$stdout" "$stderr"
run "$LIGHTSOUT" agent --twin "$tape" --cwd "$tmp/w" "Fail hard"
[ "$rc" -eq 1 ] && [[ "$stderr" == *authentication* ]] && [[ "$stderr" != *lightsout-twin* ]]
ok $? "a provider error ends the session: exit 1 with its message (no key in it)" "exit $rc" "$stderr"

run "$LIGHTSOUT" agent --cwd "$tmp/w" "Make notes"
[ "$rc" -eq 2 ] && [[ "$stderr" == *ANTHROPIC_API_KEY*OPENAI_API_KEY*GEMINI_API_KEY*--twin* ]]
ok $? "no provider configured: exit 2 naming the variables and --twin" "exit $rc" "$stderr"
run ANTHROPIC_API_KEY=x "$LIGHTSOUT" agent --provider openai --cwd "$tmp/w" "Make notes"
[ "$rc" -eq 2 ] && [[ "$stderr" == *"OPENAI_API_KEY is not set"* ]] && [[ "$stderr" != *"=x"* ]]
ok $? "--provider without its key: exit 2 naming the variable" "exit $rc" "$stderr"
run "$LIGHTSOUT" agent --twin "$tape" --provider mistral "x"
[ "$rc" -eq 2 ] && [[ "$stderr" == *"unknown provider 'mistral'"* ]]
ok $? "an unknown provider: exit 2" "exit $rc" "$stderr"
run "$LIGHTSOUT" agent --twin "$tape" --max-turns 0 "x"
r1=$rc
run "$LIGHTSOUT" agent --twin "$tape" --cwd "$tmp/nowhere" "x"
[ "$r1" -eq 2 ] && [ "$rc" -eq 2 ] && [[ "$stderr" == *"not a directory"* ]]
ok $? "a bad --max-turns or --cwd: exit 2" "$r1 $rc" "$stderr"
run "$LIGHTSOUT" agent --help
[ "$rc" -eq 0 ] && for f in --provider --model --sandbox --max-turns --cwd --twin; do
    [[ "$stdout" == *"$f"* ]] || false
done
ok $? "--help lists every flag" "$stdout"
run "$LIGHTSOUT" --help
[[ "$stdout" == *"agent "* ]]
ok $? "lightsout --help lists the agent command"

# ---- the interactive loop ----
# inputs one after another: the second line is written once the first answer is out
mkdir -p "$tmp/wi"
mkfifo "$tmp/in"
"${nokeys[@]}" "$LIGHTSOUT" agent --twin "$tape" --cwd "$tmp/wi" <"$tmp/in" >"$tmp/iout" 2>"$tmp/ierr" &
bgpid=$!
exec 7>"$tmp/in"
echo Hello >&7
for _ in $(seq 300); do
    grep -q "Hello from the twin." "$tmp/iout" && break
    sleep 0.1
done
echo "Make notes" >&7
exec 7>&-
wait "$bgpid"
rc=$?
bgpid=""
[ "$rc" -eq 0 ] && [ "$(sed -n 1p "$tmp/iout")" = "Hello from the twin." ] &&
    [ "$(sed -n 4p "$tmp/iout")" = "Notes written and counted." ] &&
    [ -f "$tmp/wi/notes/todo.txt" ] && [ "$(grep -c '^usage: ' "$tmp/iout")" -eq 1 ] &&
    ! grep -q steering "$tmp/iout"
ok $? "interactive: each line typed while idle is a new task in the same session" "exit $rc" \
    "$(cat "$tmp/iout" "$tmp/ierr")"

# a line typed while the agent works is steering (the first call takes 3 s)
printf 'Take your time\nAlso say STEERED\n' >"$tmp/steer.in"
"${nokeys[@]}" "$LIGHTSOUT" agent --twin "$tape" --cwd "$tmp/wi" <"$tmp/steer.in" >"$tmp/out" 2>"$tmp/err"
rc=$?
[ "$rc" -eq 0 ] && [ "$(sed -n 1p "$tmp/out")" = "(steering sent to the agent)" ] &&
    [ "$(sed -n 2p "$tmp/out")" = "Done slowly. STEERED." ]
ok $? "interactive: a line typed while the agent works reaches it as steering" "exit $rc" \
    "$(cat "$tmp/out" "$tmp/err")"

# ---- Ctrl-C ----
"${nokeys[@]}" "$LIGHTSOUT" agent --twin "$tape" --cwd "$tmp/w" "Take your time" \
    >"$tmp/out" 2>"$tmp/err" </dev/null &
bgpid=$!
sleep 1
t0=$(date +%s%N)
kill -INT "$bgpid"
wait "$bgpid"
rc=$?
t1=$(date +%s%N)
bgpid=""
ms=$(((t1 - t0) / 1000000))
[ "$rc" -eq 130 ] && [[ "$(cat "$tmp/err")" == *interrupted* ]] && ! grep -q "Done slowly" "$tmp/out"
ok $? "Ctrl-C during a model call stops the agent: exit 130 (in $ms ms)" "exit $rc" \
    "$(cat "$tmp/out" "$tmp/err")"

# ---- --sandbox: commands under bubblewrap ----
mkdir -p "$tmp/sb/w"
if bwrap --ro-bind / / --unshare-net true 2>/dev/null; then
    run "$LIGHTSOUT" agent --twin "$tape" --cwd "$tmp/sb/w" --sandbox "Probe the sandbox"
    probe=$(cat "$tmp/sb/w/probe.txt" 2>/dev/null)
    ok $rc "--sandbox: the task runs to completion (exit 0)" "exit $rc" "$stderr"
    [ "$(cat "$tmp/sb/w/inside.txt" 2>/dev/null)" = in ]
    ok $? "--sandbox: the working directory is writable" "$probe"
    [[ "$probe" == *READONLY* ]] && [ ! -e /usr/local/lo-sandbox-probe ]
    ok $? "--sandbox: outside the working directory is read-only" "$probe"
    rm -f /usr/local/lo-sandbox-probe 2>/dev/null
    nets=$(printf '%s\n' "$probe" | sed -n 2p)
    [ "$(echo $nets)" = lo ]
    ok $? "--sandbox: no network (only lo in its namespace)" "$probe"
    pid=$(printf '%s\n' "$probe" | sed -n 's/^PID=//p')
    [ -n "$pid" ] && [ "$pid" -lt 10 ]
    ok $? "--sandbox: a new PID namespace (the shell is pid $pid)" "$probe"
else
    for d in "runs" "workdir writable" "outside read-only" "no network" "PID namespace"; do
        skip "--sandbox $d: bubblewrap cannot run here"
    done
fi
run PATH=/nonexistent "$LIGHTSOUT" agent --twin "$tape" --cwd "$tmp/sb/w" --sandbox "Probe the sandbox"
[ "$rc" -eq 2 ] && [[ "$stderr" == *"Debian package bubblewrap"* ]]
ok $? "--sandbox without bubblewrap: exit 2 naming the package, no fallback" "exit $rc" "$stderr"

finish
