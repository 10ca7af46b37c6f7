#include "engine/pool.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "transport/stdio.h"
#include "util/log.h"

struct pool_s {
    session_env_t env;
    const config_t *cfg;
    accounts_t *accounts;     /* the engine's */
    char error_text[256];     /* an error's message, read by the caller before the pool runs again */
    session_t **sessions; /* every session not yet gone, closing ones included */
    size_t count, cap;
    pool_job_t *queue_head, *queue_tail;
    size_t queue_len;
    uv_timer_t queue_timer; /* the oldest queued job's deadline */
    uv_timer_t pump_timer;  /* placement runs from the loop, never inside a caller's call */
    uv_timer_t warm_timer;  /* back-off after warm processes died unused */
    unsigned warm_failures;
    bool is_warm_delayed;
    session_t *closing_by_us; /* set while the pool itself closes a session */
    session_t *ws_failed;     /* the session whose WebSocket never connected: not a warm process failure */
    int children;             /* spawned and not yet reaped */
    bool is_shutting_down;
    void (*shutdown_done)(void *arg);
    void *shutdown_arg;
    int handles_open;
    /* When recent new conversations arrived (loop ms, a ring): how many warm processes to keep. */
    uint64_t arrivals[POOL_DEMAND_MAX];
    size_t arrival_next;
};

static void pool_schedule(pool_t *p);

static void pool_note_arrival(pool_t *p) {
    p->arrivals[p->arrival_next++ % POOL_DEMAND_MAX] = uv_now(p->env.loop) + 1; /* 0 = empty slot */
}

/* Warm processes to keep: the new conversations expected while one process starts (arrivals in the last
 * POOL_DEMAND_WINDOW_MS, scaled to POOL_REFILL_MS), at least warmSessions, at most what maxSessions leaves
 * beside busy and parked sessions. warmSessions 0 turns them off. */
static int warm_target(const pool_t *p) {
    if (p->cfg->warm_sessions <= 0) return 0; /* warm processes are off */
    uint64_t now = uv_now(p->env.loop);
    int recent = 0;
    for (size_t i = 0; i < POOL_DEMAND_MAX; i++)
        recent += p->arrivals[i] && now + 1 - p->arrivals[i] <= POOL_DEMAND_WINDOW_MS;
    int target = (int)(((uint64_t)recent * POOL_REFILL_MS + POOL_DEMAND_WINDOW_MS - 1) / POOL_DEMAND_WINDOW_MS);
    if (target < p->cfg->warm_sessions) target = p->cfg->warm_sessions;
    int room = p->cfg->max_sessions;
    for (size_t i = 0; i < p->count; i++) {
        session_state_t st = session_state(p->sessions[i]);
        room -= st == SESSION_BUSY || st == SESSION_WAITING;
    }
    return target < room ? target : room;
}
static void on_warm_timer(uv_timer_t *t);

/* ---- bookkeeping ---- */

static int live_count(const pool_t *p) {
    int n = 0;
    for (size_t i = 0; i < p->count; i++) n += session_state(p->sessions[i]) != SESSION_CLOSING;
    return n;
}

/* What maxSessions caps: every child not yet reaped. A closing process still holds its memory until it
 * exits; not counting it let abort churn run ten times maxSessions children at once. */
static int occupied_count(const pool_t *p) {
    int sessions = (int)p->count; /* closing ones stay listed until their process is reaped */
    return p->children > sessions ? p->children : sessions;
}

/* Processes on their way out: room is coming, evicting more would only waste sessions. */
static bool is_room_coming(const pool_t *p) { return occupied_count(p) > live_count(p); }

static int warm_count(const pool_t *p) {
    int n = 0;
    for (size_t i = 0; i < p->count; i++) n += session_is_warm(p->sessions[i]);
    return n;
}

static void pool_close_session(pool_t *p, session_t *s, const char *reason) {
    p->closing_by_us = s;
    session_close(s, reason);
    p->closing_by_us = NULL;
}

