/* check_zone.c -- unit tests for src/zone.c: master file reading and zone checks. */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include <check.h>

#include "data/zone.h"
#include "testutil.h"

static struct zone_data z;
static char errlog[16384];

static void setup(void)
{
	memset(&z, 0, sizeof(z));
}

static void teardown(void)
{
	zone_clear(&z);
}

static int load(const char *origin, const char *path)
{
	int rc = 0;

	TU_CAPTURE_STDERR(errlog, sizeof(errlog), rc = zone_load(&z, origin, path));
	return rc;
}

/* The record @k, checked against owner (presentation), type and ttl. */
static const struct zone_rr *rr_at(size_t k, const char *owner, uint16_t type, uint32_t ttl)
{
	uint8_t wire[DNAME_MAXLEN];
	int l = dname_from_str(wire, owner);
	const struct zone_rr *rr;

	ck_assert_uint_lt(k, z.nrrs);
	rr = &z.rrs[k];
	ck_assert_int_gt(l, 0);
	ck_assert_msg(dname_len(rr->owner) == (size_t)l && memcmp(rr->owner, wire, (size_t)l) == 0,
		      "record %zu: owner is not %s", k, owner);
	ck_assert_uint_eq(rr->type, type);
	ck_assert_uint_eq(rr->ttl, ttl);
	return rr;
}

static const struct zone_rr *find(const char *owner, uint16_t type)
{
	uint8_t wire[DNAME_MAXLEN];
	int l = dname_from_str(wire, owner);

	for (size_t i = 0; i < z.nrrs; i++) {
		if (z.rrs[i].type == type && dname_len(z.rrs[i].owner) == (size_t)l &&
		    memcmp(z.rrs[i].owner, wire, (size_t)l) == 0) {
			return &z.rrs[i];
		}
	}
	return NULL;
}

static size_t count(const char *owner, uint16_t type)
{
	uint8_t wire[DNAME_MAXLEN];
	int l = dname_from_str(wire, owner);
	size_t n = 0;

	for (size_t i = 0; i < z.nrrs; i++) {
		if (z.rrs[i].type == type && dname_len(z.rrs[i].owner) == (size_t)l &&
		    memcmp(z.rrs[i].owner, wire, (size_t)l) == 0) {
			n++;
		}
	}
	return n;
}

/* Records of one owner are contiguous and in ascending type order. */
static void check_sorted(void)
{
	for (size_t i = 1; i < z.nrrs; i++) {
		const struct zone_rr *a = &z.rrs[i - 1], *b = &z.rrs[i];
		size_t la = dname_len(a->owner), lb = dname_len(b->owner);
		bool same = la == lb && memcmp(a->owner, b->owner, la) == 0;
		if (same) {
			ck_assert_uint_le(a->type, b->type);
			continue;
		}
		for (size_t j = i + 1; j < z.nrrs; j++) {
			const struct zone_rr *c = &z.rrs[j];
			ck_assert_msg(
			    !(dname_len(c->owner) == la && memcmp(c->owner, a->owner, la) == 0),
			    "records %zu and %zu share an owner but are not adjacent", i - 1, j);
		}
	}
}

static const char basic_zone[] = "; a zone using $ORIGIN, $TTL, relative names\n"
				 "$ORIGIN lb.test.\n"
				 "$TTL 600\n"
				 "@       IN SOA  ns1 hostmaster (\n"
				 "                2024010101 ; serial\n"
				 "                3600 600   ; refresh retry\n"
				 "                86400\n"
				 "                60 )       ; minimum\n"
				 "        IN NS   ns1\n"
				 "        IN NS   ns2.other.test.\n"
				 "ns1     IN A    192.0.2.1\n"
				 "www 120 IN A    192.0.2.2\n"
				 "        IN AAAA 2001:db8::2\n"
				 "a.b.c   IN TXT  \"deep\"\n"
				 "Mixed.CASE IN A 192.0.2.3\n"
				 "mx      IN MX   10 Mail.Lb.Test.\n";

