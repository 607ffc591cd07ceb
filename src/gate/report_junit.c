/* JUnit XML test reports (pytest --junitxml, Maven surefire,
 * go-junit-report, ctest --output-junit, ...).
 *
 * Why a scanner and not an XML library: the project takes only approved
 * Debian packages and libxml2 is not one of them, and a report needs very
 * little of XML: start and end tags with quoted attributes, text, CDATA,
 * comments, processing instructions, a DOCTYPE and the five named plus the
 * numeric character references. This scanner handles exactly that, checks
 * that tags nest, reads nothing past len, and calls anything else
 * (unterminated constructs, mismatched or unclosed tags, no testsuite root)
 * malformed: the report is then "not recognised" and the gate falls back on
 * the exit status. Namespaces and DTD entities are not expanded. */
#include <string.h>

#include "lightsout/gate.h"

int lo_report_add_test_(lo_report *r, const char *name, size_t nlen, int status,
                        const char *msg, size_t mlen);
int lo_report_junit_scan_(const char *t, size_t n, lo_report *r);

#define MAX_DEPTH 256
#define MAX_TEXT 4096 /* failure text kept for its first line */
#define NUM_CAP 1000000000000L

typedef struct attr {
    const char *name, *val; /* val is raw: entities not yet decoded */
    size_t nlen, vlen;
} attr;

#define MAX_ATTRS 32

typedef struct tag {
    const char *name;
    size_t nlen;
    attr a[MAX_ATTRS];
    size_t na;
    bool end, empty;
} tag;

static bool is_ws(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }

static bool is_name_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
           c == ':' || c == '-' || c == '.' || (unsigned char)c >= 0x80;
}

static bool name_is(const char *p, size_t n, const char *w) { return n == strlen(w) && memcmp(p, w, n) == 0; }

static const char *find_str(const char *p, const char *end, const char *needle)
{
    size_t k = strlen(needle);
    for (; p + k <= end; p++)
        if (*p == needle[0] && memcmp(p, needle, k) == 0)
            return p;
    return NULL;
}

