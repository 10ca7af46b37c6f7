/* Private to session.c and session_io.c: the session struct and the helpers they share. */
#ifndef CWP_ENGINE_SESSION_INTERNAL_H
#define CWP_ENGINE_SESSION_INTERNAL_H
#include "engine/fingerprint.h"
#include "engine/process.h"
#include "engine/session.h"
#include "engine/session_phase.h"
#include "engine/tools.h"
#include "engine/transcript.h" /* TRANSCRIPT_UUID_LEN */
#include "engine/turn.h"
#include "transport/transport.h"

typedef enum {
    TIMER_NONE,
    TIMER_START,    /* initialize not answered (or the WebSocket not connected) in time */
    TIMER_STALL,    /* silence during a turn */
    TIMER_TOOL,     /* a client tool result awaited */
    TIMER_IDLE,     /* an idle session's lifetime */
    TIMER_DRAIN,    /* an interrupted turn's result awaited */
    TIMER_REWIND,   /* the answer to rewind_conversation awaited */
    TIMER_EXIT_EOF, /* the CLI exited; the rest of its output awaited */
} session_timer_t;

struct session_s {
    session_env_t env;
    session_owner_t owner;
    session_phase_t phase; /* change it only through session_enter */
    char id[17];
    char *model, *effort, *client;
    int64_t thinking_tokens; /* what the CLI was last told (set_max_thinking_tokens), as engine_request_t's */
    char *dir, *home, *cwd; /* dir = <sessions_dir>/<id>; cwd is the work dir in agent mode */
    char *config_dir;       /* the child's CLAUDE_CONFIG_DIR */
    account_t *account;     /* whose credentials it runs with */
    char *transcript_path;  /* the seeded history, removed at the end */
    char *spawn_system;     /* the system prompt given at spawn (CLIs that ignore initialize's), or NULL */
    transport_t *transport;
    process_t *process;
    tools_t *tools;
    uv_timer_t timer;
    session_timer_t timer_kind;
    char init_id[32];
    unsigned control_seq;
    /* Facts that are not phases (each can hold in several phases, or none follows from the phase):
     * whether the channel opened (a turn may be given to a WebSocket CLI before it connects), how the
     * process was spawned, a recycle asked for while busy, back-pressure, and the teardown guard. */
    bool is_connected;   /* the transport opened (a WebSocket CLI connected) */
    bool is_dialed;      /* the CLI dials in to its transport (transport_launch_t.is_dialed) */
    bool is_warm;        /* spawned for the pool with the default model, not for a request */
    bool is_doomed;      /* recycle once the current turn is over */
    bool is_paused;      /* we stopped reading its output (the client is slow) */
    bool saw_first_line; /* its start-up time was reported */
    bool is_finished;    /* session_finish_after_exit ran: the disk is cleaned, the free is under way */
    /* the turn */
    session_sink_t sink;
    void *sink_arg;
    bool has_sink;
    turn_stream_t *stream;
    fingerprint_ctx_t *conversation; /* request + (when done) the reply */
    fingerprint_t held;              /* the conversation an IDLE session holds */
    bool has_held;
    char *error_kind, *error_text;   /* from the CLI's synthetic error message */
    int64_t retry_delay_ms;          /* the CLI's last api_retry wait this turn (the upstream's retry-after) */
    /* taking back a turn that failed or was interrupted (session_rewind.c) */
    struct {
        char uuid[TRANSCRIPT_UUID_LEN + 1]; /* the turn's user line; "" when it sent none (a seeded resume) */
        fingerprint_t base;                 /* the conversation before that line: held again once rewound */
        bool is_first_turn;                 /* nothing was exchanged before it */
        char control_id[32];
        const char *why;                    /* "turn interrupted" | "turn failed": the close reason if refused */
        engine_error_t error;               /* the upstream error the client gets once the CLI answered */
        char *error_text;
        bool has_error;
    } rewind;
    /* A stream_event line whose long delta the turn stream still sends in pieces (turn.h): kept until the
     * last piece is out, the CLI not read meanwhile; the rest goes out from the loop (kick). */
    yyjson_doc *held_line;
    struct session_kick_s *kick;
    /* client tools */
    bool resumes_tool_turn;  /* seeded with tool results: the first turn sends no user line */
    bool is_split_turn;      /* this CLI turn was split into several responses at client tool calls */
    /* for the dashboard and logs */
    uint64_t created_ms, last_used_ms, spawn_ms;
    uint64_t last_used_ns; /* for least-recently-used order: the loop's ms clock ties within an iteration */
    int turns;
    int64_t input_tokens, output_tokens;
    double cost_usd;
    unsigned garbage_lines;
    int exit_status, term_signal;
};

/* The one way a session changes phase: logged; a change the phase table does not have is refused (logged
 * as an error, false returned, the phase kept). */
