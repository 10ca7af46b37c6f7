/* SDK protocol lines: classification of what the CLI writes, the lines we build, upstream errors. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "api/errors.h"
#include "engine/protocol.h"

static proto_line_t parse(const char *s) {
    proto_line_t l;
    proto_parse_line(s, strlen(s), &l);
    return l;
}

static yyjson_doc *read_json(const char *s) { return yyjson_read(s, strlen(s), 0); }

static void lines_are_classified_by_type(void **state) {
    struct {
        const char *line;
        proto_kind_t kind;
        const char *subtype, *request_id;
    } cases[] = {
        {"{\"type\":\"stream_event\",\"event\":{\"type\":\"message_stop\"}}", PROTO_STREAM_EVENT, NULL, NULL},
        {"{\"type\":\"stream_event\"}", PROTO_GARBAGE, NULL, NULL},
        {"{\"type\":\"assistant\",\"message\":{}}", PROTO_ASSISTANT, NULL, NULL},
        {"{\"type\":\"result\",\"subtype\":\"success\"}", PROTO_RESULT, "success", NULL},
        {"{\"type\":\"system\",\"subtype\":\"api_retry\"}", PROTO_SYSTEM, "api_retry", NULL},
        {"{\"type\":\"control_request\",\"request_id\":\"r1\",\"request\":{\"subtype\":\"can_use_tool\"}}",
         PROTO_CONTROL_REQUEST, "can_use_tool", "r1"},
        {"{\"type\":\"control_request\",\"request\":{\"subtype\":\"x\"}}", PROTO_GARBAGE, NULL, NULL},
        {"{\"type\":\"control_response\",\"response\":{\"subtype\":\"success\",\"request_id\":\"i1\"}}",
         PROTO_CONTROL_RESPONSE, "success", "i1"},
        {"{\"type\":\"control_cancel_request\",\"request_id\":\"c1\"}", PROTO_CONTROL_CANCEL, NULL, "c1"},
        {"{\"type\":\"keep_alive\"}", PROTO_KEEP_ALIVE, NULL, NULL},
        {"{\"type\":\"rate_limit_event\",\"rate_limit_info\":{}}", PROTO_RATE_LIMIT, NULL, NULL},
        {"{\"type\":\"user\",\"message\":{}}", PROTO_USER, NULL, NULL},
        {"{\"type\":\"something_new\"}", PROTO_UNKNOWN, NULL, NULL},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        proto_line_t l = parse(cases[i].line);
        assert_int_equal(l.kind, cases[i].kind);
        if (cases[i].subtype) assert_string_equal(l.subtype, cases[i].subtype);
        if (cases[i].request_id) assert_string_equal(l.request_id, cases[i].request_id);
        proto_line_free(&l);
    }
}

static void control_response_success_and_error(void **state) {
    proto_line_t ok = parse("{\"type\":\"control_response\",\"response\":{\"subtype\":\"success\",\"request_id\":\"a\"}}");
    proto_line_t bad = parse("{\"type\":\"control_response\",\"response\":{\"subtype\":\"error\",\"request_id\":\"b\","
                             "\"error\":\"Already initialized\"}}");
    const char *err = NULL;
    assert_true(proto_control_response_ok(ok.root, &err));
    assert_false(proto_control_response_ok(bad.root, &err));
    assert_string_equal(err, "Already initialized");
    proto_line_free(&ok);
    proto_line_free(&bad);
}

static void initialize_carries_a_string_system_prompt(void **state) {
    yyjson_doc *schema = read_json("{\"type\":\"object\"}");
    proto_initialize_t init = {.request_id = "init-1", .system_prompt = "Be \"brief\".\nReally.",
                               .json_schema = yyjson_doc_get_root(schema), .has_client_mcp = true};
    size_t len;
    char *line = proto_build_initialize(&init, &len);
    assert_non_null(line);
    assert_null(memchr(line, '\n', len)); /* one line: the newline in the prompt is escaped */
    yyjson_doc *doc = yyjson_read(line, len, 0);
    yyjson_val *root = yyjson_doc_get_root(doc);
    assert_string_equal(yyjson_get_str(yyjson_obj_get(root, "type")), "control_request");
    assert_string_equal(yyjson_get_str(yyjson_obj_get(root, "request_id")), "init-1");
    yyjson_val *req = yyjson_obj_get(root, "request");
    assert_string_equal(yyjson_get_str(yyjson_obj_get(req, "subtype")), "initialize");
    assert_true(yyjson_is_str(yyjson_obj_get(req, "systemPrompt"))); /* 2.1.100 ignores an array */
    assert_string_equal(yyjson_get_str(yyjson_obj_get(req, "systemPrompt")), "Be \"brief\".\nReally.");
    assert_string_equal(yyjson_get_str(yyjson_arr_get(yyjson_obj_get(req, "sdkMcpServers"), 0)), "client");
    assert_string_equal(yyjson_get_str(yyjson_obj_get(yyjson_obj_get(req, "jsonSchema"), "type")), "object");
    assert_null(yyjson_obj_get(req, "appendSystemPrompt"));
    yyjson_doc_free(doc);
    free(line);
    /* no prompt at all: the key is left out, so Claude Code keeps its own (agent mode) */
    proto_initialize_t keep = {.request_id = "i2", .append_system_prompt = "extra"};
    line = proto_build_initialize(&keep, &len);
    doc = yyjson_read(line, len, 0);
    req = yyjson_obj_get(yyjson_doc_get_root(doc), "request");
    assert_null(yyjson_obj_get(req, "systemPrompt"));
    assert_null(yyjson_obj_get(req, "sdkMcpServers"));
    assert_string_equal(yyjson_get_str(yyjson_obj_get(req, "appendSystemPrompt")), "extra");
    yyjson_doc_free(doc);
    yyjson_doc_free(schema);
    free(line);
}

