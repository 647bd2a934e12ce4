/* server.h -- sockets and worker threads: moves bytes, hands each message to
 * the DNS core, counts what it answered. Knows no reloads, signals, probes or
 * control socket (daemon.h). */
#ifndef GSLBD_SERVER_H
#define GSLBD_SERVER_H

#include "data/snapshot.h"

struct server;
struct stats;

/* Bind every listener of @snap's config (UDP and TCP, one SO_REUSEPORT
 * socket pair per worker) and log the addresses; each answering thread gets
 * its counters from @stats (which must outlive the server). @snap becomes
 * the live snapshot; the server owns it from now on. Returns NULL after
 * logging on failure; @snap is then still the caller's. Main thread. */
struct server *server_new(struct snapshot *snap, struct stats *stats);

/* Start the UDP threads and the workers' TCP loops; they block every signal.
 * Returns 0 or -1 (logged). Main thread. */
int server_start(struct server *srv);

/* Publish @snap as the live snapshot and free the old one once no worker can
 * hold it (RCU). Main thread. */
void server_swap(struct server *srv, struct snapshot *snap);

/* Wait until every worker has passed a quiescent state (an RCU grace
 * period): what was unpublished before the call is no longer read. Main
 * thread. */
void server_synchronize(struct server *srv);

/* The live snapshot: valid in the main thread until the next swap. */
const struct snapshot *server_snapshot(const struct server *srv);

unsigned server_nworkers(const struct server *srv);

/* Threads that answer queries (each has its own dnstap queue, numbered from
 * 0 below this): per worker, one UDP thread per listener and a TCP loop. */
unsigned server_nthreads(const struct server *srv);
/* Reading the live snapshot from a thread of its own that answers no
 * queries (the HTTP listener). The thread registers once before its first
 * read and unregisters before it ends; each read is bracketed by
 * server_read_begin and server_read_end, which return it to the offline
 * state, so that a reload never waits for it between reads. The snapshot
 * returned is valid until server_read_end. That thread only. */
void server_reader_register(void);
void server_reader_unregister(void);
const struct snapshot *server_read_begin(struct server *srv);
void server_read_end(struct server *srv);

/* Stop and join every thread; in-flight TCP connections are closed. Main
 * thread. No-op if not started. */
void server_stop(struct server *srv);

/* Close the sockets, free everything including the live snapshot. NULL is a
 * no-op. After server_stop. */
void server_free(struct server *srv);

#endif
