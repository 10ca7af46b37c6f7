/* The client tools' MCP server: answers to the CLI and the pending tools/call table. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "engine/tools.h"

static tools_outcome_t handle(tools_t *t, const char *line, yyjson_doc **reply) {
    yyjson_doc *in = yyjson_read(line, strlen(line), 0);
    assert_non_null(in);
    char *out = NULL;
    size_t len = 0;
    tools_outcome_t o = tools_handle(t, yyjson_doc_get_root(in), &out, &len);
    *reply = out ? yyjson_read(out, len, 0) : NULL;
    free(out);
    yyjson_doc_free(in);
    return o;
}

/* response.response.mcp_response */
static yyjson_val *mcp_response(yyjson_doc *reply) {
    return yyjson_obj_get(yyjson_obj_get(yyjson_obj_get(yyjson_doc_get_root(reply), "response"), "response"),
                          "mcp_response");
}

#define MCP(id, method, rest)                                                                                \
    "{\"type\":\"control_request\",\"request_id\":\"" id "\",\"request\":{\"subtype\":\"mcp_message\","      \
    "\"server_name\":\"client\",\"message\":{\"jsonrpc\":\"2.0\",\"id\":7,\"method\":\"" method "\"" rest "}}}"

static void initialize_and_tools_list(void **state) {
    tools_t *t = tools_new();
    const char *tools_json = "[{\"name\":\"get_weather\",\"description\":\"Weather\",\"input_schema\":"
                             "{\"type\":\"object\",\"properties\":{\"city\":{\"type\":\"string\"}}}},"
                             "{\"type\":\"web_search_20250305\"}]";
    yyjson_doc *tools = yyjson_read(tools_json, strlen(tools_json), 0);
    assert_non_null(tools);
    assert_int_equal(tools_set(t, yyjson_doc_get_root(tools)), 0);
    assert_int_equal(tools_count(t), 1);
    yyjson_doc *reply;
    assert_int_equal(handle(t, MCP("r1", "initialize", ""), &reply), TOOLS_REPLIED);
    yyjson_val *rpc = mcp_response(reply);
    assert_int_equal(yyjson_get_int(yyjson_obj_get(rpc, "id")), 7);
    assert_non_null(yyjson_obj_get(yyjson_obj_get(yyjson_obj_get(rpc, "result"), "capabilities"), "tools"));
    assert_string_equal(yyjson_get_str(yyjson_obj_get(yyjson_obj_get(yyjson_doc_get_root(reply), "response"),
                                                      "request_id")), "r1");
    yyjson_doc_free(reply);
    assert_int_equal(handle(t, MCP("r2", "tools/list", ""), &reply), TOOLS_REPLIED);
    yyjson_val *list = yyjson_obj_get(yyjson_obj_get(mcp_response(reply), "result"), "tools");
    assert_int_equal(yyjson_arr_size(list), 1);
    yyjson_val *tool = yyjson_arr_get(list, 0);
    assert_string_equal(yyjson_get_str(yyjson_obj_get(tool, "name")), "get_weather");
    assert_string_equal(yyjson_get_str(yyjson_obj_get(yyjson_obj_get(tool, "inputSchema"), "type")), "object");
    yyjson_doc_free(reply);
    assert_int_equal(handle(t, MCP("r3", "notifications/initialized", ""), &reply), TOOLS_REPLIED);
    yyjson_doc_free(reply);
    yyjson_doc_free(tools);
    tools_free(t);
}

static void without_tools_the_list_is_empty(void **state) {
    tools_t *t = tools_new();
    yyjson_doc *reply;
    assert_int_equal(handle(t, MCP("r1", "tools/list", ""), &reply), TOOLS_REPLIED);
    assert_int_equal(yyjson_arr_size(yyjson_obj_get(yyjson_obj_get(mcp_response(reply), "result"), "tools")), 0);
    yyjson_doc_free(reply);
    tools_free(t);
}

static void tools_call_waits_for_the_client_result(void **state) {
    tools_t *t = tools_new();
    yyjson_doc *reply;
    const char *call = MCP("r9", "tools/call", ",\"params\":{\"name\":\"mcp__client__get_weather\",\"arguments\":"
                                               "{\"city\":\"Oslo\"},\"_meta\":{\"claudecode/toolUseId\":\"toolu_1\"}}");
    assert_int_equal(handle(t, call, &reply), TOOLS_PENDING);
    assert_null(reply);
    assert_int_equal(tools_pending_count(t), 1);
    const tools_pending_t *p = tools_find(t, "toolu_1");
    assert_non_null(p);
    assert_string_equal(p->name, "get_weather");
    assert_string_equal(p->request_id, "r9");
    assert_null(tools_find(t, "nope"));
    yyjson_doc *content = yyjson_read("\"12 degrees\"", 12, 0);
    size_t len;
    char *line = tools_build_result(t, "toolu_1", yyjson_doc_get_root(content), true, &len);
    assert_non_null(line);
    reply = yyjson_read(line, len, 0);
    yyjson_val *rpc = mcp_response(reply);
    assert_int_equal(yyjson_get_int(yyjson_obj_get(rpc, "id")), 7);
    yyjson_val *result = yyjson_obj_get(rpc, "result");
    assert_true(yyjson_get_bool(yyjson_obj_get(result, "isError")));
    assert_string_equal(yyjson_get_str(yyjson_obj_get(yyjson_arr_get(yyjson_obj_get(result, "content"), 0), "text")),
                        "12 degrees");
    assert_int_equal(tools_pending_count(t), 0);
    yyjson_doc_free(reply);
    free(line);
    /* a call the CLI withdraws is forgotten */
    assert_int_equal(handle(t, call, &reply), TOOLS_PENDING);
    assert_true(tools_cancel(t, "r9"));
    assert_int_equal(tools_pending_count(t), 0);
    yyjson_doc_free(content);
    tools_free(t);
}

