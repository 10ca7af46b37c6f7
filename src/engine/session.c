#include "engine/session.h"

#include <errno.h>
#include <ftw.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#ifdef __GLIBC__
#include <malloc.h> /* malloc_trim */
#endif
#include <string.h>
#include <sys/stat.h>

#include "engine/process.h"
#include "engine/protocol.h"
#include "engine/session_internal.h"
#include "engine/tools.h"
#include "engine/transcript.h"
#include "engine/turn.h"
#include "transport/stdio.h"
#include "util/log.h"

/* ---- small helpers ---- */

const char *session_state_name(session_state_t state) {
    static const char *const names[] = {"starting", "ready", "busy", "waiting", "idle", "closing"};
    return names[state];
}

bool session_enter(session_t *s, session_phase_t next, const char *why) {
    if (s->phase == next) return true;
    if (!session_phase_allows(s->phase, next)) {
        log_error("session.phase_refused", "session=%s from=%s to=%s why=\"%s\"", s->id, session_phase_name(s->phase),
                  session_phase_name(next), why);
        return false;
    }
    log_debug("session.phase", "session=%s from=%s to=%s why=\"%s\"", s->id, session_phase_name(s->phase),
              session_phase_name(next), why);
    s->phase = next;
    return true;
}

static char *join_path(const char *a, const char *b) {
    size_t n = strlen(a) + strlen(b) + 2;
    char *p = malloc(n);
    if (p) snprintf(p, n, "%s/%s", a, b);
    return p;
}

static int make_dir(const char *path) { return mkdir(path, 0700) == 0 || errno == EEXIST ? 0 : -errno; }

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw) {
    (void)st;
    (void)flag;
    (void)ftw;
    remove(path);
    return 0;
}

/* Only ever called on <sessions_dir>/<id>, which this session created. */
static void remove_tree(const char *path) { nftw(path, remove_entry, 16, FTW_DEPTH | FTW_PHYS); }

/* ---- teardown ---- */

static void session_on_timer_closed(uv_handle_t *h) {
    session_t *s = h->data;
    if (s->owner.on_gone) s->owner.on_gone(s->owner.owner, s);
    tools_free(s->tools);
    turn_stream_free(s->stream);
    fingerprint_free(s->conversation);
    free(s->model);
    free(s->effort);
    free(s->dir);
    free(s->home);
    free(s->cwd);
    free(s->config_dir);
    free(s->transcript_path);
    free(s->spawn_system);
    session_rewind_free(s);
    free(s->client);
    free(s->error_kind);
    free(s->error_text);
    free(s);
}

/* The process is gone and the transport closed: clean the disk, then free (after the timer closes). */
void session_finish_after_exit(session_t *s) {
    if (s->is_finished) return;
    s->is_finished = true;
    session_drop_held_line(s, true);
    if (s->transcript_path) transcript_remove(s->transcript_path);
    if (s->dir) remove_tree(s->dir);
    if (s->process) process_release(s->process);
    s->process = NULL;
    uv_close((uv_handle_t *)&s->timer, session_on_timer_closed);
}

void session_sink_error(session_t *s, const engine_error_t *err) {
    if (!s->has_sink) return;
    session_sink_t sink = s->sink;
    void *arg = s->sink_arg;
    s->has_sink = false;
    sink.on_error(arg, err);
}

static int send_interrupt(session_t *s);

void session_close(session_t *s, const char *reason) {
    if (s->phase == SESSION_PHASE_CLOSING) return;
    log_info("session.close", "session=%s pid=%d reason=\"%s\" turns=%d", s->id,
             s->process ? process_pid(s->process) : 0, reason, s->turns);
    session_rewind_deliver_error(s); /* a rewind that did not happen: the client gets the upstream's error */
    engine_error_t err = {.kind = ENGINE_ERR_UNAVAILABLE, .message = reason};
    session_sink_error(s, &err);
    /* A CLI parked on client tool calls answers them with an error on its way out and asks the model
     * again: stop its turn first. */
    if (s->phase == SESSION_PHASE_WAITING_TOOLS) send_interrupt(s);
    session_enter(s, SESSION_PHASE_CLOSING, reason);
    uv_timer_stop(&s->timer);
    if (s->transport) transport_close(s->transport);
    s->transport = NULL;
    if (s->owner.on_closing) s->owner.on_closing(s->owner.owner, s);
    if (s->process && process_is_running(s->process)) process_end(s->process, SESSION_EXIT_DELAY_MS);
    else session_finish_after_exit(s);
}

