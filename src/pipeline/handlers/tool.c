/* tool (§4.10): run the node's tool_command with /bin/sh -c in the run's
 * workdir, through the bounded process runner (lo_proc_exec).
 *
 *   stdout -> {stage_dir}/stdout.txt, stderr -> {stage_dir}/stderr.txt
 *   bounds: the node's `timeout` (or the stage deadline, whichever is
 *           sooner), `stall_timeout` (no output that long), and the run's
 *           cancel flag; a stopped command's whole process group gets
 *           SIGTERM, then SIGKILL after 2 s; background children never
 *           outlive the command
 *   env:    inherited, plus LIGHTSOUT_STAGE, LIGHTSOUT_LOGS, LIGHTSOUT_STAGE_DIR
 *
 * Exit status 0 is SUCCESS with context_updates tool.output (stdout, at most
 * 64 KiB, invalid UTF-8 replaced, trailing newlines removed as $(...) does)
 * and tool.exit_code. Anything else is FAIL with a reason naming the status
 * and the last line of stderr (or stdout). A command that cannot be started
 * at all is an error (negative return), which the engine turns into FAIL. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "lightsout/proc.h"
#include "pipeline/handlers/builtin.h"

enum {
    OUTPUT_MAX = 64 * 1024,  /* bytes of stdout kept in tool.output */
    LINE_MAX_SHOWN = 300,    /* bytes of the last output line in a reason */
    LINE_SCAN = 8192,        /* how far from the end that line is looked for */
};

static int64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* "900", "0.2", "1.5": seconds for messages */
static void fmt_secs(char *buf, size_t n, int64_t ms)
{
    if (ms % 1000 == 0)
        snprintf(buf, n, "%lld", (long long)(ms / 1000));
    else
        snprintf(buf, n, "%.1f", (double)ms / 1000.0);
}

/* ---- reading the output back ---- */

/* Up to max bytes from offset `from` of path (negative: that many bytes
 * before the end); *size gets the file size. NULL when unreadable. */
static char *read_part(const char *path, int64_t from, size_t max, size_t *got, int64_t *size)
{
    int fd;
    do
        fd = open(path, O_RDONLY | O_CLOEXEC);
    while (fd < 0 && errno == EINTR);
    if (fd < 0)
        return NULL;
    struct stat sb;
    if (fstat(fd, &sb) < 0) {
        close(fd);
        return NULL;
    }
    *size = sb.st_size;
    off_t off = from >= 0 ? (off_t)from : (off_t)(sb.st_size + from);
    if (off < 0)
        off = 0;
    char *buf = lo_malloc(max + 1);
    size_t len = 0;
    while (buf && len < max) {
        ssize_t r = pread(fd, buf + len, max - len, off + (off_t)len);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            break;
        len += (size_t)r;
    }
    close(fd);
    if (buf)
        buf[len] = '\0';
    *got = len;
    return buf;
}

/* stdout for tool.output: the first OUTPUT_MAX bytes, cut at a character
 * boundary, cleaned, trailing newlines removed, with a note when cut. */
static char *tool_output(const char *path)
{
    size_t got = 0;
    int64_t size = 0;
    /* a few bytes past the limit show whether the cut splits a character */
    char *raw = read_part(path, 0, OUTPUT_MAX + 4, &got, &size);
    if (!raw)
        return lo_strdup("");
    bool cut = got > OUTPUT_MAX;
    size_t keep = cut ? OUTPUT_MAX : got;
    for (int back = 0; cut && back < 3 && keep > 0 &&
                       ((unsigned char)raw[keep] & 0xC0) == 0x80; back++)
        keep--;
    while (keep > 0 && (raw[keep - 1] == '\n' || raw[keep - 1] == '\r'))
        keep--;
    lo_buf b;
    lo_buf_init(&b, 0);
    int rc = lo_utf8_append_clean(&b, raw, keep);
    if (!rc && cut)
        rc = lo_buf_printf(&b, "\n[output truncated: %lld bytes in all; see stdout.txt]",
                           (long long)size);
    free(raw);
    if (rc) {
        lo_buf_release(&b);
        return NULL;
    }
    return b.data ? lo_buf_steal(&b) : lo_strdup("");
}

