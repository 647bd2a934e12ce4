/* answer.h -- the DNS core: (request, query bytes, snapshot) -> response bytes. No I/O. */
#ifndef GSLBD_ANSWER_H
#define GSLBD_ANSWER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "data/snapshot.h"
#include "dns/query.h"
#include "dns/request.h"
#include "dns/rrl.h"
#include "lb/pool.h"

/* Per-thread answering state. Owned by one thread. */
struct answer_ctx {
	struct pool_state pools;
	const struct snapshot *seen; /* snapshot the pool state was sized for */
	uint64_t seen_serial;        /* and its serial: its address may be reused */
	unsigned udp_size;           /* our EDNS size and UDP ceiling */
	struct rrl rrl;              /* rate limiting: the snapshot's table and settings */
};

void answer_ctx_init(struct answer_ctx *ctx, uint64_t seed);
void answer_ctx_clear(struct answer_ctx *ctx);

/* Size @ctx for snapshot @s; call whenever the snapshot pointer may have
 * changed, before answering from it (once per batch, not per query). With
 * rate limiting on, it also reads the coarse clock the batch is limited by. */
void answer_ctx_use(struct answer_ctx *ctx, const struct snapshot *s);

/* Log what the last batch noted (rate limits that began). The DNS core does
 * no I/O: the transport calls this after each batch, outside the answer path.
 * A load and a branch when there is nothing to log. The owning thread. */
static inline void answer_ctx_log(struct answer_ctx *ctx)
{
	if (ctx->rrl.npending) {
		rrl_log(&ctx->rrl);
	}
}

/* Answer the @len-byte message @pkt from snapshot @s into @resp, which has
 * room for @resp_size bytes (at least 512; 65535 for TCP). The caller sets
 * req->client and req->transport; everything else in @req is filled here:
 * the parsed query and, afterwards, the rcode, the kind of response and the
 * pool that answered. Over UDP the response is limited to 512 bytes, or with
 * EDNS to the smaller of the client's size and ctx->udp_size. Returns the
 * response length, or 0 when the message must be dropped. Pure: no
 * allocation, no lock, no I/O. Any thread, each with its own @ctx and @req. */
size_t answer_query(struct answer_ctx *ctx, const struct snapshot *s, struct request *req,
		    const uint8_t *pkt, size_t len, uint8_t *resp, size_t resp_size);

/* The lookup step on its own: the image that answers @q (qname, qtype,
 * class IN) from @s, with *@kind the match that chose it; NULL when the name
 * is in no served zone (REFUSED) or no image exists (SERVFAIL). What `explain`
 * uses, so that it reads the same decision the answer path makes. */
const struct image *answer_lookup(const struct snapshot *s, const struct query *q,
				  enum match_kind *kind, const struct node **node);

#endif
