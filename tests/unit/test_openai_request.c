/* Chat Completions request → canonical Anthropic Messages request (src/api/openai_request.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "api/openai.h"

typedef struct {
    config_t cfg;
    openai_request_t req;
    api_problem_t why;
    yyjson_doc *in;
} fixture_t;

static int setup(void **state) {
    fixture_t *f = calloc(1, sizeof *f);
    config_init_defaults(&f->cfg);
    /* config_free releases aliases, so they are heap-owned like a loaded config's. */
    f->cfg.aliases = calloc(1, sizeof(model_alias_t));
    f->cfg.aliases[0].alias = strdup("gpt-4o");
    f->cfg.aliases[0].target = strdup("claude-sonnet-4-5");
    f->cfg.alias_count = 1;
    *state = f;
    return 0;
}

static int teardown(void **state) {
    fixture_t *f = *state;
    openai_request_free(&f->req);
    yyjson_doc_free(f->in);
    config_free(&f->cfg);
    free(f);
    return 0;
}

static int convert(fixture_t *f, const char *json) {
    openai_request_free(&f->req);
    yyjson_doc_free(f->in);
    f->in = yyjson_read(json, strlen(json), 0);
    assert_non_null(f->in);
    return openai_request_convert(&f->cfg, yyjson_doc_get_root(f->in), &f->req, &f->why);
}

static yyjson_mut_val *body(fixture_t *f) { return yyjson_mut_doc_get_root(f->req.doc); }
static yyjson_mut_val *field(fixture_t *f, const char *key) { return yyjson_mut_obj_get(body(f), key); }
static yyjson_mut_val *message(fixture_t *f, size_t i) { return yyjson_mut_arr_get(field(f, "messages"), i); }
static const char *str_at(yyjson_mut_val *obj, const char *key) { return yyjson_mut_get_str(yyjson_mut_obj_get(obj, key)); }

static void system_and_developer_join_in_order(void **state) {
    fixture_t *f = *state;
    assert_int_equal(convert(f, "{\"model\":\"claude-x\",\"messages\":["
                                "{\"role\":\"system\",\"content\":\"Be brief.\"},"
                                "{\"role\":\"developer\",\"content\":[{\"type\":\"text\",\"text\":\"Speak French.\"}]},"
                                "{\"role\":\"user\",\"content\":\"hi\"}]}"),
                     0);
    assert_string_equal(yyjson_mut_get_str(field(f, "system")), "Be brief.\n\nSpeak French.");
    assert_int_equal(yyjson_mut_arr_size(field(f, "messages")), 1);
    assert_string_equal(str_at(message(f, 0), "role"), "user");
    assert_string_equal(str_at(message(f, 0), "content"), "hi");
}

static void no_system_means_no_system_field(void **state) {
    fixture_t *f = *state;
    assert_int_equal(convert(f, "{\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}"), 0);
    assert_null(field(f, "system"));
}

static void image_data_url_becomes_base64_block(void **state) {
    fixture_t *f = *state;
    assert_int_equal(convert(f, "{\"messages\":[{\"role\":\"user\",\"content\":["
                                "{\"type\":\"text\",\"text\":\"what is this?\"},"
                                "{\"type\":\"image_url\",\"image_url\":{\"url\":\"data:image/png;base64,iVBORw0KGgo=\",\"detail\":\"low\"}}]}]}"),
                     0);
    yyjson_mut_val *content = yyjson_mut_obj_get(message(f, 0), "content");
    assert_int_equal(yyjson_mut_arr_size(content), 2);
    assert_string_equal(str_at(yyjson_mut_arr_get(content, 0), "text"), "what is this?");
    yyjson_mut_val *image = yyjson_mut_arr_get(content, 1);
    assert_string_equal(str_at(image, "type"), "image");
    yyjson_mut_val *src = yyjson_mut_obj_get(image, "source");
    assert_string_equal(str_at(src, "type"), "base64");
    assert_string_equal(str_at(src, "media_type"), "image/png");
    assert_string_equal(str_at(src, "data"), "iVBORw0KGgo=");
}

static void image_https_url_becomes_url_source(void **state) {
    fixture_t *f = *state;
    assert_int_equal(convert(f, "{\"messages\":[{\"role\":\"user\",\"content\":["
                                "{\"type\":\"image_url\",\"image_url\":{\"url\":\"https://example.com/cat.jpg\"}}]}]}"),
                     0);
    yyjson_mut_val *src = yyjson_mut_obj_get(yyjson_mut_arr_get(yyjson_mut_obj_get(message(f, 0), "content"), 0), "source");
    assert_string_equal(str_at(src, "type"), "url");
    assert_string_equal(str_at(src, "url"), "https://example.com/cat.jpg");
}

