/* Helpers every built-in tool uses: arguments, registration, flavor. */
#include <string.h>

#include "agent/tools/tools_internal.h"

static const lo_agent_flavor FLAVORS[] = {LO_FLAVOR_OPENAI, LO_FLAVOR_ANTHROPIC,
                                          LO_FLAVOR_GEMINI};

int lo_agent_tool_flavor_(const lo_agent_tool_ctx *ctx)
{
    if (!ctx || !ctx->ud)
        return -1;
    for (size_t i = 0; i < sizeof FLAVORS / sizeof *FLAVORS; i++)
        if (ctx->ud == &FLAVORS[i])
            return (int)FLAVORS[i];
    return -1;
}

int lo_agent_tool_register_(lo_agent_registry *r, const char *name, const char *description,
                            const char *schema_json, lo_agent_tool_fn fn, lo_agent_flavor f,
                            lo_error *err)
{
    json_error_t je;
    json_t *schema = json_loads(schema_json, 0, &je);
    if (!schema) /* a bug in our own table; say where */
        return lo_error_set(err, LO_EINVAL, "tool %s: schema: %s at %d:%d", name, je.text,
                            je.line, je.column);
    lo_agent_tool t = {.name = name, .description = description, .parameters = schema,
                       .fn = fn, .ud = (void *)&FLAVORS[f]};
    int rc = lo_agent_registry_add(r, &t, err);
    json_decref(schema);
    return rc;
}

lo_agent_env *lo_agent_tool_env_(lo_agent_tool_ctx *ctx, const char *tool, lo_error *err)
{
    if (!ctx || !ctx->env || !ctx->env->ops) {
        lo_error_set(err, LO_EINVAL, "%s: no execution environment", tool);
        return NULL;
    }
    return ctx->env;
}

static const json_t *get(const json_t *args, const char *key)
{
    const json_t *v = json_is_object(args) ? json_object_get(args, key) : NULL;
    return json_is_null(v) ? NULL : v;
}

int lo_agent_arg_str_(const json_t *args, const char *tool, const char *key, bool required,
                      const char **out, lo_error *err)
{
    const json_t *v = get(args, key);
    *out = NULL;
    if (!v)
        return required ? lo_error_set(err, LO_EINVAL, "%s: the argument %s is required", tool,
                                       key)
                        : 0;
    if (!json_is_string(v))
        return lo_error_set(err, LO_EINVAL, "%s: the argument %s must be a string", tool, key);
    if (strlen(json_string_value(v)) != json_string_length(v))
        return lo_error_set(err, LO_EINVAL, "%s: the argument %s contains a NUL character",
                            tool, key);
    *out = json_string_value(v);
    return 0;
}

int lo_agent_arg_int_(const json_t *args, const char *tool, const char *key, int64_t min,
                      int64_t def, int64_t *out, lo_error *err)
{
    const json_t *v = get(args, key);
    *out = def;
    if (!v)
        return 0;
    double d = json_is_real(v) ? json_real_value(v) : 0;
    if (json_is_integer(v))
        *out = (int64_t)json_integer_value(v);
    else if (json_is_real(v) && d == (double)(int64_t)d) /* 10.0 from a model is 10 */
        *out = (int64_t)d;
    else
        return lo_error_set(err, LO_EINVAL, "%s: the argument %s must be an integer", tool, key);
    if (*out < min)
        return lo_error_set(err, LO_EINVAL, "%s: the argument %s must be at least %lld", tool,
                            key, (long long)min);
    return 0;
}

int lo_agent_arg_bool_(const json_t *args, const char *tool, const char *key, bool def,
                       bool *out, lo_error *err)
{
    const json_t *v = get(args, key);
    *out = def;
    if (!v)
        return 0;
    if (!json_is_boolean(v))
        return lo_error_set(err, LO_EINVAL, "%s: the argument %s must be true or false", tool,
                            key);
    *out = json_is_true(v);
    return 0;
}

/* Images by their signature: the model is told it is an image rather than
 * shown bytes. */
static const char *image_kind(const unsigned char *p, size_t n)
{
    if (n >= 8 && memcmp(p, "\x89PNG\r\n\x1a\n", 8) == 0)
        return "a PNG image";
    if (n >= 3 && memcmp(p, "\xff\xd8\xff", 3) == 0)
        return "a JPEG image";
    if (n >= 6 && (memcmp(p, "GIF87a", 6) == 0 || memcmp(p, "GIF89a", 6) == 0))
        return "a GIF image";
    if (n >= 12 && memcmp(p, "RIFF", 4) == 0 && memcmp(p + 8, "WEBP", 4) == 0)
        return "a WebP image";
    if (n >= 2 && memcmp(p, "BM", 2) == 0 && n >= 14 && p[6] == 0 && p[7] == 0)
        return "a BMP image";
    if (n >= 4 && memcmp(p, "%PDF", 4) == 0)
        return "a PDF document";
    return NULL;
}

const char *lo_agent_binary_kind_(const char *path, const char *data, size_t len)
{
    const char *img = image_kind((const unsigned char *)data, len);
    if (img)
        return img;
    return lo_looks_binary(data, len) ? "a binary file" : NULL;
}
