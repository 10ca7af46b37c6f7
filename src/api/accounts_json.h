/* The configured accounts as JSON, for /health, /auth/status and the dashboard (see engine_account_info_t). */
#ifndef CWP_API_ACCOUNTS_JSON_H
#define CWP_API_ACCOUNTS_JSON_H
#include <stdbool.h>
#include <yyjson.h>

#include "engine/engine.h"

/* Adds "accounts": [{name, kind, priority, authenticated, limited, limitedUntil, liveSessions, requests,
 * failovers, inputTokens, outputTokens, costUsd, limitedMs}] to obj when the `accounts` setting names any.
 * Returns false when out of memory. */
bool api_add_accounts_json(engine_t *eng, yyjson_mut_doc *doc, yyjson_mut_val *obj);

/* With the setting: 1 when some account has credentials, 0 when none; -1 without it. */
int api_accounts_authenticated(engine_t *eng);

#endif
