#include "engine/accounts.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/fingerprint.h"
#include "util/clock.h"
#include "util/log.h"

struct account_s {
    accounts_t *set;
    size_t index;
    char *name;
    const char *kind; /* static */
    int priority;
    bool is_implicit;
    char *config_dir;   /* CLAUDE_CONFIG_DIR for its children, or NULL (private per child) */
    char *env_line;     /* "ANTHROPIC_API_KEY=..." / "CLAUDE_CODE_OAUTH_TOKEN=...", or NULL */
    int64_t limited_until_ms, limited_since_ms;
    int64_t limited_ms_done; /* rests that ended */
    const char *limit_reason;
    unsigned consecutive_limits;
    int64_t requests, failovers, input_tokens, output_tokens;
    double cost_usd;
};

struct accounts_s {
    account_t *items;
    size_t count;
    bool is_configured;
    long backoff_ms;
};

int64_t accounts_now_ms(void) { return clock_wall_ms(); }

static char *join_kv(const char *key, const char *value) {
    size_t n = strlen(key) + strlen(value) + 2;
    char *s = malloc(n);
    if (s) snprintf(s, n, "%s=%s", key, value);
    return s;
}

accounts_t *accounts_new(const config_t *cfg, const char *implicit_config_dir) {
    accounts_t *as = calloc(1, sizeof *as);
    if (!as) return NULL;
    as->is_configured = cfg->account_count > 0;
    as->count = as->is_configured ? cfg->account_count : 1;
    as->backoff_ms = cfg->account_backoff_ms > 0 ? cfg->account_backoff_ms : 60000;
    as->items = calloc(as->count, sizeof *as->items);
    if (!as->items) goto fail;
    for (size_t i = 0; i < as->count; i++) {
        account_t *a = &as->items[i];
        a->set = as;
        a->index = i;
        if (!as->is_configured) {
            a->is_implicit = true;
            a->kind = "implicit";
            a->priority = 1;
            a->name = strdup("default");
            a->config_dir = implicit_config_dir ? strdup(implicit_config_dir) : NULL;
            if (!a->name || (implicit_config_dir && !a->config_dir)) goto fail;
            continue;
        }
        const config_account_t *c = &cfg->accounts[i];
        a->kind = config_account_kind_name(c->kind);
        a->priority = c->priority;
        a->name = strdup(c->name);
        if (!a->name) goto fail;
        if (c->kind == ACCOUNT_CONFIG_DIR) a->config_dir = strdup(c->credential);
        else a->env_line = join_kv(c->kind == ACCOUNT_API_KEY ? "ANTHROPIC_API_KEY" : "CLAUDE_CODE_OAUTH_TOKEN", c->credential);
        if (!a->config_dir && !a->env_line) goto fail;
    }
    return as;
fail:
    accounts_free(as);
    return NULL;
}

void accounts_free(accounts_t *as) {
    if (!as) return;
    for (size_t i = 0; as->items && i < as->count; i++) {
        free(as->items[i].name);
        free(as->items[i].config_dir);
        free(as->items[i].env_line);
    }
    free(as->items);
    free(as);
}

size_t accounts_count(const accounts_t *as) { return as->count; }
account_t *accounts_get(accounts_t *as, size_t index) { return index < as->count ? &as->items[index] : NULL; }
bool accounts_are_configured(const accounts_t *as) { return as->is_configured; }

account_t *accounts_find(accounts_t *as, const char *name) {
    for (size_t i = 0; name && i < as->count; i++)
        if (!strcmp(as->items[i].name, name)) return &as->items[i];
    return NULL;
}

/* ---- choosing ---- */

