/* check_geo.c -- unit tests for geo maps: the prefix tree (src/geo/nettree.c), the nets
 * file parser and map compiling (src/geo/geomap.c), and the client subnet echo of the
 * answer path with the geo policy (src/dns/answer.c, src/lb/policy_geo.c). */
#include "config.h"

#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>

#include <check.h>

#include "data/conf.h"
#include "data/snapshot.h"
#include "dns/answer.h"
#include "geo/geomap.h"
#include "geo/nettree.h"
#include "testutil.h"

/* --- the prefix tree ------------------------------------------------------------ */

/* "192.0.2.0/24" or "2001:db8::/32" as nettree_build_insert takes it. */
static unsigned prefix(uint8_t addr[16], const char *text)
{
	struct conf_net n;

	ck_assert_int_eq(conf_parse_net(&n, text), 0);
	memset(addr, 0, 16);
	if (n.family == AF_INET) {
		addr[10] = addr[11] = 0xff;
		memcpy(addr + 12, n.addr, 4);
		return 96 + n.bits;
	}
	memcpy(addr, n.addr, 16);
	return n.bits;
}

static void insert(struct nettree_build *b, const char *text, int32_t val)
{
	uint8_t a[16];
	unsigned bits = prefix(a, text);

	ck_assert_int_eq(nettree_build_insert(b, a, bits, val), NETTREE_NONE);
}

/* The result for address @text, and its depth in *@depth (family bits). */
static uint32_t look(const struct nettree *t, const char *text, unsigned *depth)
{
	uint8_t a[16];

	if (inet_pton(AF_INET, text, a) == 1) {
		return nettree_lookup4(t, a, depth);
	}
	ck_assert_int_eq(inet_pton(AF_INET6, text, a), 1);
	return nettree_lookup6(t, a, depth);
}

START_TEST(tree_longest_prefix_wins)
{
	struct nettree_build b;
	struct nettree t;
	unsigned d;

	nettree_build_init(&b);
	insert(&b, "10.0.0.0/8", 1);
	insert(&b, "10.1.0.0/16", 2);
	insert(&b, "10.1.2.0/24", 3);
	insert(&b, "2001:db8::/32", 4);
	insert(&b, "2001:db8:1::/48", 5);
	ck_assert_int_eq(nettree_compile(&t, &b, NULL, 0), 0);
	ck_assert_uint_eq(look(&t, "10.1.2.3", &d), 3);
	ck_assert_uint_eq(d, 24);
	ck_assert_uint_eq(look(&t, "10.1.3.3", &d), 2);
	ck_assert_uint_eq(look(&t, "10.2.0.1", &d), 1);
	ck_assert_uint_eq(d, 15); /* 10.2.0.0/15: the widest network of 10/8 without 10.1/16 */
	ck_assert_uint_eq(look(&t, "10.200.0.1", &d), 1);
	ck_assert_uint_eq(d, 9);
	ck_assert_uint_eq(look(&t, "11.0.0.1", &d), 0); /* the default */
	ck_assert_uint_eq(d, 8); /* 11.0.0.0/8 is the widest default network beside 10/8 */
	ck_assert_uint_eq(look(&t, "2001:db8:1::1", &d), 5);
	ck_assert_uint_eq(d, 48);
	ck_assert_uint_eq(look(&t, "2001:db8:2::1", &d), 4);
	ck_assert_uint_eq(d, 47); /* 2001:db8:2::/47, beside 2001:db8::/47 holding the /48 */
	ck_assert_uint_eq(look(&t, "2001:db9::1", &d), 0);
	/* The same network again replaces, and says what it replaced. */
	{
		uint8_t a[16];
		unsigned bits = prefix(a, "10.1.0.0/16");
		ck_assert_int_eq(nettree_build_insert(&b, a, bits, 7), 2);
	}
	nettree_clear(&t);
	nettree_build_clear(&b);
}
END_TEST

