/*
 * History seeding: earlier turns of a request written as a Claude Code transcript, which the CLI loads
 * with `--resume <uuid>` as real alternating turns (PROTOCOL.md "Seeding history").
 *
 * The file lives at <config dir>/projects/<cwd, every non-alphanumeric character → '-'>/<uuid>.jsonl.
 * What is written differs from the request in ways the upstream needs: cache_control is dropped (the
 * CLI sets its own breakpoints; the API allows only four), thinking blocks are dropped (no signature
 * survives a client round trip), client tool names get the "mcp__client__" prefix the model knows them
 * by, consecutive messages of one role are merged, and empty messages are left out.
 */
#ifndef CWP_ENGINE_TRANSCRIPT_H
#define CWP_ENGINE_TRANSCRIPT_H
#include <stddef.h>
#include <yyjson.h>

#define TRANSCRIPT_UUID_LEN 36
#define TRANSCRIPT_MAX_PROJECT_NAME 200 /* longer names are shortened by the CLI in ways we don't mirror */

typedef struct {
    const char *session_uuid;
    const char *cwd;
    const char *version; /* the CLI's version, e.g. "2.1.197" */
    const char *model;
} transcript_info_t;

/* A random (v4) UUID, 36 chars + NUL. Returns 0 or -1. */
int transcript_uuid(char out[TRANSCRIPT_UUID_LEN + 1]);
/* "<config_dir>/projects/<munged cwd>". Returns 0, -ENAMETOOLONG. */
int transcript_project_dir(const char *config_dir, const char *cwd, char *out, size_t out_len);
/* Write messages[0, count) (each {role, content}) to path (created, mode 0600; its directory too).
 * Returns 0 or a negative errno. */
int transcript_write(const char *path, const transcript_info_t *info, yyjson_val *messages, size_t count);
/* Remove the file and its project directory if that is now empty. */
void transcript_remove(const char *path);

/* The canonical message list that would be written, as a new document (exposed for tests). */
yyjson_mut_doc *transcript_messages(yyjson_val *messages, size_t count);

#endif
