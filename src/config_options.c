/*
 * The settings table: every config.json key, its environment variable, its type and its range.
 * One table drives the file, the environment, and the messages that name a bad key.
 */
#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "config_internal.h"

typedef enum {
    OPT_INT,         /* int field */
    OPT_LONG,        /* long field */
    OPT_BOOL,        /* bool field */
    OPT_STRING,      /* char * field (owned) */
    OPT_CHOICE_ENUM, /* one of choices; its index is stored in an enum field */
    OPT_CHOICE_STR,  /* one of choices; stored as an owned string */
    OPT_MODELS,      /* models array */
    OPT_ALIASES,     /* modelAliases object */
    OPT_ACCOUNTS,    /* accounts array */
    OPT_LIST,        /* char * field: comma-separated; an array of strings (or one string) in the file */
} option_kind_t;

typedef struct {
    const char *key; /* config.json */
    const char *env; /* environment variable, or NULL */
    option_kind_t kind;
    size_t offset;
    long long min, max;         /* numbers */
    const char *const *choices; /* NULL-terminated */
    bool is_empty_ok;           /* strings: "" is a valid value */
} option_t;

static const char *const MODES[] = {"api", "agent", NULL};         /* index = proxy_mode_t */
static const char *const TRANSPORTS[] = {"auto", "websocket", "stdio", NULL}; /* index = transport_kind_t */
static const char *const LOG_LEVELS[] = {"debug", "info", "warn", "error", NULL};

#define DAY_MS 86400000LL
#define F(field) offsetof(config_t, field)

static const option_t OPTIONS[] = {
    {"httpPort", "HTTP_PORT", OPT_INT, F(http_port), 1, 65535, NULL, false},
    /* 0 lets the kernel pick the loopback port the CLIs connect to. */
    {"wsPort", "WS_PORT", OPT_INT, F(ws_port), 0, 65535, NULL, false},
    {"claudePath", "CLAUDE_PATH", OPT_STRING, F(claude_path), 0, 0, NULL, false},
    {"defaultModel", "DEFAULT_MODEL", OPT_STRING, F(default_model), 0, 0, NULL, false},
    {"autoApproveTool", "AUTO_APPROVE_TOOL", OPT_BOOL, F(auto_approve_tool), 0, 0, NULL, false},
    {"maxSessions", "MAX_SESSIONS", OPT_INT, F(max_sessions), 1, 1024, NULL, false},
    {"sessionTimeoutMs", "SESSION_TIMEOUT_MS", OPT_LONG, F(session_timeout_ms), 1, 30 * DAY_MS, NULL, false},
    {"authToken", "AUTH_TOKEN", OPT_STRING, F(auth_token), 0, 0, NULL, true},
    {"requireApiKey", "REQUIRE_API_KEY", OPT_BOOL, F(require_api_key), 0, 0, NULL, false},
    {"apiKey", "API_KEY", OPT_STRING, F(api_key), 0, 0, NULL, true},
    {"models", NULL, OPT_MODELS, 0, 0, 0, NULL, false},
    {"host", "HOST", OPT_STRING, F(host), 0, 0, NULL, false},
    {"mode", "MODE", OPT_CHOICE_ENUM, F(mode), 0, 0, MODES, false},
    {"workDir", "WORK_DIR", OPT_STRING, F(work_dir), 0, 0, NULL, true},
    {"stateDir", "STATE_DIR", OPT_STRING, F(state_dir), 0, 0, NULL, true},
    {"claudeConfigDir", "CLAUDE_CONFIG_DIR", OPT_STRING, F(claude_config_dir), 0, 0, NULL, true},
    {"transport", "TRANSPORT", OPT_CHOICE_ENUM, F(transport), 0, 0, TRANSPORTS, false},
    {"warmSessions", "WARM_SESSIONS", OPT_INT, F(warm_sessions), 0, 1024, NULL, false},
    {"maxQueue", "MAX_QUEUE", OPT_INT, F(max_queue), 0, 100000, NULL, false},
    {"queueTimeoutMs", "QUEUE_TIMEOUT_MS", OPT_LONG, F(queue_timeout_ms), 1, DAY_MS, NULL, false},
    {"startTimeoutMs", "START_TIMEOUT_MS", OPT_LONG, F(start_timeout_ms), 1, DAY_MS, NULL, false},
    {"stallTimeoutMs", "STALL_TIMEOUT_MS", OPT_LONG, F(stall_timeout_ms), 1, DAY_MS, NULL, false},
    {"toolResultTimeoutMs", "TOOL_RESULT_TIMEOUT_MS", OPT_LONG, F(tool_result_timeout_ms), 1, 7 * DAY_MS, NULL, false},
    {"maxBodyBytes", "MAX_BODY_BYTES", OPT_LONG, F(max_body_bytes), 1024, 1LL << 30, NULL, false},
    {"maxConnections", "MAX_CONNECTIONS", OPT_INT, F(max_connections), 1, 100000, NULL, false},
    {"headerTimeoutMs", "HEADER_TIMEOUT_MS", OPT_LONG, F(header_timeout_ms), 1, DAY_MS, NULL, false},
    {"idleTimeoutMs", "IDLE_TIMEOUT_MS", OPT_LONG, F(idle_timeout_ms), 1, DAY_MS, NULL, false},
    {"drainTimeoutMs", "DRAIN_TIMEOUT_MS", OPT_LONG, F(drain_timeout_ms), 0, DAY_MS, NULL, false},
    /* 0 turns SSE keep-alives off. */
    {"pingIntervalMs", "PING_INTERVAL_MS", OPT_LONG, F(ping_interval_ms), 0, DAY_MS, NULL, false},
    {"modelAliases", NULL, OPT_ALIASES, 0, 0, 0, NULL, false},
    {"logLevel", "LOG_LEVEL", OPT_CHOICE_STR, F(log_level), 0, 0, LOG_LEVELS, false},
    {"accounts", NULL, OPT_ACCOUNTS, 0, 0, 0, NULL, false},
    {"allowExtraUsage", "ALLOW_EXTRA_USAGE", OPT_BOOL, F(allow_extra_usage), 0, 0, NULL, false},
    {"accountBackoffMs", "ACCOUNT_BACKOFF_MS", OPT_LONG, F(account_backoff_ms), 100, DAY_MS, NULL, false},
    {"allowedOrigins", "ALLOWED_ORIGINS", OPT_LIST, F(allowed_origins), 0, 0, NULL, true},
    {"allowedHosts", "ALLOWED_HOSTS", OPT_LIST, F(allowed_hosts), 0, 0, NULL, true},
    {"bodyTimeoutMs", "BODY_TIMEOUT_MS", OPT_LONG, F(body_timeout_ms), 1, DAY_MS, NULL, false},
    /* 0: a quarter of maxConnections. */
    {"maxConnectionsPerClient", "MAX_CONNECTIONS_PER_CLIENT", OPT_INT, F(max_connections_per_client), 0, 100000, NULL, false},
};

