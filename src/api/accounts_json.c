/* The accounts as /health, /auth/status and the dashboard list them: state and usage, never a secret. */
#include "api/accounts_json.h"

#include "auth/auth.h"

typedef struct {
    yyjson_mut_doc *doc;
    yyjson_mut_val *arr;
} accounts_ctx_t;

static bool is_authenticated(const engine_account_info_t *info, auth_status_t *st) {
    if (!info->config_dir) return true; /* a token or key is a credential the CLI uses as it is */
    auth_dir_status(info->config_dir, st);
    return st->authenticated;
}

static void note_authenticated(const engine_account_info_t *info, void *arg) {
    auth_status_t st;
    int *counts = arg;
    counts[0]++;
    counts[1] += is_authenticated(info, &st);
}

int api_accounts_authenticated(engine_t *eng) {
    int counts[2] = {0, 0};
    if (eng) engine_foreach_account(eng, false, note_authenticated, counts);
    return counts[0] ? counts[1] > 0 : -1;
}

static void add_account(const engine_account_info_t *info, void *arg) {
    accounts_ctx_t *c = arg;
    yyjson_mut_doc *doc = c->doc;
    yyjson_mut_val *o = yyjson_mut_arr_add_obj(doc, c->arr);
    if (!o) return;
    yyjson_mut_obj_add_strcpy(doc, o, "name", info->name);
    yyjson_mut_obj_add_strcpy(doc, o, "kind", info->kind);
    yyjson_mut_obj_add_int(doc, o, "priority", info->priority);
    auth_status_t st = {0};
    yyjson_mut_obj_add_bool(doc, o, "authenticated", is_authenticated(info, &st));
    if (st.subscription) yyjson_mut_obj_add_strcpy(doc, o, "subscriptionType", st.subscription);
    yyjson_mut_obj_add_bool(doc, o, "limited", info->is_limited);
    if (info->is_limited) yyjson_mut_obj_add_int(doc, o, "limitedUntil", info->limited_until_ms);
    else yyjson_mut_obj_add_null(doc, o, "limitedUntil");
    if (info->limit_reason) yyjson_mut_obj_add_strcpy(doc, o, "limitReason", info->limit_reason);
    yyjson_mut_obj_add_int(doc, o, "liveSessions", info->live_sessions);
    yyjson_mut_obj_add_int(doc, o, "requests", info->requests);
    yyjson_mut_obj_add_int(doc, o, "failovers", info->failovers);
    yyjson_mut_obj_add_int(doc, o, "inputTokens", info->input_tokens);
    yyjson_mut_obj_add_int(doc, o, "outputTokens", info->output_tokens);
    yyjson_mut_obj_add_real(doc, o, "costUsd", info->cost_usd);
    yyjson_mut_obj_add_int(doc, o, "limitedMs", info->limited_ms_total);
}

bool api_add_accounts_json(engine_t *eng, yyjson_mut_doc *doc, yyjson_mut_val *obj) {
    if (!eng) return true;
    accounts_ctx_t c = {.doc = doc, .arr = yyjson_mut_arr(doc)};
    if (!c.arr) return false;
    engine_foreach_account(eng, false, add_account, &c);
    if (yyjson_mut_arr_size(c.arr) == 0) return true; /* one implicit account: nothing to list */
    return yyjson_mut_obj_add_val(doc, obj, "accounts", c.arr);
}
