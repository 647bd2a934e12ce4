/* explain.c -- `explain NAME TYPE`: why a name is answered the way it is now.
 *
 * Explain decides nothing; it narrates decisions made elsewhere, so that it
 * cannot disagree with the answer:
 *  - which node and image answer the name: answer_lookup(), the answer
 *    path's own lookup step, and answer_type_rcode(), its filter's rule;
 *  - what that image holds and why (each hop of a CNAME chain, a wildcard, a
 *    delegation, whose SOA, the pool and type at the end, ANY's RRset, a
 *    loop or the chain limit): resolve_match(), the very function the
 *    builder wrote the image from, run again on the same immutable snapshot;
 *  - which members a pool answers with: pool_explain(), which shares
 *    pick_source() with pool_write();
 *  - what the targets of an NS, MX or SRV answer add: resolve_target(), the
 *    builder's own rule, and pool_explain() for a target that is a pool.
 * Why rerun the decision rather than have the builder store a "why" record
 * per image: the decision is pure and the snapshot immutable, so rerunning it
 * gives what the builder got, at no memory cost (a million-name zone pays
 * nothing), and there is no record format to keep in step with the images. */
#include "config.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <ldns/ldns.h>

#include <arpa/inet.h>

#include "ctl/explain.h"
#include "lb/policy_geo.h"
#include "ctl/protocol.h"
#include "ctl/status.h"
#include "daemon/stats.h"
#include "data/resolve.h"
#include "dns/answer.h"
#include "dns/wire.h"

struct ctl {
	const struct snapshot *s;
	struct health_table *t;
	struct sbuf out;
	struct request *req; /* the client asked about (--client, --ecs) */
};

static const struct pool_family *family_of(const struct pool *p, uint16_t qtype)
{
	return qtype == DNS_TYPE_A ? &p->v4 : &p->v6;
}

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

static const char *rcode_name(uint8_t rcode)
{
	return stats_rcode_name(stats_rcode_of(rcode));
}

static const char *zone_name(char *buf, size_t size, const struct snap_zone *z)
{
	return z ? dname_to_str(buf, size, z->apex->name) : "-";
}

/* --- pools ------------------------------------------------------------------ */

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

	pool_explain_client(&ex, p, qtype, x->t, x->req);
	sb_printf(b, "pool %s (%s, %u %s per answer), %s members:\n", p->name,
		  pool_policy_name(p), f->answers,
		  f->answers == 1 ? "record" : "records", fam);
	explain_members(x, p, f);
	if (p->policy->narrow) {
		/* By client: the policy's own narration of the same decision. */
		geo_explain(b, p, qtype, x->t, x->req);
		if (!ex.from_backup && !ex.last_resort) {
			records = ex.up < f->answers ? ex.up : f->answers;
			sb_printf(b, "answer: %u %s record%s from pool %s, datacenter %s, ttl %u%s\n",
				  records, fam, records == 1 ? "" : "s", p->name,
				  geo_dc_name(p, x->req->dc), ex.ttl,
				  ex.ttl != p->ttl ? " (ttl_degraded)" : "");
			return;
		}
	} else {
		sb_printf(b, "min_healthy %u: %s (%u of %u up)\n", p->min_healthy,
			  up >= p->min_healthy ? "met" : "not met", up, f->n);
	}
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

/* Records pool_write() gives for @qtype now: the choice pool_explain()
 * reports (an empty family, NODATA and SERVFAIL give none). */
static unsigned pool_records_now(const struct pool *p, uint16_t qtype, const struct health_table *t,
				 struct request *req)
{
	const struct pool_family *f;
	struct pool_explain ex;

	pool_explain_client(&ex, p, qtype, t, req);
	if (!ex.answered) {
		return 0;
	}
	if (ex.last_resort) {
		return family_of(p, qtype)->answers; /* fail-open: every member */
	}
	f = family_of(ex.answered, qtype);
	return ex.up < f->answers ? ex.up : f->answers;
}

/* --- the answer -------------------------------------------------------------- */

/* What the targets of an NS, MX or SRV answer bring to the additional
 * section: resolve_target(), which the builder wrote the image from. */
