/*
 * Outcomes (attractor-spec §5.2) and their status.json form (Appendix C).
 *
 * Text fields may come from command output or a model, so invalid UTF-8 is
 * replaced with U+FFFD rather than rejected: JSON cannot carry it, and a
 * handler's notes should never be the reason a stage fails.
 */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "lightsout/engine.h"
#include "pipeline/json_lossy.h"

/* status.json is small; anything bigger is not one we wrote. */
#define STATUS_MAX_BYTES (16u * 1024u * 1024u)

static const char *const status_names[] = {
    [LO_SUCCESS] = "success",
    [LO_PARTIAL_SUCCESS] = "partial_success",
    [LO_RETRY] = "retry",
    [LO_FAIL] = "fail",
    [LO_SKIPPED] = "skipped",
};
#define N_STATUS (sizeof status_names / sizeof status_names[0])

const char *lo_status_name(lo_status s)
{
    if ((unsigned)s < N_STATUS)
        return status_names[s];
    return "unknown";
}

int lo_status_parse(const char *s, lo_status *out)
{
    if (!s)
        return LO_EINVAL;
    for (size_t i = 0; i < N_STATUS; i++) {
        if (strcasecmp(s, status_names[i]) == 0) {
            if (out)
                *out = (lo_status)i;
            return 0;
        }
    }
    return LO_EINVAL;
}

/* ---- UTF-8 ---- */

/* A JSON string of s with invalid bytes replaced by U+FFFD; NULL only when
 * memory ran out. Shared with context.c (pipeline/json_lossy.h). */
json_t *lo_json_lossy_string(const char *s)
{
    json_t *j = json_string(s);
    if (j || lo_utf8_valid(s, strlen(s)))
        return j; /* valid text that failed: out of memory */
    char *fixed = lo_utf8_clean(s, strlen(s));
    j = fixed ? json_string(fixed) : NULL;
    free(fixed);
    return j;
}

/* ---- building ---- */

void lo_outcome_init(lo_outcome *o, lo_status s)
{
    memset(o, 0, sizeof *o);
    o->status = s;
}

void lo_outcome_release(lo_outcome *o)
{
    if (!o)
        return;
    free(o->preferred_label);
    free(o->notes);
    free(o->failure_reason);
    json_decref(o->suggested_next_ids);
    json_decref(o->context_updates);
    lo_status s = o->status;
    lo_outcome_init(o, s);
}

__attribute__((format(printf, 2, 0)))
static int set_textv(char **slot, const char *fmt, va_list ap)
{
    lo_buf b;
    lo_buf_init(&b, 0);
    int rc = lo_buf_vprintf(&b, fmt, ap);
    if (rc) {
        lo_buf_release(&b);
        return rc;
    }
    char *s = lo_buf_steal(&b);
    if (!s) {
        /* an empty buffer may have nothing to steal */
        s = lo_strdup("");
        if (!s)
            return LO_ENOMEM;
    }
    free(*slot);
    *slot = s;
    return 0;
}

int lo_outcome_set_notes(lo_outcome *o, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int rc = set_textv(&o->notes, fmt, ap);
    va_end(ap);
    return rc;
}

int lo_outcome_set_failure(lo_outcome *o, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int rc = set_textv(&o->failure_reason, fmt, ap);
    va_end(ap);
    return rc;
}

int lo_outcome_set_label(lo_outcome *o, const char *label)
{
    char *copy = NULL;
    if (label && !(copy = lo_strdup(label)))
        return LO_ENOMEM;
    free(o->preferred_label);
    o->preferred_label = copy;
    return 0;
}

int lo_outcome_add_next_id(lo_outcome *o, const char *id)
{
    if (!id)
        return LO_EINVAL;
    if (!o->suggested_next_ids && !(o->suggested_next_ids = json_array()))
        return LO_ENOMEM;
    json_t *s = lo_json_lossy_string(id);
    if (!s || json_array_append_new(o->suggested_next_ids, s) != 0)
        return LO_ENOMEM;
    return 0;
}

int lo_outcome_update(lo_outcome *o, const char *key, json_t *value)
{
    if (!key || !value) {
        json_decref(value);
        return LO_EINVAL;
    }
    if (!o->context_updates && !(o->context_updates = json_object())) {
        json_decref(value);
        return LO_ENOMEM;
    }
    /* set_new steals value even when it fails */
    if (json_object_set_new(o->context_updates, key, value) != 0)
        return lo_utf8_valid(key, strlen(key)) ? LO_ENOMEM : LO_EINVAL;
    return 0;
}

int lo_outcome_update_str(lo_outcome *o, const char *key, const char *value)
{
    if (!key || !value)
        return LO_EINVAL;
    json_t *v = lo_json_lossy_string(value);
    if (!v)
        return LO_ENOMEM;
    return lo_outcome_update(o, key, v);
}

/* ---- JSON ---- */

static int put_str(json_t *obj, const char *key, const char *value)
{
    json_t *v = lo_json_lossy_string(value ? value : "");
    if (!v)
        return -1;
    return json_object_set_new(obj, key, v);
}

json_t *lo_outcome_to_json(const lo_outcome *o)
{
    json_t *j = json_object();
    if (!j)
        return NULL;
    /* All five Appendix C keys are always present, so readers of status.json
     * need no special cases; failure_reason only when there is one. */
    json_t *ids = o->suggested_next_ids ? json_deep_copy(o->suggested_next_ids)
                                        : json_array();
    json_t *upd = o->context_updates ? json_deep_copy(o->context_updates)
                                     : json_object();
    if (json_object_set_new(j, "outcome", json_string(lo_status_name(o->status))) ||
        put_str(j, "preferred_label", o->preferred_label) ||
        json_object_set_new(j, "suggested_next_ids", ids) ||
        json_object_set_new(j, "context_updates", upd) ||
        put_str(j, "notes", o->notes) ||
        (o->failure_reason && put_str(j, "failure_reason", o->failure_reason))) {
        json_decref(j);
        return NULL;
    }
    return j;
}

