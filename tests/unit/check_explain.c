/* check_explain.c -- unit tests for src/ctl/explain.c: explain says what the answer path answers.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include <check.h>

#include "ctl/explain.h"
#include "data/conf.h"
#include "data/snapshot.h"
#include "dns/answer.h"
#include "health/health.h"
#include "testutil.h"
#include "explain_walk.h"

/* lb.test with a served child zone (no DS for it in the parent), a nested
 * delegation, CNAMEs to both, a long chain, a wildcard CNAME that loops,
 * pools with each last resort, and an MX naming them. */
static const char parent_zone[] =
    "$ORIGIN lb.test.\n"
    "$TTL 300\n"
    "@ IN SOA ns hostmaster 1 3600 600 86400 60\n"
    "@ IN NS ns\n"
    "ns IN A 192.0.2.53\n"
    "child IN NS ns.child\n" /* shadowed by the served child zone */
    "www IN A 192.0.2.1\n"
    "tochild IN CNAME child\n"
    "tonx IN CNAME nothere.child\n"
    "sub IN NS ns.elsewhere.test.\n"
    "sub IN DS 1 8 2 49FD46E6C4B45C55D4AC49FD46E6C4B45C55D4AC49FD46E6C4B45C55D4AC9999\n"
    "deeper.sub IN NS ns.elsewhere.test.\n"
    "deeper.sub IN DS 2 8 2 49FD46E6C4B45C55D4AC49FD46E6C4B45C55D4AC49FD46E6C4B45C55D4AC8888\n"
    "nods IN NS ns.elsewhere.test.\n"
    "tosub IN CNAME sub\n"
    "tonods IN CNAME nods\n"
    "c1 IN CNAME c2\nc2 IN CNAME c3\nc3 IN CNAME c4\nc4 IN CNAME c5\nc5 IN CNAME c6\n"
    "c6 IN CNAME c7\nc7 IN CNAME c8\nc8 IN CNAME c9\nc9 IN CNAME c10\nc10 IN A 192.0.2.10\n"
    "*.w IN CNAME x.w\n"
    "topool IN CNAME nd\n"
    "out IN CNAME www.elsewhere.test.\n"
    "mx IN MX 10 www\n"
    "mx IN MX 20 fo\n"
    "mx IN MX 30 out\n"
    "mx IN MX 40 www.elsewhere.test.\n"
    "mx IN MX 50 nd\n"
    "mx IN MX 60 sf\n";

static const char child_zone[] = "$ORIGIN child.lb.test.\n"
				 "@ 300 IN SOA ns hostmaster 1 3600 600 86400 120\n"
				 "@ 300 IN NS ns\n"
				 "ns 300 IN A 192.0.2.54\n";

static const char conf_text[] =
    "listen = \"127.0.0.1:0\";\n"
    "zones = ( { origin = \"lb.test\"; file = \"lb.test.zone\"; },\n"
    "          { origin = \"child.lb.test\"; file = \"child.zone\"; } );\n"
    "pools = (\n"
    "  { name = \"nd\"; owners = [ \"nd.lb.test\" ]; last_resort = \"nodata\";\n"
    "    members = ( { address = \"192.0.2.100\"; } ); },\n"
    "  { name = \"sf\"; owners = [ \"sf.lb.test\" ]; last_resort = \"servfail\";\n"
    "    members = ( { address = \"192.0.2.101\"; }, { address = \"2001:db8::101\"; } ); },\n"
    "  { name = \"fo\"; owners = [ \"fo.lb.test\", \"*.pw.lb.test\" ];\n"
    "    members = ( { address = \"192.0.2.102\"; } ); }\n"
    ");\n";

static struct snapshot *snap;
static struct health_table *health;
static struct answer_ctx ctx;
static struct tu_resp r;
static char reply[65536];

static void setup(void)
{
	char path[PATH_MAX];
	struct conf *conf;

	tu_write(path, "lb.test.zone", parent_zone);
	tu_write(path, "child.zone", child_zone);
	tu_write(path, "gslbd.conf", conf_text);
	conf = conf_load(path);
	ck_assert_ptr_nonnull(conf);
	health = health_table_new();
	snap = snapshot_build_health(conf, health);
	ck_assert_ptr_nonnull(snap);
	answer_ctx_init(&ctx, 1);
	answer_ctx_use(&ctx, snap);
}