#define OPTION_COUNT (sizeof OPTIONS / sizeof OPTIONS[0])

int config_fail(config_ctx_t *ctx, const char *fmt, ...) {
    char msg[384];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (ctx->err && ctx->err_len) {
        if (ctx->file) snprintf(ctx->err, ctx->err_len, "%s: %s", ctx->file, msg);
        else snprintf(ctx->err, ctx->err_len, "environment variable %s", msg);
    }
    return -1;
}

static void *field_of(config_t *cfg, const option_t *o) { return (char *)cfg + o->offset; }

/* The name a message uses: the JSON key, or the variable for the environment. */
static const char *name_of(const option_t *o, const config_ctx_t *ctx) { return ctx->file ? o->key : o->env; }

static const char *choices_text(const char *const *choices, char *out, size_t len) {
    size_t n = 0;
    out[0] = '\0';
    for (size_t i = 0; choices[i] && n < len; i++)
        n += (size_t)snprintf(out + n, len - n, "%s\"%s\"", i ? ", " : "", choices[i]);
    return out;
}

static int set_string(config_t *cfg, const option_t *o, const char *s, size_t len, config_ctx_t *ctx) {
    if (strlen(s) != len) return config_fail(ctx, "%s: must not contain NUL characters", name_of(o, ctx));
    if (len == 0 && !o->is_empty_ok) return config_fail(ctx, "%s: must not be empty", name_of(o, ctx));
    char *copy = strdup(s);
    if (!copy) return config_fail(ctx, "%s: out of memory", name_of(o, ctx));
    char **slot = field_of(cfg, o);
    free(*slot);
    *slot = copy;
    return 0;
}