static void pool_maybe_done(pool_t *p) {
    if (!p->is_shutting_down || p->count > 0 || p->children > 0 || !p->shutdown_done) return;
    void (*done)(void *) = p->shutdown_done;
    p->shutdown_done = NULL;
    log_info("engine.down", "sessions=0 children=0");
    done(p->shutdown_arg);
}

/* ---- session events ---- */

static void on_available(void *owner, session_t *s) {
    pool_t *p = owner;
    /* A finished turn shows the CLI works: warm processes need no more back-off. */
    if (session_state(s) == SESSION_IDLE) p->warm_failures = 0;
    pool_schedule(p);
}

static void on_closing(void *owner, session_t *s) {
    pool_t *p = owner;
    if (session_was_warm(s) && p->closing_by_us != s && p->ws_failed != s && !p->is_shutting_down) p->warm_failures++;
    if (p->ws_failed == s) p->ws_failed = NULL;
    pool_schedule(p);
}

static void on_gone(void *owner, session_t *s) {
    pool_t *p = owner;
    for (size_t i = 0; i < p->count; i++) {
        if (p->sessions[i] == s) {
            p->sessions[i] = p->sessions[--p->count];
            break;
        }
    }
    pool_maybe_done(p);
}

static void on_reaped(void *arg) {
    pool_t *p = arg;
    p->children--;
    pool_maybe_done(p);
    pool_schedule(p); /* its slot is free now: a queued job may take it */
}

static session_t *pool_spawn(pool_t *p, const session_spawn_t *sp, engine_error_t *err) {
    if (p->count == p->cap) {
        size_t cap = p->cap ? p->cap * 2 : 8;
        session_t **v = realloc(p->sessions, cap * sizeof *v);
        if (!v) {
            *err = (engine_error_t){.kind = ENGINE_ERR_UNAVAILABLE, .message = "out of memory"};
            return NULL;
        }
        p->sessions = v;
        p->cap = cap;
    }
    session_owner_t owner = {.on_available = on_available, .on_closing = on_closing, .on_gone = on_gone, .owner = p};
    session_t *s = session_spawn(&p->env, sp, &owner, err);
    if (!s) return NULL;
    p->children++;
    p->sessions[p->count++] = s;
    return s;
}

/* ---- the queue ---- */

static void queue_remove(pool_t *p, pool_job_t *job) {
    if (!job->is_queued) return;
    if (job->prev) job->prev->next = job->next;
    else p->queue_head = job->next;
    if (job->next) job->next->prev = job->prev;
    else p->queue_tail = job->prev;
    job->prev = job->next = NULL;
    job->is_queued = false;
    p->queue_len--;
}

static void on_queue_timer(uv_timer_t *t);

/* Deadlines are in queue order, except for a bounced job put back at the head: find the earliest. */
static void queue_arm(pool_t *p) {
    if (!p->queue_head) {
        uv_timer_stop(&p->queue_timer);
        return;
    }
    uint64_t now = uv_now(p->env.loop), due = UINT64_MAX;
    for (pool_job_t *job = p->queue_head; job; job = job->next)
        if (job->deadline_ms < due) due = job->deadline_ms;
    uv_timer_start(&p->queue_timer, on_queue_timer, due > now ? due - now : 0, 0);
}

static void on_queue_timer(uv_timer_t *t) {
    pool_t *p = t->data;
    uint64_t now = uv_now(p->env.loop);
    for (pool_job_t *job = p->queue_head, *next; job; job = next) {
        next = job->next;
        if (job->deadline_ms > now) continue;
        queue_remove(p, job);
        char msg[160];
        snprintf(msg, sizeof msg, "all %d Claude Code processes stayed busy for %ld ms", p->cfg->max_sessions,
                 p->cfg->queue_timeout_ms);
        log_warn("pool.queue_timeout", "request_id=%s waited_ms=%ld", job->req->request_id, p->cfg->queue_timeout_ms);
        engine_error_t err = {.kind = ENGINE_ERR_QUEUE_FULL, .retry_after_s = POOL_RETRY_AFTER_S,
                              .message = msg};
        job->sink.on_error(job->sink_arg, &err);
        next = p->queue_head; /* the callback may have changed the queue: start over */
    }
    queue_arm(p);
}

/* ---- placement ---- */

