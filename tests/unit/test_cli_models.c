/* The models an initialize response names, as /v1/models lists them. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "engine/cli_models.h"

/* Trimmed from 2.1.332's initialize response. */
static const char *const MODELS_332 =
    "[{\"value\":\"default\",\"resolvedModel\":\"claude-opus-5-5\",\"displayName\":\"Default (recommended)\","
    "\"description\":\"Use the default model (currently Opus 5.5) \xc2\xb7 $4/$20 per Mtok\"},"
    "{\"value\":\"opus\",\"resolvedModel\":\"claude-opus-5-5\",\"displayName\":\"Opus\","
    "\"description\":\"Opus 5.5 \xc2\xb7 Best for everyday, complex tasks\"},"
    "{\"value\":\"sonnet[1m]\",\"resolvedModel\":\"claude-sonnet-5-5[1m]\",\"displayName\":\"Sonnet (1M)\","
    "\"description\":\"Sonnet 5.5 with 1M context \xc2\xb7 long sessions\"},"
    "{\"value\":\"haiku\",\"resolvedModel\":\"claude-haiku-5-5\",\"displayName\":\"Haiku\","
    "\"description\":\"Haiku 5.5 \xc2\xb7 Fastest\"}]";
/* 2.1.100: aliases without resolvedModel, and one full id. */
static const char *const MODELS_100 =
    "[{\"value\":\"default\",\"displayName\":\"Default (recommended)\",\"description\":\"Use the default model\"},"
    "{\"value\":\"haiku\",\"displayName\":\"Haiku\",\"description\":\"Haiku 4.5 \xc2\xb7 Fastest\"},"
    "{\"value\":\"claude-sonnet-4-5\",\"displayName\":\"Sonnet 4.5\",\"description\":\"Newer version available\"},"
    "{\"value\":\"bad id\",\"resolvedModel\":\"not-claude\"}]";

static size_t take(cli_models_t *m, const char *json) {
    yyjson_doc *d = yyjson_read(json, strlen(json), 0);
    assert_non_null(d);
    size_t n = cli_models_take(m, yyjson_doc_get_root(d));
    yyjson_doc_free(d);
    return n;
}

static void resolved_aliases_become_model_ids(void **state) {
    cli_models_t m = {0};
    assert_int_equal(take(&m, MODELS_332), 3);
    assert_string_equal(m.models[0].id, "claude-opus-5-5");
    assert_string_equal(m.models[0].display_name, "Claude Opus 5.5");
    assert_string_equal(m.models[1].id, "claude-sonnet-5-5");
    assert_string_equal(m.models[1].display_name, "Claude Sonnet 5.5");
    assert_string_equal(m.models[2].id, "claude-haiku-5-5");
    assert_int_equal(take(&m, MODELS_332), 0); /* every session's initialize says the same */
    assert_int_equal(m.count, 3);
}

static void full_ids_are_kept_and_bare_aliases_dropped(void **state) {
    cli_models_t m = {0};
    assert_int_equal(take(&m, MODELS_100), 1);
    assert_string_equal(m.models[0].id, "claude-sonnet-4-5");
    assert_string_equal(m.models[0].display_name, "Claude Sonnet 4.5");
    assert_true(cli_models_has(&m, "claude-sonnet-4-5"));
    assert_false(cli_models_has(&m, "haiku"));
    assert_int_equal(take(&m, "{\"not\":\"an array\"}"), 0);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(resolved_aliases_become_model_ids),
        cmocka_unit_test(full_ids_are_kept_and_bare_aliases_dropped),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
