/* Counters and histograms behind /metrics (Prometheus text) and the dashboard. */
#ifndef CWP_WEB_METRICS_H
#define CWP_WEB_METRICS_H
#include <stdint.h>
#include <yyjson.h>

#include "engine/engine.h"
#include "http/server.h"
#include "util/buf.h"

typedef struct metrics_s metrics_t;

metrics_t *metrics_new(void);
void metrics_free(metrics_t *m);

/* HTTP side: one call per finished exchange (an http_observer_fn). */
void metrics_observe_exchange(const http_exchange_summary_t *summary, void *metrics);
/* Engine side: the counters below, as the engine's observer hooks (arg = m). */
engine_observer_t metrics_engine_observer(metrics_t *m);
void metrics_count_spawn(metrics_t *m, double spawn_ms);
void metrics_count_crash(metrics_t *m);
void metrics_count_interrupt(metrics_t *m);
void metrics_count_rewind(metrics_t *m);
void metrics_count_tokens(metrics_t *m, int64_t input_tokens, int64_t output_tokens, double cost_usd);
/* Model of a request, for the recent-requests list (call before the exchange finishes). */
void metrics_note_model(metrics_t *m, const char *request_id, const char *model);

/* ---- reading (additive to the contract above) ---- */

/* Recent requests and the per-bucket series: this many of each are kept. */
#define METRICS_RECENT_MAX 100
#define METRICS_BUCKET_MS 10000
#define METRICS_BUCKETS 60 /* ten minutes of 10 s buckets */

/* As metrics_observe_exchange, at a given wall-clock time (ms since the epoch); for tests. */
void metrics_observe_exchange_at(metrics_t *m, const http_exchange_summary_t *summary, int64_t now_ms);
/* The fixed endpoint label a path is counted under ("/v1/messages", ..., "other"). */
const char *metrics_endpoint_label(const char *path);
/* The Prometheus text exposition (format 0.0.4) into out; stats (may be NULL) gives the session gauges.
 * Returns 0 or a negative errno from the buffer. */
int metrics_render_prometheus(const metrics_t *m, const engine_stats_t *stats, buf_t *out);
/* The per-account families (requests, tokens, cost, failovers, limited time, sessions), labelled by
 * account, appended to out. Returns 0 or a negative errno from the buffer. */
int metrics_render_accounts(const engine_account_info_t *accounts, size_t n, buf_t *out);
/* Adds "totals", "recent" (newest first) and "series" (oldest first, METRICS_BUCKETS entries ending at
 * the bucket holding now_ms) to obj, for the dashboard. */
void metrics_add_dashboard_json(const metrics_t *m, yyjson_mut_doc *doc, yyjson_mut_val *obj, int64_t now_ms);
/* Wall-clock milliseconds since the epoch. */
int64_t metrics_now_ms(void);

#endif
