/*
 * NDJSON line splitter, the one both transports use: bytes in (any chunking: pipe reads, WebSocket frames),
 * complete lines out, pulled one at a time so a paused consumer simply stops asking. A line longer than the
 * limit fails the stream (the caller ends the session), so a runaway child cannot make us buffer without
 * bound; lines that came before the offending one are still handed out first.
 */
#ifndef CWP_TRANSPORT_NDJSON_H
#define CWP_TRANSPORT_NDJSON_H
#include <stddef.h>

#include "util/buf.h"

#define NDJSON_MAX_LINE_DEFAULT ((size_t)64 << 20) /* 64 MiB: a tool result or image line can be megabytes */

typedef struct {
    buf_t buf;       /* [0, head) handed out, [head, len) not yet: complete lines, then an unfinished one */
    size_t head;     /* start of the first line not yet handed out */
    size_t scanned;  /* buf[head, scanned) holds no '\n' */
    size_t partial;  /* length of the unfinished last line */
    size_t max_line;
    int error;       /* 0, or -EMSGSIZE once a line or the buffer outgrew its bound (sticky) */
} ndjson_reader_t;

/* max_line 0 means NDJSON_MAX_LINE_DEFAULT. max_buffered bounds the bytes held (lines not yet handed out
 * plus the unfinished one); 0 leaves only max_line, for a caller that stops reading while it holds lines. */
void ndjson_reader_init(ndjson_reader_t *r, size_t max_line, size_t max_buffered);
void ndjson_reader_free(ndjson_reader_t *r);
/* Keep bytes. 0, or -EMSGSIZE when the unfinished line grows past max_line or the buffer past its bound
 * (sticky: later bytes are refused). Complete lines already held can still be taken with next. */
int ndjson_reader_append(ndjson_reader_t *r, const char *data, size_t len);
/* 1 with the next complete line, without its '\n' and a '\r' before it; empty lines included. The line
 * stays valid until the next call on the reader. 0 when no complete line is held; -EMSGSIZE when the
 * stream failed and every line before the failure has been handed out. */
int ndjson_reader_next(ndjson_reader_t *r, view_t *line);
/* Give back the space of the lines handed out (call after a run of next). */
void ndjson_reader_compact(ndjson_reader_t *r);
/* Forget the unfinished last line (its sender is gone; a reconnecting one starts a new line). */
void ndjson_reader_drop_partial(ndjson_reader_t *r);
/* Bytes held and not yet handed out: complete lines waiting, and the unfinished one. */
size_t ndjson_reader_pending(const ndjson_reader_t *r);

#endif
