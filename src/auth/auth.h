/* Who the CLI acts as: credential status, login under a pseudo-terminal, logout. */
#ifndef CWP_AUTH_AUTH_H
#define CWP_AUTH_AUTH_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <yyjson.h>

typedef struct app_s app_t;
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

auth_t *auth_new(app_t *app);
/* The config-dir account of that name's auth (its own login, logout and status), or NULL. */
auth_t *auth_for_account(auth_t *auth, const char *name);
/* Adds "accounts": [...] to a status object (api_add_accounts_json); each config-dir account's entry then
 * gets its login state from here. */
typedef bool (*auth_accounts_fn)(void *arg, yyjson_mut_doc *doc, yyjson_mut_val *obj);
void auth_set_accounts_source(auth_t *auth, auth_accounts_fn fn, void *arg);
/* Ends a login still running (its child is killed). Handles must already be closed (main's uv_walk). */
void auth_free(auth_t *auth);
/* From the environment and the credentials file; never exposes a token. */
void auth_get_status(auth_t *auth, auth_status_t *out);

/* A config dir's own credentials file only (an account's: the proxy's environment does not count). */
void auth_dir_status(const char *config_dir, auth_status_t *out);

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
