/* status.h -- what `status` and `stats` report, as text and as JSON, each
 * rendered from one walk over the snapshot, the health table and the
 * counters. Main thread (control path). */
#ifndef GSLBD_STATUS_H
#define GSLBD_STATUS_H

#include <stdbool.h>

#include "data/snapshot.h"
#include "health/health.h"
#include "lb/pool.h"
#include "util/sbuf.h"

struct stats;

/* Everything said about one member. */
struct member_view {
	const char *address;
	bool up;                 /* what the answer path decides now */
	bool known;              /* h holds the member's probe entry */
	struct health_info h;
	enum health_admin admin;
	bool always;             /* no check: up unless drained */
};

/* Fill @mv for member @i of family @f of pool @p, reading @t (NULL: health
 * not enabled, every member up). */
void status_member_view(struct member_view *mv, struct health_table *t, const struct pool *p,
			const struct pool_family *f, unsigned i);

/* Members of @f that the answer path counts as up now. */
unsigned status_family_up(struct health_table *t, const struct pool *p,
			  const struct pool_family *f);

/* "healthy", "degraded", "backup", "last-resort" or "empty". */
const char *status_family_state(const struct pool_explain *ex, const struct pool_family *f,
				unsigned up);

const char *status_admin_name(enum health_admin a);
const char *status_last_resort_name(enum last_resort r);

/* `status`: every pool, its families and members. */
void status_render(struct sbuf *out, const struct snapshot *s, struct health_table *t, bool json);

/* Answers of each geo pool by datacenter, as text lines (`status`). Main thread. */
void status_render_datacenters(struct sbuf *out, const struct stats *st);
/* The same with each pool's shift from @steer (NULL: none). */
struct steer;
void status_render_steer(struct sbuf *out, const struct snapshot *s, struct health_table *t,
			 const struct steer *steer, bool json);

/* `stats`: the counters (@st may be NULL: none kept), probes and health
 * changes per check from @t (may be NULL). */
void status_render_stats(struct sbuf *out, const struct stats *st, struct health_table *t,
			 bool json);

#endif
