/* probe.h -- the probe engine: its own thread and libev loop, running every
 * configured health check concurrently and non-blocking, and reporting each
 * result to the health table. It never touches snapshots or answers. */
#ifndef GSLBD_PROBE_H
#define GSLBD_PROBE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "health/health.h"

struct check_kind;

/* One probed target with its check's parameters: an immutable description
 * made at load time. The engine copies what it needs (probe_spec_dup). */
struct probe_spec {
	char *key;                 /* the health entry's key: "ADDR:PORT/CHECK" */
	struct health_entry *entry;
	const struct check_kind *kind; /* its operations (check_kind.h) */
	struct sockaddr_storage addr; /* address and port to probe */
	socklen_t addrlen;
	char *target;              /* "192.0.2.10:443" / "[2001:db8::1]:443" */
	double interval;           /* seconds, >= 0.1 */
	double timeout;            /* seconds, > 0 */
	unsigned rise, fall;
	void *opts;                /* the kind's options for this target, owned, or NULL */
};

/* A deep copy of @s (its opts through the kind's opts_dup), owned by the
 * caller; probe_spec_free frees one with its opts (NULL is a no-op). */
struct probe_spec *probe_spec_dup(const struct probe_spec *s);
void probe_spec_free(struct probe_spec *s);

struct probe_engine;

/* Create the engine reporting to @t. Main thread. */
struct probe_engine *probe_engine_new(struct health_table *t);

/* Start its thread. Returns 0 or -1 (logged). */
int probe_engine_start(struct probe_engine *e);

/* Hand the engine the complete new set of probes (the engine copies @specs).
 * Probes whose key is unchanged keep running on their schedule (parameters
 * updated); new ones start at a random point of their first interval (spread),
 * removed ones stop. Main thread; returns at once (the probe thread applies it
 * through an ev_async). */
void probe_engine_set(struct probe_engine *e, struct probe_spec *const *specs, size_t n);

/* Stop the thread and free everything. NULL is a no-op. Main thread. */
void probe_engine_free(struct probe_engine *e);

/* The program an exec check runs, as execve needs it: @cmd itself if it has a
 * slash, else the first match along @path_env ("PATH=..."; NULL: the default
 * /usr/local/bin:/usr/bin:/bin) that the caller may execute, written to @out.
 * Returns 0 or an errno value. Any thread. */
int probe_exec_resolve(char *out, size_t size, const char *cmd, const char *path_env);

#endif
