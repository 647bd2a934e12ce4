/* explain.c -- `explain NAME TYPE`: why a name is answered the way it is now. */
#include "config.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <ldns/ldns.h>

#include "ctl/explain.h"
#include "ctl/protocol.h"
#include "ctl/status.h"
#include "dns/wire.h"

/* The answer path follows at most this many CNAME links (snapshot.c). */
#define MAX_CHAIN 8

struct ctl {
	const struct snapshot *s;
	struct health_table *t;
	struct sbuf out;
};

static const struct pool_family *family_of(const struct pool *p, uint16_t qtype)
{
	return qtype == DNS_TYPE_A ? &p->v4 : &p->v6;
}

/* --- explain --------------------------------------------------------------- */

static const char *type_name(char *buf, size_t size, uint16_t type)
{
	char *s = ldns_rr_type2str((ldns_rr_type)type);

	snprintf(buf, size, "%s", s ? s : "?");
	free(s);
	return buf;
}

/* "A", "aaaa", "TYPE65" or "65"; 0 if none of these. */
static uint16_t parse_type(const char *str)
{
	char *end;
	unsigned long v;

	if (isdigit((unsigned char)str[0])) {
		v = strtoul(str, &end, 10);
		return *end || v == 0 || v > 65535 ? 0 : (uint16_t)v;
	}
	return (uint16_t)ldns_get_rr_type_by_name(str);
}

/* Why one member is, or is not, in the answer. */
static void explain_member(struct ctl *x, const struct member_view *mv)
{
	const struct health_info *h = &mv->h;
	struct sbuf *b = &x->out;
	const char *health = !mv->known || h->state == HEALTH_UP ? "up" : "down";
	char rbuf[HEALTH_REASON_MAX];

	sb_printf(b, "    %s ", mv->address);
	if (mv->admin == ADMIN_DRAINED) {
		sb_printf(b, "drained (operator override; health %s)\n", health);
	} else if (mv->admin == ADMIN_FORCED_UP) {
		sb_printf(b, "forced-up (operator override; health %s)\n", health);
	} else if (mv->always) {
		sb_printf(b, "up (no check)\n");
	} else if (!h->probed) {
		sb_printf(b, "%s (not probed yet: initial or saved state)\n", health);
	} else if (h->last_ok == (h->state == HEALTH_UP)) {
		sb_printf(b, "%s (last probe %s: %s)\n", health, h->last_ok ? "ok" : "failed",
			  sb_printable(rbuf, sizeof(rbuf), h->reason));
	} else {
		/* The last result disagrees with the state: rise/fall still counting. */
		sb_printf(b, "%s (last probe %s: %s; %u %s in a row so far)\n", health,
			  h->last_ok ? "ok" : "failed", sb_printable(rbuf, sizeof(rbuf), h->reason),
			  h->count, h->last_ok ? "success(es)" : "failure(s)");
	}
}

static void explain_members(struct ctl *x, const struct pool *p, const struct pool_family *f)
{
	for (unsigned i = 0; i < f->n; i++) {
		struct member_view mv;
		status_member_view(&mv, x->t, p, f, i);
		explain_member(x, &mv);
	}
}

