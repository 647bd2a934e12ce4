/* check_query.c -- unit tests for src/query.c: the Internet-facing query parser. */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include <check.h>

#include "dns/query.h"
#include "testutil.h"

static struct query q;
static uint8_t pkt[1024];

START_TEST(normal_query)
{
	size_t len = tu_query(pkt, 0xBEEF, TU_RD | TU_CD, "WwW.Lb.TeSt", DNS_TYPE_AAAA, DNS_CLASS_IN);

	ck_assert_int_eq(query_parse(&q, pkt, len), QUERY_OK);
	ck_assert_uint_eq(q.id, 0xBEEF);
	ck_assert_uint_eq(q.flags1, 0x01);
	ck_assert_uint_eq(q.flags2, 0x10);
	ck_assert_uint_eq(q.opcode, 0);
	ck_assert(q.has_question);
	ck_assert_uint_eq(q.qtype, DNS_TYPE_AAAA);
	ck_assert_uint_eq(q.qclass, 1);
	ck_assert_uint_eq(q.qname_len, 13);
	ck_assert_mem_eq(q.qname, "\003www\002lb\004test", 13);
	ck_assert_uint_eq(q.nlabels, 3);
	ck_assert_uint_eq(q.label_off[0], 0);
	ck_assert_uint_eq(q.label_off[1], 4);
	ck_assert_uint_eq(q.label_off[2], 7);
	ck_assert_uint_eq(q.question_end, 12 + 13 + 4);
	ck_assert_uint_eq(q.question_end, len);
	ck_assert(!q.edns);
	ck_assert_uint_eq(q.edns_udp, 512);
	/* Parsing copies: the packet keeps the client's case. */
	ck_assert_mem_eq(pkt + 12, "\003WwW\002Lb\004TeSt", 13);
}
END_TEST

START_TEST(root_query)
{
	size_t len = tu_query(pkt, 1, 0, ".", 2, 1);

	ck_assert_int_eq(query_parse(&q, pkt, len), QUERY_OK);
	ck_assert_uint_eq(q.qname_len, 1);
	ck_assert_uint_eq(q.nlabels, 0);
	ck_assert_uint_eq(q.question_end, 17);
}
END_TEST

START_TEST(response_dropped)
{
	size_t len = tu_query(pkt, 1, TU_QR, "www.lb.test", DNS_TYPE_A, DNS_CLASS_IN);

	ck_assert_int_eq(query_parse(&q, pkt, len), QUERY_DROP);
}
END_TEST

START_TEST(short_dropped)
{
	size_t len = tu_query(pkt, 1, 0, "www.lb.test", DNS_TYPE_A, DNS_CLASS_IN);

	(void)len;
	for (size_t n = 0; n < 12; n++) {
		ck_assert_int_eq(query_parse(&q, pkt, n), QUERY_DROP);
	}
	ck_assert(!q.has_question);
}
END_TEST

START_TEST(qdcount_zero_and_two)
{
	size_t len = tu_query(pkt, 1, 0, "www.lb.test", DNS_TYPE_A, DNS_CLASS_IN);

	tu_wr16(pkt + 4, 0);
	ck_assert_int_eq(query_parse(&q, pkt, 12), QUERY_FORMERR);
	ck_assert(!q.has_question);
	tu_wr16(pkt + 4, 2);
	ck_assert_int_eq(query_parse(&q, pkt, len), QUERY_FORMERR);
	ck_assert(!q.has_question);
}
END_TEST

/* RFC 7873 5.4: a QUERY with no question but a COOKIE option asks for a
 * server cookie; without the option, or with another opcode, no question
 * stays an error. */
