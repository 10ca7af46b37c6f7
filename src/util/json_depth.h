/*
 * Nesting bounds for JSON we read from others (clients, the CLI). yyjson parses iteratively, but its
 * copies between mutable and immutable documents recurse once per level, and so does the CLI's own
 * JSON handling: a body nested 130k levels deep would overflow the stack. Every parsed document from
 * outside is checked here first, before anything walks it recursively. The check itself is iterative.
 */
#ifndef CWP_UTIL_JSON_DEPTH_H
#define CWP_UTIL_JSON_DEPTH_H
#include <stdbool.h>
#include <stddef.h>
#include <yyjson.h>

/* Deepest nesting a request body may have (the root object is level 1). Real schemas stay far below. */
#define JSON_MAX_DEPTH 128
/* Lines from the CLI wrap a request's values in a few envelopes of their own. */
#define JSON_MAX_DEPTH_CLI (JSON_MAX_DEPTH + 32)
/* The checker keeps one frame per level; no limit may exceed this. */
#define JSON_DEPTH_CAP 256

/* True when no value under root nests deeper than max_depth levels (clamped to JSON_DEPTH_CAP; a scalar
 * root is level 0). Otherwise false, and when path is given it names the first value that goes too deep,
 * e.g. "tools[0].input_schema.properties.a..." (the first few steps; "" for the root itself). */
bool json_depth_ok(yyjson_val *root, size_t max_depth, char *path, size_t path_len);

#endif
