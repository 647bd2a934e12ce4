/* snapshot.c -- compile config and zones into an immutable snapshot.
 *
 * All the work of answering is done here, once: every name's responses are
 * laid out as images (see image.h), each written from what resolve.c decided
 * for it (CNAME chains inside our zones followed, referrals and negative
 * answers prepared). The answer path then only finds a node, picks an image
 * and copies it. */
#include "config.h"

#include <assert.h>
#include <string.h>

#include <arpa/inet.h>
#include <errno.h>
#include <malloc.h>
#include <stdatomic.h>
#include <stdio.h>
#include <unistd.h>

#include "dns/wire.h"
#include "data/arena.h"
#include "util/log.h"
#include "util/mem.h"
#include "health/check_kind.h"
#include "health/probe.h"
#include "data/resolve.h"
#include "data/snapshot.h"
#include "dnssec/dnssec.h"

struct build {
	struct snapshot *s;
	struct imgb *b;
	int errors;
	struct image_extra *extra; /* the pools of the image being written's targets */
	size_t nextra, capextra;
};

/* --- the name table ------------------------------------------------------ */

static struct node *table_find(const struct snapshot *s, const uint8_t *name, size_t len,
			       uint64_t hash)
{
	size_t i = (size_t)hash & s->mask;

	for (;;) {
		struct node *n = s->table[i];
		if (!n) {
			return NULL;
		}
		if (n->hash == hash && n->namelen == len && memcmp(n->name, name, len) == 0) {
			return n;
		}
		i = (i + 1) & s->mask;
	}
}

static void table_insert_raw(struct snapshot *s, struct node *n)
{
	size_t i = (size_t)n->hash & s->mask;

	while (s->table[i]) {
		i = (i + 1) & s->mask;
	}
	s->table[i] = n;
}

static void table_grow(struct snapshot *s)
{
	struct node **old = s->table;
	size_t oldsize = s->table ? s->mask + 1 : 0;
	size_t size = oldsize ? oldsize * 2 : 1024;

	s->table = xcalloc(size, sizeof(struct node *));
	s->mask = size - 1;
	for (size_t i = 0; i < oldsize; i++) {
		if (old[i]) {
			table_insert_raw(s, old[i]);
		}
	}
	free(old);
}

static struct node_extra *node_x(struct snapshot *s, struct node *n)
{
	if (!n->x) {
		n->x = arena_alloc(s->arena, sizeof(*n->x));
	}
	return n->x;
}

static struct node *node_get(struct snapshot *s, const uint8_t *name, struct snap_zone *z)
{
	size_t len = dname_len(name);
	uint64_t h = dname_hash(name);
	struct node *n = table_find(s, name, len, h);
	uint8_t offs[DNAME_MAXLABELS];

	if (n) {
		return n;
	}
	if ((s->nnodes + 1) * 2 > (s->table ? s->mask + 1 : 0)) {
		table_grow(s);
	}
	n = arena_alloc(s->arena, sizeof(*n) + len);
	n->hash = h;
	memcpy(n->name, name, len);
	n->namelen = (uint8_t)len;
	n->nlabels = (uint8_t)dname_labels(name, offs);
	n->zone = z;
	table_insert_raw(s, n);
	s->nnodes++;
	if (n->nlabels > s->max_labels) {
		s->max_labels = n->nlabels;
	}
	/* Empty non-terminals exist as nodes, so that they answer NODATA. */
	if (len > z->data.origin_len) {
		node_get(s, name + name[0] + 1, z);
	}
	return n;
}

static struct node *node_find(const struct snapshot *s, const uint8_t *name)
{
	return table_find(s, name, dname_len(name), dname_hash(name));
}

enum match_kind snapshot_find(const struct snapshot *s, const uint8_t *name,
			      const uint8_t *offsets, int nlabels, const struct node **out)
{
	uint64_t hashes[DNAME_MAXLABELS + 1];
	int start = nlabels > (int)s->max_labels ? nlabels - (int)s->max_labels : 0;
	const struct node *n = NULL;
	int i;

	dname_suffix_hashes(hashes, name, offsets, nlabels);
	for (i = start; i <= nlabels; i++) {
		const uint8_t *suffix = i < nlabels ? name + offsets[i] : name + dname_len(name) - 1;
		n = table_find(s, suffix, dname_len(suffix), hashes[i]);
		if (n) {
			break;
		}
	}
	*out = n;
	if (!n) {
		return MATCH_NONE;
	}
	if (i == 0) {
		return MATCH_EXACT; /* the caller checks for a delegation (DS at a cut) */
	}
	if (node_cut(n)) {
		return MATCH_REFERRAL;
	}
	if (node_wild(n)) {
		*out = node_wild(n);
		return MATCH_WILDCARD;
	}
	return MATCH_NXDOMAIN;
}

