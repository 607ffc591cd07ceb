/*
 * Load-test target for bench/http.sh: lo_http_server with one route, GET /,
 * answering a fixed 400-byte JSON body. Prints the bound port on stdout and
 * serves until SIGINT or SIGTERM.
 *
 *   http_bench_server [THREADS]      (default 2, the server's default)
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lightsout/http.h"

/* 400 bytes; bench/http_bench_server.js builds the same string. */
static char body[401];

static void make_body(void)
{
    const char *head = "{\"id\":\"msg_bench\",\"type\":\"message\",\"pad\":\"";
    const char *tail = "\"}";
    size_t h = strlen(head), t = strlen(tail);
    memcpy(body, head, h);
    memset(body + h, 'x', 400 - h - t);
    memcpy(body + 400 - t, tail, t);
    body[400] = '\0';
}

static void h_root(const lo_http_request *req, lo_http_response *res, void *ud)
{
    (void)req;
    (void)ud;
    lo_http_respond(res, 200, "application/json", body, 400);
}

int main(int argc, char **argv)
{
    make_body();
    /* Block the stop signals before the server's threads start, so they
     * inherit the mask and sigwait below gets them. */
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &set, NULL);

    lo_http_config cfg = {0};
    cfg.threads = argc > 1 ? atoi(argv[1]) : 0;
    lo_error err = {0};
    lo_http_server *s = lo_http_server_start(&cfg, &err);
    if (!s) {
        fprintf(stderr, "http_bench_server: %s\n", err.msg);
        return 1;
    }
    if (lo_http_route(s, "GET", "/", h_root, NULL) != 0) {
        fprintf(stderr, "http_bench_server: cannot add the route\n");
        lo_http_server_stop(s);
        return 1;
    }
    printf("%d\n", lo_http_server_port(s));
    fflush(stdout);
    int sig;
    sigwait(&set, &sig);
    lo_http_server_stop(s);
    return 0;
}
