/* /auth/status, /auth/login, /auth/code, /auth/logout: behind the proxy's API key when one is set. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yyjson.h>

#include "api/errors.h"
#include "app.h"
#include "auth/auth_internal.h"

#define LOGIN_MESSAGE                                                                                          \
    "Open the URL, sign in and approve; then paste the code the page shows into the dashboard or POST it as " \
    "{\"code\":\"...\"} to /auth/code."

/* An exchange waiting on the login or logout; freed when it is answered or its client goes away. */
typedef struct {
    login_waiter_t login;
    logout_waiter_t logout;
    http_exchange_t *ex;
    auth_t *auth;
    bool is_cli_check;
} pending_t;

static void respond_doc(http_exchange_t *ex, int status, yyjson_mut_doc *doc) {
    http_set_header(ex, "cache-control", "no-store");
    http_respond_json(ex, status, doc);
    yyjson_mut_doc_free(doc);
}

static void send_error(http_exchange_t *ex, int status, api_error_kind_t kind, const char *message) {
    api_error_t err = {.status = status, .kind = kind, .message = message};
    api_error_send(ex, DIALECT_PLAIN, &err);
}

static pending_t *pending_new(http_exchange_t *ex, auth_t *a) {
    pending_t *p = calloc(1, sizeof *p);
    if (p) {
        p->ex = ex;
        p->auth = a;
    }
    return p;
}

/* ---- which account ---- */

/* `?account=NAME` names a config-dir account (names are plain: no decoding needed). Without it: the
 * proxy's own login. NULL when the name is not such an account: the answer (400/404) is sent. */
static auth_t *pick_auth(http_exchange_t *ex, auth_t *root) {
    char name[CONFIG_ACCOUNT_NAME_MAX + 1];
    const char *q = http_query(ex), *p = NULL;
    for (const char *at = q; at && *at; at += strcspn(at, "&"), at += *at == '&') {
        if (!strncmp(at, "account=", 8)) p = at + 8;
    }
    if (!p) return root;
    size_t len = strcspn(p, "&");
    if (len == 0 || len > CONFIG_ACCOUNT_NAME_MAX) {
        send_error(ex, 400, API_ERR_INVALID_REQUEST, "account: expected the name of a configured account");
        return NULL;
    }
    memcpy(name, p, len);
    name[len] = '\0';
    auth_t *a = auth_for_account(root, name);
    if (a) return a;
    char msg[CONFIG_ACCOUNT_NAME_MAX + 160];
    const config_account_t *c = auth_config_account(root, name);
    if (c) {
        snprintf(msg, sizeof msg, "account \"%s\" logs in with its %s; only claudeConfigDir accounts log in here", name,
                 c->kind == ACCOUNT_API_KEY ? "apiKey" : "oauthToken");
        send_error(ex, 400, API_ERR_INVALID_REQUEST, msg);
        return NULL;
    }
    snprintf(msg, sizeof msg, "no account is named \"%s\"", name);
    send_error(ex, 404, API_ERR_NOT_FOUND, msg);
    return NULL;
}

/* ---- /auth/status ---- */

static const char *login_state_name(login_state_t s) {
    switch (s) {
    case LOGIN_STARTING: return "starting";
    case LOGIN_WAITING_CODE: return "waiting_code";
    case LOGIN_VERIFYING: return "verifying";
    }
    return "unknown";
}

static void add_login_json(auth_t *a, yyjson_mut_doc *doc, yyjson_mut_val *obj);

/* The accounts list, each config-dir account with its login state. */
static void add_accounts_json(auth_t *a, yyjson_mut_doc *doc, yyjson_mut_val *obj) {
    if (!a->hooks.add_accounts_json || !a->hooks.add_accounts_json(a->hooks.arg, doc, obj)) return;
    yyjson_mut_val *list = yyjson_mut_obj_get(obj, "accounts");
    size_t i, max;
    yyjson_mut_val *entry;
    yyjson_mut_arr_foreach(list, i, max, entry) {
        auth_t *child = auth_for_account(a, yyjson_mut_get_str(yyjson_mut_obj_get(entry, "name")));
        if (child) add_login_json(child, doc, entry);
    }
}