static void explain_targets(struct ctl *x, const struct resolution *r)
{
	unsigned n = resolve_targets(r);
	struct sbuf *b = &x->out;
	struct resolve_target t;
	char nbuf[1024], zbuf[1024];

	if (n == 0) {
		return;
	}
	zone_name(zbuf, sizeof(zbuf), r->hop[r->nhops - 1].zone);
	sb_printf(b, "additional: the targets' addresses (optional: left out when they do not "
		     "fit)\n");
	for (unsigned i = 0; i < n; i++) {
		resolve_target(&t, x->s, r, i);
		sb_printf(b, "  %s: ", dname_to_str(nbuf, sizeof(nbuf), t.name));
		switch (t.extra) {
		case RESOLVE_EXTRA_ADDRESSES:
			sb_printf(b, "%u A, %u AAAA (zone data)\n", t.a ? t.a->count : 0u,
				  t.aaaa ? t.aaaa->count : 0u);
			break;
		case RESOLVE_EXTRA_POOL:
			sb_printf(b, "%u A, %u AAAA from pool %s (as its A and AAAA answers now)\n",
				  pool_records_now(t.pool, DNS_TYPE_A, x->t, x->req),
				  pool_records_now(t.pool, DNS_TYPE_AAAA, x->t, x->req), t.pool->name);
			break;
		case RESOLVE_EXTRA_NO_TARGET:
			sb_printf(b, "none (the root: no service)\n");
			break;
		case RESOLVE_EXTRA_REPEATED:
			sb_printf(b, "none (an earlier record names it)\n");
			break;
		case RESOLVE_EXTRA_OUT_OF_ZONE:
			sb_printf(b, "none (not in zone %s, the answer's)\n", zbuf);
			break;
		case RESOLVE_EXTRA_ALIAS:
			sb_printf(b, "none (a CNAME: not followed, RFC 2181 10.3)\n");
			break;
		case RESOLVE_EXTRA_NOT_AUTH:
			sb_printf(b, "none (below a delegation: only NS answers carry glue)\n");
			break;
		case RESOLVE_EXTRA_NONE:
		default:
			sb_printf(b, "none (no A or AAAA records there)\n");
			break;
		}
	}
}

/* The line scripts and tests read: what the response says (rcode, AA, whose
 * SOA is in the authority section) and the zone answering the query name.
 * For a pool, what its members' health makes of it now. */
static void explain_summary(struct ctl *x, const struct resolution *r, const struct image *img)
{
	uint8_t rcode = r->rcode;
	bool aa = r->aa;
	const struct snap_zone *soa = r->soa;
	char zbuf[1024], sbuf[1024];

	if (!img && r->end != RESOLVE_REFUSED) {
		rcode = DNS_RCODE_SERVFAIL; /* no image: the answer path's SERVFAIL */
		aa = false;
		soa = NULL;
	} else if (r->end == RESOLVE_POOL) {
		struct pool_explain ex;
		pool_explain_client(&ex, r->pool, r->type, x->t, x->req);
		if (ex.last_resort && r->pool->last_resort == LAST_RESORT_NODATA) {
			soa = r->nodata_soa;
		} else if (ex.last_resort && r->pool->last_resort == LAST_RESORT_SERVFAIL) {
			rcode = DNS_RCODE_SERVFAIL;
			aa = false;
		}
	}
	sb_printf(&x->out, "answer: rcode %s, aa %s, zone %s, soa %s\n", rcode_name(rcode),
		  aa ? "yes" : "no", zone_name(zbuf, sizeof(zbuf), r->hop[0].zone),
		  zone_name(sbuf, sizeof(sbuf), soa));
}

/* How the last hop, a name of ours, ends the answer. */
static void explain_end(struct ctl *x, const struct resolution *r, const struct resolve_hop *h)
{
	struct sbuf *b = &x->out;
	char nbuf[1024], tbuf[32];

	switch (r->note) {
	case RESOLVE_NOTE_DS_AT_CUT:
		sb_printf(b,
			  "DS at the delegation %s is the parent's data (RFC 4035 3.1.4.1): "
			  "no referral\n",
			  dname_to_str(nbuf, sizeof(nbuf), h->node->name));
		break;
	case RESOLVE_NOTE_DS_OF_CHILD:
		sb_printf(b,
			  "DS at the apex of %s, a child zone we also serve, is the parent's "
			  "data (RFC 4035 3.1.4.1)\n",
			  dname_to_str(nbuf, sizeof(nbuf), h->node->name));
		break;
	case RESOLVE_NOTE_NONE:
	default:
		break;
	}
	if (r->qtype == DNS_TYPE_ANY && r->type != DNS_TYPE_ANY) {
		sb_printf(b, "ANY is answered with one RRset (RFC 8482): %s\n",
			  type_name(tbuf, sizeof(tbuf), r->type));
	}
	switch (r->end) {
	case RESOLVE_REFERRAL:
		sb_printf(b, "at or below the delegation %s: referral to its name servers%s\n",
			  dname_to_str(nbuf, sizeof(nbuf), r->cut->name),
			  r->aa ? "" : " (not authoritative)");
		break;
	case RESOLVE_POOL:
		explain_pool(x, r->pool, r->type);
		break;
	case RESOLVE_RRSET:
		sb_printf(b, "static data: %u record%s of type %s, ttl %u\n", r->rrset->count,
			  r->rrset->count == 1 ? "" : "s", type_name(tbuf, sizeof(tbuf), r->type),
			  r->rrset->ttl);
		explain_targets(x, r);
		break;
	case RESOLVE_NODATA:
	default:
		if (r->pool && (r->type == DNS_TYPE_A || r->type == DNS_TYPE_AAAA)) {
			sb_printf(b, "pool %s has no %s members: NODATA\n", r->pool->name,
				  r->type == DNS_TYPE_A ? "A" : "AAAA");
		} else {
			sb_printf(b, "NODATA: no %s records here%s\n",
				  type_name(tbuf, sizeof(tbuf), r->type),
				  r->pool ? " (the name's pool answers only A and AAAA)" : "");
		}
		break;
	}
}