START_TEST(tree_merges_adjacent_networks)
{
	struct nettree_build b;
	struct nettree t;
	unsigned d;

	nettree_build_init(&b);
	/* Two halves with one result are one /24; a /25 beside a /25 of another
	 * result is not merged. */
	insert(&b, "192.0.2.0/25", 1);
	insert(&b, "192.0.2.128/25", 1);
	insert(&b, "198.51.100.0/25", 1);
	insert(&b, "198.51.100.128/25", 2);
	/* A more specific network with the same result as around it adds nothing. */
	insert(&b, "203.0.113.0/24", 3);
	insert(&b, "203.0.113.64/26", 3);
	ck_assert_int_eq(nettree_compile(&t, &b, NULL, 0), 0);
	ck_assert_uint_eq(look(&t, "192.0.2.200", &d), 1);
	ck_assert_uint_eq(d, 24);
	ck_assert_uint_eq(look(&t, "198.51.100.1", &d), 1);
	ck_assert_uint_eq(d, 25);
	ck_assert_uint_eq(look(&t, "198.51.100.200", &d), 2);
	ck_assert_uint_eq(d, 25);
	ck_assert_uint_eq(look(&t, "203.0.113.70", &d), 3);
	ck_assert_uint_eq(d, 24);
	nettree_clear(&t);
	/* Everything one result: no node at all, depth 0. */
	nettree_build_clear(&b);
	nettree_build_init(&b);
	insert(&b, "0.0.0.0/1", 0);
	insert(&b, "128.0.0.0/1", 0);
	ck_assert_int_eq(nettree_compile(&t, &b, NULL, 0), 0);
	ck_assert_uint_eq(t.n, 0);
	ck_assert_uint_eq(look(&t, "192.0.2.1", &d), 0);
	ck_assert_uint_eq(d, 0);
	ck_assert_uint_eq(look(&t, "2001:db8::1", &d), 0);
	ck_assert_uint_eq(d, 0);
	nettree_clear(&t);
	nettree_build_clear(&b);
}
END_TEST

START_TEST(tree_ipv4_inside_ipv6)
{
	struct nettree_build b;
	struct nettree t;
	unsigned d;

	nettree_build_init(&b);
	insert(&b, "192.0.2.0/24", 1);
	insert(&b, "::ffff:198.51.100.0/120", 2); /* written as IPv6: the same place */
	ck_assert_int_eq(nettree_compile(&t, &b, NULL, 0), 0);
	ck_assert_uint_eq(look(&t, "::ffff:192.0.2.9", &d), 1);
	ck_assert_uint_eq(d, 120);
	ck_assert_uint_eq(look(&t, "192.0.2.9", &d), 1);
	ck_assert_uint_eq(d, 24); /* in IPv4 bits */
	ck_assert_uint_eq(look(&t, "198.51.100.7", &d), 2);
	ck_assert_uint_eq(d, 24);
	/* IPv4-compatible ::192.0.2.9 is not IPv4 here. */
	ck_assert_uint_eq(look(&t, "::192.0.2.9", &d), 0);
	nettree_clear(&t);
	/* A network covering more than all of IPv4: depth 0 in IPv4 bits. */
	nettree_build_clear(&b);
	nettree_build_init(&b);
	insert(&b, "::/64", 5);
	ck_assert_int_eq(nettree_compile(&t, &b, NULL, 0), 0);
	ck_assert_uint_eq(look(&t, "192.0.2.9", &d), 5);
	ck_assert_uint_eq(d, 0);
	nettree_clear(&t);
	nettree_build_clear(&b);
}
END_TEST

/* A fake database: a binary tree in an array; node 0 the root. */
struct fake_db {
	int kind[64][2];
	uint32_t val[64][2];
};

static int fake_node(void *db, uint32_t number, unsigned bit, int *kind, uint32_t *out)
{
	struct fake_db *f = db;

	if (number >= 64) {
		return -1;
	}
	*kind = f->kind[number][bit];
	*out = f->val[number][bit];
	return 0;
}