/* A user line named by a uuid, and rewind_conversation naming it; the answers the CLI gives. */
static void a_turn_is_taken_back_by_the_uuid_of_its_user_line(void **state) {
    (void)state;
    yyjson_doc *content = read_json("\"hi\"");
    size_t len;
    char *line = proto_build_user(yyjson_doc_get_root(content), "6f1c2d3e-0000-4000-8000-00000000abcd", &len);
    yyjson_doc *doc = yyjson_read(line, len, 0);
    assert_string_equal(yyjson_get_str(yyjson_obj_get(yyjson_doc_get_root(doc), "uuid")),
                        "6f1c2d3e-0000-4000-8000-00000000abcd");
    yyjson_doc_free(doc);
    free(line);
    yyjson_doc_free(content);

    line = proto_build_rewind("cwp-rewind-3", "6f1c2d3e-0000-4000-8000-00000000abcd", &len);
    doc = yyjson_read(line, len, 0);
    yyjson_val *root = yyjson_doc_get_root(doc);
    assert_string_equal(yyjson_get_str(yyjson_obj_get(root, "type")), "control_request");
    assert_string_equal(yyjson_get_str(yyjson_obj_get(root, "request_id")), "cwp-rewind-3");
    yyjson_val *req = yyjson_obj_get(root, "request");
    assert_string_equal(yyjson_get_str(yyjson_obj_get(req, "subtype")), "rewind_conversation");
    assert_string_equal(yyjson_get_str(yyjson_obj_get(req, "target_message_uuid")), "6f1c2d3e-0000-4000-8000-00000000abcd");
    yyjson_doc_free(doc);
    free(line);

    const char *error = NULL;
    doc = read_json("{\"type\":\"control_response\",\"response\":{\"subtype\":\"success\",\"request_id\":\"r\","
                    "\"response\":{\"rewound\":true,\"targetMessageUuid\":\"x\",\"prefillText\":\"hi\"}}}");
    assert_true(proto_rewind_done(yyjson_doc_get_root(doc), &error));
    yyjson_doc_free(doc);
    /* 2.1.197 on a first turn */
    doc = read_json("{\"type\":\"control_response\",\"response\":{\"subtype\":\"success\",\"request_id\":\"r\","
                    "\"response\":{\"rewound\":false,\"error\":\"no preceding assistant\"}}}");
    assert_false(proto_rewind_done(yyjson_doc_get_root(doc), &error));
    assert_string_equal(error, "no preceding assistant");
    yyjson_doc_free(doc);
    /* 2.1.100 */
    doc = read_json("{\"type\":\"control_response\",\"response\":{\"subtype\":\"error\",\"request_id\":\"r\","
                    "\"error\":\"Unsupported control request subtype: rewind_conversation\"}}");
    assert_false(proto_rewind_done(yyjson_doc_get_root(doc), &error));
    assert_string_equal(error, "Unsupported control request subtype: rewind_conversation");
    yyjson_doc_free(doc);
}

