/* The tool registry (§3.8): tools by name, in registration order.
 *
 * A handful of tools, looked up once per call: a flat array searched in
 * order is all it needs, and it keeps the order the provider sees stable
 * (a replaced tool keeps its slot, so a custom override does not move a
 * profile's tool to the end of the list). */
#include <string.h>

#include "lightsout/agent.h"

struct lo_agent_registry {
    lo_agent_tool *v;
    size_t n, cap;
};

lo_agent_registry *lo_agent_registry_new(void)
{
    return lo_calloc(1, sizeof(lo_agent_registry));
}

static void tool_release(lo_agent_tool *t)
{
    free((char *)t->name);
    free((char *)t->description);
    json_decref(t->parameters);
    memset(t, 0, sizeof *t);
}

void lo_agent_registry_free(lo_agent_registry *r)
{
    if (!r)
        return;
    for (size_t i = 0; i < r->n; i++)
        tool_release(&r->v[i]);
    free(r->v);
    free(r);
}

static long find(const lo_agent_registry *r, const char *name)
{
    for (size_t i = 0; r && name && i < r->n; i++)
        if (strcmp(r->v[i].name, name) == 0)
            return (long)i;
    return -1;
}

/* The providers accept ^[a-zA-Z0-9_-]{1,64}$ (OpenAI, Anthropic; Gemini
 * also allows dots): refuse anything else here, where the mistake is made,
 * rather than as a 400 from the provider. */
static bool valid_name(const char *s)
{
    size_t n = s ? strlen(s) : 0;
    if (n == 0 || n > 64)
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '_' || c == '-'))
            return false;
    }
    return true;
}

static int check(const lo_agent_tool *t, lo_error *err)
{
    if (!t || !valid_name(t->name))
        return lo_error_set(err, LO_EINVAL,
                            "tool name \"%.80s\" is invalid: 1-64 letters, digits, _ or -",
                            t && t->name ? t->name : "");
    if (!t->fn)
        return lo_error_set(err, LO_EINVAL, "tool %s has no executor", t->name);
    if (t->parameters) {
        const json_t *type = json_object_get(t->parameters, "type");
        if (!json_is_object(t->parameters) || !json_is_string(type) ||
            strcmp(json_string_value(type), "object") != 0)
            return lo_error_set(err, LO_EINVAL,
                                "tool %s: the parameters schema must have \"type\": \"object\" "
                                "at its root",
                                t->name);
    }
    return 0;
}

int lo_agent_registry_add(lo_agent_registry *r, const lo_agent_tool *t, lo_error *err)
{
    if (!r)
        return lo_error_set(err, LO_EINVAL, "no registry");
    int rc = check(t, err);
    if (rc)
        return rc;
    lo_agent_tool copy = *t;
    copy.name = lo_strdup(t->name);
    copy.description = lo_strdup(t->description ? t->description : "");
    copy.parameters = t->parameters ? json_incref(t->parameters)
                                    : json_pack("{s:s, s:{}}", "type", "object", "properties");
    if (!copy.name || !copy.description || !copy.parameters) {
        tool_release(&copy);
        return lo_error_set(err, LO_ENOMEM, "out of memory");
    }
    long at = find(r, t->name);
    if (at >= 0) {
        tool_release(&r->v[at]);
        r->v[at] = copy;
        return 0;
    }
    if (r->n == r->cap) {
        size_t cap = r->cap ? r->cap * 2 : 16;
        lo_agent_tool *v = lo_realloc(r->v, cap * sizeof *v);
        if (!v) {
            tool_release(&copy);
            return lo_error_set(err, LO_ENOMEM, "out of memory");
        }
        r->v = v;
        r->cap = cap;
    }
    r->v[r->n++] = copy;
    return 0;
}

int lo_agent_registry_remove(lo_agent_registry *r, const char *name)
{
    long at = find(r, name);
    if (at < 0)
        return LO_ENOENT;
    tool_release(&r->v[at]);
    memmove(&r->v[at], &r->v[at + 1], (r->n - (size_t)at - 1) * sizeof *r->v);
    r->n--;
    return 0;
}

const lo_agent_tool *lo_agent_registry_get(const lo_agent_registry *r, const char *name)
{
    long at = find(r, name);
    return at < 0 ? NULL : &r->v[at];
}

size_t lo_agent_registry_count(const lo_agent_registry *r)
{
    return r ? r->n : 0;
}

const lo_agent_tool *lo_agent_registry_at(const lo_agent_registry *r, size_t i)
{
    return r && i < r->n ? &r->v[i] : NULL;
}
