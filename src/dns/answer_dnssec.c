/* answer_dnssec.c -- DO=1 answers for signed zones (see answer_dnssec.h).
 *
 * The decision is resolve_match()'s, as for every image; what differs is
 * that each RRset is followed by its RRSIGs and that negative and wildcard
 * answers carry the NSEC records that prove them (RFC 4035 3.1). The NSEC
 * that covers a name depends on the name asked, so it is found per query by
 * binary search in the zone's chain; every byte written was made at load
 * time. Names are compressed only as far as pointers to the query name and
 * to names already written; RRSIG and NSEC rdata are never compressed
 * (RFC 4034 3.1.7, 4.1.1). */
#include "config.h"

#include <string.h>

#include "data/resolve.h"
#include "dns/answer_dnssec.h"
#include "dns/wire.h"
#include "dnssec/dnssec.h"

#define KNOWN_NAMES 16
#define MAX_PROOFS 8

struct writer {
	const struct snapshot *s;
	uint8_t *p;
	size_t n, room;
	uint16_t count[3];
	bool full;
	struct {
		const uint8_t *name;
		uint16_t off;
		uint16_t len;
	} known[KNOWN_NAMES];
	unsigned nknown;
	const struct node *proofs[MAX_PROOFS]; /* NSEC owners written */
	unsigned nproofs;
};

/* @a and @b, both @l bytes long, are the same name (ASCII case ignored). */
static bool name_eq(const uint8_t *a, const uint8_t *b, size_t l)
{
	if (a == b) {
		return true;
	}
	for (size_t i = 0; i < l; i++) {
		uint8_t x = a[i], y = b[i];
		x = (uint8_t)(x >= 'A' && x <= 'Z' ? x + 32 : x);
		y = (uint8_t)(y >= 'A' && y <= 'Z' ? y + 32 : y);
		if (x != y) {
			return false;
		}
	}
	return true;
}

/* Where @name (@l bytes) was written, or 0. */
static uint16_t name_ref_len(const struct writer *w, const uint8_t *name, size_t l)
{
	for (unsigned i = 0; i < w->nknown; i++) {
		if (w->known[i].len == l && name_eq(w->known[i].name, name, l)) {
			return w->known[i].off;
		}
	}
	return 0;
}

static uint16_t name_ref(const struct writer *w, const uint8_t *name)
{
	return name_ref_len(w, name, dname_len(name));
}

static void remember(struct writer *w, const uint8_t *name, size_t off)
{
	if (w->nknown < KNOWN_NAMES && off < 0x3FFF) {
		w->known[w->nknown].name = name;
		w->known[w->nknown].len = (uint16_t)dname_len(name);
		w->known[w->nknown++].off = (uint16_t)off;
	}
}

/* Owner @name, then @need more bytes must fit. */
static bool put_owner(struct writer *w, const uint8_t *name, size_t need)
{
	size_t nl = dname_len(name);
	uint16_t ref = name_ref_len(w, name, nl);
	size_t l = ref ? 2 : nl;

	if (w->full || w->n + l + need > w->room) {
		w->full = true;
		return false;
	}
	if (ref) {
		w->p[w->n] = (uint8_t)(0xC0 | (ref >> 8));
		w->p[w->n + 1] = (uint8_t)ref;
	} else {
		memcpy(w->p + w->n, name, l);
		remember(w, name, w->n);
	}
	w->n += l;
	return true;
}

static void put_rr(struct writer *w, int sec, const uint8_t *owner, uint16_t type, uint32_t ttl,
		   const uint8_t *rdata, uint16_t rdlen)
{
	uint8_t *p;

	if (!put_owner(w, owner, 10u + rdlen)) {
		return;
	}
	p = w->p + w->n;
	dns_wr16(p, type);
	dns_wr16(p + 2, DNS_CLASS_IN);
	dns_wr16(p + 4, (uint16_t)(ttl >> 16));
	dns_wr16(p + 6, (uint16_t)ttl);
	dns_wr16(p + 8, rdlen);
	memcpy(p + 10, rdata, rdlen);
	if (type == DNS_TYPE_CNAME) {
		remember(w, rdata, w->n + 10); /* the next hop's owner points here */
	}
	w->n += 10u + rdlen;
	w->count[sec]++;
}

/* The RRSIGs @sig of an RRset owned by @owner, with @ttl (that of the RRset
 * as sent, never above the original TTL signed). */
static void put_sig(struct writer *w, int sec, const uint8_t *owner, const struct dnssec_sig *sig,
		    uint32_t ttl)
{
	const uint8_t *r = sig->wire;

	for (unsigned i = 0; i < sig->n; i++) {
		size_t len = 10u + dns_rd16(r + 8);
		if (!put_owner(w, owner, len)) {
			return;
		}
		memcpy(w->p + w->n, r, len);
		dns_wr16(w->p + w->n + 4, (uint16_t)(ttl >> 16));
		dns_wr16(w->p + w->n + 6, (uint16_t)ttl);
		w->n += len;
		w->count[sec]++;
		r += len;
	}
}