START_TEST(tree_database_under_the_map)
{
	struct fake_db f;
	struct nettree_db db = {&f, 0, 1, 0, false, 64, fake_node};
	struct nettree_build b;
	struct nettree t;
	unsigned d;
	uint8_t a[16] = {0};

	/* An IPv4-only database: node 0 splits 0/1 (node 1) and 128/1 (result
	 * 7); node 1 splits 0/2 (result 8) and 64/2 (empty). */
	memset(&f, 0, sizeof(f));
	f.kind[0][0] = 0, f.val[0][0] = 1;
	f.kind[0][1] = 2, f.val[0][1] = 7;
	f.kind[1][0] = 2, f.val[1][0] = 8;
	f.kind[1][1] = 1;
	db.ipv4_only = true;
	nettree_build_init(&b);
	insert(&b, "130.0.0.0/8", 3); /* the map wins where both match */
	insert(&b, "2001:db8::/32", 4);
	ck_assert_int_eq(nettree_compile(&t, &b, &db, 0), 0);
	ck_assert_uint_eq(look(&t, "200.1.1.1", &d), 7);
	ck_assert_uint_eq(d, 2); /* 192.0.0.0/2: 128.0.0.0/2 holds the map's 130/8 */
	ck_assert_uint_eq(look(&t, "160.1.1.1", &d), 7);
	ck_assert_uint_eq(d, 3);
	ck_assert_uint_eq(look(&t, "130.1.1.1", &d), 3);
	ck_assert_uint_eq(d, 8);
	ck_assert_uint_eq(look(&t, "10.1.1.1", &d), 8);
	ck_assert_uint_eq(d, 2);
	ck_assert_uint_eq(look(&t, "100.1.1.1", &d), 0); /* empty: the default */
	ck_assert_uint_eq(look(&t, "2001:db8::1", &d), 4);
	ck_assert_uint_eq(look(&t, "2001:db9::1", &d), 0);
	nettree_clear(&t);

	/* An IPv6 database whose IPv4 subtree (at ::/96, node 1 here) is all
	 * result 9, 2002::/16 aliased to it, the rest result 6. 96 zero bits
	 * down from the root: node 0's left is node 2, whose left is node 2
	 * again... a chain is a DAG a corrupt file could hold: refused below. */
	memset(&f, 0, sizeof(f));
	for (uint32_t i = 0; i < 40; i++) {
		f.kind[i][0] = 0, f.val[i][0] = i + 1;
		f.kind[i][1] = 2, f.val[i][1] = 6;
	}
	db.ipv4_only = false;
	db.ipv4_kind = 2;
	db.ipv4 = 9;
	ck_assert_int_eq(nettree_compile(&t, NULL, &db, 0), 0);
	ck_assert_uint_eq(look(&t, "192.0.2.1", &d), 9);
	ck_assert_uint_eq(d, 0); /* all of IPv4 is one result */
	ck_assert_uint_eq(look(&t, "8000::1", &d), 6);
	ck_assert_uint_eq(d, 1);
	a[0] = 0x20, a[1] = 0x02;
	ck_assert_uint_eq(nettree_lookup6(&t, a, &d), 0); /* 6to4: not copied */
	a[1] = 0x01;
	ck_assert_uint_eq(nettree_lookup6(&t, a, &d), 0); /* Teredo 2001::/32: not copied */
	a[2] = 0x01;
	ck_assert_uint_eq(nettree_lookup6(&t, a, &d), 6); /* 2001:100::/24 is not Teredo */
	nettree_clear(&t);

	/* Every node pointing at node 0 from both sides: exponential as a
	 * tree; compile refuses it. */
	memset(&f, 0, sizeof(f));
	f.kind[0][0] = f.kind[0][1] = 0;
	db.ipv4_kind = 1;
	ck_assert_int_eq(nettree_compile(&t, NULL, &db, 0), -1);
	nettree_build_clear(&b);
}
END_TEST

/* --- the nets file parser ------------------------------------------------------ */

struct parsed {
	unsigned n, errs;
	unsigned err_line[8];
	unsigned bits[8];
	char names[8][64];
};

static int add_cb(void *arg, const uint8_t addr[16], unsigned bits, const char *name, unsigned line)
{
	struct parsed *p = arg;

	(void)addr;
	(void)line;
	if (p->n < 8) {
		p->bits[p->n] = bits;
		snprintf(p->names[p->n], sizeof(p->names[0]), "%s", name);
	}
	p->n++;
	return 0;
}

static void err_cb(void *arg, unsigned line, const char *msg)
{
	struct parsed *p = arg;

	(void)msg;
	if (p->errs < 8) {
		p->err_line[p->errs] = line;
	}
	p->errs++;
}

