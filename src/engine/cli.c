#include "engine/cli.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "util/buf.h"

int cli_parse_version(const char *text, cli_info_t *info) {
    int major, minor, patch;
    while (*text == ' ' || *text == '\t' || *text == '\n') text++;
    if (sscanf(text, "%d.%d.%d", &major, &minor, &patch) != 3) return -1;
    info->major = major;
    info->minor = minor;
    info->patch = patch;
    snprintf(info->version, sizeof info->version, "%d.%d.%d", major, minor, patch);
    return 0;
}

const cli_traits_t *cli_info_traits(const cli_info_t *info) {
    return info ? cli_traits(info->major, info->minor, info->patch, info->is_found) : cli_traits(0, 0, 0, false);
}

static bool accepts_loopback_sdk_url(const cli_info_t *info) { return cli_info_traits(info)->takes_loopback_sdk_url; }

bool cli_takes_init_system_prompt(const cli_info_t *info) { return cli_info_traits(info)->takes_init_system_prompt; }

void cli_choose_transport(transport_kind_t wanted, cli_info_t *info) {
    if (wanted == TRANSPORT_STDIO) {
        info->transport = TRANSPORT_STDIO;
        snprintf(info->transport_reason, sizeof info->transport_reason, "configured: stdio");
    } else if (wanted == TRANSPORT_WEBSOCKET) {
        info->transport = TRANSPORT_WEBSOCKET;
        snprintf(info->transport_reason, sizeof info->transport_reason, "configured: websocket%s",
                 info->is_found && !accepts_loopback_sdk_url(info) ? " (this CLI version refuses loopback --sdk-url)" : "");
    } else if (!info->is_found) {
        info->transport = TRANSPORT_STDIO;
        snprintf(info->transport_reason, sizeof info->transport_reason, "auto: CLI version unknown, stdio");
    } else if (accepts_loopback_sdk_url(info)) {
        info->transport = TRANSPORT_WEBSOCKET;
        snprintf(info->transport_reason, sizeof info->transport_reason,
                 "auto: CLI %s accepts a loopback --sdk-url", info->version);
    } else {
        info->transport = TRANSPORT_STDIO;
        snprintf(info->transport_reason, sizeof info->transport_reason,
                 "auto: CLI %s refuses a loopback --sdk-url", info->version);
    }
}

static long long now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Runs before the loop serves anything, so a blocking, time-bounded read is fine here. */
int cli_probe(const char *path, transport_kind_t wanted, cli_info_t *info, char *err, size_t err_len) {
    memset(info, 0, sizeof *info);
    int fds[2];
    if (pipe2(fds, O_CLOEXEC) != 0) {
        snprintf(err, err_len, "pipe: %s", strerror(errno));
        cli_choose_transport(wanted, info);
        return -1;
    }
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_adddup2(&fa, fds[1], 1);
    posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
    char *argv[] = {(char *)path, "--version", NULL};
    extern char **environ;
    pid_t pid;
    int rc = posix_spawnp(&pid, path, &fa, NULL, argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    close(fds[1]);
    if (rc != 0) {
        close(fds[0]);
        snprintf(err, err_len, "cannot run the Claude Code CLI '%s': %s", path, strerror(rc));
        cli_choose_transport(wanted, info);
        return -1;
    }
    char out[256];
    size_t got = 0;
    long long deadline = now_ms() + CLI_PROBE_TIMEOUT_MS;
    for (;;) {
        long long left = deadline - now_ms();
        if (left <= 0) break;
        struct pollfd p = {.fd = fds[0], .events = POLLIN};
        int n = poll(&p, 1, (int)left);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) break;
        ssize_t r = read(fds[0], out + got, sizeof out - 1 - got);
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) break;
        got += (size_t)r;
        if (got == sizeof out - 1) break;
    }
    out[got] = '\0';
    close(fds[0]);
    int status = 0;
    if (waitpid(pid, &status, WNOHANG) == 0) {
        kill(pid, SIGKILL);
        waitpid(pid, &status, 0);
    }
    if (cli_parse_version(out, info) != 0) {
        snprintf(err, err_len, "'%s --version' did not print a version (exit status %d)", path,
                 WIFEXITED(status) ? WEXITSTATUS(status) : -1);
        cli_choose_transport(wanted, info);
        return -1;
    }
    info->is_found = true;
    cli_choose_transport(wanted, info);
    return 0;
}

