/* lo_agent_apply_patch: a whole v4a patch, all or nothing.
 *
 * The patch is parsed, then every operation is carried out on an overlay
 * of the files it touches -- original and new contents in memory -- so a
 * later operation sees what an earlier one did and nothing reaches the
 * disk until every hunk of every file has been located. Only then are the
 * files written (through the environment, so confinement applies), and if
 * a write fails part way, the files already written are put back as they
 * were. */
#include <stdio.h>
#include <string.h>

#include "agent/patch.h"
#include "agent/tools/tools_internal.h"

typedef struct vfile {
    char abs[PATH_MAX];
    bool orig_exists;
    char *orig;
    size_t orig_len;
    bool exists;           /* in the overlay */
    char *data;            /* owned, unless it is orig */
    size_t len;
    bool touched;
    bool written;          /* committed to the environment */
} vfile;

typedef struct overlay {
    lo_agent_env *env;
    vfile *v;
    size_t n, cap;
} overlay;

static void overlay_release(overlay *o)
{
    for (size_t i = 0; i < o->n; i++) {
        if (o->v[i].data != o->v[i].orig)
            free(o->v[i].data);
        free(o->v[i].orig);
    }
    free(o->v);
}

/* The overlay's entry for path, loaded on first use. */
static int get(overlay *o, const char *path, vfile **out, lo_error *err)
{
    char abs[PATH_MAX];
    lo_error re;
    if (o->env->ops->resolve(o->env, path, false, abs, &re))
        return lo_error_set(err, re.code, "%s", re.msg);
    for (size_t i = 0; i < o->n; i++)
        if (strcmp(o->v[i].abs, abs) == 0) {
            *out = &o->v[i];
            return 0;
        }
    if (o->n == o->cap) {
        size_t cap = o->cap ? o->cap * 2 : 8;
        vfile *v = lo_realloc(o->v, cap * sizeof *v);
        if (!v)
            return lo_error_set(err, LO_ENOMEM, "out of memory");
        o->v = v;
        o->cap = cap;
    }
    vfile *f = &o->v[o->n];
    memset(f, 0, sizeof *f);
    memcpy(f->abs, abs, strlen(abs) + 1);
    f->orig_exists = o->env->ops->file_exists(o->env, abs);
    if (f->orig_exists) {
        lo_error fe;
        int rc = o->env->ops->read_file(o->env, abs, &f->orig, &f->orig_len, &fe);
        if (rc) /* a directory, unreadable, too big */
            return lo_error_set(err, rc, "%s", fe.msg);
    }
    f->exists = f->orig_exists;
    f->data = f->orig;
    f->len = f->orig_len;
    o->n++;
    *out = f;
    return 0;
}

static void set_data(vfile *f, char *data, size_t len)
{
    if (f->data != f->orig)
        free(f->data);
    f->data = data;
    f->len = len;
    f->exists = data != NULL;
    f->touched = true;
}

static int do_add(overlay *o, const lo_patch_op *op, lo_error *err)
{
    vfile *f;
    int rc = get(o, op->path, &f, err);
    if (rc)
        return rc;
    if (f->exists)
        return lo_error_set(err, LO_EINVAL,
                            "Add File %.300s: the file already exists; use Update File to "
                            "change it",
                            op->path);
    char *c = lo_strndup(op->content.data ? op->content.data : "", op->content.len);
    if (!c)
        return lo_error_set(err, LO_ENOMEM, "out of memory");
    set_data(f, c, op->content.len);
    return 0;
}

static int do_delete(overlay *o, const lo_patch_op *op, lo_error *err)
{
    vfile *f;
    int rc = get(o, op->path, &f, err);
    if (rc)
        return rc;
    if (!f->exists)
        return lo_error_set(err, LO_ENOENT, "Delete File %.300s: no such file", op->path);
    set_data(f, NULL, 0);
    return 0;
}