static void put_rrset(struct writer *w, int sec, const uint8_t *owner, const struct rrset *rs,
		      uint32_t ttl)
{
	const struct dnssec_sig *sig = dnssec_rrset_sig(w->s, rs);

	for (unsigned i = 0; i < rs->count; i++) {
		put_rr(w, sec, owner, rs->type, ttl, rs->rrs[i].rdata, rs->rrs[i].rdlen);
	}
	if (sig) {
		put_sig(w, sec, owner, sig, ttl);
	}
}

/* The NSEC of @n (and its RRSIG) in authority, once per response. */
static void put_nsec(struct writer *w, const struct node *n)
{
	const struct rrset *rs = n ? node_rrset(n, DNS_TYPE_NSEC) : NULL;

	if (!rs) {
		return;
	}
	for (unsigned i = 0; i < w->nproofs; i++) {
		if (w->proofs[i] == n) {
			return;
		}
	}
	if (w->nproofs < MAX_PROOFS) {
		w->proofs[w->nproofs++] = n;
	}
	put_rrset(w, 1, n->name, rs, rs->ttl);
}

/* The NSEC that proves @name (as written; any case) does not exist in @z. */
static void put_cover(struct writer *w, const struct snap_zone *z, const uint8_t *name)
{
	uint8_t lower[DNAME_MAXLEN];
	size_t l = dname_len(name);

	if (!z || !z->dnssec) {
		return;
	}
	memcpy(lower, name, l);
	dname_tolower(lower, l);
	put_nsec(w, dnssec_nsec_cover(z, lower));
}

static void put_soa(struct writer *w, const struct snap_zone *z)
{
	const struct rrset *soa = node_rrset(z->apex, DNS_TYPE_SOA);

	put_rrset(w, 1, z->apex->name, soa, z->neg_ttl);
}

/* RFC 4035 3.1.3.2: NODATA at the last hop @h, in zone @z. */
static void put_nodata_proof(struct writer *w, const struct resolve_hop *h,
			     const struct snap_zone *z)
{
	const struct node *n = h->node;

	if (!z || !z->dnssec) {
		return;
	}
	if (h->match == MATCH_WILDCARD) {
		put_nsec(w, n);		   /* the wildcard has no such type */
		put_cover(w, z, h->owner); /* and the name itself does not exist */
	} else if (n->zone == z && node_rrset(n, DNS_TYPE_NSEC)) {
		put_nsec(w, n);
	} else {
		put_nsec(w, dnssec_nsec_cover(z, n->name)); /* an empty non-terminal */
	}
}

/* RFC 4035 3.1.3.2: the name does not exist, nor a wildcard at its closest
 * encloser @ce. */
static void put_nxdomain_proof(struct writer *w, const struct resolve_hop *h,
			       const struct snap_zone *z)
{
	uint8_t wild[DNAME_MAXLEN];
	const struct node *ce = h->node;

	if (!z || !z->dnssec) {
		return;
	}
	put_cover(w, z, h->owner);
	if (ce->namelen + 2u <= DNAME_MAXLEN) {
		wild[0] = 1;
		wild[1] = '*';
		memcpy(wild + 2, ce->name, ce->namelen);
		put_nsec(w, dnssec_nsec_cover(z, wild));
	}
}

/* RFC 4035 3.1.4: the NS of the delegation, then its signed DS or the
 * signed NSEC that proves there is none; glue in additional. */
static void put_referral(struct writer *w, const struct node *cut)
{
	const struct rrset *ns = node_rrset(cut, DNS_TYPE_NS), *ds = node_rrset(cut, DNS_TYPE_DS);
	bool required = false;
	size_t mark;
	uint16_t marks;

	put_rrset(w, 1, cut->name, ns, ns->ttl);
	if (ds) {
		put_rrset(w, 1, cut->name, ds, ds->ttl);
	} else {
		put_nsec(w, cut);
	}
	if (w->full) {
		return;
	}
	mark = w->n;
	marks = w->count[2];
	for (unsigned i = 0; i < ns->count; i++) {
		const uint8_t *target = ns->rrs[i].rdata;
		uint8_t lt[DNAME_MAXLEN], offs[DNAME_MAXLABELS];
		size_t l = dname_len(target);
		const struct node *t;
		memcpy(lt, target, l);
		dname_tolower(lt, l);
		enum match_kind mk = snapshot_find(w->s, lt, offs, dname_labels(lt, offs), &t);
		if (mk != MATCH_EXACT && mk != MATCH_REFERRAL) {
			continue;
		}
		if (!t || t->zone != cut->zone || t->namelen != l || memcmp(t->name, lt, l) != 0) {
			continue;
		}
		const struct rrset *a = node_rrset(t, DNS_TYPE_A),
				   *aaaa = node_rrset(t, DNS_TYPE_AAAA);
		if (a) {
			put_rrset(w, 2, t->name, a, a->ttl);
		}
		if (aaaa) {
			put_rrset(w, 2, t->name, aaaa, aaaa->ttl);
		}
		required |= (a || aaaa) && dname_is_below_or_equal(lt, cut->name);
	}
	if (w->full && !required) {
		/* Glue outside the delegation is optional (RFC 9471): leave it out. */
		w->full = false;
		w->n = mark;
		w->count[2] = marks;
	}
}

