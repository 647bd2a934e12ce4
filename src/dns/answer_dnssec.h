/* answer_dnssec.h -- the answer to a DO=1 query for a signed zone: the same
 * decision as every answer (data/resolve.h), written with the RRSIGs and NSEC
 * proofs made at load time (dnssec/dnssec.h). No I/O, no allocation. */
#ifndef GSLBD_ANSWER_DNSSEC_H
#define GSLBD_ANSWER_DNSSEC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "data/snapshot.h"
#include "dns/request.h"
#include "lb/pool.h"

struct dnssec_out {
	size_t n;	   /* response length (header and question included) */
	uint16_t count[3]; /* answer, authority, additional */
	uint8_t rcode;
	bool aa;
	bool tc; /* did not fit: send header and question with TC */
	enum response_kind kind;
};

/* Answer @req's query (parsed; DO set; class IN) from @s into @resp, after
 * the question, which ends at @start; at most @room bytes in all. Returns
 * false when the query's name is not in a signed zone (the ordinary path
 * answers it), else fills @o (the caller writes the header). Pool members
 * are chosen with @st as pool_write() does; a chosen set without a signature
 * gets SERVFAIL. Hot path for DO=1 only; any thread. */
bool answer_dnssec(struct dnssec_out *o, const struct snapshot *s, struct request *req,
		   struct pool_state *st, uint8_t *resp, size_t start, size_t room);

#endif