static void explain_pool(struct ctl *x, const struct pool *p, uint16_t qtype)
{
	const struct pool_family *f = family_of(p, qtype);
	const char *fam = qtype == DNS_TYPE_A ? "A" : "AAAA";
	struct sbuf *b = &x->out;
	struct pool_explain ex;
	unsigned up = status_family_up(x->t, p, f);
	unsigned records;

	pool_explain(&ex, p, qtype, x->t);
	sb_printf(b, "pool %s (%s, %u %s per answer), %s members:\n", p->name,
		  pool_policy_name(p), f->answers,
		  f->answers == 1 ? "record" : "records", fam);
	explain_members(x, p, f);
	sb_printf(b, "min_healthy %u: %s (%u of %u up)\n", p->min_healthy,
		  up >= p->min_healthy ? "met" : "not met", up, f->n);
	if (!ex.from_backup && !ex.last_resort) {
		records = up < f->answers ? up : f->answers;
		sb_printf(b, "answer: %u %s record%s from pool %s, ttl %u%s\n", records, fam,
			  records == 1 ? "" : "s", p->name, ex.ttl,
			  up < f->n ? " (ttl_degraded: a member is down)" : "");
		return;
	}
	/* Say what happened to each backup on the way. */
	for (const struct pool *bp = p->backup; bp; bp = bp->backup) {
		const struct pool_family *bf = family_of(bp, qtype);
		unsigned bup = status_family_up(x->t, bp, bf);
		if (bp == ex.answered) {
			sb_printf(b, "backup %s in force (%u of %u up, min_healthy %u):\n",
				  bp->name, bup, bf->n, bp->min_healthy);
			explain_members(x, bp, bf);
			records = bup < bf->answers ? bup : bf->answers;
			sb_printf(
			    b,
			    "answer: %u %s record%s from backup %s, ttl %u (ttl_degraded of %s)\n",
			    records, fam, records == 1 ? "" : "s", bp->name, ex.ttl, p->name);
			return;
		}
		sb_printf(b, "backup %s failed too (%u of %u %s members up, min_healthy %u)\n",
			  bp->name, bup, bf->n, fam, bp->min_healthy);
	}
	if (!p->backup) {
		sb_printf(b, "no backup configured\n");
	}
	switch (p->last_resort) {
	case LAST_RESORT_NODATA:
		sb_printf(b, "last resort nodata in force: answer NODATA, SOA in authority\n");
		break;
	case LAST_RESORT_SERVFAIL:
		sb_printf(b, "last resort servfail in force: answer SERVFAIL\n");
		break;
	case LAST_RESORT_FAIL_OPEN:
	default:
		sb_printf(b,
			  "last resort fail-open in force: every member of %s is answered "
			  "(%u %s record%s), ttl %u (ttl_degraded)\n",
			  p->name, f->answers, fam, f->answers == 1 ? "" : "s", ex.ttl);
		break;
	}
}

static void explain_name(struct ctl *x, const uint8_t *name, uint16_t qtype, const uint8_t **chain,
			 int depth);

/* What the answer at node @n (the name itself, or the wildcard that
 * synthesizes it) holds for @qtype, in the order answer building decides it
 * (snapshot.c: resolve_node). */
static void explain_node(struct ctl *x, const struct node *n, uint16_t qtype, const uint8_t **chain,
			 int depth)
{
	struct sbuf *b = &x->out;
	const struct rrset *rs;
	char nbuf[1024], tbuf[32];

	rs = node_rrset(n, DNS_TYPE_CNAME);
	if (rs && qtype != DNS_TYPE_CNAME && qtype != DNS_TYPE_ANY) {
		uint8_t target[DNAME_MAXLEN];
		size_t l = dname_len(rs->rrs[0].rdata);
		memcpy(target, rs->rrs[0].rdata, l);
		dname_tolower(target, l);
		sb_printf(b, "CNAME to %s (ttl %u)\n", dname_to_str(nbuf, sizeof(nbuf), target),
			  rs->ttl);
		for (int i = 0; i < depth; i++) {
			if (dname_len(chain[i]) == l && memcmp(chain[i], target, l) == 0) {
				sb_printf(b, "CNAME loop: the chain stops here, NOERROR\n");
				return;
			}
		}
		if (depth + 1 >= MAX_CHAIN) {
			sb_printf(b, "chain longer than %d links: it stops here, NOERROR\n",
				  MAX_CHAIN);
			return;
		}
		chain[depth] = n->name;
		explain_name(x, target, qtype, chain, depth + 1);
		return;
	}
	if (qtype == DNS_TYPE_ANY) {
		/* RFC 8482: one RRset, chosen as the answer builder chooses it. */
		uint16_t pick = 0;
		if (node_pool(n) && pool_count(node_pool(n), DNS_TYPE_A)) {
			pick = DNS_TYPE_A;
		} else if (node_pool(n) && pool_count(node_pool(n), DNS_TYPE_AAAA)) {
			pick = DNS_TYPE_AAAA;
		} else if (n->nrrsets) {
			pick = node_rrset(n, DNS_TYPE_SOA) ? DNS_TYPE_SOA : n->rrsets[0].type;
		}
		if (pick) {
			sb_printf(b, "ANY is answered with one RRset (RFC 8482): %s\n",
				  type_name(tbuf, sizeof(tbuf), pick));
			qtype = pick;
		}
	}
	if (node_pool(n) && (qtype == DNS_TYPE_A || qtype == DNS_TYPE_AAAA)) {
		if (pool_count(node_pool(n), qtype)) {
			explain_pool(x, node_pool(n), qtype);
		} else {
			sb_printf(b, "pool %s has no %s members: NODATA\n", node_pool(n)->name,
				  qtype == DNS_TYPE_A ? "A" : "AAAA");
		}
		return;
	}
	rs = node_rrset(n, qtype);
	if (rs) {
		sb_printf(b, "static data: %u record%s of type %s, ttl %u\n", rs->count,
			  rs->count == 1 ? "" : "s", type_name(tbuf, sizeof(tbuf), qtype), rs->ttl);
		return;
	}
	sb_printf(b, "NODATA: no %s records here%s\n", type_name(tbuf, sizeof(tbuf), qtype),
		  node_pool(n) ? " (the name's pool answers only A and AAAA)" : "");
}

