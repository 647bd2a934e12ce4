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
    "topool IN CNAME both\n"
    /* NS, MX and SRV targets of every kind. */
    "@ IN NS ns.sub\n"
    "sub IN NS ns.sub\n"
    "ns.sub IN A 192.0.2.55\n"
    "mx IN MX 10 www\n"
    "mx IN MX 20 WWW\n"
    "mx IN MX 30 alias\n"
    "mx IN MX 40 both\n"
    "mx IN MX 50 ns.child\n"
    "mx IN MX 60 x.w\n"
    "mx IN MX 70 a.sub\n"
    "mx IN MX 80 nothere\n"
    "mx IN MX 90 mail.elsewhere.test.\n"
    "mx IN MX 99 ns.sub\n"
    "nullmx IN MX 0 .\n"
    "_s._tcp IN SRV 0 0 80 six\n";

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

/* --- additional addresses ---------------------------------------------------------- */

/* What record @i's target brings, its target as text in @name. */
static enum resolve_extra target(unsigned i, char *name, struct resolve_target *t)
{
	ck_assert_uint_lt(i, resolve_targets(&res));
	resolve_target(t, snap, &res, i);
	dname_to_str(name, 1024, t->name);
	return t->extra;
}

START_TEST(targets_of_ns_mx_srv)
{
	struct resolve_target t;
	char name[1024];
	unsigned seen = 0;

	resolve("mx.lb.test", DNS_TYPE_MX);
	ck_assert_uint_eq(resolve_targets(&res), 10);
	for (unsigned i = 0; i < 10; i++) {
		enum resolve_extra e = target(i, name, &t);
		if (strcmp(name, "www.lb.test.") == 0 || strcmp(name, "WWW.lb.test.") == 0) {
			/* The first of the two in the RRset's order brings the records. */
			ck_assert_int_eq(e,
					 seen++ ? RESOLVE_EXTRA_REPEATED : RESOLVE_EXTRA_ADDRESSES);
			if (e == RESOLVE_EXTRA_ADDRESSES) {
				ck_assert_ptr_null(t.a);
				ck_assert_uint_eq(t.aaaa->count, 1);
			}
		} else if (strcmp(name, "alias.lb.test.") == 0) {
			ck_assert_int_eq(e, RESOLVE_EXTRA_ALIAS);
		} else if (strcmp(name, "both.lb.test.") == 0) {
			ck_assert_int_eq(e, RESOLVE_EXTRA_POOL);
			ck_assert_str_eq(t.pool->name, "both");
		} else if (strcmp(name, "ns.child.lb.test.") == 0) {
			ck_assert_int_eq(e, RESOLVE_EXTRA_OUT_OF_ZONE); /* another zone of ours */
		} else if (strcmp(name, "x.w.lb.test.") == 0) {
			ck_assert_int_eq(e, RESOLVE_EXTRA_ADDRESSES); /* synthesized */
			ck_assert_int_eq(t.node->name[1], '*');
			ck_assert_uint_eq(t.a->count, 1);
		} else if (strcmp(name, "a.sub.lb.test.") == 0 ||
			   strcmp(name, "nothere.lb.test.") == 0) {
			ck_assert_int_eq(e, RESOLVE_EXTRA_NONE);
		} else if (strcmp(name, "mail.elsewhere.test.") == 0) {
			ck_assert_int_eq(e, RESOLVE_EXTRA_OUT_OF_ZONE);
		} else if (strcmp(name, "ns.sub.lb.test.") == 0) {
			ck_assert_int_eq(e, RESOLVE_EXTRA_NOT_AUTH); /* glue: for NS only */
		} else {
			ck_abort_msg("unexpected target %s", name);
		}
	}
	ck_assert_uint_eq(seen, 2);

	/* The apex NS: glue below a delegation is for NS answers. */
	resolve("lb.test", DNS_TYPE_NS);
	ck_assert_uint_eq(resolve_targets(&res), 2);
	for (unsigned i = 0; i < 2; i++) {
		ck_assert_int_eq(target(i, name, &t), RESOLVE_EXTRA_ADDRESSES);
		ck_assert_uint_eq(t.a->count, 1);
	}
	resolve("nullmx.lb.test", DNS_TYPE_MX);
	ck_assert_int_eq(target(0, name, &t), RESOLVE_EXTRA_NO_TARGET);
	resolve("_s._tcp.lb.test", DNS_TYPE_SRV);
	ck_assert_int_eq(target(0, name, &t), RESOLVE_EXTRA_POOL);
	ck_assert_str_eq(t.pool->name, "six");
	resolve("_s._tcp.lb.test", DNS_TYPE_ANY);
	ck_assert_uint_eq(resolve_targets(&res), 1);

	/* Only NS, MX and SRV answers have targets. */
	resolve("lb.test", DNS_TYPE_SOA);
	ck_assert_uint_eq(resolve_targets(&res), 0);
	resolve("www.lb.test", DNS_TYPE_TXT);
	ck_assert_uint_eq(resolve_targets(&res), 0);
	resolve("sub.lb.test", DNS_TYPE_NS); /* a referral: its glue is the referral's */
	ck_assert_uint_eq(resolve_targets(&res), 0);
	resolve("both.lb.test", DNS_TYPE_MX);
	ck_assert_uint_eq(resolve_targets(&res), 0);
}
END_TEST

/* The image holds what resolve_target() decided: zone data first, then the
 * pools' members. */
START_TEST(targets_written)
{
	ask("mx.lb.test", DNS_TYPE_MX);
	ck_assert_uint_eq(r.ancount, 10);
	ck_assert_uint_eq(r.arcount, 4);
	ck_assert_uint_eq(tu_count(&r, 2, DNS_TYPE_A), 2);
	ck_assert_uint_eq(tu_count(&r, 2, DNS_TYPE_AAAA), 2);
	ck_assert_str_eq(tu_sec(&r, 2, 2)->owner, "both.lb.test");
	ck_assert_str_eq(tu_sec(&r, 2, 3)->owner, "both.lb.test");
	ask("lb.test", DNS_TYPE_NS);
	ck_assert_uint_eq(r.arcount, 2);
	ask("_s._tcp.lb.test", DNS_TYPE_SRV);
	ck_assert_uint_eq(r.arcount, 1);
	ck_assert_uint_eq(tu_sec(&r, 2, 0)->type, DNS_TYPE_AAAA);
	ck_assert_str_eq(tu_sec(&r, 2, 0)->owner, "six.lb.test");
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
	tcase_add_test(tc, targets_of_ns_mx_srv);
	tcase_add_test(tc, targets_written);
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
