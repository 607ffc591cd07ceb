/* Tapes: JSONL files of canned exchanges, checked line by line when loaded
 * (so a typo fails at start-up, not on the request that needed the entry),
 * and the provider-neutral matcher that picks the entry for a request. */
#include <regex.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "lightsout/twin.h"

/* The match keys that take a POSIX extended regular expression, and the
 * request field each is tried on. */
enum { RE_PATH, RE_MODEL, RE_USER, RE_TOOL_RESULT, N_RE };
static const char *const RE_KEYS[N_RE] = {"path_re", "model_re", "user_re", "tool_result_re"};

struct lo_tape_regex {
    bool set[N_RE];
    regex_t re[N_RE];
};

struct lo_tape {
    char *name;
    lo_tape_entry *entries;
    size_t n, cap;
};

/* ------------------------------------------------------------ checking */

/* glibc's regcomp expands every repetition into copies of its operand, so
 * "a++++" or "(a{1,99}){1,99}" costs time exponential or multiplicative in
 * the pattern before a single request is matched, and stacked operators
 * ("a*****+") take minutes. Stacked repetition means nothing in POSIX
 * EREs, so it is refused; otherwise the expanded size is estimated (each
 * '+' doubles its operand, "{n,m}" multiplies it by the larger bound) and
 * patterns beyond RE_MAX_SIZE, which no sensible matcher on a user message
 * needs, are refused too. What passes compiles in well under 50 ms. */
enum { RE_MAX_SIZE = 1000, RE_MAX_DEPTH = 32 };

static size_t re_bound(const char **pp)
{
    const char *p = *pp + 1; /* past '{' */
    size_t lo = 0, hi = 0;
    bool comma = false, hi_set = false;
    for (; *p && *p != '}'; p++) {
        if (*p == ',')
            comma = true;
        else if (*p >= '0' && *p <= '9') {
            size_t *v = comma ? &hi : &lo;
            *v = *v > 100000 ? *v : *v * 10 + (size_t)(*p - '0');
            hi_set |= comma;
        }
    }
    *pp = *p ? p : p - 1;
    size_t n = comma ? (hi_set ? hi : lo + 1) : lo;
    return n ? n : 1;
}

static size_t re_size(const char *p)
{
    size_t sum[RE_MAX_DEPTH + 1] = {0}, last[RE_MAX_DEPTH + 1] = {0};
    int d = 0;
    bool quantified = false; /* the previous token was a repetition */
    for (; *p; p++) {
        size_t atom = 0;
        bool quant = *p == '*' || *p == '+' || *p == '?' || *p == '{';
        if (quant && quantified)
            return SIZE_MAX;
        quantified = quant;
        switch (*p) {
        case '(':
            if (++d > RE_MAX_DEPTH)
                return SIZE_MAX;
            sum[d] = last[d] = 0;
            continue;
        case ')':
            if (d == 0) {
                atom = 1;
                break;
            }
            atom = sum[d--];
            break;
        case '|':
            last[d] = 0;
            continue;
        case '*':
        case '?':
            continue;
        case '+':
            sum[d] += last[d];
            last[d] *= 2;
            break;
        case '{': {
            size_t f = re_bound(&p);
            sum[d] += last[d] * (f - 1);
            last[d] *= f;
            break;
        }
        case '[': {
            /* a bracket expression is one atom; a ']' first is a member and
             * "[:alpha:]" inside does not close it */
            const char *q = p + 1;
            q += *q == '^';
            q += *q == ']';
            while (*q && *q != ']') {
                const char *end = NULL;
                if (*q == '[' && (q[1] == ':' || q[1] == '.' || q[1] == '='))
                    end = strchr(q + 2, ']');
                q = end ? end + 1 : q + 1;
            }
            p = *q ? q : q - 1;
            atom = 1;
            break;
        }
        case '\\':
            p += p[1] != '\0';
            atom = 1;
            break;
        default:
            atom = 1;
        }
        if (atom) {
            sum[d] += atom;
            last[d] = atom;
        }
        if (sum[d] > RE_MAX_SIZE || last[d] > RE_MAX_SIZE)
            return SIZE_MAX;
    }
    return sum[0];
}

static bool only_keys(const json_t *obj, const char *const *keys, const char **bad)
{
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)obj, k, v) {
        bool known = false;
        for (size_t i = 0; keys[i]; i++)
            if (strcmp(keys[i], k) == 0)
                known = true;
        if (!known) {
            *bad = k;
            return false;
        }
    }
    return true;
}

