#!/usr/bin/env bash
# End-to-end tests of `lightsout run --repo`, `resume` of such a run and
# `lightsout clean`, printed as TAP: the run's branch and its per-stage
# commits, the user's checkout left exactly as it was (HEAD, index, working
# tree with uncommitted changes, stash, current branch -- even with GIT_DIR
# pointing at it), the worktree removed without --keep and kept with it,
# clean removing leftovers but never a running run's worktree, kill -9 in a
# stage and in a commit followed by resume on the same branch, and the
# one-line errors for a directory that is not a usable repository.
#
#   LIGHTSOUT    the binary (default: bin/lightsout next to this tree; tap.sh)
set -u

. "$(dirname "$0")/tap.sh"

tmp=$(mktemp -d "${TMPDIR:-/tmp}/lo-repo.XXXXXX")
bgpid=""
marker=lo-repo-sleeper-$$
cleanup() {
    [ -n "$bgpid" ] && kill -9 "$bgpid" 2>/dev/null
    kill_marked
    rm -rf "$tmp"
}
trap cleanup EXIT

if ! command -v git >/dev/null 2>&1; then
    echo "1..0 # skip git is not installed"
    exit 0
fi

cd "$tmp" || exit 1
export GIT_CONFIG_NOSYSTEM=1 HOME=$tmp
git config --global user.name tester
git config --global user.email tester@example.com
git config --global init.defaultBranch main

# The user's repository: two commits, then a stash, a staged change, a
# modified file and an untracked one.
git init -q user
(
    cd user &&
        echo one >a.txt && echo keep >b.txt && git add a.txt b.txt && git commit -qm first &&
        echo two >>a.txt && git commit -qam second &&
        echo stashed >>b.txt && git stash -q &&
        echo staged >c.txt && git add c.txt &&
        echo modified >>a.txt &&
        echo untracked >u.txt
) || exit 1

# A fingerprint of everything the user owns in their checkout.
fingerprint() {
    (
        cd "$1" || exit 1
        export GIT_OPTIONAL_LOCKS=0 # our own git status must not refresh the index
        git rev-parse HEAD
        git symbolic-ref HEAD
        sha256sum .git/index
        git stash list --format='%H %s'
        git status --porcelain=v1 --untracked-files=all
        git diff
        git diff --cached
        for f in a.txt b.txt c.txt u.txt; do sha256sum "$f"; done
        git config --list --local | sort
    )
}
before=$(fingerprint user)

cat >write.dot <<'EOF'
digraph t {
  start [shape=Mdiamond]
  done  [shape=Msquare]
  write [shape=parallelogram, tool_command="echo made > made.txt"]
  look  [shape=parallelogram, tool_command="test -f a.txt && test ! -f u.txt && test ! -f c.txt"]
  start -> write -> look -> done
}
EOF

# ---- a run in a worktree ----
GIT_DIR=$tmp/user/.git GIT_INDEX_FILE=$tmp/user/.git/index GIT_WORK_TREE=$tmp/user \
    run run write.dot --repo user
branch=$(printf '%s\n' "$stderr" | sed -n 's/^branch \(lightsout\/[^ ]*\) .*/\1/p')
[ "$rc" -eq 0 ] && [ -n "$branch" ]
ok $? "run --repo exits 0 and prints its branch (GIT_DIR and friends set to the checkout)" \
    "exit $rc" "$stderr"
