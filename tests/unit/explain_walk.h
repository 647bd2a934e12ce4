/* explain_walk.h -- explain against the answer path: every name and type of a snapshot.
 *
 * For each name the snapshot holds (every owner, pool owner, empty
 * non-terminal, wildcard and glue), and names one and two labels below each
 * (NXDOMAIN under each zone and name, synthesis under wildcards, names below
 * delegations), and for each type the name has plus a fixed list (an absent
 * type and the meta types included): ask answer_query() over TCP and
 * `explain`, and require explain's summary line to say what the response
 * does -- the rcode, AA, the owner of the SOA in the authority section -- and
 * to name the zone that answers for the query name; and the addresses it
 * says the targets of an NS, MX or SRV answer bring to be the response's
 * additional section (none in any other answer but a referral). Include
 * "config.h", <check.h> and "testutil.h" first. */
#ifndef GSLBD_EXPLAIN_WALK_H
#define GSLBD_EXPLAIN_WALK_H

#include "ctl/explain.h"
#include "data/snapshot.h"
#include "dns/answer.h"
#include "util/sbuf.h"

/* What explain's "answer: rcode R, aa A, zone Z, soa S" line says. */
struct ew_summary {
	char rcode[16];
	char aa[4];
	char zone[1024];
	char soa[1024];
};

static inline bool ew_parse_summary(struct ew_summary *e, const char *text)
{
	const char *p = strstr(text, "\nanswer: rcode ");

	return p && sscanf(p + 1, "answer: rcode %15[^,], aa %3[^,], zone %1023[^,], soa %1023s",
			   e->rcode, e->aa, e->zone, e->soa) == 4;
}

/* The A and AAAA records explain says the targets of the answer bring (its
 * "additional:" lines); -1 if it says nothing of them. */
static inline int ew_additional(const char *text)
{
	const char *p = strstr(text, "\nadditional: ");
	int total = 0;

	if (!p) {
		return -1;
	}
	for (p = strchr(p + 1, '\n'); p && strncmp(p, "\n  ", 3) == 0; p = strchr(p + 1, '\n')) {
		const char *colon = strstr(p + 3, ": ");
		unsigned a, aaaa;
		if (colon && sscanf(colon + 2, "%u A, %u AAAA", &a, &aaaa) == 2) {
			total += (int)(a + aaaa);
		}
	}
	return total;
}

/* "lb.test" (the walker's spelling of a response name) as explain writes it. */
static inline void ew_dotted(char *out, size_t size, const char *name)
{
	snprintf(out, size, "%s%s", strcmp(name, ".") == 0 ? "" : name, ".");
}

static inline const char *ew_rcode_name(int rcode)
{
	static const char *const names[] = {"NOERROR",	"FORMERR", "SERVFAIL",
					    "NXDOMAIN", "NOTIMP",  "REFUSED"};

	return rcode >= 0 && rcode < 6 ? names[rcode] : "other";
}

/* The zone that answers for @name and @qtype, worked out here from the zone
 * list alone: the deepest zone holding the name, but the DS at a zone's apex
 * is its parent's when we serve the parent too (RFC 4035 3.1.4.1). "-" for
 * none. */
static inline void ew_expected_zone(char *out, size_t size, const struct snapshot *s,
				    const uint8_t *name, uint16_t qtype)
{
	const struct snap_zone *best = NULL, *parent = NULL;

	for (size_t i = 0; i < s->nzones; i++) {
		const struct snap_zone *z = &s->zones[i];
		if (dname_is_below_or_equal(name, z->data.origin) &&
		    (!best || z->data.origin_len > best->data.origin_len)) {
			best = z;
		}
	}
	if (best && qtype == DNS_TYPE_DS && dname_len(name) == best->data.origin_len) {
		for (size_t i = 0; i < s->nzones; i++) {
			const struct snap_zone *z = &s->zones[i];
			if (z != best && dname_is_below_or_equal(name, z->data.origin) &&
			    (!parent || z->data.origin_len > parent->data.origin_len)) {
				parent = z;
			}
		}
		if (parent) {
			best = parent;
		}
	}
	if (!best) {
		snprintf(out, size, "-");
	} else {
		dname_to_str(out, size, best->data.origin);
	}
}

/* Check one (name, type). @name is lower-case wire. */
static inline void ew_check(const struct snapshot *s, struct health_table *t,
			    struct answer_ctx *ctx, const uint8_t *name, uint16_t qtype)
{
	static uint8_t resp[65535];
	static struct tu_resp r;
	static char text[1024], zone[1024], soa[1024], tbuf[16];
	uint8_t q[DNS_HEADER_LEN + DNAME_MAXLEN + 4];
	size_t nl = dname_len(name), qlen = DNS_HEADER_LEN, rlen;
	struct request req;
	struct ew_summary e;
	struct sbuf out;
	const char *rsoa = "-";
	char *ex;

