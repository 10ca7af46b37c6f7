/* Settings: defaults, then config.json, then the environment; checks that span keys; key comparison. */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config_internal.h"

/* A config file is a few kilobytes; anything this big is a wrong path. */
#define CONFIG_FILE_LIMIT (4u << 20)

static char *dup_or_null(const char *s) { return s ? strdup(s) : NULL; }

void config_init_defaults(config_t *cfg) {
    *cfg = (config_t){
        .http_port = 3456,
        .ws_port = 8765,
        .claude_path = dup_or_null("claude"),
        .default_model = dup_or_null("claude-sonnet-4-20250514"),
        .auto_approve_tool = true,
        .max_sessions = 5,
        .session_timeout_ms = 300000,
        .auth_token = dup_or_null(""),
        .require_api_key = false,
        .api_key = dup_or_null(""),
        .host = dup_or_null("127.0.0.1"),
        .mode = MODE_API,
        .work_dir = dup_or_null(""),
        .state_dir = dup_or_null(""),
        .claude_config_dir = dup_or_null(""),
        .transport = TRANSPORT_AUTO,
        .warm_sessions = 1,
        .max_queue = 32,
        .queue_timeout_ms = 30000,
        .start_timeout_ms = 30000,
        .stall_timeout_ms = 300000,
        .tool_result_timeout_ms = 600000,
        .max_body_bytes = 32L << 20,
        .max_connections = 256,
        .header_timeout_ms = 10000,
        .idle_timeout_ms = 60000,
        .drain_timeout_ms = 10000,
        .ping_interval_ms = 10000,
        .log_level = dup_or_null("info"),
        .allow_extra_usage = true,
        .account_backoff_ms = 60000,
        .allowed_origins = dup_or_null(""),
        .allowed_hosts = dup_or_null(""),
        .body_timeout_ms = 60000,
    };
    config_models_default(cfg);
}

void config_free(config_t *cfg) {
    char **strings[] = {&cfg->claude_path, &cfg->default_model, &cfg->auth_token, &cfg->api_key,
                        &cfg->host,        &cfg->work_dir,      &cfg->state_dir,  &cfg->claude_config_dir,
                        &cfg->log_level,   &cfg->allowed_origins, &cfg->allowed_hosts};
    for (size_t i = 0; i < sizeof strings / sizeof strings[0]; i++) {
        free(*strings[i]);
        *strings[i] = NULL;
    }
    config_models_free(cfg);
    config_aliases_free(cfg);
    config_accounts_free(cfg);
}

static bool is_fully_allocated(const config_t *cfg) {
    return cfg->claude_path && cfg->default_model && cfg->auth_token && cfg->api_key && cfg->host && cfg->work_dir &&
           cfg->state_dir && cfg->claude_config_dir && cfg->log_level && cfg->models &&
           cfg->allowed_origins && cfg->allowed_hosts;
}

/* Read the whole file; -1 with the reason in ctx. */
static int read_file(const char *path, char **out, size_t *out_len, config_ctx_t *ctx) {
    FILE *f = fopen(path, "rb");
    if (!f) return config_fail(ctx, "cannot read: %s", strerror(errno));
    struct stat st;
    if (fstat(fileno(f), &st) == 0 && S_ISDIR(st.st_mode)) {
        fclose(f);
        return config_fail(ctx, "cannot read: %s", strerror(EISDIR));
    }
    char *data = malloc(CONFIG_FILE_LIMIT + 1);
    if (!data) {
        fclose(f);
        return config_fail(ctx, "out of memory");
    }
    size_t len = fread(data, 1, CONFIG_FILE_LIMIT + 1, f);
    int read_err = ferror(f) ? errno : 0;
    fclose(f);
    if (read_err) {
        free(data);
        return config_fail(ctx, "cannot read: %s", strerror(read_err));
    }
    if (len > CONFIG_FILE_LIMIT) {
        free(data);
        return config_fail(ctx, "file is larger than %u bytes", CONFIG_FILE_LIMIT);
    }
    *out = data;
    *out_len = len;
    return 0;
}

static int load_file(config_t *cfg, const char *path, config_ctx_t *ctx) {
    char *data = NULL;
    size_t len = 0;
    if (read_file(path, &data, &len, ctx) < 0) return -1;
    yyjson_read_err rerr;
    yyjson_doc *doc = yyjson_read_opts(data, len, 0, NULL, &rerr);
    if (!doc) {
        size_t line = 0, col = 0, chr = 0;
        yyjson_locate_pos(data, len, rerr.pos, &line, &col, &chr);
        free(data);
        return config_fail(ctx, "invalid JSON at line %zu column %zu: %s", line, col, rerr.msg);
    }
    free(data);
    yyjson_val *root = yyjson_doc_get_root(doc);
    int rc = yyjson_is_obj(root) ? config_apply_json(cfg, root, ctx)
                                 : config_fail(ctx, "the top level must be a JSON object of settings");
    yyjson_doc_free(doc);
    return rc;
}

