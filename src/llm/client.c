/* The unified LLM client core (unified-llm-spec §2, §4.1, §4.2, §6.6):
 * provider configuration from the environment or from the caller, provider
 * selection, retries with exponential backoff and jitter, cancellation, and
 * the scrubbing of API keys from anything a provider sends back. Adapters
 * (anthropic.c, ...) do the talking; they never retry. */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <pthread.h>

#include "lightsout/llm.h"

#include "client_internal.h"

/* ---- adapters of this build ---- */

static const lo_llm_adapter *const adapters[] = {
    &lo_llm_anthropic_adapter,
    &lo_llm_openai_adapter,
    &lo_llm_openai_chat_adapter,
    &lo_llm_gemini_adapter,
};

/* A second name for a provider's key, read when its own variable is unset:
 * Google's tools document GOOGLE_API_KEY for the same Gemini key. Unlike
 * the fallbacks below it brings no base URL and no keyless mode. */
static const char *alt_key_env(const lo_llm_adapter *a)
{
    return strcmp(a->name, "gemini") == 0 ? "GOOGLE_API_KEY" : NULL;
}

/* openai_chat serves OpenAI-compatible servers: it takes OPENAI_API_KEY and
 * OPENAI_BASE_URL when its own variables are unset, and runs without a key
 * against a base URL named for it (local vLLM, llama.cpp, Ollama want none).
 * OpenAI's key goes only where OpenAI's base URL points, never to a server
 * named by OPENAI_CHAT_BASE_URL or the caller: that would hand it to a
 * third party. */
typedef struct fallback {
    const char *provider, *api_key_env, *base_url_env;
} fallback;

static const fallback fallbacks[] = {
    {"openai_chat", "OPENAI_API_KEY", "OPENAI_BASE_URL"},
};

static const fallback *fallback_of(const lo_llm_adapter *a)
{
    for (size_t i = 0; i < sizeof fallbacks / sizeof *fallbacks; i++)
        if (strcmp(fallbacks[i].provider, a->name) == 0)
            return &fallbacks[i];
    return NULL;
}

const lo_llm_adapter *const *lo_llm_adapters(size_t *n)
{
    *n = sizeof adapters / sizeof *adapters;
    return adapters;
}

const lo_llm_adapter *lo_llm_adapter_find(const char *name)
{
    for (size_t i = 0; name && i < sizeof adapters / sizeof *adapters; i++)
        if (strcmp(adapters[i]->name, name) == 0)
            return adapters[i];
    return NULL;
}

/* ---- client ---- */

typedef struct provider {
    const lo_llm_adapter *adapter;
    char *api_key, *base_url;
    char **headers; /* NULL-terminated, or NULL */
    long timeout_ms, connect_timeout_ms;
} provider;

struct lo_llm_client {
    provider *providers;
    size_t n_providers;
    lo_llm_middleware *mws; /* in registration order */
    size_t n_mws;
    lo_llm_retry_policy retry;
    const lo_llm_catalog *catalog;
    lo_llm_catalog *owned_catalog; /* loaded by from_env */
    const atomic_bool *cancel;
};

void lo_llm_retry_policy_init(lo_llm_retry_policy *p)
{
    memset(p, 0, sizeof *p);
    p->max_retries = 2;
    p->base_delay = 1.0;
    p->max_delay = 60.0;
    p->backoff_multiplier = 2.0;
    p->jitter = true;
}

lo_llm_client *lo_llm_client_new(void)
{
    lo_llm_client *c = lo_calloc(1, sizeof *c);
    if (c)
        lo_llm_retry_policy_init(&c->retry);
    return c;
}

static void provider_release(provider *p)
{
    /* The key is wiped before it is freed so it does not linger in freed heap. */
    if (p->api_key) {
        volatile char *k = p->api_key;
        while (*k)
            *k++ = 0;
    }
    free(p->api_key);
    free(p->base_url);
    for (size_t i = 0; p->headers && p->headers[i]; i++)
        free(p->headers[i]);
    free(p->headers);
    memset(p, 0, sizeof *p);
}

void lo_llm_client_free(lo_llm_client *c)
{
    if (!c)
        return;
    for (size_t i = 0; i < c->n_providers; i++)
        provider_release(&c->providers[i]);
    free(c->providers);
    free(c->mws);
    lo_llm_catalog_free(c->owned_catalog);
    free(c);
}

