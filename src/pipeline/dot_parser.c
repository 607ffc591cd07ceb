/* Recursive-descent parser for the Attractor DOT subset (attractor-spec §2).
 * Subgraphs are flattened as they are read: each scope carries its node and
 * edge defaults, and a labelled subgraph gives its nodes a derived class.
 * The first syntax error stops the parse with file:line:col and the line. */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lightsout/graph.h"
#include "pipeline/dot_lexer.h"
#include "pipeline/graph_internal.h"

typedef struct scope {
    lo_attrs node_defaults, edge_defaults;
    const char *label;       /* subgraph label, for the derived class */
    uint32_t members_start;  /* into parser.members */
} scope;

typedef struct parser {
    lexer lx;
    lo_graph *g;
    lo_error *err;
    bool failed;
    tok peek;
    bool has_peek;
    /* node indices mentioned inside the open subgraphs (with repeats) */
    uint32_t *members;
    uint32_t n_members, cap_members;
    int depth;
    const char *k_label, *k_class; /* interned keys used while parsing */
} parser;

#define MAX_DEPTH 64

static tok next(parser *p)
{
    if (p->has_peek) {
        p->has_peek = false;
        return p->peek;
    }
    return lex_next(&p->lx);
}

static tok peek(parser *p)
{
    if (!p->has_peek) {
        p->peek = lex_next(&p->lx);
        p->has_peek = true;
    }
    return p->peek;
}

/* Fill the error once, with position and the offending line. */
__attribute__((format(printf, 3, 4)))
static void fail_at(parser *p, uint32_t off, const char *fmt, ...)
{
    if (p->failed)
        return;
    p->failed = true;
    if (!p->err)
        return;
    char msg[sizeof p->err->msg];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    /* positions are computed from the source directly: the line table
     * only reaches as far as the lexer has read */
    const char *s = p->lx.src;
    uint32_t line = 1, ls = 0;
    if (off > p->lx.len)
        off = p->lx.len;
    for (uint32_t i = 0; i < off; i++)
        if (s[i] == '\n') {
            line++;
            ls = i + 1;
        }
    uint32_t col = 1;
    for (uint32_t i = ls; i < off; i++)
        if (((unsigned char)s[i] & 0xC0) != 0x80)
            col++;
    lo_error_at(p->err, LO_EPARSE, p->g->file, line, col, "%s", msg);
    uint32_t le = ls;
    while (le < p->lx.len && s[le] != '\n' && s[le] != '\r')
        le++;
    size_t n = le - ls;
    if (n >= sizeof p->err->snippet)
        n = sizeof p->err->snippet - 1;
    memcpy(p->err->snippet, s + ls, n);
    p->err->snippet[n] = '\0';
}

static void oom(parser *p)
{
    if (!p->failed && p->err)
        lo_error_set(p->err, LO_ENOMEM, "out of memory while parsing %s", p->g->file);
    p->failed = true;
}

static bool tok_is(const parser *p, tok t, const char *word)
{
    size_t n = strlen(word);
    return t.kind == T_ID && t.len == n && memcmp(p->lx.src + t.off, word, n) == 0;
}

static bool tok_is_ci(const parser *p, tok t, const char *word)
{
    size_t n = strlen(word);
    if (t.kind != T_ID || t.len != n)
        return false;
    for (size_t i = 0; i < n; i++)
        if (tolower((unsigned char)p->lx.src[t.off + i]) != word[i])
            return false;
    return true;
}

/* Describe a token for a message: its text (shortened) or its kind. */
static const char *describe(parser *p, tok t, char *buf, size_t n)
{
    if (t.kind == T_EOF)
        return p->lx.bad ? "an unterminated string" : "end of file";
    size_t len = t.len < 24 ? t.len : 24;
    snprintf(buf, n, "'%.*s%s'", (int)len, p->lx.src + t.off, t.len > 24 ? "..." : "");
    return buf;
}

/* A lexer-level problem (unterminated string or comment) explains an
 * unexpected end of input better than the parser can. */
static bool lexer_failed(parser *p)
{
    if (p->lx.oom) {
        oom(p);
        return true;
    }
    if (p->lx.bad == 1)
        fail_at(p, p->lx.bad_off, "unterminated string: no closing '\"' before the end of the file");
    else if (p->lx.bad == 2)
        fail_at(p, p->lx.bad_off, "unterminated comment: no closing '*/' before the end of the file");
    return p->lx.bad != 0;
}