static void bad_image_url_is_rejected_with_its_path(void **state) {
    fixture_t *f = *state;
    assert_int_equal(convert(f, "{\"messages\":[{\"role\":\"user\",\"content\":[{\"type\":\"text\",\"text\":\"x\"},"
                                "{\"type\":\"image_url\",\"image_url\":{\"url\":\"data:image/bmp;base64,AAAA\"}}]}]}"),
                     -1);
    assert_string_equal(f->why.param, "messages[0].content[1].image_url.url");
    assert_non_null(strstr(f->why.message, "image/bmp"));
    assert_int_equal(convert(f, "{\"messages\":[{\"role\":\"user\",\"content\":["
                                "{\"type\":\"image_url\",\"image_url\":{\"url\":\"ftp://x/y.png\"}}]}]}"),
                     -1);
    assert_string_equal(f->why.param, "messages[0].content[0].image_url.url");
}

static void stop_string_and_array(void **state) {
    fixture_t *f = *state;
    assert_int_equal(convert(f, "{\"stop\":\"END\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}"), 0);
    yyjson_mut_val *seqs = field(f, "stop_sequences");
    assert_int_equal(yyjson_mut_arr_size(seqs), 1);
    assert_string_equal(yyjson_mut_get_str(yyjson_mut_arr_get(seqs, 0)), "END");
    assert_int_equal(convert(f, "{\"stop\":[\"a\",\"b\"],\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}"), 0);
    seqs = field(f, "stop_sequences");
    assert_int_equal(yyjson_mut_arr_size(seqs), 2);
    assert_string_equal(yyjson_mut_get_str(yyjson_mut_arr_get(seqs, 1)), "b");
    assert_int_equal(convert(f, "{\"stop\":null,\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}"), 0);
    assert_null(field(f, "stop_sequences"));
    assert_int_equal(convert(f, "{\"stop\":[1],\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}"), -1);
    assert_string_equal(f->why.param, "stop");
}

static void n_other_than_one_is_rejected(void **state) {
    fixture_t *f = *state;
    assert_int_equal(convert(f, "{\"n\":2,\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}"), -1);
    assert_string_equal(f->why.param, "n");
    assert_int_equal(convert(f, "{\"n\":1,\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}"), 0);
}

static void max_completion_tokens_wins_and_default_applies(void **state) {
    fixture_t *f = *state;
    assert_int_equal(convert(f, "{\"max_tokens\":50,\"max_completion_tokens\":77,"
                                "\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}"),
                     0);
    assert_int_equal(yyjson_mut_get_sint(field(f, "max_tokens")), 77);
    assert_int_equal(convert(f, "{\"max_tokens\":50,\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}"), 0);
    assert_int_equal(yyjson_mut_get_sint(field(f, "max_tokens")), 50);
    assert_int_equal(convert(f, "{\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}"), 0);
    assert_int_equal(yyjson_mut_get_sint(field(f, "max_tokens")), OPENAI_DEFAULT_MAX_TOKENS);
    assert_int_equal(convert(f, "{\"max_tokens\":0,\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}"), -1);
    assert_string_equal(f->why.param, "max_tokens");
}

static void alias_resolves_but_requested_name_is_kept(void **state) {
    fixture_t *f = *state;
    assert_int_equal(convert(f, "{\"model\":\"gpt-4o\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}"), 0);
    assert_string_equal(yyjson_mut_get_str(field(f, "model")), "claude-sonnet-4-5");
    assert_string_equal(f->req.model, "gpt-4o");
    assert_int_equal(convert(f, "{\"model\":42,\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}"), -1);
    assert_string_equal(f->why.param, "model");
}

static void absent_model_uses_the_default(void **state) {
    fixture_t *f = *state;
    assert_int_equal(convert(f, "{\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}"), 0);
    assert_non_null(yyjson_mut_get_str(field(f, "model")));
    assert_non_null(f->req.model);
}

