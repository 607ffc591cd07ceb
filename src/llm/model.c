/* The LLM data model (unified-llm-spec §3): messages and their parts,
 * responses, usage and stream events; requests are in request.c, the error
 * taxonomy (§6) in error.c. Pure data: no I/O. */
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "lightsout/llm.h"

#include "model_internal.h"

/* ---- names ---- */

static const char *const role_names[] = {"system", "user", "assistant", "tool", "developer"};

const char *lo_llm_role_name(lo_llm_role r)
{
    return (unsigned)r < sizeof role_names / sizeof *role_names ? role_names[r] : "unknown";
}

int lo_llm_role_parse(const char *s, lo_llm_role *out)
{
    for (size_t i = 0; s && i < sizeof role_names / sizeof *role_names; i++)
        if (strcmp(s, role_names[i]) == 0) {
            *out = (lo_llm_role)i;
            return 0;
        }
    return LO_EINVAL;
}

const char *lo_llm_content_kind_name(lo_llm_content_kind k)
{
    static const char *const names[] = {"text",        "image",       "audio",
                                        "document",    "tool_call",   "tool_result",
                                        "thinking",    "redacted_thinking", "other"};
    return (unsigned)k < sizeof names / sizeof *names ? names[k] : "unknown";
}

const char *lo_llm_finish_name(lo_llm_finish f)
{
    static const char *const names[] = {"stop", "length", "tool_calls",
                                        "content_filter", "error", "other"};
    return (unsigned)f < sizeof names / sizeof *names ? names[f] : "other";
}

const char *lo_llm_stream_event_name(lo_llm_stream_event_type t)
{
    static const char *const names[] = {
        "stream_start",    "text_start",      "text_delta",     "text_end",
        "reasoning_start", "reasoning_delta", "reasoning_end",  "tool_call_start",
        "tool_call_delta", "tool_call_end",   "finish",         "error",
        "provider_event",  "step_finish"};
    return (unsigned)t < sizeof names / sizeof *names ? names[t] : "unknown";
}

/* ---- helpers ---- */

static void media_release(lo_llm_media *m)
{
    free(m->url);
    free(m->data);
    free(m->path);
    free(m->media_type);
    free(m->detail);
    free(m->file_name);
    memset(m, 0, sizeof *m);
}

static int media_copy(lo_llm_media *dst, const lo_llm_media *src)
{
    bool ok = true;
    memset(dst, 0, sizeof *dst);
    dst->url = dup_or_null(src->url, &ok);
    dst->data = dup_or_null(src->data, &ok);
    dst->path = dup_or_null(src->path, &ok);
    dst->media_type = dup_or_null(src->media_type, &ok);
    dst->detail = dup_or_null(src->detail, &ok);
    dst->file_name = dup_or_null(src->file_name, &ok);
    if (!ok) {
        media_release(dst);
        return LO_ENOMEM;
    }
    return 0;
}

static bool media_has_one_source(const lo_llm_media *m)
{
    return (m->url != NULL) + (m->data != NULL) + (m->path != NULL) == 1;
}

static void tool_call_release(lo_llm_tool_call *tc)
{
    free(tc->id);
    free(tc->name);
    json_decref(tc->arguments);
    free(tc->raw_arguments);
    free(tc->type);
    memset(tc, 0, sizeof *tc);
}

static int tool_call_copy(lo_llm_tool_call *dst, const lo_llm_tool_call *src)
{
    bool ok = true;
    memset(dst, 0, sizeof *dst);
    dst->id = dup_or_null(src->id, &ok);
    dst->name = dup_or_null(src->name, &ok);
    dst->raw_arguments = dup_or_null(src->raw_arguments, &ok);
    dst->type = dup_or_null(src->type, &ok);
    if (src->arguments && !(dst->arguments = json_deep_copy(src->arguments)))
        ok = false;
    if (!ok) {
        tool_call_release(dst);
        return LO_ENOMEM;
    }
    return 0;
}

