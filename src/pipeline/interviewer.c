/*
 * Interviewers (attractor-spec §6): auto-approve, console, queue, callback;
 * and accelerator keys (§4.6).
 *
 * Every built-in interviewer is one allocation whose first member is the
 * lo_interviewer, so destroy() frees it whole. A NULL destroy means the
 * caller owns the memory (an interviewer on the stack, say).
 */
#include <ctype.h>
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "lightsout/engine.h"

/* A console user gets this many more tries after an answer that matches
 * nothing, then the question counts as skipped. */
#define CONSOLE_REASKS 3
/* Longer input lines are cut: nobody types more at a prompt. */
#define LINE_MAX_BYTES 65536
/* Answer files are short lists; a bigger file is a mistake. */
#define QUEUE_FILE_MAX (16u * 1024u * 1024u)

/* ---- answers ---- */

void lo_answer_release(lo_answer *a)
{
    if (!a)
        return;
    free(a->value);
    a->value = NULL;
    a->option = -1;
}

static void answer_reset(lo_answer *a)
{
    a->kind = LO_ANSWER_SKIPPED;
    a->value = NULL;
    a->option = -1;
}

/* Set *a to kind with a copy of value (may be NULL) and option. */
static int answer_set(lo_answer *a, lo_answer_kind kind, const char *value, int option)
{
    char *copy = NULL;
    if (value && !(copy = lo_strdup(value)))
        return LO_ENOMEM;
    free(a->value);
    a->kind = kind;
    a->value = copy;
    a->option = option;
    return 0;
}

void lo_interviewer_free(lo_interviewer *iv)
{
    if (iv && iv->destroy)
        iv->destroy(iv);
}

/* ---- accelerator keys ---- */

/* Find the accelerator prefix of a label: "[K] x", "K) x", "K - x". Returns
 * true and the key's span and the label text after the prefix, or false
 * when the label has none. */
static bool parse_accel(const char *label, const char **key, size_t *key_len,
                        const char **rest)
{
    const char *s = label;
    while (isspace((unsigned char)*s))
        s++;
    if (*s == '[') {
        const char *close = strchr(s + 1, ']');
        if (close) {
            const char *b = s + 1, *e = close;
            while (b < e && isspace((unsigned char)*b))
                b++;
            while (e > b && isspace((unsigned char)e[-1]))
                e--;
            if (e > b) {
                *key = b;
                *key_len = (size_t)(e - b);
                *rest = close + 1;
                goto found;
            }
        }
    }
    if (isalnum((unsigned char)s[0]) && s[1] == ')') {
        *key = s;
        *key_len = 1;
        *rest = s + 2;
        goto found;
    }
    if (isalnum((unsigned char)s[0]) && (s[1] == ' ' || s[1] == '\t')) {
        /* "K - x": blanks on both sides of the dash, so "A-team" and
         * "x-ray" keep their first letter */
        const char *p = s + 1;
        while (*p == ' ' || *p == '\t')
            p++;
        if (*p == '-' && (p[1] == ' ' || p[1] == '\t' || p[1] == '\0')) {
            *key = s;
            *key_len = 1;
            *rest = p + 1;
            goto found;
        }
    }
    return false;
found:
    while (isspace((unsigned char)**rest))
        (*rest)++;
    return true;
}

/* Bytes in the UTF-8 character starting at s (1 for a stray byte). */
static size_t char_len(const char *s)
{
    unsigned char c = (unsigned char)s[0];
    size_t n = c < 0xC0 ? 1 : c < 0xE0 ? 2 : c < 0xF0 ? 3 : 4;
    for (size_t i = 1; i < n; i++)
        if (((unsigned char)s[i] & 0xC0) != 0x80)
            return 1;
    return n;
}

void lo_accelerator_key(const char *label, char *key, size_t n)
{
    if (!key || n == 0)
        return;
    key[0] = '\0';
    if (!label)
        return;
    const char *k, *rest;
    size_t len;
    if (!parse_accel(label, &k, &len, &rest)) {
        k = label;
        while (isspace((unsigned char)*k))
            k++;
        len = *k ? char_len(k) : 0;
    }
    /* cut to fit, never inside a UTF-8 character */
    if (len > n - 1) {
        len = n - 1;
        while (len > 0 && ((unsigned char)k[len] & 0xC0) == 0x80)
            len--;
    }
    memcpy(key, k, len);
    key[len] = '\0';
}

