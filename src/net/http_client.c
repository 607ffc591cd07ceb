/*
 * HTTP client on libcurl: one easy handle per call, so calls on different
 * threads share nothing but libcurl's global state (initialised once) and a
 * share handle that caches DNS answers and TLS sessions between calls.
 *
 * Request headers and the URL's query string can hold API keys (Gemini takes
 * ?key=); error messages name the method and the URL without its query and
 * never a header.
 */
#include <ctype.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

#include "lightsout/http.h"

/* ---------------------------------------------------------------- global */

static pthread_once_t g_once = PTHREAD_ONCE_INIT;
static CURLcode g_init_rc = CURLE_FAILED_INIT;
static CURLSH *g_share;
static pthread_mutex_t g_share_mu[CURL_LOCK_DATA_LAST];

static void share_lock(CURL *h, curl_lock_data data, curl_lock_access access, void *ud)
{
    (void)h;
    (void)access;
    (void)ud;
    pthread_mutex_lock(&g_share_mu[data]);
}

static void share_unlock(CURL *h, curl_lock_data data, void *ud)
{
    (void)h;
    (void)ud;
    pthread_mutex_unlock(&g_share_mu[data]);
}

static void global_init(void)
{
    g_init_rc = curl_global_init(CURL_GLOBAL_DEFAULT);
    if (g_init_rc != CURLE_OK)
        return;
    for (int i = 0; i < CURL_LOCK_DATA_LAST; i++)
        pthread_mutex_init(&g_share_mu[i], NULL);
    /* DNS and TLS sessions only: sharing connections between threads is
     * where libcurl's share interface has had its bugs. Without the share
     * handle each call still works, only without the caches. */
    g_share = curl_share_init();
    if (g_share) {
        curl_share_setopt(g_share, CURLSHOPT_LOCKFUNC, share_lock);
        curl_share_setopt(g_share, CURLSHOPT_UNLOCKFUNC, share_unlock);
        curl_share_setopt(g_share, CURLSHOPT_SHARE, CURL_LOCK_DATA_DNS);
        curl_share_setopt(g_share, CURLSHOPT_SHARE, CURL_LOCK_DATA_SSL_SESSION);
    }
}

/* ---------------------------------------------------------------- callbacks */

struct xfer {
    const lo_http_call *c;
    lo_http_result *r;
    CURL *h;
    int decided;       /* 0 = not yet, 1 = to on_data, 2 = collect */
    bool aborted;      /* on_data asked to stop */
    bool too_big;
    bool oom;
    size_t max;
};

static size_t on_write(char *ptr, size_t size, size_t nmemb, void *ud)
{
    struct xfer *x = ud;
    size_t n = size * nmemb;
    if (!x->decided) {
        /* The first body byte comes after the final status line: stream a
         * 2xx body to on_data, collect any other so the caller can read the
         * server's error. */
        long st = 0;
        curl_easy_getinfo(x->h, CURLINFO_RESPONSE_CODE, &st);
        x->decided = (x->c->on_data && st >= 200 && st < 300) ? 1 : 2;
    }
    if (x->decided == 1) {
        if (x->c->on_data(ptr, n, x->c->ud) != 0) {
            x->aborted = true;
            return 0; /* any short count makes libcurl stop with CURLE_WRITE_ERROR */
        }
        return n;
    }
    if (x->r->body.len + n > x->max) {
        x->too_big = true;
        return 0;
    }
    if (lo_buf_append(&x->r->body, ptr, n) != 0) {
        x->oom = true;
        return 0;
    }
    return n;
}

static size_t on_header(char *ptr, size_t size, size_t nmemb, void *ud)
{
    struct xfer *x = ud;
    size_t n = size * nmemb;
    json_t *hs = x->r->headers;
    if (!hs)
        return n;
    if (n >= 5 && memcmp(ptr, "HTTP/", 5) == 0) {
        /* A new status line: an interim response (100 Continue) is over,
         * its headers do not belong to the final one. */
        json_object_clear(hs);
        return n;
    }
    const char *colon = memchr(ptr, ':', n);
    if (!colon || colon == ptr)
        return n; /* the blank line, or not a header */
    size_t nlen = (size_t)(colon - ptr);
    if (nlen > 256)
        return n;
    char name[257];
    for (size_t i = 0; i < nlen; i++)
        name[i] = (char)tolower((unsigned char)ptr[i]);
    name[nlen] = '\0';
    const char *v = colon + 1, *end = ptr + n;
    while (v < end && (*v == ' ' || *v == '\t'))
        v++;
    while (end > v && (end[-1] == '\r' || end[-1] == '\n' || end[-1] == ' ' || end[-1] == '\t'))
        end--;
    json_t *js = json_stringn_nocheck(v, (size_t)(end - v));
    if (js)
        json_object_set_new_nocheck(hs, name, js);
    return n;
}

static int on_progress(void *ud, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal,
                       curl_off_t ulnow)
{
    struct xfer *x = ud;
    (void)dltotal;
    (void)dlnow;
    (void)ultotal;
    (void)ulnow;
    return x->c->cancel && atomic_load(x->c->cancel) ? 1 : 0;
}

/* ---------------------------------------------------------------- call */

void lo_http_result_release(lo_http_result *r)
{
    if (!r)
        return;
    lo_buf_release(&r->body);
    json_decref(r->headers);
    r->headers = NULL;
}

/* "METHOD scheme://host/path" for messages: the query may hold a key. */
static void url_for_message(const char *url, char *out, size_t cap)
{
    size_t n = strcspn(url, "?#");
    if (n > cap - 1)
        n = cap - 1;
    memcpy(out, url, n);
    out[n] = '\0';
}

