/* Messages API request validation and normalisation (src/api/anthropic_request.c), the shared request
 * helpers and the engine error mapping (src/api/turn_bridge.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "api/anthropic.h"

typedef struct {
    config_t cfg;
    anthropic_request_t req;
    api_problem_t why;
    yyjson_doc *in;
} fixture_t;

static int setup(void **state) {
    fixture_t *f = calloc(1, sizeof *f);
    config_init_defaults(&f->cfg);
    free(f->cfg.default_model);
    f->cfg.default_model = strdup("claude-default-model");
    *state = f;
    return 0;
}

static int teardown(void **state) {
    fixture_t *f = *state;
    anthropic_request_free(&f->req);
    yyjson_doc_free(f->in);
    config_free(&f->cfg);
    free(f);
    return 0;
}

static int parse_mode(fixture_t *f, const char *json, anthropic_parse_mode_t mode) {
    anthropic_request_free(&f->req);
    yyjson_doc_free(f->in);
    f->in = yyjson_read(json, strlen(json), 0);
    assert_non_null(f->in);
    return anthropic_request_parse(&f->cfg, yyjson_doc_get_root(f->in), mode, &f->req, &f->why);
}
static int parse(fixture_t *f, const char *json) { return parse_mode(f, json, ANTHROPIC_PARSE_MESSAGES); }

static yyjson_val *field(fixture_t *f, const char *key) { return yyjson_obj_get(yyjson_doc_get_root(f->req.doc), key); }
static yyjson_val *message(fixture_t *f, size_t i) { return yyjson_arr_get(field(f, "messages"), i); }

#define HI "\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]"

/* The request is refused with exactly this message, naming param. */
static void refused(fixture_t *f, const char *json, const char *message, const char *param) {
    assert_int_equal(parse(f, json), -1);
    assert_string_equal(f->why.message, message);
    if (param) assert_string_equal(f->why.param, param);
}

static void missing_and_empty_messages_name_the_field(void **state) {
    fixture_t *f = *state;
    refused(f, "{\"max_tokens\":10}", "messages: Field required", "messages");
    refused(f, "{\"max_tokens\":10,\"messages\":[]}", "messages: at least one message is required", "messages");
    refused(f, "{\"max_tokens\":10,\"messages\":\"hi\"}", "messages: Input should be a valid list", "messages");
}

static void wrong_role_names_the_message(void **state) {
    fixture_t *f = *state;
    refused(f,
            "{\"max_tokens\":10,\"messages\":[{\"role\":\"user\",\"content\":\"a\"},{\"role\":\"system\",\"content\":\"b\"},"
            "{\"role\":\"user\",\"content\":\"c\"}]}",
            "messages.1.role: Input should be 'user' or 'assistant'", "messages.1.role");
    refused(f, "{\"max_tokens\":10,\"messages\":[{\"content\":\"a\"}]}", "messages.0.role: Field required",
            "messages.0.role");
    refused(f, "{\"max_tokens\":10,\"messages\":[7]}", "messages.0: Input should be a valid dictionary", "messages.0");
}

static void conversation_must_end_with_user(void **state) {
    fixture_t *f = *state;
    assert_int_equal(parse(f, "{\"max_tokens\":10,\"messages\":[{\"role\":\"user\",\"content\":\"a\"},"
                              "{\"role\":\"assistant\",\"content\":\"prefill\"}]}"),
                     -1);
    assert_string_equal(f->why.param, "messages");
    assert_non_null(strstr(f->why.message, "must end with a user message"));
    refused(f, "{\"max_tokens\":10,\"messages\":[{\"role\":\"assistant\",\"content\":\"a\"},{\"role\":\"user\",\"content\":\"b\"}]}",
            "messages.0.role: the first message must use the \"user\" role", "messages.0.role");
}

static void max_tokens_required_except_for_count_tokens(void **state) {
    fixture_t *f = *state;
    refused(f, "{" HI "}", "max_tokens: Field required", "max_tokens");
    refused(f, "{\"max_tokens\":\"10\"," HI "}", "max_tokens: Input should be a valid integer", "max_tokens");
    refused(f, "{\"max_tokens\":0," HI "}", "max_tokens: Input should be greater than or equal to 1", "max_tokens");
    assert_int_equal(parse_mode(f, "{" HI "}", ANTHROPIC_PARSE_COUNT_TOKENS), 0);
    assert_null(field(f, "max_tokens"));
}

