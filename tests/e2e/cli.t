#!/usr/bin/env bash
# End-to-end tests of the command line as a whole, printed as TAP: version,
# help, every command's flags, unknown commands, and `render`.
#
#   LIGHTSOUT    the binary (default: bin/lightsout next to this tree)
set -u

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
LIGHTSOUT=${LIGHTSOUT:-$root/bin/lightsout}
# render is also run with a PATH that has no Graphviz, so the binary's path
# must not depend on PATH
case $LIGHTSOUT in
/*) ;;
*) LIGHTSOUT=$(cd "$(dirname "$LIGHTSOUT")" && pwd)/$(basename "$LIGHTSOUT") ;;
esac
examples=$root/examples

tmp=$(mktemp -d "${TMPDIR:-/tmp}/lo-cli.XXXXXX")
trap 'rm -rf "$tmp"' EXIT

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

# a plausible value for a flag's argument placeholder, so commands that
# check values while parsing still accept it
dummy_for() {
    case $1 in
    *=*) echo key=value ;;
    *N | *NUM* | *COUNT* | *INT* | *PORT* | *USD* | *TOKENS*) echo 1 ;;
    *DUR* | *TIME* | *SECS*) echo 1s ;;
    *SIZE* | *BYTES*) echo 1KB ;;
    *URL*) echo http://127.0.0.1:1/ ;;
    *FMT* | *FORMAT*) echo svg ;;
    *FILE* | *DIR* | *PATH*) echo "$tmp/dummy" ;;
    *) echo x ;;
    esac
}

run() {
    "$LIGHTSOUT" "$@" >"$tmp/out" 2>"$tmp/err"
    rc=$?
    stdout=$(cat "$tmp/out")
    stderr=$(cat "$tmp/err")
}

if [ ! -x "$LIGHTSOUT" ]; then
    echo "1..0 # skip no binary at $LIGHTSOUT (run make)"
    exit 0
fi

# ---- version ----
for v in --version -V; do
    run $v
    [ "$rc" -eq 0 ] && [[ "$stdout" =~ ^lightsout\ [0-9]+\.[0-9]+\.[0-9]+$ ]]
    ok $? "$v prints 'lightsout X.Y.Z' and exits 0" "exit $rc" "$stdout"
done

# ---- top-level help ----
run --help
help=$stdout
[ "$rc" -eq 0 ] && [[ "$help" == *"usage: lightsout"* ]]
ok $? "--help prints usage on stdout and exits 0" "exit $rc" "$stderr"
# the commands are the indented lines under "commands:", up to a blank line
commands=$(printf '%s\n' "$help" | sed -n '/^commands:/,/^$/p' | sed -n 's/^  \([a-z][a-z-]*\)  .*/\1/p')
for c in validate render; do
    printf '%s\n' "$commands" | grep -qx "$c"
    ok $? "--help lists the $c command" "$help"
done
run -h
[ "$rc" -eq 0 ] && [ "$stdout" = "$help" ]
ok $? "-h prints the same help" "exit $rc"

run
[ "$rc" -eq 2 ] && [[ "$stderr" == *"usage: lightsout"* ]] && [ -z "$stdout" ]
ok $? "no arguments: usage on stderr, exit 2" "exit $rc" "$stderr"

# ---- every command: --help, and every flag it lists parses ----
for c in $commands; do
    run "$c" --help
    chelp=$stdout
    [ "$rc" -eq 0 ] && [[ "$chelp" == "usage: lightsout $c"* ]]
    ok $? "$c --help exits 0 and starts with its usage" "exit $rc" "$stdout" "$stderr"

    run help "$c"
    [ "$rc" -eq 0 ] && [ "$stdout" = "$chelp" ]
    ok $? "'help $c' prints the same as '$c --help'" "exit $rc"

    # flag lines: "  -o, --output FILE   doc" or "      --json   doc"
    nflags=0
    while IFS= read -r line; do
        long=$(printf '%s\n' "$line" | sed -n 's/^ *\(-[A-Za-z0-9], \)\{0,1\}--\([a-z][a-z0-9-]*\).*/\2/p')
        [ -n "$long" ] || continue
        [ "$long" = help ] && continue
        nflags=$((nflags + 1))
        short=$(printf '%s\n' "$line" | sed -n 's/^ *-\([A-Za-z0-9]\), --.*/\1/p')
        # an argument placeholder is an upper-case word right after the name
        arg=$(printf '%s\n' "$line" | sed -n "s/^.*--$long \([A-Z][A-Z_|=]*\) .*/\1/p")
        dummy=()
        [ -n "$arg" ] && dummy=("$(dummy_for "$arg")")
        run "$c" "--$long" "${dummy[@]}" --help
        [ "$rc" -eq 0 ]
        ok $? "$c --$long${arg:+ $arg} parses (exit 0 with --help)" "exit $rc" "$stderr"
        if [ -n "$short" ]; then
            run "$c" "-$short" "${dummy[@]}" --help
            [ "$rc" -eq 0 ]
            ok $? "$c -$short${arg:+ $arg} parses (exit 0 with --help)" "exit $rc" "$stderr"
        fi
        if [ -n "$arg" ]; then
            run "$c" "--$long=${dummy[0]}" --help
            [ "$rc" -eq 0 ]
            ok $? "$c --$long=$arg parses" "exit $rc" "$stderr"
            run "$c" "--$long"
            [ "$rc" -eq 2 ] && [[ "$stderr" == *"--$long"* ]]
            ok $? "$c --$long without its $arg exits 2" "exit $rc" "$stderr"
        fi
    done <<<"$chelp"
    [ "$nflags" -gt 0 ]
    ok $? "$c --help lists at least one flag" "$chelp"

    run "$c" --no-such-flag --help
    [ "$rc" -eq 2 ] && [[ "$stderr" == *"--no-such-flag"* ]]
    ok $? "$c rejects an unknown flag even with --help (exit 2)" "exit $rc" "$stderr"
