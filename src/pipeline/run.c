/* The run directory (attractor-spec §5.6 plus manifest.json and
 * events.jsonl): events, the manifest, checkpoints. Everything resume reads
 * is written atomically. */
#include <errno.h>
#include <fcntl.h>
#include <sys/file.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "pipeline/engine_internal.h"

int64_t lo_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void lo_rfc3339_now(char *buf, size_t n)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    struct tm tm;
    gmtime_r(&ts.tv_sec, &tm);
    char base[32];
    strftime(base, sizeof base, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(buf, n, "%s.%03ldZ", base, ts.tv_nsec / 1000000);
}

static char *join(const char *a, const char *b)
{
    size_t n = strlen(a) + strlen(b) + 2;
    char *s = lo_malloc(n);
    if (s)
        snprintf(s, n, "%s/%s", a, b);
    return s;
}

/* The highest seq in an existing event log, so a resumed run's events keep
 * counting up. The tail is enough: seq only grows. */
static uint64_t last_seq(const char *path)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return 0;
    uint64_t best = 0;
    if (fseek(f, 0, SEEK_END) == 0) {
        long size = ftell(f);
        fseek(f, size > 65536 ? size - 65536 : 0, SEEK_SET);
    }
    char *line = NULL;
    size_t cap = 0;
    while (getline(&line, &cap, f) > 0) {
        json_t *ev = json_loads(line, 0, NULL);
        json_int_t s = ev ? json_integer_value(json_object_get(ev, "seq")) : 0;
        if (s > 0 && (uint64_t)s > best)
            best = (uint64_t)s;
        json_decref(ev);
    }
    free(line);
    fclose(f);
    return best;
}

int run_lock(struct lo_engine *e, lo_error *err)
{
    if (lo_mkdir_p(e->logs_root, err))
        return LO_EIO;
    char *path = join(e->logs_root, "lock");
    if (!path)
        return lo_error_set(err, LO_ENOMEM, "out of memory");
    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    free(path);
    if (fd < 0)
        return lo_error_set(err, LO_EIO, "cannot lock %s: %s", e->logs_root, strerror(errno));
    /* flock is released by the kernel when the process dies, even by kill -9,
     * so a crashed run never leaves its directory locked */
    if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
        int en = errno;
        close(fd);
        if (en == EWOULDBLOCK)
            return lo_error_set(err, LO_EINVAL, "%s is in use by another lightsout process "
                                "(see 'lightsout status %s')", e->logs_root, e->logs_root);
        return lo_error_set(err, LO_EIO, "cannot lock %s: %s", e->logs_root, strerror(en));
    }
    e->lock_fd = fd;
    return 0;
}

bool lo_run_dir_locked(const char *logs_root)
{
    char *path = join(logs_root, "lock");
    int fd = path ? open(path, O_RDWR | O_CLOEXEC) : -1;
    free(path);
    if (fd < 0)
        return false;
    bool locked = flock(fd, LOCK_EX | LOCK_NB) != 0 && errno == EWOULDBLOCK;
    close(fd); /* releases the lock if we just took it */
    return locked;
}

void run_unlock(struct lo_engine *e)
{
    if (e->lock_fd >= 0)
        close(e->lock_fd);
    e->lock_fd = -1;
}

int run_open(struct lo_engine *e, bool resume, lo_error *err)
{
    if (lo_mkdir_p(e->logs_root, err))
        return LO_EIO;
    char *path = join(e->logs_root, "events.jsonl");
    if (path && resume)
        e->seq = last_seq(path);
    if (!path)
        return lo_error_set(err, LO_ENOMEM, "out of memory");
    e->events = fopen(path, resume ? "a" : "w");
    if (!e->events) {
        int rc = lo_error_set(err, LO_EIO, "cannot open %s: %s", path, strerror(errno));
        free(path);
        return rc;
    }
    free(path);
    return 0;
}

void run_close(struct lo_engine *e)
{
    if (e->events)
        fclose(e->events);
    e->events = NULL;
}