static void scalar_types_are_checked(void **state) {
    fixture_t *f = *state;
    refused(f, "{\"max_tokens\":10,\"stream\":\"yes\"," HI "}", "stream: Input should be a valid boolean", "stream");
    refused(f, "{\"max_tokens\":10,\"model\":5," HI "}", "model: Input should be a valid string", "model");
    refused(f, "{\"max_tokens\":10,\"temperature\":1.5," HI "}", "temperature: Input should be less than or equal to 1",
            "temperature");
    refused(f, "{\"max_tokens\":10,\"top_k\":\"x\"," HI "}", "top_k: Input should be a valid integer", "top_k");
    refused(f, "{\"max_tokens\":10,\"stop_sequences\":[\"ok\",3]," HI "}", "stop_sequences.1: Input should be a valid string",
            "stop_sequences.1");
    refused(f, "{\"max_tokens\":10,\"metadata\":{\"user_id\":1}," HI "}", "metadata.user_id: Input should be a valid string",
            "metadata.user_id");
}

static void content_blocks_are_checked(void **state) {
    fixture_t *f = *state;
    refused(f, "{\"max_tokens\":10,\"messages\":[{\"role\":\"user\",\"content\":5}]}",
            "messages.0.content: Input should be a valid string or list", "messages.0.content");
    refused(f, "{\"max_tokens\":10,\"messages\":[{\"role\":\"user\",\"content\":[{\"type\":\"text\",\"text\":\"a\"},{\"type\":\"video\"}]}]}",
            "messages.0.content.1.type: Input tag 'video' found using 'type' does not match any of the expected tags: "
            "'text', 'image', 'document', 'tool_use', 'tool_result', 'thinking', 'redacted_thinking'",
            "messages.0.content.1.type");
    refused(f, "{\"max_tokens\":10,\"messages\":[{\"role\":\"user\",\"content\":[{\"type\":\"text\"}]}]}",
            "messages.0.content.0.text: Field required", "messages.0.content.0.text");
    refused(f, "{\"max_tokens\":10,\"messages\":[{\"role\":\"user\",\"content\":[{\"type\":\"text\",\"text\":\"  \"}]}]}",
            "messages.0.content.0.text: text content blocks must contain non-whitespace text", NULL);
    refused(f, "{\"max_tokens\":10,\"messages\":[{\"role\":\"user\",\"content\":\"\"}]}",
            "messages.0: all messages must have non-empty content", "messages.0");
    refused(f, "{\"max_tokens\":10,\"messages\":[{\"role\":\"user\",\"content\":[{\"type\":\"image\",\"source\":"
               "{\"type\":\"base64\",\"media_type\":\"image/bmp\",\"data\":\"AAAA\"}}]}]}",
            "messages.0.content.0.source.media_type: Input should be 'image/jpeg', 'image/png', 'image/gif' or 'image/webp'",
            NULL);
    refused(f, "{\"max_tokens\":10,\"messages\":[{\"role\":\"user\",\"content\":[{\"type\":\"image\"}]}]}",
            "messages.0.content.0.source: Field required", "messages.0.content.0.source");
    refused(f, "{\"max_tokens\":10,\"messages\":[{\"role\":\"user\",\"content\":[{\"type\":\"tool_use\",\"id\":\"t\",\"name\":\"n\",\"input\":{}}]}]}",
            "messages.0.content.0.type: 'tool_use' blocks are only allowed in assistant messages", NULL);
}

static void system_string_and_blocks_become_one_text(void **state) {
    fixture_t *f = *state;
    assert_int_equal(parse(f, "{\"max_tokens\":10,\"system\":\"Be brief.\"," HI "}"), 0);
    assert_string_equal(yyjson_get_str(field(f, "system")), "Be brief.");
    assert_int_equal(parse(f, "{\"max_tokens\":10,\"system\":[{\"type\":\"text\",\"text\":\"Be brief.\"},"
                              "{\"type\":\"text\",\"text\":\"Speak French.\",\"cache_control\":{\"type\":\"ephemeral\"}}]," HI "}"),
                     0);
    assert_string_equal(yyjson_get_str(field(f, "system")), "Be brief.\nSpeak French.");
    assert_int_equal(parse(f, "{\"max_tokens\":10," HI "}"), 0);
    assert_null(field(f, "system"));
    refused(f, "{\"max_tokens\":10,\"system\":[{\"type\":\"text\",\"text\":\"a\"},{\"type\":\"image\"}]," HI "}",
            "system.1.type: Input should be 'text'", "system.1.type");
    refused(f, "{\"max_tokens\":10,\"system\":3," HI "}", "system: Input should be a valid string or list", "system");
}

