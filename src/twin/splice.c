/* Rendering fast paths. The twin sends the same long texts over and over
 * (a tape's reply on every call, three times in an OpenAI stream) and
 * hundreds of deltas that differ only in a few bytes. jansson escapes a
 * string at about 3 ns a byte and builds an object per delta; here long
 * strings are escaped once and kept, and a delta is a template dumped once
 * per stream with its variable parts filled in. jansson still does every
 * escape, so the bytes are exactly what json_dumps would send. */
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "twin/twin_internal.h"

/* Strings at least this long are worth remembering escaped. */
enum { BIG = 256, SLOTS = 64, MAX_BIGS = 16, MAX_DEPTH = 32 };

/* ------------------------------------------------------------ escaped strings */

static struct {
    pthread_mutex_t mu;
    struct esc {
        uint64_t key;
        size_t len;
        bool pieces; /* esc is the string's delta pieces, each JSON, '\0' after each */
        char *raw, *esc; /* the string; its JSON form with quotes */
        size_t esc_len;
    } slot[SLOTS];
    size_t next; /* the slot replaced next, round robin */
} cache = {.mu = PTHREAD_MUTEX_INITIALIZER};

static uint64_t key_of(const char *s, size_t n)
{
    size_t k = n < 64 ? n : 64;
    return lo_hash(s, k) ^ (lo_hash(s + n - k, k) * 31) ^ n;
}

/* A copy of what the cache holds for s (n bytes) in the form asked for, or
 * NULL when it holds nothing. */
static char *cache_get(const char *s, size_t n, bool pieces, size_t *len)
{
    uint64_t key = key_of(s, n);
    char *copy = NULL;
    pthread_mutex_lock(&cache.mu);
    for (size_t i = 0; i < SLOTS; i++) {
        struct esc *e = &cache.slot[i];
        if (e->raw && e->key == key && e->len == n && e->pieces == pieces &&
            memcmp(e->raw, s, n) == 0) {
            if ((copy = lo_malloc(e->esc_len + 1))) {
                memcpy(copy, e->esc, e->esc_len + 1);
                *len = e->esc_len;
            }
            break;
        }
    }
    pthread_mutex_unlock(&cache.mu);
    return copy;
}

/* Remember esc (esc_len bytes, copied) as the form asked for of s. */
static void cache_put(const char *s, size_t n, bool pieces, const char *esc, size_t esc_len)
{
    char *raw = lo_strndup(s, n), *e2 = lo_malloc(esc_len + 1);
    if (!raw || !e2) {
        free(raw);
        free(e2);
        return;
    }
    memcpy(e2, esc, esc_len);
    e2[esc_len] = '\0';
    pthread_mutex_lock(&cache.mu);
    struct esc *e = &cache.slot[cache.next];
    cache.next = (cache.next + 1) % SLOTS;
    free(e->raw);
    free(e->esc);
    *e = (struct esc){.key = key_of(s, n), .len = n, .pieces = pieces, .raw = raw,
                      .esc = e2, .esc_len = esc_len};
    pthread_mutex_unlock(&cache.mu);
}

/* Append the JSON form of s (n bytes) to out, from the cache or escaped
 * now and remembered. false when out of memory or s is not UTF-8. */
static bool append_escaped(lo_buf *out, const char *s, size_t n)
{
    size_t len;
    char *esc = cache_get(s, n, false, &len);
    if (!esc) {
        json_t *str = json_stringn(s, n);
        esc = str ? json_dumps(str, JSON_COMPACT | JSON_ENCODE_ANY) : NULL;
        json_decref(str);
        if (!esc)
            return false;
        len = strlen(esc);
        cache_put(s, n, false, esc, len);
    }
    bool ok = lo_buf_append(out, esc, len) == 0;
    free(esc);
    return ok;
}

/* The delta pieces of text (twin_piece, TWIN_PIECE bytes) each as a JSON
 * string followed by '\0', in one buffer (free it); *count of them. Long
 * texts come from the cache. NULL when out of memory or not UTF-8. */
static char *pieces_of(const char *text, size_t *count)
{
    size_t n = strlen(text), len;
    char *blob = n >= BIG ? cache_get(text, n, true, &len) : NULL;
    if (!blob) {
        lo_buf b;
        lo_buf_init(&b, n * 2 + 64);
        for (const char *s = text; *s;) {
            size_t k = twin_piece(s, TWIN_PIECE);
            char buf[256];
            const char *piece = twin_json_piece(s, k, buf, sizeof buf);
            if (!piece || lo_buf_append(&b, piece, strlen(piece) + 1) != 0) {
                lo_buf_release(&b);
                return NULL;
            }
            s += k;
        }
        len = b.len;
        if (!(blob = lo_buf_steal(&b)))
            return NULL;
        if (n >= BIG)
            cache_put(text, n, true, blob, len);
    }
    *count = 0;
    for (size_t i = 0; i < len; i++)
        *count += blob[i] == '\0';
    return blob;
}