static void teardown(void)
{
	answer_ctx_clear(&ctx);
	snapshot_free(snap);
	health_table_free(health);
	snap = NULL;
	health = NULL;
}

/* explain NAME TYPE into reply. */
static const char *explain(const char *name, const char *type)
{
	struct sbuf out;

	sb_init(&out);
	ck_assert_int_eq(explain_run(&out, snap, health, name, type), 0);
	ck_assert_uint_lt(out.len, sizeof(reply));
	memcpy(reply, out.p, out.len + 1);
	sb_clear(&out);
	return reply;
}

/* The real answer to NAME TYPE (over TCP) into r. */
static const struct tu_resp *ask(const char *name, uint16_t qtype)
{
	static uint8_t q[512], resp[65535];
	struct request req;
	size_t len = tu_query(q, 1, 0, name, qtype, DNS_CLASS_IN), rlen;

	req.client = NULL;
	req.transport = TRANSPORT_TCP;
	rlen = answer_query(&ctx, snap, &req, q, len, resp, sizeof(resp));
	ck_assert_int_eq(tu_parse(&r, resp, rlen), 0);
	return &r;
}

/* The owner of the SOA in the authority section, or "-". */
static const char *soa_owner(void)
{
	for (size_t i = 0; i < r.nrr; i++) {
		if (r.rr[i].section == 1 && r.rr[i].type == DNS_TYPE_SOA) {
			return r.rr[i].owner;
		}
	}
	return "-";
}

#define ck_has(hay, needle)                                                                        \
	ck_assert_msg(strstr((hay), (needle)), "expected \"%s\" in:\n%s", (needle), (hay))

static void drain(const char *pool, const char *address)
{
	enum health_admin was;

	ck_assert_int_eq(health_admin_set(health, pool, address, ADMIN_DRAINED, &was), 0);
}

/* --- regressions ---------------------------------------------------------------- */

/* explain took the DS at a served child's apex for the child's own data:
 * "zone child.lb.test.: exact match child.lb.test. ... NODATA", while the
 * answer is lb.test's NODATA, with lb.test's SOA (RFC 4035 3.1.4.1). */
START_TEST(explain_ds_at_served_child_apex)
{
	explain("child.lb.test", "DS");
	ck_has(reply, "zone lb.test.: exact match child.lb.test.\n");
	ck_has(reply, "NODATA: no DS records here\n");
	ck_has(reply, "answer: rcode NOERROR, aa yes, zone lb.test., soa lb.test.\n");
	ask("child.lb.test", DNS_TYPE_DS);
	ck_assert_int_eq(r.rcode, DNS_RCODE_NOERROR);
	ck_assert(r.aa);
	ck_assert_uint_eq(r.ancount, 0);
	ck_assert_str_eq(soa_owner(), "lb.test");
	/* Any other type at the apex is the child's. */
	explain("child.lb.test", "TXT");
	ck_has(reply, "answer: rcode NOERROR, aa yes, zone child.lb.test., soa child.lb.test.\n");
}
END_TEST

/* explain took any DS at a delegation for the parent's, while below the
 * topmost cut the answer is the referral. */
START_TEST(explain_ds_at_nested_cut)
{
	explain("deeper.sub.lb.test", "DS");
	ck_has(reply, "at or below the delegation sub.lb.test.: referral to its name servers "
		      "(not authoritative)\n");
	ck_has(reply, "answer: rcode NOERROR, aa no, zone lb.test., soa -\n");
	ask("deeper.sub.lb.test", DNS_TYPE_DS);
	ck_assert(!r.aa);
	ck_assert_uint_eq(r.ancount, 0);
	explain("sub.lb.test", "DS");
	ck_has(reply, "DS at the delegation sub.lb.test. is the parent's data (RFC 4035 3.1.4.1)");
	ck_has(reply, "static data: 1 record of type DS, ttl 300\n");
}
END_TEST

