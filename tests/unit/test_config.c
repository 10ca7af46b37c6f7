/* Settings: defaults, config.json, environment overrides, and the messages for bad input (src/config*.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "config.h"

typedef struct {
    char dir[64];
    char path[128];
    config_t cfg;
    char err[512];
    bool is_loaded;
} fixture_t;

static int setup(void **state) {
    fixture_t *f = calloc(1, sizeof *f);
    snprintf(f->dir, sizeof f->dir, "/tmp/cwp-config-XXXXXX");
    assert_non_null(mkdtemp(f->dir));
    snprintf(f->path, sizeof f->path, "%s/config.json", f->dir);
    *state = f;
    return 0;
}

static int teardown(void **state) {
    fixture_t *f = *state;
    config_free(&f->cfg);
    unlink(f->path);
    rmdir(f->dir);
    free(f);
    return 0;
}

static void write_file(fixture_t *f, const char *text) {
    FILE *fp = fopen(f->path, "w");
    assert_non_null(fp);
    fputs(text, fp);
    fclose(fp);
}

/* Load f->path (written from json unless NULL) with the given environment. */
static int load(fixture_t *f, const char *json, char *const *envp) {
    if (json) write_file(f, json);
    config_free(&f->cfg);
    f->err[0] = '\0';
    return config_load(&f->cfg, f->path, envp, f->err, sizeof f->err);
}

static void assert_fails_naming(fixture_t *f, const char *json, char *const *envp, const char *needle) {
    assert_int_equal(load(f, json, envp), -1);
    if (!strstr(f->err, needle)) fail_msg("error \"%s\" does not name \"%s\"", f->err, needle);
    assert_null(strchr(f->err, '\n'));
}

static void defaults_match_the_reference_design(void **state) {
    fixture_t *f = *state;
    assert_int_equal(load(f, "{}", NULL), 0);
    config_t *c = &f->cfg;
    assert_int_equal(c->http_port, 3456);
    assert_int_equal(c->ws_port, 8765);
    assert_string_equal(c->claude_path, "claude");
    assert_string_equal(c->default_model, "claude-sonnet-4-20250514");
    assert_true(c->auto_approve_tool);
    assert_int_equal(c->max_sessions, 5);
    assert_int_equal(c->session_timeout_ms, 300000);
    assert_string_equal(c->auth_token, "");
    assert_false(c->require_api_key);
    assert_string_equal(c->api_key, "");
    assert_string_equal(c->host, "127.0.0.1");
    assert_int_equal(c->mode, MODE_API);
    assert_int_equal(c->transport, TRANSPORT_AUTO);
    assert_int_equal(c->warm_sessions, 1);
    assert_int_equal(c->max_queue, 32);
    assert_int_equal(c->max_body_bytes, 32L << 20);
    assert_int_equal(c->max_connections, 256);
    assert_int_equal(c->drain_timeout_ms, 10000);
    assert_string_equal(c->log_level, "info");
    assert_int_equal(c->alias_count, 0);
    assert_false(config_is_key_required(c));
}

static void default_models_list_the_default_model_with_dates(void **state) {
    fixture_t *f = *state;
    assert_int_equal(load(f, "{}", NULL), 0);
    assert_true(f->cfg.model_count >= 5);
    bool has_default = false;
    for (size_t i = 0; i < f->cfg.model_count; i++) {
        model_entry_t *m = &f->cfg.models[i];
        int64_t t = 0;
        assert_true(config_parse_time(m->created_at, &t));
        assert_true(t > 1700000000);
        assert_true(strlen(m->display_name) > 0);
        if (!strcmp(m->id, f->cfg.default_model)) has_default = true;
    }
    assert_true(has_default);
}

