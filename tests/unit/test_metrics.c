/* /metrics in Prometheus text format, and the dashboard's recent list and series. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "web/metrics.h"

#define T0 1800000000000LL /* a bucket boundary */

static http_exchange_summary_t ex(const char *path, int status, double ttfb, double dur, const char *id) {
    return (http_exchange_summary_t){.method = "POST", .path = path, .request_id = id, .status = status,
                                     .ttfb_ms = ttfb, .duration_ms = dur};
}

static char *render(metrics_t *m, const engine_stats_t *st) {
    buf_t b;
    buf_init(&b, 0);
    assert_int_equal(metrics_render_prometheus(m, st, &b), 0);
    return b.data; /* caller frees */
}

/* The value of the sample line that starts with `series ` exactly; -1 if absent. */
static double sample(const char *text, const char *series) {
    size_t n = strlen(series);
    for (const char *p = text; p && *p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL)
        if (!strncmp(p, series, n) && p[n] == ' ') return strtod(p + n + 1, NULL);
    return -1;
}

/* Every line is a comment (# HELP / # TYPE) or `name{labels} value`, and every sample's family was typed. */
static void assert_valid_exposition(const char *text) {
    char typed[64][96];
    int ntyped = 0;
    for (const char *p = text; *p;) {
        const char *e = strchr(p, '\n');
        assert_non_null(e);
        char line[512];
        size_t n = (size_t)(e - p);
        assert_true(n < sizeof line);
        memcpy(line, p, n);
        line[n] = '\0';
        if (!strncmp(line, "# TYPE ", 7)) {
            char name[96], type[32];
            assert_int_equal(sscanf(line + 7, "%95s %31s", name, type), 2);
            assert_true(!strcmp(type, "counter") || !strcmp(type, "gauge") || !strcmp(type, "histogram"));
            strcpy(typed[ntyped++], name);
        } else if (strncmp(line, "# HELP ", 7) != 0) {
            char *sp = strrchr(line, ' ');
            assert_non_null(sp);
            char *end;
            strtod(sp + 1, &end);
            assert_true(*end == '\0');
            size_t name_len = strcspn(line, "{ ");
            int found = 0;
            for (int i = 0; i < ntyped; i++) {
                size_t tl = strlen(typed[i]);
                if (!strncmp(line, typed[i], tl) &&
                    (name_len == tl || !strcmp(line + tl, "") || !strncmp(line + tl, "_bucket", 7) ||
                     !strncmp(line + tl, "_sum", 4) || !strncmp(line + tl, "_count", 6)))
                    found = 1;
            }
            assert_true(found);
            if (line[name_len] == '{') assert_non_null(strchr(line, '}'));
        }
        p = e + 1;
    }
}

static void empty_store_renders_valid_text(void **state) {
    metrics_t *m = metrics_new();
    engine_stats_t st = {.cli_version = "2.1.197", .transport = "stdio", .is_cli_found = true};
    char *t = render(m, &st);
    assert_valid_exposition(t);
    assert_true(sample(t, "claude_ws_proxy_cli_spawns_total") == 0);
    assert_true(sample(t, "claude_ws_proxy_build_info{cli_version=\"2.1.197\",transport=\"stdio\"}") == 1);
    free(t);
    metrics_free(m);
}

static void requests_are_counted_by_endpoint_and_status(void **state) {
    metrics_t *m = metrics_new();
    http_exchange_summary_t a = ex("/v1/messages", 200, 3, 40, "r1"), b = ex("/v1/messages", 429, 1, 1, "r2"),
                            c = ex("/v1/chat/completions", 200, 2, 2, "r3"), d = ex("/nope/../x", 404, 0, 0, "r4");
    metrics_observe_exchange_at(m, &a, T0);
    metrics_observe_exchange_at(m, &a, T0);
    metrics_observe_exchange_at(m, &b, T0);
    metrics_observe_exchange_at(m, &c, T0);
    metrics_observe_exchange_at(m, &d, T0);
    char *t = render(m, NULL);
    assert_valid_exposition(t);
    assert_true(sample(t, "claude_ws_proxy_http_requests_total{endpoint=\"/v1/messages\",status=\"200\"}") == 2);
    assert_true(sample(t, "claude_ws_proxy_http_requests_total{endpoint=\"/v1/messages\",status=\"429\"}") == 1);
    assert_true(sample(t, "claude_ws_proxy_http_requests_total{endpoint=\"/v1/chat/completions\",status=\"200\"}") == 1);
    /* Unknown paths share one label: clients cannot grow the label space. */
    assert_true(sample(t, "claude_ws_proxy_http_requests_total{endpoint=\"other\",status=\"404\"}") == 1);
    assert_null(strstr(t, "/nope"));
    free(t);
    metrics_free(m);
}

