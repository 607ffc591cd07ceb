/* Text from commands and models may be invalid UTF-8; JSON strings cannot
 * be. Internal to the pipeline layer. */
#ifndef LO_JSON_LOSSY_H
#define LO_JSON_LOSSY_H

#include <jansson.h>

/* A JSON string of s with invalid bytes replaced by U+FFFD; NULL only when
 * memory ran out. */
json_t *lo_json_lossy_string(const char *s);

#endif
