/* check_answer.c -- unit tests for the DNS core (src/answer.c, snapshot.c, image.c) without
 * sockets: config and zones in temp files, conf_load -> snapshot_build -> answer_query. */
#include "config.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include <check.h>

#include "dns/answer.h"
#include "dns/cookie.h"
#include "data/conf.h"
#include "data/snapshot.h"
#include "health/health.h"
#include "health/probe.h"
#include "testutil.h"
#include "explain_walk.h"

#define C_HS 4 /* Hesiod: a class nobody serves */

/* --- the test data ---------------------------------------------------------- */

static char zbuf[32768];
static size_t zlen;

__attribute__((format(printf, 1, 2))) static void zadd(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	zlen += (size_t)vsnprintf(zbuf + zlen, sizeof(zbuf) - zlen, fmt, ap);
	va_end(ap);
	ck_assert_uint_lt(zlen, sizeof(zbuf));
}

/* Negative TTL: min(SOA TTL 3600, MINIMUM 60) = 60. */
static const char *parent_zone(void)
{
	zlen = 0;
	zadd("$ORIGIN lb.test.\n"
	     "$TTL 300\n"
	     "@ 3600 IN SOA ns1 hostmaster 2024010101 3600 600 86400 60\n"
	     "@ IN NS ns1\n"
	     "@ IN NS ns.outside.example.\n"
	     "@ IN MX 10 mail\n"
	     "ns1 IN A 192.0.2.1\n"
	     "mail IN A 192.0.2.25\n"
	     "www IN A 192.0.2.10\n"
	     "www IN AAAA 2001:db8::10\n"
	     "www IN TXT \"web\"\n"
	     "a.b.c IN A 192.0.2.20\n"
	     "alias IN CNAME www\n"
	     "alias2 IN CNAME alias\n"
	     "topool IN CNAME pool\n"
	     "loop1 IN CNAME loop2\n"
	     "loop2 IN CNAME loop1\n"
	     "ext IN CNAME www.example.org.\n"
	     "dangling IN CNAME nothere\n"
	     "*.wild IN A 192.0.2.99\n"
	     "exists.wild IN TXT \"real\"\n"
	     "*.cw IN CNAME www\n"
	     "towild IN CNAME foo.wild\n"
	     "sub IN NS ns.sub\n"
	     "sub IN NS ns.outside.example.\n"
	     "ns.sub IN A 192.0.2.53\n"
	     "deeper.sub IN NS ns.outside.example.\n"
	     "deeper.sub IN DS 1 8 2 "
	     "49FD46E6C4B45C55D4AC49FD46E6C4B45C55D4AC49FD46E6C4B45C55D4AC9999\n"
	     "ds IN NS ns.outside.example.\n"
	     "ds IN DS 12345 8 2 "
	     "49FD46E6C4B45C55D4AC49FD46E6C4B45C55D4AC49FD46E6C4B45C55D4AC1234\n"
	     "child IN NS ns1.child\n"
	     "child IN DS 54321 8 2 "
	     "49FD46E6C4B45C55D4AC49FD46E6C4B45C55D4AC49FD46E6C4B45C55D4AC5678\n"
	     "ns1.child IN A 192.0.2.210\n"
	     /* Targets of every kind: addresses, a repeat, a CNAME, outside our
	      * zones, in the served child zone, below a delegation, a wildcard. */
	     "svc IN MX 10 mail\n"
	     "svc IN MX 20 www\n"
	     "svc IN MX 30 Mail\n"
	     "svc IN MX 40 alias\n"
	     "svc IN MX 50 mx.outside.example.\n"
	     "svc IN MX 60 ns1.child\n"
	     "svc IN MX 70 ns.sub\n"
	     "svc IN MX 80 x.wild\n"
	     /* Pool owners as targets: two families, one, a wildcard owner. */
	     "pmx IN MX 10 pool\n"
	     "pmx IN MX 20 v6\n"
	     "pmx IN MX 30 mail\n"
	     "pmx IN MX 40 a.pw\n"
	     "pmany IN MX 10 mail\n"
	     "pmany IN MX 20 many\n"
	     "_sip._tcp IN SRV 0 5 5060 www\n"
	     "_sip._tcp IN SRV 0 5 5061 www\n"
	     "_sip._tcp IN SRV 1 5 5060 v4\n"
	     "_none._tcp IN SRV 0 0 0 .\n");
	/* 20 MX fit in 512 bytes, their 40 addresses do not. */
	for (int i = 1; i <= 20; i++) {
		zadd("bigmx IN MX %d mx%02d\nmx%02d IN A 192.0.2.%d\nmx%02d IN AAAA 2001:db8:3::%d\n",
		     i, i, i, 20 + i, i, i);
	}
	/* 20 TXT of 100 octets: ~2260 bytes, over 1232. 8 of them: ~900. */
	for (int i = 0; i < 20; i++) {
		zadd("big IN TXT \"big-%02d-%093d\"\n", i, 0);
	}
	for (int i = 0; i < 8; i++) {
		zadd("medium IN TXT \"medium-%02d-%090d\"\n", i, 0);
	}
	/* A delegation whose servers are siblings, not below the cut: their
	 * addresses are optional. And one whose glue is required. */
	for (int i = 1; i <= 20; i++) {
		zadd(
		    "opt IN NS sib%02d\nsib%02d IN A 192.0.2.%d\nsib%02d IN AAAA 2001:db8:5b::%d\n",
		    i, i, 100 + i, i, i);
	}
	for (int i = 1; i <= 12; i++) {
		zadd("req IN NS ns%02d.req\nns%02d.req IN A 192.0.2.%d\nns%02d.req IN AAAA "
		     "2001:db8:bd::%d\n",
		     i, i, 150 + i, i, i);
	}
	return zbuf;
}

/* Negative TTL: min(300, 120) = 120. */
static const char child_zone[] = "$ORIGIN child.lb.test.\n"
				 "@ 300 IN SOA ns1 hostmaster 1 3600 600 86400 120\n"
				 "@ 300 IN NS ns1\n"
				 "ns1 300 IN A 192.0.2.210\n"
				 "www 300 IN A 192.0.2.211\n";

static const char zones_conf[] =
    "zones = ( { origin = \"lb.test\"; file = \"lb.test.zone\"; },\n"
    "          { origin = \"child.lb.test\"; file = \"child.zone\"; } );\n";

static char pools_buf[8192];

/* Pools: "rr" (3 IPv4 + 1 IPv6, two owners), one per family, a wildcard
 * owner, and "many" whose 40 addresses do not fit in 512 bytes. */
static const char *pools_conf(void)
{
	size_t n = (size_t)snprintf(
	    pools_buf, sizeof(pools_buf), "%s",
	    "pools = (\n"
	    "  { name = \"rr\"; owners = [ \"pool.lb.test\", \"Pool2.LB.test\" ]; ttl = 20;\n"
	    "    members = ( { address = \"192.0.2.101\"; }, { address = \"192.0.2.102\"; },\n"
	    "                { address = \"192.0.2.103\"; }, { address = \"2001:db8::101\"; } ); "
	    "},\n"
	    "  { name = \"v4\"; owners = \"v4.lb.test\"; members = ( { address = \"192.0.2.201\"; "
	    "} ); },\n"
	    "  { name = \"v6\"; owners = \"v6.lb.test\"; members = ( { address = "
	    "\"2001:db8::201\"; } ); },\n"
	    "  { name = \"wild\"; owners = \"*.pw.lb.test\"; members = ( { address = "
	    "\"192.0.2.222\"; } ); },\n"
	    "  { name = \"many\"; owners = \"many.lb.test\"; members = (\n");
	for (int i = 1; i <= 40; i++) {
		n += (size_t)snprintf(pools_buf + n, sizeof(pools_buf) - n,
				      "    { address = \"198.51.100.%d\"; }%s\n", i,
				      i < 40 ? "," : "");
	}
	snprintf(pools_buf + n, sizeof(pools_buf) - n, "  ); }\n);\n");
	return pools_buf;
}

static struct snapshot *snap;
static struct answer_ctx ctx;
static const struct sockaddr_storage *client; /* what the transport says; NULL: unknown */
static struct request last;                   /* the request of the last answer */

/* answer_query() as a transport calls it, with a request of its own. */
static size_t answer_as(struct answer_ctx *c, const struct snapshot *s, const uint8_t *pkt,
			size_t len, uint8_t *out, size_t size, bool tcp)
{
	struct request req;
	size_t n;

	req.client = client;
	req.transport = tcp ? TRANSPORT_TCP : TRANSPORT_UDP;
	n = answer_query(c, s, &req, pkt, len, out, size);
	last = req;
	return n;
}
static uint8_t qbuf[1024];
static uint8_t resp[65535];
static size_t rlen;
static struct tu_resp r;
static char errlog[16384];

/* Write the zones and a config made of @extra, the zones and the pools (in
 * a fresh directory); return the snapshot, its members' health in @health
 * (NULL: all up), or NULL (errors in errlog). */
static struct snapshot *build_health(const char *extra, const char *pools,
				     struct health_table *health)
{
	char path[PATH_MAX], conf_text[8192];
	static int n;
	char dir[64], name[96];
	struct conf *c = NULL;
	struct snapshot *s = NULL;

	snprintf(dir, sizeof(dir), "d%d", n++);
	tu_mkdir(dir);
	snprintf(name, sizeof(name), "%s/lb.test.zone", dir);
	tu_write(path, name, parent_zone());
	snprintf(name, sizeof(name), "%s/child.zone", dir);
	tu_write(path, name, child_zone);
	snprintf(conf_text, sizeof(conf_text), "listen = \"127.0.0.1:5353\";\n%s%s%s", extra,
		 zones_conf, pools);
	snprintf(name, sizeof(name), "%s/gslbd.conf", dir);
	tu_write(path, name, conf_text);
	TU_CAPTURE_STDERR(errlog, sizeof(errlog), c = conf_load(path));
	ck_assert_msg(c != NULL, "config rejected:\n%s", errlog);
	TU_CAPTURE_STDERR(errlog, sizeof(errlog), s = snapshot_build_health(c, health));
	return s;
}

static struct snapshot *build(const char *extra, const char *pools)
{
	return build_health(extra, pools, NULL);
}

static void use(struct snapshot *s)
{
	ck_assert_msg(s != NULL, "snapshot_build failed:\n%s", errlog);
	snap = s;
	answer_ctx_use(&ctx, snap);
}

static void setup(void)
{
	client = NULL;
	answer_ctx_init(&ctx, 42);
	use(build("chaos = { version = \"gslbd-test\"; id = \"node-1\"; };\n", pools_conf()));
}

static void teardown(void)
{
	answer_ctx_clear(&ctx);
	snapshot_free(snap);
	snap = NULL;
}

/* Answer the @len-byte query in qbuf; parse the response into r. */
static const struct tu_resp *send_q(size_t len, bool tcp)
{
	rlen = answer_as(&ctx, snap, qbuf, len, resp, tcp ? 65535 : 4096, tcp);
	ck_assert_uint_ge(rlen, 12);
	ck_assert_msg(tu_parse(&r, resp, rlen) == 0, "malformed response (%zu bytes)", rlen);
	ck_assert(r.qr);
	ck_assert_uint_eq(r.id, tu_rd16(qbuf));
	if (!tcp) {
		ck_assert_uint_le(rlen, 4096);
	}
	return &r;
}

/* Ask @qname/@qtype, class IN, RD set, over UDP without EDNS. */
static const struct tu_resp *ask(const char *qname, uint16_t qtype)
{
	return send_q(tu_query(qbuf, 0x1234, TU_RD, qname, qtype, DNS_CLASS_IN), false);
}

static const struct tu_resp *ask_edns(const char *qname, uint16_t qtype, uint16_t udp, bool tcp)
{
	size_t len = tu_query(qbuf, 0x4321, 0, qname, qtype, DNS_CLASS_IN);

	return send_q(tu_add_opt(qbuf, len, udp, false, 0, 0, -1), tcp);
}

static char txt[1024];

static const char *owner(int section, unsigned k)
{
	const struct tu_rr *rr = tu_sec(&r, section, k);

	ck_assert_ptr_nonnull(rr);
	return rr->owner;
}

static const char *rdname(int section, unsigned k)
{
	const struct tu_rr *rr = tu_sec(&r, section, k);

	ck_assert_ptr_nonnull(rr);
	return tu_rdata_name(txt, resp, rlen, rr);
}

