#include "util/json_depth.h"

#include <stdio.h>
#include <string.h>

#define PATH_STEPS 8 /* enough to name the field; the rest is the nesting itself */

typedef struct {
    bool is_obj;
    yyjson_arr_iter arr;
    yyjson_obj_iter obj;
    size_t index;    /* array: index of the child being entered */
    const char *key; /* object: key of the child being entered */
} frame_t;

static void frame_open(frame_t *f, yyjson_val *ctn) {
    memset(f, 0, sizeof *f);
    f->is_obj = yyjson_is_obj(ctn);
    if (f->is_obj) yyjson_obj_iter_init(ctn, &f->obj);
    else yyjson_arr_iter_init(ctn, &f->arr);
}

static void append(char *path, size_t path_len, size_t *at, const char *piece) {
    size_t n = strlen(piece);
    if (*at + n >= path_len) n = path_len - 1 - *at;
    memcpy(path + *at, piece, n);
    *at += n;
    path[*at] = '\0';
}

static void describe(const frame_t *frames, size_t depth, char *path, size_t path_len) {
    size_t at = 0;
    char piece[48];
    path[0] = '\0';
    for (size_t i = 0; i < depth && i < PATH_STEPS; i++) {
        if (frames[i].is_obj) snprintf(piece, sizeof piece, "%s%.40s", i ? "." : "", frames[i].key ? frames[i].key : "");
        else snprintf(piece, sizeof piece, "[%zu]", frames[i].index);
        append(path, path_len, &at, piece);
    }
    if (depth > PATH_STEPS) append(path, path_len, &at, "...");
}

bool json_depth_ok(yyjson_val *root, size_t max_depth, char *path, size_t path_len) {
    if (path && path_len) path[0] = '\0';
    if (!yyjson_is_ctn(root)) return true;
    if (max_depth > JSON_DEPTH_CAP) max_depth = JSON_DEPTH_CAP;
    if (max_depth == 0) return false;
    frame_t frames[JSON_DEPTH_CAP];
    size_t depth = 1;
    frame_open(&frames[0], root);
    while (depth > 0) {
        frame_t *f = &frames[depth - 1];
        yyjson_val *child;
        if (f->is_obj) {
            yyjson_val *key = yyjson_obj_iter_next(&f->obj);
            if (!key) {
                depth--;
                continue;
            }
            f->key = yyjson_get_str(key);
            child = yyjson_obj_iter_get_val(key);
        } else {
            f->index = f->arr.idx;
            child = yyjson_arr_iter_next(&f->arr);
            if (!child) {
                depth--;
                continue;
            }
        }
        if (!yyjson_is_ctn(child)) continue;
        if (depth == max_depth) {
            if (path && path_len) describe(frames, depth, path, path_len);
            return false;
        }
        frame_open(&frames[depth++], child);
    }
    return true;
}
