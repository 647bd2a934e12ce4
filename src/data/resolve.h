/* resolve.h -- the answer decision: what a query for a name and type is answered with.
 *
 * One implementation of each rule that shapes an answer: following a CNAME
 * chain and where it stops (loop, length, a target outside our zones),
 * referrals and the DS that is the parent's (at the topmost delegation, at the
 * apex of a child zone we also serve), the one RRset ANY is answered with, a
 * pool at the end of the chain, the addresses the targets of an NS, MX or SRV
 * answer bring to the additional section. The snapshot builder writes every
 * image from a resolution, and `explain` narrates one, so the two cannot
 * disagree. */
#ifndef GSLBD_RESOLVE_H
#define GSLBD_RESOLVE_H

#include <stdbool.h>
#include <stdint.h>

#include "data/snapshot.h"

/* CNAME records followed inside our zones; the rest is the resolver's. */
#define RESOLVE_MAX_CHAIN 8

enum resolve_end {
	RESOLVE_RRSET,	     /* static records: r->rrset, owned by the last hop */
	RESOLVE_POOL,	     /* the last hop's pool answers (members chosen per query) */
	RESOLVE_NODATA,	     /* no records of the type: r->soa in authority */
	RESOLVE_NXDOMAIN,    /* a CNAME target that does not exist: r->soa in authority */
	RESOLVE_REFERRAL,    /* at or below the delegation r->cut: its NS in authority */
	RESOLVE_REFUSED,     /* the query name is in no zone we serve */
	RESOLVE_OUTSIDE,     /* a CNAME target in no zone we serve: the resolver follows it */
	RESOLVE_LOOP,	     /* a CNAME target already on the chain: stop */
	RESOLVE_CHAIN_LIMIT, /* RESOLVE_MAX_CHAIN CNAMEs written: stop */
};

/* Why the last hop is answered the way it is, where a rule overrode the obvious. */
enum resolve_note {
	RESOLVE_NOTE_NONE = 0,
	RESOLVE_NOTE_DS_AT_CUT,	  /* DS at the topmost delegation: the parent's data, no referral */
	RESOLVE_NOTE_DS_OF_CHILD, /* DS at the apex of a child zone we also serve: the parent's */
};

/* One name looked up on the way: the query name, then each CNAME target. */
struct resolve_hop {
	const struct node *node;      /* the name, the wildcard synthesizing it, or (NXDOMAIN,
				       * below a cut) the closest encloser; NULL outside our zones */
	const uint8_t *owner;	      /* the name as the records are written (not owned) */
	const struct snap_zone *zone; /* the zone answering for it; NULL outside our zones */
	const struct rrset *cname;    /* the CNAME written here; its target is the next hop,
				       * or, on the last hop, the target not followed */
	enum match_kind match;	      /* how snapshot_find() matched owner */
};

/* Everything an answer is made of. Pointers are into the snapshot: valid as
 * long as it is. */
struct resolution {
	struct resolve_hop hop[RESOLVE_MAX_CHAIN + 1];
	unsigned nhops; /* at least 1 */
	enum resolve_end end;
	enum resolve_note note;
	uint16_t qtype; /* as asked */
	uint16_t type;	/* looked up at the last hop: ANY becomes its choice */
	uint8_t rcode;
	bool aa; /* false when the query name itself is referred */
	/* RESOLVE_RRSET: the records answered. */
	const struct rrset *rrset;
	/* The last hop's pool, if it has one; it answers only for RESOLVE_POOL. */
	const struct pool *pool;
	/* RESOLVE_REFERRAL: the delegation. */
	const struct node *cut;
	/* The zone whose SOA the authority section holds, or NULL. */
	const struct snap_zone *soa;
	/* RESOLVE_POOL: the zone whose SOA the "nodata" last resort answers with. */
	const struct snap_zone *nodata_soa;
};

/* Decide the answer to @qtype (class IN) for @owner (lower-case or as
 * written: it is only copied into the hops), which snapshot_find() matched in
 * @s as @kind with node @n -- what answer_lookup() reports. The builder calls
 * it for every image it writes, `explain` for the name it is asked about.
 * Pure: reads the immutable snapshot, no allocation. Any thread. */
void resolve_match(struct resolution *r, const struct snapshot *s, enum match_kind kind,
		   const struct node *n, const uint8_t *owner, uint16_t qtype);

/* The answer to @qtype for exactly @n's name (or, for a wildcard node, any
 * name it synthesizes). */
static inline void resolve_node(struct resolution *r, const struct snapshot *s,
				const struct node *n, uint16_t qtype)
{
	resolve_match(r, s, MATCH_EXACT, n, n->name, qtype);
}

/* What the target of one NS, MX or SRV record brings to the additional
 * section, and why. As NSD and Knot DNS do: the target's A and AAAA records,
 * only from the zone the answer comes from (a resolver keeps no more: other
 * zones are out of its bailiwick), a wildcard's too. */
enum resolve_extra {
	RESOLVE_EXTRA_ADDRESSES,   /* its records: t->a and/or t->aaaa */
	RESOLVE_EXTRA_POOL,	   /* its pool's members, chosen per query as for an A/AAAA query */
	RESOLVE_EXTRA_NONE,	   /* a name of the zone without addresses, or no such name */
	RESOLVE_EXTRA_NO_TARGET,   /* the root: "no service" (RFC 2782, RFC 7505) */
	RESOLVE_EXTRA_REPEATED,	   /* an earlier record has the same target: added once */
	RESOLVE_EXTRA_OUT_OF_ZONE, /* not in the answer's zone (another of ours, or none) */
	RESOLVE_EXTRA_ALIAS,	   /* a CNAME: not followed (RFC 2181 10.3) */
	RESOLVE_EXTRA_NOT_AUTH,	   /* at or below a delegation: glue, which only NS answers carry */
};

struct resolve_target {
	const uint8_t *name;	 /* as the record writes it (into the snapshot) */
	const struct node *node; /* the name, or the wildcard synthesizing it; or NULL */
	enum resolve_extra extra;
	const struct rrset *a, *aaaa; /* RESOLVE_EXTRA_ADDRESSES: either may be NULL */
	const struct pool *pool;      /* RESOLVE_EXTRA_POOL */
};

/* Records of @r whose targets may bring addresses: all of r->rrset when it
 * is an NS, MX or SRV RRset, else 0. */
unsigned resolve_targets(const struct resolution *r);

/* What the target of record @i (< resolve_targets(@r)) of @r brings. Pure,
 * no allocation; any thread. The builder writes the additional section from
 * it, `explain` narrates it. */
void resolve_target(struct resolve_target *t, const struct snapshot *s, const struct resolution *r,
		    unsigned i);

/* True if @a and @b make the same response image (what the builder shares). */
bool resolve_same(const struct resolution *a, const struct resolution *b);

#endif
