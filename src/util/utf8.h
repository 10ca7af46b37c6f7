/* UTF-8 hygiene for text that reaches JSON: a client's or a child's bytes are not always valid UTF-8. */
#ifndef CWP_UTIL_UTF8_H
#define CWP_UTIL_UTF8_H
#include <stddef.h>

/* Overwrite every byte that is not part of a well-formed UTF-8 sequence (RFC 3629: no overlongs, no
 * surrogates, nothing past U+10FFFF; a sequence cut short counts as invalid) with '?', in place.
 * The length never changes and ASCII is never touched. Returns how many bytes were replaced. */
size_t utf8_scrub(char *s, size_t len);

#endif
