/* What the CLI prints on a terminal, made plain: escape sequences out, the URL found, the code masked. */
#include <stdio.h>
#include <string.h>

#include "auth/auth_internal.h"

size_t auth_strip_ansi(const char *in, size_t len, char *out) {
    size_t o = 0;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)in[i];
        if (c == 0x1b && i + 1 < len) {
            unsigned char k = (unsigned char)in[i + 1];
            if (k == '[') { /* CSI: parameters, then a final byte in @..~ */
                i += 2;
                while (i < len && !((unsigned char)in[i] >= 0x40 && (unsigned char)in[i] <= 0x7e)) i++;
            } else if (k == ']') { /* OSC (hyperlinks, titles): up to BEL or ESC \ */
                i += 2;
                while (i < len && in[i] != '\a' && !(in[i] == 0x1b && i + 1 < len && in[i + 1] == '\\')) i++;
                if (i < len && in[i] == 0x1b) i++;
            } else {
                i++; /* two-byte sequence */
            }
            continue;
        }
        if (c == 0x1b || c == '\r') continue;
        out[o++] = (char)c;
    }
    out[o] = '\0';
    return o;
}

static bool is_space(char c) { return c == ' ' || c == '\n' || c == '\t' || c == '\r' || c == '\f' || c == '\v'; }

/* The whitespace-terminated token at p, if it is an https URL. */
static int take_url(const char *p, char *url, size_t cap) {
    while (*p == ' ' || *p == '\t') p++;
    if (strncmp(p, "https://", 8) != 0) return 0;
    size_t n = 0;
    while (p[n] && !is_space(p[n])) n++;
    if (!p[n] || n >= cap) return 0; /* not complete yet, or absurdly long */
    memcpy(url, p, n);
    url[n] = '\0';
    return 1;
}

int auth_find_login_url(const char *text, char *url, size_t url_cap) {
    const char *v = strstr(text, "visit:");
    if (v && take_url(v + 6, url, url_cap)) return 1;
    for (const char *p = strstr(text, "https://"); p; p = strstr(p + 1, "https://")) {
        size_t n = 0;
        while (p[n] && !is_space(p[n])) n++;
        const char *hit = strstr(p, "/oauth/authorize");
        if (hit && hit < p + n && take_url(p, url, url_cap)) return 1;
    }
    return 0;
}

void auth_mask(char *text, const char *secret) {
    size_t n = secret ? strlen(secret) : 0;
    if (!n) return;
    for (char *p = strstr(text, secret); p; p = strstr(p + n, secret)) memset(p, '*', n);
}

void auth_remove_prompt(char *text) {
    static const char prompt[] = AUTH_LOGIN_PROMPT;
    size_t n = sizeof prompt - 1;
    for (char *p = strstr(text, prompt); p; p = strstr(p, prompt)) {
        size_t skip = n + (p[n] == ' ');
        memmove(p, p + skip, strlen(p + skip) + 1);
    }
}

void auth_last_line(const char *text, char *out, size_t cap) {
    size_t end = strlen(text);
    out[0] = '\0';
    while (end > 0) {
        while (end > 0 && is_space(text[end - 1])) end--;
        size_t start = end;
        while (start > 0 && text[start - 1] != '\n') start--;
        size_t s = start;
        while (s < end && is_space(text[s])) s++;
        if (s < end) {
            snprintf(out, cap, "%.*s", (int)(end - s), text + s);
            return;
        }
        end = start;
    }
}

int auth_clean_code(const char *in, size_t len, char *out, size_t cap) {
    size_t s = 0, e = len;
    while (s < e && is_space(in[s])) s++;
    while (e > s && is_space(in[e - 1])) e--;
    if (s == e || e - s >= cap) return -1;
    for (size_t i = s; i < e; i++)
        if ((unsigned char)in[i] <= 0x20 || (unsigned char)in[i] >= 0x7f) return -1;
    memcpy(out, in + s, e - s);
    out[e - s] = '\0';
    return 0;
}
