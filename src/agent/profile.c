/* Provider profiles (§3.2): which flavor of tools and prompt a provider
 * gets, the model and what the catalog says about it, and the registry the
 * session dispatches through (the flavor's core tools, the subagent tools,
 * and whatever the host adds on top). */
#include <string.h>

#include "agent/session_internal.h"

static const profile_flavor *flavor_of(const char *provider)
{
    if (lo_str_eq(provider, "openai") || lo_str_eq(provider, "openai_chat"))
        return &profile_openai;
    if (lo_str_eq(provider, "anthropic"))
        return &profile_anthropic;
    if (lo_str_eq(provider, "gemini"))
        return &profile_gemini;
    return NULL;
}

/* The catalog names OpenAI-compatible servers' models under "openai" when
 * it lists them at all. */
static const char *catalog_provider(const char *provider)
{
    return lo_str_eq(provider, "openai_chat") ? "openai" : provider;
}

static int pick_model(lo_agent_profile *p, const char *provider, const char *model,
                      const lo_llm_catalog *catalog, lo_error *err)
{
    const char *cp = catalog_provider(provider);
    if (!model) {
        const lo_llm_model *m = catalog ? lo_llm_model_latest(catalog, cp, "tools") : NULL;
        if (!m)
            return lo_error_set(err, LO_EINVAL,
                                "no model given for provider %s and %s", provider,
                                catalog ? "the catalog lists no tool-capable model for it"
                                        : "no model catalog to pick one from");
        model = m->id;
    }
    const lo_llm_model *m = catalog ? lo_llm_model_find(catalog, model) : NULL;
    if (m && !lo_str_eq(m->provider, cp) && !lo_str_eq(provider, "openai_chat"))
        return lo_error_set(err, LO_EINVAL, "model %s is a %s model, not %s", model,
                            m->provider, provider);
    if (m && !m->supports_tools)
        return lo_error_set(err, LO_EINVAL,
                            "model %s does not support tool calls, which the agent needs", model);
    p->entry = m;
    p->model = lo_strdup(m ? m->id : model);
    return p->model ? 0 : lo_error_set(err, LO_ENOMEM, "out of memory");
}

lo_agent_profile *lo_agent_profile_new(const char *provider, const char *model,
                                       const lo_llm_catalog *catalog, lo_error *err)
{
    const profile_flavor *fl = flavor_of(provider);
    if (!fl) {
        lo_error_set(err, LO_EINVAL,
                     "unknown agent provider \"%s\" (known: openai, openai_chat, anthropic, "
                     "gemini)",
                     provider ? provider : "(null)");
        return NULL;
    }
    lo_agent_profile *p = lo_calloc(1, sizeof *p);
    if (!p) {
        lo_error_set(err, LO_ENOMEM, "out of memory");
        return NULL;
    }
    p->fl = fl;
    p->catalog = catalog;
    p->provider = lo_strdup(provider);
    if (!p->provider || pick_model(p, provider, model, catalog, err) != 0)
        goto fail;
    p->context_window = p->entry && p->entry->context_window > 0 ? p->entry->context_window
                                                                 : PROFILE_FALLBACK_WINDOW;
    p->reg = lo_agent_registry_new();
    if (!p->reg) {
        lo_error_set(err, LO_ENOMEM, "out of memory");
        goto fail;
    }
    if (lo_agent_add_core_tools(p->reg, fl->flavor, err) != 0 ||
        subagent_add_tools(p->reg, err) != 0)
        goto fail;
    return p;
fail:
    lo_agent_profile_free(p);
    return NULL;
}

void lo_agent_profile_free(lo_agent_profile *p)
{
    if (!p)
        return;
    lo_agent_registry_free(p->reg);
    free(p->provider);
    free(p->model);
    free(p);
}

const char *lo_agent_profile_provider(const lo_agent_profile *p) { return p->provider; }
const char *lo_agent_profile_model(const lo_agent_profile *p) { return p->model; }
lo_agent_flavor lo_agent_profile_flavor(const lo_agent_profile *p) { return p->fl->flavor; }
lo_agent_registry *lo_agent_profile_registry(lo_agent_profile *p) { return p->reg; }
bool lo_agent_profile_parallel_tools(const lo_agent_profile *p) { return p->fl->parallel_tools; }
int64_t lo_agent_profile_context_window(const lo_agent_profile *p) { return p->context_window; }
