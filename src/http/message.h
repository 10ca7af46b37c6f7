/*
 * HTTP/1.1 message pieces with no socket behind them: status texts, the response head, request targets,
 * header checks and request ids. Kept apart from the server so they can be unit-tested directly.
 */
#ifndef CWP_HTTP_MESSAGE_H
#define CWP_HTTP_MESSAGE_H
#include <stdbool.h>
#include <stddef.h>

#include "util/buf.h"

/* Request limits that are protocol hygiene rather than settings. */
#define HTTP_MAX_HEAD_BYTES (64 * 1024) /* request line + headers, as stored */
#define HTTP_MAX_HEADERS 128
#define HTTP_MAX_RESPONSE_HEADERS 32
#define HTTP_REQUEST_ID_LEN 28 /* "req_" + 24 hex digits */

typedef enum {
    HTTP_BODY_NONE,           /* no body and no framing header (204, 304, 1xx) */
    HTTP_BODY_LENGTH,         /* content-length: body_len */
    HTTP_BODY_CHUNKED,        /* transfer-encoding: chunked */
    HTTP_BODY_UNTIL_CLOSE,    /* HTTP/1.0 stream: the close ends the body */
} http_body_framing_t;

typedef struct {
    int status;
    int http_minor;            /* the request's HTTP/1.x minor version */
    const char *content_type;  /* NULL: none */
    http_body_framing_t framing;
    size_t body_len;           /* for HTTP_BODY_LENGTH */
    bool is_keep_alive;        /* false adds "connection: close" */
    const char *extra;         /* pre-formatted "name: value\r\n" lines, or NULL */
} http_head_t;

/* "OK", "Not Found", ...; "Unknown" for codes without a text. */
const char *http_status_reason(int status);
/* Append the status line and headers (with the blank line) to out. */
int http_format_head(buf_t *out, const http_head_t *head);
/* Whether a status never carries a body (1xx, 204, 304). */
bool http_status_has_no_body(int status);

/*
 * Split a request target in place: *path gets the path (absolute-form "http://host/p" is reduced to "/p",
 * the fragment dropped), *query what follows '?' or "". target must be NUL-terminated and writable.
 */
void http_split_target(char *target, const char **path, const char **query);

/* A header name is an RFC 9110 token; a value has no CR, LF or NUL. */
bool http_header_name_is_valid(const char *name);
bool http_header_value_is_valid(const char *value);
/* Headers the server writes itself from the response's framing; handlers cannot set them. */
bool http_header_is_reserved(const char *name);
/* Case-insensitive search of a comma-separated header value for token (e.g. "100-continue"). */
bool http_header_has_token(const char *value, const char *token);

/* "req_" + 24 lowercase hex digits from random bytes; out must hold HTTP_REQUEST_ID_LEN + 1. */
void http_request_id_format(char *out, const unsigned char random[12]);

/* The hex size line that opens a chunk ("1a2b\r\n"); out must hold 20 bytes. Returns its length. */
size_t http_chunk_prefix(char *out, size_t len);

#endif