static const char *addr(int section, unsigned k)
{
	const struct tu_rr *rr = tu_sec(&r, section, k);

	ck_assert_ptr_nonnull(rr);
	return tu_addr(txt, sizeof(txt), rr);
}

static void expect_counts(int rcode, unsigned an, unsigned ns, unsigned ar)
{
	ck_assert_int_eq(r.rcode, rcode);
	ck_assert_uint_eq(r.ancount, an);
	ck_assert_uint_eq(r.nscount, ns);
	ck_assert_uint_eq(r.arcount, ar);
}

/* A negative answer: just the SOA of @apex with TTL @ttl in authority. */
static void expect_negative(int rcode, const char *apex, uint32_t ttl)
{
	expect_counts(rcode, 0, 1, 0);
	ck_assert(r.aa);
	ck_assert_uint_eq(tu_sec(&r, 1, 0)->type, DNS_TYPE_SOA);
	ck_assert_str_eq(owner(1, 0), apex);
	ck_assert_uint_eq(tu_sec(&r, 1, 0)->ttl, ttl);
}

/* --- header and question ---------------------------------------------------- */

START_TEST(flags)
{
	size_t len = tu_query(qbuf, 0xABCD, TU_RD | TU_CD | TU_AD, "www.lb.test", DNS_TYPE_A, DNS_CLASS_IN);

	send_q(len, false);
	ck_assert_uint_eq(r.id, 0xABCD);
	ck_assert(r.aa);
	ck_assert(r.rd);
	ck_assert(r.cd);
	ck_assert(!r.ra);
	ck_assert(!r.tc);
	ck_assert_int_eq(r.opcode, 0);
	expect_counts(0, 1, 0, 0);
	ck_assert_uint_eq(r.qdcount, 1);

	len = tu_query(qbuf, 7, 0, "www.lb.test", DNS_TYPE_A, DNS_CLASS_IN);
	send_q(len, false);
	ck_assert(!r.rd);
	ck_assert(!r.cd);
	ck_assert(r.aa);
	ck_assert_uint_eq(resp[3] & 0x70, 0); /* Z and AD clear */
}
END_TEST

START_TEST(question_echoed_with_case)
{
	size_t len = tu_query(qbuf, 1, TU_RD, "WwW.lB.TeSt", DNS_TYPE_A, DNS_CLASS_IN);

	send_q(len, false);
	ck_assert_uint_eq(r.question_end, len);
	ck_assert_mem_eq(resp + 12, qbuf + 12, len - 12);
	ck_assert_str_eq(r.qname, "WwW.lB.TeSt");
	ck_assert_str_eq(owner(0, 0), "WwW.lB.TeSt");
	ck_assert_str_eq(addr(0, 0), "192.0.2.10");
	ck_assert_uint_eq(tu_sec(&r, 0, 0)->ttl, 300);
}
END_TEST

START_TEST(compression)
{
	ask("www.lb.test", DNS_TYPE_A);
	/* The answer's owner is a pointer to the question name. */
	ck_assert_uint_eq(tu_sec(&r, 0, 0)->owner_off, r.question_end);
	ck_assert_uint_eq(resp[r.question_end], 0xC0);
	ck_assert_uint_eq(resp[r.question_end + 1], 0x0C);

	ask("lb.test", DNS_TYPE_NS);
	expect_counts(0, 2, 0, 1);
	ck_assert_uint_eq(tu_rd16(resp + tu_sec(&r, 0, 0)->owner_off), 0xC00C);
	/* "ns1" then a pointer to the zone name: 4 + 2 octets of rdata. */
	ck_assert_uint_eq(tu_sec(&r, 0, 0)->rdlen, 6);
	ck_assert_str_eq(rdname(0, 0), "ns1.lb.test");
	ck_assert_str_eq(rdname(0, 1), "ns.outside.example");
	/* The target's address: its owner is a pointer to the NS record's name. */
	ck_assert_uint_eq(tu_rd16(resp + tu_sec(&r, 2, 0)->owner_off),
			  0xC000 | tu_sec(&r, 0, 0)->rdata_off);
	/* Positive answers are minimal: no NS in authority. */
	ask("www.lb.test", DNS_TYPE_AAAA);
	expect_counts(0, 1, 0, 0);
	ck_assert_str_eq(addr(0, 0), "2001:db8::10");
}
END_TEST

START_TEST(mx_answer)
{
	ask("lb.test", DNS_TYPE_MX);
	expect_counts(0, 1, 0, 1);
	ck_assert_uint_eq(tu_sec(&r, 0, 0)->type, DNS_TYPE_MX);
	tu_name(txt, resp, rlen, tu_sec(&r, 0, 0)->rdata_off + 2);
	ck_assert_str_eq(txt, "mail.lb.test");
	ck_assert_str_eq(owner(2, 0), "mail.lb.test");
	ck_assert_str_eq(addr(2, 0), "192.0.2.25");
}
END_TEST

/* --- additional addresses of NS, MX and SRV targets ---------------------------- */

static int cmp_str(const void *a, const void *b)
{
	return strcmp((const char *)a, (const char *)b);
}

/* The records of the additional section as "owner TYPE" ("A", "AAAA",
 * "OPT"), sorted (the order of an RRset's records is the zone's, not the
 * file's), joined by ", ". */
static const char *additional(void)
{
	static char items[TU_MAXRR][1040], out[8192];
	size_t o = 0;

	out[0] = 0;
	for (unsigned k = 0; k < r.arcount; k++) {
		const struct tu_rr *rr = tu_sec(&r, 2, k);
		const char *t = rr->type == DNS_TYPE_A ? "A" : rr->type == DNS_TYPE_AAAA ? "AAAA" : "OPT";
		snprintf(items[k], sizeof(items[k]), "%s %s", rr->owner, t);
	}
	qsort(items, r.arcount, sizeof(items[0]), cmp_str);
	for (unsigned k = 0; k < r.arcount; k++) {
		o += (size_t)snprintf(out + o, sizeof(out) - o, "%s%s", k ? ", " : "", items[k]);
		ck_assert_uint_lt(o, sizeof(out));
	}
	return out;
}

/* The answer record whose rdata names @target at @off. */
static const struct tu_rr *answer_naming(const char *target, size_t off)
{
	for (unsigned k = 0; k < r.ancount; k++) {
		const struct tu_rr *rr = tu_sec(&r, 0, k);
		tu_name(txt, resp, rlen, rr->rdata_off + off);
		if (strcmp(txt, target) == 0) {
			return rr;
		}
	}
	ck_abort_msg("no answer record names %s", target);
	return NULL;
}

/* The address of the additional record of @type owned by @name, or "". */
static const char *additional_addr(const char *name, uint16_t type, unsigned nth)
{
	for (unsigned k = 0; k < r.arcount; k++) {
		const struct tu_rr *rr = tu_sec(&r, 2, k);
		if (rr->type == type && strcmp(rr->owner, name) == 0 && nth-- == 0) {
			return tu_addr(txt, sizeof(txt), rr);
		}
	}
	return "";
}

/* The apex NS, the served child's apex NS: the in-zone targets' addresses;
 * a target outside our zones gets none. */
START_TEST(ns_answer_additional)
{
	ask("lb.test", DNS_TYPE_NS);
	ck_assert(!r.tc);
	expect_counts(0, 2, 0, 1);
	ck_assert_str_eq(additional(), "ns1.lb.test A");
	ck_assert_str_eq(addr(2, 0), "192.0.2.1");
	ck_assert_uint_eq(tu_sec(&r, 2, 0)->ttl, 300);
	ask("child.lb.test", DNS_TYPE_NS);
	ck_assert(r.aa);
	ck_assert_str_eq(additional(), "ns1.child.lb.test A");
	ck_assert_str_eq(addr(2, 0), "192.0.2.210");
	/* Other positive answers stay minimal. */
	ask("lb.test", DNS_TYPE_SOA);
	expect_counts(0, 1, 0, 0);
	ask("www.lb.test", DNS_TYPE_TXT);
	expect_counts(0, 1, 0, 0);
}
END_TEST

/* Each target once, in record order, only from the answer's own zone; not
 * through a CNAME (RFC 2181 10.3), not below a delegation; a wildcard
 * synthesizes them under the target's name. */
START_TEST(mx_answer_additional)
{
	send_q(tu_query(qbuf, 2, 0, "svc.lb.test", DNS_TYPE_MX, DNS_CLASS_IN), true);
	ck_assert_uint_eq(r.ancount, 8);
	ck_assert_str_eq(additional(),
			 "mail.lb.test A, www.lb.test A, www.lb.test AAAA, x.wild.lb.test A");
	ck_assert_str_eq(additional_addr("mail.lb.test", DNS_TYPE_A, 0), "192.0.2.25");
	ck_assert_str_eq(additional_addr("www.lb.test", DNS_TYPE_AAAA, 0), "2001:db8::10");
	ck_assert_str_eq(additional_addr("x.wild.lb.test", DNS_TYPE_A, 0), "192.0.2.99");
	/* Over UDP without EDNS it fits as well. */
	ask("svc.lb.test", DNS_TYPE_MX);
	ck_assert(!r.tc);
	ck_assert_uint_eq(r.arcount, 4);
}
END_TEST

/* SRV targets are written in full (RFC 2782), and the addresses' owners
 * point to them. ANY, answered with the SRV RRset, is the SRV answer. */
START_TEST(srv_answer_additional)
{
	const struct tu_rr *srv;

	ask("_sip._tcp.lb.test", DNS_TYPE_SRV);
	expect_counts(0, 3, 0, 3);
	ck_assert_str_eq(additional(), "v4.lb.test A, www.lb.test A, www.lb.test AAAA");
	srv = answer_naming("www.lb.test", 6);
	ck_assert_uint_eq(srv->rdlen, 6 + 13); /* "www.lb.test" uncompressed */
	for (unsigned k = 0; k < r.arcount; k++) {
		if (strcmp(owner(2, k), "www.lb.test") == 0) {
			ck_assert_uint_eq(tu_rd16(resp + tu_sec(&r, 2, k)->owner_off),
					  0xC000 | (srv->rdata_off + 6));
		}
	}
	ck_assert_uint_eq(answer_naming("v4.lb.test", 6)->rdlen, 6 + 12);
	ck_assert_str_eq(additional_addr("v4.lb.test", DNS_TYPE_A, 0), "192.0.2.201");
	/* The pool's own TTL; the zone's for the zone data. */
	for (unsigned k = 0; k < r.arcount; k++) {
		const struct tu_rr *rr = tu_sec(&r, 2, k);
		ck_assert_uint_eq(rr->ttl, strcmp(rr->owner, "v4.lb.test") == 0 ? 30 : 300);
	}
	ask("_sip._tcp.lb.test", DNS_TYPE_ANY);
	expect_counts(0, 3, 0, 3);
	ck_assert_uint_eq(tu_sec(&r, 0, 0)->type, DNS_TYPE_SRV);
	ck_assert_str_eq(additional(), "v4.lb.test A, www.lb.test A, www.lb.test AAAA");
	/* "." is no target. */
	ask("_none._tcp.lb.test", DNS_TYPE_SRV);
	expect_counts(0, 1, 0, 0);
}
END_TEST

/* A pool owner as a target brings what an A and an AAAA query for it get
 * now: after the zone data, each family its pool has, with the pool's TTL;
 * the response is still not a pool answer. */
START_TEST(pool_target_additional)
{
	ask("pmx.lb.test", DNS_TYPE_MX);
	ck_assert(!r.tc);
	expect_counts(0, 4, 0, 7);
	ck_assert_str_eq(additional(), "a.pw.lb.test A, mail.lb.test A, pool.lb.test A, "
				       "pool.lb.test A, pool.lb.test A, pool.lb.test AAAA, "
				       "v6.lb.test AAAA");
	ck_assert_str_eq(owner(2, 0), "mail.lb.test"); /* zone data first, then pools */
	ck_assert_str_eq(additional_addr("pool.lb.test", DNS_TYPE_AAAA, 0), "2001:db8::101");
	for (unsigned k = 0; k < 3; k++) {
		ck_assert_ptr_nonnull(strstr("192.0.2.101 192.0.2.102 192.0.2.103",
					     additional_addr("pool.lb.test", DNS_TYPE_A, k)));
	}
	for (unsigned k = 1; k < r.arcount; k++) {
		if (strcmp(owner(2, k), "pool.lb.test") == 0) {
			ck_assert_uint_eq(tu_sec(&r, 2, k)->ttl, 20);
		}
	}
	ck_assert_str_eq(additional_addr("v6.lb.test", DNS_TYPE_AAAA, 0), "2001:db8::201");
	ck_assert_str_eq(additional_addr("a.pw.lb.test", DNS_TYPE_A, 0), "192.0.2.222");
	ck_assert_ptr_null(last.pool);
	ck_assert_int_eq(last.source, POOL_SOURCE_NONE);
	ck_assert_int_eq(last.kind, RESPONSE_ANSWER);
}
END_TEST

