/* The dialect paths: where adding a dialect starts (see docs/architecture.md). */
#include "api/dialect.h"

#include <stdbool.h>
#include <string.h>

static bool has_prefix(const char *s, const char *prefix) { return strncmp(s, prefix, strlen(prefix)) == 0; }

api_dialect_t api_dialect_for_path(const char *path) {
    if (!path) return DIALECT_PLAIN;
    if (has_prefix(path, "/v1/messages")) return DIALECT_ANTHROPIC;
    if (has_prefix(path, "/v1/chat/completions") || has_prefix(path, "/v1/completions") || has_prefix(path, "/v1/responses"))
        return DIALECT_OPENAI;
    return DIALECT_PLAIN;
}
