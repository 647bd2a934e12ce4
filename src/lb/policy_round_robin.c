/* policy_round_robin.c -- the round-robin policy: each answer starts one
 * member further on. */
#include "config.h"

#include "lb/policy.h"
#include "lb/pool.h"

/* The rotation runs over the members that are up, so the others share a down
 * member's turns evenly. The counter is per worker: the kernel keeps a client
 * socket on one worker, so each client sees a strict rotation (README,
 * "Choices where the standards leave room"). */
static void choose(uint16_t *out, const struct pool *p, const struct pool_family *f,
		   const uint16_t *cand, unsigned n, unsigned k, struct pool_state *st,
		   const struct request *req)
{
	uint32_t *ctr = pool_state_rotation(st, p, f);
	unsigned start = *ctr % n;

	*ctr = start + 1;
	for (unsigned j = 0; j < k; j++) {
		unsigned i = start + j;
		out[j] = cand[i >= n ? i - n : i];
	}
}

/* No parse hook: answers stays 0 when unset, every member, so a client that
 * takes the first address and one that takes them all both spread. */
const struct policy_ops policy_round_robin = {
	.name = "round-robin",
	.choose = choose,
};