/* --- image construction -------------------------------------------------- */

static void add_rrset(struct imgb *b, int section, const uint8_t *owner, const struct rrset *rs)
{
	for (unsigned i = 0; i < rs->count; i++) {
		const struct zone_rr *rr = &rs->rrs[i];
		imgb_add_rr(b, section, owner, rs->type, DNS_CLASS_IN, rs->ttl, rr->rdata, rr->rdlen);
	}
}

static void add_soa(struct imgb *b, const struct snap_zone *z)
{
	const struct rrset *soa = node_rrset(z->apex, DNS_TYPE_SOA);
	const struct zone_rr *rr = &soa->rrs[0];

	imgb_add_rr(b, IMG_AUTHORITY, z->apex->name, DNS_TYPE_SOA, DNS_CLASS_IN, z->neg_ttl, rr->rdata,
		    rr->rdlen);
}

/* NS of @cut in authority; addresses of its in-zone targets in additional.
 * Returns true if any of them lies below the cut (glue that must not be
 * dropped, RFC 9471). */
static bool add_referral(struct build *bd, const struct node *cut)
{
	struct imgb *b = bd->b;
	const struct rrset *ns = node_rrset(cut, DNS_TYPE_NS);
	bool required = false;

	add_rrset(b, IMG_AUTHORITY, cut->name, ns);
	for (unsigned i = 0; i < ns->count; i++) {
		const uint8_t *target = ns->rrs[i].rdata;
		bool dup = false;
		for (unsigned j = 0; j < i; j++) {
			if (dname_len(ns->rrs[j].rdata) == dname_len(target) &&
			    strncasecmp((const char *)ns->rrs[j].rdata, (const char *)target,
					dname_len(target)) == 0) {
				dup = true;
			}
		}
		uint8_t lt[DNAME_MAXLEN];
		size_t l = dname_len(target);
		memcpy(lt, target, l);
		dname_tolower(lt, l);
		const struct node *t = node_find(bd->s, lt);
		if (dup || !t || t->zone != cut->zone) {
			continue;
		}
		const struct rrset *a = node_rrset(t, DNS_TYPE_A), *aaaa = node_rrset(t, DNS_TYPE_AAAA);
		if (a) {
			add_rrset(b, IMG_ADDITIONAL, t->name, a);
		}
		if (aaaa) {
			add_rrset(b, IMG_ADDITIONAL, t->name, aaaa);
		}
		if ((a || aaaa) && dname_is_below_or_equal(lt, cut->name)) {
			required = true;
		}
	}
	return required;
}

/* The addresses of the targets of an NS, MX or SRV answer, as
 * resolve_target() decides: records in the additional section now; a pool's
 * members per query, after the image (collected in bd->extra, its owner a
 * pointer to the target in the record). */
static void add_targets(struct build *bd, const struct resolution *r)
{
	unsigned n = resolve_targets(r);
	struct resolve_target t;

	for (unsigned i = 0; i < n; i++) {
		resolve_target(&t, bd->s, r, i);
		if (t.extra == RESOLVE_EXTRA_ADDRESSES) {
			if (t.a) {
				add_rrset(bd->b, IMG_ADDITIONAL, t.name, t.a);
			}
			if (t.aaaa) {
				add_rrset(bd->b, IMG_ADDITIONAL, t.name, t.aaaa);
			}
		} else if (t.extra == RESOLVE_EXTRA_POOL) {
			/* No reference: the target lies beyond pointer range (a
			 * record set of 16 KB); the pool is left out. */
			uint16_t ref = imgb_ref(bd->b, t.name);
			if (ref == IMG_REF_NONE) {
				continue;
			}
			if (bd->nextra == bd->capextra) {
				bd->capextra = bd->capextra ? bd->capextra * 2 : 8;
				bd->extra = xrealloc(bd->extra, bd->capextra * sizeof(*bd->extra));
			}
			bd->extra[bd->nextra].pool = t.pool;
			bd->extra[bd->nextra++].owner = ref;
		}
	}
}