START_TEST(qdcount_zero_with_cookie)
{
	uint8_t opts[32];
	size_t olen = tu_option(opts, DNS_EDNS_COOKIE, pkt + 512, 8);
	size_t len;

	memset(pkt, 0, 12);
	len = tu_add_opt_raw(pkt, 12, 1232, opts, olen);
	ck_assert_int_eq(query_parse(&q, pkt, len), QUERY_OK);
	ck_assert(!q.has_question);
	ck_assert(q.edns);
	ck_assert(q.cookie.present);
	ck_assert_uint_eq(q.cookie.len, 8);
	/* Without the cookie: FORMERR, as before. */
	memset(pkt, 0, 12);
	len = tu_add_opt_raw(pkt, 12, 1232, opts, tu_option(opts, DNS_EDNS_NSID, NULL, 0));
	ck_assert_int_eq(query_parse(&q, pkt, len), QUERY_FORMERR);
	/* Another opcode: NOTIMP. */
	memset(pkt, 0, 12);
	len = tu_add_opt_raw(pkt, 12, 1232, opts, olen);
	pkt[2] = (uint8_t)(4 << DNS_OPCODE_SHIFT);
	ck_assert_int_eq(query_parse(&q, pkt, len), QUERY_NOTIMP);
	/* An authority record (only IXFR may carry one): FORMERR. */
	memset(pkt, 0, 12);
	len = tu_add_opt_raw(pkt, 12, 1232, opts, olen);
	tu_wr16(pkt + DNS_OFF_NSCOUNT, 1);
	ck_assert_int_eq(query_parse(&q, pkt, len), QUERY_FORMERR);
}
END_TEST

START_TEST(header_only_is_formerr)
{
	tu_query(pkt, 1, 0, "www.lb.test", DNS_TYPE_A, DNS_CLASS_IN);
	ck_assert_int_eq(query_parse(&q, pkt, 12), QUERY_FORMERR);
	ck_assert(!q.has_question);
}
END_TEST

START_TEST(compressed_qname)
{
	/* "www" then a pointer to offset 12 (itself: a loop) and to the header. */
	static const uint8_t p1[] = {0, 1, 0,	0,   0,	  1,	0,  0, 0, 0, 0,
				     0, 3, 'w', 'w', 'w', 0xC0, 12, 0, 1, 0, 1};
	static const uint8_t p2[] = {0, 1, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0xC0, 0, 0, 1, 0, 1};

	ck_assert_int_eq(query_parse(&q, p1, sizeof(p1)), QUERY_FORMERR);
	ck_assert_int_eq(query_parse(&q, p2, sizeof(p2)), QUERY_FORMERR);
	ck_assert(!q.has_question);
}
END_TEST

START_TEST(extended_label_type)
{
	static const uint8_t p[] = {0, 1, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0x41, 'w', 0, 0, 1, 0, 1};

	ck_assert_int_eq(query_parse(&q, p, sizeof(p)), QUERY_FORMERR);
}
END_TEST

START_TEST(label_past_end)
{
	size_t len = tu_query(pkt, 1, 0, "www.lb.test", DNS_TYPE_A, DNS_CLASS_IN);

	/* Cut inside the last label, and just before the root label. */
	ck_assert_int_eq(query_parse(&q, pkt, 12 + 9), QUERY_FORMERR);
	ck_assert_int_eq(query_parse(&q, pkt, 12 + 12), QUERY_FORMERR);
	/* Name complete, type/class missing. */
	ck_assert_int_eq(query_parse(&q, pkt, len - 1), QUERY_FORMERR);
	ck_assert_int_eq(query_parse(&q, pkt, len - 4), QUERY_FORMERR);
	ck_assert(!q.has_question);
	/* A length octet claiming more than the packet holds. */
	pkt[12] = 60;
	ck_assert_int_eq(query_parse(&q, pkt, len), QUERY_FORMERR);
}
END_TEST

static size_t long_name(uint8_t *p, size_t total)
{
	/* Labels of 63 octets and one shorter one so that the wire name,
	 * root included, is @total octets; written after a header. */
	size_t o = 12, left = total - 1;

	memset(p, 0, 12);
	p[5] = 1;
	while (left) {
		size_t l = left > 64 ? 63 : left - 1;
		if (left - (l + 1) == 1) {
			l--; /* never leave a single octet: a label needs two */
		}
		p[o++] = (uint8_t)l;
		memset(p + o, 'a', l);
		o += l;
		left -= l + 1;
	}
	p[o++] = 0;
	tu_wr16(p + o, 1);
	tu_wr16(p + o + 2, 1);
	return o + 4;
}

START_TEST(name_length_limit)
{
	size_t len = long_name(pkt, 255);

	ck_assert_uint_eq(len, 12 + 255 + 4);
	ck_assert_int_eq(query_parse(&q, pkt, len), QUERY_OK);
	ck_assert_uint_eq(q.qname_len, 255);
	len = long_name(pkt, 256);
	ck_assert_uint_eq(len, 12 + 256 + 4);
	ck_assert_int_eq(query_parse(&q, pkt, len), QUERY_FORMERR);
	ck_assert(!q.has_question);
}
END_TEST

