#include "util/log.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#define LOG_LINE_MAX 2048
/* A flood (thousands of 429s a second) must not become megabytes of log: past this many lines of one
 * event in one second the rest are counted, and one line says how many were left out. Errors always pass. */
#define LOG_BURST_PER_S 200
#define LOG_BURST_SLOTS 64

static log_level_t min_level = LOG_INFO;

typedef struct {
    const char *event; /* a literal: compared by address first, then by text */
    time_t second;
    unsigned lines, dropped;
} burst_t;

static burst_t bursts[LOG_BURST_SLOTS];

static void real_clock(struct timespec *out) { clock_gettime(CLOCK_REALTIME, out); }
static void (*clock_now)(struct timespec *out) = real_clock;

void log_set_level(log_level_t level) { min_level = level; }
void log_set_clock(void (*now)(struct timespec *out)) { clock_now = now ? now : real_clock; }

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

static void log_line(const char *line) {
    char safe[2 * LOG_LINE_MAX];
    escape_controls(line, safe, sizeof safe);
    fprintf(stderr, "%s\n", safe);
}

/* False when this line is over its event's budget for the current second. */
static bool within_burst(const char *event, const struct timespec *now, const char *when, long ms) {
    burst_t *b = NULL, *oldest = &bursts[0];
    for (size_t i = 0; i < LOG_BURST_SLOTS && !b; i++) {
        if (bursts[i].event && (bursts[i].event == event || !strcmp(bursts[i].event, event))) b = &bursts[i];
        else if (bursts[i].second < oldest->second) oldest = &bursts[i];
    }
    if (!b) {
        b = oldest; /* a slot held by the quietest event; its unreported drops are lost, not its lines */
        *b = (burst_t){.event = event, .second = now->tv_sec};
    }
    if (b->second != now->tv_sec) {
        if (b->dropped) {
            char note[256];
            snprintf(note, sizeof note, "%s.%03ldZ warn log.suppressed event=%s lines=%u", when, ms, event, b->dropped);
            log_line(note);
        }
        b->second = now->tv_sec;
        b->lines = b->dropped = 0;
    }
    if (b->lines < LOG_BURST_PER_S) {
        b->lines++;
        return true;
    }
    b->dropped++;
    return false;
}

void log_event(log_level_t level, const char *event, const char *fmt, ...) {
    static const char *names[] = {"debug", "info", "warn", "error"};
    if (level < min_level) return;
    struct timespec ts;
    clock_now(&ts);
    struct tm tm;
    gmtime_r(&ts.tv_sec, &tm);
    char when[32];
    strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%S", &tm);
    if (level < LOG_ERROR && !within_burst(event, &ts, when, ts.tv_nsec / 1000000)) return;
    char line[LOG_LINE_MAX];
    int n = snprintf(line, sizeof line, "%s.%03ldZ %s %s ", when, ts.tv_nsec / 1000000, names[level], event);
    va_list ap;
    va_start(ap, fmt);
    if (n > 0 && (size_t)n < sizeof line) vsnprintf(line + n, sizeof line - (size_t)n, fmt, ap);
    va_end(ap);
    log_line(line);
}
