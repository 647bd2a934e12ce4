/* notify.h -- telling the service manager (systemd, sd_notify(3)) how the
 * daemon is: ready, reloading, stopping, a one-line status, watchdog pings.
 *
 * Everything here is a no-op when NOTIFY_SOCKET is not in the environment
 * (gslbd started by hand, by a test, or by an init that does not listen):
 * notify_new() then returns NULL and every function accepts NULL.
 *
 * Threads: the main thread only. Nothing here is on the query path: the
 * status line is recomputed by a timer of the main loop, from the same
 * health words `gslbctl status` reads, and sent only when it changed. */
#ifndef GSLBD_NOTIFY_H
#define GSLBD_NOTIFY_H

#include <ev.h>

#include "data/snapshot.h"
#include "health/health.h"

struct notify;

/* What the status line is computed from; both must outlive the notifier.
 * @current returns the live snapshot (the main thread's). */
struct notify_source {
	const struct snapshot *(*current)(void *arg);
	struct health_table *health;
	void *arg;
};

/* A notifier on @loop, or NULL when no service manager listens (or on
 * allocation failure: notifications are never worth stopping for). Starts
 * nothing yet: see notify_ready(). */
struct notify *notify_new(struct ev_loop *loop, const struct notify_source *src);

/* Stop its timers and free it. NULL is a no-op. */
void notify_free(struct notify *n);

/* Start-up is done: every listener is open and the first snapshot serves.
 * Sends READY=1 with the status line, then starts the status timer and,
 * when the manager asked for it (WatchdogSec=, sd_watchdog_enabled(3)), the
 * watchdog timer, which pings at half the interval from this loop: a main
 * loop that hangs stops the pings and the manager restarts the service. */
void notify_ready(struct notify *n);

/* A reload has started: RELOADING=1 with MONOTONIC_USEC (systemd.service(5),
 * Type=notify-reload). */
void notify_reloading(struct notify *n);

/* A reload has ended, applied (@ok) or not: READY=1 again and the status
 * line (which says when the last reload failed). */
void notify_reloaded(struct notify *n, bool ok);

/* The daemon is stopping: STOPPING=1. The watchdog timer stops too. */
void notify_stopping(struct notify *n);

/* The status line for @s read from @health, into @buf: "serving N pools:
 * H healthy, D degraded, F failed" (a pool counts as its worst family).
 * Exposed for the unit tests. */
void notify_status_text(char *buf, size_t size, const struct snapshot *s,
			struct health_table *health);

#endif
