/* A session's traffic: starting the process with its transport, and every line the CLI writes. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#ifdef __GLIBC__
#include <malloc.h> /* malloc_trim */
#endif

#include "engine/protocol.h"
#include "engine/session_internal.h"
#include "util/log.h"
#include "util/utf8.h"
#include "engine/tool_choice.h" /* CLIENT_TOOL_PREFIX */


/* ---- requests the CLI makes of us ---- */

static void answer_permission(session_t *s, const proto_line_t *l) {
    yyjson_val *req = yyjson_obj_get(l->root, "request");
    const char *tool = yyjson_get_str(yyjson_obj_get(req, "tool_name"));
    yyjson_val *input = yyjson_obj_get(req, "input");
    bool is_client_tool = tool && !strncmp(tool, CLIENT_TOOL_PREFIX, strlen(CLIENT_TOOL_PREFIX));
    bool is_agent = s->env.cfg->mode == MODE_AGENT;
    bool allow = is_client_tool ? session_allows_tool(s, tool) : (is_agent && s->env.cfg->auto_approve_tool);
    char why[256];
    if (is_client_tool) snprintf(why, sizeof why, "The request's tool_choice does not allow %s now.", tool);
    else if (is_agent) snprintf(why, sizeof why, "The proxy does not allow %s (autoApproveTool is off).", tool ? tool : "this tool");
    else snprintf(why, sizeof why, "%s is not available.", tool ? tool : "This tool");
    log_info("session.permission", "session=%s tool=%s allow=%d", s->id, tool ? tool : "-", allow);
    size_t len = 0;
    char *line = proto_build_permission(l->request_id, allow, input, why, &len);
    session_send(s, line, len);
}

static void on_control_request(session_t *s, const proto_line_t *l) {
    size_t len = 0;
    if (!strcmp(l->subtype, "can_use_tool")) {
        answer_permission(s, l);
    } else if (!strcmp(l->subtype, "mcp_message")) {
        session_on_mcp(s, l->root);
    } else {
        char msg[128];
        snprintf(msg, sizeof msg, "Unsupported control request subtype: %.64s", l->subtype);
        char *line = proto_build_control_error(l->request_id, msg, &len);
        session_send(s, line, len);
    }
}

int session_send_thinking(session_t *s, int64_t thinking_tokens) {
    if (thinking_tokens == s->thinking_tokens) return 0;
    char id[32];
    snprintf(id, sizeof id, "cwp-think-%u", ++s->control_seq);
    size_t len = 0;
    char *line = proto_build_set_thinking(id, thinking_tokens, &len);
    int rc = session_send(s, line, len);
    if (rc == 0) s->thinking_tokens = thinking_tokens;
    log_info("session.thinking", "session=%s control_id=%s max_thinking_tokens=%lld rc=%d", s->id, id,
             (long long)thinking_tokens, rc);
    return rc;
}

int session_relist_tools(session_t *s) {
    int rc = 0;
    for (int with_client = 0; with_client < 2 && rc == 0; with_client++) {
        char id[32];
        snprintf(id, sizeof id, "cwp-mcp-%u", ++s->control_seq);
        size_t len = 0;
        char *line = proto_build_mcp_set_servers(id, with_client, &len);
        rc = session_send(s, line, len);
    }
    log_info("session.tools_relist", "session=%s tools=%zu rc=%d", s->id, tools_count(s->tools), rc);
    return rc;
}

int session_send_model(session_t *s, const char *model) {
    if (!strcmp(model, s->model)) return 0;
    char *copy = strdup(model);
    if (!copy) return -ENOMEM;
    char id[32];
    snprintf(id, sizeof id, "cwp-model-%u", ++s->control_seq);
    size_t len = 0;
    char *line = proto_build_set_model(id, model, &len);
    int rc = session_send(s, line, len);
    log_info("session.model", "session=%s control_id=%s model=%s was=%s rc=%d", s->id, id, model,
             *s->model ? s->model : "-", rc);
    if (rc == 0) {
        free(s->model);
        s->model = copy;
    } else {
        free(copy);
    }
    return rc;
}

