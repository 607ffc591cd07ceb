/* The attribute table: every key Attractor and lightsout give meaning to,
 * with its scope, type and default (attractor-spec Appendix A, plus the
 * extensions in docs/pipeline-language.md). One table serves typed access,
 * the unknown_attribute and attribute_type lint rules and the docs. */
#include <string.h>

#include "lightsout/graph.h"

#define G LO_SCOPE_GRAPH
#define N LO_SCOPE_NODE
#define E LO_SCOPE_EDGE

static const lo_attr_spec specs[] = {
    /* graph (§2.5) */
    {"goal", G, LO_T_STRING, "", "goal of the pipeline; $goal in prompts"},
    {"label", G | N | E, LO_T_STRING, "", "display name; edge routing key"},
    {"model_stylesheet", G, LO_T_STRING, "", "CSS-like model defaults (§8)"},
    {"default_max_retries", G, LO_T_INT, "0", "retries for nodes without max_retries"},
    {"default_max_retry", G, LO_T_INT, NULL, "legacy alias of default_max_retries"},
    {"retry_target", G | N, LO_T_STRING, "", "node to jump to when retries are exhausted"},
    {"fallback_retry_target", G | N, LO_T_STRING, "", "secondary retry target"},
    {"default_fidelity", G, LO_T_STRING, "", "default context fidelity mode"},
    {"stack.child_dotfile", G, LO_T_STRING, "", "child pipeline of a manager loop"},
    {"stack.child_workdir", G, LO_T_STRING, NULL, "working directory of the child"},
    {"tool_hooks.pre", G | N, LO_T_STRING, "", "shell command before each tool call"},
    {"tool_hooks.post", G | N, LO_T_STRING, "", "shell command after each tool call"},
    /* node (§2.6) */
    {"shape", N, LO_T_STRING, "box", "Graphviz shape; picks the handler"},
    {"type", N, LO_T_STRING, "", "explicit handler type"},
    {"prompt", N, LO_T_STRING, "", "instruction for the stage"},
    {"max_retries", N, LO_T_INT, NULL, "additional attempts after the first"},
    {"goal_gate", N, LO_T_BOOL, "false", "must succeed before the pipeline exits"},
    {"fidelity", N | E, LO_T_STRING, NULL, "context fidelity mode"},
    {"thread_id", N | E, LO_T_STRING, NULL, "LLM session reuse key"},
    {"class", N, LO_T_STRING, "", "stylesheet classes, comma-separated"},
    {"timeout", N, LO_T_DURATION, NULL, "maximum time for the stage"},
    {"llm_model", G | N, LO_T_STRING, NULL, "model id"},
    {"llm_provider", G | N, LO_T_STRING, NULL, "provider key"},
    {"reasoning_effort", G | N, LO_T_STRING, "high", "low, medium or high"},
    {"auto_status", N, LO_T_BOOL, "false", "SUCCESS when the handler writes no status"},
    {"allow_partial", N, LO_T_BOOL, "false", "accept PARTIAL_SUCCESS on retry exhaustion"},
    /* handlers (§4) */
    {"tool_command", N, LO_T_STRING, "", "shell command of a tool stage"},
    {"join_policy", N, LO_T_STRING, "wait_all", "parallel: wait_all or first_success"},
    {"error_policy", N, LO_T_STRING, "continue", "parallel: continue or fail_fast"},
    {"max_parallel", N, LO_T_INT, "4", "parallel: branches at once"},
    {"human.default_choice", N, LO_T_STRING, NULL, "wait.human: choice on timeout"},
    {"manager.poll_interval", N, LO_T_DURATION, "45s", "manager loop: poll interval"},
    {"manager.max_cycles", N, LO_T_INT, "1000", "manager loop: cycle limit"},
    {"manager.stop_condition", N, LO_T_STRING, "", "manager loop: stop condition"},
    {"manager.actions", N, LO_T_STRING, "observe,wait", "manager loop: actions"},
    {"stack.child_autostart", N, LO_T_BOOL, "true", "manager loop: start the child"},
    {"manager.steer_message", N, LO_T_STRING, NULL, "manager loop: text written to steer.md"},
    /* edges (§2.7) */
    {"condition", E, LO_T_STRING, "", "guard expression (§10)"},
    {"weight", E, LO_T_INT, "0", "priority among eligible edges"},
    {"loop_restart", E, LO_T_BOOL, "false", "restart the run with a fresh log directory"},
    /* lightsout extensions */
    {"backend", G | N, LO_T_STRING, NULL, "codergen backend: api, cli, twin, sim"},
    {"cli_agent", G | N, LO_T_STRING, NULL, "cli backend: claude, codex, gemini or opencode"},
    {"cli_command", G | N, LO_T_STRING, NULL, "cli backend: command line replacing the agent's"},
    {"budget_usd", G | N, LO_T_FLOAT, NULL, "spend limit in US dollars"},
    {"budget_tokens", G | N, LO_T_INT, NULL, "spend limit in tokens"},
    {"stall_timeout", G | N, LO_T_DURATION, NULL, "stop a stage silent this long"},
    {"retry_policy", G | N, LO_T_STRING, NULL, "none, standard, aggressive, linear, patient"},
    {"retry_initial_delay", N, LO_T_DURATION, "200ms", "delay before the first retry"},
    {"retry_backoff_factor", N, LO_T_FLOAT, "2.0", "delay multiplier per retry"},
    {"retry_max_delay", N, LO_T_DURATION, "60s", "cap on the delay between retries"},
    {"retry_jitter", N, LO_T_BOOL, "true", "randomise delays by x0.5-1.5"},
    {"command", N, LO_T_STRING, "", "gate: command to run"},
    {"max_wall", N, LO_T_DURATION, NULL, "gate: wall-time budget"},
    {"max_cpu", N, LO_T_DURATION, NULL, "gate: CPU-time budget"},
    {"max_rss", N, LO_T_SIZE, NULL, "gate: peak memory budget"},
    {"max_output", N, LO_T_SIZE, NULL, "gate: output size budget"},
    {"max_procs", N, LO_T_INT, NULL, "gate: process count budget"},
    {"repeat", N, LO_T_INT, "1", "gate: runs; the median is judged"},
    {"baseline", N, LO_T_STRING, NULL, "gate: earlier gate or baseline file"},
    {"max_ratio", N, LO_T_FLOAT, NULL, "gate: allowed ratio to the baseline"},
    {"report", N, LO_T_STRING, NULL, "gate: test report format"},
    {"report_file", N, LO_T_STRING, NULL, "gate: file the command writes its report to"},
    {"max_fail", N, LO_T_INT, "0", "gate: failing tests allowed"},
    {"min_pass", N, LO_T_INT, NULL, "gate: passing tests required"},
    {"no_regression", N, LO_T_BOOL, "false", "gate: a test that passed must not fail"},
    {"network", N, LO_T_BOOL, "false", "gate: allow network in the sandbox"},
    {"sandbox", N, LO_T_STRING, "auto", "gate: auto, true (required) or false"},
    {"sandbox_writable", N, LO_T_STRING, NULL, "gate: more paths writable in the sandbox"},
    {"max_visits", N, LO_T_INT, NULL, "entries into the node before the run fails"},
    {"max_steps", G, LO_T_INT, NULL, "stages in all before the run fails"},
};

