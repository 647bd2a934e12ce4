/* pool.c -- pools of addresses and the per-query choice of members: health,
 * backups, last resorts and TTLs here; which members answer is the pool's
 * policy (lb/policy.h). */
#include "config.h"

#include <arpa/inet.h>
#include <assert.h>
#include <string.h>
#include <sys/socket.h>

#include "dns/wire.h"
#include "util/mem.h"
#include "lb/pool.h"

static void family_init(struct pool_family *f, const struct conf_pool *cp, int family,
			uint32_t ttl)
{
	size_t alen = family == AF_INET ? 4 : 16;
	unsigned answers;

	f->rrlen = family == AF_INET ? POOL_RR4_LEN : POOL_RR6_LEN;
	for (size_t i = 0; i < cp->nmembers; i++) {
		if (cp->members[i].family == family) {
			f->n++;
		}
	}
	f->weight = xcalloc(f->n, sizeof(uint32_t));
	f->rr = xcalloc(f->n, f->rrlen);
	f->hword = xcalloc(f->n, sizeof(uint32_t));
	f->aword = xcalloc(f->n, sizeof(uint32_t));
	f->text = xcalloc(f->n, sizeof(char *));
	f->slow_start = xcalloc(f->n, sizeof(double));
	f->group = xcalloc(f->n, sizeof(char *));
	for (size_t i = 0, k = 0; i < cp->nmembers; i++) {
		const struct conf_member *m = &cp->members[i];
		uint8_t *rr;
		if (m->family != family) {
			continue;
		}
		rr = f->rr + k * f->rrlen;
		rr[0] = 0xC0;
		rr[1] = 0x0C;
		rr[2] = 0;
		rr[3] = family == AF_INET ? DNS_TYPE_A : DNS_TYPE_AAAA;
		rr[4] = 0;
		rr[5] = 1;
		rr[6] = (uint8_t)(ttl >> 24);
		rr[7] = (uint8_t)(ttl >> 16);
		rr[8] = (uint8_t)(ttl >> 8);
		rr[9] = (uint8_t)ttl;
		rr[10] = 0;
		rr[11] = (uint8_t)alen;
		memcpy(rr + 12, m->addr, alen);
		f->weight[k] = m->weight;
		{
			char buf[INET6_ADDRSTRLEN];
			inet_ntop(family, m->addr, buf, sizeof(buf));
			f->text[k] = xstrdup(buf);
		}
		f->wsum += m->weight;
		f->group[k] = m->group ? xstrdup(m->group) : NULL;
		k++;
	}
	if (f->n) {
		atomic_init(&f->weights, pool_weights_new(f->weight, f->n));
	}
	/* 0: every member; the policy's parse hook has set its own default. */
	answers = cp->answers ? cp->answers : f->n;
	f->answers = (uint16_t)(answers < f->n ? answers : f->n);
}

void pool_init(struct pool *p, const struct conf_pool *cp, uint32_t index)
{
	memset(p, 0, sizeof(*p));
	p->name = xstrdup(cp->name);
	p->index = index;
	p->stat_slot = index;
	p->policy = cp->policy ? cp->policy : policy_default();
	p->narrow = p->policy->narrow != NULL;
	p->ttl = cp->ttl;
	p->ttl_degraded = cp->ttl_degraded;
	p->min_healthy = cp->min_healthy ? cp->min_healthy : 1;
	p->last_resort = cp->last_resort;
	family_init(&p->v4, cp, AF_INET, cp->ttl);
	family_init(&p->v6, cp, AF_INET6, cp->ttl);
	if (p->policy->prepare) {
		p->policy->prepare(&p->v4, p, cp);
		p->policy->prepare(&p->v6, p, cp);
	}
}

static void family_clear(struct pool_family *f)
{
	assert(!f->policy_data); /* the policy's clear() has freed it */
	for (unsigned i = 0; i < f->n; i++) {
		free(f->text[i]);
		free(f->group[i]);
	}
	free(f->text);
	free(f->group);
	free(f->slow_start);
	pool_weights_free(atomic_load_explicit(&f->weights, memory_order_relaxed));
	free(f->weight);
	free(f->rr);
	free(f->hword);
	free(f->aword);
}

