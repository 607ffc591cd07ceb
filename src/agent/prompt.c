/* The layered system prompt (§6): the profile's base instructions, the
 * environment block and a git snapshot taken at session start, the tool
 * layer, the project's instruction files from the repository root down to
 * the working directory, and the user's instructions last. Everything but
 * the tool layer is built once per session, so the prompt a provider caches
 * stays byte-identical from turn to turn. */
#include <string.h>
#include <time.h>

#include "agent/session_internal.h"

/* ------------------------------------------------------------ git */

typedef struct git_info {
    bool repo;
    char root[PATH_MAX];
    char branch[256];
    int modified, untracked;
    lo_buf log;      /* "hash subject" lines */
} git_info;

/* One command for the whole snapshot: each exec costs a shell. Sections are
 * separated by marker lines; exit 99 means "not a repository" (or no git). */
static const char git_script[] =
    "command -v git >/dev/null 2>&1 || exit 99\n"
    "git rev-parse --show-toplevel 2>/dev/null || exit 99\n"
    "echo '@@lightsout:branch'\n"
    "git symbolic-ref --short HEAD 2>/dev/null || git rev-parse --short HEAD 2>/dev/null\n"
    "echo '@@lightsout:status'\n"
    "git status --porcelain 2>/dev/null\n"
    "echo '@@lightsout:log'\n"
    "git log --oneline --no-decorate -n 10 2>/dev/null\n"
    "exit 0\n"; /* a repository without commits has no log */

