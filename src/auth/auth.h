/* Who the CLI acts as: credential status, login under a pseudo-terminal, logout. */
#ifndef CWP_AUTH_AUTH_H
#define CWP_AUTH_AUTH_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>
#include <yyjson.h>

#include "config.h"

typedef struct auth_s auth_t;

typedef struct {
    bool authenticated;         /* a usable credential: valid token, or expired with a refresh token */
    bool expired;               /* the credentials file's access token is past expiresAt */
    int64_t expires_at_ms;      /* 0 when unknown */
    const char *method;         /* "oauth_token_env" | "api_key_env" | "credentials_file" | "none" */
    const char *subscription;   /* "max", "pro", ... or NULL; points into the auth_status_t */
    bool has_refresh_token;
    char subscription_buf[32];
} auth_status_t;

/* What auth tells the rest of the program (main wires it; every hook may be NULL). */
typedef struct {
    /* The CLI's credentials changed (login, logout): running sessions must pick them up. */
    void (*on_credentials_changed)(void *arg, const char *why);
    /* The same for one config-dir account's (config `accounts`): its sessions must pick them up. */
    void (*on_account_credentials_changed)(void *arg, const char *account, const char *why);
    /* Adds "accounts": [...] to a status object (/auth/status, the dashboard); each config-dir account's
     * entry then gets its login state from auth. Returns false when out of memory. */
    bool (*add_accounts_json)(void *arg, yyjson_mut_doc *doc, yyjson_mut_val *obj);
    void *arg;
} auth_hooks_t;

/* cfg is borrowed (outlives auth); hooks is copied (NULL: none). */
auth_t *auth_new(uv_loop_t *loop, const config_t *cfg, const auth_hooks_t *hooks);
/* The config-dir account of that name's auth (its own login, logout and status), or NULL. */
auth_t *auth_for_account(auth_t *auth, const char *name);
/* The configured account of that name (any kind), or NULL. */
const config_account_t *auth_config_account(const auth_t *auth, const char *name);
/* A config dir's own credentials file only (an account's: the proxy's environment does not count). */
void auth_dir_status(const char *config_dir, auth_status_t *out);
/* Ends a login still running (its child is killed). Handles must already be closed (main's uv_walk). */
void auth_free(auth_t *auth);
/* From the environment and the credentials file; never exposes a token. */
void auth_get_status(auth_t *auth, auth_status_t *out);

/* The /auth/status fields (plus "login" while one is in progress) added to obj; for the dashboard too. */
void auth_add_status_json(auth_t *auth, yyjson_mut_doc *doc, yyjson_mut_val *obj);

/* ---- pure parts, for tests ---- */

typedef struct {
    const char *oauth_token_env;  /* CLAUDE_CODE_OAUTH_TOKEN, or NULL */
    const char *api_key_env;      /* ANTHROPIC_API_KEY, or NULL */
    const char *credentials_json; /* the credentials file's text, or NULL when absent */
    size_t credentials_len;
    int64_t now_ms;               /* wall clock, ms since the epoch */
} auth_sources_t;

/* The CLI's order: CLAUDE_CODE_OAUTH_TOKEN, ANTHROPIC_API_KEY, then the file's claudeAiOauth. */
void auth_status_resolve(const auth_sources_t *src, auth_status_t *out);

/* <claude_config_dir, else $CLAUDE_CONFIG_DIR, else $HOME/.claude>/.credentials.json into out.
 * Returns 0, or -1 when no directory is known or out is too small. */
int auth_credentials_path(const char *claude_config_dir, const char *env_config_dir, const char *home, char *out,
                          size_t out_len);

#endif
