/* snapshot.h -- everything a query is answered from, compiled at load time and
 * immutable afterwards: a hash of names, each with ready-made response images,
 * plus the pools. Reloads build a new one beside the live one and swap. */
#ifndef GSLBD_SNAPSHOT_H
#define GSLBD_SNAPSHOT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dns/wire.h"
#include "data/conf.h"
#include "dns/dname.h"
#include "health/health.h"
#include "dns/image.h"
#include "lb/pool.h"
#include "data/zone.h"

struct rrset {
	uint16_t type;
	uint16_t count;
	uint32_t ttl;
	struct zone_rr *rrs; /* count consecutive records in the zone's data */
};

struct snap_zone;
struct rrl_table;
struct dnstap;

struct node_img {
	uint16_t type;
	const struct image *img;
};

/* What few names have (delegations, wildcards, pools, DS of a served child):
 * kept out of struct node so that a million plain names stay small. */
struct node_extra {
	struct node *cut;            /* topmost delegation at or above, or NULL */
	struct node *wild;           /* the "*" child, or NULL */
	struct snap_zone *ds_parent; /* child apex: the served parent answering DS */
	const struct pool *pool;
	const struct image *referral;/* set when at or below a delegation */
	int pool_line;               /* config line that named this owner */
};

struct node {
	uint64_t hash;
	struct snap_zone *zone;
	/* What the answer path reads: */
	struct node_img *imgs;       /* per query type */
	const struct image *other;   /* any type not in imgs: NODATA or CNAME chain */
	const struct image *any;     /* qtype ANY (RFC 8482: one RRset) */
	struct node_extra *x;        /* NULL for most names */
	struct rrset *rrsets;        /* load-time data resolve.c decides from */
	uint16_t nimgs;
	uint16_t nrrsets;
	uint8_t namelen;
	uint8_t nlabels;
	bool is_apex;
	bool is_cut;                 /* a delegation point (NS below the apex) */
	uint8_t name[];              /* lower-case wire */
};

static inline struct node *node_cut(const struct node *n)
{
	return n->x ? n->x->cut : NULL;
}

static inline struct node *node_wild(const struct node *n)
{
	return n->x ? n->x->wild : NULL;
}

static inline struct snap_zone *node_ds_parent(const struct node *n)
{
	return n->x ? n->x->ds_parent : NULL;
}

static inline const struct pool *node_pool(const struct node *n)
{
	return n->x ? n->x->pool : NULL;
}

static inline int node_pool_line(const struct node *n)
{
	return n->x ? n->x->pool_line : 0;
}

static inline const struct image *node_referral(const struct node *n)
{
	return n->x ? n->x->referral : NULL;
}

struct snap_zone {
	struct zone_data data;
	struct node *apex;
	uint32_t neg_ttl;            /* min(SOA TTL, SOA MINIMUM), RFC 2308 */
	const struct image *nxdomain;
	const struct image *nodata;  /* generic NODATA (wildcard synthesis) */
	struct zsigner *signer;      /* keys while the snapshot is built (dnssec/dnssec.c) */
	struct dnssec_zone *dnssec;  /* NULL: unsigned */
};

struct snapshot {
	uint64_t serial;             /* unique in the process: a new snapshot may get a freed one's address */
	struct conf *conf;           /* owned */
	struct node **table;         /* open addressing, size mask + 1 */
	size_t mask;
	size_t nnodes;
	unsigned max_labels;
	struct snap_zone *zones;
	size_t nzones;
	struct pool *pools;
	size_t npools;
	const struct image *chaos_version, *chaos_id, *chaos_nodata;
	struct health_table *health; /* not owned; NULL: every member is up */
	struct rrl_table *rrl;       /* not owned (the daemon's); NULL: no rate limiting */
	struct dnstap *dnstap;       /* not owned (the daemon's); NULL: no dnstap logging */
	struct probe_spec **specs;   /* one per probed (address, port, check); owned */
	size_t nspecs;
	struct arena *arena;         /* nodes, images and their arrays */
	size_t nimages;
	size_t image_bytes;
	struct dnssec_map *dnssec;   /* signatures (dnssec/dnssec.h); NULL: no signed zone */
};

enum match_kind {
	MATCH_NONE = 0,   /* outside every served zone */
	MATCH_EXACT,      /* node is the name */
	MATCH_WILDCARD,   /* node is the wildcard that synthesizes the name */
	MATCH_REFERRAL,   /* node is the closest encloser at/below a delegation */
	MATCH_NXDOMAIN,   /* node is the closest encloser; zone via node->zone */
};

/* Build a snapshot from @conf, taking ownership of it (freed on failure too).
 * Reads every zone file. Logs each error with file and line; returns NULL if
 * there was any. One build at a time, in any thread: start-up and `gslbd -t`
 * build in the main thread, a reload in a thread of its own (daemon.c),
 * which must not touch the live snapshot. */
struct snapshot *snapshot_build(struct conf *conf);

/* The same, with member health from @health (not owned; it must outlive the
 * snapshot): every probed member gets a health entry (marked in use, created
 * in its check's initial state if new) and an admin entry, and s->specs lists
 * what the probe engine must run. */
struct snapshot *snapshot_build_health(struct conf *conf, struct health_table *health);

/* Bytes held by @s: nodes, images, name table, zone records (for reports). */
size_t snapshot_memory(const struct snapshot *s);

/* Free @s and everything it owns. NULL is a no-op. Only once no reader can
 * still hold it. */
void snapshot_free(struct snapshot *s);

/* Find the node for lower-case wire name @name, split by @offsets into
 * @nlabels labels (as query_parse fills them). Sets *@node (NULL for
 * MATCH_NONE). Any thread; no allocation. */
enum match_kind snapshot_find(const struct snapshot *s, const uint8_t *name,
			      const uint8_t *offsets, int nlabels, const struct node **node);

/* @n's records of @type (load-time data), or NULL. */
static inline const struct rrset *node_rrset(const struct node *n, uint16_t type)
{
	for (unsigned i = 0; i < n->nrrsets; i++) {
		if (n->rrsets[i].type == type) {
			return &n->rrsets[i];
		}
	}
	return NULL;
}

/* The image answering @qtype at exactly @n: the builder gave every type
 * whose answer differs from n->other an image of its own (referrals and the
 * DS at a delegation included). */
static inline const struct image *node_image(const struct node *n, uint16_t qtype)
{
	for (unsigned i = 0; i < n->nimgs; i++) {
		if (n->imgs[i].type == qtype) {
			return n->imgs[i].img;
		}
	}
	return qtype == DNS_TYPE_ANY ? n->any : n->other;
}

#endif