START_TEST(many_labels)
{
	/* 127 labels of one octet: 255 octets, the most labels possible. */
	size_t o = 12;

	memset(pkt, 0, 12);
	pkt[5] = 1;
	for (int i = 0; i < 127; i++) {
		pkt[o++] = 1;
		pkt[o++] = 'A';
	}
	pkt[o++] = 0;
	tu_wr16(pkt + o, 1);
	tu_wr16(pkt + o + 2, 1);
	ck_assert_int_eq(query_parse(&q, pkt, o + 4), QUERY_OK);
	ck_assert_uint_eq(q.nlabels, 127);
	ck_assert_uint_eq(q.label_off[126], 252);
	ck_assert_uint_eq(q.qname[253], 'a');
}
END_TEST

START_TEST(ancount_nscount)
{
	size_t len = tu_query(pkt, 1, 0, "www.lb.test", DNS_TYPE_A, DNS_CLASS_IN);

	tu_wr16(pkt + 6, 1);
	ck_assert_int_eq(query_parse(&q, pkt, len), QUERY_FORMERR);
	ck_assert(q.has_question); /* the question parsed and can be echoed */
	tu_wr16(pkt + 6, 0);
	tu_wr16(pkt + 8, 1);
	ck_assert_int_eq(query_parse(&q, pkt, len), QUERY_FORMERR);
}
END_TEST

START_TEST(trailing_garbage)
{
	size_t len = tu_query(pkt, 1, 0, "www.lb.test", DNS_TYPE_A, DNS_CLASS_IN);

	pkt[len] = 0;
	ck_assert_int_eq(query_parse(&q, pkt, len + 1), QUERY_FORMERR);
	ck_assert(q.has_question);
	ck_assert_uint_eq(q.question_end, len);
	/* Also after an OPT. */
	len = tu_add_opt(pkt, len, 1232, false, 0, 0, -1);
	ck_assert_int_eq(query_parse(&q, pkt, len), QUERY_OK);
	ck_assert_int_eq(query_parse(&q, pkt, len + 3), QUERY_FORMERR);
}
END_TEST

START_TEST(other_opcodes_notimp)
{
	static const int opcodes[] = {2, 4, 5, 1, 15};

	for (size_t i = 0; i < sizeof(opcodes) / sizeof(opcodes[0]); i++) {
		size_t len = tu_query(pkt, 7, TU_OPCODE(opcodes[i]), "www.lb.test", 6, 1);
		ck_assert_int_eq(query_parse(&q, pkt, len), QUERY_NOTIMP);
		ck_assert(q.has_question);
		ck_assert_uint_eq(q.opcode, (unsigned)opcodes[i]);
		ck_assert_uint_eq(q.qtype, 6);
		ck_assert_uint_eq(q.question_end, len);
	}
	/* An UPDATE with records in the other sections is still NOTIMP. */
	size_t len = tu_query(pkt, 7, TU_OPCODE(5), "lb.test", 6, 1);
	tu_wr16(pkt + 8, 3);
	ck_assert_int_eq(query_parse(&q, pkt, len), QUERY_NOTIMP);
	/* ... and without a question. */
	tu_wr16(pkt + 4, 0);
	ck_assert_int_eq(query_parse(&q, pkt, 12), QUERY_NOTIMP);
	ck_assert(!q.has_question);
}
END_TEST

START_TEST(edns_fields)
{
	size_t len = tu_query(pkt, 1, 0, "www.lb.test", DNS_TYPE_A, DNS_CLASS_IN);

	len = tu_add_opt(pkt, len, 4096, true, 0, 0, -1);
	ck_assert_int_eq(query_parse(&q, pkt, len), QUERY_OK);
	ck_assert(q.edns);
	ck_assert(q.edns_do);
	ck_assert_uint_eq(q.edns_udp, 4096);
	ck_assert_uint_eq(q.edns_version, 0);

	len = tu_query(pkt, 1, 0, "www.lb.test", DNS_TYPE_A, DNS_CLASS_IN);
	len = tu_add_opt(pkt, len, 1400, false, 0, 0, -1);
	ck_assert_int_eq(query_parse(&q, pkt, len), QUERY_OK);
	ck_assert(q.edns);
	ck_assert(!q.edns_do);
	ck_assert_uint_eq(q.edns_udp, 1400);
}
END_TEST

