/* commands.h -- the control commands: one table, one dispatcher. The socket
 * code (control.c) and the unit tests both run command lines through here. */
#ifndef GSLBD_COMMANDS_H
#define GSLBD_COMMANDS_H

#include <stddef.h>

#include "data/snapshot.h"
#include "health/health.h"
#include "util/sbuf.h"

struct stats;

/* What the daemon lends the commands. Everything runs in the main thread. */
struct control_ops {
	/* The live snapshot (the main thread owns the pointer), or NULL. */
	const struct snapshot *(*current)(void *arg);
	/* Reload now; append a one-line result to @msg. Returns 0 if the new
	 * configuration is live. */
	int (*reload)(void *arg, struct sbuf *msg);
	/* An admin override changed: persist the state file. */
	void (*admin_changed)(void *arg);
	struct health_table *health; /* NULL: health not enabled */
	struct stats *stats;         /* NULL: no counters */
	void *arg;
};

/* What a command may touch, enforced by the dispatcher. */
enum command_access {
	/* Reads the snapshot, copies of health entries and counters; changes
	 * nothing. */
	COMMAND_READ = 0,
	/* Writes admin words through health.c (which takes its own lock);
	 * the state file is saved after a change. */
	COMMAND_ADMIN,
	/* Replaces the snapshot: main thread, with nothing of the old snapshot
	 * held across the call. */
	COMMAND_RELOAD,
};

/* Run one command line, writing the reply (first line "OK" / "ERR ...")
 * into a heap buffer returned in *@out (caller frees) with its length in
 * *@outlen. Returns 0 if the command succeeded. Main thread. */
int commands_execute(const char *line, const struct control_ops *ops, char **out, size_t *outlen);

#endif
