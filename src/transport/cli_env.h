/*
 * The environment a Claude Code CLI child sees, for every spawner (the engine's sessions, auth's
 * `claude auth ...` commands): the proxy's own environment filtered to what the CLI may need, plus its
 * HOME, its config dir, the quiet switches and (WebSocket transport) its access token.
 */
#ifndef CWP_TRANSPORT_CLI_ENV_H
#define CWP_TRANSPORT_CLI_ENV_H

/* The proxy's environment filtered to what a child may see (no HOME, no proxy secrets). */
char **cli_base_env(char *const *environ);
/* base + HOME, CLAUDE_CONFIG_DIR, the quiet switches, `settings` ("KEY=VALUE", NULL-terminated, may be
 * NULL: what the CLI's version needs, see engine/cli_versions.c; a KEY the operator set is kept), and
 * the WebSocket token when given. */
char **cli_build_env(char *const *base, const char *home, const char *config_dir, const char *ws_token,
                     char *const *settings);
/* Frees what the two above (and cli_build_argv) return. */
void cli_strv_free(char **v);

#endif
