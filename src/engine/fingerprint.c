#include "engine/fingerprint.h"

#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/buf.h"
#include "engine/tool_choice.h" /* CLIENT_TOOL_PREFIX */


struct fingerprint_ctx_s {
    EVP_MD_CTX *md;
    buf_t text_run; /* adjacent text, joined before it is hashed */
};

/* Every item is framed (tag + length) so that different shapes can never hash the same bytes. */
static void put_raw(fingerprint_ctx_t *fc, const void *p, size_t n) { EVP_DigestUpdate(fc->md, p, n); }

static void put_tagged(fingerprint_ctx_t *fc, char tag, const char *s, size_t n) {
    uint64_t len = n;
    put_raw(fc, &tag, 1);
    put_raw(fc, &len, sizeof len);
    if (n) put_raw(fc, s, n);
}

/* A container: its tag and how many items follow. */
static void put_count(fingerprint_ctx_t *fc, char tag, size_t count) {
    uint64_t n = count;
    put_raw(fc, &tag, 1);
    put_raw(fc, &n, sizeof n);
}

static void put_str(fingerprint_ctx_t *fc, const char *s) { put_tagged(fc, 's', s ? s : "", s ? strlen(s) : 0); }

typedef struct {
    const char *key;
    size_t len;
    yyjson_val *val;
} kv_t;

static int kv_cmp(const void *a, const void *b) {
    const kv_t *x = a, *y = b;
    size_t n = x->len < y->len ? x->len : y->len;
    int c = memcmp(x->key, y->key, n);
    return c ? c : (x->len > y->len) - (x->len < y->len);
}

static bool is_ignored_key(const char *key) { return !strcmp(key, "cache_control") || !strcmp(key, "citations"); }

/* Any JSON value, object keys sorted, numbers by value. */
static void put_value(fingerprint_ctx_t *fc, yyjson_val *v, int depth) {
    if (depth > 64) return;
    char num[40];
    switch (yyjson_get_type(v)) {
    case YYJSON_TYPE_NULL: put_tagged(fc, 'n', "", 0); break;
    case YYJSON_TYPE_BOOL: put_tagged(fc, yyjson_get_bool(v) ? 't' : 'f', "", 0); break;
    case YYJSON_TYPE_NUM:
        if (yyjson_is_real(v)) snprintf(num, sizeof num, "%.17g", yyjson_get_real(v));
        else if (yyjson_is_sint(v)) snprintf(num, sizeof num, "%lld", (long long)yyjson_get_sint(v));
        else snprintf(num, sizeof num, "%llu", (unsigned long long)yyjson_get_uint(v));
        put_tagged(fc, 'd', num, strlen(num));
        break;
    case YYJSON_TYPE_STR: put_tagged(fc, 's', yyjson_get_str(v), yyjson_get_len(v)); break;
    case YYJSON_TYPE_ARR: {
        put_count(fc, '[', yyjson_arr_size(v));
        size_t i, max;
        yyjson_val *item;
        yyjson_arr_foreach(v, i, max, item) put_value(fc, item, depth + 1);
        break;
    }
    case YYJSON_TYPE_OBJ: {
        size_t n = yyjson_obj_size(v), count = 0;
        kv_t *kvs = n ? malloc(n * sizeof *kvs) : NULL;
        if (n && !kvs) return;
        size_t i, max;
        yyjson_val *key, *val;
        yyjson_obj_foreach(v, i, max, key, val) {
            if (is_ignored_key(yyjson_get_str(key))) continue;
            kvs[count++] = (kv_t){yyjson_get_str(key), yyjson_get_len(key), val};
        }
        if (count > 1) qsort(kvs, count, sizeof *kvs, kv_cmp);
        put_count(fc, '{', count);
        for (size_t k = 0; k < count; k++) {
            put_tagged(fc, 's', kvs[k].key, kvs[k].len);
            put_value(fc, kvs[k].val, depth + 1);
        }
        free(kvs);
        break;
    }
    default: put_tagged(fc, '?', "", 0); break;
    }
}

static void flush_text(fingerprint_ctx_t *fc) {
    if (fc->text_run.len == 0) return;
    put_tagged(fc, 'T', fc->text_run.data, fc->text_run.len);
    /* A session keeps its context between turns: a huge answer's text must not stay allocated in it. */
    if (fc->text_run.cap > ((size_t)1 << 20)) {
        buf_free(&fc->text_run);
        buf_init(&fc->text_run, 0);
    } else {
        buf_reset(&fc->text_run);
    }
}

static void put_content(fingerprint_ctx_t *fc, yyjson_val *content, int depth);

