/*
 * lightsout base: error values, arenas, growable buffers, string helpers,
 * hash map and file I/O.
 *
 * Ownership: every _new has a _free. Strings returned by arena functions live
 * as long as the arena. Library code never prints and never exits; failures are
 * returned as negative lo_err codes with an optional lo_error filled in.
 */
#ifndef LIGHTSOUT_BASE_H
#define LIGHTSOUT_BASE_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdlib.h>
#include <stdint.h>

#define LO_VERSION "0.1.0"

typedef enum lo_err {
    LO_OK = 0,
    LO_ENOMEM = -1,    /* allocation failed */
    LO_EIO = -2,       /* read/write failed; errno-derived message */
    LO_EPARSE = -3,    /* syntax error in some input */
    LO_EINVAL = -4,    /* invalid argument or value */
    LO_ENOENT = -5,    /* file or item not found */
    LO_EVALIDATE = -6, /* lint found errors */
    LO_ETOOBIG = -7,   /* input over a configured limit */
    LO_EISDIR = -8,    /* a directory where a file was expected */
    LO_EEXEC = -9,     /* a subprocess could not run or failed */
    LO_ECANCELED = -10, /* stopped on request (cancel flag, callback abort) */
} lo_err;

/* An error value: a message plus, where there is a source, file:line:col.
 * line and col are 1-based; 0 means "not known". */
typedef struct lo_error {
    int code;
    char file[256];
    uint32_t line, col;
    char msg[1024];
    char snippet[256]; /* the offending source line, when there is one */
} lo_error;

/* Fill err (when not NULL) and return code. Safe with err == NULL. */
int lo_error_set(lo_error *err, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
int lo_error_setv(lo_error *err, int code, const char *fmt, va_list ap)
    __attribute__((format(printf, 3, 0)));
int lo_error_at(lo_error *err, int code, const char *file, uint32_t line,
                uint32_t col, const char *fmt, ...)
    __attribute__((format(printf, 6, 7)));
void lo_error_clear(lo_error *err);
const char *lo_err_name(int code);

/* ---- allocation: one place that tests can make fail ---- */
void *lo_malloc(size_t n);
void *lo_calloc(size_t n, size_t size);
void *lo_realloc(void *p, size_t n);
char *lo_strdup(const char *s);
char *lo_strndup(const char *s, size_t n);
/* Fail the Nth allocation from now on (1 = next); 0 disables. For tests. */
void lo_alloc_fail_after(long n);

/* ---- arena: bump allocation, freed all at once ---- */
typedef struct lo_arena lo_arena;
lo_arena *lo_arena_new(size_t chunk_size);
void lo_arena_free(lo_arena *a);
void *lo_arena_alloc(lo_arena *a, size_t n);      /* 8-byte aligned, zeroed */
char *lo_arena_strndup(lo_arena *a, const char *s, size_t n);
char *lo_arena_strdup(lo_arena *a, const char *s);
char *lo_arena_printf(lo_arena *a, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
size_t lo_arena_used(const lo_arena *a);

/* ---- growable byte buffer, always NUL-terminated ---- */
typedef struct lo_buf {
    char *data;
    size_t len, cap;
    size_t max; /* 0 = unlimited; appends past max fail with LO_ETOOBIG */
} lo_buf;
void lo_buf_init(lo_buf *b, size_t max);
void lo_buf_release(lo_buf *b);
void lo_buf_clear(lo_buf *b);
int lo_buf_append(lo_buf *b, const void *p, size_t n);
int lo_buf_puts(lo_buf *b, const char *s);
int lo_buf_putc(lo_buf *b, char c);
int lo_buf_printf(lo_buf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
int lo_buf_vprintf(lo_buf *b, const char *fmt, va_list ap)
    __attribute__((format(printf, 2, 0)));
/* Append s as a JSON string literal (with quotes). */
int lo_buf_json_str(lo_buf *b, const char *s, size_t n);
/* Detach the data; the buffer is reset. Caller frees with free(). */
char *lo_buf_steal(lo_buf *b);

/* ---- strings ---- */
bool lo_str_eq(const char *a, const char *b);         /* NULL-safe */
bool lo_str_starts(const char *s, const char *prefix);
/* Levenshtein distance, capped: returns cap+1 once it is known to exceed cap. */
size_t lo_edit_distance(const char *a, const char *b, size_t cap);
/* Closest candidate to word within distance max (by edit distance, and
 * case-insensitive equality first); NULL if none. */
const char *lo_closest(const char *word, const char *const *cands, size_t n,
                       size_t max);
/* Parse a duration ("250ms", "15m", "2h", "1d", "900s"; a bare integer is
 * seconds). Returns 0 and fills *ms, or LO_EINVAL. */
int lo_parse_duration_ms(const char *s, int64_t *ms);
/* Parse a size ("512", "512KB", "100MB", "2GB", "1K", "1KiB"). Bytes. */
int lo_parse_size(const char *s, int64_t *bytes);
int lo_parse_int64(const char *s, int64_t *out);      /* whole string */
int lo_parse_double(const char *s, double *out);      /* whole string */

/* ---- UTF-8: command output and model text may hold any bytes; JSON cannot ---- */
/* Length (1-4) of the valid UTF-8 sequence at p within left bytes (RFC 3629:
 * no overlongs, surrogates or values above U+10FFFF), or 0 when invalid. */
size_t lo_utf8_seq(const char *p, size_t left);
bool lo_utf8_valid(const char *s, size_t n);
/* Append s with every invalid byte and every NUL replaced by U+FFFD. */
int lo_utf8_append_clean(lo_buf *b, const char *s, size_t n);
/* A NUL-terminated cleaned copy of s (caller frees), or NULL on no memory. */
char *lo_utf8_clean(const char *s, size_t n);

/* ---- hash map: NUL-terminated string keys -> void* values ----
 * Keys are not copied: they must outlive the map (arena strings do). */
typedef struct lo_map lo_map;
lo_map *lo_map_new(size_t expected);
void lo_map_free(lo_map *m);
/* Insert or replace; returns 0 or LO_ENOMEM. */
int lo_map_put(lo_map *m, const char *key, void *value);
void *lo_map_get(const lo_map *m, const char *key);
void *lo_map_getn(const lo_map *m, const char *key, size_t len);
bool lo_map_has(const lo_map *m, const char *key);
size_t lo_map_count(const lo_map *m);
/* Iterate: *it starts at 0; returns false when done. */
bool lo_map_next(const lo_map *m, size_t *it, const char **key, void **value);
uint64_t lo_hash(const char *s, size_t n);

/* ---- files ---- */
/* Read a whole regular file. Caller frees *data (NUL-terminated).
 * Errors: LO_ENOENT, LO_EISDIR, LO_EIO, LO_ETOOBIG (over max; 0 = no max). */
int lo_file_read(const char *path, size_t max, char **data, size_t *len,
                 lo_error *err);
/* Write atomically: temp file in the same directory, fsync, rename, fsync dir. */
int lo_file_write_atomic(const char *path, const void *data, size_t len,
                         lo_error *err);
/* The same; sync=false skips both fsyncs (still atomic against readers and
 * crashes of this process, not against power loss). */
int lo_file_write_atomic_ex(const char *path, const void *data, size_t len, bool sync,
                            lo_error *err);
/* mkdir -p */
int lo_mkdir_p(const char *path, lo_error *err);
/* True when data looks binary (a NUL byte or invalid UTF-8 in the first 8 KiB). */
bool lo_looks_binary(const char *data, size_t len);

#endif