/* RFC 6891 6.2.3: values below 512 are treated as 512. */
START_TEST(edns_small_udp_raised)
{
	size_t len = tu_query(pkt, 1, 0, "www.lb.test", DNS_TYPE_A, DNS_CLASS_IN);

	len = tu_add_opt(pkt, len, 100, false, 0, 0, -1);
	ck_assert_int_eq(query_parse(&q, pkt, len), QUERY_OK);
	ck_assert_uint_eq(q.edns_udp, 512);
	len = tu_query(pkt, 1, 0, "www.lb.test", DNS_TYPE_A, DNS_CLASS_IN);
	len = tu_add_opt(pkt, len, 0, false, 0, 0, -1);
	ck_assert_int_eq(query_parse(&q, pkt, len), QUERY_OK);
	ck_assert_uint_eq(q.edns_udp, 512);
}
END_TEST

START_TEST(edns_badvers)
{
	size_t len = tu_query(pkt, 1, 0, "www.lb.test", DNS_TYPE_A, DNS_CLASS_IN);

	len = tu_add_opt(pkt, len, 1232, true, 1, 0, -1);
	ck_assert_int_eq(query_parse(&q, pkt, len), QUERY_BADVERS);
	ck_assert(q.has_question);
	ck_assert(q.edns);
	ck_assert(q.edns_do);
	ck_assert_uint_eq(q.edns_version, 1);
}
END_TEST

START_TEST(edns_two_opt)
{
	size_t len = tu_query(pkt, 1, 0, "www.lb.test", DNS_TYPE_A, DNS_CLASS_IN);

	len = tu_add_opt(pkt, len, 1232, false, 0, 0, -1);
	len = tu_add_opt(pkt, len, 1232, false, 0, 0, -1);
	ck_assert_uint_eq(tu_rd16(pkt + 10), 2);
	ck_assert_int_eq(query_parse(&q, pkt, len), QUERY_FORMERR);
}
END_TEST

START_TEST(edns_owner_not_root)
{
	size_t len = tu_query(pkt, 1, 0, "www.lb.test", DNS_TYPE_A, DNS_CLASS_IN);
	size_t opt = len;

	/* Owner "a." instead of the root: insert the label before the OPT's. */
	pkt[len++] = 1;
	pkt[len++] = 'a';
	len = tu_add_opt(pkt, len, 1232, false, 0, 0, -1);
	ck_assert_uint_eq(len, opt + 2 + 11);
	ck_assert_int_eq(query_parse(&q, pkt, len), QUERY_FORMERR);

	/* Owner as a pointer to the question name. */
	len = tu_query(pkt, 1, 0, "www.lb.test", DNS_TYPE_A, DNS_CLASS_IN);
	pkt[len++] = 0xC0;
	pkt[len++] = 12;
	len = tu_add_opt(pkt, len, 1232, false, 0, 0, -1);
	memmove(pkt + len - 11 + 0, pkt + len - 11 + 1, 10); /* drop the OPT's root octet */
	len--;
	ck_assert_int_eq(query_parse(&q, pkt, len), QUERY_FORMERR);
}
END_TEST

START_TEST(edns_option_past_rdata)
{
	size_t len = tu_query(pkt, 1, 0, "www.lb.test", DNS_TYPE_A, DNS_CLASS_IN);
	size_t opt = len;

	len = tu_add_opt(pkt, len, 1232, false, 0, 65000, 4);
	ck_assert_int_eq(query_parse(&q, pkt, len), QUERY_OK);
	/* The option claims 5 bytes; the rdata holds 4 + 4. */
	tu_wr16(pkt + opt + 11 + 2, 5);
	ck_assert_int_eq(query_parse(&q, pkt, len), QUERY_FORMERR);
	/* An option header cut short: rdlen 2. */
	len = tu_query(pkt, 1, 0, "www.lb.test", DNS_TYPE_A, DNS_CLASS_IN);
	len = tu_add_opt(pkt, len, 1232, false, 0, 65000, 0);
	tu_wr16(pkt + opt + 9, 2);
	len -= 2;
	ck_assert_int_eq(query_parse(&q, pkt, len), QUERY_FORMERR);
	/* rdlen running past the packet. */
	len = tu_query(pkt, 1, 0, "www.lb.test", DNS_TYPE_A, DNS_CLASS_IN);
	len = tu_add_opt(pkt, len, 1232, false, 0, 65000, 4);
	tu_wr16(pkt + opt + 9, 9);
	ck_assert_int_eq(query_parse(&q, pkt, len), QUERY_FORMERR);
}
END_TEST

