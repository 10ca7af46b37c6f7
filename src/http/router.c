/* Method + path → handler. Few routes: a linear scan picks the most specific match. */
#include "http/router.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ROUTER_MAX_ROUTES 256

typedef struct {
    route_t route;     /* method and pattern point at the copies below */
    char *method;
    char *pattern;
    size_t prefix_len; /* pattern without the '*' */
    bool is_prefix;
} route_entry_t;

struct router_s {
    route_entry_t *entries;
    size_t count, cap;
};

router_t *router_new(void) { return calloc(1, sizeof(router_t)); }

void router_free(router_t *r) {
    if (!r) return;
    for (size_t i = 0; i < r->count; i++) {
        free(r->entries[i].method);
        free(r->entries[i].pattern);
    }
    free(r->entries);
    free(r);
}

int router_add(router_t *r, const route_t *route) {
    if (!r || !route || !route->method || !route->pattern || !route->handler) return -1;
    if (r->count == ROUTER_MAX_ROUTES) return -1;
    if (r->count == r->cap) {
        size_t cap = r->cap ? r->cap * 2 : 16;
        route_entry_t *e = realloc(r->entries, cap * sizeof *e);
        if (!e) return -1;
        r->entries = e;
        r->cap = cap;
    }
    route_entry_t *e = &r->entries[r->count];
    e->method = strdup(route->method);
    e->pattern = strdup(route->pattern);
    if (!e->method || !e->pattern) {
        free(e->method);
        free(e->pattern);
        return -1;
    }
    size_t len = strlen(e->pattern);
    e->is_prefix = len > 0 && e->pattern[len - 1] == '*';
    e->prefix_len = e->is_prefix ? len - 1 : len;
    e->route = *route;
    e->route.method = e->method;
    e->route.pattern = e->pattern;
    r->count++;
    return 0;
}

/* How well pattern fits path: 0 = not at all; an exact match beats every prefix, a longer prefix a shorter. */
static size_t specificity(const route_entry_t *e, const char *path) {
    if (!e->is_prefix) return strcmp(e->pattern, path) == 0 ? (size_t)-1 : 0;
    return strncmp(e->pattern, path, e->prefix_len) == 0 ? e->prefix_len + 1 : 0;
}

static bool method_fits(const char *route_method, const char *method) {
    if (!strcmp(route_method, method)) return true;
    return !strcmp(method, "HEAD") && !strcmp(route_method, "GET"); /* the server drops HEAD bodies */
}

static void allow_add(char *allow, size_t allow_len, const char *method) {
    if (!allow || !allow_len) return;
    /* listed once: compare whole items */
    size_t mlen = strlen(method);
    for (const char *p = allow; *p;) {
        const char *end = strchr(p, ',');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        if (len == mlen && !strncmp(p, method, mlen)) return;
        if (!end) break;
        p = end + 2;
    }
    size_t used = strlen(allow);
    snprintf(allow + used, allow_len - used, "%s%s", used ? ", " : "", method);
}

route_match_t router_match(const router_t *r, const char *method, const char *path, const route_t **out,
                           char *allow, size_t allow_len) {
    if (allow && allow_len) allow[0] = '\0';
    if (out) *out = NULL;
    const route_entry_t *best = NULL;
    size_t best_score = 0;
    bool is_path_known = false;
    for (size_t i = 0; r && i < r->count; i++) {
        const route_entry_t *e = &r->entries[i];
        size_t score = specificity(e, path);
        if (!score) continue;
        is_path_known = true;
        if (method_fits(e->method, method) && score > best_score) {
            best = e;
            best_score = score;
        }
    }
    if (best) {
        if (out) *out = &best->route;
        return ROUTE_FOUND;
    }
    if (!is_path_known) return ROUTE_NOT_FOUND;
    for (size_t i = 0; i < r->count; i++)
        if (specificity(&r->entries[i], path)) allow_add(allow, allow_len, r->entries[i].method);
    return ROUTE_METHOD_NOT_ALLOWED;
}
