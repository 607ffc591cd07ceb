/*
 * The run context (attractor-spec §5.1): a JSON object of values and an
 * append-only log, behind a read-write lock so parallel branches and the
 * event/server threads may read while a stage writes.
 *
 * Values never leave the lock shared: getters return deep copies and setters
 * take ownership, so no caller can mutate what another thread is reading.
 */
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "lightsout/engine.h"
#include "pipeline/json_lossy.h"

struct lo_context {
    pthread_rwlock_t lock;
    json_t *values; /* object */
    json_t *logs;   /* array of strings */
};

/* The lock is mutable state even in a const context. The object itself was
 * allocated non-const, so casting the qualifier away is well defined. */
static void rdlock(const lo_context *c)
{
    pthread_rwlock_rdlock((pthread_rwlock_t *)&c->lock);
}

static void wrlock(lo_context *c) { pthread_rwlock_wrlock(&c->lock); }

static void unlock(const lo_context *c)
{
    pthread_rwlock_unlock((pthread_rwlock_t *)&c->lock);
}

/* ---- lifecycle ---- */

static lo_context *context_with(json_t *values, json_t *logs)
{
    lo_context *c = NULL;
    if (!values || !logs || !(c = lo_calloc(1, sizeof *c)) ||
        pthread_rwlock_init(&c->lock, NULL) != 0) {
        free(c);
        json_decref(values);
        json_decref(logs);
        return NULL;
    }
    c->values = values;
    c->logs = logs;
    return c;
}

lo_context *lo_context_new(void) { return context_with(json_object(), json_array()); }

void lo_context_free(lo_context *c)
{
    if (!c)
        return;
    pthread_rwlock_destroy(&c->lock);
    json_decref(c->values);
    json_decref(c->logs);
    free(c);
}

lo_context *lo_context_clone(const lo_context *c)
{
    rdlock(c);
    json_t *values = json_deep_copy(c->values);
    json_t *logs = json_deep_copy(c->logs);
    unlock(c);
    return context_with(values, logs);
}

/* ---- values ---- */

int lo_context_set(lo_context *c, const char *key, json_t *value)
{
    if (!key || !value) {
        json_decref(value);
        return LO_EINVAL;
    }
    wrlock(c);
    int rc = json_object_set_new(c->values, key, value); /* steals, even on failure */
    unlock(c);
    if (rc != 0)
        return lo_utf8_valid(key, strlen(key)) ? LO_ENOMEM : LO_EINVAL;
    return 0;
}

int lo_context_set_str(lo_context *c, const char *key, const char *value)
{
    if (!key || !value)
        return LO_EINVAL;
    json_t *v = lo_json_lossy_string(value);
    if (!v)
        return LO_ENOMEM;
    return lo_context_set(c, key, v);
}

int lo_context_set_int(lo_context *c, const char *key, int64_t value)
{
    if (!key)
        return LO_EINVAL;
    json_t *v = json_integer((json_int_t)value);
    if (!v)
        return LO_ENOMEM;
    return lo_context_set(c, key, v);
}

json_t *lo_context_get(const lo_context *c, const char *key)
{
    if (!key)
        return NULL;
    rdlock(c);
    json_t *v = json_object_get(c->values, key);
    json_t *copy = v ? json_deep_copy(v) : NULL;
    unlock(c);
    return copy;
}

/* The string form of v, as documented for lo_context_get_str. */
static char *value_string(const json_t *v)
{
    char num[32];
    switch (json_typeof(v)) {
    case JSON_STRING:
        return lo_strndup(json_string_value(v), json_string_length(v));
    case JSON_INTEGER:
        snprintf(num, sizeof num, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
        return lo_strdup(num);
    case JSON_TRUE:
        return lo_strdup("true");
    case JSON_FALSE:
        return lo_strdup("false");
    case JSON_NULL:
        return lo_strdup("");
    case JSON_REAL:
    case JSON_ARRAY:
    case JSON_OBJECT:
    default: {
        /* jansson's own printing, so reals read back exactly as stored */
        char *s = json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT);
        if (!s)
            return NULL;
        char *copy = lo_strdup(s); /* callers free() what lo_ allocates */
        free(s);
        return copy;
    }
    }
}

char *lo_context_get_str(const lo_context *c, const char *key)
{
    if (!key)
        return NULL;
    rdlock(c);
    json_t *v = json_object_get(c->values, key);
    char *s = v ? value_string(v) : NULL;
    unlock(c);
    return s;
}

bool lo_context_has(const lo_context *c, const char *key)
{
    if (!key)
        return false;
    rdlock(c);
    bool has = json_object_get(c->values, key) != NULL;
    unlock(c);
    return has;
}

int lo_context_apply(lo_context *c, const json_t *updates)
{
    if (!updates)
        return 0;
    if (!json_is_object(updates))
        return LO_EINVAL;
    /* copy outside the lock: the caller keeps its object, and writers hold
     * the lock only for the merge */
    json_t *copy = json_deep_copy(updates);
    if (!copy)
        return LO_ENOMEM;
    wrlock(c);
    int rc = json_object_update(c->values, copy);
    unlock(c);
    json_decref(copy);
    return rc ? LO_ENOMEM : 0;
}

json_t *lo_context_snapshot(const lo_context *c)
{
    rdlock(c);
    json_t *copy = json_deep_copy(c->values);
    unlock(c);
    return copy;
}

int lo_context_restore(lo_context *c, const json_t *obj)
{
    if (obj && !json_is_object(obj))
        return LO_EINVAL;
    json_t *copy = obj ? json_deep_copy(obj) : json_object();
    if (!copy)
        return LO_ENOMEM;
    wrlock(c);
    json_t *old = c->values;
    c->values = copy;
    unlock(c);
    json_decref(old);
    return 0;
}

/* ---- logs ---- */

int lo_context_log(lo_context *c, const char *entry)
{
    if (!entry)
        return LO_EINVAL;
    json_t *s = lo_json_lossy_string(entry);
    if (!s)
        return LO_ENOMEM;
    wrlock(c);
    int rc = json_array_append_new(c->logs, s);
    unlock(c);
    return rc ? LO_ENOMEM : 0;
}

json_t *lo_context_logs(const lo_context *c)
{
    rdlock(c);
    json_t *copy = json_deep_copy(c->logs);
    unlock(c);
    return copy;
}

int lo_context_restore_logs(lo_context *c, const json_t *logs)
{
    if (logs && !json_is_array(logs))
        return LO_EINVAL;
    size_t i;
    json_t *v;
    json_array_foreach(logs, i, v) {
        if (!json_is_string(v))
            return LO_EINVAL;
    }
    json_t *copy = logs ? json_deep_copy(logs) : json_array();
    if (!copy)
        return LO_ENOMEM;
    wrlock(c);
    json_t *old = c->logs;
    c->logs = copy;
    unlock(c);
    json_decref(old);
    return 0;
}
