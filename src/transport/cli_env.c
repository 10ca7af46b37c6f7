/* The environment of a CLI child: what the engine's sessions and auth's commands both spawn with. */
#include "transport/cli_env.h"

#include <stdbool.h>
#include <string.h>

#include "util/buf.h"
#include "util/strv.h"

void cli_strv_free(char **v) { strv_free(v); }

static bool has_prefix(const char *s, const char *p) { return !strncmp(s, p, strlen(p)); }

/* What the CLI may need from the proxy's environment: credentials and endpoints for the upstream
 * (ANTHROPIC_*, CLAUDE_CODE_*, cloud providers), locale, TLS and network proxies. Not HOME, not the
 * proxy's own settings (API_KEY, AUTH_TOKEN, ...), nothing we set ourselves. */
static bool is_passed(const char *kv) {
    static const char *const prefixes[] = {
        "ANTHROPIC_", "CLAUDE_CODE_", "AWS_", "GOOGLE_", "CLOUD_ML_", "VERTEX_", "LC_", "MCP_",
        "DISABLE_", "BASH_", "NODE_EXTRA_CA_CERTS=", "SSL_CERT_", "HTTP_PROXY=", "HTTPS_PROXY=", "NO_PROXY=",
        "http_proxy=", "https_proxy=", "no_proxy=", "PATH=", "LANG=", "TZ=", "TMPDIR=", "USER=", "LOGNAME=",
        "SHELL=", "TERM=", "MAX_THINKING_TOKENS=",
    };
    static const char *const refused[] = {
        "CLAUDE_CODE_SESSION_ACCESS_TOKEN=", "CLAUDE_CONFIG_DIR=", "CLAUDECODE=", "CLAUDE_CODE_ENTRYPOINT=",
        /* Drops every reminder but also logins by CLAUDE_CODE_OAUTH_TOKEN (401 "Not logged in", 2.1.332). */
        "CLAUDE_CODE_SIMPLE=",
    };
    for (size_t i = 0; i < sizeof refused / sizeof refused[0]; i++)
        if (has_prefix(kv, refused[i])) return false;
    for (size_t i = 0; i < sizeof prefixes / sizeof prefixes[0]; i++)
        if (has_prefix(kv, prefixes[i])) return true;
    return false;
}

char **cli_base_env(char *const *environ_) {
    strv_t s = {0};
    for (char *const *e = environ_; e && *e; e++)
        if (is_passed(*e)) strv_push(&s, *e);
    if (!s.v) strv_push(&s, "PATH=/usr/local/bin:/usr/bin:/bin");
    return strv_finish(&s);
}

static bool env_has(char *const *env, const char *key) {
    size_t n = strlen(key);
    for (char *const *e = env; e && *e; e++)
        if (!strncmp(*e, key, n) && (*e)[n] == '=') return true;
    return false;
}

static void push_kv(strv_t *s, const char *key, const char *value) {
    buf_t b;
    buf_init(&b, 0);
    if (buf_appendf(&b, "%s=%s", key, value) != 0) s->is_failed = true;
    else strv_push(s, buf_cstr(&b));
    buf_free(&b);
}

/* "KEY=VALUE" → whether base sets KEY. */
static bool env_has_key_of(char *const *env, const char *kv) {
    char key[128];
    size_t n = strcspn(kv, "=");
    if (n >= sizeof key) return true; /* no such setting of ours: leave it out */
    memcpy(key, kv, n);
    key[n] = '\0';
    return env_has(env, key);
}

char **cli_build_env(char *const *base, const char *home, const char *config_dir, const char *ws_token,
                     char *const *settings) {
    strv_t s = {0};
    for (char *const *e = base; e && *e; e++) strv_push(&s, *e);
    push_kv(&s, "HOME", home);
    push_kv(&s, "CLAUDE_CONFIG_DIR", config_dir);
    static const char *const quiet[][2] = {
        {"DISABLE_TELEMETRY", "1"}, {"DISABLE_ERROR_REPORTING", "1"}, {"DISABLE_AUTOUPDATER", "1"},
        {"CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC", "1"},
        /* The CLI retries 529 for minutes (1 s ... 35 s apart); with 0 the error reaches the client at
         * once and the client's own retry policy decides. */
        {"CLAUDE_CODE_MAX_RETRIES", "0"},
    };
    for (size_t i = 0; i < sizeof quiet / sizeof quiet[0]; i++)
        if (!env_has(base, quiet[i][0])) push_kv(&s, quiet[i][0], quiet[i][1]);
    for (char *const *kv = settings; kv && *kv; kv++)
        if (!env_has_key_of(base, *kv)) strv_push(&s, *kv);
    if (ws_token) push_kv(&s, "CLAUDE_CODE_SESSION_ACCESS_TOKEN", ws_token);
    return strv_finish(&s);
}