void lo_llm_part_release(lo_llm_part *p)
{
    if (!p)
        return;
    switch (p->kind) {
    case LO_CONTENT_TEXT:
        free(p->text);
        break;
    case LO_CONTENT_IMAGE:
    case LO_CONTENT_AUDIO:
    case LO_CONTENT_DOCUMENT:
        media_release(&p->media);
        break;
    case LO_CONTENT_TOOL_CALL:
        tool_call_release(&p->tool_call);
        break;
    case LO_CONTENT_TOOL_RESULT:
        free(p->tool_result.tool_call_id);
        json_decref(p->tool_result.content);
        media_release(&p->tool_result.image);
        break;
    case LO_CONTENT_THINKING:
        free(p->thinking.text);
        free(p->thinking.signature);
        break;
    case LO_CONTENT_REDACTED_THINKING:
        free(p->redacted.data);
        break;
    case LO_CONTENT_OTHER:
        free(p->other.name);
        json_decref(p->other.raw);
        break;
    }
    memset(p, 0, sizeof *p);
}

static int part_copy(lo_llm_part *dst, const lo_llm_part *src)
{
    bool ok = true;
    memset(dst, 0, sizeof *dst);
    dst->kind = src->kind;
    switch (src->kind) {
    case LO_CONTENT_TEXT:
        dst->text = dup_or_null(src->text, &ok);
        break;
    case LO_CONTENT_IMAGE:
    case LO_CONTENT_AUDIO:
    case LO_CONTENT_DOCUMENT:
        return media_copy(&dst->media, &src->media);
    case LO_CONTENT_TOOL_CALL:
        return tool_call_copy(&dst->tool_call, &src->tool_call);
    case LO_CONTENT_TOOL_RESULT:
        dst->tool_result.tool_call_id = dup_or_null(src->tool_result.tool_call_id, &ok);
        dst->tool_result.is_error = src->tool_result.is_error;
        if (src->tool_result.content &&
            !(dst->tool_result.content = json_deep_copy(src->tool_result.content)))
            ok = false;
        if (ok && media_copy(&dst->tool_result.image, &src->tool_result.image))
            ok = false;
        break;
    case LO_CONTENT_THINKING:
        dst->thinking.text = dup_or_null(src->thinking.text, &ok);
        dst->thinking.signature = dup_or_null(src->thinking.signature, &ok);
        break;
    case LO_CONTENT_REDACTED_THINKING:
        dst->redacted.data = dup_or_null(src->redacted.data, &ok);
        break;
    case LO_CONTENT_OTHER:
        dst->other.name = dup_or_null(src->other.name, &ok);
        if (src->other.raw && !(dst->other.raw = json_deep_copy(src->other.raw)))
            ok = false;
        break;
    }
    if (!ok) {
        lo_llm_part_release(dst);
        return LO_ENOMEM;
    }
    return 0;
}

/* ---- messages ---- */

lo_llm_message *lo_llm_message_new(lo_llm_role role)
{
    lo_llm_message *m = lo_calloc(1, sizeof *m);
    if (m)
        m->role = role;
    return m;
}

void lo_llm_message_free(lo_llm_message *m)
{
    if (!m)
        return;
    for (size_t i = 0; i < m->n_parts; i++)
        lo_llm_part_release(&m->parts[i]);
    free(m->parts);
    free(m->name);
    free(m->tool_call_id);
    free(m);
}

/* Room for one more part; returns it zeroed (not yet counted) or NULL. */
static lo_llm_part *next_part(lo_llm_message *m)
{
    if (m->n_parts == m->cap_parts) {
        size_t cap = m->cap_parts ? m->cap_parts * 2 : 4;
        lo_llm_part *p = lo_realloc(m->parts, cap * sizeof *p);
        if (!p)
            return NULL;
        m->parts = p;
        m->cap_parts = cap;
    }
    lo_llm_part *p = &m->parts[m->n_parts];
    memset(p, 0, sizeof *p);
    return p;
}

lo_llm_message *lo_llm_message_clone(const lo_llm_message *m)
{
    if (!m)
        return NULL;
    lo_llm_message *c = lo_llm_message_new(m->role);
    if (!c)
        return NULL;
    bool ok = true;
    c->name = dup_or_null(m->name, &ok);
    c->tool_call_id = dup_or_null(m->tool_call_id, &ok);
    for (size_t i = 0; ok && i < m->n_parts; i++) {
        lo_llm_part *p = next_part(c);
        if (!p || part_copy(p, &m->parts[i]))
            ok = false;
        else
            c->n_parts++;
    }
    if (!ok) {
        lo_llm_message_free(c);
        return NULL;
    }
    return c;
}

lo_llm_message *lo_llm_text_message(lo_llm_role role, const char *text)
{
    lo_llm_message *m = lo_llm_message_new(role);
    if (m && lo_llm_message_add_text(m, text ? text : "") != 0) {
        lo_llm_message_free(m);
        return NULL;
    }
    return m;
}

