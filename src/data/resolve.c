/* resolve.c -- the answer decision, one rule at a time (see resolve.h). */
#include "config.h"

#include <string.h>
#include <strings.h>

#include "data/resolve.h"
#include "dns/wire.h"

/* At a delegation everything is a referral but the DS of the topmost cut,
 * which is the parent's own data (RFC 4035 3.1.4.1). */
static bool refers(const struct node *n, uint16_t qtype)
{
	return node_cut(n) && !(qtype == DNS_TYPE_DS && node_cut(n) == n);
}

/* RFC 8482: ANY is answered with one RRset. A CNAME is the name's only data;
 * a pool's addresses are what the name is for; the SOA is small and telling
 * at an apex, where NS would come first. 0: nothing to pick. */
static uint16_t any_choice(const struct node *n)
{
	const struct pool *p = node_pool(n);

	if (node_rrset(n, DNS_TYPE_CNAME)) {
		return DNS_TYPE_CNAME;
	}
	if (p && pool_count(p, DNS_TYPE_A)) {
		return DNS_TYPE_A;
	}
	if (p && pool_count(p, DNS_TYPE_AAAA)) {
		return DNS_TYPE_AAAA;
	}
	if (node_rrset(n, DNS_TYPE_SOA)) {
		return DNS_TYPE_SOA;
	}
	return n->nrrsets ? n->rrsets[0].type : 0;
}

static void end_referral(struct resolution *r, const struct node *cut)
{
	r->end = RESOLVE_REFERRAL;
	r->cut = cut;
	/* The referral is authoritative for nothing; a CNAME before it still is
	 * (RFC 1034 4.3.2: AA speaks for the query name). */
	r->aa = r->nhops > 1;
}

/* The last hop is a name of ours (the node itself or its wildcard): what it
 * holds for the type. Returns false when it has a CNAME to follow. */
static bool end_at_node(struct resolution *r, struct resolve_hop *h)
{
	const struct node *n = h->node;
	const struct rrset *rs;
	uint16_t type = r->qtype;

	if (refers(n, type)) {
		end_referral(r, node_cut(n));
		return true;
	}
	if (type == DNS_TYPE_DS && n->is_apex && node_ds_parent(n)) {
		/* The apex of a child zone we also serve: its DS is the parent's
		 * (RFC 4035 3.1.4.1), and so is the NODATA when it has none. */
		r->note = RESOLVE_NOTE_DS_OF_CHILD;
		h->zone = node_ds_parent(n);
	} else {
		if (type == DNS_TYPE_DS && node_cut(n) == n) {
			r->note = RESOLVE_NOTE_DS_AT_CUT;
		}
		rs = node_rrset(n, DNS_TYPE_CNAME);
		if (rs && type != DNS_TYPE_CNAME && type != DNS_TYPE_ANY) {
			h->cname = rs;
			return false;
		}
		if (type == DNS_TYPE_ANY && any_choice(n)) {
			type = any_choice(n);
		}
		r->pool = node_pool(n);
	}
	r->type = type;
	if (r->pool && (type == DNS_TYPE_A || type == DNS_TYPE_AAAA) && pool_count(r->pool, type)) {
		r->end = RESOLVE_POOL;
		r->nodata_soa = n->zone;
		return true;
	}
	rs = node_rrset(n, type);
	if (rs) {
		r->end = RESOLVE_RRSET;
		r->rrset = rs;
		return true;
	}
	r->end = RESOLVE_NODATA;
	r->soa = h->zone;
	return true;
}

/* Where the CNAME of the last hop leads: a stop, or the next hop's match. */
static bool follow(struct resolution *r, const struct snapshot *s, enum match_kind *kind,
		   const struct node **n)
{
	const uint8_t *target = r->hop[r->nhops - 1].cname->rrs[0].rdata;
	uint8_t lt[DNAME_MAXLEN], offs[DNAME_MAXLABELS];
	size_t l = dname_len(target);

	memcpy(lt, target, l);
	dname_tolower(lt, l);
	for (unsigned i = 0; i < r->nhops; i++) {
		const struct node *v = r->hop[i].node;
		if (v->namelen == l && memcmp(v->name, lt, l) == 0) {
			r->end = RESOLVE_LOOP;
			return false;
		}
	}
	if (r->nhops >= RESOLVE_MAX_CHAIN) {
		r->end = RESOLVE_CHAIN_LIMIT;
		return false;
	}
	*kind = snapshot_find(s, lt, offs, dname_labels(lt, offs), n);
	return true;
}

