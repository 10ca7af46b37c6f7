/*
 * Test host for the WebSocket transport: a ws_server on a free loopback port with N expected sessions.
 * stdout, one JSON object a line: {"event":"listening","port"}, {"event":"session","index","url","token"},
 * {"event":"open"|"line"|"closed"|"sent",...}. Every received line is echoed back as {"echo":"<line>"}
 * unless --no-echo. stdin takes JSON commands:
 *   {"cmd":"send","index":0,"line":"..."}  {"cmd":"close","index":0}  {"cmd":"pause","index":0,"paused":true}
 *   {"cmd":"expect"}  {"cmd":"close_server"} (before the transports)  {"cmd":"barrier"}
 *   {"cmd":"quit"} (stdin EOF quits too; everything is closed and freed first)
 * Options: --sessions N --max-frame B --max-message B --max-send-queue B --reconnect-ms MS
 *          --handshake-ms MS --close-code C --no-echo
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>
#include <yyjson.h>

#include "transport/ndjson.h"
#include "transport/websocket.h"

#define MAX_SESSIONS 64

typedef struct host_s host_t;

typedef struct {
    host_t *host;
    int index;
    transport_t *t;
} slot_t;

struct host_s {
    uv_loop_t *loop;
    ws_server_t *server;
    uv_pipe_t in;
    ndjson_reader_t in_lines;
    bool is_echo;
    bool is_quitting;
    bool is_server_closing;
    slot_t slots[MAX_SESSIONS];
    int count;
};

/* Print one event: the document gets "event" first, then the caller's fields. */
static void emit(yyjson_mut_doc *doc) {
    char *text = yyjson_mut_write(doc, 0, NULL);
    if (text) {
        fprintf(stdout, "%s\n", text);
        fflush(stdout);
        free(text);
    }
    yyjson_mut_doc_free(doc);
}

static yyjson_mut_doc *event_new(const char *event, int index, yyjson_mut_val **root) {
    yyjson_mut_doc *doc = yyjson_mut_doc_new(NULL);
    *root = yyjson_mut_obj(doc);
    yyjson_mut_doc_set_root(doc, *root);
    yyjson_mut_obj_add_str(doc, *root, "event", event);
    if (index >= 0) yyjson_mut_obj_add_int(doc, *root, "index", index);
    return doc;
}

static void on_open(void *arg) {
    slot_t *s = arg;
    yyjson_mut_val *root;
    emit(event_new("open", s->index, &root));
}

static void on_line(void *arg, const char *line, size_t len) {
    slot_t *s = arg;
    yyjson_mut_val *root;
    yyjson_mut_doc *doc = event_new("line", s->index, &root);
    yyjson_mut_obj_add_strncpy(doc, root, "line", line, len);
    emit(doc);
    if (!s->host->is_echo) return;
    yyjson_mut_doc *echo = yyjson_mut_doc_new(NULL);
    yyjson_mut_val *obj = yyjson_mut_obj(echo);
    yyjson_mut_doc_set_root(echo, obj);
    yyjson_mut_obj_add_strncpy(echo, obj, "echo", line, len);
    size_t out_len = 0;
    char *out = yyjson_mut_write(echo, 0, &out_len);
    int rc = out ? transport_send_line(s->t, out, out_len) : -1;
    free(out);
    yyjson_mut_doc_free(echo);
    if (rc != 0) {
        doc = event_new("echo_failed", s->index, &root);
        yyjson_mut_obj_add_int(doc, root, "rc", rc);
        emit(doc);
    }
}

static void on_closed(void *arg, int reason) {
    slot_t *s = arg;
    yyjson_mut_val *root;
    yyjson_mut_doc *doc = event_new("closed", s->index, &root);
    yyjson_mut_obj_add_int(doc, root, "reason", reason);
    emit(doc);
}

static void host_expect(host_t *h) {
    if (h->count >= MAX_SESSIONS) return;
    slot_t *s = &h->slots[h->count];
    s->host = h;
    s->index = h->count;
    char url[WS_URL_MAX], token[WS_TOKEN_MAX];
    transport_events_t ev = {.on_line = on_line, .on_open = on_open, .on_closed = on_closed};
    s->t = ws_server_expect(h->server, &ev, s, url, sizeof url, token, sizeof token);
    if (!s->t) return;
    h->count++;
    yyjson_mut_val *root;
    yyjson_mut_doc *doc = event_new("session", s->index, &root);
    yyjson_mut_obj_add_strcpy(doc, root, "url", url);
    yyjson_mut_obj_add_strcpy(doc, root, "path", strstr(url, "/session/"));
    yyjson_mut_obj_add_strcpy(doc, root, "token", token);
    emit(doc);
}

static void on_server_closed(void *arg) {
    yyjson_mut_val *root;
    emit(event_new("server_closed", -1, &root));
}

static void on_stdin_closed(uv_handle_t *h) {}

static void host_quit(host_t *h) {
    if (h->is_quitting) return;
    h->is_quitting = true;
    for (int i = 0; i < h->count; i++) {
        if (h->slots[i].t) transport_close(h->slots[i].t);
        h->slots[i].t = NULL;
    }
    if (!h->is_server_closing) ws_server_close(h->server, on_server_closed, h);
    h->is_server_closing = true;
    uv_close((uv_handle_t *)&h->in, on_stdin_closed);
}

