#include "engine/tool_choice.h"

#include <stdio.h>
#include <string.h>

static bool str_is(yyjson_val *v, const char *s) { return yyjson_is_str(v) && !strcmp(yyjson_get_str(v), s); }

int tool_choice_parse(yyjson_val *choice, tool_choice_t *out, char *err, size_t err_len) {
    memset(out, 0, sizeof *out);
    if (!choice || yyjson_is_null(choice)) return 0;
    if (!yyjson_is_obj(choice)) return snprintf(err, err_len, "tool_choice: must be an object"), -1;
    yyjson_val *type = yyjson_obj_get(choice, "type");
    out->is_parallel_disabled = yyjson_is_true(yyjson_obj_get(choice, "disable_parallel_tool_use"));
    if (str_is(type, "auto")) out->kind = TOOL_CHOICE_AUTO;
    else if (str_is(type, "none")) out->kind = TOOL_CHOICE_NONE;
    else if (str_is(type, "any")) out->kind = TOOL_CHOICE_ANY;
    else if (str_is(type, "tool")) out->kind = TOOL_CHOICE_TOOL;
    else return snprintf(err, err_len, "tool_choice.type: must be \"auto\", \"any\", \"tool\" or \"none\""), -1;
    if (out->kind != TOOL_CHOICE_TOOL) return 0;
    yyjson_val *name = yyjson_obj_get(choice, "name");
    if (!yyjson_is_str(name) || yyjson_get_len(name) == 0 || yyjson_get_len(name) >= sizeof out->name)
        return snprintf(err, err_len, "tool_choice.name: the name of one of the tools is required"), -1;
    memcpy(out->name, yyjson_get_str(name), yyjson_get_len(name) + 1);
    return 0;
}

static bool content_has(yyjson_val *content, const char *type_a, const char *type_b) {
    size_t i, max;
    yyjson_val *block;
    yyjson_arr_foreach(content, i, max, block) {
        yyjson_val *type = yyjson_obj_get(block, "type");
        if (str_is(type, type_a) || (type_b && str_is(type, type_b))) return true;
    }
    return false;
}

bool tool_choice_history_has_tools(yyjson_val *messages) {
    size_t i, max;
    yyjson_val *m;
    yyjson_arr_foreach(messages, i, max, m) {
        if (content_has(yyjson_obj_get(m, "content"), "tool_use", "tool_result")) return true;
    }
    return false;
}

bool tool_choice_has_results(yyjson_val *content) { return content_has(content, "tool_result", NULL); }

int tool_choice_offered(const tool_choice_t *c, yyjson_val *tools, bool history_has_tools, yyjson_mut_doc *doc,
                        yyjson_mut_val **offered, char *err, size_t err_len) {
    *offered = NULL;
    if (yyjson_arr_size(tools) == 0) {
        if (c->kind == TOOL_CHOICE_TOOL)
            return snprintf(err, err_len, "tool_choice: names the tool '%s' but the request defines no tools", c->name), -1;
        return 0;
    }
    if (c->kind == TOOL_CHOICE_NONE && !history_has_tools) return 0;
    yyjson_mut_val *arr = yyjson_mut_arr(doc);
    if (!arr) return snprintf(err, err_len, "out of memory"), -1;
    size_t i, max;
    yyjson_val *tool;
    yyjson_arr_foreach(tools, i, max, tool) {
        if (c->kind == TOOL_CHOICE_TOOL && !str_is(yyjson_obj_get(tool, "name"), c->name)) continue;
        if (!yyjson_mut_arr_append(arr, yyjson_val_mut_copy(doc, tool))) return snprintf(err, err_len, "out of memory"), -1;
    }
    if (c->kind == TOOL_CHOICE_TOOL && yyjson_mut_arr_size(arr) == 0)
        return snprintf(err, err_len, "tool_choice.name: no tool named '%s' in tools", c->name), -1;
    *offered = arr;
    return 0;
}

