/*
 * The loopback WebSocket a CLI connects to: the upgrade request (ws_handshake_feed/check, the bearer), then
 * the frames after it through wslay as the server reads them (masking, fragmentation, control frames,
 * close codes), each message's payload split into NDJSON lines across frames (ndjson_reader) and classified
 * (proto_parse_line). The first byte chooses how the bytes arrive in reads.
 */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <wslay/wslay.h>

#include "engine/protocol.h"
#include "transport/ndjson.h"
#include "transport/websocket_internal.h"

typedef struct {
    const uint8_t *data;
    size_t len, at, chunk;
    ndjson_reader_t lines;
} feed_t;

static ssize_t on_recv(wslay_event_context_ptr ctx, uint8_t *buf, size_t len, int flags, void *arg) {
    (void)flags;
    feed_t *f = arg;
    if (f->at >= f->len) {
        wslay_event_set_error(ctx, WSLAY_ERR_WOULDBLOCK);
        return -1;
    }
    size_t n = f->len - f->at;
    if (n > len) n = len;
    if (n > f->chunk) n = f->chunk;
    memcpy(buf, f->data + f->at, n);
    f->at += n;
    return (ssize_t)n;
}

static ssize_t on_send(wslay_event_context_ptr ctx, const uint8_t *data, size_t len, int flags, void *arg) {
    (void)ctx;
    (void)data;
    (void)flags;
    (void)arg;
    return (ssize_t)len; /* pongs and close replies go nowhere */
}

static void on_message(wslay_event_context_ptr ctx, const struct wslay_event_on_msg_recv_arg *m, void *arg) {
    (void)ctx;
    feed_t *f = arg;
    if (m->opcode != WSLAY_TEXT_FRAME && m->opcode != WSLAY_BINARY_FRAME) return;
    if (ndjson_reader_append(&f->lines, (const char *)m->msg, m->msg_length) != 0) return;
    view_t line;
    while (ndjson_reader_next(&f->lines, &line) > 0) {
        proto_line_t l;
        proto_parse_line(line.ptr, line.len, &l);
        proto_line_free(&l);
    }
    ndjson_reader_compact(&f->lines);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 1) return 0;
    size_t chunk = (size_t)data[0] % 32 + 1;
    data++;
    size--;
    ws_handshake_t h;
    ws_handshake_init(&h, 16384);
    size_t used = 0, consumed = 0;
    ws_hs_state_t st = WS_HS_READING;
    while (used < size && st == WS_HS_READING) {
        size_t n = size - used < chunk ? size - used : chunk;
        st = ws_handshake_feed(&h, (const char *)data + used, n, &consumed);
        used += consumed;
        if (consumed == 0) break;
    }
    if (st == WS_HS_COMPLETE) {
        (void)ws_handshake_check(&h);
        size_t blen = 0;
        (void)ws_handshake_bearer(&h, &blen);
    }
    /* The rest (or, when the head never completed, everything) is read as client frames. */
    feed_t f = {.data = data, .len = size, .at = st == WS_HS_COMPLETE ? used : 0, .chunk = chunk};
    ndjson_reader_init(&f.lines, 1 << 20, 2 << 20);
    struct wslay_event_callbacks cb = {.recv_callback = on_recv, .send_callback = on_send,
                                       .on_msg_recv_callback = on_message};
    wslay_event_context_ptr ctx;
    if (wslay_event_context_server_init(&ctx, &cb, &f) == 0) {
        wslay_event_config_set_max_recv_msg_length(ctx, 1 << 20);
        while (f.at < f.len && wslay_event_want_read(ctx))
            if (wslay_event_recv(ctx) != 0) break;
        (void)wslay_event_send(ctx);
        wslay_event_context_free(ctx);
    }
    ndjson_reader_free(&f.lines);
    return 0;
}
