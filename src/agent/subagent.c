/* Subagents (§7): spawn_agent starts a child session on its own thread with
 * the parent's profile, client and environment (or a view of a
 * subdirectory of it); send_input, wait and close_agent talk to it by id.
 * A child's events reach the parent's host with the child's session id and
 * its usage adds to the parent's (both through the parent link, see
 * events.c and session_account). */
#include <errno.h>
#include <string.h>
#include <time.h>

#include "agent/session_internal.h"
#include "agent/subagent_env.h"

struct subagent {
    char id[24];
    lo_agent_session *child;
    pthread_t th;
    bool joinable;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    bool running;                   /* a submit is in progress on th */
    int rc;                         /* of the last submit */
    char error[1024];
    char *input;                    /* what th processes */
    subagent *next;
};

/* ------------------------------------------------------------ the thread */

static void *sub_main(void *arg)
{
    subagent *a = arg;
    lo_error err;
    lo_error_clear(&err);
    int rc = lo_agent_submit(a->child, a->input, &err);
    pthread_mutex_lock(&a->mu);
    a->rc = rc;
    snprintf(a->error, sizeof a->error, "%s", rc ? err.msg : "");
    a->running = false;
    pthread_cond_broadcast(&a->cv);
    pthread_mutex_unlock(&a->mu);
    return NULL;
}

static int sub_start(subagent *a, const char *input, lo_error *err)
{
    if (a->joinable) {
        pthread_join(a->th, NULL);
        a->joinable = false;
    }
    free(a->input);
    if (!(a->input = lo_strdup(input)))
        return lo_error_set(err, LO_ENOMEM, "out of memory");
    a->running = true;
    if (pthread_create(&a->th, NULL, sub_main, a) != 0) {
        a->running = false;
        return lo_error_set(err, LO_EIO, "cannot start a thread for subagent %s", a->id);
    }
    a->joinable = true;
    return 0;
}

static void sub_free(subagent *a)
{
    atomic_store(&a->child->abort, true);
    subagents_abort(a->child);
    if (a->joinable)
        pthread_join(a->th, NULL);
    lo_agent_session_free(a->child);
    pthread_mutex_destroy(&a->mu);
    pthread_cond_destroy(&a->cv);
    free(a->input);
    free(a);
}

/* ------------------------------------------------------------ the list */

static subagent *sub_find(lo_agent_session *s, const char *id)
{
    pthread_mutex_lock(&s->sub_mu);
    subagent *a = s->subs;
    while (a && strcmp(a->id, id) != 0)
        a = a->next;
    pthread_mutex_unlock(&s->sub_mu);
    return a;
}

static subagent *sub_unlink(lo_agent_session *s, const char *id)
{
    pthread_mutex_lock(&s->sub_mu);
    subagent **p = &s->subs;
    while (*p && strcmp((*p)->id, id) != 0)
        p = &(*p)->next;
    subagent *a = *p;
    if (a)
        *p = a->next;
    pthread_mutex_unlock(&s->sub_mu);
    return a;
}

void subagents_abort(lo_agent_session *s)
{
    pthread_mutex_lock(&s->sub_mu);
    for (subagent *a = s->subs; a; a = a->next) {
        atomic_store(&a->child->abort, true);
        subagents_abort(a->child);
    }
    pthread_mutex_unlock(&s->sub_mu);
}

void subagents_close(lo_agent_session *s)
{
    pthread_mutex_lock(&s->sub_mu);
    subagent *a = s->subs;
    s->subs = NULL;
    pthread_mutex_unlock(&s->sub_mu);
    while (a) {
        subagent *next = a->next;
        sub_free(a);
        a = next;
    }
}

/* ------------------------------------------------------------ the tools */

static lo_agent_session *need_session(lo_agent_tool_ctx *ctx, const char *tool, lo_error *err)
{
    if (!ctx->session)
        lo_error_set(err, LO_EINVAL, "%s works only inside an agent session", tool);
    return ctx->session;
}

static subagent *need_agent(lo_agent_session *s, const json_t *args, lo_error *err)
{
    const char *id = json_string_value(json_object_get(args, "agent_id"));
    subagent *a = id ? sub_find(s, id) : NULL;
    if (!a)
        lo_error_set(err, LO_ENOENT, "no subagent \"%s\" (spawn_agent returns the id)",
                     id ? id : "");
    return a;
}

static int check_model(lo_agent_session *s, const char *model, lo_error *err)
{
    const lo_llm_catalog *cat = s->profile->catalog;
    const lo_llm_model *m = cat ? lo_llm_model_find(cat, model) : NULL;
    const char *want = lo_str_eq(s->profile->provider, "openai_chat") ? "openai"
                                                                      : s->profile->provider;
    if (m && !lo_str_eq(m->provider, want))
        return lo_error_set(err, LO_EINVAL, "model %s is a %s model; this session uses %s",
                            model, m->provider, s->profile->provider);
    return 0;
}