/* One name on the way: the query name, then each CNAME target. */
static void explain_hop(struct ctl *x, const struct resolution *r, unsigned i)
{
	const struct resolve_hop *h = &r->hop[i];
	struct sbuf *b = &x->out;
	char nbuf[1024], zbuf[1024], cbuf[1024];
	uint8_t target[DNAME_MAXLEN];

	zone_name(zbuf, sizeof(zbuf), h->zone);
	switch (h->match) {
	case MATCH_NONE:
		sb_printf(b, "%s is in no zone we serve: %s\n",
			  dname_to_str(nbuf, sizeof(nbuf), h->owner),
			  i == 0 ? "REFUSED" : "the resolver follows the CNAME");
		return;
	case MATCH_NXDOMAIN:
		sb_printf(b, "zone %s: no such name (closest encloser %s): NXDOMAIN\n", zbuf,
			  dname_to_str(nbuf, sizeof(nbuf), h->node->name));
		return;
	case MATCH_REFERRAL:
		sb_printf(b, "zone %s: below the delegation %s: referral to its name servers%s\n",
			  zbuf, dname_to_str(cbuf, sizeof(cbuf), r->cut->name),
			  r->aa ? "" : " (not authoritative)");
		return;
	case MATCH_WILDCARD:
		sb_printf(b, "zone %s: wildcard match, synthesized from %s\n", zbuf,
			  dname_to_str(nbuf, sizeof(nbuf), h->node->name));
		break;
	case MATCH_EXACT:
	default:
		sb_printf(b, "zone %s: exact match %s\n", zbuf,
			  dname_to_str(nbuf, sizeof(nbuf), h->node->name));
		break;
	}
	if (!h->cname) {
		explain_end(x, r, h);
		return;
	}
	memcpy(target, h->cname->rrs[0].rdata, dname_len(h->cname->rrs[0].rdata));
	dname_tolower(target, dname_len(target));
	sb_printf(b, "CNAME to %s (ttl %u)\n", dname_to_str(nbuf, sizeof(nbuf), target),
		  h->cname->ttl);
	if (i + 1 < r->nhops) {
		return;
	}
	if (r->end == RESOLVE_LOOP) {
		sb_printf(b, "CNAME loop: the chain stops here, %s\n", rcode_name(r->rcode));
	} else if (r->end == RESOLVE_CHAIN_LIMIT) {
		sb_printf(b, "%d CNAMEs is as far as we follow a chain: it stops here, %s\n",
			  RESOLVE_MAX_CHAIN, rcode_name(r->rcode));
	}
}

int explain_run(struct sbuf *out, const struct snapshot *s, struct health_table *t,
		const char *namestr, const char *typestr)
{
	return explain_run_client(out, s, t, namestr, typestr, NULL, NULL);
}

/* The request a query from @client (an address, or NULL) with ECS option
 * @ecs (a prefix, or NULL) would be: what the policies read. */
static int client_request(struct sbuf *out, struct request *req, struct sockaddr_storage *ss,
			  const struct snapshot *s, const char *client, const char *ecs)
{
	char pbuf[CONTROL_MAX_LINE];
	struct conf_net n;

	memset(req, 0, sizeof(*req));
	if (client) {
		struct sockaddr_in *a4 = (struct sockaddr_in *)ss;
		struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)ss;
		memset(ss, 0, sizeof(*ss));
		if (inet_pton(AF_INET, client, &a4->sin_addr) == 1) {
			a4->sin_family = AF_INET;
		} else if (inet_pton(AF_INET6, client, &a6->sin6_addr) == 1) {
			a6->sin6_family = AF_INET6;
		} else {
			sb_printf(out, "ERR --client: not an address: %s\n",
				  sb_printable(pbuf, sizeof(pbuf), client));
			return -1;
		}
		req->client = ss;
	}
	if (ecs) {
		int rc = conf_parse_net(&n, ecs);
		if (rc != 0) {
			sb_printf(out, "ERR --ecs: %s: %s\n",
				  rc == -2 ? "bits are set past the prefix length (FORMERR)"
					   : "not a prefix such as 192.0.2.0/24",
				  sb_printable(pbuf, sizeof(pbuf), ecs));
			return -1;
		}
		req->q.ecs.present = true;
		req->q.ecs.family = n.family == AF_INET ? DNS_ECS_FAMILY_IP4 : DNS_ECS_FAMILY_IP6;
		req->q.ecs.source_prefix = (uint8_t)n.bits;
		memcpy(req->q.ecs.addr, n.addr, sizeof(req->q.ecs.addr));
		req->ecs_apply = s->conf->edns_client_subnet;
	}
	return 0;
}

