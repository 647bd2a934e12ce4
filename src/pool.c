/* pool.c -- pools of addresses and the per-query choice of members. */
#include "config.h"

#include <assert.h>
#include <string.h>
#include <sys/socket.h>

#include "mem.h"
#include "pool.h"

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
		rr[3] = family == AF_INET ? 1 : 28;
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
		f->wsum += m->weight;
		k++;
	}
	answers = cp->answers ? cp->answers : (cp->policy == POLICY_WEIGHTED ? 1 : f->n);
	f->answers = (uint16_t)(answers < f->n ? answers : f->n);
}

void pool_init(struct pool *p, const struct conf_pool *cp, uint32_t index)
{
	memset(p, 0, sizeof(*p));
	p->name = xstrdup(cp->name);
	p->index = index;
	p->policy = cp->policy;
	p->ttl = cp->ttl;
	family_init(&p->v4, cp, AF_INET, cp->ttl);
	family_init(&p->v6, cp, AF_INET6, cp->ttl);
}

void pool_clear(struct pool *p)
{
	free(p->name);
	free(p->v4.weight);
	free(p->v4.rr);
	free(p->v6.weight);
	free(p->v6.rr);
	memset(p, 0, sizeof(*p));
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

/* xorshift64*: fast, good enough to spread load, and per worker. */
static inline uint64_t rng_next(struct pool_state *st)
{
	uint64_t x = st->rng;
	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	st->rng = x;
	return x * 0x2545F4914F6CDD1DULL;
}

/* Uniform in [0, n) without modulo bias worth caring about (Lemire). */
static inline uint32_t rng_below(struct pool_state *st, uint32_t n)
{
	return (uint32_t)(((rng_next(st) >> 32) * (uint64_t)n) >> 32);
}

static inline void put_rr(uint8_t *out, const struct pool_family *f, unsigned i, uint16_t ptr)
{
	memcpy(out, f->rr + (size_t)i * f->rrlen, f->rrlen);
	out[0] = (uint8_t)(0xC0 | (ptr >> 8));
	out[1] = (uint8_t)ptr;
}

int pool_write(uint8_t *out, size_t room, size_t *written, const struct pool *p, uint16_t qtype,
	       uint16_t owner_ptr, struct pool_state *st)
{
	const struct pool_family *f = qtype == 1 ? &p->v4 : &p->v6;
	unsigned k = f->answers;

	*written = 0;
	if (f->n == 0) {
		return 0;
	}
	if ((size_t)k * f->rrlen > room) {
		return -1;
	}
	assert(p->index < st->cap);
	if (p->policy == POLICY_ROUND_ROBIN) {
		uint32_t *ctr = &st->rotation[p->index * 2 + (qtype == 1 ? 0 : 1)];
		unsigned start = *ctr % f->n;
		*ctr = start + 1;
		for (unsigned j = 0; j < k; j++) {
			unsigned i = start + j;
			put_rr(out + (size_t)j * f->rrlen, f, i >= f->n ? i - f->n : i, owner_ptr);
		}
	} else {
		/* Successive draws without replacement, each in proportion to
		 * the weight of what is left. */
		uint8_t taken[512];
		uint32_t left = f->wsum;
		if (k > 1) {
			memset(taken, 0, f->n);
		}
		for (unsigned j = 0; j < k; j++) {
			uint32_t r = rng_below(st, left);
			unsigned i = 0;
			for (;; i++) {
				if (k > 1 && taken[i]) {
					continue;
				}
				if (r < f->weight[i]) {
					break;
				}
				r -= f->weight[i];
			}
			if (k > 1) {
				taken[i] = 1;
			}
			left -= f->weight[i];
			put_rr(out + (size_t)j * f->rrlen, f, i, owner_ptr);
		}
	}
	*written = (size_t)k * f->rrlen;
	return (int)k;
}
