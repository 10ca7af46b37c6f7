/* The upgrade request (RFC 6455 section 4), its answer, and the per-session secrets. */
#include <errno.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/sha.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <uv.h>

#include "transport/websocket_internal.h"

#define WS_GUID "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

static const struct {
    const char *name;
    int field;
} kept_headers[] = {
    {"authorization", WS_HS_AUTHORIZATION}, {"sec-websocket-key", WS_HS_KEY},
    {"sec-websocket-version", WS_HS_VERSION}, {"upgrade", WS_HS_UPGRADE},
    {"connection", WS_HS_CONNECTION},
};

static ws_handshake_t *hs_of(llhttp_t *p) { return p->data; }

static void value_append(ws_hs_value_t *v, const char *at, size_t len) {
    if (v->len + len >= sizeof v->text) {
        v->is_too_long = true;
        return;
    }
    memcpy(v->text + v->len, at, len);
    v->len += len;
    v->text[v->len] = '\0';
}

static int on_url(llhttp_t *p, const char *at, size_t len) {
    value_append(&hs_of(p)->values[WS_HS_PATH], at, len);
    return 0;
}

static int on_header_field(llhttp_t *p, const char *at, size_t len) {
    ws_handshake_t *h = hs_of(p);
    for (size_t i = 0; i < len; i++, h->name_len++)
        if (h->name_len < sizeof h->name - 1) h->name[h->name_len] = at[i];
    return 0;
}

static int on_header_field_complete(llhttp_t *p) {
    ws_handshake_t *h = hs_of(p);
    h->field = -1;
    if (h->name_len > sizeof h->name - 1) return 0; /* longer than any name we keep */
    h->name[h->name_len] = '\0';
    if (strcasecmp(h->name, "origin") == 0) h->has_origin = true;
    for (size_t i = 0; i < sizeof kept_headers / sizeof kept_headers[0]; i++) {
        if (strcasecmp(h->name, kept_headers[i].name) != 0) continue;
        h->field = kept_headers[i].field;
        /* A repeated header is one comma-separated list (RFC 9110 5.3). */
        if (h->values[h->field].len) value_append(&h->values[h->field], ",", 1);
    }
    return 0;
}

static int on_header_value(llhttp_t *p, const char *at, size_t len) {
    ws_handshake_t *h = hs_of(p);
    if (h->field >= 0) value_append(&h->values[h->field], at, len);
    return 0;
}

static int on_header_value_complete(llhttp_t *p) {
    ws_handshake_t *h = hs_of(p);
    h->field = -1;
    h->name_len = 0;
    return 0;
}

/* One request per connection: stop right after it, whatever follows is WebSocket frames. */
static int on_message_complete(llhttp_t *p) { return HPE_PAUSED; }

void ws_handshake_init(ws_handshake_t *h, size_t max_bytes) {
    memset(h, 0, sizeof *h);
    llhttp_settings_init(&h->settings);
    h->settings.on_url = on_url;
    h->settings.on_header_field = on_header_field;
    h->settings.on_header_field_complete = on_header_field_complete;
    h->settings.on_header_value = on_header_value;
    h->settings.on_header_value_complete = on_header_value_complete;
    h->settings.on_message_complete = on_message_complete;
    llhttp_init(&h->parser, HTTP_REQUEST, &h->settings);
    h->parser.data = h;
    h->max_bytes = max_bytes;
    h->field = -1;
}

static ws_hs_state_t hs_fail(ws_handshake_t *h, int status) {
    h->state = WS_HS_FAILED;
    h->status = status;
    return h->state;
}

ws_hs_state_t ws_handshake_feed(ws_handshake_t *h, const char *data, size_t len, size_t *consumed) {
    *consumed = 0;
    if (h->state != WS_HS_READING) return h->state;
    size_t room = h->max_bytes - h->seen;
    size_t n = len < room ? len : room;
    llhttp_errno_t err = llhttp_execute(&h->parser, data, n);
    if (err == HPE_OK) {
        h->seen += n;
        *consumed = n;
        return n < len ? hs_fail(h, 431) : h->state;
    }
    if (err == HPE_PAUSED || err == HPE_PAUSED_UPGRADE) {
        *consumed = (size_t)(llhttp_get_error_pos(&h->parser) - data);
        h->seen += *consumed;
        h->state = WS_HS_COMPLETE;
        return h->state;
    }
    return hs_fail(h, 400);
}

/* Is `token` one of the comma-separated items of the list (case-insensitive)? */
static bool list_has(const char *list, const char *token) {
    size_t tlen = strlen(token);
    for (const char *p = list; *p;) {
        while (*p == ' ' || *p == '\t' || *p == ',') p++;
        const char *end = p;
        while (*end && *end != ',') end++;
        const char *last = end;
        while (last > p && (last[-1] == ' ' || last[-1] == '\t')) last--;
        if ((size_t)(last - p) == tlen && strncasecmp(p, token, tlen) == 0) return true;
        p = end;
    }
    return false;
}

int ws_handshake_check(const ws_handshake_t *h) {
    if (h->state != WS_HS_COMPLETE) return h->state == WS_HS_FAILED ? h->status : 400;
    for (int i = 0; i < WS_HS_NFIELDS; i++)
        if (h->values[i].is_too_long) return 431;
    if (h->parser.method != HTTP_GET) return 405;
    /* Browsers always send Origin and cannot set Authorization: no page may reach the CLI socket. */
    if (h->has_origin) return 403;
    if (!list_has(h->values[WS_HS_UPGRADE].text, "websocket") ||
        !list_has(h->values[WS_HS_CONNECTION].text, "upgrade"))
        return 426;
    if (strcmp(h->values[WS_HS_VERSION].text, "13") != 0) return 426;
    if (h->values[WS_HS_KEY].len == 0 || h->values[WS_HS_KEY].len > 64) return 400;
    return 0;
}