static void response_format_becomes_json_schema(void **state) {
    fixture_t *f = *state;
    assert_int_equal(convert(f, "{\"response_format\":{\"type\":\"json_schema\",\"json_schema\":{\"name\":\"p\","
                                "\"schema\":{\"type\":\"object\",\"properties\":{\"name\":{\"type\":\"string\"}}}}},"
                                "\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}"),
                     0);
    assert_non_null(f->req.json_schema);
    yyjson_doc *schema = yyjson_read(f->req.json_schema, strlen(f->req.json_schema), 0);
    assert_non_null(schema);
    assert_string_equal(yyjson_get_str(yyjson_ptr_get(yyjson_doc_get_root(schema), "/properties/name/type")), "string");
    yyjson_doc_free(schema);

    assert_int_equal(convert(f, "{\"response_format\":{\"type\":\"json_object\"},\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}"), 0);
    assert_string_equal(f->req.json_schema, "{\"type\":\"object\"}");
    assert_int_equal(convert(f, "{\"response_format\":{\"type\":\"text\"},\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}"), 0);
    assert_null(f->req.json_schema);
    assert_int_equal(convert(f, "{\"response_format\":{\"type\":\"json_schema\",\"json_schema\":{\"schema\":{\"type\":\"array\"}}},"
                                "\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}"),
                     -1);
    assert_string_equal(f->why.param, "response_format.json_schema.schema");
    assert_int_equal(convert(f, "{\"response_format\":{\"type\":\"yaml\"},\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}"), -1);
    assert_string_equal(f->why.param, "response_format.type");
}

static void validation_names_the_field(void **state) {
    fixture_t *f = *state;
    assert_int_equal(convert(f, "{\"model\":\"x\"}"), -1);
    assert_string_equal(f->why.param, "messages");
    assert_int_equal(convert(f, "{\"messages\":[]}"), -1);
    assert_string_equal(f->why.param, "messages");
    assert_int_equal(convert(f, "{\"messages\":[{\"role\":\"user\",\"content\":\"a\"},{\"role\":\"wizard\",\"content\":\"b\"}]}"), -1);
    assert_string_equal(f->why.param, "messages[1].role");
    assert_int_equal(convert(f, "{\"messages\":[{\"role\":\"user\",\"content\":42}]}"), -1);
    assert_string_equal(f->why.param, "messages[0].content");
    assert_int_equal(convert(f, "{\"messages\":[{\"role\":\"user\",\"content\":\"a\"},{\"role\":\"assistant\",\"content\":\"b\"}]}"), -1);
    assert_string_equal(f->why.param, "messages");
    assert_int_equal(convert(f, "{\"messages\":[{\"role\":\"user\",\"content\":\"a\"}],\"stream\":\"yes\"}"), -1);
    assert_string_equal(f->why.param, "stream");
    assert_int_equal(convert(f, "[1,2]"), -1);
}

static void history_assistant_is_a_plain_string(void **state) {
    fixture_t *f = *state;
    assert_int_equal(convert(f, "{\"messages\":[{\"role\":\"user\",\"content\":\"one\"},"
                                "{\"role\":\"assistant\",\"content\":[{\"type\":\"text\",\"text\":\"Hel\"},{\"type\":\"text\",\"text\":\"lo\"}]},"
                                "{\"role\":\"user\",\"content\":\"two\"}]}"),
                     0);
    assert_int_equal(yyjson_mut_arr_size(field(f, "messages")), 3);
    assert_string_equal(str_at(message(f, 1), "role"), "assistant");
    assert_string_equal(str_at(message(f, 1), "content"), "Hello");
    assert_string_equal(str_at(message(f, 2), "content"), "two");
}

static void consecutive_user_messages_merge(void **state) {
    fixture_t *f = *state;
    assert_int_equal(convert(f, "{\"messages\":[{\"role\":\"user\",\"content\":\"one\"},{\"role\":\"user\",\"content\":\"two\"}]}"), 0);
    assert_int_equal(yyjson_mut_arr_size(field(f, "messages")), 1);
    yyjson_mut_val *content = yyjson_mut_obj_get(message(f, 0), "content");
    assert_int_equal(yyjson_mut_arr_size(content), 2);
    assert_string_equal(str_at(yyjson_mut_arr_get(content, 0), "text"), "one");
    assert_string_equal(str_at(yyjson_mut_arr_get(content, 1), "text"), "two");
}

static void stream_flags_are_read(void **state) {
    fixture_t *f = *state;
    assert_int_equal(convert(f, "{\"stream\":true,\"stream_options\":{\"include_usage\":true},"
                                "\"temperature\":0.2,\"top_p\":1,\"seed\":7,\"user\":\"u\",\"logprobs\":false,"
                                "\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}"),
                     0);
    assert_true(f->req.is_stream);
    assert_true(f->req.include_usage);
    assert_null(field(f, "temperature"));
}