void pool_clear(struct pool *p)
{
	if (p->policy && p->policy->clear) {
		p->policy->clear(&p->v4);
		p->policy->clear(&p->v6);
	}
	free(p->name);
	family_clear(&p->v4);
	family_clear(&p->v6);
	memset(p, 0, sizeof(*p));
}

struct pool_weights *pool_weights_new(const uint32_t *w, unsigned n)
{
	struct pool_weights *ws;
	uint32_t sum = 0;

	assert(n > 0);
	ws = xcalloc(1, sizeof(*ws) + 2 * (size_t)n * sizeof(uint32_t));
	ws->n = n;
	ws->weight = (uint32_t *)(ws + 1);
	ws->cum = ws->weight + n;
	for (unsigned i = 0; i < n; i++) {
		ws->weight[i] = w[i] ? w[i] : 1;
		sum += ws->weight[i];
		ws->cum[i] = sum;
	}
	ws->wsum = sum;
	return ws;
}

void pool_weights_free(struct pool_weights *w)
{
	free(w);
}

struct pool_weights *pool_weights_swap(struct pool_family *f, struct pool_weights *w)
{
	return atomic_exchange_explicit(&f->weights, w, memory_order_acq_rel);
}

void pool_state_init(struct pool_state *st, uint64_t seed)
{
	memset(st, 0, sizeof(*st));
	st->rng = seed ? seed : 0x9E3779B97F4A7C15ULL;
}

void pool_state_reserve(struct pool_state *st, size_t npools)
{
	if (npools <= st->cap) {
		return;
	}
	st->rotation = xrealloc(st->rotation, npools * 2 * sizeof(uint32_t));
	memset(st->rotation + st->cap * 2, 0, (npools - st->cap) * 2 * sizeof(uint32_t));
	st->cap = npools;
}

void pool_state_clear(struct pool_state *st)
{
	free(st->rotation);
	memset(st, 0, sizeof(*st));
}

static inline void put_rr(uint8_t *out, const struct pool_family *f, unsigned i, uint16_t ptr,
			  uint32_t ttl, bool patch_ttl)
{
	memcpy(out, f->rr + (size_t)i * f->rrlen, f->rrlen);
	out[0] = (uint8_t)(0xC0 | (ptr >> 8));
	out[1] = (uint8_t)ptr;
	if (patch_ttl) {
		out[6] = (uint8_t)(ttl >> 24);
		out[7] = (uint8_t)(ttl >> 16);
		out[8] = (uint8_t)(ttl >> 8);
		out[9] = (uint8_t)ttl;
	}
}

static inline const struct pool_family *family_of(const struct pool *p, uint16_t qtype)
{
	return qtype == DNS_TYPE_A ? &p->v4 : &p->v6;
}

/* Indexes of the members that are up, into @up; returns how many. */
static unsigned members_up(uint16_t *up, const struct pool *p, const struct pool_family *f,
			   const struct health_table *health)
{
	unsigned n = 0;

	for (unsigned i = 0; i < f->n; i++) {
		if (!p->checked || !health || health_member_up(health, f->hword[i], f->aword[i])) {
			up[n++] = (uint16_t)i;
		}
	}
	return n;
}

/* Let @p's policy choose min(answers, n) of the @n candidate members @cand of
 * @f, and write their records (with @ttl when @patch_ttl). */
static int choose(uint8_t *out, size_t room, size_t *written, const struct pool *p,
		  const struct pool_family *f, const uint16_t *cand, unsigned n, uint16_t owner_ptr,
		  struct pool_state *st, const struct request *req, uint32_t ttl, bool patch_ttl)
{
	unsigned k = f->answers < n ? f->answers : n;
	uint16_t chosen[POOL_MAX_MEMBERS];

	if (n == 0) {
		return 0;
	}
	if ((size_t)k * f->rrlen > room) {
		return POOL_NO_ROOM;
	}
	assert(p->index < st->cap);
	assert(n <= f->n && f->n <= POOL_MAX_MEMBERS);
	p->policy->choose(chosen, p, f, cand, n, k, st, req);
	for (unsigned j = 0; j < k; j++) {
		assert(chosen[j] < f->n);
		put_rr(out + (size_t)j * f->rrlen, f, chosen[j], owner_ptr, ttl, patch_ttl);
	}
	*written = (size_t)k * f->rrlen;
	return (int)k;
}

