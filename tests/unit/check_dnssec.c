/* check_dnssec.c -- unit tests for src/dnssec/dnssec.c and src/dns/answer_dnssec.c: a key
 * made here with ldns, a signed snapshot, DO=1 answers whose RRSIGs and NSEC proofs ldns
 * verifies. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <check.h>
#include <ldns/ldns.h>

#include "data/conf.h"
#include "data/snapshot.h"
#include "dns/answer.h"
#include "dnssec/dnssec.h"
#include "testutil.h"

static char errlog[16384];
static ldns_rr_list *dnskeys; /* the zone's DNSKEY, to verify with */
static char keybase[512];

static const char *zone_text = "$ORIGIN sig.test.\n"
			       "$TTL 300\n"
			       "@ IN SOA ns1 hostmaster 1 3600 600 86400 60\n"
			       "@ IN NS ns1\n"
			       "ns1 IN A 192.0.2.1\n"
			       "static IN A 192.0.2.10\n"
			       "*.wild IN A 192.0.2.99\n";

/* An Ed25519 key (combined, SEP) for sig.test, written as ldns-keygen writes it. */
static void make_key(void)
{
	ldns_key *k = ldns_key_new_frm_algorithm(LDNS_SIGN_ED25519, 0);
	ldns_rdf *owner = NULL;
	ldns_rr *rr;
	char path[600];
	FILE *f;

	if (!k || ldns_str2rdf_dname(&owner, "sig.test.") != LDNS_STATUS_OK) {
		fprintf(stderr, "check_dnssec: cannot make an Ed25519 key with ldns\n");
		exit(EXIT_FAILURE);
	}
	ldns_key_set_pubkey_owner(k, owner);
	ldns_key_set_flags(k, 257);
	rr = ldns_key2rr(k);
	if (snprintf(keybase, sizeof(keybase), "%.400s/Ksig.test.+015+%05u", tu_dir(),
		     (unsigned)ldns_calc_keytag(rr)) >= (int)sizeof(keybase)) {
		exit(EXIT_FAILURE);
	}
	snprintf(path, sizeof(path), "%s.key", keybase);
	if (!(f = fopen(path, "w"))) {
		exit(EXIT_FAILURE);
	}
	ldns_rr_print(f, rr);
	fclose(f);
	snprintf(path, sizeof(path), "%s.private", keybase);
	if (!(f = fopen(path, "w"))) {
		exit(EXIT_FAILURE);
	}
	ldns_key_print(f, k);
	fclose(f);
	dnskeys = ldns_rr_list_new();
	ldns_rr_list_push_rr(dnskeys, rr);
	ldns_key_deep_free(k);
}

static struct snapshot *build(const char *pools)
{
	char path[PATH_MAX], text[8192];
	struct conf *c = NULL;
	struct snapshot *s = NULL;

	tu_write(path, "sig.zone", zone_text);
	snprintf(text, sizeof(text),
		 "listen = \"127.0.0.1:5353\";\n"
		 "zones = ( { origin = \"sig.test\"; file = \"sig.zone\";\n"
		 "  dnssec = { keys = [ \"%s\" ]; }; } );\n"
		 "pools = ( %s );\n",
		 keybase, pools);
	tu_write(path, "gslbd.conf", text);
	TU_CAPTURE_STDERR(errlog, sizeof(errlog), c = conf_load(path));
	ck_assert_msg(c != NULL, "config rejected:\n%s", errlog);
	TU_CAPTURE_STDERR(errlog, sizeof(errlog), s = snapshot_build(c));
	return s;
}

static const char *web3 = "{ name = \"web\"; owners = [ \"www.sig.test\" ]; answers = 2; "
			  "members = ( { address = \"192.0.2.1\"; }, { address = \"192.0.2.2\"; }, "
			  "{ address = \"192.0.2.3\"; } ); }";

/* answer_query() for @name/@type, DO as given; the response parsed by ldns. */
static ldns_pkt *ask(struct answer_ctx *ctx, const struct snapshot *s, const char *name,
		     ldns_rr_type type, bool do_bit)
{
	ldns_pkt *q = NULL, *r = NULL;
	uint8_t *wire = NULL, out[65535];
	size_t wlen = 0, n;
	struct request req = {0};

	ck_assert_int_eq(ldns_pkt_query_new_frm_str(&q, name, type, LDNS_RR_CLASS_IN, 0),
			 LDNS_STATUS_OK);
	ldns_pkt_set_edns_udp_size(q, 4096);
	ldns_pkt_set_edns_do(q, do_bit);
	ck_assert_int_eq(ldns_pkt2wire(&wire, q, &wlen), LDNS_STATUS_OK);
	req.transport = TRANSPORT_UDP;
	n = answer_query(ctx, s, &req, wire, wlen, out, sizeof(out));
	ck_assert_uint_gt(n, 0);
	ck_assert_int_eq(ldns_wire2pkt(&r, out, n), LDNS_STATUS_OK);
	free(wire);
	ldns_pkt_free(q);
	return r;
}