static void unexpected(parser *p, tok t, const char *wanted)
{
    if (lexer_failed(p))
        return;
    char buf[64];
    if (t.kind == T_UNDIRECTED) {
        fail_at(p, t.off, "undirected edge '--': Attractor pipelines use directed edges ('->')");
        return;
    }
    fail_at(p, t.off, "expected %s, found %s", wanted, describe(p, t, buf, sizeof buf));
}

static bool expect(parser *p, tok_kind k, const char *wanted)
{
    tok t = next(p);
    if (t.kind == k)
        return true;
    unexpected(p, t, wanted);
    return false;
}

/* ---- values ---- */

static lo_value_kind classify(const char *s, size_t n)
{
    if ((n == 4 && memcmp(s, "true", 4) == 0) || (n == 5 && memcmp(s, "false", 5) == 0))
        return LO_VAL_BOOL;
    size_t i = (n && s[0] == '-') ? 1 : 0;
    size_t digits = 0, dots = 0, fdigits = 0;
    for (; i < n; i++) {
        if (isdigit((unsigned char)s[i])) {
            if (dots) fdigits++; else digits++;
        } else if (s[i] == '.' && !dots) {
            dots++;
        } else {
            break;
        }
    }
    if (i == n && !dots && digits)
        return LO_VAL_INT;
    if (i == n && dots && fdigits)
        return LO_VAL_FLOAT;
    if (s[0] != '-' && digits && !dots && i < n) {
        const char *u = s + i;
        size_t ul = n - i;
        if ((ul == 2 && memcmp(u, "ms", 2) == 0) ||
            (ul == 1 && strchr("smhd", u[0])))
            return LO_VAL_DURATION;
    }
    return LO_VAL_BARE;
}

/* Copy a quoted string's contents, resolving \" \\ \n \t; other escapes
 * (Graphviz's \l, \N ...) are kept as written. */
static char *unescape(parser *p, const char *s, uint32_t n, uint32_t *out_len)
{
    char *d = lo_arena_alloc(p->g->arena, n + 1);
    if (!d)
        return NULL;
    uint32_t j = 0;
    for (uint32_t i = 0; i < n; i++) {
        if (s[i] == '\\' && i + 1 < n) {
            char c = s[i + 1];
            if (c == '"' || c == '\\') { d[j++] = c; i++; continue; }
            if (c == 'n') { d[j++] = '\n'; i++; continue; }
            if (c == 't') { d[j++] = '\t'; i++; continue; }
            if (c == '\n') { i++; continue; } /* line continuation */
        }
        d[j++] = s[i];
    }
    d[j] = '\0';
    *out_len = j;
    return d;
}

static bool parse_value(parser *p, lo_value *v, uint32_t *voff)
{
    tok t = lex_value(&p->lx);
    *voff = t.off;
    const char *s = p->lx.src + t.off;
    if (t.kind == T_STRING) {
        v->kind = LO_VAL_STRING;
        v->text = unescape(p, s + 1, t.len - 2, &v->len);
    } else if (t.kind == T_VALUE) {
        v->kind = classify(s, t.len);
        v->len = t.len;
        v->text = lo_arena_strndup(p->g->arena, s, t.len);
    } else {
        unexpected(p, t, "a value (a quoted string, number, boolean, duration or bare word)");
        return false;
    }
    if (!v->text) {
        oom(p);
        return false;
    }
    return true;
}

/* Key ::= Identifier ('.' Identifier)* */
static const char *parse_key(parser *p, tok first)
{
    char buf[256];
    size_t n = 0;
    tok t = first;
    for (;;) {
        if (n + t.len + 1 >= sizeof buf) {
            fail_at(p, first.off, "attribute name is too long");
            return NULL;
        }
        memcpy(buf + n, p->lx.src + t.off, t.len);
        n += t.len;
        if (peek(p).kind != T_DOT)
            break;
        next(p);
        buf[n++] = '.';
        t = next(p);
        if (t.kind != T_ID) {
            unexpected(p, t, "an identifier after '.' in a qualified attribute name");
            return NULL;
        }
    }
    buf[n] = '\0';
    const char *k = lo_graph_intern(p->g, buf);
    if (!k)
        oom(p);
    return k;
}