/* ---- matching typed or queued text against a question ---- */

static bool word_eq(const char *a, const char *b) { return strcasecmp(a, b) == 0; }

/* A label compared with the text, in full or without its accelerator. */
static bool label_matches(const char *label, const char *text)
{
    if (!label)
        return false;
    if (word_eq(label, text))
        return true;
    const char *k, *rest;
    size_t len;
    return parse_accel(label, &k, &len, &rest) && *rest && word_eq(rest, text);
}

/* Match text against the question's options: keys first, then labels, then
 * a 1-based number. Returns the option index or -1. */
static int find_option(const lo_question *q, const char *text)
{
    for (size_t i = 0; i < q->n_options; i++)
        if (q->options[i].key && word_eq(q->options[i].key, text))
            return (int)i;
    for (size_t i = 0; i < q->n_options; i++)
        if (label_matches(q->options[i].label, text))
            return (int)i;
    if (isdigit((unsigned char)text[0])) {
        char *end;
        errno = 0;
        long v = strtol(text, &end, 10);
        if (errno == 0 && *end == '\0' && v >= 1 && (size_t)v <= q->n_options)
            return (int)(v - 1);
    }
    return -1;
}

/* Interpret text (already trimmed) as an answer to q. Returns 1 and fills
 * *a when it means something, 0 when it matches nothing, or LO_ENOMEM.
 * Free text always matches a FREEFORM question. */
static int match_text(const lo_question *q, const char *text, lo_answer *a)
{
    if (q->type == LO_Q_FREEFORM)
        return answer_set(a, LO_ANSWER_VALUE, text, -1) ? LO_ENOMEM : 1;
    if (q->type == LO_Q_YES_NO || q->type == LO_Q_CONFIRMATION) {
        if (word_eq(text, "y") || word_eq(text, "yes"))
            return answer_set(a, LO_ANSWER_YES, NULL, -1) ? LO_ENOMEM : 1;
        if (word_eq(text, "n") || word_eq(text, "no"))
            return answer_set(a, LO_ANSWER_NO, NULL, -1) ? LO_ENOMEM : 1;
    }
    int i = find_option(q, text);
    if (i < 0)
        return 0;
    const char *key = q->options[i].key ? q->options[i].key : q->options[i].label;
    return answer_set(a, LO_ANSWER_VALUE, key, i) ? LO_ENOMEM : 1;
}

/* The question's default answer (§6.5): matched like input, else taken as
 * text. */
static int use_default(const lo_question *q, lo_answer *a)
{
    int m = match_text(q, q->default_answer, a);
    if (m < 0)
        return m;
    if (m == 0 && answer_set(a, LO_ANSWER_VALUE, q->default_answer, -1))
        return LO_ENOMEM;
    return 0;
}

/* Trim in place; returns the start. */
static char *trim(char *s)
{
    while (isspace((unsigned char)*s))
        s++;
    size_t n = strlen(s);
    while (n && isspace((unsigned char)s[n - 1]))
        s[--n] = '\0';
    return s;
}

static void inform_nothing(lo_interviewer *iv, const char *message, const char *stage)
{
    (void)iv, (void)message, (void)stage;
}

static void destroy_plain(lo_interviewer *iv) { free(iv); }

/* ---- auto-approve ---- */

static int auto_ask(lo_interviewer *iv, const lo_question *q, lo_answer *a)
{
    (void)iv;
    answer_reset(a);
    switch (q->type) {
    case LO_Q_YES_NO:
    case LO_Q_CONFIRMATION:
        return answer_set(a, LO_ANSWER_YES, NULL, -1);
    case LO_Q_MULTIPLE_CHOICE:
        if (q->n_options > 0) {
            const lo_option *o = &q->options[0];
            return answer_set(a, LO_ANSWER_VALUE, o->key ? o->key : o->label, 0);
        }
        break;
    case LO_Q_FREEFORM:
        break;
    }
    return answer_set(a, LO_ANSWER_VALUE, "auto-approved", -1);
}

