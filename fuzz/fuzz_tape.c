/* libFuzzer target for tapes (src/twin/tape.c): the JSONL loader with its
 * checks and compiled regular expressions, then the matcher over a few
 * request views. A tape either loads (and then every entry has a reply,
 * raw or fault status, a line within the input, and matching never
 * crashes) or fails with "NAME:LINE: ..." naming a line of the input. The
 * fault parser for --fault gets the same bytes. */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "lightsout/twin.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *text = (const char *)data;
    unsigned lines = 1;
    for (size_t i = 0; i < size; i++)
        lines += data[i] == '\n';
    lo_error err = {0};
    lo_tape *t = lo_tape_parse(text, size, "f.jsonl", &err);
    if (!t) {
        if (err.code == LO_ENOMEM)
            return 0;
        if (strncmp(err.msg, "f.jsonl:", 8) != 0 || err.line < 1 || err.line > lines)
            __builtin_trap();
        return 0;
    }
    for (size_t i = 0; i < lo_tape_count(t); i++) {
        const lo_tape_entry *e = lo_tape_at(t, i);
        if (e->line < 1 || e->line > lines || (!e->reply && !e->raw && !e->fault.status))
            __builtin_trap();
    }
    const char *tools[] = {"get_weather", "bash"};
    lo_twin_request_view views[] = {
        {.path = "/v1/messages", .model = "claude-sonnet-4-5", .call = 1, .user_text = "hello"},
        {.path = "/v1/responses", .model = "gpt-5.4", .call = 2, .user_text = "",
         .tool_result_text = "18°C", .tools = tools, .n_tools = 2, .messages = 3},
        {.path = "/v1beta/models/x:generateContent", .call = 7},
    };
    lo_tape *tapes[] = {t};
    for (size_t i = 0; i < sizeof views / sizeof views[0]; i++) {
        char why[300];
        const lo_tape_entry *e = lo_tape_match(tapes, 1, &views[i], why, sizeof why);
        if (!e && !why[0])
            __builtin_trap();
    }
    lo_tape_free(t);
    char *s = malloc(size + 1);
    if (s) {
        memcpy(s, data, size);
        s[size] = '\0';
        lo_tape_fault f;
        lo_tape_fault_parse(s, &f, &err);
        free(s);
    }
    return 0;
}