static bool parse_attr(parser *p, tok key_tok, lo_attr *a)
{
    memset(a, 0, sizeof *a);
    a->off = key_tok.off;
    a->key = parse_key(p, key_tok);
    if (!a->key)
        return false;
    tok eq = next(p);
    if (eq.kind != T_EQ) {
        unexpected(p, eq, "'=' after the attribute name");
        return false;
    }
    return parse_value(p, &a->value, &a->voff);
}

/* AttrBlock ::= '[' (Attr (',' Attr)*)? ','? ']'  — parsed into scratch,
 * which the caller merges. */
typedef struct attr_list {
    lo_attr *v;
    uint32_t n, cap;
} attr_list;

static bool push_attr(parser *p, attr_list *l, const lo_attr *a)
{
    for (uint32_t i = 0; i < l->n; i++)
        if (l->v[i].key == a->key) {
            l->v[i] = *a; /* a repeated key: the last one wins, as in Graphviz */
            return true;
        }
    if (l->n == l->cap) {
        uint32_t cap = l->cap ? l->cap * 2 : 16;
        lo_attr *v = lo_realloc(l->v, cap * sizeof *v);
        if (!v) {
            oom(p);
            return false;
        }
        l->v = v;
        l->cap = cap;
    }
    l->v[l->n++] = *a;
    return true;
}

static bool parse_attr_blocks(parser *p, attr_list *l)
{
    while (peek(p).kind == T_LBRACK) {
        next(p);
        bool need_sep = false;
        for (;;) {
            tok t = next(p);
            if (t.kind == T_RBRACK)
                break;
            if (need_sep) {
                if (t.kind == T_COMMA) {
                    need_sep = false;
                    continue;
                }
                if (t.kind == T_ID) {
                    fail_at(p, t.off, "missing ',' between attributes");
                    return false;
                }
                if (t.kind == T_SEMI) {
                    fail_at(p, t.off, "attributes are separated by ',', not ';'");
                    return false;
                }
                unexpected(p, t, "',' or ']'");
                return false;
            }
            if (t.kind != T_ID) {
                unexpected(p, t, "an attribute name or ']'");
                return false;
            }
            lo_attr a;
            if (!parse_attr(p, t, &a) || !push_attr(p, l, &a))
                return false;
            need_sep = true;
        }
    }
    return true;
}

/* ---- nodes and edges ---- */

static bool note_member(parser *p, lo_node *n)
{
    if (p->depth == 0)
        return true;
    if (p->n_members == p->cap_members) {
        uint32_t cap = p->cap_members ? p->cap_members * 2 : 256;
        uint32_t *v = lo_realloc(p->members, cap * sizeof *v);
        if (!v) {
            oom(p);
            return false;
        }
        p->members = v;
        p->cap_members = cap;
    }
    p->members[p->n_members++] = n->index;
    return true;
}

/* Find or create a node; a new node starts with the scope's defaults. */
static lo_node *node_ref(parser *p, scope *sc, tok id, uint32_t extra)
{
    lo_graph *g = p->g;
    uint32_t before = g->n_nodes;
    lo_node *n = lo_graph_add_node_n(g, p->lx.src + id.off, id.len, id.off);
    if (!n) {
        oom(p);
        return NULL;
    }
    if (g->n_nodes != before && sc->node_defaults.n) {
        if (lo_attrs_reserve(g, &n->attrs, sc->node_defaults.n + extra)) {
            oom(p);
            return NULL;
        }
        memcpy(n->attrs.v, sc->node_defaults.v, sc->node_defaults.n * sizeof *n->attrs.v);
        n->attrs.n = sc->node_defaults.n;
    }
    return note_member(p, n) ? n : NULL;
}

static bool merge(parser *p, lo_attrs *dst, const attr_list *l)
{
    if (lo_attrs_reserve(p->g, dst, l->n)) {
        oom(p);
        return false;
    }
    for (uint32_t i = 0; i < l->n; i++)
        if (lo_attrs_put(p->g, dst, &l->v[i])) {
            oom(p);
            return false;
        }
    return true;
}