/* A non-negative integer field; -1 when absent, -2 when of the wrong type. */
static long nonneg(const json_t *obj, const char *key)
{
    json_t *v = json_object_get(obj, key);
    if (!v)
        return -1;
    if (!json_is_integer(v) || json_integer_value(v) < 0)
        return -2;
    return (long)json_integer_value(v);
}

static int line_err(lo_error *err, const char *name, unsigned line, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static int line_err(lo_error *err, const char *name, unsigned line, const char *fmt, ...)
{
    char msg[900];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (!line) /* not from a file: a fault given on its own */
        return lo_error_set(err, LO_EINVAL, "%s", msg);
    return lo_error_at(err, LO_EINVAL, name, line, 0, "%s:%u: %s", name, line, msg);
}

static int check_match(const json_t *m, lo_tape_entry *e, const char *name, unsigned line,
                       lo_error *err)
{
    static const char *const keys[] = {"path", "model", "call", "user", "tool_result",
                                       "tools", "messages", "path_re", "model_re", "user_re",
                                       "tool_result_re", NULL};
    const char *bad;
    if (!json_is_object(m))
        return line_err(err, name, line, "\"match\" must be an object");
    if (!only_keys(m, keys, &bad))
        return line_err(err, name, line,
                        "unknown key \"match.%s\" (known: path, model, call, user, "
                        "tool_result, tools, messages, and path_re, model_re, user_re, "
                        "tool_result_re)", bad);
    static const char *const strs[] = {"path", "model", "user", "tool_result", "path_re",
                                       "model_re", "user_re", "tool_result_re", NULL};
    for (size_t i = 0; strs[i]; i++) {
        json_t *v = json_object_get(m, strs[i]);
        if (v && !json_is_string(v))
            return line_err(err, name, line, "\"match.%s\" must be a string", strs[i]);
    }
    json_t *c = json_object_get(m, "call");
    if (c && (!json_is_integer(c) || json_integer_value(c) < 1))
        return line_err(err, name, line, "\"match.call\" must be an integer from 1");
    if (nonneg(m, "messages") == -2)
        return line_err(err, name, line, "\"match.messages\" must be a non-negative integer");
    json_t *tools = json_object_get(m, "tools");
    if (tools) {
        size_t i;
        json_t *v;
        if (!json_is_array(tools))
            return line_err(err, name, line, "\"match.tools\" must be an array of tool names");
        json_array_foreach(tools, i, v) if (!json_is_string(v))
            return line_err(err, name, line, "\"match.tools[%zu]\" must be a string", i);
    }
    for (int k = 0; k < N_RE; k++) {
        const char *pat = json_string_value(json_object_get(m, RE_KEYS[k]));
        if (!pat)
            continue;
        if (!e->re && !(e->re = lo_calloc(1, sizeof *e->re)))
            return lo_error_set(err, LO_ENOMEM, "out of memory");
        if (re_size(pat) > RE_MAX_SIZE)
            return line_err(err, name, line,
                            "\"match.%s\": pattern too costly to compile (stacked "
                            "repetitions such as \"a*+\", or nested ones past %d copies); "
                            "simplify it",
                            RE_KEYS[k], RE_MAX_SIZE);
        int rc = regcomp(&e->re->re[k], pat, REG_EXTENDED | REG_NOSUB);
        if (rc) {
            char msg[200];
            /* a failed regcomp holds nothing to regfree (set[k] stays false) */
            regerror(rc, &e->re->re[k], msg, sizeof msg);
            return line_err(err, name, line, "\"match.%s\": %s", RE_KEYS[k], msg);
        }
        e->re->set[k] = true;
    }
    return 0;
}

static int check_reply(const json_t *r, const char *name, unsigned line, lo_error *err)
{
    static const char *const keys[] = {"text", "tool_calls", "thinking", "stop_reason",
                                       "stop_sequence", "usage", NULL};
    const char *bad;
    if (!json_is_object(r))
        return line_err(err, name, line, "\"reply\" must be an object");
    if (!only_keys(r, keys, &bad))
        return line_err(err, name, line,
                        "unknown key \"reply.%s\" (known: text, tool_calls, thinking, "
                        "stop_reason, stop_sequence, usage)", bad);
    static const char *const strs[] = {"text", "stop_reason", "stop_sequence", NULL};
    for (size_t i = 0; strs[i]; i++) {
        json_t *v = json_object_get(r, strs[i]);
        if (v && !json_is_string(v))
            return line_err(err, name, line, "\"reply.%s\" must be a string", strs[i]);
    }
    json_t *tc = json_object_get(r, "tool_calls");
    if (tc) {
        size_t i;
        json_t *v;
        if (!json_is_array(tc))
            return line_err(err, name, line, "\"reply.tool_calls\" must be an array");
        json_array_foreach(tc, i, v) {
            static const char *const tkeys[] = {"name", "arguments", "id", NULL};
            if (!json_is_object(v) || !json_is_string(json_object_get(v, "name")))
                return line_err(err, name, line,
                                "\"reply.tool_calls[%zu]\" must be an object with a \"name\"", i);
            if (!only_keys(v, tkeys, &bad))
                return line_err(err, name, line,
                                "unknown key \"reply.tool_calls[%zu].%s\" (known: name, "
                                "arguments, id)", i, bad);
            json_t *a = json_object_get(v, "arguments");
            if (a && !json_is_object(a))
                return line_err(err, name, line,
                                "\"reply.tool_calls[%zu].arguments\" must be an object", i);
            json_t *id = json_object_get(v, "id");
            if (id && !json_is_string(id))
                return line_err(err, name, line,
                                "\"reply.tool_calls[%zu].id\" must be a string", i);
        }
    }
    json_t *th = json_object_get(r, "thinking");
    if (th && !json_is_string(th)) {
        static const char *const hkeys[] = {"text", "signature", NULL};
        if (!json_is_object(th) || !json_is_string(json_object_get(th, "text")) ||
            !only_keys(th, hkeys, &bad) ||
            (json_object_get(th, "signature") &&
             !json_is_string(json_object_get(th, "signature"))))
            return line_err(err, name, line,
                            "\"reply.thinking\" must be a string or {\"text\": ..., "
                            "\"signature\": ...}");
    }
    json_t *u = json_object_get(r, "usage");
    if (u) {
        static const char *const ukeys[] = {"input_tokens", "output_tokens",
                                            "cache_read_tokens", "cache_write_tokens", NULL};
        bool ok = json_is_object(u) && only_keys(u, ukeys, &bad);
        for (size_t i = 0; ok && ukeys[i]; i++)
            ok = nonneg(u, ukeys[i]) != -2;
        if (!ok)
            return line_err(err, name, line,
                            "\"reply.usage\" must be an object of non-negative integers "
                            "(input_tokens, output_tokens, cache_read_tokens, "
                            "cache_write_tokens)");
    }
    return 0;
}

static int check_fault(const json_t *f, lo_tape_fault *out, const char *name, unsigned line,
                       lo_error *err)
{
    static const char *const keys[] = {"status", "retry_after", "latency_ms", "cut_after",
                                       "malformed", "drip_ms", "every", NULL};
    const char *bad;
    if (!json_is_object(f))
        return line_err(err, name, line, "\"fault\" must be an object");
    if (!only_keys(f, keys, &bad))
        return line_err(err, name, line,
                        "unknown key \"fault.%s\" (known: status, retry_after, latency_ms, "
                        "cut_after, malformed, drip_ms, every)", bad);
    json_t *s = json_object_get(f, "status");
    if (s) {
        if (!json_is_integer(s) || json_integer_value(s) < 400 || json_integer_value(s) > 599)
            return line_err(err, name, line,
                            "\"fault.status\" must be an HTTP error status (400-599)");
        out->status = (int)json_integer_value(s);
    }
    static const char *const nums[] = {"retry_after", "latency_ms", "cut_after", "drip_ms",
                                       "every", NULL};
    long vals[5];
    for (size_t i = 0; nums[i]; i++) {
        vals[i] = nonneg(f, nums[i]);
        if (vals[i] == -2)
            return line_err(err, name, line, "\"fault.%s\" must be a non-negative integer",
                            nums[i]);
    }
    out->retry_after_s = vals[0];
    out->latency_ms = vals[1] < 0 ? 0 : vals[1];
    out->cut_after = vals[2];
    out->drip_ms = vals[3] < 0 ? 0 : vals[3];
    out->every = vals[4] < 0 ? 0 : vals[4];
    json_t *m = json_object_get(f, "malformed");
    if (m && !json_is_boolean(m))
        return line_err(err, name, line, "\"fault.malformed\" must be true or false");
    out->malformed = json_is_true(m);
    return 0;
}

int lo_tape_fault_parse(const char *json, lo_tape_fault *out, lo_error *err)
{
    memset(out, 0, sizeof *out);
    out->retry_after_s = -1;
    out->cut_after = -1;
    json_error_t je;
    json_t *f = json_loads(json ? json : "", 0, &je);
    if (!f)
        return lo_error_set(err, LO_EINVAL, "a fault must be a JSON object: %s", je.text);
    int rc = check_fault(f, out, "fault", 0, err);
    json_decref(f);
    return rc;
}

/* Parse and check one line into e (which takes one reference to root). */
static int parse_entry(json_t *root, lo_tape_entry *e, const char *name, unsigned line,
                       lo_error *err)
{
    static const char *const keys[] = {"match", "reply", "raw", "fault", "comment", NULL};
    const char *bad;
    if (!json_is_object(root))
        return line_err(err, name, line, "an entry must be a JSON object");
    if (!only_keys(root, keys, &bad))
        return line_err(err, name, line,
                        "unknown key \"%s\" (known: match, reply, raw, fault, comment)", bad);
    e->fault.retry_after_s = -1;
    e->fault.cut_after = -1;
    json_t *m = json_object_get(root, "match"), *r = json_object_get(root, "reply"),
           *raw = json_object_get(root, "raw"), *f = json_object_get(root, "fault");
    int rc;
    if (m && (rc = check_match(m, e, name, line, err)))
        return rc;
    if (r && (rc = check_reply(r, name, line, err)))
        return rc;
    if (f && (rc = check_fault(f, &e->fault, name, line, err)))
        return rc;
    if (r && raw)
        return line_err(err, name, line, "an entry has \"reply\" or \"raw\", not both");
    if (!r && !raw && !e->fault.status)
        return line_err(err, name, line,
                        "an entry needs \"reply\", \"raw\" or a \"fault\" with a status");
    if (!r && !raw && e->fault.every > 1)
        return line_err(err, name, line,
                        "\"fault.every\" needs a \"reply\" or \"raw\" for the other calls");
    if (raw && json_is_null(raw))
        return line_err(err, name, line, "\"raw\" must be a string or a JSON value, not null");
    e->match = json_incref(m);
    e->reply = json_incref(r);
    e->raw = json_incref(raw);
    return 0;
}

static void entry_release(lo_tape_entry *e)
{
    for (int k = 0; e->re && k < N_RE; k++)
        if (e->re->set[k])
            regfree(&e->re->re[k]);
    free(e->re);
    json_decref(e->match);
    json_decref(e->reply);
    json_decref(e->raw);
}

void lo_tape_free(lo_tape *t)
{
    if (!t)
        return;
    for (size_t i = 0; i < t->n; i++)
        entry_release(&t->entries[i]);
    free(t->entries);
    free(t->name);
    free(t);
}

lo_tape *lo_tape_parse(const char *text, size_t len, const char *name, lo_error *err)
{
    lo_tape *t = lo_calloc(1, sizeof *t);
    if (!t || !(t->name = lo_strdup(name ? name : "tape"))) {
        free(t);
        lo_error_set(err, LO_ENOMEM, "out of memory");
        return NULL;
    }
    size_t pos = 0;
    unsigned line = 0;
    while (pos < len) {
        line++;
        const char *start = text + pos;
        const char *nl = memchr(start, '\n', len - pos);
        size_t n = nl ? (size_t)(nl - start) : len - pos;
        pos += n + (nl ? 1 : 0);
        /* blank lines (and a CR before LF) are allowed: tapes are edited by hand */
        size_t b = 0;
        while (b < n && (start[b] == ' ' || start[b] == '\t' || start[b] == '\r'))
            b++;
        if (b == n)
            continue;
        json_error_t je;
        json_t *root = json_loadb(start, n, JSON_REJECT_DUPLICATES, &je);
        if (!root) {
            line_err(err, t->name, line, "invalid JSON at column %d: %s", je.column, je.text);
            if (err)
                err->code = LO_EPARSE;
            lo_tape_free(t);
            return NULL;
        }
        if (t->n == t->cap) {
            size_t cap = t->cap ? t->cap * 2 : 8;
            lo_tape_entry *ne = lo_realloc(t->entries, cap * sizeof *ne);
            if (!ne) {
                json_decref(root);
                lo_tape_free(t);
                lo_error_set(err, LO_ENOMEM, "out of memory");
                return NULL;
            }
            t->entries = ne;
            t->cap = cap;
        }
        lo_tape_entry *e = &t->entries[t->n];
        memset(e, 0, sizeof *e);
        e->file = t->name;
        e->line = line;
        int rc = parse_entry(root, e, t->name, line, err);
        json_decref(root);
        if (rc) {
            entry_release(e);
            lo_tape_free(t);
            return NULL;
        }
        t->n++;
    }
    return t;
}

lo_tape *lo_tape_load(const char *path, lo_error *err)
{
    char *data = NULL;
    size_t len = 0;
    lo_error fe = {0};
    int rc = lo_file_read(path, (size_t)256 << 20, &data, &len, &fe);
    if (rc) {
        lo_error_set(err, rc, "%s: %s", path, fe.msg);
        return NULL;
    }
    lo_tape *t = lo_tape_parse(data, len, path, err);
    free(data);
    return t;
}

size_t lo_tape_count(const lo_tape *t)
{
    return t ? t->n : 0;
}

const lo_tape_entry *lo_tape_at(const lo_tape *t, size_t i)
{
    return t && i < t->n ? &t->entries[i] : NULL;
}

/* ------------------------------------------------------------ matching */

/* Count the criteria of e that req fails; describe them into why. */
static int failures(const lo_tape_entry *e, const lo_twin_request_view *req, lo_buf *why)
{
    int n = 0;
    const json_t *m = e->match;
    const char *s;
#define FAIL(...)                                                                          \
    do {                                                                                   \
        if (why)                                                                           \
            lo_buf_printf(why, "%s", n ? "; " : ""), lo_buf_printf(why, __VA_ARGS__);      \
        n++;                                                                               \
    } while (0)
    if ((s = json_string_value(json_object_get(m, "path"))) && !lo_str_eq(s, req->path))
        FAIL("path is \"%.80s\", the entry wants \"%.80s\"", req->path ? req->path : "", s);
    if ((s = json_string_value(json_object_get(m, "model"))) && !lo_str_eq(s, req->model))
        FAIL("model is \"%.80s\", the entry wants \"%.80s\"", req->model ? req->model : "", s);
    json_t *c = json_object_get(m, "call");
    if (c && json_integer_value(c) != req->call)
        FAIL("this is call %ld, the entry wants call %lld", req->call,
             (long long)json_integer_value(c));
    if ((s = json_string_value(json_object_get(m, "user"))) &&
        !(req->user_text && strstr(req->user_text, s)))
        FAIL("the last user message does not contain \"%.80s\"", s);
    if ((s = json_string_value(json_object_get(m, "tool_result")))) {
        if (!req->tool_result_text)
            FAIL("the request has no tool result (the entry wants one containing \"%.80s\")", s);
        else if (!strstr(req->tool_result_text, s))
            FAIL("the last tool result does not contain \"%.80s\"", s);
    }
    json_t *nm = json_object_get(m, "messages");
    if (nm && json_integer_value(nm) != req->messages)
        FAIL("the request has %ld messages, the entry wants %lld", req->messages,
             (long long)json_integer_value(nm));
    const char *field[N_RE] = {req->path, req->model, req->user_text, req->tool_result_text};
    for (int k = 0; e->re && k < N_RE; k++) {
        if (!e->re->set[k])
            continue;
        const char *pat = json_string_value(json_object_get(m, RE_KEYS[k]));
        if (!field[k])
            FAIL("the request has no %s (the entry wants one matching /%.80s/)",
                 k == RE_TOOL_RESULT ? "tool result" : RE_KEYS[k], pat);
        else if (regexec(&e->re->re[k], field[k], 0, NULL, 0) != 0)
            FAIL("%s does not match /%.80s/",
                 k == RE_PATH ? "the path" : k == RE_MODEL ? "the model"
                 : k == RE_USER ? "the last user message" : "the last tool result", pat);
    }
    size_t i;
    json_t *v;
    json_array_foreach(json_object_get(m, "tools"), i, v) {
        const char *want = json_string_value(v);
        bool found = false;
        for (size_t k = 0; k < req->n_tools && !found; k++)
            found = lo_str_eq(req->tools[k], want);
        if (!found)
            FAIL("tool \"%.80s\" is not offered", want);
    }
#undef FAIL
    return n;
}

const lo_tape_entry *lo_tape_match(lo_tape *const *tapes, size_t n,
                                   const lo_twin_request_view *req, char *why,
                                   size_t why_len)
{
    const lo_tape_entry *best = NULL;
    int best_n = 0;
    size_t total = 0;
    for (size_t t = 0; t < n; t++)
        for (size_t i = 0; i < lo_tape_count(tapes[t]); i++) {
            const lo_tape_entry *e = lo_tape_at(tapes[t], i);
            int f = failures(e, req, NULL);
            if (f == 0)
                return e;
            total++;
            if (!best || f < best_n) {
                best = e;
                best_n = f;
            }
        }
    if (why && why_len) {
        if (!best) {
            snprintf(why, why_len, "no tape entry matches: the twin has no tape entries "
                                   "(give it a tape)");
        } else {
            lo_buf b;
            lo_buf_init(&b, 0);
            failures(best, req, &b);
            snprintf(why, why_len,
                     "no tape entry matches (%zu tried); the closest is %s:%u, which did not "
                     "match because %s", total, best->file, best->line,
                     b.data ? b.data : "?");
            lo_buf_release(&b);
        }
    }
    return NULL;
}