START_TEST(basic)
{
	char path[PATH_MAX];
	const struct zone_rr *rr;

	tu_write(path, NULL, basic_zone);
	ck_assert_int_eq(load("lb.test", path), 0);
	ck_assert_str_eq(errlog, "");
	ck_assert_uint_eq(z.origin_len, 9);
	ck_assert_mem_eq(z.origin, "\002lb\004test", 9);
	ck_assert_uint_eq(z.nfiles, 1);
	ck_assert_str_eq(z.files[0], path);
	ck_assert_uint_eq(z.nrrs, 9);
	check_sorted();

	/* The apex sorts first; NS (2) before SOA (6). */
	rr = rr_at(0, "lb.test", 2, 600);
	rr_at(1, "lb.test", 2, 600);
	rr = rr_at(2, "lb.test", 6, 600);
	ck_assert_int_eq(rr->line, 4);
	ck_assert_ptr_eq(rr->file, z.files[0]);
	/* SOA rdata: two uncompressed names and five numbers. */
	ck_assert_uint_eq(rr->rdlen, 13 + 20 + 20);
	ck_assert_mem_eq(rr->rdata, "\003ns1\002lb\004test", 13);
	ck_assert_mem_eq(rr->rdata + 13, "\012hostmaster\002lb\004test", 20);
	ck_assert_uint_eq(tu_rd32(rr->rdata + 33), 2024010101u);
	ck_assert_uint_eq(tu_rd32(rr->rdata + 37), 3600);
	ck_assert_uint_eq(tu_rd32(rr->rdata + 41), 600);
	ck_assert_uint_eq(tu_rd32(rr->rdata + 45), 86400);
	ck_assert_uint_eq(tu_rd32(rr->rdata + 49), 60);

	rr = find("ns1.lb.test", 1);
	ck_assert_ptr_nonnull(rr);
	ck_assert_int_eq(rr->line, 11);
	ck_assert_uint_eq(rr->rdlen, 4);
	ck_assert_mem_eq(rr->rdata, "\xc0\x00\x02\x01", 4);
	rr = find("www.lb.test", 1);
	ck_assert_ptr_nonnull(rr);
	ck_assert_uint_eq(rr->ttl, 120);
	ck_assert_int_eq(rr->line, 12);
	/* The owner carries over to the next line; the TTL does not. */
	rr = find("www.lb.test", 28);
	ck_assert_ptr_nonnull(rr);
	ck_assert_uint_eq(rr->ttl, 600);
	ck_assert_int_eq(rr->line, 13);
	ck_assert_uint_eq(rr->rdlen, 16);
	rr = find("a.b.c.lb.test", 16);
	ck_assert_ptr_nonnull(rr);
	ck_assert_mem_eq(rr->rdata, "\004deep", 5);
	/* Owners are folded; names inside rdata keep their case. */
	rr = find("mixed.case.lb.test", 1);
	ck_assert_ptr_nonnull(rr);
	ck_assert_mem_eq(rr->owner, "\005mixed\004case", 11);
	rr = find("mx.lb.test", 15);
	ck_assert_ptr_nonnull(rr);
	ck_assert_mem_eq(rr->rdata, "\000\012\004Mail\002Lb\004Test", 16);
}
END_TEST

START_TEST(origin_from_config_and_default_ttl)
{
	char path[PATH_MAX];
	const struct zone_rr *rr;

	tu_write(path, NULL,
		 "@ IN SOA ns1 hostmaster 1 3600 600 86400 300\n"
		 "@ IN NS ns1\n"
		 "ns1 IN A 192.0.2.1\n");
	ck_assert_int_eq(load("Example.Test.", path), 0);
	ck_assert_uint_eq(z.nrrs, 3);
	rr = find("ns1.example.test", 1);
	ck_assert_ptr_nonnull(rr);
	ck_assert_uint_eq(rr->ttl, 3600); /* no $TTL, no TTL: 3600 */
}
END_TEST