/* Mark the probed member @target ("192.0.2.102:9") of @s down. */
static void member_down(const struct snapshot *s, struct health_table *health, const char *target)
{
	for (size_t i = 0; i < s->nspecs; i++) {
		if (strcmp(s->specs[i]->target, target) == 0) {
			health_record(health, s->specs[i]->entry, false, "test", 0, 1, 1, 1.0);
			return;
		}
	}
	ck_abort_msg("no probe of %s", target);
}

/* The members in the additional section are the healthy ones, as for an A
 * query; a pool whose family has none left (nodata last resort) adds none. */
START_TEST(pool_target_health)
{
	struct health_table *health = health_table_new();
	static const char pools[] =
	    "checks = ( { name = \"t\"; type = \"tcp\"; port = 9; rise = 1; fall = 1; } );\n"
	    "pools = (\n"
	    "  { name = \"rr\"; owners = \"pool.lb.test\"; check = \"t\"; ttl = 20;\n"
	    "    members = ( { address = \"192.0.2.101\"; }, { address = \"192.0.2.102\"; },\n"
	    "                { address = \"192.0.2.103\"; }, { address = \"2001:db8::101\"; } ); },\n"
	    "  { name = \"v6\"; owners = \"v6.lb.test\"; check = \"t\"; last_resort = \"nodata\";\n"
	    "    members = ( { address = \"2001:db8::201\"; } ); }\n"
	    ");\n";

	snapshot_free(snap);
	use(build_health("", pools, health));
	ask("pmx.lb.test", DNS_TYPE_MX);
	ck_assert_str_eq(additional(), "mail.lb.test A, pool.lb.test A, pool.lb.test A, "
				       "pool.lb.test A, pool.lb.test AAAA, v6.lb.test AAAA");

	member_down(snap, health, "192.0.2.102:9");
	member_down(snap, health, "[2001:db8::201]:9");
	for (int i = 0; i < 3; i++) { /* whatever the rotation */
		ask("pmx.lb.test", DNS_TYPE_MX);
		ck_assert(!r.tc);
		ck_assert_str_eq(additional(), "mail.lb.test A, pool.lb.test A, pool.lb.test A, "
					       "pool.lb.test AAAA");
		for (unsigned k = 0; k < 2; k++) {
			const char *a = additional_addr("pool.lb.test", DNS_TYPE_A, k);
			ck_assert_msg(strcmp(a, "192.0.2.101") == 0 || strcmp(a, "192.0.2.103") == 0,
				      "%s is down", a);
		}
		/* An A member is down: ttl_degraded (20 / 3), as the A answer has
		 * it; the AAAA family is whole. */
		for (unsigned k = 0; k < r.arcount; k++) {
			const struct tu_rr *rr = tu_sec(&r, 2, k);
			if (strcmp(rr->owner, "pool.lb.test") == 0) {
				ck_assert_uint_eq(rr->ttl, rr->type == DNS_TYPE_A ? 6 : 20);
			}
		}
	}
	ask("v6.lb.test", DNS_TYPE_AAAA); /* what the pool's own name answers now */
	expect_negative(0, "lb.test", 60);
	snapshot_free(snap);
	snap = NULL;
	health_table_free(health);
	use(build("", pools_conf()));
}
END_TEST

/* Over UDP the addresses are optional: the answer stays, without TC, and
 * what does not fit is left out, RRset by RRset. */
START_TEST(additional_dropped_when_too_big)
{
	ask("bigmx.lb.test", DNS_TYPE_MX);
	ck_assert(!r.tc);
	expect_counts(0, 20, 0, 0);
	ck_assert_uint_le(rlen, 512);
	send_q(tu_query(qbuf, 2, 0, "bigmx.lb.test", DNS_TYPE_MX, DNS_CLASS_IN), true);
	expect_counts(0, 20, 0, 40);

	/* 40 pool members do not fit in 512 bytes; the zone data before them does. */
	ask("pmany.lb.test", DNS_TYPE_MX);
	ck_assert(!r.tc);
	expect_counts(0, 2, 0, 1);
	ck_assert_str_eq(additional(), "mail.lb.test A");
	ck_assert_uint_le(rlen, 512);
	ask_edns("pmany.lb.test", DNS_TYPE_MX, 1232, false);
	ck_assert(!r.tc);
	expect_counts(0, 2, 0, 42);
	ck_assert(r.has_opt);
	ck_assert_uint_eq(tu_count(&r, 2, DNS_TYPE_A), 41);
	/* The OPT's room is kept. */
	ask_edns("pmany.lb.test", DNS_TYPE_MX, 600, false);
	ck_assert(!r.tc);
	expect_counts(0, 2, 0, 2);
	ck_assert(r.has_opt);
	ck_assert_uint_le(rlen, 600);
}
END_TEST

/* --- negative answers ------------------------------------------------------- */

START_TEST(nxdomain)
{
	ask("nope.lb.test", DNS_TYPE_A);
	expect_negative(3, "lb.test", 60);
	/* SOA rdata names decompress correctly. */
	ck_assert_str_eq(rdname(1, 0), "ns1.lb.test");
	ask("x.y.www.lb.test", DNS_TYPE_A);
	expect_negative(3, "lb.test", 60);
	ask("NoPe.Lb.TeSt", DNS_TYPE_TXT);
	expect_negative(3, "Lb.TeSt", 60); /* the owner points into the question */
}
END_TEST

START_TEST(nodata)
{
	ask("www.lb.test", DNS_TYPE_MX);
	expect_negative(0, "lb.test", 60);
	ask("lb.test", DNS_TYPE_AAAA);
	expect_negative(0, "lb.test", 60);
}
END_TEST

START_TEST(empty_non_terminal)
{
	ask("b.c.lb.test", DNS_TYPE_A);
	expect_negative(0, "lb.test", 60);
	ask("c.lb.test", DNS_TYPE_TXT);
	expect_negative(0, "lb.test", 60);
	ask("a.b.c.lb.test", DNS_TYPE_A);
	expect_counts(0, 1, 0, 0);
	ask("x.c.lb.test", DNS_TYPE_A);
	expect_negative(3, "lb.test", 60);
}
END_TEST

/* --- CNAME ------------------------------------------------------------------ */

START_TEST(cname_chain_static)
{
	ask("alias2.lb.test", DNS_TYPE_A);
	expect_counts(0, 3, 0, 0);
	ck_assert(r.aa);
	ck_assert_uint_eq(tu_sec(&r, 0, 0)->type, DNS_TYPE_CNAME);
	ck_assert_str_eq(owner(0, 0), "alias2.lb.test");
	ck_assert_str_eq(rdname(0, 0), "alias.lb.test");
	ck_assert_uint_eq(tu_sec(&r, 0, 1)->type, DNS_TYPE_CNAME);
	ck_assert_str_eq(owner(0, 1), "alias.lb.test");
	ck_assert_str_eq(rdname(0, 1), "www.lb.test");
	ck_assert_uint_eq(tu_sec(&r, 0, 2)->type, DNS_TYPE_A);
	ck_assert_str_eq(owner(0, 2), "www.lb.test");
	ck_assert_str_eq(addr(0, 2), "192.0.2.10");

	/* A type the target lacks: the chain, then NODATA's SOA. */
	ask("alias2.lb.test", DNS_TYPE_MX);
	ck_assert_int_eq(r.rcode, 0);
	ck_assert_uint_eq(r.ancount, 2);
	ck_assert_uint_eq(r.nscount, 1);
	ck_assert_uint_eq(tu_sec(&r, 1, 0)->type, DNS_TYPE_SOA);
	ck_assert_uint_eq(tu_sec(&r, 1, 0)->ttl, 60);

	/* The CNAME itself. */
	ask("alias2.lb.test", DNS_TYPE_CNAME);
	expect_counts(0, 1, 0, 0);
	ck_assert_str_eq(rdname(0, 0), "alias.lb.test");
}
END_TEST

START_TEST(cname_to_pool)
{
	ask("topool.lb.test", DNS_TYPE_A);
	expect_counts(0, 4, 0, 0);
	ck_assert_uint_eq(tu_sec(&r, 0, 0)->type, DNS_TYPE_CNAME);
	ck_assert_str_eq(rdname(0, 0), "pool.lb.test");
	for (unsigned i = 1; i < 4; i++) {
		ck_assert_uint_eq(tu_sec(&r, 0, i)->type, DNS_TYPE_A);
		ck_assert_str_eq(owner(0, i), "pool.lb.test");
		ck_assert_uint_eq(tu_sec(&r, 0, i)->ttl, 20);
	}
	ask("topool.lb.test", DNS_TYPE_AAAA);
	expect_counts(0, 2, 0, 0);
	ck_assert_str_eq(owner(0, 1), "pool.lb.test");
	ck_assert_str_eq(addr(0, 1), "2001:db8::101");
}
END_TEST

START_TEST(cname_loop_stops)
{
	ask("loop1.lb.test", DNS_TYPE_A);
	ck_assert_int_eq(r.rcode, 0);
	ck_assert(r.aa);
	ck_assert_uint_eq(r.ancount, 2);
	ck_assert_uint_eq(tu_count(&r, 0, DNS_TYPE_CNAME), 2);
	ck_assert_str_eq(rdname(0, 0), "loop2.lb.test");
	ck_assert_str_eq(rdname(0, 1), "loop1.lb.test");
}
END_TEST

START_TEST(cname_out_of_zone)
{
	ask("ext.lb.test", DNS_TYPE_A);
	expect_counts(0, 1, 0, 0);
	ck_assert(r.aa);
	ck_assert_str_eq(rdname(0, 0), "www.example.org");
}
END_TEST

START_TEST(cname_dangling)
{
	ask("dangling.lb.test", DNS_TYPE_A);
	ck_assert_int_eq(r.rcode, 3);
	ck_assert_uint_eq(r.ancount, 1);
	ck_assert_uint_eq(r.nscount, 1);
	ck_assert_uint_eq(tu_sec(&r, 1, 0)->type, DNS_TYPE_SOA);
}
END_TEST

/* --- wildcards (RFC 4592) ----------------------------------------------------- */

START_TEST(wildcard)
{
	ask("foo.wild.lb.test", DNS_TYPE_A);
	expect_counts(0, 1, 0, 0);
	ck_assert(r.aa);
	ck_assert_str_eq(owner(0, 0), "foo.wild.lb.test");
	ck_assert_uint_eq(tu_rd16(resp + tu_sec(&r, 0, 0)->owner_off), 0xC00C);
	ck_assert_str_eq(addr(0, 0), "192.0.2.99");
	/* Several labels below the closest encloser. */
	ask("X.Y.wild.lb.test", DNS_TYPE_A);
	expect_counts(0, 1, 0, 0);
	ck_assert_str_eq(owner(0, 0), "X.Y.wild.lb.test");
	/* The wildcard name itself. */
	ask("*.wild.lb.test", DNS_TYPE_A);
	expect_counts(0, 1, 0, 0);
}
END_TEST

START_TEST(wildcard_nodata)
{
	ask("foo.wild.lb.test", DNS_TYPE_TXT);
	expect_negative(0, "lb.test", 60);
}
END_TEST

START_TEST(wildcard_not_when_name_exists)
{
	ask("exists.wild.lb.test", DNS_TYPE_A);
	expect_negative(0, "lb.test", 60);
	ask("exists.wild.lb.test", DNS_TYPE_TXT);
	expect_counts(0, 1, 0, 0);
	/* Below an existing name the wildcard does not apply either. */
	ask("a.exists.wild.lb.test", DNS_TYPE_A);
	expect_negative(3, "lb.test", 60);
	/* The parent of the wildcard exists as an empty non-terminal. */
	ask("wild.lb.test", DNS_TYPE_A);
	expect_negative(0, "lb.test", 60);
}
END_TEST

