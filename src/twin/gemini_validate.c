/* The Gemini twin's request validation: the proto's fields (an unknown one
 * is an error, camelCase and snake_case both accepted), contents and their
 * parts, function declarations, generation settings, with the messages the
 * API gives, naming fields by their proto paths (docs/twins.md, "Errors and
 * validation"). */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "twin/twin_internal.h"

/* Short local names for the shared helpers (twin_internal.h). */
#define bad twin_bad
#define jstr twin_jstr
#define jget2 twin_gemini_get

const json_t *twin_gemini_get(const json_t *j, const char *camel, const char *snake)
{
    const json_t *v = json_object_get(j, camel);
    return v ? v : json_object_get(j, snake);
}

static bool fn_name_ok(const char *s)
{
    size_t n = s ? strlen(s) : 0;
    if (n < 1 || n > 64)
        return false;
    if (!((s[0] >= 'a' && s[0] <= 'z') || (s[0] >= 'A' && s[0] <= 'Z') || s[0] == '_'))
        return false;
    for (size_t i = 1; i < n; i++) {
        char c = s[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '_' || c == '.' || c == ':' || c == '-'))
            return false;
    }
    return true;
}

/* The part kinds a Content may hold (the proto's "data" oneof). */
static bool part_has_data(const json_t *p)
{
    static const char *const kinds[] = {"text", "inlineData", "inline_data", "fileData",
                                        "file_data", "functionCall", "function_call",
                                        "functionResponse", "function_response",
                                        "executableCode", "executable_code",
                                        "codeExecutionResult", "code_execution_result"};
    for (size_t i = 0; i < sizeof kinds / sizeof kinds[0]; i++)
        if (json_object_get(p, kinds[i]))
            return true;
    /* a thought part that carries only its signature is accepted back */
    return jget2(p, "thoughtSignature", "thought_signature") != NULL;
}

/* Messages name the field as the API does: its proto path, snake_case. */
static int check_contents(const json_t *contents, const char *where, twin_verdict *v)
{
    if (!contents || (json_is_array(contents) && !json_array_size(contents)))
        return bad(v, 400, "* %s.contents: contents is not specified\n", where);
    if (!json_is_array(contents))
        return bad(v, 400, "Invalid JSON payload received. Invalid value at 'contents': "
                           "expected a list of Content.");
    size_t i, j;
    json_t *c, *p;
    json_array_foreach(contents, i, c) {
        if (!json_is_object(c))
            return bad(v, 400, "Invalid JSON payload received. Invalid value at "
                               "'contents[%zu]': expected a Content object.", i);
        const char *role = jstr(c, "role");
        if (role && *role && strcmp(role, "user") && strcmp(role, "model"))
            return bad(v, 400, "Please use a valid role: user, model.");
        const json_t *parts = json_object_get(c, "parts");
        if (!json_array_size(parts))
            return bad(v, 400, "* %s.contents[%zu].parts: contents.parts must not be empty.\n",
                       where, i);
        json_array_foreach(parts, j, p) {
            if (!json_is_object(p) || !part_has_data(p))
                return bad(v, 400, "* %s.contents[%zu].parts[%zu].data: required oneof field "
                                   "'data' must have one initialized field\n", where, i, j);
            const json_t *fr = jget2(p, "functionResponse", "function_response");
            if (fr && !(jstr(fr, "name") && *jstr(fr, "name")))
                return bad(v, 400, "* %s.contents[%zu].parts[%zu].function_response.name: "
                                   "Name cannot be empty.\n", where, i, j);
            const json_t *fc = jget2(p, "functionCall", "function_call");
            if (fc && !(jstr(fc, "name") && *jstr(fc, "name")))
                return bad(v, 400, "* %s.contents[%zu].parts[%zu].function_call.name: "
                                   "Name cannot be empty.\n", where, i, j);
        }
    }
    return 0;
}

