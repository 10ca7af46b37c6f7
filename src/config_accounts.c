/*
 * accounts: several Claude logins behind one proxy. Each entry is one way the CLI can log in (a config
 * dir with its credentials file, a long-lived OAuth token, or an API key), with a unique name and a
 * priority. Every message names the account, never its secret.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "config_internal.h"

const char *config_account_kind_name(account_kind_t kind) {
    switch (kind) {
    case ACCOUNT_CONFIG_DIR: return "config_dir";
    case ACCOUNT_OAUTH_TOKEN: return "oauth_token";
    case ACCOUNT_API_KEY: return "api_key";
    }
    return "unknown";
}

static const struct {
    const char *key;
    account_kind_t kind;
} CREDENTIAL_KEYS[] = {
    {"claudeConfigDir", ACCOUNT_CONFIG_DIR},
    {"oauthToken", ACCOUNT_OAUTH_TOKEN},
    {"apiKey", ACCOUNT_API_KEY},
};
#define CREDENTIAL_KEY_COUNT (sizeof CREDENTIAL_KEYS / sizeof CREDENTIAL_KEYS[0])

void config_accounts_free(config_t *cfg) {
    for (size_t i = 0; i < cfg->account_count; i++) {
        free(cfg->accounts[i].name);
        free(cfg->accounts[i].credential);
    }
    free(cfg->accounts);
    cfg->accounts = NULL;
    cfg->account_count = 0;
}

/* Names go into query strings, log lines and metric labels: keep them plain. */
static bool is_plain_name(const char *s, size_t len) {
    if (len == 0 || len > CONFIG_ACCOUNT_NAME_MAX || strlen(s) != len) return false;
    for (size_t i = 0; i < len; i++) {
        char c = s[i];
        bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
                  c == '_' || c == '-';
        if (!ok) return false;
    }
    return true;
}

/* How the messages name an entry: by its name once known, else by its place. */
static const char *label_of(size_t index, const char *name, char *buf, size_t len) {
    if (name) snprintf(buf, len, "accounts[%zu] (\"%s\")", index, name);
    else snprintf(buf, len, "accounts[%zu]", index);
    return buf;
}

static int parse_account(yyjson_val *obj, size_t index, config_account_t *out, config_ctx_t *ctx) {
    char label[CONFIG_ACCOUNT_NAME_MAX + 32];
    if (!yyjson_is_obj(obj))
        return config_fail(ctx, "%s: expected an object with name and one credential", label_of(index, NULL, label, sizeof label));
    yyjson_val *name = yyjson_obj_get(obj, "name");
    if (!yyjson_is_str(name)) return config_fail(ctx, "%s: name: expected a string", label_of(index, NULL, label, sizeof label));
    if (!is_plain_name(yyjson_get_str(name), yyjson_get_len(name)))
        return config_fail(ctx, "%s: name: must be 1-%d characters of A-Z a-z 0-9 . _ -",
                           label_of(index, NULL, label, sizeof label), CONFIG_ACCOUNT_NAME_MAX);
    label_of(index, yyjson_get_str(name), label, sizeof label);
    const char *credential_key = NULL;
    yyjson_val *credential = NULL;
    out->priority = 1;
    yyjson_val *key, *val;
    yyjson_obj_iter it = yyjson_obj_iter_with(obj);
    while ((key = yyjson_obj_iter_next(&it))) {
        val = yyjson_obj_iter_get_val(key);
        const char *k = yyjson_get_str(key);
        if (!strcmp(k, "name")) continue;
        if (!strcmp(k, "priority")) {
            if (!yyjson_is_int(val) || yyjson_get_sint(val) < 0 || yyjson_get_sint(val) > 1000)
                return config_fail(ctx, "%s: priority: expected an integer 0..1000", label);
            out->priority = (int)yyjson_get_sint(val);
            continue;
        }
        size_t c = 0;
        while (c < CREDENTIAL_KEY_COUNT && strcmp(k, CREDENTIAL_KEYS[c].key) != 0) c++;
        if (c == CREDENTIAL_KEY_COUNT) return config_fail(ctx, "%s: unknown key \"%s\"", label, k);
        if (credential_key)
            return config_fail(ctx, "%s: has both %s and %s; an account has exactly one credential", label,
                               credential_key, k);
        if (!yyjson_is_str(val) || yyjson_get_len(val) == 0 || strlen(yyjson_get_str(val)) != yyjson_get_len(val))
            return config_fail(ctx, "%s: %s: expected a non-empty string", label, k);
        credential_key = k;
        credential = val;
        out->kind = CREDENTIAL_KEYS[c].kind;
    }
    if (!credential)
        return config_fail(ctx, "%s: needs one credential: claudeConfigDir, oauthToken or apiKey", label);
    out->name = strdup(yyjson_get_str(name));
    out->credential = strdup(yyjson_get_str(credential));
    if (!out->name || !out->credential) return config_fail(ctx, "%s: out of memory", label);
    return 0;
}

int config_accounts_from_json(config_t *cfg, yyjson_val *arr, config_ctx_t *ctx) {
    config_accounts_free(cfg);
    size_t n = yyjson_arr_size(arr);
    if (n == 0) return 0; /* [] is the same as leaving it out: the one implicit account */
    if (n > CONFIG_ACCOUNTS_MAX) return config_fail(ctx, "accounts: at most %d accounts", CONFIG_ACCOUNTS_MAX);
    cfg->accounts = calloc(n, sizeof *cfg->accounts);
    if (!cfg->accounts) return config_fail(ctx, "accounts: out of memory");
    size_t i, max;
    yyjson_val *obj;
    yyjson_arr_foreach(arr, i, max, obj) {
        config_account_t *a = &cfg->accounts[i];
        cfg->account_count = i + 1; /* what config_accounts_free must look at, even when this one fails */
        if (parse_account(obj, i, a, ctx) < 0) return -1;
        for (size_t k = 0; k < i; k++)
            if (!strcmp(cfg->accounts[k].name, a->name))
                return config_fail(ctx, "accounts[%zu] (\"%s\"): the name is also accounts[%zu]'s; names must be unique",
                                   i, a->name, k);
    }
    return 0;
}