static int set_list(config_t *cfg, const option_t *o, yyjson_val *arr, config_ctx_t *ctx) {
    size_t len = 0, i, n;
    yyjson_val *item;
    yyjson_arr_foreach(arr, i, n, item) {
        if (!yyjson_is_str(item) || yyjson_get_len(item) == 0 || strchr(yyjson_get_str(item), ','))
            return config_fail(ctx, "%s[%zu]: expected a non-empty string without commas", o->key, i);
        len += yyjson_get_len(item) + 1;
    }
    char *joined = calloc(1, len + 1);
    if (!joined) return config_fail(ctx, "%s: out of memory", o->key);
    yyjson_arr_foreach(arr, i, n, item) {
        if (i) strcat(joined, ",");
        strcat(joined, yyjson_get_str(item));
    }
    int rc = set_string(cfg, o, joined, strlen(joined), ctx);
    free(joined);
    return rc;
}

static int set_choice(config_t *cfg, const option_t *o, const char *s, config_ctx_t *ctx) {
    for (int i = 0; o->choices[i]; i++) {
        if (strcmp(s, o->choices[i]) != 0) continue;
        if (o->kind == OPT_CHOICE_ENUM) {
            *(int *)field_of(cfg, o) = i;
            return 0;
        }
        return set_string(cfg, o, s, strlen(s), ctx);
    }
    char list[128];
    return config_fail(ctx, "%s: \"%s\" is not one of %s", name_of(o, ctx), s,
                       choices_text(o->choices, list, sizeof list));
}

static int set_number(config_t *cfg, const option_t *o, long long v, config_ctx_t *ctx) {
    if (v < o->min || v > o->max)
        return config_fail(ctx, "%s: %lld is out of range (%lld..%lld)", name_of(o, ctx), v, o->min, o->max);
    if (o->kind == OPT_INT) *(int *)field_of(cfg, o) = (int)v;
    else *(long *)field_of(cfg, o) = (long)v;
    return 0;
}

static const char *json_type_name(yyjson_val *v) {
    switch (yyjson_get_type(v)) {
    case YYJSON_TYPE_STR: return "a string";
    case YYJSON_TYPE_BOOL: return "a boolean";
    case YYJSON_TYPE_NULL: return "null";
    case YYJSON_TYPE_ARR: return "an array";
    case YYJSON_TYPE_OBJ: return "an object";
    case YYJSON_TYPE_NUM: return yyjson_is_real(v) ? "a fractional number" : "an integer";
    default: return "an unknown value";
    }
}

static int apply_json_value(config_t *cfg, const option_t *o, yyjson_val *v, config_ctx_t *ctx) {
    switch (o->kind) {
    case OPT_INT:
    case OPT_LONG:
        if (yyjson_is_sint(v)) return set_number(cfg, o, (long long)yyjson_get_sint(v), ctx);
        if (yyjson_is_uint(v)) {
            uint64_t u = yyjson_get_uint(v);
            return set_number(cfg, o, u > (uint64_t)LLONG_MAX ? LLONG_MAX : (long long)u, ctx);
        }
        return config_fail(ctx, "%s: expected an integer, got %s", o->key, json_type_name(v));
    case OPT_BOOL:
        if (!yyjson_is_bool(v)) return config_fail(ctx, "%s: expected true or false, got %s", o->key, json_type_name(v));
        *(bool *)field_of(cfg, o) = yyjson_get_bool(v);
        return 0;
    case OPT_STRING:
        if (!yyjson_is_str(v)) return config_fail(ctx, "%s: expected a string, got %s", o->key, json_type_name(v));
        return set_string(cfg, o, yyjson_get_str(v), yyjson_get_len(v), ctx);
    case OPT_CHOICE_ENUM:
    case OPT_CHOICE_STR:
        if (!yyjson_is_str(v)) return config_fail(ctx, "%s: expected a string, got %s", o->key, json_type_name(v));
        return set_choice(cfg, o, yyjson_get_str(v), ctx);
    case OPT_MODELS:
        if (!yyjson_is_arr(v)) return config_fail(ctx, "%s: expected an array, got %s", o->key, json_type_name(v));
        return config_models_from_json(cfg, v, ctx);
    case OPT_ALIASES:
        if (!yyjson_is_obj(v)) return config_fail(ctx, "%s: expected an object, got %s", o->key, json_type_name(v));
        return config_aliases_from_json(cfg, v, ctx);
    case OPT_ACCOUNTS:
        if (!yyjson_is_arr(v)) return config_fail(ctx, "%s: expected an array, got %s", o->key, json_type_name(v));
        return config_accounts_from_json(cfg, v, ctx);
    case OPT_LIST:
        if (yyjson_is_str(v)) return set_string(cfg, o, yyjson_get_str(v), yyjson_get_len(v), ctx);
        if (!yyjson_is_arr(v))
            return config_fail(ctx, "%s: expected an array of strings, got %s", o->key, json_type_name(v));
        return set_list(cfg, o, v, ctx);
    }
    return -1;
}