/* Rules between keys, checked once every source has been applied. */
static int check_combination(const config_t *cfg, config_ctx_t *ctx) {
    ctx->file = NULL;
    const char *msg = NULL;
    char buf[256];
    if (cfg->require_api_key && !cfg->api_key[0]) {
        msg = "apiKey: must be set when requireApiKey is true (config.json apiKey or API_KEY)";
    } else if (cfg->warm_sessions > cfg->max_sessions) {
        snprintf(buf, sizeof buf, "warmSessions: %d is more than maxSessions (%d)", cfg->warm_sessions,
                 cfg->max_sessions);
        msg = buf;
    } else if (cfg->transport != TRANSPORT_STDIO && cfg->ws_port != 0 && cfg->ws_port == cfg->http_port) {
        snprintf(buf, sizeof buf, "wsPort: %d is also httpPort; the two servers need different ports", cfg->ws_port);
        msg = buf;
    }
    if (!msg) return 0;
    if (ctx->err && ctx->err_len) snprintf(ctx->err, ctx->err_len, "%s", msg);
    return -1;
}

int config_load(config_t *cfg, const char *path, char *const *envp, char *err, size_t err_len) {
    config_init_defaults(cfg);
    config_ctx_t ctx = {.err = err, .err_len = err_len};
    if (err && err_len) err[0] = '\0';
    if (!is_fully_allocated(cfg)) {
        snprintf(err, err_len, "out of memory");
        goto fail;
    }
    if (!path && access("config.json", F_OK) == 0) path = "config.json";
    if (path) {
        ctx.file = path;
        if (load_file(cfg, path, &ctx) < 0) goto fail;
    }
    ctx.file = NULL;
    if (config_apply_env(cfg, envp, &ctx) < 0) goto fail;
    if (check_combination(cfg, &ctx) < 0) goto fail;
    return 0;
fail:
    config_free(cfg);
    return -1;
}

const char *config_resolve_model(const config_t *cfg, const char *requested) {
    if (!requested || !*requested) return cfg->default_model ? cfg->default_model : "";
    for (size_t i = 0; i < cfg->alias_count; i++)
        if (!strcmp(cfg->aliases[i].alias, requested)) return cfg->aliases[i].target;
    return requested;
}

/* ---- the proxy's own API key ---- */

bool config_is_key_required(const config_t *cfg) {
    return (cfg->require_api_key && cfg->api_key && cfg->api_key[0]) || (cfg->auth_token && cfg->auth_token[0]);
}

/* Equal in time independent of where they differ, and of the secret's length: both sides are hashed
 * first, so the comparison always runs over 32 bytes. */
static bool is_same_secret(const char *given, const char *secret) {
    unsigned char a[EVP_MAX_MD_SIZE], b[EVP_MAX_MD_SIZE];
    unsigned int alen = 0, blen = 0;
    if (!EVP_Digest(given, strlen(given), a, &alen, EVP_sha256(), NULL) ||
        !EVP_Digest(secret, strlen(secret), b, &blen, EVP_sha256(), NULL) || alen != blen)
        return false;
    return CRYPTO_memcmp(a, b, alen) == 0;
}

bool config_is_key_accepted(const config_t *cfg, const char *key) {
    if (!key) return false;
    /* Both comparisons always run, so timing does not tell which key exists. */
    bool has_api_key = cfg->api_key && cfg->api_key[0];
    bool has_token = cfg->auth_token && cfg->auth_token[0];
    bool api_ok = is_same_secret(key, has_api_key ? cfg->api_key : "");
    bool token_ok = is_same_secret(key, has_token ? cfg->auth_token : "");
    return (has_api_key && api_ok) || (has_token && token_ok);
}

bool config_is_loopback_host(const char *host) {
    if (!host || !*host) return false;
    if (!strcasecmp(host, "localhost") || !strcasecmp(host, "localhost.")) return true;
    char buf[64];
    size_t len = strlen(host);
    if (host[0] == '[' && len > 2 && host[len - 1] == ']' && len - 2 < sizeof buf) {
        memcpy(buf, host + 1, len - 2);
        buf[len - 2] = '\0';
        host = buf;
    }
    unsigned char addr[16];
    if (inet_pton(AF_INET, host, addr) == 1) return addr[0] == 127;
    if (inet_pton(AF_INET6, host, addr) != 1) return false;
    static const unsigned char loopback6[16] = {[15] = 1};
    static const unsigned char mapped4[12] = {[10] = 0xff, [11] = 0xff};
    if (!memcmp(addr, loopback6, 16)) return true;
    return !memcmp(addr, mapped4, 12) && addr[12] == 127;
}

bool config_list_has(const char *list, const char *item, size_t item_len) {
    if (!list || !item) return false;
    for (const char *p = list; *p;) {
        size_t n = strcspn(p, ",");
        const char *e = p + n;
        while (p < e && (*p == ' ' || *p == '\t')) p++;
        const char *end = e;
        while (end > p && (end[-1] == ' ' || end[-1] == '\t')) end--;
        if ((size_t)(end - p) == item_len && item_len && !strncasecmp(p, item, item_len)) return true;
        p = *e ? e + 1 : e;
    }
    return false;
}

int config_connections_per_client(const config_t *cfg) {
    if (cfg->max_connections_per_client > 0) return cfg->max_connections_per_client;
    /* A quarter, but never so few that one busy local user (every local client is 127.0.0.1) runs short. */
    int n = cfg->max_connections / 4;
    if (n < 16) n = 16;
    return n < cfg->max_connections ? n : cfg->max_connections;
}
