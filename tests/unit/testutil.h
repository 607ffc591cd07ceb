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

/* rm -rf dir (a test's temporary directory). */
static inline int lo_test_rm_rf(const char *dir)
{
    char cmd[4200];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    return system(cmd);
}

#ifdef __linux__
#include <dirent.h>
/* Live (not zombie) processes whose command line holds marker: what a
 * test that starts processes checks to see that none outlived it. */
static inline int lo_test_live_with(const char *marker)
{
    int count = 0;
    DIR *d = opendir("/proc");
    struct dirent *de;
    while (d && (de = readdir(d))) {
        if (de->d_name[0] < '0' || de->d_name[0] > '9')
            continue;
        char path[300], buf[4096];
        snprintf(path, sizeof path, "/proc/%s/cmdline", de->d_name);
        FILE *f = fopen(path, "r");
        if (!f)
            continue;
        size_t n = fread(buf, 1, sizeof buf - 1, f);
        fclose(f);
        for (size_t i = 0; i < n; i++)
            if (!buf[i])
                buf[i] = ' ';
        buf[n] = '\0';
        if (n && strstr(buf, marker))
            count++; /* a zombie has an empty cmdline */
    }
    if (d)
        closedir(d);
    return count;
}
#endif

#endif