lo_interviewer *lo_interviewer_auto(void)
{
    lo_interviewer *iv = lo_calloc(1, sizeof *iv);
    if (!iv)
        return NULL;
    iv->ask = auto_ask;
    iv->inform = inform_nothing;
    iv->destroy = destroy_plain;
    return iv;
}

/* ---- console ---- */

typedef struct console {
    lo_interviewer iv; /* first: the interviewer is the allocation */
    FILE *in, *out;
    pthread_mutex_t mu; /* parallel branches must not interleave prompts */
} console;

enum { READ_LINE = 1, READ_EOF = 2, READ_TIMEOUT = 3 };

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int keep_byte(lo_buf *line, char ch)
{
    if (line->len >= LINE_MAX_BYTES)
        return 0;
    return lo_buf_putc(line, ch);
}

/*
 * Read one line into *line (without the newline). With a file descriptor,
 * bytes are read one at a time straight from it, so stdio never holds
 * input that poll() cannot see and each call consumes exactly one line.
 * A stream without one (fmemopen) is read through stdio, without timeouts.
 * deadline is a now_ms() time, or 0 for none.
 */
static int read_line(FILE *in, int64_t deadline, lo_buf *line)
{
    lo_buf_clear(line);
    int fd = fileno(in);
    if (fd < 0) {
        int ch;
        while ((ch = getc(in)) != EOF && ch != '\n')
            if (keep_byte(line, (char)ch))
                return LO_ENOMEM;
        if (ch == EOF && line->len == 0)
            return ferror(in) ? LO_EIO : READ_EOF;
        return READ_LINE;
    }
    for (;;) {
        if (deadline) {
            int64_t left = deadline - now_ms();
            if (left <= 0)
                return READ_TIMEOUT;
            struct pollfd p = {.fd = fd, .events = POLLIN};
            int pr = poll(&p, 1, left > 60000 ? 60000 : (int)left);
            if (pr < 0 && errno != EINTR)
                return LO_EIO;
            if (pr <= 0)
                continue; /* re-check the deadline */
        }
        char ch;
        ssize_t r = read(fd, &ch, 1);
        if (r < 0) {
            if (errno == EINTR)
                continue;
            if (errno == EAGAIN || errno == EWOULDBLOCK) {
                /* a non-blocking descriptor: wait for input */
                struct pollfd p = {.fd = fd, .events = POLLIN};
                if (!deadline && poll(&p, 1, -1) < 0 && errno != EINTR)
                    return LO_EIO;
                continue;
            }
            return LO_EIO;
        }
        if (r == 0)
            return line->len ? READ_LINE : READ_EOF; /* a last line without \n counts */
        if (ch == '\n')
            return READ_LINE;
        if (keep_byte(line, ch))
            return LO_ENOMEM;
    }
}

/* "[A] Approve" shown as "[A] Approve", not "[A] [A] Approve". */
static const char *display_label(const lo_option *o)
{
    const char *label = o->label ? o->label : "";
    const char *k, *rest;
    size_t len;
    if (o->key && parse_accel(label, &k, &len, &rest) && *rest &&
        strlen(o->key) == len && strncasecmp(o->key, k, len) == 0)
        return rest;
    return label;
}

static const char *prompt_for(const lo_question *q)
{
    switch (q->type) {
    case LO_Q_MULTIPLE_CHOICE: return "Select";
    case LO_Q_YES_NO:
    case LO_Q_CONFIRMATION: return "[Y/N]";
    case LO_Q_FREEFORM: break;
    }
    return ">";
}

static void print_prompt(FILE *out, const lo_question *q)
{
    if (q->default_answer)
        fprintf(out, "%s (default: %s): ", prompt_for(q), q->default_answer);
    else
        fprintf(out, "%s ", prompt_for(q));
    fflush(out);
}

