/*
 * A session's client tools: ending a response at the model's client tool calls, parking the CLI
 * (WAITING) while the client runs them, and resuming the turn with the client's results.
 *
 * The response ends once both are true: the CLI waits on a tools/call, and the model's message is
 * complete (the CLI may ask for the first call while later tool_use blocks still stream; the client must
 * get all of them in one response). Every client tool_use id of that message is then awaited; the
 * follow-up answers each (tools.c keeps answers for calls the CLI makes one after another).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/protocol.h"
#include "engine/session_internal.h"
#include "util/buf.h"
#include "util/log.h"

#define TOOLS_NO_RESULT "The client did not return a result for this tool call."

void session_on_mcp(session_t *s, yyjson_val *control_request) {
    char *reply = NULL;
    size_t len = 0;
    bool was_listed = tools_is_listed(s->tools);
    tools_outcome_t out = tools_handle(s->tools, control_request, &reply, &len);
    if (!was_listed && tools_is_listed(s->tools))
        log_debug("session.tools_listed", "session=%s tools=%zu init_sent=%d", s->id, tools_count(s->tools),
                  !session_phase_before_turn(s->phase));
    if (reply) session_send(s, reply, len);
    if (out == TOOLS_PENDING) session_check_tool_stop(s);
}

bool session_allows_tool(const session_t *s, const char *tool_name) { return tools_is_allowed(s->tools, tool_name); }

bool session_awaits_tool(const session_t *s, const char *tool_use_id) {
    return s->phase == SESSION_PHASE_WAITING_TOOLS && tools_match_id(s->tools, tool_use_id) != NULL;
}

bool session_awaits_exactly(const session_t *s, const char *tool_use_id) {
    return s->phase == SESSION_PHASE_WAITING_TOOLS && tools_is_awaited(s->tools, tool_use_id);
}

/* Every client tool_use id the client got, and any call the CLI waits on (it gets an error answer if
 * the client never mentions it). */
static void await_calls(session_t *s, yyjson_val *message) {
    size_t i, max;
    yyjson_val *block;
    yyjson_arr_foreach(yyjson_obj_get(message, "content"), i, max, block) {
        const char *type = yyjson_get_str(yyjson_obj_get(block, "type"));
        const char *id = yyjson_get_str(yyjson_obj_get(block, "id"));
        if (type && !strcmp(type, "tool_use") && id) tools_await(s->tools, id);
    }
    for (size_t k = 0; k < tools_pending_count(s->tools); k++) tools_await(s->tools, tools_pending_at(s->tools, k)->tool_use_id);
}

void session_check_tool_stop(session_t *s) {
    if (!session_phase_in_turn(s->phase) || !s->has_sink || !s->stream) return;
    if (tools_pending_count(s->tools) == 0 || !turn_stream_at_message_end(s->stream)) return;
    turn_stream_status_t ts;
    yyjson_doc *msg = session_finish_response(s, NULL, true, &ts); /* this response's own counts */
    if (!msg) {
        session_fail(s, ENGINE_ERR_CLI_FAILED, "cannot assemble the answer");
        return;
    }
    await_calls(s, yyjson_doc_get_root(msg));
    s->is_split_turn = true;
    session_mark_used(s);
    session_set_timer(s, TIMER_TOOL, (uint64_t)s->env.cfg->tool_result_timeout_ms);
    const char *ids[TOOLS_MAX_PENDING];
    log_info("session.tool_wait", "session=%s calls=%zu pending=%zu timeout_ms=%ld", s->id,
             tools_unanswered(s->tools, ids, TOOLS_MAX_PENDING), tools_pending_count(s->tools),
             s->env.cfg->tool_result_timeout_ms);
    bool was_attached;
    bool is_waiting = session_deliver(s, msg, ts, SESSION_PHASE_WAITING_TOOLS, &was_attached);
    /* Nobody will bring the results of calls the client never saw: let the CLI go. */
    if (!was_attached && is_waiting) session_close(s, "client gone before its tool calls");
}

void session_on_tool_timeout(session_t *s) {
    log_info("session.tool_timeout", "session=%s timeout_ms=%ld pending=%zu", s->id, s->env.cfg->tool_result_timeout_ms,
             tools_pending_count(s->tools));
    session_close(s, "no tool result in time");
}