static int check_tools(const json_t *tools, const char *where, twin_verdict *v)
{
    if (tools && !json_is_array(tools))
        return bad(v, 400, "Invalid JSON payload received. Invalid value at 'tools': "
                           "expected a list of Tool.");
    size_t i, j;
    json_t *tl, *d;
    json_array_foreach(tools, i, tl) {
        const json_t *decls = jget2(tl, "functionDeclarations", "function_declarations");
        if (decls && !json_is_array(decls))
            return bad(v, 400, "Invalid JSON payload received. Invalid value at "
                               "'tools[%zu].function_declarations'.", i);
        json_array_foreach(decls, j, d) {
            const char *name = jstr(d, "name");
            if (!fn_name_ok(name))
                return bad(v, 400,
                           "* %s.tools[%zu].function_declarations[%zu].name: Invalid function "
                           "name. Must start with a letter or an underscore. Must be "
                           "alphanumeric (a-z, A-Z, 0-9), underscores (_), dots (.), colons "
                           "(:), or dashes (-), with a maximum length of 64.\n", where, i, j);
            /* names are unique across every tool of the request */
            size_t k, l;
            json_t *t2, *d2;
            json_array_foreach(tools, k, t2) {
                json_array_foreach(jget2(t2, "functionDeclarations", "function_declarations"),
                                   l, d2) {
                    if ((k < i || (k == i && l < j)) && lo_str_eq(jstr(d2, "name"), name))
                        return bad(v, 400, "* %s.tools[%zu].function_declarations[%zu].name: "
                                           "Duplicate function declaration found: %.64s\n",
                                   where, i, j, name);
                }
            }
            const json_t *params = json_object_get(d, "parameters");
            const char *pt = jstr(params, "type");
            if (params && !json_is_null(params) &&
                (!json_is_object(params) || !pt || strcasecmp(pt, "object")))
                return bad(v, 400, "* %s.tools[%zu].function_declarations[%zu].parameters.type: "
                                   "must be OBJECT for function parameters, got %.40s\n",
                           where, i, j, pt ? pt : "none");
        }
    }
    return 0;
}

static int check_number(const json_t *cfg, const char *camel, const char *snake, double lo,
                        double hi, twin_verdict *v)
{
    const json_t *n = jget2(cfg, camel, snake);
    if (!n || json_is_null(n))
        return 0;
    if (!json_is_number(n))
        return bad(v, 400, "Invalid JSON payload received. Invalid value at "
                           "'generation_config.%s': expected a number.", snake);
    double d = json_number_value(n);
    if (d < lo || d > hi)
        return bad(v, 400, "* GenerateContentRequest.generation_config.%s: %s must be in the "
                           "range [%g, %g]\n", snake, snake, lo, hi);
    return 0;
}

/* The request's fields: what the proto knows, in both spellings. An unknown
 * field is an error at the API, not ignored. */
static int check_fields(const json_t *b, twin_verdict *v)
{
    static const char *const known[] = {
        "model", "contents", "tools", "toolConfig", "tool_config", "safetySettings",
        "safety_settings", "systemInstruction", "system_instruction", "generationConfig",
        "generation_config", "cachedContent", "cached_content", "generateContentRequest",
        "generate_content_request"};
    const char *k;
    json_t *val;
    json_object_foreach((json_t *)b, k, val) {
        bool ok = false;
        for (size_t i = 0; i < sizeof known / sizeof known[0] && !ok; i++)
            ok = !strcmp(k, known[i]);
        if (!ok)
            return bad(v, 400, "Invalid JSON payload received. Unknown name \"%.60s\": "
                               "Cannot find field.", k);
    }
    return 0;
}

int twin_gemini_validate(const json_t *b, enum twin_gemini_method m, twin_verdict *v)
{
    if (check_fields(b, v))
        return -1;
    /* countTokens takes either contents or a whole generateContentRequest */
    const json_t *gcr = jget2(b, "generateContentRequest", "generate_content_request");
    if (m == TWIN_GEMINI_COUNT && gcr)
        b = gcr;
    else if (m != TWIN_GEMINI_COUNT && gcr)
        return bad(v, 400, "Invalid JSON payload received. Unknown name "
                           "\"generateContentRequest\": Cannot find field.");
    const char *where =
        m == TWIN_GEMINI_COUNT && !gcr ? "CountTokensRequest" : "GenerateContentRequest";
    if (check_contents(json_object_get(b, "contents"), where, v) ||
        check_tools(json_object_get(b, "tools"), where, v))
        return -1;
    const json_t *si = jget2(b, "systemInstruction", "system_instruction");
    if (si && !json_is_object(si))
        return bad(v, 400, "Invalid JSON payload received. Invalid value at "
                           "'system_instruction': expected a Content object.");
    const json_t *gc = jget2(b, "generationConfig", "generation_config");
    if (gc && !json_is_object(gc))
        return bad(v, 400, "Invalid JSON payload received. Invalid value at "
                           "'generation_config'.");
    if (check_number(gc, "temperature", "temperature", 0, 2, v) ||
        check_number(gc, "topP", "top_p", 0, 1, v) ||
        check_number(gc, "maxOutputTokens", "max_output_tokens", 1, 1e12, v))
        return -1;
    return 0;
}

