/* Error bodies per dialect (src/api/errors.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "api/errors.h"

/*
 * The four server functions errors.c calls, recorded instead of written to a socket. Defining them here
 * keeps the real server out of this program (the linker takes them from here first).
 */
static struct {
    int status;
    char content_type[64];
    char body[4096];
    char headers[512];
    int finishes;
} sent;

struct http_exchange_s {
    int unused;
};

const char *http_request_id(const http_exchange_t *ex) {
    (void)ex;
    return "req_test123";
}
void http_set_header(http_exchange_t *ex, const char *name, const char *value) {
    (void)ex;
    size_t n = strlen(sent.headers);
    snprintf(sent.headers + n, sizeof sent.headers - n, "%s: %s\n", name, value);
}
void http_respond(http_exchange_t *ex, int status, const char *content_type, const void *body, size_t len) {
    (void)ex;
    sent.status = status;
    snprintf(sent.content_type, sizeof sent.content_type, "%s", content_type);
    snprintf(sent.body, sizeof sent.body, "%.*s", (int)len, (const char *)body);
    sent.finishes++;
}
void http_respond_json(http_exchange_t *ex, int status, yyjson_mut_doc *doc) {
    size_t len;
    char *json = yyjson_mut_write(doc, 0, &len);
    assert_non_null(json);
    http_respond(ex, status, "application/json", json, len);
    free(json);
}

static http_exchange_t exchange;

static int reset(void **state) {
    (void)state;
    memset(&sent, 0, sizeof sent);
    return 0;
}

/* The body for err in dialect d, as JSON text. */
static char *body_text(api_dialect_t d, const api_error_t *err) {
    yyjson_mut_doc *doc = yyjson_mut_doc_new(NULL);
    yyjson_mut_val *root = api_error_body(doc, d, err);
    assert_non_null(root);
    yyjson_mut_doc_set_root(doc, root);
    char *json = yyjson_mut_write(doc, YYJSON_WRITE_NOFLAG, NULL);
    yyjson_mut_doc_free(doc);
    return json;
}

static void assert_body(api_dialect_t d, const api_error_t *err, const char *expected) {
    char *json = body_text(d, err);
    if (strcmp(json, expected) != 0) fail_msg("got %s\nwanted %s", json, expected);
    free(json);
}

static void anthropic_shape_is_type_error_with_typed_inner_error(void **state) {
    (void)state;
    api_error_t err = {.status = 400, .kind = API_ERR_INVALID_REQUEST, .message = "max_tokens: Field required",
                       .param = "max_tokens"};
    assert_body(DIALECT_ANTHROPIC, &err,
                "{\"type\":\"error\",\"error\":{\"type\":\"invalid_request_error\",\"message\":\"max_tokens: Field required\"}}");
    static const struct {
        api_error_kind_t kind;
        const char *type;
    } types[] = {
        {API_ERR_AUTHENTICATION, "authentication_error"}, {API_ERR_PERMISSION, "permission_error"},
        {API_ERR_NOT_FOUND, "not_found_error"},           {API_ERR_METHOD, "invalid_request_error"},
        {API_ERR_TOO_LARGE, "request_too_large"},         {API_ERR_MEDIA_TYPE, "invalid_request_error"},
        {API_ERR_RATE_LIMIT, "rate_limit_error"},         {API_ERR_API, "api_error"},
        {API_ERR_UNAVAILABLE, "api_error"},               {API_ERR_TIMEOUT, "timeout_error"},
        {API_ERR_OVERLOADED, "overloaded_error"},
    };
    for (size_t i = 0; i < sizeof types / sizeof types[0]; i++) {
        api_error_t e = {.kind = types[i].kind, .message = "m"};
        char expected[256];
        snprintf(expected, sizeof expected, "{\"type\":\"error\",\"error\":{\"type\":\"%s\",\"message\":\"m\"}}",
                 types[i].type);
        assert_body(DIALECT_ANTHROPIC, &e, expected);
    }
}

static void openai_shape_has_message_type_param_code(void **state) {
    (void)state;
    api_error_t bad = {.status = 400, .kind = API_ERR_INVALID_REQUEST, .message = "Invalid type for 'stream'",
                       .param = "stream"};
    assert_body(DIALECT_OPENAI, &bad,
                "{\"error\":{\"message\":\"Invalid type for 'stream'\",\"type\":\"invalid_request_error\","
                "\"param\":\"stream\",\"code\":null}}");
    api_error_t model = {.kind = API_ERR_NOT_FOUND, .message = "model 'x' not found", .param = "model",
                         .code = "model_not_found"};
    assert_body(DIALECT_OPENAI, &model,
                "{\"error\":{\"message\":\"model 'x' not found\",\"type\":\"invalid_request_error\","
                "\"param\":\"model\",\"code\":\"model_not_found\"}}");
    api_error_t key = {.kind = API_ERR_AUTHENTICATION, .message = "invalid API key"};
    assert_body(DIALECT_OPENAI, &key,
                "{\"error\":{\"message\":\"invalid API key\",\"type\":\"invalid_request_error\",\"param\":null,"
                "\"code\":\"invalid_api_key\"}}");
    api_error_t busy = {.kind = API_ERR_RATE_LIMIT, .message = "busy"};
    assert_body(DIALECT_OPENAI, &busy,
                "{\"error\":{\"message\":\"busy\",\"type\":\"requests\",\"param\":null,\"code\":\"rate_limit_exceeded\"}}");
    api_error_t crash = {.kind = API_ERR_API, .message = "boom"};
    assert_body(DIALECT_OPENAI, &crash,
                "{\"error\":{\"message\":\"boom\",\"type\":\"server_error\",\"param\":null,\"code\":\"server_error\"}}");
}

