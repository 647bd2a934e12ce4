/* rrl.c -- response rate limiting: which bucket a response belongs to, and the
 * bucket arithmetic.
 *
 * A bucket is one 64-bit word: a 15-bit tag (which key owns it), the count of
 * limited responses since the last slip, a "limited" flag (for the log) and a
 * 44-bit theoretical arrival time in microseconds (GCRA, the token bucket
 * written as one number): the bucket is full when it is not later than now;
 * each response pushes it one interval (1/rate s) ahead; a response that
 * would push it more than one second ahead of now is over the limit. One
 * word, so a compare-and-swap updates it and no lock is needed. The slip
 * count lives in the bucket, not the thread: a thread serving two floods in
 * lockstep would otherwise truncate only one of them.
 *
 * Buckets come in sets of eight, one cache line. A key hashes (SipHash-1-3,
 * keyed at random when the table is made) to a set and a tag; it uses the
 * bucket with its tag, else takes over a full (idle) one, which loses
 * nothing, else shares one bucket of the set, picked by the hash, with its
 * owner. Sharing, as Knot DNS's table does on collisions, may limit an
 * innocent key early when a set is busy; it never lets a flood escape by
 * evicting its bucket, and the table never grows. */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include "data/snapshot.h"
#include "dns/rrl.h"
#include "util/log.h"
#include "util/mem.h"

#define WAYS 8 /* buckets per set: 64 bytes, one cache line */
/* A bucket: tag (15 bits) | slip count (4) | limited (1) | time (44). */
#define TAT_BITS 44
#define TAT_MASK ((UINT64_C(1) << TAT_BITS) - 1)
#define LIMITED_BIT (UINT64_C(1) << TAT_BITS)
#define SLIP_SHIFT (TAT_BITS + 1)
#define SLIP_MASK (UINT64_C(15) << SLIP_SHIFT)
#define TAG_SHIFT (TAT_BITS + 5)

struct rrl_table {
	uint64_t key[2];
	size_t nsets;
	_Atomic uint64_t *buckets; /* nsets * WAYS, 64-byte aligned */
};

/* --- the table -------------------------------------------------------------- */

struct rrl_table *rrl_table_new(size_t buckets)
{
	struct rrl_table *t = xcalloc(1, sizeof(*t));
	size_t n = WAYS;

	while (n < buckets) {
		n *= 2;
	}
	t->nsets = n / WAYS;
	t->buckets = aligned_alloc(64, n * sizeof(*t->buckets));
	if (!t->buckets) {
		abort();
	}
	/* Every page touched now: the memory an attack could make us use is
	 * in use from the start. An all-zero word is a full bucket. */
	memset(t->buckets, 0, n * sizeof(*t->buckets));
	if (getrandom(t->key, sizeof(t->key), 0) != (ssize_t)sizeof(t->key)) {
		struct timespec ts;
		clock_gettime(CLOCK_REALTIME, &ts);
		log_warn("rate limiting: getrandom: %s; hashing with a weaker key",
			 strerror(errno));
		t->key[0] = (uint64_t)ts.tv_nsec * 0x9E3779B97F4A7C15ULL ^ (uint64_t)getpid();
		t->key[1] = (uint64_t)ts.tv_sec * 0xC2B2AE3D27D4EB4FULL ^ (uintptr_t)t;
	}
	return t;
}

void rrl_table_free(struct rrl_table *t)
{
	if (t) {
		free(t->buckets);
		free(t);
	}
}

size_t rrl_table_buckets(const struct rrl_table *t)
{
	return t ? t->nsets * WAYS : 0;
}

size_t rrl_table_memory(const struct rrl_table *t)
{
	return t ? sizeof(*t) + t->nsets * WAYS * sizeof(*t->buckets) : 0;
}

struct rrl_table *rrl_table_for(struct rrl_table *live, const struct conf_rate_limit *rl)
{
	struct rrl_table *t;

	if (!rl) {
		return NULL;
	}
	if (live && rrl_table_buckets(live) == rl->table_size) {
		return live;
	}
	t = rrl_table_new(rl->table_size);
	log_info("rate limiting: a table of %zu buckets (%.1f MiB)", rrl_table_buckets(t),
		 rrl_table_memory(t) / 1048576.0);
	return t;
}

