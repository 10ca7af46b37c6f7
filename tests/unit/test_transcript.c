/* History seeding: the transcript file the CLI loads with --resume. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "engine/transcript.h"

static yyjson_doc *read_json(const char *s) { return yyjson_read(s, strlen(s), 0); }

static void project_dir_replaces_every_non_alphanumeric(void **state) {
    char out[512];
    assert_int_equal(transcript_project_dir("/cfg", "/tmp/state.x/s_1/ab-c/cwd", out, sizeof out), 0);
    assert_string_equal(out, "/cfg/projects/-tmp-state-x-s-1-ab-c-cwd");
    char long_cwd[300];
    memset(long_cwd, 'a', sizeof long_cwd - 1);
    long_cwd[sizeof long_cwd - 1] = '\0';
    assert_int_not_equal(transcript_project_dir("/cfg", long_cwd, out, sizeof out), 0);
}

static void uuids_are_version_4(void **state) {
    char a[TRANSCRIPT_UUID_LEN + 1], b[TRANSCRIPT_UUID_LEN + 1];
    assert_int_equal(transcript_uuid(a), 0);
    assert_int_equal(transcript_uuid(b), 0);
    assert_int_equal(strlen(a), 36);
    assert_int_equal(a[14], '4');
    assert_true(strchr("89ab", a[19]) != NULL);
    assert_string_not_equal(a, b);
}

static void messages_are_made_fit_for_the_upstream(void **state) {
    yyjson_doc *in = read_json(
        "[{\"role\":\"user\",\"content\":\"one\"},"
        "{\"role\":\"user\",\"content\":[{\"type\":\"text\",\"text\":\"two\",\"cache_control\":{\"type\":\"ephemeral\"}}]},"
        "{\"role\":\"assistant\",\"content\":[{\"type\":\"thinking\",\"thinking\":\"x\",\"signature\":\"y\"},"
        "{\"type\":\"text\",\"text\":\"three\"},{\"type\":\"tool_use\",\"id\":\"t1\",\"name\":\"get\",\"input\":{}}]},"
        "{\"role\":\"user\",\"content\":[{\"type\":\"tool_result\",\"tool_use_id\":\"t1\",\"content\":\"42\"}]},"
        "{\"role\":\"assistant\",\"content\":[{\"type\":\"thinking\",\"thinking\":\"only thinking\",\"signature\":\"s\"}]},"
        "{\"role\":\"assistant\",\"content\":\"four\"}]");
    yyjson_mut_doc *out = transcript_messages(yyjson_doc_get_root(in), 6);
    yyjson_mut_val *arr = yyjson_mut_doc_get_root(out);
    assert_int_equal(yyjson_mut_arr_size(arr), 4); /* user, assistant, user, assistant */
    yyjson_mut_val *u0 = yyjson_mut_arr_get(arr, 0);
    assert_string_equal(yyjson_mut_get_str(yyjson_mut_obj_get(u0, "role")), "user");
    yyjson_mut_val *c0 = yyjson_mut_obj_get(u0, "content");
    assert_int_equal(yyjson_mut_arr_size(c0), 2); /* merged */
    assert_null(yyjson_mut_obj_get(yyjson_mut_arr_get(c0, 1), "cache_control"));
    yyjson_mut_val *c1 = yyjson_mut_obj_get(yyjson_mut_arr_get(arr, 1), "content");
    assert_int_equal(yyjson_mut_arr_size(c1), 2); /* thinking dropped */
    assert_string_equal(yyjson_mut_get_str(yyjson_mut_obj_get(yyjson_mut_arr_get(c1, 1), "name")), "mcp__client__get");
    yyjson_mut_val *c3 = yyjson_mut_obj_get(yyjson_mut_arr_get(arr, 3), "content");
    assert_int_equal(yyjson_mut_arr_size(c3), 1); /* the thinking-only message left nothing to merge */
    assert_string_equal(yyjson_mut_get_str(yyjson_mut_obj_get(yyjson_mut_arr_get(c3, 0), "text")), "four");
    yyjson_mut_doc_free(out);
    yyjson_doc_free(in);
}

