/*
 * engine_driver: runs turns through the real engine without HTTP, for integration tests.
 *
 *   engine_driver CONFIG.json      (settings: the config.json keys the engine uses, camelCase)
 *
 * stdin, one JSON command per line:
 *   {"cmd":"turn","id":"t1","body":{<Anthropic request>},"json_schema":"{...}","effort":"low",
 *    "cancel_after_events":N, "pause_after_events":N, "resume_after_ms":M}
 *   {"cmd":"cancel","id":"t1"}   {"cmd":"stats"}   {"cmd":"sessions"}   {"cmd":"recycle"}
 * stdout, one JSON line per callback:
 *   {"ready":{"pid":P,"start_error":...}}
 *   {"id":"t1","event":{...}} {"id":"t1","done":{...}} {"id":"t1","error":{kind,status,message,retry_after_s}}
 *   {"id":"t1","rate_limit":{...}} {"id":"t1","started":true|false} {"stats":{...}} {"sessions":[...]}
 *   {"shutdown":"done"} when stdin ends and every child is reaped.
 * Logs go to stderr.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <uv.h>
#include <yyjson.h>

#include "api/errors.h"
#include "config.h"
#include "engine/engine.h"
#include "transport/ndjson.h"
#include "util/log.h"

#define MAX_TURNS 4096

typedef struct driver_s driver_t;

typedef struct {
    driver_t *d;
    char id[64];
    turn_t *turn;
    int events;
    int cancel_after, pause_after;
    long resume_after_ms;
    uv_timer_t resume_timer;
    bool is_live;
} dturn_t;

struct driver_s {
    uv_loop_t *loop;
    config_t cfg;
    engine_t *eng;
    uv_pipe_t in;
    ndjson_reader_t reader;
    dturn_t *turns[MAX_TURNS];
    bool is_done;
};

static void print_doc(yyjson_mut_doc *doc) {
    size_t len;
    char *s = yyjson_mut_write(doc, 0, &len);
    if (s) {
        fwrite(s, 1, len, stdout);
        fputc('\n', stdout);
        fflush(stdout);
        free(s);
    }
    yyjson_mut_doc_free(doc);
}

/* {"id":id, key: val} */
static void print_val(const char *id, const char *key, yyjson_val *val) {
    yyjson_mut_doc *doc = yyjson_mut_doc_new(NULL);
    yyjson_mut_val *root = yyjson_mut_obj(doc);
    yyjson_mut_doc_set_root(doc, root);
    if (id) yyjson_mut_obj_add_strcpy(doc, root, "id", id);
    yyjson_mut_obj_add_val(doc, root, key, yyjson_val_mut_copy(doc, val));
    print_doc(doc);
}

/* ---- settings: the config.json keys the engine reads ---- */

static char *str_or(yyjson_val *root, const char *key, const char *fallback) {
    const char *s = yyjson_get_str(yyjson_obj_get(root, key));
    return s ? strdup(s) : fallback ? strdup(fallback) : NULL;
}

static long num_or(yyjson_val *root, const char *key, long fallback) {
    yyjson_val *v = yyjson_obj_get(root, key);
    return yyjson_is_num(v) ? (long)yyjson_get_num(v) : fallback;
}

static int load_settings(config_t *cfg, const char *path) {
    yyjson_doc *doc = yyjson_read_file(path, 0, NULL, NULL);
    if (!doc) return -1;
    yyjson_val *r = yyjson_doc_get_root(doc);
    memset(cfg, 0, sizeof *cfg);
    cfg->claude_path = str_or(r, "claudePath", "claude");
    cfg->default_model = str_or(r, "defaultModel", "claude-sonnet-4-5");
    cfg->state_dir = str_or(r, "stateDir", NULL);
    cfg->claude_config_dir = str_or(r, "claudeConfigDir", NULL);
    cfg->work_dir = str_or(r, "workDir", NULL);
    cfg->host = str_or(r, "host", "127.0.0.1");
    const char *mode = yyjson_get_str(yyjson_obj_get(r, "mode"));
    cfg->mode = mode && !strcmp(mode, "agent") ? MODE_AGENT : MODE_API;
    const char *tr = yyjson_get_str(yyjson_obj_get(r, "transport"));
    cfg->transport = !tr || !strcmp(tr, "auto") ? TRANSPORT_AUTO : !strcmp(tr, "websocket") ? TRANSPORT_WEBSOCKET : TRANSPORT_STDIO;
    yyjson_val *aa = yyjson_obj_get(r, "autoApproveTool");
    cfg->auto_approve_tool = aa ? yyjson_get_bool(aa) : true;
    cfg->ws_port = (int)num_or(r, "wsPort", 0);
    cfg->max_sessions = (int)num_or(r, "maxSessions", 5);
    cfg->warm_sessions = (int)num_or(r, "warmSessions", 1);
    cfg->max_queue = (int)num_or(r, "maxQueue", 32);
    cfg->queue_timeout_ms = num_or(r, "queueTimeoutMs", 30000);
    cfg->start_timeout_ms = num_or(r, "startTimeoutMs", 30000);
    cfg->stall_timeout_ms = num_or(r, "stallTimeoutMs", 300000);
    cfg->session_timeout_ms = num_or(r, "sessionTimeoutMs", 300000);
    cfg->tool_result_timeout_ms = num_or(r, "toolResultTimeoutMs", 600000);
    yyjson_doc_free(doc);
    return 0;
}