uint64_t accounts_conversation_key(const char *system, yyjson_val *messages) {
    fingerprint_header_t h = {.mode = "", .model = "", .system = system ? system : ""};
    fingerprint_ctx_t *fc = fingerprint_begin(&h);
    yyjson_val *first = yyjson_arr_get_first(messages);
    fingerprint_t fp = {{0}};
    if (fc && first) fingerprint_add_message(fc, "user", yyjson_obj_get(first, "content"));
    if (fc) fingerprint_peek(fc, &fp);
    fingerprint_free(fc);
    uint64_t key = 0;
    for (int i = 0; i < 8; i++) key = key << 8 | fp.bytes[i];
    return key;
}

/* splitmix64's finalizer: every input bit moves every output bit. */
static uint64_t mix64(uint64_t x) {
    x ^= x >> 30;
    x *= 0xbf58476d1ce4e5b9ull;
    x ^= x >> 27;
    x *= 0x94d049bb133111ebull;
    return x ^ (x >> 31);
}

static uint64_t name_hash(const char *s) {
    uint64_t h = 0xcbf29ce484222325ull; /* FNV-1a */
    for (; *s; s++) h = (h ^ (unsigned char)*s) * 0x100000001b3ull;
    return h;
}

account_t *accounts_choose(accounts_t *as, uint64_t key, uint32_t excluded, int64_t now_ms) {
    account_t *best = NULL;
    uint64_t best_score = 0;
    for (size_t i = 0; i < as->count; i++) {
        account_t *a = &as->items[i];
        if ((i < 32 && (excluded >> i) & 1u) || !account_is_available(a, now_ms)) continue;
        uint64_t score = mix64(key ^ name_hash(a->name));
        if (!best || a->priority < best->priority || (a->priority == best->priority && score > best_score)) {
            best = a;
            best_score = score;
        }
    }
    return best;
}

int64_t accounts_next_available_ms(const accounts_t *as, int64_t now_ms) {
    int64_t next = 0;
    for (size_t i = 0; i < as->count; i++) {
        const account_t *a = &as->items[i];
        if (account_is_available(a, now_ms)) return 0;
        if (!next || a->limited_until_ms < next) next = a->limited_until_ms;
    }
    return next;
}

/* ---- one account ---- */

size_t account_index(const account_t *a) { return a->index; }
const char *account_name(const account_t *a) { return a->name; }
const char *account_kind(const account_t *a) { return a->kind; }
int account_priority(const account_t *a) { return a->priority; }
const char *account_config_dir(const account_t *a) { return a->config_dir; }

/* What the proxy may have inherited that would log a child in as someone else. */
static bool is_credential(const char *kv) {
    static const char *const keys[] = {"ANTHROPIC_API_KEY=", "ANTHROPIC_AUTH_TOKEN=", "CLAUDE_CODE_OAUTH_TOKEN=",
                                       "CLAUDE_CODE_OAUTH_REFRESH_TOKEN=", "CLAUDE_CONFIG_DIR="};
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++)
        if (!strncmp(kv, keys[i], strlen(keys[i]))) return true;
    return false;
}

char **account_child_env(const account_t *a, char *const *base) {
    size_t n = 0;
    while (base && base[n]) n++;
    char **env = calloc(n + 2, sizeof *env);
    if (!env) return NULL;
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        if (a->is_implicit || !is_credential(base[i])) env[k++] = base[i];
    if (a->env_line) env[k++] = a->env_line;
    return env;
}

bool account_is_available(const account_t *a, int64_t now_ms) {
    return a->is_implicit || a->limited_until_ms <= now_ms;
}

/* A rest that is over is added to the total when the next one starts or is read. */
static void close_rest(account_t *a, int64_t now_ms) {
    if (!a->limited_until_ms) return;
    int64_t end = a->limited_until_ms < now_ms ? a->limited_until_ms : now_ms;
    if (end > a->limited_since_ms) a->limited_ms_done += end - a->limited_since_ms;
    a->limited_until_ms = a->limited_since_ms = 0;
}