/* A fault: the turn (if any) gets err, the session ends. */
void session_fail(session_t *s, engine_error_kind_t kind, const char *message) {
    if (s->phase == SESSION_PHASE_CLOSING) return;
    if (kind == ENGINE_ERR_CLI_FAILED && s->env.observer.on_crash) s->env.observer.on_crash(s->env.observer.arg);
    log_warn("session.fail", "session=%s state=%s kind=%s reason=\"%s\"", s->id, session_phase_name(s->phase),
             engine_error_kind_name(kind), message);
    session_rewind_deliver_error(s); /* the turn had failed upstream already: that is what its client hears */
    engine_error_t err = {.kind = kind, .message = message};
    session_sink_error(s, &err);
    session_close(s, message);
}

void session_ws_failed(session_t *s, engine_error_kind_t kind, const char *message) {
    if (s->phase == SESSION_PHASE_CLOSING) return;
    if (s->env.on_ws_unreachable) s->env.on_ws_unreachable(s->env.ws_arg, s, message);
    if (s->has_sink && s->sink.on_bounced) {
        /* The CLI never saw the turn and the client saw nothing: another process can take it. */
        log_info("session.turn_bounced", "session=%s", s->id);
        s->has_sink = false;
        s->sink.on_bounced(s->sink_arg);
    }
    session_fail(s, kind, message);
}

/* ---- timers ---- */

uint64_t session_ws_connect_ms(const session_t *s) {
    uint64_t start = (uint64_t)s->env.cfg->start_timeout_ms;
    return start < SESSION_WS_CONNECT_TIMEOUT_MS ? start : SESSION_WS_CONNECT_TIMEOUT_MS;
}

static void session_on_timer(uv_timer_t *t) {
    session_t *s = t->data;
    char msg[160];
    switch (s->timer_kind) {
    case TIMER_START:
        if (s->is_dialed && !s->is_connected) {
            snprintf(msg, sizeof msg, "the Claude Code CLI did not connect to the WebSocket within %llu ms",
                     (unsigned long long)session_ws_connect_ms(s));
            session_ws_failed(s, ENGINE_ERR_TIMEOUT, msg);
            break;
        }
        snprintf(msg, sizeof msg, "the Claude Code CLI did not start within %ld ms", s->env.cfg->start_timeout_ms);
        session_fail(s, ENGINE_ERR_TIMEOUT, msg);
        break;
    case TIMER_STALL:
        snprintf(msg, sizeof msg, "the Claude Code CLI was silent for %ld ms", s->env.cfg->stall_timeout_ms);
        session_fail(s, ENGINE_ERR_TIMEOUT, msg);
        break;
    case TIMER_TOOL: session_on_tool_timeout(s); break;
    case TIMER_IDLE: session_close(s, "idle timeout"); break;
    case TIMER_DRAIN: session_close(s, "interrupted turn did not end"); break;
    case TIMER_REWIND: session_close(s, "the CLI did not answer rewind_conversation"); break;
    case TIMER_EXIT_EOF: session_fail(s, ENGINE_ERR_CLI_FAILED, "the Claude Code CLI exited"); break;
    case TIMER_NONE: break;
    }
}

void session_set_timer(session_t *s, session_timer_t kind, uint64_t ms) {
    s->timer_kind = kind;
    if (kind == TIMER_NONE || ms == 0) uv_timer_stop(&s->timer);
    else uv_timer_start(&s->timer, session_on_timer, ms, 0);
}

/* ---- sending ---- */

int session_send(session_t *s, char *line, size_t len) {
    if (!line) return -ENOMEM;
    int rc = s->transport ? transport_send_line(s->transport, line, len) : -EPIPE;
    if (rc) log_warn("session.send", "session=%s rc=%d", s->id, rc);
    free(line);
    return rc;
}