static int console_ask_locked(console *c, const lo_question *q, lo_answer *a)
{
    FILE *out = c->out;
    fprintf(out, "[?] %s\n", q->text ? q->text : "");
    if (q->type == LO_Q_MULTIPLE_CHOICE)
        for (size_t i = 0; i < q->n_options; i++)
            fprintf(out, "  [%s] %s\n", q->options[i].key ? q->options[i].key : "",
                    display_label(&q->options[i]));
    int64_t deadline = 0;
    if (q->timeout_seconds > 0) {
        deadline = now_ms() + (int64_t)(q->timeout_seconds * 1000.0);
        if (deadline == 0)
            deadline = 1;
    }
    lo_buf line;
    lo_buf_init(&line, 0);
    int rc = 0;
    for (int tries = 0; tries <= CONSOLE_REASKS; tries++) {
        print_prompt(out, q);
        int r = read_line(c->in, deadline, &line);
        if (r < 0) {
            rc = r;
            break;
        }
        if (r == READ_TIMEOUT) {
            fprintf(out, "\n[!] no answer within %g s\n", q->timeout_seconds);
            if (q->default_answer)
                rc = use_default(q, a);
            else
                a->kind = LO_ANSWER_TIMEOUT;
            break;
        }
        if (r == READ_EOF) {
            fputc('\n', out);
            break; /* nobody there: skipped */
        }
        char empty[1] = "";
        char *text = trim(line.data ? line.data : empty);
        if (!*text && q->default_answer) {
            rc = use_default(q, a);
            break;
        }
        int m = match_text(q, text, a);
        if (m < 0) {
            rc = m;
            break;
        }
        if (m > 0)
            break;
        if (word_eq(text, "skip"))
            break;
        if (tries < CONSOLE_REASKS)
            fprintf(out, "  '%s' is not one of the choices; try again\n", text);
        else
            fprintf(out, "  '%s' is not one of the choices; skipping\n", text);
    }
    lo_buf_release(&line);
    fflush(out);
    return rc;
}

static int console_ask(lo_interviewer *iv, const lo_question *q, lo_answer *a)
{
    console *c = (console *)iv;
    answer_reset(a);
    pthread_mutex_lock(&c->mu);
    int rc = console_ask_locked(c, q, a);
    pthread_mutex_unlock(&c->mu);
    return rc;
}

static void console_inform(lo_interviewer *iv, const char *message, const char *stage)
{
    console *c = (console *)iv;
    pthread_mutex_lock(&c->mu);
    if (stage && *stage)
        fprintf(c->out, "[i] %s: %s\n", stage, message ? message : "");
    else
        fprintf(c->out, "[i] %s\n", message ? message : "");
    fflush(c->out);
    pthread_mutex_unlock(&c->mu);
}

static void console_destroy(lo_interviewer *iv)
{
    console *c = (console *)iv;
    pthread_mutex_destroy(&c->mu);
    free(c);
}

lo_interviewer *lo_interviewer_console(FILE *in, FILE *out)
{
    if (!in || !out)
        return NULL;
    console *c = lo_calloc(1, sizeof *c);
    if (!c)
        return NULL;
    if (pthread_mutex_init(&c->mu, NULL) != 0) {
        free(c);
        return NULL;
    }
    c->in = in;
    c->out = out;
    c->iv.ask = console_ask;
    c->iv.inform = console_inform;
    c->iv.destroy = console_destroy;
    return &c->iv;
}

/* ---- queue ---- */

typedef struct queue {
    lo_interviewer iv;
    char **answers; /* NULL entries answer SKIPPED */
    size_t n, next;
    pthread_mutex_t mu;
} queue;

/* A queued line: a key, label, number, yes/no as typed at the console;
 * "skip" and "timeout" stand for those answers (a timeout still takes the
 * question's default); anything else is passed on as text. */
static int queue_answer(const lo_question *q, const char *text, lo_answer *a)
{
    if (q->type != LO_Q_FREEFORM) {
        int m = match_text(q, text, a);
        if (m != 0)
            return m < 0 ? m : 0;
    }
    if (word_eq(text, "skip"))
        return answer_set(a, LO_ANSWER_SKIPPED, NULL, -1);
    if (word_eq(text, "timeout")) {
        if (q->default_answer)
            return use_default(q, a);
        return answer_set(a, LO_ANSWER_TIMEOUT, NULL, -1);
    }
    return answer_set(a, LO_ANSWER_VALUE, text, -1);
}

