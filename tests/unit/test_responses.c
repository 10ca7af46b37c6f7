/* The Responses adapter's pure parts: request → canonical (responses_request.c, responses_tools.c),
 * engine blocks → items (responses_output.c), the bounded store (responses_store.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "api/responses.h"

typedef struct {
    config_t cfg;
    responses_request_t req;
    api_problem_t why;
    yyjson_doc *in;
} fixture_t;

static int setup(void **state) {
    fixture_t *f = calloc(1, sizeof *f);
    config_init_defaults(&f->cfg);
    *state = f;
    return 0;
}

static int teardown(void **state) {
    fixture_t *f = *state;
    responses_request_free(&f->req);
    yyjson_doc_free(f->in);
    config_free(&f->cfg);
    free(f);
    return 0;
}

static int convert(fixture_t *f, const char *json) {
    responses_request_free(&f->req);
    yyjson_doc_free(f->in);
    f->in = yyjson_read(json, strlen(json), 0);
    assert_non_null(f->in);
    return responses_request_convert(&f->cfg, yyjson_doc_get_root(f->in), NULL, &f->req, &f->why);
}

static yyjson_mut_val *canonical(fixture_t *f, const char *key) {
    return yyjson_mut_obj_get(yyjson_mut_doc_get_root(f->req.chat.doc), key);
}

static void string_input_is_one_user_message(void **state) {
    fixture_t *f = *state;
    assert_int_equal(convert(f, "{\"model\":\"claude-sonnet-4-5\",\"input\":\"hi\",\"instructions\":\"Be brief.\"}"), 0);
    yyjson_mut_val *msgs = canonical(f, "messages");
    assert_int_equal(yyjson_mut_arr_size(msgs), 1);
    assert_string_equal(yyjson_mut_get_str(yyjson_mut_obj_get(yyjson_mut_arr_get(msgs, 0), "content")), "hi");
    assert_string_equal(yyjson_mut_get_str(canonical(f, "system")), "Be brief.");
    assert_true(f->req.is_stored);
}

/* Codex's shape: developer messages, a function call and its output; they become system text, a
 * tool_use and a tool_result. */
static void codex_history_becomes_tool_use_and_result(void **state) {
    fixture_t *f = *state;
    assert_int_equal(convert(f, "{\"store\":false,\"input\":["
                                "{\"type\":\"message\",\"role\":\"developer\",\"content\":[{\"type\":\"input_text\",\"text\":\"harness\"}]},"
                                "{\"type\":\"message\",\"role\":\"user\",\"content\":[{\"type\":\"input_text\",\"text\":\"run\"}]},"
                                "{\"type\":\"reasoning\",\"summary\":[],\"encrypted_content\":\"opaque\"},"
                                "{\"type\":\"function_call\",\"call_id\":\"toolu_1\",\"name\":\"exec_command\",\"arguments\":\"{\\\"cmd\\\":\\\"ls\\\"}\"},"
                                "{\"type\":\"function_call_output\",\"call_id\":\"toolu_1\",\"output\":\"a.txt\"}]}"),
                     0);
    assert_false(f->req.is_stored);
    assert_string_equal(yyjson_mut_get_str(canonical(f, "system")), "harness");
    yyjson_mut_val *msgs = canonical(f, "messages");
    assert_int_equal(yyjson_mut_arr_size(msgs), 3);
    yyjson_mut_val *use = yyjson_mut_arr_get(yyjson_mut_obj_get(yyjson_mut_arr_get(msgs, 1), "content"), 0);
    assert_string_equal(yyjson_mut_get_str(yyjson_mut_obj_get(use, "type")), "tool_use");
    assert_string_equal(yyjson_mut_get_str(yyjson_mut_obj_get(use, "id")), "toolu_1");
    yyjson_mut_val *result = yyjson_mut_arr_get(yyjson_mut_obj_get(yyjson_mut_arr_get(msgs, 2), "content"), 0);
    assert_string_equal(yyjson_mut_get_str(yyjson_mut_obj_get(result, "type")), "tool_result");
    assert_string_equal(yyjson_mut_get_str(yyjson_mut_obj_get(result, "content")), "a.txt");
    /* The kept conversation is the items as sent (reasoning included). */
    assert_int_equal(yyjson_mut_arr_size(yyjson_mut_doc_get_root(f->req.input_doc)), 5);
}

