/* privs.h -- who gslbd runs as: the one-way drop from root to the configured
 * user and group, shedding capabilities, and whether the files a running
 * gslbd still reads and writes are within that user's reach. */
#ifndef GSLBD_PRIVS_H
#define GSLBD_PRIVS_H

#include <stdbool.h>

struct conf;
struct snapshot;

/* Exec checks never run as root. When @as_root (the daemon is uid 0 and has
 * no `user` to become), log "FILE:LINE: checks[N]: ..." for every exec check
 * of @conf and return how many there are; otherwise return 0. Any thread. */
int privs_check_exec(const struct conf *conf, bool as_root);

/* Would the daemon stay root with @conf? (uid 0 now and no `user`.) */
bool privs_stays_root(const struct conf *conf);

/* Become who @conf says, for good, once every listener, the control socket
 * and the log are open:
 *  - with `user`: supplementary groups cleared, then the group, then the
 *    user (real, effective and saved ids; glibc applies each call to every
 *    thread), then a check that setuid(0) fails and no capability is left;
 *  - already that user and group (started unprivileged by a service
 *    manager): nothing to switch;
 *  - without `user` and not root: the capabilities the service manager
 *    gave (CAP_NET_BIND_SERVICE) are dropped, ambient ones included, so
 *    exec checks inherit none;
 *  - without `user` as root: nothing (a warning says so).
 * Capabilities are per thread: call before any thread exists. Returns 0 or
 * -1 (logged; the process must not go on). Main thread. */
int privs_drop(const struct conf *conf);

/* With the process's current credentials, check what gslbd touches after
 * start-up: config files, zone files and their $INCLUDEs (read again by
 * every reload), exec commands and file-check files (used by probes), and
 * the state file's directory (written by every save: a temporary file there
 * is renamed over the state file). Unreadable inputs are warnings (start-up
 * has read them; the next reload or probe will fail); a state file that
 * cannot be written is an error. Returns the number of errors. Main thread. */
int privs_audit(const struct snapshot *snap);

/* `gslbd -t`: privs_audit as the configured user, in a child process that
 * drops to it (root only; otherwise as ourselves when we are that user, or
 * not at all, with a warning). Returns the number of errors. Main thread,
 * before any thread exists (it forks). */
int privs_audit_as_user(const struct snapshot *snap);

#endif