static int spawn_agent(const json_t *args, lo_agent_tool_ctx *ctx, lo_buf *out, lo_error *err)
{
    lo_agent_session *s = need_session(ctx, "spawn_agent", err);
    if (!s)
        return LO_EINVAL;
    if (s->depth >= s->cfg.max_subagent_depth)
        return lo_error_set(err, LO_EINVAL,
                            "this agent is at the subagent depth limit (%d) and cannot spawn "
                            "another; do the work yourself",
                            s->cfg.max_subagent_depth);
    const char *task = json_string_value(json_object_get(args, "task"));
    const char *wd = json_string_value(json_object_get(args, "working_dir"));
    const char *model = json_string_value(json_object_get(args, "model"));
    json_int_t max_turns = json_integer_value(json_object_get(args, "max_turns"));
    if (model && check_model(s, model, err) != 0)
        return LO_EINVAL;

    lo_agent_env *view = NULL;
    if (wd && *wd && !(view = subagent_env_new(s->env, wd, err)))
        return err->code ? err->code : LO_EINVAL;
    lo_agent_config cfg = s->cfg;
    cfg.max_turns = (int)max_turns;
    lo_agent_session *child = session_create(s->profile, view ? view : s->env, s->client, &cfg,
                                             NULL, NULL, s, model, err);
    if (!child) {
        lo_agent_env_free(view);
        return err->code ? err->code : LO_ENOMEM;
    }
    child->own_env = view;
    /* The child inherits the parent's effort as it is now. */
    pthread_mutex_lock(&s->mu);
    const char *effort = s->effort;
    if (effort)
        lo_agent_set_reasoning_effort(child, effort);
    pthread_mutex_unlock(&s->mu);

    subagent *a = lo_calloc(1, sizeof *a);
    if (!a) {
        lo_agent_session_free(child);
        return lo_error_set(err, LO_ENOMEM, "out of memory");
    }
    pthread_mutex_init(&a->mu, NULL);
    pthread_cond_init(&a->cv, NULL);
    a->child = child;
    pthread_mutex_lock(&s->sub_mu);
    snprintf(a->id, sizeof a->id, "agent_%d", ++s->next_sub);
    a->next = s->subs;
    s->subs = a;
    pthread_mutex_unlock(&s->sub_mu);
    int rc = sub_start(a, task, err);
    if (rc) {
        sub_free(sub_unlink(s, a->id));
        return rc;
    }
    lo_buf_printf(out, "agent_id: %s\nstatus: running\nsession_id: %s\nworking_dir: %s\nmodel: %s\n"
                       "Call wait with this agent_id for its result.\n",
                  a->id, child->id, child->env->ops->working_directory(child->env),
                  child->model);
    return 0;
}

static int send_input(const json_t *args, lo_agent_tool_ctx *ctx, lo_buf *out, lo_error *err)
{
    lo_agent_session *s = need_session(ctx, "send_input", err);
    subagent *a = s ? need_agent(s, args, err) : NULL;
    if (!a)
        return err->code;
    const char *msg = json_string_value(json_object_get(args, "message"));
    pthread_mutex_lock(&a->mu);
    int rc = 0;
    if (a->running) {
        lo_agent_steer(a->child, msg);
        lo_buf_printf(out, "%s is running: the message reaches it after its current step.\n",
                      a->id);
    } else if (lo_agent_session_state(a->child) == LO_AGENT_CLOSED) {
        rc = lo_error_set(err, LO_EINVAL, "%s has ended (%s); spawn a new agent instead", a->id,
                          a->error[0] ? a->error : "closed");
    } else if ((rc = sub_start(a, msg, err)) == 0) {
        lo_buf_printf(out, "%s had finished; it is working on the message now.\n", a->id);
    }
    pthread_mutex_unlock(&a->mu);
    return rc;
}

static void report(subagent *a, lo_buf *out)
{
    lo_llm_usage u;
    lo_agent_usage(a->child, &u);
    lo_buf_printf(out, "agent_id: %s\nstatus: %s\nturns_used: %d\ntool_calls: %d\n", a->id,
                  a->rc ? "failed" : "completed", lo_agent_turns(a->child),
                  lo_agent_tool_calls(a->child));
    lo_buf_printf(out, "usage: input_tokens=%lld output_tokens=%lld cache_read_tokens=%lld "
                       "cache_write_tokens=%lld\n",
                  (long long)u.input_tokens, (long long)u.output_tokens,
                  (long long)u.cache_read_tokens, (long long)u.cache_write_tokens);
    if (a->rc)
        lo_buf_printf(out, "error: %s\n", a->error);
    lo_buf_printf(out, "output:\n%s\n", lo_agent_last_text(a->child));
}

