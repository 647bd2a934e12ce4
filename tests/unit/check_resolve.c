/* check_resolve.c -- unit tests for src/data/resolve.c: the answer decision, and the images written
 * from it. */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include <check.h>

#include "data/conf.h"
#include "data/resolve.h"
#include "data/snapshot.h"
#include "dns/answer.h"
#include "testutil.h"

static const char parent_zone[] =
    "$ORIGIN lb.test.\n"
    "$TTL 300\n"
    "@ IN SOA ns hostmaster 1 3600 600 86400 60\n"
    "@ IN NS ns\n"
    "@ IN MX 10 ns\n"
    "ns IN A 192.0.2.53\n"
    "www IN TXT \"hello\"\n"
    "www IN AAAA 2001:db8::1\n"
    "alias IN CNAME www\n"
    "tochild IN CNAME child\n"
    "sub IN NS ns.elsewhere.test.\n"
    "sub IN DS 1 8 2 49FD46E6C4B45C55D4AC49FD46E6C4B45C55D4AC49FD46E6C4B45C55D4AC9999\n"
    "deeper.sub IN NS ns.elsewhere.test.\n"
    "nods IN NS ns.elsewhere.test.\n"
    "tosub IN CNAME sub\n"
    "tonods IN CNAME nods\n"
    "self IN CNAME self\n"
    "c1 IN CNAME c2\nc2 IN CNAME c3\nc3 IN CNAME c4\nc4 IN CNAME c5\nc5 IN CNAME c6\n"
    "c6 IN CNAME c7\nc7 IN CNAME c8\nc8 IN CNAME c9\nc9 IN CNAME c10\nc10 IN A 192.0.2.10\n"
    "*.w IN A 192.0.2.99\n"
    "tonx IN CNAME nothere\n"
    "out IN CNAME www.elsewhere.test.\n"
    "topool IN CNAME both\n";

static const char child_zone[] = "$ORIGIN child.lb.test.\n"
				 "@ 300 IN SOA ns hostmaster 1 3600 600 86400 120\n"
				 "@ 300 IN NS ns\n"
				 "ns 300 IN A 192.0.2.54\n";

static const char conf_text[] =
    "listen = \"127.0.0.1:0\";\n"
    "zones = ( { origin = \"lb.test\"; file = \"lb.test.zone\"; },\n"
    "          { origin = \"child.lb.test\"; file = \"child.zone\"; } );\n"
    "pools = (\n"
    "  { name = \"both\"; owners = [ \"both.lb.test\" ];\n"
    "    members = ( { address = \"192.0.2.1\"; }, { address = \"2001:db8::2\"; } ); },\n"
    "  { name = \"six\"; owners = [ \"six.lb.test\" ];\n"
    "    members = ( { address = \"2001:db8::6\"; } ); }\n"
    ");\n";

static struct snapshot *snap;
static struct answer_ctx ctx;
static struct resolution res;
static struct tu_resp r;

static void setup(void)
{
	char path[PATH_MAX];
	struct conf *conf;

	tu_write(path, "lb.test.zone", parent_zone);
	tu_write(path, "child.zone", child_zone);
	tu_write(path, "gslbd.conf", conf_text);
	conf = conf_load(path);
	ck_assert_ptr_nonnull(conf);
	snap = snapshot_build(conf);
	ck_assert_ptr_nonnull(snap);
	answer_ctx_init(&ctx, 1);
	answer_ctx_use(&ctx, snap);
}

static void teardown(void)
{
	answer_ctx_clear(&ctx);
	snapshot_free(snap);
	snap = NULL;
}

/* resolve_match() for @name @qtype, as the answer path's lookup matches it. */
static const struct resolution *resolve(const char *name, uint16_t qtype)
{
	struct query q;
	enum match_kind kind;
	const struct node *n;
	int len;

	memset(&q, 0, sizeof(q));
	len = dname_from_str(q.qname, name);
	ck_assert_int_gt(len, 0);
	q.qname_len = (uint8_t)len;
	q.nlabels = (uint8_t)dname_labels(q.qname, q.label_off);
	q.qtype = qtype;
	q.qclass = DNS_CLASS_IN;
	q.has_question = true;
	answer_lookup(snap, &q, &kind, &n);
	resolve_match(&res, snap, kind, n, q.qname, qtype);
	return &res;
}

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

static const char *soa_owner(void)
{
	for (size_t i = 0; i < r.nrr; i++) {
		if (r.rr[i].section == 1 && r.rr[i].type == DNS_TYPE_SOA) {
			return r.rr[i].owner;
		}
	}
	return "-";
}

static const char *zone_of(const struct snap_zone *z)
{
	static char buf[1024];

	return z ? dname_to_str(buf, sizeof(buf), z->apex->name) : "-";
}

