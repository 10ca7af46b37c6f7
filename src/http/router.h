/* Method + path → handler table. Each API module registers its own routes. */
#ifndef CWP_HTTP_ROUTER_H
#define CWP_HTTP_ROUTER_H
#include <stdbool.h>

#include "http/server.h"

typedef struct {
    const char *method;  /* "GET", "POST", ... */
    const char *pattern; /* exact path, or a prefix ending in '*' (e.g. "/v1/models/" followed by a star) */
    http_handler_fn handler;
    void *ctx;
    int dialect;         /* the handler layer's label for the route (api_dialect_t); the router only carries it */
    bool is_public;      /* served without the proxy's API key (/health, /, static) */
} route_t;

typedef enum { ROUTE_FOUND, ROUTE_NOT_FOUND, ROUTE_METHOD_NOT_ALLOWED } route_match_t;

typedef struct router_s router_t;

router_t *router_new(void);
void router_free(router_t *r);
int router_add(router_t *r, const route_t *route);
/* On ROUTE_METHOD_NOT_ALLOWED, allow gets the methods the path accepts ("GET, POST"). */
route_match_t router_match(const router_t *r, const char *method, const char *path, const route_t **out,
                           char *allow, size_t allow_len);

#endif
