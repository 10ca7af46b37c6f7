/* The models /v1/models lists, and modelAliases: defaults, parsing, RFC 3339 dates. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "config_internal.h"

/* The current Claude models, newest first (the order /v1/models lists them in). */
static const struct {
    const char *id, *display_name, *created_at;
} DEFAULT_MODELS[] = {
    {"claude-sonnet-4-6", "Claude Sonnet 4.6", "2026-02-17T00:00:00Z"},
    {"claude-opus-4-6", "Claude Opus 4.6", "2026-02-05T00:00:00Z"},
    {"claude-opus-4-5", "Claude Opus 4.5", "2025-11-24T00:00:00Z"},
    {"claude-haiku-4-5", "Claude Haiku 4.5", "2025-10-15T00:00:00Z"},
    {"claude-haiku-4-5-20251001", "Claude Haiku 4.5", "2025-10-15T00:00:00Z"},
    {"claude-sonnet-4-5", "Claude Sonnet 4.5", "2025-09-29T00:00:00Z"},
    {"claude-sonnet-4-5-20250929", "Claude Sonnet 4.5", "2025-09-29T00:00:00Z"},
    {"claude-opus-4-1", "Claude Opus 4.1", "2025-08-05T00:00:00Z"},
    {"claude-opus-4-20250514", "Claude Opus 4", "2025-05-22T00:00:00Z"},
    {"claude-sonnet-4-20250514", "Claude Sonnet 4", "2025-05-22T00:00:00Z"},
    {"claude-3-5-haiku-20241022", "Claude Haiku 3.5", "2024-10-22T00:00:00Z"},
};
#define DEFAULT_MODEL_COUNT (sizeof DEFAULT_MODELS / sizeof DEFAULT_MODELS[0])
/* For ids the configuration names without a date. */
#define UNKNOWN_CREATED_AT "2025-01-01T00:00:00Z"

static int two(const char *s) { return isdigit((unsigned char)s[0]) && isdigit((unsigned char)s[1]) ? (s[0] - '0') * 10 + (s[1] - '0') : -1; }

bool config_parse_time(const char *s, int64_t *unix_s) {
    if (!s || strlen(s) < 20) return false;
    int year = two(s) * 100 + two(s + 2);
    int mon = two(s + 5), day = two(s + 8), hour = two(s + 11), min = two(s + 14), sec = two(s + 17);
    if (two(s) < 0 || two(s + 2) < 0 || s[4] != '-' || s[7] != '-' || (s[10] != 'T' && s[10] != 't') ||
        s[13] != ':' || s[16] != ':')
        return false;
    if (mon < 1 || mon > 12 || day < 1 || day > 31 || hour < 0 || hour > 23 || min < 0 || min > 59 || sec < 0 ||
        sec > 60)
        return false;
    const char *p = s + 19;
    if (*p == '.') {
        p++;
        if (!isdigit((unsigned char)*p)) return false;
        while (isdigit((unsigned char)*p)) p++;
    }
    long offset = 0;
    if (*p == 'Z' || *p == 'z') {
        p++;
    } else if (*p == '+' || *p == '-') {
        int oh = two(p + 1), om = two(p + 4);
        if (oh < 0 || oh > 23 || p[3] != ':' || om < 0 || om > 59) return false;
        offset = (oh * 3600L + om * 60L) * (*p == '-' ? -1 : 1);
        p += 6;
    } else {
        return false;
    }
    if (*p) return false;
    struct tm tm = {.tm_year = year - 1900, .tm_mon = mon - 1, .tm_mday = day, .tm_hour = hour, .tm_min = min,
                    .tm_sec = sec};
    time_t t = timegm(&tm);
    if (t == (time_t)-1) return false;
    if (unix_s) *unix_s = (int64_t)t - offset;
    return true;
}

void config_models_free(config_t *cfg) {
    for (size_t i = 0; i < cfg->model_count; i++) {
        free(cfg->models[i].id);
        free(cfg->models[i].display_name);
        free(cfg->models[i].created_at);
    }
    free(cfg->models);
    cfg->models = NULL;
    cfg->model_count = 0;
}

void config_aliases_free(config_t *cfg) {
    for (size_t i = 0; i < cfg->alias_count; i++) {
        free(cfg->aliases[i].alias);
        free(cfg->aliases[i].target);
    }
    free(cfg->aliases);
    cfg->aliases = NULL;
    cfg->alias_count = 0;
}

static int entry_set(model_entry_t *m, const char *id, const char *display_name, const char *created_at) {
    m->id = strdup(id);
    m->display_name = strdup(display_name);
    m->created_at = strdup(created_at);
    return m->id && m->display_name && m->created_at ? 0 : -1;
}