static void free_settings(config_t *cfg) {
    free(cfg->claude_path);
    free(cfg->default_model);
    free(cfg->state_dir);
    free(cfg->claude_config_dir);
    free(cfg->work_dir);
    free(cfg->host);
}

/* ---- turns ---- */

static dturn_t *find_turn(driver_t *d, const char *id) {
    for (int i = 0; i < MAX_TURNS; i++)
        if (d->turns[i] && !strcmp(d->turns[i]->id, id)) return d->turns[i];
    return NULL;
}

static void on_resume_closed(uv_handle_t *h) { free(h->data); }

static void turn_forget(dturn_t *t) {
    for (int i = 0; i < MAX_TURNS; i++)
        if (t->d->turns[i] == t) t->d->turns[i] = NULL;
    t->is_live = false;
    t->turn = NULL;
    uv_close((uv_handle_t *)&t->resume_timer, on_resume_closed);
}

static void on_resume(uv_timer_t *timer) {
    dturn_t *t = timer->data;
    if (t->turn) turn_set_paused(t->turn, false);
}

static void on_event(void *arg, yyjson_val *event) {
    dturn_t *t = arg;
    print_val(t->id, "event", event);
    t->events++;
    if (t->pause_after && t->events == t->pause_after) {
        turn_set_paused(t->turn, true);
        uv_timer_start(&t->resume_timer, on_resume, (uint64_t)t->resume_after_ms, 0);
    }
    if (t->cancel_after && t->events == t->cancel_after) {
        /* From inside the callback, as an adapter does when its client is gone. */
        turn_cancel(t->turn);
        yyjson_mut_doc *doc = yyjson_mut_doc_new(NULL);
        yyjson_mut_val *root = yyjson_mut_obj(doc);
        yyjson_mut_doc_set_root(doc, root);
        yyjson_mut_obj_add_strcpy(doc, root, "id", t->id);
        yyjson_mut_obj_add_bool(doc, root, "cancelled", true);
        print_doc(doc);
        turn_forget(t);
    }
}

static void on_done(void *arg, yyjson_val *message) {
    dturn_t *t = arg;
    print_val(t->id, "done", message);
    turn_forget(t);
}

static const char *kind_name(engine_error_kind_t k) {
    static const char *const names[] = {"invalid_request", "authentication", "permission", "not_found", "rate_limit",
                                        "queue_full", "overloaded", "upstream", "cli_failed", "timeout", "unavailable"};
    return (unsigned)k < sizeof names / sizeof names[0] ? names[k] : "?";
}

static void print_error(const char *id, const engine_error_t *err) {
    yyjson_mut_doc *doc = yyjson_mut_doc_new(NULL);
    yyjson_mut_val *root = yyjson_mut_obj(doc);
    yyjson_mut_doc_set_root(doc, root);
    yyjson_mut_obj_add_strcpy(doc, root, "id", id);
    yyjson_mut_val *e = yyjson_mut_obj(doc);
    yyjson_mut_obj_add_str(doc, e, "kind", kind_name(err->kind));
    api_error_t client; /* the status a client would get */
    api_error_from_engine(err, &client);
    yyjson_mut_obj_add_int(doc, e, "status", client.status);
    yyjson_mut_obj_add_int(doc, e, "retry_after_s", err->retry_after_s);
    yyjson_mut_obj_add_strcpy(doc, e, "message", err->message ? err->message : "");
    yyjson_mut_obj_add_val(doc, root, "error", e);
    print_doc(doc);
}

