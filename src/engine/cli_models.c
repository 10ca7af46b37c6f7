#include "engine/cli_models.h"

#include <stdio.h>
#include <string.h>

/* id without a context suffix ("claude-opus-4-8[1m]" → "claude-opus-4-8"); false if it is no model id. */
static bool base_id(const char *s, char *out, size_t out_len) {
    if (!s || strncmp(s, "claude-", 7) != 0) return false;
    size_t n = strcspn(s, "[");
    if (n == 0 || n >= out_len) return false;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '.')) return false;
    }
    memcpy(out, s, n);
    out[n] = '\0';
    return true;
}

/* "Opus 5.5 · Best for ..." → "Claude Opus 5.5"; the CLI's displayName for a full id ("Sonnet 4.5");
 * else the id. */
static void name_of(yyjson_val *entry, bool is_alias, const char *id, char *out, size_t out_len) {
    const char *desc = yyjson_get_str(yyjson_obj_get(entry, "description"));
    const char *display = yyjson_get_str(yyjson_obj_get(entry, "displayName"));
    const char *from = NULL;
    size_t n = 0;
    if (!is_alias && display && *display) {
        from = display;
        n = strlen(display);
    } else if (desc && strncmp(desc, "Use the default", 15) != 0) {
        const char *dot = strstr(desc, " \xc2\xb7 "); /* " · " */
        const char *with = strstr(desc, " with ");
        n = dot ? (size_t)(dot - desc) : strlen(desc);
        if (with && (size_t)(with - desc) < n) n = (size_t)(with - desc);
        from = desc;
    }
    if (!from || n == 0) {
        snprintf(out, out_len, "%s", id);
        return;
    }
    snprintf(out, out_len, "%s%.*s", strncmp(from, "Claude", 6) ? "Claude " : "", (int)n, from);
}

bool cli_models_has(const cli_models_t *m, const char *id) {
    for (size_t i = 0; i < m->count; i++)
        if (!strcmp(m->models[i].id, id)) return true;
    return false;
}

size_t cli_models_take(cli_models_t *m, yyjson_val *models) {
    size_t added = 0, i, max;
    yyjson_val *entry;
    /* Two passes: entries that are full ids name themselves best; the "default" alias last. */
    for (int pass = 0; pass < 3; pass++) {
        yyjson_arr_foreach(models, i, max, entry) {
            if (m->count == CLI_MODELS_MAX) return added;
            const char *value = yyjson_get_str(yyjson_obj_get(entry, "value"));
            const char *resolved = yyjson_get_str(yyjson_obj_get(entry, "resolvedModel"));
            char id[CLI_MODEL_ID_MAX];
            bool is_full = base_id(value, id, sizeof id);
            bool is_default = value && !strcmp(value, "default");
            if (pass == 0 && !is_full) continue;
            if (pass == 1 && (is_full || is_default || !base_id(resolved, id, sizeof id))) continue;
            if (pass == 2 && (!is_default || !base_id(resolved, id, sizeof id))) continue;
            if (cli_models_has(m, id)) continue;
            cli_model_t *out = &m->models[m->count++];
            snprintf(out->id, sizeof out->id, "%s", id);
            name_of(entry, !is_full, id, out->display_name, sizeof out->display_name);
            added++;
        }
    }
    return added;
}
