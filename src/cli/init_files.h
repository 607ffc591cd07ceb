/* The starter files of `lightsout init` (data/init/TEMPLATE/...), built
 * into the binary by scripts/embed; see cmd_init.c. */
#ifndef LO_CLI_INIT_FILES_H
#define LO_CLI_INIT_FILES_H

#include <stddef.h>

typedef struct init_file {
    const char *path;            /* "ralph/pipeline.dot": template/file */
    const unsigned char *data;
    size_t len;
} init_file;

extern const init_file init_files[];
extern const size_t n_init_files;

#endif
