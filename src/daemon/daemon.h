/* daemon.h -- the main thread's life: start-up, signals, reloads, probes,
 * the state-file timer and the control socket. */
#ifndef GSLBD_DAEMON_H
#define GSLBD_DAEMON_H

#include <stdbool.h>

/* `gslbd -t`: load config and zones with the daemon's own parsers, report,
 * return the exit status (0 valid, 1 not). */
int daemon_check(const char *path);

/* Serve @path until SIGINT/SIGTERM; @detach forks into the background and
 * logs to syslog. Returns the exit status. Main thread; call once. */
int daemon_run(const char *path, bool detach, bool verbose);

#endif