[[ "$stderr" == *"note: "*"uncommitted changes"* ]]
ok $? "it notes that the uncommitted changes are not part of the run" "$stderr"
id=${branch#lightsout/}
log=$(git -C user log --format='%an|%cn|%s' "$branch" -3)
[ "$(printf '%s\n' "$log" | head -n1)" = "lightsout|lightsout|write: success" ] &&
    [ "$(printf '%s\n' "$log" | sed -n 2p)" = "tester|tester|second" ]
ok $? "the branch has the stage's commit ('write: success', author lightsout) on the user's HEAD" "$log"
[ "$(git -C user show "$branch:made.txt")" = made ] &&
    [ "$(git -C user show "$branch:a.txt")" = "$(printf 'one\ntwo')" ]
ok $? "the commit holds the file the stage wrote, on HEAD's committed content" \
    "$(git -C user show --stat "$branch")"
git -C user log -1 --format=%B "$branch" | grep -qx "Lightsout-Step: 2" &&
    git -C user log -1 --format=%B "$branch" | grep -qx "Lightsout-Run: $id"
ok $? "the commit carries the run id and stage number as trailers" \
    "$(git -C user log -1 --format=%B "$branch")"
[ "$(git -C user rev-list --count "main..$branch")" -eq 1 ]
ok $? "stages that changed nothing made no commit (one commit for four stages)"
after=$(fingerprint user)
[ "$before" = "$after" ]
ok $? "the user's HEAD, branch, index, stash, working tree and config are unchanged" \
    "$(diff <(printf '%s\n' "$before") <(printf '%s\n' "$after"))"
[ "$(git -C user worktree list | wc -l)" -eq 1 ] &&
    [ ! -e "user/.git/lightsout/worktrees/$id" ] && [ ! -e "user/.git/lightsout/worktrees/$id.logs" ] &&
    [[ "$stderr" == *"worktree removed"* ]]
ok $? "without --keep the worktree is gone when the run ends, and git's list is clean" \
    "$(git -C user worktree list)" "$stderr"
[ -f "user/.git/lightsout/runs/$id/manifest.json" ] &&
    grep -q "\"branch\": \"$branch\"" "user/.git/lightsout/runs/$id/manifest.json"
ok $? "the run directory defaults to .git/lightsout/runs/ID and records the branch in the manifest"

# ---- --keep, then clean ----
run run write.dot --repo user --keep
kbranch=$(printf '%s\n' "$stderr" | sed -n 's/^branch \(lightsout\/[^ ]*\) .*/\1/p')
kid=${kbranch#lightsout/}
wt=$tmp/user/.git/lightsout/worktrees/$kid
[ "$rc" -eq 0 ] && [ -f "$wt/made.txt" ] && git -C user worktree list | grep -q "$wt" &&
    [[ "$stderr" == *"worktree kept (--keep): $wt"* ]]
ok $? "with --keep the worktree stays, listed by git, and the run says where" "exit $rc" "$stderr"
[ "$before" = "$(fingerprint user)" ]
ok $? "the user's checkout is still unchanged"
run clean --repo user
[ "$rc" -eq 0 ] && [ ! -e "$wt" ] && [ "$(git -C user worktree list | wc -l)" -eq 1 ] &&
    [[ "$stdout" == *"removed $wt: run $kid, completed"* ]] && [[ "$stdout" == *"1 worktree removed, 0 kept"* ]]
ok $? "clean removes the kept worktree of a finished run and says so" "exit $rc" "$stdout" "$stderr"
git -C user rev-parse -q --verify "refs/heads/$kbranch" >/dev/null
ok $? "clean leaves the run's branch"
run clean --repo user
[ "$rc" -eq 0 ] && [[ "$stdout" == *"0 worktrees removed, 0 kept"* ]]
ok $? "clean with nothing left to do says so" "$stdout"
(cd user && "$LIGHTSOUT" clean >"$tmp/out" 2>&1)
ok $? "clean without --repo works on the repository around the current directory" "$(cat "$tmp/out")"

# ---- a running run's worktree is never removed; an interrupted one waits for --all ----
cat >sleep.dot <<EOF
digraph t {
  start [shape=Mdiamond]
  done  [shape=Msquare]
  work  [shape=parallelogram, tool_command="echo started > started.txt; sleep 30 # $marker"]
  start -> work -> done
}
EOF
"$LIGHTSOUT" run sleep.dot --repo user >"$tmp/bg.out" 2>"$tmp/bg.err" </dev/null &
bgpid=$!
for _ in $(seq 200); do
    ls user/.git/lightsout/worktrees/*/started.txt >/dev/null 2>&1 && break
    sleep 0.05
done
swt=$(dirname "$(ls -d user/.git/lightsout/worktrees/*/started.txt 2>/dev/null | head -n1)")
run clean --repo user --all
[ "$rc" -eq 0 ] && [ -d "$swt" ] && [[ "$stdout" == *"kept"*"running"*"the run is running"* ]]
ok $? "clean --all keeps the worktree of a running run" "exit $rc" "$stdout" "$swt"
kill -INT "$bgpid"
wait "$bgpid"
brc=$?
bgpid=""
[ "$brc" -eq 130 ] && [ -d "$swt" ] && grep -q "worktree kept for resume" "$tmp/bg.err"
ok $? "an interrupted run keeps its worktree for resume" "exit $brc" "$(cat "$tmp/bg.err")"
run clean --repo user
[ "$rc" -eq 0 ] && [ -d "$swt" ] && [[ "$stdout" == *"can be resumed"* ]]
ok $? "clean keeps an interrupted run's worktree and says how to resume it" "$stdout"
slogs=$(sed -n 1p "$swt.logs")
run clean --repo user --all
[ "$rc" -eq 0 ] && [ ! -e "$swt" ] && [[ "$stdout" == *"removed"*"interrupted"* ]]
ok $? "clean --all removes it" "$stdout"
sed -i 's/sleep 30/true/' sleep.dot 2>/dev/null
run resume "$slogs"
[ "$rc" -eq 2 ] && [[ "$stderr" == *"changed"* ]]
ok $? "a resume with the pipeline changed is refused as for any run" "exit $rc" "$stderr"

# ---- kill -9 in the middle of a stage, then resume on the same branch ----
flag=$tmp/b-ran-once
cat >kill.dot <<EOF
digraph t {
  start [shape=Mdiamond]
  done  [shape=Msquare]
  a [shape=parallelogram, tool_command="echo a >> log.txt"]
  b [shape=parallelogram, tool_command="echo b >> log.txt; echo half > partial.txt; if [ ! -f $flag ]; then touch $flag; sleep 30; fi # $marker"]
  c [shape=parallelogram, tool_command="echo c >> log.txt; rm -f partial.txt"]
  start -> a -> b -> c -> done
}
EOF
"$LIGHTSOUT" run kill.dot --repo user >"$tmp/k.out" 2>"$tmp/k.err" </dev/null &
bgpid=$!
for _ in $(seq 200); do
    [ -f "$flag" ] && break
    sleep 0.05
done
sleep 0.2
{ kill -9 "$bgpid"; wait "$bgpid"; } 2>/dev/null
bgpid=""
kill_marked
klogs=$(ls -d user/.git/lightsout/runs/*/ | while read -r d; do
    grep -q kill.dot "$d/manifest.json" && echo "${d%/}"; done | head -n1)
kid=$(basename "$klogs")
kwt=user/.git/lightsout/worktrees/$kid
# a git killed in the middle of an operation leaves its lock behind
gitdir=$(sed -n 's/^gitdir: //p' "$kwt/.git")
: >"$gitdir/index.lock"
[ -f "$flag" ] && [ -d "$kwt" ] && [ -f "$kwt/partial.txt" ]
ok $? "kill -9 in stage b leaves the worktree with b's half-done work" "$klogs" "$(ls "$kwt" 2>&1)"
run resume "$klogs"
[ "$rc" -eq 0 ]
ok $? "resume finishes the run despite the stale index.lock" "exit $rc" "$stderr"
[ "$(git -C user show "lightsout/$kid:log.txt")" = "$(printf 'a\nb\nc')" ] &&
    ! git -C user cat-file -e "lightsout/$kid:partial.txt" 2>/dev/null
ok $? "on the same branch, b ran again from a's commit (no doubled line, no half-done file)" \
    "$(git -C user show "lightsout/$kid:log.txt" 2>&1)"
[ "$(git -C user log --format=%s "lightsout/$kid" | head -n3 | tr '\n' ,)" = "c: success,b: success,a: success," ]
ok $? "one commit per stage that changed files, in order" \
    "$(git -C user log --format=%s "lightsout/$kid")"
[ ! -e "$kwt" ] && [ "$before" = "$(fingerprint user)" ]
ok $? "the resumed run removed its worktree; the user's checkout is unchanged"

# ---- kill -9 in the middle of a commit ----
mkdir -p fakebin
realgit=$(command -v git)
cat >fakebin/git <<EOF
#!/bin/sh
# takes the index lock as git commit does, then hangs: a commit in progress
for a in "\$@"; do
    if [ "\$a" = commit ] && [ ! -f "$tmp/commit-hung" ]; then
        : > "$tmp/commit-hung"
        : > "\$("$realgit" "\$1" "\$2" rev-parse --path-format=absolute --git-path index.lock)"
        exec sleep 30 # $marker
    fi
done
exec "$realgit" "\$@"
EOF
chmod +x fakebin/git
PATH=$tmp/fakebin:$PATH "$LIGHTSOUT" run write.dot --repo user >"$tmp/c.out" 2>"$tmp/c.err" </dev/null &
bgpid=$!
for _ in $(seq 200); do
    [ -f "$tmp/commit-hung" ] && break
    sleep 0.05
done
sleep 0.2
{ kill -9 "$bgpid"; wait "$bgpid"; } 2>/dev/null
bgpid=""
kill_marked
clogs=$(ls -td user/.git/lightsout/runs/*/ | head -n1)
clogs=${clogs%/}
cid=$(basename "$clogs")
cgitdir=$(sed -n 's/^gitdir: //p' "user/.git/lightsout/worktrees/$cid/.git" 2>/dev/null)
[ -f "$tmp/commit-hung" ] && [ -f "$cgitdir/index.lock" ]
ok $? "kill -9 in the middle of a commit leaves index.lock" "$clogs" "$cgitdir"
run resume "$clogs"
[ "$rc" -eq 0 ] && [ "$(git -C user log -1 --format=%s "lightsout/$cid")" = "write: success" ] &&
    [ "$(git -C user show "lightsout/$cid:made.txt")" = made ]
ok $? "resume removes the stale lock, runs the stage again and commits it" "exit $rc" "$stderr"
[ "$before" = "$(fingerprint user)" ]
ok $? "the user's checkout is still unchanged"

# ---- a resume after clean --all makes the worktree again ----
run run sleep.dot --repo user --keep
# (sleep.dot now runs `true`: the run ends at once and keeps its worktree)
rid=$(printf '%s\n' "$stderr" | sed -n 's/^branch lightsout\/\([^ ]*\) .*/\1/p')
rlogs=user/.git/lightsout/runs/$rid
[ "$rc" -eq 0 ] && run clean --repo user --all && run resume "$rlogs"
[ "$rc" -eq 0 ] && [[ "$stderr" == *"already ended"* ]] && [ ! -e "user/.git/lightsout/worktrees/$rid" ]
ok $? "resume of a finished --repo run reports how it ended and makes no worktree" "exit $rc" "$stderr"

# ---- what is not a usable repository: one line, exit 2 ----
one_line() { [ "$(printf '%s\n' "$stderr" | wc -l)" -eq 1 ]; }
mkdir plain
run run write.dot --repo plain
[ "$rc" -eq 2 ] && [[ "$stderr" == *"is not a git repository"* ]] && one_line
ok $? "--repo on a directory that is not a repository: one line, exit 2" "exit $rc" "$stderr"
git init -q --bare bare.git
run run write.dot --repo bare.git
[ "$rc" -eq 2 ] && [[ "$stderr" == *"bare repository"* ]] && one_line
ok $? "--repo on a bare repository: one line, exit 2" "exit $rc" "$stderr"
git init -q empty
run run write.dot --repo empty
[ "$rc" -eq 2 ] && [[ "$stderr" == *"no commit yet"* ]] && one_line
ok $? "--repo on a repository without a commit: one line, exit 2" "exit $rc" "$stderr"
run run write.dot --repo no-such-dir
[ "$rc" -eq 2 ] && [[ "$stderr" == *"no such directory"* ]] && one_line
ok $? "--repo on a missing directory: one line, exit 2" "exit $rc" "$stderr"
PATH=/nonexistent "$LIGHTSOUT" run write.dot --repo user >"$tmp/out" 2>"$tmp/err" </dev/null
rc=$?
stderr=$(cat "$tmp/err")
[ "$rc" -eq 2 ] && [[ "$stderr" == *"needs git"*"apt-get install git"* ]] && one_line
ok $? "--repo without git installed: one line naming the package, exit 2" "exit $rc" "$stderr"
run run write.dot --repo user -C plain
[ "$rc" -eq 2 ] && [[ "$stderr" == *"--repo and -C"* ]]
ok $? "--repo with -C is a usage error" "exit $rc" "$stderr"
run clean --repo plain
[ "$rc" -eq 2 ] && [[ "$stderr" == *"is not a git repository"* ]]
ok $? "clean on a directory that is not a repository exits 2" "exit $rc" "$stderr"
[ "$before" = "$(fingerprint user)" ] && [ "$(git -C user worktree list | wc -l)" -eq 1 ]
ok $? "after everything: the user's checkout is unchanged and no worktree is left" \
    "$(git -C user worktree list)"

finish
