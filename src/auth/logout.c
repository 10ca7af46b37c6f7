/* Logout: `claude auth logout`, then make sure the credentials file is gone, then recycle sessions. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "auth/auth_internal.h"
#include "util/log.h"

struct logout_s {
    auth_t *auth;
    logout_waiter_t *waiters;
};

static void on_logout_done(void *arg, const auth_run_result_t *r) {
    logout_t *lo = arg;
    auth_t *a = lo->auth;
    bool is_cli_ok = r->spawn_error == 0 && r->exit_status == 0 && !r->is_timed_out;
    /* Whatever the CLI managed (it may be missing, or fail offline), the file must not outlive a logout. */
    int unlink_errno = unlink(a->credentials_path) == 0 || errno == ENOENT ? 0 : errno;
    bool is_success = unlink_errno == 0;
    char message[AUTH_PATH_MAX + 128];
    if (is_success) snprintf(message, sizeof message, "Logged out successfully");
    else snprintf(message, sizeof message, "could not remove %s: %s", a->credentials_path, strerror(unlink_errno));
    log_info("auth.logout", "success=%s cli_ok=%s cli_exit=%lld", is_success ? "true" : "false",
             is_cli_ok ? "true" : "false", (long long)r->exit_status);
    a->logout = NULL;
    if (is_success) auth_on_credentials_changed(a, "logout");
    logout_waiter_t *w = lo->waiters;
    free(lo);
    while (w) {
        logout_waiter_t *next = w->next;
        w->on_done(w, is_success, message);
        w = next;
    }
}

void logout_begin(auth_t *a, logout_waiter_t *w) {
    w->next = NULL;
    if (a->logout) {
        w->next = a->logout->waiters;
        a->logout->waiters = w;
        return;
    }
    logout_t *lo = calloc(1, sizeof *lo);
    if (!lo) {
        w->on_done(w, false, "out of memory");
        return;
    }
    lo->auth = a;
    lo->waiters = w;
    a->logout = lo;
    auth_run_cli(a, "logout", on_logout_done, lo); /* the callback follows even when it cannot start */
}

void logout_forget_waiter(auth_t *a, logout_waiter_t *w) {
    if (!a->logout) return;
    for (logout_waiter_t **p = &a->logout->waiters; *p; p = &(*p)->next) {
        if (*p == w) {
            *p = w->next;
            return;
        }
    }
}

void logout_destroy(logout_t *lo) { free(lo); }
