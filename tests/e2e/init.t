#!/usr/bin/env bash
# End-to-end tests of `lightsout init`, printed as TAP: both starters are
# written with their files, validate with no error or warning, refuse to
# overwrite unless --force, and run to a clear end on the simulation
# backend -- the check fails (there is no Makefile) until the loop bound
# ends the run -- both in a plain directory and in a --repo worktree.
#
#   LIGHTSOUT    the binary (default: bin/lightsout next to this tree; tap.sh)
set -u

. "$(dirname "$0")/tap.sh"

tmp=$(mktemp -d "${TMPDIR:-/tmp}/lo-init.XXXXXX")
trap 'rm -rf "$tmp"' EXIT

cd "$tmp" || exit 1

# ---- writing ----
run init ralph r
[ "$rc" -eq 0 ] && [ -f r/pipeline.dot ] && [ -f r/PROMPT.md ] &&
    [[ "$stdout" == *"wrote r/pipeline.dot"* ]] && [[ "$stdout" == *"lightsout run r/pipeline.dot --repo r"* ]]
ok $? "init ralph DIR writes pipeline.dot and PROMPT.md and says what to do next" "exit $rc" "$stdout" "$stderr"
run init factory f
[ "$rc" -eq 0 ] && [ -f f/pipeline.dot ] && [ "$(ls f)" = pipeline.dot ]
ok $? "init factory DIR writes pipeline.dot" "exit $rc" "$stdout" "$stderr"
mkdir here && (cd here && "$LIGHTSOUT" init ralph >/dev/null 2>&1) && [ -f here/pipeline.dot ]
ok $? "init without DIR writes into the current directory"
for f in r/pipeline.dot f/pipeline.dot; do
    grep -q '^// ' "$f"
    ok $? "$f is commented"
done
grep -q 'max_visits=' r/pipeline.dot && grep -q 'shape=octagon' r/pipeline.dot &&
    grep -q 'PROMPT.md' r/pipeline.dot
ok $? "ralph: one prompt from PROMPT.md, a check, and an iteration bound"
grep -q 'goal_gate=true' f/pipeline.dot && grep -q 'retry_target="implement"' f/pipeline.dot &&
    grep -q '\$last_failure' f/pipeline.dot && grep -q 'max_rss=' f/pipeline.dot
ok $? "factory: a goal gate with budgets, retries back to implement with \$last_failure"

# ---- valid ----
run validate r/pipeline.dot f/pipeline.dot
[ "$rc" -eq 0 ] && [[ "$stderr" == *"2 files checked: 0 errors, 0 warnings"* ]]
ok $? "both starters validate with no error and no warning" "exit $rc" "$stderr"
run validate --json r/pipeline.dot f/pipeline.dot
[ "$rc" -eq 0 ] && [ "$stdout" = "[]" ]
ok $? "validate --json reports nothing for them" "$stdout"

# ---- no overwriting ----
echo "my notes" >r/PROMPT.md
run init ralph r
[ "$rc" -eq 2 ] && [ "$(cat r/PROMPT.md)" = "my notes" ] &&
    [[ "$stderr" == *"r/PROMPT.md exists; not overwriting it (--force does)"* ]]
ok $? "init refuses to overwrite existing files and changes nothing" "exit $rc" "$stderr"
rm r/pipeline.dot
run init ralph r
[ "$rc" -eq 2 ] && [ ! -e r/pipeline.dot ]
ok $? "one file in the way stops the whole init: nothing is written" "exit $rc" "$stderr"
run init ralph r --force
[ "$rc" -eq 0 ] && [ "$(cat r/PROMPT.md)" != "my notes" ] && [ -f r/pipeline.dot ]
ok $? "--force overwrites" "exit $rc" "$stderr"
run init ralp x
[ "$rc" -eq 2 ] && [[ "$stderr" == *"no starter 'ralp'; did you mean 'ralph'?"* ]] && [ ! -e x ]
ok $? "an unknown starter is a usage error with a suggestion" "exit $rc" "$stderr"
run init
[ "$rc" -eq 2 ]
ok $? "init with no starter is a usage error" "exit $rc"

# ---- a clear end on the simulation backend ----
(cd r && "$LIGHTSOUT" run pipeline.dot --backend sim --logs "$tmp/r-run" >"$tmp/out" 2>"$tmp/err" </dev/null)
rc=$?
stderr=$(cat "$tmp/err")
[ "$rc" -eq 1 ] && [[ "$stderr" == *"node 'iterate' visited 20 times (max_visits=20)"* ]]
ok $? "ralph on --backend sim: the check fails every time, the run ends after 20 iterations" \
    "exit $rc" "$(printf '%s\n' "$stderr" | tail -n 3)"
[ "$(grep -c '"type":"gate_finished"' "$tmp/r-run/events.jsonl")" -eq 20 ] &&
    grep -q '"status": "fail"' "$tmp/r-run/check/gate.json" &&
    grep -q 'Gate `check` FAILED' "$tmp/r-run/iterate/prompt.md"
ok $? "every iteration ran the check, and the next prompt carried its report" \
    "$(grep -c gate_finished "$tmp/r-run/events.jsonl")"
(cd f && "$LIGHTSOUT" run pipeline.dot --backend sim --logs "$tmp/f-run" >"$tmp/out" 2>"$tmp/err" </dev/null)
rc=$?
stderr=$(cat "$tmp/err")
[ "$rc" -eq 1 ] && [[ "$stderr" == *"node 'implement' visited 8 times (max_visits=8)"* ]]
ok $? "factory on --backend sim: the gate fails, the run ends at implement's bound" \
    "exit $rc" "$(printf '%s\n' "$stderr" | tail -n 3)"

# ---- in a --repo worktree, as the starter says ----
if command -v git >/dev/null 2>&1; then
    export GIT_CONFIG_NOSYSTEM=1 HOME=$tmp
    git init -q proj && git -C proj config user.email t@example.com && git -C proj config user.name t
    "$LIGHTSOUT" init factory proj >/dev/null && git -C proj add -A && git -C proj commit -qm starter
    run run proj/pipeline.dot --repo proj --backend sim
    [ "$rc" -eq 1 ] && [[ "$stderr" == *"visited 8 times"* ]] && [[ "$stderr" == *"branch lightsout/"* ]] &&
        [ "$(git -C proj worktree list | wc -l)" -eq 1 ]
    ok $? "factory in a --repo worktree ends at the bound, leaves its branch, removes the worktree" \
        "exit $rc" "$(printf '%s\n' "$stderr" | tail -n 3)"
else
    skip "git is not installed"
fi

finish