START_TEST(edns_unknown_option)
{
	size_t len = tu_query(pkt, 1, 0, "www.lb.test", DNS_TYPE_A, DNS_CLASS_IN);

	len = tu_add_opt(pkt, len, 1232, false, 0, 65001, 7);
	ck_assert_int_eq(query_parse(&q, pkt, len), QUERY_OK);
	ck_assert(q.edns);
	/* Unknown flag bits (Z) are ignored too. */
	len = tu_query(pkt, 1, 0, "www.lb.test", DNS_TYPE_A, DNS_CLASS_IN);
	size_t opt = len;
	len = tu_add_opt(pkt, len, 1232, true, 0, 65002, 0);
	pkt[opt + 8] = 0xFF;
	ck_assert_int_eq(query_parse(&q, pkt, len), QUERY_OK);
	ck_assert(q.edns_do);
}
END_TEST

/* A query for www.lb.test A whose OPT carries the options @opts. */
static enum query_status parse_with_options(const uint8_t *opts, size_t optlen)
{
	size_t len = tu_query(pkt, 1, 0, "www.lb.test", DNS_TYPE_A, DNS_CLASS_IN);

	len = tu_add_opt_raw(pkt, len, 1232, opts, optlen);
	return query_parse(&q, pkt, len);
}

/* ECS: family, source prefix, scope prefix, address (RFC 7871 6). */
static size_t ecs(uint8_t *out, uint16_t family, uint8_t source, uint8_t scope,
		  const uint8_t *addr, size_t alen)
{
	uint8_t d[4 + 16];

	tu_wr16(d, family);
	d[2] = source;
	d[3] = scope;
	memcpy(d + 4, addr, alen);
	return tu_option(out, DNS_EDNS_CLIENT_SUBNET, d, 4 + alen);
}

START_TEST(edns_client_subnet_parsed)
{
	static const uint8_t v4[] = { 192, 0, 2 };
	static const uint8_t v6[] = { 0x20, 0x01, 0x0d, 0xb8, 0x12, 0x34, 0x56 };
	uint8_t o[64];

	ck_assert_int_eq(parse_with_options(o, ecs(o, DNS_ECS_FAMILY_IP4, 24, 0, v4, 3)), QUERY_OK);
	ck_assert(q.ecs.present);
	ck_assert_uint_eq(q.ecs.family, DNS_ECS_FAMILY_IP4);
	ck_assert_uint_eq(q.ecs.source_prefix, 24);
	ck_assert_mem_eq(q.ecs.addr, v4, 3);
	ck_assert_uint_eq(q.ecs.addr[3], 0);
	ck_assert_int_eq(parse_with_options(o, ecs(o, DNS_ECS_FAMILY_IP6, 56, 0, v6, 7)), QUERY_OK);
	ck_assert_uint_eq(q.ecs.family, DNS_ECS_FAMILY_IP6);
	ck_assert_mem_eq(q.ecs.addr, v6, 7);
	/* Source prefix 0: no address octets ("use the resolver's address"). */
	ck_assert_int_eq(parse_with_options(o, ecs(o, DNS_ECS_FAMILY_IP4, 0, 0, v4, 0)), QUERY_OK);
	ck_assert(q.ecs.present);
	ck_assert_uint_eq(q.ecs.source_prefix, 0);
	/* A query without the option says so, even after one with it. */
	ck_assert_int_eq(parse_with_options(o, 0), QUERY_OK);
	ck_assert(!q.ecs.present);
}
END_TEST

