/*
 * A session: one CLI process and the conversation it holds. The state machine:
 *
 *   STARTING ──open──▶ READY (warm: spawned, not yet initialized; the CLI waits for its first line)
 *      │                 │ run_turn (initialize with the request's system prompt, then the user line)
 *      └──run_turn──────▶ BUSY ◀──run_turn── IDLE (holds a conversation, fingerprinted)
 *                          │  ▲                 ▲
 *            tools/call    ▼  │ tool result     │ result (success)
 *                        WAITING                │
 *                          BUSY ────────────────┘
 *   any ──fault / timeout / recycle / shutdown──▶ CLOSING ──reaped──▶ gone (owner's on_gone, then freed)
 *
 * A turn's output goes to a sink (the engine's turn). The sink returns false when its consumer went
 * away; the session then interrupts the CLI, waits (bounded) for the result, and recycles itself: a
 * conversation the client never saw whole cannot be continued.
 */
#ifndef CWP_ENGINE_SESSION_H
#define CWP_ENGINE_SESSION_H
#include <stdbool.h>
#include <stdint.h>
#include <uv.h>
#include <yyjson.h>

#include "config.h"
#include "engine/accounts.h"
#include "engine/cli.h"
#include "engine/engine.h"
#include "engine/fingerprint.h"
#include "engine/request.h"
#include "transport/transport.h"

/* How long an interrupted turn may take to report its result before the process is ended anyway. */
#define SESSION_DRAIN_MS 5000
/* After the CLI exits, how long to wait for the rest of its output (EOF) before giving up on it. */
#define SESSION_EXIT_EOF_MS 2000
/* Between closing stdin and SIGTERM; the CLI exits on EOF within milliseconds. */
#define SESSION_EXIT_DELAY_MS 1000
#define SESSION_BIG_ANSWER_BYTES ((size_t)4 << 20) /* answers this big give their memory back at once */
#define SESSION_KILL_GRACE_MS 3000
/* Garbage lines logged per session (the rest are counted). */
#define SESSION_MAX_GARBAGE_LOGS 20
/* Garbage lines a session may write before it counts as broken (a few stray lines are skipped). */
#define SESSION_MAX_GARBAGE_LINES 100
/* How long a WebSocket CLI may take to connect (at most startTimeoutMs) before stdio takes over. */
#define SESSION_WS_CONNECT_TIMEOUT_MS 10000

typedef enum {
    SESSION_STARTING,
    SESSION_READY,
    SESSION_BUSY,
    SESSION_WAITING,
    SESSION_IDLE,
    SESSION_CLOSING,
} session_state_t;

typedef struct session_s session_t;

typedef struct {
    bool (*on_event)(void *arg, yyjson_val *event);     /* false: the consumer went away */
    bool (*on_rate_limit)(void *arg, yyjson_val *info); /* false: the consumer went away */
    void (*on_done)(void *arg, yyjson_val *message);    /* ends the turn */
    void (*on_error)(void *arg, const engine_error_t *err); /* ends the turn */
    /* Optional, ends the turn: the session failed before the CLI saw the turn and nothing reached the
     * consumer (a WebSocket CLI that never connected), so the turn can be placed again. */
    void (*on_bounced)(void *arg);
} session_sink_t;

/* What every session shares (owned by the engine, outlives the sessions). */
typedef struct {
    uv_loop_t *loop;
    const config_t *cfg;
    const cli_info_t *cli;
    char *const *base_env;
    transport_maker_t transport; /* makes each session's channel (stdio or WebSocket) */
    engine_observer_t observer; /* hooks may be NULL */
    const char *config_dir;   /* the children's CLAUDE_CONFIG_DIR */
    const char *sessions_dir; /* <stateDir>/sessions: private homes and working directories */
    void (*on_reaped)(void *arg); /* a child is gone (the engine counts them for shutdown) */
    void *reaped_arg;
    /* A CLI given --sdk-url never connected (it exited first, or the connect timeout passed): later
     * sessions should use stdio. Called before s closes. */
    void (*on_ws_unreachable)(void *arg, session_t *s, const char *why);
    void *ws_arg;
    /* The CLI answered initialize; models is its response's `models` array (may be NULL). Optional. */
    void (*on_cli_models)(void *arg, yyjson_val *models);
    void *models_arg;
} session_env_t;