#undef G
#undef N
#undef E

const lo_attr_spec *lo_attr_specs(size_t *n)
{
    *n = sizeof specs / sizeof specs[0];
    return specs;
}

const lo_attr_spec *lo_attr_spec_find(const char *key, unsigned scope)
{
    for (size_t i = 0; i < sizeof specs / sizeof specs[0]; i++)
        if ((specs[i].scopes & scope) && strcmp(specs[i].key, key) == 0)
            return &specs[i];
    return NULL;
}

/* Layout and display attributes: meaningful to Graphviz when rendering, and
 * common in pipelines written for other Attractor implementations. */
static const char *const graphviz_attrs[] = {
    "rankdir", "rank", "ranksep", "nodesep", "splines", "size", "ratio", "pad",
    "margin", "dpi", "bgcolor", "color", "fillcolor", "fontcolor", "fontname",
    "fontsize", "style", "penwidth", "width", "height", "fixedsize", "peripheries",
    "sides", "orientation", "regular", "tooltip", "URL", "href", "target", "id",
    "xlabel", "comment", "dir", "arrowhead", "arrowtail", "arrowsize",
    "constraint", "labelloc", "labeljust", "labelfontsize", "compound",
    "concentrate", "group", "lhead", "ltail", "headlabel", "taillabel",
    "newrank", "ordering", "layout", "center", "charset", "forcelabels",
    "image", "imagescale", "gradientangle", "minlen", "samehead", "sametail",
    "headport", "tailport", "decorate", "outputorder", "nojustify", "stylesheet",
};

bool lo_attr_is_graphviz(const char *key)
{
    for (size_t i = 0; i < sizeof graphviz_attrs / sizeof graphviz_attrs[0]; i++)
        if (strcmp(graphviz_attrs[i], key) == 0)
            return true;
    return false;
}