static slot_t *slot_of(host_t *h, yyjson_val *cmd) {
    int i = yyjson_get_int(yyjson_obj_get(cmd, "index"));
    if (i < 0 || i >= h->count || !h->slots[i].t) return NULL;
    return &h->slots[i];
}

static void host_command(host_t *h, const char *line, size_t len) {
    yyjson_doc *doc = yyjson_read(line, len, 0);
    yyjson_val *cmd = yyjson_doc_get_root(doc);
    const char *name = yyjson_get_str(yyjson_obj_get(cmd, "cmd"));
    slot_t *s = cmd ? slot_of(h, cmd) : NULL;
    if (!name) {
        /* ignore */
    } else if (strcmp(name, "send") == 0 && s) {
        yyjson_val *l = yyjson_obj_get(cmd, "line");
        int rc = transport_send_line(s->t, yyjson_get_str(l), yyjson_get_len(l));
        yyjson_mut_val *root;
        yyjson_mut_doc *out = event_new("sent", s->index, &root);
        yyjson_mut_obj_add_int(out, root, "rc", rc);
        emit(out);
    } else if (strcmp(name, "close") == 0 && s) {
        transport_close(s->t);
        s->t = NULL;
        yyjson_mut_val *root;
        emit(event_new("released", s->index, &root));
    } else if (strcmp(name, "pause") == 0 && s) {
        transport_set_paused(s->t, yyjson_get_bool(yyjson_obj_get(cmd, "paused")));
        yyjson_mut_val *root;
        emit(event_new("paused", s->index, &root));
    } else if (strcmp(name, "barrier") == 0) {
        /* Everything read from sockets before this command was handled has printed its events. */
        yyjson_mut_val *root;
        emit(event_new("barrier", -1, &root));
    } else if (strcmp(name, "expect") == 0) {
        host_expect(h);
    } else if (strcmp(name, "close_server") == 0 && !h->is_server_closing) {
        h->is_server_closing = true; /* transports stay ours to close, at quit */
        ws_server_close(h->server, on_server_closed, h);
    } else if (strcmp(name, "quit") == 0) {
        host_quit(h);
    }
    yyjson_doc_free(doc);
}

static void on_stdin_alloc(uv_handle_t *handle, size_t suggested, uv_buf_t *buf) {
    static char chunk[65536];
    *buf = uv_buf_init(chunk, sizeof chunk);
}

static void on_stdin_read(uv_stream_t *stream, ssize_t n, const uv_buf_t *buf) {
    host_t *h = stream->data;
    if (n < 0) {
        host_quit(h);
        return;
    }
    if (ndjson_reader_append(&h->in_lines, buf->base, (size_t)n) != 0) {
        host_quit(h);
        return;
    }
    view_t line;
    while (!h->is_quitting && ndjson_reader_next(&h->in_lines, &line) > 0) host_command(h, line.ptr, line.len);
    ndjson_reader_compact(&h->in_lines);
}

static unsigned long long arg_num(int argc, char **argv, int *i) {
    if (*i + 1 >= argc) {
        fprintf(stderr, "missing value for %s\n", argv[*i]);
        exit(2);
    }
    return strtoull(argv[++*i], NULL, 10);
}

int main(int argc, char **argv) {
    host_t h = {.loop = uv_default_loop(), .is_echo = true};
    ws_limits_t lim = ws_limits_default();
    int sessions = 1;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--sessions") == 0) sessions = (int)arg_num(argc, argv, &i);
        else if (strcmp(argv[i], "--max-frame") == 0) lim.max_frame = arg_num(argc, argv, &i);
        else if (strcmp(argv[i], "--max-message") == 0) lim.max_message = arg_num(argc, argv, &i);
        else if (strcmp(argv[i], "--max-send-queue") == 0) lim.max_send_queue = arg_num(argc, argv, &i);
        else if (strcmp(argv[i], "--reconnect-ms") == 0) lim.reconnect_window_ms = arg_num(argc, argv, &i);
        else if (strcmp(argv[i], "--handshake-ms") == 0) lim.handshake_timeout_ms = arg_num(argc, argv, &i);
        else if (strcmp(argv[i], "--close-code") == 0) lim.close_code = (uint16_t)arg_num(argc, argv, &i);
        else if (strcmp(argv[i], "--no-echo") == 0) h.is_echo = false;
        else {
            fprintf(stderr, "unknown option %s\n", argv[i]);
            return 2;
        }
    }
    h.server = ws_server_new(h.loop, &lim);
    if (!h.server || ws_server_listen(h.server, "127.0.0.1", 0) != 0) return 1;
    yyjson_mut_val *root;
    yyjson_mut_doc *doc = event_new("listening", -1, &root);
    yyjson_mut_obj_add_int(doc, root, "port", ws_server_port(h.server));
    emit(doc);
    for (int i = 0; i < sessions; i++) host_expect(&h);

    ndjson_reader_init(&h.in_lines, 128u << 20, 129u << 20);
    uv_pipe_init(h.loop, &h.in, 0);
    h.in.data = &h;
    if (uv_pipe_open(&h.in, 0) != 0 || uv_read_start((uv_stream_t *)&h.in, on_stdin_alloc, on_stdin_read) != 0)
        return 1;
    uv_run(h.loop, UV_RUN_DEFAULT);
    ndjson_reader_free(&h.in_lines);
    return uv_loop_close(h.loop) == 0 ? 0 : 3;
}