START_TEST(wildcard_cname)
{
	ask("Foo.cw.lb.test", DNS_TYPE_A);
	expect_counts(0, 2, 0, 0);
	ck_assert_uint_eq(tu_sec(&r, 0, 0)->type, DNS_TYPE_CNAME);
	ck_assert_str_eq(owner(0, 0), "Foo.cw.lb.test");
	ck_assert_uint_eq(tu_rd16(resp + tu_sec(&r, 0, 0)->owner_off), 0xC00C);
	ck_assert_str_eq(rdname(0, 0), "www.lb.test");
	ck_assert_str_eq(owner(0, 1), "www.lb.test");
	ck_assert_str_eq(addr(0, 1), "192.0.2.10");
}
END_TEST

START_TEST(cname_to_wildcard)
{
	ask("towild.lb.test", DNS_TYPE_A);
	expect_counts(0, 2, 0, 0);
	ck_assert_str_eq(rdname(0, 0), "foo.wild.lb.test");
	ck_assert_str_eq(owner(0, 1), "foo.wild.lb.test");
	ck_assert_str_eq(addr(0, 1), "192.0.2.99");
}
END_TEST

START_TEST(wildcard_pool_owner)
{
	ask("Bar.pw.lb.test", DNS_TYPE_A);
	expect_counts(0, 1, 0, 0);
	ck_assert_str_eq(owner(0, 0), "Bar.pw.lb.test");
	ck_assert_str_eq(addr(0, 0), "192.0.2.222");
	ask("a.b.pw.lb.test", DNS_TYPE_AAAA);
	expect_negative(0, "lb.test", 60);
}
END_TEST

/* --- delegations ------------------------------------------------------------ */

START_TEST(referral)
{
	ask("host.sub.lb.test", DNS_TYPE_A);
	ck_assert(!r.aa);
	expect_counts(0, 0, 2, 1);
	ck_assert_uint_eq(tu_count(&r, 1, DNS_TYPE_NS), 2);
	ck_assert_str_eq(owner(1, 0), "sub.lb.test");
	ck_assert_str_eq(rdname(1, 0), "ns.sub.lb.test");
	ck_assert_str_eq(rdname(1, 1), "ns.outside.example");
	ck_assert_uint_eq(tu_sec(&r, 2, 0)->type, DNS_TYPE_A);
	ck_assert_str_eq(owner(2, 0), "ns.sub.lb.test");
	ck_assert_str_eq(addr(2, 0), "192.0.2.53");

	/* At the cut, and the glue name itself, and any type. */
	ask("sub.lb.test", DNS_TYPE_A);
	ck_assert(!r.aa);
	expect_counts(0, 0, 2, 1);
	ask("ns.sub.lb.test", DNS_TYPE_A);
	ck_assert(!r.aa);
	expect_counts(0, 0, 2, 1);
	ask("sub.lb.test", DNS_TYPE_NS);
	ck_assert(!r.aa);
	expect_counts(0, 0, 2, 1);
	ask("Deep.Er.Sub.lb.test", DNS_TYPE_MX);
	ck_assert(!r.aa);
	expect_counts(0, 0, 2, 1);
	ck_assert_str_eq(owner(1, 0), "Sub.lb.test");
}
END_TEST

START_TEST(ds_at_delegation)
{
	/* No DS: NODATA from the parent, authoritative. */
	ask("sub.lb.test", DNS_TYPE_DS);
	ck_assert(r.aa);
	expect_negative(0, "lb.test", 60);
	/* With a DS in the parent. */
	ask("ds.lb.test", DNS_TYPE_DS);
	ck_assert(r.aa);
	expect_counts(0, 1, 0, 0);
	ck_assert_uint_eq(tu_sec(&r, 0, 0)->type, DNS_TYPE_DS);
	ck_assert_uint_eq(tu_rd16(tu_sec(&r, 0, 0)->rdata), 12345);
	/* Other types at that cut: referral. */
	ask("ds.lb.test", DNS_TYPE_A);
	ck_assert(!r.aa);
	expect_counts(0, 0, 1, 0);
	/* Below the cut, DS is the child's business: referral. */
	ask("x.sub.lb.test", DNS_TYPE_DS);
	ck_assert(!r.aa);
	ck_assert_uint_eq(r.nscount, 2);
}
END_TEST

START_TEST(child_zone_alongside_parent)
{
	ask("www.child.lb.test", DNS_TYPE_A);
	ck_assert(r.aa);
	expect_counts(0, 1, 0, 0);
	ck_assert_str_eq(addr(0, 0), "192.0.2.211");
	ask("nope.child.lb.test", DNS_TYPE_A);
	expect_negative(3, "child.lb.test", 120);
	ask("child.lb.test", DNS_TYPE_SOA);
	ck_assert(r.aa);
	expect_counts(0, 1, 0, 0);
	ck_assert_uint_eq(tu_sec(&r, 0, 0)->ttl, 300);
	/* The child's own NS, authoritatively, not a referral. */
	ask("child.lb.test", DNS_TYPE_NS);
	ck_assert(r.aa);
	expect_counts(0, 1, 0, 1);
	ck_assert_str_eq(rdname(0, 0), "ns1.child.lb.test");
	/* The parent is unaffected. */
	ask("www.lb.test", DNS_TYPE_A);
	expect_counts(0, 1, 0, 0);
}
END_TEST

/* Data below a cut is occluded (RFC 1034 4.2.1, 4.3.2): a DS query for a
 * delegation nested below another one ("deeper.sub" below "sub") gets the
 * referral to "sub", not the occluded DS with AA set. */
START_TEST(ds_at_nested_cut_is_referral)
{
	ask("deeper.sub.lb.test", DNS_TYPE_A);
	ck_assert(!r.aa);
	ck_assert_str_eq(owner(1, 0), "sub.lb.test");
	ask("deeper.sub.lb.test", DNS_TYPE_DS);
	ck_assert(!r.aa);
	ck_assert_uint_eq(r.ancount, 0);
	ck_assert_uint_eq(r.nscount, 2);
	ck_assert_str_eq(owner(1, 0), "sub.lb.test");
}
END_TEST

/* RFC 4035 3.1.4.1 (and RFC 4034 5): the DS RRset lives on the parent side
 * of a cut; a server authoritative for both parent and child answers DS
 * queries for the child apex from the parent zone. The parent here has a
 * DS for "child". */
START_TEST(ds_at_served_child_apex_from_parent)
{
	ask("child.lb.test", DNS_TYPE_DS);
	ck_assert(r.aa);
	ck_assert_int_eq(r.rcode, 0);
	ck_assert_uint_eq(r.ancount, 1);
	ck_assert_uint_eq(tu_sec(&r, 0, 0)->type, DNS_TYPE_DS);
	ck_assert_uint_eq(tu_rd16(tu_sec(&r, 0, 0)->rdata), 54321);
}
END_TEST

/* --- refusals, errors, CHAOS ------------------------------------------------- */

START_TEST(refused_out_of_zone)
{
	ask("www.example.org", DNS_TYPE_A);
	expect_counts(5, 0, 0, 0);
	ck_assert(!r.aa);
	ck_assert_uint_eq(r.qdcount, 1);
	ck_assert_str_eq(r.qname, "www.example.org");
	ask("test", DNS_TYPE_A);
	expect_counts(5, 0, 0, 0);
	ask(".", DNS_TYPE_NS);
	expect_counts(5, 0, 0, 0);
	ask("xlb.test", DNS_TYPE_A);
	expect_counts(5, 0, 0, 0);
}
END_TEST

START_TEST(refused_class)
{
	send_q(tu_query(qbuf, 9, 0, "www.lb.test", DNS_TYPE_A, C_HS), false);
	expect_counts(5, 0, 0, 0);
	ck_assert_uint_eq(r.qclass, C_HS);
	send_q(tu_query(qbuf, 9, 0, "www.lb.test", DNS_TYPE_A, 255), false);
	expect_counts(5, 0, 0, 0);
}
END_TEST

START_TEST(chaos_version)
{
	const struct tu_rr *rr;

	send_q(tu_query(qbuf, 3, 0, "VERSION.bind", DNS_TYPE_TXT, DNS_CLASS_CH), false);
	expect_counts(0, 1, 0, 0);
	ck_assert(r.aa);
	rr = tu_sec(&r, 0, 0);
	ck_assert_uint_eq(rr->type, DNS_TYPE_TXT);
	ck_assert_uint_eq(rr->rclass, DNS_CLASS_CH);
	ck_assert_str_eq(rr->owner, "VERSION.bind");
	ck_assert_uint_eq(rr->rdlen, 11);
	ck_assert_mem_eq(rr->rdata, "\012gslbd-test", 11);
	send_q(tu_query(qbuf, 3, 0, "version.server", DNS_TYPE_TXT, DNS_CLASS_CH), false);
	expect_counts(0, 1, 0, 0);
	ck_assert_str_eq(owner(0, 0), "version.server");
	send_q(tu_query(qbuf, 3, 0, "id.server", DNS_TYPE_TXT, DNS_CLASS_CH), false);
	expect_counts(0, 1, 0, 0);
	ck_assert_mem_eq(tu_sec(&r, 0, 0)->rdata, "\006node-1", 7);
	send_q(tu_query(qbuf, 3, 0, "hostname.bind", DNS_TYPE_ANY, DNS_CLASS_CH), false);
	expect_counts(0, 1, 0, 0);
	ck_assert_str_eq(owner(0, 0), "hostname.bind");
	/* Another type: NODATA. Another name: REFUSED. */
	send_q(tu_query(qbuf, 3, 0, "version.bind", DNS_TYPE_A, DNS_CLASS_CH), false);
	expect_counts(0, 0, 0, 0);
	send_q(tu_query(qbuf, 3, 0, "authors.bind", DNS_TYPE_TXT, DNS_CLASS_CH), false);
	expect_counts(5, 0, 0, 0);
}
END_TEST

/* The longest text the config takes is answered whole, in one
 * character-string, within 512 bytes for the longest name asked. */
START_TEST(chaos_longest_text)
{
	char conf[400], text[256];
	const struct tu_rr *rr;

	memset(text, 'x', 255);
	text[255] = 0;
	snprintf(conf, sizeof(conf), "chaos = { version = \"%s\"; };\n", text);
	snapshot_free(snap);
	use(build(conf, pools_conf()));
	send_q(tu_query(qbuf, 3, 0, "version.server", DNS_TYPE_TXT, DNS_CLASS_CH), false);
	expect_counts(0, 1, 0, 0);
	ck_assert(!r.tc);
	ck_assert_uint_le(rlen, 512);
	rr = tu_sec(&r, 0, 0);
	ck_assert_uint_eq(rr->rdlen, 256);
	ck_assert_uint_eq(rr->rdata[0], 255);
	ck_assert_mem_eq(rr->rdata + 1, text, 255);
}
END_TEST

START_TEST(chaos_not_configured)
{
	snapshot_free(snap);
	use(build("", pools_conf()));
	send_q(tu_query(qbuf, 3, 0, "version.bind", DNS_TYPE_TXT, DNS_CLASS_CH), false);
	expect_counts(5, 0, 0, 0);
	send_q(tu_query(qbuf, 3, 0, "id.server", DNS_TYPE_TXT, DNS_CLASS_CH), false);
	expect_counts(5, 0, 0, 0);
}
END_TEST

START_TEST(notimp_opcode)
{
	send_q(tu_query(qbuf, 5, TU_OPCODE(4) | TU_AA, "lb.test", DNS_TYPE_SOA, DNS_CLASS_IN), false);
	ck_assert_int_eq(r.opcode, 4);
	expect_counts(4, 0, 0, 0);
	ck_assert_uint_eq(r.qdcount, 1);
	ck_assert(!r.aa);
	send_q(tu_query(qbuf, 5, TU_OPCODE(5), "lb.test", DNS_TYPE_SOA, DNS_CLASS_IN), false);
	ck_assert_int_eq(r.opcode, 5);
	ck_assert_int_eq(r.rcode, 4);
	send_q(tu_query(qbuf, 5, 0, "lb.test", DNS_TYPE_MAILB, DNS_CLASS_IN), false);
	expect_counts(4, 0, 0, 0);
}
END_TEST

