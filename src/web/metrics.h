/* Counters and histograms behind /metrics (Prometheus text) and the dashboard. */
#ifndef CWP_WEB_METRICS_H
#define CWP_WEB_METRICS_H
#include <stdint.h>

#include "http/server.h"
#include "util/buf.h"

typedef struct metrics_s metrics_t;

metrics_t *metrics_new(void);
void metrics_free(metrics_t *m);

/* HTTP side: one call per finished exchange (an http_observer_fn). */
void metrics_observe_exchange(const http_exchange_summary_t *summary, void *metrics);
/* Engine side. */
void metrics_count_spawn(metrics_t *m, double spawn_ms);
void metrics_count_crash(metrics_t *m);
void metrics_count_interrupt(metrics_t *m);
void metrics_count_tokens(metrics_t *m, int64_t input_tokens, int64_t output_tokens, double cost_usd);
/* Model of a request, for the recent-requests list (call before the exchange finishes). */
void metrics_note_model(metrics_t *m, const char *request_id, const char *model);

#endif