	memset(q, 0, DNS_HEADER_LEN);
	tu_wr16(q, 0x5eed);
	tu_wr16(q + 4, 1);
	memcpy(q + qlen, name, nl);
	qlen += nl;
	tu_wr16(q + qlen, qtype);
	tu_wr16(q + qlen + 2, DNS_CLASS_IN);
	qlen += 4;
	req.client = NULL;
	req.transport = TRANSPORT_TCP; /* nothing truncated */
	rlen = answer_query(ctx, s, &req, q, qlen, resp, sizeof(resp));
	ck_assert_msg(rlen >= DNS_HEADER_LEN && tu_parse(&r, resp, rlen) == 0,
		      "malformed response to %s type %u", dname_to_str(text, sizeof(text), name),
		      qtype);
	for (size_t i = 0; i < r.nrr; i++) {
		if (r.rr[i].section == 1 && r.rr[i].type == DNS_TYPE_SOA) {
			ew_dotted(soa, sizeof(soa), r.rr[i].owner);
			rsoa = soa;
		}
	}

	dname_to_str(text, sizeof(text), name);
	snprintf(tbuf, sizeof(tbuf), "%u", qtype);
	sb_init(&out);
	ck_assert_int_eq(explain_run(&out, s, t, text, tbuf), 0);
	ex = out.p;
	ck_assert_msg(ew_parse_summary(&e, ex), "no summary line for %s %s:\n%s", text, tbuf, ex);
	ck_assert_msg(!strstr(ex, "warning"), "explain warns for %s %s:\n%s", text, tbuf, ex);
	ck_assert_msg(strcmp(e.rcode, ew_rcode_name(r.rcode)) == 0,
		      "%s type %s: the answer's rcode is %s, explain says:\n%s", text, tbuf,
		      ew_rcode_name(r.rcode), ex);
	ck_assert_msg(strcmp(e.aa, r.aa ? "yes" : "no") == 0,
		      "%s type %s: the answer's AA is %d, explain says:\n%s", text, tbuf, r.aa, ex);
	ck_assert_msg(strcmp(e.soa, rsoa) == 0,
		      "%s type %s: the answer's authority has the SOA of %s, explain says:\n%s",
		      text, tbuf, rsoa, ex);
	if (r.rcode == DNS_RCODE_REFUSED || r.rcode == DNS_RCODE_FORMERR ||
	    r.rcode == DNS_RCODE_NOTIMP) {
		ck_assert_msg(strcmp(e.zone, "-") == 0, "%s type %s: no zone answers:\n%s", text,
			      tbuf, ex);
	} else {
		ew_expected_zone(zone, sizeof(zone), s, name, qtype);
		ck_assert_msg(strcmp(e.zone, zone) == 0,
			      "%s type %s: zone %s answers, explain says:\n%s", text, tbuf, zone,
			      ex);
		/* With nothing in the answer section, an authoritative SOA is that zone's own. */
		if (r.ancount == 0 && r.aa && strcmp(rsoa, "-") != 0) {
			ck_assert_msg(strcmp(rsoa, zone) == 0,
				      "%s type %s: SOA of %s for a name of zone %s:\n%s", text,
				      tbuf, rsoa, zone, ex);
		}
	}
	{
		int said = ew_additional(ex);
		unsigned addresses = tu_count(&r, 2, DNS_TYPE_A) + tu_count(&r, 2, DNS_TYPE_AAAA);
		if (said >= 0) {
			ck_assert_msg((unsigned)said == addresses,
				      "%s type %s: %u addresses in the additional section, explain "
				      "says %d:\n%s",
				      text, tbuf, addresses, said, ex);
		} else if (tu_count(&r, 1, DNS_TYPE_NS) == 0) {
			ck_assert_msg(addresses == 0,
				      "%s type %s: %u addresses in the additional section, explain "
				      "says nothing of them:\n%s",
				      text, tbuf, addresses, ex);
		}
	}
	sb_clear(&out);
}

/* Walk @s (health from @t, NULL: all up); returns the number of (name, type)
 * pairs checked. */
static inline unsigned ew_walk(const struct snapshot *s, struct health_table *t)
{
	static const uint16_t types[] = {
	    DNS_TYPE_A,
	    DNS_TYPE_AAAA,
	    DNS_TYPE_MX,
	    DNS_TYPE_TXT,
	    DNS_TYPE_DS,
	    DNS_TYPE_NS,
	    DNS_TYPE_SOA,
	    DNS_TYPE_CNAME,
	    DNS_TYPE_ANY,
	    DNS_TYPE_SRV,
	    65280 /* absent everywhere */,
	    DNS_TYPE_AXFR,
	    DNS_TYPE_MAILA,
	    DNS_TYPE_OPT,
	};
	static const char *const below[] = {"\007zz-walk", "\001a\007zz-walk"};
	struct answer_ctx ctx;
	unsigned checked = 0;

	answer_ctx_init(&ctx, 7);
	answer_ctx_use(&ctx, s);
	for (size_t i = 0; i <= s->mask; i++) {
		const struct node *n = s->table[i];
		uint8_t name[DNAME_MAXLEN];
		if (!n) {
			continue;
		}
		for (unsigned v = 0; v < 3; v++) {
			size_t pl = v ? strlen(below[v - 1]) : 0;
			if (pl + n->namelen > DNAME_MAXLEN) {
				continue;
			}
			memcpy(name, v ? below[v - 1] : "", pl);
			memcpy(name + pl, n->name, n->namelen);
			for (unsigned k = 0; k < sizeof(types) / sizeof(types[0]); k++) {
				ew_check(s, t, &ctx, name, types[k]);
				checked++;
			}
			for (unsigned k = 0; k < n->nrrsets; k++) {
				ew_check(s, t, &ctx, name, n->rrsets[k].type);
				checked++;
			}
		}
	}
	answer_ctx_clear(&ctx);
	return checked;
}

#endif
