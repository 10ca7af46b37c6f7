/*
 * The input-token estimate behind POST /v1/messages/count_tokens.
 *
 * The CLI has no tokenizer to ask, so we estimate the way the usual rule of thumb does: one token per
 * four characters (Unicode code points) of every text the model reads — system prompt, message text,
 * tool_use input and tool_result text, thinking, tool definitions serialised as JSON — plus fixed costs:
 * ANTHROPIC_TOKENS_PER_IMAGE per image and per PDF/URL document, ANTHROPIC_TOKENS_PER_MESSAGE per
 * message, ANTHROPIC_TOKENS_BASE per request and ANTHROPIC_TOKENS_TOOLS_BASE when tools are defined (the
 * real API's tool-use system prompt). It grows with the input and is within tens of percent for English
 * text; it is not exact.
 */
#include <stdlib.h>
#include <string.h>

#include "api/anthropic.h"

typedef struct {
    int64_t chars;
    int64_t fixed;
} tally_t;

static int64_t code_points(const char *s, size_t len) {
    int64_t n = 0;
    for (size_t i = 0; i < len; i++)
        if (((unsigned char)s[i] & 0xC0) != 0x80) n++;
    return n;
}

static void add_str(tally_t *t, yyjson_val *v) {
    if (yyjson_is_str(v)) t->chars += code_points(yyjson_get_str(v), yyjson_get_len(v));
}

/* Structured values (tool input, schemas) reach the model as JSON text. */
static void add_json(tally_t *t, yyjson_val *v) {
    if (!v) return;
    size_t len = 0;
    char *json = yyjson_val_write(v, 0, &len);
    if (json) {
        t->chars += code_points(json, len);
        free(json);
    }
}

static void add_content(tally_t *t, yyjson_val *content, int depth);

static void add_block(tally_t *t, yyjson_val *block, int depth) {
    const char *type = yyjson_get_str(yyjson_obj_get(block, "type"));
    if (!type) return;
    if (strcmp(type, "text") == 0) {
        add_str(t, yyjson_obj_get(block, "text"));
    } else if (strcmp(type, "image") == 0) {
        t->fixed += ANTHROPIC_TOKENS_PER_IMAGE;
    } else if (strcmp(type, "document") == 0) {
        yyjson_val *source = yyjson_obj_get(block, "source");
        const char *st = yyjson_get_str(yyjson_obj_get(source, "type"));
        if (st && strcmp(st, "text") == 0) add_str(t, yyjson_obj_get(source, "data"));
        else if (st && strcmp(st, "content") == 0) add_content(t, yyjson_obj_get(source, "content"), depth + 1);
        else t->fixed += ANTHROPIC_TOKENS_PER_IMAGE;
        add_str(t, yyjson_obj_get(block, "title"));
        add_str(t, yyjson_obj_get(block, "context"));
    } else if (strcmp(type, "tool_use") == 0) {
        add_str(t, yyjson_obj_get(block, "name"));
        add_json(t, yyjson_obj_get(block, "input"));
    } else if (strcmp(type, "tool_result") == 0) {
        add_content(t, yyjson_obj_get(block, "content"), depth + 1);
    } else if (strcmp(type, "thinking") == 0) {
        add_str(t, yyjson_obj_get(block, "thinking"));
    }
}

/* A string or a list of blocks; depth bounds tool_result/document nesting. */
static void add_content(tally_t *t, yyjson_val *content, int depth) {
    if (yyjson_is_str(content)) {
        add_str(t, content);
        return;
    }
    if (!yyjson_is_arr(content) || depth > 4) return;
    size_t i, n;
    yyjson_val *block;
    yyjson_arr_foreach(content, i, n, block) add_block(t, block, depth);
}

int64_t anthropic_count_tokens(yyjson_val *request) {
    tally_t t = {.chars = 0, .fixed = ANTHROPIC_TOKENS_BASE};
    add_content(&t, yyjson_obj_get(request, "system"), 0);

    size_t i, n;
    yyjson_val *msg;
    yyjson_arr_foreach(yyjson_obj_get(request, "messages"), i, n, msg) {
        t.fixed += ANTHROPIC_TOKENS_PER_MESSAGE;
        add_content(&t, yyjson_obj_get(msg, "content"), 0);
    }

    yyjson_val *tools = yyjson_obj_get(request, "tools");
    if (yyjson_arr_size(tools) > 0) {
        t.fixed += ANTHROPIC_TOKENS_TOOLS_BASE;
        yyjson_val *tool;
        yyjson_arr_foreach(tools, i, n, tool) {
            add_str(&t, yyjson_obj_get(tool, "name"));
            add_str(&t, yyjson_obj_get(tool, "description"));
            add_json(&t, yyjson_obj_get(tool, "input_schema"));
        }
    }
    return t.fixed + (t.chars + 3) / 4;
}