static int put_utf8(lo_buf *b, unsigned long cp)
{
    char u[4];
    size_t n;
    if (cp < 0x80) {
        u[0] = (char)cp;
        n = 1;
    } else if (cp < 0x800) {
        u[0] = (char)(0xC0 | (cp >> 6));
        u[1] = (char)(0x80 | (cp & 0x3F));
        n = 2;
    } else if (cp < 0x10000) {
        u[0] = (char)(0xE0 | (cp >> 12));
        u[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
        u[2] = (char)(0x80 | (cp & 0x3F));
        n = 3;
    } else {
        u[0] = (char)(0xF0 | (cp >> 18));
        u[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
        u[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
        u[3] = (char)(0x80 | (cp & 0x3F));
        n = 4;
    }
    return lo_buf_append(b, u, n);
}

/* Append s with character references decoded; an unknown or invalid one is
 * kept as written (tolerance beats rejecting a whole report). */
static int decode(lo_buf *b, const char *s, size_t n)
{
    static const struct { const char *name; char c; } named[] = {
        {"lt;", '<'}, {"gt;", '>'}, {"amp;", '&'}, {"quot;", '"'}, {"apos;", '\''},
    };
    size_t i = 0;
    while (i < n) {
        const char *amp = memchr(s + i, '&', n - i);
        size_t run = amp ? (size_t)(amp - (s + i)) : n - i;
        if (run && lo_buf_append(b, s + i, run) != 0)
            return LO_ENOMEM;
        i += run;
        if (i >= n)
            break;
        i++; /* past '&' */
        bool done = false;
        for (size_t k = 0; k < sizeof named / sizeof *named && !done; k++) {
            size_t kl = strlen(named[k].name);
            if (n - i >= kl && memcmp(s + i, named[k].name, kl) == 0) {
                if (lo_buf_putc(b, named[k].c) != 0)
                    return LO_ENOMEM;
                i += kl;
                done = true;
            }
        }
        if (!done && i < n && s[i] == '#') {
            size_t j = i + 1;
            int base = 10;
            if (j < n && (s[j] == 'x' || s[j] == 'X')) {
                base = 16;
                j++;
            }
            unsigned long cp = 0;
            size_t digits = 0;
            while (j < n && digits < 8) {
                char c = s[j];
                int d = c >= '0' && c <= '9' ? c - '0'
                        : base == 16 && c >= 'a' && c <= 'f' ? c - 'a' + 10
                        : base == 16 && c >= 'A' && c <= 'F' ? c - 'A' + 10
                        : -1;
                if (d < 0)
                    break;
                cp = cp * (unsigned long)base + (unsigned long)d;
                digits++;
                j++;
            }
            if (digits > 0 && j < n && s[j] == ';' && cp > 0 && cp <= 0x10FFFF &&
                !(cp >= 0xD800 && cp <= 0xDFFF)) {
                if (put_utf8(b, cp) != 0)
                    return LO_ENOMEM;
                i = j + 1;
                done = true;
            }
        }
        if (!done && lo_buf_putc(b, '&') != 0)
            return LO_ENOMEM;
    }
    return 0;
}

/* Parse one tag starting at p ('<' already consumed). Returns the byte after
 * '>' or NULL when malformed. */
static const char *scan_tag(const char *p, const char *end, tag *tg)
{
    tg->na = 0;
    tg->end = tg->empty = false;
    if (p < end && *p == '/') {
        tg->end = true;
        p++;
    }
    tg->name = p;
    while (p < end && is_name_char(*p))
        p++;
    tg->nlen = (size_t)(p - tg->name);
    if (tg->nlen == 0)
        return NULL;
    for (;;) {
        const char *before = p;
        while (p < end && is_ws(*p))
            p++;
        if (p >= end)
            return NULL;
        if (*p == '>')
            return p + 1;
        if (*p == '/' && !tg->end) {
            if (p + 1 < end && p[1] == '>') {
                tg->empty = true;
                return p + 2;
            }
            return NULL;
        }
        if (tg->end || p == before)
            return NULL; /* attributes need a space before them */
        attr a = {.name = p};
        while (p < end && is_name_char(*p))
            p++;
        a.nlen = (size_t)(p - a.name);
        while (p < end && is_ws(*p))
            p++;
        if (a.nlen == 0 || p >= end || *p != '=')
            return NULL;
        p++;
        while (p < end && is_ws(*p))
            p++;
        if (p >= end || (*p != '"' && *p != '\''))
            return NULL;
        char q = *p++;
        const char *v = memchr(p, q, (size_t)(end - p));
        if (!v)
            return NULL;
        a.val = p;
        a.vlen = (size_t)(v - p);
        if (memchr(a.val, '<', a.vlen))
            return NULL;
        p = v + 1;
        if (tg->na < MAX_ATTRS)
            tg->a[tg->na++] = a;
    }
}

static const attr *get_attr(const tag *tg, const char *name)
{
    for (size_t i = 0; i < tg->na; i++)
        if (name_is(tg->a[i].name, tg->a[i].nlen, name))
            return &tg->a[i];
    return NULL;
}

static long attr_num(const tag *tg, const char *name)
{
    const attr *a = get_attr(tg, name);
    long v = 0;
    for (size_t i = 0; a && i < a->vlen && a->val[i] >= '0' && a->val[i] <= '9'; i++)
        if (v < NUM_CAP)
            v = v * 10 + (a->val[i] - '0');
    return v;
}

static int attr_decoded(const tag *tg, const char *name, lo_buf *b)
{
    const attr *a = get_attr(tg, name);
    return a ? decode(b, a->val, a->vlen) : 0;
}

typedef struct suite_counts {
    long tests, failures, errors, skipped;
    bool any;
} suite_counts;

static void add_suite(suite_counts *c, const tag *tg)
{
    c->any = true;
    c->tests += attr_num(tg, "tests");
    c->failures += attr_num(tg, "failures");
    c->errors += attr_num(tg, "errors");
    c->skipped += attr_num(tg, "skipped") + attr_num(tg, "disabled");
}

typedef struct jcase {
    bool open;
    int status;
    lo_buf name, msg, text;
    bool capture; /* inside its <failure>/<error> */
    size_t capture_depth;
} jcase;

static int case_finish(jcase *c, lo_report *r)
{
    const char *m = c->msg.len ? c->msg.data : c->text.data;
    size_t ml = c->msg.len ? c->msg.len : c->text.len;
    int rc = lo_report_add_test_(r, c->name.len ? c->name.data : "(unnamed)",
                                 c->name.len ? c->name.len : 9, c->status,
                                 c->status == 1 ? m : NULL, c->status == 1 ? ml : 0);
    if (c->status == 0)
        r->passed++;
    else if (c->status == 1)
        r->failed++;
    else
        r->skipped++;
    lo_buf_clear(&c->name);
    lo_buf_clear(&c->msg);
    lo_buf_clear(&c->text);
    c->open = c->capture = false;
    c->status = 0;
    return rc;
}

static int capture_text(jcase *c, const char *s, size_t n, bool raw)
{
    if (!c->capture || c->text.len >= MAX_TEXT)
        return 0;
    if (n > MAX_TEXT - c->text.len)
        n = MAX_TEXT - c->text.len;
    return raw ? lo_buf_append(&c->text, s, n) : decode(&c->text, s, n);
}

/* What the element means when it opens; depth is the stack depth of its
 * parent. */
static int open_element(const tag *tg, size_t depth, size_t suite_depth_min, jcase *c,
                        suite_counts *outer, suite_counts *top, bool *root_ok, lo_report *r)
{
    int rc = 0;
    if (depth == 0)
        *root_ok = name_is(tg->name, tg->nlen, "testsuite") || name_is(tg->name, tg->nlen, "testsuites");
    if (name_is(tg->name, tg->nlen, "testsuites")) {
        if (depth == 0)
            add_suite(top, tg);
    } else if (name_is(tg->name, tg->nlen, "testsuite")) {
        if (depth <= suite_depth_min)
            add_suite(outer, tg); /* outermost suites only: nested ones repeat */
    } else if (name_is(tg->name, tg->nlen, "testcase")) {
        if (c->open && (rc = case_finish(c, r)))
            return rc;
        c->open = true;
        c->status = 0;
        lo_buf_clear(&c->name);
        /* "classname.name"; ctest repeats the name as the class. */
        const attr *cls = get_attr(tg, "classname");
        const attr *nm = get_attr(tg, "name");
        if (cls && cls->vlen > 0 &&
            !(nm && nm->vlen == cls->vlen && memcmp(nm->val, cls->val, nm->vlen) == 0)) {
            if ((rc = decode(&c->name, cls->val, cls->vlen)) || (rc = lo_buf_putc(&c->name, '.')))
                return rc;
        }
        if ((rc = attr_decoded(tg, "name", &c->name)))
            return rc;
        if (tg->empty)
            rc = case_finish(c, r);
    } else if (c->open && (name_is(tg->name, tg->nlen, "failure") || name_is(tg->name, tg->nlen, "error"))) {
        if (c->status != 1) {
            c->status = 1;
            lo_buf_clear(&c->msg);
            lo_buf_clear(&c->text);
            if ((rc = attr_decoded(tg, "message", &c->msg)))
                return rc;
            if (c->msg.len == 0 && (rc = attr_decoded(tg, "type", &c->msg)))
                return rc;
            if (!tg->empty) {
                c->capture = true;
                c->capture_depth = depth + 1;
            }
        }
    } else if (c->open && name_is(tg->name, tg->nlen, "skipped")) {
        if (c->status == 0)
            c->status = 2;
    }
    return rc;
}

int lo_report_junit_scan_(const char *t, size_t n, lo_report *r)
{
    const char *p = t, *end = t + n;
    if (n >= 3 && memcmp(t, "\xEF\xBB\xBF", 3) == 0)
        p += 3;
    tag tg;
    struct { const char *name; size_t nlen; } stack[MAX_DEPTH];
    size_t depth = 0, suite_depth_min = MAX_DEPTH;
    suite_counts outer = {0}, top = {0};
    bool root_ok = false, root_done = false, malformed = false;
    jcase c = {0};
    lo_buf_init(&c.name, 0);
    lo_buf_init(&c.msg, 0);
    lo_buf_init(&c.text, 0);
    int rc = 0;
    /* The scan works on a copy of r's counts so a malformed document leaves
     * nothing behind: r is only filled when the whole document made sense. */
    lo_report got = {.format = r->format};
    while (!rc && !root_done && p < end) {
        const char *lt = memchr(p, '<', (size_t)(end - p));
        const char *stop = lt ? lt : end;
        if (depth == 0) {
            for (const char *q = p; q < stop; q++)
                if (!is_ws(*q)) {
                    malformed = true; /* text outside the root */
                    break;
                }
        } else if (c.capture && (rc = capture_text(&c, p, (size_t)(stop - p), false))) {
            break;
        }
        if (!lt || malformed)
            break;
        p = lt + 1;
        if ((size_t)(end - p) >= 3 && memcmp(p, "!--", 3) == 0) {
            const char *e = find_str(p + 3, end, "-->");
            if (!e) {
                malformed = true;
                break;
            }
            p = e + 3;
        } else if ((size_t)(end - p) >= 8 && memcmp(p, "![CDATA[", 8) == 0) {
            const char *e = find_str(p + 8, end, "]]>");
            if (!e || depth == 0) {
                malformed = true;
                break;
            }
            if ((rc = capture_text(&c, p + 8, (size_t)(e - (p + 8)), true)))
                break;
            p = e + 3;
        } else if (p < end && *p == '?') {
            const char *e = find_str(p + 1, end, "?>");
            if (!e) {
                malformed = true;
                break;
            }
            p = e + 2;
        } else if (p < end && *p == '!') {
            const char *e = memchr(p, '>', (size_t)(end - p));
            if (!e || depth > 0) {
                malformed = true;
                break;
            }
            p = e + 1;
        } else {
            const char *after = scan_tag(p, end, &tg);
            if (!after) {
                malformed = true;
                break;
            }
            p = after;
            if (tg.end) {
                if (depth == 0 || stack[depth - 1].nlen != tg.nlen ||
                    memcmp(stack[depth - 1].name, tg.name, tg.nlen) != 0) {
                    malformed = true; /* tags must nest */
                    break;
                }
                depth--;
                if (c.capture && depth < c.capture_depth)
                    c.capture = false;
                if (c.open && name_is(tg.name, tg.nlen, "testcase") && (rc = case_finish(&c, &got)))
                    break;
                if (depth == 0)
                    root_done = true;
                continue;
            }
            if (name_is(tg.name, tg.nlen, "testsuite") && depth < suite_depth_min)
                suite_depth_min = depth;
            if ((rc = open_element(&tg, depth, suite_depth_min, &c, &outer, &top, &root_ok, &got)))
                break;
            if (depth == 0 && !root_ok) {
                malformed = true; /* some other XML document */
                break;
            }
            if (tg.empty) {
                if (depth == 0)
                    root_done = true;
                continue;
            }
            if (depth == MAX_DEPTH) {
                malformed = true;
                break;
            }
            stack[depth].name = tg.name;
            stack[depth].nlen = tg.nlen;
            depth++;
        }
    }
    lo_buf_release(&c.name);
    lo_buf_release(&c.msg);
    lo_buf_release(&c.text);
    if (!rc && (malformed || !root_done || !root_ok))
        rc = 1; /* not recognised */
    if (rc) {
        lo_report_release(&got);
        return rc == 1 ? 0 : rc;
    }
    if (got.n_tests == 0) {
        /* No testcase elements: trust the suite attributes. */
        suite_counts *s = outer.any ? &outer : &top;
        got.failed = s->failures + s->errors;
        got.skipped = s->skipped;
        long p2 = s->tests - got.failed - got.skipped;
        got.passed = p2 > 0 ? p2 : 0;
        got.total = s->tests;
    }
    got.found = true;
    *r = got;
    return 0;
}
