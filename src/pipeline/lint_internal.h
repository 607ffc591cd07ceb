#ifndef LO_LINT_INTERNAL_H
#define LO_LINT_INTERNAL_H

#include "lightsout/lint.h"

int lo_lint_builtin(const lo_graph *g, lo_diags *out);
int lo_diags_addv(lo_diags *d, const char *rule, lo_severity sev, const char *file,
                  lo_pos pos, const char *node_id, const char *from, const char *to,
                  const char *fix, const char *fmt, va_list ap)
    __attribute__((format(printf, 10, 0)));

#endif
