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

/* The same for a query from address @client (NULL: none known) with an EDNS
 * Client Subnet option of prefix @ecs (NULL: none), as `explain NAME TYPE
 * --client ADDRESS --ecs PREFIX` asks: pools that answer by location say
 * which region and datacenter, and why. */
int explain_run_client(struct sbuf *out, const struct snapshot *s, struct health_table *t,
		       const char *namestr, const char *typestr, const char *client,
		       const char *ecs);

#endif