/* --- chains --------------------------------------------------------------------- */

START_TEST(chain_hops)
{
	resolve("alias.lb.test", DNS_TYPE_TXT);
	ck_assert_uint_eq(res.nhops, 2);
	ck_assert_ptr_nonnull(res.hop[0].cname);
	ck_assert_ptr_null(res.hop[1].cname);
	ck_assert_int_eq(res.end, RESOLVE_RRSET);
	ck_assert_uint_eq(res.rrset->type, DNS_TYPE_TXT);
	/* Asked for the CNAME itself: no hop further. */
	resolve("alias.lb.test", DNS_TYPE_CNAME);
	ck_assert_uint_eq(res.nhops, 1);
	ck_assert_int_eq(res.end, RESOLVE_RRSET);
}
END_TEST

START_TEST(chain_stops)
{
	resolve("c1.lb.test", DNS_TYPE_A);
	ck_assert_int_eq(res.end, RESOLVE_CHAIN_LIMIT);
	ck_assert_uint_eq(res.nhops, RESOLVE_MAX_CHAIN);
	ask("c1.lb.test", DNS_TYPE_A);
	ck_assert_uint_eq(r.ancount, RESOLVE_MAX_CHAIN);
	resolve("self.lb.test", DNS_TYPE_A);
	ck_assert_int_eq(res.end, RESOLVE_LOOP);
	ck_assert_uint_eq(res.nhops, 1);
	resolve("out.lb.test", DNS_TYPE_A);
	ck_assert_int_eq(res.end, RESOLVE_OUTSIDE);
	ck_assert_uint_eq(res.nhops, 2);
	ck_assert_int_eq(res.hop[1].match, MATCH_NONE);
	resolve("tonx.lb.test", DNS_TYPE_A);
	ck_assert_int_eq(res.end, RESOLVE_NXDOMAIN);
	ck_assert_int_eq(res.rcode, DNS_RCODE_NXDOMAIN);
	ck_assert_str_eq(zone_of(res.soa), "lb.test.");
}
END_TEST

/* --- delegations and DS ---------------------------------------------------------- */

START_TEST(ds_rules)
{
	resolve("sub.lb.test", DNS_TYPE_DS);
	ck_assert_int_eq(res.note, RESOLVE_NOTE_DS_AT_CUT);
	ck_assert_int_eq(res.end, RESOLVE_RRSET);
	ck_assert(res.aa);
	resolve("sub.lb.test", DNS_TYPE_A);
	ck_assert_int_eq(res.end, RESOLVE_REFERRAL);
	ck_assert(!res.aa);
	resolve("deeper.sub.lb.test", DNS_TYPE_DS);
	ck_assert_int_eq(res.end, RESOLVE_REFERRAL);
	ck_assert_str_eq(dname_to_str((char[1024]){0}, 1024, res.cut->name), "sub.lb.test.");
	resolve("child.lb.test", DNS_TYPE_DS);
	ck_assert_int_eq(res.note, RESOLVE_NOTE_DS_OF_CHILD);
	ck_assert_int_eq(res.end, RESOLVE_NODATA);
	ck_assert_str_eq(zone_of(res.hop[0].zone), "lb.test.");
	ck_assert_str_eq(zone_of(res.soa), "lb.test.");
	resolve("child.lb.test", DNS_TYPE_NS);
	ck_assert_str_eq(zone_of(res.hop[0].zone), "child.lb.test.");
}
END_TEST

/* A CNAME to a delegation without DS, asked for DS, was answered with the
 * referral, though the DS there is the parent's: NODATA from lb.test. */
START_TEST(cname_to_delegation_ds_is_parents)
{
	ask("tonods.lb.test", DNS_TYPE_DS);
	ck_assert_int_eq(r.rcode, DNS_RCODE_NOERROR);
	ck_assert(r.aa);
	ck_assert_uint_eq(r.ancount, 1);
	ck_assert_uint_eq(tu_count(&r, 1, DNS_TYPE_NS), 0);
	ck_assert_str_eq(soa_owner(), "lb.test");
	ask("tosub.lb.test", DNS_TYPE_DS);
	ck_assert_uint_eq(tu_count(&r, 0, DNS_TYPE_DS), 1);
	/* Any other type there is still the referral. */
	ask("tonods.lb.test", DNS_TYPE_A);
	ck_assert_uint_eq(tu_count(&r, 1, DNS_TYPE_NS), 1);
}
END_TEST

/* A CNAME to a served child's apex, asked for DS, had the child's SOA; the
 * DS there is the parent's: NODATA with lb.test's SOA. */