/* Every record of @section but RRSIGs belongs to an RRset that verifies with the zone's
 * key. Returns how many records. */
static unsigned verify_section(ldns_pkt *p, ldns_pkt_section section)
{
	ldns_rr_list *all = ldns_pkt_get_section_clone(p, section);
	unsigned verified = 0;

	for (size_t i = 0; i < ldns_rr_list_rr_count(all); i++) {
		ldns_rr *rr = ldns_rr_list_rr(all, i);
		if (ldns_rr_get_type(rr) == LDNS_RR_TYPE_RRSIG) {
			continue;
		}
		ldns_rr_list *rrset = ldns_pkt_rr_list_by_name_and_type(
		    p, ldns_rr_owner(rr), ldns_rr_get_type(rr), section);
		ldns_rr_list *sigs = ldns_pkt_rr_list_by_name_and_type(p, ldns_rr_owner(rr),
								       LDNS_RR_TYPE_RRSIG, section);
		ck_assert_msg(sigs != NULL, "no RRSIG for an RRset");
		ldns_rr_list *good = ldns_rr_list_new();
		ldns_status st = ldns_verify(rrset, sigs, dnskeys, good);
		ck_assert_msg(st == LDNS_STATUS_OK, "RRset does not verify: %s",
			      ldns_get_errorstr_by_id(st));
		verified++;
		ldns_rr_list_free(good);
		ldns_rr_list_deep_free(rrset);
		ldns_rr_list_deep_free(sigs);
	}
	ldns_rr_list_deep_free(all);
	return verified;
}

static unsigned count_type(ldns_pkt *p, ldns_pkt_section section, ldns_rr_type t)
{
	ldns_rr_list *l = ldns_pkt_rr_list_by_type(p, t, section);
	unsigned n = l ? (unsigned)ldns_rr_list_rr_count(l) : 0;
	ldns_rr_list_deep_free(l);
	return n;
}

START_TEST(canonical_order)
{
	/* RFC 4034 6.1's example, lower-cased. */
	static const char *const names[] = {
	    "example",	       "a.example",	 "yljkjljk.a.example",
	    "z.a.example",     "zabc.a.example", "z.example",
	    "\\001.z.example", "*.z.example",	 "\\200.z.example"};
	uint8_t w[9][DNAME_MAXLEN];

	for (unsigned i = 0; i < 9; i++) {
		ck_assert_int_gt(dname_from_str(w[i], names[i]), 0);
	}
	for (unsigned i = 0; i < 9; i++) {
		for (unsigned j = 0; j < 9; j++) {
			int c = dnssec_canon_cmp(w[i], w[j]);
			ck_assert_msg(i < j   ? c < 0
				      : i > j ? c > 0
					      : c == 0,
				      "%s vs %s: %d", names[i], names[j], c);
		}
	}
}
END_TEST

START_TEST(pool_sets_signed)
{
	struct snapshot *s = build(web3);
	struct answer_ctx ctx;
	unsigned seen = 0;

	ck_assert_msg(s != NULL, "build failed:\n%s", errlog);
	answer_ctx_init(&ctx, 7);
	answer_ctx_use(&ctx, s);
	for (unsigned i = 0; i < 12; i++) {
		ldns_pkt *r = ask(&ctx, s, "www.sig.test.", LDNS_RR_TYPE_A, true);
		ck_assert_uint_eq(count_type(r, LDNS_SECTION_ANSWER, LDNS_RR_TYPE_A), 2);
		ck_assert_uint_eq(verify_section(r, LDNS_SECTION_ANSWER), 2); /* records verified */
		ck_assert(!ldns_pkt_ad(r));
		ldns_rr_list *a = ldns_pkt_rr_list_by_type(r, LDNS_RR_TYPE_A, LDNS_SECTION_ANSWER);
		char *t = ldns_rdf2str(ldns_rr_rdf(ldns_rr_list_rr(a, 0), 0));
		seen |= 1u << (t[strlen(t) - 1] - '0');
		free(t);
		ldns_rr_list_deep_free(a);
		ldns_pkt_free(r);
	}
	ck_assert_msg(__builtin_popcount(seen) > 1, "rotation: more than one set answered");
	/* DO=0: the same members, no RRSIG. */
	ldns_pkt *r = ask(&ctx, s, "www.sig.test.", LDNS_RR_TYPE_A, false);
	ck_assert_uint_eq(count_type(r, LDNS_SECTION_ANSWER, LDNS_RR_TYPE_RRSIG), 0);
	ldns_pkt_free(r);
	answer_ctx_clear(&ctx);
	snapshot_free(s);
}
END_TEST