START_TEST(nets_parser)
{
	static const char good[] = "# offices\n"
				   "192.0.2.0/24 ams-office   # trailing comment\n"
				   "\n"
				   "\t2001:db8::/32\teurope\r\n"
				   "198.51.100.7 host.one\n"
				   "203.0.113.0/24 US/CA"; /* no final newline */
	static const char bad[] = "192.0.2.0/24\n"	   /* 1: no name */
				  "192.0.2.1/24 x\n"	   /* 2: bits past the prefix */
				  "300.0.0.0/8 x\n"	   /* 3: no network */
				  "10.0.0.0/8 a b\n"	   /* 4: one token too many */
				  "10.0.0.0/8 bad!name\n"  /* 5: name */
				  "10.0.0.0/33 x\n"	   /* 6: prefix too long */
				  "10.0.0.0/8 ok\n";	   /* 7: fine */
	struct parsed p;
	char longline[2100];

	memset(&p, 0, sizeof(p));
	ck_assert_int_eq(geo_nets_parse(good, sizeof(good) - 1, add_cb, err_cb, &p), 0);
	ck_assert_uint_eq(p.n, 4);
	ck_assert_uint_eq(p.bits[0], 96 + 24);
	ck_assert_str_eq(p.names[0], "ams-office");
	ck_assert_uint_eq(p.bits[1], 32);
	ck_assert_str_eq(p.names[1], "europe");
	ck_assert_uint_eq(p.bits[2], 128);
	ck_assert_str_eq(p.names[3], "US/CA");
	memset(&p, 0, sizeof(p));
	ck_assert_int_eq(geo_nets_parse(bad, sizeof(bad) - 1, add_cb, err_cb, &p), 6);
	ck_assert_uint_eq(p.n, 1);
	for (unsigned i = 0; i < 6; i++) {
		ck_assert_uint_eq(p.err_line[i], i + 1);
	}
	memset(longline, 'a', sizeof(longline));
	memset(&p, 0, sizeof(p));
	ck_assert_int_eq(geo_nets_parse(longline, sizeof(longline), add_cb, err_cb, &p), 1);
	memset(&p, 0, sizeof(p));
	ck_assert_int_eq(geo_nets_parse("10.0.0.0/8 a\0b\n", 15, add_cb, err_cb, &p), 1);
}
END_TEST

/* --- the answer path: the client subnet echo ------------------------------------------- */

static char errlog[16384];

static const char zone[] = "$ORIGIN lb.test.\n$TTL 300\n"
			   "@ IN SOA ns1 hostmaster 1 3600 600 86400 60\n"
			   "@ IN NS ns1\nns1 IN A 192.0.2.1\n";

static const char nets[] = "10.1.0.0/16 europe\n"
			   "10.2.0.0/16 america\n"
			   "10.2.5.0/24 europe\n"
			   "2001:db8:1::/48 europe\n"
			   "127.0.0.2/32 europe\n";

static struct snapshot *geo_snapshot(const char *extra)
{
	char path[PATH_MAX], text[4096];
	static int n;
	char dir[32], name[64];
	struct conf *c;
	struct snapshot *s;

	snprintf(dir, sizeof(dir), "g%d", n++);
	tu_mkdir(dir);
	snprintf(name, sizeof(name), "%s/lb.test.zone", dir);
	tu_write(path, name, zone);
	snprintf(name, sizeof(name), "%s/nets.txt", dir);
	tu_write(path, name, nets);
	snprintf(
	    text, sizeof(text),
	    "listen = \"127.0.0.1:5353\";\n%s"
	    "zones = ( { origin = \"lb.test\"; file = \"lb.test.zone\"; } );\n"
	    "geo_maps = ( { name = \"world\"; nets = \"nets.txt\"; datacenters = ( \"ams\", "
	    "\"iad\" );\n"
	    "  regions = ( { region = \"europe\"; datacenters = [ \"ams\", \"iad\" ]; },\n"
	    "              { region = \"america\"; datacenters = [ \"iad\", \"ams\" ]; } );\n"
	    "  default = [ \"iad\" ]; } );\n"
	    "pools = ( { name = \"web\"; owners = [ \"www.lb.test\" ]; policy = \"geo\";\n"
	    "  geo_map = \"world\"; ttl = 30; ttl_degraded = 5;\n"
	    "  members = ( { address = \"192.0.2.10\"; }, { address = \"198.51.100.10\"; } );\n"
	    "  datacenters = ( { name = \"ams\"; members = [ \"192.0.2.10\" ]; },\n"
	    "                  { name = \"iad\"; members = [ \"198.51.100.10\" ]; } ); },\n"
	    "  { name = \"plain\"; owners = [ \"plain.lb.test\" ];\n"
	    "    members = ( { address = \"203.0.113.1\"; } ); },\n"
	    "  { name = \"nd\"; owners = [ \"nd.lb.test\" ]; policy = \"geo\";\n"
	    "    geo_map = \"world\"; last_resort = \"nodata\";\n"
	    "    members = ( { address = \"192.0.2.20\"; } );\n"
	    "    datacenters = ( { name = \"ams\"; members = [ \"192.0.2.20\" ]; } ); } );\n",
	    extra);
	snprintf(name, sizeof(name), "%s/gslbd.conf", dir);
	tu_write(path, name, text);
	TU_CAPTURE_STDERR(errlog, sizeof(errlog), c = conf_load(path));
	ck_assert_msg(c != NULL, "config rejected:\n%s", errlog);
	TU_CAPTURE_STDERR(errlog, sizeof(errlog), s = snapshot_build(c));
	ck_assert_msg(s != NULL, "snapshot_build failed:\n%s", errlog);
	return s;
}

