/*
 * The models the CLI knows, as its initialize response lists them (`models`: {value, resolvedModel,
 * displayName, description}; 2.1.100 has no resolvedModel). /v1/models merges them with config `models`.
 */
#ifndef CWP_ENGINE_CLI_MODELS_H
#define CWP_ENGINE_CLI_MODELS_H
#include <stdbool.h>
#include <stddef.h>
#include <yyjson.h>

#define CLI_MODELS_MAX 64
#define CLI_MODEL_ID_MAX 96

typedef struct {
    char id[CLI_MODEL_ID_MAX];           /* "claude-opus-5-5" */
    char display_name[CLI_MODEL_ID_MAX]; /* "Claude Opus 5.5" */
} cli_model_t;

typedef struct {
    cli_model_t models[CLI_MODELS_MAX];
    size_t count;
} cli_models_t;

/* Take the ids an initialize response's `models` array names (resolved aliases and full ids, without a
 * "[1m]"-style suffix), keeping those already known. Returns how many were new. */
size_t cli_models_take(cli_models_t *m, yyjson_val *models);
bool cli_models_has(const cli_models_t *m, const char *id);

#endif
