/*
 * The phases of a session (one CLI process), and which changes between them can happen. Pure: the
 * session (session.c) moves through them with session_enter(), which logs every change and refuses
 * the ones this table does not have.
 *
 *   SPAWNING ─open─▶ READY ─turn─▶ INITIALIZING ─initialize answered─▶ RUNNING ─result─▶ IDLE
 *      └──────turn (lines queue)──────▲                                    │  ▲ ◀───turn─────┘
 *                                              response ends at tool calls ▼  │ tool results
 *                                                                     WAITING_TOOLS
 *   INITIALIZING, RUNNING, WAITING_TOOLS ─client gone─▶ DRAINING (interrupt sent, its result awaited)
 *   DRAINING ─result─▶ REWINDING; RUNNING ─upstream error─▶ REWINDING (rewind_conversation sent)
 *   REWINDING ─rewound─▶ IDLE (the conversation as it was before the turn)
 *   any ─fault / timeout / recycle / shutdown / drained─▶ CLOSING ─reaped─▶ freed
 */
#ifndef CWP_ENGINE_SESSION_PHASE_H
#define CWP_ENGINE_SESSION_PHASE_H
#include <stdbool.h>

#include "engine/session.h"

typedef enum {
    SESSION_PHASE_SPAWNING,      /* the process started; its channel is not open (a WebSocket CLI not connected) */
    SESSION_PHASE_READY,         /* open, nothing sent: a warm process waiting for its first turn */
    SESSION_PHASE_INITIALIZING,  /* a turn attached; initialize sent, its answer awaited */
    SESSION_PHASE_RUNNING,       /* a turn attached to an initialized CLI: its output streams to the sink */
    SESSION_PHASE_WAITING_TOOLS, /* the response ended at client tool calls; the CLI waits for their results */
    SESSION_PHASE_IDLE,          /* holds a finished conversation (fingerprinted) for a follow-up */
    SESSION_PHASE_DRAINING,      /* the client left mid-turn: the CLI was interrupted, its result is awaited */
    SESSION_PHASE_REWINDING,     /* the turn failed or was interrupted: the CLI was asked to take it back */
    SESSION_PHASE_CLOSING,       /* out of service: the process is being ended */
    SESSION_PHASE_COUNT
} session_phase_t;

/* "spawning", "ready", ...; "?" for a value out of range. */
const char *session_phase_name(session_phase_t phase);
/* Is from → to a change a session can make? (Staying in a phase is not a change: false.) */
bool session_phase_allows(session_phase_t from, session_phase_t to);
/* The coarse state the pool and the dashboard see (session_state_t). */
session_state_t session_phase_state(session_phase_t phase);
/* Nothing was sent to the CLI yet (SPAWNING or READY): the next turn initializes it. */
static inline bool session_phase_before_turn(session_phase_t p) {
    return p == SESSION_PHASE_SPAWNING || p == SESSION_PHASE_READY;
}
/* A turn is attached and the CLI works on it (INITIALIZING or RUNNING). */
static inline bool session_phase_in_turn(session_phase_t p) {
    return p == SESSION_PHASE_INITIALIZING || p == SESSION_PHASE_RUNNING;
}

#endif