bool tool_choice_reminder(const tool_choice_t *c, bool has_offered_tools, char *out, size_t out_len) {
    if (!has_offered_tools) return false;
    char what[TOOL_CHOICE_MAX_NAME + 160] = "";
    if (c->kind == TOOL_CHOICE_NONE)
        snprintf(what, sizeof what, "Do not call any tool in this response: answer with text only.");
    else if (c->kind == TOOL_CHOICE_ANY)
        snprintf(what, sizeof what, "In this response you must call at least one of the %s tools; do not answer "
                 "with text alone.", CLIENT_TOOL_PREFIX);
    else if (c->kind == TOOL_CHOICE_TOOL)
        snprintf(what, sizeof what, "In this response you must call the tool %s%s.", CLIENT_TOOL_PREFIX, c->name);
    bool is_one_at_a_time = c->is_parallel_disabled && c->kind != TOOL_CHOICE_NONE;
    if (!what[0] && !is_one_at_a_time) return false;
    snprintf(out, out_len, "<system-reminder>\n%s%s%s\n</system-reminder>", what, what[0] && is_one_at_a_time ? " " : "",
             is_one_at_a_time ? "Call at most one tool in this response." : "");
    return true;
}

yyjson_mut_val *tool_choice_append_text(yyjson_mut_doc *doc, yyjson_val *content, const char *text) {
    yyjson_mut_val *arr = yyjson_mut_arr(doc);
    if (!arr) return NULL;
    if (yyjson_is_str(content)) {
        yyjson_mut_val *b = yyjson_mut_arr_add_obj(doc, arr);
        if (!b || !yyjson_mut_obj_add_str(doc, b, "type", "text") ||
            !yyjson_mut_obj_add_strncpy(doc, b, "text", yyjson_get_str(content), yyjson_get_len(content)))
            return NULL;
    } else {
        size_t i, max;
        yyjson_val *block;
        yyjson_arr_foreach(content, i, max, block) {
            if (!yyjson_mut_arr_append(arr, yyjson_val_mut_copy(doc, block))) return NULL;
        }
    }
    yyjson_mut_val *b = yyjson_mut_arr_add_obj(doc, arr);
    if (!b || !yyjson_mut_obj_add_str(doc, b, "type", "text") || !yyjson_mut_obj_add_strcpy(doc, b, "text", text))
        return NULL;
    return arr;
}

/* content with text added to its last tool_result, as a new array in doc. */
static yyjson_mut_val *append_to_last_result(yyjson_mut_doc *doc, yyjson_val *content, const char *text) {
    yyjson_val *last = NULL, *block;
    size_t i, max;
    yyjson_arr_foreach(content, i, max, block) {
        if (str_is(yyjson_obj_get(block, "type"), "tool_result")) last = block;
    }
    if (!last) return yyjson_val_mut_copy(doc, content);
    yyjson_mut_val *arr = yyjson_mut_arr(doc);
    if (!arr) return NULL;
    yyjson_arr_foreach(content, i, max, block) {
        yyjson_mut_val *b = yyjson_val_mut_copy(doc, block);
        if (!b || !yyjson_mut_arr_append(arr, b)) return NULL;
        if (block != last) continue;
        yyjson_mut_val *c = tool_choice_append_text(doc, yyjson_obj_get(block, "content"), text);
        if (!c || !yyjson_mut_obj_put(b, yyjson_mut_str(doc, "content"), c)) return NULL;
    }
    return arr;
}

yyjson_doc *tool_choice_seed_messages(yyjson_val *messages, const char *text) {
    yyjson_mut_doc *doc = yyjson_mut_doc_new(NULL);
    yyjson_mut_val *arr = doc ? yyjson_mut_arr(doc) : NULL;
    bool ok = arr != NULL;
    size_t i, max;
    yyjson_val *m;
    yyjson_arr_foreach(messages, i, max, m) {
        if (!ok) break;
        yyjson_mut_val *copy = yyjson_val_mut_copy(doc, m);
        ok = copy && yyjson_mut_arr_append(arr, copy);
        if (!ok || i + 1 < max) continue;
        yyjson_mut_val *content = append_to_last_result(doc, yyjson_obj_get(m, "content"), text);
        ok = content && yyjson_mut_obj_put(copy, yyjson_mut_str(doc, "content"), content);
    }
    yyjson_doc *out = NULL;
    if (ok) {
        yyjson_mut_doc_set_root(doc, arr);
        out = yyjson_mut_doc_imut_copy(doc, NULL);
    }
    yyjson_mut_doc_free(doc);
    return out;
}

bool tool_choice_allows(const tool_choice_t *c, const char *tool_name) {
    if (!tool_name) return false;
    if (!strncmp(tool_name, CLIENT_TOOL_PREFIX, strlen(CLIENT_TOOL_PREFIX))) tool_name += strlen(CLIENT_TOOL_PREFIX);
    if (c->kind == TOOL_CHOICE_NONE) return false;
    if (c->kind == TOOL_CHOICE_TOOL) return !strcmp(tool_name, c->name);
    return true;
}
