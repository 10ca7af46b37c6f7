/* Which API a path speaks: the shape of its errors and answers. http/ carries it opaquely on routes. */
#ifndef CWP_API_DIALECT_H
#define CWP_API_DIALECT_H
#include <stdbool.h>
#include <stddef.h>

typedef enum { DIALECT_PLAIN, DIALECT_ANTHROPIC, DIALECT_OPENAI } api_dialect_t;

/* The dialect for a path no route matched (for 404/405 bodies). */
api_dialect_t api_dialect_for_path(const char *path);

/*
 * The path as the routes know it. Clients disagree on whether a base URL ends in /v1 (opencode's and
 * Continue's Anthropic providers add only "/messages", SillyTavern doubles a trailing slash), so repeated
 * slashes collapse, a trailing one goes, a doubled /v1/v1 (a /v1 base URL given to an Anthropic client)
 * counts once, and the API paths are served without their /v1 too.
 * Writes the canonical form to out and returns true when it differs from path (false also when it
 * would not fit).
 */
bool api_canonical_path(const char *path, char *out, size_t out_len);

#endif
