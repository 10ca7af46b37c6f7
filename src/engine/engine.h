/*
 * The engine's turn API: what the API adapters use. It knows nothing of HTTP or dialects.
 *
 * A request arrives in one canonical form, an Anthropic Messages request (the OpenAI adapter converts
 * to it). Events come back as Anthropic Messages stream events, ready for the client: block indexes start
 * at 0 for each client response, tool names are the client's own (no mcp__ prefix), and stop sequences
 * and max_tokens are already applied. Exactly one of on_done / on_error ends a turn.
 *
 * Client tools (body.tools): when the model calls them, the turn ends with those tool_use blocks and
 * stop_reason "tool_use" while the CLI stays parked on the calls; a request whose final user message
 * carries the tool_result blocks continues that same CLI turn (see session_tools.c, tool_choice.h).
 */
#ifndef CWP_ENGINE_ENGINE_H
#define CWP_ENGINE_ENGINE_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>
#include <yyjson.h>

#include "config.h"

typedef struct engine_s engine_t;
typedef struct turn_s turn_t;
typedef struct metrics_s metrics_t;

typedef enum {
    ENGINE_ERR_INVALID_REQUEST, /* 400: the request cannot be run as given */
    ENGINE_ERR_AUTHENTICATION,  /* 401: the CLI or upstream rejected the credentials */
    ENGINE_ERR_PERMISSION,      /* 403 */
    ENGINE_ERR_NOT_FOUND,       /* 404: unknown model */
    ENGINE_ERR_RATE_LIMIT,      /* 429: upstream rate limit */
    ENGINE_ERR_QUEUE_FULL,      /* 429: every process busy and the queue full, or the wait timed out */
    ENGINE_ERR_OVERLOADED,      /* 529 */
    ENGINE_ERR_UPSTREAM,        /* 500: upstream api_error or an error we cannot classify */
    ENGINE_ERR_CLI_FAILED,      /* 502: the CLI crashed, exited or wrote garbage */
    ENGINE_ERR_TIMEOUT,         /* 504: the CLI never became ready or went silent */
    ENGINE_ERR_UNAVAILABLE,     /* 503: shutting down, or the CLI cannot be started */
} engine_error_kind_t;

typedef struct {
    engine_error_kind_t kind;
    int http_status;       /* the status that fits (400, 401, 404, 429, 500, 502, 503, 504, 529) */
    int retry_after_s;     /* > 0 when the caller should retry later */
    const char *message;   /* upstream's own words where it gave them */
} engine_error_t;

typedef struct {
    const char *request_id;
    const char *client;      /* who asked (user agent or address), for the dashboard */
    const char *endpoint;    /* "/v1/messages", ... for the dashboard */
    /* Anthropic Messages request: model (already resolved), system, messages, max_tokens,
     * stop_sequences, thinking, tools, tool_choice, metadata. Borrowed for the call only. */
    yyjson_val *body;
    const char *json_schema; /* structured output: a JSON Schema (text), or NULL */
    const char *effort;      /* "low" | "medium" | "high" | NULL */
} turn_request_t;

typedef struct {
    /* One stream event (message_start, content_block_start/delta/stop, message_delta, message_stop);
     * borrowed, valid during the call only. */
    void (*on_event)(void *arg, yyjson_val *event);
    /* The finished message: id, type, role, model, content[], stop_reason, stop_sequence, usage. */
    void (*on_done)(void *arg, yyjson_val *message);
    void (*on_error)(void *arg, const engine_error_t *err);
    /* Optional: rate-limit information the CLI reported (rate_limit_event's object). The CLI reports it when
     * an upstream response is complete: before on_error for a refused request, after the events of a good one. */
    void (*on_rate_limit)(void *arg, yyjson_val *info);
} turn_callbacks_t;

typedef struct {
    int live;         /* processes alive */
    int warm;         /* spawned, never used, ready */
    int busy;         /* running a turn */
    int waiting;      /* parked on the host (client tool result) */
    int idle;
    int queued;       /* requests waiting for a process */
    const char *cli_version;
    const char *transport;        /* "stdio" | "websocket" */
    const char *transport_reason; /* why that transport was chosen */
    bool is_cli_found;
} engine_stats_t;

typedef struct {
    const char *id;
    const char *model;
    const char *state;  /* "starting" | "ready" | "busy" | "waiting" | "idle" | "closing" */
    double age_ms;
    int turns;
    int64_t input_tokens;
    int64_t output_tokens;
    double cost_usd;
    const char *client;
} engine_session_info_t;

/* One Claude account (config `accounts`), for /health, /auth/status, the dashboard and /metrics. Never a secret. */
typedef struct {
    const char *name;
    const char *kind;           /* "config_dir" | "oauth_token" | "api_key" | "implicit" */
    const char *config_dir;     /* config_dir accounts: where its credentials live; else NULL */
    int priority;
    bool is_limited;
    int64_t limited_until_ms;   /* wall clock; 0 when not limited */
    const char *limit_reason;   /* why it rests ("rate_limit", "overloaded", "authentication", ...) or NULL */
    int live_sessions;
    int64_t requests, failovers;
    int64_t input_tokens, output_tokens;
    double cost_usd;
    int64_t limited_ms_total;   /* how long it has rested, ended rests and the current one so far */
} engine_account_info_t;

engine_t *engine_new(uv_loop_t *loop, const config_t *cfg, metrics_t *metrics);
/* Find the CLI, pick the transport, start warm processes. Returns 0 or negative (message in err). */
int engine_start(engine_t *eng, char *err, size_t err_len);
/* End every child (stdin closed, SIGTERM, SIGKILL after a grace period); done runs when all are reaped. */
void engine_shutdown(engine_t *eng, void (*done)(void *arg), void *arg);
void engine_free(engine_t *eng);

/*
 * Start a turn. Returns NULL and fills *err when it fails at once (invalid request, queue full,
 * shutting down); otherwise callbacks follow asynchronously, never from inside this call.
 */
turn_t *engine_start_turn(engine_t *eng, const turn_request_t *req, const turn_callbacks_t *cb, void *arg,
                          engine_error_t *err);
/* The client went away: interrupt the turn. No callback runs after this returns. */
void turn_cancel(turn_t *turn);
/* Back-pressure: stop (and resume) reading the CLI's output while the client is slow. */
void turn_set_paused(turn_t *turn, bool paused);

void engine_get_stats(engine_t *eng, engine_stats_t *out);
void engine_foreach_session(engine_t *eng, void (*fn)(const engine_session_info_t *info, void *arg), void *arg);
/* Credentials changed (logout/login): end idle and warm processes, let busy ones finish, then end them. */
void engine_recycle_all(engine_t *eng);
/* The accounts, in configuration order (without the setting: nothing, unless include_implicit). */
void engine_foreach_account(engine_t *eng, bool include_implicit, void (*fn)(const engine_account_info_t *info, void *arg),
                            void *arg);
/* One account's credentials changed (its login or logout): recycle its processes, end its rest. Returns
 * 0, or -1 when no account has that name. */
int engine_recycle_account(engine_t *eng, const char *name);

#endif
