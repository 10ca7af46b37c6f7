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

/* The API paths a client may send without "/v1" (each matches itself or itself followed by '/'). */
static const char *const unversioned_api_paths[] = {"/messages", "/chat/completions", "/completions", "/responses",
                                                    "/models"};

static bool is_path_under(const char *path, const char *base) {
    size_t n = strlen(base);
    return strncmp(path, base, n) == 0 && (path[n] == '\0' || path[n] == '/');
}

bool api_canonical_path(const char *path, char *out, size_t out_len) {
    if (!path || !out || out_len < 4) return false;
    size_t n = 0;
    const size_t prefix_room = 3; /* "/v1" */
    for (const char *p = path; *p; p++) {
        if (*p == '/' && n > 0 && out[n - 1] == '/') continue;
        if (n + prefix_room + 1 >= out_len) return false;
        out[n++] = *p;
    }
    if (n > 1 && out[n - 1] == '/') n--;
    out[n] = '\0';
    /* an Anthropic-dialect client given a base URL that ends in /v1 asks for /v1/v1/messages */
    while (strncmp(out, "/v1/v1", 6) == 0 && (out[6] == '\0' || out[6] == '/')) {
        memmove(out, out + 3, n - 3 + 1);
        n -= 3;
    }
    if (!is_path_under(out, "/v1")) {
        for (size_t i = 0; i < sizeof unversioned_api_paths / sizeof *unversioned_api_paths; i++) {
            if (!is_path_under(out, unversioned_api_paths[i])) continue;
            memmove(out + prefix_room, out, n + 1);
            memcpy(out, "/v1", prefix_room);
            break;
        }
    }
    return strcmp(out, path) != 0;
}