START_TEST(include_relative)
{
	char path[PATH_MAX];
	const struct zone_rr *rr;

	tu_mkdir("inc");
	tu_mkdir("inc/sub");
	tu_write(path, "inc/sub/part.zone",
		 "; included from ../main.zone\n"
		 "part IN A 192.0.2.10\n"
		 "$INCLUDE more.zone\n");
	tu_write(path, "inc/sub/more.zone", "more IN A 192.0.2.11\n");
	tu_write(path, "inc/hosts.zone",
		 "h1 IN A 192.0.2.21\n"
		 "@  IN TXT \"hosts apex\"\n");
	tu_write(path, "inc/main.zone",
		 "$ORIGIN lb.test.\n"
		 "$TTL 300\n"
		 "@ IN SOA ns1 hostmaster 1 3600 600 86400 60\n"
		 "@ IN NS ns1\n"
		 "$INCLUDE sub/part.zone\n"
		 "$INCLUDE hosts.zone hosts.lb.test.\n"
		 "$INCLUDE hosts.zone rel\n"
		 "after IN A 192.0.2.30\n");
	ck_assert_int_eq(load("lb.test", path), 0);
	check_sorted();

	rr = find("part.lb.test", 1);
	ck_assert_ptr_nonnull(rr);
	ck_assert_int_eq(rr->line, 2);
	ck_assert_ptr_nonnull(strstr(rr->file, "inc/sub/part.zone"));
	ck_assert_uint_eq(rr->ttl, 300);
	rr = find("more.lb.test", 1);
	ck_assert_ptr_nonnull(rr);
	ck_assert_int_eq(rr->line, 1);
	ck_assert_ptr_nonnull(strstr(rr->file, "inc/sub/more.zone"));
	/* With an origin argument, absolute and relative. */
	ck_assert_ptr_nonnull(find("h1.hosts.lb.test", 1));
	ck_assert_ptr_nonnull(find("hosts.lb.test", 16));
	ck_assert_ptr_nonnull(find("h1.rel.lb.test", 1));
	ck_assert_ptr_nonnull(find("rel.lb.test", 16));
	/* The origin is back to lb.test after the $INCLUDE. */
	rr = find("after.lb.test", 1);
	ck_assert_ptr_nonnull(rr);
	ck_assert_int_eq(rr->line, 8);
	ck_assert_ptr_eq(rr->file, z.files[0]);
	ck_assert_ptr_null(find("after.hosts.lb.test", 1));
	ck_assert_uint_eq(z.nfiles, 5); /* main, part, more, hosts twice */
}
END_TEST

/* RFC 1035 5.1: a relative domain name in a master file, the argument of
 * $ORIGIN included, is relative to the current origin (BIND, NSD and Knot
 * read "$ORIGIN sub" under lb.test. as sub.lb.test.). */
START_TEST(relative_origin_directive)
{
	char path[PATH_MAX];

	tu_write(path, NULL,
		 "$ORIGIN lb.test.\n"
		 "@ 300 IN SOA ns1 hostmaster 1 3600 600 86400 60\n"
		 "@ 300 IN NS ns1\n"
		 "$ORIGIN sub\n"
		 "www 300 IN A 192.0.2.2\n");
	ck_assert_msg(load("lb.test", path) == 0, "relative $ORIGIN rejected:\n%s", errlog);
	ck_assert_ptr_nonnull(find("www.sub.lb.test", 1));
}
END_TEST

START_TEST(unknown_type_rfc3597)
{
	char path[PATH_MAX];
	const struct zone_rr *rr;

	tu_write(path, NULL,
		 "$ORIGIN lb.test.\n"
		 "@ 300 IN SOA ns1 hostmaster 1 3600 600 86400 60\n"
		 "@ 300 IN NS ns1\n"
		 "unk 300 IN TYPE65400 \\# 3 abcdef\n"
		 "empty 300 IN TYPE65401 \\# 0\n");
	ck_assert_int_eq(load("lb.test", path), 0);
	rr = find("unk.lb.test", 65400);
	ck_assert_ptr_nonnull(rr);
	ck_assert_uint_eq(rr->rdlen, 3);
	ck_assert_mem_eq(rr->rdata, "\xab\xcd\xef", 3);
	ck_assert_int_eq(rr->line, 4);
	rr = find("empty.lb.test", 65401);
	ck_assert_ptr_nonnull(rr);
	ck_assert_uint_eq(rr->rdlen, 0);
}
END_TEST

