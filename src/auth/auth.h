/* Who the CLI acts as: credential status, login under a pseudo-terminal, logout. */
#ifndef CWP_AUTH_AUTH_H
#define CWP_AUTH_AUTH_H
#include <stdbool.h>
#include <stdint.h>

typedef struct app_s app_t;
typedef struct auth_s auth_t;

typedef struct {
    bool authenticated;
    bool expired;
    int64_t expires_at_ms;      /* 0 when unknown */
    const char *method;         /* "oauth_token_env" | "api_key_env" | "credentials_file" | "none" */
    const char *subscription;   /* "max", "pro", ... or NULL */
} auth_status_t;

auth_t *auth_new(app_t *app);
void auth_free(auth_t *auth);
/* From the environment and the credentials file; never exposes a token. */
void auth_get_status(auth_t *auth, auth_status_t *out);

#endif
