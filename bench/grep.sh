#!/bin/sh
# The agent's grep tool against rg and grep -r on a large source tree (a
# copy of /usr/include by default). bench/grep_bench.c, linked against
# lib/liblightsout.a, times four engines over the same tree in the same run,
# rotating their order: the tool's built-in search, the tool running rg
# (--sort=path, one search thread), rg alone (all threads) and grep -rnIE
# alone. Each figure is the median of RUNS runs after one warm-up, so the
# tree is in the page cache: this measures searching, not the disk.
#
#   bench/grep.sh                          /usr/include, 5 runs
#   TREE=dir RUNS=.. bench/grep.sh         another tree
#
# Two patterns: a literal (EINVAL, few matches: the walk and the reading
# dominate) and a regex (struct [a-z_]+ \{, thousands of matches). Ratios
# are ours / theirs: above 1 means ours is slower. Exits non-zero only when
# a command fails.
set -eu

cd "$(dirname "$0")/.."

SRC=${TREE:-/usr/include}
RUNS=${RUNS:-5}
OUT=bench/out
LIB=lib/liblightsout.a
DRIVER=$OUT/grep_bench
COPY=$OUT/grep-tree

die() {
    echo "grep: $*" >&2
    exit 1
}

case $RUNS in
*[!0-9]*) die "RUNS must be a positive integer" ;;
esac
[ "$RUNS" -ge 1 ] || die "RUNS must be at least 1"
[ -f "$LIB" ] || die "$LIB not found: run make lib/liblightsout.a"
[ -d "$SRC" ] || die "$SRC is not a directory"

mkdir -p "$OUT"
# shellcheck disable=SC2046
${CC:-cc} -std=c11 -D_POSIX_C_SOURCE=200809L -D_DEFAULT_SOURCE -O2 -Iinclude \
    -o "$DRIVER" bench/grep_bench.c "$LIB" \
    $(pkg-config --libs libcurl jansson libmicrohttpd sqlite3) -lpthread -lm ||
    die "cannot build $DRIVER"

# A private copy: no .gitignore or .git of a real checkout changes what is
# searched, and the tree stays the same from run to run.
rm -rf "$COPY"
cp -a "$SRC" "$COPY" || die "cannot copy $SRC"
files=$(find "$COPY" -type f | wc -l)
mb=$(du -sb "$COPY" | awk '{ printf "%.0f", $1 / 1e6 }')

have_rg=1
command -v rg >/dev/null 2>&1 || have_rg=0
[ "$have_rg" = 1 ] || echo "rg not found: install the Debian package 'ripgrep' (rg rows skipped)" >&2

field() { # NAME=VALUE from the line on stdin
    tr ' ' '\n' | sed -n "s/^$1=//p"
}

echo "grep tool vs rg and grep -r: $SRC ($files files, $mb MB), median of $RUNS runs"
for pattern in 'EINVAL' 'struct [a-z_]+ \{'; do
    res=$("$DRIVER" "$COPY" "$pattern" "$RUNS") || die "grep_bench failed"
    echo
    echo "pattern: $pattern"
    printf '    %-8s %10s %10s\n' engine "median ms" "lines"
    for e in builtin tool-rg rg grep; do
        line=$(echo "$res" | grep "^name=$e ")
        if [ "$have_rg" = 0 ] && { [ "$e" = rg ] || [ "$e" = tool-rg ]; }; then
            printf '    %-8s %10s\n' "$e" "(no rg)"
            continue
        fi
        printf '    %-8s %10s %10s\n' "$e" "$(echo "$line" | field ms)" "$(echo "$line" | field lines)"
    done
    ms() { echo "$res" | grep "^name=$1 " | field ms; }
    if [ "$have_rg" = 1 ]; then
        awk -v b="$(ms builtin)" -v t="$(ms tool-rg)" -v r="$(ms rg)" -v g="$(ms grep)" 'BEGIN {
            printf "    ratios: builtin/rg %.2f, builtin/grep %.2f, tool-rg/rg %.2f, tool-rg/grep %.2f\n",
                b / r, b / g, t / r, t / g }'
    else
        awk -v b="$(ms builtin)" -v g="$(ms grep)" 'BEGIN {
            printf "    ratios: builtin/grep %.2f\n", b / g }'
    fi
done
rm -rf "$COPY"