static int send_interrupt(session_t *s) {
    char id[32];
    snprintf(id, sizeof id, "cwp-int-%u", ++s->control_seq);
    size_t len = 0;
    char *line = proto_build_interrupt(id, &len);
    return session_send(s, line, len);
}

/* The client will not see the rest: stop the CLI's turn and recycle the process once it reports back. */
void session_drain(session_t *s) {
    s->has_sink = false;
    if (s->phase == SESSION_PHASE_CLOSING || s->phase == SESSION_PHASE_DRAINING || s->phase == SESSION_PHASE_REWINDING)
        return; /* already on its way out of the turn */
    bool is_initialized = s->phase != SESSION_PHASE_INITIALIZING; /* an uninitialized CLI cannot be interrupted */
    if (!session_enter(s, SESSION_PHASE_DRAINING, "client gone")) {
        session_close(s, "turn abandoned");
        return;
    }
    session_set_paused(s, false); /* the result line must be read */
    if (s->env.observer.on_interrupt) s->env.observer.on_interrupt(s->env.observer.arg);
    if (!is_initialized || send_interrupt(s) != 0) {
        session_close(s, "turn abandoned");
        return;
    }
    session_set_timer(s, TIMER_DRAIN, SESSION_DRAIN_MS);
}

void session_detach_turn(session_t *s) {
    if (!s->has_sink) return;
    log_info("session.turn_cancel", "session=%s state=%s", s->id, session_phase_name(s->phase));
    session_drain(s);
}

void session_mark_doomed(session_t *s) { s->is_doomed = true; }

void session_set_paused(session_t *s, bool paused) {
    if (s->is_paused == paused || !s->transport) return;
    s->is_paused = paused;
    /* The rest of a line's long delta goes out first; the CLI is read again after it (session_io.c). */
    if (!paused && session_resume_held_line(s)) return;
    session_pause_reading(s, paused);
}

void session_pause_reading(session_t *s, bool paused) {
    if (!s->transport) return;
    transport_set_paused(s->transport, paused);
    /* A slow client is not a silent CLI: the stall clock stops while we are the ones not reading. */
    if (s->phase != SESSION_PHASE_RUNNING) return;
    if (paused) session_set_timer(s, TIMER_NONE, 0);
    else session_set_timer(s, TIMER_STALL, (uint64_t)s->env.cfg->stall_timeout_ms);
}

/* ---- turn output ---- */

static bool session_is_paused(void *arg) { return ((session_t *)arg)->is_paused; }

static bool session_emit(void *arg, yyjson_val *event) {
    session_t *s = arg;
    if (!s->has_sink) return false;
    if (s->sink.on_event(s->sink_arg, event)) return true;
    s->has_sink = false; /* the turn is gone: never call it again */
    return false;
}

int session_begin_response(session_t *s, const engine_request_t *req) {
    turn_stream_free(s->stream);
    fingerprint_free(s->conversation);
    turn_stream_options_t o = {.stop_sequences = req->stop_sequences, .stop_count = req->stop_count,
                               .max_tokens = req->max_tokens, .model = req->model, .emit = session_emit, .arg = s,
                               .has_structured_output = req->json_schema != NULL, .is_streamed = req->is_streamed,
                               .is_paused = session_is_paused};
    s->stream = turn_stream_new(&o);
    s->conversation = fingerprint_dup(req->conversation);
    free(s->error_kind);
    free(s->error_text);
    s->error_kind = s->error_text = NULL;
    s->retry_delay_ms = 0;
    tools_set_choice(s->tools, &req->tool_choice);
    return s->stream && s->conversation ? 0 : -ENOMEM;
}

void session_attach(session_t *s, const engine_request_t *req, const session_sink_t *sink, void *sink_arg) {
    s->sink = *sink;
    s->sink_arg = sink_arg;
    s->has_sink = true;
    session_set_paused(s, false);
    session_enter(s, session_phase_before_turn(s->phase) ? SESSION_PHASE_INITIALIZING : SESSION_PHASE_RUNNING, "turn");
    s->turns++;
    session_mark_used(s);
    free(s->client);
    s->client = strdup(req->client);
}

