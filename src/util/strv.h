/* NULL-terminated vectors of malloc'd strings (argv, envp), built by appending. */
#ifndef CWP_UTIL_STRV_H
#define CWP_UTIL_STRV_H
#include <stdbool.h>
#include <stddef.h>

typedef struct {
    char **v;
    size_t len, cap;
    bool is_failed; /* an allocation failed: strv_finish gives NULL */
} strv_t;

/* Append a copy of str (nothing after a failure). */
void strv_push(strv_t *s, const char *str);
/* The vector (the caller frees it with strv_free), or NULL when any push failed (s's memory is freed). */
char **strv_finish(strv_t *s);
void strv_free(char **v);

#endif