static const char *env_nonempty(const char *name)
{
    const char *v = name ? getenv(name) : NULL;
    return v && *v ? v : NULL;
}

static provider *find_provider(const lo_llm_client *c, const char *name)
{
    for (size_t i = 0; name && i < c->n_providers; i++)
        if (strcmp(c->providers[i].adapter->name, name) == 0)
            return &c->providers[i];
    return NULL;
}

bool lo_llm_client_has_provider(const lo_llm_client *c, const char *name)
{
    return c && find_provider(c, name) != NULL;
}

static int config_error(lo_llm_error *err, const char *provider_name, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int config_error(lo_llm_error *err, const char *provider_name, const char *fmt, ...)
{
    if (err) {
        lo_llm_error_set(err, LO_LLM_ERR_CONFIGURATION, provider_name, "%s", "");
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err->message, sizeof err->message, fmt, ap);
        va_end(ap);
    }
    return LO_EINVAL;
}

int lo_llm_client_add_provider(lo_llm_client *c, const lo_llm_provider_config *cfg,
                               lo_llm_error *err)
{
    if (!c || !cfg || !cfg->provider)
        return config_error(err, NULL, "provider configuration without a provider name");
    const lo_llm_adapter *a = lo_llm_adapter_find(cfg->provider);
    if (!a)
        return config_error(err, cfg->provider, "unknown LLM provider \"%s\"", cfg->provider);
    const char *key = cfg->api_key && *cfg->api_key ? cfg->api_key : env_nonempty(a->api_key_env);
    const char *alt = alt_key_env(a);
    if (!key)
        key = env_nonempty(alt);
    const char *base = cfg->base_url && *cfg->base_url ? cfg->base_url
                                                       : env_nonempty(a->base_url_env);
    const fallback *fb = fallback_of(a);
    if (fb) {
        bool own_base = base != NULL;
        if (!base)
            base = env_nonempty(fb->base_url_env);
        if (!key && !own_base)
            key = env_nonempty(fb->api_key_env);
        if (!key && own_base)
            key = ""; /* keyless: the adapter sends no Authorization */
    }
    if (!key)
        return config_error(err, a->name, "no API key for %s: set %s%s%s%s", a->name,
                            a->api_key_env, fb || alt ? " or " : "",
                            fb ? fb->api_key_env : alt ? alt : "",
                            fb ? ", or name a base URL for a server that needs none" : "");
    if (!base)
        base = a->default_base_url;

    provider p = {0};
    p.adapter = a;
    p.timeout_ms = cfg->timeout_ms == 0 ? LO_LLM_DEFAULT_TIMEOUT_MS
                   : cfg->timeout_ms < 0 ? 0
                                         : cfg->timeout_ms;
    p.connect_timeout_ms =
        cfg->connect_timeout_ms > 0 ? cfg->connect_timeout_ms : LO_LLM_DEFAULT_CONNECT_TIMEOUT_MS;
    bool ok = (p.api_key = lo_strdup(key)) && (p.base_url = lo_strdup(base));
    /* A trailing slash would double up when the adapter appends its path. */
    if (ok) {
        size_t n = strlen(p.base_url);
        while (n > 0 && p.base_url[n - 1] == '/')
            p.base_url[--n] = 0;
    }
    size_t nh = 0;
    while (cfg->headers && cfg->headers[nh])
        nh++;
    if (ok && nh) {
        ok = (p.headers = lo_calloc(nh + 1, sizeof *p.headers)) != NULL;
        for (size_t i = 0; ok && i < nh; i++)
            ok = (p.headers[i] = lo_strdup(cfg->headers[i])) != NULL;
    }
    if (!ok) {
        provider_release(&p);
        if (err)
            lo_llm_error_set(err, LO_LLM_ERR_CONFIGURATION, a->name, "out of memory");
        return LO_ENOMEM;
    }
    provider *old = find_provider(c, a->name);
    if (old) {
        provider_release(old);
        *old = p;
        return 0;
    }
    provider *v = lo_realloc(c->providers, (c->n_providers + 1) * sizeof *v);
    if (!v) {
        provider_release(&p);
        if (err)
            lo_llm_error_set(err, LO_LLM_ERR_CONFIGURATION, a->name, "out of memory");
        return LO_ENOMEM;
    }
    c->providers = v;
    c->providers[c->n_providers++] = p;
    return 0;
}