int session_run_turn(session_t *s, const engine_request_t *req, const session_sink_t *sink, void *sink_arg) {
    if (s->phase != SESSION_PHASE_READY && s->phase != SESSION_PHASE_SPAWNING && s->phase != SESSION_PHASE_IDLE)
        return -EBUSY;
    if (session_begin_response(s, req) != 0) goto fail;
    tools_reset_awaited(s->tools);
    s->is_split_turn = false;
    size_t len = 0;
    /* A warm process learns the request's tools now; if its CLI listed them already (none), again. */
    bool is_fresh = session_phase_before_turn(s->phase);
    bool is_relisted = is_fresh && s->is_warm && req->tools;
    if (is_relisted && tools_set(s->tools, req->tools) != 0) goto fail;
    if (is_fresh) {
        snprintf(s->init_id, sizeof s->init_id, "cwp-init-%u", ++s->control_seq);
        bool is_agent = s->env.cfg->mode == MODE_AGENT;
        proto_initialize_t init = {
            .request_id = s->init_id,
            /* api: the caller's prompt replaces Claude Code's ("" = none at all); agent: Claude Code's prompt
             * stays (it explains the tools) and the caller's is appended. */
            .system_prompt = is_agent ? NULL : req->system,
            .append_system_prompt = is_agent && *req->system ? req->system : NULL,
            .json_schema = req->json_schema ? yyjson_doc_get_root(req->json_schema) : NULL,
            .has_client_mcp = true,
        };
        char *line = proto_build_initialize(&init, &len);
        if (session_send(s, line, len) != 0) goto fail;
        session_set_timer(s, TIMER_START, (uint64_t)s->env.cfg->start_timeout_ms);
    } else {
        session_set_timer(s, TIMER_STALL, (uint64_t)s->env.cfg->stall_timeout_ms);
    }
    if (is_relisted && tools_is_listed(s->tools) && session_relist_tools(s) != 0) goto fail;
    if (session_send_model(s, req->model) != 0 || session_send_thinking(s, req->thinking_tokens) != 0) goto fail;
    if (s->resumes_tool_turn) {
        s->rewind.uuid[0] = '\0'; /* no user line of ours to take back */
        s->resumes_tool_turn = false; /* the CLI continues the seeded turn on its own */
        s->is_split_turn = true;
    } else {
        session_rewind_mark_turn(s, req);
        char *user = proto_build_user(req->last_content, *s->rewind.uuid ? s->rewind.uuid : NULL, &len);
        if (session_send(s, user, len) != 0) goto fail;
    }
    session_attach(s, req, sink, sink_arg);
    log_info("session.turn", "session=%s request_id=%s account=%s model=%s messages=%zu reused=%d", s->id,
             req->request_id, account_name(s->account), s->model, req->message_count, s->turns > 1);
    return 0;
fail:
    log_warn("session.send_failed", "session=%s", s->id);
    session_close(s, "cannot send to the CLI");
    return -EPIPE;
}

/* A big answer's buffers are freed now rather than at the next turn, and the heap is trimmed: glibc keeps
 * freed megabytes otherwise, and one 60 MB answer left a long-lived proxy 300 MB larger. */
static void session_release_big_answer(session_t *s) {
    if (turn_stream_content_bytes(s->stream) < SESSION_BIG_ANSWER_BYTES) return;
    turn_stream_free(s->stream);
    s->stream = NULL;
#ifdef __GLIBC__
    malloc_trim(0);
#endif
}