/* --- one thread's limiter ----------------------------------------------------- */

void rrl_init(struct rrl *r)
{
	memset(r, 0, sizeof(*r));
}

void rrl_use(struct rrl *r, struct rrl_table *t, const struct conf_rate_limit *rl)
{
	unsigned rates[RRL_CLASS_COUNT];

	if (!t || !rl) {
		r->table = NULL;
		r->conf = NULL;
		return;
	}
	r->table = t;
	r->conf = rl;
	r->memo_n = 0; /* another table (key) or other prefixes: hash again */
	r->slip = rl->log_only ? 0 : rl->slip; /* log_only: nothing to count */
	r->nexempt = rl->nexempt;
	rates[RRL_ANSWER] = rates[RRL_NODATA] = rates[RRL_NXDOMAIN] = rates[RRL_REFERRAL] =
	    rl->responses_per_second;
	rates[RRL_ERROR] = rl->errors_per_second;
	for (int c = 0; c < RRL_CLASS_COUNT; c++) {
		r->interval[c] = rates[c] ? RRL_WINDOW_US / rates[c] : 0;
	}
	r->v4_mask = rl->ipv4_prefix ? ~UINT32_C(0) << (32 - rl->ipv4_prefix) : 0;
	r->v6_mask[0] = rl->ipv6_prefix == 0	? 0
			: rl->ipv6_prefix >= 64 ? ~UINT64_C(0)
						: ~UINT64_C(0) << (64 - rl->ipv6_prefix);
	r->v6_mask[1] = rl->ipv6_prefix <= 64	 ? 0
			: rl->ipv6_prefix >= 128 ? ~UINT64_C(0)
						 : ~UINT64_C(0) << (128 - rl->ipv6_prefix);
}

