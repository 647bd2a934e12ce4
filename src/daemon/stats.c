/* stats.c -- counters with one writer each, summed only when read. */
#include "config.h"

#include <pthread.h>
#include <string.h>
#include <time.h>

#include "daemon/stats.h"
#include "lb/policy_geo.h"
#include "util/mem.h"

/* Bucket + 1 by type number; 0 (every type not named) is "other". */
#define Q(t, b) [t] = (b) + 1
const uint8_t stats_qtype_bucket[256] = {
	Q(DNS_TYPE_A, STATS_QTYPE_A),         Q(DNS_TYPE_NS, STATS_QTYPE_NS),
	Q(DNS_TYPE_CNAME, STATS_QTYPE_CNAME), Q(DNS_TYPE_SOA, STATS_QTYPE_SOA),
	Q(DNS_TYPE_PTR, STATS_QTYPE_PTR),     Q(DNS_TYPE_MX, STATS_QTYPE_MX),
	Q(DNS_TYPE_TXT, STATS_QTYPE_TXT),     Q(DNS_TYPE_AAAA, STATS_QTYPE_AAAA),
	Q(DNS_TYPE_SRV, STATS_QTYPE_SRV),     Q(DNS_TYPE_DS, STATS_QTYPE_DS),
	Q(DNS_TYPE_DNSKEY, STATS_QTYPE_DNSKEY), Q(DNS_TYPE_ANY, STATS_QTYPE_ANY),
	Q(DNS_TYPE_AXFR, STATS_QTYPE_XFR),    Q(DNS_TYPE_IXFR, STATS_QTYPE_XFR),
};
#undef Q

const uint8_t stats_rcode_bucket[32] = {
	[DNS_RCODE_NOERROR] = STATS_RCODE_NOERROR,   [DNS_RCODE_FORMERR] = STATS_RCODE_FORMERR,
	[DNS_RCODE_SERVFAIL] = STATS_RCODE_SERVFAIL, [DNS_RCODE_NXDOMAIN] = STATS_RCODE_NXDOMAIN,
	[DNS_RCODE_NOTIMP] = STATS_RCODE_NOTIMP,     [DNS_RCODE_REFUSED] = STATS_RCODE_REFUSED,
	[6 ... 15] = STATS_RCODE_OTHER,              [DNS_RCODE_BADVERS] = STATS_RCODE_BADVERS,
	[17 ... 22] = STATS_RCODE_OTHER,             [DNS_RCODE_BADCOOKIE] = STATS_RCODE_BADCOOKIE,
	[24 ... 31] = STATS_RCODE_OTHER,
};

struct stats {
	struct stats_worker *workers; /* main thread adds; never removed before stats_free */
	unsigned nworkers;
	/* Pool slots by name (main thread): names[slot], and an open-addressing
	 * index of slots + 1 (0 = empty). */
	char **names;
	uint32_t *dc_slot_of; /* per slot: its datacenter slot + 1, or 0 */
	size_t nslots, capslots;
	/* Datacenter slots (geo pools): the names of each slot's datacenters as
	 * of its last bind. */
	char *(*dc_names)[STATS_POOL_DCS];
	size_t ndcslots, capdcslots;
	uint32_t *index;
	size_t index_mask;
	_Atomic uint64_t reloads_ok, reloads_failed;
	_Atomic int64_t last_reload_ok_ms;
	double started;
	/* The registry (workers, names, index) for readers on other threads than
	 * the main one (the HTTP listener); the main thread takes it to change it. */
	pthread_mutex_t lock;
};

static double wall_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

struct stats *stats_new(void)
{
	struct stats *st = xcalloc(1, sizeof(*st));

	st->started = wall_now();
	pthread_mutex_init(&st->lock, NULL);
	return st;
}