/* The CLI's result line: the turn is over. */
void session_on_result(session_t *s, yyjson_val *root) {
    yyjson_val *usage = yyjson_obj_get(root, "usage");
    int64_t in = yyjson_get_sint(yyjson_obj_get(usage, "input_tokens"));
    int64_t out = yyjson_get_sint(yyjson_obj_get(usage, "output_tokens"));
    double cost = yyjson_get_num(yyjson_obj_get(root, "total_cost_usd"));
    s->input_tokens += in;
    s->output_tokens += out;
    s->cost_usd += cost;
    if (s->env.observer.on_tokens) s->env.observer.on_tokens(s->env.observer.arg, in, out, cost);
    account_count_usage(s->account, in, out, cost);
    if (s->phase == SESSION_PHASE_DRAINING) {
        if (!session_rewind(s, NULL)) session_close(s, "turn interrupted");
        return;
    }
    if (s->phase == SESSION_PHASE_WAITING_TOOLS) {
        session_close(s, "the turn ended without the client's tool results");
        return;
    }
    if (!s->has_sink || !s->stream) return;
    if (yyjson_get_bool(yyjson_obj_get(root, "is_error"))) {
        yyjson_val *st = yyjson_obj_get(root, "api_error_status");
        const char *text = s->error_text ? s->error_text : yyjson_get_str(yyjson_obj_get(root, "result"));
        int status = yyjson_is_int(st) ? (int)yyjson_get_sint(st) : proto_error_status(text);
        const char *subtype = yyjson_get_str(yyjson_obj_get(root, "subtype"));
        char msg[1024];
        if (text) proto_extract_upstream_message(text, msg, sizeof msg);
        else snprintf(msg, sizeof msg, "the Claude Code CLI reported %s", subtype ? subtype : "an error");
        engine_error_t err;
        proto_map_error(status, s->error_kind, msg, &err);
        /* The CLI waited as the upstream's retry-after said: the client is told the same, not a guess. */
        if (status == 429 && s->retry_delay_ms > 0 && s->retry_delay_ms < 86400000)
            err.retry_after_s = (int)((s->retry_delay_ms + 999) / 1000);
        log_info("session.upstream_error", "session=%s account=%s status=%d kind=%s", s->id, account_name(s->account),
                 status, s->error_kind ? s->error_kind : "-");
        /* The CLI now holds a failed exchange the client will not send back: taken back, the session
         * serves a retry; when the CLI cannot take it back (or the failure was not the upstream's), recycle. */
        if (status >= 400 && status <= 599 && session_rewind(s, &err)) return;
        session_sink_error(s, &err);
        session_close(s, "turn failed");
        return;
    }
    turn_stream_status_t ts;
    /* A turn split at client tool calls: the result's usage covers every response; this one's is its own. */
    yyjson_doc *msg = session_finish_response(s, s->is_split_turn ? NULL : usage, s->is_split_turn, &ts);
    if (!msg) {
        session_fail(s, ENGINE_ERR_CLI_FAILED, ts == TURN_STREAM_GONE ? "client gone"
                     : "cannot assemble the answer: it is larger than the 64 MiB the proxy keeps of one answer "
                       "(stream it instead), or its tool input is nested too deeply");
        return;
    }
    yyjson_val *m = yyjson_doc_get_root(msg);
    /* A long streamed answer was not kept: the session cannot tell what the client holds now. */
    s->has_held = turn_stream_kept_all(s->stream) &&
                  fingerprint_add_message(s->conversation, "assistant", yyjson_obj_get(m, "content")) == 0 &&
                  fingerprint_peek(s->conversation, &s->held) == 0;
    session_mark_used(s);
    session_set_timer(s, TIMER_IDLE, (uint64_t)s->env.cfg->session_timeout_ms);
    bool was_attached;
    if (!session_deliver(s, msg, ts, SESSION_PHASE_IDLE, &was_attached)) return; /* closed from inside on_done */
    session_release_big_answer(s);
    if (s->is_doomed) session_close(s, "recycled");
    else if (s->owner.on_available) s->owner.on_available(s->owner.owner, s);
}

/* A stop sequence or max_tokens ended the client's message early. */
void session_on_cut(session_t *s) {
    turn_stream_status_t ts;
    yyjson_doc *msg = session_finish_response(s, NULL, false, &ts);
    bool was_attached;
    session_deliver(s, msg, ts, s->phase, &was_attached);
    session_drain(s);
}

/* ---- the hand-off ---- */

