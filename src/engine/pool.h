/*
 * The pool: which process runs which turn.
 *
 * - maxSessions caps processes: warm, busy, waiting, idle, and closing ones until they are reaped;
 *   beyond it requests wait in a FIFO (maxQueue long, queueTimeoutMs at most) and then get 429.
 * - A request whose history equals what an idle session holds goes to that session: only the new user
 *   turn is sent (conversation reuse, by fingerprint).
 * - A new conversation takes a warm process (spawned ahead with nothing request-specific, not yet
 *   initialized): its system prompt, tools and schema go into initialize, its model into set_model, its
 *   thinking into set_max_thinking_tokens. Only a request with effort (a spawn flag) or with history
 *   spawns a process (the history seeded as a transcript).
 * - A request carrying tool results goes to the session parked on those tool calls (WAITING); when there
 *   is none (proxy restarted, session released), a new process gets the whole history, results included.
 * - To make room, idle sessions are evicted least recently used first, then warm ones, then parked ones.
 * - Warm processes are kept ready while there is room and nobody waits: as many as new conversations
 *   arrive per refill time (at least warmSessions; room beside busy and parked sessions at most), refilled
 *   as soon as one is taken; a warm process that dies unused delays the next one (1 s, doubling to 60 s).
 * - Accounts (accounts.h): a new conversation runs on the account accounts_choose gives it; a live session
 *   is reused only while its account is available; warm processes are spread over the accounts new
 *   conversations go to, and those of an account that becomes limited are ended. When no account is
 *   available the request gets 429 with the earliest reset as retry-after.
 */
#ifndef CWP_ENGINE_POOL_H
#define CWP_ENGINE_POOL_H
#include <stdbool.h>
#include <stdint.h>

#include "engine/accounts.h"
#include "engine/request.h"
#include "engine/session.h"

#define POOL_RETRY_AFTER_S 5
#define POOL_WARM_BACKOFF_MAX_MS 60000
/* Warm processes follow demand: new conversations seen in the last window, scaled to a refill time. */
#define POOL_DEMAND_WINDOW_MS 10000
#define POOL_REFILL_MS 1000 /* a CLI's start-up with margin (0.6 s measured on 2.1.197) */
#define POOL_DEMAND_MAX 64  /* arrivals remembered (caps the target at 64 per window) */

typedef struct pool_s pool_t;
typedef struct pool_job_s pool_job_t;

/* A turn as the pool sees it. The owner (the engine's turn) embeds it; the pool only links it. */
struct pool_job_s {
    const engine_request_t *req;
    session_sink_t sink;
    void *sink_arg;
    uint64_t conversation_key; /* accounts_conversation_key of the request */
    uint32_t tried_accounts;   /* bit i: account i failed this job before anything reached the client */
    account_t *account;        /* where it runs (set when placed) */
    /* the pool's */
    pool_job_t *prev, *next;
    uint64_t deadline_ms;
    bool is_queued;
    session_t *session;
};

pool_t *pool_new(const session_env_t *env, accounts_t *accounts);
void pool_free(pool_t *p);
/* Start the warm processes. */
void pool_start(pool_t *p);
/* Run the job on a session now, or queue it. Returns 0, or -1 with *err (never calls the sink then). */
int pool_submit(pool_t *p, pool_job_t *job, engine_error_t *err);
/* A job a session bounced (session_sink_t.on_bounced): place it again, ahead of the queue. */
void pool_requeue(pool_t *p, pool_job_t *job);
/* WebSocket CLIs do not connect: spawn later processes on stdio (failed: the session that showed it). */
void pool_use_stdio(pool_t *p, session_t *failed);
/* The job's consumer left (not from inside one of its sink callbacks). */
void pool_cancel(pool_t *p, pool_job_t *job);
/* Fail queued jobs, end every session; done runs once every child is reaped. */
void pool_shutdown(pool_t *p, void (*done)(void *arg), void *arg);
void pool_recycle_all(pool_t *p);
/* Credentials of one account changed: as pool_recycle_all, for its sessions. */
void pool_recycle_account(pool_t *p, const account_t *a);
/* An account was marked limited: its warm processes end (new conversations go elsewhere). */
void pool_account_limited(pool_t *p, const account_t *a);
/* No account can take the job: fills *err with a 429 whose retry-after is when the first rest ends
 * (the message lives in the pool until it runs again). Returns -1. */
int pool_all_limited_error(pool_t *p, const pool_job_t *job, engine_error_t *err);
/* Live (not closing) sessions of an account. */
int pool_account_sessions(const pool_t *p, const account_t *a);
void pool_get_stats(const pool_t *p, engine_stats_t *out);
void pool_foreach(const pool_t *p, void (*fn)(const engine_session_info_t *info, void *arg), void *arg);

#endif