static int queue_ask(lo_interviewer *iv, const lo_question *q, lo_answer *a)
{
    queue *qu = (queue *)iv;
    answer_reset(a);
    pthread_mutex_lock(&qu->mu);
    const char *text = NULL;
    bool have = qu->next < qu->n;
    if (have)
        text = qu->answers[qu->next++];
    pthread_mutex_unlock(&qu->mu);
    if (!have || !text)
        return 0; /* ran out: skipped */
    return queue_answer(q, text, a);
}

static void queue_destroy(lo_interviewer *iv)
{
    queue *qu = (queue *)iv;
    for (size_t i = 0; i < qu->n; i++)
        free(qu->answers[i]);
    free(qu->answers);
    pthread_mutex_destroy(&qu->mu);
    free(qu);
}

/* An empty queue with room for n answers. */
static queue *queue_new(size_t n)
{
    queue *qu = lo_calloc(1, sizeof *qu);
    if (!qu)
        return NULL;
    if (!(qu->answers = lo_calloc(n ? n : 1, sizeof *qu->answers)) ||
        pthread_mutex_init(&qu->mu, NULL) != 0) {
        free(qu->answers);
        free(qu);
        return NULL;
    }
    qu->iv.ask = queue_ask;
    qu->iv.inform = inform_nothing;
    qu->iv.destroy = queue_destroy;
    return qu;
}

lo_interviewer *lo_interviewer_queue(const char *const *answers, size_t n)
{
    if (n && !answers)
        return NULL;
    queue *qu = queue_new(n);
    if (!qu)
        return NULL;
    for (size_t i = 0; i < n; i++) {
        if (answers[i] && !(qu->answers[qu->n] = lo_strdup(answers[i]))) {
            queue_destroy(&qu->iv);
            return NULL;
        }
        qu->n++; /* count each slot, so destroy frees what was copied */
    }
    return &qu->iv;
}

lo_interviewer *lo_interviewer_queue_file(const char *path, lo_error *err)
{
    char *data;
    size_t len;
    if (lo_file_read(path, QUEUE_FILE_MAX, &data, &len, err) != 0)
        return NULL;
    size_t lines = 1;
    for (size_t i = 0; i < len; i++)
        lines += data[i] == '\n';
    queue *qu = queue_new(lines);
    if (!qu) {
        free(data);
        lo_error_set(err, LO_ENOMEM, "out of memory reading %s", path);
        return NULL;
    }
    char *save = NULL;
    for (char *ln = strtok_r(data, "\n", &save); ln; ln = strtok_r(NULL, "\n", &save)) {
        char *t = trim(ln);
        if (!*t || *t == '#')
            continue; /* blank lines and comments */
        if (!(qu->answers[qu->n] = lo_strdup(t))) {
            free(data);
            queue_destroy(&qu->iv);
            lo_error_set(err, LO_ENOMEM, "out of memory reading %s", path);
            return NULL;
        }
        qu->n++;
    }
    free(data);
    return &qu->iv;
}

/* ---- callback ---- */

typedef struct callback {
    lo_interviewer iv;
    int (*fn)(const lo_question *q, lo_answer *answer, void *ud);
    void *ud;
} callback;

static int callback_ask(lo_interviewer *iv, const lo_question *q, lo_answer *a)
{
    callback *cb = (callback *)iv;
    answer_reset(a);
    return cb->fn(q, a, cb->ud);
}

lo_interviewer *lo_interviewer_callback(
    int (*fn)(const lo_question *q, lo_answer *answer, void *ud), void *ud)
{
    if (!fn)
        return NULL;
    callback *cb = lo_calloc(1, sizeof *cb);
    if (!cb)
        return NULL;
    cb->fn = fn;
    cb->ud = ud;
    cb->iv.ask = callback_ask;
    cb->iv.inform = inform_nothing;
    cb->iv.destroy = destroy_plain;
    cb->iv.ud = ud;
    return &cb->iv;
}