static void explain_name(struct ctl *x, const uint8_t *name, uint16_t qtype, const uint8_t **chain,
			 int depth)
{
	struct sbuf *b = &x->out;
	uint8_t offs[DNAME_MAXLABELS];
	int nl = dname_labels(name, offs);
	const struct node *n;
	char nbuf[1024], zbuf[1024], cbuf[1024];

	switch (snapshot_find(x->s, name, offs, nl, &n)) {
	case MATCH_NONE:
		if (depth == 0) {
			sb_printf(b, "%s is in no zone we serve: REFUSED\n",
				  dname_to_str(nbuf, sizeof(nbuf), name));
		} else {
			sb_printf(b, "%s is in no zone we serve: the resolver follows the CNAME\n",
				  dname_to_str(nbuf, sizeof(nbuf), name));
		}
		return;
	case MATCH_EXACT:
		sb_printf(b, "zone %s: exact match %s\n",
			  dname_to_str(zbuf, sizeof(zbuf), n->zone->apex->name),
			  dname_to_str(nbuf, sizeof(nbuf), n->name));
		if (node_cut(n) && !(qtype == DNS_TYPE_DS && n->is_cut)) {
			sb_printf(b,
				  "at or below the delegation %s: referral to its name servers "
				  "(not authoritative)\n",
				  dname_to_str(cbuf, sizeof(cbuf), node_cut(n)->name));
			return;
		}
		explain_node(x, n, qtype, chain, depth);
		return;
	case MATCH_WILDCARD:
		sb_printf(b, "zone %s: wildcard match, synthesized from %s\n",
			  dname_to_str(zbuf, sizeof(zbuf), n->zone->apex->name),
			  dname_to_str(nbuf, sizeof(nbuf), n->name));
		explain_node(x, n, qtype, chain, depth);
		return;
	case MATCH_REFERRAL:
		sb_printf(b,
			  "zone %s: below the delegation %s: referral to its name servers "
			  "(not authoritative)\n",
			  dname_to_str(zbuf, sizeof(zbuf), n->zone->apex->name),
			  dname_to_str(cbuf, sizeof(cbuf), node_cut(n)->name));
		return;
	case MATCH_NXDOMAIN:
		sb_printf(b, "zone %s: no such name (closest encloser %s): NXDOMAIN\n",
			  dname_to_str(zbuf, sizeof(zbuf), n->zone->apex->name),
			  dname_to_str(nbuf, sizeof(nbuf), n->name));
		return;
	}
}

int explain_run(struct sbuf *out, const struct snapshot *s, struct health_table *t,
		const char *namestr, const char *typestr)
{
	uint8_t name[DNAME_MAXLEN];
	const uint8_t *chain[MAX_CHAIN];
	char nbuf[1024], tbuf[32], pbuf[CONTROL_MAX_LINE];
	uint16_t qtype = parse_type(typestr);
	struct ctl c = { s, t, *out }, *x = &c;
	int rc = 0;

	if (dname_from_str(name, namestr) < 0) {
		sb_printf(out, "ERR not a domain name: %s\n", sb_printable(pbuf, sizeof(pbuf), namestr));
		return -1;
	}
	if (qtype == 0) {
		sb_printf(out, "ERR unknown type %s (try A, AAAA, TXT, TYPE65, ...)\n",
			  sb_printable(pbuf, sizeof(pbuf), typestr));
		return -1;
	}
	sb_printf(&x->out, "%s %s\n", dname_to_str(nbuf, sizeof(nbuf), name),
		  type_name(tbuf, sizeof(tbuf), qtype));
	if (qtype == DNS_TYPE_IXFR || qtype == DNS_TYPE_AXFR) {
		sb_printf(&x->out, "zone transfers are not served: REFUSED\n");
		goto done;
	}
	if (qtype == DNS_TYPE_MAILB || qtype == DNS_TYPE_MAILA) {
		sb_printf(&x->out, "MAILA/MAILB: NOTIMP\n");
		goto done;
	}
	explain_name(x, name, qtype, chain, 0);
done:
	*out = c.out;
	return rc;
}