static bool check_node_id(parser *p, tok t)
{
    if (t.kind == T_ID)
        return true;
    if (t.kind == T_STRING) {
        fail_at(p, t.off, "node IDs must be bare identifiers ([A-Za-z_][A-Za-z0-9_]*); "
                "put the human-readable name in label=");
        return false;
    }
    if (t.kind == T_NUMBER) {
        fail_at(p, t.off, "node IDs must start with a letter or '_', not a digit");
        return false;
    }
    if (t.kind == T_LBRACE) {
        fail_at(p, t.off, "edges connect node IDs; a subgraph cannot be an edge endpoint");
        return false;
    }
    unexpected(p, t, "a node ID");
    return false;
}

/* `a:port` — Graphviz syntax outside the subset. */
static bool is_port(parser *p)
{
    tok t = peek(p);
    return t.kind == T_OTHER && p->lx.src[t.off] == ':';
}

/* NodeStmt or EdgeStmt, after the first identifier. */
static bool parse_node_or_edge(parser *p, scope *sc, tok first, attr_list *scratch)
{
    if (peek(p).kind == T_ARROW || peek(p).kind == T_UNDIRECTED) {
        /* EdgeStmt: collect the chain, then its attributes */
        tok ids[64];
        tok *chain = ids;
        size_t n = 0, cap = 64;
        bool ok = true;
        chain[n++] = first;
        while (ok && (peek(p).kind == T_ARROW || peek(p).kind == T_UNDIRECTED)) {
            tok arrow = next(p);
            if (arrow.kind == T_UNDIRECTED) {
                fail_at(p, arrow.off, "undirected edge '--': Attractor pipelines use directed edges ('->')");
                ok = false;
                break;
            }
            tok t = next(p);
            if (!check_node_id(p, t)) {
                ok = false;
                break;
            }
            if (is_port(p)) {
                fail_at(p, p->peek.off,
                        "node ports ('node:port') are not supported in Attractor pipelines");
                ok = false;
                break;
            }
            if (n == cap) {
                size_t ncap = cap * 2;
                tok *v = chain == ids ? lo_malloc(ncap * sizeof *v)
                                      : lo_realloc(chain, ncap * sizeof *v);
                if (!v) {
                    oom(p);
                    ok = false;
                    break;
                }
                if (chain == ids)
                    memcpy(v, ids, sizeof ids);
                chain = v;
                cap = ncap;
            }
            chain[n++] = t;
        }
        /* nodes exist (with defaults) before the edge attributes are read */
        lo_node **ends = NULL;
        if (ok) {
            ends = lo_malloc(n * sizeof *ends);
            if (!ends)
                oom(p);
            for (size_t i = 0; ends && i < n && ok; i++) {
                ends[i] = node_ref(p, sc, chain[i], 0);
                ok = ends[i] != NULL;
            }
            ok = ok && ends;
        }
        scratch->n = 0;
        ok = ok && parse_attr_blocks(p, scratch);
        for (size_t i = 0; ok && i + 1 < n; i++) {
            lo_edge *e = lo_graph_add_edge_at(p->g, ends[i]->id, ends[i + 1]->id, ends[i],
                                              ends[i + 1], chain[i].off, chain[i + 1].off);
            if (!e) {
                oom(p);
                ok = false;
                break;
            }
            if (lo_attrs_reserve(p->g, &e->attrs, sc->edge_defaults.n + scratch->n)) {
                oom(p);
                ok = false;
                break;
            }
            if (sc->edge_defaults.n)
                memcpy(e->attrs.v, sc->edge_defaults.v,
                       sc->edge_defaults.n * sizeof *e->attrs.v);
            e->attrs.n = sc->edge_defaults.n;
            ok = merge(p, &e->attrs, scratch);
        }
        free(ends);
        if (chain != ids)
            free(chain);
        return ok;
    }
    /* NodeStmt */
    if (is_port(p)) {
        fail_at(p, p->peek.off, "node ports ('node:port') are not supported in Attractor pipelines");
        return false;
    }
    scratch->n = 0;
    if (!parse_attr_blocks(p, scratch))
        return false;
    lo_node *n = node_ref(p, sc, first, scratch->n);
    if (!n)
        return false;
    n->declared = true;
    return merge(p, &n->attrs, scratch);
}

static bool parse_statements(parser *p, scope *sc, attr_list *scratch, bool top);