int lo_llm_client_from_env(lo_llm_client **out, lo_llm_error *err)
{
    *out = NULL;
    lo_llm_client *c = lo_llm_client_new();
    if (!c) {
        if (err)
            lo_llm_error_set(err, LO_LLM_ERR_CONFIGURATION, NULL, "out of memory");
        return LO_ENOMEM;
    }
    for (size_t i = 0; i < sizeof adapters / sizeof *adapters; i++) {
        /* A fallback provider is configured by its own variables only, so
         * OPENAI_API_KEY alone does not add openai_chat next to openai. */
        if (!env_nonempty(adapters[i]->api_key_env) && !env_nonempty(alt_key_env(adapters[i])) &&
            !(fallback_of(adapters[i]) && env_nonempty(adapters[i]->base_url_env)))
            continue;
        lo_llm_provider_config cfg = {.provider = adapters[i]->name};
        int rc = lo_llm_client_add_provider(c, &cfg, err);
        if (rc) {
            lo_llm_client_free(c);
            return rc;
        }
    }
    /* The catalog only helps pick a provider; without one, requests name
     * their provider or the client has a single one. */
    lo_error ignored;
    if (lo_llm_catalog_load(NULL, &c->owned_catalog, &ignored) == 0)
        c->catalog = c->owned_catalog;
    *out = c;
    return 0;
}

void lo_llm_client_set_retry(lo_llm_client *c, const lo_llm_retry_policy *p)
{
    if (!c)
        return;
    if (p)
        c->retry = *p;
    else
        lo_llm_retry_policy_init(&c->retry);
}

void lo_llm_client_set_catalog(lo_llm_client *c, const lo_llm_catalog *cat)
{
    if (!c)
        return;
    if (c->owned_catalog && c->owned_catalog != cat) {
        lo_llm_catalog_free(c->owned_catalog);
        c->owned_catalog = NULL;
    }
    c->catalog = cat;
}

void lo_llm_client_set_cancel(lo_llm_client *c, const atomic_bool *flag)
{
    if (c)
        c->cancel = flag;
}

/* "ANTHROPIC_API_KEY, OPENAI_API_KEY" for messages that must say what to set. */
static void key_vars(char *buf, size_t n)
{
    buf[0] = 0;
    size_t used = 0;
    for (size_t i = 0; i < sizeof adapters / sizeof *adapters && used < n; i++) {
        int w = snprintf(buf + used, n - used, "%s%s", i ? " or " : "", adapters[i]->api_key_env);
        if (w < 0)
            break;
        used += (size_t)w;
    }
}

const char *lo_llm_client_resolve(const lo_llm_client *c, const lo_llm_request *req,
                                  lo_llm_error *err)
{
    if (!c || !req || !req->model) {
        config_error(err, NULL, "a request needs a model");
        return NULL;
    }
    const char *want = req->provider;
    if (!want && c->catalog) {
        const lo_llm_model *m = lo_llm_model_find(c->catalog, req->model);
        if (m)
            want = m->provider;
    }
    if (want) {
        const lo_llm_adapter *a = lo_llm_adapter_find(want);
        if (!a) {
            config_error(err, want, "provider \"%s\" (for model %s) has no adapter in this build",
                         want, req->model);
            return NULL;
        }
        if (!find_provider(c, a->name)) {
            /* A provider for compatible servers is named by its URL first. */
            if (fallback_of(a))
                config_error(err, a->name,
                             "provider %s is not configured (model %s): set %s (and %s when "
                             "the server wants a key)",
                             a->name, req->model, a->base_url_env, a->api_key_env);
            else
                config_error(err, a->name, "provider %s is not configured (model %s): set %s",
                             a->name, req->model, a->api_key_env);
            return NULL;
        }
        return a->name;
    }
    if (c->n_providers == 1)
        return c->providers[0].adapter->name;
    char vars[256];
    key_vars(vars, sizeof vars);
    if (c->n_providers == 0)
        config_error(err, NULL, "no LLM provider is configured for model %s: set %s", req->model,
                     vars);
    else
        config_error(err, NULL,
                     "cannot tell which provider serves model %s: it is not in the model "
                     "catalog; name the provider in the request",
                     req->model);
    return NULL;
}

/* ---- retry ---- */