/* The last non-blank line of a file, cleaned and shortened, into out;
 * false when there is none. */
static bool last_line(const char *path, char *out, size_t n)
{
    size_t got = 0;
    int64_t size = 0;
    char *raw = read_part(path, -LINE_SCAN, LINE_SCAN, &got, &size);
    if (!raw)
        return false;
    size_t end = got;
    while (end > 0 && (raw[end - 1] == '\n' || raw[end - 1] == '\r' ||
                       raw[end - 1] == ' ' || raw[end - 1] == '\t'))
        end--;
    size_t start = end;
    while (start > 0 && raw[start - 1] != '\n')
        start--;
    while (start < end && (raw[start] == ' ' || raw[start] == '\t' || raw[start] == '\r'))
        start++;
    bool found = end > start;
    if (found) {
        size_t len = end - start;
        bool shorten = len > LINE_MAX_SHOWN;
        if (shorten) {
            len = LINE_MAX_SHOWN;
            while (len > 0 && ((unsigned char)raw[start + len] & 0xC0) == 0x80)
                len--;
        }
        lo_buf b;
        lo_buf_init(&b, 0);
        lo_utf8_append_clean(&b, raw + start, len);
        snprintf(out, n, "%s%s", b.data ? b.data : "", shorten ? "..." : "");
        lo_buf_release(&b);
        /* control characters (ANSI colours, \r progress bars) out */
        for (char *c = out; *c; c++)
            if ((unsigned char)*c < 0x20)
                *c = ' ';
    }
    free(raw);
    return found;
}

/* ---- the handler ---- */

static void touch_run(void *ud)
{
    lo_run_touch(ud);
}

static const char *stop_name(const lo_proc_result *r)
{
    return r->timed_out ? "timeout" : r->stalled ? "stall" : r->cancelled ? "cancel" : NULL;
}

static int oom(lo_error *err)
{
    return lo_error_set(err, LO_ENOMEM, "out of memory");
}