/* The parked session whose tool calls the request's tool results answer (see session_tools.c): the one
 * that awaits the id itself, else the only one that awaits it as the client may have rewritten it. */
static session_t *find_parked(pool_t *p, const engine_request_t *r) {
    size_t i, max;
    yyjson_val *block;
    session_t *rewritten = NULL;
    bool is_ambiguous = false;
    yyjson_arr_foreach(r->last_content, i, max, block) {
        const char *id = yyjson_get_str(yyjson_obj_get(block, "tool_use_id"));
        for (size_t k = 0; id && k < p->count; k++) {
            session_t *s = p->sessions[k];
            if (session_awaits_exactly(s, id)) return s;
            if (!session_awaits_tool(s, id)) continue;
            if (rewritten && rewritten != s) is_ambiguous = true;
            rewritten = s;
        }
    }
    return is_ambiguous ? NULL : rewritten;
}

/* Does any tool_use or tool_result block of the request name a call s waits on? */
static bool mentions_awaited(const session_t *s, const engine_request_t *r) {
    size_t i, imax, k, kmax;
    yyjson_val *msg, *block;
    yyjson_arr_foreach(r->messages, i, imax, msg) {
        yyjson_arr_foreach(yyjson_obj_get(msg, "content"), k, kmax, block) {
            const char *id = yyjson_get_str(yyjson_obj_get(block, "tool_use_id"));
            if (!id) id = yyjson_get_str(yyjson_obj_get(block, "id"));
            if (id && session_awaits_tool(s, id)) return true;
        }
    }
    return false;
}

/* A parked session whose calls this request carries but which does not serve it (the client answered
 * them into another conversation, or went on without them) will never be resumed: release it now. */
static void release_answered_elsewhere(pool_t *p, const engine_request_t *r, const session_t *serving) {
    for (size_t i = 0; i < p->count; i++) {
        session_t *s = p->sessions[i];
        if (s == serving || session_state(s) != SESSION_WAITING || !mentions_awaited(s, r)) continue;
        log_info("pool.release_parked", "session=%s request_id=%s", session_id(s), r->request_id);
        pool_close_session(p, s, "its tool calls were answered elsewhere");
    }
}

/* Its account can take the job now: available, and not one that already failed it. */
static bool is_account_usable(const pool_job_t *job, const account_t *a) {
    size_t i = account_index(a);
    return !(i < 32 && (job->tried_accounts >> i) & 1u) && account_is_available(a, accounts_now_ms());
}

static session_t *find_reusable(pool_t *p, const pool_job_t *job, const account_t *chosen) {
    const engine_request_t *r = job->req;
    /* Tool results can only go to the session that waits on those calls; without one, the whole history,
     * results included, is seeded into a new process. */
    if (r->has_tool_results) return NULL;
    /* The session holding the conversation, on whichever account, while that one can serve. A new
     * conversation finds one too when a failed first turn with the same settings was taken back. */
    for (size_t i = 0; i < p->count; i++) {
        session_t *s = p->sessions[i];
        if (session_holds(s, &r->history) && is_account_usable(job, session_account(s))) return s;
    }
    if (engine_request_has_history(r)) return NULL;
    /* A warm process takes the request's system prompt, tools and schema (initialize), model (set_model) and
     * thinking (set_max_thinking_tokens) when its first turn starts; effort is a spawn flag only. */
    if (r->effort) return NULL;
    session_t *best = NULL;
    for (size_t i = 0; i < p->count; i++) {
        session_t *s = p->sessions[i];
        if (!session_is_warm(s) || session_account(s) != chosen || !session_fits_system(s, r->system)) continue;
        if (!best || session_state(s) == SESSION_READY) best = s;
    }
    return best;
}

/* How unlikely an idle conversation is to come back: clients extend a conversation soon or not at all,
 * and one that has gone on for many turns is more likely to go on. Higher: give it up first. */
static double idle_score(const session_t *s, uint64_t now_ns) {
    engine_session_info_t info;
    session_info(s, &info);
    return (double)(now_ns - session_last_used(s)) / (double)(1 + (info.turns < 8 ? info.turns : 8));
}