void auth_add_status_json(auth_t *a, yyjson_mut_doc *doc, yyjson_mut_val *obj) {
    if (a->account) yyjson_mut_obj_add_strcpy(doc, obj, "account", a->account);
    auth_status_t st;
    auth_get_status(a, &st);
    yyjson_mut_obj_add_bool(doc, obj, "authenticated", st.authenticated);
    yyjson_mut_obj_add_bool(doc, obj, "expired", st.expired);
    if (st.expires_at_ms > 0) yyjson_mut_obj_add_int(doc, obj, "expiresAt", st.expires_at_ms);
    else yyjson_mut_obj_add_null(doc, obj, "expiresAt");
    yyjson_mut_obj_add_strcpy(doc, obj, "method", st.method);
    if (st.subscription) yyjson_mut_obj_add_strcpy(doc, obj, "subscriptionType", st.subscription);
    else yyjson_mut_obj_add_null(doc, obj, "subscriptionType");
    add_login_json(a, doc, obj);
    if (!a->account) add_accounts_json(a, doc, obj);
}

static void add_login_json(auth_t *a, yyjson_mut_doc *doc, yyjson_mut_val *obj) {
    login_info_t li;
    login_get_info(a, &li);
    yyjson_mut_obj_add_bool(doc, obj, "loginInProgress", li.is_active);
    if (!li.is_active) return;
    yyjson_mut_val *login = yyjson_mut_obj_add_obj(doc, obj, "login");
    yyjson_mut_obj_add_str(doc, login, "state", login_state_name(li.state));
    if (li.url) yyjson_mut_obj_add_strcpy(doc, login, "url", li.url);
    yyjson_mut_obj_add_int(doc, login, "startedAt", li.started_ms);
    if (li.deadline_ms) yyjson_mut_obj_add_int(doc, login, "endsAt", li.deadline_ms);
}

/* What `claude auth status` says, limited to fields that cannot carry a secret. */
static void add_cli_check(yyjson_mut_doc *doc, yyjson_mut_val *obj, const auth_run_result_t *r) {
    yyjson_mut_val *cli = yyjson_mut_obj_add_obj(doc, obj, "cli");
    const char *open = strchr(r->output, '{'), *close = strrchr(r->output, '}');
    yyjson_doc *parsed = open && close > open ? yyjson_read(open, (size_t)(close - open + 1), 0) : NULL;
    yyjson_val *root = yyjson_doc_get_root(parsed);
    if (!yyjson_is_obj(root)) {
        yyjson_mut_obj_add_str(doc, cli, "error", r->spawn_error ? "the CLI could not be run" : "no JSON from the CLI");
    } else {
        static const char *const fields[] = {"loggedIn", "authMethod", "apiProvider", "subscriptionType"};
        for (size_t i = 0; i < sizeof fields / sizeof fields[0]; i++) {
            yyjson_val *v = yyjson_obj_get(root, fields[i]);
            if (yyjson_is_bool(v)) yyjson_mut_obj_add_bool(doc, cli, fields[i], yyjson_get_bool(v));
            else if (yyjson_is_str(v)) yyjson_mut_obj_add_strcpy(doc, cli, fields[i], yyjson_get_str(v));
        }
    }
    yyjson_doc_free(parsed);
}

static void on_status_aborted(http_exchange_t *ex, void *arg) {
    pending_t *p = arg;
    p->ex = NULL; /* the command still finishes; its answer goes nowhere */
    http_respond(ex, 499, "text/plain", "", 0);
}

static void on_cli_status(void *arg, const auth_run_result_t *r) {
    pending_t *p = arg;
    if (p->ex) {
        yyjson_mut_doc *doc = yyjson_mut_doc_new(NULL);
        yyjson_mut_val *obj = yyjson_mut_obj(doc);
        yyjson_mut_doc_set_root(doc, obj);
        auth_add_status_json(p->auth, doc, obj);
        add_cli_check(doc, obj, r);
        respond_doc(p->ex, 200, doc);
    }
    free(p);
}

