/* tool_choice: parsing, the tools offered, the instruction to the model, permission. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "engine/tool_choice.h"

static const char *TOOLS = "[{\"name\":\"get_weather\",\"input_schema\":{\"type\":\"object\"}},"
                           "{\"name\":\"get_time\",\"input_schema\":{\"type\":\"object\"}}]";

static yyjson_doc *parse(const char *json) {
    yyjson_doc *d = yyjson_read(json, strlen(json), 0);
    assert_non_null(d);
    return d;
}

static int choose(const char *json, tool_choice_t *c, char *err) {
    yyjson_doc *d = json ? parse(json) : NULL;
    int rc = tool_choice_parse(d ? yyjson_doc_get_root(d) : NULL, c, err, 256);
    yyjson_doc_free(d);
    return rc;
}

static void parses_every_kind(void **state) {
    tool_choice_t c;
    char err[256];
    assert_int_equal(choose(NULL, &c, err), 0);
    assert_int_equal(c.kind, TOOL_CHOICE_AUTO);
    assert_int_equal(choose("{\"type\":\"none\"}", &c, err), 0);
    assert_int_equal(c.kind, TOOL_CHOICE_NONE);
    assert_int_equal(choose("{\"type\":\"any\",\"disable_parallel_tool_use\":true}", &c, err), 0);
    assert_int_equal(c.kind, TOOL_CHOICE_ANY);
    assert_true(c.is_parallel_disabled);
    assert_int_equal(choose("{\"type\":\"tool\",\"name\":\"get_time\"}", &c, err), 0);
    assert_int_equal(c.kind, TOOL_CHOICE_TOOL);
    assert_string_equal(c.name, "get_time");
    assert_int_equal(choose("{\"type\":\"tool\"}", &c, err), -1);
    assert_non_null(strstr(err, "tool_choice.name"));
    assert_int_equal(choose("{\"type\":\"sometimes\"}", &c, err), -1);
}

/* Names of the offered tools, comma-separated ("" when none are offered). */
static void offered(const char *choice, bool history_has_tools, char *out, int *rc) {
    tool_choice_t c;
    char err[256];
    assert_int_equal(choose(choice, &c, err), 0);
    yyjson_doc *tools = parse(TOOLS);
    yyjson_mut_doc *doc = yyjson_mut_doc_new(NULL);
    yyjson_mut_val *arr;
    *rc = tool_choice_offered(&c, yyjson_doc_get_root(tools), history_has_tools, doc, &arr, err, sizeof err);
    out[0] = '\0';
    size_t i, max;
    yyjson_mut_val *t;
    yyjson_mut_arr_foreach(arr, i, max, t) {
        if (i) strcat(out, ",");
        strcat(out, yyjson_mut_get_str(yyjson_mut_obj_get(t, "name")));
    }
    yyjson_mut_doc_free(doc);
    yyjson_doc_free(tools);
}

static void offers_what_the_choice_allows(void **state) {
    char names[256];
    int rc;
    offered(NULL, false, names, &rc);
    assert_string_equal(names, "get_weather,get_time");
    offered("{\"type\":\"any\"}", false, names, &rc);
    assert_string_equal(names, "get_weather,get_time");
    offered("{\"type\":\"tool\",\"name\":\"get_time\"}", false, names, &rc);
    assert_string_equal(names, "get_time");
    offered("{\"type\":\"none\"}", false, names, &rc);
    assert_string_equal(names, "");
    /* A history with tool blocks needs tool definitions upstream, even under "none". */
    offered("{\"type\":\"none\"}", true, names, &rc);
    assert_string_equal(names, "get_weather,get_time");
    offered("{\"type\":\"tool\",\"name\":\"nope\"}", false, names, &rc);
    assert_int_equal(rc, -1);
}

static void the_reminder_says_what_is_asked(void **state) {
    tool_choice_t c;
    char err[256], text[TOOL_CHOICE_MAX_REMINDER];
    assert_int_equal(choose(NULL, &c, err), 0);
    assert_false(tool_choice_reminder(&c, true, text, sizeof text));
    assert_int_equal(choose("{\"type\":\"tool\",\"name\":\"get_time\"}", &c, err), 0);
    assert_false(tool_choice_reminder(&c, false, text, sizeof text)); /* nothing offered: nothing to say */
    assert_true(tool_choice_reminder(&c, true, text, sizeof text));
    assert_non_null(strstr(text, "<system-reminder>"));
    assert_non_null(strstr(text, "you must call the tool mcp__client__get_time"));
    assert_int_equal(choose("{\"type\":\"auto\",\"disable_parallel_tool_use\":true}", &c, err), 0);
    assert_true(tool_choice_reminder(&c, true, text, sizeof text));
    assert_non_null(strstr(text, "Call at most one tool"));
    assert_int_equal(choose("{\"type\":\"none\"}", &c, err), 0);
    assert_true(tool_choice_reminder(&c, true, text, sizeof text));
    assert_non_null(strstr(text, "Do not call any tool"));
}

