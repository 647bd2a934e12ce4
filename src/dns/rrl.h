/* rrl.h -- response rate limiting: token buckets per (client network, response
 * class, name) in one fixed-size table that every answering thread shares
 * without locks. A UDP response over its bucket's rate is dropped, or every
 * slip-th one goes out truncated so that a real client retries over TCP, as
 * BIND, NSD and Knot DNS do it (README "Rate limiting").
 *
 * Threads: the table is shared, each bucket one 64-bit word changed by
 * compare-and-swap; struct rrl belongs to one answering thread (it lives in
 * its struct answer_ctx). Per query: no allocation, no lock, no I/O. */
#ifndef GSLBD_RRL_H
#define GSLBD_RRL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "data/conf.h"
#include "dns/dname.h"
#include "dns/request.h"

/* Responses are counted per class, so that a flood of one kind does not
 * starve another; each class names its bucket differently. */
enum rrl_class {
	RRL_ANSWER = 0, /* the queried name; under a wildcard, the wildcard */
	RRL_NODATA,	/* the zone */
	RRL_NXDOMAIN,	/* the zone: random subdomains all land in one bucket */
	RRL_REFERRAL,	/* the delegation */
	RRL_ERROR,	/* REFUSED, FORMERR, SERVFAIL...: the zone if there is one */
	RRL_CLASS_COUNT
};

/* The burst a full bucket allows: one second's worth of responses. */
#define RRL_WINDOW_US 1000000u

/* Limits that began, kept per thread until the transport logs them. */
#define RRL_LOG_PENDING 4
/* Log lines per second and thread, at most. */
#define RRL_LOG_PER_SECOND 4

struct rrl_table;

/* A table of @buckets buckets (rounded up to a power of two, at least 8),
 * zeroed and touched at once, so that its memory is resident from the start
 * and no query pattern can grow it. The hash key comes from getrandom(), so
 * clients cannot aim at one bucket. Main thread; rrl_table_free() frees it
 * (NULL is a no-op). */
struct rrl_table *rrl_table_new(size_t buckets);
void rrl_table_free(struct rrl_table *t);
size_t rrl_table_buckets(const struct rrl_table *t);
size_t rrl_table_memory(const struct rrl_table *t);

/* The table that @rl asks for: @live when its size fits (its buckets are kept
 * across reloads), else a new one, logged; NULL when @rl is NULL. Never frees
 * @live: the caller does, once no snapshot that names it can be in use. Main
 * thread. */
struct rrl_table *rrl_table_for(struct rrl_table *live, const struct conf_rate_limit *rl);

/* A limit that began, for the log. */
struct rrl_event {
	int family; /* AF_INET or AF_INET6 */
	unsigned bits;
	uint8_t net[16];
	enum rrl_class cls;
	bool log_only;
	unsigned slip;
	uint8_t name[DNAME_MAXLEN]; /* the bucket's name; the root when it has none */
};

/* One answering thread's limiter: the shared table, the settings of the
 * snapshot in use, its clock and its log budget. */
struct rrl {
	struct rrl_table *table; /* NULL: rate limiting is off */
	const struct conf_rate_limit *conf;
	uint32_t interval[RRL_CLASS_COUNT]; /* µs of credit a response costs; 0: unlimited */
	uint32_t v4_mask;		    /* host order */
	uint64_t v6_mask[2];
	unsigned slip; /* the setting; 0 with log_only */
	size_t nexempt;
	int memo_n;	      /* the last client network hashed (0: none): words, */
	uint64_t memo_net[2]; /* the masked network (IPv4: the family in [1]), */
	uint64_t memo_hash;   /* its keyed hash */
	uint64_t now; /* µs of the coarse monotonic clock, set by rrl_tick (tests set it) */
	uint64_t log_second;
	unsigned log_lines;  /* logged (or pending) in log_second */
	unsigned log_missed; /* limits that began but went unlogged (budget) */
	unsigned npending;
	struct rrl_event pending[RRL_LOG_PENDING];
};

/* Off, until rrl_use() gives it a table. */
void rrl_init(struct rrl *r);

/* Limit with table @t and settings @rl from now on (a new snapshot); either
 * NULL: off. @rl must stay valid while in use (it is the snapshot's). */
void rrl_use(struct rrl *r, struct rrl_table *t, const struct conf_rate_limit *rl);

/* Read the coarse clock: once per batch of queries, not per query. */
void rrl_tick(struct rrl *r);

/* The response described by @req (its kind, the node the lookup matched, the
 * client, the transport) is about to be sent: take one response's credit from
 * its bucket. Returns what to do, also recorded in req->limit: RATE_PASS
 * (send it), RATE_LIMITED (log_only: send it anyway), RATE_SLIPPED (send it
 * truncated) or RATE_DROPPED. Never limited: TCP, a valid server cookie
 * (req->cookie_valid), exempt networks, an unknown client, a class whose rate
 * is 0, a response that is not sent. Hot path; the owning thread only. */
enum rate_limit rrl_check(struct rrl *r, struct request *req);

/* Log the limits that began since the last call (at most RRL_LOG_PER_SECOND
 * lines a second; the rest are counted in the next line). The transport calls
 * it after a batch, outside the answer path. Owning thread. */
void rrl_log(struct rrl *r);

const char *rrl_class_name(enum rrl_class c);

#endif