/* RFC 6891 6.1.1: "If an OPT record is present in a received request,
 * compliant responders MUST include an OPT record in their respective
 * responses." Here: a NOTIFY (opcode 4) with EDNS. */
START_TEST(notimp_with_edns_has_opt)
{
	size_t len = tu_query(qbuf, 5, TU_OPCODE(4), "lb.test", DNS_TYPE_SOA, DNS_CLASS_IN);

	send_q(tu_add_opt(qbuf, len, 1232, false, 0, 0, -1), false);
	ck_assert_int_eq(r.rcode, 4);
	ck_assert(r.has_opt);
}
END_TEST

START_TEST(formerr)
{
	size_t len = tu_query(qbuf, 0x77, TU_RD, "www.lb.test", DNS_TYPE_A, DNS_CLASS_IN);

	tu_wr16(qbuf + 4, 2);
	send_q(len, false);
	expect_counts(1, 0, 0, 0);
	ck_assert_uint_eq(r.qdcount, 0);
	ck_assert_uint_eq(r.id, 0x77);
	ck_assert(!r.aa);
	ck_assert(r.rd);

	/* Trailing garbage: the question parsed and is echoed. */
	len = tu_query(qbuf, 0x78, 0, "WWW.lb.test", DNS_TYPE_A, DNS_CLASS_IN);
	qbuf[len] = 0xFF;
	send_q(len + 1, false);
	expect_counts(1, 0, 0, 0);
	ck_assert_uint_eq(r.qdcount, 1);
	ck_assert_mem_eq(resp + 12, qbuf + 12, len - 12);

	/* EDNS with a broken option: FORMERR (no OPT: it did not parse). */
	len = tu_query(qbuf, 0x79, 0, "www.lb.test", DNS_TYPE_A, DNS_CLASS_IN);
	len = tu_add_opt(qbuf, len, 1232, false, 0, 10, 4);
	qbuf[len - 5] = 9;
	send_q(len, false);
	ck_assert_int_eq(r.rcode, 1);

	/* Qtype OPT is no question. */
	send_q(tu_query(qbuf, 0x7A, 0, "www.lb.test", DNS_TYPE_OPT, DNS_CLASS_IN), false);
	ck_assert_int_eq(r.rcode, 1);
}
END_TEST

START_TEST(dropped)
{
	size_t len = tu_query(qbuf, 1, TU_QR, "www.lb.test", DNS_TYPE_A, DNS_CLASS_IN);

	ck_assert_uint_eq(answer_as(&ctx, snap, qbuf, len, resp, 4096, false), 0);
	ck_assert_uint_eq(answer_as(&ctx, snap, qbuf, 11, resp, 4096, false), 0);
	ck_assert_uint_eq(answer_as(&ctx, snap, qbuf, 0, resp, 4096, true), 0);
}
END_TEST

/* --- EDNS ------------------------------------------------------------------- */

START_TEST(badvers)
{
	size_t len = tu_query(qbuf, 0x55, 0, "www.lb.test", DNS_TYPE_A, DNS_CLASS_IN);

	send_q(tu_add_opt(qbuf, len, 4096, true, 1, 0, -1), false);
	ck_assert_int_eq(r.rcode, 16);
	ck_assert_uint_eq(resp[3] & 0x0F, 0);
	ck_assert(r.has_opt);
	ck_assert_uint_eq(r.opt->ttl >> 24, 1);
	ck_assert_uint_eq(r.opt_version, 0);
	ck_assert_uint_eq(r.opt_udp, 1232);
	ck_assert(r.opt_do);
	ck_assert_uint_eq(r.ancount, 0);
	ck_assert_uint_eq(r.qdcount, 1);
}
END_TEST

START_TEST(opt_echoed)
{
	size_t len = tu_query(qbuf, 0x56, 0, "www.lb.test", DNS_TYPE_A, DNS_CLASS_IN);

	send_q(tu_add_opt(qbuf, len, 4096, true, 0, 65001, 3), false);
	expect_counts(0, 1, 0, 1);
	ck_assert(r.has_opt);
	ck_assert_str_eq(r.opt->owner, ".");
	ck_assert_uint_eq(r.opt_udp, 1232);
	ck_assert(r.opt_do);
	ck_assert_uint_eq(r.opt_version, 0);
	ck_assert_uint_eq(r.opt->rdlen, 0); /* the unknown option is not echoed */
	/* The OPT is last. */
	ck_assert_ptr_eq(r.opt, &r.rr[r.nrr - 1]);

	ask_edns("www.lb.test", DNS_TYPE_A, 512, false);
	ck_assert(r.has_opt);
	ck_assert(!r.opt_do);
	ck_assert_uint_eq(r.opt_udp, 1232);

	/* Negative answers and referrals carry it too. */
	ask_edns("nope.lb.test", DNS_TYPE_A, 1232, false);
	expect_counts(3, 0, 1, 1);
	ck_assert(r.has_opt);
	ask_edns("host.sub.lb.test", DNS_TYPE_A, 1232, false);
	expect_counts(0, 0, 2, 2);
	ck_assert(r.has_opt);
	ask_edns("www.example.org", DNS_TYPE_A, 1232, false);
	expect_counts(5, 0, 0, 1);
	ck_assert(r.has_opt);
}
END_TEST

START_TEST(no_opt_without_edns)
{
	ask("www.lb.test", DNS_TYPE_A);
	ck_assert(!r.has_opt);
	ck_assert_uint_eq(r.arcount, 0);
	ask("nope.lb.test", DNS_TYPE_A);
	ck_assert(!r.has_opt);
}
END_TEST

/* A requester's size below 512 counts as 512 (RFC 6891 6.2.5). */
START_TEST(edns_small_udp)
{
	ask_edns("www.lb.test", DNS_TYPE_A, 100, false);
	ck_assert(!r.tc);
	expect_counts(0, 1, 0, 1);
	ask_edns("medium.lb.test", DNS_TYPE_TXT, 100, false);
	ck_assert(r.tc);
	ck_assert_uint_le(rlen, 512);
	ask_edns("opt.lb.test", DNS_TYPE_A, 100, false);
	ck_assert(!r.tc);
	expect_counts(0, 0, 20, 1); /* only the OPT is left in additional */
}
END_TEST

START_TEST(configured_udp_size)
{
	snapshot_free(snap);
	use(build("udp_size = 512;\n", pools_conf()));
	/* The client offers 4096, we advertise and keep to 512. */
	ask_edns("medium.lb.test", DNS_TYPE_TXT, 4096, false);
	ck_assert(r.tc);
	ck_assert_uint_eq(r.opt_udp, 512);
	ck_assert_uint_le(rlen, 512);
}
END_TEST

/* A worker's context follows a new snapshot (a reload): its UDP size and
 * room for more pools. */
START_TEST(ctx_follows_new_snapshot)
{
	struct snapshot *old = snap;
	char pools[8192];

	ask("pool.lb.test", DNS_TYPE_A);
	snprintf(pools, sizeof(pools), "%s", pools_conf());
	/* Ten more pools in front, so "rr" gets a higher index. */
	char *p = strstr(pools, "pools = (\n") + strlen("pools = (\n");
	char rest[8192];
	snprintf(rest, sizeof(rest), "%s", p);
	size_t o = (size_t)(p - pools);
	for (int i = 0; i < 10; i++) {
		o += (size_t)snprintf(pools + o, sizeof(pools) - o,
				      "  { name = \"x%d\"; owners = \"x%d.lb.test\";"
				      " members = ( { address = \"192.0.2.%d\"; } ); },\n",
				      i, i, i + 1);
	}
	snprintf(pools + o, sizeof(pools) - o, "%s", rest);
	use(build("udp_size = 1400;\n", pools));
	ck_assert_ptr_ne(snap, old);
	ask_edns("pool.lb.test", DNS_TYPE_A, 4096, false);
	expect_counts(0, 3, 0, 1);
	ck_assert_uint_eq(r.opt_udp, 1400);
	ask("x9.lb.test", DNS_TYPE_A);
	expect_counts(0, 1, 0, 0);
	ck_assert_str_eq(addr(0, 0), "192.0.2.10");
	snapshot_free(old);
}
END_TEST

/* A snapshot freed after a reload may leave its address to a later one:
 * a worker idle over two reloads then sees the same pointer again. Its
 * context must follow the new snapshot all the same (size, pool room). */
START_TEST(ctx_follows_snapshot_at_reused_address)
{
	const struct snapshot *old = snap;
	unsigned same = 0;

	for (int i = 0; i < 12; i++) {
		snapshot_free(snap);
		use(build(i % 2 ? "udp_size = 1400;\n" : "udp_size = 1300;\n", pools_conf()));
		same += snap == old;
		old = snap;
		ask_edns("www.lb.test", DNS_TYPE_A, 4096, false);
		ck_assert_uint_eq(r.opt_udp, (i % 2 ? 1400 : 1300));
	}
	if (!same) {
		fprintf(stderr, "ctx_follows_snapshot_at_reused_address: no address came back\n");
	}
}
END_TEST

/* --- ANY, transfers ----------------------------------------------------------- */

START_TEST(any_one_rrset)
{
	ask("www.lb.test", DNS_TYPE_ANY);
	ck_assert_int_eq(r.rcode, 0);
	ck_assert_uint_ge(r.ancount, 1);
	for (unsigned i = 1; i < r.ancount; i++) {
		ck_assert_uint_eq(tu_sec(&r, 0, i)->type, tu_sec(&r, 0, 0)->type);
	}
	ask("lb.test", DNS_TYPE_ANY);
	expect_counts(0, 1, 0, 0);
	ck_assert_uint_eq(tu_sec(&r, 0, 0)->type, DNS_TYPE_SOA);
	ask("pool.lb.test", DNS_TYPE_ANY);
	ck_assert_uint_ge(r.ancount, 1);
	for (unsigned i = 0; i < r.ancount; i++) {
		ck_assert_uint_eq(tu_sec(&r, 0, i)->type, tu_sec(&r, 0, 0)->type);
	}
	ck_assert(tu_sec(&r, 0, 0)->type == DNS_TYPE_A || tu_sec(&r, 0, 0)->type == DNS_TYPE_AAAA);
}
END_TEST

START_TEST(transfers_refused)
{
	ask("lb.test", DNS_TYPE_AXFR);
	expect_counts(5, 0, 0, 0);
	ask("lb.test", DNS_TYPE_IXFR);
	expect_counts(5, 0, 0, 0);
	send_q(tu_query(qbuf, 2, 0, "lb.test", DNS_TYPE_AXFR, DNS_CLASS_IN), true);
	expect_counts(5, 0, 0, 0);
}
END_TEST

/* --- sizes ------------------------------------------------------------------ */

START_TEST(truncation)
{
	ask("big.lb.test", DNS_TYPE_TXT);
	ck_assert(r.tc);
	ck_assert(r.aa);
	expect_counts(0, 0, 0, 0);
	ck_assert_uint_eq(r.qdcount, 1);
	ck_assert_uint_le(rlen, 512);

	/* Over TCP it arrives whole. */
	send_q(tu_query(qbuf, 2, 0, "big.lb.test", DNS_TYPE_TXT, DNS_CLASS_IN), true);
	ck_assert(!r.tc);
	expect_counts(0, 20, 0, 0);
	ck_assert_uint_gt(rlen, 1232);

	/* min(client 4096, ours 1232): still too big; the OPT stays. */
	ask_edns("big.lb.test", DNS_TYPE_TXT, 4096, false);
	ck_assert(r.tc);
	expect_counts(0, 0, 0, 1);
	ck_assert(r.has_opt);

	/* ~900 bytes: over 512, under 1232. */
	ask("medium.lb.test", DNS_TYPE_TXT);
	ck_assert(r.tc);
	ask_edns("medium.lb.test", DNS_TYPE_TXT, 1232, false);
	ck_assert(!r.tc);
	expect_counts(0, 8, 0, 1);
	ck_assert_uint_gt(rlen, 512);
	ask_edns("medium.lb.test", DNS_TYPE_TXT, 600, false);
	ck_assert(r.tc);
	ck_assert_uint_le(rlen, 600);
}
END_TEST

