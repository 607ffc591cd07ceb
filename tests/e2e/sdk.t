#!/usr/bin/env bash
# Fidelity tests with the official provider SDKs, as TAP: install the pinned
# SDKs (tests/sdk/package-lock.json) with `npm ci`, then run node's test
# runner on tests/sdk/*.test.mjs, each of which starts a twin with
# `lightsout twin serve` and talks to it through the SDK. Node's TAP output
# is passed through (one plan); a failing SDK check fails this script.
#
# npm ci needs the npm registry (or a warm cache); a failure there is a
# failure, not a skip. Only a machine without node or npm skips.
#
#   LIGHTSOUT  the binary (default: bin/lightsout next to this tree)
set -u

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
sdk=$root/tests/sdk
export LIGHTSOUT=${LIGHTSOUT:-$root/bin/lightsout}

fail() { # fail DESCRIPTION [DIAGNOSTIC FILE]
    echo "1..1"
    echo "not ok 1 - $1"
    [ -n "${2:-}" ] && [ -f "$2" ] && sed 's/^/# /' "$2"
    exit 1
}

if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
    echo "1..0 # skip node and npm are not installed (scripts/install-deps installs them)"
    exit 0
fi
[ -x "$LIGHTSOUT" ] || fail "the binary $LIGHTSOUT exists (run make)"

tmp=$(mktemp -d "${TMPDIR:-/tmp}/lo-sdk.XXXXXX")
trap 'rm -rf "$tmp"' EXIT

cd "$sdk" || fail "cd $sdk"
t0=$(date +%s)
if ! timeout 300 npm ci --no-audit --no-fund --prefer-offline --loglevel=error \
    >"$tmp/npm.log" 2>&1; then
    fail "npm ci in tests/sdk (the pinned SDKs install from the registry)" "$tmp/npm.log"
fi
t1=$(date +%s)

# node --test prints its own TAP: "TAP version 13", the tests, one plan at
# the end; it exits 1 when a test fails.
timeout 300 node --test --test-reporter=tap ./*.test.mjs >"$tmp/tap" 2>"$tmp/err"
rc=$?
t2=$(date +%s)
if ! grep -qE '^1\.\.[0-9]+' "$tmp/tap"; then
    # no plan: the runner itself died (bad Node, syntax error, timeout)
    cat "$tmp/tap" "$tmp/err" >"$tmp/all"
    fail "node --test ran the SDK tests (exit $rc, no TAP plan)" "$tmp/all"
fi
# Drop the "TAP version 13" line: prove's YAML reader chokes on the
# multi-line strings in node's diagnostics, and without the version line
# those indented blocks are plain unknown lines it passes over.
grep -v '^TAP version' "$tmp/tap"
sed 's/^/# stderr: /' "$tmp/err"
if [ "$rc" -ne 0 ]; then
    # each failure with node's diagnostic block, on stderr so prove shows it
    awk '/^not ok/ {p = 1; print; next} /^(ok|not ok|# Subtest|1\.\.)/ {p = 0} p' "$tmp/tap" >&2
fi
echo "# node $(node --version), npm $(npm --version); npm ci $((t1 - t0)) s, tests $((t2 - t1)) s"
exit "$rc"