lo_llm_message *lo_llm_tool_result_message(const char *tool_call_id, const char *content,
                                           bool is_error)
{
    if (!tool_call_id)
        return NULL;
    lo_llm_message *m = lo_llm_message_new(LO_ROLE_TOOL);
    if (!m)
        return NULL;
    json_t *c = NULL;
    if (!(m->tool_call_id = lo_strdup(tool_call_id)) ||
        !(c = json_string(content ? content : "")) ||
        lo_llm_message_add_tool_result(m, tool_call_id, c, is_error) != 0) {
        lo_llm_message_free(m);
        return NULL;
    }
    return m;
}

int lo_llm_message_set_name(lo_llm_message *m, const char *name)
{
    char *n = NULL;
    if (name && !(n = lo_strdup(name)))
        return LO_ENOMEM;
    free(m->name);
    m->name = n;
    return 0;
}

int lo_llm_message_add_text(lo_llm_message *m, const char *text)
{
    if (!m || !text)
        return LO_EINVAL;
    lo_llm_part *p = next_part(m);
    if (!p || !(p->text = lo_strdup(text)))
        return LO_ENOMEM;
    p->kind = LO_CONTENT_TEXT;
    m->n_parts++;
    return 0;
}

int lo_llm_message_add_media(lo_llm_message *m, lo_llm_content_kind kind,
                             const lo_llm_media *src)
{
    if (!m || !src || !media_has_one_source(src) ||
        (kind != LO_CONTENT_IMAGE && kind != LO_CONTENT_AUDIO && kind != LO_CONTENT_DOCUMENT))
        return LO_EINVAL;
    lo_llm_part *p = next_part(m);
    if (!p || media_copy(&p->media, src))
        return LO_ENOMEM;
    p->kind = kind;
    m->n_parts++;
    return 0;
}

int lo_llm_message_add_tool_call(lo_llm_message *m, const char *id, const char *name,
                                 json_t *arguments, const char *raw_arguments)
{
    if (!m || !id || !name || (arguments && !json_is_object(arguments)) ||
        (!arguments && !raw_arguments)) {
        json_decref(arguments);
        return LO_EINVAL;
    }
    /* Models sometimes emit arguments that are not a JSON object; the raw
     * text is kept either way so the caller can report it (§5.4). */
    if (!arguments) {
        arguments = json_loads(raw_arguments, JSON_DECODE_ANY, NULL);
        if (arguments && !json_is_object(arguments)) {
            json_decref(arguments);
            arguments = NULL;
        }
    }
    lo_llm_part *p = next_part(m);
    bool ok = p != NULL;
    if (ok) {
        p->tool_call.id = dup_or_null(id, &ok);
        p->tool_call.name = dup_or_null(name, &ok);
        p->tool_call.raw_arguments = dup_or_null(raw_arguments, &ok);
        p->tool_call.arguments = arguments;
        arguments = NULL;
        p->kind = LO_CONTENT_TOOL_CALL;
        if (!ok)
            lo_llm_part_release(p);
    }
    json_decref(arguments);
    if (!ok)
        return LO_ENOMEM;
    m->n_parts++;
    return 0;
}

int lo_llm_message_add_tool_result(lo_llm_message *m, const char *tool_call_id,
                                   json_t *content, bool is_error)
{
    if (!m || !tool_call_id || !content ||
        !(json_is_string(content) || json_is_object(content) || json_is_array(content))) {
        json_decref(content);
        return LO_EINVAL;
    }
    lo_llm_part *p = next_part(m);
    if (!p || !(p->tool_result.tool_call_id = lo_strdup(tool_call_id))) {
        json_decref(content);
        return LO_ENOMEM;
    }
    p->kind = LO_CONTENT_TOOL_RESULT;
    p->tool_result.content = content;
    p->tool_result.is_error = is_error;
    m->n_parts++;
    return 0;
}

int lo_llm_message_add_thinking(lo_llm_message *m, const char *text, const char *signature)
{
    if (!m || !text)
        return LO_EINVAL;
    lo_llm_part *p = next_part(m);
    bool ok = p != NULL;
    if (ok) {
        p->kind = LO_CONTENT_THINKING;
        p->thinking.text = dup_or_null(text, &ok);
        p->thinking.signature = dup_or_null(signature, &ok);
        if (!ok)
            lo_llm_part_release(p);
    }
    if (!ok)
        return LO_ENOMEM;
    m->n_parts++;
    return 0;
}