struct echo {
	bool has_opt, has_ecs;
	int rcode;
	uint16_t family;
	uint8_t source, scope;
	uint8_t addr[16];
	char first[64]; /* the first A record's address */
	uint32_t ttl;
};

/* Ask @name A from @client_text with an ECS option of @family/@source/@addr
 * (@family 0: no option; -1: no OPT at all); what came back. */
static struct echo ask(struct answer_ctx *ctx, const struct snapshot *s, const char *name,
		       const char *client_text, int family, uint8_t source, const uint8_t *addr)
{
	uint8_t q[512], opts[64], resp[4096];
	struct sockaddr_storage ss;
	struct sockaddr_in *a4 = (struct sockaddr_in *)&ss;
	struct request req;
	struct tu_resp r;
	struct echo e;
	size_t len = tu_query(q, 7, TU_RD, name, DNS_TYPE_A, DNS_CLASS_IN), olen = 0, n;

	memset(&e, 0, sizeof(e));
	memset(&ss, 0, sizeof(ss));
	a4->sin_family = AF_INET;
	ck_assert_int_eq(inet_pton(AF_INET, client_text, &a4->sin_addr), 1);
	if (family > 0) {
		uint8_t d[20];
		tu_wr16(d, (uint16_t)family);
		d[2] = source;
		d[3] = 0;
		memcpy(d + 4, addr, (source + 7u) / 8u);
		olen = tu_option(opts, DNS_EDNS_CLIENT_SUBNET, d, 4 + (source + 7u) / 8u);
	}
	if (family >= 0) {
		len = tu_add_opt_raw(q, len, 1232, opts, olen);
	}
	req.client = &ss;
	req.transport = TRANSPORT_UDP;
	n = answer_query(ctx, s, &req, q, len, resp, sizeof(resp));
	ck_assert_uint_gt(n, 0);
	ck_assert_int_eq(tu_parse(&r, resp, n), 0);
	e.rcode = r.rcode;
	e.has_opt = r.has_opt;
	for (size_t i = 0; i < r.nrr; i++) {
		if (r.rr[i].section == 0 && r.rr[i].type == DNS_TYPE_A && !e.first[0]) {
			inet_ntop(AF_INET, r.rr[i].rdata, e.first, sizeof(e.first));
			e.ttl = r.rr[i].ttl;
		}
	}
	if (r.has_opt) {
		const uint8_t *p = r.opt->rdata, *end = p + r.opt->rdlen;
		while (p + 4 <= end) {
			uint16_t code = tu_rd16(p), l = tu_rd16(p + 2);
			if (code == DNS_EDNS_CLIENT_SUBNET) {
				ck_assert(!e.has_ecs);
				e.has_ecs = true;
				e.family = tu_rd16(p + 4);
				e.source = p[6];
				e.scope = p[7];
				ck_assert_uint_eq(l, 4 + (e.source + 7u) / 8u);
				memcpy(e.addr, p + 8, l - 4u);
			}
			p += 4 + l;
		}
	}
	return e;
}

