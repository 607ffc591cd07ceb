/* Sessions (§2.1-§2.3): creation with a resolved configuration, the
 * lifecycle states, the steering and follow-up queues, reasoning effort,
 * abort, and the counters and usage hosts read. The loop itself is in
 * loop.c. */
#include <string.h>
#include <sys/random.h>

#include "agent/session_internal.h"

void lo_agent_config_init(lo_agent_config *c)
{
    *c = (lo_agent_config){
        .default_command_timeout_ms = 0,
        .max_command_timeout_ms = 600000,
        .enable_loop_detection = true,
        .loop_detection_window = 10,
        .max_subagent_depth = 1,
    };
}

/* ------------------------------------------------------------ config copy */

static void config_release(lo_agent_config *c)
{
    free((char *)c->reasoning_effort);
    free((char *)c->user_instructions);
    for (size_t i = 0; i < c->n_limits; i++)
        free((char *)c->limits[i].tool);
    free((lo_agent_limit *)c->limits);
    memset(c, 0, sizeof *c);
}

static int config_copy(lo_agent_config *dst, const lo_agent_config *src,
                       const lo_agent_profile *p)
{
    lo_agent_config def;
    lo_agent_config_init(&def);
    if (!src)
        src = &def;
    *dst = *src;
    dst->reasoning_effort = NULL;
    dst->user_instructions = NULL;
    dst->limits = NULL;
    dst->n_limits = 0;
    if (dst->default_command_timeout_ms <= 0)
        dst->default_command_timeout_ms = p->fl->default_timeout_ms;
    if (dst->max_command_timeout_ms <= 0)
        dst->max_command_timeout_ms = def.max_command_timeout_ms;
    if (dst->loop_detection_window <= 0)
        dst->loop_detection_window = def.loop_detection_window;
    if (dst->max_subagent_depth < 0)
        dst->max_subagent_depth = 0;
    if ((src->reasoning_effort && !(dst->reasoning_effort = lo_strdup(src->reasoning_effort))) ||
        (src->user_instructions &&
         !(dst->user_instructions = lo_strdup(src->user_instructions))))
        return LO_ENOMEM;
    if (src->n_limits) {
        lo_agent_limit *l = lo_calloc(src->n_limits, sizeof *l);
        if (!l)
            return LO_ENOMEM;
        dst->limits = l;
        for (size_t i = 0; i < src->n_limits; i++) {
            l[i] = src->limits[i];
            l[i].tool = lo_strdup(src->limits[i].tool ? src->limits[i].tool : "");
            dst->n_limits = i + 1;
            if (!l[i].tool)
                return LO_ENOMEM;
        }
    }
    return 0;
}

/* ------------------------------------------------------------ queues */

static int queue_push(lo_agent_session *s, str_queue *q, const char *msg)
{
    char *m = lo_strdup(msg);
    if (!m)
        return LO_ENOMEM;
    pthread_mutex_lock(&s->mu);
    if (q->head && q->head == q->n)
        q->head = q->n = 0;
    if (q->n == q->cap) {
        size_t cap = q->cap ? q->cap * 2 : 4;
        char **v = lo_realloc(q->v, cap * sizeof *v);
        if (!v) {
            pthread_mutex_unlock(&s->mu);
            free(m);
            return LO_ENOMEM;
        }
        q->v = v;
        q->cap = cap;
    }
    q->v[q->n++] = m;
    pthread_mutex_unlock(&s->mu);
    return 0;
}

char *queue_pop(lo_agent_session *s, str_queue *q)
{
    pthread_mutex_lock(&s->mu);
    char *m = q->head < q->n ? q->v[q->head++] : NULL;
    pthread_mutex_unlock(&s->mu);
    return m;
}

static void queue_release(str_queue *q)
{
    for (size_t i = q->head; i < q->n; i++)
        free(q->v[i]);
    free(q->v);
    memset(q, 0, sizeof *q);
}

/* ------------------------------------------------------------ lifecycle */

static void make_id(char out[40])
{
    unsigned char b[16];
    if (getrandom(b, sizeof b, 0) != (ssize_t)sizeof b) {
        /* No entropy source: time and address still tell sessions apart. */
        uint64_t t = (uint64_t)agent_now_ms(), a = (uint64_t)(uintptr_t)out;
        memcpy(b, &t, 8);
        memcpy(b + 8, &a, 8);
    }
    b[6] = (unsigned char)((b[6] & 0x0f) | 0x40); /* version 4 */
    b[8] = (unsigned char)((b[8] & 0x3f) | 0x80); /* RFC 4122 variant */
    snprintf(out, 40,
             "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", b[0], b[1],
             b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13], b[14],
             b[15]);
}

