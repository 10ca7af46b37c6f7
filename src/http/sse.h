/* Server-sent events on a streamed exchange: framing, flush per event, comment heartbeats. */
#ifndef CWP_HTTP_SSE_H
#define CWP_HTTP_SSE_H
#include <stddef.h>

#include "http/server.h"
#include "util/buf.h"

/* Start a 200 text/event-stream response (no-cache, no buffering by proxies). */
int sse_begin(http_exchange_t *ex);
/* Frame one event into out: "event: <name>\n" (if name) + one "data: " line per data line + "\n". */
int sse_format_event(buf_t *out, const char *event, const char *data, size_t len);
/* Frame and write one event. Returns 0 or negative once the client is gone. */
int sse_send(http_exchange_t *ex, const char *event, const char *data, size_t len);
/* ": <text>\n\n" — ignored by clients, keeps intermediaries from timing out. */
int sse_comment(http_exchange_t *ex, const char *text);
/* Send ": ping" comments whenever the stream was silent for interval_ms. */
void sse_keepalive(http_exchange_t *ex, long interval_ms);

#endif
