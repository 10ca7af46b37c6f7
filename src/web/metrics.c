/* Recording: what the HTTP observer and the engine report, into fixed-size counters and rings. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "util/clock.h"
#include "web/metrics_internal.h"

const char *const metrics_endpoint_names[EP_COUNT] = {
    [EP_MESSAGES] = "/v1/messages",
    [EP_COUNT_TOKENS] = "/v1/messages/count_tokens",
    [EP_CHAT] = "/v1/chat/completions",
    [EP_MODELS] = "/v1/models",
    [EP_HEALTH] = "/health",
    [EP_AUTH_STATUS] = "/auth/status",
    [EP_AUTH_LOGIN] = "/auth/login",
    [EP_AUTH_CODE] = "/auth/code",
    [EP_AUTH_LOGOUT] = "/auth/logout",
    [EP_DASHBOARD] = "/",
    [EP_DASHBOARD_API] = "/api/dashboard",
    [EP_METRICS] = "/metrics",
    [EP_OTHER] = "other",
};

/* 5 ms .. 5 min: fast count_tokens answers up to long agent turns. */
const double metrics_latency_bounds[METRICS_LATENCY_BOUNDS] = {0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1,
                                                               2.5,   5,    10,    30,   60,  120,  300};
const double metrics_spawn_bounds[METRICS_SPAWN_BOUNDS] = {0.1, 0.25, 0.5, 1, 2, 3, 5, 10, 20, 30, 60};

metrics_t *metrics_new(void) { return calloc(1, sizeof(metrics_t)); }

void metrics_free(metrics_t *m) { free(m); }

int64_t metrics_now_ms(void) { return clock_wall_ms(); }

metrics_endpoint_t metrics_classify_path(const char *path) {
    if (!path) return EP_OTHER;
    for (int ep = 0; ep < EP_OTHER; ep++)
        if (!strcmp(path, metrics_endpoint_names[ep])) return (metrics_endpoint_t)ep;
    if (!strncmp(path, "/v1/models/", 11)) return EP_MODELS;
    return EP_OTHER;
}

const char *metrics_endpoint_label(const char *path) { return metrics_endpoint_names[metrics_classify_path(path)]; }

bool metrics_is_housekeeping(metrics_endpoint_t ep) {
    return ep == EP_HEALTH || ep == EP_DASHBOARD || ep == EP_DASHBOARD_API || ep == EP_METRICS;
}

static void copy_str(char *dst, size_t cap, const char *src) {
    size_t n = src ? strnlen(src, cap - 1) : 0;
    if (n) memcpy(dst, src, n);
    dst[n] = '\0';
}

static void hist_add(uint64_t *buckets, const double *bounds, int n, double seconds) {
    for (int i = 0; i < n; i++) {
        if (seconds <= bounds[i]) {
            buckets[i]++;
            return;
        }
    }
}

static void latency_add(latency_hist_t *h, double ms) {
    if (ms < 0) ms = 0;
    hist_add(h->buckets, metrics_latency_bounds, METRICS_LATENCY_BOUNDS, ms / 1000.0);
    h->count++;
    h->sum_s += ms / 1000.0;
}

/* The model noted for this request, removed from the pending table; "" if none. */
static void take_model(metrics_t *m, const char *request_id, char *out, size_t cap) {
    out[0] = '\0';
    if (!request_id || !*request_id) return;
    for (size_t i = 0; i < METRICS_PENDING_MODELS; i++) {
        pending_model_t *p = &m->pending[i];
        if (p->request_id[0] && !strcmp(p->request_id, request_id)) {
            copy_str(out, cap, p->model);
            p->request_id[0] = '\0';
            return;
        }
    }
}

static void add_to_series(metrics_t *m, int64_t now_ms, const http_exchange_summary_t *s) {
    int64_t start = now_ms - now_ms % METRICS_BUCKET_MS;
    series_bucket_t *b = &m->series[(size_t)(start / METRICS_BUCKET_MS) % METRICS_BUCKETS];
    if (b->start_ms != start) *b = (series_bucket_t){.start_ms = start};
    b->requests++;
    if (s->status >= 500 || s->aborted) b->errors++;
    b->duration_sum_ms += s->duration_ms;
    if (s->duration_ms > b->duration_max_ms) b->duration_max_ms = s->duration_ms;
    b->ttfb_sum_ms += s->ttfb_ms;
}

