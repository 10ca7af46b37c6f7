#include "util/log.h"

#include <stdarg.h>
#include <stdio.h>
#include <time.h>

static log_level_t min_level = LOG_INFO;

void log_set_level(log_level_t level) { min_level = level; }

void log_event(log_level_t level, const char *event, const char *fmt, ...) {
    static const char *names[] = {"debug", "info", "warn", "error"};
    if (level < min_level) return;
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    struct tm tm;
    gmtime_r(&ts.tv_sec, &tm);
    char when[32];
    strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%S", &tm);
    char line[2048];
    int n = snprintf(line, sizeof line, "%s.%03ldZ %s %s ", when, ts.tv_nsec / 1000000, names[level], event);
    va_list ap;
    va_start(ap, fmt);
    if (n > 0 && (size_t)n < sizeof line) vsnprintf(line + n, sizeof line - (size_t)n, fmt, ap);
    va_end(ap);
    fprintf(stderr, "%s\n", line);
}
