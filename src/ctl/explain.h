/* explain.h -- `explain NAME TYPE`: why a name is answered the way it is now. */
#ifndef GSLBD_EXPLAIN_H
#define GSLBD_EXPLAIN_H

#include "data/snapshot.h"
#include "health/health.h"
#include "util/sbuf.h"

/* Append the explanation of @namestr @typestr in @s (health from @t, NULL:
 * every member up) to @out. On a bad name or type, appends "ERR ..." and
 * returns -1. Main thread. */
int explain_run(struct sbuf *out, const struct snapshot *s, struct health_table *t,
		const char *namestr, const char *typestr);

#endif
