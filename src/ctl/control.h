/* control.h -- the UNIX control socket, served on the main loop. The line
 * protocol is in protocol.h (shared with gslbctl), the commands in
 * commands.h. */
#ifndef GSLBD_CONTROL_H
#define GSLBD_CONTROL_H

#include <stddef.h>

#include <ev.h>

#include "ctl/commands.h"

struct control;

/* Listen on @path with permissions @mode, on @loop (the main loop), running
 * each command line through commands_execute() with @ops (copied). An
 * existing socket file is replaced only when nobody answers on it (a
 * connect() is refused): one a live process (another gslbd) listens on is
 * refused and left alone, as is anything that is not a socket. Returns NULL
 * after logging on failure. Main thread. */
struct control *control_new(struct ev_loop *loop, const char *path, unsigned mode,
			    const struct control_ops *ops);

/* Move the listener to @path with permissions @mode (the same path: only
 * the mode changes). Connections already accepted carry on. On failure
 * (after dropping root the directory may be out of reach) the old socket
 * stays, the reason goes to the log and, short, to @why; returns -1. Returns
 * 0 on success. Main thread; safe inside a command's callback. */
int control_rebind(struct control *c, const char *path, unsigned mode, char *why, size_t whysize);

/* Reply to every client waiting for the reload it started (the command
 * returned COMMAND_PENDING): @rc 0 if the new configuration is live, -1 if
 * not; @msg is what the build logged and its result line. Main thread. */
void control_reload_done(struct control *c, int rc, const char *msg);

/* The path and mode the control socket has now. */
const char *control_path(const struct control *c);
unsigned control_mode(const struct control *c);

/* Stop listening, remove the socket file, free. NULL is a no-op. */
void control_free(struct control *c);

#endif