START_TEST(ecs_echo_and_scope)
{
	struct snapshot *s = geo_snapshot("");
	struct answer_ctx ctx;
	static const uint8_t eu[] = {10, 1, 7}, us[] = {10, 2, 0}, euin[] = {10, 2, 5};
	static const uint8_t other[] = {8, 8, 8};
	static const uint8_t v6[] = {0x20, 0x01, 0x0d, 0xb8, 0x00, 0x01, 0x00};
	struct echo e;

	answer_ctx_init(&ctx, 1);
	answer_ctx_use(&ctx, s);
	/* The network that decided, as wide as the merged tree says. */
	e = ask(&ctx, s, "www.lb.test", "127.0.0.9", DNS_ECS_FAMILY_IP4, 24, eu);
	ck_assert(e.has_ecs);
	ck_assert_str_eq(e.first, "192.0.2.10");
	ck_assert_uint_eq(e.family, DNS_ECS_FAMILY_IP4);
	ck_assert_uint_eq(e.source, 24);
	ck_assert_uint_eq(e.scope, 16);
	ck_assert_mem_eq(e.addr, eu, 3);
	ck_assert_uint_eq(e.ttl, 30);
	e = ask(&ctx, s, "www.lb.test", "127.0.0.9", DNS_ECS_FAMILY_IP4, 24, us);
	ck_assert_str_eq(e.first, "198.51.100.10");
	ck_assert_uint_eq(e.scope, 22); /* 10.2.0.0/22: next to 10.2.4.0/22 holding 10.2.5.0/24 */
	e = ask(&ctx, s, "www.lb.test", "127.0.0.9", DNS_ECS_FAMILY_IP4, 24, euin);
	ck_assert_str_eq(e.first, "192.0.2.10");
	ck_assert_uint_eq(e.scope, 24);
	/* Never wider than the source prefix: a /20 inside 10.2.5.0/24's /22. */
	e = ask(&ctx, s, "www.lb.test", "127.0.0.9", DNS_ECS_FAMILY_IP4, 20, us);
	ck_assert_uint_le(e.scope, 20);
	/* The default region. */
	e = ask(&ctx, s, "www.lb.test", "127.0.0.9", DNS_ECS_FAMILY_IP4, 24, other);
	ck_assert_str_eq(e.first, "198.51.100.10");
	ck_assert_uint_gt(e.scope, 0);
	/* IPv6 client subnet. */
	e = ask(&ctx, s, "www.lb.test", "127.0.0.9", DNS_ECS_FAMILY_IP6, 56, v6);
	ck_assert_str_eq(e.first, "192.0.2.10");
	ck_assert_uint_eq(e.family, DNS_ECS_FAMILY_IP6);
	ck_assert_uint_eq(e.scope, 48);
	/* Source prefix 0: the resolver's own address (127.0.0.2: europe), scope 0. */
	e = ask(&ctx, s, "www.lb.test", "127.0.0.2", DNS_ECS_FAMILY_IP4, 0, eu);
	ck_assert(e.has_ecs);
	ck_assert_str_eq(e.first, "192.0.2.10");
	ck_assert_uint_eq(e.scope, 0);
	ck_assert_uint_eq(e.source, 0);
	/* Without ECS: the source address decides; no option in the response. */
	e = ask(&ctx, s, "www.lb.test", "127.0.0.2", 0, 0, NULL);
	ck_assert(e.has_opt && !e.has_ecs);
	ck_assert_str_eq(e.first, "192.0.2.10");
	e = ask(&ctx, s, "www.lb.test", "127.0.0.3", -1, 0, NULL);
	ck_assert(!e.has_opt);
	ck_assert_str_eq(e.first, "198.51.100.10");
	/* Answers that do not depend on location: scope 0. */
	e = ask(&ctx, s, "plain.lb.test", "127.0.0.9", DNS_ECS_FAMILY_IP4, 24, eu);
	ck_assert(e.has_ecs);
	ck_assert_str_eq(e.first, "203.0.113.1");
	ck_assert_uint_eq(e.scope, 0);
	e = ask(&ctx, s, "nothere.lb.test", "127.0.0.9", DNS_ECS_FAMILY_IP4, 24, eu);
	ck_assert_int_eq(e.rcode, DNS_RCODE_NXDOMAIN);
	ck_assert(e.has_ecs);
	ck_assert_uint_eq(e.scope, 0);
	/* A negative answer by location (the default region lists iad only, where
	 * pool nd has no member: its last resort, NODATA): scope 0. */
	e = ask(&ctx, s, "nd.lb.test", "127.0.0.9", DNS_ECS_FAMILY_IP4, 24, other);
	ck_assert_int_eq(e.rcode, DNS_RCODE_NOERROR);
	ck_assert(!e.first[0]);
	ck_assert(e.has_ecs);
	ck_assert_uint_eq(e.scope, 0);
	e = ask(&ctx, s, "nd.lb.test", "127.0.0.9", DNS_ECS_FAMILY_IP4, 24, eu);
	ck_assert_str_eq(e.first, "192.0.2.20");
	ck_assert_uint_eq(e.scope, 16);
	/* A malformed option (bits past the prefix): FORMERR, no OPT at all. */
	{
		static const uint8_t past[] = {10, 1, 7};
		e = ask(&ctx, s, "www.lb.test", "127.0.0.9", DNS_ECS_FAMILY_IP4, 23, past);
		ck_assert_int_eq(e.rcode, DNS_RCODE_FORMERR);
		ck_assert(!e.has_opt);
	}
	answer_ctx_clear(&ctx);
	snapshot_free(s);
}
END_TEST