static void git_parse(git_info *g, char *out)
{
    enum { ROOT, BRANCH, STATUS, LOG } sec = ROOT;
    char *save = NULL;
    for (char *line = strtok_r(out, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        if (strcmp(line, "@@lightsout:branch") == 0)
            sec = BRANCH;
        else if (strcmp(line, "@@lightsout:status") == 0)
            sec = STATUS;
        else if (strcmp(line, "@@lightsout:log") == 0)
            sec = LOG;
        else if (sec == ROOT && !g->root[0])
            snprintf(g->root, sizeof g->root, "%s", line);
        else if (sec == BRANCH && !g->branch[0])
            snprintf(g->branch, sizeof g->branch, "%s", line);
        else if (sec == STATUS && strlen(line) > 2)
            ++*(strncmp(line, "??", 2) == 0 ? &g->untracked : &g->modified);
        else if (sec == LOG)
            lo_buf_printf(&g->log, "%s\n", line);
    }
    g->repo = g->root[0] == '/';
}

/* Absent git, a directory that is no repository or a failing command all
 * leave g->repo false: the prompt then says so, nothing fails. */
static void git_snapshot(lo_agent_env *env, git_info *g)
{
    memset(g, 0, sizeof *g);
    lo_buf_init(&g->log, 0);
    lo_agent_exec_result r = {0};
    lo_error err;
    if (env->ops->exec(env, git_script, 5000, NULL, NULL, NULL, &r, &err) == 0 &&
        r.exit_code == 0 && !r.timed_out && r.stdout_text)
        git_parse(g, r.stdout_text);
    lo_agent_exec_result_release(&r);
}

/* ------------------------------------------------------------ project docs */

static bool inside(const char *dir, const char *root)
{
    size_t n = strlen(root);
    return strncmp(dir, root, n) == 0 && (dir[n] == '/' || dir[n] == '\0' || n == 1);
}

/* Append text under the budget; false once the budget is spent. */
static bool budget_put(lo_buf *out, size_t start, const char *text, size_t len)
{
    size_t used = out->len - start, left = used < PROMPT_DOCS_BUDGET ? PROMPT_DOCS_BUDGET - used : 0;
    if (len <= left) {
        lo_buf_append(out, text, len);
        return true;
    }
    /* Cut on a character boundary. */
    size_t cut = 0;
    while (cut < left) {
        size_t k = lo_utf8_seq(text + cut, len - cut);
        if (!k)
            k = 1;
        if (cut + k > left)
            break;
        cut += k;
    }
    lo_buf_append(out, text, cut);
    lo_buf_puts(out, "\n[Project instructions truncated at 32KB]\n");
    return false;
}

static int read_doc(lo_agent_env *env, const char *path, bool via_env, char **data, size_t *len)
{
    lo_error err;
    if (via_env)
        return env->ops->file_exists(env, path)
                   ? env->ops->read_file(env, path, data, len, &err)
                   : LO_ENOENT;
    return lo_file_read(path, 1 << 20, data, len, &err);
}

int prompt_project_docs(lo_agent_env *env, const char *root, const char *extra, bool above,
                        lo_buf *out)
{
    const char *wd = env->ops->working_directory(env);
    if (!inside(wd, root))
        root = wd;
    const char *files[] = {"AGENTS.md", extra};
    size_t start = out->len, rootlen = strlen(root);
    bool header = false, room = true;
    /* Directories from root down to wd: each prefix of wd ending at a '/'
     * past root, then wd itself. */
    for (size_t end = rootlen; room;) {
        char dir[PATH_MAX];
        snprintf(dir, sizeof dir, "%.*s", (int)end, wd);
        bool via_env = inside(dir, wd);
        for (size_t f = 0; f < 2 && room; f++) {
            if (!files[f] || (!via_env && !above))
                continue;
            char path[PATH_MAX + 64];
            snprintf(path, sizeof path, "%s/%s", strcmp(dir, "/") ? dir : "", files[f]);
            char *data = NULL;
            size_t len = 0;
            if (read_doc(env, path, via_env, &data, &len) != 0 || lo_looks_binary(data, len)) {
                free(data);
                continue;
            }
            if (!header) {
                lo_buf_puts(out, "# Project instructions\n\n"
                                 "From the project's own files, the repository root first. "
                                 "Where they disagree, a file in a deeper directory takes "
                                 "precedence over one above it.\n");
                header = true;
            }
            const char *rel = path + rootlen + (root[rootlen - 1] == '/' ? 0 : 1);
            char head[PATH_MAX + 80];
            int hn = snprintf(head, sizeof head, "\n## %s\n\n", rel);
            room = budget_put(out, start, head, (size_t)hn) &&
                   budget_put(out, start, data, len) &&
                   (len && data[len - 1] == '\n' ? true : budget_put(out, start, "\n", 1));
            free(data);
        }
        if (end >= strlen(wd))
            break;
        const char *slash = strchr(wd + end + 1, '/');
        end = slash ? (size_t)(slash - wd) : strlen(wd);
    }
    return 0;
}

/* ------------------------------------------------------------ assembly */

static void env_block(lo_buf *b, lo_agent_env *env, const git_info *g, const char *model,
                      const lo_llm_model *entry)
{
    char date[16];
    time_t now = time(NULL);
    struct tm tm;
    localtime_r(&now, &tm);
    strftime(date, sizeof date, "%Y-%m-%d", &tm);
    lo_buf_printf(b, "<environment>\nWorking directory: %s\nIs git repository: %s\n",
                  env->ops->working_directory(env), g->repo ? "true" : "false");
    if (g->repo && g->branch[0])
        lo_buf_printf(b, "Git branch: %s\n", g->branch);
    lo_buf_printf(b, "Platform: %s\nOS version: %s\nToday's date: %s\n",
                  env->ops->platform(env), env->ops->os_version(env), date);
    if (entry && entry->display_name && !lo_str_eq(entry->display_name, model))
        lo_buf_printf(b, "Model: %s (%s)\n", entry->display_name, model);
    else
        lo_buf_printf(b, "Model: %s\n", model);
    const char *cutoff =
        entry ? json_string_value(json_object_get(entry->json, "knowledge_cutoff")) : NULL;
    if (cutoff)
        lo_buf_printf(b, "Knowledge cutoff: %s\n", cutoff);
    lo_buf_puts(b, "</environment>\n");
    if (!g->repo)
        return;
    lo_buf_printf(b, "\n<git>\nBranch: %s\nStatus at session start: %d modified, %d untracked\n",
                  g->branch[0] ? g->branch : "(none)", g->modified, g->untracked);
    if (g->log.len)
        lo_buf_printf(b, "Recent commits:\n%s", g->log.data);
    lo_buf_puts(b, "</git>\n");
}

int prompt_parts_build(const lo_agent_profile *p, lo_agent_env *env, const char *model,
                       const char *user_instructions, prompt_parts *out, lo_error *err)
{
    memset(out, 0, sizeof *out);
    git_info g;
    git_snapshot(env, &g);
    const lo_llm_model *entry = p->catalog ? lo_llm_model_find(p->catalog, model) : NULL;

    lo_buf head, tail;
    lo_buf_init(&head, 0);
    lo_buf_init(&tail, 0);
    lo_buf_puts(&head, p->fl->base_prompt());
    lo_buf_puts(&head, "\n");
    env_block(&head, env, &g, model, entry);

    /* The environment shares this filesystem when it is one of ours, so
     * instruction files between the repository root and the working
     * directory can be read directly. */
    bool above = lo_str_eq(env->ops->name, "local") || lo_str_eq(env->ops->name, "sandbox");
    lo_buf docs;
    lo_buf_init(&docs, 0);
    prompt_project_docs(env, g.repo ? g.root : env->ops->working_directory(env),
                        p->fl->doc_file, above, &docs);
    if (docs.len)
        lo_buf_printf(&tail, "\n%s", docs.data);
    lo_buf_release(&docs);
    if (user_instructions && *user_instructions)
        lo_buf_printf(&tail, "\n# Instructions from the user\n\n%s\n", user_instructions);
    lo_buf_release(&g.log);

    if (!head.data || (!tail.data && tail.len)) {
        lo_buf_release(&head);
        lo_buf_release(&tail);
        return lo_error_set(err, LO_ENOMEM, "out of memory building the system prompt");
    }
    out->head = lo_buf_steal(&head);
    out->tail = tail.len ? lo_buf_steal(&tail) : lo_strdup("");
    if (!out->head || !out->tail) {
        prompt_parts_release(out);
        return lo_error_set(err, LO_ENOMEM, "out of memory building the system prompt");
    }
    return 0;
}

void prompt_parts_release(prompt_parts *pp)
{
    free(pp->head);
    free(pp->tail);
    pp->head = pp->tail = NULL;
}

char *prompt_assemble(const prompt_parts *pp, const lo_agent_tool *tools, size_t n)
{
    lo_buf b;
    lo_buf_init(&b, 0);
    lo_buf_puts(&b, pp->head);
    if (n) {
        lo_buf_puts(&b, "\n# Tools\n\nYou can call these tools (each call carries its full "
                        "description and parameters):\n");
        for (size_t i = 0; i < n; i++) {
            const char *d = tools[i].description ? tools[i].description : "";
            size_t len = strcspn(d, "\n");
            lo_buf_printf(&b, "- %s: %.*s\n", tools[i].name, (int)len, d);
        }
    }
    lo_buf_puts(&b, pp->tail);
    return b.data ? lo_buf_steal(&b) : NULL;
}