START_TEST(cname_to_child_apex_ds_is_parents)
{
	ask("tochild.lb.test", DNS_TYPE_DS);
	ck_assert_int_eq(r.rcode, DNS_RCODE_NOERROR);
	ck_assert(r.aa);
	ck_assert_uint_eq(r.ancount, 1);
	ck_assert_str_eq(soa_owner(), "lb.test");
	ask("tochild.lb.test", DNS_TYPE_TXT);
	ck_assert_str_eq(soa_owner(), "child.lb.test");
}
END_TEST

/* --- ANY and pools --------------------------------------------------------------- */

START_TEST(any_choice)
{
	resolve("lb.test", DNS_TYPE_ANY);
	ck_assert_uint_eq(res.type, DNS_TYPE_SOA);
	resolve("alias.lb.test", DNS_TYPE_ANY);
	ck_assert_uint_eq(res.type, DNS_TYPE_CNAME);
	ck_assert_uint_eq(res.nhops, 1);
	resolve("both.lb.test", DNS_TYPE_ANY);
	ck_assert_uint_eq(res.type, DNS_TYPE_A);
	ck_assert_int_eq(res.end, RESOLVE_POOL);
	resolve("six.lb.test", DNS_TYPE_ANY);
	ck_assert_uint_eq(res.type, DNS_TYPE_AAAA);
	resolve("www.lb.test", DNS_TYPE_ANY);
	ck_assert_uint_eq(res.type, DNS_TYPE_TXT);
	ask("www.lb.test", DNS_TYPE_ANY);
	ck_assert_uint_eq(r.ancount, 1);
	ck_assert_uint_eq(tu_sec(&r, 0, 0)->type, DNS_TYPE_TXT);
	resolve("w.lb.test", DNS_TYPE_ANY); /* empty non-terminal: nothing to pick */
	ck_assert_uint_eq(res.type, DNS_TYPE_ANY);
	ck_assert_int_eq(res.end, RESOLVE_NODATA);
}
END_TEST

START_TEST(pool_at_chain_end)
{
	resolve("topool.lb.test", DNS_TYPE_AAAA);
	ck_assert_int_eq(res.end, RESOLVE_POOL);
	ck_assert_str_eq(res.pool->name, "both");
	ck_assert_str_eq(zone_of(res.nodata_soa), "lb.test.");
	resolve("six.lb.test", DNS_TYPE_A);
	ck_assert_int_eq(res.end, RESOLVE_NODATA);
	ck_assert_str_eq(res.pool->name, "six");
	resolve("x.w.lb.test", DNS_TYPE_A);
	ck_assert_int_eq(res.hop[0].match, MATCH_WILDCARD);
	ck_assert_int_eq(res.end, RESOLVE_RRSET);
}
END_TEST

/* The builder gives a type an image of its own only when its answer differs:
 * plain names share their zone's NODATA and answer ANY with an image they have. */
START_TEST(images_shared)
{
	const struct node *n;
	uint8_t name[DNAME_MAXLEN], offs[DNAME_MAXLABELS];

	dname_from_str(name, "six.lb.test");
	ck_assert_int_eq(snapshot_find(snap, name, offs, dname_labels(name, offs), &n),
			 MATCH_EXACT);
	ck_assert_ptr_eq(n->other, n->zone->nodata);
	ck_assert_ptr_eq(node_image(n, DNS_TYPE_A), n->zone->nodata); /* no A member */
	ck_assert_ptr_ne(node_image(n, DNS_TYPE_AAAA), n->zone->nodata);
	ck_assert_ptr_eq(n->any, node_image(n, DNS_TYPE_AAAA));
	dname_from_str(name, "deeper.sub.lb.test");
	snapshot_find(snap, name, offs, dname_labels(name, offs), &n);
	ck_assert_uint_eq(n->nimgs, 0); /* DS too is the referral below the topmost cut */
	ck_assert_ptr_eq(n->other, node_referral(n));
}
END_TEST

static Suite *resolve_suite(void)
{
	Suite *s = suite_create("resolve");
	TCase *tc = tcase_create("resolve");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, chain_hops);
	tcase_add_test(tc, chain_stops);
	tcase_add_test(tc, ds_rules);
	tcase_add_test(tc, cname_to_delegation_ds_is_parents);
	tcase_add_test(tc, cname_to_child_apex_ds_is_parents);
	tcase_add_test(tc, any_choice);
	tcase_add_test(tc, pool_at_chain_end);
	tcase_add_test(tc, images_shared);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr;
	int failed;

	tu_dir(); /* made here, shared by the forked tests, removed at exit */
	sr = srunner_create(resolve_suite());
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed != 0 ? EXIT_FAILURE : EXIT_SUCCESS;
}