static bool copy_attrs(parser *p, lo_attrs *dst, const lo_attrs *src)
{
    memset(dst, 0, sizeof *dst);
    if (!src->n)
        return true;
    if (lo_attrs_reserve(p->g, dst, src->n)) {
        oom(p);
        return false;
    }
    memcpy(dst->v, src->v, src->n * sizeof *dst->v);
    dst->n = src->n;
    return true;
}

/* Lowercase, spaces to hyphens, keep [a-z0-9-] (attractor-spec §2.10). */
static const char *derive_class(parser *p, const char *label)
{
    size_t n = strlen(label);
    char *c = lo_arena_alloc(p->g->arena, n + 1);
    if (!c)
        return NULL;
    size_t j = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)label[i];
        if (ch == ' ')
            c[j++] = '-';
        else if (isalnum(ch) || ch == '-')
            c[j++] = (char)tolower(ch);
    }
    c[j] = '\0';
    return c;
}

static bool add_class(parser *p, lo_node *n, const char *cls)
{
    if (!*cls || lo_node_has_class(n, cls))
        return true;
    const char **v = lo_arena_alloc(p->g->arena, (n->n_classes + 1) * sizeof *v);
    if (!v) {
        oom(p);
        return false;
    }
    if (n->n_classes)
        memcpy(v, n->classes, n->n_classes * sizeof *v);
    v[n->n_classes++] = cls;
    n->classes = v;
    return true;
}

static bool parse_subgraph(parser *p, scope *outer, attr_list *scratch, tok kw)
{
    if (p->depth >= MAX_DEPTH) {
        fail_at(p, kw.off, "subgraphs nested more than %d deep", MAX_DEPTH);
        return false;
    }
    scope sc;
    memset(&sc, 0, sizeof sc);
    if (!copy_attrs(p, &sc.node_defaults, &outer->node_defaults) ||
        !copy_attrs(p, &sc.edge_defaults, &outer->edge_defaults))
        return false;
    sc.members_start = p->n_members;
    p->depth++;
    bool ok = parse_statements(p, &sc, scratch, false);
    p->depth--;
    if (!ok)
        return false;
    if (sc.label && *sc.label) {
        const char *cls = derive_class(p, sc.label);
        if (!cls) {
            oom(p);
            return false;
        }
        for (uint32_t i = sc.members_start; i < p->n_members; i++)
            if (!add_class(p, p->g->nodes[p->members[i]], cls))
                return false;
    }
    if (p->depth == 0)
        p->n_members = 0;
    return true;
}

/* Graph attributes in the top scope; a subgraph's own attributes only
 * matter for its label. */
static bool set_scope_attrs(parser *p, scope *sc, const attr_list *l, bool top)
{
    if (top)
        return merge(p, &p->g->attrs, l);
    for (uint32_t i = 0; i < l->n; i++)
        if (l->v[i].key == p->k_label)
            sc->label = l->v[i].value.text;
    return true;
}

static bool parse_statements(parser *p, scope *sc, attr_list *scratch, bool top)
{
    if (!expect(p, T_LBRACE, "'{'"))
        return false;
    for (;;) {
        tok t = next(p);
        if (t.kind == T_RBRACE)
            return true;
        if (t.kind == T_SEMI)
            continue;
        if (t.kind == T_EOF) {
            if (!lexer_failed(p))
                fail_at(p, t.off, "unexpected end of file: a '}' is missing");
            return false;
        }
        if (t.kind == T_LBRACE) {
            /* anonymous subgraph `{ ... }` (Graphviz's rank groups) */
            p->has_peek = true;
            p->peek = t;
            if (!parse_subgraph(p, sc, scratch, t))
                return false;
            continue;
        }
        if (t.kind != T_ID) {
            if (t.kind == T_STRING || t.kind == T_NUMBER)
                check_node_id(p, t);
            else
                unexpected(p, t, "a statement (node, edge, attribute or subgraph)");
            return false;
        }
        if (tok_is(p, t, "subgraph")) {
            tok name = peek(p);
            if (name.kind == T_ID || name.kind == T_STRING)
                next(p);
            if (!parse_subgraph(p, sc, scratch, t))
                return false;
            continue;
        }
        bool kw_graph = tok_is(p, t, "graph"), kw_node = tok_is(p, t, "node"),
             kw_edge = tok_is(p, t, "edge");
        if ((kw_graph || kw_node || kw_edge) && peek(p).kind == T_LBRACK) {
            scratch->n = 0;
            if (!parse_attr_blocks(p, scratch))
                return false;
            if (kw_graph) {
                if (!set_scope_attrs(p, sc, scratch, top))
                    return false;
            } else if (!merge(p, kw_node ? &sc->node_defaults : &sc->edge_defaults, scratch)) {
                return false;
            }
            continue;
        }
        if (tok_is_ci(p, t, "digraph") || tok_is_ci(p, t, "strict")) {
            fail_at(p, t.off, "only one graph per file: a graph cannot be nested in another");
            return false;
        }
        tok after = peek(p);
        if (after.kind == T_EQ || after.kind == T_DOT) {
            /* GraphAttrDecl: key = value */
            lo_attr a;
            scratch->n = 0;
            if (!parse_attr(p, t, &a) || !push_attr(p, scratch, &a) ||
                !set_scope_attrs(p, sc, scratch, top))
                return false;
            continue;
        }
        if (!parse_node_or_edge(p, sc, t, scratch))
            return false;
    }
}

