/* Wall-clock time, for what is shown to people (timestamps, deadlines on the dashboard). Durations and
 * timeouts use the loop's monotonic clock (uv_now) instead. */
#ifndef CWP_UTIL_CLOCK_H
#define CWP_UTIL_CLOCK_H
#include <stdint.h>
#include <time.h>

/* Milliseconds since the epoch. */
static inline int64_t clock_wall_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

#endif