void stats_free(struct stats *st)
{
	if (!st) {
		return;
	}
	while (st->workers) {
		struct stats_worker *w = st->workers;
		st->workers = w->next;
		for (size_t b = 0; b < STATS_MAX_POOL_BLOCKS; b++) {
			free(atomic_load(&w->pools[b]));
		}
		for (size_t b = 0; b < STATS_MAX_DC_BLOCKS; b++) {
			free(atomic_load(&w->dcs[b]));
		}
		free(w);
	}
	for (size_t i = 0; i < st->nslots; i++) {
		free(st->names[i]);
	}
	for (size_t i = 0; i < st->ndcslots; i++) {
		for (unsigned d = 0; d < STATS_POOL_DCS; d++) {
			free(st->dc_names[i][d]);
		}
	}
	free(st->names);
	free(st->dc_slot_of);
	free(st->dc_names);
	free(st->index);
	pthread_mutex_destroy(&st->lock);
	free(st);
}

/* Blocks for every slot below st->nslots in @w. */
static void cover(const struct stats *st, struct stats_worker *w)
{
	size_t blocks = (st->nslots + STATS_POOL_BLOCK - 1) / STATS_POOL_BLOCK;

	for (size_t b = 0; b < blocks; b++) {
		if (!atomic_load_explicit(&w->pools[b], memory_order_relaxed)) {
			struct stats_pool_ctr *c = xcalloc(STATS_POOL_BLOCK, sizeof(*c));
			/* Release: a worker that sees the slot in a snapshot
			 * sees the block (the snapshot is published after). */
			atomic_store_explicit(&w->pools[b], c, memory_order_release);
		}
	}
	for (size_t b = 0; b < (st->ndcslots + STATS_DC_BLOCK - 1) / STATS_DC_BLOCK; b++) {
		if (!atomic_load_explicit(&w->dcs[b], memory_order_relaxed)) {
			struct stats_dc_ctr *c = xcalloc(STATS_DC_BLOCK, sizeof(*c));
			atomic_store_explicit(&w->dcs[b], c, memory_order_release);
		}
	}
}

struct stats_worker *stats_worker_new(struct stats *st)
{
	struct stats_worker *w = aligned_alloc(64, sizeof(*w));

	if (!w) {
		abort();
	}
	memset(w, 0, sizeof(*w));
	pthread_mutex_lock(&st->lock);
	cover(st, w);
	w->next = st->workers;
	st->workers = w;
	st->nworkers++;
	pthread_mutex_unlock(&st->lock);
	return w;
}

static size_t name_hash(const char *s)
{
	uint64_t h = 0xcbf29ce484222325ULL;

	for (; *s; s++) {
		h = (h ^ (uint8_t)*s) * 0x100000001b3ULL;
	}
	return (size_t)(h ^ (h >> 32));
}

static void index_put(struct stats *st, uint32_t slot)
{
	size_t i = name_hash(st->names[slot]) & st->index_mask;

	while (st->index[i]) {
		i = (i + 1) & st->index_mask;
	}
	st->index[i] = slot + 1;
}

static uint32_t slot_of(struct stats *st, const char *name)
{
	if (st->index) {
		for (size_t i = name_hash(name) & st->index_mask; st->index[i];
		     i = (i + 1) & st->index_mask) {
			if (strcmp(st->names[st->index[i] - 1], name) == 0) {
				return st->index[i] - 1;
			}
		}
	}
	if (st->nslots == st->capslots) {
		st->capslots = st->capslots ? st->capslots * 2 : 64;
		st->names = xrealloc(st->names, st->capslots * sizeof(*st->names));
		st->dc_slot_of = xrealloc(st->dc_slot_of, st->capslots * sizeof(*st->dc_slot_of));
	}
	st->dc_slot_of[st->nslots] = 0;
	st->names[st->nslots] = xstrdup(name);
	st->nslots++;
	if (st->nslots * 2 > (st->index ? st->index_mask + 1 : 0)) {
		size_t size = st->index ? (st->index_mask + 1) * 2 : 128;
		free(st->index);
		st->index = xcalloc(size, sizeof(*st->index));
		st->index_mask = size - 1;
		for (uint32_t s = 0; s < st->nslots; s++) {
			index_put(st, s);
		}
	} else {
		index_put(st, (uint32_t)(st->nslots - 1));
	}
	return (uint32_t)(st->nslots - 1);
}

