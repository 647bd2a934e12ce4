/* stats.h -- counters with one writer each, summed only when read.
 *
 * Every thread that answers queries (a UDP thread, a worker's TCP loop) owns
 * one struct stats_worker and is its only writer: an increment is a relaxed
 * load and store of its own cache lines, no lock and no shared line on the hot
 * path. Readers (the control socket, later the metrics endpoint) add the
 * workers up. Probe results and health changes are counted by the health
 * table (one writer: the probe thread); reloads by the main thread.
 *
 * Answers per pool are kept per pool *name*: a pool keeps its counters across
 * reloads, whatever its position in the new snapshot (stats_bind_pools). */
#ifndef GSLBD_STATS_H
#define GSLBD_STATS_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dns/request.h"
#include "dns/wire.h"
#include "lb/pool.h"

/* Query types worth a counter of their own; the rest are "other". */
enum stats_qtype {
	STATS_QTYPE_A = 0,
	STATS_QTYPE_NS,
	STATS_QTYPE_CNAME,
	STATS_QTYPE_SOA,
	STATS_QTYPE_PTR,
	STATS_QTYPE_MX,
	STATS_QTYPE_TXT,
	STATS_QTYPE_AAAA,
	STATS_QTYPE_SRV,
	STATS_QTYPE_DS,
	STATS_QTYPE_DNSKEY,
	STATS_QTYPE_CAA,
	STATS_QTYPE_ANY,
	STATS_QTYPE_XFR,
	STATS_QTYPE_OTHER,
	STATS_QTYPE_COUNT
};

enum stats_rcode {
	STATS_RCODE_NOERROR = 0,
	STATS_RCODE_FORMERR,
	STATS_RCODE_SERVFAIL,
	STATS_RCODE_NXDOMAIN,
	STATS_RCODE_NOTIMP,
	STATS_RCODE_REFUSED,
	STATS_RCODE_BADVERS,
	STATS_RCODE_BADCOOKIE,
	STATS_RCODE_OTHER,
	STATS_RCODE_COUNT
};

#define STATS_POOL_BLOCK_BITS 8
#define STATS_POOL_BLOCK (1u << STATS_POOL_BLOCK_BITS)
#define STATS_MAX_POOL_BLOCKS 4096 /* a million pools */

struct stats_pool_ctr {
	_Atomic uint64_t source[POOL_SOURCE_COUNT]; /* [POOL_SOURCE_NONE] unused */
};

/* Answers of a geo pool by datacenter (request.dc - 1; geo/geomap.h
 * GEO_MAX_DC), in blocks apart from the other pool counters so that only
 * geo pools take their room: a pool gets a datacenter slot when it is first
 * bound as a geo pool, by name as its stat slot. */
#define STATS_POOL_DCS 32
#define STATS_DC_BLOCK 64
#define STATS_MAX_DC_BLOCKS 1024 /* 65536 geo pools */

struct stats_dc_ctr {
	_Atomic uint64_t dc[STATS_POOL_DCS];
};

/* One answering thread's counters. Cache-line aligned: no false sharing. */
struct stats_worker {
	_Atomic uint64_t transport[TRANSPORT_COUNT]; /* every message received */
	_Atomic uint64_t kind[RESPONSE_KIND_COUNT];  /* [RESPONSE_DROPPED]: not answered */
	_Atomic uint64_t qtype[STATS_QTYPE_COUNT];
	_Atomic uint64_t rcode[STATS_RCODE_COUNT];
	_Atomic uint64_t truncated;
	_Atomic uint64_t cookie[COOKIE_STATUS_COUNT]; /* what each COOKIE option was worth */
	_Atomic uint64_t limit[RATE_LIMIT_COUNT]; /* rate limiting's actions; [RATE_PASS] unused */
	/* Blocks of per-pool counters, indexed by stat slot; allocated by the
	 * main thread before a snapshot naming the slot is published. */
	_Atomic(struct stats_pool_ctr *) pools[STATS_MAX_POOL_BLOCKS];
	_Atomic(struct stats_dc_ctr *) dcs[STATS_MAX_DC_BLOCKS]; /* by datacenter slot */
	struct stats_worker *next; /* the list in struct stats (main thread) */
	/* dnstap messages queued to the writer, and dropped (queue full,
	 * nobody to write to): dnstap_log's result. */
	_Atomic uint64_t dnstap_sent, dnstap_dropped;
} __attribute__((aligned(64)));

struct stats;

/* Main thread. */
struct stats *stats_new(void);
void stats_free(struct stats *st);

/* A worker's counters, zeroed, with blocks for every pool slot known so far.
 * The stats object owns it. Main thread, before the worker runs. */
struct stats_worker *stats_worker_new(struct stats *st);

/* Give every pool of @pools (@n of them, not yet published) its stat slot by
 * name, allocating counter blocks in every worker first. Main thread. */
void stats_bind_pools(struct stats *st, struct pool *pools, size_t n);

/* Reloads, counted by the main thread. @now is wall-clock seconds. */
void stats_reload(struct stats *st, bool ok, double now);

static inline void stats_inc(_Atomic uint64_t *c)
{
	/* One writer: no read-modify-write instruction needed. */
	atomic_store_explicit(c, atomic_load_explicit(c, memory_order_relaxed) + 1,
			      memory_order_relaxed);
}

