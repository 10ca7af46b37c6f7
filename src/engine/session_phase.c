#include "engine/session_phase.h"

#define BIT(p) (1u << (p))

/* For each phase, the phases it may go to. Every phase may close; nothing leaves CLOSING. */
static const unsigned NEXT[SESSION_PHASE_COUNT] = {
    [SESSION_PHASE_SPAWNING] = BIT(SESSION_PHASE_READY) | BIT(SESSION_PHASE_INITIALIZING),
    [SESSION_PHASE_READY] = BIT(SESSION_PHASE_INITIALIZING),
    /* A CLI that reports its result (or client tool calls) before answering initialize is taken at its word. */
    [SESSION_PHASE_INITIALIZING] = BIT(SESSION_PHASE_RUNNING) | BIT(SESSION_PHASE_WAITING_TOOLS) |
                                   BIT(SESSION_PHASE_IDLE) | BIT(SESSION_PHASE_DRAINING) |
                                   BIT(SESSION_PHASE_REWINDING),
    [SESSION_PHASE_RUNNING] = BIT(SESSION_PHASE_WAITING_TOOLS) | BIT(SESSION_PHASE_IDLE) |
                              BIT(SESSION_PHASE_DRAINING) | BIT(SESSION_PHASE_REWINDING),
    [SESSION_PHASE_WAITING_TOOLS] = BIT(SESSION_PHASE_RUNNING) | BIT(SESSION_PHASE_DRAINING),
    [SESSION_PHASE_IDLE] = BIT(SESSION_PHASE_RUNNING),
    [SESSION_PHASE_DRAINING] = BIT(SESSION_PHASE_REWINDING),
    [SESSION_PHASE_REWINDING] = BIT(SESSION_PHASE_IDLE),
    [SESSION_PHASE_CLOSING] = 0,
};

const char *session_phase_name(session_phase_t phase) {
    static const char *const names[SESSION_PHASE_COUNT] = {
        [SESSION_PHASE_SPAWNING] = "spawning", [SESSION_PHASE_READY] = "ready",
        [SESSION_PHASE_INITIALIZING] = "initializing", [SESSION_PHASE_RUNNING] = "running",
        [SESSION_PHASE_WAITING_TOOLS] = "waiting_tools", [SESSION_PHASE_IDLE] = "idle",
        [SESSION_PHASE_DRAINING] = "draining", [SESSION_PHASE_REWINDING] = "rewinding",
        [SESSION_PHASE_CLOSING] = "closing",
    };
    return (unsigned)phase < SESSION_PHASE_COUNT ? names[phase] : "?";
}

bool session_phase_allows(session_phase_t from, session_phase_t to) {
    if ((unsigned)from >= SESSION_PHASE_COUNT || (unsigned)to >= SESSION_PHASE_COUNT || from == to) return false;
    if (to == SESSION_PHASE_CLOSING) return from != SESSION_PHASE_CLOSING;
    return (NEXT[from] & BIT(to)) != 0;
}

session_state_t session_phase_state(session_phase_t phase) {
    switch (phase) {
    case SESSION_PHASE_SPAWNING: return SESSION_STARTING;
    case SESSION_PHASE_READY: return SESSION_READY;
    case SESSION_PHASE_INITIALIZING:
    case SESSION_PHASE_RUNNING:
    case SESSION_PHASE_DRAINING:
    case SESSION_PHASE_REWINDING: return SESSION_BUSY;
    case SESSION_PHASE_WAITING_TOOLS: return SESSION_WAITING;
    case SESSION_PHASE_IDLE: return SESSION_IDLE;
    default: return SESSION_CLOSING;
    }
}