int lo_llm_message_add_redacted_thinking(lo_llm_message *m, const char *data)
{
    if (!m || !data)
        return LO_EINVAL;
    lo_llm_part *p = next_part(m);
    if (!p || !(p->redacted.data = lo_strdup(data)))
        return LO_ENOMEM;
    p->kind = LO_CONTENT_REDACTED_THINKING;
    m->n_parts++;
    return 0;
}

/* Concatenate the text of parts of one kind; NULL when none and !empty_ok. */
static char *concat_parts(const lo_llm_message *m, lo_llm_content_kind kind, bool empty_ok)
{
    lo_buf b;
    lo_buf_init(&b, 0);
    bool any = false;
    for (size_t i = 0; m && i < m->n_parts; i++) {
        const lo_llm_part *p = &m->parts[i];
        if (p->kind != kind)
            continue;
        const char *s = kind == LO_CONTENT_TEXT ? p->text : p->thinking.text;
        /* A thinking part without text only carries a signature (Gemini
         * signs answers and calls): it is no reasoning to show. */
        any = any || kind == LO_CONTENT_TEXT || (s && *s);
        if (s && lo_buf_puts(&b, s) != 0) {
            lo_buf_release(&b);
            return NULL;
        }
    }
    if (!any && !empty_ok) {
        lo_buf_release(&b);
        return NULL;
    }
    if (!b.data)
        return lo_strdup("");
    return lo_buf_steal(&b);
}

char *lo_llm_message_text(const lo_llm_message *m)
{
    return concat_parts(m, LO_CONTENT_TEXT, true);
}

/* ---- tools ---- */

bool lo_llm_tool_name_valid(const char *name)
{
    if (!name || !isalpha((unsigned char)name[0]))
        return false;
    size_t n = 0;
    for (const char *s = name; *s; s++, n++)
        if (!(isalnum((unsigned char)*s) || *s == '_') || (unsigned char)*s >= 0x80)
            return false;
    return n <= 64;
}

/* ---- finish reasons ---- */

lo_llm_finish lo_llm_finish_from_provider(const char *provider, const char *raw)
{
    /* The §3.8 table. Values do not collide across providers, so provider
     * only narrows the match when given. */
    static const struct {
        const char *provider, *raw;
        lo_llm_finish reason;
    } map[] = {
        {"openai", "stop", LO_FINISH_STOP},
        {"openai", "length", LO_FINISH_LENGTH},
        {"openai", "tool_calls", LO_FINISH_TOOL_CALLS},
        {"openai", "content_filter", LO_FINISH_CONTENT_FILTER},
        {"anthropic", "end_turn", LO_FINISH_STOP},
        {"anthropic", "stop_sequence", LO_FINISH_STOP},
        {"anthropic", "max_tokens", LO_FINISH_LENGTH},
        {"anthropic", "tool_use", LO_FINISH_TOOL_CALLS},
        {"anthropic", "refusal", LO_FINISH_CONTENT_FILTER},
        {"gemini", "STOP", LO_FINISH_STOP},
        {"gemini", "MAX_TOKENS", LO_FINISH_LENGTH},
        {"gemini", "SAFETY", LO_FINISH_CONTENT_FILTER},
        {"gemini", "RECITATION", LO_FINISH_CONTENT_FILTER},
        {"gemini", "BLOCKLIST", LO_FINISH_CONTENT_FILTER},
        {"gemini", "PROHIBITED_CONTENT", LO_FINISH_CONTENT_FILTER},
    };
    if (!raw)
        return LO_FINISH_OTHER;
    for (size_t i = 0; i < sizeof map / sizeof *map; i++)
        if ((!provider || strcmp(provider, map[i].provider) == 0) &&
            strcmp(raw, map[i].raw) == 0)
            return map[i].reason;
    return LO_FINISH_OTHER;
}

/* ---- usage ---- */

void lo_llm_usage_init(lo_llm_usage *u)
{
    u->input_tokens = u->output_tokens = u->total_tokens = LO_TOKENS_UNREPORTED;
    u->reasoning_tokens = u->cache_read_tokens = u->cache_write_tokens = LO_TOKENS_UNREPORTED;
}

static int64_t add_count(int64_t a, int64_t b)
{
    if (a < 0)
        return b < 0 ? LO_TOKENS_UNREPORTED : b;
    if (b < 0)
        return a;
    return a + b;
}

