/* query.c -- parse a DNS query message in place. Faces the Internet: every
 * read is bounds-checked against the packet length, names are limited to
 * RFC 1035 sizes, and nothing is trusted from the counts. */
#include "config.h"

#include <string.h>

#include "dns/wire.h"
#include "dns/query.h"


/* Skip a possibly compressed name in the additional section. Pointers may
 * only point backwards (RFC 1035 4.1.4), which also bounds the walk. */
static int skip_name(const uint8_t *pkt, size_t len, size_t *pos)
{
	size_t p = *pos;
	size_t total = 0;

	for (;;) {
		if (p >= len) {
			return -1;
		}
		uint8_t l = pkt[p];
		if ((l & DNS_PTR_MASK) == DNS_PTR_MASK) {
			if (p + 1 >= len) {
				return -1;
			}
			*pos = p + 2;
			return 0;
		}
		if (l & DNS_PTR_MASK) {
			return -1; /* 0x40 / 0x80: extended label types are not used */
		}
		if (l == 0) {
			*pos = p + 1;
			return 0;
		}
		total += (size_t)l + 1;
		if (total > DNAME_MAXLEN - 1) {
			return -1;
		}
		p += (size_t)l + 1;
	}
}

/* The question name: no compression (it is the first name in the message, so
 * a pointer can only point into the header), at most 255 octets. */
static int parse_qname(struct query *q, const uint8_t *pkt, size_t len, size_t *pos)
{
	size_t p = *pos;
	size_t o = 0;
	int n = 0;

	for (;;) {
		if (p >= len) {
			return -1;
		}
		uint8_t l = pkt[p];
		if (l & DNS_PTR_MASK) {
			return -1;
		}
		if (o + l + 1 > DNAME_MAXLEN || p + l + 1 > len) {
			return -1;
		}
		if (l == 0) {
			q->qname[o++] = 0;
			break;
		}
		q->label_off[n++] = (uint8_t)o;
		q->qname[o] = l;
		for (size_t i = 1; i <= l; i++) {
			uint8_t c = pkt[p + i];
			q->qname[o + i] = (c >= 'A' && c <= 'Z') ? (uint8_t)(c | 0x20) : c;
		}
		o += (size_t)l + 1;
		p += (size_t)l + 1;
	}
	q->qname_len = (uint8_t)o;
	q->nlabels = (uint8_t)n;
	*pos = p + 1;
	return 0;
}

/* RFC 7871 6 and 7.1.1. */
static int parse_ecs(struct query *q, const uint8_t *o, size_t len)
{
	struct query_ecs *e = &q->ecs;
	unsigned max, need;

	if (e->present || len < DNS_ECS_FIXED_LEN) {
		return -1;
	}
	e->family = dns_rd16(o);
	e->source_prefix = o[2];
	e->scope_prefix = o[3];
	if (e->family == DNS_ECS_FAMILY_IP4) {
		max = 32;
	} else if (e->family == DNS_ECS_FAMILY_IP6) {
		max = 128;
	} else {
		return -1;
	}
	need = (e->source_prefix + 7u) / 8u;
	if (e->source_prefix > max || len - DNS_ECS_FIXED_LEN != need) {
		return -1;
	}
	memset(e->addr, 0, sizeof(e->addr));
	memcpy(e->addr, o + DNS_ECS_FIXED_LEN, need);
	if (e->source_prefix % 8 && (e->addr[need - 1] & (0xFFu >> (e->source_prefix % 8)))) {
		return -1; /* bits set beyond the source prefix */
	}
	e->present = true;
	return 0;
}

/* RFC 7873 5.2.2: a client cookie, optionally followed by a server cookie. */
static int parse_cookie(struct query *q, const uint8_t *o, size_t len)
{
	struct query_cookie *c = &q->cookie;

	if (c->present || (len != DNS_COOKIE_CLIENT_LEN &&
			   (len < DNS_COOKIE_CLIENT_LEN + DNS_COOKIE_SERVER_MIN ||
			    len > DNS_COOKIE_CLIENT_LEN + DNS_COOKIE_SERVER_MAX))) {
		return -1;
	}
	c->present = true;
	c->len = (uint8_t)len;
	memcpy(c->data, o, len);
	return 0;
}

/* RFC 6891 6.1: one OPT, owner root, options well framed. Unknown options and
 * flags are ignored (RFC 8906). Returns -1 for FORMERR. */
static int parse_opt(struct query *q, const uint8_t *pkt, size_t rr, size_t rdata, size_t rdlen)
{
	const uint8_t *h;
	size_t p = rdata, end = rdata + rdlen;

	if (q->edns || pkt[rr] != 0) {
		return -1;
	}
	h = pkt + rr + 1; /* type(2) class(2) ttl(4) rdlen(2) */
	q->edns = true;
	q->edns_udp = dns_rd16(h + 2) < DNS_UDP_MIN ? DNS_UDP_MIN : dns_rd16(h + 2);
	q->edns_version = h[5];
	q->edns_do = (dns_rd16(h + 6) & DNS_EDNS_FLAG_DO) != 0;
	while (p < end) {
		if (p + DNS_EDNS_OPTION_HDR > end) {
			return -1;
		}
		uint16_t code = dns_rd16(pkt + p);
		size_t olen = dns_rd16(pkt + p + 2);
		const uint8_t *o = pkt + p + DNS_EDNS_OPTION_HDR;
		if (p + DNS_EDNS_OPTION_HDR + olen > end) {
			return -1;
		}
		switch (code) {
		case DNS_EDNS_NSID:
			q->nsid = true; /* RFC 5001 2.1: empty in queries; ignore any payload */
			break;
		case DNS_EDNS_CLIENT_SUBNET:
			if (parse_ecs(q, o, olen) != 0) {
				return -1;
			}
			break;
		case DNS_EDNS_COOKIE:
			if (parse_cookie(q, o, olen) != 0) {
				return -1;
			}
			break;
		default:
			q->unknown_options++;
			break;
		}
		p += DNS_EDNS_OPTION_HDR + olen;
	}
	return 0;
}