double lo_llm_now_s_(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static bool flag_set(const atomic_bool *f)
{
    return f && atomic_load(f);
}

/* Sleep for delay seconds in short slices, so a cancel cuts it short.
 * Returns false when cancelled. */
static bool sleep_cancellable(const atomic_bool *cancel, double delay)
{
    double end = lo_llm_now_s_() + delay;
    for (;;) {
        if (flag_set(cancel))
            return false;
        double left = end - lo_llm_now_s_();
        if (left <= 0)
            return true;
        if (left > 0.02)
            left = 0.02;
        struct timespec ts = {0, (long)(left * 1e9)};
        while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
            ;
    }
}

/* The §6.6 delay before retry number attempt (0-based), or < 0 when the
 * error must not be retried (a Retry-After beyond max_delay). */
static double retry_delay(const lo_llm_retry_policy *p, const lo_llm_error *e, int attempt,
                          unsigned *seed)
{
    if (e->retry_after >= 0)
        return e->retry_after <= p->max_delay ? e->retry_after : -1;
    double d = p->base_delay * pow(p->backoff_multiplier, attempt);
    if (d > p->max_delay)
        d = p->max_delay;
    if (p->jitter)
        d *= 0.5 + (double)rand_r(seed) / ((double)RAND_MAX + 1.0);
    return d < 0 ? 0 : d;
}

/* Replace every occurrence of key in s with "[redacted]", in place. Keys
 * are long random strings, so a match is never a coincidence. */
static void scrub(char *s, size_t cap, const char *key)
{
    size_t kn = key ? strlen(key) : 0;
    if (kn < 4)
        return;
    static const char mask[] = "[redacted]";
    char *hit;
    while ((hit = strstr(s, key))) {
        size_t tail = strlen(hit + kn);
        size_t at = (size_t)(hit - s);
        if (at + sizeof mask > cap) {
            *hit = 0; /* no room for the mask: cut the message at the key */
            break;
        }
        if (at + sizeof mask - 1 + tail + 1 > cap)
            tail = cap - at - sizeof mask; /* truncate rather than overflow */
        memmove(hit + sizeof mask - 1, hit + kn, tail);
        hit[sizeof mask - 1 + tail] = 0;
        memcpy(hit, mask, sizeof mask - 1);
    }
}

static int rc_for(const lo_llm_error *e)
{
    switch (e->kind) {
    case LO_LLM_ERR_CONFIGURATION:
        return LO_EINVAL;
    case LO_LLM_ERR_ABORT:
        return LO_ECANCELED;
    default:
        return LO_EIO;
    }
}

/* What the client puts between an adapter's stream and the caller: it
 * learns whether anything reached the caller (then no retry) and whether
 * the last event was already an ERROR. */
typedef struct relay {
    lo_llm_event_fn fn;
    void *ud;
    bool delivered, error_sent;
    const char *key;
} relay;

static int relay_event(const lo_llm_stream_event *ev, void *ud)
{
    relay *r = ud;
    r->delivered = true;
    if (ev->type == LO_STREAM_ERROR) {
        r->error_sent = true;
        if (ev->error)
            scrub(ev->error->message, sizeof ev->error->message, r->key);
    }
    return r->fn ? r->fn(ev, r->ud) : 0;
}

/* The per-call timeout: the provider's, cut to the caller's step timeout
 * and to what is left before the deadline. < 0: the deadline has passed. */
static long call_timeout(const provider *p, const lo_llm_run_opts_ *o)
{
    long t = p->timeout_ms;
    if (o && o->timeout_ms > 0 && (t == 0 || o->timeout_ms < t))
        t = o->timeout_ms;
    if (o && o->deadline > 0) {
        double left = o->deadline - lo_llm_now_s_();
        if (left <= 0)
            return -1;
        long ms = (long)(left * 1000) + 1;
        if (t == 0 || ms < t)
            t = ms;
    }
    return t;
}

/* The provider call with retries (§6.6): the end of every middleware chain. */
static int run(lo_llm_client *c, const lo_llm_request *req, bool streaming,
               lo_llm_event_fn on_event, void *ud, const lo_llm_run_opts_ *o,
               lo_llm_response **out, lo_llm_error *err)
{
    if (out)
        *out = NULL;
    lo_llm_error local;
    lo_llm_error *e = err ? err : &local;
    const char *name = lo_llm_client_resolve(c, req, e);
    if (!name)
        return LO_EINVAL;
    const provider *p = find_provider(c, name);
    const atomic_bool *cancel = o && o->cancel ? o->cancel : c->cancel;
    lo_llm_retry_policy policy = c->retry;
    if (o && o->max_retries >= 0)
        policy.max_retries = o->max_retries;
    lo_llm_call call = {
        .provider = name,
        .api_key = p->api_key,
        .base_url = p->base_url,
        .headers = (const char *const *)p->headers,
        .timeout_ms = p->timeout_ms,
        .connect_timeout_ms = p->connect_timeout_ms,
        .cancel = cancel,
    };
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    unsigned seed = (unsigned)ts.tv_nsec ^ (unsigned)(uintptr_t)&ts;
    relay rl = {.fn = on_event, .ud = ud, .key = p->api_key};

    for (int attempt = 0;; attempt++) {
        lo_llm_response *resp = NULL;
        int rc;
        call.timeout_ms = call_timeout(p, o);
        if (flag_set(cancel)) {
            lo_llm_error_set(e, LO_LLM_ERR_ABORT, name, "cancelled");
            rc = LO_ECANCELED;
        } else if (call.timeout_ms < 0) {
            lo_llm_error_set(e, LO_LLM_ERR_REQUEST_TIMEOUT, name,
                             "the total timeout ran out before the request was sent");
            rc = LO_EIO;
        } else if (streaming) {
            rc = p->adapter->stream(&call, req, relay_event, &rl, &resp, e);
        } else {
            rc = p->adapter->complete(&call, req, &resp, e);
        }
        if (rc == 0) {
            if (out)
                *out = resp;
            else
                lo_llm_response_free(resp);
            return 0;
        }
        lo_llm_response_free(resp);
        scrub(e->message, sizeof e->message, p->api_key);
        if (rc == LO_ECANCELED && e->kind != LO_LLM_ERR_ABORT)
            lo_llm_error_set(e, LO_LLM_ERR_ABORT, name, "cancelled");
        bool again = e->retryable && attempt < policy.max_retries &&
                     !(streaming && rl.delivered) && !flag_set(cancel);
        double delay = again ? retry_delay(&policy, e, attempt, &seed) : -1;
        /* A wait that would outlast the total timeout is not worth starting. */
        if (delay >= 0 && o && o->deadline > 0 && lo_llm_now_s_() + delay >= o->deadline)
            delay = -1;
        if (delay < 0) {
            /* A stream that fails ends with an ERROR event, once; not when
             * the caller stopped it (it knows). */
            if (streaming && !rl.error_sent && on_event && e->kind != LO_LLM_ERR_ABORT) {
                lo_llm_stream_event *ev = lo_llm_stream_event_new(LO_STREAM_ERROR);
                if (ev && (ev->error = lo_malloc(sizeof *ev->error))) {
                    *ev->error = *e;
                    on_event(ev, ud);
                }
                lo_llm_stream_event_free(ev);
            }
            return rc_for(e);
        }
        if (policy.on_retry)
            policy.on_retry(e, attempt + 1, delay, policy.on_retry_ud);
        if (!sleep_cancellable(cancel, delay)) {
            lo_llm_error_set(e, LO_LLM_ERR_ABORT, name, "cancelled while waiting to retry");
            continue; /* the loop top reports the abort, with its ERROR event */
        }
    }
}

/* ---- middleware ---- */

struct lo_llm_next {
    lo_llm_client *c;
    size_t at; /* the next middleware to run */
    const lo_llm_run_opts_ *o;
};

int lo_llm_client_use(lo_llm_client *c, const lo_llm_middleware *mw)
{
    if (!c || !mw)
        return LO_EINVAL;
    lo_llm_middleware *v = lo_realloc(c->mws, (c->n_mws + 1) * sizeof *v);
    if (!v)
        return LO_ENOMEM;
    v[c->n_mws++] = *mw;
    c->mws = v;
    return 0;
}

/* A middleware that says it answered must have: one that did not is a bug
 * the caller should hear about, not a NULL response. */
static int checked(const lo_llm_middleware *mw, int rc, lo_llm_response **out, lo_llm_error *e)
{
    if (rc == 0 && out && !*out) {
        lo_llm_error_set(e, LO_LLM_ERR_PROVIDER, NULL,
                         "middleware %s returned success without a response",
                         mw->name ? mw->name : "(unnamed)");
        return LO_EIO;
    }
    if (rc != 0 && out && *out) {
        lo_llm_response_free(*out);
        *out = NULL;
    }
    return rc;
}

int lo_llm_next_complete(lo_llm_next *next, const lo_llm_request *req, lo_llm_response **out,
                         lo_llm_error *err)
{
    lo_llm_client *c = next->c;
    lo_llm_response *local = NULL;
    size_t i = next->at;
    while (i < c->n_mws && !c->mws[i].complete)
        i++;
    int rc;
    if (i < c->n_mws) {
        lo_llm_next sub = {c, i + 1, next->o};
        rc = checked(&c->mws[i], c->mws[i].complete(c->mws[i].ud, req, &sub, &local, err),
                     &local, err);
    } else {
        rc = run(c, req, false, NULL, NULL, next->o, &local, err);
    }
    if (out)
        *out = local;
    else
        lo_llm_response_free(local);
    return rc;
}

int lo_llm_next_stream(lo_llm_next *next, const lo_llm_request *req, lo_llm_event_fn on_event,
                       void *event_ud, lo_llm_response **out, lo_llm_error *err)
{
    lo_llm_client *c = next->c;
    lo_llm_response *local = NULL;
    size_t i = next->at;
    while (i < c->n_mws && !c->mws[i].stream)
        i++;
    int rc;
    if (i < c->n_mws) {
        lo_llm_next sub = {c, i + 1, next->o};
        rc = c->mws[i].stream(c->mws[i].ud, req, on_event, event_ud, &sub, &local, err);
        rc = checked(&c->mws[i], rc, &local, err);
    } else {
        rc = run(c, req, true, on_event, event_ud, next->o, &local, err);
    }
    if (out)
        *out = local;
    else
        lo_llm_response_free(local);
    return rc;
}

int lo_llm_complete_opts_(lo_llm_client *c, const lo_llm_request *req, const lo_llm_run_opts_ *o,
                          lo_llm_response **out, lo_llm_error *err)
{
    lo_llm_error local;
    lo_llm_response *resp = NULL;
    if (out)
        *out = NULL;
    if (!c) {
        lo_llm_error_set(err ? err : &local, LO_LLM_ERR_CONFIGURATION, NULL, "no client");
        return LO_EINVAL;
    }
    lo_llm_next head = {c, 0, o};
    int rc = lo_llm_next_complete(&head, req, &resp, err ? err : &local);
    if (out)
        *out = resp;
    else
        lo_llm_response_free(resp);
    return rc;
}

int lo_llm_stream_opts_(lo_llm_client *c, const lo_llm_request *req, const lo_llm_run_opts_ *o,
                        lo_llm_event_fn on_event, void *ud, lo_llm_response **out,
                        lo_llm_error *err)
{
    lo_llm_error local;
    if (out)
        *out = NULL;
    if (!c) {
        lo_llm_error_set(err ? err : &local, LO_LLM_ERR_CONFIGURATION, NULL, "no client");
        return LO_EINVAL;
    }
    lo_llm_next head = {c, 0, o};
    return lo_llm_next_stream(&head, req, on_event, ud, out, err ? err : &local);
}

int lo_llm_complete(lo_llm_client *c, const lo_llm_request *req, lo_llm_response **out,
                    lo_llm_error *err)
{
    return lo_llm_complete_opts_(c, req, NULL, out, err);
}

int lo_llm_stream(lo_llm_client *c, const lo_llm_request *req, lo_llm_event_fn on_event,
                  void *ud, lo_llm_response **out, lo_llm_error *err)
{
    return lo_llm_stream_opts_(c, req, NULL, on_event, ud, out, err);
}

/* ---- the default client (§2.5) ---- */

/* The one piece of process-wide state the spec asks for, behind a lock. */
static pthread_mutex_t default_mu = PTHREAD_MUTEX_INITIALIZER;
static lo_llm_client *default_set, *default_env;

lo_llm_client *lo_llm_default_client(lo_llm_error *err)
{
    pthread_mutex_lock(&default_mu);
    lo_llm_client *c = default_set;
    if (!c && !default_env)
        lo_llm_client_from_env(&default_env, err);
    if (!c)
        c = default_env;
    pthread_mutex_unlock(&default_mu);
    return c;
}

void lo_llm_set_default_client(lo_llm_client *c)
{
    pthread_mutex_lock(&default_mu);
    default_set = c;
    pthread_mutex_unlock(&default_mu);
}
