#!/usr/bin/env bash
# Fuzz smoke: build every libFuzzer target and run each over its seed corpus
# plus FUZZ_SMOKE_SECONDS of new inputs. A crash, leak or hang fails.
set -u
cd "$(dirname "$0")/../.."
secs=${FUZZ_SMOKE_SECONDS:-15}
targets=(fuzz/fuzz_*.c)
echo "1..${#targets[@]}"
if ! command -v clang >/dev/null 2>&1; then
    for i in "${!targets[@]}"; do echo "ok $((i + 1)) # skip clang not installed"; done
    exit 0
fi
n=0
for src in "${targets[@]}"; do
    n=$((n + 1))
    name=$(basename "$src" .c)
    if ! make -s -j2 "build/fuzz/$name" >/tmp/lo-fuzz-build.$$ 2>&1; then
        echo "not ok $n - $name builds"
        sed 's/^/# /' /tmp/lo-fuzz-build.$$ | tail -20
        continue
    fi
    work=$(mktemp -d)
    # a crashing input is kept under build/, never in the source tree
    mkdir -p build/fuzz/artifacts
    if "build/fuzz/$name" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 \
        -artifact_prefix="build/fuzz/artifacts/$name-" \
        "$work" "fuzz/corpus/$name" >"$work/log" 2>&1; then
        echo "ok $n - $name: $(grep -o 'Done [0-9]* runs' "$work/log" | tail -1) without a crash"
    else
        echo "not ok $n - $name crashed"
        tail -30 "$work/log" | sed 's/^/# /'
    fi
    rm -rf "$work"
done
rm -f /tmp/lo-fuzz-build.$$
