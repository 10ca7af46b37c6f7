/* Shared between config.c (load, checks) and config_options.c / config_models.c (the key table). */
#ifndef CWP_CONFIG_INTERNAL_H
#define CWP_CONFIG_INTERNAL_H
#include <stdarg.h>
#include <stddef.h>
#include <yyjson.h>

#include "config.h"

/* Where a value came from, for error messages: "config.json: httpPort: ..." or "HTTP_PORT: ...". */
typedef struct {
    char *err;
    size_t err_len;
    const char *file; /* the config file's path, NULL for the environment */
} config_ctx_t;

int config_fail(config_ctx_t *ctx, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Apply every key of the file's root object (unknown keys, wrong types and ranges fail). */
int config_apply_json(config_t *cfg, yyjson_val *root, config_ctx_t *ctx);
/* Apply the environment variables the table names ("K=V" strings, NULL-terminated). */
int config_apply_env(config_t *cfg, char *const *envp, config_ctx_t *ctx);

/* models / modelAliases (config_models.c). */
int config_models_default(config_t *cfg);
int config_models_from_json(config_t *cfg, yyjson_val *arr, config_ctx_t *ctx);
int config_aliases_from_json(config_t *cfg, yyjson_val *obj, config_ctx_t *ctx);
void config_models_free(config_t *cfg);
void config_aliases_free(config_t *cfg);
/* accounts (config_accounts.c). */
int config_accounts_from_json(config_t *cfg, yyjson_val *arr, config_ctx_t *ctx);
void config_accounts_free(config_t *cfg);

#endif