/* Write what @r decided: the CNAMEs on the way, then how the chain ends.
 * @nodata: the variant for a pool's "nodata" last resort. Sets *@pool_owner
 * to where the pool's records' owner was written. Returns true if the
 * additional section holds glue that must not be dropped. */
static bool write_resolution(struct build *bd, const struct resolution *r, bool nodata,
			     uint16_t *pool_owner)
{
	const struct resolve_hop *last = &r->hop[r->nhops - 1];

	bd->nextra = 0;
	for (unsigned i = 0; i < r->nhops; i++) {
		if (r->hop[i].cname) {
			add_rrset(bd->b, IMG_ANSWER, r->hop[i].owner, r->hop[i].cname);
		}
	}
	switch (r->end) {
	case RESOLVE_RRSET:
		add_rrset(bd->b, IMG_ANSWER, last->owner, r->rrset);
		add_targets(bd, r);
		return false; /* addresses of targets are optional */
	case RESOLVE_POOL:
		if (nodata) {
			add_soa(bd->b, r->nodata_soa);
		} else {
			*pool_owner = imgb_ref(bd->b, last->owner);
		}
		return false;
	case RESOLVE_NODATA:
	case RESOLVE_NXDOMAIN:
		add_soa(bd->b, r->soa);
		return false;
	case RESOLVE_REFERRAL:
		return add_referral(bd, r->cut);
	default:
		return false; /* the resolver follows the rest */
	}
}

static const struct image *keep(struct build *bd, struct image *img)
{
	struct snapshot *s = bd->s;

	if (!img) {
		return NULL;
	}
	s->nimages++;
	s->image_bytes += sizeof(*img) + img->len + img->nfixups * sizeof(uint32_t) +
			  (img->dyn ? sizeof(*img->dyn) + img->dyn->nextra * sizeof(struct image_extra)
				    : 0);
	return img;
}

/* The image of @r, the answer for a query of @n's name (or a name its
 * wildcard synthesizes). */
static const struct image *build_image(struct build *bd, const struct node *n,
				       const struct resolution *r)
{
	bool wild = n->name[0] == 1 && n->name[1] == '*';
	const uint8_t *parent = n->name + n->name[0] + 1;
	bool pool = r->end == RESOLVE_POOL;
	uint16_t owner = IMG_REF_NONE;
	struct image *img;
	bool glue;
	char tmp[1100];

	/* Wildcard images answer many names: only the parent is known to end
	 * the query name. Exact images know the whole name. */
	imgb_reset(bd->b, wild ? parent : n->name, n->name);
	glue = write_resolution(bd, r, false, &owner);
	img = imgb_finish(bd->b, bd->s->arena, r->rcode, r->aa, pool ? r->pool : NULL,
			  pool ? r->type : 0, owner, wild ? 0 : n->namelen);
	if (!img) {
		log_err("%s: the answer for %s type %u exceeds 65000 bytes",
			n->zone->data.files[0], dname_to_str(tmp, sizeof(tmp), n->name), r->qtype);
		bd->errors++;
		return NULL;
	}
	img->glue_required = glue;
	if (bd->nextra) {
		image_set_extra(img, bd->s->arena, bd->extra, (unsigned)bd->nextra);
	}
	if (pool) {
		/* The same chain ending in NODATA, for the "nodata" last resort. */
		imgb_reset(bd->b, wild ? parent : n->name, n->name);
		write_resolution(bd, r, true, NULL);
		img->dyn->alt = keep(bd, imgb_finish(bd->b, bd->s->arena, r->rcode, r->aa, NULL, 0,
						     0, wild ? 0 : n->namelen));
	}
	return keep(bd, img);
}

/* Images many names share, when @r is what they hold: their zone's NODATA,
 * their delegation's referral. NULL: @r needs an image of its own. */