static bool parse_graph(parser *p)
{
    tok t = next(p);
    if (tok_is_ci(p, t, "strict")) {
        fail_at(p, t.off, "'strict' graphs are not supported: write 'digraph Name { ... }'");
        return false;
    }
    if (tok_is_ci(p, t, "graph")) {
        fail_at(p, t.off, "undirected graphs are not supported: write 'digraph Name { ... }'");
        return false;
    }
    if (!tok_is(p, t, "digraph")) {
        if (!lexer_failed(p)) {
            char buf[64];
            fail_at(p, t.off, "expected 'digraph', found %s", describe(p, t, buf, sizeof buf));
        }
        return false;
    }
    p->g->off = t.off;
    tok name = peek(p);
    if (name.kind == T_ID) {
        next(p);
        p->g->name = lo_arena_strndup(p->g->arena, p->lx.src + name.off, name.len);
    } else if (name.kind == T_STRING) {
        next(p);
        uint32_t n;
        p->g->name = unescape(p, p->lx.src + name.off + 1, name.len - 2, &n);
    }
    if (!p->g->name) {
        oom(p);
        return false;
    }
    scope top;
    memset(&top, 0, sizeof top);
    attr_list scratch = {0};
    bool ok = parse_statements(p, &top, &scratch, true);
    free(scratch.v);
    if (!ok)
        return false;
    tok extra = next(p);
    if (extra.kind != T_EOF) {
        if (tok_is_ci(p, extra, "digraph") || tok_is_ci(p, extra, "graph") ||
            tok_is_ci(p, extra, "strict"))
            fail_at(p, extra.off, "only one graph per file: a second graph starts here");
        else
            unexpected(p, extra, "end of file after the graph's closing '}'");
        return false;
    }
    return !lexer_failed(p);
}

/* Explicit classes first (class="a,b"), then those derived from subgraphs. */
static bool finish_classes(parser *p)
{
    lo_graph *g = p->g;
    for (uint32_t i = 0; i < g->n_nodes; i++) {
        lo_node *n = g->nodes[i];
        const lo_attr *a = lo_attrs_get(&n->attrs, "class");
        if (!a || !a->value.len)
            continue;
        const char **derived = n->classes;
        uint32_t n_derived = n->n_classes;
        n->classes = NULL;
        n->n_classes = 0;
        const char *s = a->value.text;
        while (*s) {
            while (*s == ',' || *s == ' ' || *s == '\t')
                s++;
            const char *e = s;
            while (*e && *e != ',')
                e++;
            const char *te = e;
            while (te > s && (te[-1] == ' ' || te[-1] == '\t'))
                te--;
            if (te > s) {
                const char *c = lo_arena_strndup(g->arena, s, (size_t)(te - s));
                if (!c || !add_class(p, n, c))
                    return false;
            }
            s = e;
        }
        for (uint32_t k = 0; k < n_derived; k++)
            if (!add_class(p, n, derived[k]))
                return false;
    }
    return true;
}

/* Free a graph that failed to parse, leaving its source to the caller. */
static void discard(lo_graph *g)
{
    g->src_mapped = g->src_owned = false;
    lo_graph_free(g);
}

/* Parse src; on success the graph owns src (mapped or malloc'd), on failure
 * the caller still does. */
