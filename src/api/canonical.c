#include "api/canonical.h"

#include <string.h>

const char *const CANON_IMAGE_MEDIA_TYPES[] = {"image/jpeg", "image/png", "image/gif", "image/webp"};
const size_t CANON_IMAGE_MEDIA_TYPE_COUNT = sizeof CANON_IMAGE_MEDIA_TYPES / sizeof CANON_IMAGE_MEDIA_TYPES[0];

bool canon_is_image_media_type(const char *type, size_t len) {
    for (size_t i = 0; i < CANON_IMAGE_MEDIA_TYPE_COUNT; i++)
        if (strlen(CANON_IMAGE_MEDIA_TYPES[i]) == len && strncmp(type, CANON_IMAGE_MEDIA_TYPES[i], len) == 0)
            return true;
    return false;
}

int canon_init(canon_t *c, yyjson_mut_doc *doc) {
    *c = (canon_t){.doc = doc};
    buf_init(&c->system, 0);
    c->messages = yyjson_mut_arr(doc);
    return c->messages ? 0 : -1;
}

int canon_add_system(canon_t *c, const char *text, size_t len, bool starts_prompt) {
    if (c->system.len && buf_append_str(&c->system, starts_prompt ? CANON_SYSTEM_PROMPT_SEP : CANON_SYSTEM_PART_SEP) < 0)
        return -1;
    return buf_append(&c->system, text, len) < 0 ? -1 : 0;
}

/* content as an array of blocks: an array as is, a string as one text block (copied). */
static yyjson_mut_val *as_block_array(yyjson_mut_doc *doc, yyjson_mut_val *content) {
    if (yyjson_mut_is_arr(content)) return content;
    yyjson_mut_val *blocks = yyjson_mut_arr(doc);
    yyjson_mut_val *block = yyjson_mut_arr_add_obj(doc, blocks);
    if (!blocks || !block || !yyjson_mut_obj_add_str(doc, block, "type", "text") ||
        !yyjson_mut_obj_add_strncpy(doc, block, "text", yyjson_mut_get_str(content), yyjson_mut_get_len(content)))
        return NULL;
    return blocks;
}

const char *canon_last_role(const canon_t *c) {
    return c->last ? yyjson_mut_get_str(yyjson_mut_obj_get(c->last, "role")) : NULL;
}

int canon_add_message(canon_t *c, const char *role, yyjson_mut_val *content) {
    const char *last_role = canon_last_role(c);
    if (last_role && strcmp(last_role, role) == 0) {
        /* The Messages API wants alternating turns: fold this one into the previous message. */
        yyjson_mut_val *prev = as_block_array(c->doc, yyjson_mut_obj_get(c->last, "content"));
        yyjson_mut_val *more = as_block_array(c->doc, content);
        if (!prev || !more) return -1;
        yyjson_mut_val *block;
        while ((block = yyjson_mut_arr_remove_first(more)))
            if (!yyjson_mut_arr_append(prev, block)) return -1;
        return yyjson_mut_obj_put(c->last, yyjson_mut_str(c->doc, "content"), prev) ? 0 : -1;
    }
    yyjson_mut_val *msg = yyjson_mut_arr_add_obj(c->doc, c->messages);
    if (!msg || !yyjson_mut_obj_add_str(c->doc, msg, "role", role) ||
        !yyjson_mut_obj_add_val(c->doc, msg, "content", content))
        return -1;
    c->last = msg;
    return 0;
}

int canon_finish(canon_t *c, yyjson_mut_val *body) {
    if (c->system.len && !yyjson_mut_obj_add_strncpy(c->doc, body, "system", c->system.data, c->system.len)) return -1;
    return yyjson_mut_obj_add_val(c->doc, body, "messages", c->messages) ? 0 : -1;
}

void canon_free(canon_t *c) { buf_free(&c->system); }
