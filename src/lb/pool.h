/* pool.h -- pools of addresses and the per-query choice of members. */
#ifndef GSLBD_POOL_H
#define GSLBD_POOL_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "dns/wire.h"
#include "data/conf.h"
#include "dns/request.h"
#include "health/health.h"
#include "lb/policy.h"

#define POOL_MAX_MEMBERS 512 /* per pool; conf.c enforces it */
#define POOL_RR4_LEN 16 /* ptr(2) type class ttl rdlen(10) addr(4) */
#define POOL_RR6_LEN 28

/* The weights policies draw by: every member's *effective* weight
 * (configured x backend-reported x slow-start x runtime override x shift,
 * src/lb/steer.c) and their running sums, so that one draw among all members
 * is a binary search and one among some of them a scan, both without
 * allocation. A set is immutable once published; a change publishes a new
 * one (pool_weights_swap) and the old one is freed after a grace period, as
 * snapshots are. One allocation: the struct and its arrays. */
struct pool_weights {
	uint32_t n;
	uint32_t wsum;     /* cum[n - 1]; > 0 */
	uint32_t *weight;  /* per member of the family, each >= 1 */
	uint32_t *cum;     /* cum[i] = weight[0] + ... + weight[i] */
};

/* One family's members of a pool, with their A or AAAA records pre-encoded
 * (owner pointer patched per query). */
struct pool_family {
	uint16_t n;
	uint16_t answers;     /* records per answer, 1..n */
	uint16_t rrlen;       /* POOL_RR4_LEN or POOL_RR6_LEN */
	uint32_t wsum;
	uint32_t *weight;
	uint8_t *rr;          /* n * rrlen bytes */
	uint32_t *hword;      /* per member: health word (table of the snapshot) */
	uint32_t *aword;      /* per member: admin word */
	char **text;          /* per member: address as text, for status and logs */
	void *policy_data;    /* the pool's policy's own (policy_ops.prepare), or NULL */
	/* The live effective weights (never NULL when n > 0): stored by the main
	 * thread (pool_weights_swap), loaded by workers (pool_weights_get). */
	_Atomic(struct pool_weights *) weights;
	double *slow_start;   /* per member: seconds of ramp after coming up, 0: none */
	char **group;         /* per member: its `group`, or NULL */
};

struct pool {
	char *name;
	uint32_t index;       /* position in the snapshot's pool array */
	uint32_t stat_slot;   /* its counters, by name across reloads (stats_bind_pools) */
	uint32_t dc_slot;     /* a geo pool's counters by datacenter (stats_bind_pools) */
	const struct policy_ops *policy;
	uint32_t ttl;
	uint32_t ttl_degraded;
	unsigned min_healthy;
	enum last_resort last_resort;
	bool checked;         /* some member has a probe or an admin word: read health */
	bool narrow;          /* its policy answers a part of it by client (policy.h narrow) */
	const struct pool *backup;
	struct pool_family v4, v6;
};

/* A weight set over @n members of weights @w (0 counts as 1; a sum over 2^32
 * is refused by the callers: conf bounds it), owned by the caller until
 * published. Load time or the main thread. */
struct pool_weights *pool_weights_new(const uint32_t *w, unsigned n);
void pool_weights_free(struct pool_weights *w);

/* Publish @w as family @f's weights (release store) and return the set it
 * replaces, which the caller frees once no worker can hold it (after an RCU
 * grace period; at once if @f's snapshot is not live yet). Main thread. */
struct pool_weights *pool_weights_swap(struct pool_family *f, struct pool_weights *w);

/* Hot path: the live weights of @f (n > 0), one acquire load. */
static inline const struct pool_weights *pool_weights_get(const struct pool_family *f)
{
	return atomic_load_explicit(&((struct pool_family *)f)->weights, memory_order_acquire);
}

/* Hot path: the member whose running sum first exceeds @r < w->wsum. */
static inline unsigned pool_weights_search(const struct pool_weights *w, uint32_t r)
{
	unsigned lo = 0, hi = w->n - 1;

	while (lo < hi) {
		unsigned mid = lo + (hi - lo) / 2;
		if (r < w->cum[mid]) {
			hi = mid;
		} else {
			lo = mid + 1;
		}
	}
	return lo;
}

/* pool_write() results besides a record count. */
#define POOL_NO_ROOM (-1)
#define POOL_NODATA (-2)   /* last resort: answer NODATA */
#define POOL_SERVFAIL (-3) /* last resort: answer SERVFAIL */

/* Per-worker selection state: rotation counters and a PRNG. Owned by one
 * worker thread; never shared. */
struct pool_state {
	uint64_t rng;
	uint32_t *rotation;   /* 2 per pool: [index*2 + family] */
	size_t cap;           /* pools covered by rotation */
};

/* Fill @p from its config (no policy: the default) and let the policy prepare
 * its data. Load time. */