static lo_graph *parse_source(const char *src, size_t len, const char *file,
                              bool mapped, lo_error *err)
{
    if (len >= LO_GRAPH_MAX_SOURCE) {
        lo_error_set(err, LO_ETOOBIG, "%s: pipeline is %zu bytes; the limit is %u",
                     file, len, LO_GRAPH_MAX_SOURCE);
        return NULL;
    }
    lo_graph *g = lo_graph_new("");
    if (!g) {
        lo_error_set(err, LO_ENOMEM, "out of memory");
        return NULL;
    }
    g->file = lo_arena_strdup(g->arena, file ? file : "<input>");
    g->src = src;
    g->src_len = len;
    parser p;
    memset(&p, 0, sizeof p);
    p.g = g;
    p.err = err;
    p.k_label = lo_graph_intern(g, "label");
    p.k_class = lo_graph_intern(g, "class");
    if (!g->file || !p.k_label || !p.k_class) {
        discard(g);
        lo_error_set(err, LO_ENOMEM, "out of memory");
        return NULL;
    }
    lex_init(&p.lx, src, (uint32_t)len, mapped);
    if (p.lx.oom)
        oom(&p);
    bool ok = !p.failed && parse_graph(&p) && finish_classes(&p);
    free(p.members);
    g->line_starts = p.lx.lines;
    g->n_lines = p.lx.n_lines;
    if (!ok || p.failed || p.lx.oom) {
        if (!p.failed)
            oom(&p);
        discard(g);
        return NULL;
    }
    g->src_mapped = mapped;
    g->src_owned = !mapped;
    return g;
}

lo_graph *lo_graph_parse(const char *src, size_t len, const char *file, lo_error *err)
{
    char *copy = lo_malloc(len + 1);
    if (!copy) {
        lo_error_set(err, LO_ENOMEM, "out of memory");
        return NULL;
    }
    memcpy(copy, src, len);
    copy[len] = '\0';
    lo_graph *g = parse_source(copy, len, file, false, err);
    if (!g)
        free(copy);
    return g;
}

lo_graph *lo_graph_parse_file(const char *path, lo_error *err)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        int e = errno;
        lo_error_set(err, e == ENOENT ? LO_ENOENT : LO_EIO, "%s: %s", path, strerror(e));
        return NULL;
    }
    struct stat st;
    if (fstat(fd, &st) != 0) {
        int e = errno;
        close(fd);
        lo_error_set(err, LO_EIO, "%s: %s", path, strerror(e));
        return NULL;
    }
    if (S_ISDIR(st.st_mode)) {
        close(fd);
        lo_error_set(err, LO_EISDIR, "%s: is a directory, not a pipeline file", path);
        return NULL;
    }
    if (!S_ISREG(st.st_mode) || st.st_size == 0) {
        /* pipes, devices and empty files: read them the ordinary way */
        close(fd);
        char *data;
        size_t len;
        if (lo_file_read(path, LO_GRAPH_MAX_SOURCE, &data, &len, err))
            return NULL;
        if (lo_looks_binary(data, len)) {
            free(data);
            lo_error_set(err, LO_EINVAL, "%s: binary data, not a DOT pipeline", path);
            return NULL;
        }
        lo_graph *g = lo_graph_parse(data, len, path, err);
        free(data);
        return g;
    }
    if ((uint64_t)st.st_size >= LO_GRAPH_MAX_SOURCE) {
        close(fd);
        lo_error_set(err, LO_ETOOBIG, "%s: pipeline is %lld bytes; the limit is %u",
                     path, (long long)st.st_size, LO_GRAPH_MAX_SOURCE);
        return NULL;
    }
    size_t len = (size_t)st.st_size;
    void *m = mmap(NULL, len, PROT_READ, MAP_PRIVATE, fd, 0);
    int e = errno;
    close(fd);
    if (m == MAP_FAILED) {
        lo_error_set(err, LO_EIO, "%s: cannot map: %s", path, strerror(e));
        return NULL;
    }
    madvise(m, len, MADV_SEQUENTIAL);
    if (lo_looks_binary(m, len)) {
        munmap(m, len);
        lo_error_set(err, LO_EINVAL, "%s: binary data, not a DOT pipeline", path);
        return NULL;
    }
    lo_graph *g = parse_source(m, len, path, true, err);
    if (!g)
        munmap(m, len);
    return g;
}
