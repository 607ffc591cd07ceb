/* libFuzzer target for record mode's reading half (src/twin/record_parse.c):
 * whatever an upstream answers — a JSON body, an SSE stream, Gemini's JSON
 * array, or garbage — becomes a tape entry that the tape loader accepts.
 *
 * Input: byte 0 picks the API (Anthropic, Responses, Chat, Gemini) and
 * whether the status is an error, the rest is the upstream's body. */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "twin/twin_internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    static const struct {
        twin_record_kind kind;
        const char *path, *req;
    } apis[] = {
        {TWIN_RECORD_ANTHROPIC, "/v1/messages",
         "{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}"},
        {TWIN_RECORD_RESPONSES, "/v1/responses", "{\"model\":\"m\",\"input\":\"hi\"}"},
        {TWIN_RECORD_CHAT, "/v1/chat/completions",
         "{\"model\":\"m\",\"messages\":[{\"role\":\"tool\",\"content\":\"42\"}]}"},
        {TWIN_RECORD_GEMINI, "/v1beta/models/g:streamGenerateContent",
         "{\"contents\":[{\"parts\":[{\"text\":\"hi\"}]}]}"},
    };
    size_t a = data[0] % 4;
    long status = data[0] & 0x80 ? 429 : 200;
    json_t *req = json_loads(apis[a].req, 0, NULL);
    json_t *e = twin_record_entry(apis[a].kind, apis[a].path, req, status,
                                  (const char *)data + 1, size - 1, data[0] & 0x40 ? 3 : -1,
                                  "fuzz");
    json_decref(req);
    if (!e)
        return 0; /* out of memory */
    /* what record mode writes must load back as a tape */
    char *line = json_dumps(e, JSON_COMPACT | JSON_ENSURE_ASCII);
    json_decref(e);
    if (!line)
        return 0;
    lo_error err = {0};
    lo_tape *t = lo_tape_parse(line, strlen(line), "rec.jsonl", &err);
    if (!t && err.code != LO_ENOMEM) {
        fprintf(stderr, "%s\n%s\n", err.msg, line);
        __builtin_trap();
    }
    lo_tape_free(t);
    free(line);
    return 0;
}