static int wait_agent(const json_t *args, lo_agent_tool_ctx *ctx, lo_buf *out, lo_error *err)
{
    lo_agent_session *s = need_session(ctx, "wait", err);
    subagent *a = s ? need_agent(s, args, err) : NULL;
    if (!a)
        return err->code;
    pthread_mutex_lock(&a->mu);
    while (a->running && !(ctx->cancel && atomic_load(ctx->cancel))) {
        /* Wake up now and then to notice the parent being aborted. */
        struct timespec until;
        clock_gettime(CLOCK_REALTIME, &until);
        until.tv_nsec += 100 * 1000000L;
        if (until.tv_nsec >= 1000000000L) {
            until.tv_sec++;
            until.tv_nsec -= 1000000000L;
        }
        pthread_cond_timedwait(&a->cv, &a->mu, &until);
    }
    bool running = a->running;
    if (!running && a->joinable) {
        pthread_join(a->th, NULL);
        a->joinable = false;
    }
    pthread_mutex_unlock(&a->mu);
    if (running)
        return lo_error_set(err, LO_ECANCELED, "wait for %s stopped: this session is aborting",
                            a->id);
    report(a, out);
    return 0;
}

static int close_agent(const json_t *args, lo_agent_tool_ctx *ctx, lo_buf *out, lo_error *err)
{
    lo_agent_session *s = need_session(ctx, "close_agent", err);
    if (!s || !need_agent(s, args, err))
        return err->code;
    subagent *a = sub_unlink(s, json_string_value(json_object_get(args, "agent_id")));
    if (!a)
        return lo_error_set(err, LO_ENOENT, "that subagent is already closed");
    pthread_mutex_lock(&a->mu);
    bool was_running = a->running;
    pthread_mutex_unlock(&a->mu);
    atomic_store(&a->child->abort, true);
    subagents_abort(a->child);
    if (a->joinable) {
        pthread_join(a->th, NULL);
        a->joinable = false;
    }
    lo_buf_printf(out, "%s closed (%s, %d turns used).\n", a->id,
                  was_running ? "stopped while running"
                  : a->rc     ? "it had failed"
                              : "it had completed",
                  lo_agent_turns(a->child));
    sub_free(a);
    return 0;
}

/* ------------------------------------------------------------ registration */

bool subagent_tool(const char *name)
{
    return lo_str_eq(name, "spawn_agent") || lo_str_eq(name, "send_input") ||
           lo_str_eq(name, "wait") || lo_str_eq(name, "close_agent");
}

#define ID_PROP \
    "{\"type\": \"string\", \"description\": \"The id spawn_agent returned (agent_1, ...).\"}"

static const struct {
    const char *name, *description, *schema;
    lo_agent_tool_fn fn;
    int64_t max_chars;
} tools[] = {
    {"spawn_agent",
     "Start a subagent: a separate agent with its own conversation that works on a "
     "self-contained task in the same files, in parallel with you. Returns its agent_id at "
     "once; call wait to get its result. Describe the task completely: the subagent does not "
     "see this conversation.",
     "{\"type\": \"object\", \"properties\": {"
     "\"task\": {\"type\": \"string\", \"description\": \"What the subagent should do, in "
     "full.\"}, "
     "\"working_dir\": {\"type\": \"string\", \"description\": \"A subdirectory to confine it "
     "to (default: your working directory).\"}, "
     "\"model\": {\"type\": \"string\", \"description\": \"Another model of the same provider "
     "(default: yours).\"}, "
     "\"max_turns\": {\"type\": \"integer\", \"minimum\": 0, \"description\": \"Most model "
     "turns it may take; 0 = no limit.\"}}, "
     "\"required\": [\"task\"], \"additionalProperties\": false}",
     spawn_agent, 20000},
    {"send_input",
     "Send a message to a subagent: while it runs, the message joins its conversation after "
     "its current step; when it has finished, it starts working on the message.",
     "{\"type\": \"object\", \"properties\": {\"agent_id\": " ID_PROP ", \"message\": {\"type\": "
     "\"string\"}}, \"required\": [\"agent_id\", \"message\"], \"additionalProperties\": false}",
     send_input, 0},
    {"wait",
     "Wait until a subagent has finished and return its final answer, status (completed or "
     "failed), turns used and token usage.",
     "{\"type\": \"object\", \"properties\": {\"agent_id\": " ID_PROP "}, \"required\": [\"agent_id\"], "
     "\"additionalProperties\": false}",
     wait_agent, 20000},
    {"close_agent",
     "Stop a subagent (if it is still running) and release it. Returns its final status.",
     "{\"type\": \"object\", \"properties\": {\"agent_id\": " ID_PROP "}, \"required\": [\"agent_id\"], "
     "\"additionalProperties\": false}",
     close_agent, 0},
};

int subagent_add_tools(lo_agent_registry *r, lo_error *err)
{
    for (size_t i = 0; i < sizeof tools / sizeof tools[0]; i++) {
        json_error_t je;
        json_t *schema = json_loads(tools[i].schema, 0, &je);
        if (!schema)
            return lo_error_set(err, LO_ENOMEM, "%s: schema: %s", tools[i].name, je.text);
        lo_agent_tool t = {.name = tools[i].name, .description = tools[i].description,
                           .parameters = schema, .fn = tools[i].fn,
                           .max_chars = tools[i].max_chars};
        int rc = lo_agent_registry_add(r, &t, err);
        json_decref(schema);
        if (rc)
            return rc;
    }
    return 0;
}