int config_models_default(config_t *cfg) {
    config_models_free(cfg);
    cfg->models = calloc(DEFAULT_MODEL_COUNT, sizeof *cfg->models);
    if (!cfg->models) return -1;
    cfg->model_count = DEFAULT_MODEL_COUNT;
    for (size_t i = 0; i < DEFAULT_MODEL_COUNT; i++)
        if (entry_set(&cfg->models[i], DEFAULT_MODELS[i].id, DEFAULT_MODELS[i].display_name,
                      DEFAULT_MODELS[i].created_at) < 0)
            return -1;
    return 0;
}

static const char *non_empty_str(yyjson_val *v) {
    const char *s = yyjson_get_str(v);
    return s && *s && strlen(s) == yyjson_get_len(v) ? s : NULL;
}

/* One entry: "claude-x" or {"id":"claude-x","display_name":"Claude X","created_at":"2025-01-01T00:00:00Z"}. */
static int model_from_json(model_entry_t *m, size_t i, yyjson_val *v, config_ctx_t *ctx) {
    const char *id = NULL, *display_name = NULL, *created_at = NULL;
    if (yyjson_is_str(v)) {
        if (!(id = non_empty_str(v))) return config_fail(ctx, "models[%zu]: must be a non-empty model id", i);
    } else if (yyjson_is_obj(v)) {
        yyjson_val *key;
        yyjson_obj_iter it = yyjson_obj_iter_with(v);
        while ((key = yyjson_obj_iter_next(&it))) {
            const char *k = yyjson_get_str(key);
            yyjson_val *val = yyjson_obj_iter_get_val(key);
            const char **slot = !strcmp(k, "id") ? &id : !strcmp(k, "display_name") ? &display_name
                                : !strcmp(k, "created_at")                         ? &created_at
                                                                                   : NULL;
            if (!slot)
                return config_fail(ctx, "models[%zu].%s: unknown key (use id, display_name, created_at)", i, k);
            if (!(*slot = non_empty_str(val))) return config_fail(ctx, "models[%zu].%s: expected a non-empty string", i, k);
        }
        if (!id) return config_fail(ctx, "models[%zu].id: required", i);
        if (created_at && !config_parse_time(created_at, NULL))
            return config_fail(ctx, "models[%zu].created_at: \"%s\" is not an RFC 3339 time (2025-05-22T00:00:00Z)", i,
                               created_at);
    } else {
        return config_fail(ctx, "models[%zu]: expected a model id or an object with id", i);
    }
    /* A bare id we know gets its real name and date. */
    for (size_t d = 0; d < DEFAULT_MODEL_COUNT; d++) {
        if (strcmp(DEFAULT_MODELS[d].id, id) != 0) continue;
        if (!display_name) display_name = DEFAULT_MODELS[d].display_name;
        if (!created_at) created_at = DEFAULT_MODELS[d].created_at;
    }
    if (entry_set(m, id, display_name ? display_name : id, created_at ? created_at : UNKNOWN_CREATED_AT) < 0)
        return config_fail(ctx, "models: out of memory");
    return 0;
}

int config_models_from_json(config_t *cfg, yyjson_val *arr, config_ctx_t *ctx) {
    config_models_free(cfg);
    size_t n = yyjson_arr_size(arr);
    if (n == 0) return 0;
    cfg->models = calloc(n, sizeof *cfg->models);
    if (!cfg->models) return config_fail(ctx, "models: out of memory");
    yyjson_val *v;
    size_t i, max;
    yyjson_arr_foreach(arr, i, max, v) {
        cfg->model_count = i + 1; /* so a failure frees what was set */
        if (model_from_json(&cfg->models[i], i, v, ctx) < 0) return -1;
        for (size_t j = 0; j < i; j++)
            if (!strcmp(cfg->models[j].id, cfg->models[i].id))
                return config_fail(ctx, "models[%zu].id: \"%s\" is listed twice", i, cfg->models[i].id);
    }
    return 0;
}

int config_aliases_from_json(config_t *cfg, yyjson_val *obj, config_ctx_t *ctx) {
    config_aliases_free(cfg);
    size_t n = yyjson_obj_size(obj);
    if (n == 0) return 0;
    cfg->aliases = calloc(n, sizeof *cfg->aliases);
    if (!cfg->aliases) return config_fail(ctx, "modelAliases: out of memory");
    yyjson_val *key, *val;
    yyjson_obj_iter it = yyjson_obj_iter_with(obj);
    for (size_t i = 0; (key = yyjson_obj_iter_next(&it)); i++) {
        val = yyjson_obj_iter_get_val(key);
        const char *alias = non_empty_str(key), *target = non_empty_str(val);
        if (!alias) return config_fail(ctx, "modelAliases: an alias must be a non-empty name");
        if (!target) return config_fail(ctx, "modelAliases.%s: expected a non-empty Claude model id", alias);
        model_alias_t *a = &cfg->aliases[i];
        cfg->alias_count = i + 1;
        a->alias = strdup(alias);
        a->target = strdup(target);
        if (!a->alias || !a->target) return config_fail(ctx, "modelAliases: out of memory");
    }
    return 0;
}
