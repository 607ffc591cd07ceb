/* A client that leaves in the middle of a stream (src/twin/twin.c, the
 * feed): a raw socket asks the twin for a slow (dripping) stream, reads
 * its first events and closes. The twin must log that the client closed
 * the stream, and go on answering: the next request, streamed to the end
 * through the real HTTP client, is whole. Anthropic's SSE and OpenAI's
 * Chat Completions chunks, one twin serving both. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include "twin_testutil.h"

/* A long reply, so the stream has many events at drip_ms apart: seconds
 * of stream, of which the client reads a few events. */
static char *long_tape(void)
{
    lo_buf b;
    lo_buf_init(&b, 0);
    lo_buf_puts(&b, "{\"match\":{\"user\":\"long\"},\"fault\":{\"drip_ms\":40},\"reply\":{\"text\":\"");
    for (int i = 0; i < 200; i++)
        lo_buf_printf(&b, "word%03d ", i);
    lo_buf_puts(&b, "\"}}\n{\"reply\":{\"text\":\"short answer\"}}\n");
    return lo_buf_steal(&b);
}

/* POST body to path on 127.0.0.1:port over a raw socket with the given
 * auth header, read until `until` has been seen (or 30 s pass), close. */
static bool read_some_and_leave(int port, const char *path, const char *auth, const char *body,
                                const char *until)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(fd >= 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(connect(fd, (struct sockaddr *)&a, sizeof a), 0);
    struct timeval tv = {.tv_sec = 30};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    lo_buf req;
    lo_buf_init(&req, 0);
    lo_buf_printf(&req,
                  "POST %s HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                  "anthropic-version: 2023-06-01\r\n%s\r\nContent-Length: %zu\r\n\r\n%s",
                  path, auth, strlen(body), body);
    assert_int_equal(write(fd, req.data, req.len), (ssize_t)req.len);
    lo_buf_release(&req);
    lo_buf got;
    lo_buf_init(&got, 0);
    lo_buf_puts(&got, "");
    char buf[4096];
    bool seen = false;
    ssize_t n;
    while (!seen && (n = read(fd, buf, sizeof buf)) > 0) {
        lo_buf_append(&got, buf, (size_t)n);
        seen = strstr(got.data, until) != NULL;
    }
    /* the stream had not ended when the client left */
    bool early = seen && !strstr(got.data, "message_stop") && !strstr(got.data, "[DONE]");
    lo_buf_release(&got);
    close(fd);
    return early;
}

static bool log_has(const char *s, int64_t wait_ms)
{
    int64_t end = tt_now_ms() + wait_ms;
    for (;;) {
        pthread_mutex_lock(&TT_LOG_MU);
        bool ok = TT_LOG.data && strstr(TT_LOG.data, s);
        pthread_mutex_unlock(&TT_LOG_MU);
        if (ok || tt_now_ms() > end)
            return ok;
        usleep(20 * 1000);
    }
}

static void client_leaves_mid_stream(void **state)
{
    (void)state;
    lo_buf_init(&TT_LOG, 0);
    char *text = long_tape();
    lo_error err = {0};
    lo_tape *tape = lo_tape_parse(text, strlen(text), "long.jsonl", &err);
    free(text);
    assert_non_null(tape);
    lo_twin *t = tt_start_cfg((lo_twin_config){.providers = LO_TWIN_ANTHROPIC | LO_TWIN_OPENAI,
                                               .tapes = &tape, .n_tapes = 1});
    int port = lo_twin_port(t);

    /* Anthropic */
    const char *abody = "{\"model\":\"claude-sonnet-4-5\",\"max_tokens\":4096,\"stream\":true,"
                        "\"messages\":[{\"role\":\"user\",\"content\":\"long\"}]}";
    assert_true(read_some_and_leave(port, "/v1/messages", "x-api-key: k", abody,
                                    "content_block_delta"));
    assert_true(log_has("anthropic POST /v1/messages call=1: the client closed the stream after",
                        60000));
    static const char *const AH[] = {"content-type: application/json",
                                     "anthropic-version: 2023-06-01", "x-api-key: k", NULL};
    const char *again = "{\"model\":\"claude-sonnet-4-5\",\"max_tokens\":100,\"stream\":true,"
                        "\"messages\":[{\"role\":\"user\",\"content\":\"again\"}]}";
    tt_stream c;
    assert_int_equal(tt_stream_post(t, "/v1/messages", AH, again, &c), 200);
    assert_int_equal(c.bad_json, 0);
    assert_non_null(tt_event(&c, "message_stop"));
    json_decref(c.events);

    /* OpenAI Chat Completions */
    const char *obody = "{\"model\":\"gpt-5.4\",\"stream\":true,"
                        "\"messages\":[{\"role\":\"user\",\"content\":\"long\"}]}";
    assert_true(read_some_and_leave(port, "/v1/chat/completions", "Authorization: Bearer k",
                                    obody, "\"delta\""));
    assert_true(log_has("openai POST /v1/chat/completions call=3: the client closed the stream",
                        60000));
    lo_http_result r;
    json_t *j = NULL;
    static const char *const OH[] = {"content-type: application/json",
                                     "authorization: Bearer k", NULL};
    assert_int_equal(tt_request(t, "/v1/chat/completions", OH,
                                "{\"model\":\"gpt-5.4\",\"messages\":[{\"role\":\"user\","
                                "\"content\":\"again\"}]}",
                                &r, &j),
                     200);
    assert_string_equal(
        tt_jstr(json_object_get(json_array_get(json_object_get(j, "choices"), 0), "message"),
                "content"),
        "short answer");
    json_decref(j);
    lo_http_result_release(&r);
    assert_int_equal(lo_twin_calls(t), 4);
    /* a finished stream is not reported as left */
    pthread_mutex_lock(&TT_LOG_MU);
    const char *first = strstr(TT_LOG.data, "closed the stream");
    bool two = first && strstr(first + 1, "closed the stream") &&
               !strstr(strstr(first + 1, "closed the stream") + 1, "closed the stream");
    pthread_mutex_unlock(&TT_LOG_MU);
    assert_true(two);
    lo_twin_stop(t);
    lo_tape_free(tape);
    lo_buf_release(&TT_LOG);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(client_leaves_mid_stream),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