void account_mark_limited(account_t *a, int64_t until_ms, const char *reason, int64_t now_ms) {
    if (a->is_implicit) return;
    if (until_ms <= now_ms) {
        unsigned shift = a->consecutive_limits < 16 ? a->consecutive_limits : 16;
        int64_t backoff = (int64_t)a->set->backoff_ms << shift;
        if (backoff > ACCOUNTS_BACKOFF_MAX_MS) backoff = ACCOUNTS_BACKOFF_MAX_MS;
        until_ms = now_ms + backoff;
    }
    a->consecutive_limits++;
    if (a->limited_until_ms > now_ms) { /* already resting: a later reset extends the rest */
        if (until_ms > a->limited_until_ms) a->limited_until_ms = until_ms, a->limit_reason = reason;
        return;
    }
    close_rest(a, now_ms);
    a->limited_since_ms = now_ms;
    a->limited_until_ms = until_ms;
    a->limit_reason = reason;
    log_warn("account.limited", "account=%s reason=%s for_ms=%lld", a->name, reason ? reason : "-",
             (long long)(until_ms - now_ms));
}

void account_mark_ok(account_t *a) { a->consecutive_limits = 0; }

void account_mark_available(account_t *a) {
    int64_t now = accounts_now_ms();
    if (a->limited_until_ms > now) a->limited_until_ms = now;
    close_rest(a, now);
    a->consecutive_limits = 0;
}

static bool str_is(yyjson_val *v, const char *s) { return yyjson_is_str(v) && !strcmp(yyjson_get_str(v), s); }

bool account_note_rate_limit(account_t *a, yyjson_val *info, bool allow_extra_usage, int64_t now_ms) {
    yyjson_val *inner = yyjson_obj_get(info, "rate_limit_info");
    if (yyjson_is_obj(inner)) info = inner;
    if (!yyjson_is_obj(info) || a->is_implicit) return false;
    bool is_rejected = str_is(yyjson_obj_get(info, "status"), "rejected");
    bool has_overage = str_is(yyjson_obj_get(info, "overageStatus"), "allowed") ||
                       str_is(yyjson_obj_get(info, "overageStatus"), "allowed_warning");
    bool is_using_overage = yyjson_get_bool(yyjson_obj_get(info, "isUsingOverage"));
    const char *reason = NULL;
    if (is_rejected && !has_overage) reason = "rate_limit";
    else if ((is_rejected || is_using_overage) && !allow_extra_usage) reason = "extra_usage"; /* past the plan */
    if (!reason) return false;
    yyjson_val *resets = yyjson_obj_get(info, "resetsAt");
    int64_t until = yyjson_is_num(resets) ? (int64_t)(yyjson_get_num(resets) * 1000) : 0;
    account_mark_limited(a, until, reason, now_ms);
    return true;
}

void account_count_request(account_t *a) { a->requests++; }
void account_count_failover(account_t *a) { a->failovers++; }

void account_count_usage(account_t *a, int64_t input_tokens, int64_t output_tokens, double cost_usd) {
    a->input_tokens += input_tokens;
    a->output_tokens += output_tokens;
    a->cost_usd += cost_usd;
}

void account_info(const account_t *a, int64_t now_ms, engine_account_info_t *out) {
    bool is_limited = !account_is_available(a, now_ms);
    int64_t current = 0;
    if (a->limited_until_ms) {
        int64_t end = a->limited_until_ms < now_ms ? a->limited_until_ms : now_ms;
        if (end > a->limited_since_ms) current = end - a->limited_since_ms;
    }
    *out = (engine_account_info_t){
        .name = a->name,
        .kind = a->kind,
        .config_dir = a->is_implicit ? NULL : a->config_dir,
        .priority = a->priority,
        .is_limited = is_limited,
        .limited_until_ms = is_limited ? a->limited_until_ms : 0,
        .limit_reason = is_limited ? a->limit_reason : NULL,
        .requests = a->requests,
        .failovers = a->failovers,
        .input_tokens = a->input_tokens,
        .output_tokens = a->output_tokens,
        .cost_usd = a->cost_usd,
        .limited_ms_total = a->limited_ms_done + current,
    };
}