static void plain_shape_is_an_error_object(void **state) {
    (void)state;
    api_error_t err = {.kind = API_ERR_NOT_FOUND, .message = "no such endpoint: GET /nope"};
    assert_body(DIALECT_PLAIN, &err, "{\"error\":{\"type\":\"not_found_error\",\"message\":\"no such endpoint: GET /nope\"}}");
}

static void missing_message_gets_a_default(void **state) {
    (void)state;
    api_error_t err = {.kind = API_ERR_TOO_LARGE};
    assert_body(DIALECT_PLAIN, &err, "{\"error\":{\"type\":\"request_too_large\",\"message\":\"request body too large\"}}");
}

static void send_sets_status_retry_after_and_request_id(void **state) {
    (void)state;
    api_error_t err = {.status = 429, .kind = API_ERR_RATE_LIMIT, .message = "queue full", .retry_after_s = 7};
    api_error_send(&exchange, DIALECT_ANTHROPIC, &err);
    assert_int_equal(sent.finishes, 1);
    assert_int_equal(sent.status, 429);
    assert_string_equal(sent.content_type, "application/json");
    assert_string_equal(sent.headers, "retry-after: 7\n");
    assert_string_equal(sent.body, "{\"type\":\"error\",\"error\":{\"type\":\"rate_limit_error\",\"message\":\"queue full\"},"
                                   "\"request_id\":\"req_test123\"}");
}

static void send_without_status_uses_the_kinds(void **state) {
    (void)state;
    api_error_t err = {.kind = API_ERR_OVERLOADED, .message = "x"};
    api_error_send(&exchange, DIALECT_OPENAI, &err);
    assert_int_equal(sent.status, 529);
    assert_string_equal(sent.headers, "");
    assert_null(strstr(sent.body, "request_id"));
}

static void sendf_formats_the_message(void **state) {
    (void)state;
    api_error_sendf(&exchange, DIALECT_OPENAI, 400, API_ERR_INVALID_REQUEST, "messages", "messages[%d]: bad %s", 3, "role");
    assert_int_equal(sent.status, 400);
    assert_string_equal(sent.body, "{\"error\":{\"message\":\"messages[3]: bad role\",\"type\":\"invalid_request_error\","
                                   "\"param\":\"messages\",\"code\":null}}");
}

static void messages_are_escaped_as_json(void **state) {
    (void)state;
    api_error_t err = {.kind = API_ERR_INVALID_REQUEST, .message = "quote \" and \\ and\nnewline"};
    assert_body(DIALECT_PLAIN, &err,
                "{\"error\":{\"type\":\"invalid_request_error\",\"message\":\"quote \\\" and \\\\ and\\nnewline\"}}");
}

static void statuses_map_to_kinds_and_back(void **state) {
    (void)state;
    const int statuses[] = {400, 401, 403, 404, 405, 413, 415, 429, 500, 503, 504, 529};
    for (size_t i = 0; i < sizeof statuses / sizeof statuses[0]; i++)
        assert_int_equal(api_error_status(api_error_kind_for_status(statuses[i])), statuses[i]);
    assert_int_equal(api_error_kind_for_status(408), API_ERR_INVALID_REQUEST);
    assert_int_equal(api_error_kind_for_status(431), API_ERR_INVALID_REQUEST);
    assert_int_equal(api_error_kind_for_status(502), API_ERR_API);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(anthropic_shape_is_type_error_with_typed_inner_error, reset),
        cmocka_unit_test_setup(openai_shape_has_message_type_param_code, reset),
        cmocka_unit_test_setup(plain_shape_is_an_error_object, reset),
        cmocka_unit_test_setup(missing_message_gets_a_default, reset),
        cmocka_unit_test_setup(send_sets_status_retry_after_and_request_id, reset),
        cmocka_unit_test_setup(send_without_status_uses_the_kinds, reset),
        cmocka_unit_test_setup(sendf_formats_the_message, reset),
        cmocka_unit_test_setup(messages_are_escaped_as_json, reset),
        cmocka_unit_test_setup(statuses_map_to_kinds_and_back, reset),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