static void file_values_apply(void **state) {
    fixture_t *f = *state;
    assert_int_equal(load(f,
                          "{\"httpPort\":4000,\"wsPort\":0,\"claudePath\":\"/opt/claude\",\"autoApproveTool\":false,"
                          "\"mode\":\"agent\",\"workDir\":\"/srv/work\",\"transport\":\"stdio\",\"maxSessions\":9,"
                          "\"warmSessions\":0,\"requireApiKey\":true,\"apiKey\":\"k1\",\"logLevel\":\"debug\","
                          "\"maxBodyBytes\":2048,\"pingIntervalMs\":0,\"host\":\"0.0.0.0\"}",
                          NULL),
                     0);
    config_t *c = &f->cfg;
    assert_int_equal(c->http_port, 4000);
    assert_int_equal(c->ws_port, 0);
    assert_string_equal(c->claude_path, "/opt/claude");
    assert_false(c->auto_approve_tool);
    assert_int_equal(c->mode, MODE_AGENT);
    assert_string_equal(c->work_dir, "/srv/work");
    assert_int_equal(c->transport, TRANSPORT_STDIO);
    assert_int_equal(c->max_sessions, 9);
    assert_int_equal(c->warm_sessions, 0);
    assert_string_equal(c->log_level, "debug");
    assert_int_equal(c->max_body_bytes, 2048);
    assert_int_equal(c->ping_interval_ms, 0);
    assert_string_equal(c->host, "0.0.0.0");
    assert_true(config_is_key_required(c));
}

static void environment_wins_over_the_file(void **state) {
    fixture_t *f = *state;
    char *env[] = {"PATH=/bin", "HTTP_PORT=5000", "CLAUDE_PATH=/env/claude", "REQUIRE_API_KEY=true", "API_KEY=envkey",
                   "MODE=agent", "HOST=::1", "SESSION_TIMEOUT_MS=1234", "AUTH_TOKEN=tok", NULL};
    assert_int_equal(load(f, "{\"httpPort\":4000,\"claudePath\":\"/file/claude\",\"apiKey\":\"filekey\"}", env), 0);
    config_t *c = &f->cfg;
    assert_int_equal(c->http_port, 5000);
    assert_string_equal(c->claude_path, "/env/claude");
    assert_true(c->require_api_key);
    assert_string_equal(c->api_key, "envkey");
    assert_int_equal(c->mode, MODE_AGENT);
    assert_string_equal(c->host, "::1");
    assert_int_equal(c->session_timeout_ms, 1234);
    assert_string_equal(c->auth_token, "tok");
}

static void empty_environment_variables_are_unset(void **state) {
    fixture_t *f = *state;
    char *env[] = {"AUTH_TOKEN=", "HTTP_PORT=", NULL};
    assert_int_equal(load(f, "{\"authToken\":\"from-file\",\"httpPort\":4001}", env), 0);
    assert_string_equal(f->cfg.auth_token, "from-file");
    assert_int_equal(f->cfg.http_port, 4001);
}

static void unknown_key_fails_naming_it(void **state) {
    fixture_t *f = *state;
    assert_fails_naming(f, "{\"httpPort\":1,\"colour\":\"blue\"}", NULL, "unknown key \"colour\"");
    assert_fails_naming(f, "{\"HttpPort\":1}", NULL, "did you mean \"httpPort\"");
    assert_true(strstr(f->err, f->path) != NULL);
}

static void wrong_type_fails_naming_the_key(void **state) {
    fixture_t *f = *state;
    assert_fails_naming(f, "{\"httpPort\":\"3456\"}", NULL, "httpPort: expected an integer, got a string");
    assert_fails_naming(f, "{\"maxSessions\":2.5}", NULL, "maxSessions: expected an integer");
    assert_fails_naming(f, "{\"requireApiKey\":\"yes\"}", NULL, "requireApiKey: expected true or false");
    assert_fails_naming(f, "{\"claudePath\":7}", NULL, "claudePath: expected a string");
    assert_fails_naming(f, "{\"models\":{}}", NULL, "models: expected an array");
    assert_fails_naming(f, "{\"modelAliases\":[]}", NULL, "modelAliases: expected an object");
    assert_fails_naming(f, "{\"mode\":\"robot\"}", NULL, "mode: \"robot\" is not one of \"api\", \"agent\"");
    assert_fails_naming(f, "{\"claudePath\":\"\"}", NULL, "claudePath: must not be empty");
}

static void out_of_range_fails_naming_the_key(void **state) {
    fixture_t *f = *state;
    assert_fails_naming(f, "{\"httpPort\":70000}", NULL, "httpPort: 70000 is out of range (1..65535)");
    assert_fails_naming(f, "{\"maxSessions\":0}", NULL, "maxSessions: 0 is out of range");
    assert_fails_naming(f, "{\"maxBodyBytes\":-5}", NULL, "maxBodyBytes: -5 is out of range");
    assert_fails_naming(f, "{\"sessionTimeoutMs\":18446744073709551615}", NULL, "sessionTimeoutMs:");
    char *env[] = {"WS_PORT=99999", NULL};
    assert_fails_naming(f, "{}", env, "environment variable WS_PORT: 99999 is out of range");
    char *env2[] = {"MAX_SESSIONS=lots", NULL};
    assert_fails_naming(f, "{}", env2, "MAX_SESSIONS: expected an integer, got \"lots\"");
    char *env3[] = {"REQUIRE_API_KEY=maybe", NULL};
    assert_fails_naming(f, "{}", env3, "REQUIRE_API_KEY: expected true or false");
}