typedef struct {
    void (*on_available)(void *owner, session_t *s); /* READY (warm) or IDLE after a turn */
    void (*on_closing)(void *owner, session_t *s);   /* out of service; the process is being ended */
    void (*on_gone)(void *owner, session_t *s);      /* reaped: s is freed when this returns */
    void *owner;
} session_owner_t;

typedef struct {
    const char *model;         /* NULL: a warm process (no --model; its first turn sends set_model) */
    const char *system;        /* the system prompt ("" or NULL: none); used at spawn by CLIs that
                                * ignore initialize's (see session_fits_system) */
    const char *effort;        /* or NULL */
    yyjson_val *tools;         /* the request's tools, offered through MCP; NULL = none */
    yyjson_val *seed_messages; /* history to load as a transcript, or NULL */
    size_t seed_count;         /* messages[0, seed_count) */
    const char *client;
    account_t *account;        /* whose credentials the CLI runs with (outlives the session) */
    bool is_warm;
    /* The seeded history ends with the client's tool results (a follow-up whose parked session is gone):
     * the CLI resumes that interrupted turn by itself, so no user line is sent. */
    bool resumes_tool_turn;
} session_spawn_t;

/* Spawn a process. NULL with *err filled when it cannot be started. */
session_t *session_spawn(const session_env_t *env, const session_spawn_t *sp, const session_owner_t *owner,
                         engine_error_t *err);
/*
 * Run a turn: READY or STARTING (initialize + user line) or IDLE (user line). req is borrowed for this
 * call. Returns 0, or negative when nothing could be sent (the session is then closing).
 */
int session_run_turn(session_t *s, const engine_request_t *req, const session_sink_t *sink, void *sink_arg);
/*
 * Client tools (session_tools.c). A WAITING session ended its last response at client tool calls and
 * holds the CLI waiting on them. session_awaits_tool: is tool_use_id one of those calls (or, letters and
 * digits alike, the only one that can be meant: see tools_match_id)?
 * session_resume_turn: the follow-up request (its final user message carries the tool results) answers
 * them, and the turn's continuation streams into sink. Returns 0, or negative (nothing was sent).
 */
bool session_awaits_tool(const session_t *s, const char *tool_use_id); /* the id as the client may rewrite it */
bool session_awaits_exactly(const session_t *s, const char *tool_use_id);
int session_resume_turn(session_t *s, const engine_request_t *req, const session_sink_t *sink, void *sink_arg);
/* The turn's consumer left (outside a sink callback): no more sink calls; interrupt and recycle. */
void session_detach_turn(session_t *s);
/* End the session; a turn still attached gets on_error (503, reason). */
void session_close(session_t *s, const char *reason);
/* Back-pressure: stop (and resume) reading the CLI while the client is slow. */
void session_set_paused(session_t *s, bool paused);
/* Recycle after the current turn instead of keeping the conversation (credentials changed). */
void session_mark_doomed(session_t *s);

session_state_t session_state(const session_t *s);
const char *session_state_name(session_state_t state);
const char *session_id(const session_t *s);
const char *session_model(const session_t *s);
account_t *session_account(const session_t *s);
bool session_is_warm(const session_t *s);
/* Spawned warm and never given a turn, whatever its state now (closing included). */
bool session_was_warm(const session_t *s);
bool session_has_tools(const session_t *s);
/* Can this session's first turn have this system prompt? Always, unless its CLI took it at spawn. */
bool session_fits_system(const session_t *s, const char *system);
/* IDLE and holding exactly this conversation. */
bool session_holds(const session_t *s, const fingerprint_t *fp);
/* When the session last started or finished a turn (uv_hrtime ns: only for ordering). */
uint64_t session_last_used(const session_t *s);
void session_info(const session_t *s, engine_session_info_t *out);

#endif