static void other_servers_get_an_error(void **state) {
    tools_t *t = tools_new();
    yyjson_doc *reply;
    const char *line = "{\"type\":\"control_request\",\"request_id\":\"x\",\"request\":{\"subtype\":\"mcp_message\","
                       "\"server_name\":\"other\",\"message\":{\"method\":\"tools/list\",\"id\":1}}}";
    assert_int_equal(handle(t, line, &reply), TOOLS_ERROR);
    assert_string_equal(yyjson_get_str(yyjson_obj_get(yyjson_obj_get(yyjson_doc_get_root(reply), "response"), "subtype")),
                        "error");
    yyjson_doc_free(reply);
    tools_free(t);
}

#define CALL(req, tool_use_id)                                                                                 \
    MCP(req, "tools/call", ",\"params\":{\"name\":\"mcp__client__get_weather\",\"arguments\":{},"               \
                           "\"_meta\":{\"claudecode/toolUseId\":\"" tool_use_id "\"}}")

static yyjson_val *reply_result(yyjson_doc *reply) { return yyjson_obj_get(mcp_response(reply), "result"); }

/* The CLI runs non-read-only tools one after another: the second call is asked for only after the first
 * is answered, yet the client answers both at once. */
static void answers_wait_for_calls_the_cli_makes_later(void **state) {
    tools_t *t = tools_new();
    yyjson_doc *reply;
    assert_int_equal(handle(t, CALL("r1", "toolu_a"), &reply), TOOLS_PENDING);
    assert_int_equal(tools_await(t, "toolu_a"), 0);
    assert_int_equal(tools_await(t, "toolu_b"), 0);
    assert_true(tools_is_awaited(t, "toolu_a"));
    assert_true(tools_is_awaited(t, "toolu_b"));
    assert_false(tools_is_awaited(t, "toolu_x"));

    yyjson_doc *content = yyjson_read("\"one\"", 5, 0);
    char *line = NULL;
    size_t len = 0;
    assert_int_equal(tools_answer(t, "toolu_a", yyjson_doc_get_root(content), false, NULL, &line, &len), 0);
    assert_non_null(line); /* the CLI waits on it: answered now */
    free(line);
    assert_int_equal(tools_answer(t, "toolu_b", yyjson_doc_get_root(content), true, NULL, &line, &len), 0);
    assert_null(line); /* not asked yet: kept */
    assert_false(tools_is_awaited(t, "toolu_b"));
    assert_int_equal(tools_answer(t, "toolu_x", yyjson_doc_get_root(content), false, NULL, &line, &len), -1);

    assert_int_equal(handle(t, CALL("r2", "toolu_b"), &reply), TOOLS_REPLIED);
    yyjson_val *result = reply_result(reply);
    assert_true(yyjson_get_bool(yyjson_obj_get(result, "isError")));
    assert_string_equal(yyjson_get_str(yyjson_obj_get(yyjson_arr_get(yyjson_obj_get(result, "content"), 0), "text")), "one");
    assert_string_equal(yyjson_get_str(yyjson_obj_get(yyjson_obj_get(yyjson_doc_get_root(reply), "response"),
                                                      "request_id")), "r2");
    yyjson_doc_free(reply);
    assert_int_equal(tools_pending_count(t), 0);
    const char *ids[4];
    assert_int_equal(tools_unanswered(t, ids, 4), 0);
    yyjson_doc_free(content);
    tools_free(t);
}

