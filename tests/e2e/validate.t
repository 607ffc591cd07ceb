#!/usr/bin/env bash
# End-to-end tests of `lightsout validate`, printed as TAP.
#
#   LIGHTSOUT    the binary (default: bin/lightsout next to this tree)
#   LO_TESTDATA  the fixtures (default: tests/data next to this script)
#
# Fixtures: tests/data/invalid/*.dot must fail (exit 1) and
# tests/data/warn/*.dot must pass with a warning (exit 0); the first line of
# each, `// expect: RULE`, names the rule that must fire. Every
# examples/*.dot must be clean: no errors and no warnings.
set -u

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
LIGHTSOUT=${LIGHTSOUT:-$root/bin/lightsout}
LO_TESTDATA=${LO_TESTDATA:-$root/tests/data}
examples=$root/examples

tmp=$(mktemp -d "${TMPDIR:-/tmp}/lo-validate.XXXXXX")
trap 'rm -rf "$tmp"' EXIT

# ---- a small TAP writer: results are buffered so the plan comes first ----
n=0
out=""
ok() { # ok COND_STATUS DESCRIPTION [DIAGNOSTIC...]
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

# run ARGS...: sets rc, stdout, stderr
run() {
    "$LIGHTSOUT" "$@" >"$tmp/out" 2>"$tmp/err"
    rc=$?
    stdout=$(cat "$tmp/out")
    stderr=$(cat "$tmp/err")
}

# json_check JS_EXPR < json: exit 0 when the expression, over the parsed
# array `a`, is true; quiet (exit 1) when the input is not JSON
json_check() {
    node -e '
        let a;
        try { a = JSON.parse(require("fs").readFileSync(0, "utf8")); } catch (e) { process.exit(1); }
        process.exit(Array.isArray(a) && eval(process.argv[1]) ? 0 : 1);
    ' "$1"
}

# json_has RULE SEVERITY < json: exit 0 when an entry has both
json_has() {
    json_check "a.some(d => d.rule === '$1' && d.severity === '$2')"
}

# json_shape < json: a JSON array whose entries have every field, typed
json_shape() {
    node -e '
        let a;
        try { a = JSON.parse(require("fs").readFileSync(0, "utf8")); }
        catch (e) { console.log("not JSON: " + e.message); process.exit(1); }
        if (!Array.isArray(a)) { console.log("not an array"); process.exit(1); }
        const keys = ["file", "line", "column", "severity", "rule", "node", "edge", "message"];
        for (const d of a) {
            for (const k of keys)
                if (!(k in d)) { console.log("missing " + k + ": " + JSON.stringify(d)); process.exit(1); }
            const bad =
                typeof d.file !== "string" || !Number.isInteger(d.line) || !Number.isInteger(d.column) ||
                !["error", "warning", "note"].includes(d.severity) || typeof d.rule !== "string" ||
                !d.rule || (d.node !== null && typeof d.node !== "string") || typeof d.message !== "string" ||
                !d.message || (d.edge !== null &&
                    (typeof d.edge !== "object" || typeof d.edge.from !== "string" || typeof d.edge.to !== "string"));
            if (bad) { console.log("bad types: " + JSON.stringify(d)); process.exit(1); }
        }
        console.log(a.length);
    '
}

expect_of() { sed -n '1s|^// expect: *\([A-Za-z_]*\).*|\1|p' "$1"; }

error_rules=" start_node terminal_node reachability edge_target_exists start_no_incoming exit_no_outgoing condition_syntax stylesheet_syntax syntax "
warning_rules=" type_known fidelity_valid retry_target_exists goal_gate_has_retry prompt_on_llm_nodes unknown_attribute unknown_shape attribute_type condition_outcome_value condition_never_true dead_end handler_attributes "

if [ ! -x "$LIGHTSOUT" ]; then
    echo "1..0 # skip no binary at $LIGHTSOUT (run make)"
    exit 0
fi

# ---- the examples are clean ----
shopt -s nullglob
ex=("$examples"/*.dot)
[ "${#ex[@]}" -ge 10 ]
ok $? "at least 10 examples (found ${#ex[@]})"
for f in "${ex[@]}"; do
    run validate "$f"
    [ "$rc" -eq 0 ] && [[ "$stderr" == *"1 file checked: 0 errors, 0 warnings"* ]]
    ok $? "examples/$(basename "$f") validates with 0 errors, 0 warnings" "exit $rc" "$stderr"
done
for name in linear branching retry_loop goal_gate human_gate parallel stylesheet tool_stage gate factory; do
    [ -f "$examples/$name.dot" ] && grep -q '^//' "$examples/$name.dot"
    ok $? "examples/$name.dot exists and is commented"
done

# ---- the invalid pipelines fail with their rule ----
inv=("$LO_TESTDATA"/invalid/*.dot)
[ "${#inv[@]}" -ge 20 ]
ok $? "at least 20 invalid fixtures (found ${#inv[@]})"
for f in "${inv[@]}"; do
    b=invalid/$(basename "$f")
    rule=$(expect_of "$f")
    if [ -z "$rule" ] || [[ "$error_rules" != *" $rule "* ]]; then
        ok 1 "$b: first line names an error rule" "got '$(head -n1 "$f")'"
        continue
    fi
    run validate "$f"
    [ "$rc" -eq 1 ] && [[ "$stderr" == *"error: "* ]]
    ok $? "$b: exits 1 with an error" "exit $rc" "$stderr"
    run validate --json "$f"
    [ "$rc" -eq 1 ] && printf '%s' "$stdout" | json_has "$rule" error
    ok $? "$b: --json reports [$rule] as an error" "exit $rc" "$stdout"
done

# ---- the warning pipelines pass with their warning ----
wrn=("$LO_TESTDATA"/warn/*.dot)
[ "${#wrn[@]}" -ge 10 ]
ok $? "at least 10 warning fixtures (found ${#wrn[@]})"
for f in "${wrn[@]}"; do
    b=warn/$(basename "$f")
    rule=$(expect_of "$f")
    if [ -z "$rule" ] || [[ "$warning_rules" != *" $rule "* ]]; then
        ok 1 "$b: first line names a warning rule" "got '$(head -n1 "$f")'"
        continue
    fi
    run validate "$f"
    [ "$rc" -eq 0 ] && [[ "$stderr" == *"warning: [$rule]"* ]] && [[ "$stderr" == *" 0 errors, "* ]]
    ok $? "$b: exits 0 with a [$rule] warning" "exit $rc" "$stderr"
    run validate --json "$f"
    [ "$rc" -eq 0 ] && printf '%s' "$stdout" | json_has "$rule" warning
    ok $? "$b: --json reports [$rule] as a warning" "exit $rc" "$stdout"
done

# every warning rule has a fixture
missing=""
for r in $warning_rules; do
    grep -qx "// expect: $r" "$LO_TESTDATA"/warn/*.dot || missing+=" $r"
done
[ -z "$missing" ]
ok $? "every warning rule has a fixture in warn/" "missing:$missing"
missing=""
for r in $error_rules; do
    [ "$r" = edge_target_exists ] && continue # edges create their nodes; cannot fire from DOT
    grep -qx "// expect: $r" "$LO_TESTDATA"/invalid/*.dot || missing+=" $r"
done
[ -z "$missing" ]
ok $? "every error rule has a fixture in invalid/" "missing:$missing"

# ---- compiler-style text format ----
f=$LO_TESTDATA/invalid/unreachable.dot
run validate "$f"
first=$(printf '%s\n' "$stderr" | sed -n 1p)
[[ "$first" == "$f:7:5: error: [reachability] node 'orphan' cannot be reached"* ]]
ok $? "error line is 'file:line:col: error: [rule] message'" "$stderr"
src=$(printf '%s\n' "$stderr" | sed -n 2p)
caret=$(printf '%s\n' "$stderr" | sed -n 3p)
[ "$src" = "    7 |     orphan [prompt=\"Never runs\"]" ] && [ "$caret" = "      |     ^" ]
ok $? "the source line and a caret under column 5 follow" "$src" "$caret"
last=$(printf '%s\n' "$stderr" | tail -n 1)
[ "$last" = "1 file checked: 1 error, 0 warnings" ]
ok $? "one summary line at the end" "$last"
[ -z "$stdout" ]
ok $? "text diagnostics go to stderr, nothing to stdout" "$stdout"

f=$LO_TESTDATA/warn/dead_end.dot
run validate "$f"
first=$(printf '%s\n' "$stderr" | sed -n 1p)
[[ "$first" == "$f:7:5: warning: [dead_end] node 'report' has no outgoing edges"* ]]
ok $? "warning line is 'file:line:col: warning: [rule] message'" "$stderr"

f=$LO_TESTDATA/invalid/syntax_undirected_edge.dot
run validate "$f"
first=$(printf '%s\n' "$stderr" | sed -n 1p)
caret=$(printf '%s\n' "$stderr" | sed -n 3p)
[[ "$first" == "$f:6:11: error: "*"undirected edge"* ]] && [ "$caret" = "      |           ^" ]
ok $? "a syntax error has file:line:col and a caret at the '--'" "$stderr"

run validate --no-source "$LO_TESTDATA/invalid/unreachable.dot"
[ "$(printf '%s\n' "$stderr" | wc -l)" -eq 2 ] && [[ "$stderr" != *" | "* ]]
ok $? "--no-source drops the source line and caret" "$stderr"

# positions point at the offending text, also inside quoted values
while read -r file pos; do
    run validate --no-source "$LO_TESTDATA/$file"
    [[ "$stderr" == "$LO_TESTDATA/$file:$pos: "* ]]
    ok $? "$file is reported at $pos" "$stderr"
done <<'EOF'
invalid/start_two.dot 5:5
invalid/start_incoming.dot 8:13
invalid/exit_outgoing.dot 8:5
invalid/condition_dangling_and.dot 8:46
invalid/condition_double_equals.dot 8:37
invalid/stylesheet_bad_effort.dot 4:54
invalid/stylesheet_unclosed.dot 6:9
invalid/syntax_unterminated_string.dot 6:19
invalid/syntax_unterminated_comment.dot 6:5
invalid/syntax_missing_comma.dot 6:25
invalid/syntax_quoted_node_id.dot 6:5
invalid/syntax_node_port.dot 6:10
invalid/syntax_second_graph.dot 8:1
warn/attribute_type.dot 6:60
warn/condition_outcome_value.dot 10:38
warn/unknown_attribute.dot 6:26
EOF

# ---- files that cannot be read: one line, exit 2 ----
printf '\x00\x01binary' >"$tmp/binary.dot"
mkdir "$tmp/adir.dot"
for case in "missing file:$tmp/no-such-file.dot" "directory:$tmp/adir.dot" "binary file:$tmp/binary.dot"; do
    what=${case%%:*}
    path=${case#*:}
    run validate "$path"
    lines=$(printf '%s\n' "$stderr" | grep -c -F "$path")
    [ "$rc" -eq 2 ] && [ "$lines" -eq 1 ] && [[ "$stderr" != *" | "* ]] &&
        [[ "$(printf '%s\n' "$stderr" | grep -F "$path")" == "lightsout validate: $path: "* ]]
    ok $? "$what: one-line error on stderr and exit 2" "exit $rc" "$stderr"
    run validate --json "$path"
    [ "$rc" -eq 2 ] && printf '%s' "$stdout" | json_has file error
    ok $? "$what with --json: exit 2 and a 'file' error entry" "exit $rc" "$stdout"
done
run validate "$examples/linear.dot" "$tmp/no-such-file.dot"
[ "$rc" -eq 2 ]
ok $? "an unreadable file among good ones still exits 2" "exit $rc" "$stderr"

: >"$tmp/empty.dot"
run validate "$tmp/empty.dot"
[ "$rc" -eq 1 ] && [[ "$stderr" == *"$tmp/empty.dot:1:1: error: "* ]]
ok $? "an empty file is a syntax error (exit 1)" "exit $rc" "$stderr"

# ---- usage errors ----
run validate
[ "$rc" -eq 2 ] && [ -n "$stderr" ]
ok $? "validate with no arguments exits 2 with a message" "exit $rc" "$stderr"
run validate --frobnicate "$examples/linear.dot"
[ "$rc" -eq 2 ] && [[ "$stderr" == *"--frobnicate"* ]]
ok $? "an unknown option exits 2 and names the option" "exit $rc" "$stderr"
run validate -z "$examples/linear.dot"
[ "$rc" -eq 2 ]
ok $? "an unknown short option exits 2" "exit $rc" "$stderr"
run validate --json=yes "$examples/linear.dot"
[ "$rc" -eq 2 ]
ok $? "a value given to a switch (--json=yes) exits 2" "exit $rc" "$stderr"

# ---- --json ----
run validate --json "$examples/linear.dot"
[ "$rc" -eq 0 ] && [ "$(printf '%s' "$stdout" | json_shape)" = 0 ]
ok $? "--json on a clean file prints an empty array" "exit $rc" "$stdout"
run validate --json "$LO_TESTDATA"/invalid/*.dot "$LO_TESTDATA"/warn/*.dot "$tmp/no-such-file.dot"
count=$(printf '%s' "$stdout" | json_shape)
[ "$rc" -eq 2 ] && [[ "$count" =~ ^[0-9]+$ ]] && [ "$count" -ge $((${#inv[@]} + ${#wrn[@]})) ]
ok $? "--json over every fixture: a JSON array, each entry with file, line, column, severity, rule, node, edge, message" "exit $rc" "$count"
[ -z "$stderr" ]
ok $? "--json prints nothing on stderr" "$stderr"
run validate --json "$LO_TESTDATA/invalid/start_incoming.dot"
printf '%s' "$stdout" | json_check '(d => d && d.edge && d.edge.from === "work" && d.edge.to === "start" &&
    d.line === 8 && d.column === 13 && d.node === null)(a.find(d => d.rule === "start_no_incoming"))'
ok $? "--json gives an edge diagnostic its edge {from, to} and position" "$stdout"
run validate --json "$LO_TESTDATA/warn/dead_end.dot"
printf '%s' "$stdout" | json_check '(d => d && d.node === "report" && d.edge === null &&
    d.file.endsWith("dead_end.dot"))(a.find(d => d.rule === "dead_end"))'
ok $? "--json gives a node diagnostic its node id" "$stdout"
run validate --json "$LO_TESTDATA/invalid/syntax_missing_comma.dot"
printf '%s' "$stdout" | json_check 'a.length === 1 && a[0].rule === "syntax" && a[0].line === 6 && a[0].column === 25'
ok $? "--json reports a syntax error with rule 'syntax' and its position" "$stdout"

# ---- several files ----
run validate "${ex[@]}"
[ "$rc" -eq 0 ] && [ "$(printf '%s\n' "$stderr" | tail -n 1)" = "${#ex[@]} files checked: 0 errors, 0 warnings" ]
ok $? "all examples at once: '${#ex[@]} files checked: 0 errors, 0 warnings'" "exit $rc" "$stderr"
run validate "$examples/linear.dot" "$LO_TESTDATA/invalid/unreachable.dot" "$LO_TESTDATA/warn/dead_end.dot"
[ "$rc" -eq 1 ] && [ "$(printf '%s\n' "$stderr" | tail -n 1)" = "3 files checked: 1 error, 1 warning" ]
ok $? "mixed files: '3 files checked: 1 error, 1 warning', exit 1" "exit $rc" "$stderr"

# ---- -q ----
for q in -q --quiet; do
    run validate $q "$LO_TESTDATA/warn/dead_end.dot"
    [ "$rc" -eq 0 ] && [[ "$stderr" != *"warning: ["* ]] && [[ "$stderr" == *"1 file checked: 0 errors, 1 warning"* ]]
    ok $? "validate $q hides warnings but still counts them" "exit $rc" "$stderr"
done
run validate -q "$LO_TESTDATA/invalid/exit_missing.dot"
[ "$rc" -eq 1 ] && [[ "$stderr" == *"error: [terminal_node]"* ]] && [[ "$stderr" != *"warning: ["* ]]
ok $? "validate -q still prints errors" "exit $rc" "$stderr"

# ---- help ----
run validate --help
[ "$rc" -eq 0 ] && [[ "$stdout" == *"usage: lightsout validate"* ]] && [[ "$stdout" == *"--json"* ]]
ok $? "validate --help prints usage on stdout, exit 0" "exit $rc"

finish
