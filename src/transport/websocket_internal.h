/* Pieces of the WebSocket transport that need no loop: upgrade parsing, keys, tokens. */
#ifndef CWP_TRANSPORT_WEBSOCKET_INTERNAL_H
#define CWP_TRANSPORT_WEBSOCKET_INTERNAL_H
#include <llhttp.h>
#include <stdbool.h>
#include <stddef.h>

#include "util/buf.h"

#define WS_ACCEPT_LEN 28     /* base64 of a SHA-1 digest */
#define WS_DIGEST_LEN 32     /* SHA-256 of a token */
#define WS_HEADER_VALUE_MAX 512

/* ---- upgrade request ---- */

typedef enum { WS_HS_READING, WS_HS_COMPLETE, WS_HS_FAILED } ws_hs_state_t;

/* What we keep of the request: the path and five headers. */
typedef enum {
    WS_HS_PATH,
    WS_HS_AUTHORIZATION,
    WS_HS_KEY,
    WS_HS_VERSION,
    WS_HS_UPGRADE,
    WS_HS_CONNECTION,
    WS_HS_NFIELDS
} ws_hs_field_t;

typedef struct {
    char text[WS_HEADER_VALUE_MAX];
    size_t len;
    bool is_too_long;
} ws_hs_value_t;

typedef struct {
    ws_hs_state_t state;
    llhttp_t parser;
    llhttp_settings_t settings;
    size_t seen;      /* bytes fed so far */
    size_t max_bytes; /* a request larger than this fails with 431 */
    int status;       /* when failed: the HTTP status to answer */
    int field;        /* ws_hs_field_t the current header value belongs to; -1 for headers we skip */
    char name[32];    /* current header name, as far as it fits */
    size_t name_len;
    bool has_origin;
    ws_hs_value_t values[WS_HS_NFIELDS];
} ws_handshake_t;

void ws_handshake_init(ws_handshake_t *h, size_t max_bytes);
/* Feed request bytes. Returns the state; *consumed tells how many bytes belonged to the request
 * (the rest, if any, are frames sent early). */
ws_hs_state_t ws_handshake_feed(ws_handshake_t *h, const char *data, size_t len, size_t *consumed);
/* For a complete request: 0 when it is a well-formed WebSocket upgrade, else the HTTP status to answer
 * (400, 403 for browser requests carrying Origin, 405, 426). Path and token are checked by the caller. */
int ws_handshake_check(const ws_handshake_t *h);
/* The bearer token in Authorization, or NULL. */
const char *ws_handshake_bearer(const ws_handshake_t *h, size_t *len);

/* Sec-WebSocket-Accept for a Sec-WebSocket-Key: out gets WS_ACCEPT_LEN chars + NUL. */
int ws_accept_key(const char *key, size_t key_len, char out[WS_ACCEPT_LEN + 1]);
/* Response bytes for the handshake: 101 with the accept key, or an error status with a short text. */
int ws_response_accept(buf_t *out, const char *accept_key);
int ws_response_refuse(buf_t *out, int status);

/* ---- secrets ---- */

/* Random path "/session/<32 hex>" and token (32 bytes, base64url). Returns 0 or -EIO. */
int ws_random_path(char *out, size_t len);
int ws_random_token(char *out, size_t len);
void ws_token_digest(const char *token, size_t len, unsigned char out[WS_DIGEST_LEN]);
/* Constant time: compares digests, so the token's length leaks nothing either. */
bool ws_token_matches(const unsigned char expected[WS_DIGEST_LEN], const char *token, size_t len);
bool ws_host_is_loopback(const char *host);

#endif