const char *ws_handshake_bearer(const ws_handshake_t *h, size_t *len) {
    const char *p = h->values[WS_HS_AUTHORIZATION].text;
    while (*p == ' ' || *p == '\t') p++;
    if (strncasecmp(p, "bearer", 6) != 0 || (p[6] != ' ' && p[6] != '\t')) return NULL;
    p += 6;
    while (*p == ' ' || *p == '\t') p++;
    const char *end = p + strlen(p);
    while (end > p && (end[-1] == ' ' || end[-1] == '\t')) end--;
    if (end == p) return NULL;
    *len = (size_t)(end - p);
    return p;
}

int ws_accept_key(const char *key, size_t key_len, char out[WS_ACCEPT_LEN + 1]) {
    unsigned char digest[SHA_DIGEST_LENGTH];
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    if (!ctx) return -ENOMEM;
    int ok = EVP_DigestInit_ex(ctx, EVP_sha1(), NULL) && EVP_DigestUpdate(ctx, key, key_len) &&
             EVP_DigestUpdate(ctx, WS_GUID, sizeof WS_GUID - 1) && EVP_DigestFinal_ex(ctx, digest, NULL);
    EVP_MD_CTX_free(ctx);
    if (!ok) return -EIO;
    EVP_EncodeBlock((unsigned char *)out, digest, SHA_DIGEST_LENGTH);
    return 0;
}

int ws_response_accept(buf_t *out, const char *accept_key) {
    return buf_appendf(out,
                       "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                       "Sec-WebSocket-Accept: %s\r\n\r\n",
                       accept_key);
}

static const char *status_text(int status) {
    switch (status) {
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 408: return "Request Timeout";
    case 409: return "Conflict";
    case 410: return "Gone";
    case 426: return "Upgrade Required";
    case 431: return "Request Header Fields Too Large";
    case 503: return "Service Unavailable";
    default: return "Error";
    }
}

int ws_response_refuse(buf_t *out, int status) {
    const char *text = status_text(status);
    const char *extra = status == 401   ? "WWW-Authenticate: Bearer\r\n"
                        : status == 405 ? "Allow: GET\r\n"
                        : status == 426 ? "Upgrade: websocket\r\nSec-WebSocket-Version: 13\r\n"
                                        : "";
    return buf_appendf(out,
                       "HTTP/1.1 %d %s\r\n%sContent-Type: text/plain\r\nContent-Length: %zu\r\n"
                       "Connection: close\r\n\r\n%s\n",
                       status, text, extra, strlen(text) + 1, text);
}

int ws_random_path(char *out, size_t len) {
    static const char hex[] = "0123456789abcdef";
    unsigned char bytes[16];
    static const char prefix[] = "/session/";
    if (len < sizeof prefix + 2 * sizeof bytes) return -ENOBUFS;
    if (RAND_bytes(bytes, sizeof bytes) != 1) return -EIO;
    memcpy(out, prefix, sizeof prefix - 1);
    char *p = out + sizeof prefix - 1;
    for (size_t i = 0; i < sizeof bytes; i++) {
        *p++ = hex[bytes[i] >> 4];
        *p++ = hex[bytes[i] & 15];
    }
    *p = '\0';
    return 0;
}

int ws_random_token(char *out, size_t len) {
    unsigned char bytes[32];
    char b64[48];
    if (RAND_bytes(bytes, sizeof bytes) != 1) return -EIO;
    int n = EVP_EncodeBlock((unsigned char *)b64, bytes, sizeof bytes);
    OPENSSL_cleanse(bytes, sizeof bytes);
    /* base64url without padding: safe in an env var and a header as is. */
    size_t k = 0;
    for (int i = 0; i < n && b64[i] != '='; i++) b64[k++] = b64[i] == '+' ? '-' : b64[i] == '/' ? '_' : b64[i];
    if (len <= k) {
        OPENSSL_cleanse(b64, sizeof b64);
        return -ENOBUFS;
    }
    memcpy(out, b64, k);
    out[k] = '\0';
    OPENSSL_cleanse(b64, sizeof b64);
    return 0;
}

void ws_token_digest(const char *token, size_t len, unsigned char out[WS_DIGEST_LEN]) {
    SHA256((const unsigned char *)token, len, out);
}

bool ws_token_matches(const unsigned char expected[WS_DIGEST_LEN], const char *token, size_t len) {
    unsigned char got[WS_DIGEST_LEN];
    ws_token_digest(token, len, got);
    return CRYPTO_memcmp(expected, got, WS_DIGEST_LEN) == 0;
}

bool ws_host_is_loopback(const char *host) {
    unsigned char addr[16];
    if (strcmp(host, "localhost") == 0) return true;
    if (uv_inet_pton(AF_INET, host, addr) == 0) return addr[0] == 127;
    if (uv_inet_pton(AF_INET6, host, addr) == 0) {
        static const unsigned char v6_loopback[16] = {[15] = 1};
        return memcmp(addr, v6_loopback, sizeof addr) == 0;
    }
    return false;
}
