/*
 * Browser safety. Binding to loopback keeps other machines out, not the browser on this one: any page can
 * POST to 127.0.0.1 (a text/plain or form body needs no preflight), and with DNS rebinding it can read the
 * answers under its own name. So, by default: a request carrying an Origin that is not ours (nor listed in
 * allowedOrigins) is refused, and so is a Host that is not ours (when bound to loopback, or when allowedHosts
 * is set). SDKs and command-line clients send no Origin and name the address they dial: they pass.
 */
#ifndef CWP_API_BROWSER_GUARD_H
#define CWP_API_BROWSER_GUARD_H
#include <stdbool.h>
#include <stddef.h>

#include "config.h"

typedef enum {
    GUARD_ALLOW,          /* no Origin, or our own */
    GUARD_ALLOW_CORS,     /* an origin allowedOrigins lists: the answer carries CORS headers for it */
    GUARD_REFUSE_HOST,    /* a Host we do not serve (DNS rebinding) */
    GUARD_REFUSE_ORIGIN,  /* a page of another origin */
} guard_verdict_t;

/* host and origin are the request's headers (NULL when absent). /health is always allowed. */
guard_verdict_t guard_check(const config_t *cfg, const char *path, const char *host, const char *origin);
/* The Host header names us: loopback names, the listening address, or allowedHosts entries. */
bool guard_is_host_allowed(const config_t *cfg, const char *host);
/* What a CORS preflight may be told to allow: the requested header names when they are plain tokens,
 * else a fixed list of the headers our clients send. Writes into out. */
void guard_preflight_headers(const char *requested, char *out, size_t out_len);

#endif
