/*
 * The stdio transport: the CLI's stdin and stdout pipes carry the NDJSON lines.
 *
 *     t = stdio_transport_new(loop, max_line, &events, arg);
 *     stdio_transport_containers(t, &stdio[0], &stdio[1]);   // the child's fd 0 and fd 1 for uv_spawn
 *     ... uv_spawn ...
 *     stdio_transport_start(t);     // reading begins; on_open fires from the loop
 *
 * on_closed(0) when the child closes its stdout (usually: it exited), -EMSGSIZE for a line over max_line,
 * another negative error for a read failure. transport_close closes stdin (the CLI exits on EOF).
 */
#ifndef CWP_TRANSPORT_STDIO_H
#define CWP_TRANSPORT_STDIO_H
#include <stddef.h>
#include <uv.h>

#include "transport/transport.h"

/* Lines waiting to be written to one child, beyond which send_line fails with -ENOBUFS. */
#define STDIO_MAX_SEND_QUEUE ((size_t)256 << 20)

transport_t *stdio_transport_new(uv_loop_t *loop, size_t max_line, const transport_events_t *events, void *arg);
void stdio_transport_containers(transport_t *t, uv_stdio_container_t *in, uv_stdio_container_t *out);
/* Call once after a successful spawn (transport_start does). If the spawn failed, just transport_close. */
int stdio_transport_start(transport_t *t);
/* A maker of stdio transports with NDJSON_MAX_LINE_DEFAULT lines. */
transport_maker_t stdio_transport_maker(uv_loop_t *loop);

#endif