/* ------------------------------------------------------------ markers */

/* A marker as jansson dumps it: "\u0001NAMEk\u0001" with quotes, NAME
 * "lo:" or "slot:". At p (just past the opening "\u0001NAME): its number
 * in *k and the byte after the closing quote, or NULL when p is not the
 * rest of a marker below max. */
static const char *marker_end(const char *p, unsigned max, unsigned *k)
{
    unsigned n = 0;
    const char *q = p;
    while (*q >= '0' && *q <= '9' && n < max)
        n = n * 10 + (unsigned)(*q++ - '0');
    if (q == p || n >= max || !lo_str_starts(q, "\\u0001\""))
        return NULL;
    *k = n;
    return q + 7;
}

/* ------------------------------------------------------------ dumping */

static bool has_big(const json_t *j, int depth)
{
    if (json_is_string(j))
        return json_string_length(j) >= BIG;
    if (depth >= MAX_DEPTH)
        return false;
    size_t i;
    const char *k;
    json_t *v;
    if (json_is_array(j)) {
        json_array_foreach((json_t *)j, i, v) if (has_big(v, depth + 1)) return true;
    } else if (json_is_object(j)) {
        json_object_foreach((json_t *)j, k, v) if (has_big(v, depth + 1)) return true;
    }
    return false;
}

/* A copy of j sharing every subtree without a long string, each long
 * string (up to MAX_BIGS) replaced by the marker "\x01lo:N\x01" and noted
 * in bigs. j itself is never changed: its subtrees may be a tape's. */
static json_t *shadow(json_t *j, json_t **bigs, size_t *nb, int depth)
{
    if (!has_big(j, depth))
        return json_incref(j);
    if (json_is_string(j)) {
        if (*nb >= MAX_BIGS)
            return json_incref(j);
        char mark[32];
        snprintf(mark, sizeof mark, "\x01lo:%zu\x01", *nb);
        bigs[(*nb)++] = j;
        return json_string(mark);
    }
    size_t i;
    const char *k;
    json_t *v, *copy;
    if (json_is_array(j)) {
        copy = json_array();
        json_array_foreach(j, i, v) if (json_array_append_new(copy, shadow(v, bigs, nb, depth + 1)))
        {
            json_decref(copy);
            return NULL;
        }
    } else {
        copy = json_object();
        json_object_foreach(j, k, v) if (json_object_set_new(copy, k,
                                                             shadow(v, bigs, nb, depth + 1)))
        {
            json_decref(copy);
            return NULL;
        }
    }
    return copy;
}

/* Dump the shadow with the markers replaced by the escaped strings; false
 * when a marker is missing, repeated or out of memory (the caller then
 * dumps the ordinary way). */
static bool splice(lo_buf *out, const char *d, json_t *const *bigs, size_t nb)
{
    static const char open[] = "\"\\u0001lo:";
    bool used[MAX_BIGS] = {false};
    size_t seen = 0;
    const char *p = d;
    for (const char *m; (m = strstr(p, open));) {
        unsigned n;
        const char *end = marker_end(m + sizeof open - 1, (unsigned)nb, &n);
        if (!end || used[n])
            return false;
        used[n] = true;
        seen++;
        if (lo_buf_append(out, p, (size_t)(m - p)) != 0 ||
            !append_escaped(out, json_string_value(bigs[n]), json_string_length(bigs[n])))
            return false;
        p = end;
    }
    return seen == nb && lo_buf_puts(out, p) == 0;
}

char *twin_json_dump_spliced(const json_t *j)
{
    json_t *bigs[MAX_BIGS];
    size_t nb = 0;
    if (!j || !has_big(j, 0))
        return NULL;
    json_t *sh = shadow((json_t *)j, bigs, &nb, 0);
    char *d = sh ? json_dumps(sh, JSON_COMPACT | JSON_ENCODE_ANY) : NULL;
    json_decref(sh);
    if (!d)
        return NULL;
    lo_buf out;
    lo_buf_init(&out, strlen(d) + 8192);
    bool ok = splice(&out, d, bigs, nb);
    free(d);
    if (ok)
        return lo_buf_steal(&out);
    lo_buf_release(&out);
    return NULL;
}

char *twin_json_dump(const json_t *j)
{
    char *d = twin_json_dump_spliced(j);
    return d ? d : j ? json_dumps(j, JSON_COMPACT | JSON_ENCODE_ANY) : NULL;
}

