/* Settings from config.json and the environment (the environment wins). */
#ifndef CWP_CONFIG_H
#define CWP_CONFIG_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef enum { MODE_API, MODE_AGENT } proxy_mode_t;
typedef enum { TRANSPORT_AUTO, TRANSPORT_WEBSOCKET, TRANSPORT_STDIO } transport_kind_t;

typedef struct {
    char *id;
    char *display_name;
    char *created_at; /* RFC 3339 */
} model_entry_t;

typedef struct {
    char *alias;  /* e.g. "gpt-4o" */
    char *target; /* a Claude model id */
} model_alias_t;

/* One Claude login the CLIs can use (config `accounts`); exactly one credential is set. */
typedef enum { ACCOUNT_CONFIG_DIR, ACCOUNT_OAUTH_TOKEN, ACCOUNT_API_KEY } account_kind_t;

typedef struct {
    char *name;          /* unique; [A-Za-z0-9._-], shown in /health, logs, metrics */
    account_kind_t kind;
    char *credential;    /* the config dir, the OAuth token or the API key (never logged or shown) */
    int priority;        /* lower first; equal ones share (default 1) */
} config_account_t;

#define CONFIG_ACCOUNTS_MAX 32
#define CONFIG_ACCOUNT_NAME_MAX 64

typedef struct {
    /* reference-design settings */
    int http_port;              /* httpPort / HTTP_PORT, 3456 */
    int ws_port;                /* wsPort / WS_PORT, 8765 */
    char *claude_path;          /* claudePath / CLAUDE_PATH, "claude" */
    char *default_model;        /* defaultModel / DEFAULT_MODEL */
    bool auto_approve_tool;     /* autoApproveTool, true */
    int max_sessions;           /* maxSessions / MAX_SESSIONS, 5 */
    long session_timeout_ms;    /* sessionTimeoutMs / SESSION_TIMEOUT_MS, 300000 */
    char *auth_token;           /* authToken / AUTH_TOKEN, "" (legacy key) */
    bool require_api_key;       /* requireApiKey / REQUIRE_API_KEY, false */
    char *api_key;              /* apiKey / API_KEY, "" */
    model_entry_t *models;      /* models: what /v1/models lists */
    size_t model_count;

    /* ours */
    char *host;                 /* host / HOST, "127.0.0.1" */
    proxy_mode_t mode;          /* mode / MODE, "api" */
    char *work_dir;             /* workDir / WORK_DIR: agent mode's cwd */
    char *state_dir;            /* stateDir / STATE_DIR: per-process homes, transcripts */
    char *claude_config_dir;    /* claudeConfigDir / CLAUDE_CONFIG_DIR: where credentials live */
    transport_kind_t transport; /* transport / TRANSPORT, "auto" */
    int warm_sessions;          /* warmSessions / WARM_SESSIONS, 1 */
    int max_queue;              /* maxQueue / MAX_QUEUE, 32 */
    long queue_timeout_ms;      /* queueTimeoutMs / QUEUE_TIMEOUT_MS, 30000 */
    long start_timeout_ms;      /* startTimeoutMs / START_TIMEOUT_MS, 30000 */
    long stall_timeout_ms;      /* stallTimeoutMs / STALL_TIMEOUT_MS, 300000 */
    long tool_result_timeout_ms;/* toolResultTimeoutMs / TOOL_RESULT_TIMEOUT_MS, 600000 */
    long max_body_bytes;        /* maxBodyBytes / MAX_BODY_BYTES, 32 MiB */
    int max_connections;        /* maxConnections / MAX_CONNECTIONS, 256 */
    long header_timeout_ms;     /* headerTimeoutMs / HEADER_TIMEOUT_MS, 10000 */
    long idle_timeout_ms;       /* idleTimeoutMs / IDLE_TIMEOUT_MS, 60000 */
    long drain_timeout_ms;      /* drainTimeoutMs / DRAIN_TIMEOUT_MS, 10000 */
    long ping_interval_ms;      /* pingIntervalMs / PING_INTERVAL_MS, 10000: SSE keep-alive */
    model_alias_t *aliases;     /* modelAliases: OpenAI-style names → Claude ids */
    size_t alias_count;
    char *log_level;            /* logLevel / LOG_LEVEL, "info" */
    config_account_t *accounts; /* accounts: several logins (none: the one implicit account) */
    size_t account_count;
    bool allow_extra_usage;     /* allowExtraUsage / ALLOW_EXTRA_USAGE, true: overage is not a limit */
    long account_backoff_ms;    /* accountBackoffMs / ACCOUNT_BACKOFF_MS, 60000: first rest without a reset time */

    /* browsers and hostile peers */
    char *allowed_origins;      /* allowedOrigins / ALLOWED_ORIGINS, "": origins besides our own a browser may
                                 * call us from (comma-separated; an array in the file; "*" = any) */
    char *allowed_hosts;        /* allowedHosts / ALLOWED_HOSTS, "": Host names served besides the listening
                                 * address and loopback names (checked when bound to loopback or when set) */
    long body_timeout_ms;       /* bodyTimeoutMs / BODY_TIMEOUT_MS, 60000: a whole request body must arrive within it */
    int max_connections_per_client; /* maxConnectionsPerClient / MAX_CONNECTIONS_PER_CLIENT, 0 = maxConnections / 4, at least 16 */
} config_t;

const char *config_account_kind_name(account_kind_t kind);

/* Defaults only. */
void config_init_defaults(config_t *cfg);

/*
 * Load: defaults, then the JSON file (path may be NULL: "./config.json" if it exists), then the
 * environment (envp, NULL-terminated "K=V" strings). On failure returns -1 and writes a one-line
 * message naming the key into err.
 */
int config_load(config_t *cfg, const char *path, char *const *envp, char *err, size_t err_len);

void config_free(config_t *cfg);

/* The Claude model id an API caller's model name resolves to (aliases applied); never NULL. */
const char *config_resolve_model(const config_t *cfg, const char *requested);

/* True when requireApiKey is set with an apiKey, or authToken is set. */
bool config_is_key_required(const config_t *cfg);
/* True if key (from x-api-key or Authorization: Bearer; may be NULL) is accepted: apiKey or authToken,
 * compared in constant time. */
bool config_is_key_accepted(const config_t *cfg, const char *key);
/* 127.0.0.0/8, ::1, localhost. */
bool config_is_loopback_host(const char *host);
/* item is one of the comma-separated entries of list (compared case-insensitively, blanks trimmed). */
bool config_list_has(const char *list, const char *item, size_t item_len);
/* The per-client connection cap in effect (maxConnectionsPerClient, or a quarter of maxConnections). */
int config_connections_per_client(const config_t *cfg);
/* RFC 3339 ("2025-05-22T00:00:00Z", fractions and offsets allowed) → Unix seconds; false if malformed. */
bool config_parse_time(const char *rfc3339, int64_t *unix_s);

#endif