enum query_status query_parse(struct query *q, const uint8_t *pkt, size_t len)
{
	size_t pos = DNS_HEADER_LEN;
	uint16_t qdcount, ancount, nscount, arcount;

	q->has_question = false;
	q->edns = false;
	q->edns_do = false;
	q->edns_version = 0;
	q->edns_udp = DNS_UDP_MIN;
	q->nsid = false;
	q->ecs.present = false;
	q->cookie.present = false;
	q->unknown_options = 0;
	if (len < DNS_HEADER_LEN) {
		return QUERY_DROP;
	}
	q->id = dns_rd16(pkt + DNS_OFF_ID);
	q->flags1 = pkt[DNS_OFF_FLAGS1];
	q->flags2 = pkt[DNS_OFF_FLAGS2];
	if (q->flags1 & DNS_FLAG_QR) {
		return QUERY_DROP; /* a response: never answer it (no reflection loops) */
	}
	q->opcode = (q->flags1 & DNS_OPCODE_MASK) >> DNS_OPCODE_SHIFT;
	qdcount = dns_rd16(pkt + DNS_OFF_QDCOUNT);
	ancount = dns_rd16(pkt + DNS_OFF_ANCOUNT);
	nscount = dns_rd16(pkt + DNS_OFF_NSCOUNT);
	arcount = dns_rd16(pkt + DNS_OFF_ARCOUNT);

	if (qdcount != 1) {
		/* No question is allowed in a QUERY that only asks for a cookie
		 * (RFC 7873 5.4; checked once the OPT is read). */
		if (qdcount != 0 || q->opcode != DNS_OPCODE_QUERY) {
			return q->opcode != DNS_OPCODE_QUERY ? QUERY_NOTIMP : QUERY_FORMERR;
		}
	} else {
		if (parse_qname(q, pkt, len, &pos) != 0 || pos + DNS_QUESTION_FIXED_LEN > len) {
			return q->opcode != DNS_OPCODE_QUERY ? QUERY_NOTIMP : QUERY_FORMERR;
		}
		q->qtype = dns_rd16(pkt + pos);
		q->qclass = dns_rd16(pkt + pos + 2);
		pos += DNS_QUESTION_FIXED_LEN;
		q->question_end = (uint16_t)pos;
		q->has_question = true;
	}
	if (q->opcode != DNS_OPCODE_QUERY) {
		/* Not answered, but an OPT must be echoed (RFC 6891 6.1.1): look
		 * for it past whatever sections a NOTIFY or UPDATE carries. */
		for (unsigned i = 0; i < (unsigned)ancount + nscount + arcount; i++) {
			size_t rr = pos;
			if (skip_name(pkt, len, &pos) != 0 || pos + DNS_RR_FIXED_LEN > len ||
			    pos + DNS_RR_FIXED_LEN + dns_rd16(pkt + pos + 8) > len) {
				break;
			}
			if (i >= (unsigned)ancount + nscount && dns_rd16(pkt + pos) == DNS_TYPE_OPT &&
			    pos == rr + 1 && parse_opt(q, pkt, rr, pos + DNS_RR_FIXED_LEN, dns_rd16(pkt + pos + 8)) != 0) {
				q->edns = false;
				break;
			}
			pos += DNS_RR_FIXED_LEN + (size_t)dns_rd16(pkt + pos + 8);
		}
		return QUERY_NOTIMP;
	}
	/* As NSD: no answer records in a query; authority records only in an
	 * IXFR request (RFC 1995 puts the client's SOA there). They are skipped. */
	if (ancount != 0 || (nscount != 0 && (!q->has_question || q->qtype != DNS_TYPE_IXFR))) {
		return QUERY_FORMERR;
	}
	for (unsigned i = 0; i < (unsigned)nscount + arcount; i++) {
		size_t rr = pos;
		if (skip_name(pkt, len, &pos) != 0 || pos + DNS_RR_FIXED_LEN > len) {
			return QUERY_FORMERR;
		}
		uint16_t type = dns_rd16(pkt + pos);
		size_t rdlen = dns_rd16(pkt + pos + 8);
		size_t rdata = pos + DNS_RR_FIXED_LEN;
		if (rdata + rdlen > len) {
			return QUERY_FORMERR;
		}
		if (type == DNS_TYPE_OPT) {
			if (i < nscount || pos != rr + 1 || parse_opt(q, pkt, rr, rdata, rdlen) != 0) {
				return QUERY_FORMERR;
			}
		}
		/* Other additional records (TSIG, SIG(0)) are not supported and
		 * are ignored, as a server without keys would. */
		pos = rdata + rdlen;
	}
	if (pos != len) {
		return QUERY_FORMERR; /* trailing bytes */
	}
	/* RFC 7873 5.4: a QUERY without a question is how a client asks for a
	 * server cookie; without a COOKIE option it stays malformed. */
	if (!q->has_question && !q->cookie.present) {
		return QUERY_FORMERR;
	}
	if (q->edns && q->edns_version != DNS_EDNS_VERSION) {
		return QUERY_BADVERS;
	}
	return QUERY_OK;
}
