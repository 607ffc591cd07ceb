/* The artifact store (attractor-spec §5.5): named values too large for the
 * context. Small ones stay in memory; large ones go to
 * {base}/artifacts/{id}.json so a run's memory stays bounded. */
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "lightsout/engine.h"
#include "pipeline/engine_internal.h"

typedef struct entry {
    char *id, *name;
    size_t size;
    char stored_at[40];
    json_t *data;   /* in memory, or NULL when file-backed */
    char *path;     /* file-backed */
} entry;

struct lo_artifacts {
    pthread_mutex_t lock;
    char *base;
    size_t threshold;
    entry *v;
    size_t n, cap;
};

lo_artifacts *lo_artifacts_new(const char *base_dir, size_t threshold)
{
    lo_artifacts *a = lo_calloc(1, sizeof *a);
    if (!a)
        return NULL;
    pthread_mutex_init(&a->lock, NULL);
    a->threshold = threshold ? threshold : 100 * 1024;
    if (base_dir && !(a->base = lo_strdup(base_dir))) {
        lo_artifacts_free(a);
        return NULL;
    }
    return a;
}

static void drop(entry *e)
{
    if (e->path)
        unlink(e->path);
    free(e->id);
    free(e->name);
    free(e->path);
    json_decref(e->data);
    memset(e, 0, sizeof *e);
}

void lo_artifacts_clear(lo_artifacts *a)
{
    pthread_mutex_lock(&a->lock);
    for (size_t i = 0; i < a->n; i++)
        drop(&a->v[i]);
    a->n = 0;
    pthread_mutex_unlock(&a->lock);
}

void lo_artifacts_free(lo_artifacts *a)
{
    if (!a)
        return;
    /* file-backed artifacts belong to the run directory: keep the files */
    for (size_t i = 0; i < a->n; i++) {
        free(a->v[i].id);
        free(a->v[i].name);
        free(a->v[i].path);
        json_decref(a->v[i].data);
    }
    free(a->v);
    free(a->base);
    pthread_mutex_destroy(&a->lock);
    free(a);
}

static entry *find(lo_artifacts *a, const char *id)
{
    for (size_t i = 0; i < a->n; i++)
        if (strcmp(a->v[i].id, id) == 0)
            return &a->v[i];
    return NULL;
}

/* Ids become file names: keep them to a safe alphabet. */
static bool safe_id(const char *id)
{
    if (!*id || strlen(id) > 200 || id[0] == '.')
        return false;
    for (const char *p = id; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
              *p == '_' || *p == '-' || *p == '.'))
            return false;
    return true;
}

int lo_artifacts_store(lo_artifacts *a, const char *id, const char *name, const json_t *data,
                       lo_error *err)
{
    if (!safe_id(id))
        return lo_error_set(err, LO_EINVAL, "artifact id '%s' must be letters, digits, '_', '-' "
                            "or '.' (and not start with '.')", id);
    char *text = json_dumps(data, JSON_ENCODE_ANY | JSON_COMPACT);
    if (!text)
        return lo_error_set(err, LO_ENOMEM, "out of memory");
    size_t size = strlen(text);
    entry ne = {0};
    ne.id = lo_strdup(id);
    ne.name = lo_strdup(name ? name : id);
    ne.size = size;
    lo_rfc3339_now(ne.stored_at, sizeof ne.stored_at);
    int rc = ne.id && ne.name ? 0 : lo_error_set(err, LO_ENOMEM, "out of memory");
    if (!rc && a->base && size > a->threshold) {
        char dir[PATH_MAX], path[PATH_MAX + 256];
        snprintf(dir, sizeof dir, "%s/artifacts", a->base);
        if (snprintf(path, sizeof path, "%s/%s.json", dir, id) >= (int)sizeof path)
            rc = lo_error_set(err, LO_EINVAL, "artifact path too long");
        if (!rc)
            rc = lo_mkdir_p(dir, err);
        if (!rc)
            rc = lo_file_write_atomic(path, text, size, err);
        if (!rc && !(ne.path = lo_strdup(path)))
            rc = lo_error_set(err, LO_ENOMEM, "out of memory");
    } else if (!rc && !(ne.data = json_deep_copy(data))) {
        rc = lo_error_set(err, LO_ENOMEM, "out of memory");
    }
    free(text);
    if (rc) {
        free(ne.id);
        free(ne.name);
        free(ne.path);
        json_decref(ne.data);
        return rc;
    }
    pthread_mutex_lock(&a->lock);
    entry *old = find(a, id);
    if (old) {
        /* a replaced file-backed value must not delete the new file */
        if (old->path && ne.path && strcmp(old->path, ne.path) == 0) {
            free(old->path);
            old->path = NULL;
        }
        drop(old);
        *old = ne;
    } else if (a->n == a->cap) {
        size_t cap = a->cap ? a->cap * 2 : 8;
        entry *v = lo_realloc(a->v, cap * sizeof *v);
        if (!v) {
            pthread_mutex_unlock(&a->lock);
            drop(&ne);
            return lo_error_set(err, LO_ENOMEM, "out of memory");
        }
        a->v = v;
        a->cap = cap;
        a->v[a->n++] = ne;
    } else {
        a->v[a->n++] = ne;
    }
    pthread_mutex_unlock(&a->lock);
    return 0;
}

json_t *lo_artifacts_retrieve(lo_artifacts *a, const char *id, lo_error *err)
{
    pthread_mutex_lock(&a->lock);
    entry *e = find(a, id);
    json_t *r = NULL;
    if (!e) {
        lo_error_set(err, LO_ENOENT, "artifact '%s' not found", id);
    } else if (e->data) {
        r = json_deep_copy(e->data);
    } else {
        json_error_t je;
        r = json_load_file(e->path, JSON_DECODE_ANY, &je);
        if (!r)
            lo_error_set(err, LO_EIO, "artifact '%s': %s: %s", id, e->path, je.text);
    }
    pthread_mutex_unlock(&a->lock);
    return r;
}

bool lo_artifacts_has(lo_artifacts *a, const char *id)
{
    pthread_mutex_lock(&a->lock);
    bool r = find(a, id) != NULL;
    pthread_mutex_unlock(&a->lock);
    return r;
}

int lo_artifacts_remove(lo_artifacts *a, const char *id)
{
    pthread_mutex_lock(&a->lock);
    entry *e = find(a, id);
    int rc = LO_ENOENT;
    if (e) {
        drop(e);
        *e = a->v[--a->n];
        rc = 0;
    }
    pthread_mutex_unlock(&a->lock);
    return rc;
}

json_t *lo_artifacts_list(lo_artifacts *a)
{
    json_t *arr = json_array();
    pthread_mutex_lock(&a->lock);
    for (size_t i = 0; arr && i < a->n; i++)
        json_array_append_new(arr, json_pack("{s:s, s:s, s:I, s:s, s:b}", "id", a->v[i].id,
                                             "name", a->v[i].name, "size_bytes",
                                             (json_int_t)a->v[i].size, "stored_at",
                                             a->v[i].stored_at, "is_file_backed",
                                             a->v[i].path != NULL));
    pthread_mutex_unlock(&a->lock);
    return arr;
}
