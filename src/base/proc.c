/* Running a program to completion with its input and output in memory.
 * poll() drives all three pipes so neither side can block the other. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "lightsout/proc.h"

extern char **environ;

bool lo_which(const char *prog, char *out, size_t out_len)
{
    if (strchr(prog, '/')) {
        if (access(prog, X_OK) != 0)
            return false;
        snprintf(out, out_len, "%s", prog);
        return true;
    }
    const char *path = getenv("PATH");
    if (!path || !*path)
        path = "/usr/local/bin:/usr/bin:/bin";
    while (*path) {
        const char *end = strchr(path, ':');
        size_t n = end ? (size_t)(end - path) : strlen(path);
        char cand[4096];
        if (snprintf(cand, sizeof cand, "%.*s/%s", (int)n, n ? path : ".", prog) <
            (int)sizeof cand) {
            struct stat st;
            if (stat(cand, &st) == 0 && S_ISREG(st.st_mode) && access(cand, X_OK) == 0) {
                snprintf(out, out_len, "%s", cand);
                return true;
            }
        }
        path += n + (end ? 1 : 0);
    }
    return false;
}

/* The first word of a shell command, when it is a plain program name we can
 * look for on PATH (not a builtin, assignment, or shell syntax). */
bool lo_shell_program(const char *cmd, char *out, size_t n)
{
    while (*cmd == ' ' || *cmd == '\t')
        cmd++;
    size_t i = 0;
    while (cmd[i] && cmd[i] != ' ' && cmd[i] != '\t' && cmd[i] != '\n' && cmd[i] != ';' &&
           cmd[i] != '|' && cmd[i] != '&' && i + 1 < n) {
        if (strchr("=$`\"'(){}<>*?[]~\\", cmd[i]))
            return false;
        out[i] = cmd[i];
        i++;
    }
    out[i] = '\0';
    static const char *const builtins[] = {"cd", "echo", "exit", "export", "test", "true",
                                           "false", "printf", "read", "set", "exec", "eval",
                                           ".", ":", "if", "for", "while", "case", "[", NULL};
    for (const char *const *b = builtins; *b; b++)
        if (!strcmp(out, *b))
            return false;
    return i > 0;
}

static int drain(int fd, lo_buf *b)
{
    char chunk[65536];
    ssize_t n = read(fd, chunk, sizeof chunk);
    if (n > 0 && b && lo_buf_append(b, chunk, (size_t)n))
        return -1;
    if (n < 0 && (errno == EINTR || errno == EAGAIN))
        return 1;
    return n > 0 ? 1 : 0;
}

int lo_proc_run(char *const argv[], const char *in, size_t in_len, lo_buf *out,
                lo_buf *err_out, int *status, lo_error *err)
{
    return lo_proc_run_env(argv, NULL, in, in_len, out, err_out, status, err);
}

int lo_proc_run_env(char *const argv[], char *const env[], const char *in, size_t in_len,
                    lo_buf *out, lo_buf *err_out, int *status, lo_error *err)
{
    char path[4096];
    if (!lo_which(argv[0], path, sizeof path))
        return lo_error_set(err, LO_EEXEC, "%s: command not found", argv[0]);
    int pin[2] = {-1, -1}, pout[2] = {-1, -1}, perr[2] = {-1, -1};
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    int rc = 0;
    if (pipe(pin) || (out && pipe(pout)) || (err_out && pipe(perr))) {
        rc = lo_error_set(err, LO_EEXEC, "pipe: %s", strerror(errno));
        goto out;
    }
    posix_spawn_file_actions_adddup2(&fa, pin[0], 0);
    posix_spawn_file_actions_addclose(&fa, pin[1]);
    if (out) {
        posix_spawn_file_actions_adddup2(&fa, pout[1], 1);
        posix_spawn_file_actions_addclose(&fa, pout[0]);
    }
    if (err_out) {
        posix_spawn_file_actions_adddup2(&fa, perr[1], 2);
        posix_spawn_file_actions_addclose(&fa, perr[0]);
    }
    pid_t pid;
    int e = posix_spawn(&pid, path, &fa, NULL, argv, env ? env : environ);
    if (e) {
        rc = lo_error_set(err, LO_EEXEC, "cannot run %s: %s", argv[0], strerror(e));
        goto out;
    }
    close(pin[0]);
    pin[0] = -1;
    if (out) { close(pout[1]); pout[1] = -1; }
    if (err_out) { close(perr[1]); perr[1] = -1; }
    /* a reader that exits early must not kill us with SIGPIPE */
    struct sigaction ign = {.sa_handler = SIG_IGN}, old;
    sigaction(SIGPIPE, &ign, &old);
    size_t written = 0;
    if (in_len == 0) {
        close(pin[1]);
        pin[1] = -1;
    } else {
        fcntl(pin[1], F_SETFL, O_NONBLOCK);
    }
    for (;;) {
        struct pollfd fds[3];
        int nf = 0, iw = -1, io = -1, ie = -1;
        if (pin[1] >= 0) { iw = nf; fds[nf++] = (struct pollfd){pin[1], POLLOUT, 0}; }
        if (out && pout[0] >= 0) { io = nf; fds[nf++] = (struct pollfd){pout[0], POLLIN, 0}; }
        if (err_out && perr[0] >= 0) { ie = nf; fds[nf++] = (struct pollfd){perr[0], POLLIN, 0}; }
        if (nf == 0)
            break;
        if (poll(fds, (nfds_t)nf, -1) < 0) {
            if (errno == EINTR)
                continue;
            break;
        }
        if (iw >= 0 && fds[iw].revents) {
            ssize_t n = write(pin[1], in + written, in_len - written);
            if (n > 0)
                written += (size_t)n;
            if ((n < 0 && errno != EAGAIN && errno != EINTR) || written == in_len) {
                close(pin[1]);
                pin[1] = -1;
            }
        }
        if (io >= 0 && fds[io].revents && drain(pout[0], out) <= 0) {
            close(pout[0]);
            pout[0] = -1;
        }
        if (ie >= 0 && fds[ie].revents && drain(perr[0], err_out) <= 0) {
            close(perr[0]);
            perr[0] = -1;
        }
    }
    sigaction(SIGPIPE, &old, NULL);
    int ws;
    while (waitpid(pid, &ws, 0) < 0 && errno == EINTR)
        ;
    *status = WIFEXITED(ws) ? WEXITSTATUS(ws) : 128 + WTERMSIG(ws);
out:
    posix_spawn_file_actions_destroy(&fa);
    for (int i = 0; i < 2; i++) {
        if (pin[i] >= 0) close(pin[i]);
        if (pout[i] >= 0) close(pout[i]);
        if (perr[i] >= 0) close(perr[i]);
    }
    return rc;
}