static void same_role_messages_merge_and_blocks_survive(void **state) {
    fixture_t *f = *state;
    assert_int_equal(parse(f, "{\"max_tokens\":10,\"messages\":["
                              "{\"role\":\"user\",\"content\":\"first\"},"
                              "{\"role\":\"user\",\"content\":[{\"type\":\"image\",\"source\":{\"type\":\"base64\","
                              "\"media_type\":\"image/png\",\"data\":\"iVBORw0KGgo=\"},\"cache_control\":{\"type\":\"ephemeral\"}}]},"
                              "{\"role\":\"assistant\",\"content\":[{\"type\":\"thinking\",\"thinking\":\"\",\"signature\":\"sig\"},"
                              "{\"type\":\"text\",\"text\":\"ok\"}]},"
                              "{\"role\":\"user\",\"content\":\"third\"}]}"),
                     0);
    assert_int_equal(yyjson_arr_size(field(f, "messages")), 3);
    yyjson_val *m0 = yyjson_obj_get(message(f, 0), "content");
    assert_int_equal(yyjson_arr_size(m0), 2);
    assert_string_equal(yyjson_get_str(yyjson_obj_get(yyjson_arr_get(m0, 0), "text")), "first");
    yyjson_val *image = yyjson_arr_get(m0, 1);
    assert_string_equal(yyjson_get_str(yyjson_obj_get(image, "type")), "image");
    assert_string_equal(yyjson_get_str(yyjson_obj_get(yyjson_obj_get(image, "source"), "data")), "iVBORw0KGgo=");
    assert_non_null(yyjson_obj_get(image, "cache_control"));
    /* A signature-only thinking block is kept as it was. */
    yyjson_val *thinking = yyjson_arr_get(yyjson_obj_get(message(f, 1), "content"), 0);
    assert_string_equal(yyjson_get_str(yyjson_obj_get(thinking, "signature")), "sig");
    assert_string_equal(yyjson_get_str(yyjson_obj_get(thinking, "thinking")), "");
    /* Unmerged string content stays a string. */
    assert_string_equal(yyjson_get_str(yyjson_obj_get(message(f, 2), "content")), "third");
}

static void model_defaults_and_fields_carry_over(void **state) {
    fixture_t *f = *state;
    assert_int_equal(parse(f, "{\"max_tokens\":10,\"stream\":true,\"stop_sequences\":[\"STOP\"],\"temperature\":0.2,"
                              "\"top_p\":0.9,\"top_k\":5,\"metadata\":{\"user_id\":\"u1\"},\"unknown_field\":1," HI "}"),
                     0);
    assert_string_equal(f->req.model, "claude-default-model");
    assert_string_equal(yyjson_get_str(field(f, "model")), "claude-default-model");
    assert_true(f->req.is_stream);
    assert_false(f->req.has_tools);
    assert_int_equal(yyjson_get_sint(field(f, "max_tokens")), 10);
    assert_string_equal(yyjson_get_str(yyjson_arr_get(field(f, "stop_sequences"), 0)), "STOP");
    assert_string_equal(yyjson_get_str(yyjson_obj_get(field(f, "metadata"), "user_id")), "u1");
    assert_null(field(f, "temperature"));
    assert_null(field(f, "unknown_field"));
    assert_int_equal(parse(f, "{\"model\":\"claude-opus-4-1\",\"max_tokens\":10," HI "}"), 0);
    assert_string_equal(f->req.model, "claude-opus-4-1");
    assert_false(f->req.is_stream);
}