static void tools_flatten_namespaces_wrap_custom_and_skip_hosted(void **state) {
    fixture_t *f = *state;
    assert_int_equal(convert(f, "{\"input\":\"x\",\"tools\":["
                                "{\"type\":\"function\",\"name\":\"exec_command\",\"parameters\":{\"type\":\"object\"}},"
                                "{\"type\":\"namespace\",\"name\":\"agents\",\"tools\":[{\"type\":\"function\",\"name\":\"spawn\"}]},"
                                "{\"type\":\"custom\",\"name\":\"apply_patch\",\"format\":{\"type\":\"grammar\",\"syntax\":\"lark\",\"definition\":\"start: x\"}},"
                                "{\"type\":\"web_search\"}]}"),
                     0);
    yyjson_mut_val *tools = canonical(f, "tools");
    assert_int_equal(yyjson_mut_arr_size(tools), 3);
    assert_string_equal(yyjson_mut_get_str(yyjson_mut_obj_get(yyjson_mut_arr_get(tools, 1), "name")), "spawn");
    yyjson_mut_val *patch = yyjson_mut_arr_get(tools, 2);
    yyjson_mut_val *input = yyjson_mut_obj_get(yyjson_mut_obj_get(yyjson_mut_obj_get(patch, "input_schema"), "properties"), "input");
    assert_string_equal(yyjson_mut_get_str(yyjson_mut_obj_get(input, "type")), "string");
    assert_non_null(strstr(yyjson_mut_get_str(yyjson_mut_obj_get(patch, "description")), "start: x"));
    const responses_tool_t *spawn = responses_request_tool(&f->req, "spawn");
    assert_non_null(spawn);
    assert_string_equal(spawn->namespace_, "agents");
    assert_true(responses_request_tool(&f->req, "apply_patch")->is_custom);
    assert_null(responses_request_tool(&f->req, "exec_command"));
}

static void options_map_onto_the_canonical_request(void **state) {
    fixture_t *f = *state;
    assert_int_equal(convert(f, "{\"input\":\"x\",\"stream\":true,\"max_output_tokens\":300,\"reasoning\":{\"effort\":\"high\"},"
                                "\"text\":{\"format\":{\"type\":\"json_schema\",\"name\":\"n\",\"schema\":{\"type\":\"object\"}}}}"),
                     0);
    assert_true(f->req.chat.is_stream);
    assert_int_equal(yyjson_mut_get_sint(canonical(f, "max_tokens")), 300);
    assert_string_equal(f->req.chat.effort, "high");
    assert_string_equal(f->req.chat.json_schema, "{\"type\":\"object\"}");
}