void stats_bind_pools(struct stats *st, struct pool *pools, size_t n)
{
	pthread_mutex_lock(&st->lock);
	for (size_t i = 0; i < n; i++) {
		uint32_t slot = slot_of(st, pools[i].name);
		char **dn;
		pools[i].stat_slot = slot;
		if (!geo_pool_dcs(&pools[i])) {
			continue;
		}
		if (!st->dc_slot_of[slot]) {
			if (st->ndcslots == st->capdcslots) {
				st->capdcslots = st->capdcslots ? st->capdcslots * 2 : 16;
				st->dc_names = xrealloc(st->dc_names,
							st->capdcslots * sizeof(*st->dc_names));
			}
			memset(st->dc_names[st->ndcslots], 0, sizeof(st->dc_names[0]));
			st->dc_slot_of[slot] = (uint32_t)++st->ndcslots;
		}
		pools[i].dc_slot = st->dc_slot_of[slot] - 1;
		/* Datacenters are counted by position in the pool's geo map. */
		dn = st->dc_names[pools[i].dc_slot];
		for (unsigned d = 0; d < STATS_POOL_DCS; d++) {
			const char *name = geo_dc_name(&pools[i], d + 1);
			free(dn[d]);
			dn[d] = name ? xstrdup(name) : NULL;
		}
	}
	if (st->nslots > (size_t)STATS_MAX_POOL_BLOCKS * STATS_POOL_BLOCK ||
	    st->ndcslots > (size_t)STATS_MAX_DC_BLOCKS * STATS_DC_BLOCK) {
		abort(); /* a million distinct pool names, 65536 geo pools in one process */
	}
	for (struct stats_worker *w = st->workers; w; w = w->next) {
		cover(st, w);
	}
	pthread_mutex_unlock(&st->lock);
}

void stats_count_dc(struct stats_worker *w, const struct request *r)
{
	/* Read dc only for a pool answer with records of a pool that sets it. */
	if (r->pool_records && r->pool->narrow) {
		uint32_t ds = r->pool->dc_slot;
		struct stats_dc_ctr *d =
		    atomic_load_explicit(&w->dcs[ds / STATS_DC_BLOCK], memory_order_acquire);
		stats_inc(&d[ds % STATS_DC_BLOCK].dc[r->dc - 1]);
	}
}

void stats_reload(struct stats *st, bool ok, double now)
{
	if (ok) {
		stats_inc(&st->reloads_ok);
		atomic_store(&st->last_reload_ok_ms, (int64_t)(now * 1000));
	} else {
		stats_inc(&st->reloads_failed);
	}
}

#define ADD(field) out->field += atomic_load_explicit(&w->field, memory_order_relaxed)

