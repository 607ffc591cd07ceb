# Shared by the e2e tests that source it (gate.t, repo.t, init.t): the
# binary, TAP output and a few helpers. Not a test itself (prove runs *.t).
#
#   LIGHTSOUT    the binary (default: bin/lightsout next to this tree)

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
LIGHTSOUT=${LIGHTSOUT:-$root/bin/lightsout}
case $LIGHTSOUT in
/*) ;;
*) LIGHTSOUT=$(cd "$(dirname "$LIGHTSOUT")" && pwd)/$(basename "$LIGHTSOUT") ;;
esac

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

# run ARGS...: the binary with stdin from /dev/null; sets rc, stdout, stderr
# (through files in $tmp).
run() {
    "$LIGHTSOUT" "$@" >"$tmp/out" 2>"$tmp/err" </dev/null
    rc=$?
    stdout=$(cat "$tmp/out")
    stderr=$(cat "$tmp/err")
}

# The processes whose command lines carry $marker, by pid: tests start
# their long-running commands with the marker in a comment, to find and end
# exactly those. The pattern's [x] keeps grep from matching itself.
marked_pids() {
    grep -ls -- "[${marker:0:1}]${marker:1}" /proc/[0-9]*/cmdline 2>/dev/null |
        sed 's|^/proc/\([0-9]*\)/cmdline$|\1|'
}
kill_marked() {
    local p
    for p in $(marked_pids); do kill -9 "$p" 2>/dev/null; done
}
live_marked() { marked_pids | wc -l; }

if [ ! -x "$LIGHTSOUT" ]; then
    echo "1..0 # skip no binary at $LIGHTSOUT (run make)"
    exit 0
fi
