/* policy_weighted.c -- the weighted policy: members drawn at random in
 * proportion to their weight, without duplicates. */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "data/conf.h"
#include "lb/policy.h"
#include "lb/pool.h"
#include "util/mem.h"

/* Most clients use the first address, so only the first record of an answer
 * carries the proportions: answer one unless the config asks for more. */
static int parse(struct conf_pool *cp, const struct config_setting_t *group,
		 const struct config_setting_t **at, char *err, size_t size)
{
	if (cp->answers == 0) {
		cp->answers = 1;
	}
	return 0;
}

/* Per family, cumulative weights: cum[i] = weight[0] + ... + weight[i], below
 * 2^32 (512 members of weight at most 10^6). */
static void prepare(struct pool_family *f, const struct pool *p, const struct conf_pool *cp)
{
	uint32_t *cum, sum = 0;

	if (f->n == 0) {
		return;
	}
	cum = xcalloc(f->n, sizeof(*cum));
	for (unsigned i = 0; i < f->n; i++) {
		sum += f->weight[i];
		cum[i] = sum;
	}
	f->policy_data = cum;
}

static void clear(struct pool_family *f)
{
	free(f->policy_data);
	f->policy_data = NULL;
}

/* The first member whose cumulative weight exceeds @r < f->wsum: the member
 * the scan in choose() finds for @r when every member is a candidate. */
static unsigned search(const struct pool_family *f, uint32_t r)
{
	const uint32_t *cum = f->policy_data;
	unsigned lo = 0, hi = f->n - 1;

	while (lo < hi) {
		unsigned mid = lo + (hi - lo) / 2;
		if (r < cum[mid]) {
			hi = mid;
		} else {
			lo = mid + 1;
		}
	}
	return lo;
}

/* Successive draws without replacement, each in proportion to the weight of
 * what is left. With every member up and one answer (the default), the draw
 * is a binary search over the prepared sums (512 members: ~7x faster than
 * the scan); the same random number picks the same member either way. */
static void choose(uint16_t *out, const struct pool *p, const struct pool_family *f,
		   const uint16_t *cand, unsigned n, unsigned k, struct pool_state *st,
		   const struct request *req)
{
	uint8_t taken[POOL_MAX_MEMBERS];
	uint32_t left = 0;

	if (n == f->n) {
		if (k == 1) {
			out[0] = (uint16_t)search(f, pool_state_random(st, f->wsum));
			return;
		}
		left = f->wsum;
	} else {
		for (unsigned i = 0; i < n; i++) {
			left += f->weight[cand[i]];
		}
	}
	if (k > 1) {
		memset(taken, 0, n);
	}
	for (unsigned j = 0; j < k; j++) {
		uint32_t r = pool_state_random(st, left);
		unsigned i = 0;
		for (;; i++) {
			if (k > 1 && taken[i]) {
				continue;
			}
			if (r < f->weight[cand[i]]) {
				break;
			}
			r -= f->weight[cand[i]];
		}
		if (k > 1) {
			taken[i] = 1;
		}
		left -= f->weight[cand[i]];
		out[j] = cand[i];
	}
}

const struct policy_ops policy_weighted = {
	.name = "weighted",
	.parse = parse,
	.prepare = prepare,
	.clear = clear,
	.choose = choose,
};