int lo_handler_tool(lo_stage *st, lo_outcome *out, void *ud, lo_error *err)
{
    const lo_node *n = st->node;
    const char *command = lo_node_str(n, "tool_command");
    if (!*command) {
        out->status = LO_FAIL;
        return lo_outcome_set_failure(out, "no tool_command on node %s", n->id) ? oom(err) : 0;
    }

    int64_t node_timeout = lo_node_duration_ms(n, "timeout", 0);
    int64_t timeout = node_timeout;
    if (st->deadline_ms > 0) {
        int64_t left = st->deadline_ms - mono_ms();
        if (left <= 0) {
            out->status = LO_FAIL;
            return lo_outcome_set_failure(out, "the stage deadline passed before the "
                                               "command started") ? oom(err) : 0;
        }
        if (timeout <= 0 || left < timeout)
            timeout = left;
    }
    int64_t stall = lo_node_duration_ms(n, "stall_timeout", 0);

    char out_path[PATH_MAX], err_path[PATH_MAX];
    if (snprintf(out_path, sizeof out_path, "%s/stdout.txt", st->stage_dir) >= PATH_MAX ||
        snprintf(err_path, sizeof err_path, "%s/stderr.txt", st->stage_dir) >= PATH_MAX)
        return lo_error_set(err, LO_EINVAL, "stage directory path too long");

    /* the command as shown in events and notes: valid UTF-8 for JSON */
    lo_buf shown_buf;
    lo_buf_init(&shown_buf, 0);
    if (lo_utf8_append_clean(&shown_buf, command, strlen(command)))
        return oom(err);
    const char *shown = shown_buf.data;
    char **env = lo_stage_env(st, NULL);
    if (!env) {
        lo_buf_release(&shown_buf);
        return oom(err);
    }
    char *argv[] = {"/bin/sh", "-c", (char *)command, NULL};
    lo_proc_opts o = {
        .argv = argv,
        .cwd = st->workdir,
        .env = env,
        .stdout_path = out_path,
        .stderr_path = err_path,
        .timeout_ms = timeout > 0 ? timeout : 0,
        .cancel = lo_run_cancel_flag(st->run),
        .idle_timeout_ms = stall > 0 ? stall : 0,
        .on_output = touch_run,
        .ud = st->run,
    };
    lo_run_emit(st->run, "tool_started",
                json_pack("{s:s, s:s}", "node", n->id, "command", shown));
    lo_proc_result r;
    int rc = lo_proc_exec(&o, &r, err);
    lo_env_free(env);
    lo_buf_release(&r.tail);

    bool ran = r.exit_code >= 0 || r.term_signal != 0;
    json_t *fin = json_pack("{s:s, s:s}", "node", n->id, "command", shown);
    if (fin && !ran) {
        const char *why = err && err->msg[0] ? err->msg : lo_err_name(rc);
        json_object_set_new(fin, "error", json_string(why));
    } else if (fin) {
        json_object_set_new(fin, "exit_code", json_integer(r.exit_code));
        json_object_set_new(fin, "wall_ms", json_integer(r.wall_ms));
        json_object_set_new(fin, "output_bytes", json_integer(r.output_bytes));
        if (r.term_signal)
            json_object_set_new(fin, "signal", json_integer(r.term_signal));
        if (stop_name(&r))
            json_object_set_new(fin, "stopped", json_string(stop_name(&r)));
    }
    lo_run_emit(st->run, "tool_finished", fin);
    if (rc < 0) {
        lo_buf_release(&shown_buf);
        return rc; /* could not start, or its output could not be kept */
    }

    char secs[32], line[LINE_MAX_SHOWN + 8];
    int e = lo_outcome_update(out, "tool.exit_code", json_integer(r.exit_code));
    if (r.timed_out) {
        /* the deadline is the node's timeout counted from the stage start */
        fmt_secs(secs, sizeof secs, node_timeout > 0 ? node_timeout : o.timeout_ms);
        out->status = LO_FAIL;
        e = e ? e : lo_outcome_set_failure(out, "timed out after %s s; the process group "
                                                "was stopped", secs);
    } else if (r.stalled) {
        fmt_secs(secs, sizeof secs, o.idle_timeout_ms);
        out->status = LO_FAIL;
        e = e ? e : lo_outcome_set_failure(out, "no output for %s s (stall_timeout)", secs);
    } else if (r.cancelled) {
        out->status = LO_FAIL;
        e = e ? e : lo_outcome_set_failure(out, "cancelled");
    } else if (r.exit_code != 0) {
        bool has = last_line(err_path, line, sizeof line) ||
                   last_line(out_path, line, sizeof line);
        out->status = LO_FAIL;
        if (r.term_signal)
            e = e ? e : lo_outcome_set_failure(out, "command killed by signal %d (%s)%s%s",
                                               r.term_signal, strsignal(r.term_signal),
                                               has ? ": " : "", has ? line : "");
        else
            e = e ? e : lo_outcome_set_failure(out, "command exited with status %d%s%s",
                                               r.exit_code, has ? ": " : "",
                                               has ? line : "");
    } else {
        char *text = tool_output(out_path);
        out->status = LO_SUCCESS;
        e = e ? e : text ? lo_outcome_update_str(out, "tool.output", text) : LO_ENOMEM;
        e = e ? e : lo_outcome_set_notes(out, "tool completed: %s", shown);
        free(text);
    }
    lo_buf_release(&shown_buf);
    return e ? oom(err) : 0;
}