int explain_run_client(struct sbuf *out, const struct snapshot *s, struct health_table *t,
		       const char *namestr, const char *typestr, const char *client,
		       const char *ecs)
{
	struct request req;
	struct sockaddr_storage ss;
	struct query q;
	struct resolution r;
	const struct image *img;
	const struct node *node;
	enum match_kind kind;
	char nbuf[1024], tbuf[32], pbuf[CONTROL_MAX_LINE];
	uint16_t qtype = parse_type(typestr);
	struct ctl c = { s, t, *out, &req }, *x = &c;
	int len;
	uint8_t rcode;

	if (client_request(out, &req, &ss, s, client, ecs) != 0) {
		return -1;
	}
	memset(&q, 0, sizeof(q));
	len = dname_from_str(q.qname, namestr);
	if (len < 0) {
		sb_printf(out, "ERR not a domain name: %s\n", sb_printable(pbuf, sizeof(pbuf), namestr));
		return -1;
	}
	if (qtype == 0) {
		sb_printf(out, "ERR unknown type %s (try A, AAAA, TXT, TYPE65, ...)\n",
			  sb_printable(pbuf, sizeof(pbuf), typestr));
		return -1;
	}
	sb_printf(&x->out, "%s %s\n", dname_to_str(nbuf, sizeof(nbuf), q.qname),
		  type_name(tbuf, sizeof(tbuf), qtype));
	rcode = answer_type_rcode(qtype);
	if (rcode != DNS_RCODE_NOERROR) {
		sb_printf(&x->out, "answer: rcode %s, aa no, zone -, soa -\n", rcode_name(rcode));
		sb_printf(&x->out,
			  "type %s is answered before any lookup: %s (meta types and zone "
			  "transfers are not served)\n",
			  tbuf, rcode_name(rcode));
		goto done;
	}
	q.has_question = true;
	q.qname_len = (uint8_t)len;
	q.nlabels = (uint8_t)dname_labels(q.qname, q.label_off);
	q.qtype = qtype;
	q.qclass = DNS_CLASS_IN;
	img = answer_lookup(s, &q, &kind, &node);
	resolve_match(&r, s, kind, node, q.qname, qtype);
	explain_summary(x, &r, img);
	for (unsigned i = 0; i < r.nhops; i++) {
		explain_hop(x, &r, i);
	}
	if (client || ecs) {
		char abuf[INET6_ADDRSTRLEN];
		sb_printf(&x->out, "client %s", client ? client : "unknown");
		if (ecs) {
			inet_ntop(req.q.ecs.family == DNS_ECS_FAMILY_IP4 ? AF_INET : AF_INET6,
				  req.q.ecs.addr, abuf, sizeof(abuf));
			sb_printf(&x->out, ", client subnet %s/%u: echoed with scope /%u%s", abuf,
				  req.q.ecs.source_prefix, req.ecs_scope,
				  !req.ecs_apply ? " (edns_client_subnet is off: the source address "
						   "decides)"
				  : req.ecs_scope ? " (the prefix that decided the datacenter)"
				  : req.geo ? " (the source prefix is 0, or the whole space decided)"
					    : " (the answer does not depend on the client)");
		}
		sb_printf(&x->out, "\n");
	}
	if (!img && r.end != RESOLVE_REFUSED) {
		sb_printf(&x->out, "no image was built for this answer: SERVFAIL\n");
	} else if (img && (img->rcode != r.rcode || img->aa != r.aa)) {
		/* Cannot happen while the builder writes images from resolutions. */
		sb_printf(&x->out,
			  "warning: the image answered (rcode %s, aa %s) is not what was decided "
			  "(rcode %s, aa %s): please report this\n",
			  rcode_name(img->rcode), img->aa ? "yes" : "no", rcode_name(r.rcode),
			  r.aa ? "yes" : "no");
	}
done:
	*out = c.out;
	return 0;
}