/* An optional string field: absent, null and "" all mean "none". */
static int take_str(const json_t *j, const char *key, char **out, lo_error *err)
{
    json_t *v = json_object_get(j, key);
    if (!v || json_is_null(v))
        return 0;
    if (!json_is_string(v))
        return lo_error_set(err, LO_EINVAL, "status field \"%s\" must be a string", key);
    if (json_string_length(v) == 0)
        return 0;
    if (!(*out = lo_strdup(json_string_value(v))))
        return lo_error_set(err, LO_ENOMEM, "out of memory");
    return 0;
}

int lo_outcome_from_json(const json_t *j, lo_outcome *o, lo_error *err)
{
    lo_outcome tmp;
    lo_outcome_init(&tmp, LO_FAIL);
    /* On error the caller gets an empty FAIL outcome it may release, so an
     * unread status never passes for success. */
    lo_outcome_init(o, LO_FAIL);
    if (!json_is_object(j))
        return lo_error_set(err, LO_EINVAL, "status must be a JSON object");

    json_t *st = json_object_get(j, "outcome");
    if (!st)
        return lo_error_set(err, LO_EINVAL, "status has no \"outcome\" field");
    if (!json_is_string(st))
        return lo_error_set(err, LO_EINVAL, "status field \"outcome\" must be a string");
    if (lo_status_parse(json_string_value(st), &tmp.status) != 0)
        return lo_error_set(err, LO_EINVAL,
                            "status field \"outcome\" is \"%s\"; expected success, "
                            "partial_success, retry, fail or skipped",
                            json_string_value(st));

    int rc;
    if ((rc = take_str(j, "preferred_label", &tmp.preferred_label, err)) ||
        (rc = take_str(j, "notes", &tmp.notes, err)) ||
        (rc = take_str(j, "failure_reason", &tmp.failure_reason, err)))
        goto fail;

    json_t *ids = json_object_get(j, "suggested_next_ids");
    if (ids && !json_is_null(ids)) {
        if (!json_is_array(ids)) {
            rc = lo_error_set(err, LO_EINVAL,
                              "status field \"suggested_next_ids\" must be an array of strings");
            goto fail;
        }
        size_t i;
        json_t *v;
        json_array_foreach(ids, i, v) {
            if (!json_is_string(v)) {
                rc = lo_error_set(err, LO_EINVAL,
                                  "status field \"suggested_next_ids\" item %zu must be a string",
                                  i);
                goto fail;
            }
        }
        if (json_array_size(ids) && !(tmp.suggested_next_ids = json_deep_copy(ids))) {
            rc = lo_error_set(err, LO_ENOMEM, "out of memory");
            goto fail;
        }
    }

    json_t *upd = json_object_get(j, "context_updates");
    if (upd && !json_is_null(upd)) {
        if (!json_is_object(upd)) {
            rc = lo_error_set(err, LO_EINVAL,
                              "status field \"context_updates\" must be an object");
            goto fail;
        }
        if (json_object_size(upd) && !(tmp.context_updates = json_deep_copy(upd))) {
            rc = lo_error_set(err, LO_ENOMEM, "out of memory");
            goto fail;
        }
    }
    *o = tmp;
    return 0;
fail:
    lo_outcome_release(&tmp);
    return rc;
}

int lo_outcome_write(const lo_outcome *o, const char *stage_dir, lo_error *err)
{
    lo_buf path;
    lo_buf_init(&path, 0);
    if (lo_buf_printf(&path, "%s/status.json", stage_dir)) {
        lo_buf_release(&path);
        return lo_error_set(err, LO_ENOMEM, "out of memory");
    }
    json_t *j = lo_outcome_to_json(o);
    char *text = j ? json_dumps(j, JSON_INDENT(2)) : NULL;
    json_decref(j);
    int rc;
    if (!text) {
        rc = lo_error_set(err, LO_ENOMEM, "out of memory writing %s", path.data);
    } else {
        lo_buf out;
        lo_buf_init(&out, 0);
        if (lo_buf_puts(&out, text) || lo_buf_putc(&out, '\n'))
            rc = lo_error_set(err, LO_ENOMEM, "out of memory writing %s", path.data);
        else
            rc = lo_file_write_atomic(path.data, out.data, out.len, err);
        lo_buf_release(&out);
    }
    free(text);
    lo_buf_release(&path);
    return rc;
}

int lo_outcome_read(const char *path, lo_outcome *o, lo_error *err)
{
    lo_outcome_init(o, LO_FAIL);
    char *data;
    size_t len;
    int rc = lo_file_read(path, STATUS_MAX_BYTES, &data, &len, err);
    if (rc)
        return rc;
    json_error_t jerr;
    json_t *j = json_loadb(data, len, 0, &jerr);
    free(data);
    if (!j)
        return lo_error_at(err, LO_EPARSE, path, (uint32_t)(jerr.line > 0 ? jerr.line : 0),
                           (uint32_t)(jerr.column > 0 ? jerr.column : 0),
                           "%s:%d:%d: invalid JSON: %s", path, jerr.line, jerr.column,
                           jerr.text);
    rc = lo_outcome_from_json(j, o, err);
    json_decref(j);
    if (rc && err) {
        /* name the file: the message alone does not say which stage */
        char msg[sizeof err->msg];
        snprintf(msg, sizeof msg, "%s", err->msg);
        lo_error_at(err, rc, path, 0, 0, "%s: %s", path, msg);
    }
    return rc;
}