/* The idle session least likely to be extended (NULL: none). */
static session_t *find_idle_victim(pool_t *p) {
    session_t *victim = NULL;
    uint64_t now = uv_hrtime();
    double worst = -1;
    for (size_t i = 0; i < p->count; i++) {
        session_t *s = p->sessions[i];
        if (session_state(s) != SESSION_IDLE) continue;
        double score = idle_score(s, now);
        if (score > worst) worst = score, victim = s;
    }
    return victim;
}

/* An idle session (the least likely to come back), else a warm one, else the least recently parked one. */
static session_t *find_victim(pool_t *p) {
    session_t *victim = find_idle_victim(p);
    if (victim) return victim;
    for (size_t i = 0; i < p->count; i++)
        if (session_is_warm(p->sessions[i])) return p->sessions[i];
    /* Last, a session parked on client tool calls: its follow-up can still be served from a transcript. */
    for (size_t i = 0; i < p->count; i++) {
        session_t *s = p->sessions[i];
        if (session_state(s) == SESSION_WAITING && (!victim || session_last_used(s) < session_last_used(victim))) victim = s;
    }
    return victim;
}

/* 1: running, 0: no room (queue it), -1: failed (*err). may_spawn false: only a session that
 * already fits may take it (others are waiting for room). */
int pool_all_limited_error(pool_t *p, const pool_job_t *job, engine_error_t *err) {
    int64_t now = accounts_now_ms(), next = accounts_next_available_ms(p->accounts, now);
    int retry_s = next > now ? (int)((next - now + 999) / 1000) : POOL_RETRY_AFTER_S;
    snprintf(p->error_text, sizeof p->error_text,
             accounts_count(p->accounts) > 1 ? "every Claude account is rate-limited; retry in %d s"
                                             : "the Claude account is rate-limited; retry in %d s",
             retry_s);
    log_warn("pool.accounts_limited", "request_id=%s retry_after_s=%d", job->req->request_id, retry_s);
    *err = (engine_error_t){.kind = ENGINE_ERR_RATE_LIMIT, .retry_after_s = retry_s,
                            .message = p->error_text};
    return -1;
}

static void job_placed(pool_job_t *job, session_t *s) {
    job->session = s;
    job->account = session_account(s);
    account_count_request(job->account);
}

static int pool_place(pool_t *p, pool_job_t *job, bool may_spawn, engine_error_t *err) {
    const engine_request_t *r = job->req;
    session_t *parked = r->has_tool_results ? find_parked(p, r) : NULL;
    if (parked && session_resume_turn(parked, r, &job->sink, job->sink_arg) == 0) {
        job_placed(job, parked);
        release_answered_elsewhere(p, r, parked);
        return 1;
    }
    if (engine_request_has_history(r)) release_answered_elsewhere(p, r, NULL);
    account_t *chosen = accounts_choose(p->accounts, job->conversation_key, job->tried_accounts, accounts_now_ms());
    if (!chosen) return pool_all_limited_error(p, job, err);
    for (int attempt = 0; attempt < 3; attempt++) {
        session_t *s = find_reusable(p, job, chosen);
        if (!s && !may_spawn) return 0;
        if (!s) {
            if (occupied_count(p) >= p->cfg->max_sessions) {
                /* One eviction at a time: the slot frees when the victim is reaped (on_reaped pumps). */
                session_t *victim = is_room_coming(p) ? NULL : find_victim(p);
                if (victim) pool_close_session(p, victim, "evicted to make room");
                if (occupied_count(p) >= p->cfg->max_sessions) return 0;
            }
            bool has_history = engine_request_has_history(r);
            session_spawn_t sp = {.model = r->model, .system = r->system, .effort = r->effort, .tools = r->tools,
                                  .client = r->client, .account = chosen,
                                  .seed_messages = has_history ? r->messages : NULL,
                                  .seed_count = has_history ? r->message_count - !r->has_tool_results : 0,
                                  .resumes_tool_turn = has_history && r->has_tool_results};
            /* The seeded results carry the tool_choice instruction, as a parked session's answers do. */
            bool is_reminded = sp.resumes_tool_turn && r->tool_reminder;
            yyjson_doc *seed = is_reminded ? tool_choice_seed_messages(r->messages, r->tool_reminder) : NULL;
            if (is_reminded && !seed) {
                *err = (engine_error_t){.kind = ENGINE_ERR_UNAVAILABLE, .message = "out of memory"};
                return -1;
            }
            if (seed) sp.seed_messages = yyjson_doc_get_root(seed);
            s = pool_spawn(p, &sp, err);
            yyjson_doc_free(seed);
            if (!s) return -1;
        }
        bool was_warm = session_is_warm(s);
        if (!engine_request_has_history(r)) pool_note_arrival(p);
        if (session_run_turn(s, r, &job->sink, job->sink_arg) == 0) {
            job_placed(job, s);
            if (was_warm) pool_schedule(p); /* refill at once */
            return 1;
        }
    }
    *err = (engine_error_t){.kind = ENGINE_ERR_CLI_FAILED, .message = "cannot hand the request to a Claude Code process"};
    return -1;
}

