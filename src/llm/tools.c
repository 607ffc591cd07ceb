/* Tool execution for generate (unified-llm-spec §5.2, §5.7, §5.8): the
 * calls of one response are checked (known tool, arguments an object that
 * satisfies the tool's schema), then every handler runs at once on a
 * thread of its own, and the results come back in call order. A call that
 * cannot run is answered with an error result the model sees; only a
 * schema the validator cannot read stops the generate (a programming
 * error, not the model's). */
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "lightsout/llm.h"

#include "generate_internal.h"

/* One call on its way to its handler. */
typedef struct task {
    const lo_llm_tool_handler *h;
    const lo_llm_tool_call *call;
    lo_llm_tool_ctx ctx;
    int rc;
    json_t *result;
    pthread_t thread;
    bool threaded;
} task;

const lo_llm_tool *lo_llm_find_tool_(const lo_llm_request *req, const char *name)
{
    for (size_t i = 0; name && i < req->n_tools; i++)
        if (strcmp(req->tools[i].name, name) == 0)
            return &req->tools[i];
    return NULL;
}

const lo_llm_tool_handler *lo_llm_find_handler_(const lo_llm_generate_opts *o, const char *name)
{
    for (size_t i = 0; name && i < o->n_handlers; i++)
        if (o->handlers[i].name && strcmp(o->handlers[i].name, name) == 0 &&
            o->handlers[i].execute)
            return &o->handlers[i];
    return NULL;
}

void lo_llm_tool_result_release_(lo_llm_tool_result *r)
{
    free(r->tool_call_id);
    json_decref(r->content);
    free(r->image.url);
    free(r->image.data);
    free(r->image.path);
    free(r->image.media_type);
    free(r->image.detail);
    free(r->image.file_name);
    memset(r, 0, sizeof *r);
}

/* Tool output as tool result content: strings, objects and arrays as they
 * are, other JSON values (numbers, booleans, null) as their JSON text. */
static json_t *as_content(json_t *v)
{
    if (json_is_string(v) || json_is_object(v) || json_is_array(v))
        return v;
    char *s = json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT);
    json_decref(v);
    json_t *t = s ? json_string(s) : NULL;
    free(s);
    return t;
}

static int set_result(lo_llm_tool_result *r, const char *id, json_t *content, bool is_error)
{
    r->tool_call_id = lo_strdup(id ? id : "");
    r->content = content;
    r->is_error = is_error;
    return r->tool_call_id && r->content ? 0 : LO_ENOMEM;
}

static int error_result(lo_llm_tool_result *r, const char *id, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int error_result(lo_llm_tool_result *r, const char *id, const char *fmt, ...)
{
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return set_result(r, id, json_string(msg), true);
}

static void *task_main(void *arg)
{
    task *t = arg;
    t->rc = t->h->execute(t->h->ud, t->call->arguments, &t->ctx, &t->result);
    return NULL;
}

/* The handler's outcome -> r. */
static int collect(const task *t, lo_llm_tool_result *r)
{
    json_t *v = t->result;
    if (t->rc == 0)
        return set_result(r, t->call->id, v ? as_content(v) : json_string(""), false);
    if (json_is_string(v))
        return set_result(r, t->call->id, v, true);
    json_t *content = v ? as_content(v) : NULL;
    if (content)
        return set_result(r, t->call->id, content, true);
    return error_result(r, t->call->id, "tool %s failed", t->call->name);
}

/* Check one call; fill *r with an error result (and return 0) when it
 * cannot run, or set *runnable. */
static int check_call(const lo_llm_request *conv, const lo_llm_generate_opts *o,
                      const lo_llm_tool_call *call, lo_llm_tool_result *r, bool *runnable,
                      lo_llm_error *err)
{
    *runnable = false;
    const lo_llm_tool *tool = lo_llm_find_tool_(conv, call->name);
    const lo_llm_tool_handler *h = lo_llm_find_handler_(o, call->name);
    if (!tool || !h)
        return error_result(r, call->id, "Unknown tool: %s", call->name ? call->name : "");
    if (!json_is_object(call->arguments))
        return error_result(r, call->id,
                            "invalid arguments for tool %s: not a JSON object: %.200s",
                            call->name, call->raw_arguments ? call->raw_arguments : "(none)");
    if (!o->no_validation && tool->parameters) {
        char why[512];
        int rc = lo_json_schema_validate(tool->parameters, call->arguments, why, sizeof why);
        if (rc == LO_EPARSE) {
            lo_llm_error_set(err, LO_LLM_ERR_INVALID_REQUEST, NULL,
                             "tool %s: its parameter schema cannot be checked: %s", call->name,
                             why);
            return LO_EINVAL;
        }
        if (rc)
            return error_result(r, call->id, "invalid arguments for tool %s: %s", call->name,
                                why);
    }
    *runnable = true;
    return 0;
}

int lo_llm_run_tools_(const lo_llm_request *conv, const lo_llm_generate_opts *o,
                      const lo_llm_tool_call *const *calls, size_t n, const atomic_bool *cancel,
                      lo_llm_tool_result **out, lo_llm_error *err)
{
    *out = NULL;
    lo_llm_tool_result *res = lo_calloc(n ? n : 1, sizeof *res);
    task *tasks = lo_calloc(n ? n : 1, sizeof *tasks);
    int rc = res && tasks ? 0 : LO_ENOMEM;
    size_t n_run = 0;
    for (size_t i = 0; rc == 0 && i < n; i++) {
        bool runnable;
        rc = check_call(conv, o, calls[i], &res[i], &runnable, err);
        if (rc == 0 && runnable) {
            task *t = &tasks[i];
            t->h = lo_llm_find_handler_(o, calls[i]->name);
            t->call = calls[i];
            t->ctx = (lo_llm_tool_ctx){.tool_call_id = calls[i]->id,
                                       .tool_name = calls[i]->name,
                                       .conversation = conv,
                                       .cancel = cancel};
            n_run++;
        }
    }
    if (rc == 0 && cancel && atomic_load(cancel)) {
        lo_llm_error_set(err, LO_LLM_ERR_ABORT, NULL, "cancelled before the tools ran");
        rc = LO_ECANCELED;
    }
    /* All at once (§5.7): one thread per call when there are several; the
     * results wait for every one of them. A thread that cannot start runs
     * its call here instead. */
    for (size_t i = 0; rc == 0 && i < n; i++) {
        task *t = &tasks[i];
        if (!t->h)
            continue;
        t->threaded = n_run > 1 && pthread_create(&t->thread, NULL, task_main, t) == 0;
        if (!t->threaded)
            task_main(t);
    }
    for (size_t i = 0; rc == 0 && i < n; i++)
        if (tasks[i].threaded)
            pthread_join(tasks[i].thread, NULL);
    for (size_t i = 0; i < n && tasks; i++) {
        if (rc == 0 && tasks[i].h) {
            rc = collect(&tasks[i], &res[i]);
            tasks[i].result = NULL; /* collect took it */
        }
        json_decref(tasks[i].result);
    }
    free(tasks);
    if (rc) {
        if (rc == LO_ENOMEM)
            lo_llm_error_set(err, LO_LLM_ERR_PROVIDER, NULL, "out of memory running tools");
        for (size_t i = 0; res && i < n; i++)
            lo_llm_tool_result_release_(&res[i]);
        free(res);
        return rc;
    }
    *out = res;
    return 0;
}