static void reasoning_effort_sets_effort_and_thinking(void **state) {
    fixture_t *f = *state;
    assert_int_equal(convert(f, "{\"reasoning_effort\":\"high\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}"), 0);
    assert_string_equal(f->req.effort, "high");
    yyjson_mut_val *thinking = field(f, "thinking");
    assert_string_equal(str_at(thinking, "type"), "enabled");
    assert_true(yyjson_mut_get_sint(yyjson_mut_obj_get(thinking, "budget_tokens")) < OPENAI_DEFAULT_MAX_TOKENS);
    /* A budget that cannot fit under max_tokens is left out rather than sent broken. */
    assert_int_equal(convert(f, "{\"reasoning_effort\":\"low\",\"max_tokens\":100,\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}"), 0);
    assert_string_equal(f->req.effort, "low");
    assert_null(field(f, "thinking"));
    assert_int_equal(convert(f, "{\"reasoning_effort\":\"none\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}"), 0);
    assert_null(f->req.effort);
    assert_string_equal(str_at(field(f, "thinking"), "type"), "disabled");
    assert_int_equal(convert(f, "{\"reasoning_effort\":\"max\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}"), -1);
    assert_string_equal(f->why.param, "reasoning_effort");
}

static void tools_are_converted_and_flagged(void **state) {
    fixture_t *f = *state;
    assert_int_equal(convert(f, "{\"tools\":[{\"type\":\"function\",\"function\":{\"name\":\"get_weather\",\"description\":\"d\","
                                "\"parameters\":{\"type\":\"object\",\"properties\":{\"city\":{\"type\":\"string\"}}}}}],"
                                "\"tool_choice\":\"required\",\"messages\":[{\"role\":\"user\",\"content\":\"weather?\"},"
                                "{\"role\":\"assistant\",\"content\":null,\"tool_calls\":[{\"id\":\"call_1\",\"type\":\"function\","
                                "\"function\":{\"name\":\"get_weather\",\"arguments\":\"{\\\"city\\\":\\\"Paris\\\"}\"}}]},"
                                "{\"role\":\"tool\",\"tool_call_id\":\"call_1\",\"content\":\"sunny\"}]}"),
                     0);
    assert_non_null(f->req.tools_param);
    yyjson_mut_val *tool = yyjson_mut_arr_get(field(f, "tools"), 0);
    assert_string_equal(str_at(tool, "name"), "get_weather");
    assert_string_equal(str_at(yyjson_mut_obj_get(tool, "input_schema"), "type"), "object");
    assert_string_equal(str_at(field(f, "tool_choice"), "type"), "any");
    yyjson_mut_val *use = yyjson_mut_arr_get(yyjson_mut_obj_get(message(f, 1), "content"), 0);
    assert_string_equal(str_at(use, "type"), "tool_use");
    assert_string_equal(str_at(use, "id"), "call_1");
    assert_string_equal(str_at(yyjson_mut_obj_get(use, "input"), "city"), "Paris");
    yyjson_mut_val *result = yyjson_mut_arr_get(yyjson_mut_obj_get(message(f, 2), "content"), 0);
    assert_string_equal(str_at(message(f, 2), "role"), "user");
    assert_string_equal(str_at(result, "type"), "tool_result");
    assert_string_equal(str_at(result, "tool_use_id"), "call_1");
    assert_string_equal(str_at(result, "content"), "sunny");

    assert_int_equal(convert(f, "{\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}"), 0);
    assert_null(f->req.tools_param);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(system_and_developer_join_in_order, setup, teardown),
        cmocka_unit_test_setup_teardown(no_system_means_no_system_field, setup, teardown),
        cmocka_unit_test_setup_teardown(image_data_url_becomes_base64_block, setup, teardown),
        cmocka_unit_test_setup_teardown(image_https_url_becomes_url_source, setup, teardown),
        cmocka_unit_test_setup_teardown(bad_image_url_is_rejected_with_its_path, setup, teardown),
        cmocka_unit_test_setup_teardown(stop_string_and_array, setup, teardown),
        cmocka_unit_test_setup_teardown(n_other_than_one_is_rejected, setup, teardown),
        cmocka_unit_test_setup_teardown(max_completion_tokens_wins_and_default_applies, setup, teardown),
        cmocka_unit_test_setup_teardown(alias_resolves_but_requested_name_is_kept, setup, teardown),
        cmocka_unit_test_setup_teardown(absent_model_uses_the_default, setup, teardown),
        cmocka_unit_test_setup_teardown(response_format_becomes_json_schema, setup, teardown),
        cmocka_unit_test_setup_teardown(validation_names_the_field, setup, teardown),
        cmocka_unit_test_setup_teardown(history_assistant_is_a_plain_string, setup, teardown),
        cmocka_unit_test_setup_teardown(consecutive_user_messages_merge, setup, teardown),
        cmocka_unit_test_setup_teardown(stream_flags_are_read, setup, teardown),
        cmocka_unit_test_setup_teardown(reasoning_effort_sets_effort_and_thinking, setup, teardown),
        cmocka_unit_test_setup_teardown(tools_are_converted_and_flagged, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
