/* The Prometheus text exposition format (0.0.4) of the metrics store. */
#include <stdio.h>
#include <string.h>

#include "web/metrics_internal.h"

#define PREFIX "claude_ws_proxy_"

/* Label values need \\, \" and \n escaped; the CLI version is the only one not chosen by us. */
static int append_label_value(buf_t *out, const char *v) {
    int rc = 0;
    for (const char *p = v ? v : ""; *p && rc == 0; p++) {
        if (*p == '\\') rc = buf_append_str(out, "\\\\");
        else if (*p == '"') rc = buf_append_str(out, "\\\"");
        else if (*p == '\n') rc = buf_append_str(out, "\\n");
        else rc = buf_append(out, p, 1);
    }
    return rc;
}

static int header(buf_t *out, const char *name, const char *type, const char *help) {
    return buf_appendf(out, "# HELP " PREFIX "%s %s\n# TYPE " PREFIX "%s %s\n", name, help, name, type);
}

/* Twelve significant digits: exact for any count below 10^12, and no float noise in sums. */
static int append_number(buf_t *out, double v) { return buf_appendf(out, "%.12g", v); }

static int render_histogram(buf_t *out, const char *name, const char *labels, const uint64_t *buckets,
                            const double *bounds, int n, uint64_t count, double sum) {
    const char *sep = labels[0] ? "," : "";
    uint64_t cumulative = 0;
    int rc = 0;
    for (int i = 0; i < n && rc == 0; i++) {
        cumulative += buckets[i];
        rc = buf_appendf(out, PREFIX "%s_bucket{%s%sle=\"%g\"} %llu\n", name, labels, sep, bounds[i],
                         (unsigned long long)cumulative);
    }
    if (rc == 0)
        rc = buf_appendf(out, PREFIX "%s_bucket{%s%sle=\"+Inf\"} %llu\n", name, labels, sep,
                         (unsigned long long)count);
    if (rc == 0) rc = buf_appendf(out, PREFIX "%s_sum%s%s%s ", name, labels[0] ? "{" : "", labels, labels[0] ? "}" : "");
    if (rc == 0) rc = append_number(out, sum);
    if (rc == 0) rc = buf_appendf(out, "\n" PREFIX "%s_count%s%s%s %llu\n", name, labels[0] ? "{" : "", labels,
                                  labels[0] ? "}" : "", (unsigned long long)count);
    return rc;
}

static int render_requests(const metrics_t *m, buf_t *out) {
    int rc = header(out, "http_requests_total", "counter", "HTTP requests answered, by endpoint and status.");
    for (int ep = 0; ep < EP_COUNT && rc == 0; ep++)
        for (int st = 0; st < METRICS_STATUS_SLOTS && rc == 0; st++)
            if (m->requests[ep][st])
                rc = buf_appendf(out, PREFIX "http_requests_total{endpoint=\"%s\",status=\"%d\"} %llu\n",
                                 metrics_endpoint_names[ep], st, (unsigned long long)m->requests[ep][st]);
    if (rc == 0)
        rc = header(out, "http_requests_aborted_total", "counter", "HTTP requests whose client went away first.");
    for (int ep = 0; ep < EP_COUNT && rc == 0; ep++)
        if (m->aborted[ep])
            rc = buf_appendf(out, PREFIX "http_requests_aborted_total{endpoint=\"%s\"} %llu\n",
                             metrics_endpoint_names[ep], (unsigned long long)m->aborted[ep]);
    return rc;
}

static int render_latency(buf_t *out, const char *name, const char *help, const latency_hist_t *h) {
    int rc = header(out, name, "histogram", help);
    for (int ep = 0; ep < EP_COUNT && rc == 0; ep++) {
        if (!h[ep].count) continue;
        char labels[96];
        snprintf(labels, sizeof labels, "endpoint=\"%s\"", metrics_endpoint_names[ep]);
        rc = render_histogram(out, name, labels, h[ep].buckets, metrics_latency_bounds, METRICS_LATENCY_BOUNDS,
                              h[ep].count, h[ep].sum_s);
    }
    return rc;
}

static int gauge(buf_t *out, const char *name, const char *help, double v) {
    int rc = header(out, name, "gauge", help);
    if (rc == 0) rc = buf_appendf(out, PREFIX "%s ", name);
    if (rc == 0) rc = append_number(out, v);
    return rc ? rc : buf_append_str(out, "\n");
}

static int counter(buf_t *out, const char *name, const char *help, double v) {
    int rc = header(out, name, "counter", help);
    if (rc == 0) rc = buf_appendf(out, PREFIX "%s ", name);
    if (rc == 0) rc = append_number(out, v);
    return rc ? rc : buf_append_str(out, "\n");
}