START_TEST(duplicates_merged)
{
	char path[PATH_MAX];
	const struct zone_rr *rr;

	tu_write(path, NULL,
		 "$ORIGIN lb.test.\n"
		 "@ 300 IN SOA ns1 hostmaster 1 3600 600 86400 60\n"
		 "@ 300 IN NS ns1\n"
		 "www 300 IN A 192.0.2.2\n"
		 "www 300 IN A 192.0.2.1\n"
		 "WWW 300 IN A 192.0.2.2\n"
		 "@ 300 IN NS ns1.lb.test.\n"
		 "www 300 IN A 192.0.2.3\n");
	ck_assert_int_eq(load("lb.test", path), 0);
	ck_assert_uint_eq(count("www.lb.test", 1), 3);
	ck_assert_uint_eq(count("lb.test", 2), 1);
	ck_assert_uint_eq(z.nrrs, 5);
	check_sorted();
	/* The first occurrence is kept. */
	rr = find("www.lb.test", 1);
	ck_assert_mem_eq(rr->rdata, "\xc0\x00\x02\x01", 4);
	ck_assert_int_eq(rr[1].line, 4);
	ck_assert_mem_eq(rr[1].rdata, "\xc0\x00\x02\x02", 4);
}
END_TEST

/* --- errors --------------------------------------------------------------- */

/* zone_load fails and logs "PATH:LINE: " (@line 0: just the path) and @what. */
static void expect_error(const char *text, int line, const char *what)
{
	char path[PATH_MAX], want[PATH_MAX + 32];

	tu_write(path, NULL, text);
	zone_clear(&z);
	ck_assert_int_eq(load("lb.test", path), -1);
	if (line) {
		snprintf(want, sizeof(want), "%s:%d: ", path, line);
	} else {
		snprintf(want, sizeof(want), "%s", path);
	}
	ck_assert_msg(strstr(errlog, want), "expected \"%s\" in:\n%s", want, errlog);
	ck_assert_msg(strstr(errlog, what), "expected \"%s\" in:\n%s", what, errlog);
}

#define SOA "@ 300 IN SOA ns1 hostmaster 1 3600 600 86400 60\n"
#define NS "@ 300 IN NS ns1\n"

START_TEST(no_soa)
{
	expect_error("$ORIGIN lb.test.\n" NS "www 300 IN A 192.0.2.1\n", 1, "no SOA");
}
END_TEST

START_TEST(two_soa)
{
	expect_error("$ORIGIN lb.test.\n" SOA NS "www 300 IN A 192.0.2.1\n"
		     "@ 300 IN SOA ns2 hostmaster 2 3600 600 86400 60\n",
		     5, "second SOA");
}
END_TEST

START_TEST(soa_not_at_apex)
{
	expect_error("$ORIGIN lb.test.\n" SOA NS
		     "sub 300 IN SOA ns1 hostmaster 1 3600 600 86400 60\n",
		     4, "not the zone apex");
}
END_TEST

START_TEST(no_apex_ns)
{
	expect_error("$ORIGIN lb.test.\n" SOA "sub 300 IN NS ns1\n", 1, "no NS");
}
END_TEST

START_TEST(outside_zone)
{
	expect_error("$ORIGIN lb.test.\n" SOA NS "www 300 IN A 192.0.2.1\n"
		     "www.other.test. 300 IN A 192.0.2.1\n",
		     5, "outside the zone");
	/* Not label-aligned: still outside. */
	expect_error("$ORIGIN lb.test.\n" SOA NS "xlb.test. 300 IN A 192.0.2.1\n", 4,
		     "outside the zone");
}
END_TEST

START_TEST(cname_and_other_data)
{
	expect_error("$ORIGIN lb.test.\n" SOA NS "www 300 IN A 192.0.2.1\n"
		     "www 300 IN CNAME other\n",
		     5, "other data");
	ck_assert_ptr_nonnull(strstr(errlog, "(line 4)"));
	expect_error("$ORIGIN lb.test.\n" SOA NS "@ 300 IN CNAME other\n", 4, "apex");
}
END_TEST

