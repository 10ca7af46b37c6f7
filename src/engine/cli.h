/*
 * The Claude Code CLI as a program: find it and read its version (once, at start), choose the
 * transport, and build the argv and environment of each child. Client content never goes on the
 * command line (argv strings are capped at 128 KiB): prompts travel in `initialize`, history in a
 * transcript file.
 */
#ifndef CWP_ENGINE_CLI_H
#define CWP_ENGINE_CLI_H
#include <stdbool.h>
#include <stddef.h>

#include "config.h"
#include "engine/cli_versions.h"
#include "transport/cli_env.h" /* the child environment, shared with auth */

#define CLI_PROBE_TIMEOUT_MS 15000

typedef struct {
    bool is_found;
    char version[32];   /* "2.1.197", or "" */
    int major, minor, patch;
    transport_kind_t transport; /* TRANSPORT_STDIO or TRANSPORT_WEBSOCKET */
    char transport_reason[384];
} cli_info_t;

/* Run `<path> --version` (no shell, bounded time) and choose the transport for `wanted`. Returns 0, or
 * -1 with a message in err when the CLI cannot be run (info->is_found false, stdio chosen). */
int cli_probe(const char *path, transport_kind_t wanted, cli_info_t *info, char *err, size_t err_len);
/* Parse "2.1.197 (Claude Code)". Returns 0 or -1. */
int cli_parse_version(const char *text, cli_info_t *info);
void cli_choose_transport(transport_kind_t wanted, cli_info_t *info);
/* What this CLI version needs (its row of cli_versions.c; an unknown version is taken to be current). */
const cli_traits_t *cli_info_traits(const cli_info_t *info);
/* Does this CLI take the system prompt in initialize? (An unknown version is taken to be current.) */
bool cli_takes_init_system_prompt(const cli_info_t *info);
/* The "KEY=VALUE" settings a child of this CLI version gets (for cli_build_env; info NULL: current).
 * NULL-terminated, free with cli_strv_free; NULL when out of memory. */
char **cli_version_settings(const cli_info_t *info);

typedef struct {
    proxy_mode_t mode;
    const char *model;
    const char *effort;     /* or NULL */
    const char *resume_id;  /* --resume <uuid>, or NULL */
    const char *sdk_url;    /* WebSocket transport, or NULL for stdio */
    /* A CLI that ignores initialize's systemPrompt reads it from this file (the path only is on argv):
     * --system-prompt-file, or --append-system-prompt-file when is_prompt_appended (agent mode). */
    const char *system_prompt_file;
    bool is_prompt_appended;
} cli_launch_t;

/* NULL-terminated, every string malloc'd: free with cli_strv_free. NULL when out of memory. */
char **cli_build_argv(const char *claude_path, const cli_launch_t *l);

#endif