int lo_http_do(const lo_http_call *c, lo_http_result *r, lo_error *err)
{
    if (!r)
        return lo_error_set(err, LO_EINVAL, "http: no result");
    memset(r, 0, sizeof *r);
    lo_buf_init(&r->body, 0);
    if (!c || !c->url || !*c->url)
        return lo_error_set(err, LO_EINVAL, "http: no URL");
    const char *method = c->method ? c->method : (c->body ? "POST" : "GET");
    char where[512];
    url_for_message(c->url, where, sizeof where);

    pthread_once(&g_once, global_init);
    if (g_init_rc != CURLE_OK)
        return lo_error_set(err, LO_EIO, "http: libcurl init failed: %s",
                            curl_easy_strerror(g_init_rc));
    if (c->cancel && atomic_load(c->cancel))
        return lo_error_set(err, LO_ECANCELED, "%s %s: canceled", method, where);

    r->headers = json_object();
    CURL *h = curl_easy_init();
    if (!r->headers || !h) {
        if (h)
            curl_easy_cleanup(h);
        return lo_error_set(err, LO_ENOMEM, "http: out of memory");
    }

    struct curl_slist *hl = NULL;
    bool hl_oom = false;
    for (const char *const *p = c->headers; p && *p; p++) {
        struct curl_slist *t = curl_slist_append(hl, *p);
        if (!t) {
            hl_oom = true;
            break;
        }
        hl = t;
    }
    if (hl_oom) {
        curl_slist_free_all(hl);
        curl_easy_cleanup(h);
        return lo_error_set(err, LO_ENOMEM, "http: out of memory");
    }

    const char *env_np = getenv("no_proxy");
    if (!env_np || !*env_np)
        env_np = getenv("NO_PROXY");
    char noproxy[1024];
    if (env_np && strcmp(env_np, "*") == 0) /* libcurl honours "*" only alone */
        snprintf(noproxy, sizeof noproxy, "*");
    else
        snprintf(noproxy, sizeof noproxy, "localhost,127.0.0.1,::1%s%s",
                 env_np && *env_np ? "," : "", env_np && *env_np ? env_np : "");

    struct xfer x = {.c = c, .r = r, .h = h};
    x.max = c->max_response ? c->max_response : LO_HTTP_DEFAULT_MAX_RESPONSE;
    char errbuf[CURL_ERROR_SIZE];
    errbuf[0] = '\0';

    curl_easy_setopt(h, CURLOPT_URL, c->url);
    curl_easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf);
    /* Threads: no signals (libcurl would use SIGALRM for DNS timeouts). */
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_TCP_KEEPALIVE, 1L);
    /* Base URLs come from the environment: http and https only, no file://
     * or other schemes libcurl would otherwise follow. */
    curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
    /* A User-Agent header from the caller replaces this one. */
    curl_easy_setopt(h, CURLOPT_USERAGENT, "lightsout/" LO_VERSION);
    /* Loopback (the digital twins) never goes through an http_proxy from the
     * environment; the environment's own no_proxy list still applies. */
    curl_easy_setopt(h, CURLOPT_NOPROXY, noproxy);
    if (g_share)
        curl_easy_setopt(h, CURLOPT_SHARE, g_share);
    if (hl)
        curl_easy_setopt(h, CURLOPT_HTTPHEADER, hl);
    if (strcmp(method, "HEAD") == 0) {
        curl_easy_setopt(h, CURLOPT_NOBODY, 1L);
    } else if (strcmp(method, "GET") != 0 || c->body) {
        if (strcmp(method, "POST") != 0)
            curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method);
        /* POSTFIELDS is not copied: c->body outlives the transfer. */
        curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)(c->body ? c->body_len : 0));
        curl_easy_setopt(h, CURLOPT_POSTFIELDS, c->body ? c->body : "");
    }
    if (c->timeout_ms > 0)
        curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, c->timeout_ms);
    if (c->connect_timeout_ms > 0)
        curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, c->connect_timeout_ms);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_write);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &x);
    curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(h, CURLOPT_HEADERDATA, &x);
    if (c->cancel) {
        curl_easy_setopt(h, CURLOPT_XFERINFOFUNCTION, on_progress);
        curl_easy_setopt(h, CURLOPT_XFERINFODATA, &x);
        curl_easy_setopt(h, CURLOPT_NOPROGRESS, 0L);
    }

    CURLcode rc = curl_easy_perform(h);

    long status = 0;
    double total = 0;
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
    curl_easy_getinfo(h, CURLINFO_TOTAL_TIME, &total);
    r->status = status;
    r->total_s = total;
    curl_easy_cleanup(h);
    curl_slist_free_all(hl);

    if (rc == CURLE_OK)
        return 0;
    const char *why = errbuf[0] ? errbuf : curl_easy_strerror(rc);
    if (x.aborted)
        return lo_error_set(err, LO_ECANCELED, "%s %s: aborted by the data callback", method, where);
    if (rc == CURLE_ABORTED_BY_CALLBACK)
        return lo_error_set(err, LO_ECANCELED, "%s %s: canceled", method, where);
    if (x.too_big)
        return lo_error_set(err, LO_ETOOBIG, "%s %s: response body over %zu bytes",
                            method, where, x.max);
    if (x.oom)
        return lo_error_set(err, LO_ENOMEM, "%s %s: out of memory", method, where);
    if (rc == CURLE_OPERATION_TIMEDOUT) {
        /* libcurl's own message says "timed out"; make sure ours does. */
        if (strstr(why, "timed out"))
            return lo_error_set(err, LO_EIO, "%s %s: %s", method, where, why);
        return lo_error_set(err, LO_EIO, "%s %s: timed out: %s", method, where, why);
    }
    return lo_error_set(err, LO_EIO, "%s %s: %s", method, where, why);
}
