#include "engine/transcript.h"
#include "util/fs.h"
#include "engine/tool_choice.h" /* CLIENT_TOOL_PREFIX */

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <openssl/rand.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>


int transcript_uuid(char out[TRANSCRIPT_UUID_LEN + 1]) {
    unsigned char b[16];
    if (RAND_bytes(b, sizeof b) != 1) return -1;
    b[6] = (unsigned char)((b[6] & 0x0F) | 0x40);
    b[8] = (unsigned char)((b[8] & 0x3F) | 0x80);
    snprintf(out, TRANSCRIPT_UUID_LEN + 1,
             "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", b[0], b[1], b[2], b[3], b[4],
             b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13], b[14], b[15]);
    return 0;
}

int transcript_project_dir(const char *config_dir, const char *cwd, char *out, size_t out_len) {
    char name[TRANSCRIPT_MAX_PROJECT_NAME + 1];
    size_t n = strlen(cwd);
    if (n > TRANSCRIPT_MAX_PROJECT_NAME) return -ENAMETOOLONG;
    for (size_t i = 0; i < n; i++) name[i] = isalnum((unsigned char)cwd[i]) ? cwd[i] : '-';
    name[n] = '\0';
    int w = snprintf(out, out_len, "%s/projects/%s", config_dir, name);
    return (w < 0 || (size_t)w >= out_len) ? -ENAMETOOLONG : 0;
}

/* ---- canonical messages ---- */

static yyjson_mut_val *copy_block(yyjson_mut_doc *doc, yyjson_val *block, bool is_assistant) {
    const char *type = yyjson_get_str(yyjson_obj_get(block, "type"));
    if (!type) return NULL;
    if (!strcmp(type, "thinking") || !strcmp(type, "redacted_thinking")) return NULL;
    if (!strcmp(type, "text") && yyjson_get_len(yyjson_obj_get(block, "text")) == 0) return NULL;
    yyjson_mut_val *out = yyjson_val_mut_copy(doc, block);
    if (!out) return NULL;
    yyjson_mut_obj_remove_key(out, "cache_control");
    if (is_assistant && !strcmp(type, "tool_use")) {
        const char *name = yyjson_get_str(yyjson_obj_get(block, "name"));
        if (name && strncmp(name, CLIENT_TOOL_PREFIX, strlen(CLIENT_TOOL_PREFIX)) != 0) {
            size_t n = strlen(CLIENT_TOOL_PREFIX) + strlen(name) + 1;
            char *full = malloc(n);
            if (full) {
                snprintf(full, n, "%s%s", CLIENT_TOOL_PREFIX, name);
                yyjson_mut_obj_put(out, yyjson_mut_str(doc, "name"), yyjson_mut_strcpy(doc, full));
                free(full);
            }
        }
    }
    return out;
}

/* Append msg's content blocks to arr. */
static void append_content(yyjson_mut_doc *doc, yyjson_mut_val *arr, yyjson_val *content, bool is_assistant) {
    if (yyjson_is_str(content)) {
        if (yyjson_get_len(content) == 0) return;
        yyjson_mut_val *b = yyjson_mut_obj(doc);
        yyjson_mut_obj_add_str(doc, b, "type", "text");
        yyjson_mut_obj_add_strncpy(doc, b, "text", yyjson_get_str(content), yyjson_get_len(content));
        yyjson_mut_arr_append(arr, b);
        return;
    }
    size_t i, max;
    yyjson_val *block;
    yyjson_arr_foreach(content, i, max, block) {
        yyjson_mut_val *b = copy_block(doc, block, is_assistant);
        if (b) yyjson_mut_arr_append(arr, b);
    }
}

yyjson_mut_doc *transcript_messages(yyjson_val *messages, size_t count) {
    yyjson_mut_doc *doc = yyjson_mut_doc_new(NULL);
    if (!doc) return NULL;
    yyjson_mut_val *out = yyjson_mut_arr(doc);
    yyjson_mut_doc_set_root(doc, out);
    yyjson_mut_val *last = NULL;
    const char *last_role = NULL;
    size_t i, max;
    yyjson_val *m;
    yyjson_arr_foreach(messages, i, max, m) {
        if (i >= count) break;
        const char *role = yyjson_get_str(yyjson_obj_get(m, "role"));
        if (!role || (strcmp(role, "user") && strcmp(role, "assistant"))) continue;
        bool is_assistant = !strcmp(role, "assistant");
        if (!last_role || strcmp(last_role, role) != 0) {
            yyjson_mut_val *content = yyjson_mut_arr(doc);
            append_content(doc, content, yyjson_obj_get(m, "content"), is_assistant);
            if (yyjson_mut_arr_size(content) == 0) continue;
            last = yyjson_mut_obj(doc);
            yyjson_mut_obj_add_strcpy(doc, last, "role", role);
            yyjson_mut_obj_add_val(doc, last, "content", content);
            yyjson_mut_arr_append(out, last);
            last_role = is_assistant ? "assistant" : "user";
        } else {
            append_content(doc, yyjson_mut_obj_get(last, "content"), yyjson_obj_get(m, "content"), is_assistant);
        }
    }
    return doc;
}

/* ---- the file ---- */