static int do_update(overlay *o, const lo_patch_op *op, lo_buf *notes, lo_error *err)
{
    vfile *f;
    int rc = get(o, op->path, &f, err);
    if (rc)
        return rc;
    if (!f->exists)
        return lo_error_set(err, LO_ENOENT,
                            "Update File %.300s: no such file (to create it, use Add File)",
                            op->path);
    const char *kind = lo_agent_binary_kind_(op->path, f->data ? f->data : "", f->len);
    if (kind)
        return lo_error_set(err, LO_EINVAL, "Update File %.300s: it is %s, not text", op->path,
                            kind);
    lo_buf out;
    lo_buf_init(&out, 0);
    int fuzzy = 0;
    if ((rc = lo_patch_apply_text_(f->data ? f->data : "", f->len, op, op->path, &out, &fuzzy,
                                   err))) {
        lo_buf_release(&out);
        return rc;
    }
    size_t len = out.len;
    char *data = out.data ? lo_buf_steal(&out) : lo_strdup("");
    if (!data)
        return lo_error_set(err, LO_ENOMEM, "out of memory");
    if (fuzzy && lo_buf_printf(notes,
                               "note: %s: %d hunk%s matched only after ignoring whitespace or "
                               "punctuation differences\n",
                               op->path, fuzzy, fuzzy == 1 ? "" : "s")) {
        free(data);
        return lo_error_set(err, LO_ENOMEM, "out of memory");
    }
    if (!op->move_to) {
        set_data(f, data, len);
        return 0;
    }
    vfile *to;
    size_t at = (size_t)(f - o->v);
    if ((rc = get(o, op->move_to, &to, err))) {
        free(data);
        return rc;
    }
    f = &o->v[at]; /* get may have moved the array */
    if (to == f) {
        set_data(f, data, len);
        return 0;
    }
    if (to->exists) {
        free(data);
        return lo_error_set(err, LO_EINVAL,
                            "Update File %.300s: cannot move to %.300s: that file already exists",
                            op->path, op->move_to);
    }
    set_data(to, data, len);
    set_data(f, NULL, 0);
    return 0;
}

/* Put the files already written back as they were. */
static void roll_back(overlay *o)
{
    lo_error ignored;
    for (size_t i = 0; i < o->n; i++) {
        vfile *f = &o->v[i];
        if (!f->written)
            continue;
        if (f->orig_exists)
            o->env->ops->write_file(o->env, f->abs, f->orig ? f->orig : "", f->orig_len,
                                    &ignored);
        else
            o->env->ops->delete_file(o->env, f->abs, &ignored);
    }
}

static int commit(overlay *o, lo_error *err)
{
    lo_error we;
    int rc = 0;
    /* writes first: a failure then has deleted nothing */
    for (size_t i = 0; i < o->n && !rc; i++) {
        vfile *f = &o->v[i];
        if (!f->touched || !f->exists)
            continue;
        if (f->orig_exists && f->len == f->orig_len && f->data == f->orig)
            continue;
        if ((rc = o->env->ops->write_file(o->env, f->abs, f->data ? f->data : "", f->len, &we)))
            break;
        f->written = true;
    }
    for (size_t i = 0; i < o->n && !rc; i++) {
        vfile *f = &o->v[i];
        if (!f->touched || f->exists || !f->orig_exists)
            continue;
        if ((rc = o->env->ops->delete_file(o->env, f->abs, &we)))
            break;
        f->written = true;
    }
    if (rc) {
        roll_back(o);
        return lo_error_set(err, rc, "apply_patch: %s; no file was changed", we.msg);
    }
    return 0;
}

static int summary(const lo_patch *p, const lo_buf *notes, lo_buf *out)
{
    int rc = 0;
    for (size_t i = 0; i < p->n && !rc; i++) {
        const lo_patch_op *op = &p->ops[i];
        if (op->kind == LO_PATCH_ADD)
            rc = lo_buf_printf(out, "A %s\n", op->path);
        else if (op->kind == LO_PATCH_DELETE)
            rc = lo_buf_printf(out, "D %s\n", op->path);
        else if (op->move_to)
            rc = lo_buf_printf(out, "R %s -> %s\n", op->path, op->move_to);
        else
            rc = lo_buf_printf(out, "M %s\n", op->path);
    }
    if (!rc && notes->len)
        rc = lo_buf_append(out, notes->data, notes->len);
    return rc;
}

int lo_agent_apply_patch(lo_agent_env *env, const char *patch, lo_buf *out, lo_error *err)
{
    if (!env || !env->ops || !env->ops->resolve || !env->ops->read_file ||
        !env->ops->write_file || !env->ops->delete_file || !env->ops->file_exists)
        return lo_error_set(err, LO_EINVAL, "apply_patch: the environment cannot edit files");
    lo_patch p;
    lo_error pe;
    int rc = lo_patch_parse_(patch, patch ? strlen(patch) : 0, &p, &pe);
    if (rc)
        return lo_error_set(err, rc, "apply_patch: %s; nothing was changed", pe.msg);
    overlay o = {.env = env};
    lo_buf notes;
    lo_buf_init(&notes, 0);
    lo_error oe;
    for (size_t i = 0; i < p.n && !rc; i++) {
        const lo_patch_op *op = &p.ops[i];
        rc = op->kind == LO_PATCH_ADD      ? do_add(&o, op, &oe)
             : op->kind == LO_PATCH_DELETE ? do_delete(&o, op, &oe)
                                           : do_update(&o, op, &notes, &oe);
    }
    if (rc)
        rc = lo_error_set(err, rc, "apply_patch: %s; nothing was changed", oe.msg);
    else
        rc = commit(&o, err);
    if (!rc && summary(&p, &notes, out))
        rc = lo_error_set(err, LO_ENOMEM, "out of memory");
    lo_buf_release(&notes);
    overlay_release(&o);
    lo_patch_release_(&p);
    return rc;
}
