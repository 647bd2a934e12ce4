/* metrics.h -- the Prometheus text exposition (format 0.0.4) of the counters,
 * the health table and the live snapshot, for GET /metrics.
 *
 * Everything is read, nothing redone: counters are summed from the workers'
 * own (daemon/stats.h), member state comes from the words the answer path
 * reads and the health table's copies (health/health.h). Any thread that
 * holds @snap for the duration of the call (server_read_begin). */
#ifndef GSLBD_METRICS_H
#define GSLBD_METRICS_H

#include "data/snapshot.h"
#include "health/health.h"
#include "util/sbuf.h"

struct stats;

/* Append the exposition to @out. @st and @t may be NULL (nothing counted,
 * health not kept). */
void metrics_render(struct sbuf *out, const struct snapshot *snap, struct health_table *t,
		    const struct stats *st);

/* Append @v to @out as a label value: backslash, double quote and newline
 * escaped as the exposition format asks. */
void metrics_label(struct sbuf *out, const char *v);

/* The process's own figures from /proc: CPU seconds (user + system), resident
 * bytes, open and maximum descriptors, start time (wall clock). A figure that
 * cannot be read is -1. Any thread. */
struct process_figures {
	double cpu_seconds, resident_bytes, virtual_bytes, open_fds, max_fds, start_time;
};
void metrics_process(struct process_figures *out);

#endif
