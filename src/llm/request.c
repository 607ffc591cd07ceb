/* LLM requests (unified-llm-spec §3.6): construction, messages, tools,
 * tool choice, response format, stop sequences, and deep copies. */
#include <string.h>

#include "lightsout/llm.h"

#include "model_internal.h"

lo_llm_request *lo_llm_request_new(const char *model)
{
    if (!model)
        return NULL;
    lo_llm_request *r = lo_calloc(1, sizeof *r);
    if (!r)
        return NULL;
    if (!(r->model = lo_strdup(model))) {
        free(r);
        return NULL;
    }
    r->response_format.type = LO_FORMAT_TEXT;
    return r;
}

void lo_llm_request_free(lo_llm_request *r)
{
    if (!r)
        return;
    free(r->model);
    free(r->provider);
    for (size_t i = 0; i < r->n_messages; i++)
        lo_llm_message_free(r->messages[i]);
    free(r->messages);
    for (size_t i = 0; i < r->n_tools; i++) {
        free(r->tools[i].name);
        free(r->tools[i].description);
        json_decref(r->tools[i].parameters);
    }
    free(r->tools);
    free(r->tool_choice.tool_name);
    json_decref(r->response_format.schema);
    for (size_t i = 0; i < r->n_stop; i++)
        free(r->stop[i]);
    free(r->stop);
    free(r->reasoning_effort);
    json_decref(r->metadata);
    json_decref(r->provider_options);
    free(r);
}

int lo_llm_request_add_message(lo_llm_request *r, lo_llm_message *m)
{
    if (!r || !m) {
        lo_llm_message_free(m);
        return LO_EINVAL;
    }
    if (r->n_messages == r->cap_messages) {
        size_t cap = r->cap_messages ? r->cap_messages * 2 : 8;
        lo_llm_message **v = lo_realloc(r->messages, cap * sizeof *v);
        if (!v) {
            lo_llm_message_free(m);
            return LO_ENOMEM;
        }
        r->messages = v;
        r->cap_messages = cap;
    }
    r->messages[r->n_messages++] = m;
    return 0;
}

int lo_llm_request_add_tool(lo_llm_request *r, const char *name, const char *description,
                            json_t *parameters, lo_error *err)
{
    if (!r) {
        json_decref(parameters);
        return LO_EINVAL;
    }
    if (!lo_llm_tool_name_valid(name)) {
        json_decref(parameters);
        return lo_error_set(err, LO_EINVAL,
                            "tool name '%s' is invalid: it must start with a letter, hold only "
                            "letters, digits and '_', and be at most 64 characters",
                            name ? name : "(null)");
    }
    for (size_t i = 0; i < r->n_tools; i++)
        if (strcmp(r->tools[i].name, name) == 0) {
            json_decref(parameters);
            return lo_error_set(err, LO_EINVAL, "tool '%s' is defined twice", name);
        }
    if (!parameters)
        parameters = json_pack("{s:s, s:{}}", "type", "object", "properties");
    if (!parameters)
        return LO_ENOMEM;
    /* Every provider requires an object schema at the root (§5.1). */
    if (!json_is_object(parameters) ||
        !lo_str_eq(json_string_value(json_object_get(parameters, "type")), "object")) {
        json_decref(parameters);
        return lo_error_set(err, LO_EINVAL,
                            "tool '%s': parameters must be a JSON Schema with \"type\": \"object\" "
                            "at the root", name);
    }
    if (r->n_tools == r->cap_tools) {
        size_t cap = r->cap_tools ? r->cap_tools * 2 : 4;
        lo_llm_tool *v = lo_realloc(r->tools, cap * sizeof *v);
        if (!v) {
            json_decref(parameters);
            return LO_ENOMEM;
        }
        r->tools = v;
        r->cap_tools = cap;
    }
    bool ok = true;
    lo_llm_tool *t = &r->tools[r->n_tools];
    t->name = dup_or_null(name, &ok);
    t->description = dup_or_null(description ? description : "", &ok);
    t->parameters = parameters;
    if (!ok) {
        free(t->name);
        free(t->description);
        json_decref(parameters);
        return LO_ENOMEM;
    }
    r->n_tools++;
    return 0;
}

