/* The dashboard's view of the metrics store: totals, recent requests, per-bucket series. */
#include "web/metrics_internal.h"

static void add_totals(const metrics_t *m, yyjson_mut_doc *doc, yyjson_mut_val *obj) {
    uint64_t requests = 0, errors = 0;
    for (int ep = 0; ep < EP_COUNT; ep++) {
        if (metrics_is_housekeeping((metrics_endpoint_t)ep)) continue;
        for (int st = 0; st < METRICS_STATUS_SLOTS; st++) {
            requests += m->requests[ep][st];
            if (st >= 500) errors += m->requests[ep][st];
        }
    }
    yyjson_mut_val *t = yyjson_mut_obj_add_obj(doc, obj, "totals");
    yyjson_mut_obj_add_uint(doc, t, "requests", requests);
    yyjson_mut_obj_add_uint(doc, t, "errors", errors);
    yyjson_mut_obj_add_uint(doc, t, "spawns", m->spawns);
    yyjson_mut_obj_add_real(doc, t, "spawnAvgMs", m->spawns ? m->spawn_sum_s * 1000.0 / (double)m->spawns : 0);
    yyjson_mut_obj_add_uint(doc, t, "crashes", m->crashes);
    yyjson_mut_obj_add_uint(doc, t, "interrupts", m->interrupts);
    yyjson_mut_obj_add_uint(doc, t, "rewinds", m->rewinds);
    yyjson_mut_obj_add_int(doc, t, "inputTokens", m->input_tokens);
    yyjson_mut_obj_add_int(doc, t, "outputTokens", m->output_tokens);
    yyjson_mut_obj_add_real(doc, t, "costUsd", m->cost_usd);
}

static void add_recent(const metrics_t *m, yyjson_mut_doc *doc, yyjson_mut_val *obj) {
    yyjson_mut_val *arr = yyjson_mut_obj_add_arr(doc, obj, "recent");
    for (size_t i = 0; i < m->recent_count; i++) {
        const recent_request_t *r = &m->recent[(m->recent_next + METRICS_RECENT_MAX - 1 - i) % METRICS_RECENT_MAX];
        yyjson_mut_val *o = yyjson_mut_arr_add_obj(doc, arr);
        yyjson_mut_obj_add_int(doc, o, "time", r->time_ms);
        yyjson_mut_obj_add_strcpy(doc, o, "id", r->request_id);
        yyjson_mut_obj_add_strcpy(doc, o, "method", r->method);
        yyjson_mut_obj_add_strcpy(doc, o, "endpoint", r->path);
        if (r->model[0]) yyjson_mut_obj_add_strcpy(doc, o, "model", r->model);
        else yyjson_mut_obj_add_null(doc, o, "model");
        yyjson_mut_obj_add_int(doc, o, "status", r->status);
        yyjson_mut_obj_add_real(doc, o, "ttfbMs", r->ttfb_ms);
        yyjson_mut_obj_add_real(doc, o, "durationMs", r->duration_ms);
        yyjson_mut_obj_add_bool(doc, o, "aborted", r->aborted);
    }
}

static void add_series(const metrics_t *m, yyjson_mut_doc *doc, yyjson_mut_val *obj, int64_t now_ms) {
    yyjson_mut_val *s = yyjson_mut_obj_add_obj(doc, obj, "series");
    yyjson_mut_obj_add_int(doc, s, "bucketMs", METRICS_BUCKET_MS);
    yyjson_mut_val *arr = yyjson_mut_obj_add_arr(doc, s, "buckets");
    int64_t newest = now_ms - now_ms % METRICS_BUCKET_MS;
    for (int i = METRICS_BUCKETS - 1; i >= 0; i--) {
        int64_t start = newest - (int64_t)i * METRICS_BUCKET_MS;
        const series_bucket_t *b = &m->series[(size_t)(start / METRICS_BUCKET_MS) % METRICS_BUCKETS];
        bool is_current = b->start_ms == start;
        uint32_t n = is_current ? b->requests : 0;
        yyjson_mut_val *o = yyjson_mut_arr_add_obj(doc, arr);
        yyjson_mut_obj_add_int(doc, o, "t", start);
        yyjson_mut_obj_add_uint(doc, o, "requests", n);
        yyjson_mut_obj_add_uint(doc, o, "errors", is_current ? b->errors : 0);
        if (n) {
            yyjson_mut_obj_add_real(doc, o, "avgMs", b->duration_sum_ms / n);
            yyjson_mut_obj_add_real(doc, o, "maxMs", b->duration_max_ms);
            yyjson_mut_obj_add_real(doc, o, "avgTtfbMs", b->ttfb_sum_ms / n);
        } else {
            yyjson_mut_obj_add_null(doc, o, "avgMs");
            yyjson_mut_obj_add_null(doc, o, "maxMs");
            yyjson_mut_obj_add_null(doc, o, "avgTtfbMs");
        }
    }
}

void metrics_add_dashboard_json(const metrics_t *m, yyjson_mut_doc *doc, yyjson_mut_val *obj, int64_t now_ms) {
    add_totals(m, doc, obj);
    add_recent(m, doc, obj);
    add_series(m, doc, obj, now_ms);
}