/* Explain stops a chain where the answer does: after RESOLVE_MAX_CHAIN CNAMEs. */
START_TEST(explain_chain_limit)
{
	const char *p = explain("c1.lb.test", "A");
	unsigned n = 0;

	while ((p = strstr(p, "CNAME to "))) {
		n++;
		p++;
	}
	ask("c1.lb.test", DNS_TYPE_A);
	ck_assert_uint_eq(n, r.ancount);
	ck_assert_uint_eq(n, 8);
	ck_has(reply, "CNAME to c9.lb.test. (ttl 300)\n"
		      "8 CNAMEs is as far as we follow a chain: it stops here, NOERROR\n");
	/* A wildcard whose CNAME synthesizes more of itself: the same limit. */
	explain("y.w.lb.test", "A");
	ck_has(reply, "zone lb.test.: wildcard match, synthesized from *.w.lb.test.\n"
		      "CNAME to x.w.lb.test. (ttl 300)\n");
	ck_has(reply, "8 CNAMEs is as far as we follow a chain");
}
END_TEST

/* The DS rules hold at the end of a chain too (and the answer agrees). */
START_TEST(explain_cname_to_ds)
{
	explain("tochild.lb.test", "DS");
	ck_has(reply,
	       "CNAME to child.lb.test. (ttl 300)\nzone lb.test.: exact match child.lb.test.\n");
	ck_has(reply, "answer: rcode NOERROR, aa yes, zone lb.test., soa lb.test.\n");
	ask("tochild.lb.test", DNS_TYPE_DS);
	ck_assert_str_eq(soa_owner(), "lb.test");
	explain("tonods.lb.test", "DS");
	ck_has(reply, "DS at the delegation nods.lb.test. is the parent's data");
	ck_has(reply, "answer: rcode NOERROR, aa yes, zone lb.test., soa lb.test.\n");
	explain("tosub.lb.test", "DS");
	ck_has(reply, "answer: rcode NOERROR, aa yes, zone lb.test., soa -\n");
	explain("tonx.lb.test", "A");
	ck_has(reply, "zone child.lb.test.: no such name (closest encloser child.lb.test.): "
		      "NXDOMAIN\n");
	ck_has(reply, "answer: rcode NXDOMAIN, aa yes, zone lb.test., soa child.lb.test.\n");
	explain("out.lb.test", "A");
	ck_has(reply,
	       "www.elsewhere.test. is in no zone we serve: the resolver follows the CNAME\n");
	ck_has(reply, "answer: rcode NOERROR, aa yes, zone lb.test., soa -\n");
}
END_TEST

START_TEST(explain_before_lookup)
{
	explain("www.lb.test", "AXFR");
	ck_has(reply, "answer: rcode REFUSED, aa no, zone -, soa -\n");
	explain("www.lb.test", "MAILA");
	ck_has(reply, "answer: rcode NOTIMP, aa no, zone -, soa -\n");
	explain("www.lb.test", "OPT");
	ck_has(reply, "answer: rcode FORMERR, aa no, zone -, soa -\n");
	explain("www.example.org", "A");
	ck_has(reply, "answer: rcode REFUSED, aa no, zone -, soa -\n"
		      "www.example.org. is in no zone we serve: REFUSED\n");
}
END_TEST

/* The summary follows the pools' last resorts as members go. */
START_TEST(explain_last_resorts)
{
	explain("topool.lb.test", "A");
	ck_has(reply, "answer: rcode NOERROR, aa yes, zone lb.test., soa -\n");
	drain("nd", "192.0.2.100");
	drain("sf", "192.0.2.101");
	drain("fo", "192.0.2.102");
	explain("topool.lb.test", "A");
	ck_has(reply, "last resort nodata in force");
	ck_has(reply, "answer: rcode NOERROR, aa yes, zone lb.test., soa lb.test.\n");
	ask("topool.lb.test", DNS_TYPE_A);
	ck_assert_uint_eq(r.ancount, 1); /* the CNAME */
	ck_assert_str_eq(soa_owner(), "lb.test");
	explain("sf.lb.test", "A");
	ck_has(reply, "answer: rcode SERVFAIL, aa no, zone lb.test., soa -\n");
	explain("sf.lb.test", "AAAA"); /* that family is still up */
	ck_has(reply, "answer: rcode NOERROR, aa yes, zone lb.test., soa -\n");
	explain("fo.lb.test", "A");
	ck_has(reply, "last resort fail-open in force");
	ck_has(reply, "answer: rcode NOERROR, aa yes, zone lb.test., soa -\n");
}
END_TEST

