# Shared by the stand-in agents in this directory (claude, codex, gemini,
# opencode): small scripts that take the real CLI's headless flags, refuse
# what the real one refuses, and print a stream of the real format from
# streams/. Sourced with $agent set and the checked arguments in $@.
#
#   LO_STANDIN_MODE   ok (default): print streams/$agent.ok.jsonl, write
#                     hello.txt in the working directory, exit 0
#                     error: print streams/$agent.error.jsonl, exit 1
#                     cut: print the first 3 lines and half of the 4th, exit 0
#                     crash: print the first 3 lines, then die by SIGKILL
#                     noise: ok, with lines that are not JSON mixed in
#                     slow: ok, one line a second
#                     hang: print the first line, then sleep
#   LO_STANDIN_ARGV   when set, each argument is written there, one a line
#   LO_STANDIN_ENV    when set, the provider variables it saw are written there
#                     (keys are masked to their length)
streams=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/streams
if [ -n "${LO_STANDIN_ARGV:-}" ]; then
    printf '%s\n' "$@" >"$LO_STANDIN_ARGV"
fi
if [ -n "${LO_STANDIN_ENV:-}" ]; then
    : >"$LO_STANDIN_ENV"
    for v in ANTHROPIC_BASE_URL OPENAI_BASE_URL GOOGLE_GEMINI_BASE_URL; do
        [ -n "${!v:-}" ] && echo "$v=${!v}" >>"$LO_STANDIN_ENV"
    done
    for v in ANTHROPIC_API_KEY OPENAI_API_KEY GEMINI_API_KEY; do
        val=${!v:-}
        [ -n "$val" ] && echo "$v=<${#val} chars>" >>"$LO_STANDIN_ENV"
    done
fi

standin_die() { echo "$agent: $*" >&2; exit 2; }

standin_play() { # standin_play PROMPT
    [ -n "$1" ] || standin_die "no prompt given"
    local mode=${LO_STANDIN_MODE:-ok} ok=$streams/$agent.ok.jsonl
    case $mode in
    ok)
        printf 'hello\n' >hello.txt
        cat "$ok"
        ;;
    noise)
        printf 'hello\n' >hello.txt
        echo "Loaded cached credentials."
        sed '2a\
{not json at all' "$ok"
        ;;
    slow)
        printf 'hello\n' >hello.txt
        while IFS= read -r line; do
            printf '%s\n' "$line"
            sleep 1
        done <"$ok"
        ;;
    error)
        cat "$streams/$agent.error.jsonl"
        echo "Error: the request failed" >&2
        exit 1
        ;;
    cut)
        head -n 3 "$ok"
        sed -n 4p "$ok" | cut -c1-40 | tr -d '\n'
        ;;
    crash)
        head -n 3 "$ok"
        kill -9 $$
        ;;
    hang)
        head -n 1 "$ok"
        sleep 600
        ;;
    *) standin_die "unknown LO_STANDIN_MODE '$mode'" ;;
    esac
    exit 0
}