/* Where the next warm process goes: of the accounts new conversations go to (available, best priority),
 * the one with the fewest warm processes. */
static account_t *warm_account(pool_t *p) {
    int64_t now = accounts_now_ms();
    account_t *best = NULL;
    int best_warm = 0;
    for (size_t i = 0; i < accounts_count(p->accounts); i++) {
        account_t *a = accounts_get(p->accounts, i);
        if (!account_is_available(a, now)) continue;
        int warm = 0;
        for (size_t k = 0; k < p->count; k++) warm += session_is_warm(p->sessions[k]) && session_account(p->sessions[k]) == a;
        if (!best || account_priority(a) < account_priority(best) ||
            (account_priority(a) == account_priority(best) && warm < best_warm)) {
            best = a;
            best_warm = warm;
        }
    }
    return best;
}

static void pool_top_up(pool_t *p) {
    if (p->is_shutting_down || !p->env.cli->is_found || p->is_warm_delayed || p->queue_len) return;
    int target = warm_target(p);
    if (warm_count(p) >= target) return;
    if (p->warm_failures) {
        uint64_t delay = 1000ull << (p->warm_failures < 7 ? p->warm_failures - 1 : 6);
        if (delay > POOL_WARM_BACKOFF_MAX_MS) delay = POOL_WARM_BACKOFF_MAX_MS;
        p->is_warm_delayed = true;
        uv_timer_start(&p->warm_timer, on_warm_timer, delay, 0);
        log_warn("pool.warm_backoff", "failures=%u delay_ms=%llu", p->warm_failures, (unsigned long long)delay);
        return;
    }
    /* Up to warmSessions, a warm process is worth more than the idle conversation least likely to return.
     * One eviction at a time: the slot frees when the victim is reaped (on_reaped pumps). */
    int floor = p->cfg->warm_sessions < target ? p->cfg->warm_sessions : target;
    while (warm_count(p) < target) {
        account_t *account = warm_account(p);
        if (!account) return; /* every account rests */
        if (occupied_count(p) >= p->cfg->max_sessions) {
            session_t *victim = warm_count(p) < floor && !is_room_coming(p) ? find_idle_victim(p) : NULL;
            if (victim) pool_close_session(p, victim, "evicted for a warm process");
            return;
        }
        engine_error_t err;
        /* Nothing request-specific but the default model: set_model gives another one, and on 2.1.197 it
         * leaves a local /model command in the conversation, which the default model's requests need not see. */
        session_spawn_t sp = {.model = p->cfg->default_model, .client = "", .is_warm = true, .account = account};
        if (!pool_spawn(p, &sp, &err)) {
            p->warm_failures++;
            return;
        }
    }
}

static void on_warm_timer(uv_timer_t *t) {
    pool_t *p = t->data;
    p->is_warm_delayed = false;
    /* One attempt after the pause; if it dies unused too, the pause doubles. */
    unsigned failures = p->warm_failures;
    p->warm_failures = 0;
    pool_top_up(p);
    p->warm_failures = failures;
}