static void keys_that_contradict_each_other_fail(void **state) {
    fixture_t *f = *state;
    assert_fails_naming(f, "{\"requireApiKey\":true}", NULL, "apiKey: must be set when requireApiKey is true");
    assert_fails_naming(f, "{\"maxSessions\":2,\"warmSessions\":3}", NULL, "warmSessions: 3 is more than maxSessions");
    assert_fails_naming(f, "{\"httpPort\":4000,\"wsPort\":4000}", NULL, "wsPort: 4000 is also httpPort");
}

static void bad_files_fail_with_one_line(void **state) {
    fixture_t *f = *state;
    assert_fails_naming(f, "{\"httpPort\": 1,\n  \"wsPort\": }", NULL, "invalid JSON at line 2");
    assert_fails_naming(f, "[1,2]", NULL, "top level must be a JSON object");
    assert_fails_naming(f, "", NULL, "invalid JSON");
    unlink(f->path);
    assert_fails_naming(f, NULL, NULL, "cannot read: No such file or directory");
    assert_int_equal(config_load(&f->cfg, f->dir, NULL, f->err, sizeof f->err), -1);
    assert_non_null(strstr(f->err, "cannot read"));
}

static void without_a_path_config_json_in_the_cwd_is_used(void **state) {
    fixture_t *f = *state;
    char cwd[512];
    assert_non_null(getcwd(cwd, sizeof cwd));
    assert_int_equal(chdir(f->dir), 0);
    assert_int_equal(config_load(&f->cfg, NULL, NULL, f->err, sizeof f->err), 0);
    assert_int_equal(f->cfg.http_port, 3456);
    config_free(&f->cfg);
    write_file(f, "{\"httpPort\":4321}");
    assert_int_equal(config_load(&f->cfg, NULL, NULL, f->err, sizeof f->err), 0);
    assert_int_equal(f->cfg.http_port, 4321);
    assert_int_equal(chdir(cwd), 0);
}

static void models_accept_ids_and_objects(void **state) {
    fixture_t *f = *state;
    assert_int_equal(load(f,
                          "{\"models\":[\"claude-sonnet-4-5\",\"my-model\","
                          "{\"id\":\"claude-x\",\"display_name\":\"Claude X\",\"created_at\":\"2025-02-03T04:05:06+01:00\"}]}",
                          NULL),
                     0);
    assert_int_equal(f->cfg.model_count, 3);
    assert_string_equal(f->cfg.models[0].display_name, "Claude Sonnet 4.5");
    assert_string_equal(f->cfg.models[1].display_name, "my-model");
    assert_string_equal(f->cfg.models[2].display_name, "Claude X");
    int64_t t;
    assert_true(config_parse_time(f->cfg.models[2].created_at, &t));
    assert_int_equal(t, 1738555506 - 3600);
    assert_int_equal(load(f, "{\"models\":[]}", NULL), 0);
    assert_int_equal(f->cfg.model_count, 0);
}

static void bad_models_fail_naming_the_entry(void **state) {
    fixture_t *f = *state;
    assert_fails_naming(f, "{\"models\":[\"a\",3]}", NULL, "models[1]: expected a model id");
    assert_fails_naming(f, "{\"models\":[{\"display_name\":\"x\"}]}", NULL, "models[0].id: required");
    assert_fails_naming(f, "{\"models\":[{\"id\":\"a\",\"owner\":\"me\"}]}", NULL, "models[0].owner: unknown key");
    assert_fails_naming(f, "{\"models\":[{\"id\":\"a\",\"created_at\":\"yesterday\"}]}", NULL,
                        "models[0].created_at: \"yesterday\" is not an RFC 3339 time");
    assert_fails_naming(f, "{\"models\":[\"a\",\"a\"]}", NULL, "models[1].id: \"a\" is listed twice");
}