static const option_t *find_key(const char *key, bool is_case_insensitive) {
    for (size_t i = 0; i < OPTION_COUNT; i++)
        if (is_case_insensitive ? !strcasecmp(OPTIONS[i].key, key) : !strcmp(OPTIONS[i].key, key)) return &OPTIONS[i];
    return NULL;
}

int config_apply_json(config_t *cfg, yyjson_val *root, config_ctx_t *ctx) {
    yyjson_val *key, *val;
    yyjson_obj_iter it = yyjson_obj_iter_with(root);
    while ((key = yyjson_obj_iter_next(&it))) {
        val = yyjson_obj_iter_get_val(key);
        const char *name = yyjson_get_str(key);
        const option_t *o = find_key(name, false);
        if (!o) {
            const option_t *near = find_key(name, true);
            if (near) return config_fail(ctx, "unknown key \"%s\" (did you mean \"%s\"?)", name, near->key);
            return config_fail(ctx, "unknown key \"%s\"", name);
        }
        if (apply_json_value(cfg, o, val, ctx) < 0) return -1;
    }
    return 0;
}

/* ---- environment ---- */

static int parse_env_bool(const char *s, bool *out) {
    static const char *const yes[] = {"true", "1", "yes", "on"}, *const no[] = {"false", "0", "no", "off"};
    for (size_t i = 0; i < 4; i++) {
        if (!strcasecmp(s, yes[i])) return *out = true, 0;
        if (!strcasecmp(s, no[i])) return *out = false, 0;
    }
    return -1;
}

static int apply_env_value(config_t *cfg, const option_t *o, const char *s, config_ctx_t *ctx) {
    switch (o->kind) {
    case OPT_INT:
    case OPT_LONG: {
        char *end;
        errno = 0;
        long long v = strtoll(s, &end, 10);
        while (*end == ' ' || *end == '\t') end++;
        if (end == s || *end || errno == ERANGE)
            return config_fail(ctx, "%s: expected an integer, got \"%s\"", o->env, s);
        return set_number(cfg, o, v, ctx);
    }
    case OPT_BOOL:
        if (parse_env_bool(s, field_of(cfg, o)) < 0)
            return config_fail(ctx, "%s: expected true or false, got \"%s\"", o->env, s);
        return 0;
    case OPT_STRING:
    case OPT_LIST: return set_string(cfg, o, s, strlen(s), ctx);
    case OPT_CHOICE_ENUM:
    case OPT_CHOICE_STR: return set_choice(cfg, o, s, ctx);
    case OPT_MODELS:
    case OPT_ALIASES:
    case OPT_ACCOUNTS: break; /* file only */
    }
    return -1;
}

int config_apply_env(config_t *cfg, char *const *envp, config_ctx_t *ctx) {
    if (!envp) return 0;
    for (size_t i = 0; i < OPTION_COUNT; i++) {
        const option_t *o = &OPTIONS[i];
        if (!o->env) continue;
        size_t n = strlen(o->env);
        const char *value = NULL;
        /* The last assignment wins, as getenv would see it. */
        for (char *const *e = envp; *e; e++)
            if (!strncmp(*e, o->env, n) && (*e)[n] == '=') value = *e + n + 1;
        if (!value) continue;
        /* Empty means unset: `AUTH_TOKEN=${AUTH_TOKEN}` in a compose file must not wipe the file's key. */
        if (!*value) continue;
        if (apply_env_value(cfg, o, value, ctx) < 0) return -1;
    }
    return 0;
}
