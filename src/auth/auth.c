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

auth_t *auth_new(uv_loop_t *loop, const config_t *cfg, const auth_hooks_t *hooks) {
    auth_t *a = calloc(1, sizeof *a);
    if (!a) return NULL;
    if (hooks) a->hooks = *hooks;
    a->loop = loop;
    a->claude_path = cfg && cfg->claude_path && *cfg->claude_path ? cfg->claude_path : "claude";
    const char *home = getenv("HOME");
    a->home = strdup(home && *home ? home : "/tmp");
    const char *cfg_dir = cfg ? cfg->claude_config_dir : NULL;
    char path[AUTH_PATH_MAX];
    if (cfg_dir && *cfg_dir) a->config_dir = strdup(cfg_dir);
    else if (getenv("CLAUDE_CONFIG_DIR") && *getenv("CLAUDE_CONFIG_DIR")) a->config_dir = strdup(getenv("CLAUDE_CONFIG_DIR"));
    else if (snprintf(path, sizeof path, "%s/.claude", a->home) < (int)sizeof path) a->config_dir = strdup(path);
    if (!a->home || !a->config_dir ||
        auth_credentials_path(a->config_dir, NULL, NULL, a->credentials_path, sizeof a->credentials_path) != 0) {
        auth_free(a);
        return NULL;
    }
    a->login_timeout_ms = login_timeout_from_env();
    return a;
}

void auth_free(auth_t *auth) {
    if (!auth) return;
    auth_run_destroy_all(auth);
    logout_destroy(auth->logout);
    login_destroy(auth->login);
    free(auth->config_dir);
    free(auth->home);
    free(auth);
}

char **auth_child_env(const auth_t *a) {
    char **base = cli_base_env(environ);
    if (!base) return NULL;
    char **env = cli_build_env(base, a->home, a->config_dir, NULL, NULL);
    cli_strv_free(base);
    return env;
}

void auth_on_credentials_changed(auth_t *a, const char *why) {
    log_info("auth.credentials_changed", "reason=%s", why);
    if (a->hooks.on_credentials_changed) a->hooks.on_credentials_changed(a->hooks.arg, why);
}