static void thinking_variants(void **state) {
    fixture_t *f = *state;
    assert_int_equal(parse(f, "{\"max_tokens\":4000,\"thinking\":{\"type\":\"enabled\",\"budget_tokens\":2000}," HI "}"), 0);
    assert_int_equal(yyjson_get_sint(yyjson_obj_get(field(f, "thinking"), "budget_tokens")), 2000);
    assert_int_equal(parse(f, "{\"max_tokens\":10,\"thinking\":{\"type\":\"disabled\"}," HI "}"), 0);
    assert_int_equal(parse(f, "{\"max_tokens\":10,\"thinking\":{\"type\":\"adaptive\"}," HI "}"), 0);
    assert_string_equal(yyjson_get_str(yyjson_obj_get(field(f, "thinking"), "type")), "adaptive");
    refused(f, "{\"max_tokens\":4000,\"thinking\":{\"type\":\"enabled\"}," HI "}", "thinking.budget_tokens: Field required",
            "thinking.budget_tokens");
    refused(f, "{\"max_tokens\":4000,\"thinking\":{\"type\":\"enabled\",\"budget_tokens\":100}," HI "}",
            "thinking.budget_tokens: Input should be greater than or equal to 1024", "thinking.budget_tokens");
    refused(f, "{\"max_tokens\":2000,\"thinking\":{\"type\":\"enabled\",\"budget_tokens\":2000}," HI "}",
            "`max_tokens` must be greater than `thinking.budget_tokens`", "max_tokens");
    refused(f, "{\"max_tokens\":10,\"thinking\":{\"type\":\"maybe\"}," HI "}",
            "thinking.type: Input should be 'enabled', 'disabled' or 'adaptive'", "thinking.type");
}

static void tools_are_flagged_and_checked(void **state) {
    fixture_t *f = *state;
    assert_int_equal(parse(f, "{\"max_tokens\":10,\"tools\":[]," HI "}"), 0);
    assert_false(f->req.has_tools);
    assert_int_equal(parse(f, "{\"max_tokens\":10,\"tools\":[{\"name\":\"get_weather\",\"input_schema\":{\"type\":\"object\"}}],"
                              "\"tool_choice\":{\"type\":\"auto\"}," HI "}"),
                     0);
    assert_true(f->req.has_tools);
    assert_string_equal(yyjson_get_str(yyjson_obj_get(yyjson_arr_get(field(f, "tools"), 0), "name")), "get_weather");
    refused(f, "{\"max_tokens\":10,\"tools\":[{\"input_schema\":{}}]," HI "}", "tools.0.name: Field required", "tools.0.name");
    refused(f, "{\"max_tokens\":10,\"tools\":[{\"name\":\"x\"}]," HI "}", "tools.0.input_schema: Field required", NULL);
    refused(f, "{\"max_tokens\":10,\"tool_choice\":{\"type\":\"tool\"}," HI "}", "tool_choice.name: Field required", NULL);
}

static void effort_and_structured_output(void **state) {
    fixture_t *f = *state;
    assert_int_equal(parse(f, "{\"max_tokens\":10,\"output_config\":{\"effort\":\"low\"}," HI "}"), 0);
    assert_string_equal(f->req.effort, "low");
    refused(f, "{\"max_tokens\":10,\"output_config\":{\"effort\":\"extreme\"}," HI "}",
            "output_config.effort: Input should be 'low', 'medium' or 'high'", NULL);
    assert_int_equal(parse(f, "{\"max_tokens\":10,\"output_format\":{\"type\":\"json_schema\",\"schema\":{}}," HI "}"), -1);
    assert_string_equal(f->why.param, "output_format");
}

/* ---- shared helpers (turn_bridge.c) ---- */

static void body_json_problems(void **state) {
    (void)state;
    api_problem_t why;
    yyjson_doc *doc = api_parse_json("{\"a\":", 5, &why);
    assert_null(doc);
    assert_memory_equal(why.message, "body is not valid JSON: ", 24);
    assert_null(api_parse_json("[1]", 3, &why));
    assert_string_equal(why.message, "body must be a JSON object");
    assert_null(api_parse_json("", 0, &why));
    assert_memory_equal(why.message, "body is not valid JSON: ", 24);
    doc = api_parse_json("{\"a\":1}", 7, &why);
    assert_non_null(doc);
    yyjson_doc_free(doc);
}

static void field_wording_per_dialect(void **state) {
    (void)state;
    api_problem_t why;
    yyjson_val *v;
    yyjson_doc *doc = yyjson_read("{\"stream\":\"x\",\"n\":null}", 23, 0);
    yyjson_val *root = yyjson_doc_get_root(doc);
    assert_int_equal(api_field(DIALECT_OPENAI, root, NULL, "stream", API_FIELD_BOOL, false, &v, &why), -1);
    assert_string_equal(why.message, "Invalid type for 'stream': expected a boolean, but got a string instead.");
    assert_string_equal(why.param, "stream");
    assert_int_equal(api_field(DIALECT_OPENAI, root, NULL, "max_tokens", API_FIELD_INTEGER, true, &v, &why), -1);
    assert_string_equal(why.message, "Missing required parameter: 'max_tokens'.");
    assert_int_equal(api_field(DIALECT_ANTHROPIC, root, "a.0", "n", API_FIELD_STRING, false, &v, &why), 0);
    assert_null(v);
    assert_int_equal(api_field(DIALECT_ANTHROPIC, root, "a.0", "n", API_FIELD_STRING, true, &v, &why), -1);
    assert_string_equal(why.message, "a.0.n: Field required");
    yyjson_doc_free(doc);
}