/* ---- the follow-up ---- */

static int send_answer(session_t *s, const char *client_id, yyjson_val *content, bool is_error, const char *extra) {
    char *reply = NULL;
    size_t len = 0;
    /* The CLI's own id, also when the client rewrote it (a copy: answering frees the tool set's). */
    const char *own = tools_match_id(s->tools, client_id);
    char *id = strdup(own ? own : client_id);
    if (!id) return -1;
    int rc = tools_answer(s->tools, id, content, is_error, extra, &reply, &len);
    if (rc != 0) log_warn("session.tool_result_unknown", "session=%s tool_use_id=%s", s->id, client_id);
    else if (strcmp(id, client_id) != 0) log_info("session.tool_id_rewritten", "session=%s client_id=%s id=%s", s->id, client_id, id);
    free(id);
    if (rc != 0) return 0; /* not one of ours (an older call the CLI no longer waits on): nothing to answer */
    return reply ? session_send(s, reply, len) : 0;
}

/* The text the follow-up's last user message carries besides its tool results, and the tool_choice
 * reminder: both ride on the last result (the CLI takes nothing else while a tool call is open). */
static int extra_text(const engine_request_t *req, buf_t *out) {
    size_t i, max;
    yyjson_val *block;
    yyjson_arr_foreach(req->last_content, i, max, block) {
        const char *type = yyjson_get_str(yyjson_obj_get(block, "type"));
        yyjson_val *text = yyjson_obj_get(block, "text");
        if (!type || strcmp(type, "text") != 0 || !yyjson_get_len(text)) continue;
        if ((out->len && buf_append_str(out, "\n\n") != 0) || buf_append(out, yyjson_get_str(text), yyjson_get_len(text)) != 0)
            return -1;
    }
    if (req->tool_reminder && ((out->len && buf_append_str(out, "\n\n") != 0) || buf_append_str(out, req->tool_reminder) != 0))
        return -1;
    return 0;
}

static int answer_all(session_t *s, const engine_request_t *req) {
    buf_t extra;
    buf_init(&extra, 0);
    if (extra_text(req, &extra) != 0) {
        buf_free(&extra);
        return -1;
    }
    yyjson_val *last = NULL;
    size_t i, max, answered = 0;
    yyjson_val *block;
    yyjson_arr_foreach(req->last_content, i, max, block) {
        const char *type = yyjson_get_str(yyjson_obj_get(block, "type"));
        if (type && !strcmp(type, "tool_result")) last = block;
    }
    int rc = 0;
    yyjson_arr_foreach(req->last_content, i, max, block) {
        const char *type = yyjson_get_str(yyjson_obj_get(block, "type"));
        const char *id = yyjson_get_str(yyjson_obj_get(block, "tool_use_id"));
        if (!type || strcmp(type, "tool_result") != 0 || !id) continue;
        bool is_error = yyjson_is_true(yyjson_obj_get(block, "is_error"));
        const char *note = block == last && extra.len ? buf_cstr(&extra) : NULL;
        if ((rc = send_answer(s, id, yyjson_obj_get(block, "content"), is_error, note)) != 0) break;
        answered++;
    }
    buf_free(&extra);
    /* Calls the follow-up says nothing about: the CLI must not wait on them forever. */
    const char *missing[TOOLS_MAX_PENDING];
    size_t n = rc ? 0 : tools_unanswered(s->tools, missing, TOOLS_MAX_PENDING);
    for (size_t k = 0; k < n && !rc; k++) rc = send_answer(s, missing[k], NULL, true, TOOLS_NO_RESULT);
    log_info("session.tool_results", "session=%s request_id=%s answered=%zu missing=%zu", s->id, req->request_id,
             answered, n);
    return rc;
}

int session_resume_turn(session_t *s, const engine_request_t *req, const session_sink_t *sink, void *sink_arg) {
    if (s->phase != SESSION_PHASE_WAITING_TOOLS) return -1;
    if (session_begin_response(s, req) != 0 || answer_all(s, req) != 0) {
        session_close(s, "cannot send the tool results to the CLI");
        return -1;
    }
    session_attach(s, req, sink, sink_arg);
    session_set_timer(s, TIMER_STALL, (uint64_t)s->env.cfg->stall_timeout_ms);
    return 0;
}
