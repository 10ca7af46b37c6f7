/* The count_tokens estimate (src/api/anthropic_tokens.c): grows with the input, counts images and tools. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "api/anthropic.h"

static int64_t count(const char *json) {
    yyjson_doc *doc = yyjson_read(json, strlen(json), 0);
    assert_non_null(doc);
    int64_t n = anthropic_count_tokens(yyjson_doc_get_root(doc));
    yyjson_doc_free(doc);
    return n;
}

static int64_t count_text(size_t chars) {
    char *text = malloc(chars + 1);
    memset(text, 'a', chars);
    text[chars] = '\0';
    yyjson_mut_doc *doc = yyjson_mut_doc_new(NULL);
    yyjson_mut_val *root = yyjson_mut_obj(doc);
    yyjson_mut_doc_set_root(doc, root);
    yyjson_mut_val *msgs = yyjson_mut_obj_add_arr(doc, root, "messages");
    yyjson_mut_val *m = yyjson_mut_arr_add_obj(doc, msgs);
    yyjson_mut_obj_add_str(doc, m, "role", "user");
    yyjson_mut_obj_add_strcpy(doc, m, "content", text);
    char *json = yyjson_mut_write(doc, 0, NULL);
    int64_t n = count(json);
    free(json);
    yyjson_mut_doc_free(doc);
    free(text);
    return n;
}

static void grows_with_text(void **state) {
    (void)state;
    int64_t small = count_text(40), big = count_text(4000);
    assert_true(small > 0);
    assert_true(big > small);
    /* About one token per four characters. */
    assert_int_equal(big - small, (4000 - 40) / 4);
}

static void counts_system_and_every_message(void **state) {
    (void)state;
    int64_t base = count("{\"messages\":[{\"role\":\"user\",\"content\":\"hello there\"}]}");
    int64_t with_system = count("{\"system\":\"You are a very helpful assistant.\","
                                "\"messages\":[{\"role\":\"user\",\"content\":\"hello there\"}]}");
    int64_t with_blocks = count("{\"system\":[{\"type\":\"text\",\"text\":\"You are a very helpful assistant.\"}],"
                                "\"messages\":[{\"role\":\"user\",\"content\":\"hello there\"}]}");
    int64_t three = count("{\"messages\":[{\"role\":\"user\",\"content\":\"hello there\"},"
                          "{\"role\":\"assistant\",\"content\":\"hi\"},{\"role\":\"user\",\"content\":\"hello there\"}]}");
    assert_true(with_system > base);
    assert_int_equal(with_system, with_blocks);
    assert_true(three >= base + 2 * ANTHROPIC_TOKENS_PER_MESSAGE + 3);
}

static void images_cost_a_fixed_amount(void **state) {
    (void)state;
    const char *text = "{\"messages\":[{\"role\":\"user\",\"content\":[{\"type\":\"text\",\"text\":\"what is this?\"}]}]}";
    const char *one = "{\"messages\":[{\"role\":\"user\",\"content\":[{\"type\":\"text\",\"text\":\"what is this?\"},"
                      "{\"type\":\"image\",\"source\":{\"type\":\"base64\",\"media_type\":\"image/png\",\"data\":\"iVBORw0KGgo=\"}}]}]}";
    const char *two = "{\"messages\":[{\"role\":\"user\",\"content\":[{\"type\":\"text\",\"text\":\"what is this?\"},"
                      "{\"type\":\"image\",\"source\":{\"type\":\"base64\",\"media_type\":\"image/png\",\"data\":\"iVBORw0KGgo=\"}},"
                      "{\"type\":\"image\",\"source\":{\"type\":\"url\",\"url\":\"https://example.com/a.png\"}}]}]}";
    assert_int_equal(count(one) - count(text), ANTHROPIC_TOKENS_PER_IMAGE);
    assert_int_equal(count(two) - count(text), 2 * ANTHROPIC_TOKENS_PER_IMAGE);
}

static void tools_and_tool_blocks_count(void **state) {
    (void)state;
    const char *plain = "{\"messages\":[{\"role\":\"user\",\"content\":\"weather?\"}]}";
    const char *tools = "{\"tools\":[{\"name\":\"get_weather\",\"description\":\"Get the current weather for a city\","
                        "\"input_schema\":{\"type\":\"object\",\"properties\":{\"city\":{\"type\":\"string\"}}}}],"
                        "\"messages\":[{\"role\":\"user\",\"content\":\"weather?\"}]}";
    int64_t a = count(plain), b = count(tools);
    assert_true(b > a + ANTHROPIC_TOKENS_TOOLS_BASE);
    const char *history = "{\"messages\":[{\"role\":\"user\",\"content\":\"weather?\"},"
                          "{\"role\":\"assistant\",\"content\":[{\"type\":\"tool_use\",\"id\":\"t1\",\"name\":\"get_weather\","
                          "\"input\":{\"city\":\"Paris\"}}]},"
                          "{\"role\":\"user\",\"content\":[{\"type\":\"tool_result\",\"tool_use_id\":\"t1\","
                          "\"content\":[{\"type\":\"text\",\"text\":\"Sunny and 24 degrees in Paris today\"}]}]}]}";
    assert_true(count(history) > a + 2 * ANTHROPIC_TOKENS_PER_MESSAGE + 10);
}

static void empty_request_costs_the_base(void **state) {
    (void)state;
    assert_int_equal(count("{}"), ANTHROPIC_TOKENS_BASE);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(grows_with_text),
        cmocka_unit_test(counts_system_and_every_message),
        cmocka_unit_test(images_cost_a_fixed_amount),
        cmocka_unit_test(tools_and_tool_blocks_count),
        cmocka_unit_test(empty_request_costs_the_base),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