static const struct image *shared_image(const struct node *n, const struct resolution *r)
{
	if (r->nhops != 1) {
		return NULL;
	}
	if (r->end == RESOLVE_NODATA && r->soa == n->zone && r->rcode == DNS_RCODE_NOERROR &&
	    r->aa) {
		return n->zone->nodata;
	}
	if (r->end == RESOLVE_REFERRAL && !r->aa) {
		return node_referral(r->cut);
	}
	return NULL;
}

static void add_type(uint16_t *types, unsigned *nt, uint16_t t)
{
	for (unsigned i = 0; i < *nt; i++) {
		if (types[i] == t) {
			return;
		}
	}
	types[(*nt)++] = t;
}

/* @n's images. n->other answers every type without an image of its own, and
 * a type gets one exactly when its resolution differs from other's. The
 * types worth trying are those the decision looks at: CNAME, DS, and what
 * the name where other's chain ends holds (its RRsets, its pool's types). */
static void build_node(struct build *bd, struct node *n)
{
	const struct snapshot *s = bd->s;
	struct node_img imgs[64 + 4];
	uint16_t types[64 + 4];
	unsigned nt = 0, ni = 0;
	struct resolution other, r, t;
	const struct node *end;

	if (node_cut(n)) {
		/* What a name below the cut that does not exist is answered with. */
		node_x(bd->s, n)->referral = node_referral(node_cut(n));
	}
	resolve_node(&other, s, n, 0);
	n->other = shared_image(n, &other);
	if (!n->other) {
		n->other = build_image(bd, n, &other);
	}
	add_type(types, &nt, DNS_TYPE_CNAME);
	add_type(types, &nt, DNS_TYPE_DS);
	end = other.hop[other.nhops - 1].node;
	if (end) {
		for (unsigned i = 0; i < end->nrrsets && nt < 64; i++) {
			add_type(types, &nt, end->rrsets[i].type);
		}
		if (node_pool(end)) {
			add_type(types, &nt, DNS_TYPE_A);
			add_type(types, &nt, DNS_TYPE_AAAA);
		}
	}
	for (unsigned i = 0; i < nt; i++) {
		resolve_node(&r, s, n, types[i]);
		if (!resolve_same(&r, &other)) {
			imgs[ni].type = types[i];
			imgs[ni++].img = build_image(bd, n, &r);
		}
	}
	if (ni) {
		n->imgs = arena_alloc(bd->s->arena, ni * sizeof(*n->imgs));
		memcpy(n->imgs, imgs, ni * sizeof(*n->imgs));
	}
	n->nimgs = (uint16_t)ni;
	/* ANY is answered with one RRset: mostly an image the name already has. */
	resolve_node(&r, s, n, DNS_TYPE_ANY);
	if (resolve_same(&r, &other)) {
		n->any = n->other;
		return;
	}
	if (r.type != DNS_TYPE_ANY) {
		resolve_node(&t, s, n, r.type);
		if (resolve_same(&t, &r)) {
			n->any = node_image(n, r.type);
			return;
		}
	}
	n->any = build_image(bd, n, &r);
}

static void build_zone_images(struct build *bd, struct snap_zone *z)
{
	struct image *img;

	imgb_reset(bd->b, z->apex->name, NULL);
	add_soa(bd->b, z);
	img = imgb_finish(bd->b, bd->s->arena, 3, true, NULL, 0, 0, 0);
	z->nxdomain = keep(bd, img);
	imgb_reset(bd->b, z->apex->name, NULL);
	add_soa(bd->b, z);
	img = imgb_finish(bd->b, bd->s->arena, 0, true, NULL, 0, 0, 0);
	z->nodata = keep(bd, img);
}

static const struct image *build_chaos(struct build *bd, const char *name, const char *text)
{
	uint8_t wire[DNAME_MAXLEN], rdata[1 + CONF_CHAOS_TEXT_MAX];
	size_t tl = text ? strlen(text) : 0;
	int l = dname_from_str(wire, name);

	imgb_reset(bd->b, wire, wire);
	if (text) {
		/* TXT: one character-string; conf_load refuses longer text. */
		assert(tl <= CONF_CHAOS_TEXT_MAX);
		rdata[0] = (uint8_t)tl;
		memcpy(rdata + 1, text, tl);
		imgb_add_rr(bd->b, IMG_ANSWER, wire, DNS_TYPE_TXT, DNS_CLASS_CH, 0, rdata,
			    (uint16_t)(1 + tl));
	}
	return keep(bd, imgb_finish(bd->b, bd->s->arena, 0, true, NULL, 0, 0, (unsigned)l));
}

