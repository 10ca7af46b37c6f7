/* The session's phase table, without a loop: every change a session may make, and every one it may not. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "engine/session_phase.h"

#define P(x) SESSION_PHASE_##x

static void a_session_lives_through_a_turn_and_a_follow_up(void **state) {
    (void)state;
    const session_phase_t life[] = {P(SPAWNING), P(READY),         P(INITIALIZING), P(RUNNING), P(WAITING_TOOLS),
                                    P(RUNNING),  P(IDLE),          P(RUNNING),      P(DRAINING), P(CLOSING)};
    for (size_t i = 0; i + 1 < sizeof life / sizeof life[0]; i++)
        if (!session_phase_allows(life[i], life[i + 1]))
            fail_msg("%s -> %s should be allowed", session_phase_name(life[i]), session_phase_name(life[i + 1]));
    /* a turn given before the channel opens: its lines wait, initialize goes first */
    assert_true(session_phase_allows(P(SPAWNING), P(INITIALIZING)));
}

static void a_failed_or_interrupted_turn_is_taken_back_before_the_session_idles(void **state) {
    (void)state;
    assert_true(session_phase_allows(P(DRAINING), P(REWINDING)));     /* the interrupted turn's result came */
    assert_true(session_phase_allows(P(RUNNING), P(REWINDING)));      /* a clean upstream error */
    assert_true(session_phase_allows(P(INITIALIZING), P(REWINDING))); /* ... before initialize's answer */
    assert_true(session_phase_allows(P(REWINDING), P(IDLE)));         /* rewound: the conversation before it */
    assert_false(session_phase_allows(P(REWINDING), P(RUNNING)));     /* no turn until it is back */
    assert_false(session_phase_allows(P(REWINDING), P(DRAINING)));
    assert_false(session_phase_allows(P(WAITING_TOOLS), P(REWINDING))); /* a parked turn is interrupted first */
    assert_false(session_phase_allows(P(IDLE), P(REWINDING)));
    assert_int_equal(session_phase_state(P(REWINDING)), SESSION_BUSY);
    assert_false(session_phase_in_turn(P(REWINDING)));
}

static void every_phase_but_closing_may_close_and_closing_is_final(void **state) {
    (void)state;
    for (int p = 0; p < SESSION_PHASE_COUNT; p++) {
        if (p != P(CLOSING)) assert_true(session_phase_allows(p, P(CLOSING)));
        assert_false(session_phase_allows(P(CLOSING), p));
        assert_false(session_phase_allows(p, p)); /* staying is not a change */
    }
}

static void impossible_changes_are_refused(void **state) {
    (void)state;
    const session_phase_t refused[][2] = {
        {P(IDLE), P(INITIALIZING)},  /* an idle CLI is initialized already */
        {P(READY), P(RUNNING)},      /* initialize comes first */
        {P(READY), P(IDLE)},         /* no turn, no result */
        {P(SPAWNING), P(IDLE)},
        {P(IDLE), P(WAITING_TOOLS)}, /* tool calls come from a running turn */
        {P(IDLE), P(DRAINING)},      /* no turn to interrupt */
        {P(DRAINING), P(IDLE)},      /* an interrupted conversation cannot be continued */
        {P(DRAINING), P(RUNNING)},
        {P(WAITING_TOOLS), P(IDLE)}, /* a parked turn ends through its tool results */
        {P(RUNNING), P(READY)},
        {P(RUNNING), P(SPAWNING)},
    };
    for (size_t i = 0; i < sizeof refused / sizeof refused[0]; i++)
        if (session_phase_allows(refused[i][0], refused[i][1]))
            fail_msg("%s -> %s should be refused", session_phase_name(refused[i][0]), session_phase_name(refused[i][1]));
    assert_false(session_phase_allows(SESSION_PHASE_COUNT, P(CLOSING)));
    assert_false(session_phase_allows(P(IDLE), SESSION_PHASE_COUNT));
}

static void the_pool_sees_the_coarse_state(void **state) {
    (void)state;
    assert_int_equal(session_phase_state(P(SPAWNING)), SESSION_STARTING);
    assert_int_equal(session_phase_state(P(READY)), SESSION_READY);
    assert_int_equal(session_phase_state(P(INITIALIZING)), SESSION_BUSY);
    assert_int_equal(session_phase_state(P(RUNNING)), SESSION_BUSY);
    assert_int_equal(session_phase_state(P(DRAINING)), SESSION_BUSY);
    assert_int_equal(session_phase_state(P(WAITING_TOOLS)), SESSION_WAITING);
    assert_int_equal(session_phase_state(P(IDLE)), SESSION_IDLE);
    assert_int_equal(session_phase_state(P(CLOSING)), SESSION_CLOSING);
    assert_true(session_phase_in_turn(P(INITIALIZING)));
    assert_true(session_phase_in_turn(P(RUNNING)));
    assert_false(session_phase_in_turn(P(DRAINING)));
    assert_false(session_phase_in_turn(P(WAITING_TOOLS)));
}

static void every_phase_has_a_name(void **state) {
    (void)state;
    for (int p = 0; p < SESSION_PHASE_COUNT; p++) {
        assert_non_null(session_phase_name(p));
        assert_string_not_equal(session_phase_name(p), "?");
    }
    assert_string_equal(session_phase_name(P(WAITING_TOOLS)), "waiting_tools");
    assert_string_equal(session_phase_name(SESSION_PHASE_COUNT), "?");
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(a_session_lives_through_a_turn_and_a_follow_up),
        cmocka_unit_test(a_failed_or_interrupted_turn_is_taken_back_before_the_session_idles),
        cmocka_unit_test(every_phase_but_closing_may_close_and_closing_is_final),
        cmocka_unit_test(impossible_changes_are_refused),
        cmocka_unit_test(the_pool_sees_the_coarse_state),
        cmocka_unit_test(every_phase_has_a_name),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
