/*
 * What each Claude Code CLI version needs, in one table (cli_versions.c): its transport, the settings
 * its children get, how it takes the system prompt, and what its retries and interrupts look like.
 * Code asks cli_traits() instead of comparing version numbers itself.
 */
#ifndef CWP_ENGINE_CLI_VERSIONS_H
#define CWP_ENGINE_CLI_VERSIONS_H
#include <stdbool.h>

/* The CLI versions the tests pin (scripts/install-test-deps.sh installs each). */
#define CLI_PINNED_VERSIONS "2.1.100 2.1.197 2.1.332"
/* The newest version that takes a loopback --sdk-url (the table's 2.1.121 row is the first that refuses). */
#define CLI_LAST_LOOPBACK_SDK_URL "2.1.120"

typedef struct {
    int major, minor, patch; /* the first version this row describes (rows are cumulative) */
    /* Accepts `--sdk-url ws://127.0.0.1:...` (2.1.121 and later refuse a non-Anthropic host). */
    bool takes_loopback_sdk_url;
    /* Honours initialize's `systemPrompt` (a string); older builds read --system-prompt-file. */
    bool takes_init_system_prompt;
    /* After a broken stream the retried answer arrives only as assistant lines; this version first
     * closes the broken attempt with content_block_stop + message_stop (no message_delta). */
    bool closes_broken_attempt;
    /* On interrupt it sends content_block_stop, message_delta (stop_reason null) and message_stop
     * before the result. */
    bool has_interrupt_tail;
    /* Takes back a turn with `rewind_conversation` {target_message_uuid}: the conversation is again what
     * it was before that user line (measured on 2.1.197; 2.1.100 does not know the request). */
    bool rewinds_conversation;
    /* ... also the first turn of a conversation (2.1.197 refuses it: "no preceding assistant"). */
    bool rewinds_first_turn;
    /* "KEY=VALUE" settings its children get unless the operator set KEY (NULL-terminated; rows add up). */
    const char *const *child_env;
} cli_traits_t;

/* The traits of a version (NULL or 0.0.0: the newest row — an unknown CLI is taken to be current).
 * child_env of the result holds only that row's additions: use cli_traits_env to walk all of them. */
const cli_traits_t *cli_traits(int major, int minor, int patch, bool is_known);
/* Calls fn for every "KEY=VALUE" the version's children get (the settings of every row up to it; the
 * first row's apply to every version, so there is always one). */
void cli_traits_env(int major, int minor, int patch, bool is_known, void (*fn)(const char *kv, void *arg),
                    void *arg);

#endif