START_TEST(ecs_switched_off)
{
	struct snapshot *s = geo_snapshot("edns_client_subnet = false;\n");
	struct answer_ctx ctx;
	static const uint8_t us[] = {10, 2, 0};
	struct echo e;

	answer_ctx_init(&ctx, 1);
	answer_ctx_use(&ctx, s);
	/* The option says america, the source address says europe: the source
	 * decides, and the echo has scope 0. */
	e = ask(&ctx, s, "www.lb.test", "127.0.0.2", DNS_ECS_FAMILY_IP4, 24, us);
	ck_assert(e.has_ecs);
	ck_assert_str_eq(e.first, "192.0.2.10");
	ck_assert_uint_eq(e.scope, 0);
	ck_assert_uint_eq(e.source, 24);
	answer_ctx_clear(&ctx);
	snapshot_free(s);
}
END_TEST

/* inner = "weighted": one member per answer, drawn in proportion to weight,
 * only from the client's datacenter. */
START_TEST(inner_weighted)
{
	static const char pools[] =
	    "pools = ( { name = \"w\"; owners = [ \"w.lb.test\" ]; policy = \"geo\";\n"
	    "  geo_map = \"world\"; inner = \"weighted\";\n"
	    "  members = ( { address = \"192.0.2.1\"; weight = 1; },\n"
	    "              { address = \"192.0.2.2\"; weight = 9; },\n"
	    "              { address = \"198.51.100.1\"; weight = 100; } );\n"
	    "  datacenters = ( { name = \"ams\"; members = [ \"192.0.2.1\", \"192.0.2.2\" ]; },\n"
	    "                  { name = \"iad\"; members = [ \"198.51.100.1\" ]; } ); } );\n";
	char path[PATH_MAX], text[4096];
	static const uint8_t eu[] = {10, 1, 7};
	struct answer_ctx ctx;
	struct snapshot *s;
	struct conf *c;
	unsigned heavy = 0, n = 2000;

	tu_mkdir("w");
	tu_write(path, "w/lb.test.zone", zone);
	tu_write(path, "w/nets.txt", nets);
	snprintf(text, sizeof(text),
		 "listen = \"127.0.0.1:5353\";\n"
		 "zones = ( { origin = \"lb.test\"; file = \"lb.test.zone\"; } );\n"
		 "geo_maps = ( { name = \"world\"; nets = \"nets.txt\"; datacenters = ( \"ams\", "
		 "\"iad\" );\n"
		 "  regions = ( { region = \"europe\"; datacenters = [ \"ams\", \"iad\" ]; },\n"
		 "              { region = \"america\"; datacenters = [ \"iad\" ]; } ); } );\n%s",
		 pools);
	tu_write(path, "w/gslbd.conf", text);
	TU_CAPTURE_STDERR(errlog, sizeof(errlog), c = conf_load(path));
	ck_assert_msg(c != NULL, "config rejected:\n%s", errlog);
	TU_CAPTURE_STDERR(errlog, sizeof(errlog), s = snapshot_build(c));
	ck_assert_msg(s != NULL, "%s", errlog);
	answer_ctx_init(&ctx, 7);
	answer_ctx_use(&ctx, s);
	for (unsigned i = 0; i < n; i++) {
		struct echo e = ask(&ctx, s, "w.lb.test", "127.0.0.9", DNS_ECS_FAMILY_IP4, 24, eu);
		ck_assert_msg(strcmp(e.first, "192.0.2.1") == 0 || strcmp(e.first, "192.0.2.2") == 0,
			      "%s is not of ams", e.first);
		heavy += strcmp(e.first, "192.0.2.2") == 0;
	}
	/* 90 % expected; sd 0.67 %: 85..95 % is over 7 sd either way. */
	ck_assert_msg(heavy > n * 85 / 100 && heavy < n * 95 / 100, "%u of %u", heavy, n);
	answer_ctx_clear(&ctx);
	snapshot_free(s);
}
END_TEST