static void user_line_and_control_answers(void **state) {
    yyjson_doc *content = read_json("[{\"type\":\"text\",\"text\":\"hi\"}]");
    size_t len;
    char *line = proto_build_user(yyjson_doc_get_root(content), NULL, &len);
    yyjson_doc *doc = yyjson_read(line, len, 0);
    yyjson_val *root = yyjson_doc_get_root(doc);
    assert_string_equal(yyjson_get_str(yyjson_obj_get(root, "type")), "user");
    assert_null(yyjson_obj_get(root, "uuid"));
    yyjson_val *msg = yyjson_obj_get(root, "message");
    assert_string_equal(yyjson_get_str(yyjson_obj_get(msg, "role")), "user");
    assert_string_equal(yyjson_get_str(yyjson_obj_get(yyjson_arr_get(yyjson_obj_get(msg, "content"), 0), "text")), "hi");
    assert_true(yyjson_is_null(yyjson_obj_get(root, "parent_tool_use_id")));
    yyjson_doc_free(doc);
    free(line);

    line = proto_build_control_error("r9", "Unsupported control request subtype: x", &len);
    doc = yyjson_read(line, len, 0);
    yyjson_val *resp = yyjson_obj_get(yyjson_doc_get_root(doc), "response");
    assert_string_equal(yyjson_get_str(yyjson_obj_get(resp, "subtype")), "error");
    assert_string_equal(yyjson_get_str(yyjson_obj_get(resp, "request_id")), "r9");
    assert_string_equal(yyjson_get_str(yyjson_obj_get(resp, "error")), "Unsupported control request subtype: x");
    yyjson_doc_free(doc);
    free(line);

    yyjson_doc *input = read_json("{\"command\":\"ls\"}");
    line = proto_build_permission("p1", true, yyjson_doc_get_root(input), NULL, &len);
    doc = yyjson_read(line, len, 0);
    yyjson_val *answer = yyjson_obj_get(yyjson_obj_get(yyjson_doc_get_root(doc), "response"), "response");
    assert_string_equal(yyjson_get_str(yyjson_obj_get(answer, "behavior")), "allow");
    assert_string_equal(yyjson_get_str(yyjson_obj_get(yyjson_obj_get(answer, "updatedInput"), "command")), "ls");
    yyjson_doc_free(doc);
    free(line);
    line = proto_build_permission("p2", false, NULL, "not allowed", &len);
    doc = yyjson_read(line, len, 0);
    answer = yyjson_obj_get(yyjson_obj_get(yyjson_doc_get_root(doc), "response"), "response");
    assert_string_equal(yyjson_get_str(yyjson_obj_get(answer, "behavior")), "deny");
    assert_string_equal(yyjson_get_str(yyjson_obj_get(answer, "message")), "not allowed");
    yyjson_doc_free(doc);
    free(line);
    line = proto_build_interrupt("x1", &len);
    assert_non_null(strstr(line, "\"subtype\":\"interrupt\""));
    free(line);
    yyjson_doc_free(input);
    yyjson_doc_free(content);
}

/* The shape CLI 2.1.100 and 2.1.197 accept: max_thinking_tokens a number, or null for the CLI's default. */
static void set_thinking_sends_a_budget_zero_or_null(void **state) {
    (void)state;
    const struct { int64_t tokens; const char *want; } cases[] = {
        {5000, "5000"}, {0, "0"}, {-1, "null"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        size_t len = 0;
        char *line = proto_build_set_thinking("t1", cases[i].tokens, &len);
        assert_non_null(line);
        assert_int_equal(strlen(line), len);
        yyjson_doc *doc = yyjson_read(line, len, 0);
        yyjson_val *root = yyjson_doc_get_root(doc);
        assert_string_equal(yyjson_get_str(yyjson_obj_get(root, "type")), "control_request");
        assert_string_equal(yyjson_get_str(yyjson_obj_get(root, "request_id")), "t1");
        yyjson_val *req = yyjson_obj_get(root, "request");
        assert_string_equal(yyjson_get_str(yyjson_obj_get(req, "subtype")), "set_max_thinking_tokens");
        char *value = yyjson_val_write(yyjson_obj_get(req, "max_thinking_tokens"), 0, NULL);
        assert_string_equal(value, cases[i].want);
        free(value);
        yyjson_doc_free(doc);
        free(line);
    }
}

static void upstream_message_is_taken_from_the_cli_text(void **state) {
    struct {
        const char *text, *want;
    } cases[] = {
        {"Failed to authenticate. API Error: 401 fake upstream authentication_error", "fake upstream authentication_error"},
        {"API Error: Request rejected (429) \xC2\xB7 fake upstream rate_limit_error", "fake upstream rate_limit_error"},
        {"API Error: 500 fake upstream api_error. This is a server-side issue, usually temporary \xE2\x80\x94 try again.",
         "fake upstream api_error"},
        {"API Error: 400 {\"type\":\"error\",\"error\":{\"type\":\"invalid_request_error\",\"message\":\"max_tokens: too big\"}}",
         "max_tokens: too big"},
        {"API Error: 400 Custom bad thing", "Custom bad thing"},
        {"There's an issue with the selected model (x).", "There's an issue with the selected model (x)."},
    };
    char out[256];
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        proto_extract_upstream_message(cases[i].text, out, sizeof out);
        assert_string_equal(out, cases[i].want);
    }
    proto_extract_upstream_message("API Error: 400 0123456789", out, 5);
    assert_string_equal(out, "0123");
    /* Cut short on a character boundary: "é" is 2 bytes, so 3 bytes of room hold one of them, not 1.5. */
    proto_extract_upstream_message("API Error: 400 \xC3\xA9\xC3\xA9\xC3\xA9", out, 4);
    assert_string_equal(out, "\xC3\xA9");
}