static void engine_errors_map_to_client_errors(void **state) {
    (void)state;
    api_error_t out;
    api_error_from_engine(&(engine_error_t){.kind = ENGINE_ERR_NOT_FOUND, .upstream_status = 404, .message = "no such model"}, &out);
    assert_int_equal(out.status, 404);
    assert_int_equal(out.kind, API_ERR_NOT_FOUND);
    assert_string_equal(out.code, "model_not_found");
    assert_string_equal(out.message, "no such model");
    api_error_from_engine(&(engine_error_t){.kind = ENGINE_ERR_RATE_LIMIT, .upstream_status = 429, .retry_after_s = 7}, &out);
    assert_int_equal(out.status, 429);
    assert_int_equal(out.kind, API_ERR_RATE_LIMIT);
    assert_int_equal(out.retry_after_s, 7);
    assert_non_null(out.message);
    /* The CLI does not pass the upstream's retry-after on: a 429 still tells the client when to retry. */
    api_error_from_engine(&(engine_error_t){.kind = ENGINE_ERR_RATE_LIMIT, .upstream_status = 429}, &out);
    assert_int_equal(out.retry_after_s, API_RETRY_AFTER_DEFAULT_S);
    api_error_from_engine(&(engine_error_t){.kind = ENGINE_ERR_OVERLOADED}, &out);
    assert_int_equal(out.retry_after_s, 0);
    assert_int_equal(out.status, 529);
    assert_int_equal(out.kind, API_ERR_OVERLOADED);
    api_error_from_engine(&(engine_error_t){.kind = ENGINE_ERR_CLI_FAILED, .message = ""}, &out);
    assert_int_equal(out.status, 502);
    assert_int_equal(out.kind, API_ERR_API);
    assert_string_equal(out.message, "the Claude CLI failed");
    api_error_from_engine(&(engine_error_t){.kind = ENGINE_ERR_AUTHENTICATION, .upstream_status = 401}, &out);
    assert_int_equal(out.kind, API_ERR_AUTHENTICATION);
    api_error_from_engine(&(engine_error_t){.kind = ENGINE_ERR_TIMEOUT}, &out);
    assert_int_equal(out.kind, API_ERR_TIMEOUT);
    api_error_from_engine(&(engine_error_t){.kind = ENGINE_ERR_INVALID_REQUEST, .upstream_status = 400, .message = "x"}, &out);
    assert_int_equal(out.status, 400);
    assert_null(out.code);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(missing_and_empty_messages_name_the_field, setup, teardown),
        cmocka_unit_test_setup_teardown(wrong_role_names_the_message, setup, teardown),
        cmocka_unit_test_setup_teardown(conversation_must_end_with_user, setup, teardown),
        cmocka_unit_test_setup_teardown(max_tokens_required_except_for_count_tokens, setup, teardown),
        cmocka_unit_test_setup_teardown(scalar_types_are_checked, setup, teardown),
        cmocka_unit_test_setup_teardown(content_blocks_are_checked, setup, teardown),
        cmocka_unit_test_setup_teardown(system_string_and_blocks_become_one_text, setup, teardown),
        cmocka_unit_test_setup_teardown(same_role_messages_merge_and_blocks_survive, setup, teardown),
        cmocka_unit_test_setup_teardown(model_defaults_and_fields_carry_over, setup, teardown),
        cmocka_unit_test_setup_teardown(thinking_variants, setup, teardown),
        cmocka_unit_test_setup_teardown(tools_are_flagged_and_checked, setup, teardown),
        cmocka_unit_test_setup_teardown(effort_and_structured_output, setup, teardown),
        cmocka_unit_test(body_json_problems),
        cmocka_unit_test(field_wording_per_dialect),
        cmocka_unit_test(engine_errors_map_to_client_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