static void aliases_resolve_and_everything_else_passes_through(void **state) {
    fixture_t *f = *state;
    assert_int_equal(load(f, "{\"defaultModel\":\"claude-opus-4-5\",\"modelAliases\":{\"gpt-4o\":\"claude-sonnet-4-5\","
                             "\"gpt-4o-mini\":\"claude-haiku-4-5\"}}",
                          NULL),
                     0);
    assert_int_equal(f->cfg.alias_count, 2);
    assert_string_equal(config_resolve_model(&f->cfg, "gpt-4o"), "claude-sonnet-4-5");
    assert_string_equal(config_resolve_model(&f->cfg, "gpt-4o-mini"), "claude-haiku-4-5");
    assert_string_equal(config_resolve_model(&f->cfg, "claude-opus-4-1"), "claude-opus-4-1");
    assert_string_equal(config_resolve_model(&f->cfg, NULL), "claude-opus-4-5");
    assert_string_equal(config_resolve_model(&f->cfg, ""), "claude-opus-4-5");
    assert_fails_naming(f, "{\"modelAliases\":{\"gpt-4o\":\"\"}}", NULL, "modelAliases.gpt-4o: expected a non-empty");
    assert_fails_naming(f, "{\"modelAliases\":{\"gpt-4o\":1}}", NULL, "modelAliases.gpt-4o");
}

static void loopback_hosts_are_recognised(void **state) {
    (void)state;
    const char *loopback[] = {"127.0.0.1", "127.1.2.3", "::1", "[::1]", "localhost", "LOCALHOST", "::ffff:127.0.0.1"};
    const char *open[] = {"0.0.0.0", "::", "10.0.0.1", "192.168.1.2", "example.com", "", "128.0.0.1", "::2"};
    for (size_t i = 0; i < sizeof loopback / sizeof loopback[0]; i++)
        if (!config_is_loopback_host(loopback[i])) fail_msg("%s should be loopback", loopback[i]);
    for (size_t i = 0; i < sizeof open / sizeof open[0]; i++)
        if (config_is_loopback_host(open[i])) fail_msg("%s should not be loopback", open[i]);
    assert_false(config_is_loopback_host(NULL));
}

static void rfc3339_times_parse(void **state) {
    (void)state;
    int64_t t;
    assert_true(config_parse_time("1970-01-01T00:00:00Z", &t));
    assert_int_equal(t, 0);
    assert_true(config_parse_time("2025-05-22T00:00:00.123Z", &t));
    assert_int_equal(t, 1747872000);
    assert_true(config_parse_time("2025-05-22T02:00:00+02:00", &t));
    assert_int_equal(t, 1747872000);
    const char *bad[] = {"2025-05-22", "2025-13-01T00:00:00Z", "2025-05-22T00:00:00", "2025-05-22T00:00:00Zjunk",
                         "2025/05/22T00:00:00Z", "", "2025-05-22T24:00:00Z"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        if (config_parse_time(bad[i], &t)) fail_msg("\"%s\" should not parse", bad[i]);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(defaults_match_the_reference_design, setup, teardown),
        cmocka_unit_test_setup_teardown(default_models_list_the_default_model_with_dates, setup, teardown),
        cmocka_unit_test_setup_teardown(file_values_apply, setup, teardown),
        cmocka_unit_test_setup_teardown(environment_wins_over_the_file, setup, teardown),
        cmocka_unit_test_setup_teardown(empty_environment_variables_are_unset, setup, teardown),
        cmocka_unit_test_setup_teardown(unknown_key_fails_naming_it, setup, teardown),
        cmocka_unit_test_setup_teardown(wrong_type_fails_naming_the_key, setup, teardown),
        cmocka_unit_test_setup_teardown(out_of_range_fails_naming_the_key, setup, teardown),
        cmocka_unit_test_setup_teardown(keys_that_contradict_each_other_fail, setup, teardown),
        cmocka_unit_test_setup_teardown(bad_files_fail_with_one_line, setup, teardown),
        cmocka_unit_test_setup_teardown(without_a_path_config_json_in_the_cwd_is_used, setup, teardown),
        cmocka_unit_test_setup_teardown(models_accept_ids_and_objects, setup, teardown),
        cmocka_unit_test_setup_teardown(bad_models_fail_naming_the_entry, setup, teardown),
        cmocka_unit_test_setup_teardown(aliases_resolve_and_everything_else_passes_through, setup, teardown),
        cmocka_unit_test(loopback_hosts_are_recognised),
        cmocka_unit_test(rfc3339_times_parse),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