START_TEST(geo_config_errors)
{
	static const char *const bad[] = {
	    /* a region's datacenter that the map does not have */
	    "geo_maps = ( { name = \"m\"; nets = \"nets.txt\"; datacenters = ( \"a\" );"
	    " regions = ( { region = \"europe\"; datacenters = [ \"b\" ]; } ); } );\n",
	    /* a nets name with no region */
	    "geo_maps = ( { name = \"m\"; nets = \"nets.txt\"; datacenters = ( \"a\" ); } );\n",
	    /* nearest without coordinates */
	    "geo_maps = ( { name = \"m\"; nets = \"nets.txt\"; mode = \"nearest\"; datacenters = ( "
	    "\"a\" );"
	    " regions = ( { region = \"europe\"; datacenters = [ \"a\" ]; },"
	    " { region = \"america\"; datacenters = [ \"a\" ]; } ); } );\n",
	    /* a missing file */
	    "geo_maps = ( { name = \"m\"; nets = \"nope.txt\"; datacenters = ( \"a\" ); } );\n",
	    /* no source at all */
	    "geo_maps = ( { name = \"m\"; datacenters = ( \"a\" ); } );\n",
	};
	char path[PATH_MAX], text[2048];
	struct conf *c;

	tu_mkdir("bad");
	tu_write(path, "bad/nets.txt", nets);
	tu_write(path, "bad/z", zone);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(text, sizeof(text), "listen = \"127.0.0.1:53\";\n%s", bad[i]);
		tu_write(path, "bad/gslbd.conf", text);
		TU_CAPTURE_STDERR(errlog, sizeof(errlog), c = conf_load(path));
		ck_assert_msg(c == NULL, "config %zu accepted", i);
		ck_assert_msg(strstr(errlog, "gslbd.conf:2:") != NULL, "no file:line in: %s",
			      errlog);
		if (i == 0) {
			/* The map is not compiled after an error of its own: no
			 * cascade of "no region" errors from its nets file. */
			ck_assert_msg(strstr(errlog, "nets.txt:") == NULL, "%s", errlog);
		}
	}
}
END_TEST

START_TEST(geo_distance_km)
{
	/* Amsterdam - New York, about 5860 km; a point to itself 0. */
	double d = geo_distance(52.37, 4.89, 40.71, -74.01);
	ck_assert(d > 5800 && d < 5900);
	ck_assert(geo_distance(10, 10, 10, 10) < 1e-6);
}
END_TEST

static Suite *geo_suite(void)
{
	Suite *s = suite_create("geo");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, tree_longest_prefix_wins);
	tcase_add_test(tc, tree_merges_adjacent_networks);
	tcase_add_test(tc, tree_ipv4_inside_ipv6);
	tcase_add_test(tc, tree_database_under_the_map);
	tcase_add_test(tc, nets_parser);
	tcase_add_test(tc, ecs_echo_and_scope);
	tcase_add_test(tc, ecs_switched_off);
	tcase_add_test(tc, inner_weighted);
	tcase_add_test(tc, geo_config_errors);
	tcase_add_test(tc, geo_distance_km);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr;
	int failed;

	tu_dir();
	sr = srunner_create(geo_suite());
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed != 0 ? EXIT_FAILURE : EXIT_SUCCESS;
}
