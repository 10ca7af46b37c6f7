/* Owned, growable bytes with an explicit capacity limit. */
#ifndef CWP_UTIL_BUF_H
#define CWP_UTIL_BUF_H
#include <stddef.h>

typedef struct {
    const char *ptr;
    size_t len;
} view_t;

typedef struct {
    char *data;
    size_t len;
    size_t cap;
    size_t limit; /* 0 = no limit; appends past it fail with -ENOBUFS */
} buf_t;

#define VIEW_LIT(s) ((view_t){(s), sizeof(s) - 1})

void buf_init(buf_t *b, size_t limit);
void buf_free(buf_t *b);
int buf_reserve(buf_t *b, size_t extra);
int buf_append(buf_t *b, const void *data, size_t len);
int buf_append_str(buf_t *b, const char *s);
int buf_appendf(buf_t *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Drop the first n bytes (consumed input). */
void buf_consume(buf_t *b, size_t n);
void buf_reset(buf_t *b);
/* NUL-terminated view of the contents (keeps one spare byte). */
const char *buf_cstr(buf_t *b);

#endif
