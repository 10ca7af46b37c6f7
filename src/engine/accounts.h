/*
 * Accounts: the Claude logins the CLIs run under, their health and their share of the traffic.
 *
 * - Without the `accounts` setting there is one implicit account: the CLIs get the proxy's own
 *   credentials (environment, claudeConfigDir) exactly as before, and it is never marked limited.
 * - With it, each CLI gets exactly its account's credential and nothing the proxy inherited.
 * - A new conversation goes to an available account of the best priority, chosen by rendezvous hashing on
 *   the conversation (its system prompt and first message), so its follow-ups, seeded restarts and tool
 *   calls land on the same account while that one stays available.
 * - A limited account (429, 529, failed authentication, a rate_limit_event that says so) rests until its
 *   reset time, else for a back-off (accountBackoffMs, doubling while it keeps failing, at most an hour).
 *
 * Times are wall-clock milliseconds (a rate_limit_event's reset is a Unix time); the pure functions take
 * `now_ms` so tests can drive them.
 */
#ifndef CWP_ENGINE_ACCOUNTS_H
#define CWP_ENGINE_ACCOUNTS_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <yyjson.h>

#include "config.h"
#include "engine/engine.h"

#define ACCOUNTS_BACKOFF_MAX_MS (60 * 60 * 1000)

typedef struct account_s account_t;
typedef struct accounts_s accounts_t;

/* implicit_config_dir: the implicit account's CLAUDE_CONFIG_DIR (NULL: each child keeps its own). */
accounts_t *accounts_new(const config_t *cfg, const char *implicit_config_dir);
void accounts_free(accounts_t *as);
size_t accounts_count(const accounts_t *as);
account_t *accounts_get(accounts_t *as, size_t index);
account_t *accounts_find(accounts_t *as, const char *name);
/* True when the setting names accounts (false: the one implicit account). */
bool accounts_are_configured(const accounts_t *as);

/* The conversation's routing key: its system prompt and first message, canonically (fingerprint.h). */
uint64_t accounts_conversation_key(const char *system, yyjson_val *messages);
/* The available account of the best priority with the highest rendezvous score for key, skipping the
 * accounts whose bit (1 << index) is in excluded. NULL when none is left. */
account_t *accounts_choose(accounts_t *as, uint64_t key, uint32_t excluded, int64_t now_ms);
/* When the first limited account becomes available again (ms, wall clock); 0 when one is available now. */
int64_t accounts_next_available_ms(const accounts_t *as, int64_t now_ms);

size_t account_index(const account_t *a);
const char *account_name(const account_t *a);
/* "config_dir" | "oauth_token" | "api_key" | "implicit" */
const char *account_kind(const account_t *a);
int account_priority(const account_t *a);
/* The children's CLAUDE_CONFIG_DIR: the account's own dir, the implicit account's, or NULL (private). */
const char *account_config_dir(const account_t *a);
/* The environment a child of this account starts from: base (cli_base_env) without any credential the
 * proxy inherited, plus the account's own. The strings are borrowed (base's and the account's); free the
 * array only. The implicit account: base unchanged. NULL when out of memory. */
char **account_child_env(const account_t *a, char *const *base);

bool account_is_available(const account_t *a, int64_t now_ms);
/* Rest until until_ms (a reset the upstream gave), or for the back-off when until_ms is 0. Never for the
 * implicit account. */
void account_mark_limited(account_t *a, int64_t until_ms, const char *reason, int64_t now_ms);
/* Its credentials changed (a login): the rest ends now. */
void account_mark_available(account_t *a);
/* A turn succeeded: the back-off starts again from accountBackoffMs. */
void account_mark_ok(account_t *a);
/* A rate_limit_event's info (status, resetsAt, overageStatus, isUsingOverage): marks the account limited
 * when the limit is reached, or when it spends extra usage and allow_extra_usage is false. Returns true
 * when it did. */
bool account_note_rate_limit(account_t *a, yyjson_val *info, bool allow_extra_usage, int64_t now_ms);

void account_count_request(account_t *a);
void account_count_failover(account_t *a);
void account_count_usage(account_t *a, int64_t input_tokens, int64_t output_tokens, double cost_usd);
/* live_sessions is the pool's to fill in. */
void account_info(const account_t *a, int64_t now_ms, engine_account_info_t *out);

/* Wall-clock milliseconds since the epoch. */
int64_t accounts_now_ms(void);

#endif
