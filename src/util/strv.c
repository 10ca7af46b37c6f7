#include "util/strv.h"

#include <stdlib.h>
#include <string.h>

void strv_push(strv_t *s, const char *str) {
    if (s->is_failed) return;
    if (s->len + 2 > s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 32;
        char **v = realloc(s->v, cap * sizeof *v);
        if (!v) {
            s->is_failed = true;
            return;
        }
        s->v = v;
        s->cap = cap;
    }
    char *copy = strdup(str);
    if (!copy) {
        s->is_failed = true;
        return;
    }
    s->v[s->len++] = copy;
    s->v[s->len] = NULL;
}

char **strv_finish(strv_t *s) {
    if (s->is_failed || !s->v) {
        if (s->v) s->v[s->len] = NULL;
        strv_free(s->v);
        return NULL;
    }
    return s->v;
}

void strv_free(char **v) {
    if (!v) return;
    for (char **p = v; *p; p++) free(*p);
    free(v);
}
