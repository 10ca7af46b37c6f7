#include "util/log.h"

#include <stdarg.h>
#include <stdio.h>
#include <time.h>

#define LOG_LINE_MAX 2048

static log_level_t min_level = LOG_INFO;

void log_set_level(log_level_t level) { min_level = level; }

/* One event, one line: a value that carries CR, LF or another control byte (a client's model name, a
 * child's output) must not start a line of its own that reads like another event. Escaped, not dropped. */
static void escape_controls(const char *in, char *out, size_t cap) {
    static const char hex[] = "0123456789abcdef";
    size_t o = 0;
    for (const unsigned char *p = (const unsigned char *)in; *p && o + 5 < cap; p++) {
        if (*p >= 0x20 && *p != 0x7f) {
            out[o++] = (char)*p;
        } else if (*p == '\n' || *p == '\r' || *p == '\t') {
            out[o++] = '\\';
            out[o++] = *p == '\n' ? 'n' : *p == '\r' ? 'r' : 't';
        } else {
            out[o++] = '\\';
            out[o++] = 'x';
            out[o++] = hex[*p >> 4];
            out[o++] = hex[*p & 15];
        }
    }
    out[o] = '\0';
}

void log_event(log_level_t level, const char *event, const char *fmt, ...) {
    static const char *names[] = {"debug", "info", "warn", "error"};
    if (level < min_level) return;
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    struct tm tm;
    gmtime_r(&ts.tv_sec, &tm);
    char when[32];
    strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%S", &tm);
    char line[LOG_LINE_MAX];
    int n = snprintf(line, sizeof line, "%s.%03ldZ %s %s ", when, ts.tv_nsec / 1000000, names[level], event);
    va_list ap;
    va_start(ap, fmt);
    if (n > 0 && (size_t)n < sizeof line) vsnprintf(line + n, sizeof line - (size_t)n, fmt, ap);
    va_end(ap);
    char safe[2 * LOG_LINE_MAX];
    escape_controls(line, safe, sizeof safe);
    fprintf(stderr, "%s\n", safe);
}