/* --- assembling the snapshot -------------------------------------------- */

static struct snap_zone *deepest_zone(struct snapshot *s, const uint8_t *name)
{
	struct snap_zone *best = NULL;

	for (size_t i = 0; i < s->nzones; i++) {
		struct snap_zone *z = &s->zones[i];
		if (dname_is_below_or_equal(name, z->data.origin) &&
		    (!best || z->data.origin_len > best->data.origin_len)) {
			best = z;
		}
	}
	return best;
}

static void add_zone_nodes(struct build *bd, struct snap_zone *z)
{
	struct snapshot *s = bd->s;
	struct zone_data *d = &z->data;

	z->apex = node_get(s, d->origin, z);
	z->apex->is_apex = true;
	for (size_t i = 0; i < d->nrrs;) {
		struct zone_rr *rr = &d->rrs[i];
		size_t j = i, l = dname_len(rr->owner);
		struct node *n;
		/* Records for the same name are consecutive (zone_load sorts). */
		while (j < d->nrrs && dname_len(d->rrs[j].owner) == l &&
		       memcmp(d->rrs[j].owner, rr->owner, l) == 0) {
			j++;
		}
		struct snap_zone *owner_zone = deepest_zone(s, rr->owner);
		if (owner_zone != z) {
			/* Shadowed by a child zone we also serve: its own data wins,
			 * except the DS at its apex, which is ours to answer. */
			for (size_t k = i; k < j; k++) {
				if (d->rrs[k].type == DNS_TYPE_DS &&
				    dname_len(owner_zone->data.origin) == l &&
				    memcmp(owner_zone->data.origin, rr->owner, l) == 0) {
					struct node *cn = node_get(s, rr->owner, owner_zone);
					size_t m = k;
					while (m < j && d->rrs[m].type == DNS_TYPE_DS) {
						m++;
					}
					struct rrset *grown = arena_alloc(s->arena, (cn->nrrsets + 1u) * sizeof(*grown));
					if (cn->nrrsets) {
						memcpy(grown, cn->rrsets, cn->nrrsets * sizeof(*grown));
					}
					cn->rrsets = grown;
					struct rrset *rs = &cn->rrsets[cn->nrrsets++];
					rs->type = DNS_TYPE_DS;
					rs->count = (uint16_t)(m - k);
					rs->rrs = &d->rrs[k];
					rs->ttl = d->rrs[k].ttl;
					break;
				}
			}
			i = j;
			continue;
		}
		n = node_get(s, rr->owner, z);
		size_t ntypes = 0;
		for (size_t k = i; k < j; k++) {
			ntypes += k == i || d->rrs[k].type != d->rrs[k - 1].type;
		}
		{
			struct rrset *grown = arena_alloc(s->arena, (n->nrrsets + ntypes) * sizeof(*grown));
			if (n->nrrsets) {
				memcpy(grown, n->rrsets, n->nrrsets * sizeof(*grown));
			}
			n->rrsets = grown;
		}
		for (size_t k = i; k < j;) {
			size_t m = k;
			while (m < j && d->rrs[m].type == d->rrs[k].type) {
				m++;
			}
			struct rrset *rs = &n->rrsets[n->nrrsets++];
			rs->type = d->rrs[k].type;
			rs->count = (uint16_t)(m - k);
			rs->rrs = &d->rrs[k];
			rs->ttl = d->rrs[k].ttl;
			for (size_t q = k + 1; q < m; q++) {
				if (d->rrs[q].ttl != rs->ttl) {
					log_warn("%s:%d: TTL %u differs from %u earlier in the same RRset; using %u (RFC 2181 5.2)",
						 d->rrs[q].file, d->rrs[q].line, d->rrs[q].ttl, rs->ttl,
						 rs->ttl);
				}
			}
			k = m;
		}
		i = j;
	}
	{
		const struct rrset *soa = node_rrset(z->apex, DNS_TYPE_SOA);
		const struct zone_rr *rr = &soa->rrs[0];
		const uint8_t *p = rr->rdata + rr->rdlen - 4;
		uint32_t minimum = (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
		z->neg_ttl = soa->ttl < minimum ? soa->ttl : minimum;
	}
}

static void add_pools(struct build *bd)
{
	struct snapshot *s = bd->s;
	struct conf *conf = s->conf;

	s->npools = conf->npools;
	s->pools = xcalloc(s->npools, sizeof(*s->pools));
	for (size_t i = 0; i < conf->npools; i++) {
		struct conf_pool *cp = &conf->pools[i];
		pool_init(&s->pools[i], cp, (uint32_t)i);
		for (size_t j = 0; j < cp->nowners; j++) {
			uint8_t wire[DNAME_MAXLEN];
			struct snap_zone *z;
			struct node *n;
			dname_from_str(wire, cp->owners[j]);
			z = deepest_zone(s, wire);
			if (!z) {
				log_err("%s:%d: pools[%zu].owners: \"%s\" is not inside any served zone",
					conf->path, cp->owner_lines[j], i, cp->owners[j]);
				bd->errors++;
				continue;
			}
			n = node_get(s, wire, z);
			if (node_pool(n)) {
				log_err("%s:%d: pools[%zu].owners: \"%s\" is already an owner of pool \"%s\"",
					conf->path, cp->owner_lines[j], i, cp->owners[j], node_pool(n)->name);
				bd->errors++;
				continue;
			}
			static const uint16_t clash[] = { DNS_TYPE_A, DNS_TYPE_AAAA, DNS_TYPE_CNAME };
			for (unsigned k = 0; k < 3; k++) {
				const struct rrset *rs = node_rrset(n, clash[k]);
				if (rs) {
					log_err("%s:%d: pools[%zu].owners: \"%s\" collides with the %s record at %s:%d",
						conf->path, cp->owner_lines[j], i, cp->owners[j],
						clash[k] == DNS_TYPE_A ? "A" : clash[k] == DNS_TYPE_AAAA ? "AAAA" : "CNAME",
						rs->rrs[0].file, rs->rrs[0].line);
					bd->errors++;
				}
			}
			node_x(s, n)->pool = &s->pools[i];
			node_x(s, n)->pool_line = cp->owner_lines[j];
		}
	}
}

/* Delegations: every non-apex node with NS is a cut; everything below it
 * (glue included) is answered with the topmost cut's referral. */
static void find_cuts(struct build *bd)
{
	struct snapshot *s = bd->s;
	char tmp[1100];

	for (size_t i = 0; i <= s->mask; i++) {
		struct node *n = s->table[i];
		if (n && !n->is_apex && node_rrset(n, DNS_TYPE_NS)) {
			n->is_cut = true;
		}
	}
	for (size_t i = 0; i <= s->mask; i++) {
		struct node *n = s->table[i];
		if (!n) {
			continue;
		}
		for (const uint8_t *p = n->name; dname_len(p) > n->zone->data.origin_len;
		     p += p[0] + 1) {
			struct node *a = node_find(s, p);
			if (a && a->is_cut) {
				node_x(s, n)->cut = a; /* keep walking: the topmost one wins */
			}
		}
		if (n->name[0] == 1 && n->name[1] == '*') {
			struct node *parent = node_find(s, n->name + 2);
			if (parent) {
				node_x(s, parent)->wild = n;
			}
		}
		if (node_pool(n) && node_cut(n)) {
			log_err("%s:%d: pools[%u].owners: \"%s\" is at or below the delegation %s",
				s->conf->path, node_pool_line(n), node_pool(n)->index,
				dname_to_str(tmp, sizeof(tmp), n->name),
				dname_to_str(tmp + 550, sizeof(tmp) - 550, node_cut(n)->name));
			bd->errors++;
		}
	}
}

static void fmt_target(char *buf, size_t size, int family, const uint8_t *addr, unsigned port)
{
	char a[INET6_ADDRSTRLEN];

	inet_ntop(family, addr, a, sizeof(a));
	if (port == 0) {
		snprintf(buf, size, "%s", a); /* file and exec checks need no port */
	} else {
		snprintf(buf, size, family == AF_INET6 ? "[%s]:%u" : "%s:%u", a, port);
	}
}

/* The common part of a probe here; the check's kind adds its own. */
static struct probe_spec *make_spec(const struct conf_check *k, const struct conf_member *m,
				    const char *key, const char *target, int family,
				    const uint8_t *addr, unsigned port, struct health_entry *e)
{
	struct probe_spec *ps = xcalloc(1, sizeof(*ps));

	ps->key = xstrdup(key);
	ps->entry = e;
	ps->kind = k->kind;
	ps->target = xstrdup(target);
	if (family == AF_INET) {
		struct sockaddr_in *sin = (struct sockaddr_in *)&ps->addr;
		sin->sin_family = AF_INET;
		sin->sin_port = htons((uint16_t)port);
		memcpy(&sin->sin_addr, addr, 4);
		ps->addrlen = sizeof(*sin);
	} else {
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ps->addr;
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons((uint16_t)port);
		memcpy(&sin6->sin6_addr, addr, 16);
		ps->addrlen = sizeof(*sin6);
	}
	ps->interval = k->interval;
	ps->timeout = k->timeout;
	ps->rise = k->rise;
	ps->fall = k->fall;
	if (k->kind->make_spec) {
		k->kind->make_spec(ps, k, m);
	}
	return ps;
}

/* Give every member its health and admin words, and collect the probes. */
static void wire_health(struct build *bd)
{
	struct snapshot *s = bd->s;
	const struct conf *conf = s->conf;
	struct health_table *t = s->health;
	struct health_entry *always = NULL;
	size_t capspecs = 0;

	for (size_t i = 0; i < s->npools; i++) {
		const struct conf_pool *cp = &conf->pools[i];
		const struct conf_pool *bp = conf_find_pool(conf, cp->backup);
		s->pools[i].backup = bp ? &s->pools[bp - conf->pools] : NULL;
	}
	if (!t) {
		return;
	}
	always = health_always_up(t);
	for (size_t i = 0; i < s->npools; i++) {
		const struct conf_pool *cp = &conf->pools[i];
		struct pool *p = &s->pools[i];
		unsigned k4 = 0, k6 = 0;
		p->checked = true; /* admin words apply to every pool */
		for (size_t j = 0; j < cp->nmembers; j++) {
			const struct conf_member *m = &cp->members[j];
			const struct conf_check *k = conf_find_check(conf, m->check ? m->check : cp->check);
			struct pool_family *f = m->family == AF_INET ? &p->v4 : &p->v6;
			unsigned idx = m->family == AF_INET ? k4++ : k6++;
			char target[300];
			struct health_entry *e = always;
			f->aword[idx] = health_entry_word(health_get_admin(t, p->name, f->text[idx]));
			f->slow_start[idx] = cp->slow_start >= 0 ? cp->slow_start : k ? k->slow_start : 0;
			/* A kind that never probes (none) leaves the member always up. */
			if (k && k->kind->start) {
				int fam = m->probe_family ? m->probe_family : m->family;
				const uint8_t *addr = m->probe_family ? m->probe_addr : m->addr;
				unsigned port = m->port ? m->port : k->port;
				fmt_target(target, sizeof(target), fam, addr, port);
				e = health_get(t, target, k->name, k->kind->name, k->initial_up);
				if (!e) {
					log_err("%s:%d: health key %s/%s clashes with an admin entry",
						conf->path, m->line, target, k->name);
					bd->errors++;
					continue;
				}
				/* One probe per key, however many pools share it. */
				if (health_first_use(t, e)) {
					if (s->nspecs == capspecs) {
						capspecs = capspecs ? capspecs * 2 : 16;
						s->specs = xrealloc(s->specs, capspecs * sizeof(*s->specs));
					}
					s->specs[s->nspecs++] = make_spec(k, m, health_entry_key(e),
									  target, fam, addr, port, e);
				}
			}
			f->hword[idx] = health_entry_word(e);
		}
	}
}

struct snapshot *snapshot_build(struct conf *conf)
{
	return snapshot_build_health(conf, NULL);
}

struct snapshot *snapshot_build_health(struct conf *conf, struct health_table *health)
{
	static _Atomic uint64_t serials; /* a name for each snapshot, never reused */
	struct snapshot *s = xcalloc(1, sizeof(*s));
	struct build bd = { s, NULL, 0, NULL, 0, 0 };

	s->serial = atomic_fetch_add(&serials, 1) + 1;
	s->conf = conf;
	s->health = health;
	if (health) {
		health_build_begin(health);
	}
	s->arena = arena_new();
	s->nzones = conf->nzones;
	s->zones = xcalloc(s->nzones, sizeof(*s->zones));
	for (size_t i = 0; i < conf->nzones; i++) {
		if (access(conf->zones[i].file, R_OK) != 0) {
			log_err("%s:%d: zones[%zu].file: cannot read \"%s\": %s", conf->path,
				conf->zones[i].line, i, conf->zones[i].file, strerror(errno));
			bd.errors++;
			continue;
		}
		if (zone_load(&s->zones[i].data, conf->zones[i].origin, conf->zones[i].file) != 0) {
			bd.errors++;
		}
	}
	if (bd.errors) {
		goto fail;
	}
	if (dnssec_prepare(s) != 0) {
		goto fail;
	}
	table_grow(s);
	for (size_t i = 0; i < s->nzones; i++) {
		add_zone_nodes(&bd, &s->zones[i]);
	}
	for (size_t i = 0; i < s->nzones; i++) {
		/* A child apex whose parent zone we serve too answers DS from it. */
		struct snap_zone *z = &s->zones[i], *best = NULL;
		for (size_t k = 0; k < s->nzones; k++) {
			struct snap_zone *p = &s->zones[k];
			if (p != z && p->data.origin_len < z->data.origin_len &&
			    dname_is_below_or_equal(z->data.origin, p->data.origin) &&
			    (!best || p->data.origin_len > best->data.origin_len)) {
				best = p;
			}
		}
		if (best) {
			node_x(s, z->apex)->ds_parent = best;
		}
	}
	add_pools(&bd);
	wire_health(&bd);
	find_cuts(&bd);
	if (bd.errors) {
		goto fail;
	}
	if (dnssec_sign(s) != 0) {
		goto fail;
	}
	bd.b = imgb_new();
	for (size_t i = 0; i <= s->mask; i++) {
		struct node *n = s->table[i];
		if (n && n->is_cut) {
			imgb_reset(bd.b, n->name, NULL);
			bool req = add_referral(&bd, n);
			struct image *img = imgb_finish(bd.b, s->arena, 0, false, NULL, 0, 0, 0);
			if (img) {
				img->glue_required = req;
			}
			node_x(s, n)->referral = keep(&bd, img);
		}
	}
	for (size_t i = 0; i < s->nzones; i++) {
		build_zone_images(&bd, &s->zones[i]);
	}
	for (size_t i = 0; i <= s->mask; i++) {
		if (s->table[i]) {
			build_node(&bd, s->table[i]);
		}
	}
	if (conf->chaos_version) {
		s->chaos_version = build_chaos(&bd, "version.bind", conf->chaos_version);
	}
	if (conf->chaos_id) {
		s->chaos_id = build_chaos(&bd, "id.server", conf->chaos_id);
	}
	s->chaos_nodata = build_chaos(&bd, "version.bind", NULL);
	imgb_free(bd.b);
	free(bd.extra);
	if (bd.errors) {
		goto fail;
	}
	/* Parsing freed many small ldns objects: hand that heap back. */
	malloc_trim(0);
	return s;
fail:
	snapshot_free(s);
	return NULL;
}

size_t snapshot_memory(const struct snapshot *s)
{
	size_t n = arena_used(s->arena) + (s->mask + 1) * sizeof(struct node *);

	for (size_t i = 0; i < s->nzones; i++) {
		const struct zone_data *d = &s->zones[i].data;
		n += d->nrrs * sizeof(*d->rrs) + (d->arena ? arena_used(d->arena) : 0);
	}
	return n + dnssec_memory(s);
}

void snapshot_free(struct snapshot *s)
{
	if (!s) {
		return;
	}
	dnssec_free(s);
	free(s->table);
	arena_free(s->arena);
	for (size_t i = 0; i < s->nzones; i++) {
		zone_clear(&s->zones[i].data);
	}
	free(s->zones);
	for (size_t i = 0; i < s->npools; i++) {
		pool_clear(&s->pools[i]);
	}
	free(s->pools);
	for (size_t i = 0; i < s->nspecs; i++) {
		probe_spec_free(s->specs[i]);
	}
	free(s->specs);
	conf_free(s->conf);
	free(s);
}