int lo_run_emit(lo_run *r, const char *type, json_t *fields)
{
    struct lo_engine *e = r->e;
    json_t *ev = json_object();
    if (!ev) {
        json_decref(fields);
        return LO_ENOMEM;
    }
    char ts[64];
    lo_rfc3339_now(ts, sizeof ts);
    pthread_mutex_lock(&e->ev_lock);
    json_object_set_new(ev, "seq", json_integer((json_int_t)++e->seq));
    json_object_set_new(ev, "ts", json_string(ts));
    json_object_set_new(ev, "type", json_string(type));
    json_object_set_new(ev, "run_id", json_string(e->run_id));
    if (fields)
        json_object_update(ev, fields);
    json_decref(fields);
    int rc = 0;
    if (e->events) {
        char *line = json_dumps(ev, JSON_COMPACT | JSON_PRESERVE_ORDER);
        if (!line || fputs(line, e->events) < 0 || fputc('\n', e->events) < 0 ||
            fflush(e->events) != 0)
            rc = LO_EIO;
        free(line);
    }
    atomic_store(&e->last_activity_ms, lo_now_ms());
    if (e->cfg.on_event)
        e->cfg.on_event(ev, e->cfg.event_ud);
    pthread_mutex_unlock(&e->ev_lock);
    json_decref(ev);
    return rc;
}

void lo_run_touch(lo_run *r) { atomic_store(&r->e->last_activity_ms, lo_now_ms()); }
bool lo_run_cancelled(const lo_run *r) { return atomic_load(&r->e->stop); }
const atomic_bool *lo_run_cancel_flag(lo_run *r) { return &r->e->stop; }
const char *lo_run_id(const lo_run *r) { return r->e->run_id; }

/* A stable fingerprint of the pipeline file, to refuse resuming a run whose
 * pipeline has changed under it. */
static int file_hash(const char *path, char *out, size_t n, lo_error *err)
{
    char *data;
    size_t len;
    if (lo_file_read(path, LO_GRAPH_MAX_SOURCE, &data, &len, err))
        return LO_EIO;
    snprintf(out, n, "fnv1a64:%016llx:%zu", (unsigned long long)lo_hash(data, len), len);
    free(data);
    return 0;
}

int run_write_manifest(struct lo_engine *e, lo_error *err)
{
    char hash[64] = "";
    char abs[PATH_MAX] = "";
    if (e->dot_path) {
        if (file_hash(e->dot_path, hash, sizeof hash, err))
            return LO_EIO;
        if (!realpath(e->dot_path, abs))
            snprintf(abs, sizeof abs, "%s", e->dot_path);
    }
    char ts[64], wd[PATH_MAX];
    lo_rfc3339_now(ts, sizeof ts);
    if (!realpath(e->workdir, wd))
        snprintf(wd, sizeof wd, "%s", e->workdir);
    json_t *m = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:O?}",
                          "run_id", e->run_id, "name", e->g->name ? e->g->name : "",
                          "goal", lo_graph_str(e->g, "goal"), "pipeline", abs,
                          "pipeline_hash", hash, "started_at", ts,
                          "backend", e->cfg.backend ? e->cfg.backend->name : "sim",
                          "workdir", wd, "lightsout_version", LO_VERSION,
                          /* --set values: a run restarted from scratch needs them */
                          "set", (json_t *)e->cfg.initial_context);
    if (!m)
        return lo_error_set(err, LO_ENOMEM, "out of memory");
    const char *key;
    json_t *v;
    json_object_foreach((json_t *)e->cfg.manifest_extra, key, v)
        if (!json_object_get(m, key))
            json_object_set(m, key, v);
    char *text = json_dumps(m, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
    json_decref(m);
    char *path = join(e->logs_root, "manifest.json");
    int rc = text && path ? 0 : lo_error_set(err, LO_ENOMEM, "out of memory");
    if (!rc) {
        size_t len = strlen(text);
        text[len] = '\0';
        rc = lo_file_write_atomic(path, text, len, err);
    }
    free(text);
    free(path);
    return rc;
}

bool lo_run_pipeline_matches(const char *logs_root, const char *dot_path)
{
    char *path = join(logs_root, "manifest.json");
    json_t *m = path ? json_load_file(path, 0, NULL) : NULL;
    free(path);
    const char *want = json_string_value(json_object_get(m, "pipeline_hash"));
    char now[64];
    bool same = !want || !*want || (file_hash(dot_path, now, sizeof now, NULL) == 0 &&
                                    strcmp(now, want) == 0);
    json_decref(m);
    return same;
}