/* The pool's chosen members and the signature of exactly that set. Returns
 * false for SERVFAIL (a last resort of NODATA or SERVFAIL, or a set without a
 * signature). */
static bool put_pool(struct writer *w, const struct resolution *r, const struct resolve_hop *h,
		     struct pool_state *st, struct request *req)
{
	uint16_t ref = name_ref(w, h->owner);
	unsigned alen = r->type == DNS_TYPE_A ? 4 : 16;
	unsigned rrlen = r->type == DNS_TYPE_A ? POOL_RR4_LEN : POOL_RR6_LEN;
	uint8_t addrs[64 * 16];
	const struct dnssec_sig *sig;
	size_t written = 0;
	int k;

	if (!ref || w->full) {
		w->full = true;
		return true;
	}
	k = pool_write(w->p + w->n, w->room - w->n, &written, r->pool, r->type, ref, st,
		       w->s->health, req);
	if (k == POOL_NO_ROOM) {
		w->full = true;
		return true;
	}
	if (k < 0 || k > 64) {
		return false;
	}
	for (int i = 0; i < k; i++) {
		memcpy(addrs + (size_t)i * alen, w->p + w->n + (size_t)i * rrlen + 12, alen);
	}
	sig = dnssec_set_sig(w->s, h->node, r->type, addrs, (unsigned)k, alen);
	if (!sig) {
		return false; /* never sent unsigned to a DO=1 client */
	}
	{
		const uint8_t *t = w->p + w->n + 6;
		uint32_t ttl = (uint32_t)dns_rd16(t) << 16 | dns_rd16(t + 2);
		w->n += written;
		w->count[0] = (uint16_t)(w->count[0] + k);
		put_sig(w, 0, h->owner, sig, ttl);
	}
	return true;
}

bool answer_dnssec(struct dnssec_out *o, const struct snapshot *s, struct request *req,
		   struct pool_state *st, uint8_t *resp, size_t start, size_t room)
{
	const struct query *q = &req->q;
	struct writer w;
	struct resolution r;
	const struct node *n;
	enum match_kind kind;
	const struct resolve_hop *last;
	bool ok = true;

	kind = snapshot_find(s, q->qname, q->label_off, q->nlabels, &n);
	if (kind == MATCH_NONE || !n || !n->zone->dnssec) {
		return false;
	}
	resolve_match(&r, s, kind, n, q->qname, q->qtype);
	req->node = n;
	memset(&w, 0, sizeof(w));
	w.s = s;
	w.p = resp;
	w.n = start;
	w.room = room;
	remember(&w, q->qname, DNS_HEADER_LEN);
	last = &r.hop[r.nhops - 1];

	/* Answer: the CNAMEs on the way, then the records the chain ends in. */
	for (unsigned i = 0; i < r.nhops; i++) {
		if (r.hop[i].cname) {
			put_rrset(&w, 0, r.hop[i].owner, r.hop[i].cname, r.hop[i].cname->ttl);
		}
	}
	switch (r.end) {
	case RESOLVE_RRSET:
		put_rrset(&w, 0, last->owner, r.rrset, r.rrset->ttl);
		break;
	case RESOLVE_POOL:
		ok = put_pool(&w, &r, last, st, req);
		break;
	default:
		break;
	}
	/* Authority: the SOA of a negative answer, the delegation, the proofs. */
	switch (r.end) {
	case RESOLVE_NODATA:
		put_soa(&w, r.soa);
		put_nodata_proof(&w, last, r.soa);
		break;
	case RESOLVE_NXDOMAIN:
		put_soa(&w, r.soa);
		put_nxdomain_proof(&w, last, r.soa);
		break;
	case RESOLVE_REFERRAL:
		put_referral(&w, r.cut);
		break;
	default:
		break;
	}
	/* RFC 4035 3.1.3.3: a wildcard answer proves that the name asked for
	 * does not exist (the NODATA proof above did it for the last hop). */
	for (unsigned i = 0; i < r.nhops; i++) {
		const struct resolve_hop *h = &r.hop[i];
		if (h->match == MATCH_WILDCARD && !(h == last && r.end == RESOLVE_NODATA)) {
			put_cover(&w, h->zone, h->owner);
		}
	}
	memset(o, 0, sizeof(*o));
	if (!ok) {
		o->n = start;
		o->rcode = DNS_RCODE_SERVFAIL;
		o->kind = RESPONSE_ERROR;
		return true;
	}
	o->n = w.n;
	memcpy(o->count, w.count, sizeof(o->count));
	o->rcode = r.rcode;
	o->aa = r.aa;
	o->tc = w.full;
	if (r.rcode == DNS_RCODE_NXDOMAIN) {
		o->kind = RESPONSE_NXDOMAIN;
	} else if (!r.aa) {
		o->kind = RESPONSE_REFERRAL;
	} else {
		o->kind = w.count[0] || (o->tc && r.end != RESOLVE_NODATA) ? RESPONSE_ANSWER
									   : RESPONSE_NODATA;
	}
	return true;
}