START_TEST(optional_additional_dropped)
{
	ask("opt.lb.test", DNS_TYPE_A);
	ck_assert(!r.tc);
	ck_assert(!r.aa);
	expect_counts(0, 0, 20, 0);
	ck_assert_str_eq(rdname(1, 0), "sib01.lb.test");
	ck_assert_uint_le(rlen, 512);

	send_q(tu_query(qbuf, 2, 0, "x.opt.lb.test", DNS_TYPE_A, DNS_CLASS_IN), true);
	ck_assert(!r.tc);
	expect_counts(0, 0, 20, 40);
	ck_assert_uint_eq(tu_count(&r, 2, DNS_TYPE_A), 20);
	ck_assert_uint_eq(tu_count(&r, 2, DNS_TYPE_AAAA), 20);
	ck_assert_uint_gt(rlen, 512);
}
END_TEST

START_TEST(required_glue_truncates)
{
	ask("req.lb.test", DNS_TYPE_A);
	ck_assert(r.tc);
	expect_counts(0, 0, 0, 0);
	send_q(tu_query(qbuf, 2, 0, "req.lb.test", DNS_TYPE_A, DNS_CLASS_IN), true);
	ck_assert(!r.tc);
	ck_assert(!r.aa);
	expect_counts(0, 0, 12, 24);
	ck_assert_str_eq(owner(2, 0), rdname(1, 0));
}
END_TEST

/* --- pools -------------------------------------------------------------------- */

START_TEST(pool_families)
{
	char seen[4][64];

	ask("pool.lb.test", DNS_TYPE_A);
	expect_counts(0, 3, 0, 0);
	ck_assert(r.aa);
	for (unsigned i = 0; i < 3; i++) {
		ck_assert_uint_eq(tu_sec(&r, 0, i)->type, DNS_TYPE_A);
		ck_assert_uint_eq(tu_sec(&r, 0, i)->ttl, 20);
		ck_assert_str_eq(owner(0, i), "pool.lb.test");
		snprintf(seen[i], sizeof(seen[i]), "%s", addr(0, i));
		ck_assert_ptr_nonnull(strstr("192.0.2.101 192.0.2.102 192.0.2.103", seen[i]));
	}
	ck_assert_str_ne(seen[0], seen[1]);
	ck_assert_str_ne(seen[1], seen[2]);
	ck_assert_str_ne(seen[0], seen[2]);
	ck_assert_uint_eq(tu_rd16(resp + tu_sec(&r, 0, 0)->owner_off), 0xC00C);

	ask("pool.lb.test", DNS_TYPE_AAAA);
	expect_counts(0, 1, 0, 0);
	ck_assert_str_eq(addr(0, 0), "2001:db8::101");

	/* The second owner, written in capitals in the config. */
	ask("pool2.lb.test", DNS_TYPE_A);
	expect_counts(0, 3, 0, 0);

	/* A family without members: NODATA. */
	ask("v4.lb.test", DNS_TYPE_AAAA);
	expect_negative(0, "lb.test", 60);
	ask("v4.lb.test", DNS_TYPE_A);
	expect_counts(0, 1, 0, 0);
	ck_assert_str_eq(addr(0, 0), "192.0.2.201");
	ck_assert_uint_eq(tu_sec(&r, 0, 0)->ttl, 30);
	ask("v6.lb.test", DNS_TYPE_A);
	expect_negative(0, "lb.test", 60);
	ask("v6.lb.test", DNS_TYPE_AAAA);
	expect_counts(0, 1, 0, 0);
	/* Other types at a pool name. */
	ask("pool.lb.test", DNS_TYPE_MX);
	expect_negative(0, "lb.test", 60);
	/* Below a pool name: NXDOMAIN. */
	ask("x.pool.lb.test", DNS_TYPE_A);
	expect_negative(3, "lb.test", 60);
}
END_TEST

START_TEST(pool_rotation)
{
	char first[3][64];

	for (int i = 0; i < 3; i++) {
		ask("pool.lb.test", DNS_TYPE_A);
		snprintf(first[i], sizeof(first[i]), "%s", addr(0, 0));
	}
	ck_assert_str_ne(first[0], first[1]);
	ck_assert_str_ne(first[1], first[2]);
	ck_assert_str_ne(first[0], first[2]);
	ask("pool.lb.test", DNS_TYPE_A);
	ck_assert_str_eq(addr(0, 0), first[0]);
}
END_TEST

START_TEST(pool_edns_and_tcp)
{
	ask_edns("pool.lb.test", DNS_TYPE_A, 1232, false);
	expect_counts(0, 3, 0, 1);
	ck_assert(r.has_opt);
	send_q(tu_query(qbuf, 2, 0, "pool.lb.test", DNS_TYPE_A, DNS_CLASS_IN), true);
	expect_counts(0, 3, 0, 0);
}
END_TEST

/* 40 records of 16 octets: more than 512 bytes, less than 1232. */
START_TEST(pool_too_big_for_udp)
{
	ask("many.lb.test", DNS_TYPE_A);
	ck_assert(r.tc);
	expect_counts(0, 0, 0, 0);
	ck_assert_uint_le(rlen, 512);
	ask_edns("many.lb.test", DNS_TYPE_A, 1232, false);
	ck_assert(!r.tc);
	expect_counts(0, 40, 0, 1);
	send_q(tu_query(qbuf, 2, 0, "many.lb.test", DNS_TYPE_A, DNS_CLASS_IN), true);
	ck_assert(!r.tc);
	expect_counts(0, 40, 0, 0);
}
END_TEST

/* --- snapshot_build failures ---------------------------------------------------- */

static void expect_build_fails(const char *pools, const char *what)
{
	struct snapshot *s = build("", pools);

	ck_assert_ptr_null(s);
	ck_assert_msg(strstr(errlog, what), "expected \"%s\" in:\n%s", what, errlog);
	ck_assert_ptr_nonnull(strstr(errlog, "gslbd.conf"));
}

START_TEST(pool_owner_outside_zones)
{
	expect_build_fails("pools = ( { name = \"p\"; owners = \"www.example.org\";\n"
			   "  members = ( { address = \"192.0.2.1\"; } ); } );\n",
			   "www.example.org");
}
END_TEST

START_TEST(pool_owner_collides_with_static)
{
	expect_build_fails("pools = ( { name = \"p\"; owners = \"www.lb.test\";\n"
			   "  members = ( { address = \"192.0.2.1\"; } ); } );\n",
			   "www.lb.test");
	expect_build_fails("pools = ( { name = \"p\"; owners = \"alias.lb.test\";\n"
			   "  members = ( { address = \"192.0.2.1\"; } ); } );\n",
			   "CNAME");
}
END_TEST

START_TEST(pool_owner_below_delegation)
{
	expect_build_fails("pools = ( { name = \"p\"; owners = \"x.sub.lb.test\";\n"
			   "  members = ( { address = \"192.0.2.1\"; } ); } );\n",
			   "delegation");
	expect_build_fails("pools = ( { name = \"p\"; owners = \"sub.lb.test\";\n"
			   "  members = ( { address = \"192.0.2.1\"; } ); } );\n",
			   "delegation");
}
END_TEST

START_TEST(pool_owner_twice)
{
	expect_build_fails("pools = ( { name = \"p\"; owners = \"x.lb.test\"; members = ( { "
			   "address = \"192.0.2.1\"; } ); },\n"
			   "          { name = \"q\"; owners = \"X.lb.test\"; members = ( { "
			   "address = \"192.0.2.2\"; } ); } );\n",
			   "already an owner");
}
END_TEST

/* --- explain ------------------------------------------------------------------ */

/* Every name and type of these zones: `explain` says what the answer does. */
START_TEST(explain_agrees_with_answers)
{
	ck_assert_uint_gt(ew_walk(snap, NULL), 1000);
}
END_TEST

/* --- EDNS options: cookies (RFC 7873, RFC 9018), NSID (RFC 5001) ------------------- */

#define SECRET_A "e5e973e5a6b2a43f48e7dc849e37bfcf"
#define SECRET_B "445536bcd2513298075a5d379663c962"

static const uint8_t cc[DNS_COOKIE_CLIENT_LEN] = { 0x24, 0x64, 0xc4, 0xab, 0xcf, 0x10, 0xc9, 0x57 };

static const struct sockaddr_storage *from(const char *text)
{
	static struct sockaddr_storage ss[2];
	static int k;
	struct sockaddr_storage *a = &ss[k++ % 2];

	memset(a, 0, sizeof(*a));
	if (strchr(text, ':')) {
		a->ss_family = AF_INET6;
		struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)a;
		ck_assert_int_eq(inet_pton(AF_INET6, text, &a6->sin6_addr), 1);
	} else {
		a->ss_family = AF_INET;
		ck_assert_int_eq(inet_pton(AF_INET, text, &((struct sockaddr_in *)a)->sin_addr), 1);
	}
	return a;
}

/* The data of option @code in the response's OPT (its length in *@len), or NULL. */
static const uint8_t *option(uint16_t code, size_t *len)
{
	if (!r.opt) {
		return NULL;
	}
	for (size_t o = 0; o + 4 <= r.opt->rdlen;) {
		uint16_t c = tu_rd16(r.opt->rdata + o), l = tu_rd16(r.opt->rdata + o + 2);
		ck_assert_uint_le(o + 4 + l, r.opt->rdlen);
		if (c == code) {
			*len = l;
			return r.opt->rdata + o + 4;
		}
		o += 4 + (size_t)l;
	}
	return NULL;
}

/* Ask @qname/@qtype (class @qclass, @hdr_flags) with EDNS size @udp and the
 * options @opts (@optlen octets, framed). */
static const struct tu_resp *ask_opts(const char *qname, uint16_t qtype, uint16_t qclass,
				      uint16_t hdr_flags, uint16_t udp, bool tcp, const uint8_t *opts,
				      size_t optlen)
{
	size_t len = tu_query(qbuf, 0x4242, hdr_flags, qname, qtype, qclass);

	return send_q(tu_add_opt_raw(qbuf, len, udp, opts, optlen), tcp);
}

/* Ask with one COOKIE option: the client cookie @cc, then @server (@slen
 * octets, 0 for none). */
static const struct tu_resp *ask_cookie(const char *qname, uint16_t qtype, const uint8_t *server,
					size_t slen, bool tcp)
{
	uint8_t c[64], opts[80];

	memcpy(c, cc, sizeof(cc));
	if (slen) {
		memcpy(c + sizeof(cc), server, slen);
	}
	return ask_opts(qname, qtype, DNS_CLASS_IN, 0, 1232, tcp, opts,
			tu_option(opts, DNS_EDNS_COOKIE, c, sizeof(cc) + slen));
}

/* The server cookie of the response, checked to carry our client cookie. */
static const uint8_t *server_cookie(void)
{
	size_t len = 0;
	const uint8_t *c = option(DNS_EDNS_COOKIE, &len);

	ck_assert_msg(c != NULL, "no COOKIE option in the response");
	ck_assert_uint_eq(len, DNS_COOKIE_CLIENT_LEN + DNS_COOKIE_V1_LEN);
	ck_assert_mem_eq(c, cc, sizeof(cc));
	return c + DNS_COOKIE_CLIENT_LEN;
}

static void use_conf(const char *extra)
{
	snapshot_free(snap);
	use(build(extra, pools_conf()));
}

/* RFC 7873 5.2.3: a client cookie alone gets an answer and a server cookie
 * (RFC 9018: version 1, reserved zero, our time) that verifies for this
 * client under our secret. */
START_TEST(cookie_client_only)
{
	struct cookie_secrets sec = { NULL, NULL };
	uint8_t opt[24], ip[COOKIE_IP_MAX];
	const uint8_t *sc;

	use_conf("cookie_secret = \"" SECRET_A "\";\n");
	client = from("198.51.100.100");
	ctx.now = 1559731985;
	ask_cookie("www.lb.test", DNS_TYPE_A, NULL, 0, false);
	expect_counts(0, 1, 0, 1);
	ck_assert_int_eq(last.cookie, COOKIE_CLIENT_ONLY);
	ck_assert(!last.cookie_valid);
	sc = server_cookie();
	/* RFC 9018 A.1, through the whole answer path. */
	ck_assert_mem_eq(sc, "\x01\x00\x00\x00\x5c\xf7\x9f\x11\x1f\x81\x30\xc3\xee\xe2\x94\x80", 16);
	memcpy(opt, cc, 8);
	memcpy(opt + 8, sc, 16);
	sec.current = ctx.cookies.current;
	ck_assert_int_eq(cookie_check(opt, 24, ip, cookie_client_ip(ip, client), ctx.now, &sec),
			 COOKIE_CHECK_GOOD);
}
END_TEST