/* ---- argv ---- */

typedef struct {
    char **v;
    size_t len, cap;
    bool is_failed;
} strv_t;

static void strv_push(strv_t *s, const char *str) {
    if (s->is_failed) return;
    if (s->len + 2 > s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 32;
        char **v = realloc(s->v, cap * sizeof *v);
        if (!v) {
            s->is_failed = true;
            return;
        }
        s->v = v;
        s->cap = cap;
    }
    char *copy = strdup(str);
    if (!copy) {
        s->is_failed = true;
        return;
    }
    s->v[s->len++] = copy;
    s->v[s->len] = NULL;
}

static char **strv_finish(strv_t *s) {
    if (s->is_failed || !s->v) {
        if (s->v) s->v[s->len] = NULL;
        cli_strv_free(s->v);
        return NULL;
    }
    return s->v;
}

void cli_strv_free(char **v) {
    if (!v) return;
    for (char **p = v; *p; p++) free(*p);
    free(v);
}

char **cli_build_argv(const char *claude_path, const cli_launch_t *l) {
    strv_t s = {0};
    strv_push(&s, claude_path);
    if (l->sdk_url) {
        strv_push(&s, "--sdk-url");
        strv_push(&s, l->sdk_url);
    }
    strv_push(&s, "-p");
    static const char *const common[] = {
        "--input-format", "stream-json", "--output-format", "stream-json", "--verbose",
        "--include-partial-messages", "--permission-prompt-tool", "stdio", "--no-session-persistence",
        "--mcp-config", "{\"mcpServers\":{\"client\":{\"type\":\"sdk\",\"name\":\"client\"}}}",
    };
    for (size_t i = 0; i < sizeof common / sizeof common[0]; i++) strv_push(&s, common[i]);
    if (l->mode == MODE_API) {
        /* No built-in tools, no settings/hooks/CLAUDE.md, no other MCP servers: an API caller must never be
         * able to make the model act on this host. */
        static const char *const locked[] = {"--tools", "", "--setting-sources", "", "--strict-mcp-config"};
        for (size_t i = 0; i < sizeof locked / sizeof locked[0]; i++) strv_push(&s, locked[i]);
    }
    strv_push(&s, "--model");
    strv_push(&s, l->model);
    if (l->effort) {
        strv_push(&s, "--effort");
        strv_push(&s, l->effort);
    }
    if (l->resume_id) {
        strv_push(&s, "--resume");
        strv_push(&s, l->resume_id);
    }
    if (l->system_prompt_file) {
        strv_push(&s, l->is_prompt_appended ? "--append-system-prompt-file" : "--system-prompt-file");
        strv_push(&s, l->system_prompt_file);
    }
    return strv_finish(&s);
}

/* ---- environment ---- */

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

typedef struct {
    strv_t *s;
    char *const *base;
} version_env_t;

static void push_version_setting(const char *kv, void *arg) {
    version_env_t *ve = arg;
    const char *eq = strchr(kv, '=');
    char key[128];
    size_t n = eq ? (size_t)(eq - kv) : strlen(kv);
    if (n >= sizeof key) return;
    memcpy(key, kv, n);
    key[n] = '\0';
    if (!env_has(ve->base, key)) strv_push(ve->s, kv);
}

char **cli_build_env(char *const *base, const char *home, const char *config_dir, const char *ws_token,
                     const cli_info_t *cli) {
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
    version_env_t ve = {.s = &s, .base = base};
    if (cli) cli_traits_env(cli->major, cli->minor, cli->patch, cli->is_found, push_version_setting, &ve);
    else cli_traits_env(0, 0, 0, false, push_version_setting, &ve);
    if (ws_token) push_kv(&s, "CLAUDE_CODE_SESSION_ACCESS_TOKEN", ws_token);
    return strv_finish(&s);
}
