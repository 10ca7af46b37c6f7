/* One log line per event: "<time> <level> <event> key=value ...", to stderr. */
#ifndef CWP_UTIL_LOG_H
#define CWP_UTIL_LOG_H

typedef enum { LOG_DEBUG, LOG_INFO, LOG_WARN, LOG_ERROR } log_level_t;

struct timespec;

void log_set_level(log_level_t level);
/* Where the time of each line comes from: clock_gettime(CLOCK_REALTIME) unless a test gives its own
 * (NULL: back to it). The flood limit counts lines per second of this clock. */
void log_set_clock(void (*now)(struct timespec *out));
/* fmt holds the key=value pairs; values with spaces should be quoted by the caller (%s="..."). */
void log_event(log_level_t level, const char *event, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#define log_debug(ev, ...) log_event(LOG_DEBUG, ev, __VA_ARGS__)
#define log_info(ev, ...) log_event(LOG_INFO, ev, __VA_ARGS__)
#define log_warn(ev, ...) log_event(LOG_WARN, ev, __VA_ARGS__)
#define log_error(ev, ...) log_event(LOG_ERROR, ev, __VA_ARGS__)

#endif