static void on_control_response(session_t *s, const proto_line_t *l) {
    if (!l->request_id) return;
    const char *error = NULL;
    if (*s->rewind.control_id && !strcmp(l->request_id, s->rewind.control_id)) {
        session_on_rewind_answer(s, l->root);
        return;
    }
    bool is_ok = proto_control_response_ok(l->root, &error);
    if (strcmp(l->request_id, s->init_id) != 0) {
        /* set_max_thinking_tokens, interrupt: a refusal leaves the turn running as the CLI sees fit. */
        if (!is_ok) log_warn("session.control_refused", "session=%s control_id=%s error=\"%.200s\"", s->id,
                             l->request_id, error ? error : "");
        return;
    }
    if (s->phase != SESSION_PHASE_INITIALIZING) return; /* answered already, or the turn is over */
    if (!is_ok) {
        char msg[256];
        snprintf(msg, sizeof msg, "the Claude Code CLI refused initialize: %.200s", error);
        session_fail(s, ENGINE_ERR_CLI_FAILED, msg);
        return;
    }
    if (s->env.on_cli_models) s->env.on_cli_models(s->env.models_arg, proto_initialize_models(l->root));
    log_debug("session.initialized", "session=%s ms=%llu", s->id,
              (unsigned long long)(uv_now(s->env.loop) - s->spawn_ms));
    if (session_enter(s, SESSION_PHASE_RUNNING, "initialized"))
        session_set_timer(s, TIMER_STALL, (uint64_t)s->env.cfg->stall_timeout_ms);
}

/* ---- what the CLI says about the turn ---- */

static void on_turn_status(session_t *s, turn_stream_status_t status) {
    switch (status) {
    case TURN_STREAM_OK: session_check_tool_stop(s); break;
    case TURN_STREAM_CUT: session_on_cut(s); break;
    case TURN_STREAM_GONE: session_drain(s); break;
    case TURN_STREAM_FAILED:
        session_fail(s, ENGINE_ERR_CLI_FAILED, "the answer is larger than the proxy keeps");
        break;
    }
}

/* The turn's output still goes to its client: not once it was given up (draining) or is being taken back. */
static bool is_delivering(const session_t *s) {
    return s->has_sink && s->stream && s->phase != SESSION_PHASE_DRAINING && s->phase != SESSION_PHASE_REWINDING;
}

/* ---- a line whose long delta goes out in pieces ---- */

typedef struct session_kick_s {
    uv_idle_t idle;
    session_t *s; /* NULL once the session ended: the handle just closes */
} session_kick_t;

static void on_kick_closed(uv_handle_t *h) { free(h->data); }

void session_drop_held_line(session_t *s, bool is_final) {
    if (s->held_line) turn_stream_drop_pending(s->stream); /* its rest is in the line */
    yyjson_doc_free(s->held_line);
    s->held_line = NULL;
    if (!is_final || !s->kick) return;
    s->kick->s = NULL;
    uv_close((uv_handle_t *)&s->kick->idle, on_kick_closed);
    s->kick = NULL;
}

/* The rest of the held line's delta, from the loop (never from inside the consumer's own callbacks). */
static void session_on_kick(uv_idle_t *idle) {
    session_kick_t *k = idle->data;
    uv_idle_stop(idle);
    session_t *s = k->s;
    if (!s || !s->held_line) return;
    if (s->phase == SESSION_PHASE_CLOSING) {
        session_drop_held_line(s, false);
        return;
    }
    if (s->is_paused) return; /* congested again meanwhile: its next drain resumes */
    turn_stream_status_t st = s->has_sink && s->stream ? turn_stream_resume(s->stream) : TURN_STREAM_GONE;
    if (st == TURN_STREAM_OK && turn_stream_has_pending(s->stream)) return; /* paused after a piece */
    session_drop_held_line(s, false);
    if (!s->is_paused) session_pause_reading(s, false);
    on_turn_status(s, st);
}

bool session_resume_held_line(session_t *s) {
    if (!s->held_line || !s->kick) return false;
    uv_idle_start(&s->kick->idle, session_on_kick);
    return true;
}

/* The stream stopped between two pieces of l's delta: keep l (the rest is in it), read no more lines. */
static int hold_line(session_t *s, proto_line_t *l) {
    if (!s->kick) {
        s->kick = calloc(1, sizeof *s->kick);
        if (!s->kick) return -ENOMEM;
        uv_idle_init(s->env.loop, &s->kick->idle);
        s->kick->idle.data = s->kick;
        s->kick->s = s;
    }
    s->held_line = l->doc;
    l->doc = NULL;
    l->root = NULL;
    session_pause_reading(s, true);
    return 0;
}

