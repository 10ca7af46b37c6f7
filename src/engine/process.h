/*
 * One supervised child process: spawned from an argv (never a shell), its stderr logged within bounds,
 * ended with escalation (SIGTERM, then SIGKILL after a grace period), always reaped.
 *
 * The owner gets on_exit once, then calls process_release(); the memory is freed after the handles
 * close, and on_reaped (the group callback) runs then, so an owner can tell when every child is gone.
 */
#ifndef CWP_ENGINE_PROCESS_H
#define CWP_ENGINE_PROCESS_H
#include <stdbool.h>
#include <stdint.h>
#include <uv.h>

typedef struct process_s process_t;

/* Bounds on what a child's stderr may put in our log. */
#define PROCESS_STDERR_MAX_LINES 200
#define PROCESS_STDERR_MAX_LINE 1024

typedef struct {
    const char *file;       /* argv[0] is looked up in PATH when it has no '/' */
    char **argv;            /* NULL-terminated */
    char **env;             /* NULL-terminated "K=V" */
    const char *cwd;
    uv_stdio_container_t stdio_in;  /* flags UV_IGNORE for nothing */
    uv_stdio_container_t stdio_out;
    const char *log_id;     /* the session id, for log lines */
    uint64_t term_grace_ms; /* SIGTERM → SIGKILL */
    void (*on_exit)(void *arg, int64_t exit_status, int term_signal);
    void *arg;
    void (*on_reaped)(void *group_arg); /* after the child is reaped and the handles closed */
    void *group_arg;
} process_options_t;

/* Returns 0 and *out, or a negative uv error (nothing to clean up then but the caller's stdio pipes). */
int process_spawn(uv_loop_t *loop, const process_options_t *opts, process_t **out);
int process_pid(const process_t *p);
bool process_is_running(const process_t *p);
/* End the child: after delay_ms (time to exit on its own, e.g. on stdin EOF) SIGTERM, then SIGKILL
 * after the grace period. on_exit still follows. */
void process_end(process_t *p, uint64_t delay_ms);
/* The owner lets go: no more on_exit; freed once reaped (ended first if still running). */
void process_release(process_t *p);

#endif