static void rewritten_ids_match_their_call_when_unambiguous(void **state) {
    (void)state;
    tools_t *t = tools_new();
    tools_await(t, "toolu_abc_1");
    tools_await(t, "toolu_xyz_2");
    assert_string_equal(tools_match_id(t, "toolu_abc_1"), "toolu_abc_1");
    assert_string_equal(tools_match_id(t, "tooluabc1"), "toolu_abc_1"); /* OpenClaw keeps [A-Za-z0-9] */
    assert_string_equal(tools_match_id(t, "toolu-xyz-2"), "toolu_xyz_2");
    assert_null(tools_match_id(t, "tooluabc"));
    assert_null(tools_match_id(t, "tooluabc12"));
    assert_null(tools_match_id(t, ""));
    /* two calls that only differ in punctuation: the rewritten id cannot tell which */
    tools_await(t, "toolu_ab_c1");
    assert_null(tools_match_id(t, "tooluabc1"));
    assert_string_equal(tools_match_id(t, "toolu_ab_c1"), "toolu_ab_c1");
    /* an answered call no longer matches */
    char *line = NULL;
    size_t len;
    assert_int_equal(tools_answer(t, "toolu_ab_c1", NULL, false, NULL, &line, &len), 0);
    assert_string_equal(tools_match_id(t, "tooluabc1"), "toolu_abc_1");
    free(line);
    tools_free(t);
}

static void unanswered_ids_come_in_order(void **state) {
    tools_t *t = tools_new();
    tools_await(t, "a");
    tools_await(t, "b");
    tools_await(t, "c");
    tools_await(t, "b"); /* once only */
    char *line = NULL;
    size_t len;
    assert_int_equal(tools_answer(t, "b", NULL, false, "x", &line, &len), 0);
    const char *ids[4];
    assert_int_equal(tools_unanswered(t, ids, 4), 2);
    assert_string_equal(ids[0], "a");
    assert_string_equal(ids[1], "c");
    tools_reset_awaited(t);
    assert_int_equal(tools_unanswered(t, ids, 4), 0);
    tools_free(t);
}

/* Anthropic content blocks in MCP's words; what MCP cannot carry is named in text; extra text last. */
static void results_convert_to_mcp_content(void **state) {
    tools_t *t = tools_new();
    yyjson_doc *reply;
    assert_int_equal(handle(t, CALL("r1", "toolu_a"), &reply), TOOLS_PENDING);
    const char *json = "[{\"type\":\"text\",\"text\":\"see\"},{\"type\":\"text\",\"text\":\"\"},"
                       "{\"type\":\"image\",\"source\":{\"type\":\"base64\",\"media_type\":\"image/png\",\"data\":\"AAAA\"}},"
                       "{\"type\":\"image\",\"source\":{\"type\":\"url\",\"url\":\"https://x.test/a.png\"}}]";
    yyjson_doc *content = yyjson_read(json, strlen(json), 0);
    char *line = NULL;
    size_t len;
    assert_int_equal(tools_answer(t, "toolu_a", yyjson_doc_get_root(content), false, "more", &line, &len), 0);
    reply = yyjson_read(line, len, 0);
    yyjson_val *items = yyjson_obj_get(reply_result(reply), "content");
    assert_int_equal(yyjson_arr_size(items), 4); /* the empty text is dropped */
    assert_string_equal(yyjson_get_str(yyjson_obj_get(yyjson_arr_get(items, 0), "text")), "see");
    yyjson_val *img = yyjson_arr_get(items, 1);
    assert_string_equal(yyjson_get_str(yyjson_obj_get(img, "type")), "image");
    assert_string_equal(yyjson_get_str(yyjson_obj_get(img, "data")), "AAAA");
    assert_string_equal(yyjson_get_str(yyjson_obj_get(img, "mimeType")), "image/png");
    assert_string_equal(yyjson_get_str(yyjson_obj_get(yyjson_arr_get(items, 2), "text")), "[image: https://x.test/a.png]");
    assert_string_equal(yyjson_get_str(yyjson_obj_get(yyjson_arr_get(items, 3), "text")), "more");
    assert_null(yyjson_obj_get(reply_result(reply), "isError"));
    yyjson_doc_free(reply);
    yyjson_doc_free(content);
    free(line);
    tools_free(t);
}

static void the_turns_tool_choice_decides_permission(void **state) {
    tools_t *t = tools_new();
    assert_true(tools_is_allowed(t, "mcp__client__get_weather")); /* auto */
    tool_choice_t c = {.kind = TOOL_CHOICE_TOOL};
    strcpy(c.name, "get_time");
    tools_set_choice(t, &c);
    assert_false(tools_is_allowed(t, "mcp__client__get_weather"));
    assert_true(tools_is_allowed(t, "mcp__client__get_time"));
    c.kind = TOOL_CHOICE_NONE;
    tools_set_choice(t, &c);
    assert_false(tools_is_allowed(t, "mcp__client__get_time"));
    tools_free(t);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(initialize_and_tools_list),
        cmocka_unit_test(without_tools_the_list_is_empty),
        cmocka_unit_test(tools_call_waits_for_the_client_result),
        cmocka_unit_test(other_servers_get_an_error),
        cmocka_unit_test(answers_wait_for_calls_the_cli_makes_later),
        cmocka_unit_test(unanswered_ids_come_in_order),
        cmocka_unit_test(rewritten_ids_match_their_call_when_unambiguous),
        cmocka_unit_test(results_convert_to_mcp_content),
        cmocka_unit_test(the_turns_tool_choice_decides_permission),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
