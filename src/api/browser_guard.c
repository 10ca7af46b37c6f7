#include "api/browser_guard.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

/* "name", "name:port", "[v6]", "[v6]:port" -> the name (without brackets). */
static bool host_name(const char *host, char *out, size_t out_len) {
    const char *start = host, *end;
    if (*host == '[') {
        start = host + 1;
        end = strchr(start, ']');
        if (!end) return false;
    } else {
        end = strchr(host, ':');
        if (!end) end = host + strlen(host);
    }
    size_t n = (size_t)(end - start);
    if (n == 0 || n >= out_len) return false;
    memcpy(out, start, n);
    out[n] = '\0';
    return true;
}

static bool ends_with_ci(const char *s, const char *suffix) {
    size_t n = strlen(s), m = strlen(suffix);
    return n >= m && !strcasecmp(s + n - m, suffix);
}

bool guard_is_host_allowed(const config_t *cfg, const char *host) {
    if (!host) return true; /* HTTP/1.0 tools; every browser sends Host */
    char name[256];
    if (!host_name(host, name, sizeof name)) return false;
    if (config_is_loopback_host(name) || ends_with_ci(name, ".localhost")) return true;
    if (cfg->host && !strcasecmp(name, cfg->host)) return true;
    const char *list = cfg->allowed_hosts;
    return config_list_has(list, "*", 1) || config_list_has(list, name, strlen(name)) ||
           config_list_has(list, host, strlen(host));
}

static bool is_host_checked(const config_t *cfg) {
    return config_is_loopback_host(cfg->host) || (cfg->allowed_hosts && cfg->allowed_hosts[0]);
}

/* "http://127.0.0.1:3456" is ours when its host[:port] is the Host the request was sent to. */
static bool is_own_origin(const char *origin, const char *host) {
    if (!host) return false;
    const char *p = NULL;
    if (!strncasecmp(origin, "http://", 7)) p = origin + 7;
    else if (!strncasecmp(origin, "https://", 8)) p = origin + 8;
    return p && !strcasecmp(p, host);
}

guard_verdict_t guard_check(const config_t *cfg, const char *path, const char *host, const char *origin) {
    if (path && !strcmp(path, "/health")) return GUARD_ALLOW;
    if (is_host_checked(cfg) && !guard_is_host_allowed(cfg, host)) return GUARD_REFUSE_HOST;
    if (!origin) return GUARD_ALLOW;
    if (is_own_origin(origin, host)) return GUARD_ALLOW;
    const char *list = cfg->allowed_origins;
    if (config_list_has(list, "*", 1) || config_list_has(list, origin, strlen(origin))) return GUARD_ALLOW_CORS;
    return GUARD_REFUSE_ORIGIN;
}

void guard_preflight_headers(const char *requested, char *out, size_t out_len) {
    static const char fixed[] = "authorization, content-type, x-api-key, anthropic-version, anthropic-beta";
    bool is_plain = requested && *requested && strlen(requested) < out_len;
    for (const char *p = requested; is_plain && *p; p++)
        is_plain = isalnum((unsigned char)*p) || *p == '-' || *p == '_' || *p == ',' || *p == ' ';
    snprintf(out, out_len, "%s", is_plain ? requested : fixed);
}
