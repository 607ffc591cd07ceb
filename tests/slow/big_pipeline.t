#!/usr/bin/env bash
# A 100,000-node, 200,000-edge pipeline (the benchmark's graph) validates
# clean: no errors, exit 0. Correctness at scale, not timing.
set -u
cd "$(dirname "$0")/../.."
LIGHTSOUT=${LIGHTSOUT:-bin/lightsout}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
echo "1..2"
cc -std=c11 -O2 -o "$work/gen" bench/gen_pipeline.c
"$work/gen" 100000 200000 >"$work/big.dot"
if "$LIGHTSOUT" validate -q "$work/big.dot" 2>"$work/err"; then
    echo "ok 1 - 100k-node pipeline validates (exit 0)"
else
    echo "not ok 1 - 100k-node pipeline validates"; sed 's/^/# /' "$work/err" | tail -5
fi
if grep -q "1 file checked: 0 errors" "$work/err"; then
    echo "ok 2 - no errors reported"
else
    echo "not ok 2 - no errors reported"; sed 's/^/# /' "$work/err" | tail -5
fi