/* ------------------------------------------------------------ templates */

json_t *twin_slot(unsigned k)
{
    char mark[32];
    snprintf(mark, sizeof mark, "\x01slot:%u\x01", k);
    return json_string(mark);
}

int twin_tmpl_init(twin_tmpl *t, const char *type, json_t *data)
{
    memset(t, 0, sizeof *t);
    char *d = data ? json_dumps(data, JSON_COMPACT) : NULL;
    json_decref(data);
    if (!d)
        return -1;
    lo_buf b;
    lo_buf_init(&b, 0);
    if (type) {
        lo_buf_puts(&b, "event: ");
        lo_buf_puts(&b, type);
        lo_buf_puts(&b, "\n");
    }
    lo_buf_puts(&b, "data: ");
    static const char open[] = "\"\\u0001slot:";
    const char *p = d;
    for (const char *m; (m = strstr(p, open));) {
        unsigned k;
        const char *end = marker_end(m + sizeof open - 1, TWIN_TMPL_SLOTS, &k);
        if (!end || t->n >= TWIN_TMPL_SLOTS) {
            lo_buf_release(&b);
            free(d);
            twin_tmpl_release(t);
            return -1;
        }
        lo_buf_append(&b, p, (size_t)(m - p));
        t->part[t->n] = lo_buf_steal(&b);
        t->slot[t->n++] = k;
        lo_buf_init(&b, 0);
        p = end;
    }
    lo_buf_puts(&b, p);
    lo_buf_puts(&b, "\n\n");
    t->part[t->n] = lo_buf_steal(&b);
    free(d);
    for (unsigned i = 0; i <= t->n; i++) {
        if (!t->part[i]) {
            twin_tmpl_release(t);
            return -1;
        }
        t->plen[i] = strlen(t->part[i]);
    }
    return 0;
}

void twin_tmpl_release(twin_tmpl *t)
{
    for (unsigned i = 0; i <= TWIN_TMPL_SLOTS; i++)
        free(t->part[i]);
    memset(t, 0, sizeof *t);
}

/* Append t's event with vals (their lengths in vl) to b; 0 or -1. */
static int tmpl_append(lo_buf *b, const twin_tmpl *t, const char *const *vals, const size_t *vl)
{
    int rc = 0;
    for (unsigned i = 0; i < t->n; i++)
        rc |= lo_buf_append(b, t->part[i], t->plen[i]) |
              lo_buf_append(b, vals[t->slot[i]], vl[t->slot[i]]);
    rc |= lo_buf_append(b, t->part[t->n], t->plen[t->n]);
    return rc ? -1 : 0;
}

char *twin_tmpl_event(const twin_tmpl *t, const char *const *vals)
{
    if (!t->part[0])
        return NULL;
    size_t vl[TWIN_TMPL_SLOTS] = {0};
    for (unsigned i = 0; i < t->n; i++)
        vl[t->slot[i]] = strlen(vals[t->slot[i]]);
    lo_buf b;
    lo_buf_init(&b, 0);
    if (tmpl_append(&b, t, vals, vl) != 0) {
        lo_buf_release(&b);
        return NULL;
    }
    return lo_buf_steal(&b);
}

char *twin_json_piece(const char *s, size_t n, char *buf, size_t cap)
{
    json_t *str = json_stringn(s, n);
    size_t k = str ? json_dumpb(str, buf, cap - 1, JSON_ENCODE_ANY) : 0;
    json_decref(str);
    if (k == 0 || k >= cap)
        return NULL;
    buf[k] = '\0';
    return buf;
}

int twin_tmpl_deltas(twin_events *l, const twin_tmpl *t, const char *text)
{
    if (!t->part[0])
        return -1;
    bool numbered = false;
    for (unsigned i = 0; i < t->n; i++)
        numbered |= t->slot[i] == 1;
    size_t count;
    char *blob = pieces_of(text, &count);
    if (!blob)
        return -1;
    const char *p = blob;
    for (size_t i = 0; i < count && !l->oom; i++) {
        char seq[24] = "";
        size_t vl[TWIN_TMPL_SLOTS] = {strlen(p), 0};
        if (numbered)
            vl[1] = (size_t)snprintf(seq, sizeof seq, "%ld", l->seq++);
        const char *vals[TWIN_TMPL_SLOTS] = {p, seq};
        if (tmpl_append(twin_events_buf(l), t, vals, vl) != 0)
            l->oom = true;
        twin_events_end(l);
        p += vl[0] + 1;
    }
    free(blob);
    return 0;
}
