#include "http/message.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

const char *http_status_reason(int status) {
    switch (status) {
    case 100: return "Continue";
    case 101: return "Switching Protocols";
    case 200: return "OK";
    case 201: return "Created";
    case 202: return "Accepted";
    case 204: return "No Content";
    case 206: return "Partial Content";
    case 301: return "Moved Permanently";
    case 302: return "Found";
    case 303: return "See Other";
    case 304: return "Not Modified";
    case 307: return "Temporary Redirect";
    case 308: return "Permanent Redirect";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 408: return "Request Timeout";
    case 409: return "Conflict";
    case 411: return "Length Required";
    case 413: return "Content Too Large";
    case 414: return "URI Too Long";
    case 415: return "Unsupported Media Type";
    case 417: return "Expectation Failed";
    case 422: return "Unprocessable Content";
    case 429: return "Too Many Requests";
    case 431: return "Request Header Fields Too Large";
    case 499: return "Client Closed Request";
    case 500: return "Internal Server Error";
    case 501: return "Not Implemented";
    case 502: return "Bad Gateway";
    case 503: return "Service Unavailable";
    case 504: return "Gateway Timeout";
    case 505: return "HTTP Version Not Supported";
    case 529: return "Overloaded";
    default: return "Unknown";
    }
}

bool http_status_has_no_body(int status) { return (status >= 100 && status < 200) || status == 204 || status == 304; }

int http_format_head(buf_t *out, const http_head_t *h) {
    int status = h->status >= 100 && h->status <= 999 ? h->status : 500;
    int rc = buf_appendf(out, "HTTP/1.%d %d %s\r\n", h->http_minor == 0 ? 0 : 1, status, http_status_reason(status));
    if (!rc && h->content_type && h->framing != HTTP_BODY_NONE)
        rc = buf_appendf(out, "content-type: %s\r\n", h->content_type);
    if (!rc && h->framing == HTTP_BODY_LENGTH) rc = buf_appendf(out, "content-length: %zu\r\n", h->body_len);
    if (!rc && h->framing == HTTP_BODY_CHUNKED) rc = buf_append_str(out, "transfer-encoding: chunked\r\n");
    /* HTTP/1.0 closes by default, HTTP/1.1 keeps alive by default: say so only when it differs. */
    if (!rc && !h->is_keep_alive) rc = buf_append_str(out, "connection: close\r\n");
    if (!rc && h->is_keep_alive && h->http_minor == 0) rc = buf_append_str(out, "connection: keep-alive\r\n");
    if (!rc && h->extra) rc = buf_append_str(out, h->extra);
    if (!rc) rc = buf_append(out, "\r\n", 2);
    return rc;
}

void http_split_target(char *target, const char **path, const char **query) {
    char *p = target;
    /* absolute-form (RFC 9112 3.2.2): keep what follows the authority */
    if (!strncasecmp(p, "http://", 7) || !strncasecmp(p, "https://", 8)) {
        char *end = strpbrk(strstr(p, "//") + 2, "/?#");
        if (end && *end == '/') {
            p = end;
        } else {
            /* "http://host" or "http://host?q": the path is "/", written over the authority's last byte */
            if (!end) end = p + strlen(p);
            end[-1] = '/';
            p = end - 1;
        }
    }
    char *hash = strchr(p, '#');
    if (hash) *hash = '\0';
    char *q = strchr(p, '?');
    if (q) {
        *q = '\0';
        *query = q + 1;
    } else {
        *query = p + strlen(p); /* "" that lives as long as the target */
    }
    *path = p;
}

static bool is_tchar(unsigned char c) {
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) return true;
    return c && strchr("!#$%&'*+-.^_`|~", c) != NULL;
}

bool http_header_name_is_valid(const char *name) {
    if (!name || !*name) return false;
    for (const unsigned char *p = (const unsigned char *)name; *p; p++)
        if (!is_tchar(*p)) return false;
    return true;
}

bool http_header_value_is_valid(const char *value) {
    if (!value) return false;
    for (const char *p = value; *p; p++)
        if (*p == '\r' || *p == '\n') return false;
    return true;
}

bool http_header_is_reserved(const char *name) {
    static const char *const reserved[] = {"content-length", "transfer-encoding", "connection", "keep-alive",
                                           "upgrade", "trailer"};
    for (size_t i = 0; i < sizeof reserved / sizeof reserved[0]; i++)
        if (!strcasecmp(name, reserved[i])) return true;
    return false;
}

bool http_header_has_token(const char *value, const char *token) {
    if (!value) return false;
    size_t tlen = strlen(token);
    const char *p = value;
    while (*p) {
        while (*p == ' ' || *p == '\t' || *p == ',') p++;
        const char *start = p;
        while (*p && *p != ',') p++;
        const char *end = p;
        while (end > start && (end[-1] == ' ' || end[-1] == '\t')) end--;
        if ((size_t)(end - start) == tlen && !strncasecmp(start, token, tlen)) return true;
    }
    return false;
}

void http_request_id_format(char *out, const unsigned char random[12]) {
    static const char hex[] = "0123456789abcdef";
    memcpy(out, "req_", 4);
    for (int i = 0; i < 12; i++) {
        out[4 + 2 * i] = hex[random[i] >> 4];
        out[5 + 2 * i] = hex[random[i] & 15];
    }
    out[HTTP_REQUEST_ID_LEN] = '\0';
}

size_t http_chunk_prefix(char *out, size_t len) {
    int n = snprintf(out, 20, "%zx\r\n", len);
    return n > 0 ? (size_t)n : 0;
}