static void pool_pump(pool_t *p) {
    for (pool_job_t *job = p->queue_head, *next; job; job = next) {
        next = job->next;
        engine_error_t err;
        int rc = pool_place(p, job, true, &err);
        if (rc == 0) continue;
        queue_remove(p, job);
        if (rc < 0) job->sink.on_error(job->sink_arg, &err);
        next = p->queue_head; /* the queue may have changed under a callback: start over */
    }
    queue_arm(p);
    pool_top_up(p);
}

static void on_pump_timer(uv_timer_t *t) { pool_pump(t->data); }

static void pool_schedule(pool_t *p) {
    if (!p->is_shutting_down) uv_timer_start(&p->pump_timer, on_pump_timer, 0, 0);
}

/* ---- public ---- */

void pool_use_stdio(pool_t *p, session_t *failed) {
    p->ws_failed = failed;
    p->env.transport = stdio_transport_maker(p->env.loop);
}

void pool_requeue(pool_t *p, pool_job_t *job) {
    job->session = NULL;
    if (p->is_shutting_down) {
        engine_error_t err = {.kind = ENGINE_ERR_UNAVAILABLE, .message = "the proxy is shutting down"};
        job->sink.on_error(job->sink_arg, &err);
        return;
    }
    /* At the head: it was placed before anything now waiting. */
    job->deadline_ms = uv_now(p->env.loop) + (uint64_t)p->cfg->queue_timeout_ms;
    job->is_queued = true;
    job->prev = NULL;
    job->next = p->queue_head;
    if (p->queue_head) p->queue_head->prev = job;
    else p->queue_tail = job;
    p->queue_head = job;
    p->queue_len++;
    queue_arm(p);
    pool_schedule(p);
}

pool_t *pool_new(const session_env_t *env, accounts_t *accounts) {
    pool_t *p = calloc(1, sizeof *p);
    if (!p) return NULL;
    p->accounts = accounts;
    p->env = *env;
    p->env.on_reaped = on_reaped;
    p->env.reaped_arg = p;
    p->cfg = env->cfg;
    uv_timer_init(env->loop, &p->queue_timer);
    uv_timer_init(env->loop, &p->pump_timer);
    uv_timer_init(env->loop, &p->warm_timer);
    p->queue_timer.data = p->pump_timer.data = p->warm_timer.data = p;
    return p;
}

static void on_handle_closed(uv_handle_t *h) {
    pool_t *p = h->data;
    if (--p->handles_open == 0) {
        free(p->sessions);
        free(p);
    }
}

void pool_free(pool_t *p) {
    if (!p) return;
    /* The timers may already have been closed by a final uv_walk of the loop: free at once then. */
    uv_handle_t *timers[] = {(uv_handle_t *)&p->queue_timer, (uv_handle_t *)&p->pump_timer,
                             (uv_handle_t *)&p->warm_timer};
    p->handles_open = 1;
    for (size_t i = 0; i < 3; i++) {
        if (uv_is_closing(timers[i])) continue;
        p->handles_open++;
        uv_close(timers[i], on_handle_closed);
    }
    on_handle_closed((uv_handle_t *)&p->queue_timer); /* drops the 1 held above */
}

void pool_start(pool_t *p) { pool_top_up(p); }

int pool_submit(pool_t *p, pool_job_t *job, engine_error_t *err) {
    if (p->is_shutting_down) {
        *err = (engine_error_t){.kind = ENGINE_ERR_UNAVAILABLE, .message = "the proxy is shutting down"};
        return -1;
    }
    job->session = NULL;
    int rc = pool_place(p, job, p->queue_len == 0, err); /* FIFO: nobody overtakes the queue for room */
    if (rc < 0) return -1;
    if (rc > 0) return 0;
    if (p->queue_len >= (size_t)(p->cfg->max_queue > 0 ? p->cfg->max_queue : 0)) {
        static char msg[160];
        snprintf(msg, sizeof msg, "all %d Claude Code processes are busy and %zu requests are waiting",
                 p->cfg->max_sessions, p->queue_len);
        *err = (engine_error_t){.kind = ENGINE_ERR_QUEUE_FULL, .retry_after_s = POOL_RETRY_AFTER_S, .message = msg};
        return -1;
    }
    job->deadline_ms = uv_now(p->env.loop) + (uint64_t)p->cfg->queue_timeout_ms;
    job->is_queued = true;
    job->prev = p->queue_tail;
    job->next = NULL;
    if (p->queue_tail) p->queue_tail->next = job;
    else p->queue_head = job;
    p->queue_tail = job;
    p->queue_len++;
    log_info("pool.queued", "request_id=%s queued=%zu", job->req->request_id, p->queue_len);
    queue_arm(p);
    pool_schedule(p); /* a session may free up before any event says so (e.g. the head could place) */
    return 0;
}

