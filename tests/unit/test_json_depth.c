/* The nesting bound: iterative (130k levels do not touch the stack), exact at the limit, and names the field. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "engine/protocol.h"
#include "util/json_depth.h"

/* {"a":[{"k": <levels of [ ]>}]} as text. */
static char *nested(const char *prefix, size_t levels, const char *suffix) {
    size_t pn = strlen(prefix), sn = strlen(suffix);
    char *s = malloc(pn + 2 * levels + sn + 1);
    memcpy(s, prefix, pn);
    memset(s + pn, '[', levels);
    memset(s + pn + levels, ']', levels);
    memcpy(s + pn + 2 * levels, suffix, sn + 1);
    return s;
}

static yyjson_doc *read_str(const char *s) { return yyjson_read(s, strlen(s), 0); }

static void depth_at_the_limit_passes_one_more_fails(void **state) {
    (void)state;
    /* the root object is level 1, "k" holds levels 2..JSON_MAX_DEPTH */
    char *ok = nested("{\"k\":", JSON_MAX_DEPTH - 1, "}");
    char *deep = nested("{\"k\":", JSON_MAX_DEPTH, "}");
    yyjson_doc *a = read_str(ok), *b = read_str(deep);
    assert_non_null(a);
    assert_non_null(b);
    assert_true(json_depth_ok(yyjson_doc_get_root(a), JSON_MAX_DEPTH, NULL, 0));
    char path[96];
    assert_false(json_depth_ok(yyjson_doc_get_root(b), JSON_MAX_DEPTH, path, sizeof path));
    assert_string_equal(path, "k[0][0][0][0][0][0][0]...");
    yyjson_doc_free(a);
    yyjson_doc_free(b);
    free(ok);
    free(deep);
}

static void very_deep_input_names_the_field(void **state) {
    (void)state;
    char *s = nested("{\"model\":\"m\",\"tools\":[{\"name\":\"t\"},{\"name\":\"u\",\"input_schema\":", 130000, "}]}");
    yyjson_doc *doc = read_str(s);
    assert_non_null(doc);
    char path[96];
    assert_false(json_depth_ok(yyjson_doc_get_root(doc), JSON_MAX_DEPTH, path, sizeof path));
    assert_int_equal(strncmp(path, "tools[1].input_schema[0]", 24), 0);
    yyjson_doc_free(doc);
    free(s);
}

static void scalars_and_flat_documents_pass(void **state) {
    (void)state;
    const char *docs[] = {"1", "\"s\"", "{}", "[]", "[1,2,{\"a\":[{}]}]", "{\"a\":{\"b\":{\"c\":[]}},\"d\":[[],[]]}"};
    for (size_t i = 0; i < sizeof docs / sizeof docs[0]; i++) {
        yyjson_doc *doc = read_str(docs[i]);
        assert_true(json_depth_ok(yyjson_doc_get_root(doc), 4, NULL, 0));
        yyjson_doc_free(doc);
    }
    yyjson_doc *doc = read_str("[[[[[]]]]]");
    assert_false(json_depth_ok(yyjson_doc_get_root(doc), 4, NULL, 0));
    assert_true(json_depth_ok(yyjson_doc_get_root(doc), 5, NULL, 0));
    yyjson_doc_free(doc);
}

static void a_too_deep_cli_line_is_garbage(void **state) {
    (void)state;
    char *s = nested("{\"type\":\"assistant\",\"message\":{\"content\":", 130000, "}}");
    proto_line_t l;
    proto_parse_line(s, strlen(s), &l);
    assert_int_equal(l.kind, PROTO_GARBAGE);
    assert_null(l.doc);
    free(s);
    s = nested("{\"type\":\"assistant\",\"message\":{\"content\":", 20, "}}");
    proto_parse_line(s, strlen(s), &l);
    assert_int_equal(l.kind, PROTO_ASSISTANT);
    proto_line_free(&l);
    free(s);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(depth_at_the_limit_passes_one_more_fails),
        cmocka_unit_test(very_deep_input_names_the_field),
        cmocka_unit_test(scalars_and_flat_documents_pass),
        cmocka_unit_test(a_too_deep_cli_line_is_garbage),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