yyjson_doc *session_finish_response(session_t *s, yyjson_val *usage, bool is_own_usage, turn_stream_status_t *ts) {
    yyjson_doc *own = is_own_usage ? yyjson_read("{}", 2, 0) : NULL; /* counts of this response alone */
    if (is_own_usage && !own) {
        *ts = TURN_STREAM_FAILED;
        return NULL;
    }
    yyjson_doc *msg = turn_stream_finish(s->stream, own ? yyjson_doc_get_root(own) : usage, ts);
    yyjson_doc_free(own);
    return msg;
}

bool session_deliver(session_t *s, yyjson_doc *msg, turn_stream_status_t ts, session_phase_t next, bool *was_attached) {
    session_sink_t sink = s->sink;
    void *arg = s->sink_arg;
    *was_attached = s->has_sink && ts != TURN_STREAM_GONE;
    s->has_sink = false;
    session_enter(s, next, "response delivered");
    if (*was_attached && msg) {
        sink.on_done(arg, yyjson_doc_get_root(msg));
    } else if (*was_attached) {
        engine_error_t err = {.kind = ENGINE_ERR_CLI_FAILED, .message = "cannot assemble the answer"};
        sink.on_error(arg, &err);
    }
    yyjson_doc_free(msg);
    return s->phase == next;
}

/* ---- spawning ---- */

static int session_make_dirs(session_t *s, const session_env_t *env) {
    s->dir = join_path(env->sessions_dir, s->id);
    s->home = s->dir ? join_path(s->dir, "home") : NULL;
    bool is_agent = env->cfg->mode == MODE_AGENT && env->cfg->work_dir && *env->cfg->work_dir;
    s->cwd = is_agent ? strdup(env->cfg->work_dir) : s->dir ? join_path(s->dir, "cwd") : NULL;
    /* The account's config dir (the implicit one's: the operator's); without one each child keeps its own
     * (and finds no credentials but its environment's). */
    const char *shared = account_config_dir(s->account);
    s->config_dir = shared ? strdup(shared) : s->home ? join_path(s->home, ".claude") : NULL;
    if (!s->dir || !s->home || !s->cwd || !s->config_dir) return -ENOMEM;
    int rc = make_dir(env->sessions_dir);
    if (!rc) rc = make_dir(s->dir);
    if (!rc) rc = make_dir(s->home);
    if (!rc && !is_agent) rc = make_dir(s->cwd);
    if (!rc && !shared) rc = make_dir(s->config_dir);
    return rc;
}

static int session_seed(session_t *s, const session_spawn_t *sp, char uuid[TRANSCRIPT_UUID_LEN + 1]) {
    char dir[4096];
    if (transcript_uuid(uuid) != 0) return -EIO;
    int rc = transcript_project_dir(s->config_dir, s->cwd, dir, sizeof dir);
    if (rc) return rc;
    char file[TRANSCRIPT_UUID_LEN + 8];
    snprintf(file, sizeof file, "%s.jsonl", uuid);
    s->transcript_path = join_path(dir, file);
    if (!s->transcript_path) return -ENOMEM;
    transcript_info_t info = {.session_uuid = uuid, .cwd = s->cwd, .version = s->env.cli->version, .model = sp->model};
    rc = transcript_write(s->transcript_path, &info, sp->seed_messages, sp->seed_count);
    if (rc) {
        free(s->transcript_path);
        s->transcript_path = NULL;
    }
    return rc;
}