int run_check_manifest(struct lo_engine *e, lo_error *err)
{
    char *path = join(e->logs_root, "manifest.json");
    if (!path)
        return lo_error_set(err, LO_ENOMEM, "out of memory");
    json_error_t je;
    json_t *m = json_load_file(path, 0, &je);
    if (!m) {
        int rc = lo_error_set(err, LO_EPARSE, "%s: %s", path, je.text);
        free(path);
        return rc;
    }
    free(path);
    const char *want = json_string_value(json_object_get(m, "pipeline_hash"));
    const char *id = json_string_value(json_object_get(m, "run_id"));
    if (id)
        snprintf(e->run_id, sizeof e->run_id, "%s", id);
    json_t *set = json_object_get(m, "set");
    if (json_is_object(set) && !e->cfg.initial_context) {
        e->manifest_set = json_incref(set);
        e->cfg.initial_context = e->manifest_set;
    }
    int rc = 0;
    if (e->dot_path && want && *want) {
        char now[64];
        rc = file_hash(e->dot_path, now, sizeof now, err);
        if (!rc && strcmp(now, want) != 0)
            rc = lo_error_set(err, LO_EINVAL,
                              "%s has changed since run %s started; resuming would mix two "
                              "pipelines: start a new run instead", e->dot_path, e->run_id);
    }
    json_decref(m);
    return rc;
}

/* Checkpoints are a snapshot (checkpoint.json, written atomically) plus a
 * journal (journal.jsonl: one appended, fsynced line per completed stage
 * since the snapshot, tagged with the snapshot's generation). Rewriting the
 * whole state after every stage made a stage cost grow with the run's
 * length; appending one line keeps it flat, and a new snapshot every time
 * the journal grows as long as the run so far keeps replay short and the
 * amortised cost constant. A line cut by a crash is ignored on reading. */

static json_t *context_delta(const json_t *now, const json_t *saved, json_t **del)
{
    json_t *set = json_object();
    *del = json_array();
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)now, k, v) {
        json_t *old = json_object_get(saved, k);
        if (!old || !json_equal(old, v))
            json_object_set(set, k, v);
    }
    json_object_foreach((json_t *)saved, k, v) {
        if (!json_object_get(now, k))
            json_array_append_new(*del, json_string(k));
    }
    return set;
}

