/*
 * NDJSON line splitter: bytes in (any chunking), complete lines out. A line longer than the limit fails
 * the stream (the caller ends the session), so a runaway child cannot make us buffer without bound.
 */
#ifndef CWP_TRANSPORT_NDJSON_H
#define CWP_TRANSPORT_NDJSON_H
#include <stdbool.h>
#include <stddef.h>

#include "util/buf.h"

#define NDJSON_MAX_LINE_DEFAULT ((size_t)64 << 20) /* 64 MiB: a tool result or image line can be megabytes */

typedef struct {
    buf_t pending;    /* bytes not yet handed out: an unfinished line, or lines held while stopped */
    size_t head;      /* first byte of pending not yet handed out */
    size_t scanned;   /* pending[head, scanned) holds no '\n' */
    size_t max_line;
    bool is_failed;
} ndjson_reader_t;

/* One complete line without its '\n' (a trailing '\r' is dropped too). Return false to stop: the rest
 * is kept, and ndjson_reader_resume hands it out later (back-pressure), or the reader is freed. */
typedef bool (*ndjson_line_fn)(void *arg, const char *line, size_t len);

void ndjson_reader_init(ndjson_reader_t *r, size_t max_line);
void ndjson_reader_free(ndjson_reader_t *r);
/* Returns 0, 1 when the consumer stopped, or -EMSGSIZE when a line exceeds max_line (sticky). */
int ndjson_reader_feed(ndjson_reader_t *r, const char *data, size_t len, ndjson_line_fn on_line, void *arg);
/* Hand out complete lines kept after a stop. Same returns as feed. */
int ndjson_reader_resume(ndjson_reader_t *r, ndjson_line_fn on_line, void *arg);
/* Bytes of an unfinished line (for the "stream ended mid-line" case). */
size_t ndjson_reader_pending(const ndjson_reader_t *r);

#endif