int lo_llm_request_set_tool_choice(lo_llm_request *r, lo_llm_tool_choice_mode mode,
                                   const char *tool_name)
{
    if (!r || (mode == LO_TOOL_CHOICE_NAMED) != (tool_name != NULL) ||
        (unsigned)mode > LO_TOOL_CHOICE_NAMED)
        return LO_EINVAL;
    char *n = NULL;
    if (tool_name && !(n = lo_strdup(tool_name)))
        return LO_ENOMEM;
    free(r->tool_choice.tool_name);
    r->tool_choice.mode = mode;
    r->tool_choice.tool_name = n;
    r->has_tool_choice = true;
    return 0;
}

int lo_llm_request_set_response_format(lo_llm_request *r, lo_llm_format_type type,
                                       json_t *schema, bool strict)
{
    if (!r || (unsigned)type > LO_FORMAT_JSON_SCHEMA ||
        (type == LO_FORMAT_JSON_SCHEMA && !json_is_object(schema))) {
        json_decref(schema);
        return LO_EINVAL;
    }
    if (type != LO_FORMAT_JSON_SCHEMA) {
        json_decref(schema);
        schema = NULL;
    }
    json_decref(r->response_format.schema);
    r->response_format.type = type;
    r->response_format.schema = schema;
    r->response_format.strict = strict;
    return 0;
}

int lo_llm_request_add_stop(lo_llm_request *r, const char *stop)
{
    if (!r || !stop || !*stop)
        return LO_EINVAL;
    char **v = lo_realloc(r->stop, (r->n_stop + 1) * sizeof *v);
    if (!v)
        return LO_ENOMEM;
    r->stop = v;
    if (!(v[r->n_stop] = lo_strdup(stop)))
        return LO_ENOMEM;
    r->n_stop++;
    return 0;
}

lo_llm_request *lo_llm_request_clone(const lo_llm_request *r)
{
    if (!r)
        return NULL;
    lo_llm_request *c = lo_llm_request_new(r->model);
    if (!c)
        return NULL;
    bool ok = true;
    c->provider = dup_or_null(r->provider, &ok);
    for (size_t i = 0; ok && i < r->n_messages; i++) {
        lo_llm_message *m = lo_llm_message_clone(r->messages[i]);
        ok = m && lo_llm_request_add_message(c, m) == 0;
    }
    if (ok && r->n_tools && !(c->tools = lo_calloc(r->n_tools, sizeof *c->tools)))
        ok = false;
    for (size_t i = 0; ok && i < r->n_tools; i++) {
        lo_llm_tool *t = &c->tools[c->n_tools++];
        c->cap_tools = c->n_tools;
        t->name = dup_or_null(r->tools[i].name, &ok);
        t->description = dup_or_null(r->tools[i].description, &ok);
        t->parameters = copy_json(r->tools[i].parameters, &ok);
    }
    c->has_tool_choice = r->has_tool_choice;
    c->tool_choice.mode = r->tool_choice.mode;
    c->tool_choice.tool_name = dup_or_null(r->tool_choice.tool_name, &ok);
    c->response_format = r->response_format;
    c->response_format.schema = copy_json(r->response_format.schema, &ok);
    c->has_temperature = r->has_temperature;
    c->has_top_p = r->has_top_p;
    c->has_max_tokens = r->has_max_tokens;
    c->temperature = r->temperature;
    c->top_p = r->top_p;
    c->max_tokens = r->max_tokens;
    for (size_t i = 0; ok && i < r->n_stop; i++)
        ok = lo_llm_request_add_stop(c, r->stop[i]) == 0;
    c->reasoning_effort = dup_or_null(r->reasoning_effort, &ok);
    c->metadata = copy_json(r->metadata, &ok);
    c->provider_options = copy_json(r->provider_options, &ok);
    if (!ok) {
        lo_llm_request_free(c);
        return NULL;
    }
    return c;
}
