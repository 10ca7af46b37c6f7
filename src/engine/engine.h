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
#include "engine/cli_models.h"

typedef struct engine_s engine_t;
typedef struct turn_s turn_t;

/* What went wrong, as the engine saw it. What a client is told (status, type, code) is the API layer's
 * business: one table in api/errors.c. */
typedef enum {
    ENGINE_ERR_INVALID_REQUEST, /* the request cannot be run as given (or upstream refused it as invalid) */
    ENGINE_ERR_AUTHENTICATION,  /* the CLI or upstream rejected the credentials */
    ENGINE_ERR_PERMISSION,      /* upstream refused (permission, billing) */
    ENGINE_ERR_NOT_FOUND,       /* unknown model */
    ENGINE_ERR_RATE_LIMIT,      /* upstream rate limit */
    ENGINE_ERR_QUEUE_FULL,      /* every process busy and the queue full, or the wait timed out */
    ENGINE_ERR_OVERLOADED,      /* upstream overloaded */
    ENGINE_ERR_UPSTREAM,        /* upstream api_error or an error we cannot classify */
    ENGINE_ERR_CLI_FAILED,      /* the CLI crashed, exited or wrote garbage */
    ENGINE_ERR_TIMEOUT,         /* the CLI never became ready or went silent */
    ENGINE_ERR_UNAVAILABLE,     /* shutting down, or the CLI cannot be started */
} engine_error_kind_t;

/* "invalid_request", "queue_full", ...: for logs. */
const char *engine_error_kind_name(engine_error_kind_t kind);

typedef struct {
    engine_error_kind_t kind;
    int upstream_status;   /* the HTTP status upstream answered (400..599), 0 when the failure was not upstream's */
    int retry_after_s;     /* > 0 when the caller should retry later */
    const char *message;   /* upstream's own words where it gave them */
} engine_error_t;

/* The parts of one system prompt join with this (api/canonical.h builds system text by the same rule). */
#define ENGINE_SYSTEM_PART_SEP "\n"

typedef struct {
    const char *request_id;
    const char *client;      /* who asked (user agent or address), for the dashboard */
    const char *endpoint;    /* "/v1/messages", ... for the dashboard */
    /* Anthropic Messages request: model (already resolved), system, messages, max_tokens,
     * stop_sequences, thinking, tools, tool_choice, metadata. Borrowed for the call only. */
    yyjson_val *body;
    const char *json_schema; /* structured output: a JSON Schema (text), or NULL */
    const char *effort;      /* "low" | "medium" | "high" | NULL */
    /* The client takes the events as they come and needs no text or thinking in on_done's message: a long
     * answer is then streamed through, not kept (its message's text blocks may come empty). */
    bool is_streamed;
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

/* What the engine reports as it runs, for whoever counts (metrics, the dashboard). Every hook may be NULL;
 * they run on the loop, inside engine callbacks: count, do not call back into the engine. */
typedef struct {
    void (*on_spawn)(void *arg, double spawn_ms); /* a CLI answered its first line this long after spawn */
    void (*on_crash)(void *arg);                  /* a CLI failed (exited, broke the protocol) */
    void (*on_interrupt)(void *arg);              /* a turn was interrupted (its client left) */
    void (*on_rewind)(void *arg);                 /* a failed or interrupted turn was taken back: process kept */
    void (*on_tokens)(void *arg, int64_t input_tokens, int64_t output_tokens, double cost_usd);
    void *arg;
} engine_observer_t;

/* observer: NULL, or copied. */
engine_t *engine_new(uv_loop_t *loop, const config_t *cfg, const engine_observer_t *observer);
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
/* The models the CLI's initialize answers listed so far (none before a first session initialized). */
const cli_models_t *engine_cli_models(const engine_t *eng);
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