static void histograms_are_cumulative_and_end_in_count(void **state) {
    metrics_t *m = metrics_new();
    double durations[] = {4, 30, 700, 400000}; /* 5 ms, 50 ms, 1 s, past the last bound */
    for (int i = 0; i < 4; i++) {
        http_exchange_summary_t s = ex("/v1/messages", 200, durations[i] / 2, durations[i], "x");
        metrics_observe_exchange_at(m, &s, T0);
    }
    char *t = render(m, NULL);
#define DUR(le) sample(t, "claude_ws_proxy_http_duration_seconds_bucket{endpoint=\"/v1/messages\",le=\"" le "\"}")
    assert_true(DUR("0.005") == 1);
    assert_true(DUR("0.05") == 2);
    assert_true(DUR("1") == 3);
    assert_true(DUR("300") == 3);
    assert_true(DUR("+Inf") == 4);
    assert_true(sample(t, "claude_ws_proxy_http_duration_seconds_count{endpoint=\"/v1/messages\"}") == 4);
    double sum = sample(t, "claude_ws_proxy_http_duration_seconds_sum{endpoint=\"/v1/messages\"}");
    assert_true(sum > 400.733 && sum < 400.735);
    assert_true(sample(t, "claude_ws_proxy_http_ttfb_seconds_bucket{endpoint=\"/v1/messages\",le=\"0.005\"}") == 1);
    free(t);
    metrics_free(m);
}

static void engine_counters_and_gauges(void **state) {
    metrics_t *m = metrics_new();
    metrics_count_spawn(m, 800);
    metrics_count_spawn(m, 2500);
    metrics_count_crash(m);
    metrics_count_interrupt(m);
    metrics_count_interrupt(m);
    metrics_count_rewind(m);
    metrics_count_tokens(m, 100, 20, 0.25);
    metrics_count_tokens(m, 5, 1, 0.5);
    engine_stats_t st = {.live = 3, .warm = 1, .busy = 2, .queued = 4, .transport = "websocket",
                         .cli_version = "2.1.\"x\"\n"};
    char *t = render(m, &st);
    assert_valid_exposition(t);
    assert_true(sample(t, "claude_ws_proxy_cli_spawns_total") == 2);
    assert_true(sample(t, "claude_ws_proxy_cli_spawn_seconds_bucket{le=\"1\"}") == 1);
    assert_true(sample(t, "claude_ws_proxy_cli_spawn_seconds_bucket{le=\"3\"}") == 2);
    assert_true(sample(t, "claude_ws_proxy_cli_spawn_seconds_count") == 2);
    assert_true(sample(t, "claude_ws_proxy_cli_crashes_total") == 1);
    assert_true(sample(t, "claude_ws_proxy_interrupts_total") == 2);
    assert_true(sample(t, "claude_ws_proxy_turns_rewound_total") == 1);
    assert_true(sample(t, "claude_ws_proxy_tokens_total{direction=\"input\"}") == 105);
    assert_true(sample(t, "claude_ws_proxy_tokens_total{direction=\"output\"}") == 21);
    assert_true(sample(t, "claude_ws_proxy_cost_usd_total") == 0.75);
    assert_true(sample(t, "claude_ws_proxy_sessions{state=\"live\"}") == 3);
    assert_true(sample(t, "claude_ws_proxy_sessions{state=\"busy\"}") == 2);
    assert_true(sample(t, "claude_ws_proxy_queue_length") == 4);
    /* A label value is escaped, not allowed to break the line. */
    assert_non_null(strstr(t, "cli_version=\"2.1.\\\"x\\\"\\n\""));
    free(t);
    metrics_free(m);
}

static void endpoint_labels_are_fixed(void **state) {
    assert_string_equal(metrics_endpoint_label("/v1/messages"), "/v1/messages");
    assert_string_equal(metrics_endpoint_label("/v1/models/claude-x"), "/v1/models");
    assert_string_equal(metrics_endpoint_label("/auth/code"), "/auth/code");
    assert_string_equal(metrics_endpoint_label("/"), "/");
    assert_string_equal(metrics_endpoint_label("/v1/messagesX"), "other");
    assert_string_equal(metrics_endpoint_label(NULL), "other");
}

static yyjson_doc *dashboard_json(metrics_t *m, int64_t now) {
    yyjson_mut_doc *doc = yyjson_mut_doc_new(NULL);
    yyjson_mut_val *root = yyjson_mut_obj(doc);
    yyjson_mut_doc_set_root(doc, root);
    metrics_add_dashboard_json(m, doc, root, now);
    yyjson_doc *out = yyjson_mut_doc_imut_copy(doc, NULL);
    yyjson_mut_doc_free(doc);
    return out;
}