static void session_destroy(lo_agent_session *s)
{
    lo_agent_env_free(s->own_env);
    lo_llm_request_free(s->req);
    prompt_parts_release(&s->prompt);
    free(s->snap);
    loop_detector_release(&s->loops);
    queue_release(&s->steer);
    queue_release(&s->follow);
    config_release(&s->cfg);
    free(s->model);
    free(s->effort);
    free(s->last_text);
    pthread_mutex_destroy(&s->mu);
    pthread_mutex_destroy(&s->emit_mu);
    pthread_mutex_destroy(&s->sub_mu);
    free(s);
}

lo_agent_session *session_create(lo_agent_profile *profile, lo_agent_env *env,
                                 lo_llm_client *client, const lo_agent_config *cfg,
                                 lo_agent_event_fn on_event, void *ud,
                                 lo_agent_session *parent, const char *model, lo_error *err)
{
    if (!profile || !env || !client) {
        lo_error_set(err, LO_EINVAL, "a session needs a profile, an environment and a client");
        return NULL;
    }
    lo_agent_session *s = lo_calloc(1, sizeof *s);
    if (!s) {
        lo_error_set(err, LO_ENOMEM, "out of memory");
        return NULL;
    }
    pthread_mutex_init(&s->mu, NULL);
    /* Recursive: a host's callback may call back into the session (abort on
     * processing_end emits session_end from inside the callback). */
    pthread_mutexattr_t ma;
    pthread_mutexattr_init(&ma);
    pthread_mutexattr_settype(&ma, PTHREAD_MUTEX_RECURSIVE);
    pthread_mutex_init(&s->emit_mu, &ma);
    pthread_mutexattr_destroy(&ma);
    pthread_mutex_init(&s->sub_mu, NULL);
    atomic_init(&s->abort, false);
    make_id(s->id);
    s->profile = profile;
    s->env = env;
    s->client = client;
    s->on_event = on_event;
    s->ud = ud;
    s->parent = parent;
    s->depth = parent ? parent->depth + 1 : 0;
    s->state = LO_AGENT_IDLE;
    lo_llm_usage_init(&s->usage);
    s->model = lo_strdup(model ? model : profile->model);
    if (!s->model || config_copy(&s->cfg, cfg, profile) != 0 ||
        (s->cfg.reasoning_effort && !(s->effort = lo_strdup(s->cfg.reasoning_effort))) ||
        !(s->last_text = lo_strdup("")) ||
        loop_detector_init(&s->loops, s->cfg.enable_loop_detection
                                          ? s->cfg.loop_detection_window : 0) != 0) {
        lo_error_set(err, LO_ENOMEM, "out of memory");
        goto fail;
    }
    s->entry = profile->catalog ? lo_llm_model_find(profile->catalog, s->model) : NULL;
    if (prompt_parts_build(profile, env, s->model, s->cfg.user_instructions, &s->prompt, err))
        goto fail;
    s->req = lo_llm_request_new(s->model);
    if (!s->req || !(s->req->provider = lo_strdup(profile->provider))) {
        lo_error_set(err, LO_ENOMEM, "out of memory");
        goto fail;
    }
    if (s->cfg.max_tokens > 0) {
        s->req->has_max_tokens = true;
        s->req->max_tokens = s->cfg.max_tokens;
    }
    if (session_refresh(s, err) != 0)
        goto fail;
    json_t *d = json_pack("{s:s, s:s, s:s, s:i}", "provider", profile->provider, "model",
                          s->model, "working_directory", env->ops->working_directory(env),
                          "depth", s->depth);
    if (d && parent)
        json_object_set_new(d, "parent_session_id", json_string(parent->id));
    session_emit(s, LO_AGENT_SESSION_START, d);
    return s;
fail:
    session_destroy(s);
    return NULL;
}

lo_agent_session *lo_agent_session_new(lo_agent_profile *profile, lo_agent_env *env,
                                       lo_llm_client *client, const lo_agent_config *cfg,
                                       lo_agent_event_fn on_event, void *ud, lo_error *err)
{
    return session_create(profile, env, client, cfg, on_event, ud, NULL, NULL, err);
}

static json_t *usage_or_null(int64_t v)
{
    return v == LO_TOKENS_UNREPORTED ? json_null() : json_integer(v);
}

json_t *agent_usage_json(const lo_llm_usage *u)
{
    return json_pack("{s:o, s:o, s:o, s:o, s:o, s:o}", "input_tokens",
                     usage_or_null(u->input_tokens), "output_tokens",
                     usage_or_null(u->output_tokens), "total_tokens",
                     usage_or_null(u->total_tokens), "reasoning_tokens",
                     usage_or_null(u->reasoning_tokens), "cache_read_tokens",
                     usage_or_null(u->cache_read_tokens), "cache_write_tokens",
                     usage_or_null(u->cache_write_tokens));
}