void pool_cancel(pool_t *p, pool_job_t *job) {
    if (job->is_queued) {
        queue_remove(p, job);
        queue_arm(p);
    } else if (job->session) {
        session_detach_turn(job->session);
    }
    job->session = NULL;
}

void pool_shutdown(pool_t *p, void (*done)(void *arg), void *arg) {
    p->is_shutting_down = true;
    p->shutdown_done = done;
    p->shutdown_arg = arg;
    uv_timer_stop(&p->pump_timer);
    uv_timer_stop(&p->warm_timer);
    while (p->queue_head) {
        pool_job_t *job = p->queue_head;
        queue_remove(p, job);
        engine_error_t err = {.kind = ENGINE_ERR_UNAVAILABLE, .message = "the proxy is shutting down"};
        job->sink.on_error(job->sink_arg, &err);
    }
    uv_timer_stop(&p->queue_timer);
    /* Closing can't remove sessions from the array (that waits for the reap), so a plain loop is safe. */
    for (size_t i = 0; i < p->count; i++) pool_close_session(p, p->sessions[i], "shutting down");
    pool_maybe_done(p);
}

void pool_recycle_all(pool_t *p) {
    for (size_t i = 0; i < p->count; i++) {
        session_t *s = p->sessions[i];
        session_state_t st = session_state(s);
        if (st == SESSION_IDLE || session_is_warm(s)) pool_close_session(p, s, "recycled");
        else if (st != SESSION_CLOSING) session_mark_doomed(s);
    }
    pool_schedule(p);
}

void pool_recycle_account(pool_t *p, const account_t *a) {
    for (size_t i = 0; i < p->count; i++) {
        session_t *s = p->sessions[i];
        if (session_account(s) != a) continue;
        session_state_t st = session_state(s);
        if (st == SESSION_IDLE || session_is_warm(s)) pool_close_session(p, s, "recycled");
        else if (st != SESSION_CLOSING) session_mark_doomed(s);
    }
    pool_schedule(p);
}

void pool_account_limited(pool_t *p, const account_t *a) {
    for (size_t i = 0; i < p->count; i++) {
        session_t *s = p->sessions[i];
        if (session_account(s) == a && session_is_warm(s)) pool_close_session(p, s, "its account is limited");
    }
    pool_schedule(p);
}

int pool_account_sessions(const pool_t *p, const account_t *a) {
    int n = 0;
    for (size_t i = 0; i < p->count; i++)
        n += session_account(p->sessions[i]) == a && session_state(p->sessions[i]) != SESSION_CLOSING;
    return n;
}

void pool_get_stats(const pool_t *p, engine_stats_t *out) {
    out->live = out->warm = out->busy = out->waiting = out->idle = 0;
    for (size_t i = 0; i < p->count; i++) {
        session_t *s = p->sessions[i];
        switch (session_state(s)) {
        case SESSION_CLOSING: continue;
        case SESSION_BUSY: out->busy++; break;
        case SESSION_WAITING: out->waiting++; break;
        case SESSION_IDLE: out->idle++; break;
        default: break;
        }
        out->live++;
        out->warm += session_is_warm(s);
    }
    out->queued = (int)p->queue_len;
}

void pool_foreach(const pool_t *p, void (*fn)(const engine_session_info_t *info, void *arg), void *arg) {
    for (size_t i = 0; i < p->count; i++) {
        engine_session_info_t info;
        session_info(p->sessions[i], &info);
        fn(&info, arg);
    }
}