/* 5.2.5: a valid server cookie is accepted again and again (a replay from
 * the same client is fine: cookies are no nonces), sent back as it came
 * while younger than half an hour, then renewed; an hour old, it is no
 * longer valid and the query is answered as one with a client cookie alone. */
START_TEST(cookie_replayed_renewed_expired)
{
	uint8_t sc[16], sc2[16];

	client = from("192.0.2.7");
	ctx.now = 1700000000;
	ask_cookie("www.lb.test", DNS_TYPE_A, NULL, 0, false);
	memcpy(sc, server_cookie(), 16);
	for (int i = 0; i < 3; i++) {
		ctx.now = 1700000000 + 600 * (uint32_t)i;
		ask_cookie("www.lb.test", DNS_TYPE_A, sc, 16, false);
		expect_counts(0, 1, 0, 1);
		ck_assert_int_eq(last.cookie, COOKIE_VALID);
		ck_assert(last.cookie_valid);
		ck_assert_mem_eq(server_cookie(), sc, 16); /* echoed */
	}
	ctx.now = 1700000000 + DNS_COOKIE_V1_RENEW_AGE + 1;
	ask_cookie("www.lb.test", DNS_TYPE_A, sc, 16, false);
	ck_assert(last.cookie_valid);
	memcpy(sc2, server_cookie(), 16);
	ck_assert_mem_ne(sc2, sc, 16);
	ck_assert_uint_eq(tu_rd32(sc2 + 4), ctx.now);
	ctx.now = 1700000000 + DNS_COOKIE_V1_MAX_AGE + 1;
	ask_cookie("www.lb.test", DNS_TYPE_A, sc, 16, false);
	expect_counts(0, 1, 0, 1); /* answered all the same */
	ck_assert_int_eq(last.cookie, COOKIE_INVALID);
	ck_assert(!last.cookie_valid);
	ck_assert_uint_eq(tu_rd32(server_cookie() + 4), ctx.now);
	/* The renewed one is still good. */
	ask_cookie("www.lb.test", DNS_TYPE_A, sc2, 16, false);
	ck_assert(last.cookie_valid);
}
END_TEST

/* A cookie made for one client, sent from another: invalid (and the other
 * client gets its own). Also: a server cookie we cannot have made. */
START_TEST(cookie_other_client_invalid)
{
	uint8_t sc[16];
	static const uint8_t foreign[8] = { 1, 2, 3, 4, 5, 6, 7, 8 };

	client = from("192.0.2.7");
	ask_cookie("www.lb.test", DNS_TYPE_A, NULL, 0, false);
	memcpy(sc, server_cookie(), 16);
	client = from("192.0.2.8");
	ask_cookie("www.lb.test", DNS_TYPE_A, sc, 16, false);
	ck_assert_int_eq(last.cookie, COOKIE_INVALID);
	ck_assert(!last.cookie_valid);
	ck_assert_mem_ne(server_cookie(), sc, 16);
	client = from("2001:db8::7");
	ask_cookie("www.lb.test", DNS_TYPE_A, sc, 16, false);
	ck_assert_int_eq(last.cookie, COOKIE_INVALID);
	/* An 8-octet server cookie of another implementation: not ours. */
	ask_cookie("www.lb.test", DNS_TYPE_A, foreign, 8, false);
	expect_counts(0, 1, 0, 1);
	ck_assert_int_eq(last.cookie, COOKIE_INVALID);
	server_cookie();
}
END_TEST

/* Rollover through the config: cookies made under A stay valid once B is
 * the secret and A the previous one (and are renewed under B); once A is
 * gone, they are not. */
START_TEST(cookie_secret_rotation)
{
	uint8_t under_a[16], under_b[16];

	client = from("192.0.2.7");
	use_conf("cookie_secret = \"" SECRET_A "\";\n");
	ask_cookie("www.lb.test", DNS_TYPE_A, NULL, 0, false);
	memcpy(under_a, server_cookie(), 16);
	use_conf("cookie_secret = \"" SECRET_B "\"; cookie_secret_previous = \"" SECRET_A "\";\n");
	ask_cookie("www.lb.test", DNS_TYPE_A, under_a, 16, false);
	ck_assert_int_eq(last.cookie, COOKIE_VALID);
	memcpy(under_b, server_cookie(), 16);
	ck_assert_mem_ne(under_b, under_a, 16); /* renewed under B */
	ask_cookie("www.lb.test", DNS_TYPE_A, under_b, 16, false);
	ck_assert_int_eq(last.cookie, COOKIE_VALID);
	ck_assert_mem_eq(server_cookie(), under_b, 16);
	use_conf("cookie_secret = \"" SECRET_B "\";\n");
	ask_cookie("www.lb.test", DNS_TYPE_A, under_a, 16, false);
	ck_assert_int_eq(last.cookie, COOKIE_INVALID);
	ask_cookie("www.lb.test", DNS_TYPE_A, under_b, 16, false);
	ck_assert_int_eq(last.cookie, COOKIE_VALID);
}
END_TEST

/* Every response with an OPT brings the cookie: NXDOMAIN, referrals,
 * REFUSED, NOTIMP, CHAOS, pools, truncated ones; not BADVERS. */
START_TEST(cookie_in_every_response)
{
	uint8_t c[8], opts[64];
	size_t len;

	client = from("192.0.2.7");
	memcpy(c, cc, 8);
	len = tu_option(opts, DNS_EDNS_COOKIE, c, 8);
	ask_cookie("nope.lb.test", DNS_TYPE_A, NULL, 0, false);
	expect_counts(3, 0, 1, 1);
	server_cookie();
	ask_cookie("host.sub.lb.test", DNS_TYPE_A, NULL, 0, false);
	server_cookie();
	ask_cookie("www.example.org", DNS_TYPE_A, NULL, 0, false);
	expect_counts(5, 0, 0, 1);
	server_cookie();
	ask_cookie("pool.lb.test", DNS_TYPE_A, NULL, 0, false);
	ck_assert_uint_eq(r.ancount, 3);
	server_cookie();
	ask_cookie("big.lb.test", DNS_TYPE_TXT, NULL, 0, false);
	ck_assert(r.tc);
	server_cookie();
	ask_opts("version.bind", DNS_TYPE_TXT, DNS_CLASS_CH, 0, 1232, false, opts, len);
	expect_counts(0, 1, 0, 1);
	server_cookie();
	ask_opts("lb.test", DNS_TYPE_SOA, C_HS, 0, 1232, false, opts, len);
	expect_counts(5, 0, 0, 1);
	server_cookie();
	ask_opts("lb.test", DNS_TYPE_SOA, DNS_CLASS_IN, TU_OPCODE(4), 1232, false, opts, len);
	ck_assert_int_eq(r.rcode, DNS_RCODE_NOTIMP);
	ck_assert_int_eq(last.cookie, COOKIE_CLIENT_ONLY);
	server_cookie();
	/* BADVERS: the options were meant for a version we do not speak. */
	len = tu_query(qbuf, 0x55, 0, "www.lb.test", DNS_TYPE_A, DNS_CLASS_IN);
	len = tu_add_opt_raw(qbuf, len, 1232, opts, tu_option(opts, DNS_EDNS_COOKIE, c, 8));
	qbuf[len - DNS_OPT_FIXED_LEN - 12 + 6] = 1; /* the OPT's version octet */
	send_q(len, false);
	ck_assert_int_eq(r.rcode, DNS_RCODE_BADVERS);
	ck_assert(r.has_opt);
	ck_assert_uint_eq(r.opt->rdlen, 0);
}
END_TEST

/* RFC 7873 5.4: a query with no question, only a COOKIE option, gets
 * NOERROR with a server cookie; BADCOOKIE when the server cookie it brought
 * is not valid; never records. Also with cookie_require. */
START_TEST(cookie_query_without_question)
{
	uint8_t c[24], opts[64];
	size_t len;

	client = from("192.0.2.7");
	for (int require = 0; require < 2; require++) {
		if (require) {
			use_conf("cookie_require = true;\n");
		}
		memset(qbuf, 0, 12);
		tu_wr16(qbuf, 0x5151);
		tu_wr16(qbuf + 2, TU_RD);
		memcpy(c, cc, 8);
		len = tu_add_opt_raw(qbuf, 12, 1232, opts, tu_option(opts, DNS_EDNS_COOKIE, c, 8));
		send_q(len, false);
		expect_counts(0, 0, 0, 1);
		ck_assert_uint_eq(r.qdcount, 0);
		ck_assert(!r.tc);
		ck_assert_int_eq(last.cookie, COOKIE_CLIENT_ONLY);
		memcpy(c + 8, server_cookie(), 16);
		memset(qbuf, 0, 12);
		len = tu_add_opt_raw(qbuf, 12, 1232, opts, tu_option(opts, DNS_EDNS_COOKIE, c, 24));
		send_q(len, false);
		expect_counts(0, 0, 0, 1);
		ck_assert(last.cookie_valid);
		ck_assert_mem_eq(server_cookie(), c + 8, 16);
		c[23] ^= 1;
		memset(qbuf, 0, 12);
		len = tu_add_opt_raw(qbuf, 12, 1232, opts, tu_option(opts, DNS_EDNS_COOKIE, c, 24));
		send_q(len, false);
		expect_counts(DNS_RCODE_BADCOOKIE, 0, 0, 1);
		ck_assert_int_eq(last.kind, RESPONSE_ERROR);
		ck_assert_mem_ne(server_cookie(), c + 8, 16);
	}
	/* No cookie, no question: FORMERR, as before. */
	memset(qbuf, 0, 12);
	len = tu_add_opt_raw(qbuf, 12, 1232, opts, 0);
	send_q(len, false);
	ck_assert_int_eq(r.rcode, DNS_RCODE_FORMERR);
}
END_TEST

/* Without the client's address (explain, tests) no cookie can be checked or
 * made: the query is answered, without a COOKIE option. */
START_TEST(cookie_without_client_address)
{
	static const uint8_t sc[16] = { 1 };

	client = NULL;
	ask_cookie("www.lb.test", DNS_TYPE_A, NULL, 0, false);
	expect_counts(0, 1, 0, 1);
	ck_assert_uint_eq(r.opt->rdlen, 0);
	ck_assert_int_eq(last.cookie, COOKIE_CLIENT_ONLY);
	ask_cookie("www.lb.test", DNS_TYPE_A, sc, 16, false);
	ck_assert_int_eq(last.cookie, COOKIE_INVALID);
	ck_assert(!last.cookie_valid);
}
END_TEST

/* RFC 7873 5.2.2: a COOKIE option of a wrong length, or two of them, is
 * FORMERR (no OPT: what parsed cannot be trusted). */
START_TEST(cookie_malformed_formerr)
{
	static const size_t bad[] = { 0, 1, 7, 9, 15, 41, 48 };
	uint8_t c[64] = { 0 }, opts[160];
	size_t n;

	client = from("192.0.2.7");
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		ask_opts("www.lb.test", DNS_TYPE_A, DNS_CLASS_IN, 0, 1232, false, opts,
			 tu_option(opts, DNS_EDNS_COOKIE, c, bad[i]));
		ck_assert_msg(r.rcode == DNS_RCODE_FORMERR, "length %zu: rcode %d", bad[i], r.rcode);
		ck_assert(!r.has_opt);
		ck_assert_uint_eq(r.ancount, 0);
	}
	n = tu_option(opts, DNS_EDNS_COOKIE, cc, 8);
	n += tu_option(opts + n, DNS_EDNS_COOKIE, cc, 8);
	ask_opts("www.lb.test", DNS_TYPE_A, DNS_CLASS_IN, 0, 1232, false, opts, n);
	ck_assert_int_eq(r.rcode, DNS_RCODE_FORMERR);
	/* 16 and 40 octets frame well: answered, the server cookie not ours. */
	ask_opts("www.lb.test", DNS_TYPE_A, DNS_CLASS_IN, 0, 1232, false, opts,
		 tu_option(opts, DNS_EDNS_COOKIE, c, 40));
	expect_counts(0, 1, 0, 1);
	ck_assert_int_eq(last.cookie, COOKIE_INVALID);
}
END_TEST

