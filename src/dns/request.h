/* request.h -- one query on its way through the answer path: what the
 * transport knows (client, transport), what the parser found (question, EDNS
 * options), and afterwards what kind of response it got and who answered it.
 *
 * Steps that act on the client (cookies before the lookup, rate limiting after
 * it, location policies in pools) read it; counters and logs read its outcome
 * instead of re-deriving it. It lives on the worker's stack or in its
 * answer context: never on the heap, never shared between threads. */
#ifndef GSLBD_REQUEST_H
#define GSLBD_REQUEST_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

#include "dns/query.h"

struct node;
struct pool;

enum transport { TRANSPORT_UDP = 0, TRANSPORT_TCP, TRANSPORT_COUNT };

/* What the response said, in the words of RFC 2308 and operators. */
enum response_kind {
	RESPONSE_DROPPED = 0, /* no response (malformed beyond a header, QR=1) */
	RESPONSE_ANSWER,      /* NOERROR with records in the answer section */
	RESPONSE_REFERRAL,    /* NOERROR, not authoritative, NS in authority */
	RESPONSE_NODATA,      /* NOERROR, empty answer, authoritative */
	RESPONSE_NXDOMAIN,
	RESPONSE_REFUSED,     /* outside our zones, a class or type we refuse */
	RESPONSE_ERROR,       /* FORMERR, SERVFAIL, NOTIMP, BADVERS */
	RESPONSE_KIND_COUNT
};

/* What rate limiting (dns/rrl.h) did with a response over its limit. */
enum rate_limit {
	RATE_PASS = 0,  /* not over a limit, or not subject to one */
	RATE_LIMITED,   /* over the limit, sent all the same (log_only) */
	RATE_SLIPPED,   /* over the limit, sent truncated (TC) instead */
	RATE_DROPPED,   /* over the limit, not sent */
	RATE_LIMIT_COUNT
};

/* Where a pool answer's members came from. */
enum pool_source {
	POOL_SOURCE_NONE = 0,     /* no pool in this answer */
	POOL_SOURCE_PRIMARY,      /* the pool itself (healthy or degraded) */
	POOL_SOURCE_BACKUP,       /* a pool of its backup chain */
	POOL_SOURCE_LAST_RESORT,  /* fail-open, NODATA or SERVFAIL in force */
	POOL_SOURCE_COUNT
};

/* What the query's COOKIE option was worth (RFC 7873 5.2). */
enum cookie_status {
	COOKIE_NONE = 0,    /* no COOKIE option */
	COOKIE_CLIENT_ONLY, /* a client cookie alone: the response brings a server cookie */
	COOKIE_VALID,       /* a server cookie we made, for this client, recent enough */
	COOKIE_INVALID,     /* a server cookie that is not (or no longer) ours: as CLIENT_ONLY */
	COOKIE_STATUS_COUNT
};

struct request {
	/* Set by the transport before answering; the address is the
	 * transport's, valid for the duration of the call. */
	const struct sockaddr_storage *client; /* NULL: unknown (tests, explain) */
	enum transport transport;

	/* Filled by the answer path. */
	struct query q;             /* header, question, EDNS and its options */
	bool cookie_valid;          /* the query carried a server cookie we made (RFC 7873) */
	enum cookie_status cookie;  /* cookie_valid is cookie == COOKIE_VALID */
	uint16_t rcode;             /* full rcode of the response (extended included) */
	enum response_kind kind;
	bool truncated;             /* TC set: the client should retry over TCP */
	const struct pool *pool;    /* the pool named by the answer, or NULL */
	enum pool_source source;    /* where its records came from */
	uint16_t pool_records;      /* A/AAAA records the pool contributed */
	const struct node *node;    /* what the lookup matched (data/snapshot.h), or NULL */
	enum rate_limit limit;      /* what rate limiting did */
	/* Location (lb/policy_geo.c): whether the client subnet option decides
	 * (sent, and edns_client_subnet on), the scope the response echoes (the
	 * widest prefix that decided a location answer; 0: none did), the
	 * datacenter answered (1-based in the pool's geo map; 0: none; valid
	 * only after pool_write() of a pool whose policy has narrow()) and the
	 * client's region (struct geo_result), for explain. */
	bool ecs_apply;
	uint8_t ecs_scope;
	uint8_t dc;
	const void *geo;
};

/* Reset the outcome fields for a new query on the same transport. Hot path. */
static inline void request_reset(struct request *req)
{
	req->rcode = 0;
	req->cookie_valid = false;
	req->cookie = COOKIE_NONE;
	req->kind = RESPONSE_DROPPED;
	req->truncated = false;
	req->pool = 0;
	req->source = POOL_SOURCE_NONE;
	req->pool_records = 0;
	req->node = 0;
	req->limit = RATE_PASS;
	/* ecs_scope is reset when the query has the option (answer.c), dc by
	 * the policy that sets it: answers without either pay nothing. */
}

#endif