void lo_llm_usage_add(lo_llm_usage *sum, const lo_llm_usage *add)
{
    sum->input_tokens = add_count(sum->input_tokens, add->input_tokens);
    sum->output_tokens = add_count(sum->output_tokens, add->output_tokens);
    sum->total_tokens = add_count(sum->total_tokens, add->total_tokens);
    sum->reasoning_tokens = add_count(sum->reasoning_tokens, add->reasoning_tokens);
    sum->cache_read_tokens = add_count(sum->cache_read_tokens, add->cache_read_tokens);
    sum->cache_write_tokens = add_count(sum->cache_write_tokens, add->cache_write_tokens);
}

void lo_llm_rate_limit_init(lo_llm_rate_limit *rl)
{
    rl->requests_remaining = rl->requests_limit = -1;
    rl->tokens_remaining = rl->tokens_limit = -1;
    rl->reset_at_ms = -1;
}

/* ---- responses ---- */

lo_llm_response *lo_llm_response_new(void)
{
    lo_llm_response *r = lo_calloc(1, sizeof *r);
    if (!r)
        return NULL;
    if (!(r->message = lo_llm_message_new(LO_ROLE_ASSISTANT))) {
        free(r);
        return NULL;
    }
    r->finish.reason = LO_FINISH_OTHER;
    lo_llm_usage_init(&r->usage);
    lo_llm_rate_limit_init(&r->rate_limit);
    return r;
}

void lo_llm_response_free(lo_llm_response *r)
{
    if (!r)
        return;
    free(r->id);
    free(r->model);
    free(r->provider);
    lo_llm_message_free(r->message);
    free(r->finish.raw);
    json_decref(r->raw);
    for (size_t i = 0; i < r->n_warnings; i++) {
        free(r->warnings[i].message);
        free(r->warnings[i].code);
    }
    free(r->warnings);
    free(r);
}

int lo_llm_response_add_warning(lo_llm_response *r, const char *message, const char *code)
{
    if (!r || !message)
        return LO_EINVAL;
    lo_llm_warning *v = lo_realloc(r->warnings, (r->n_warnings + 1) * sizeof *v);
    if (!v)
        return LO_ENOMEM;
    r->warnings = v;
    bool ok = true;
    v[r->n_warnings].message = dup_or_null(message, &ok);
    v[r->n_warnings].code = dup_or_null(code, &ok);
    if (!ok) {
        free(v[r->n_warnings].message);
        free(v[r->n_warnings].code);
        return LO_ENOMEM;
    }
    r->n_warnings++;
    return 0;
}

char *lo_llm_response_text(const lo_llm_response *r)
{
    return concat_parts(r ? r->message : NULL, LO_CONTENT_TEXT, true);
}

char *lo_llm_response_reasoning(const lo_llm_response *r)
{
    return concat_parts(r ? r->message : NULL, LO_CONTENT_THINKING, false);
}

const lo_llm_tool_call **lo_llm_response_tool_calls(const lo_llm_response *r, size_t *n)
{
    *n = 0;
    const lo_llm_message *m = r ? r->message : NULL;
    size_t count = 0;
    for (size_t i = 0; m && i < m->n_parts; i++)
        count += m->parts[i].kind == LO_CONTENT_TOOL_CALL;
    if (!count)
        return NULL;
    const lo_llm_tool_call **v = lo_malloc(count * sizeof *v);
    if (!v)
        return NULL;
    for (size_t i = 0; i < m->n_parts; i++)
        if (m->parts[i].kind == LO_CONTENT_TOOL_CALL)
            v[(*n)++] = &m->parts[i].tool_call;
    return v;
}

/* ---- stream events ---- */

lo_llm_stream_event *lo_llm_stream_event_new(lo_llm_stream_event_type type)
{
    lo_llm_stream_event *e = lo_calloc(1, sizeof *e);
    if (!e)
        return NULL;
    e->type = type;
    lo_llm_usage_init(&e->usage);
    return e;
}

void lo_llm_stream_event_free(lo_llm_stream_event *e)
{
    if (!e)
        return;
    free(e->delta);
    free(e->text_id);
    free(e->reasoning_delta);
    if (e->tool_call) {
        tool_call_release(e->tool_call);
        free(e->tool_call);
    }
    free(e->finish_reason.raw);
    lo_llm_response_free(e->response);
    free(e->error);
    json_decref(e->raw);
    free(e);
}
