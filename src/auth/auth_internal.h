/* Shared by the auth module's files: the auth object, the login flow, CLI commands, text helpers. */
#ifndef CWP_AUTH_AUTH_INTERNAL_H
#define CWP_AUTH_AUTH_INTERNAL_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "auth/auth.h"
#include "util/buf.h"

#define AUTH_LOGIN_URL_TIMEOUT_MS 30000        /* `auth login` must print its URL within this */
#define AUTH_LOGIN_TIMEOUT_MS (10 * 60 * 1000) /* an unfinished login is ended after this (LOGIN_TIMEOUT_MS) */
#define AUTH_LOGIN_VERIFY_TIMEOUT_MS 60000     /* the CLI exchanges the code within this */
#define AUTH_RUN_TIMEOUT_MS 20000              /* `auth logout` / `auth status` */
#define AUTH_KILL_GRACE_MS 2000                /* SIGTERM → SIGKILL */
#define AUTH_OUTPUT_MAX (64 * 1024)            /* a child's output we keep */
#define AUTH_CODE_MAX 2048
#define AUTH_URL_MAX 4096
#define AUTH_PATH_MAX 4096

typedef struct login_s login_t;
typedef struct auth_run_s auth_run_t;
typedef struct logout_s logout_t;

struct auth_s {
    auth_hooks_t hooks;
    const config_t *cfg;
    char *account;           /* the config-dir account this auth logs in (its name), or NULL: the proxy's own */
    auth_t **accounts;       /* the proxy's own auth only: one per config-dir account (config `accounts`) */
    size_t account_count;
    uv_loop_t *loop;
    const char *claude_path; /* borrowed from the config */
    char *config_dir;        /* where the CLI keeps its credentials */
    char *home;
    char credentials_path[AUTH_PATH_MAX];
    uint64_t login_timeout_ms;
    login_t *login;     /* the one login in progress, or NULL */
    auth_run_t *runs;   /* CLI commands running, so auth_free can end them */
    logout_t *logout;   /* the logout in progress, or NULL */
};

/* The environment of every `claude auth ...` child: the CLI's usual one with our HOME and config dir.
 * NULL-terminated, free with cli_strv_free. */
char **auth_child_env(const auth_t *a);
/* Credentials changed: sessions must pick them up. */
void auth_on_credentials_changed(auth_t *a, const char *why);

/* ---- login (login.c) ---- */

typedef enum { LOGIN_STARTING, LOGIN_WAITING_CODE, LOGIN_VERIFYING } login_state_t;

typedef struct {
    bool success;
    int exit_code;       /* -1 when the CLI did not exit (it asked again, or we gave up) */
    const char *message; /* one line: the CLI's last words, or why we gave up */
    const char *output;  /* what the CLI printed after the code was sent (ANSI removed, code masked) */
} login_outcome_t;

typedef struct login_waiter_s login_waiter_t;
struct login_waiter_s {
    /* Waiting for the URL: exactly one of url / error is set. */
    void (*on_url)(login_waiter_t *w, const char *url, const char *error);
    /* Waiting for the outcome of a code. */
    void (*on_outcome)(login_waiter_t *w, const login_outcome_t *outcome);
    login_waiter_t *next;
};

typedef struct {
    bool is_active;
    login_state_t state;
    const char *url; /* NULL until printed */
    int64_t started_ms;
    int64_t deadline_ms;
} login_info_t;

/* Start `claude auth login` unless one runs. Returns 0 with *url when the URL is known, 1 when w was
 * queued (on_url follows, never from inside this call), or negative with a message in err. */
int login_begin(auth_t *a, login_waiter_t *w, const char **url, char *err, size_t err_len);
/* Send a code to the waiting login. Returns 1 when w was queued (on_outcome follows), or negative with
 * a message in err: -ENOENT nothing waits for a code, -EBUSY a code is being checked, -EINVAL bad code. */
int login_submit_code(auth_t *a, const char *code, size_t len, login_waiter_t *w, char *err, size_t err_len);
/* The client went away: w gets no callback. */
void login_forget_waiter(auth_t *a, login_waiter_t *w);
void login_get_info(const auth_t *a, login_info_t *out);
/* Shutdown: kill the child and free, without callbacks (the loop no longer runs). */
void login_destroy(login_t *l);

/* ---- CLI commands with captured output (run.c) ---- */

typedef struct {
    int spawn_error;     /* 0, or the negative uv error that kept the command from starting */
    int64_t exit_status; /* -1 when killed */
    int term_signal;
    bool is_timed_out;
    const char *output;  /* stdout + stderr, ANSI removed */
} auth_run_result_t;

typedef void (*auth_run_cb)(void *arg, const auth_run_result_t *result);

/* Run `<claude> auth <subcommand>`; cb follows (never from inside this call). Returns 0 or negative uv
 * error (cb will still run once with spawn_error set). */
int auth_run_cli(auth_t *a, const char *subcommand, auth_run_cb cb, void *arg);
/* Shutdown: kill and free every running command, without callbacks. */
void auth_run_destroy_all(auth_t *a);

/* ---- logout (logout.c) ---- */

typedef struct logout_waiter_s logout_waiter_t;
struct logout_waiter_s {
    void (*on_done)(logout_waiter_t *w, bool success, const char *message);
    logout_waiter_t *next;
};

/* Log out (one at a time: later callers share the running one). on_done follows asynchronously. */
void logout_begin(auth_t *a, logout_waiter_t *w);
void logout_forget_waiter(auth_t *a, logout_waiter_t *w);
void logout_destroy(logout_t *lo);

/* ---- text from a terminal (login_text.c) ---- */

/* Remove ANSI escape sequences and carriage returns; out needs len + 1 bytes. Returns the new length. */
size_t auth_strip_ansi(const char *in, size_t len, char *out);
/* The authorize URL the CLI printed after "visit:" (or any https URL with /oauth/authorize), once it is
 * complete (followed by whitespace). Returns 1 and copies it, 0 when not (yet) there. */
int auth_find_login_url(const char *text, char *url, size_t url_cap);
/* Overwrite every occurrence of secret in text with '*'. */
void auth_mask(char *text, const char *secret);
/* Where `auth login` waits; it has no newline, so what follows shares its line. */
#define AUTH_LOGIN_PROMPT "Paste code here if prompted >"
/* Remove every copy of the prompt (and the space after it) from text. */
void auth_remove_prompt(char *text);
/* The last non-empty line of text, trimmed, into out. */
void auth_last_line(const char *text, char *out, size_t cap);
/* A pasted code is one token of printable ASCII without spaces: trims the ends into out. Returns 0 or -1. */
int auth_clean_code(const char *in, size_t len, char *out, size_t cap);

#endif