static int write_snapshot(struct lo_engine *e, trav *t, const char *state, json_t *ctx,
                          lo_error *err)
{
    char ts[64];
    lo_rfc3339_now(ts, sizeof ts);
    json_t *logs = lo_context_logs(t->ctx);
    t->gen++;
    json_t *cp = json_pack("{s:s, s:s, s:s, s:i, s:I, s:s?, s:s?, s:O, s:O, s:O, s:O, s:I, "
                           "s:i, s:O, s:o}",
                           "run_id", e->run_id, "timestamp", ts, "state", state,
                           "pid", (json_int_t)getpid(), "generation", (json_int_t)t->gen,
                           "current_node", t->last, "next_node", t->current,
                           "completed_nodes", t->completed, "node_outcomes", t->outcomes,
                           "node_retries", t->retries, "node_visits", t->visits,
                           "steps", (json_int_t)t->steps, "restarts", t->restarts,
                           "context", ctx, "logs", logs ? logs : json_array());
    if (!cp)
        return lo_error_set(err, LO_ENOMEM, "out of memory writing the checkpoint");
    char *text = json_dumps(cp, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
    json_decref(cp);
    char *path = join(e->logs_root, "checkpoint.json");
    int rc = text && path ? 0 : lo_error_set(err, LO_ENOMEM, "out of memory");
    if (!rc) {
        /* benchmarks measure the engine without the disk (no_fsync): still atomic */
        rc = lo_file_write_atomic_ex(path, text, strlen(text), !e->cfg.no_fsync, err);
    }
    free(text);
    free(path);
    if (rc)
        return rc;
    /* the journal's lines belong to the old generation now: drop them */
    if (e->journal_fd < 0) {
        char *jp = join(e->logs_root, "journal.jsonl");
        if (jp)
            e->journal_fd = open(jp, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
        free(jp);
    }
    if (e->journal_fd >= 0 && ftruncate(e->journal_fd, 0) != 0) {
        close(e->journal_fd);
        e->journal_fd = -1; /* every checkpoint is then a snapshot: slower, still correct */
    }
    t->journal_n = 0;
    json_decref(t->ctx_saved);
    t->ctx_saved = json_incref(ctx);
    return 0;
}

static int append_journal(struct lo_engine *e, trav *t, const char *state, json_t *ctx,
                          lo_error *err)
{
    json_t *del;
    json_t *set = context_delta(ctx, t->ctx_saved, &del);
    const char *node = t->last;
    json_t *rec = json_pack("{s:I, s:s, s:s?, s:O?, s:O?, s:O?, s:I, s:s?, s:i, s:o, s:o}",
                            "gen", (json_int_t)t->gen, "state", state, "node", node,
                            "outcome", node ? json_object_get(t->outcomes, node) : NULL,
                            "retries", node ? json_object_get(t->retries, node) : NULL,
                            "visits", node ? json_object_get(t->visits, node) : NULL,
                            "steps", (json_int_t)t->steps,
                            "next", t->current, "restarts", t->restarts, "set", set, "del", del);
    char *line = rec ? json_dumps(rec, JSON_COMPACT) : NULL;
    json_decref(rec);
    if (!line)
        return lo_error_set(err, LO_ENOMEM, "out of memory writing the checkpoint");
    size_t len = strlen(line);
    line[len] = '\n'; /* json_dumps left room: it NUL-terminated at len */
    int rc = 0;
    /* one write(2) per record: a crash leaves at most a cut last line */
    ssize_t n = write(e->journal_fd, line, len + 1);
    if (n != (ssize_t)(len + 1) || (!e->cfg.no_fsync && fsync(e->journal_fd) != 0))
        rc = lo_error_set(err, LO_EIO, "cannot write %s/journal.jsonl: %s", e->logs_root,
                          strerror(errno));
    free(line);
    if (!rc) {
        t->journal_n++;
        json_decref(t->ctx_saved);
        t->ctx_saved = json_incref(ctx);
    }
    return rc;
}

int run_save_checkpoint(struct lo_engine *e, trav *t, const char *state, lo_error *err)
{
    json_t *ctx = lo_context_snapshot(t->ctx);
    if (!ctx)
        return lo_error_set(err, LO_ENOMEM, "out of memory writing the checkpoint");
    size_t done = json_array_size(t->completed);
    bool snapshot = strcmp(state, "running") != 0 || t->force_snapshot || e->journal_fd < 0 ||
                    !t->ctx_saved || t->journal_n >= (done > 32 ? done : 32);
    int rc = snapshot ? write_snapshot(e, t, state, ctx, err)
                      : append_journal(e, t, state, ctx, err);
    if (!rc)
        t->force_snapshot = false;
    json_decref(ctx);
    return rc;
}

/* Apply one journal record to a checkpoint object. */
static void apply_record(json_t *cp, const json_t *rec)
{
    const char *node = json_string_value(json_object_get(rec, "node"));
    if (node) {
        json_array_append_new(json_object_get(cp, "completed_nodes"), json_string(node));
        json_t *o = json_object_get(rec, "outcome");
        if (o)
            json_object_set(json_object_get(cp, "node_outcomes"), node, o);
        json_t *r = json_object_get(rec, "retries");
        if (r)
            json_object_set(json_object_get(cp, "node_retries"), node, r);
        json_t *v = json_object_get(rec, "visits");
        if (v) {
            if (!json_is_object(json_object_get(cp, "node_visits")))
                json_object_set_new(cp, "node_visits", json_object());
            json_object_set(json_object_get(cp, "node_visits"), node, v);
        }
        json_object_set_new(cp, "current_node", json_string(node));
    }
    json_t *next = json_object_get(rec, "next");
    json_object_set(cp, "next_node", next ? next : json_null());
    json_object_set(cp, "state", json_object_get(rec, "state"));
    json_object_set(cp, "restarts", json_object_get(rec, "restarts"));
    if (json_is_integer(json_object_get(rec, "steps")))
        json_object_set(cp, "steps", json_object_get(rec, "steps"));
    json_t *ctx = json_object_get(cp, "context");
    json_object_update(ctx, json_object_get(rec, "set"));
    size_t i;
    json_t *k;
    json_array_foreach(json_object_get(rec, "del"), i, k)
        json_object_del(ctx, json_string_value(k));
}

json_t *lo_checkpoint_read(const char *logs_root, lo_error *err)
{
    char *path = join(logs_root, "checkpoint.json");
    char *jpath = join(logs_root, "journal.jsonl");
    json_t *cp = NULL;
    if (!path || !jpath) {
        lo_error_set(err, LO_ENOMEM, "out of memory");
        goto out;
    }
    json_error_t je;
    cp = json_load_file(path, 0, &je);
    if (!cp) {
        if (access(path, F_OK) != 0)
            lo_error_set(err, LO_ENOENT, "%s: no checkpoint: is %s a run directory?", path,
                         logs_root);
        else
            lo_error_set(err, LO_EPARSE, "%s:%d:%d: %s", path, je.line, je.column, je.text);
        goto out;
    }
    if (!json_is_array(json_object_get(cp, "completed_nodes")) ||
        !json_is_object(json_object_get(cp, "node_outcomes")) ||
        !json_is_object(json_object_get(cp, "node_retries")) ||
        !json_is_object(json_object_get(cp, "context")) ||
        !json_is_string(json_object_get(cp, "state"))) {
        lo_error_set(err, LO_EPARSE, "%s: not a lightsout checkpoint (a field is missing or of "
                     "the wrong type)", path);
        json_decref(cp);
        cp = NULL;
        goto out;
    }
    json_int_t gen = json_integer_value(json_object_get(cp, "generation"));
    FILE *f = fopen(jpath, "r");
    if (f) {
        char *line = NULL;
        size_t cap = 0;
        ssize_t n;
        while ((n = getline(&line, &cap, f)) > 0) {
            if (line[n - 1] != '\n')
                break; /* cut by a crash */
            json_t *rec = json_loads(line, 0, NULL);
            if (!rec)
                break;
            /* lines of an older snapshot are already in it */
            if (json_integer_value(json_object_get(rec, "gen")) == gen)
                apply_record(cp, rec);
            json_decref(rec);
        }
        free(line);
        fclose(f);
    }
out:
    free(path);
    free(jpath);
    return cp;
}

static char *dup_json_str(const json_t *j)
{
    const char *s = json_string_value(j);
    return s ? lo_strdup(s) : NULL;
}

int run_load_checkpoint(struct lo_engine *e, trav *t, char *state, size_t n, lo_error *err)
{
    json_t *cp = lo_checkpoint_read(e->logs_root, err);
    if (!cp)
        return err ? err->code : LO_EIO;
    int rc = 0;
    snprintf(state, n, "%s", json_string_value(json_object_get(cp, "state")));
    json_decref(t->completed);
    json_decref(t->outcomes);
    json_decref(t->retries);
    t->completed = json_deep_copy(json_object_get(cp, "completed_nodes"));
    t->outcomes = json_deep_copy(json_object_get(cp, "node_outcomes"));
    t->retries = json_deep_copy(json_object_get(cp, "node_retries"));
    /* checkpoints from before loop bounds have no visits: count from here */
    json_decref(t->visits);
    json_t *visits = json_object_get(cp, "node_visits");
    t->visits = json_is_object(visits) ? json_deep_copy(visits) : json_object();
    t->steps = json_integer_value(json_object_get(cp, "steps"));
    free(t->current);
    free(t->last);
    t->current = dup_json_str(json_object_get(cp, "next_node"));
    t->last = dup_json_str(json_object_get(cp, "current_node"));
    t->restarts = (int)json_integer_value(json_object_get(cp, "restarts"));
    t->gen = (uint64_t)json_integer_value(json_object_get(cp, "generation"));
    /* the resumed run starts with a fresh snapshot of what was recovered */
    t->force_snapshot = true;
    if (lo_context_restore(t->ctx, json_object_get(cp, "context")) ||
        lo_context_restore_logs(t->ctx, json_object_get(cp, "logs")))
        rc = lo_error_set(err, LO_ENOMEM, "out of memory restoring the context");
    if (!rc && t->current && !lo_graph_node(e->g, t->current))
        rc = lo_error_set(err, LO_EINVAL, "%s/checkpoint.json: next node '%s' is not in the "
                          "pipeline", e->logs_root, t->current);
    json_decref(cp);
    return rc;
}

char *run_stage_dir(struct lo_engine *e, const trav *t, const char *node_id)
{
    char buf[PATH_MAX];
    if (t->restarts)
        snprintf(buf, sizeof buf, "%s/restart-%d/%s", e->logs_root, t->restarts, node_id);
    else
        snprintf(buf, sizeof buf, "%s/%s", e->logs_root, node_id);
    return lo_strdup(buf);
}
