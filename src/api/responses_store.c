/*
 * Kept responses for previous_response_id, GET and DELETE: in memory, oldest first, bounded by count and
 * bytes (a single entry larger than the byte bound is not kept at all). A lookup is a linear scan: the
 * bound is a few hundred entries, and a lookup happens once per request.
 */
#include <stdlib.h>
#include <string.h>

#include "api/responses.h"

typedef struct {
    char *id;
    char *response_json;
    char *history_json;
    size_t bytes;
} entry_t;

struct responses_store_s {
    entry_t *entries; /* oldest first */
    size_t count, cap;
    size_t bytes;
    size_t max_count, max_bytes;
};

responses_store_t *responses_store_new(size_t max_count, size_t max_bytes) {
    responses_store_t *st = calloc(1, sizeof *st);
    if (!st) return NULL;
    st->max_count = max_count;
    st->max_bytes = max_bytes;
    return st;
}

static void entry_free(entry_t *e) {
    free(e->id);
    free(e->response_json);
    free(e->history_json);
}

void responses_store_free(responses_store_t *st) {
    if (!st) return;
    for (size_t i = 0; i < st->count; i++) entry_free(&st->entries[i]);
    free(st->entries);
    free(st);
}

static entry_t *find(const responses_store_t *st, const char *id) {
    for (size_t i = 0; id && i < st->count; i++)
        if (strcmp(st->entries[i].id, id) == 0) return &st->entries[i];
    return NULL;
}

static void remove_at(responses_store_t *st, size_t i) {
    st->bytes -= st->entries[i].bytes;
    entry_free(&st->entries[i]);
    memmove(&st->entries[i], &st->entries[i + 1], (st->count - i - 1) * sizeof *st->entries);
    st->count--;
}

int responses_store_put(responses_store_t *st, const char *id, char *response_json, char *history_json) {
    size_t bytes = strlen(id) + strlen(response_json) + strlen(history_json);
    responses_store_delete(st, id);
    if (st->max_count == 0 || bytes > st->max_bytes) {
        free(response_json);
        free(history_json);
        return 0; /* too big to keep: the caller's turn still succeeded */
    }
    while (st->count > 0 && (st->count >= st->max_count || st->bytes + bytes > st->max_bytes)) remove_at(st, 0);
    if (st->count == st->cap) {
        size_t cap = st->cap ? st->cap * 2 : 16;
        entry_t *grown = realloc(st->entries, cap * sizeof *grown);
        if (!grown) goto fail;
        st->entries = grown;
        st->cap = cap;
    }
    char *id_copy = strdup(id);
    if (!id_copy) goto fail;
    st->entries[st->count++] = (entry_t){id_copy, response_json, history_json, bytes};
    st->bytes += bytes;
    return 0;
fail:
    free(response_json);
    free(history_json);
    return -1;
}

const char *responses_store_response(const responses_store_t *st, const char *id) {
    entry_t *e = find(st, id);
    return e ? e->response_json : NULL;
}

const char *responses_store_history(const responses_store_t *st, const char *id) {
    entry_t *e = find(st, id);
    return e ? e->history_json : NULL;
}

bool responses_store_delete(responses_store_t *st, const char *id) {
    entry_t *e = find(st, id);
    if (!e) return false;
    remove_at(st, (size_t)(e - st->entries));
    return true;
}

size_t responses_store_count(const responses_store_t *st) { return st->count; }
size_t responses_store_bytes(const responses_store_t *st) { return st->bytes; }