/* Buckets by number, so that counting is a load, not a chain of compares:
 * stats_qtype_bucket holds bucket + 1 (0: other). */
extern const uint8_t stats_qtype_bucket[256];
extern const uint8_t stats_rcode_bucket[32];

static inline enum stats_qtype stats_qtype_of(uint16_t qtype)
{
	unsigned b = qtype < 256 ? stats_qtype_bucket[qtype]
				 : (qtype == DNS_TYPE_CAA ? STATS_QTYPE_CAA + 1u : 0u);

	return b ? (enum stats_qtype)(b - 1) : STATS_QTYPE_OTHER;
}

static inline enum stats_rcode stats_rcode_of(uint16_t rcode)
{
	return rcode < 32 ? (enum stats_rcode)stats_rcode_bucket[rcode] : STATS_RCODE_OTHER;
}

/* A geo pool's answer by datacenter (stats_count's slow part). */
void stats_count_dc(struct stats_worker *w, const struct request *r);

/* Count one answered (or dropped) request. Hot path: the owning thread only. */
static inline void stats_count(struct stats_worker *w, const struct request *r)
{
	stats_inc(&w->transport[r->transport]);
	stats_inc(&w->kind[r->kind]);
	if (r->limit != RATE_PASS) {
		stats_inc(&w->limit[r->limit]);
	}
	if (r->kind == RESPONSE_DROPPED) {
		return;
	}
	if (r->q.has_question) {
		stats_inc(&w->qtype[stats_qtype_of(r->q.qtype)]);
	}
	stats_inc(&w->rcode[stats_rcode_of(r->rcode)]);
	stats_inc(&w->cookie[r->cookie]);
	if (r->truncated) {
		stats_inc(&w->truncated);
	}
	if (r->pool && r->source != POOL_SOURCE_NONE) {
		uint32_t slot = r->pool->stat_slot;
		struct stats_pool_ctr *b = atomic_load_explicit(
		    &w->pools[slot >> STATS_POOL_BLOCK_BITS], memory_order_acquire);
		stats_inc(&b[slot & (STATS_POOL_BLOCK - 1)].source[r->source]);
		/* dc is only set (and only reset) by a policy that answers by
		 * client: out of line, so that this stays small enough to inline. */
		if (__builtin_expect(r->dc != 0, 0)) {
			stats_count_dc(w, r);
		}
	}
}

/* A message the transport dropped before the answer path saw it (a UDP
 * datagram larger than any query). */
static inline void stats_count_dropped(struct stats_worker *w, enum transport t)
{
	stats_inc(&w->transport[t]);
	stats_inc(&w->kind[RESPONSE_DROPPED]);
}

/* Count what one dnstap_log call did. The owning thread. */
static inline void stats_count_dnstap(struct stats_worker *w, unsigned sent, unsigned dropped)
{
	if (sent) {
		atomic_store_explicit(&w->dnstap_sent,
				      atomic_load_explicit(&w->dnstap_sent, memory_order_relaxed) + sent,
				      memory_order_relaxed);
	}
	if (dropped) {
		atomic_store_explicit(
		    &w->dnstap_dropped,
		    atomic_load_explicit(&w->dnstap_dropped, memory_order_relaxed) + dropped,
		    memory_order_relaxed);
	}
}

/* --- reading ---------------------------------------------------------------- */

struct stats_pool_total {
	const char *name; /* owned by the stats object */
	uint64_t source[POOL_SOURCE_COUNT];
	uint64_t dc[STATS_POOL_DCS];
	const char *const *dc_names; /* as of the last bind (NULL entries: none); owned by it */
};

struct stats_totals {
	uint64_t transport[TRANSPORT_COUNT];
	uint64_t kind[RESPONSE_KIND_COUNT];
	uint64_t qtype[STATS_QTYPE_COUNT];
	uint64_t rcode[STATS_RCODE_COUNT];
	uint64_t truncated;
	uint64_t cookie[COOKIE_STATUS_COUNT];
	uint64_t limited; /* responses over a rate limit: sent anyway (log_only), slipped or dropped */
	uint64_t slipped; /* ... sent truncated instead */
	uint64_t limit_dropped; /* ... not sent */
	uint64_t reloads_ok, reloads_failed;
	double last_reload_ok; /* wall clock, 0 = never */
	double started;        /* wall clock of stats_new */
	uint64_t dnstap_sent, dnstap_dropped; /* dnstap messages queued, dropped */
	struct stats_pool_total *pools; /* every pool name ever bound; owned */
	size_t npools;
	unsigned workers;
};

/* Add every worker up into @out (free with stats_totals_clear). Any thread:
 * the registry is read under the stats object's lock. */
void stats_sum(const struct stats *st, struct stats_totals *out);
void stats_totals_clear(struct stats_totals *t);

/* Names for reports and metrics labels. */
const char *stats_qtype_name(enum stats_qtype q);
const char *stats_rcode_name(enum stats_rcode r);
const char *stats_kind_name(enum response_kind k);
const char *stats_source_name(enum pool_source s);
const char *stats_transport_name(enum transport t);
const char *stats_cookie_name(enum cookie_status c);

#endif