/* cookie_require: over UDP, a query whose cookie does not verify gets
 * BADCOOKIE (extended rcode 23), TC, no records and a fresh cookie; the
 * retry with that cookie is answered. Queries without a COOKIE option, and
 * anything over TCP, are answered as usual. */
START_TEST(cookie_required_badcookie)
{
	uint8_t sc[16];

	use_conf("cookie_require = true;\n");
	client = from("192.0.2.7");
	ask_cookie("www.lb.test", DNS_TYPE_A, NULL, 0, false);
	ck_assert_int_eq(r.rcode, DNS_RCODE_BADCOOKIE);
	ck_assert_uint_eq(resp[3] & 0x0F, DNS_RCODE_BADCOOKIE & 0x0F);
	ck_assert_uint_eq(r.opt->ttl >> 24, DNS_RCODE_BADCOOKIE >> 4);
	ck_assert(r.tc);
	ck_assert(!r.aa);
	expect_counts(DNS_RCODE_BADCOOKIE, 0, 0, 1);
	ck_assert_uint_eq(r.qdcount, 1);
	ck_assert_int_eq(last.kind, RESPONSE_ERROR);
	memcpy(sc, server_cookie(), 16);
	ask_cookie("www.lb.test", DNS_TYPE_A, sc, 16, false);
	expect_counts(0, 1, 0, 1);
	ck_assert(!r.tc);
	ck_assert(last.cookie_valid);
	sc[15] ^= 0x40;
	ask_cookie("www.lb.test", DNS_TYPE_A, sc, 16, false);
	ck_assert_int_eq(r.rcode, DNS_RCODE_BADCOOKIE);
	ask_cookie("www.lb.test", DNS_TYPE_A, NULL, 0, true);
	expect_counts(0, 1, 0, 1);
	server_cookie();
	ask_edns("www.lb.test", DNS_TYPE_A, 1232, false);
	expect_counts(0, 1, 0, 1);
	ask("www.lb.test", DNS_TYPE_A);
	expect_counts(0, 1, 0, 0);
}
END_TEST

/* RFC 5001: the NSID, only when asked, in every kind of response with an
 * OPT; only when configured. */
START_TEST(nsid_when_asked)
{
	uint8_t opts[64];
	size_t len = tu_option(opts, DNS_EDNS_NSID, NULL, 0), n;
	const uint8_t *id;

	ask_opts("www.lb.test", DNS_TYPE_A, DNS_CLASS_IN, 0, 1232, false, opts, len);
	ck_assert_ptr_null(option(DNS_EDNS_NSID, &n)); /* none configured */
	ck_assert_uint_eq(r.opt->rdlen, 0);
	use_conf("nsid = \"ns1.lb.test\";\n");
	ask_opts("www.lb.test", DNS_TYPE_A, DNS_CLASS_IN, 0, 1232, false, opts, len);
	expect_counts(0, 1, 0, 1);
	id = option(DNS_EDNS_NSID, &n);
	ck_assert_ptr_nonnull(id);
	ck_assert_uint_eq(n, 11);
	ck_assert_mem_eq(id, "ns1.lb.test", 11);
	ask_edns("www.lb.test", DNS_TYPE_A, 1232, false);
	ck_assert_uint_eq(r.opt->rdlen, 0); /* not asked */
	ask_opts("nope.lb.test", DNS_TYPE_A, DNS_CLASS_IN, 0, 1232, false, opts, len);
	expect_counts(3, 0, 1, 1);
	ck_assert_ptr_nonnull(option(DNS_EDNS_NSID, &n));
	ask_opts("www.example.org", DNS_TYPE_A, DNS_CLASS_IN, 0, 1232, true, opts, len);
	expect_counts(5, 0, 0, 1);
	ck_assert_ptr_nonnull(option(DNS_EDNS_NSID, &n));
	ask_opts("lb.test", DNS_TYPE_SOA, DNS_CLASS_IN, TU_OPCODE(5), 1232, false, opts, len);
	ck_assert_int_eq(r.rcode, DNS_RCODE_NOTIMP);
	ck_assert_ptr_nonnull(option(DNS_EDNS_NSID, &n));
	ask_opts("big.lb.test", DNS_TYPE_TXT, DNS_CLASS_IN, 0, 1232, false, opts, len);
	ck_assert(r.tc);
	ck_assert_ptr_nonnull(option(DNS_EDNS_NSID, &n));
	/* Not in BADVERS: the query's options belong to a version we do not speak. */
	len = tu_query(qbuf, 0x56, 0, "www.lb.test", DNS_TYPE_A, DNS_CLASS_IN);
	len = tu_add_opt_raw(qbuf, len, 1232, opts, tu_option(opts, DNS_EDNS_NSID, NULL, 0));
	qbuf[len - DNS_OPT_FIXED_LEN - 4 + 6] = 1; /* the OPT's version octet */
	send_q(len, false);
	ck_assert_int_eq(r.rcode, DNS_RCODE_BADVERS);
	ck_assert_uint_eq(r.opt->rdlen, 0);
	len = tu_option(opts, DNS_EDNS_NSID, NULL, 0);
	/* A payload in the query is ignored (2.1: it should be empty). */
	ask_opts("www.lb.test", DNS_TYPE_A, DNS_CLASS_IN, 0, 1232, false, opts,
		 tu_option(opts, DNS_EDNS_NSID, (const uint8_t *)"xyz", 3));
	ck_assert_mem_eq(option(DNS_EDNS_NSID, &n), "ns1.lb.test", 11);
	use_conf("nsid = \"0x00ff10\";\n");
	len = tu_option(opts, DNS_EDNS_NSID, NULL, 0);
	ask_opts("www.lb.test", DNS_TYPE_A, DNS_CLASS_IN, 0, 1232, false, opts, len);
	id = option(DNS_EDNS_NSID, &n);
	ck_assert_ptr_nonnull(id);
	ck_assert_uint_eq(n, 3);
	ck_assert_mem_eq(id, "\x00\xff\x10", 3);
}
END_TEST

/* Both options, the NSID at its longest, and every UDP size from 512 up:
 * the response with its OPT never exceeds the size (their room is counted
 * before the records are written), and both options are always there. */
START_TEST(options_respect_udp_size)
{
	static const struct {
		const char *name;
		uint16_t qtype;
	} qs[] = {
		{ "www.lb.test", DNS_TYPE_A },	     { "medium.lb.test", DNS_TYPE_TXT },
		{ "big.lb.test", DNS_TYPE_TXT },     { "opt.lb.test", DNS_TYPE_A },
		{ "x.req.lb.test", DNS_TYPE_A },     { "many.lb.test", DNS_TYPE_A },
		{ "pool.lb.test", DNS_TYPE_A },	     { "nope.lb.test", DNS_TYPE_A },
	};
	char extra[512];
	uint8_t opts[64];
	size_t len, n;

	snprintf(extra, sizeof(extra), "nsid = \"%0128d\";\n", 7);
	use_conf(extra);
	client = from("192.0.2.7");
	len = tu_option(opts, DNS_EDNS_NSID, NULL, 0);
	len += tu_option(opts + len, DNS_EDNS_COOKIE, cc, 8);
	for (size_t i = 0; i < sizeof(qs) / sizeof(qs[0]); i++) {
		for (unsigned udp = 512; udp <= 1300; udp += 3) {
			uint16_t size = (uint16_t)udp;
			ask_opts(qs[i].name, qs[i].qtype, DNS_CLASS_IN, 0, size, false, opts, len);
			ck_assert_msg(rlen <= (udp < 1232 ? udp : 1232), "%s at %u: %zu bytes",
				      qs[i].name, udp, rlen);
			ck_assert_ptr_nonnull(option(DNS_EDNS_NSID, &n));
			ck_assert_uint_eq(n, 128);
			server_cookie();
		}
	}
}
END_TEST

static Suite *answer_suite(void)
{
	Suite *s = suite_create("answer");
	TCase *tc = tcase_create("answers");
	TCase *tb = tcase_create("build_errors");
	TCase *to = tcase_create("edns_options");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, flags);
	tcase_add_test(tc, question_echoed_with_case);
	tcase_add_test(tc, compression);
	tcase_add_test(tc, mx_answer);
	tcase_add_test(tc, ns_answer_additional);
	tcase_add_test(tc, mx_answer_additional);
	tcase_add_test(tc, srv_answer_additional);
	tcase_add_test(tc, pool_target_additional);
	tcase_add_test(tc, pool_target_health);
	tcase_add_test(tc, additional_dropped_when_too_big);
	tcase_add_test(tc, nxdomain);
	tcase_add_test(tc, nodata);
	tcase_add_test(tc, empty_non_terminal);
	tcase_add_test(tc, cname_chain_static);
	tcase_add_test(tc, cname_to_pool);
	tcase_add_test(tc, cname_loop_stops);
	tcase_add_test(tc, cname_out_of_zone);
	tcase_add_test(tc, cname_dangling);
	tcase_add_test(tc, wildcard);
	tcase_add_test(tc, wildcard_nodata);
	tcase_add_test(tc, wildcard_not_when_name_exists);
	tcase_add_test(tc, wildcard_cname);
	tcase_add_test(tc, cname_to_wildcard);
	tcase_add_test(tc, wildcard_pool_owner);
	tcase_add_test(tc, referral);
	tcase_add_test(tc, ds_at_delegation);
	tcase_add_test(tc, child_zone_alongside_parent);
	tcase_add_test(tc, ds_at_nested_cut_is_referral);
	tcase_add_test(tc, ds_at_served_child_apex_from_parent);
	tcase_add_test(tc, refused_out_of_zone);
	tcase_add_test(tc, refused_class);
	tcase_add_test(tc, chaos_version);
	tcase_add_test(tc, chaos_longest_text);
	tcase_add_test(tc, chaos_not_configured);
	tcase_add_test(tc, notimp_opcode);
	tcase_add_test(tc, notimp_with_edns_has_opt);
	tcase_add_test(tc, formerr);
	tcase_add_test(tc, dropped);
	tcase_add_test(tc, badvers);
	tcase_add_test(tc, opt_echoed);
	tcase_add_test(tc, no_opt_without_edns);
	tcase_add_test(tc, edns_small_udp);
	tcase_add_test(tc, configured_udp_size);
	tcase_add_test(tc, ctx_follows_new_snapshot);
	tcase_add_test(tc, ctx_follows_snapshot_at_reused_address);
	tcase_add_test(tc, any_one_rrset);
	tcase_add_test(tc, transfers_refused);
	tcase_add_test(tc, truncation);
	tcase_add_test(tc, optional_additional_dropped);
	tcase_add_test(tc, required_glue_truncates);
	tcase_add_test(tc, pool_families);
	tcase_add_test(tc, pool_rotation);
	tcase_add_test(tc, pool_edns_and_tcp);
	tcase_add_test(tc, pool_too_big_for_udp);
	tcase_add_test(tc, explain_agrees_with_answers);
	suite_add_tcase(s, tc);

	tcase_add_test(tb, pool_owner_outside_zones);
	tcase_add_test(tb, pool_owner_collides_with_static);
	tcase_add_test(tb, pool_owner_below_delegation);
	tcase_add_test(tb, pool_owner_twice);
	suite_add_tcase(s, tb);

	tcase_add_checked_fixture(to, setup, teardown);
	tcase_add_test(to, cookie_client_only);
	tcase_add_test(to, cookie_replayed_renewed_expired);
	tcase_add_test(to, cookie_other_client_invalid);
	tcase_add_test(to, cookie_secret_rotation);
	tcase_add_test(to, cookie_in_every_response);
	tcase_add_test(to, cookie_query_without_question);
	tcase_add_test(to, cookie_without_client_address);
	tcase_add_test(to, cookie_malformed_formerr);
	tcase_add_test(to, cookie_required_badcookie);
	tcase_add_test(to, nsid_when_asked);
	tcase_add_test(to, options_respect_udp_size);
	suite_add_tcase(s, to);
	return s;
}

int main(void)
{
	SRunner *sr;
	int failed;

	tu_dir(); /* made here, shared by the forked tests, removed at exit */
	sr = srunner_create(answer_suite());
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed != 0 ? EXIT_FAILURE : EXIT_SUCCESS;
}
