/*
 * Taking back a turn. A turn the client abandoned (interrupted) or the upstream refused (an API error)
 * leaves the CLI holding an exchange the client will never send back: the user line and a partial
 * answer with "[Request interrupted by user]", or the user line alone (the CLI drops its synthetic
 * error message, so the next user line would be merged into the failed one). `rewind_conversation`
 * with the uuid our user line carried makes the CLI forget that line and everything after it: measured
 * on 2.1.197 and 2.1.332, the next turn goes upstream exactly as on a process that never saw the
 * failed one (docs/cli-protocol-notes.md). So the process is kept and holds what it held before: a
 * client that retries, or goes on from its last good answer, is served without a spawn.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/protocol.h"
#include "engine/session_internal.h"
#include "util/log.h"

void session_rewind_mark_turn(session_t *s, const engine_request_t *req) {
    if (transcript_uuid(s->rewind.uuid) != 0) s->rewind.uuid[0] = '\0';
    s->rewind.base = req->history;
    s->rewind.is_first_turn = req->message_count <= 1;
}

static void forget_error(session_t *s) {
    free(s->rewind.error_text);
    s->rewind.error_text = NULL;
    s->rewind.has_error = false;
}

void session_rewind_deliver_error(session_t *s) {
    if (!s->rewind.has_error) return;
    engine_error_t err = s->rewind.error;
    char *text = s->rewind.error_text;
    s->rewind.error_text = NULL;
    s->rewind.has_error = false;
    err.message = text;
    session_sink_error(s, &err);
    free(text);
}

static bool can_rewind(const session_t *s) {
    const cli_traits_t *t = cli_info_traits(s->env.cli);
    return t->rewinds_conversation && (t->rewinds_first_turn || !s->rewind.is_first_turn) && *s->rewind.uuid &&
           !s->is_doomed && s->transport;
}

void session_rewind_free(session_t *s) { forget_error(s); }

bool session_rewind(session_t *s, const engine_error_t *err) {
    if (!can_rewind(s)) return false;
    forget_error(s);
    if (err) {
        s->rewind.error = *err;
        s->rewind.error_text = err->message ? strdup(err->message) : NULL;
        s->rewind.has_error = true;
    }
    s->rewind.why = err ? "turn failed" : "turn interrupted";
    snprintf(s->rewind.control_id, sizeof s->rewind.control_id, "cwp-rewind-%u", ++s->control_seq);
    size_t len = 0;
    char *line = proto_build_rewind(s->rewind.control_id, s->rewind.uuid, &len);
    bool is_entered = session_enter(s, SESSION_PHASE_REWINDING, err ? "upstream error" : "interrupted");
    if (!is_entered) free(line);
    if (!is_entered || session_send(s, line, len) != 0) { /* session_send takes the line */
        s->rewind.control_id[0] = '\0';
        forget_error(s); /* the caller gives the client err and ends the session */
        return false;
    }
    session_set_timer(s, TIMER_REWIND, SESSION_DRAIN_MS);
    return true;
}

void session_on_rewind_answer(session_t *s, yyjson_val *root) {
    s->rewind.control_id[0] = '\0';
    if (s->phase != SESSION_PHASE_REWINDING) return;
    const char *error = NULL;
    if (!proto_rewind_done(root, &error)) {
        log_warn("session.rewind_refused", "session=%s error=\"%.200s\"", s->id, error ? error : "");
        session_close(s, s->rewind.why); /* as when it is not asked: the CLI holds what the client will not send */
        return;
    }
    s->held = s->rewind.base;
    s->has_held = true;
    s->rewind.uuid[0] = '\0'; /* taken back: it names nothing now */
    session_enter(s, SESSION_PHASE_IDLE, "rewound");
    log_info("session.rewound", "session=%s turns=%d", s->id, s->turns);
    if (s->env.observer.on_rewind) s->env.observer.on_rewind(s->env.observer.arg);
    session_mark_used(s);
    session_set_timer(s, TIMER_IDLE, (uint64_t)s->env.cfg->session_timeout_ms);
    session_rewind_deliver_error(s); /* its client may retry at once: the session is ready for it */
    if (s->phase != SESSION_PHASE_IDLE) return; /* closed from inside the client's callback */
    if (s->is_doomed) session_close(s, "recycled");
    else if (s->owner.on_available) s->owner.on_available(s->owner.owner, s);
}
