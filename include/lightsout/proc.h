/*
 * Running other programs: a whole-output run with optional stdin, and a
 * lookup on PATH.
 */
#ifndef LIGHTSOUT_PROC_H
#define LIGHTSOUT_PROC_H

#include "lightsout/base.h"

/* Full path of prog found on PATH (or prog itself if it contains '/' and is
 * executable), copied into out; false when not found. */
bool lo_which(const char *prog, char *out, size_t out_len);

/* Run argv[0] (looked up on PATH) with in_len bytes of input on its stdin;
 * its stdout is appended to out (when not NULL; otherwise inherited) and its
 * stderr to err_out (when not NULL; otherwise inherited). Fills *status with
 * the exit code, or 128+signal. Returns 0, or LO_EEXEC when it cannot start. */
int lo_proc_run(char *const argv[], const char *in, size_t in_len, lo_buf *out,
                lo_buf *err_out, int *status, lo_error *err);

#endif