void session_shutdown(lo_agent_session *s)
{
    subagents_close(s);
    pthread_mutex_lock(&s->mu);
    bool first = !s->ended;
    s->ended = true;
    s->state = LO_AGENT_CLOSED;
    lo_llm_usage u = s->usage;
    int turns = s->turns, calls = s->tool_calls;
    pthread_mutex_unlock(&s->mu);
    if (first)
        session_emit(s, LO_AGENT_SESSION_END,
                     json_pack("{s:s, s:i, s:i, s:o}", "state", "closed", "turns", turns,
                               "tool_calls", calls, "usage", agent_usage_json(&u)));
}

void lo_agent_session_free(lo_agent_session *s)
{
    if (!s)
        return;
    atomic_store(&s->abort, true);
    session_shutdown(s);
    session_destroy(s);
}

/* ------------------------------------------------------------ control */

int lo_agent_submit(lo_agent_session *s, const char *input, lo_error *err)
{
    if (!input)
        return lo_error_set(err, LO_EINVAL, "submit: no input");
    pthread_mutex_lock(&s->mu);
    lo_agent_state st = s->state;
    if (st != LO_AGENT_CLOSED && st != LO_AGENT_PROCESSING)
        s->state = LO_AGENT_PROCESSING;
    pthread_mutex_unlock(&s->mu);
    if (st == LO_AGENT_CLOSED)
        return lo_error_set(err, LO_EINVAL, "session %s is closed", s->id);
    if (st == LO_AGENT_PROCESSING)
        return lo_error_set(err, LO_EINVAL, "session %s is already processing an input", s->id);
    return session_process(s, input, err);
}

void lo_agent_steer(lo_agent_session *s, const char *message)
{
    if (message)
        queue_push(s, &s->steer, message);
}

void lo_agent_follow_up(lo_agent_session *s, const char *message)
{
    if (message)
        queue_push(s, &s->follow, message);
}

void lo_agent_set_reasoning_effort(lo_agent_session *s, const char *effort)
{
    char *e = effort ? lo_strdup(effort) : NULL;
    if (effort && !e)
        return;
    pthread_mutex_lock(&s->mu);
    free(s->effort);
    s->effort = e;
    pthread_mutex_unlock(&s->mu);
}

void lo_agent_abort(lo_agent_session *s)
{
    atomic_store(&s->abort, true);
    subagents_abort(s);
    pthread_mutex_lock(&s->mu);
    bool idle = s->state == LO_AGENT_IDLE || s->state == LO_AGENT_AWAITING_INPUT;
    pthread_mutex_unlock(&s->mu);
    /* A running loop shuts down itself when it sees the flag. */
    if (idle)
        session_shutdown(s);
}

/* ------------------------------------------------------------ counters */

void session_account(lo_agent_session *s, const lo_llm_usage *u)
{
    double usd = 0;
    bool known = lo_llm_cost(s->entry, u, &usd) == 0;
    for (lo_agent_session *x = s; x; x = x->parent) {
        pthread_mutex_lock(&x->mu);
        lo_llm_usage_add(&x->usage, u);
        if (known)
            x->cost_usd += usd;
        else
            x->cost_unknown = true;
        pthread_mutex_unlock(&x->mu);
    }
}

const char *lo_agent_session_id(const lo_agent_session *s) { return s->id; }

lo_agent_state lo_agent_session_state(const lo_agent_session *s)
{
    pthread_mutex_lock((pthread_mutex_t *)&s->mu);
    lo_agent_state st = s->state;
    pthread_mutex_unlock((pthread_mutex_t *)&s->mu);
    return st;
}

const char *lo_agent_last_text(const lo_agent_session *s) { return s->last_text; }

void lo_agent_usage(const lo_agent_session *s, lo_llm_usage *out)
{
    pthread_mutex_lock((pthread_mutex_t *)&s->mu);
    *out = s->usage;
    pthread_mutex_unlock((pthread_mutex_t *)&s->mu);
}

int lo_agent_cost(const lo_agent_session *s, double *usd)
{
    pthread_mutex_lock((pthread_mutex_t *)&s->mu);
    bool unknown = s->cost_unknown;
    double c = s->cost_usd;
    pthread_mutex_unlock((pthread_mutex_t *)&s->mu);
    if (unknown)
        return LO_ENOENT;
    *usd = c;
    return 0;
}

int lo_agent_turns(const lo_agent_session *s)
{
    pthread_mutex_lock((pthread_mutex_t *)&s->mu);
    int n = s->turns;
    pthread_mutex_unlock((pthread_mutex_t *)&s->mu);
    return n;
}

int lo_agent_tool_calls(const lo_agent_session *s)
{
    pthread_mutex_lock((pthread_mutex_t *)&s->mu);
    int n = s->tool_calls;
    pthread_mutex_unlock((pthread_mutex_t *)&s->mu);
    return n;
}

const char *lo_agent_session_system_prompt(const lo_agent_session *s)
{
    if (s->req && s->req->n_messages && s->req->messages[0]->role == LO_ROLE_SYSTEM &&
        s->req->messages[0]->n_parts)
        return s->req->messages[0]->parts[0].text;
    return s->prompt.head ? s->prompt.head : "";
}