/* A refusal's text is cut to a fixed size upstream of here (session_io.c) and may end mid-character. */
static void permission_with_cut_text_is_still_written(void **state) {
    (void)state;
    size_t len = 0;
    char *line = proto_build_permission("p3", false, NULL, "no \xC3", &len);
    assert_non_null(line);
    yyjson_doc *doc = yyjson_read(line, len, 0);
    assert_non_null(doc);
    yyjson_val *answer = yyjson_obj_get(yyjson_obj_get(yyjson_doc_get_root(doc), "response"), "response");
    assert_string_equal(yyjson_get_str(yyjson_obj_get(answer, "message")), "no ?");
    yyjson_doc_free(doc);
    free(line);
}

static void errors_map_to_kinds_and_statuses(void **state) {
    struct {
        int status;
        const char *kind;
        engine_error_kind_t want;
        int want_status;
    } cases[] = {
        {401, "authentication_failed", ENGINE_ERR_AUTHENTICATION, 401},
        {0, "authentication_failed", ENGINE_ERR_AUTHENTICATION, 401},
        {404, "model_not_found", ENGINE_ERR_NOT_FOUND, 404},
        {429, "rate_limit", ENGINE_ERR_RATE_LIMIT, 429},
        {500, "server_error", ENGINE_ERR_UPSTREAM, 500},
        {529, NULL, ENGINE_ERR_OVERLOADED, 529},
        {400, "invalid_request", ENGINE_ERR_INVALID_REQUEST, 400},
        {413, NULL, ENGINE_ERR_INVALID_REQUEST, 413},
        {403, NULL, ENGINE_ERR_PERMISSION, 403},
        {0, "something_new", ENGINE_ERR_UPSTREAM, 500},
        /* A known status wins over the kind (2.1.100 calls an unknown model "invalid_request"). */
        {404, "invalid_request", ENGINE_ERR_NOT_FOUND, 404},
        {429, "unknown", ENGINE_ERR_RATE_LIMIT, 429},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        engine_error_t e;
        proto_map_error(cases[i].status, cases[i].kind, "m", &e);
        assert_int_equal(e.kind, cases[i].want);
        api_error_t client; /* the status is the API layer's decision now (api/errors.c) */
        api_error_from_engine(&e, &client);
        assert_int_equal(client.status, cases[i].want_status);
        assert_string_equal(e.message, "m");
    }
}

static void error_status_from_the_cli_text(void **state) {
    (void)state;
    assert_int_equal(proto_error_status("API Error: 429 {\"type\":\"error\"}"), 429);
    assert_int_equal(proto_error_status("API Error: 529 {\"type\":\"error\"}"), 529);
    assert_int_equal(proto_error_status("API Error: Request rejected (429) \xC2\xB7 slow down"), 429);
    assert_int_equal(proto_error_status("Failed to authenticate. API Error: 401 {}"), 401);
    assert_int_equal(proto_error_status("There's an issue with the selected model (x). It may not exist"), 404);
    assert_int_equal(proto_error_status("API Error: 4000 x"), 0);
    assert_int_equal(proto_error_status("API Error: 200 x"), 0);
    assert_int_equal(proto_error_status("Prompt is too long"), 0);
    assert_int_equal(proto_error_status(NULL), 0);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(lines_are_classified_by_type),
        cmocka_unit_test(control_response_success_and_error),
        cmocka_unit_test(initialize_carries_a_string_system_prompt),
        cmocka_unit_test(user_line_and_control_answers),
        cmocka_unit_test(set_thinking_sends_a_budget_zero_or_null),
        cmocka_unit_test(upstream_message_is_taken_from_the_cli_text),
        cmocka_unit_test(permission_with_cut_text_is_still_written),
        cmocka_unit_test(errors_map_to_kinds_and_statuses),
        cmocka_unit_test(error_status_from_the_cli_text),
        cmocka_unit_test(a_turn_is_taken_back_by_the_uuid_of_its_user_line),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
