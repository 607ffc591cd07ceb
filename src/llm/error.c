/* The LLM error taxonomy (unified-llm-spec §6.1-§6.5): kind names,
 * retryability, and the classification of HTTP statuses, gRPC statuses and
 * error messages. Pure data: no I/O. */
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "lightsout/llm.h"

const char *lo_llm_error_kind_name(lo_llm_error_kind k)
{
    static const char *const names[] = {
        "authentication",  "access_denied",  "not_found",      "invalid_request",
        "rate_limit",      "server",         "content_filter", "context_length",
        "quota_exceeded",  "request_timeout", "abort",         "network",
        "stream",          "invalid_tool_call", "no_object_generated", "configuration",
        "unsupported_tool_choice", "provider"};
    return (unsigned)k < sizeof names / sizeof *names ? names[k] : "provider";
}

bool lo_llm_error_kind_retryable(lo_llm_error_kind k)
{
    switch (k) {
    case LO_LLM_ERR_RATE_LIMIT:
    case LO_LLM_ERR_SERVER:
    case LO_LLM_ERR_NETWORK:
    case LO_LLM_ERR_STREAM:
    case LO_LLM_ERR_PROVIDER:
        return true;
    default:
        return false;
    }
}

/* Case-insensitive substring test (strcasestr is a GNU extension). */
static bool has_word(const char *hay, const char *needle)
{
    if (!hay)
        return false;
    size_t n = strlen(needle);
    for (; *hay; hay++) {
        size_t i = 0;
        while (i < n && hay[i] &&
               tolower((unsigned char)hay[i]) == tolower((unsigned char)needle[i]))
            i++;
        if (i == n)
            return true;
    }
    return false;
}

/* A 429 that means "out of money", not "slow down". Bare "quota" is not
 * enough: Gemini words its per-minute rate limits as quota too. */
static bool hard_quota(const char *msg)
{
    return has_word(msg, "insufficient_quota") || has_word(msg, "billing") ||
           has_word(msg, "credit balance");
}

/* §6.5 message signals, plus the phrasings the three providers actually use
 * for the same conditions (Anthropic: "prompt is too long"; OpenAI:
 * "maximum context length", "insufficient_quota"; Gemini: "API key not
 * valid", "exceeds the maximum number of tokens"). Returns false when the
 * message says nothing recognisable. */
static bool classify_message(const char *msg, lo_llm_error_kind *out)
{
    static const struct {
        const char *needle;
        lo_llm_error_kind kind;
    } rules[] = {
        {"context length", LO_LLM_ERR_CONTEXT_LENGTH},
        {"context_length", LO_LLM_ERR_CONTEXT_LENGTH},
        {"context window", LO_LLM_ERR_CONTEXT_LENGTH},
        {"too many tokens", LO_LLM_ERR_CONTEXT_LENGTH},
        {"prompt is too long", LO_LLM_ERR_CONTEXT_LENGTH},
        {"maximum number of tokens", LO_LLM_ERR_CONTEXT_LENGTH},
        {"content filter", LO_LLM_ERR_CONTENT_FILTER},
        {"content_filter", LO_LLM_ERR_CONTENT_FILTER},
        {"safety", LO_LLM_ERR_CONTENT_FILTER},
        {"unauthorized", LO_LLM_ERR_AUTHENTICATION},
        {"invalid key", LO_LLM_ERR_AUTHENTICATION},
        {"invalid api key", LO_LLM_ERR_AUTHENTICATION},
        {"invalid x-api-key", LO_LLM_ERR_AUTHENTICATION},
        {"api key not valid", LO_LLM_ERR_AUTHENTICATION},
        {"not found", LO_LLM_ERR_NOT_FOUND},
        {"does not exist", LO_LLM_ERR_NOT_FOUND},
        {"insufficient_quota", LO_LLM_ERR_QUOTA_EXCEEDED},
        {"quota", LO_LLM_ERR_QUOTA_EXCEEDED},
        {"billing", LO_LLM_ERR_QUOTA_EXCEEDED},
        {"credit balance", LO_LLM_ERR_QUOTA_EXCEEDED},
    };
    for (size_t i = 0; i < sizeof rules / sizeof *rules; i++)
        if (has_word(msg, rules[i].needle)) {
            *out = rules[i].kind;
            return true;
        }
    return false;
}

