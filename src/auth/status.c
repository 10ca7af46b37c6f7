/* Which credential the CLI will use, read the way the CLI reads it; tokens are looked at, never kept. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <yyjson.h>

#include "auth/auth_internal.h"
#include "util/clock.h"

/* A credentials file is a few hundred bytes; anything much larger is not one. */
#define CREDENTIALS_MAX_BYTES (256 * 1024)

static bool is_set(const char *s) { return s && *s; }

static void set_subscription(auth_status_t *out, const char *sub) {
    if (!sub || !*sub) return;
    snprintf(out->subscription_buf, sizeof out->subscription_buf, "%s", sub);
    out->subscription = out->subscription_buf;
}

/* claudeAiOauth: accessToken, refreshToken, expiresAt (ms), subscriptionType. */
static void resolve_file(const auth_sources_t *src, auth_status_t *out) {
    yyjson_doc *doc = yyjson_read(src->credentials_json, src->credentials_len, 0);
    yyjson_val *oauth = yyjson_obj_get(yyjson_doc_get_root(doc), "claudeAiOauth");
    const char *access = yyjson_get_str(yyjson_obj_get(oauth, "accessToken"));
    if (yyjson_is_obj(oauth) && is_set(access)) {
        out->method = "credentials_file";
        out->has_refresh_token = is_set(yyjson_get_str(yyjson_obj_get(oauth, "refreshToken")));
        yyjson_val *exp = yyjson_obj_get(oauth, "expiresAt");
        if (yyjson_is_num(exp)) out->expires_at_ms = (int64_t)yyjson_get_num(exp);
        out->expired = out->expires_at_ms > 0 && out->expires_at_ms <= src->now_ms;
        /* The CLI refreshes an expired access token on its own when it has a refresh token. */
        out->authenticated = !out->expired || out->has_refresh_token;
        set_subscription(out, yyjson_get_str(yyjson_obj_get(oauth, "subscriptionType")));
    }
    yyjson_doc_free(doc);
}

void auth_status_resolve(const auth_sources_t *src, auth_status_t *out) {
    *out = (auth_status_t){.method = "none"};
    if (is_set(src->oauth_token_env)) {
        out->authenticated = true;
        out->method = "oauth_token_env";
        return;
    }
    if (is_set(src->api_key_env)) {
        out->authenticated = true;
        out->method = "api_key_env";
        return;
    }
    if (src->credentials_json) resolve_file(src, out);
}

int auth_credentials_path(const char *claude_config_dir, const char *env_config_dir, const char *home, char *out,
                          size_t out_len) {
    int n;
    if (is_set(claude_config_dir)) n = snprintf(out, out_len, "%s/.credentials.json", claude_config_dir);
    else if (is_set(env_config_dir)) n = snprintf(out, out_len, "%s/.credentials.json", env_config_dir);
    else if (is_set(home)) n = snprintf(out, out_len, "%s/.claude/.credentials.json", home);
    else return -1;
    return n > 0 && (size_t)n < out_len ? 0 : -1;
}

/* The whole file, or NULL when it is missing, unreadable or implausibly large. */
static char *read_small_file(const char *path, size_t *len) {
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return NULL;
    struct stat st;
    char *data = NULL;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_size > CREDENTIALS_MAX_BYTES) goto done;
    data = malloc((size_t)st.st_size + 1);
    if (!data) goto done;
    size_t got = 0;
    while (got < (size_t)st.st_size) {
        ssize_t r = read(fd, data + got, (size_t)st.st_size - got);
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) break;
        got += (size_t)r;
    }
    data[got] = '\0';
    *len = got;
done:
    close(fd);
    return data;
}

void auth_get_status(auth_t *auth, auth_status_t *out) {
    size_t len = 0;
    char *json = read_small_file(auth->credentials_path, &len);
    auth_sources_t src = {
        /* an account's CLIs never see the proxy's environment credentials */
        .oauth_token_env = auth->account ? NULL : getenv("CLAUDE_CODE_OAUTH_TOKEN"),
        .api_key_env = auth->account ? NULL : getenv("ANTHROPIC_API_KEY"),
        .credentials_json = json,
        .credentials_len = len,
        .now_ms = clock_wall_ms(),
    };
    auth_status_resolve(&src, out);
    free(json);
}

void auth_dir_status(const char *config_dir, auth_status_t *out) {
    char path[AUTH_PATH_MAX];
    size_t len = 0;
    char *json = auth_credentials_path(config_dir, NULL, NULL, path, sizeof path) == 0 ? read_small_file(path, &len) : NULL;
    auth_sources_t src = {.credentials_json = json, .credentials_len = len, .now_ms = clock_wall_ms()};
    auth_status_resolve(&src, out);
    free(json);
}