static void put_block(fingerprint_ctx_t *fc, yyjson_val *block, int depth) {
    const char *type = yyjson_get_str(yyjson_obj_get(block, "type"));
    if (!type) type = "";
    if (!strcmp(type, "text")) {
        yyjson_val *t = yyjson_obj_get(block, "text");
        buf_append(&fc->text_run, yyjson_get_str(t) ? yyjson_get_str(t) : "", yyjson_get_len(t));
        return;
    }
    if (!strcmp(type, "thinking") || !strcmp(type, "redacted_thinking")) return;
    flush_text(fc);
    if (!strcmp(type, "tool_use")) {
        const char *name = yyjson_get_str(yyjson_obj_get(block, "name"));
        if (name && !strncmp(name, CLIENT_TOOL_PREFIX, strlen(CLIENT_TOOL_PREFIX))) name += strlen(CLIENT_TOOL_PREFIX);
        put_tagged(fc, 'U', "", 0);
        put_str(fc, yyjson_get_str(yyjson_obj_get(block, "id")));
        put_str(fc, name);
        yyjson_val *input = yyjson_obj_get(block, "input");
        if (input) put_value(fc, input, depth + 1);
        else put_tagged(fc, '{', "", 0);
    } else if (!strcmp(type, "tool_result")) {
        put_tagged(fc, 'R', "", 0);
        put_str(fc, yyjson_get_str(yyjson_obj_get(block, "tool_use_id")));
        put_tagged(fc, yyjson_get_bool(yyjson_obj_get(block, "is_error")) ? 't' : 'f', "", 0);
        put_content(fc, yyjson_obj_get(block, "content"), depth + 1);
        put_tagged(fc, ')', "", 0);
    } else {
        put_tagged(fc, 'O', "", 0);
        put_value(fc, block, depth + 1);
    }
}

static void put_content(fingerprint_ctx_t *fc, yyjson_val *content, int depth) {
    if (depth > 16) return;
    if (yyjson_is_str(content)) {
        buf_append(&fc->text_run, yyjson_get_str(content), yyjson_get_len(content));
    } else if (yyjson_is_arr(content)) {
        size_t i, max;
        yyjson_val *block;
        yyjson_arr_foreach(content, i, max, block) put_block(fc, block, depth);
    }
    flush_text(fc);
}

fingerprint_ctx_t *fingerprint_begin(const fingerprint_header_t *h) {
    fingerprint_ctx_t *fc = calloc(1, sizeof *fc);
    if (!fc) return NULL;
    buf_init(&fc->text_run, 0);
    fc->md = EVP_MD_CTX_new();
    if (!fc->md || EVP_DigestInit_ex(fc->md, EVP_sha256(), NULL) != 1) {
        fingerprint_free(fc);
        return NULL;
    }
    put_tagged(fc, 'H', "cwp-fp-1", 8);
    put_str(fc, h->mode);
    put_str(fc, h->model);
    put_str(fc, h->system);
    put_str(fc, h->json_schema);
    put_str(fc, h->effort);
    put_tagged(fc, 'L', "", 0);
    if (yyjson_is_arr(h->tools)) {
        size_t i, max;
        yyjson_val *tool;
        yyjson_arr_foreach(h->tools, i, max, tool) put_value(fc, tool, 0);
    }
    return fc;
}

int fingerprint_add_message(fingerprint_ctx_t *fc, const char *role, yyjson_val *content) {
    put_tagged(fc, 'M', role ? role : "", role ? strlen(role) : 0);
    put_content(fc, content, 0);
    put_tagged(fc, 'E', "", 0);
    return 0;
}

fingerprint_ctx_t *fingerprint_dup(const fingerprint_ctx_t *fc) {
    fingerprint_ctx_t *c = calloc(1, sizeof *c);
    if (!c) return NULL;
    buf_init(&c->text_run, 0);
    c->md = EVP_MD_CTX_new();
    if (!c->md || EVP_MD_CTX_copy_ex(c->md, fc->md) != 1) {
        fingerprint_free(c);
        return NULL;
    }
    return c;
}

int fingerprint_peek(const fingerprint_ctx_t *fc, fingerprint_t *out) {
    EVP_MD_CTX *copy = EVP_MD_CTX_new();
    unsigned len = 0;
    int ok = copy && EVP_MD_CTX_copy_ex(copy, fc->md) == 1 && EVP_DigestFinal_ex(copy, out->bytes, &len) == 1;
    EVP_MD_CTX_free(copy);
    return ok && len == FINGERPRINT_LEN ? 0 : -1;
}

void fingerprint_free(fingerprint_ctx_t *fc) {
    if (!fc) return;
    EVP_MD_CTX_free(fc->md);
    buf_free(&fc->text_run);
    free(fc);
}

bool fingerprint_equal(const fingerprint_t *a, const fingerprint_t *b) {
    return memcmp(a->bytes, b->bytes, FINGERPRINT_LEN) == 0;
}

void fingerprint_hex(const fingerprint_t *fp, char out[2 * FINGERPRINT_LEN + 1]) {
    static const char hex[] = "0123456789abcdef";
    for (size_t i = 0; i < FINGERPRINT_LEN; i++) {
        out[2 * i] = hex[fp->bytes[i] >> 4];
        out[2 * i + 1] = hex[fp->bytes[i] & 15];
    }
    out[2 * FINGERPRINT_LEN] = '\0';
}