static void on_error(void *arg, const engine_error_t *err) {
    dturn_t *t = arg;
    print_error(t->id, err);
    turn_forget(t);
}

static void on_rate_limit(void *arg, yyjson_val *info) {
    dturn_t *t = arg;
    print_val(t->id, "rate_limit", info);
}

static void start_turn(driver_t *d, yyjson_val *cmd) {
    const char *id = yyjson_get_str(yyjson_obj_get(cmd, "id"));
    int slot = -1;
    for (int i = 0; i < MAX_TURNS && slot < 0; i++)
        if (!d->turns[i]) slot = i;
    if (!id || slot < 0) return;
    dturn_t *t = calloc(1, sizeof *t);
    t->d = d;
    snprintf(t->id, sizeof t->id, "%s", id);
    t->cancel_after = (int)yyjson_get_sint(yyjson_obj_get(cmd, "cancel_after_events"));
    t->pause_after = (int)yyjson_get_sint(yyjson_obj_get(cmd, "pause_after_events"));
    t->resume_after_ms = (long)yyjson_get_sint(yyjson_obj_get(cmd, "resume_after_ms"));
    uv_timer_init(d->loop, &t->resume_timer);
    t->resume_timer.data = t;
    turn_request_t req = {
        .request_id = id,
        .client = "engine_driver",
        .endpoint = "/driver",
        .body = yyjson_obj_get(cmd, "body"),
        .json_schema = yyjson_get_str(yyjson_obj_get(cmd, "json_schema")),
        .effort = yyjson_get_str(yyjson_obj_get(cmd, "effort")),
    };
    turn_callbacks_t cb = {.on_event = on_event, .on_done = on_done, .on_error = on_error, .on_rate_limit = on_rate_limit};
    engine_error_t err = {0};
    d->turns[slot] = t;
    t->is_live = true;
    t->turn = engine_start_turn(d->eng, &req, &cb, t, &err);
    if (!t->turn) {
        print_error(id, &err);
        turn_forget(t);
    }
}

static void print_stats(driver_t *d) {
    engine_stats_t st;
    engine_get_stats(d->eng, &st);
    yyjson_mut_doc *doc = yyjson_mut_doc_new(NULL);
    yyjson_mut_val *root = yyjson_mut_obj(doc), *s = yyjson_mut_obj(doc);
    yyjson_mut_doc_set_root(doc, root);
    yyjson_mut_obj_add_int(doc, s, "live", st.live);
    yyjson_mut_obj_add_int(doc, s, "warm", st.warm);
    yyjson_mut_obj_add_int(doc, s, "busy", st.busy);
    yyjson_mut_obj_add_int(doc, s, "waiting", st.waiting);
    yyjson_mut_obj_add_int(doc, s, "idle", st.idle);
    yyjson_mut_obj_add_int(doc, s, "queued", st.queued);
    yyjson_mut_obj_add_strcpy(doc, s, "cli_version", st.cli_version ? st.cli_version : "");
    yyjson_mut_obj_add_strcpy(doc, s, "transport", st.transport ? st.transport : "");
    yyjson_mut_obj_add_strcpy(doc, s, "transport_reason", st.transport_reason ? st.transport_reason : "");
    yyjson_mut_obj_add_bool(doc, s, "is_cli_found", st.is_cli_found);
    yyjson_mut_obj_add_val(doc, root, "stats", s);
    print_doc(doc);
}

typedef struct {
    yyjson_mut_doc *doc;
    yyjson_mut_val *arr;
} sessions_acc_t;

static void add_session(const engine_session_info_t *info, void *arg) {
    sessions_acc_t *a = arg;
    yyjson_mut_val *o = yyjson_mut_obj(a->doc);
    yyjson_mut_obj_add_strcpy(a->doc, o, "id", info->id);
    yyjson_mut_obj_add_strcpy(a->doc, o, "model", info->model);
    yyjson_mut_obj_add_strcpy(a->doc, o, "state", info->state);
    yyjson_mut_obj_add_int(a->doc, o, "turns", info->turns);
    yyjson_mut_obj_add_int(a->doc, o, "input_tokens", info->input_tokens);
    yyjson_mut_obj_add_int(a->doc, o, "output_tokens", info->output_tokens);
    yyjson_mut_arr_append(a->arr, o);
}

