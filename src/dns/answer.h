/* answer.h -- the DNS core: (request, query bytes, snapshot) -> response bytes. No I/O. */
#ifndef GSLBD_ANSWER_H
#define GSLBD_ANSWER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "data/snapshot.h"
#include "dns/cookie.h"
#include "dns/query.h"
#include "dns/request.h"
#include "dns/wire.h"
#include "dns/rrl.h"
#include "lb/pool.h"

/* Per-thread answering state. Owned by one thread. */
struct answer_ctx {
	struct pool_state pools;
	const struct snapshot *seen; /* snapshot the derived state below is for */
	uint64_t seen_serial;        /* and its serial: its address may be reused */
	unsigned udp_size;           /* our EDNS size and UDP ceiling */
	struct cookie_secrets cookies;
	bool cookie_require;         /* over UDP: BADCOOKIE without a valid server cookie */
	const uint8_t *nsid;         /* RFC 5001, in the snapshot's config; NULL: none */
	uint16_t nsid_len;
	uint32_t now; /* wall-clock seconds for cookie timestamps, read by answer_ctx_use */
	uint8_t fresh[DNS_COOKIE_V1_LEN]; /* the server cookie made for the current response */
	struct cookie_memo cookie_memo;   /* this thread's recent cookie hashes */
	struct rrl rrl;              /* rate limiting: the snapshot's table and settings */
	bool ecs_enabled;            /* edns_client_subnet: the option decides location */
};

void answer_ctx_init(struct answer_ctx *ctx, uint64_t seed);
void answer_ctx_clear(struct answer_ctx *ctx);

/* Size @ctx for snapshot @s (when it is another snapshot than last time) and
 * read the coarse clocks: wall-clock seconds for cookie timestamps (ctx->now;
 * a vDSO read, no system call) and, with rate limiting on, the time the
 * batch is limited by. Call before answering a batch of queries from @s
 * (once per batch, not per query). Tests may set ctx->now afterwards. */
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

/* What a class IN query of @qtype gets before any lookup: the rcode for
 * meta types and transfers, DNS_RCODE_NOERROR when it goes on to the lookup.
 * The filter step's rule, and what `explain` reports for those types. */
static inline uint8_t answer_type_rcode(uint16_t qtype)
{
	switch (qtype) {
	case DNS_TYPE_OPT: /* OPT is no question */
		return DNS_RCODE_FORMERR;
	case DNS_TYPE_IXFR:
	case DNS_TYPE_AXFR: /* no transfers configured */
		return DNS_RCODE_REFUSED;
	case DNS_TYPE_MAILB:
	case DNS_TYPE_MAILA:
		return DNS_RCODE_NOTIMP;
	default:
		return DNS_RCODE_NOERROR;
	}
}

/* The lookup step on its own: the image that answers @q (qname, qtype,
 * class IN) from @s, with *@kind the match that chose it and *@node the node
 * it matched; NULL when the name is in no served zone (REFUSED) or no image
 * exists (SERVFAIL). What `explain` uses, so that it reads the same decision
 * the answer path makes. */
const struct image *answer_lookup(const struct snapshot *s, const struct query *q,
				  enum match_kind *kind, const struct node **node);

#endif