static void handle_status(http_exchange_t *ex, void *ctx) {
    auth_t *a = pick_auth(ex, ctx);
    if (!a) return;
    if (strstr(http_query(ex), "verify=cli")) {
        pending_t *p = pending_new(ex, a);
        if (!p) {
            send_error(ex, 500, API_ERR_API, "out of memory");
            return;
        }
        http_exchange_on_abort(ex, on_status_aborted, p);
        auth_run_cli(a, "status", on_cli_status, p);
        return;
    }
    yyjson_mut_doc *doc = yyjson_mut_doc_new(NULL);
    yyjson_mut_val *obj = yyjson_mut_obj(doc);
    yyjson_mut_doc_set_root(doc, obj);
    auth_add_status_json(a, doc, obj);
    respond_doc(ex, 200, doc);
}

/* ---- /auth/login ---- */

static void respond_url(http_exchange_t *ex, const char *url) {
    yyjson_mut_doc *doc = yyjson_mut_doc_new(NULL);
    yyjson_mut_val *obj = yyjson_mut_obj(doc);
    yyjson_mut_doc_set_root(doc, obj);
    yyjson_mut_obj_add_strcpy(doc, obj, "url", url);
    yyjson_mut_obj_add_str(doc, obj, "message", LOGIN_MESSAGE);
    respond_doc(ex, 200, doc);
}

static void on_login_url(login_waiter_t *w, const char *url, const char *error) {
    pending_t *p = (pending_t *)((char *)w - offsetof(pending_t, login));
    if (url) respond_url(p->ex, url);
    else if (strstr(error, "timed out")) send_error(p->ex, 504, API_ERR_TIMEOUT, error);
    else send_error(p->ex, 502, API_ERR_API, error);
    free(p);
}

static void on_login_aborted(http_exchange_t *ex, void *arg) {
    pending_t *p = arg;
    login_forget_waiter(p->auth, &p->login);
    http_respond(ex, 499, "text/plain", "", 0);
    free(p);
}

static void handle_login(http_exchange_t *ex, void *ctx) {
    auth_t *a = pick_auth(ex, ctx);
    if (!a) return;
    pending_t *p = pending_new(ex, a);
    if (!p) {
        send_error(ex, 500, API_ERR_API, "out of memory");
        return;
    }
    p->login.on_url = on_login_url;
    const char *url = NULL;
    char err[512] = "";
    int rc = login_begin(a, &p->login, &url, err, sizeof err);
    if (rc == 1) {
        http_exchange_on_abort(ex, on_login_aborted, p);
        return;
    }
    free(p);
    if (rc == 0) respond_url(ex, url);
    else if (rc == -EBUSY) send_error(ex, 409, API_ERR_INVALID_REQUEST, err);
    else send_error(ex, 503, API_ERR_UNAVAILABLE, err);
}

/* ---- /auth/code ---- */

static void on_code_outcome(login_waiter_t *w, const login_outcome_t *o) {
    pending_t *p = (pending_t *)((char *)w - offsetof(pending_t, login));
    yyjson_mut_doc *doc = yyjson_mut_doc_new(NULL);
    yyjson_mut_val *obj = yyjson_mut_obj(doc);
    yyjson_mut_doc_set_root(doc, obj);
    yyjson_mut_obj_add_bool(doc, obj, "success", o->success);
    yyjson_mut_obj_add_strcpy(doc, obj, "message", o->message);
    if (o->exit_code >= 0) yyjson_mut_obj_add_int(doc, obj, "exitCode", o->exit_code);
    else yyjson_mut_obj_add_null(doc, obj, "exitCode");
    yyjson_mut_obj_add_strcpy(doc, obj, "output", o->output);
    respond_doc(p->ex, o->success ? 200 : 400, doc);
    free(p);
}