static void print_sessions(driver_t *d) {
    sessions_acc_t a = {.doc = yyjson_mut_doc_new(NULL)};
    yyjson_mut_val *root = yyjson_mut_obj(a.doc);
    yyjson_mut_doc_set_root(a.doc, root);
    a.arr = yyjson_mut_arr(a.doc);
    engine_foreach_session(d->eng, add_session, &a);
    yyjson_mut_obj_add_val(a.doc, root, "sessions", a.arr);
    print_doc(a.doc);
}

static void on_command(driver_t *d, const char *line, size_t len) {
    yyjson_doc *doc = yyjson_read(line, len, 0);
    yyjson_val *cmd = yyjson_doc_get_root(doc);
    const char *name = yyjson_get_str(yyjson_obj_get(cmd, "cmd"));
    if (!name) {
        fprintf(stderr, "engine_driver: bad command line\n");
    } else if (!strcmp(name, "turn")) {
        start_turn(d, cmd);
    } else if (!strcmp(name, "cancel")) {
        dturn_t *t = find_turn(d, yyjson_get_str(yyjson_obj_get(cmd, "id")) ?: "");
        if (t) {
            turn_cancel(t->turn);
            turn_forget(t);
        }
    } else if (!strcmp(name, "stats")) {
        print_stats(d);
    } else if (!strcmp(name, "sessions")) {
        print_sessions(d);
    } else if (!strcmp(name, "recycle")) {
        engine_recycle_all(d->eng);
    }
    yyjson_doc_free(doc);
}

/* ---- main ---- */

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *b) {
    (void)h;
    b->base = malloc(suggested);
    b->len = b->base ? suggested : 0;
}

static void on_engine_down(void *arg) {
    driver_t *d = arg;
    d->is_done = true;
    printf("{\"shutdown\":\"done\"}\n");
    fflush(stdout);
}

static void on_stdin(uv_stream_t *s, ssize_t n, const uv_buf_t *b) {
    driver_t *d = s->data;
    if (n > 0) {
        (void)ndjson_reader_append(&d->reader, b->base, (size_t)n);
        view_t line;
        while (ndjson_reader_next(&d->reader, &line) > 0) on_command(d, line.ptr, line.len);
        ndjson_reader_compact(&d->reader);
    }
    free(b->base);
    if (n < 0) {
        uv_read_stop(s);
        uv_close((uv_handle_t *)s, NULL);
        engine_shutdown(d->eng, on_engine_down, d);
    }
}

static void close_walk(uv_handle_t *h, void *arg) {
    (void)arg;
    if (!uv_is_closing(h)) uv_close(h, NULL);
}

int main(int argc, char **argv) {
    if (argc < 2) {
        fprintf(stderr, "usage: engine_driver CONFIG.json\n");
        return 2;
    }
    signal(SIGPIPE, SIG_IGN);
    static driver_t d;
    if (load_settings(&d.cfg, argv[1]) != 0) {
        fprintf(stderr, "engine_driver: cannot read %s\n", argv[1]);
        return 2;
    }
    if (getenv("DRIVER_DEBUG")) log_set_level(LOG_DEBUG);
    d.loop = uv_default_loop();
    d.eng = engine_new(d.loop, &d.cfg, NULL);
    char err[512] = "";
    int rc = engine_start(d.eng, err, sizeof err);
    yyjson_mut_doc *doc = yyjson_mut_doc_new(NULL);
    yyjson_mut_val *root = yyjson_mut_obj(doc), *ready = yyjson_mut_obj(doc);
    yyjson_mut_doc_set_root(doc, root);
    yyjson_mut_obj_add_int(doc, ready, "pid", getpid());
    if (rc) yyjson_mut_obj_add_strcpy(doc, ready, "start_error", err);
    yyjson_mut_obj_add_val(doc, root, "ready", ready);
    print_doc(doc);

    ndjson_reader_init(&d.reader, 0, 0);
    uv_pipe_init(d.loop, &d.in, 0);
    d.in.data = &d;
    uv_pipe_open(&d.in, 0);
    uv_read_start((uv_stream_t *)&d.in, on_alloc, on_stdin);
    uv_run(d.loop, UV_RUN_DEFAULT);

    for (int i = 0; i < MAX_TURNS; i++)
        if (d.turns[i]) turn_forget(d.turns[i]);
    engine_free(d.eng);
    uv_walk(d.loop, close_walk, NULL);
    uv_run(d.loop, UV_RUN_DEFAULT);
    uv_loop_close(d.loop);
    ndjson_reader_free(&d.reader);
    free_settings(&d.cfg);
    return d.is_done ? 0 : 1;
}
