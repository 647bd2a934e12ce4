/* query.c -- parse a DNS query message in place. Faces the Internet: every
 * read is bounds-checked against the packet length, names are limited to
 * RFC 1035 sizes, and nothing is trusted from the counts. */
#include "config.h"

#include <string.h>

#include "dns/query.h"

#define TYPE_OPT 41

static inline uint16_t rd16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

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
		if ((l & 0xC0) == 0xC0) {
			if (p + 1 >= len) {
				return -1;
			}
			*pos = p + 2;
			return 0;
		}
		if (l & 0xC0) {
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
		if (l & 0xC0) {
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

/* RFC 6891 6.1: one OPT, owner root, options well framed. Unknown options and
 * flags are ignored (RFC 8906). */
static int parse_opt(struct query *q, const uint8_t *pkt, size_t rr, size_t rdata, size_t rdlen)
{
	const uint8_t *h;
	size_t p = rdata, end = rdata + rdlen;

	if (q->edns || pkt[rr] != 0) {
		return -1;
	}
	h = pkt + rr + 1; /* type(2) class(2) ttl(4) rdlen(2) */
	q->edns = true;
	q->edns_udp = rd16(h + 2) < 512 ? 512 : rd16(h + 2);
	q->edns_version = h[5];
	q->edns_do = (h[6] & 0x80) != 0;
	while (p < end) {
		if (p + 4 > end) {
			return -1;
		}
		size_t olen = rd16(pkt + p + 2);
		if (p + 4 + olen > end) {
			return -1;
		}
		p += 4 + olen;
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
	q->edns_udp = 512;
	if (len < DNS_HEADER_LEN) {
		return QUERY_DROP;
	}
	q->id = rd16(pkt);
	q->flags1 = pkt[2];
	q->flags2 = pkt[3];
	if (q->flags1 & 0x80) {
		return QUERY_DROP; /* a response: never answer it (no reflection loops) */
	}
	q->opcode = (q->flags1 >> 3) & 0x0F;
	qdcount = rd16(pkt + 4);
	ancount = rd16(pkt + 6);
	nscount = rd16(pkt + 8);
	arcount = rd16(pkt + 10);

	if (qdcount != 1) {
		return q->opcode != 0 ? QUERY_NOTIMP : QUERY_FORMERR;
	}
	if (parse_qname(q, pkt, len, &pos) != 0 || pos + 4 > len) {
		return q->opcode != 0 ? QUERY_NOTIMP : QUERY_FORMERR;
	}
	q->qtype = rd16(pkt + pos);
	q->qclass = rd16(pkt + pos + 2);
	pos += 4;
	q->question_end = (uint16_t)pos;
	q->has_question = true;
	if (q->opcode != 0) {
		/* Not answered, but an OPT must be echoed (RFC 6891 6.1.1): look
		 * for it past whatever sections a NOTIFY or UPDATE carries. */
		for (unsigned i = 0; i < (unsigned)ancount + nscount + arcount; i++) {
			size_t rr = pos;
			if (skip_name(pkt, len, &pos) != 0 || pos + 10 > len ||
			    pos + 10 + rd16(pkt + pos + 8) > len) {
				break;
			}
			if (i >= (unsigned)ancount + nscount && rd16(pkt + pos) == TYPE_OPT &&
			    pos == rr + 1 && parse_opt(q, pkt, rr, pos + 10, rd16(pkt + pos + 8)) != 0) {
				q->edns = false;
				break;
			}
			pos += 10 + (size_t)rd16(pkt + pos + 8);
		}
		return QUERY_NOTIMP;
	}
	/* As NSD: no answer records in a query; authority records only in an
	 * IXFR request (RFC 1995 puts the client's SOA there). They are skipped. */
	if (ancount != 0 || (nscount != 0 && q->qtype != 251)) {
		return QUERY_FORMERR;
	}
	for (unsigned i = 0; i < (unsigned)nscount + arcount; i++) {
		size_t rr = pos;
		if (skip_name(pkt, len, &pos) != 0 || pos + 10 > len) {
			return QUERY_FORMERR;
		}
		uint16_t type = rd16(pkt + pos);
		size_t rdlen = rd16(pkt + pos + 8);
		size_t rdata = pos + 10;
		if (rdata + rdlen > len) {
			return QUERY_FORMERR;
		}
		if (type == TYPE_OPT) {
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
	if (q->edns && q->edns_version != 0) {
		return QUERY_BADVERS;
	}
	return QUERY_OK;
}
