/* UTF-8 hygiene for text that reaches JSON: a client's or a child's bytes are not always valid UTF-8. */
#ifndef CWP_UTIL_UTF8_H
#define CWP_UTIL_UTF8_H
#include <stdbool.h>
#include <stddef.h>
#include <yyjson.h>

/* Overwrite every byte that is not part of a well-formed UTF-8 sequence (RFC 3629: no overlongs, no
 * surrogates, nothing past U+10FFFF; a sequence cut short counts as invalid) with '?', in place.
 * The length never changes and ASCII is never touched. Returns how many bytes were replaced. */
size_t utf8_scrub(char *s, size_t len);
/* Is s[0, len) well-formed UTF-8 (by the same rules)? */
bool utf8_is_valid(const char *s, size_t len);
/* doc as JSON text (malloc'd, *len set), or NULL when out of memory. A string holding bytes that are not
 * UTF-8 (a client's header, a child's output, a message cut to a fixed size mid-character) is written as
 * it is and scrubbed: those bytes are all >= 0x80, so no JSON syntax is touched. */
char *utf8_json_write(const yyjson_mut_doc *doc, size_t *len);
/* How many bytes of s[0, len) go in a piece of at most max bytes without cutting a character in two: len
 * when it all fits, else the last character boundary at or before max (max itself when the bytes there are
 * no UTF-8: no lead byte within 3 before it). With max >= 4, never 0 for len > 0. */
size_t utf8_piece_len(const char *s, size_t len, size_t max);

#endif