void rrl_tick(struct rrl *r)
{
	struct timespec ts;

	/* COARSE: no system call, a few ms of resolution; the buckets keep
	 * their credit to the microsecond, only "now" moves in steps. */
	clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
	r->now = ((uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u) & TAT_MASK;
}

/* --- which bucket ------------------------------------------------------------- */

#define ROTL(x, b) (uint64_t)(((x) << (b)) | ((x) >> (64 - (b))))

static inline void sipround(uint64_t *v0, uint64_t *v1, uint64_t *v2, uint64_t *v3)
{
	*v0 += *v1;
	*v1 = ROTL(*v1, 13);
	*v1 ^= *v0;
	*v0 = ROTL(*v0, 32);
	*v2 += *v3;
	*v3 = ROTL(*v3, 16);
	*v3 ^= *v2;
	*v0 += *v3;
	*v3 = ROTL(*v3, 21);
	*v3 ^= *v0;
	*v2 += *v1;
	*v1 = ROTL(*v1, 17);
	*v1 ^= *v2;
	*v2 = ROTL(*v2, 32);
}

/* SipHash-1-3 of @n words (8 * @n bytes): keyed, so that nobody who does not
 * know the key can pick inputs that land in one set. */
static inline uint64_t keyed_hash(const uint64_t key[2], const uint64_t *m, int n)
{
	uint64_t v0 = key[0] ^ 0x736f6d6570736575ULL, v1 = key[1] ^ 0x646f72616e646f6dULL;
	uint64_t v2 = key[0] ^ 0x6c7967656e657261ULL, v3 = key[1] ^ 0x7465646279746573ULL;
	uint64_t last = (uint64_t)(8 * n) << 56;

	for (int i = 0; i < n; i++) {
		v3 ^= m[i];
		sipround(&v0, &v1, &v2, &v3);
		v0 ^= m[i];
	}
	v3 ^= last;
	sipround(&v0, &v1, &v2, &v3);
	v0 ^= last;
	v2 ^= 0xff;
	sipround(&v0, &v1, &v2, &v3);
	sipround(&v0, &v1, &v2, &v3);
	sipround(&v0, &v1, &v2, &v3);
	return v0 ^ v1 ^ v2 ^ v3;
}

/* MurmurHash3's 64-bit finaliser: a bijection that spreads every input bit
 * over the whole word. */
static inline uint64_t fmix64(uint64_t k)
{
	k ^= k >> 33;
	k *= UINT64_C(0xff51afd7ed558ccd);
	k ^= k >> 33;
	k *= UINT64_C(0xc4ceb9fe1a85ec53);
	k ^= k >> 33;
	return k;
}

static const int8_t class_of_kind[RESPONSE_KIND_COUNT] = {
    [RESPONSE_DROPPED] = -1,
    [RESPONSE_ANSWER] = RRL_ANSWER,
    [RESPONSE_REFERRAL] = RRL_REFERRAL,
    [RESPONSE_NODATA] = RRL_NODATA,
    [RESPONSE_NXDOMAIN] = RRL_NXDOMAIN,
    [RESPONSE_REFUSED] = RRL_ERROR,
    [RESPONSE_ERROR] = RRL_ERROR,
};

/* The name a response of class @cls is counted under (see enum rrl_class),
 * with *@id its hash; NULL (and 0) when it has none. Answers carry the node
 * the lookup matched; CHAOS answers have none and use the question. */
static const uint8_t *limit_name(const struct request *req, enum rrl_class cls, uint64_t *id)
{
	const struct node *n = req->node;

	*id = 0;
	switch (cls) {
	case RRL_ANSWER:
		if (n) {
			*id = n->hash;
			return n->name;
		}
		if (req->q.has_question) {
			*id = dname_hash(req->q.qname);
			return req->q.qname;
		}
		return NULL;
	case RRL_REFERRAL:
		if (n && node_cut(n)) {
			n = node_cut(n);
		}
		break;
	default:
		if (n) {
			n = n->zone->apex;
		}
		break;
	}
	if (!n) {
		return NULL;
	}
	*id = n->hash;
	return n->name;
}

static inline uint64_t rd64(const uint8_t *p)
{
	uint64_t v = 0;

	for (int i = 0; i < 8; i++) {
		v = v << 8 | p[i];
	}
	return v;
}

/* The client's address (an IPv4-mapped IPv6 one counts as IPv4): its family
 * and its bytes in network order. False for anything else. */
static bool client_address(const struct sockaddr_storage *ss, int *family, const uint8_t **a)
{
	if (ss->ss_family == AF_INET) {
		*family = AF_INET;
		*a = (const uint8_t *)&((const struct sockaddr_in *)ss)->sin_addr;
		return true;
	}
	if (ss->ss_family == AF_INET6) {
		const struct in6_addr *a6 = &((const struct sockaddr_in6 *)ss)->sin6_addr;
		if (IN6_IS_ADDR_V4MAPPED(a6)) {
			*family = AF_INET;
			*a = a6->s6_addr + 12;
		} else {
			*family = AF_INET6;
			*a = a6->s6_addr;
		}
		return true;
	}
	return false;
}

/* A key's hash: the keyed SipHash of the client network (its family in the
 * last word), xored with the name's hash and the class, through fmix64. The
 * SipHash is what keeps the sets unpredictable: without the key nobody can
 * tell which set another network's buckets are in, and within one network
 * fmix64 gives distinct names distinct words. The network's SipHash is kept
 * for the next response: queries come in runs from one resolver, and a run
 * costs one SipHash, not one per response. */
static inline uint64_t bucket_hash(struct rrl *r, int family, const uint8_t *a)
{
	uint64_t m[3];
	int n;

	if (family == AF_INET) {
		m[0] = ((uint32_t)a[0] << 24 | (uint32_t)a[1] << 16 | (uint32_t)a[2] << 8 | a[3]) &
		       r->v4_mask;
		m[1] = 4;
		n = 2;
	} else {
		m[0] = rd64(a) & r->v6_mask[0];
		m[1] = rd64(a + 8) & r->v6_mask[1];
		m[2] = 6;
		n = 3;
	}
	if (r->memo_n == n && r->memo_net[0] == m[0] && r->memo_net[1] == m[1]) {
		return r->memo_hash;
	}
	r->memo_n = n;
	r->memo_net[0] = m[0];
	r->memo_net[1] = m[1];
	r->memo_hash = keyed_hash(r->table->key, m, n);
	return r->memo_hash;
}

static bool exempt(const struct conf_rate_limit *rl, int family, const uint8_t *a)
{
	for (size_t i = 0; i < rl->nexempt; i++) {
		const struct conf_net *n = &rl->exempt[i];
		unsigned full = n->bits / 8, rest = n->bits % 8;
		if (n->family != family || memcmp(a, n->addr, full) != 0) {
			continue;
		}
		if (rest == 0 || ((a[full] ^ n->addr[full]) & (0xFF00u >> rest) & 0xFF) == 0) {
			return true;
		}
	}
	return false;
}

/* --- the bucket --------------------------------------------------------------- */

/* How far ahead of @now the bucket's time is: its debt in µs, 0 when full.
 * Differences are taken modulo 2^44 (the clock wraps every 203 days); a time
 * in the past, or impossibly far ahead (a word not touched for a whole
 * wrap), is a full bucket, and so is a word never used. */
static inline uint64_t debt(uint64_t w, uint64_t now)
{
	uint64_t d = ((w & TAT_MASK) - now) & TAT_MASK;

	return d <= RRL_WINDOW_US && w ? d : 0;
}

enum take {
	TAKE_OK = 0,	/* within the rate */
	TAKE_DROP,	/* over it */
	TAKE_SLIP,	/* over it, and the slip-th time since the last slip */
	TAKE_BEGAN = 4, /* or-ed in: the first time over it since it was full */
};

/* The bucket of key hash @h in its set: the one with its tag, else the first
 * full one (taking it over loses nothing: a full bucket is a new bucket),
 * else one picked by the hash, shared with its owner. Picked, not the least
 * busy: a key that found no room must always draw on the same bucket, or it
 * would draw on the whole set's credit. */
static _Atomic uint64_t *find(struct rrl_table *t, uint64_t h, uint64_t now, uint64_t *w)
{
	_Atomic uint64_t *set = t->buckets + (h & (t->nsets - 1)) * WAYS;
	uint64_t tag = h >> TAG_SHIFT;
	int idle = -1;

	for (int i = 0; i < WAYS; i++) {
		uint64_t x = atomic_load_explicit(&set[i], memory_order_relaxed);
		if (x >> TAG_SHIFT == tag) {
			*w = x;
			return &set[i];
		}
		if (idle < 0 && debt(x, now) == 0) {
			idle = i;
			*w = x;
		}
	}
	if (idle >= 0) {
		return &set[idle];
	}
	idle = (int)(h >> 32) & (WAYS - 1);
	*w = atomic_load_explicit(&set[idle], memory_order_relaxed);
	return &set[idle];
}

/* One response's credit from the bucket of key hash @h. @slip counts in the
 * bucket, so that every flood, whichever thread its packets reach, gets its
 * own every slip-th response truncated (0: none; 1: all, nothing counted). */
static int take(struct rrl_table *t, uint64_t h, uint64_t now, uint32_t interval, unsigned slip)
{
	uint64_t tag = h >> TAG_SHIFT, w;
	_Atomic uint64_t *b = find(t, h, now, &w);

	for (;;) {
		uint64_t d = debt(w, now), nw, count;
		/* Ours, or full: ours from now on. Otherwise shared, and its
		 * owner's tag stays. */
		uint64_t owner = (w >> TAG_SHIFT == tag || d == 0) ? tag : w >> TAG_SHIFT;
		int r;
		if (d + interval <= RRL_WINDOW_US) {
			/* The limited flag and the slip count stay until the
			 * bucket has been full again, so that a steady flood is
			 * logged once, not once per response it is allowed. */
			nw = owner << TAG_SHIFT | (d ? w & (LIMITED_BIT | SLIP_MASK) : 0) |
			     ((now + d + interval) & TAT_MASK);
			if (atomic_compare_exchange_weak_explicit(b, &w, nw, memory_order_relaxed,
								  memory_order_relaxed)) {
				return TAKE_OK;
			}
			continue; /* another thread moved it: w is its new value */
		}
		r = (w & LIMITED_BIT) ? 0 : TAKE_BEGAN;
		if (slip < 2) {
			if (!r) {
				/* Nothing to count, nothing to write: the line stays
				 * shared between the threads a flood reaches. */
				return slip ? TAKE_SLIP : TAKE_DROP;
			}
			nw = w | LIMITED_BIT;
			r |= slip ? TAKE_SLIP : TAKE_DROP;
		} else {
			count = ((w & SLIP_MASK) >> SLIP_SHIFT) + 1;
			r |= count >= slip ? TAKE_SLIP : TAKE_DROP;
			count = count >= slip ? 0 : count;
			nw = (w & ~SLIP_MASK) | LIMITED_BIT | count << SLIP_SHIFT;
		}
		if (atomic_compare_exchange_weak_explicit(b, &w, nw, memory_order_relaxed,
							  memory_order_relaxed)) {
			return r;
		}
	}
}

static void note_began(struct rrl *r, enum rrl_class cls, int family, const uint8_t *a,
		       const uint8_t *name)
{
	struct rrl_event *e;
	unsigned bits = family == AF_INET ? r->conf->ipv4_prefix : r->conf->ipv6_prefix;
	uint64_t second = r->now / 1000000u;

	if (second != r->log_second) {
		r->log_second = second;
		r->log_lines = 0;
	}
	if (r->log_lines >= RRL_LOG_PER_SECOND || r->npending >= RRL_LOG_PENDING) {
		r->log_missed++;
		return;
	}
	r->log_lines++;
	e = &r->pending[r->npending++];
	e->family = family;
	e->bits = bits;
	memset(e->net, 0, sizeof(e->net));
	memcpy(e->net, a, bits / 8);
	if (bits % 8) {
		e->net[bits / 8] = (uint8_t)(a[bits / 8] & (0xFF00u >> (bits % 8)));
	}
	e->cls = cls;
	e->log_only = r->conf->log_only;
	e->slip = r->conf->slip;
	if (name) {
		memcpy(e->name, name, dname_len(name));
	} else {
		e->name[0] = 0;
	}
}

enum rate_limit rrl_check(struct rrl *r, struct request *req)
{
	int cls = class_of_kind[req->kind], family;
	const uint8_t *a, *name;
	uint64_t id, h;
	int got;

	if (!r->table || cls < 0 || !r->interval[cls] || req->transport != TRANSPORT_UDP ||
	    req->cookie_valid || !req->client || !client_address(req->client, &family, &a)) {
		return RATE_PASS;
	}
	if (r->nexempt && exempt(r->conf, family, a)) {
		return RATE_PASS;
	}
	name = limit_name(req, (enum rrl_class)cls, &id);
	h = bucket_hash(r, family, a) ^ id ^ ((uint64_t)(cls + 1) << 56);
	h = fmix64(h);
	got = take(r->table, h, r->now, r->interval[cls], r->slip);
	if (got == TAKE_OK) {
		return RATE_PASS;
	}
	if (got & TAKE_BEGAN) {
		note_began(r, (enum rrl_class)cls, family, a, name);
	}
	if (r->conf->log_only) {
		req->limit = RATE_LIMITED;
	} else {
		req->limit = (got & ~TAKE_BEGAN) == TAKE_SLIP ? RATE_SLIPPED : RATE_DROPPED;
	}
	return req->limit;
}

/* --- the log ------------------------------------------------------------------ */

const char *rrl_class_name(enum rrl_class c)
{
	static const char *const names[RRL_CLASS_COUNT] = {
	    "answer", "nodata", "nxdomain", "referral", "error",
	};
	return (unsigned)c < RRL_CLASS_COUNT ? names[c] : "?";
}

void rrl_log(struct rrl *r)
{
	char addr[INET6_ADDRSTRLEN], name[1024], more[64] = "", what[64];

	if (!r->npending) {
		return;
	}
	if (r->log_missed) {
		snprintf(more, sizeof(more), " (and %u more not logged)", r->log_missed);
		r->log_missed = 0;
	}
	for (unsigned i = 0; i < r->npending; i++) {
		const struct rrl_event *e = &r->pending[i];
		inet_ntop(e->family, e->net, addr, sizeof(addr));
		dname_to_str(name, sizeof(name), e->name);
		if (e->log_only) {
			snprintf(what, sizeof(what), "log_only: still sent");
		} else if (e->slip == 0) {
			snprintf(what, sizeof(what), "dropped");
		} else if (e->slip == 1) {
			snprintf(what, sizeof(what), "sent truncated");
		} else {
			snprintf(what, sizeof(what), "dropped, one in %u sent truncated", e->slip);
		}
		log_info("rate limit: %s responses to %s/%u for %s over the limit (%s)%s",
			 rrl_class_name(e->cls), addr, e->bits, name, what, more);
		more[0] = 0;
	}
	r->npending = 0;
}