START_TEST(edns_client_subnet_malformed)
{
	static const uint8_t v4[] = { 192, 0, 3, 0, 0 };
	uint8_t o[128];
	size_t n;

	/* Unknown family. */
	ck_assert_int_eq(parse_with_options(o, ecs(o, 3, 24, 0, v4, 3)), QUERY_FORMERR);
	/* Source prefix longer than the address. */
	ck_assert_int_eq(parse_with_options(o, ecs(o, DNS_ECS_FAMILY_IP4, 33, 0, v4, 5)),
			 QUERY_FORMERR);
	/* Address octets not ceil(source / 8): too many, too few. */
	ck_assert_int_eq(parse_with_options(o, ecs(o, DNS_ECS_FAMILY_IP4, 16, 0, v4, 3)),
			 QUERY_FORMERR);
	ck_assert_int_eq(parse_with_options(o, ecs(o, DNS_ECS_FAMILY_IP4, 24, 0, v4, 2)),
			 QUERY_FORMERR);
	/* 192.0.3.0/23: the low bit of the third octet lies beyond the prefix. */
	ck_assert_int_eq(parse_with_options(o, ecs(o, DNS_ECS_FAMILY_IP4, 23, 0, v4, 3)),
			 QUERY_FORMERR);
	ck_assert_int_eq(parse_with_options(o, ecs(o, DNS_ECS_FAMILY_IP4, 24, 0, v4, 3)), QUERY_OK);
	/* Shorter than its fixed part. */
	ck_assert_int_eq(parse_with_options(o, tu_option(o, DNS_EDNS_CLIENT_SUBNET, v4, 3)),
			 QUERY_FORMERR);
	/* Twice. */
	n = ecs(o, DNS_ECS_FAMILY_IP4, 24, 0, v4, 3);
	n += ecs(o + n, DNS_ECS_FAMILY_IP4, 24, 0, v4, 3);
	ck_assert_int_eq(parse_with_options(o, n), QUERY_FORMERR);
}
END_TEST

START_TEST(edns_cookie_lengths)
{
	uint8_t data[48], o[64];

	memset(data, 0x5A, sizeof(data));
	/* RFC 7873 5.2.2: 8 (client only), 16 to 40 octets; anything else is FORMERR. */
	for (size_t len = 0; len <= 41; len++) {
		enum query_status want = len == 8 || (len >= 16 && len <= 40) ? QUERY_OK : QUERY_FORMERR;
		ck_assert_msg(parse_with_options(o, tu_option(o, DNS_EDNS_COOKIE, data, len)) == want,
			      "cookie of %zu octets", len);
		if (want == QUERY_OK) {
			ck_assert(q.cookie.present);
			ck_assert_uint_eq(q.cookie.len, len);
			ck_assert_mem_eq(q.cookie.data, data, len);
		}
	}
	{
		size_t n = tu_option(o, DNS_EDNS_COOKIE, data, 8);
		n += tu_option(o + n, DNS_EDNS_COOKIE, data, 8);
		ck_assert_int_eq(parse_with_options(o, n), QUERY_FORMERR);
	}
}
END_TEST

START_TEST(edns_nsid_and_unknown_counted)
{
	uint8_t o[64];
	size_t n = tu_option(o, DNS_EDNS_NSID, NULL, 0);

	n += tu_option(o + n, 65001, (const uint8_t *)"xyz", 3);
	n += tu_option(o + n, DNS_EDNS_PADDING, (const uint8_t *)"\0\0", 2);
	ck_assert_int_eq(parse_with_options(o, n), QUERY_OK);
	ck_assert(q.nsid);
	ck_assert_uint_eq(q.unknown_options, 2);
	ck_assert(!q.cookie.present);
	ck_assert_int_eq(parse_with_options(o, 0), QUERY_OK);
	ck_assert(!q.nsid);
	ck_assert_uint_eq(q.unknown_options, 0);
}
END_TEST

