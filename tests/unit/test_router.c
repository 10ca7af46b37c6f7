/* Routing: exact and prefix patterns, the most specific match, 405 with its Allow list. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "http/router.h"

static void h_a(http_exchange_t *ex, void *ctx) { (void)ex; (void)ctx; }
static void h_b(http_exchange_t *ex, void *ctx) { (void)ex; (void)ctx; }
static void h_c(http_exchange_t *ex, void *ctx) { (void)ex; (void)ctx; }

static router_t *sample_router(void) {
    router_t *r = router_new();
    assert_non_null(r);
    const route_t routes[] = {
        {.method = "GET", .pattern = "/health", .handler = h_a, .is_public = true},
        {.method = "GET", .pattern = "/v1/models", .handler = h_a},
        {.method = "GET", .pattern = "/v1/models/*", .handler = h_b},
        {.method = "POST", .pattern = "/v1/messages", .handler = h_a},
        {.method = "POST", .pattern = "/v1/messages/count_tokens", .handler = h_b},
        {.method = "GET", .pattern = "/auth/*", .handler = h_a},
        {.method = "POST", .pattern = "/auth/login", .handler = h_c},
        {.method = "DELETE", .pattern = "/auth/*", .handler = h_b},
    };
    for (size_t i = 0; i < sizeof routes / sizeof routes[0]; i++) assert_int_equal(router_add(r, &routes[i]), 0);
    return r;
}

static void exact_pattern_matches_only_its_path(void **state) {
    router_t *r = sample_router();
    const route_t *route = NULL;
    assert_int_equal(router_match(r, "GET", "/health", &route, NULL, 0), ROUTE_FOUND);
    assert_ptr_equal(route->handler, h_a);
    assert_true(route->is_public);
    assert_string_equal(route->pattern, "/health");
    assert_int_equal(router_match(r, "GET", "/health/", &route, NULL, 0), ROUTE_NOT_FOUND);
    assert_null(route);
    assert_int_equal(router_match(r, "GET", "/healthz", &route, NULL, 0), ROUTE_NOT_FOUND);
    router_free(r);
}

static void prefix_pattern_matches_what_follows(void **state) {
    router_t *r = sample_router();
    const route_t *route = NULL;
    assert_int_equal(router_match(r, "GET", "/v1/models/claude-opus-4-5", &route, NULL, 0), ROUTE_FOUND);
    assert_ptr_equal(route->handler, h_b);
    /* "/v1/models" itself is the exact route, not the prefix one */
    assert_int_equal(router_match(r, "GET", "/v1/models", &route, NULL, 0), ROUTE_FOUND);
    assert_ptr_equal(route->handler, h_a);
    router_free(r);
}

static void exact_match_beats_prefix_and_method_picks_among_them(void **state) {
    router_t *r = sample_router();
    const route_t *route = NULL;
    assert_int_equal(router_match(r, "POST", "/auth/login", &route, NULL, 0), ROUTE_FOUND);
    assert_ptr_equal(route->handler, h_c);
    /* GET /auth/login: the exact route is POST only, the prefix route takes GET */
    assert_int_equal(router_match(r, "GET", "/auth/login", &route, NULL, 0), ROUTE_FOUND);
    assert_ptr_equal(route->handler, h_a);
    router_free(r);
}

static void wrong_method_is_405_with_allow_list(void **state) {
    router_t *r = sample_router();
    const route_t *route = NULL;
    char allow[64];
    assert_int_equal(router_match(r, "GET", "/v1/messages", &route, allow, sizeof allow), ROUTE_METHOD_NOT_ALLOWED);
    assert_null(route);
    assert_string_equal(allow, "POST");
    assert_int_equal(router_match(r, "PUT", "/auth/login", &route, allow, sizeof allow), ROUTE_METHOD_NOT_ALLOWED);
    assert_string_equal(allow, "GET, POST, DELETE");
    /* a small buffer truncates but stays terminated */
    char tiny[6];
    assert_int_equal(router_match(r, "PUT", "/auth/login", &route, tiny, sizeof tiny), ROUTE_METHOD_NOT_ALLOWED);
    assert_true(strlen(tiny) < sizeof tiny);
    router_free(r);
}

static void head_is_served_by_get_routes(void **state) {
    router_t *r = sample_router();
    const route_t *route = NULL;
    assert_int_equal(router_match(r, "HEAD", "/health", &route, NULL, 0), ROUTE_FOUND);
    assert_string_equal(route->method, "GET");
    assert_int_equal(router_match(r, "HEAD", "/v1/messages", &route, NULL, 0), ROUTE_METHOD_NOT_ALLOWED);
    router_free(r);
}

static void unknown_path_is_404(void **state) {
    router_t *r = sample_router();
    const route_t *route = (const route_t *)1;
    char allow[16] = "junk";
    assert_int_equal(router_match(r, "GET", "/nope", &route, allow, sizeof allow), ROUTE_NOT_FOUND);
    assert_null(route);
    assert_string_equal(allow, "");
    router_free(r);
}

static void routes_are_copied(void **state) {
    router_t *r = router_new();
    char method[8] = "GET", pattern[16] = "/tmp";
    route_t route = {.method = method, .pattern = pattern, .handler = h_a};
    assert_int_equal(router_add(r, &route), 0);
    strcpy(method, "XXX");
    strcpy(pattern, "/gone");
    const route_t *found = NULL;
    assert_int_equal(router_match(r, "GET", "/tmp", &found, NULL, 0), ROUTE_FOUND);
    route_t bad = {.method = "GET", .pattern = NULL, .handler = h_a};
    assert_int_equal(router_add(r, &bad), -1);
    router_free(r);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(exact_pattern_matches_only_its_path),
        cmocka_unit_test(prefix_pattern_matches_what_follows),
        cmocka_unit_test(exact_match_beats_prefix_and_method_picks_among_them),
        cmocka_unit_test(wrong_method_is_405_with_allow_list),
        cmocka_unit_test(head_is_served_by_get_routes),
        cmocka_unit_test(unknown_path_is_404),
        cmocka_unit_test(routes_are_copied),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
