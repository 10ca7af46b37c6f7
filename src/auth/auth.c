/* The auth object: where the CLI's credentials live and what its `auth` children see. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "auth/auth_internal.h"
#include "transport/cli_env.h"
#include "util/log.h"

extern char **environ;

#define LOGIN_TIMEOUT_MIN_MS 1000L
#define LOGIN_TIMEOUT_MAX_MS (24L * 60 * 60 * 1000)

/* LOGIN_TIMEOUT_MS overrides the default within sane bounds (tests use a short one). */
static uint64_t login_timeout_from_env(void) {
    const char *v = getenv("LOGIN_TIMEOUT_MS");
    if (!v || !*v) return AUTH_LOGIN_TIMEOUT_MS;
    char *end;
    long ms = strtol(v, &end, 10);
    if (*end || ms < LOGIN_TIMEOUT_MIN_MS || ms > LOGIN_TIMEOUT_MAX_MS) {
        log_warn("auth.bad_login_timeout", "value=\"%s\" using_ms=%d", v, AUTH_LOGIN_TIMEOUT_MS);
        return AUTH_LOGIN_TIMEOUT_MS;
    }
    return (uint64_t)ms;
}

/* config_dir NULL: the proxy's own (claudeConfigDir, else $CLAUDE_CONFIG_DIR, else ~/.claude). */
static auth_t *auth_create(uv_loop_t *loop, const config_t *cfg, const auth_hooks_t *hooks, const char *config_dir,
                           const char *account) {
    auth_t *a = calloc(1, sizeof *a);
    if (!a) return NULL;
    if (hooks) a->hooks = *hooks;
    a->loop = loop;
    a->cfg = cfg;
    a->claude_path = cfg && cfg->claude_path && *cfg->claude_path ? cfg->claude_path : "claude";
    const char *home = getenv("HOME");
    a->home = strdup(home && *home ? home : "/tmp");
    const char *cfg_dir = config_dir ? config_dir : cfg ? cfg->claude_config_dir : NULL;
    char path[AUTH_PATH_MAX];
    if (cfg_dir && *cfg_dir) a->config_dir = strdup(cfg_dir);
    else if (getenv("CLAUDE_CONFIG_DIR") && *getenv("CLAUDE_CONFIG_DIR")) a->config_dir = strdup(getenv("CLAUDE_CONFIG_DIR"));
    else if (snprintf(path, sizeof path, "%s/.claude", a->home) < (int)sizeof path) a->config_dir = strdup(path);
    if (account) a->account = strdup(account);
    if (!a->home || !a->config_dir || (account && !a->account) ||
        auth_credentials_path(a->config_dir, NULL, NULL, a->credentials_path, sizeof a->credentials_path) != 0) {
        auth_free(a);
        return NULL;
    }
    a->login_timeout_ms = login_timeout_from_env();
    return a;
}

auth_t *auth_new(uv_loop_t *loop, const config_t *cfg, const auth_hooks_t *hooks) {
    auth_t *a = auth_create(loop, cfg, hooks, NULL, NULL);
    size_t n = 0;
    for (size_t i = 0; a && cfg && i < cfg->account_count; i++) n += cfg->accounts[i].kind == ACCOUNT_CONFIG_DIR;
    if (!a || n == 0) return a;
    a->accounts = calloc(n, sizeof *a->accounts);
    if (!a->accounts) goto fail;
    for (size_t i = 0; i < cfg->account_count; i++) {
        const config_account_t *c = &cfg->accounts[i];
        if (c->kind != ACCOUNT_CONFIG_DIR) continue;
        auth_t *child = auth_create(loop, cfg, hooks, c->credential, c->name);
        if (!child) goto fail;
        a->accounts[a->account_count++] = child;
    }
    return a;
fail:
    auth_free(a);
    return NULL;
}

auth_t *auth_for_account(auth_t *auth, const char *name) {
    for (size_t i = 0; name && i < auth->account_count; i++)
        if (!strcmp(auth->accounts[i]->account, name)) return auth->accounts[i];
    return NULL;
}

const config_account_t *auth_config_account(const auth_t *auth, const char *name) {
    for (size_t i = 0; name && auth->cfg && i < auth->cfg->account_count; i++)
        if (!strcmp(auth->cfg->accounts[i].name, name)) return &auth->cfg->accounts[i];
    return NULL;
}

void auth_free(auth_t *auth) {
    if (!auth) return;
    for (size_t i = 0; i < auth->account_count; i++) auth_free(auth->accounts[i]);
    free(auth->accounts);
    auth_run_destroy_all(auth);
    logout_destroy(auth->logout);
    login_destroy(auth->login);
    free(auth->config_dir);
    free(auth->home);
    free(auth->account);
    free(auth);
}

/* What would log an account's `claude auth` child in as someone else. */
static bool is_inherited_credential(const char *kv) {
    static const char *const keys[] = {"ANTHROPIC_API_KEY=", "ANTHROPIC_AUTH_TOKEN=", "CLAUDE_CODE_OAUTH_TOKEN="};
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++)
        if (!strncmp(kv, keys[i], strlen(keys[i]))) return true;
    return false;
}

char **auth_child_env(const auth_t *a) {
    char **base = cli_base_env(environ);
    if (!base) return NULL;
    if (a->account) { /* an account's CLI knows only its own config dir */
        size_t k = 0;
        for (size_t i = 0; base[i]; i++) {
            if (is_inherited_credential(base[i])) free(base[i]);
            else base[k++] = base[i];
        }
        base[k] = NULL;
    }
    char **env = cli_build_env(base, a->home, a->config_dir, NULL, NULL);
    cli_strv_free(base);
    return env;
}

void auth_on_credentials_changed(auth_t *a, const char *why) {
    log_info("auth.credentials_changed", "reason=%s account=%s", why, a->account ? a->account : "-");
    if (a->account && a->hooks.on_account_credentials_changed)
        a->hooks.on_account_credentials_changed(a->hooks.arg, a->account, why);
    else if (!a->account && a->hooks.on_credentials_changed)
        a->hooks.on_credentials_changed(a->hooks.arg, why);
}