/* ISO 8601 UTC with milliseconds, ms_back milliseconds before now. */
static void iso_time(char *out, size_t len, long ms_back) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    long long ms = (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000 - ms_back;
    time_t secs = (time_t)(ms / 1000);
    int millis = (int)(ms % 1000);
    struct tm tm;
    gmtime_r(&secs, &tm);
    char base[32];
    strftime(base, sizeof base, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(out, len, "%s.%03dZ", base, millis);
}

static char *record_line(const transcript_info_t *info, yyjson_mut_val *msg, const char *uuid, const char *parent,
                         size_t seq, const char *when, size_t *len) {
    yyjson_mut_doc *doc = yyjson_mut_doc_new(NULL);
    if (!doc) return NULL;
    const char *role = yyjson_mut_get_str(yyjson_mut_obj_get(msg, "role"));
    bool is_assistant = role && !strcmp(role, "assistant");
    yyjson_mut_val *r = yyjson_mut_obj(doc);
    if (parent) yyjson_mut_obj_add_strcpy(doc, r, "parentUuid", parent);
    else yyjson_mut_obj_add_null(doc, r, "parentUuid");
    yyjson_mut_obj_add_bool(doc, r, "isSidechain", false);
    yyjson_mut_obj_add_str(doc, r, "type", is_assistant ? "assistant" : "user");
    yyjson_mut_val *m = yyjson_mut_obj(doc);
    if (is_assistant) {
        char id[48];
        snprintf(id, sizeof id, "msg_seed_%zu", seq);
        yyjson_mut_obj_add_strcpy(doc, m, "id", id);
        yyjson_mut_obj_add_str(doc, m, "type", "message");
        yyjson_mut_obj_add_str(doc, m, "role", "assistant");
        yyjson_mut_obj_add_strcpy(doc, m, "model", info->model ? info->model : "");
        yyjson_mut_obj_add_val(doc, m, "content", yyjson_mut_val_mut_copy(doc, yyjson_mut_obj_get(msg, "content")));
        yyjson_mut_obj_add_str(doc, m, "stop_reason", "end_turn");
        yyjson_mut_obj_add_null(doc, m, "stop_sequence");
        yyjson_mut_val *u = yyjson_mut_obj(doc);
        yyjson_mut_obj_add_int(doc, u, "input_tokens", 0);
        yyjson_mut_obj_add_int(doc, u, "output_tokens", 0);
        yyjson_mut_obj_add_val(doc, m, "usage", u);
    } else {
        yyjson_mut_obj_add_str(doc, m, "role", "user");
        yyjson_mut_obj_add_val(doc, m, "content", yyjson_mut_val_mut_copy(doc, yyjson_mut_obj_get(msg, "content")));
    }
    yyjson_mut_obj_add_val(doc, r, "message", m);
    yyjson_mut_obj_add_strcpy(doc, r, "uuid", uuid);
    yyjson_mut_obj_add_strcpy(doc, r, "timestamp", when);
    yyjson_mut_obj_add_str(doc, r, "userType", "external");
    yyjson_mut_obj_add_strcpy(doc, r, "cwd", info->cwd);
    yyjson_mut_obj_add_strcpy(doc, r, "sessionId", info->session_uuid);
    yyjson_mut_obj_add_strcpy(doc, r, "version", info->version ? info->version : "");
    yyjson_mut_doc_set_root(doc, r);
    char *s = yyjson_mut_write(doc, 0, len);
    yyjson_mut_doc_free(doc);
    return s;
}

static int write_all(int fd, const char *p, size_t n) {
    while (n) {
        ssize_t w = write(fd, p, n);
        if (w < 0) {
            if (errno == EINTR) continue;
            return -errno;
        }
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

int transcript_write(const char *path, const transcript_info_t *info, yyjson_val *messages, size_t count) {
    char dir[4096];
    const char *slash = strrchr(path, '/');
    if (!slash || (size_t)(slash - path) >= sizeof dir) return -EINVAL;
    memcpy(dir, path, (size_t)(slash - path));
    dir[slash - path] = '\0';
    int rc = fs_mkdir_p(dir);
    if (rc) return rc;
    yyjson_mut_doc *doc = transcript_messages(messages, count);
    if (!doc) return -ENOMEM;
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0) {
        rc = -errno;
        yyjson_mut_doc_free(doc);
        return rc;
    }
    char parent[TRANSCRIPT_UUID_LEN + 1] = "", uuid[TRANSCRIPT_UUID_LEN + 1];
    yyjson_mut_val *arr = yyjson_mut_doc_get_root(doc);
    size_t i, max;
    yyjson_mut_val *msg;
    size_t total = yyjson_mut_arr_size(arr);
    yyjson_mut_arr_foreach(arr, i, max, msg) {
        /* Strictly increasing timestamps: on --resume the CLI (2.1.100) takes the newest record as the
         * conversation's end, so records written within one millisecond would cut the history short. */
        char when[40];
        iso_time(when, sizeof when, (long)(total - i));
        if (transcript_uuid(uuid) != 0) {
            rc = -EIO;
            break;
        }
        size_t len = 0;
        char *line = record_line(info, msg, uuid, parent[0] ? parent : NULL, i, when, &len);
        if (!line) {
            rc = -ENOMEM;
            break;
        }
        rc = write_all(fd, line, len);
        if (!rc) rc = write_all(fd, "\n", 1);
        free(line);
        if (rc) break;
        memcpy(parent, uuid, sizeof uuid);
    }
    if (close(fd) != 0 && !rc) rc = -errno;
    yyjson_mut_doc_free(doc);
    if (rc) unlink(path);
    return rc;
}

void transcript_remove(const char *path) {
    if (!path || !*path) return;
    unlink(path);
    char dir[4096];
    const char *slash = strrchr(path, '/');
    if (!slash || (size_t)(slash - path) >= sizeof dir) return;
    memcpy(dir, path, (size_t)(slash - path));
    dir[slash - path] = '\0';
    rmdir(dir); /* fails harmlessly while other sessions' transcripts are there */
}