START_TEST(negative_proofs)
{
	struct snapshot *s = build(web3);
	struct answer_ctx ctx;
	ldns_pkt *r;
	ldns_rdf *name = NULL;

	ck_assert_msg(s != NULL, "build failed:\n%s", errlog);
	answer_ctx_init(&ctx, 7);
	answer_ctx_use(&ctx, s);
	/* NXDOMAIN: the SOA and two NSEC (the name's, and the wildcard's at the apex),
	 * every one signed; one covers the name. */
	r = ask(&ctx, s, "pzz.sig.test.", LDNS_RR_TYPE_A, true);
	if (getenv("CHECK_DNSSEC_PRINT")) {
		ldns_pkt_print(stderr, r);
	}
	ck_assert_int_eq(ldns_pkt_get_rcode(r), LDNS_RCODE_NXDOMAIN);
	ck_assert_uint_eq(verify_section(r, LDNS_SECTION_AUTHORITY), 3);
	ldns_rr_list *nsec = ldns_pkt_rr_list_by_type(r, LDNS_RR_TYPE_NSEC, LDNS_SECTION_AUTHORITY);
	ck_assert_ptr_nonnull(nsec);
	ck_assert_int_eq(ldns_str2rdf_dname(&name, "pzz.sig.test."), LDNS_STATUS_OK);
	bool covered = false;
	for (size_t i = 0; i < ldns_rr_list_rr_count(nsec); i++) {
		covered |= ldns_nsec_covers_name(ldns_rr_list_rr(nsec, i), name);
	}
	ck_assert_msg(covered, "an NSEC covers the name");
	ldns_rdf_deep_free(name);
	ldns_rr_list_deep_free(nsec);
	ldns_pkt_free(r);
	/* NODATA: the SOA and the name's own NSEC. */
	r = ask(&ctx, s, "static.sig.test.", LDNS_RR_TYPE_AAAA, true);
	ck_assert_int_eq(ldns_pkt_get_rcode(r), LDNS_RCODE_NOERROR);
	ck_assert_uint_eq(count_type(r, LDNS_SECTION_ANSWER, LDNS_RR_TYPE_AAAA), 0);
	ck_assert_uint_eq(verify_section(r, LDNS_SECTION_AUTHORITY), 2);
	ldns_pkt_free(r);
	/* A wildcard: the answer signed, and the NSEC saying the name does not exist. */
	r = ask(&ctx, s, "x.wild.sig.test.", LDNS_RR_TYPE_A, true);
	ck_assert_uint_eq(verify_section(r, LDNS_SECTION_ANSWER), 1);
	ck_assert_uint_eq(count_type(r, LDNS_SECTION_AUTHORITY, LDNS_RR_TYPE_NSEC), 1);
	ldns_pkt_free(r);
	/* DNSKEY at the apex, signed by itself. */
	r = ask(&ctx, s, "sig.test.", LDNS_RR_TYPE_DNSKEY, true);
	ck_assert_uint_eq(verify_section(r, LDNS_SECTION_ANSWER), 1);
	ldns_pkt_free(r);
	answer_ctx_clear(&ctx);
	snapshot_free(s);
}
END_TEST

START_TEST(presigned_zone_refused)
{
	const char *saved = zone_text;

	zone_text = "$ORIGIN sig.test.\n"
		    "$TTL 300\n"
		    "@ IN SOA ns1 hostmaster 1 3600 600 86400 60\n"
		    "@ IN NS ns1\n"
		    "ns1 IN A 192.0.2.1\n"
		    "ns1 IN NSEC sig.test. A RRSIG NSEC\n";
	ck_assert_ptr_null(build(web3));
	zone_text = saved;
	ck_assert_msg(strstr(errlog, "sig.zone:6: type 47 in a zone signed by gslbd"), "%s",
		      errlog);
}
END_TEST

START_TEST(too_many_sets_refused)
{
	char pools[4096];
	size_t n = (size_t)snprintf(
	    pools, sizeof(pools), "{ name = \"big\"; owners = [ \"www.sig.test\" ]; members = ( ");
	/* 13 members, every one answered: 2^13 - 1 sets. */
	for (int i = 1; i <= 13; i++) {
		n += (size_t)snprintf(pools + n, sizeof(pools) - n,
				      "%s{ address = \"192.0.2.%d\"; }", i > 1 ? ", " : "", i);
	}
	snprintf(pools + n, sizeof(pools) - n, " ); }");
	ck_assert_ptr_null(build(pools));
	ck_assert_msg(strstr(errlog, "more than 4096 possible A answer sets"), "%s", errlog);
}
END_TEST

int main(void)
{
	Suite *su = suite_create("dnssec");
	TCase *tc = tcase_create("core");
	SRunner *sr;
	int failed;

	make_key();
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, canonical_order);
	tcase_add_test(tc, pool_sets_signed);
	tcase_add_test(tc, negative_proofs);
	tcase_add_test(tc, too_many_sets_refused);
	tcase_add_test(tc, presigned_zone_refused);
	suite_add_tcase(su, tc);
	sr = srunner_create(su);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	ldns_rr_list_deep_free(dnskeys);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
