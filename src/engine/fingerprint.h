/*
 * Conversation fingerprints: SHA-256 over a canonical form of (settings, messages), so that a request
 * whose history equals what a live session holds can be routed to it.
 *
 * Canonical form, chosen so that what SDKs send back matches what the session produced:
 * - content given as a string == one text block; adjacent text blocks are joined (no separator), so an
 *   OpenAI client sending the reply back as one string matches a reply of several text blocks;
 * - thinking / redacted_thinking blocks are ignored (clients drop them or keep signatures we don't need);
 *   empty text is ignored; cache_control and citations are ignored;
 * - tool_use names lose the "mcp__client__" prefix; object keys are compared sorted, numbers by value;
 * - tool_result content as a string == one text block.
 */
#ifndef CWP_ENGINE_FINGERPRINT_H
#define CWP_ENGINE_FINGERPRINT_H
#include <stdbool.h>
#include <stdint.h>
#include <yyjson.h>

#define FINGERPRINT_LEN 32

typedef struct {
    uint8_t bytes[FINGERPRINT_LEN];
} fingerprint_t;

typedef struct fingerprint_ctx_s fingerprint_ctx_t;

typedef struct {
    const char *mode;        /* "api" | "agent" */
    const char *model;
    const char *system;      /* joined system text ("" when none) */
    yyjson_val *tools;       /* the request's tools array, or NULL */
    const char *json_schema; /* or NULL */
    const char *effort;      /* or NULL */
} fingerprint_header_t;

fingerprint_ctx_t *fingerprint_begin(const fingerprint_header_t *h);
/* role "user" | "assistant"; content a string or an array of blocks. */
int fingerprint_add_message(fingerprint_ctx_t *fc, const char *role, yyjson_val *content);
fingerprint_ctx_t *fingerprint_dup(const fingerprint_ctx_t *fc);
/* The digest of what was added so far; fc stays usable. */
int fingerprint_peek(const fingerprint_ctx_t *fc, fingerprint_t *out);
void fingerprint_free(fingerprint_ctx_t *fc);

bool fingerprint_equal(const fingerprint_t *a, const fingerprint_t *b);
/* 64 hex chars + NUL */
void fingerprint_hex(const fingerprint_t *fp, char out[2 * FINGERPRINT_LEN + 1]);

#endif