static void the_file_chains_records_and_is_removed_with_its_directory(void **state) {
    char base[] = "/tmp/test-transcript-XXXXXX";
    assert_non_null(mkdtemp(base));
    char dir[512], path[600];
    assert_int_equal(transcript_project_dir(base, "/w/cwd", dir, sizeof dir), 0);
    snprintf(path, sizeof path, "%s/11111111-2222-4333-8444-555555555555.jsonl", dir);
    yyjson_doc *msgs = read_json("[{\"role\":\"user\",\"content\":\"hi\"},{\"role\":\"assistant\",\"content\":\"yo\"},"
                                 "{\"role\":\"user\",\"content\":\"last, not written\"}]");
    transcript_info_t info = {.session_uuid = "11111111-2222-4333-8444-555555555555", .cwd = "/w/cwd",
                              .version = "2.1.197", .model = "claude-x"};
    assert_int_equal(transcript_write(path, &info, yyjson_doc_get_root(msgs), 2), 0);
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    FILE *f = fopen(path, "r");
    char line[4096];
    char first_uuid[64] = "", last_time[64] = "";
    int n = 0;
    while (fgets(line, sizeof line, f)) {
        yyjson_doc *d = yyjson_read(line, strlen(line), 0);
        yyjson_val *r = yyjson_doc_get_root(d);
        assert_string_equal(yyjson_get_str(yyjson_obj_get(r, "sessionId")), info.session_uuid);
        assert_string_equal(yyjson_get_str(yyjson_obj_get(r, "cwd")), "/w/cwd");
        /* strictly increasing: the CLI resumes from the newest record */
        const char *when = yyjson_get_str(yyjson_obj_get(r, "timestamp"));
        if (!when) when = ""; /* missing fails the length check below (cmocka's asserts do not stop gcc's null warning) */
        assert_int_equal(strlen(when), 24);
        assert_true(strcmp(when, last_time) > 0);
        snprintf(last_time, sizeof last_time, "%s", when);
        if (n == 0) {
            assert_true(yyjson_is_null(yyjson_obj_get(r, "parentUuid")));
            assert_string_equal(yyjson_get_str(yyjson_obj_get(r, "type")), "user");
            snprintf(first_uuid, sizeof first_uuid, "%s", yyjson_get_str(yyjson_obj_get(r, "uuid")));
        } else {
            assert_string_equal(yyjson_get_str(yyjson_obj_get(r, "parentUuid")), first_uuid);
            assert_string_equal(yyjson_get_str(yyjson_obj_get(r, "type")), "assistant");
            yyjson_val *m = yyjson_obj_get(r, "message");
            assert_string_equal(yyjson_get_str(yyjson_obj_get(m, "role")), "assistant");
            assert_string_equal(yyjson_get_str(yyjson_obj_get(m, "model")), "claude-x");
            assert_string_equal(yyjson_get_str(yyjson_obj_get(yyjson_arr_get(yyjson_obj_get(m, "content"), 0), "text")), "yo");
        }
        yyjson_doc_free(d);
        n++;
    }
    fclose(f);
    assert_int_equal(n, 2);
    /* a second write to the same path refuses to clobber it */
    assert_int_not_equal(transcript_write(path, &info, yyjson_doc_get_root(msgs), 2), 0);
    transcript_remove(path);
    assert_int_not_equal(stat(path, &st), 0);
    assert_int_not_equal(stat(dir, &st), 0);
    char projects[600];
    snprintf(projects, sizeof projects, "%s/projects", base);
    rmdir(projects);
    assert_int_equal(rmdir(base), 0);
    yyjson_doc_free(msgs);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(project_dir_replaces_every_non_alphanumeric),
        cmocka_unit_test(uuids_are_version_4),
        cmocka_unit_test(messages_are_made_fit_for_the_upstream),
        cmocka_unit_test(the_file_chains_records_and_is_removed_with_its_directory),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
