/* Shared includes and helpers for the cmocka unit tests. */
#ifndef LO_TESTUTIL_H
#define LO_TESTUTIL_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "lightsout/base.h"

/* Path of a file under tests/data (LO_TESTDATA, set by make test). */
static inline const char *lo_test_data(const char *rel)
{
    static char buf[4096];
    const char *root = getenv("LO_TESTDATA");
    snprintf(buf, sizeof buf, "%s/%s", root ? root : "tests/data", rel);
    return buf;
}

#endif