static void on_stream_event(session_t *s, proto_line_t *l) {
    if (!is_delivering(s)) return;
    turn_stream_status_t st = turn_stream_feed(s->stream, yyjson_obj_get(l->root, "event"));
    if (st == TURN_STREAM_OK && turn_stream_has_pending(s->stream)) {
        if (hold_line(s, l) == 0) return; /* on_turn_status once the last piece is out */
        session_fail(s, ENGINE_ERR_CLI_FAILED, "out of memory");
        return;
    }
    on_turn_status(s, st);
}

/* A synthetic assistant message carries an upstream error; the result line that follows ends the turn.
 * Any other is the turn's own (not a subagent's): the turn stream takes the one that was never streamed
 * (the CLI's non-streaming retry after a broken stream). */
static void on_assistant(session_t *s, yyjson_val *root) {
    yyjson_val *msg = yyjson_obj_get(root, "message");
    const char *error = yyjson_get_str(yyjson_obj_get(root, "error"));
    const char *model = yyjson_get_str(yyjson_obj_get(msg, "model"));
    if (!error && !(model && !strcmp(model, "<synthetic>"))) {
        yyjson_val *parent = yyjson_obj_get(root, "parent_tool_use_id");
        if (!is_delivering(s) || (parent && !yyjson_is_null(parent))) return;
        on_turn_status(s, turn_stream_feed_message(s->stream, msg));
        return;
    }
    yyjson_val *first = yyjson_arr_get_first(yyjson_obj_get(msg, "content"));
    const char *text = yyjson_get_str(yyjson_obj_get(first, "text"));
    free(s->error_kind);
    free(s->error_text);
    s->error_kind = error ? strdup(error) : NULL;
    s->error_text = text ? strdup(text) : NULL;
}

static void on_system(session_t *s, const proto_line_t *l) {
    if (l->subtype && !strcmp(l->subtype, "api_retry")) {
        yyjson_val *r = l->root;
        yyjson_val *delay = yyjson_obj_get(r, "retry_delay_ms");
        if (yyjson_is_int(delay) && yyjson_get_sint(delay) > 0) s->retry_delay_ms = yyjson_get_sint(delay);
        log_warn("session.api_retry", "session=%s attempt=%lld status=%lld delay_ms=%lld", s->id,
                 (long long)yyjson_get_sint(yyjson_obj_get(r, "attempt")),
                 (long long)yyjson_get_sint(yyjson_obj_get(r, "error_status")),
                 (long long)yyjson_get_sint(yyjson_obj_get(r, "retry_delay_ms")));
    }
}

/* The CLI reports rate-limit headers once the upstream response is complete, i.e. after the stream
 * events: pass them on whenever they come within the turn (a non-streamed answer can still carry them). */
static void on_rate_limit(session_t *s, yyjson_val *root) {
    if (!is_delivering(s) || !s->sink.on_rate_limit) return;
    yyjson_val *info = yyjson_obj_get(root, "rate_limit_info");
    if (!s->sink.on_rate_limit(s->sink_arg, info ? info : root)) session_drain(s);
}

static void log_garbage(session_t *s, const char *line, size_t len) {
    if (s->garbage_lines++ >= SESSION_MAX_GARBAGE_LOGS) return;
    char sample[81];
    size_t n = len < 80 ? len : 80;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)line[i];
        sample[i] = (c < 0x20 || c >= 0x7f || c == '"') ? '?' : (char)c;
    }
    sample[n] = '\0';
    log_warn("session.garbage_line", "session=%s bytes=%zu utf8=%d sample=\"%s\"", s->id, len,
             utf8_is_valid(line, len), sample);
}

/* ---- transport events ---- */

/* Silence is what times out, not length: any byte during a turn restarts the clock, so one large line
 * arriving slowly is not mistaken for a stalled CLI. */
static void session_on_bytes(void *arg, size_t len) {
    session_t *s = arg;
    (void)len;
    if (s->phase == SESSION_PHASE_RUNNING && !s->is_paused && s->timer_kind == TIMER_STALL)
        session_set_timer(s, TIMER_STALL, (uint64_t)s->env.cfg->stall_timeout_ms);
}

