/* Internal (the library and the command-line program): JSON read strictly. cJSON alone accepts
 * trailing data after the document, keeps both members of a duplicated key (lookups find the
 * first), and cuts a string at an escaped NUL ("\u0000"); each of those is an error here. */
#ifndef RATENN_JSON_STRICT_H
#define RATENN_JSON_STRICT_H

#include <stddef.h>

#include <cjson/cJSON.h>

#include "ratenn/status.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Parses text[0..len) (text[len] must be '\0'). Returns the document, or NULL with RN_ERR_FORMAT
 * and a message in err: where the JSON is malformed, a NUL byte in the text, trailing data, a
 * string holding NUL, or a duplicated key (named, with the object it is in). */
cJSON *rn_json_parse_strict(const char *text, size_t len, rn_error *err);

#ifdef __cplusplus
}
#endif
#endif
