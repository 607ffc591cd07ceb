/* A small HTTP load generator for the twin benchmark (bench/twin.sh): wrk
 * is not always installed. CONNS threads each send one POST per connection
 * (Connection: close, so a streamed reply ends with the connection) and
 * read the whole answer; latency is connect to last byte. Prints one line:
 *   requests=N errors=E rps=R p50_ms=A p99_ms=B
 * Usage: twin_load PORT PATH BODYFILE CONNS SECONDS */
#define _POSIX_C_SOURCE 200809L
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static int port;
static char req[1 << 16];
static size_t req_len;
static double stop_at;

typedef struct worker {
    double *lat;
    size_t n, cap, errors;
} worker;

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static int one(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0)
        return -1;
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(fd, (struct sockaddr *)&a, sizeof a) || write(fd, req, req_len) != (ssize_t)req_len) {
        close(fd);
        return -1;
    }
    char buf[16384];
    ssize_t n;
    size_t total = 0;
    int ok = 0;
    while ((n = read(fd, buf, sizeof buf)) > 0) {
        if (total == 0)
            ok = n > 12 && !memcmp(buf + 9, "200", 3);
        total += (size_t)n;
    }
    close(fd);
    return ok ? 0 : -1;
}

static void *run(void *arg)
{
    worker *w = arg;
    while (now_s() < stop_at) {
        double t0 = now_s();
        if (one()) {
            w->errors++;
            continue;
        }
        if (w->n == w->cap) {
            w->cap = w->cap ? w->cap * 2 : 4096;
            w->lat = realloc(w->lat, w->cap * sizeof *w->lat);
            if (!w->lat)
                exit(1);
        }
        w->lat[w->n++] = (now_s() - t0) * 1000;
    }
    return NULL;
}

static int cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
    if (argc != 6) {
        fprintf(stderr, "usage: twin_load PORT PATH BODYFILE CONNS SECONDS\n");
        return 2;
    }
    port = atoi(argv[1]);
    FILE *f = fopen(argv[3], "rb");
    if (!f)
        return perror(argv[3]), 1;
    char body[1 << 15];
    size_t blen = fread(body, 1, sizeof body, f);
    fclose(f);
    int hl = snprintf(req, sizeof req,
                      "POST %s HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n"
                      "Content-Type: application/json\r\nanthropic-version: 2023-06-01\r\n"
                      "x-api-key: bench\r\nContent-Length: %zu\r\n\r\n",
                      argv[2], blen);
    memcpy(req + hl, body, blen);
    req_len = (size_t)hl + blen;
    int conns = atoi(argv[4]);
    double secs = atof(argv[5]);
    worker *w = calloc((size_t)conns, sizeof *w);
    pthread_t *th = calloc((size_t)conns, sizeof *th);
    double t0 = now_s();
    stop_at = t0 + secs;
    for (int i = 0; i < conns; i++)
        pthread_create(&th[i], NULL, run, &w[i]);
    size_t n = 0, errors = 0;
    for (int i = 0; i < conns; i++) {
        pthread_join(th[i], NULL);
        n += w[i].n;
        errors += w[i].errors;
    }
    double elapsed = now_s() - t0;
    double *all = malloc((n ? n : 1) * sizeof *all);
    size_t k = 0;
    for (int i = 0; i < conns; i++) {
        memcpy(all + k, w[i].lat, w[i].n * sizeof *all);
        k += w[i].n;
        free(w[i].lat);
    }
    qsort(all, n, sizeof *all, cmp);
    printf("requests=%zu errors=%zu rps=%.0f p50_ms=%.2f p99_ms=%.2f\n", n, errors,
           n / elapsed, n ? all[n / 2] : 0, n ? all[(size_t)(n * 0.99)] : 0);
    free(all);
    free(w);
    free(th);
    return 0;
}
