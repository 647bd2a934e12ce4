/* control.h -- the UNIX control socket, served on the main loop. The line
 * protocol is in protocol.h (shared with gslbctl), the commands in
 * commands.h. */
#ifndef GSLBD_CONTROL_H
#define GSLBD_CONTROL_H

#include <ev.h>

#include "ctl/commands.h"

struct control;

/* Listen on @path (an existing socket file is replaced) with permissions
 * @mode, on @loop (the main loop), running each command line through
 * commands_execute() with @ops (copied). Returns NULL after logging on
 * failure. Main thread. */
struct control *control_new(struct ev_loop *loop, const char *path, unsigned mode,
			    const struct control_ops *ops);

/* Stop listening, remove the socket file, free. NULL is a no-op. */
void control_free(struct control *c);

#endif
