/*
 * Each dialect's request -> canonical request -> engine request, on arbitrary bytes: the body is parsed and
 * depth-checked as the HTTP handlers do (api_parse_json), then converted by the first input byte's dialect
 * (Anthropic Messages, Anthropic count_tokens, OpenAI Chat Completions, OpenAI Responses), then the
 * canonical document goes through engine_request_init as a turn would. Nothing may crash, leak or recurse
 * without bound.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "api/anthropic.h"
#include "api/openai.h"
#include "api/responses.h"
#include "api/turn_bridge.h"
#include "config.h"
#include "engine/request.h"

static config_t cfg;

int LLVMFuzzerInitialize(int *argc, char ***argv) {
    (void)argc;
    (void)argv;
    config_init_defaults(&cfg);
    return 0;
}

static void to_engine(yyjson_val *canonical, const char *json_schema, const char *effort) {
    turn_request_t t = {.request_id = "req_fuzz", .client = "fuzz", .endpoint = "/fuzz", .body = canonical,
                        .json_schema = json_schema, .effort = effort};
    engine_request_t r;
    char err[256];
    memset(&r, 0, sizeof r);
    if (engine_request_init(&r, &t, "api", err, sizeof err) == 0) engine_request_free(&r);
}

static void openai_to_engine(openai_request_t *chat) {
    yyjson_doc *canonical = yyjson_mut_doc_imut_copy(chat->doc, NULL);
    if (!canonical) return;
    to_engine(yyjson_doc_get_root(canonical), chat->json_schema, chat->effort);
    yyjson_doc_free(canonical);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 1) return 0;
    unsigned dialect = data[0] % 4;
    api_problem_t why;
    yyjson_doc *doc = api_parse_json((const char *)data + 1, size - 1, &why);
    if (!doc) return 0;
    yyjson_val *root = yyjson_doc_get_root(doc);
    if (dialect <= 1) {
        anthropic_request_t req;
        memset(&req, 0, sizeof req);
        anthropic_parse_mode_t mode = dialect ? ANTHROPIC_PARSE_COUNT_TOKENS : ANTHROPIC_PARSE_MESSAGES;
        if (anthropic_request_parse(&cfg, root, mode, &req, &why) == 0) {
            if (mode == ANTHROPIC_PARSE_COUNT_TOKENS) (void)anthropic_count_tokens(yyjson_doc_get_root(req.doc));
            else to_engine(yyjson_doc_get_root(req.doc), NULL, req.effort);
        }
        anthropic_request_free(&req);
    } else if (dialect == 2) {
        openai_request_t req;
        memset(&req, 0, sizeof req);
        if (openai_request_convert(&cfg, root, &req, &why) == 0) openai_to_engine(&req);
        openai_request_free(&req);
    } else {
        responses_request_t req;
        memset(&req, 0, sizeof req);
        if (responses_request_convert(&cfg, root, NULL, &req, &why) == 0) openai_to_engine(&req.chat);
        responses_request_free(&req);
    }
    yyjson_doc_free(doc);
    return 0;
}