static void session_on_line(void *arg, const char *line, size_t len) {
    session_t *s = arg;
    if (s->phase == SESSION_PHASE_CLOSING) return;
    if (!s->saw_first_line) {
        s->saw_first_line = true;
        if (s->env.observer.on_spawn)
            s->env.observer.on_spawn(s->env.observer.arg, (double)(uv_now(s->env.loop) - s->spawn_ms));
    }
    proto_line_t l;
    proto_parse_line(line, len, &l);
    if (l.kind == PROTO_GARBAGE) {
        log_garbage(s, line, len);
        if (s->garbage_lines > SESSION_MAX_GARBAGE_LINES)
            session_fail(s, ENGINE_ERR_CLI_FAILED, "the Claude Code CLI wrote garbage");
        return;
    }
    /* Silence is what times out, not length: every line during a turn restarts the clock. */
    if (s->phase == SESSION_PHASE_RUNNING && !s->is_paused)
        session_set_timer(s, TIMER_STALL, (uint64_t)s->env.cfg->stall_timeout_ms);
    switch (l.kind) {
    case PROTO_STREAM_EVENT: on_stream_event(s, &l); break;
    case PROTO_ASSISTANT: on_assistant(s, l.root); break;
    case PROTO_RESULT: session_on_result(s, l.root); break;
    case PROTO_CONTROL_REQUEST: on_control_request(s, &l); break;
    case PROTO_CONTROL_RESPONSE: on_control_response(s, &l); break;
    case PROTO_CONTROL_CANCEL:
        /* A parked turn that goes on without the client's result no longer matches what the client holds. */
        if (l.request_id && tools_cancel(s->tools, l.request_id) && s->phase == SESSION_PHASE_WAITING_TOOLS)
            session_close(s, "the CLI withdrew a client tool call");
        break;
    case PROTO_SYSTEM: on_system(s, &l); break;
    case PROTO_RATE_LIMIT: on_rate_limit(s, l.root); break;
    default: break; /* user echoes, keep_alive, types we don't know */
    }
    proto_line_free(&l);
    /* glibc keeps freed megabytes below its (raised) trim threshold: a few huge lines (a long answer, its
     * assistant and result lines) would leave a long-lived proxy that much larger. */
#ifdef __GLIBC__
    if (len >= SESSION_BIG_ANSWER_BYTES) malloc_trim(0);
#endif
}

static void session_on_open(void *arg) {
    session_t *s = arg;
    if (s->phase == SESSION_PHASE_CLOSING) return;
    s->is_connected = true;
    if (s->timer_kind == TIMER_START) {
        /* The connect deadline is met; a turn given meanwhile now waits for initialize's answer. */
        if (s->phase == SESSION_PHASE_INITIALIZING) session_set_timer(s, TIMER_START, (uint64_t)s->env.cfg->start_timeout_ms);
        else session_set_timer(s, TIMER_NONE, 0);
    }
    if (s->phase != SESSION_PHASE_SPAWNING) return;
    session_enter(s, SESSION_PHASE_READY, "channel open");
    if (s->owner.on_available) s->owner.on_available(s->owner.owner, s);
}

static void session_on_closed(void *arg, int reason) {
    session_t *s = arg;
    if (s->phase == SESSION_PHASE_CLOSING) return;
    const char *why = reason == -EMSGSIZE ? "the Claude Code CLI wrote a line over the size limit"
                    : process_is_running(s->process) ? "the Claude Code CLI closed its output"
                                                     : "the Claude Code CLI exited";
    session_fail(s, ENGINE_ERR_CLI_FAILED, why);
}

static void session_on_exit(void *arg, int64_t status, int signal);

static int write_file(const char *path, const char *text) {
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0) return -errno;
    size_t left = strlen(text);
    while (left) {
        ssize_t w = write(fd, text, left);
        if (w < 0 && errno == EINTR) continue;
        if (w < 0) {
            int rc = -errno;
            close(fd);
            return rc;
        }
        text += w;
        left -= (size_t)w;
    }
    return close(fd) == 0 ? 0 : -errno;
}

/* A CLI that ignores initialize's systemPrompt gets it here, in a file: never on argv. api mode replaces
 * Claude Code's prompt (an empty file too); agent mode appends to it, when there is something. */
static int session_prompt_file(session_t *s, cli_launch_t *launch, char *path, size_t path_len) {
    if (!s->spawn_system) return 0;
    bool is_agent = s->env.cfg->mode == MODE_AGENT;
    if (is_agent && !*s->spawn_system) return 0;
    snprintf(path, path_len, "%s/system-prompt.txt", s->dir);
    int rc = write_file(path, s->spawn_system);
    if (rc) return rc;
    launch->system_prompt_file = path;
    launch->is_prompt_appended = is_agent;
    return 0;
}

