/*
 * The table of CLI versions. Each fact was measured against the fake upstream's request log
 * (docs/cli-protocol-notes.md says how); a row holds from its version until the next row.
 */
#include "engine/cli_versions.h"

#include <stddef.h>

/* The quiet switches live in cli_build_env; these are the ones that change what the model sees. A CLI
 * ignores settings it does not know. */
static const char *const env_every[] = {
    /* Agent mode: without it 2.1.332 offers `ToolSearch` and a placeholder instead of the client's
     * mcp__client__* tools, and the model's call fails with "No such tool available". */
    "ENABLE_TOOL_SEARCH=false",
    NULL,
};
static const char *const env_2_1_197[] = {
    /* "<system-reminder><total_tokens>N tokens left</total_tokens></system-reminder>" on every user
     * message and inside tool results (2.1.332; 2.1.197 knows the switch). */
    "CLAUDE_CODE_TOTAL_TOKENS_REMINDER=off",
    NULL,
};
static const char *const env_2_1_332[] = {
    /* thinking settings upstream gain `display: "updates"` without it. */
    "CLAUDE_CODE_THINKING_DISPLAY_UPDATES=0",
    NULL,
};
static const char *const env_none[] = {NULL};

static const cli_traits_t rows[] = {
    {0, 0, 0, .takes_loopback_sdk_url = true, .child_env = env_every},
    {2, 1, 100, .takes_loopback_sdk_url = true, .takes_init_system_prompt = true, .child_env = env_none},
    {2, 1, 121, .takes_init_system_prompt = true, .child_env = env_none},
    {2, 1, 197, .takes_init_system_prompt = true, .rewinds_conversation = true, .child_env = env_2_1_197},
    {2, 1, 332, .takes_init_system_prompt = true, .closes_broken_attempt = true, .has_interrupt_tail = true,
     .rewinds_conversation = true, .rewinds_first_turn = true, .child_env = env_2_1_332},
};
#define ROWS (sizeof rows / sizeof rows[0])

static int compare(const cli_traits_t *r, int major, int minor, int patch) {
    if (r->major != major) return r->major < major ? -1 : 1;
    if (r->minor != minor) return r->minor < minor ? -1 : 1;
    if (r->patch != patch) return r->patch < patch ? -1 : 1;
    return 0;
}

/* Index of the last row at or before the version. */
static size_t row_of(int major, int minor, int patch, bool is_known) {
    if (!is_known) return ROWS - 1;
    size_t at = 0;
    for (size_t i = 0; i < ROWS; i++)
        if (compare(&rows[i], major, minor, patch) <= 0) at = i;
    return at;
}

const cli_traits_t *cli_traits(int major, int minor, int patch, bool is_known) {
    return &rows[row_of(major, minor, patch, is_known)];
}

void cli_traits_env(int major, int minor, int patch, bool is_known, void (*fn)(const char *kv, void *arg),
                    void *arg) {
    size_t last = row_of(major, minor, patch, is_known);
    for (size_t i = 0; i <= last; i++)
        for (const char *const *kv = rows[i].child_env; *kv; kv++) fn(*kv, arg);
}