lo_llm_error_kind lo_llm_error_from_status(int status, const char *body_message)
{
    lo_llm_error_kind k;
    switch (status) {
    case 401:
        return LO_LLM_ERR_AUTHENTICATION;
    case 404:
        return LO_LLM_ERR_NOT_FOUND;
    case 408:
        return LO_LLM_ERR_REQUEST_TIMEOUT;
    case 413:
        return LO_LLM_ERR_CONTEXT_LENGTH;
    case 403:
        /* Gemini answers a bad key with 403; a quota can also show as 403. */
        if (classify_message(body_message, &k) &&
            (k == LO_LLM_ERR_AUTHENTICATION || k == LO_LLM_ERR_QUOTA_EXCEEDED))
            return k;
        return LO_LLM_ERR_ACCESS_DENIED;
    case 429:
        /* OpenAI sends 429 both for rate limits and for an exhausted quota;
         * only the second is hopeless to retry. */
        return hard_quota(body_message) ? LO_LLM_ERR_QUOTA_EXCEEDED : LO_LLM_ERR_RATE_LIMIT;
    case 400:
    case 422:
        if (classify_message(body_message, &k))
            return k;
        return LO_LLM_ERR_INVALID_REQUEST;
    default:
        break;
    }
    if (status >= 500 && status <= 599)
        return LO_LLM_ERR_SERVER;
    if (classify_message(body_message, &k))
        return k;
    return LO_LLM_ERR_PROVIDER;
}

lo_llm_error_kind lo_llm_error_from_grpc(const char *grpc_status, const char *body_message)
{
    static const struct {
        const char *name;
        lo_llm_error_kind kind;
    } map[] = {
        {"NOT_FOUND", LO_LLM_ERR_NOT_FOUND},
        {"INVALID_ARGUMENT", LO_LLM_ERR_INVALID_REQUEST},
        {"UNAUTHENTICATED", LO_LLM_ERR_AUTHENTICATION},
        {"PERMISSION_DENIED", LO_LLM_ERR_ACCESS_DENIED},
        {"RESOURCE_EXHAUSTED", LO_LLM_ERR_RATE_LIMIT},
        {"UNAVAILABLE", LO_LLM_ERR_SERVER},
        {"DEADLINE_EXCEEDED", LO_LLM_ERR_REQUEST_TIMEOUT},
        {"INTERNAL", LO_LLM_ERR_SERVER},
    };
    lo_llm_error_kind k;
    for (size_t i = 0; grpc_status && i < sizeof map / sizeof *map; i++)
        if (strcmp(grpc_status, map[i].name) == 0) {
            k = map[i].kind;
            /* INVALID_ARGUMENT covers context overflow and safety blocks;
             * RESOURCE_EXHAUSTED covers quotas: the message tells which. */
            lo_llm_error_kind m;
            if (k == LO_LLM_ERR_INVALID_REQUEST && classify_message(body_message, &m))
                return m;
            if (k == LO_LLM_ERR_RATE_LIMIT && hard_quota(body_message))
                return LO_LLM_ERR_QUOTA_EXCEEDED;
            return k;
        }
    if (classify_message(body_message, &k))
        return k;
    return LO_LLM_ERR_PROVIDER;
}

static void error_fill(lo_llm_error *e, lo_llm_error_kind kind, const char *provider)
{
    memset(e, 0, sizeof *e);
    e->kind = kind;
    e->retryable = lo_llm_error_kind_retryable(kind);
    e->retry_after = -1;
    snprintf(e->provider, sizeof e->provider, "%s", provider ? provider : "");
}

void lo_llm_error_set(lo_llm_error *e, lo_llm_error_kind kind, const char *provider,
                      const char *fmt, ...)
{
    error_fill(e, kind, provider);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(e->message, sizeof e->message, fmt, ap);
    va_end(ap);
}

void lo_llm_error_from_http(lo_llm_error *e, const char *provider, int status,
                            const char *code, const char *message)
{
    /* The provider's error code ("context_length_exceeded", "overloaded_error")
     * is as telling as the message, so both are classified together. */
    char both[1200];
    snprintf(both, sizeof both, "%s %s", code ? code : "", message ? message : "");
    error_fill(e, lo_llm_error_from_status(status, both), provider);
    e->status = status;
    snprintf(e->code, sizeof e->code, "%s", code ? code : "");
    snprintf(e->message, sizeof e->message, "%s", message && *message ? message : "HTTP error");
}