START_TEST(tsig_like_rr_skipped)
{
	size_t len = tu_query(pkt, 1, 0, "www.lb.test", DNS_TYPE_A, DNS_CLASS_IN);
	static const uint8_t tsig[] = {3, 'k', 'e', 'y', 0xC0, 12, /* owner: key.<qname> */
				       0, 250,			   /* TSIG */
				       0, 255,			   /* class ANY */
				       0, 0,   0,   0,		   /* ttl */
				       0, 4,   1,   2,	 3,    4};
	memcpy(pkt + len, tsig, sizeof(tsig));
	len += sizeof(tsig);
	tu_wr16(pkt + 10, 1);
	ck_assert_int_eq(query_parse(&q, pkt, len), QUERY_OK);
	ck_assert(!q.edns);
	/* With an OPT before it. */
	len = tu_query(pkt, 1, 0, "www.lb.test", DNS_TYPE_A, DNS_CLASS_IN);
	len = tu_add_opt(pkt, len, 2048, false, 0, 0, -1);
	memcpy(pkt + len, tsig, sizeof(tsig));
	len += sizeof(tsig);
	tu_wr16(pkt + 10, 2);
	ck_assert_int_eq(query_parse(&q, pkt, len), QUERY_OK);
	ck_assert(q.edns);
	ck_assert_uint_eq(q.edns_udp, 2048);
	/* Cut short: FORMERR. */
	ck_assert_int_eq(query_parse(&q, pkt, len - 1), QUERY_FORMERR);
}
END_TEST

START_TEST(arcount_more_than_present)
{
	size_t len = tu_query(pkt, 1, 0, "www.lb.test", DNS_TYPE_A, DNS_CLASS_IN);

	len = tu_add_opt(pkt, len, 1232, false, 0, 0, -1);
	tu_wr16(pkt + 10, 2);
	ck_assert_int_eq(query_parse(&q, pkt, len), QUERY_FORMERR);
}
END_TEST

/* Every prefix of a valid EDNS query must parse to something without
 * reading past the end (run under ASan to make this bite). */
START_TEST(every_prefix_is_safe)
{
	size_t len = tu_query(pkt, 1, 0, "www.lb.test", DNS_TYPE_A, DNS_CLASS_IN);

	len = tu_add_opt(pkt, len, 1232, true, 0, 10, 8);
	for (size_t n = 0; n <= len; n++) {
		uint8_t *copy = malloc(n ? n : 1);
		memcpy(copy, pkt, n);
		enum query_status st = query_parse(&q, copy, n);
		free(copy);
		if (n < 12) {
			ck_assert_int_eq(st, QUERY_DROP);
		} else if (n < len) {
			ck_assert_int_eq(st, QUERY_FORMERR);
		} else {
			ck_assert_int_eq(st, QUERY_OK);
		}
	}
}
END_TEST

static Suite *query_suite(void)
{
	Suite *s = suite_create("query");
	TCase *tc = tcase_create("header_question");
	TCase *te = tcase_create("edns_additional");

	tcase_add_test(tc, normal_query);
	tcase_add_test(tc, root_query);
	tcase_add_test(tc, response_dropped);
	tcase_add_test(tc, short_dropped);
	tcase_add_test(tc, qdcount_zero_and_two);
	tcase_add_test(tc, qdcount_zero_with_cookie);
	tcase_add_test(tc, header_only_is_formerr);
	tcase_add_test(tc, compressed_qname);
	tcase_add_test(tc, extended_label_type);
	tcase_add_test(tc, label_past_end);
	tcase_add_test(tc, name_length_limit);
	tcase_add_test(tc, many_labels);
	tcase_add_test(tc, ancount_nscount);
	tcase_add_test(tc, trailing_garbage);
	tcase_add_test(tc, other_opcodes_notimp);
	tcase_add_test(tc, every_prefix_is_safe);
	suite_add_tcase(s, tc);

	tcase_add_test(te, edns_fields);
	tcase_add_test(te, edns_small_udp_raised);
	tcase_add_test(te, edns_badvers);
	tcase_add_test(te, edns_two_opt);
	tcase_add_test(te, edns_owner_not_root);
	tcase_add_test(te, edns_option_past_rdata);
	tcase_add_test(te, edns_unknown_option);
	tcase_add_test(te, edns_client_subnet_parsed);
	tcase_add_test(te, edns_client_subnet_malformed);
	tcase_add_test(te, edns_cookie_lengths);
	tcase_add_test(te, edns_nsid_and_unknown_counted);
	tcase_add_test(te, tsig_like_rr_skipped);
	tcase_add_test(te, arcount_more_than_present);
	suite_add_tcase(s, te);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(query_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed != 0 ? EXIT_FAILURE : EXIT_SUCCESS;
}