void pool_init(struct pool *p, const struct conf_pool *cp, uint32_t index);
void pool_clear(struct pool *p);

/* Seed @st and size it for @npools pools (re-callable when a new snapshot
 * has more pools). Not on the per-query path. */
void pool_state_init(struct pool_state *st, uint64_t seed);
void pool_state_reserve(struct pool_state *st, size_t npools);
void pool_state_clear(struct pool_state *st);

/* For policies (hot path, the worker owning @st): uniform in [0, @n), @n > 0,
 * from xorshift64* -- fast, good enough to spread load, and per worker; the
 * range reduction is Lemire's, without modulo bias worth caring about. */
static inline uint32_t pool_state_random(struct pool_state *st, uint32_t n)
{
	uint64_t x = st->rng;

	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	st->rng = x;
	return (uint32_t)((((x * 0x2545F4914F6CDD1DULL) >> 32) * (uint64_t)n) >> 32);
}

/* For policies: the rotation counter of family @f of pool @p in @st, which
 * covers @p. */
static inline uint32_t *pool_state_rotation(struct pool_state *st, const struct pool *p,
					    const struct pool_family *f)
{
	return &st->rotation[p->index * 2 + (f == &p->v4 ? 0 : 1)];
}

/* For policies (hot path): one of the @n candidates @cand (indexes into the
 * family of @w, n >= 1) drawn in proportion to its effective weight; returns
 * its position in @cand. With every member a candidate (@n == w->n) a binary
 * search, else a scan of the candidates. */
static inline unsigned pool_weights_draw(const struct pool_weights *w, const uint16_t *cand,
					 unsigned n, struct pool_state *st)
{
	uint32_t left = 0, r;
	unsigned i;

	if (n == w->n) {
		return pool_weights_search(w, pool_state_random(st, w->wsum));
	}
	for (i = 0; i < n; i++) {
		left += w->weight[cand[i]];
	}
	r = pool_state_random(st, left);
	for (i = 0; i + 1 < n && r >= w->weight[cand[i]]; i++) {
		r -= w->weight[cand[i]];
	}
	return i;
}

/* Write the answer records of pool @p for @qtype (DNS_TYPE_A or DNS_TYPE_AAAA) to @out
 * with owner name pointer @owner_ptr; at most @room bytes. Only members that
 * are up in @health count (NULL: all are up); below min_healthy the backup
 * chain answers, then the last resort. Returns the number of records (0: the
 * family is empty), POOL_NO_ROOM, POOL_NODATA or POOL_SERVFAIL. @st must
 * cover @p and its backups (pool_state_reserve). Records in @req which pool
 * was named, where the members came from and how many were written; the
 * answering pool's policy chooses the members and may read the client from
 * it. Hot path: no allocation, no lock: health words are read with single
 * atomic loads, and the policy is one indirect call. */
int pool_write(uint8_t *out, size_t room, size_t *written, const struct pool *p, uint16_t qtype,
	       uint16_t owner_ptr, struct pool_state *st, const struct health_table *health,
	       struct request *req);

/* The records pool_write() would answer a query for @qtype at an owner of
 * @p with, for the additional section of an answer that names that owner
 * (an NS, MX or SRV target): the same members, TTLs and rotation, but
 * nothing is recorded in @req (the response is not a pool answer), and a
 * last resort of NODATA or SERVFAIL gives no records. Returns the number of
 * records or POOL_NO_ROOM (then nothing was written). Hot path: as
 * pool_write. */
int pool_write_additional(uint8_t *out, size_t room, size_t *written, const struct pool *p,
			  uint16_t qtype, uint16_t owner_ptr, struct pool_state *st,
			  const struct health_table *health, struct request *req);

/* Why pool_write answers what it does, for `gslbctl explain`. */
struct pool_explain {
	const struct pool *answered; /* pool whose members are answered, NULL: none */
	bool from_backup;
	bool last_resort;            /* fail-open, NODATA or SERVFAIL in force */
	unsigned up;                 /* members up in the answered pool's family */
	uint32_t ttl;
};
void pool_explain(struct pool_explain *ex, const struct pool *p, uint16_t qtype,
		  const struct health_table *health);

/* The same for the client of @req (client address, ECS option, ecs_apply
 * set by the caller), for policies that answer by client: fills in what
 * the policy records in @req (request.h: ecs_scope, dc, geo). */
void pool_explain_client(struct pool_explain *ex, const struct pool *p, uint16_t qtype,
			 const struct health_table *health, struct request *req);

/* The policy's name, as the config spells it. */
const char *pool_policy_name(const struct pool *p);

/* Records pool_write() produces for @qtype when every member is up; 0 when
 * the pool has no member of that family. */
static inline unsigned pool_count(const struct pool *p, uint16_t qtype)
{
	const struct pool_family *f = qtype == DNS_TYPE_A ? &p->v4 : &p->v6;
	return f->n ? f->answers : 0;
}

#endif
