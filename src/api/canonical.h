/*
 * The canonical request: what every dialect adapter builds and the engine runs. It is an Anthropic
 * Messages body (model, system, messages, max_tokens, ...) in the adapter's yyjson_mut_doc; this module
 * owns the rules all adapters share, so they cannot drift apart:
 *
 *   - messages alternate: a message with the same role as the previous one is folded into it (both
 *     contents become one array of blocks, a string becoming one text block), as the real API does;
 *   - system is one text: the parts of one prompt join with CANON_SYSTEM_PART_SEP, separate prompts
 *     (e.g. several OpenAI system/developer messages) with CANON_SYSTEM_PROMPT_SEP;
 *   - images are one of CANON_IMAGE_MEDIA_TYPES.
 *
 * Use:
 *     canon_t c;
 *     canon_init(&c, doc);                          // doc: the adapter's output document
 *     canon_add_system(&c, text, len, true);        // true: a new prompt; false: the next part of one
 *     canon_add_message(&c, "user", content);       // a string or block array of doc, moved in
 *     canon_finish(&c, body);                       // adds "system" (when not empty) and "messages"
 *     canon_free(&c);                               // always (after finish too)
 *
 * Every function returns 0, or -1 when out of memory. Validation of the client's input (and its error
 * wording) stays with each adapter; the engine only checks the invariants (engine/request.c).
 */
#ifndef CWP_API_CANONICAL_H
#define CWP_API_CANONICAL_H
#include <stdbool.h>
#include <stddef.h>
#include <yyjson.h>

#include "engine/engine.h"
#include "util/buf.h"

#define CANON_SYSTEM_PART_SEP ENGINE_SYSTEM_PART_SEP
#define CANON_SYSTEM_PROMPT_SEP "\n\n"

/* The image media types the Messages API takes (base64 sources). */
extern const char *const CANON_IMAGE_MEDIA_TYPES[];
extern const size_t CANON_IMAGE_MEDIA_TYPE_COUNT;
bool canon_is_image_media_type(const char *type, size_t len);

typedef struct {
    yyjson_mut_doc *doc;
    yyjson_mut_val *messages; /* the canonical messages array */
    yyjson_mut_val *last;     /* the last message (for folding), or NULL */
    buf_t system;
} canon_t;

int canon_init(canon_t *c, yyjson_mut_doc *doc);
int canon_add_system(canon_t *c, const char *text, size_t len, bool starts_prompt);
/* role: "user" or "assistant" (not copied: a string literal or one living in doc). */
int canon_add_message(canon_t *c, const char *role, yyjson_mut_val *content);
/* The role of the last message added, or NULL. */
const char *canon_last_role(const canon_t *c);
int canon_finish(canon_t *c, yyjson_mut_val *body);
void canon_free(canon_t *c);

#endif