void stats_sum(const struct stats *st, struct stats_totals *out)
{
	memset(out, 0, sizeof(*out));
	pthread_mutex_lock(&((struct stats *)st)->lock);
	out->npools = st->nslots;
	out->pools = xcalloc(st->nslots ? st->nslots : 1, sizeof(*out->pools));
	for (size_t i = 0; i < st->nslots; i++) {
		out->pools[i].name = st->names[i];
		out->pools[i].dc_names = st->dc_slot_of[i]
			? (const char *const *)st->dc_names[st->dc_slot_of[i] - 1] : NULL;
	}
	for (const struct stats_worker *w = st->workers; w; w = w->next) {
		out->workers++;
		for (int i = 0; i < TRANSPORT_COUNT; i++) {
			ADD(transport[i]);
		}
		for (int i = 0; i < RESPONSE_KIND_COUNT; i++) {
			ADD(kind[i]);
		}
		for (int i = 0; i < STATS_QTYPE_COUNT; i++) {
			ADD(qtype[i]);
		}
		for (int i = 0; i < STATS_RCODE_COUNT; i++) {
			ADD(rcode[i]);
		}
		ADD(truncated);
		for (int i = 0; i < COOKIE_STATUS_COUNT; i++) {
			ADD(cookie[i]);
		}
		for (int i = RATE_LIMITED; i < RATE_LIMIT_COUNT; i++) {
			out->limited += atomic_load_explicit(&w->limit[i], memory_order_relaxed);
		}
		out->slipped += atomic_load_explicit(&w->limit[RATE_SLIPPED], memory_order_relaxed);
		out->limit_dropped +=
			atomic_load_explicit(&w->limit[RATE_DROPPED], memory_order_relaxed);
		ADD(dnstap_sent);
		ADD(dnstap_dropped);
		for (size_t s = 0; s < st->nslots; s++) {
			const struct stats_pool_ctr *b = atomic_load_explicit(
			    &((struct stats_worker *)w)->pools[s >> STATS_POOL_BLOCK_BITS],
			    memory_order_acquire);
			for (int k = 0; k < POOL_SOURCE_COUNT; k++) {
				out->pools[s].source[k] += atomic_load_explicit(
				    &b[s & (STATS_POOL_BLOCK - 1)].source[k], memory_order_relaxed);
			}
			if (st->dc_slot_of[s]) {
				uint32_t ds = st->dc_slot_of[s] - 1;
				const struct stats_dc_ctr *d = atomic_load_explicit(
				    &((struct stats_worker *)w)->dcs[ds / STATS_DC_BLOCK],
				    memory_order_acquire);
				for (int k = 0; k < STATS_POOL_DCS; k++) {
					out->pools[s].dc[k] += atomic_load_explicit(
					    &d[ds % STATS_DC_BLOCK].dc[k], memory_order_relaxed);
				}
			}
		}
	}
	out->reloads_ok = atomic_load(&((struct stats *)st)->reloads_ok);
	out->reloads_failed = atomic_load(&((struct stats *)st)->reloads_failed);
	out->last_reload_ok = atomic_load(&((struct stats *)st)->last_reload_ok_ms) / 1000.0;
	out->started = st->started;
	pthread_mutex_unlock(&((struct stats *)st)->lock);
}

#undef ADD

void stats_totals_clear(struct stats_totals *t)
{
	free(t->pools);
	memset(t, 0, sizeof(*t));
}

const char *stats_qtype_name(enum stats_qtype q)
{
	static const char *const names[STATS_QTYPE_COUNT] = {
		"A",  "NS",  "CNAME", "SOA", "PTR", "MX",  "TXT",  "AAAA",
		"SRV", "DS", "DNSKEY", "CAA", "ANY", "XFR", "other",
	};
	return (unsigned)q < STATS_QTYPE_COUNT ? names[q] : "?";
}

const char *stats_rcode_name(enum stats_rcode r)
{
	static const char *const names[STATS_RCODE_COUNT] = {
		"NOERROR", "FORMERR", "SERVFAIL", "NXDOMAIN", "NOTIMP", "REFUSED", "BADVERS",
		"BADCOOKIE", "other",
	};
	return (unsigned)r < STATS_RCODE_COUNT ? names[r] : "?";
}

const char *stats_kind_name(enum response_kind k)
{
	static const char *const names[RESPONSE_KIND_COUNT] = {
		"dropped", "answer", "referral", "nodata", "nxdomain", "refused", "error",
	};
	return (unsigned)k < RESPONSE_KIND_COUNT ? names[k] : "?";
}

const char *stats_source_name(enum pool_source s)
{
	static const char *const names[POOL_SOURCE_COUNT] = {
		"none", "primary", "backup", "last_resort",
	};
	return (unsigned)s < POOL_SOURCE_COUNT ? names[s] : "?";
}

const char *stats_transport_name(enum transport t)
{
	static const char *const names[TRANSPORT_COUNT] = { "udp", "tcp" };
	return (unsigned)t < TRANSPORT_COUNT ? names[t] : "?";
}

const char *stats_cookie_name(enum cookie_status c)
{
	static const char *const names[COOKIE_STATUS_COUNT] = {
		"none", "client_only", "valid", "invalid",
	};
	return (unsigned)c < COOKIE_STATUS_COUNT ? names[c] : "?";
}