START_TEST(syntax_error_line)
{
	expect_error("$ORIGIN lb.test.\n"	   /* 1 */
		     SOA			   /* 2 */
			 NS			   /* 3 */
		     "\n"			   /* 4 */
		     "; a comment\n"		   /* 5 */
		     "ok 300 IN A 192.0.2.1\n"	   /* 6 */
		     "bad 300 IN A 192.0.2.300\n"  /* 7 */
		     "later 300 IN A 192.0.2.2\n", /* 8 */
		     7, "");
}
END_TEST

START_TEST(syntax_error_line_unknown_type)
{
	expect_error("$ORIGIN lb.test.\n"	   /* 1 */
		     SOA			   /* 2 */
			 NS			   /* 3 */
		     "broken IN BOGUSTYPE 1 2 3\n" /* 4 */
		     "later 300 IN A 192.0.2.2\n", /* 5 */
		     4, "");
}
END_TEST

START_TEST(syntax_error_after_multiline)
{
	expect_error("$ORIGIN lb.test.\n"	       /* 1 */
		     "@ 300 IN SOA ns1 hostmaster (\n" /* 2 */
		     "    1 3600 600 86400 60 )\n"     /* 3 */
		     NS				       /* 4 */
		     "bad 300 IN AAAA 2001:db8::g\n",  /* 5 */
		     5, "");
}
END_TEST

START_TEST(missing_include)
{
	expect_error("$ORIGIN lb.test.\n" SOA NS "$INCLUDE no-such-file.zone\n", 4,
		     "no-such-file.zone");
}
END_TEST

START_TEST(missing_zone_file)
{
	char path[PATH_MAX + 32];

	snprintf(path, sizeof(path), "%s/no-such.zone", tu_dir());
	ck_assert_int_eq(load("lb.test", path), -1);
	ck_assert_ptr_nonnull(strstr(errlog, path));
}
END_TEST

START_TEST(class_ch)
{
	expect_error("$ORIGIN lb.test.\n" SOA NS "txt 300 CH TXT \"chaos\"\n", 4, "class");
}
END_TEST

START_TEST(error_in_included_file)
{
	char path[PATH_MAX], want[PATH_MAX + 32];

	tu_mkdir("err");
	tu_write(path, "err/part.zone", "ok IN A 192.0.2.1\nbad IN A 1.2.3\n");
	tu_write(path, "err/main.zone", "$ORIGIN lb.test.\n" SOA NS "$INCLUDE part.zone\n");
	ck_assert_int_eq(load("lb.test", path), -1);
	snprintf(want, sizeof(want), "%s/err/part.zone:2: ", tu_dir());
	ck_assert_msg(strstr(errlog, want), "expected \"%s\" in:\n%s", want, errlog);
}
END_TEST

static Suite *zone_suite(void)
{
	Suite *s = suite_create("zone");
	TCase *tl = tcase_create("load");
	TCase *te = tcase_create("errors");

	tcase_add_checked_fixture(tl, setup, teardown);
	tcase_add_test(tl, basic);
	tcase_add_test(tl, origin_from_config_and_default_ttl);
	tcase_add_test(tl, include_relative);
	tcase_add_test(tl, relative_origin_directive);
	tcase_add_test(tl, unknown_type_rfc3597);
	tcase_add_test(tl, duplicates_merged);
	suite_add_tcase(s, tl);

	tcase_add_checked_fixture(te, setup, teardown);
	tcase_add_test(te, no_soa);
	tcase_add_test(te, two_soa);
	tcase_add_test(te, soa_not_at_apex);
	tcase_add_test(te, no_apex_ns);
	tcase_add_test(te, outside_zone);
	tcase_add_test(te, cname_and_other_data);
	tcase_add_test(te, syntax_error_line);
	tcase_add_test(te, syntax_error_line_unknown_type);
	tcase_add_test(te, syntax_error_after_multiline);
	tcase_add_test(te, missing_include);
	tcase_add_test(te, missing_zone_file);
	tcase_add_test(te, class_ch);
	tcase_add_test(te, error_in_included_file);
	suite_add_tcase(s, te);
	return s;
}

int main(void)
{
	SRunner *sr;
	int failed;

	tu_dir(); /* made here, shared by the forked tests, removed at exit */
	sr = srunner_create(zone_suite());
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed != 0 ? EXIT_FAILURE : EXIT_SUCCESS;
}
