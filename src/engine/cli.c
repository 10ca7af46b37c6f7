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

#include "util/strv.h"

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

static void push_setting(const char *kv, void *arg) { strv_push(arg, kv); }

char **cli_version_settings(const cli_info_t *info) {
    strv_t s = {0};
    if (info) cli_traits_env(info->major, info->minor, info->patch, info->is_found, push_setting, &s);
    else cli_traits_env(0, 0, 0, false, push_setting, &s);
    return strv_finish(&s);
}

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
                 "auto: CLI %s <= " CLI_LAST_LOOPBACK_SDK_URL " accepts a loopback --sdk-url", info->version);
    } else {
        info->transport = TRANSPORT_STDIO;
        snprintf(info->transport_reason, sizeof info->transport_reason,
                 "auto: CLI %s > " CLI_LAST_LOOPBACK_SDK_URL " refuses a loopback --sdk-url", info->version);
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
    /* A warm process starts without one: set_model gives it the request's before its first turn. */
    if (l->model && *l->model) {
        strv_push(&s, "--model");
        strv_push(&s, l->model);
    }
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