/* The targets of an MX: what each brings to the additional section and
 * why, pools as their A and AAAA answers are now. */
START_TEST(explain_additional_targets)
{
	explain("mx.lb.test", "MX");
	ck_has(reply, "static data: 6 records of type MX, ttl 300\n"
		      "additional: the targets' addresses (optional: left out when they do not "
		      "fit)\n");
	ck_has(reply, "\n  www.lb.test.: 1 A, 0 AAAA (zone data)\n");
	ck_has(reply,
	       "\n  fo.lb.test.: 1 A, 0 AAAA from pool fo (as its A and AAAA answers now)\n");
	ck_has(reply, "\n  nd.lb.test.: 1 A, 0 AAAA from pool nd");
	ck_has(reply, "\n  sf.lb.test.: 1 A, 1 AAAA from pool sf");
	ck_has(reply, "\n  out.lb.test.: none (a CNAME: not followed, RFC 2181 10.3)\n");
	ck_has(reply, "\n  www.elsewhere.test.: none (not in zone lb.test., the answer's)\n");
	ask("mx.lb.test", DNS_TYPE_MX);
	ck_assert_uint_eq(r.arcount, 5);
	/* nodata and servfail leave nothing to add; fail-open adds every member. */
	drain("nd", "192.0.2.100");
	drain("sf", "192.0.2.101");
	drain("fo", "192.0.2.102");
	explain("mx.lb.test", "MX");
	ck_has(reply, "\n  nd.lb.test.: 0 A, 0 AAAA from pool nd");
	ck_has(reply, "\n  sf.lb.test.: 0 A, 1 AAAA from pool sf");
	ck_has(reply, "\n  fo.lb.test.: 1 A, 0 AAAA from pool fo");
	ask("mx.lb.test", DNS_TYPE_MX);
	ck_assert_uint_eq(r.arcount, 3);
	explain("www.lb.test", "A");
	ck_assert_ptr_null(strstr(reply, "additional"));
}
END_TEST

/* --- every name, every type ------------------------------------------------------ */

START_TEST(explain_agrees_with_answers)
{
	ck_assert_uint_gt(ew_walk(snap, health), 1000);
}
END_TEST

START_TEST(explain_agrees_when_pools_fail)
{
	drain("nd", "192.0.2.100");
	drain("sf", "192.0.2.101");
	drain("fo", "192.0.2.102");
	ck_assert_uint_gt(ew_walk(snap, health), 1000);
}
END_TEST

/* The shipped example: contrib/example/gslbd.conf and zones/. */
START_TEST(explain_agrees_on_example)
{
	struct conf *conf = conf_load(SRCDIR "/contrib/example/gslbd.conf");
	struct snapshot *s;

	ck_assert_ptr_nonnull(conf);
	s = snapshot_build(conf);
	ck_assert_ptr_nonnull(s);
	ck_assert_uint_gt(ew_walk(s, NULL), 500);
	snapshot_free(s);
}
END_TEST

static Suite *explain_suite(void)
{
	Suite *s = suite_create("explain");
	TCase *tc = tcase_create("explain");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, explain_ds_at_served_child_apex);
	tcase_add_test(tc, explain_ds_at_nested_cut);
	tcase_add_test(tc, explain_chain_limit);
	tcase_add_test(tc, explain_cname_to_ds);
	tcase_add_test(tc, explain_before_lookup);
	tcase_add_test(tc, explain_last_resorts);
	tcase_add_test(tc, explain_additional_targets);
	tcase_add_test(tc, explain_agrees_with_answers);
	tcase_add_test(tc, explain_agrees_when_pools_fail);
	tcase_add_test(tc, explain_agrees_on_example);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr;
	int failed;

	tu_dir(); /* made here, shared by the forked tests, removed at exit */
	sr = srunner_create(explain_suite());
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed != 0 ? EXIT_FAILURE : EXIT_SUCCESS;
}