static void errors_name_the_responses_field(void **state) {
    fixture_t *f = *state;
    static const struct { const char *json, *param; } cases[] = {
        {"{}", "input"},
        {"{\"input\":7}", "input"},
        {"{\"input\":[{\"type\":\"message\",\"role\":\"robot\",\"content\":\"x\"}]}", "input[0].role"},
        {"{\"input\":[{\"type\":\"message\",\"role\":\"user\",\"content\":\"x\"},{\"type\":\"what\"}]}", "input[1].type"},
        {"{\"input\":[{\"role\":\"user\",\"content\":[{\"type\":\"input_image\",\"image_url\":\"ftp://x\"}]}]}", "input[0].content[0]"},
        {"{\"input\":[{\"type\":\"function_call\",\"name\":\"f\",\"arguments\":\"{}\"}]}", "input[0]"},
        {"{\"input\":\"x\",\"tools\":[{\"type\":\"function\",\"name\":\"f\"},{\"type\":\"bogus\"}]}", "tools[1].type"},
        {"{\"input\":\"x\",\"tools\":[{\"type\":\"function\"}]}", "tools[0].name"},
        {"{\"input\":\"x\",\"max_output_tokens\":0}", "max_output_tokens"},
        {"{\"input\":\"x\",\"reasoning\":{\"effort\":\"extreme\"}}", "reasoning.effort"},
        {"{\"input\":\"x\",\"text\":{\"format\":{\"type\":\"xml\"}}}", "text.format.type"},
        {"{\"input\":[{\"role\":\"assistant\",\"content\":\"only me\"}]}", "input"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        assert_int_equal(convert(f, cases[i].json), -1);
        if (strcmp(f->why.param, cases[i].param) != 0) fail_msg("%s: param %s, message %s", cases[i].json, f->why.param, f->why.message);
        assert_null(strstr(f->why.message, "messages["));
    }
}

/* ---- output ---- */

static yyjson_doc *read_json(const char *json) {
    yyjson_doc *doc = yyjson_read(json, strlen(json), 0);
    assert_non_null(doc);
    return doc;
}

static void finished_message_becomes_items_and_usage(void **state) {
    fixture_t *f = *state;
    assert_int_equal(convert(f, "{\"input\":\"x\",\"tools\":[{\"type\":\"custom\",\"name\":\"apply_patch\"}]}"), 0);
    yyjson_doc *msg = read_json("{\"id\":\"msg_abc\",\"stop_reason\":\"tool_use\",\"content\":["
                                "{\"type\":\"thinking\",\"thinking\":\"hmm\"},{\"type\":\"text\",\"text\":\"ok\"},"
                                "{\"type\":\"tool_use\",\"id\":\"toolu_9\",\"name\":\"apply_patch\",\"input\":{\"input\":\"P\"}}],"
                                "\"usage\":{\"input_tokens\":10,\"cache_read_input_tokens\":5,\"output_tokens\":7}}");
    responses_output_t o;
    assert_int_equal(responses_output_init(&o, &f->req, "req1", 1, false), 0);
    assert_int_equal(responses_output_finish(&o, yyjson_doc_get_root(msg), NULL), 0);
    assert_string_equal(o.id, "resp_abc");
    yyjson_mut_doc *doc = yyjson_mut_doc_new(NULL);
    yyjson_mut_val *r = responses_output_object(&o, doc, responses_output_status(&o));
    assert_string_equal(yyjson_mut_get_str(yyjson_mut_obj_get(r, "status")), "completed");
    yyjson_mut_val *out = yyjson_mut_obj_get(r, "output");
    assert_int_equal(yyjson_mut_arr_size(out), 3);
    assert_string_equal(yyjson_mut_get_str(yyjson_mut_obj_get(yyjson_mut_arr_get(out, 0), "type")), "reasoning");
    yyjson_mut_val *call = yyjson_mut_arr_get(out, 2);
    assert_string_equal(yyjson_mut_get_str(yyjson_mut_obj_get(call, "type")), "custom_tool_call");
    assert_string_equal(yyjson_mut_get_str(yyjson_mut_obj_get(call, "input")), "P");
    assert_string_equal(yyjson_mut_get_str(yyjson_mut_obj_get(call, "call_id")), "toolu_9");
    yyjson_mut_val *usage = yyjson_mut_obj_get(r, "usage");
    assert_int_equal(yyjson_mut_get_sint(yyjson_mut_obj_get(usage, "input_tokens")), 15);
    assert_int_equal(yyjson_mut_get_sint(yyjson_mut_obj_get(usage, "total_tokens")), 22);
    yyjson_mut_doc_free(doc);
    responses_output_free(&o);
    yyjson_doc_free(msg);
}

static void streamed_events_are_numbered_and_typed(void **state) {
    fixture_t *f = *state;
    assert_int_equal(convert(f, "{\"input\":\"x\",\"stream\":true}"), 0);
    static const char *const events[] = {
        "{\"type\":\"message_start\",\"message\":{\"id\":\"msg_s\",\"usage\":{\"input_tokens\":3}}}",
        "{\"type\":\"content_block_start\",\"index\":0,\"content_block\":{\"type\":\"text\",\"text\":\"\"}}",
        "{\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\"Hel\"}}",
        "{\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\"lo\"}}",
        "{\"type\":\"content_block_stop\",\"index\":0}",
        "{\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"max_tokens\"},\"usage\":{\"output_tokens\":2}}",
    };
    responses_output_t o;
    buf_t out;
    buf_init(&out, 0);
    assert_int_equal(responses_output_init(&o, &f->req, "r", 1, true), 0);
    for (size_t i = 0; i < sizeof events / sizeof events[0]; i++) {
        yyjson_doc *ev = read_json(events[i]);
        assert_int_equal(responses_output_event(&o, yyjson_doc_get_root(ev), &out), 0);
        yyjson_doc_free(ev);
    }
    assert_int_equal(responses_output_finish(&o, NULL, &out), 0);
    const char *text = buf_cstr(&out);
    static const char *const order[] = {
        "event: response.created", "event: response.in_progress", "event: response.output_item.added",
        "event: response.content_part.added", "event: response.output_text.delta", "event: response.output_text.done",
        "event: response.content_part.done", "event: response.output_item.done", "event: response.incomplete",
    };
    const char *at = text;
    for (size_t i = 0; i < sizeof order / sizeof order[0]; i++) {
        at = strstr(at, order[i]);
        if (!at) fail_msg("missing %s in order:\n%s", order[i], text);
    }
    assert_non_null(strstr(text, "\"sequence_number\":0"));
    assert_non_null(strstr(text, "\"sequence_number\":9")); /* 10 events: two deltas */
    assert_null(strstr(text, "\"sequence_number\":10"));
    assert_non_null(strstr(text, "\"text\":\"Hello\""));
    assert_non_null(strstr(text, "\"reason\":\"max_output_tokens\""));
    buf_free(&out);
    responses_output_free(&o);
}

/* ---- store ---- */

static void store_is_bounded_by_count_and_bytes(void **state) {
    (void)state;
    responses_store_t *st = responses_store_new(2, 100);
    assert_int_equal(responses_store_put(st, "a", strdup("{\"a\":1}"), strdup("[]")), 0);
    assert_int_equal(responses_store_put(st, "b", strdup("{\"b\":1}"), strdup("[]")), 0);
    assert_int_equal(responses_store_put(st, "c", strdup("{\"c\":1}"), strdup("[]")), 0);
    assert_int_equal(responses_store_count(st), 2);
    assert_null(responses_store_response(st, "a")); /* the oldest went first */
    assert_string_equal(responses_store_response(st, "c"), "{\"c\":1}");
    char big[120];
    memset(big, 'x', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    assert_int_equal(responses_store_put(st, "huge", strdup(big), strdup("[]")), 0);
    assert_null(responses_store_response(st, "huge")); /* larger than the whole bound: not kept */
    assert_int_equal(responses_store_count(st), 2);
    char ninety[91];
    memset(ninety, 'y', 90);
    ninety[90] = '\0';
    assert_int_equal(responses_store_put(st, "d", strdup(ninety), strdup("[]")), 0);
    assert_int_equal(responses_store_count(st), 1); /* b and c made room by bytes */
    assert_true(responses_store_bytes(st) <= 100);
    assert_true(responses_store_delete(st, "d"));
    assert_false(responses_store_delete(st, "d"));
    assert_int_equal(responses_store_bytes(st), 0);
    responses_store_free(st);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(string_input_is_one_user_message, setup, teardown),
        cmocka_unit_test_setup_teardown(codex_history_becomes_tool_use_and_result, setup, teardown),
        cmocka_unit_test_setup_teardown(tools_flatten_namespaces_wrap_custom_and_skip_hosted, setup, teardown),
        cmocka_unit_test_setup_teardown(options_map_onto_the_canonical_request, setup, teardown),
        cmocka_unit_test_setup_teardown(errors_name_the_responses_field, setup, teardown),
        cmocka_unit_test_setup_teardown(finished_message_becomes_items_and_usage, setup, teardown),
        cmocka_unit_test_setup_teardown(streamed_events_are_numbered_and_typed, setup, teardown),
        cmocka_unit_test(store_is_bounded_by_count_and_bytes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
