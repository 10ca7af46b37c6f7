/* STUB: replaced by the session engine (delete this file when engine.c lands). */
#include <stdio.h>
#include <stdlib.h>

#include "engine/engine.h"

struct engine_s {
    int unused;
};

engine_t *engine_new(uv_loop_t *loop, const config_t *cfg, metrics_t *metrics) {
    (void)loop; (void)cfg; (void)metrics;
    return calloc(1, sizeof(engine_t));
}
int engine_start(engine_t *eng, char *err, size_t err_len) { (void)eng; (void)err; (void)err_len; return 0; }
void engine_shutdown(engine_t *eng, void (*done)(void *), void *arg) { (void)eng; done(arg); }
void engine_free(engine_t *eng) { free(eng); }
turn_t *engine_start_turn(engine_t *eng, const turn_request_t *req, const turn_callbacks_t *cb, void *arg,
                          engine_error_t *err) {
    (void)eng; (void)req; (void)cb; (void)arg;
    *err = (engine_error_t){.kind = ENGINE_ERR_UNAVAILABLE, .http_status = 503, .message = "engine not built yet"};
    return NULL;
}
void turn_cancel(turn_t *turn) { (void)turn; }
void turn_set_paused(turn_t *turn, bool paused) { (void)turn; (void)paused; }
void engine_get_stats(engine_t *eng, engine_stats_t *out) { (void)eng; *out = (engine_stats_t){.transport = "stdio"}; }
void engine_foreach_session(engine_t *eng, void (*fn)(const engine_session_info_t *, void *), void *arg) {
    (void)eng; (void)fn; (void)arg;
}
void engine_recycle_all(engine_t *eng) { (void)eng; }
