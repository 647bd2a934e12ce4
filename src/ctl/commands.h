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
	/* Start a reload, built beside the live configuration while the main
	 * loop goes on. Returns 0 if it started: its result comes later, in
	 * control_reload_done() (the client waits for it). Returns -1 with a
	 * one-line reason in @msg if none can start now (one is in progress). */
	int (*reload)(void *arg, struct sbuf *msg);
	/* An admin override changed: persist the state file. */
	void (*admin_changed)(void *arg);
	struct health_table *health; /* NULL: health not enabled */
	struct stats *stats;         /* NULL: no counters */
	void *arg;
	struct steer *steer;         /* effective weights and shifts (lb/steer.h), or NULL */
};

/* What a command may touch, enforced by the dispatcher. */
enum command_access {
	/* Reads the snapshot, copies of health entries and counters; changes
	 * nothing. */
	COMMAND_READ = 0,
	/* Writes admin words through health.c (which takes its own lock);
	 * the state file is saved after a change. */
	COMMAND_ADMIN,
	/* Starts a reload; the snapshot is replaced later, by the main thread,
	 * outside any command. */
	COMMAND_RELOAD,
};

/* commands_execute's answer for a command whose reply comes later (reload). */
#define COMMAND_PENDING 1

/* Run one command line, writing the reply (first line "OK" / "ERR ...")
 * into a heap buffer returned in *@out (caller frees) with its length in
 * *@outlen. Returns 0 if the command succeeded, -1 if not, or
 * COMMAND_PENDING with *@out NULL if the reply comes later: the reload
 * started, and commands_reload_reply() makes its reply when it is done.
 * Main thread. */
int commands_execute(const char *line, const struct control_ops *ops, char **out, size_t *outlen);

/* The reply to `reload` once the reload is done: @rc 0 (the new
 * configuration is live) or -1, and @msg, the warnings or errors the build
 * logged and its result line. Same ownership as commands_execute. */
void commands_reload_reply(int rc, const char *msg, char **out, size_t *outlen);

#endif
