/* Shared between responses_request.c and responses_tools.c: the conversion's working state. */
#ifndef CWP_API_RESPONSES_INTERNAL_H
#define CWP_API_RESPONSES_INTERNAL_H
#include "api/responses.h"

/* Where a Chat Completions message came from, to name the field when the converter refuses it:
 * an index into input, or one of these. */
#define RQ_ORIGIN_INSTRUCTIONS (-2)
#define RQ_ORIGIN_HISTORY (-1)
#define RQ_MAX_ORIGINS 4096

typedef struct {
    yyjson_mut_doc *chat;     /* the Chat Completions body being built */
    yyjson_mut_val *messages;
    int origins[RQ_MAX_ORIGINS];
    unsigned origin_count;
    api_problem_t *why;
    responses_request_t *out;
} rq_convert_t;

int rq_oom(rq_convert_t *c);
/* model, stream, store, previous_response_id, max_output_tokens, text.format, reasoning, metadata, ...:
 * checked, copied into the Chat Completions body and the echo. */
int rq_convert_options(rq_convert_t *c, yyjson_val *root, yyjson_mut_val *body);
/* tools (function, namespace, custom; hosted ones skipped), tool_choice, parallel_tool_calls. */
int rq_convert_tools(rq_convert_t *c, yyjson_val *root, yyjson_mut_val *body);

#endif