void resolve_match(struct resolution *r, const struct snapshot *s, enum match_kind kind,
		   const struct node *n, const uint8_t *owner, uint16_t qtype)
{
	memset(r, 0, sizeof(*r));
	r->qtype = r->type = qtype;
	r->rcode = DNS_RCODE_NOERROR;
	r->aa = true;
	for (;;) {
		struct resolve_hop *h = &r->hop[r->nhops++];
		h->node = n;
		h->owner = owner;
		h->zone = n ? n->zone : NULL;
		h->match = kind;
		switch (kind) {
		case MATCH_NONE:
			if (r->nhops == 1) {
				r->end = RESOLVE_REFUSED;
				r->rcode = DNS_RCODE_REFUSED;
				r->aa = false;
			} else {
				r->end = RESOLVE_OUTSIDE;
			}
			return;
		case MATCH_REFERRAL:
			end_referral(r, node_cut(n));
			return;
		case MATCH_NXDOMAIN:
			/* RFC 6604: the rcode speaks for the last name of the chain. */
			r->end = RESOLVE_NXDOMAIN;
			r->rcode = DNS_RCODE_NXDOMAIN;
			r->soa = n->zone;
			return;
		case MATCH_EXACT:
		case MATCH_WILDCARD:
		default:
			break;
		}
		if (end_at_node(r, h) || !follow(r, s, &kind, &n)) {
			return;
		}
		owner = h->cname->rrs[0].rdata;
	}
}

/* Where the target name starts in the rdata of @type, which has one. */
static size_t target_offset(uint16_t type)
{
	switch (type) {
	case DNS_TYPE_MX:
		return 2; /* preference */
	case DNS_TYPE_SRV:
		return 6; /* priority, weight, port */
	case DNS_TYPE_NS:
	default:
		return 0;
	}
}

unsigned resolve_targets(const struct resolution *r)
{
	if (r->end != RESOLVE_RRSET) {
		return 0;
	}
	switch (r->rrset->type) {
	case DNS_TYPE_NS:
	case DNS_TYPE_MX:
	case DNS_TYPE_SRV:
		return r->rrset->count;
	default:
		return 0;
	}
}

void resolve_target(struct resolve_target *t, const struct snapshot *s, const struct resolution *r,
		    unsigned i)
{
	const struct rrset *rs = r->rrset;
	size_t off = target_offset(rs->type);
	const struct snap_zone *zone = r->hop[r->nhops - 1].zone;
	uint8_t lt[DNAME_MAXLEN], offs[DNAME_MAXLABELS];
	const struct node *n;
	size_t l;

	memset(t, 0, sizeof(*t));
	t->name = rs->rrs[i].rdata + off;
	l = dname_len(t->name);
	if (l == 1) {
		t->extra = RESOLVE_EXTRA_NO_TARGET;
		return;
	}
	for (unsigned j = 0; j < i; j++) {
		const uint8_t *e = rs->rrs[j].rdata + off;
		if (dname_len(e) == l &&
		    strncasecmp((const char *)e, (const char *)t->name, l) == 0) {
			t->extra = RESOLVE_EXTRA_REPEATED;
			return;
		}
	}
	memcpy(lt, t->name, l);
	dname_tolower(lt, l);
	switch (snapshot_find(s, lt, offs, dname_labels(lt, offs), &n)) {
	case MATCH_EXACT:
	case MATCH_WILDCARD:
		break;
	case MATCH_NONE:
		t->extra = RESOLVE_EXTRA_OUT_OF_ZONE;
		return;
	case MATCH_REFERRAL: /* below a delegation, no name of the data: no glue either */
	case MATCH_NXDOMAIN:
	default:
		t->extra = n->zone == zone ? RESOLVE_EXTRA_NONE : RESOLVE_EXTRA_OUT_OF_ZONE;
		return;
	}
	t->node = n;
	if (n->zone != zone) {
		t->extra = RESOLVE_EXTRA_OUT_OF_ZONE;
	} else if (node_cut(n) && rs->type != DNS_TYPE_NS) {
		/* Occluded data is not ours to vouch for; an NS answer may carry
		 * glue, as a referral does (NSD's rule). */
		t->extra = RESOLVE_EXTRA_NOT_AUTH;
	} else if (node_rrset(n, DNS_TYPE_CNAME)) {
		t->extra = RESOLVE_EXTRA_ALIAS;
	} else if (node_pool(n)) {
		/* A pool owner holds no A or AAAA of its own (snapshot.c refuses). */
		t->extra = RESOLVE_EXTRA_POOL;
		t->pool = node_pool(n);
	} else {
		t->a = node_rrset(n, DNS_TYPE_A);
		t->aaaa = node_rrset(n, DNS_TYPE_AAAA);
		t->extra = t->a || t->aaaa ? RESOLVE_EXTRA_ADDRESSES : RESOLVE_EXTRA_NONE;
	}
}

bool resolve_same(const struct resolution *a, const struct resolution *b)
{
	if (a->nhops != b->nhops || a->end != b->end || a->rcode != b->rcode || a->aa != b->aa) {
		return false;
	}
	for (unsigned i = 0; i < a->nhops; i++) {
		if (a->hop[i].owner != b->hop[i].owner || a->hop[i].cname != b->hop[i].cname) {
			return false;
		}
	}
	switch (a->end) {
	case RESOLVE_RRSET:
		return a->rrset == b->rrset;
	case RESOLVE_POOL:
		return a->pool == b->pool && a->type == b->type && a->nodata_soa == b->nodata_soa;
	case RESOLVE_NODATA:
	case RESOLVE_NXDOMAIN:
		return a->soa == b->soa;
	case RESOLVE_REFERRAL:
		return a->cut == b->cut;
	default:
		return true;
	}
}
