/* control.h -- the UNIX control socket served in the main thread, and its
 * line protocol (shared with gslbctl).
 *
 * Protocol: the client connects, writes one command line, and reads the reply
 * until the server closes. The reply's first line is "OK" or "ERR <message>";
 * the body follows. Commands:
 *   status [--json]          every pool and member: state, last probe, latency,
 *                            consecutive count, last change, admin override
 *   explain NAME TYPE        why NAME TYPE is answered the way it is now
 *   drain POOL ADDRESS       take a member out whatever its probes say
 *   undrain POOL ADDRESS     remove the override
 *   reload                   same as SIGHUP
 */
#ifndef GSLBD_CONTROL_H
#define GSLBD_CONTROL_H

#include <ev.h>

#include "health/health.h"
#include "data/snapshot.h"

#define CONTROL_MAX_LINE 1024

struct control_ops {
	/* The live snapshot (the main thread owns the pointer). */
	const struct snapshot *(*current)(void *arg);
	/* Ask for a reload; called from the control callback. */
	void (*reload)(void *arg);
	/* An admin override changed: persist the state file. */
	void (*admin_changed)(void *arg);
	void *arg;
};

struct control;

/* Listen on @path (an existing socket file is replaced) with permissions
 * @mode, on @loop (the main loop). Returns NULL after logging on failure.
 * Main thread. */
struct control *control_new(struct ev_loop *loop, const char *path, unsigned mode,
			    struct health_table *health, const struct control_ops *ops);

/* Stop listening, remove the socket file, free. NULL is a no-op. */
void control_free(struct control *c);

/* Run one command line against @s and @health, writing the reply (first
 * line "OK" / "ERR ...") into a heap buffer returned in *@out (caller frees)
 * with its length in *@outlen. Pure apart from admin changes; used by the
 * socket code and by unit tests. Returns 0 if the command succeeded. */
int control_execute(const char *line, const struct snapshot *s, struct health_table *health,
		    const struct control_ops *ops, char **out, size_t *outlen);

#endif
