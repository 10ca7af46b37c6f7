/*
 * HTTP parsing on a real in-process server: the input is written to a loopback TCP connection of an
 * http_server_t (llhttp, limits, pipelining, chunked bodies, the error paths), whose handler answers by a
 * rule of the path (a whole JSON answer, a streamed one, an answer after a loop turn), until the server
 * closes the connection. The client half-closes after writing, as some HTTP tools do.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <uv.h>

#include "http/server.h"

static uv_loop_t loop;
static http_server_t *srv;
static int port;

static void on_later(uv_timer_t *t) {
    http_exchange_t *ex = t->data;
    http_respond(ex, 202, "text/plain", "later", 5);
    uv_close((uv_handle_t *)t, (uv_close_cb)free);
}

static void handle(http_exchange_t *ex, void *ctx) {
    (void)ctx;
    const char *path = http_path(ex);
    view_t body = http_body(ex);
    (void)http_header(ex, "content-type");
    (void)http_query(ex);
    if (!strncmp(path, "/s", 2)) {
        http_stream_begin(ex, 200, "text/event-stream");
        http_stream_write(ex, "data: 1\n\n", 9);
        http_stream_write(ex, body.ptr ? body.ptr : "", body.len);
        http_stream_end(ex);
    } else if (!strncmp(path, "/l", 2)) {
        uv_timer_t *t = malloc(sizeof *t);
        uv_timer_init(&loop, t);
        t->data = ex;
        uv_timer_start(t, on_later, 0, 0);
    } else {
        http_set_header(ex, "x-len", body.len ? "some" : "none");
        http_respond(ex, 200, "application/json", "{}", 2);
    }
}

int LLVMFuzzerInitialize(int *argc, char ***argv) {
    (void)argc;
    (void)argv;
    uv_loop_init(&loop);
    http_limits_t limits = http_limits_default();
    limits.max_body_bytes = 64 * 1024;
    limits.header_timeout_ms = 2000;
    limits.body_timeout_ms = 2000;
    srv = http_server_new(&loop, &limits, handle, NULL);
    if (!srv || http_server_listen(srv, "127.0.0.1", 0) != 0 || (port = http_server_port(srv)) <= 0) abort();
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0) return 0;
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(fd, (struct sockaddr *)&a, sizeof a) != 0) {
        close(fd);
        return 0;
    }
    size_t sent = 0;
    bool is_closed = false;
    char sink[65536];
    /* Write, read and run the loop until the server has closed its side (bounded: 2000 turns). */
    for (int turn = 0; turn < 2000 && !is_closed; turn++) {
        if (sent < size) {
            ssize_t w = send(fd, data + sent, size - sent, MSG_DONTWAIT | MSG_NOSIGNAL);
            if (w > 0) sent += (size_t)w;
            if (sent == size) shutdown(fd, SHUT_WR);
        } else if (size == 0 && turn == 0) {
            shutdown(fd, SHUT_WR);
        }
        uv_run(&loop, UV_RUN_NOWAIT);
        struct pollfd p = {.fd = fd, .events = POLLIN};
        if (poll(&p, 1, 1) > 0) {
            ssize_t r = recv(fd, sink, sizeof sink, MSG_DONTWAIT);
            if (r == 0 || (r < 0 && errno != EAGAIN && errno != EWOULDBLOCK)) is_closed = true;
        }
    }
    close(fd);
    for (int i = 0; i < 50; i++) uv_run(&loop, UV_RUN_NOWAIT); /* let the server see the close */
    return 0;
}
