/* The metrics store, shared by the recording side (metrics.c) and the two readers (Prometheus, JSON). */
#ifndef CWP_WEB_METRICS_INTERNAL_H
#define CWP_WEB_METRICS_INTERNAL_H
#include <stdbool.h>
#include <stdint.h>

#include "web/metrics.h"

/* Paths are counted under a fixed set of labels so that no client can grow the label space. */
typedef enum {
    EP_MESSAGES,
    EP_COUNT_TOKENS,
    EP_CHAT,
    EP_MODELS,
    EP_HEALTH,
    EP_AUTH_STATUS,
    EP_AUTH_LOGIN,
    EP_AUTH_CODE,
    EP_AUTH_LOGOUT,
    EP_DASHBOARD,
    EP_DASHBOARD_API,
    EP_METRICS,
    EP_OTHER,
    EP_COUNT
} metrics_endpoint_t;

extern const char *const metrics_endpoint_names[EP_COUNT];

/* Status codes 100..599 each get a slot; anything else (0: no response) lands in slot 0. */
#define METRICS_STATUS_SLOTS 600

/* Upper bounds in seconds; the +Inf bucket is implicit (count). */
#define METRICS_LATENCY_BOUNDS 15
#define METRICS_SPAWN_BOUNDS 11
extern const double metrics_latency_bounds[METRICS_LATENCY_BOUNDS];
extern const double metrics_spawn_bounds[METRICS_SPAWN_BOUNDS];

typedef struct {
    uint64_t buckets[METRICS_LATENCY_BOUNDS]; /* not cumulative; the renderer sums */
    uint64_t count;
    double sum_s;
} latency_hist_t;

typedef struct {
    int64_t time_ms;
    char request_id[48];
    char method[8];
    char path[96];
    char model[64];
    int status;
    double ttfb_ms;
    double duration_ms;
    bool aborted;
} recent_request_t;

typedef struct {
    int64_t start_ms; /* bucket start; 0 = never used */
    uint32_t requests;
    uint32_t errors; /* status >= 500, or aborted */
    double duration_sum_ms;
    double duration_max_ms;
    double ttfb_sum_ms;
} series_bucket_t;

typedef struct {
    char request_id[48];
    char model[64];
} pending_model_t;

#define METRICS_PENDING_MODELS 64

struct metrics_s {
    uint64_t requests[EP_COUNT][METRICS_STATUS_SLOTS];
    uint64_t aborted[EP_COUNT];
    latency_hist_t ttfb[EP_COUNT];
    latency_hist_t duration[EP_COUNT];

    uint64_t spawns;
    uint64_t spawn_buckets[METRICS_SPAWN_BOUNDS];
    double spawn_sum_s;
    uint64_t crashes;
    uint64_t interrupts;
    uint64_t rewinds; /* turns taken back (rewind_conversation): processes kept */
    int64_t input_tokens;
    int64_t output_tokens;
    double cost_usd;

    recent_request_t recent[METRICS_RECENT_MAX]; /* ring; recent_next is the slot written next */
    size_t recent_next;
    size_t recent_count;
    series_bucket_t series[METRICS_BUCKETS]; /* indexed by (start_ms / bucket) % METRICS_BUCKETS */
    pending_model_t pending[METRICS_PENDING_MODELS];
    size_t pending_next;
};

/* Endpoints the dashboard itself and health checkers hit all the time: counted, but kept out of the
 * recent list and the charts so they do not drown the traffic an operator cares about. */
bool metrics_is_housekeeping(metrics_endpoint_t ep);
metrics_endpoint_t metrics_classify_path(const char *path);

#endif
