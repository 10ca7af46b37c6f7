/* The canonical request's shared rules: same-role folding, the system join, the image media types. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "api/canonical.h"

static char *finished_json(canon_t *c, yyjson_mut_doc *doc) {
    yyjson_mut_val *body = yyjson_mut_obj(doc);
    yyjson_mut_doc_set_root(doc, body);
    assert_int_equal(canon_finish(c, body), 0);
    return yyjson_mut_write(doc, 0, NULL);
}

static void same_role_messages_fold_into_one_turn(void **state) {
    (void)state;
    yyjson_mut_doc *doc = yyjson_mut_doc_new(NULL);
    canon_t c;
    assert_int_equal(canon_init(&c, doc), 0);
    assert_null(canon_last_role(&c));
    assert_int_equal(canon_add_message(&c, "user", yyjson_mut_str(doc, "a")), 0);
    yyjson_mut_val *blocks = yyjson_mut_arr(doc);
    yyjson_mut_val *img = yyjson_mut_arr_add_obj(doc, blocks);
    yyjson_mut_obj_add_str(doc, img, "type", "image");
    assert_int_equal(canon_add_message(&c, "user", blocks), 0);
    assert_int_equal(canon_add_message(&c, "assistant", yyjson_mut_str(doc, "yo")), 0);
    assert_int_equal(canon_add_message(&c, "user", yyjson_mut_str(doc, "b")), 0);
    assert_string_equal(canon_last_role(&c), "user");
    char *json = finished_json(&c, doc);
    assert_string_equal(json, "{\"messages\":[{\"role\":\"user\",\"content\":[{\"type\":\"text\",\"text\":\"a\"},"
                              "{\"type\":\"image\"}]},{\"role\":\"assistant\",\"content\":\"yo\"},"
                              "{\"role\":\"user\",\"content\":\"b\"}]}");
    free(json);
    canon_free(&c);
    yyjson_mut_doc_free(doc);
}

static void system_parts_and_prompts_join_by_one_rule(void **state) {
    (void)state;
    yyjson_mut_doc *doc = yyjson_mut_doc_new(NULL);
    canon_t c;
    assert_int_equal(canon_init(&c, doc), 0);
    assert_int_equal(canon_add_system(&c, "", 0, true), 0); /* an empty prompt adds nothing */
    assert_int_equal(canon_add_system(&c, "A", 1, true), 0);
    assert_int_equal(canon_add_system(&c, "B", 1, false), 0);
    assert_int_equal(canon_add_system(&c, "C", 1, true), 0);
    char *json = finished_json(&c, doc);
    assert_string_equal(json, "{\"system\":\"A\\nB\\n\\nC\",\"messages\":[]}");
    free(json);
    canon_free(&c);
    yyjson_mut_doc_free(doc);
}

static void no_system_text_means_no_system_field(void **state) {
    (void)state;
    yyjson_mut_doc *doc = yyjson_mut_doc_new(NULL);
    canon_t c;
    assert_int_equal(canon_init(&c, doc), 0);
    char *json = finished_json(&c, doc);
    assert_string_equal(json, "{\"messages\":[]}");
    free(json);
    canon_free(&c);
    yyjson_mut_doc_free(doc);
}

static void image_media_types_are_the_apis_four(void **state) {
    (void)state;
    assert_int_equal(CANON_IMAGE_MEDIA_TYPE_COUNT, 4);
    const char *ok[] = {"image/jpeg", "image/png", "image/gif", "image/webp"};
    for (size_t i = 0; i < 4; i++) assert_true(canon_is_image_media_type(ok[i], strlen(ok[i])));
    assert_false(canon_is_image_media_type("image/svg+xml", 13));
    assert_false(canon_is_image_media_type("image/pn", 8));
    assert_false(canon_is_image_media_type("image/pngx", 10));
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(same_role_messages_fold_into_one_turn),
        cmocka_unit_test(system_parts_and_prompts_join_by_one_rule),
        cmocka_unit_test(no_system_text_means_no_system_field),
        cmocka_unit_test(image_media_types_are_the_apis_four),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
