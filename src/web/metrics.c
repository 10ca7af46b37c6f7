/* STUB: replaced by the metrics module. */
#include "web/metrics.h"

#include <stdlib.h>

struct metrics_s {
    int unused;
};

metrics_t *metrics_new(void) { return calloc(1, sizeof(metrics_t)); }
void metrics_free(metrics_t *m) { free(m); }
void metrics_observe_exchange(const http_exchange_summary_t *summary, void *metrics) { (void)summary; (void)metrics; }
void metrics_count_spawn(metrics_t *m, double spawn_ms) { (void)m; (void)spawn_ms; }
void metrics_count_crash(metrics_t *m) { (void)m; }
void metrics_count_interrupt(metrics_t *m) { (void)m; }
void metrics_count_tokens(metrics_t *m, int64_t in, int64_t out, double cost) { (void)m; (void)in; (void)out; (void)cost; }
void metrics_note_model(metrics_t *m, const char *request_id, const char *model) { (void)m; (void)request_id; (void)model; }