static void add_to_recent(metrics_t *m, int64_t now_ms, const http_exchange_summary_t *s) {
    recent_request_t *r = &m->recent[m->recent_next];
    *r = (recent_request_t){.time_ms = now_ms, .status = s->status, .ttfb_ms = s->ttfb_ms,
                            .duration_ms = s->duration_ms, .aborted = s->aborted};
    copy_str(r->request_id, sizeof r->request_id, s->request_id);
    copy_str(r->method, sizeof r->method, s->method);
    copy_str(r->path, sizeof r->path, s->path);
    take_model(m, s->request_id, r->model, sizeof r->model);
    m->recent_next = (m->recent_next + 1) % METRICS_RECENT_MAX;
    if (m->recent_count < METRICS_RECENT_MAX) m->recent_count++;
}

void metrics_observe_exchange_at(metrics_t *m, const http_exchange_summary_t *s, int64_t now_ms) {
    if (!m || !s) return;
    metrics_endpoint_t ep = metrics_classify_path(s->path);
    int slot = s->status >= 100 && s->status < METRICS_STATUS_SLOTS ? s->status : 0;
    m->requests[ep][slot]++;
    if (s->aborted) m->aborted[ep]++;
    latency_add(&m->ttfb[ep], s->ttfb_ms);
    latency_add(&m->duration[ep], s->duration_ms);
    if (metrics_is_housekeeping(ep)) return;
    add_to_recent(m, now_ms, s);
    add_to_series(m, now_ms, s);
}

void metrics_observe_exchange(const http_exchange_summary_t *summary, void *metrics) {
    metrics_observe_exchange_at(metrics, summary, metrics_now_ms());
}

void metrics_count_spawn(metrics_t *m, double spawn_ms) {
    if (!m) return;
    double s = spawn_ms < 0 ? 0 : spawn_ms / 1000.0;
    m->spawns++;
    hist_add(m->spawn_buckets, metrics_spawn_bounds, METRICS_SPAWN_BOUNDS, s);
    m->spawn_sum_s += s;
}

void metrics_count_crash(metrics_t *m) {
    if (m) m->crashes++;
}

void metrics_count_interrupt(metrics_t *m) {
    if (m) m->interrupts++;
}

void metrics_count_rewind(metrics_t *m) {
    if (m) m->rewinds++;
}

void metrics_count_tokens(metrics_t *m, int64_t input_tokens, int64_t output_tokens, double cost_usd) {
    if (!m) return;
    if (input_tokens > 0) m->input_tokens += input_tokens;
    if (output_tokens > 0) m->output_tokens += output_tokens;
    if (cost_usd > 0) m->cost_usd += cost_usd;
}

static void observe_spawn(void *m, double spawn_ms) { metrics_count_spawn(m, spawn_ms); }
static void observe_crash(void *m) { metrics_count_crash(m); }
static void observe_interrupt(void *m) { metrics_count_interrupt(m); }
static void observe_rewind(void *m) { metrics_count_rewind(m); }
static void observe_tokens(void *m, int64_t in, int64_t out, double cost) { metrics_count_tokens(m, in, out, cost); }

engine_observer_t metrics_engine_observer(metrics_t *m) {
    return (engine_observer_t){.on_spawn = observe_spawn, .on_crash = observe_crash,
                               .on_interrupt = observe_interrupt, .on_rewind = observe_rewind,
                               .on_tokens = observe_tokens, .arg = m};
}

void metrics_note_model(metrics_t *m, const char *request_id, const char *model) {
    if (!m || !request_id || !*request_id || !model) return;
    /* A request that never finishes leaves its entry behind; the ring overwrites it eventually. */
    pending_model_t *p = &m->pending[m->pending_next];
    copy_str(p->request_id, sizeof p->request_id, request_id);
    copy_str(p->model, sizeof p->model, model);
    m->pending_next = (m->pending_next + 1) % METRICS_PENDING_MODELS;
}