done

# ---- unknown commands ----
run valdate examples/linear.dot
[ "$rc" -eq 2 ] && [[ "$stderr" == *"did you mean 'validate'"* ]]
ok $? "'lightsout valdate' exits 2 and suggests validate" "exit $rc" "$stderr"
run rendr
[ "$rc" -eq 2 ] && [[ "$stderr" == *"did you mean 'render'"* ]]
ok $? "'lightsout rendr' suggests render" "exit $rc" "$stderr"
run frobnicate
[ "$rc" -eq 2 ] && [[ "$stderr" == *"frobnicate"* ]] && [[ "$stderr" != *"did you mean"* ]]
ok $? "a command far from any other exits 2 without a suggestion" "exit $rc" "$stderr"
run --frobnicate
[ "$rc" -eq 2 ]
ok $? "an unknown top-level option exits 2" "exit $rc" "$stderr"

# ---- render ----
run render --dot "$examples/linear.dot"
[ "$rc" -eq 0 ] && [[ "$stdout" == "digraph "* ]] && [[ "$stdout" == *"->"* ]]
ok $? "render --dot prints plain DOT (digraph ...)" "exit $rc" "$stderr"
plain=$stdout
run render --dot "$examples/linear.dot" -o "$tmp/linear.gv"
[ "$rc" -eq 0 ] && [ "$(cat "$tmp/linear.gv")" = "$plain" ]
ok $? "render --dot -o writes the same DOT to a file" "exit $rc" "$stderr"

if command -v dot >/dev/null 2>&1; then
    printf '%s\n' "$plain" | dot -Tsvg >/dev/null 2>"$tmp/doterr"
    ok $? "Graphviz reads the plain DOT of linear.dot" "$(cat "$tmp/doterr")"
    bad=""
    for f in "$examples"/*.dot; do
        "$LIGHTSOUT" render --dot "$f" | dot -Tsvg >/dev/null 2>"$tmp/doterr" || bad+=" $(basename "$f")"
    done
    [ -z "$bad" ]
    ok $? "Graphviz reads the plain DOT of every example" "failed:$bad"
    rm -f "$tmp/x.svg"
    run render "$examples/factory.dot" -o "$tmp/x.svg"
    [ "$rc" -eq 0 ] && [ -s "$tmp/x.svg" ] && grep -q "<svg" "$tmp/x.svg"
    ok $? "render factory.dot -o x.svg writes an SVG" "exit $rc" "$stderr"
    run render "$examples/linear.dot"
    [ "$rc" -eq 0 ] && [[ "$stdout" == *"<svg"* ]]
    ok $? "render without -o writes SVG to stdout" "exit $rc" "$stderr"
    run render "$examples/linear.dot" -o "$tmp/x.png"
    [ "$rc" -eq 0 ] && [ "$(head -c 4 "$tmp/x.png" | od -An -c | tr -d ' ')" = '211PNG' ]
    ok $? "render -o x.png picks PNG from the extension" "exit $rc" "$stderr"
else
    for _ in 1 2 3 4 5; do skip "dot not installed"; done
fi

run render -T gif "$examples/linear.dot"
[ "$rc" -eq 2 ] && [[ "$stderr" == *"gif"* ]]
ok $? "render -T gif exits 2" "exit $rc" "$stderr"
run render
[ "$rc" -eq 2 ]
ok $? "render without a file exits 2" "exit $rc" "$stderr"
run render "$tmp/no-such-file.dot"
[ "$rc" -eq 2 ] && [[ "$stderr" == *"no-such-file.dot"* ]]
ok $? "render of a missing file exits 2 and names it" "exit $rc" "$stderr"

env PATH=/nonexistent "$LIGHTSOUT" render "$examples/linear.dot" -o "$tmp/nodot.svg" >"$tmp/out" 2>"$tmp/err"
rc=$?
[ "$rc" -eq 1 ] && grep -q graphviz "$tmp/err" && [ ! -e "$tmp/nodot.svg" ]
ok $? "render with no 'dot' on PATH names the graphviz package and exits 1" "exit $rc" "$(cat "$tmp/err")"
env PATH=/nonexistent "$LIGHTSOUT" render --dot "$examples/linear.dot" >"$tmp/out" 2>"$tmp/err"
rc=$?
[ "$rc" -eq 0 ] && grep -q '^digraph' "$tmp/out"
ok $? "render --dot works without Graphviz" "exit $rc" "$(cat "$tmp/err")"

finish