session_t *session_spawn(const session_env_t *env, const session_spawn_t *sp, const session_owner_t *owner,
                         engine_error_t *err) {
    static char msg[256]; /* err->message must outlive the call; spawn errors are rare and alike */
    session_t *s = calloc(1, sizeof *s);
    if (!s) goto oom;
    s->env = *env;
    s->owner = *owner;
    s->phase = SESSION_PHASE_SPAWNING; /* the first phase: no change to log */
    s->is_warm = sp->is_warm;
    s->resumes_tool_turn = sp->resumes_tool_turn;
    s->account = sp->account;
    s->created_ms = s->last_used_ms = s->spawn_ms = uv_now(env->loop);
    s->last_used_ns = uv_hrtime();
    unsigned char rnd[8];
    if (RAND_bytes(rnd, sizeof rnd) != 1) goto oom_free;
    for (size_t i = 0; i < sizeof rnd; i++) snprintf(s->id + 2 * i, 3, "%02x", rnd[i]);
    s->model = strdup(sp->model ? sp->model : ""); /* "": a warm process, given its model by its first turn */
    s->effort = sp->effort ? strdup(sp->effort) : NULL;
    s->thinking_tokens = ENGINE_THINKING_DEFAULT;
    s->client = strdup(sp->client ? sp->client : "");
    s->tools = tools_new();
    uv_timer_init(env->loop, &s->timer);
    s->timer.data = s;
    if (!s->model || !s->client || !s->tools || (sp->effort && !s->effort)) goto fail_setup;
    if (sp->tools && tools_set(s->tools, sp->tools) != 0) goto fail_setup;
    if (!cli_takes_init_system_prompt(env->cli) && !(s->spawn_system = strdup(sp->system ? sp->system : "")))
        goto fail_setup;
    int rc = session_make_dirs(s, env);
    char uuid[TRANSCRIPT_UUID_LEN + 1];
    if (!rc && sp->seed_messages && sp->seed_count) rc = session_seed(s, sp, uuid);
    if (rc) {
        snprintf(msg, sizeof msg, "cannot prepare the session's files under %s: %s", env->sessions_dir, strerror(-rc));
        goto fail_msg;
    }
    rc = session_start_process(s, sp->seed_count ? uuid : NULL);
    if (rc) {
        snprintf(msg, sizeof msg, "cannot start the Claude Code CLI (%s): %s", env->cfg->claude_path, uv_strerror(rc));
        goto fail_msg;
    }
    log_info("session.spawn", "session=%s pid=%d account=%s model=%s warm=%d seeded=%zu transport=%s", s->id,
             process_pid(s->process), account_name(s->account), *s->model ? s->model : "-", sp->is_warm,
             sp->seed_count, env->transport.name);
    return s;
oom_free:
    free(s);
oom:
    *err = (engine_error_t){.kind = ENGINE_ERR_UNAVAILABLE, .message = "out of memory"};
    return NULL;
fail_setup:
    snprintf(msg, sizeof msg, "out of memory");
fail_msg:
    log_error("session.spawn_failed", "session=%s error=\"%s\"", s->id, msg);
    *err = (engine_error_t){.kind = ENGINE_ERR_UNAVAILABLE, .message = msg};
    s->owner = (session_owner_t){0}; /* never announced: the owner hears nothing */
    s->phase = SESSION_PHASE_CLOSING; /* never started: nothing to end */
    if (s->transport) transport_close(s->transport);
    s->transport = NULL;
    session_finish_after_exit(s);
    return NULL;
}

/* ---- accessors ---- */

session_state_t session_state(const session_t *s) { return session_phase_state(s->phase); }
const char *session_id(const session_t *s) { return s->id; }
const char *session_model(const session_t *s) { return s->model; }
account_t *session_account(const session_t *s) { return s->account; }
bool session_is_warm(const session_t *s) { return s->is_warm && session_phase_before_turn(s->phase); }
bool session_was_warm(const session_t *s) { return s->is_warm && s->turns == 0; }
bool session_has_tools(const session_t *s) { return tools_count(s->tools) > 0; }
uint64_t session_last_used(const session_t *s) { return s->last_used_ns; }

bool session_fits_system(const session_t *s, const char *system) {
    return !s->spawn_system || !strcmp(s->spawn_system, system ? system : "");
}

bool session_holds(const session_t *s, const fingerprint_t *fp) {
    return s->phase == SESSION_PHASE_IDLE && s->has_held && !s->is_doomed && fingerprint_equal(&s->held, fp);
}

void session_info(const session_t *s, engine_session_info_t *out) {
    *out = (engine_session_info_t){
        .id = s->id,
        .model = s->model,
        .state = session_state_name(session_state(s)),
        .age_ms = (double)(uv_now(s->env.loop) - s->created_ms),
        .turns = s->turns,
        .input_tokens = s->input_tokens,
        .output_tokens = s->output_tokens,
        .cost_usd = s->cost_usd,
        .client = s->client,
    };
}