static void history_and_results_are_detected(void **state) {
    yyjson_doc *m = parse("[{\"role\":\"user\",\"content\":\"hi\"},{\"role\":\"assistant\",\"content\":[{\"type\":"
                          "\"tool_use\",\"id\":\"t\",\"name\":\"x\",\"input\":{}}]},{\"role\":\"user\",\"content\":"
                          "[{\"type\":\"tool_result\",\"tool_use_id\":\"t\"}]}]");
    yyjson_val *msgs = yyjson_doc_get_root(m);
    assert_true(tool_choice_history_has_tools(msgs));
    assert_true(tool_choice_has_results(yyjson_obj_get(yyjson_arr_get(msgs, 2), "content")));
    assert_false(tool_choice_has_results(yyjson_obj_get(yyjson_arr_get(msgs, 0), "content")));
    yyjson_doc_free(m);
    m = parse("[{\"role\":\"user\",\"content\":[{\"type\":\"text\",\"text\":\"hi\"}]}]");
    assert_false(tool_choice_history_has_tools(yyjson_doc_get_root(m)));
    yyjson_doc_free(m);
}

static void a_string_content_gains_a_text_block(void **state) {
    yyjson_doc *d = parse("\"hello\"");
    yyjson_mut_doc *doc = yyjson_mut_doc_new(NULL);
    yyjson_mut_val *v = tool_choice_append_text(doc, yyjson_doc_get_root(d), "note");
    assert_int_equal(yyjson_mut_arr_size(v), 2);
    assert_string_equal(yyjson_mut_get_str(yyjson_mut_obj_get(yyjson_mut_arr_get(v, 0), "text")), "hello");
    assert_string_equal(yyjson_mut_get_str(yyjson_mut_obj_get(yyjson_mut_arr_get(v, 1), "text")), "note");
    yyjson_mut_doc_free(doc);
    yyjson_doc_free(d);
}

static void seeded_results_carry_the_note_in_the_last_result(void **state) {
    yyjson_doc *m = parse("[{\"role\":\"user\",\"content\":\"go\"},"
                          "{\"role\":\"assistant\",\"content\":[{\"type\":\"tool_use\",\"id\":\"a\"}]},"
                          "{\"role\":\"user\",\"content\":[{\"type\":\"tool_result\",\"tool_use_id\":\"a\",\"content\":\"1\"},"
                          "{\"type\":\"tool_result\",\"tool_use_id\":\"b\",\"content\":\"2\"},{\"type\":\"text\",\"text\":\"t\"}]}]");
    yyjson_doc *seed = tool_choice_seed_messages(yyjson_doc_get_root(m), "note");
    assert_non_null(seed);
    yyjson_val *msgs = yyjson_doc_get_root(seed);
    assert_int_equal(yyjson_arr_size(msgs), 3);
    assert_string_equal(yyjson_get_str(yyjson_obj_get(yyjson_arr_get(msgs, 0), "content")), "go");
    yyjson_val *last = yyjson_obj_get(yyjson_arr_get(msgs, 2), "content");
    assert_int_equal(yyjson_arr_size(last), 3);
    assert_string_equal(yyjson_get_str(yyjson_obj_get(yyjson_arr_get(last, 0), "content")), "1");
    yyjson_val *second = yyjson_obj_get(yyjson_arr_get(last, 1), "content");
    assert_int_equal(yyjson_arr_size(second), 2);
    assert_string_equal(yyjson_get_str(yyjson_obj_get(yyjson_arr_get(second, 0), "text")), "2");
    assert_string_equal(yyjson_get_str(yyjson_obj_get(yyjson_arr_get(second, 1), "text")), "note");
    assert_string_equal(yyjson_get_str(yyjson_obj_get(yyjson_arr_get(last, 2), "text")), "t");
    yyjson_doc_free(seed);
    yyjson_doc_free(m);
}

static void permission_follows_the_choice(void **state) {
    tool_choice_t c;
    char err[256];
    assert_int_equal(choose("{\"type\":\"tool\",\"name\":\"get_time\"}", &c, err), 0);
    assert_true(tool_choice_allows(&c, "mcp__client__get_time"));
    assert_true(tool_choice_allows(&c, "get_time"));
    assert_false(tool_choice_allows(&c, "mcp__client__get_weather"));
    assert_int_equal(choose("{\"type\":\"any\"}", &c, err), 0);
    assert_true(tool_choice_allows(&c, "mcp__client__get_weather"));
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(parses_every_kind),
        cmocka_unit_test(offers_what_the_choice_allows),
        cmocka_unit_test(the_reminder_says_what_is_asked),
        cmocka_unit_test(history_and_results_are_detected),
        cmocka_unit_test(a_string_content_gains_a_text_block),
        cmocka_unit_test(seeded_results_carry_the_note_in_the_last_result),
        cmocka_unit_test(permission_follows_the_choice),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