bool session_enter(session_t *s, session_phase_t next, const char *why);
/* The turn's response is over: finish its stream. usage: the CLI's result usage, or NULL with is_own_usage
 * (a turn split at client tool calls: this response's own counts), or NULL alone (cut: the estimate).
 * NULL when the message cannot be assembled (*ts says why). */
yyjson_doc *session_finish_response(session_t *s, yyjson_val *usage, bool is_own_usage, turn_stream_status_t *ts);
/* The one hand-off of a finished response to its client: detach the sink, enter next, then give the
 * client msg (on_done), or an error when msg is NULL, if it is still there. Takes msg. *was_attached:
 * the client got it. Returns whether the session is still in next afterwards (on_done may close it). */
bool session_deliver(session_t *s, yyjson_doc *msg, turn_stream_status_t ts, session_phase_t next, bool *was_attached);

void session_set_timer(session_t *s, session_timer_t kind, uint64_t ms);
/* The connect deadline of a WebSocket CLI: SESSION_WS_CONNECT_TIMEOUT_MS, at most startTimeoutMs. */
uint64_t session_ws_connect_ms(const session_t *s);
/* Send a line we built (takes it, even on failure). */
int session_send(session_t *s, char *line, size_t len);
void session_fail(session_t *s, engine_error_kind_t kind, const char *message);
/* A WebSocket CLI never connected: stdio from now on, the turn (if any) goes back to the pool, s ends. */
void session_ws_failed(session_t *s, engine_error_kind_t kind, const char *message);
void session_drain(session_t *s);
void session_on_result(session_t *s, yyjson_val *root);
/* The turn's client gets err (or nothing, err NULL) through its sink, if it is still attached. */
void session_sink_error(session_t *s, const engine_error_t *err);
/* session_rewind.c: the turn is over but the CLI holds it (interrupted, or failed upstream): ask the CLI
 * to take it back, so the session holds the conversation it held before. err (or NULL) is copied and
 * reaches the client once the CLI answered. false: the CLI cannot (its version, no user line sent, a
 * first turn it refuses to rewind): the caller ends the session. */
bool session_rewind(session_t *s, const engine_error_t *err);
/* session_rewind.c: the CLI's answer to rewind_conversation (a control_response line). */
void session_on_rewind_answer(session_t *s, yyjson_val *root);
/* session_rewind.c: give the client the error held during a rewind, if any (and forget it). */
void session_rewind_deliver_error(session_t *s);
void session_rewind_free(session_t *s);
/* session_rewind.c: remember the user line a turn starts with (fills uuid; "" when out of randomness). */
void session_rewind_mark_turn(session_t *s, const engine_request_t *req);
void session_on_cut(session_t *s);
/* The process is gone (or never started): clean up the disk, then free the session. */
void session_finish_after_exit(session_t *s);
/* A new client response for req: a fresh turn_stream and conversation, the turn's tool_choice. */
int session_begin_response(session_t *s, const engine_request_t *req);
/* Attach the turn's consumer: BUSY from now on. */
void session_attach(session_t *s, const engine_request_t *req, const session_sink_t *sink, void *sink_arg);
/* session_tools.c: the client-tools side of the CLI's traffic. */
void session_on_mcp(session_t *s, yyjson_val *control_request);
bool session_allows_tool(const session_t *s, const char *tool_name);
/* After a stream event or a tools/call: end the response at the client's tool calls if it is time. */
void session_check_tool_stop(session_t *s);
void session_on_tool_timeout(session_t *s);
/* session_io.c: tell the CLI the turn's thinking setting when it differs from the last one (a control
 * request the CLI applies before the user line that follows). Returns 0 or negative. */
int session_send_thinking(session_t *s, int64_t thinking_tokens);
/* session_io.c: make the CLI list the client tools again (they changed after it listed them). */
int session_relist_tools(session_t *s);
/* session_io.c: give the CLI the turn's model (set_model) when it is not the one it runs. 0 or negative. */
int session_send_model(session_t *s, const char *model);
/* session.c: stop (or start again) reading the CLI, and its stall clock with it. */
void session_pause_reading(session_t *s, bool paused);
/* session_io.c: the consumer is ready again: if a line is held, its rest goes out from the loop (and the
 * CLI is read again after it). Returns false when no line is held. */
bool session_resume_held_line(session_t *s);
/* session_io.c: forget the held line; is_final: the session ends (its loop handle closes too). */
void session_drop_held_line(session_t *s, bool is_final);
/* session_io.c: spawn the process with its transport. Returns 0 or a negative uv error. */
int session_start_process(session_t *s, const char *resume_id);

/* A use for idle timing (loop ms) and for least-recently-used order (hrtime: ms ties within an iteration). */
static inline void session_mark_used(session_t *s) {
    s->last_used_ms = uv_now(s->env.loop);
    s->last_used_ns = uv_hrtime();
}

#endif