static const uint16_t all_members[POOL_MAX_MEMBERS] = {
#define R8(b) b, b + 1, b + 2, b + 3, b + 4, b + 5, b + 6, b + 7
#define R64(b) R8(b), R8(b + 8), R8(b + 16), R8(b + 24), R8(b + 32), R8(b + 40), R8(b + 48), R8(b + 56)
	R64(0), R64(64), R64(128), R64(192), R64(256), R64(320), R64(384), R64(448)
#undef R64
#undef R8
};

/* Where an answer for @qtype comes from. SRC_PART*: the part of the pool a
 * narrow() policy chose for the client (whole and first choice, or not). */
enum source {
	SRC_POOL,
	SRC_PART,
	SRC_PART_DEGRADED,
	SRC_BACKUP,
	SRC_FAIL_OPEN,
	SRC_NODATA,
	SRC_SERVFAIL
};

/* When the pool itself cannot answer: the first backup with enough members
 * up, else the pool's last resort. */
static inline enum source fall_back(const struct pool *p, uint16_t qtype,
				    const struct health_table *health, uint16_t *buf,
				    const struct pool **src, const uint16_t **cand, unsigned *ncand)
{
	const struct pool_family *f = family_of(p, qtype);

	for (const struct pool *b = p->backup; b; b = b->backup) {
		const struct pool_family *bf = family_of(b, qtype);
		unsigned bup = bf->n ? members_up(buf, b, bf, health) : 0;
		if (bup > 0 && bup >= b->min_healthy) {
			*src = b;
			*cand = buf;
			*ncand = bup;
			return SRC_BACKUP;
		}
	}
	switch (p->last_resort) {
	case LAST_RESORT_NODATA:
		*src = NULL;
		return SRC_NODATA;
	case LAST_RESORT_SERVFAIL:
		*src = NULL;
		return SRC_SERVFAIL;
	case LAST_RESORT_FAIL_OPEN:
	default:
		*cand = all_members;
		*ncand = f->n;
		return SRC_FAIL_OPEN;
	}
}

/* The one decision pool_write and pool_explain share: the pool itself while
 * min_healthy of its members are up, else the first backup that has enough,
 * else the pool's last resort. Sets *@src to the pool answered (NULL for
 * NODATA/SERVFAIL), *@cand and *@ncand to its candidate members (@buf holds them
 * when filtered) and *@nup to the members up in @p. @p's family is not empty. */
static enum source pick_source(const struct pool *p, uint16_t qtype,
			       const struct health_table *health, uint16_t *buf,
			       const struct pool **src, const uint16_t **cand, unsigned *ncand,
			       unsigned *nup)
{
	const struct pool_family *f = family_of(p, qtype);

	*src = p;
	if (!p->checked || !health) {
		*cand = all_members;
		*ncand = *nup = f->n;
		return SRC_POOL;
	}
	*cand = buf;
	*ncand = *nup = members_up(buf, p, f, health);
	if (*nup >= p->min_healthy) {
		return SRC_POOL;
	}
	return fall_back(p, qtype, health, buf, src, cand, ncand);
}

/* The same for a pool whose policy answers by client (narrow()): the part
 * the policy picks for @req from the members up, else the backups and the
 * last resort; the pool's own min_healthy is the parts' business. Out of
 * line: the other pools pay one test for it. */
__attribute__((noinline)) static enum source
pick_narrow(const struct pool *p, uint16_t qtype, const struct health_table *health, uint16_t *buf,
	    const struct pool **src, const uint16_t **cand, unsigned *ncand, unsigned *nup,
	    struct request *req)
{
	const struct pool_family *f = family_of(p, qtype);
	bool degraded = false;

	*src = p;
	if (!p->checked || !health) {
		*cand = all_members;
		*ncand = *nup = f->n;
	} else {
		*cand = buf;
		*ncand = *nup = members_up(buf, p, f, health);
	}
	*ncand = p->policy->narrow(buf, p, f, *cand, *ncand, &degraded, req);
	*cand = buf;
	if (*ncand > 0) {
		return degraded ? SRC_PART_DEGRADED : SRC_PART;
	}
	return fall_back(p, qtype, health, buf, src, cand, ncand);
}

int pool_write(uint8_t *out, size_t room, size_t *written, const struct pool *p, uint16_t qtype,
	       uint16_t owner_ptr, struct pool_state *st, const struct health_table *health,
	       struct request *req)
{
	const struct pool_family *f = family_of(p, qtype);
	const struct pool *src;
	const uint16_t *cand;
	uint16_t buf[POOL_MAX_MEMBERS];
	unsigned n, nup;
	int k;

