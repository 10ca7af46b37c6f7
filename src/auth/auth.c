/* STUB: replaced by the auth module. */
#include "auth/auth.h"

#include <stdlib.h>

#include "app.h"

struct auth_s {
    app_t *app;
};

auth_t *auth_new(app_t *app) {
    auth_t *a = calloc(1, sizeof *a);
    if (a) a->app = app;
    return a;
}
void auth_free(auth_t *auth) { free(auth); }
void auth_get_status(auth_t *auth, auth_status_t *out) {
    (void)auth;
    *out = (auth_status_t){.method = "none"};
}
void auth_register_routes(app_t *app) { (void)app; }