static int render_engine(const engine_stats_t *s, buf_t *out) {
    int rc = header(out, "sessions", "gauge", "CLI processes by state.");
    const struct {
        const char *state;
        int n;
    } states[] = {{"live", s->live}, {"warm", s->warm}, {"busy", s->busy}, {"waiting", s->waiting}, {"idle", s->idle}};
    for (size_t i = 0; i < sizeof states / sizeof states[0] && rc == 0; i++)
        rc = buf_appendf(out, PREFIX "sessions{state=\"%s\"} %d\n", states[i].state, states[i].n);
    if (rc == 0) rc = gauge(out, "queue_length", "Requests waiting for a CLI process.", s->queued);
    if (rc == 0) rc = gauge(out, "cli_found", "1 when the Claude Code CLI could be run.", s->is_cli_found ? 1 : 0);
    if (rc == 0) rc = header(out, "build_info", "gauge", "Proxy build, CLI version and transport in use.");
    if (rc == 0) rc = buf_append_str(out, PREFIX "build_info{cli_version=\"");
    if (rc == 0) rc = append_label_value(out, s->cli_version ? s->cli_version : "");
    if (rc == 0) rc = buf_append_str(out, "\",transport=\"");
    if (rc == 0) rc = append_label_value(out, s->transport ? s->transport : "");
    if (rc == 0) rc = buf_append_str(out, "\"} 1\n");
    return rc;
}

int metrics_render_prometheus(const metrics_t *m, const engine_stats_t *stats, buf_t *out) {
    int rc = render_requests(m, out);
    if (rc == 0)
        rc = render_latency(out, "http_ttfb_seconds", "Time until the first response byte was sent.", m->ttfb);
    if (rc == 0)
        rc = render_latency(out, "http_duration_seconds", "Time until the response was complete.", m->duration);
    if (rc == 0 && stats) rc = render_engine(stats, out);
    if (rc == 0) rc = header(out, "cli_spawn_seconds", "histogram", "Time from spawning a CLI process until it was ready.");
    if (rc == 0)
        rc = render_histogram(out, "cli_spawn_seconds", "", m->spawn_buckets, metrics_spawn_bounds,
                              METRICS_SPAWN_BOUNDS, m->spawns, m->spawn_sum_s);
    if (rc == 0) rc = counter(out, "cli_spawns_total", "CLI processes started.", (double)m->spawns);
    if (rc == 0) rc = counter(out, "cli_crashes_total", "CLI processes that died or misbehaved mid-turn.", (double)m->crashes);
    if (rc == 0) rc = counter(out, "interrupts_total", "Turns interrupted because the client went away.", (double)m->interrupts);
    if (rc == 0)
        rc = counter(out, "turns_rewound_total", "Interrupted or refused turns the CLI took back, keeping its process.",
                     (double)m->rewinds);
    if (rc == 0) rc = header(out, "tokens_total", "counter", "Tokens reported by the CLI.");
    if (rc == 0)
        rc = buf_appendf(out, PREFIX "tokens_total{direction=\"input\"} %lld\n" PREFIX
                              "tokens_total{direction=\"output\"} %lld\n",
                         (long long)m->input_tokens, (long long)m->output_tokens);
    if (rc == 0) rc = counter(out, "cost_usd_total", "Cost the CLI reported, in US dollars.", m->cost_usd);
    return rc;
}

/* One family per figure, a sample per account (names are plain: see config_accounts.c). */
int metrics_render_accounts(const engine_account_info_t *accounts, size_t n, buf_t *out) {
    static const struct {
        const char *name, *type, *help;
    } families[] = {
        {"account_requests_total", "counter", "Turns run on each account."},
        {"account_input_tokens_total", "counter", "Input tokens the CLI reported, by account."},
        {"account_output_tokens_total", "counter", "Output tokens the CLI reported, by account."},
        {"account_cost_usd_total", "counter", "Cost the CLI reported (USD), by account."},
        {"account_failovers_total", "counter", "Turns moved to another account before the first byte."},
        {"account_limited_seconds_total", "counter", "Time each account spent resting after a limit."},
        {"account_limited", "gauge", "1 while the account rests after a limit."},
        {"account_sessions", "gauge", "Live CLI processes of each account."},
    };
    int rc = 0;
    for (size_t f = 0; f < sizeof families / sizeof families[0] && rc == 0 && n; f++) {
        rc = header(out, families[f].name, families[f].type, families[f].help);
        for (size_t i = 0; i < n && rc == 0; i++) {
            const engine_account_info_t *a = &accounts[i];
            double v[] = {(double)a->requests, (double)a->input_tokens, (double)a->output_tokens, a->cost_usd,
                          (double)a->failovers, (double)a->limited_ms_total / 1000.0, a->is_limited ? 1 : 0,
                          a->live_sessions};
            rc = buf_appendf(out, PREFIX "%s{account=\"", families[f].name);
            if (rc == 0) rc = append_label_value(out, a->name);
            if (rc == 0) rc = buf_append_str(out, "\"} ");
            if (rc == 0) rc = append_number(out, v[f]);
            if (rc == 0) rc = buf_append_str(out, "\n");
        }
    }
    return rc;
}