	*written = 0;
	req->pool = p;
	req->source = POOL_SOURCE_PRIMARY;
	if (f->n == 0) {
		return 0;
	}
	switch (p->narrow ? pick_narrow(p, qtype, health, buf, &src, &cand, &n, &nup, req)
			  : pick_source(p, qtype, health, buf, &src, &cand, &n, &nup)) {
	case SRC_NODATA:
		req->source = POOL_SOURCE_LAST_RESORT;
		return POOL_NODATA;
	case SRC_SERVFAIL:
		req->source = POOL_SOURCE_LAST_RESORT;
		return POOL_SERVFAIL;
	case SRC_POOL:
		/* Shorter TTL while degraded, so resolvers come back soon. */
		k = choose(out, room, written, p, f, cand, n, owner_ptr, st, req,
			   n < f->n ? p->ttl_degraded : p->ttl, n < f->n);
		break;
	case SRC_PART:
		k = choose(out, room, written, p, f, cand, n, owner_ptr, st, req, p->ttl, false);
		break;
	case SRC_PART_DEGRADED:
		k = choose(out, room, written, p, f, cand, n, owner_ptr, st, req, p->ttl_degraded,
			   true);
		break;
	case SRC_BACKUP:
		req->source = POOL_SOURCE_BACKUP;
		k = choose(out, room, written, src, family_of(src, qtype), cand, n, owner_ptr, st,
			   req, p->ttl_degraded, true);
		break;
	case SRC_FAIL_OPEN:
	default:
		req->source = POOL_SOURCE_LAST_RESORT;
		k = choose(out, room, written, src, family_of(src, qtype), cand, n, owner_ptr, st,
			   req, p->ttl_degraded, true);
		break;
	}
	if (k > 0) {
		req->pool_records = (uint16_t)k;
	}
	return k;
}

int pool_write_additional(uint8_t *out, size_t room, size_t *written, const struct pool *p,
			  uint16_t qtype, uint16_t owner_ptr, struct pool_state *st,
			  const struct health_table *health, struct request *req)
{
	/* pool_write() itself, so that the two cannot differ; but what it
	 * records is the pool of a pool answer, and this response is not one. */
	const struct pool *pool = req->pool;
	enum pool_source source = req->source;
	uint16_t records = req->pool_records;
	uint8_t dc = req->dc;
	int k = pool_write(out, room, written, p, qtype, owner_ptr, st, health, req);

	req->pool = pool;
	req->source = source;
	req->pool_records = records;
	req->dc = dc;
	/* The last resort's NODATA or SERVFAIL speaks for the pool's own name;
	 * here it only means that there is nothing to add. */
	return k == POOL_NODATA || k == POOL_SERVFAIL ? 0 : k;
}

void pool_explain(struct pool_explain *ex, const struct pool *p, uint16_t qtype,
		  const struct health_table *health)
{
	struct request req;

	memset(&req, 0, sizeof(req));
	pool_explain_client(ex, p, qtype, health, &req);
}

void pool_explain_client(struct pool_explain *ex, const struct pool *p, uint16_t qtype,
			 const struct health_table *health, struct request *req)
{
	const struct pool_family *f = family_of(p, qtype);
	const uint16_t *cand;
	uint16_t buf[POOL_MAX_MEMBERS];
	unsigned n, nup;
	enum source s;

	memset(ex, 0, sizeof(*ex));
	if (f->n == 0) {
		return;
	}
	s = p->narrow ? pick_narrow(p, qtype, health, buf, &ex->answered, &cand, &n, &nup, req)
		      : pick_source(p, qtype, health, buf, &ex->answered, &cand, &n, &nup);
	ex->from_backup = s == SRC_BACKUP;
	ex->last_resort = s >= SRC_FAIL_OPEN;
	/* By client (narrow): the part of the pool that answers. */
	ex->up = s == SRC_BACKUP || s == SRC_PART || s == SRC_PART_DEGRADED ? n : nup;
	ex->ttl = (s == SRC_POOL && nup == f->n) || s == SRC_PART ? p->ttl : p->ttl_degraded;
}

const char *pool_policy_name(const struct pool *p)
{
	return p->policy->name;
}