static void recent_list_is_newest_first_with_models_and_skips_housekeeping(void **state) {
    metrics_t *m = metrics_new();
    metrics_note_model(m, "r1", "claude-sonnet-4-5");
    http_exchange_summary_t a = ex("/v1/messages", 200, 5, 50, "r1"), h = ex("/health", 200, 0, 0, "h"),
                            d = ex("/api/dashboard", 200, 0, 0, "d"), b = ex("/v1/models", 200, 1, 1, "r2");
    metrics_observe_exchange_at(m, &a, T0 + 1);
    metrics_observe_exchange_at(m, &h, T0 + 2);
    metrics_observe_exchange_at(m, &d, T0 + 3);
    metrics_observe_exchange_at(m, &b, T0 + 4);
    yyjson_doc *doc = dashboard_json(m, T0 + 5);
    yyjson_val *recent = yyjson_obj_get(yyjson_doc_get_root(doc), "recent");
    assert_int_equal(yyjson_arr_size(recent), 2);
    yyjson_val *first = yyjson_arr_get(recent, 0), *second = yyjson_arr_get(recent, 1);
    assert_string_equal(yyjson_get_str(yyjson_obj_get(first, "endpoint")), "/v1/models");
    assert_true(yyjson_is_null(yyjson_obj_get(first, "model")));
    assert_string_equal(yyjson_get_str(yyjson_obj_get(second, "model")), "claude-sonnet-4-5");
    assert_int_equal(yyjson_get_int(yyjson_obj_get(second, "status")), 200);
    assert_true(yyjson_get_real(yyjson_obj_get(second, "ttfbMs")) == 5);
    yyjson_val *totals = yyjson_obj_get(yyjson_doc_get_root(doc), "totals");
    assert_int_equal(yyjson_get_uint(yyjson_obj_get(totals, "requests")), 2);
    yyjson_doc_free(doc);
    metrics_free(m);
}

static void recent_list_is_bounded(void **state) {
    metrics_t *m = metrics_new();
    for (int i = 0; i < METRICS_RECENT_MAX * 3; i++) {
        char id[16];
        snprintf(id, sizeof id, "r%d", i);
        http_exchange_summary_t s = ex("/v1/messages", 200, 1, 1, id);
        metrics_observe_exchange_at(m, &s, T0 + i);
    }
    yyjson_doc *doc = dashboard_json(m, T0 + 1000);
    yyjson_val *recent = yyjson_obj_get(yyjson_doc_get_root(doc), "recent");
    assert_int_equal(yyjson_arr_size(recent), METRICS_RECENT_MAX);
    char want[16];
    snprintf(want, sizeof want, "r%d", METRICS_RECENT_MAX * 3 - 1);
    assert_string_equal(yyjson_get_str(yyjson_obj_get(yyjson_arr_get(recent, 0), "id")), want);
    yyjson_doc_free(doc);
    metrics_free(m);
}

static void series_buckets_by_ten_seconds_and_forgets_old_ones(void **state) {
    metrics_t *m = metrics_new();
    http_exchange_summary_t ok = ex("/v1/messages", 200, 10, 100, "a"), bad = ex("/v1/messages", 502, 0, 300, "b");
    /* One request in a bucket so old it must not show up again when its slot comes round. */
    metrics_observe_exchange_at(m, &ok, T0 - (int64_t)METRICS_BUCKETS * METRICS_BUCKET_MS);
    metrics_observe_exchange_at(m, &ok, T0 + 1000);
    metrics_observe_exchange_at(m, &bad, T0 + 2000);
    metrics_observe_exchange_at(m, &ok, T0 + METRICS_BUCKET_MS + 5);
    yyjson_doc *doc = dashboard_json(m, T0 + METRICS_BUCKET_MS + 10);
    yyjson_val *buckets = yyjson_obj_get(yyjson_obj_get(yyjson_doc_get_root(doc), "series"), "buckets");
    assert_int_equal(yyjson_arr_size(buckets), METRICS_BUCKETS);
    yyjson_val *prev = yyjson_arr_get(buckets, METRICS_BUCKETS - 2), *last = yyjson_arr_get(buckets, METRICS_BUCKETS - 1);
    assert_int_equal(yyjson_get_sint(yyjson_obj_get(prev, "t")), T0);
    assert_int_equal(yyjson_get_uint(yyjson_obj_get(prev, "requests")), 2);
    assert_int_equal(yyjson_get_uint(yyjson_obj_get(prev, "errors")), 1);
    assert_true(yyjson_get_real(yyjson_obj_get(prev, "avgMs")) == 200);
    assert_true(yyjson_get_real(yyjson_obj_get(prev, "maxMs")) == 300);
    assert_int_equal(yyjson_get_uint(yyjson_obj_get(last, "requests")), 1);
    uint64_t total = 0;
    size_t i, max;
    yyjson_val *b;
    yyjson_arr_foreach(buckets, i, max, b) total += yyjson_get_uint(yyjson_obj_get(b, "requests"));
    assert_int_equal(total, 3);
    yyjson_doc_free(doc);
    metrics_free(m);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(empty_store_renders_valid_text),
        cmocka_unit_test(requests_are_counted_by_endpoint_and_status),
        cmocka_unit_test(histograms_are_cumulative_and_end_in_count),
        cmocka_unit_test(engine_counters_and_gauges),
        cmocka_unit_test(endpoint_labels_are_fixed),
        cmocka_unit_test(recent_list_is_newest_first_with_models_and_skips_housekeeping),
        cmocka_unit_test(recent_list_is_bounded),
        cmocka_unit_test(series_buckets_by_ten_seconds_and_forgets_old_ones),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