static void handle_code(http_exchange_t *ex, void *ctx) {
    auth_t *a = pick_auth(ex, ctx);
    if (!a) return;
    view_t body = http_body(ex);
    yyjson_doc *in = yyjson_read(body.ptr ? body.ptr : "", body.len, 0);
    yyjson_val *code = yyjson_obj_get(yyjson_doc_get_root(in), "code");
    if (!yyjson_is_str(code)) {
        yyjson_doc_free(in);
        send_error(ex, 400, API_ERR_INVALID_REQUEST, "body must be JSON: {\"code\": \"...\"}");
        return;
    }
    pending_t *p = pending_new(ex, a);
    if (!p) {
        yyjson_doc_free(in);
        send_error(ex, 500, API_ERR_API, "out of memory");
        return;
    }
    p->login.on_outcome = on_code_outcome;
    char err[512] = "";
    int rc = login_submit_code(a, yyjson_get_str(code), yyjson_get_len(code), &p->login, err, sizeof err);
    yyjson_doc_free(in);
    if (rc == 1) {
        http_exchange_on_abort(ex, on_login_aborted, p);
        return;
    }
    free(p);
    if (rc == -EBUSY || rc == -ENOENT) send_error(ex, 409, API_ERR_INVALID_REQUEST, err);
    else if (rc == -EINVAL) send_error(ex, 400, API_ERR_INVALID_REQUEST, err);
    else send_error(ex, 500, API_ERR_API, err);
}

/* ---- /auth/logout ---- */

static void on_logout_done(logout_waiter_t *w, bool success, const char *message) {
    pending_t *p = (pending_t *)((char *)w - offsetof(pending_t, logout));
    yyjson_mut_doc *doc = yyjson_mut_doc_new(NULL);
    yyjson_mut_val *obj = yyjson_mut_obj(doc);
    yyjson_mut_doc_set_root(doc, obj);
    yyjson_mut_obj_add_bool(doc, obj, "success", success);
    yyjson_mut_obj_add_strcpy(doc, obj, "message", message);
    /* A token in the proxy's environment outlives any logout: say so rather than pretend. */
    auth_status_t st;
    auth_get_status(p->auth, &st);
    if (success && strcmp(st.method, "none") != 0)
        yyjson_mut_obj_add_strcpy(doc, obj, "stillAuthenticatedBy", st.method);
    respond_doc(p->ex, success ? 200 : 500, doc);
    free(p);
}

static void on_logout_aborted(http_exchange_t *ex, void *arg) {
    pending_t *p = arg;
    logout_forget_waiter(p->auth, &p->logout);
    http_respond(ex, 499, "text/plain", "", 0);
    free(p);
}

static void handle_logout(http_exchange_t *ex, void *ctx) {
    auth_t *a = pick_auth(ex, ctx);
    if (!a) return;
    pending_t *p = pending_new(ex, a);
    if (!p) {
        send_error(ex, 500, API_ERR_API, "out of memory");
        return;
    }
    p->logout.on_done = on_logout_done;
    http_exchange_on_abort(ex, on_logout_aborted, p);
    logout_begin(a, &p->logout);
}

void auth_register_routes(app_t *app) {
    const route_t routes[] = {
        {.method = "GET", .pattern = "/auth/status", .handler = handle_status},
        /* no GET: state changes only on POST, which a page cannot send us without an Origin */
        {.method = "POST", .pattern = "/auth/login", .handler = handle_login},
        {.method = "POST", .pattern = "/auth/code", .handler = handle_code},
        {.method = "POST", .pattern = "/auth/logout", .handler = handle_logout},
    };
    for (size_t i = 0; i < sizeof routes / sizeof routes[0]; i++) {
        route_t r = routes[i];
        r.ctx = app->auth;
        r.dialect = DIALECT_PLAIN;
        r.is_public = false; /* these change whom the proxy acts as */
        router_add(app->router, &r);
    }
}