/* base plus the switch that makes the CLI continue a resumed turn that ended with tool results (it adds
 * "Continue from where you left off." to the seeded results instead of waiting for a user line). Only
 * the pointers are copied: cli_build_env copies the strings. NULL when out of memory. */
static char *const *resume_env(char *const *base) {
    static const char on[] = "CLAUDE_CODE_RESUME_INTERRUPTED_TURN=1";
    size_t n = 0;
    while (base && base[n]) n++;
    const char **env = calloc(n + 2, sizeof *env);
    if (!env) return NULL;
    for (size_t i = 0; i < n; i++) env[i] = base[i];
    env[n] = on;
    return (char *const *)env;
}

int session_start_process(session_t *s, const char *resume_id) {
    transport_events_t ev = {.on_line = session_on_line, .on_open = session_on_open, .on_closed = session_on_closed,
                             .on_bytes = session_on_bytes};
    transport_launch_t tl;
    s->transport = transport_open(&s->env.transport, &ev, s, &tl);
    if (!s->transport) return UV_ENOMEM;
    s->is_dialed = tl.is_dialed;
    cli_launch_t launch = {.mode = s->env.cfg->mode, .model = *s->model ? s->model : NULL, .effort = s->effort,
                           .resume_id = resume_id, .sdk_url = *tl.sdk_url ? tl.sdk_url : NULL};
    char prompt_path[4096];
    int prc = session_prompt_file(s, &launch, prompt_path, sizeof prompt_path);
    if (prc) return prc;
    char **argv = cli_build_argv(s->env.cfg->claude_path, &launch);
    char **account_base = account_child_env(s->account, s->env.base_env);
    char *const *resume_base = s->resumes_tool_turn && account_base ? resume_env(account_base) : NULL;
    char **settings = cli_version_settings(s->env.cli);
    char **envv = (account_base && settings && (!s->resumes_tool_turn || resume_base))
                      ? cli_build_env(resume_base ? resume_base : account_base, s->home, s->config_dir,
                                      *tl.access_token ? tl.access_token : NULL, settings)
                      : NULL;
    free((void *)resume_base);
    free(account_base);
    cli_strv_free(settings);
    int rc = UV_ENOMEM;
    if (argv && envv) {
        process_options_t po = {
            .file = s->env.cfg->claude_path,
            .argv = argv,
            .env = envv,
            .cwd = s->cwd,
            .stdio_in = tl.stdio_in,
            .stdio_out = tl.stdio_out,
            .log_id = s->id,
            .term_grace_ms = SESSION_KILL_GRACE_MS,
            .on_exit = session_on_exit,
            .arg = s,
            .on_reaped = s->env.on_reaped,
            .group_arg = s->env.reaped_arg,
        };
        rc = process_spawn(s->env.loop, &po, &s->process);
    }
    cli_strv_free(argv);
    cli_strv_free(envv);
    if (rc) return rc;
    (void)transport_start(s->transport);
    if (s->is_dialed) session_set_timer(s, TIMER_START, session_ws_connect_ms(s)); /* until it connects */
    return 0;
}

static void session_on_exit(void *arg, int64_t status, int signal) {
    session_t *s = arg;
    s->exit_status = (int)status;
    s->term_signal = signal;
    if (s->phase == SESSION_PHASE_CLOSING) {
        session_finish_after_exit(s);
        return;
    }
    if (s->is_dialed && !s->is_connected) {
        /* e.g. a CLI that refuses a loopback --sdk-url (2.1.121 and later) */
        char msg[160];
        snprintf(msg, sizeof msg, "the Claude Code CLI exited (status %d, signal %d) before connecting to the WebSocket",
                 s->exit_status, s->term_signal);
        session_ws_failed(s, ENGINE_ERR_CLI_FAILED, msg);
        return;
    }
    /* Output may still be in the pipe: let EOF end the session, unless EOF never comes (a grandchild
     * holding the pipe). */
    if (s->transport && !s->is_dialed) {
        session_set_timer(s, TIMER_EXIT_EOF, SESSION_EXIT_EOF_MS);
        return;
    }
    session_fail(s, ENGINE_ERR_CLI_FAILED, "the Claude Code CLI exited");
}
